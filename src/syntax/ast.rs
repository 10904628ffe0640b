//! AST: the diagram as written. Mirrors the source text (statements in order, with spans);
//! meaning (ids resolved, nesting, defaults) is the diagram IR's job, in `resolve`.

use crate::source::Span;

pub use super::architecture::ast as architecture;
pub use super::flowchart::ast as flowchart;

#[derive(Debug, Clone, PartialEq)]
pub struct Diagram {
    pub body: Body,
    /// Whole-line `%%` comments, which carry `%% @aws` overrides.
    pub comments: Vec<Comment>,
    /// `title:` from the front matter.
    pub front_matter_title: Option<String>,
    /// The diagram keyword (`flowchart`, `architecture-beta`).
    pub keyword: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Flowchart(flowchart::Flowchart),
    Architecture(architecture::Architecture),
}

/// A whole-line `%%` comment; `text` is what follows the `%%`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}
