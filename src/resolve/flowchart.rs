//! Resolve a flowchart AST into the diagram IR.

use crate::diagnostic::Diagnostic;
use crate::ir::graph::Diagram;
use crate::syntax::ast;

/// Fill `diagram` from the AST; returns every problem found.
pub fn resolve(_ast: &ast::flowchart::Flowchart, _diagram: &mut Diagram) -> Vec<Diagnostic> {
    Vec::new()
}
