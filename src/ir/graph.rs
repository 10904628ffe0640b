//! Diagram IR: what a flowchart or architecture diagram *means*, independent of its syntax.
//!
//! Invariants established by `resolve`:
//! - element ids are unique; group ids are unique and distinct from element ids, except that a
//!   flowchart subgraph used as an edge endpoint also appears as an element (mermaid does that);
//! - every `Element::group` and `Group::parent` names a group of this diagram, and the parent
//!   relation has no cycles;
//! - every edge endpoint names an element or a group of this diagram;
//! - every item the user wrote carries a span into the original file.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::source::Span;

/// One resolved diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagram {
    pub kind: DiagramKind,
    /// The diagram's name: its nearest Markdown heading, else the file stem.
    pub name: String,
    /// The whole diagram (for a fenced block, its content) in the original file.
    pub span: Span,
    /// The diagram keyword (`flowchart`, `architecture-beta`): where errors about the whole
    /// diagram (CloudFormation's limits) are shown. Not part of the IR dumps.
    #[serde(skip)]
    pub keyword: Span,
    /// Flowchart layout direction (`None` for architecture diagrams).
    pub direction: Option<Direction>,
    /// `title` from front matter (flowchart) or the `title` statement (architecture).
    pub title: Option<String>,
    pub acc_title: Option<String>,
    pub acc_descr: Option<String>,
    /// Nodes, services and junctions, sorted by id.
    pub elements: Vec<Element>,
    /// Subgraphs and architecture groups. Flowchart: in mermaid's order (a subgraph is
    /// complete at its `end`, so inner ones come before outer ones). Architecture: declaration order.
    pub groups: Vec<Group>,
    /// Edges in source order (after `&` and chain expansion).
    pub edges: Vec<Edge>,
    /// Styling and interaction statements: kept, but they never change infrastructure.
    pub presentation: Presentation,
    /// Whole-line `%%` comments, in source order: where `%% @aws` overrides live.
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiagramKind {
    Flowchart,
    Architecture,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Direction {
    TB,
    /// Top-down as written `TD`: laid out like `TB`. mermaid keeps `TD` as written for a
    /// subgraph's `direction TD` (the diagram's own `TD` becomes `TB`).
    TD,
    BT,
    LR,
    RL,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::TB => "TB",
            Direction::TD => "TD",
            Direction::BT => "BT",
            Direction::LR => "LR",
            Direction::RL => "RL",
        }
    }
}

/// Whether a label is plain text or a markdown string (`` "`...`" ``).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelType {
    #[default]
    Text,
    /// Plain text given as a `"quoted string"`.
    String,
    Markdown,
}

impl LabelType {
    pub fn as_str(self) -> &'static str {
        match self {
            LabelType::Text => "text",
            LabelType::String => "string",
            LabelType::Markdown => "markdown",
        }
    }
}

/// A flowchart node, an architecture service or an architecture junction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Element {
    pub id: String,
    /// Where the element is first mentioned.
    pub span: Span,
    /// The text the user wrote for it; `None` when they gave none (flowchart shows the id).
    pub label: Option<String>,
    pub label_type: LabelType,
    pub form: ElementForm,
    /// The innermost group that contains it.
    pub group: Option<String>,
    /// `icon` of an `@{...}` node or of an architecture service (`database`, `logos:aws-s3`...).
    pub icon: Option<String>,
    /// The quoted icon text of an architecture service (`service a "txt"[T]`).
    pub icon_text: Option<String>,
    /// Other `@{...}` node data, as written (`form`, `pos`, `img`, `h`, `w`, `constraint`).
    pub data: BTreeMap<String, String>,
    pub style: ElementStyle,
}

impl Element {
    /// The text shown for the element: its label, else its id.
    pub fn display_label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.id)
    }
}

