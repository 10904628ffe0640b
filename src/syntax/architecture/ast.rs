//! AST of an `architecture-beta` diagram: its statements as written, in source order.
//!
//! Invariant: every span is a span into the original file; text values are already converted
//! the way mermaid converts them (brackets and outer quotes gone, `\"` unescaped, trimmed).

use crate::source::Span;

/// A whole diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    pub span: Span,
    pub statements: Vec<Statement>,
    /// `%%` comments after a statement on the same line (whole-line comments are kept by
    /// preprocessing instead).
    pub comments: Vec<Comment>,
}

/// One line of the diagram.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Group(Group),
    Service(Service),
    Junction(Junction),
    Edge(Edge),
    /// `title text`
    Title(Text),
    /// `accTitle: text`
    AccTitle(Text),
    /// `accDescr: text` or `accDescr { ... }`
    AccDescr(Text),
}

/// An id as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A converted piece of text and the span of what it was converted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub value: String,
    pub span: Span,
}

/// `group ID (ICON) [TITLE] in PARENT`
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub span: Span,
    pub id: Ident,
    pub icon: Option<Text>,
    pub title: Option<Text>,
    pub parent: Option<Ident>,
}

/// `service ID (ICON) [TITLE] in PARENT`, or `"ICON TEXT"` instead of the icon.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub span: Span,
    pub id: Ident,
    pub icon: Option<Text>,
    pub icon_text: Option<Text>,
    pub title: Option<Text>,
    pub parent: Option<Ident>,
}

/// `junction ID in PARENT`
#[derive(Debug, Clone, PartialEq)]
pub struct Junction {
    pub span: Span,
    pub id: Ident,
    pub parent: Option<Ident>,
}

/// `lhs:R -[title]-> L:rhs`
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub span: Span,
    pub lhs: EdgeEnd,
    pub rhs: EdgeEnd,
    /// The title of a `-[title]-` line.
    pub title: Option<Text>,
}

/// One end of an edge.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeEnd {
    pub id: Ident,
    /// The span of `{group}`, when it was written after the id.
    pub group_modifier: Option<Span>,
    pub side: Side,
    pub side_span: Span,
    /// The span of the `<`/`>` arrow head at this end, if any.
    pub head: Option<Span>,
}

/// A side of a service, junction or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
    Top,
    Bottom,
}

/// A `%%` comment at the end of a line: `text` is what follows the `%%`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}
