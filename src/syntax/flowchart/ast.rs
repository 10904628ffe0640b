//! AST of a flowchart diagram: the statements as written, in source order, with file spans.
//! Nesting of subgraphs is not built here (`subgraph` and `end` are flat statements).

use crate::source::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Flowchart {
    /// `graph`, `flowchart` or `flowchart-elk`.
    pub keyword: String,
    /// The header direction as written (`LR`, `TD`, `>`...).
    pub direction: Option<Spanned<String>>,
    pub statements: Vec<Statement>,
    pub span: Span,
}

/// A value with the span of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// Nodes and edges.
    Vertices(VertexStatement),
    /// `subgraph ...` (opens a subgraph; closed by a later `End`).
    Subgraph(SubgraphOpen),
    /// `end`.
    End(Span),
    /// `direction XX` (only meaningful inside a subgraph).
    Direction(Spanned<String>),
    ClassDef(ClassDef),
    Class(ClassStatement),
    Style(StyleStatement),
    LinkStyle(LinkStyle),
    Click(Click),
    AccTitle(Spanned<String>),
    AccDescr(Spanned<String>),
}

/// `A --> B & C`: groups of nodes joined by links (`links.len() + 1 == groups.len()`).
#[derive(Debug, Clone, PartialEq)]
pub struct VertexStatement {
    pub groups: Vec<Vec<NodeRef>>,
    pub links: Vec<Link>,
    pub span: Span,
}

/// One mention of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRef {
    pub id: Spanned<String>,
    pub shape: Option<NodeShape>,
    /// `:::name`.
    pub class: Option<Spanned<String>>,
    /// The raw inside of `@{ ... }`.
    pub data: Option<Spanned<String>>,
    pub span: Span,
}

/// A classic shape: `[text]`, `(text)`, `{text}`...
#[derive(Debug, Clone, PartialEq)]
pub struct NodeShape {
    pub kind: ShapeKind,
    pub text: Label,
    /// `[|field:value|text]`.
    pub prop: Option<(String, String)>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    Square,
    Round,
    Stadium,
    Subroutine,
    Cylinder,
    Circle,
    DoubleCircle,
    Odd,
    Diamond,
    Hexagon,
    LeanRight,
    LeanLeft,
    Trapezoid,
    InvTrapezoid,
    Ellipse,
    /// `[|k:v|text]`.
    Rect,
}

/// Text as written: plain, a `"string"` or a `` "`markdown`" `` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The text without its quotes (untrimmed).
    pub text: String,
    pub quoting: Quoting,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    Plain,
    String,
    Markdown,
}

/// An edge operator, with its label and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// `e1` of `e1@-->`.
    pub id: Option<Spanned<String>>,
    /// The closing operator as written (`-->`, `<==>`, `-.-`, `~~~`).
    pub arrow: String,
    /// The opening part of `-- text -->` (`--`, `<==`, `x-.`).
    pub start: Option<String>,
    pub label: Option<Label>,
    pub span: Span,
}

/// `subgraph ID`, `subgraph ID [Title]`, `subgraph "Title"`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubgraphOpen {
    /// The text after `subgraph` (an id, or an id-and-title).
    pub name: Option<Label>,
    /// `[Title]`.
    pub title: Option<Label>,
    pub span: Span,
}

/// `classDef a,b fill:#f9f,stroke:#333`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassDef {
    pub names: Spanned<String>,
    pub styles: Vec<String>,
    pub span: Span,
}

/// `class A,B name`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassStatement {
    pub ids: Spanned<String>,
    pub class: Spanned<String>,
    pub span: Span,
}

/// `style A fill:#f9f`.
#[derive(Debug, Clone, PartialEq)]
pub struct StyleStatement {
    pub id: Spanned<String>,
    pub styles: Vec<String>,
    pub span: Span,
}

/// `linkStyle 0,1 interpolate basis stroke:red`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkStyle {
    /// `None` for `default`.
    pub indexes: Option<Vec<Spanned<String>>>,
    pub interpolate: Option<String>,
    pub styles: Vec<String>,
    pub span: Span,
}

/// `click A ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Click {
    pub ids: Spanned<String>,
    pub action: ClickAction,
    pub tooltip: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClickAction {
    /// `click A "url" _blank` / `click A href "url"`.
    Link { url: String, target: Option<String> },
    /// `click A fn` / `click A call fn(args)`.
    Callback { name: String, args: Option<String> },
}
