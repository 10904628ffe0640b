//! Parse: diagram text -> AST, with pest grammars from `grammar/`.
//!
//! Invariants: no pest type leaves this module; every AST node carries a span into the original
//! file (converted at the boundary with [`DiagramSource::file_span`]); parsing reports every
//! syntax error it can find in one pass instead of stopping at the first.

pub mod architecture;
pub mod ast;
pub mod flowchart;
pub mod preprocess;

use crate::diagnostic::Diagnostic;
use crate::extract::DiagramSource;

/// Parse one diagram. Returns the AST when there were no errors, and every diagnostic found.
pub fn parse(source: &DiagramSource) -> (Option<ast::Diagram>, Vec<Diagnostic>) {
    let prepared = match preprocess::prepare(&source.text) {
        Ok(prepared) => prepared,
        Err(mut diagnostic) => {
            for (span, _) in &mut diagnostic.labels {
                *span = source.file_span(*span);
            }
            return (None, vec![diagnostic]);
        }
    };
    let comments = prepared
        .comments
        .iter()
        .map(|(span, text)| ast::Comment { text: text.clone(), span: source.file_span(*span) })
        .collect();
    let front_matter_title = prepared.front_matter.as_ref().and_then(|fm| fm.title.clone());
    let Some((keyword_span, keyword)) = preprocess::keyword(&prepared.text) else {
        let diagnostic = Diagnostic::error("m2a::parse::no_diagram", "no diagram here")
            .with_label(source.span, "only comments, directives or front matter")
            .with_help("start the diagram with `graph LR`, `flowchart TD` or `architecture-beta`");
        return (None, vec![diagnostic]);
    };
    let body = match keyword {
        "graph" | "flowchart" | "flowchart-elk" => {
            flowchart::parse(&prepared.text, source).map(ast::Body::Flowchart)
        }
        "architecture-beta" => {
            architecture::parse(&prepared.text, source).map(ast::Body::Architecture)
        }
        _ => {
            let help = if keyword.starts_with("architecture") {
                "architecture diagrams start with `architecture-beta`".to_string()
            } else {
                "mermaid2aws reads `graph`/`flowchart` and `architecture-beta` diagrams".to_string()
            };
            let diagnostic = Diagnostic::error(
                "m2a::parse::unknown_diagram_type",
                format!("unknown diagram type `{keyword}`"),
            )
            .with_label(source.file_span(keyword_span), "this should name the diagram type")
            .with_help(help);
            Err(vec![diagnostic])
        }
    };
    match body {
        Ok(body) => {
            let keyword = source.file_span(keyword_span);
            (Some(ast::Diagram { body, comments, front_matter_title, keyword }), Vec::new())
        }
        Err(diagnostics) => (None, diagnostics),
    }
}
