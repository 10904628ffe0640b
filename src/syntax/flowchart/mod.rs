//! Parse `flowchart` diagrams with `grammar/flowchart.pest`.

pub mod ast;

use crate::diagnostic::Diagnostic;
use crate::extract::DiagramSource;

/// Parse the prepared text of a flowchart diagram (see `preprocess`) into its AST.
pub fn parse(_prepared: &str, source: &DiagramSource) -> Result<ast::Flowchart, Vec<Diagnostic>> {
    Err(vec![
        Diagnostic::error("m2a::parse::unsupported", "flowchart diagrams are not parsed yet")
            .with_label(source.span, ""),
    ])
}