/// What kind of diagram item an element is, with the facts that belong to that kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "form")]
pub enum ElementForm {
    /// A flowchart node. `shape` is the name mermaid stores, as written: classic forms give
    /// `square`, `round`, `cylinder`...; `@{ shape: procs }` keeps `procs` (aliases are not
    /// canonicalised); `None` when no shape was given.
    Node {
        shape: Option<String>,
    },
    Service,
    Junction,
}

/// Presentation attached to one element (flowchart `class`, `style`, `click`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ElementStyle {
    pub classes: Vec<String>,
    pub styles: Vec<String>,
    pub link: Option<String>,
    pub link_target: Option<String>,
    pub tooltip: Option<String>,
    pub have_callback: bool,
}

/// A flowchart subgraph or an architecture group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub id: String,
    pub span: Span,
    /// The title as written; `None` when the user gave none (flowchart shows the id).
    pub title: Option<String>,
    pub label_type: LabelType,
    /// The enclosing group.
    pub parent: Option<String>,
    /// Flowchart `direction` inside the subgraph.
    pub direction: Option<Direction>,
    pub icon: Option<String>,
    /// Direct members in mermaid's order: element ids and nested group ids.
    pub members: Vec<String>,
    pub classes: Vec<String>,
}

impl Group {
    pub fn display_title(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.id)
    }
}

/// A connection between two elements or groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    /// A user-defined edge id (`A e1@--> B`).
    pub id: Option<String>,
    pub span: Span,
    pub from: EdgeEnd,
    pub to: EdgeEnd,
    /// The label (flowchart) or title (architecture); `None` when there is none.
    pub label: Option<String>,
    pub label_type: LabelType,
    pub stroke: Stroke,
    /// Flowchart edge length (`-->` is 1, `--->` is 2); 1 for architecture edges.
    pub length: u32,
    /// mermaid marks an edge whose two heads or strokes do not match (`x-- t -->`) INVALID.
    pub mismatched: bool,
    pub style: Vec<String>,
    pub classes: Vec<String>,
    pub interpolate: Option<String>,
    pub animate: Option<bool>,
    pub animation: Option<String>,
    pub curve: Option<String>,
}

/// One end of an edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EdgeEnd {
    /// The element or group id at this end.
    pub id: String,
    pub span: Span,
    /// The arrow head drawn at this end (architecture: `<`/`>` give `Arrow`).
    pub head: Option<Head>,
    /// Architecture: the side of the element the edge attaches to.
    pub side: Option<Side>,
    /// Architecture `{group}`: the edge attaches to the group that contains the service.
    pub via_group: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Head {
    Arrow,
    Circle,
    Cross,
}

impl Head {
    pub fn as_str(self) -> &'static str {
        match self {
            Head::Arrow => "point",
            Head::Circle => "circle",
            Head::Cross => "cross",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stroke {
    Normal,
    Thick,
    Dotted,
    Invisible,
}

impl Stroke {
    pub fn as_str(self) -> &'static str {
        match self {
            Stroke::Normal => "normal",
            Stroke::Thick => "thick",
            Stroke::Dotted => "dotted",
            Stroke::Invisible => "invisible",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Side {
    L,
    R,
    T,
    B,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::L => "L",
            Side::R => "R",
            Side::T => "T",
            Side::B => "B",
        }
    }
}

/// Styling and interaction: kept so nothing the user wrote is lost, never lowered to AWS.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Presentation {
    /// `classDef` by name.
    pub class_defs: BTreeMap<String, ClassDef>,
    /// Every presentation statement (`classDef`, `class`, `style`, `linkStyle`, `click`,
    /// accessibility lines), with its span, in source order.
    pub statements: Vec<PresentationStatement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ClassDef {
    pub styles: Vec<String>,
    pub text_styles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresentationStatement {
    /// The statement keyword: `classDef`, `class`, `style`, `linkStyle`, `click`, `accTitle`...
    pub keyword: String,
    pub span: Span,
}

/// A whole-line `%%` comment: `text` is what follows the `%%`, untrimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}
