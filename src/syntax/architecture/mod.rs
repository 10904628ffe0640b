//! Parse `architecture` diagrams with `grammar/architecture.pest`.

pub mod ast;

use crate::diagnostic::Diagnostic;
use crate::extract::DiagramSource;

/// Parse the prepared text of a architecture diagram (see `preprocess`) into its AST.
pub fn parse(
    _prepared: &str,
    source: &DiagramSource,
) -> Result<ast::Architecture, Vec<Diagnostic>> {
    Err(vec![
        Diagnostic::error("m2a::parse::unsupported", "architecture diagrams are not parsed yet")
            .with_label(source.span, ""),
    ])
}
