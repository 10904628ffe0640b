//! Resolve a flowchart AST into the diagram IR, the way mermaid's flowchart database fills
//! itself statement by statement: nodes are created on first mention and updated by later
//! ones, `&` groups and chains expand into single edges, subgraphs are completed at their
//! `end` (inner before outer) with an explicit stack, and presentation is applied in order.

mod data;
mod sanitize;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::diagnostic::Diagnostic;
use crate::ir::graph::{
    ClassDef, Diagram, Direction, Edge, EdgeEnd, Element, ElementForm, ElementStyle, Group, Head,
    LabelType, PresentationStatement, Stroke,
};
use crate::source::Span;
use crate::syntax::ast::flowchart as ast;
use crate::syntax::flowchart::shape_name;

use sanitize::sanitize;

/// Fill `diagram` from the AST; returns every problem found.
pub fn resolve(
    ast: &ast::Flowchart,
    options: super::ResolveOptions,
    diagram: &mut Diagram,
) -> Vec<Diagnostic> {
    let mut db = Db { max_edges: options.max_edges, ..Db::default() };
    let direction = ast.direction.as_ref().map_or(Direction::TB, |d| header_direction(&d.value));
    diagram.direction = Some(direction);
    db.inherited_direction = ast.inherit_dir.then_some(direction);
    let mut stack: Vec<Frame<'_>> = Vec::new();
    for statement in &ast.statements {
        db.statement(statement, &mut stack, diagram);
    }
    for frame in stack.iter().rev() {
        let name =
            frame.open.name.as_ref().map_or("subgraph".to_string(), |n| n.text.trim().to_string());
        db.diagnostics.push(
            Diagnostic::error(
                "m2a::resolve::unclosed_subgraph",
                format!("`subgraph` `{name}` is never closed"),
            )
            .with_label(frame.open.span, "opened here")
            .with_help("add `end` after its last statement"),
        );
    }
    let diagnostics = std::mem::take(&mut db.diagnostics);
    db.finish(diagram);
    diagnostics
}

/// The diagram direction of a header direction token, as mermaid normalises it.
fn header_direction(value: &str) -> Direction {
    match value {
        "<" | "RL" => Direction::RL,
        "^" | "BT" => Direction::BT,
        ">" | "LR" => Direction::LR,
        _ => Direction::TB,
    }
}

/// A subgraph direction, as written.
fn subgraph_direction(value: &str) -> Direction {
    match value {
        "TD" => Direction::TD,
        "BT" => Direction::BT,
        "LR" => Direction::LR,
        "RL" => Direction::RL,
        _ => Direction::TB,
    }
}

/// One open subgraph: what its statements produced so far.
struct Frame<'a> {
    open: &'a ast::SubgraphOpen,
    /// Member ids, in mermaid's order (duplicates removed at `end`).
    members: Vec<String>,
    direction: Option<Direction>,
}

/// A node while the statements are applied.
#[derive(Default)]
struct Vertex {
    span: Span,
    /// `None` until a text is given (mermaid then shows the id).
    text: Option<String>,
    label_type: LabelType,
    shape: Option<String>,
    styles: Vec<String>,
    classes: Vec<String>,
    link: Option<String>,
    link_target: Option<String>,
    icon: Option<String>,
    data: BTreeMap<String, String>,
}

#[derive(Default)]
struct Db {
    vertices: BTreeMap<String, Vertex>,
    edges: Vec<Edge>,
    /// The id of every edge (user-defined or generated), for `e1@{...}` and `class e1 x`:
    /// the index of the first edge with that id.
    edge_ids: HashMap<String, usize>,
    /// How many edges join each (start, end) pair so far, for generated edge ids.
    edges_between: HashMap<(String, String), usize>,
    class_defs: BTreeMap<String, ClassDef>,
    groups: Vec<Group>,
    /// The index of the last completed subgraph with each id.
    group_index: HashMap<String, usize>,
    /// Every id that is already a member of a completed subgraph.
    grouped: HashSet<String>,
    /// Where each subgraph id was first used.
    group_spans: HashMap<String, crate::source::Span>,
    tooltips: BTreeMap<String, String>,
    callbacks: HashSet<String>,
    default_interpolate: Option<String>,
    sub_count: usize,
    /// The diagram direction when the configuration sets `flowchart.inheritDir`.
    inherited_direction: Option<Direction>,
    /// mermaid's `maxEdges`.
    max_edges: usize,
    edge_limit_reported: bool,
    diagnostics: Vec<Diagnostic>,
}

impl Db {
    fn statement<'a>(
        &mut self,
        statement: &'a ast::Statement,
        stack: &mut Vec<Frame<'a>>,
        diagram: &mut Diagram,
    ) {
        match statement {
            ast::Statement::Vertices(vs) => {
                let members = self.vertex_statement(vs);
                if let Some(frame) = stack.last_mut() {
                    frame.members.extend(members);
                }
            }
            ast::Statement::Subgraph(open) => {
                stack.push(Frame { open, members: Vec::new(), direction: None });
            }
            ast::Statement::End(span) => match stack.pop() {
                Some(frame) => {
                    let id = self.close_subgraph(frame);
                    if let Some(parent) = stack.last_mut() {
                        parent.members.push(id);
                    }
                }
                None => self.diagnostics.push(
                    Diagnostic::error("m2a::resolve::stray_end", "`end` closes no `subgraph`")
                        .with_label(*span, "nothing to close here")
                        .with_help(
                            "remove this `end`, or open a subgraph above it with `subgraph ID`; a node cannot be called `end` (write `End`)",
                        ),
                ),
            },
            ast::Statement::Direction(dir) => {
                if let Some(frame) = stack.last_mut() {
                    frame.direction = Some(subgraph_direction(&dir.value));
                }
            }
            ast::Statement::ClassDef(def) => {
                present(diagram, "classDef", def.span);
                self.add_class(&def.names.value, &def.styles);
            }
            ast::Statement::Class(class) => {
                present(diagram, "class", class.span);
                self.set_class(&class.ids.value, &class.class.value);
            }
            ast::Statement::Style(style) => {
                present(diagram, "style", style.span);
                let id = &style.id.value;
                if !self.edge_ids.contains_key(id) {
                    let vertex = self.vertex(id, style.id.span);
                    vertex.styles.extend(style.styles.iter().cloned());
                }
            }
            ast::Statement::LinkStyle(link_style) => {
                present(diagram, "linkStyle", link_style.span);
                self.link_style(link_style);
            }
            ast::Statement::Click(click) => {
                present(diagram, "click", click.span);
                self.click(click);
            }
            ast::Statement::AccTitle(value) => {
                present(diagram, "accTitle", value.span);
                diagram.acc_title = Some(value.value.clone());
                if let Some(frame) = stack.last_mut() {
                    frame.members.push(value.value.clone());
                }
            }
            ast::Statement::AccDescr(value) => {
                present(diagram, "accDescr", value.span);
                diagram.acc_descr = Some(value.value.clone());
                if let Some(frame) = stack.last_mut() {
                    frame.members.push(value.value.clone());
                }
            }
        }
    }

    /// The vertex `id`, created (showing its id) when it is new.
    fn vertex(&mut self, id: &str, span: Span) -> &mut Vertex {
        self.vertices.entry(id.to_string()).or_insert_with(|| Vertex { span, ..Vertex::default() })
    }

    /// Nodes and edges of one statement. Returns its nodes in mermaid's member order
    /// (last group first).
    fn vertex_statement(&mut self, vs: &ast::VertexStatement) -> Vec<String> {
        let mut previous: Option<Vec<String>> = None;
        for (i, group) in vs.groups.iter().enumerate() {
            let ids: Vec<String> = group.iter().map(|n| n.id.value.clone()).collect();
            for node in group {
                self.node_ref(node);
            }
            if let (Some(from), Some(link)) =
                (&previous, i.checked_sub(1).and_then(|l| vs.links.get(l)))
            {
                self.add_link(from, &ids, link);
            }
            previous = Some(ids);
        }
        vs.groups.iter().rev().flat_map(|g| g.iter().map(|n| n.id.value.clone())).collect()
    }

    /// One node mention: shape and text, `:::class`, then `@{...}` data.
    fn node_ref(&mut self, node: &ast::NodeRef) {
        let id = &node.id.value;
        if id.trim().is_empty() {
            return;
        }
        let is_edge = self.edge_ids.contains_key(id);
        if !is_edge {
            let vertex = self.vertex(id, node.id.span);
            if let Some(shape) = &node.shape {
                let text = sanitize(shape.text.text.trim());
                let text = strip_quotes(&text);
                vertex.text = Some(text);
                vertex.label_type = label_type(shape.text.quoting);
                vertex.shape = Some(shape_name(shape.kind).to_string());
            }
        }
        if let Some(class) = &node.class {
            self.set_class(id, &class.value);
        }
        if let Some(raw) = &node.data {
            self.node_data(id, raw);
        }
    }

    /// `@{...}` on a node (or on an edge, by its id).
    fn node_data(&mut self, id: &str, raw: &ast::Spanned<String>) {
        let doc = match data::parse(&raw.value) {
            Ok(doc) => doc,
            Err(message) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "m2a::resolve::bad_node_data",
                        format!("cannot read the node data: {message}"),
                    )
                    .with_label(raw.span, "in this `@{...}`")
                    .with_help("write `@{ key: value, key: \"quoted value\" }`"),
                );
                return;
            }
        };
        if let Some(&index) = self.edge_ids.get(id) {
            if let Some(edge) = self.edges.get_mut(index) {
                if let Some(animate) = doc.get("animate") {
                    edge.animate = Some(animate == "true");
                }
                if let Some(animation) = doc.get("animation") {
                    edge.animation = Some(animation.clone());
                }
                if let Some(curve) = doc.get("curve") {
                    edge.interpolate = Some(curve.clone());
                }
            }
            return;
        }
        if let Some(shape) = doc.get("shape").filter(|s| !s.is_empty())
            && let Err(diagnostic) = data::check_shape(shape, raw.span)
        {
            self.diagnostics.push(diagnostic);
            return;
        }
        let vertex = self.vertex(id, raw.span);
        if let Some(shape) = doc.get("shape").filter(|s| !s.is_empty()) {
            vertex.shape = Some(shape.clone());
        }
        if let Some(label) = doc.get("label").filter(|s| !s.is_empty()) {
            vertex.text = Some(label.clone());
            vertex.label_type = match doc.get("labelType").map(String::as_str) {
                Some("text") => LabelType::Text,
                Some("string") => LabelType::String,
                _ => LabelType::Markdown,
            };
        }
        let no_label = doc.get("label").is_none_or(|l| l.trim().is_empty());
        let shows_id = vertex.text.as_deref().is_none_or(|t| t == id);
        if let Some(icon) = doc.get("icon").filter(|s| !s.is_empty()) {
            vertex.icon = Some(icon.clone());
            if no_label && shows_id {
                vertex.text = Some(String::new());
            }
        }
        for key in ["form", "pos", "img", "constraint", "w", "h"] {
            if let Some(value) = doc.get(key).filter(|s| !s.is_empty()) {
                vertex.data.insert(key.to_string(), value.clone());
            }
        }
        if doc.get("img").is_some_and(|s| !s.is_empty())
            && no_label
            && vertex.text.as_deref().is_none_or(|t| t == id)
        {
            vertex.text = Some(String::new());
        }
    }

    /// Every edge of `from` × `to`; the user id goes to the last start and the first end.
    fn add_link(&mut self, from: &[String], to: &[String], link: &ast::Link) {
        let user_id = link.id.as_ref().map(|id| id.value.replacen('@', "", 1));
        for start in from {
            for end in to {
                let is_last_start = from.last() == Some(start);
                let is_first_end = to.first() == Some(end);
                let id = if is_last_start && is_first_end { user_id.clone() } else { None };
                self.add_single_link(start, end, link, id);
            }
        }
    }

    fn add_single_link(&mut self, start: &str, end: &str, link: &ast::Link, id: Option<String>) {
        if self.edges.len() >= self.max_edges {
            if !self.edge_limit_reported {
                self.edge_limit_reported = true;
                let max = self.max_edges;
                self.diagnostics.push(
                    Diagnostic::error(
                        "m2a::resolve::edge_limit",
                        format!("more than {max} edges: edge limit exceeded"),
                    )
                    .with_label(link.span, format!("edge number {} is here", max + 1))
                    .with_help(format!(
                        "mermaid draws at most {max} edges (`maxEdges`, which a diagram cannot raise); split the diagram, or pass `--max-edges N` if your site's mermaid allows more"
                    )),
                );
            }
            return;
        }
        let kind = destruct_link(&link.arrow, link.start.as_deref());
        let (label, label_type) = match &link.label {
            Some(label) => {
                let text = strip_quotes(&sanitize(label.text.trim()));
                (Some(text), label_type(label.quoting))
            }
            None => (None, LabelType::Text),
        };
        let user_id = id.filter(|id| !self.edge_ids.contains_key(id));
        let between = self.edges_between.entry((start.to_string(), end.to_string())).or_default();
        let existing = *between;
        *between += 1;
        let edge_id = match &user_id {
            Some(id) => id.clone(),
            None => {
                let counter = if existing == 0 { 0 } else { existing + 1 };
                format!("L_{start}_{end}_{counter}")
            }
        };
        let end_span = link.span;
        self.edges.push(Edge {
            id: user_id,
            span: link.span,
            from: EdgeEnd {
                id: start.to_string(),
                span: end_span,
                head: kind.start_head,
                side: None,
                via_group: false,
            },
            to: EdgeEnd {
                id: end.to_string(),
                span: end_span,
                head: kind.end_head,
                side: None,
                via_group: false,
            },
            label,
            label_type,
            stroke: kind.stroke,
            length: kind.length,
            mismatched: kind.invalid,
            style: Vec::new(),
            classes: Vec::new(),
            interpolate: self.default_interpolate.clone(),
            animate: None,
            animation: None,
            curve: None,
        });
        self.edge_ids.entry(edge_id).or_insert(self.edges.len() - 1);
    }

    /// `end`: the subgraph is complete; returns its id.
    fn close_subgraph(&mut self, frame: Frame<'_>) -> String {
        let open = frame.open;
        let (id, title, label_type) = match (&open.name, &open.title) {
            (None, _) => (None, String::new(), LabelType::Text),
            (Some(name), Some(title)) => {
                (Some(name.text.trim().to_string()), title.text.clone(), label_type(title.quoting))
            }
            (Some(name), None) => {
                let id = (!name.text.chars().any(char::is_whitespace))
                    .then(|| name.text.trim().to_string());
                let kind = if name.quoting == ast::Quoting::Markdown {
                    LabelType::Markdown
                } else {
                    LabelType::Text
                };
                (id, name.text.clone(), kind)
            }
        };
        let id = id.unwrap_or_else(|| format!("subGraph{}", self.sub_count));
        self.sub_count += 1;
        let title = sanitize(&title).trim().to_string();
        let mut seen = HashSet::new();
        let members: Vec<String> = frame
            .members
            .into_iter()
            .filter(|m| !m.trim().is_empty())
            .filter(|m| seen.insert(m.clone()))
            .filter(|m| !self.grouped.contains(m))
            .collect();
        self.grouped.extend(members.iter().cloned());
        if let Some(first) = self.group_spans.get(&id) {
            // mermaid draws both boxes; infrastructure would silently merge them.
            self.diagnostics.push(
                Diagnostic::warning(
                    "m2a::resolve::duplicate_subgraph",
                    format!("subgraph id `{id}` is used twice: both become one group"),
                )
                .with_label(open.span, "used again here")
                .with_label(*first, "first used here")
                .with_help("give each subgraph its own id (`subgraph ID[\"Title\"]`)"),
            );
        } else {
            self.group_spans.insert(id.clone(), open.span);
        }
        self.groups.push(Group {
            id: id.clone(),
            span: open.span,
            title: Some(title),
            label_type,
            parent: None,
            direction: frame.direction.or(self.inherited_direction),
            icon: None,
            members,
            classes: Vec::new(),
        });
        self.group_index.insert(id.clone(), self.groups.len() - 1);
        id
    }

    fn add_class(&mut self, names: &str, styles: &[String]) {
        let joined = styles.join(",").replace("\\,", "\u{0}");
        let styles: Vec<String> = joined.split(',').map(|s| s.replace('\u{0}', ",")).collect();
        for name in names.split(',') {
            let def = self.class_defs.entry(name.to_string()).or_default();
            for style in &styles {
                if style.contains("color") {
                    def.text_styles.push(style.replacen("fill", "bgFill", 1));
                }
                def.styles.push(style.clone());
            }
        }
    }

    fn set_class(&mut self, ids: &str, class: &str) {
        for id in ids.split(',') {
            if let Some(vertex) = self.vertices.get_mut(id) {
                vertex.classes.push(class.to_string());
            }
            if let Some(&index) = self.edge_ids.get(id)
                && let Some(edge) = self.edges.get_mut(index)
            {
                edge.classes.push(class.to_string());
            }
            if let Some(group) = self.group_index.get(id).and_then(|&i| self.groups.get_mut(i)) {
                group.classes.push(class.to_string());
            }
        }
    }

    fn link_style(&mut self, link_style: &ast::LinkStyle) {
        let Some(indexes) = &link_style.indexes else {
            if let Some(interpolate) = &link_style.interpolate {
                self.default_interpolate = Some(interpolate.clone());
            }
            return;
        };
        for index in indexes {
            let position = index.value.parse::<usize>().ok().filter(|&i| i < self.edges.len());
            let Some(edge) = position.and_then(|i| self.edges.get_mut(i)) else {
                let count = self.edges.len();
                self.diagnostics.push(
                    Diagnostic::error(
                        "m2a::resolve::link_style_index",
                        format!("`linkStyle` index `{}` is out of bounds", index.value),
                    )
                    .with_label(index.span, format!("there are {count} edges above this line"))
                    .with_help(format!(
                        "edges are numbered from 0 in the order they are written; use 0 to {}",
                        count.saturating_sub(1)
                    )),
                );
                continue;
            };
            if let Some(interpolate) = &link_style.interpolate {
                edge.interpolate = Some(interpolate.clone());
            }
            if !link_style.styles.is_empty() {
                edge.style = link_style.styles.clone();
                if !edge.style.iter().any(|s| s.starts_with("fill")) {
                    edge.style.push("fill:none".to_string());
                }
            }
        }
    }

    fn click(&mut self, click: &ast::Click) {
        match &click.action {
            ast::ClickAction::Link { url, target } => {
                for id in click.ids.value.split(',') {
                    if let Some(vertex) = self.vertices.get_mut(id) {
                        vertex.link = Some(format_url(url));
                        vertex.link_target.clone_from(target);
                    }
                }
            }
            ast::ClickAction::Callback { .. } => {
                // Under mermaid's default `securityLevel: strict`, callbacks are ignored.
                for id in click.ids.value.split(',') {
                    self.callbacks.insert(id.to_string());
                }
            }
        }
        self.set_class(&click.ids.value, "clickable");
        if let Some(tooltip) = &click.tooltip {
            for id in click.ids.value.split(',') {
                self.tooltips.insert(id.to_string(), sanitize(tooltip));
            }
        }
    }

    fn finish(self, diagram: &mut Diagram) {
        let mut group_of: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
        for group in &self.groups {
            for member in &group.members {
                group_of.entry(member.as_str()).or_insert(group.id.as_str());
            }
        }
        let group_of: std::collections::HashMap<String, String> =
            group_of.into_iter().map(|(m, g)| (m.to_string(), g.to_string())).collect();
        diagram.elements = self
            .vertices
            .into_iter()
            .map(|(id, v)| Element {
                label: v.text,
                label_type: v.label_type,
                form: ElementForm::Node { shape: v.shape },
                group: group_of.get(&id).cloned(),
                icon: v.icon,
                icon_text: None,
                data: v.data,
                style: ElementStyle {
                    classes: v.classes,
                    styles: v.styles,
                    link: v.link,
                    link_target: v.link_target,
                    tooltip: self.tooltips.get(&id).cloned(),
                    have_callback: false,
                },
                span: v.span,
                id,
            })
            .collect();
        let mut groups = self.groups;
        let parents: Vec<(usize, String)> = groups
            .iter()
            .enumerate()
            .filter_map(|(i, g)| group_of.get(&g.id).map(|p| (i, p.clone())))
            .collect();
        for (i, parent) in parents {
            if let Some(group) = groups.get_mut(i) {
                group.parent = Some(parent);
            }
        }
        diagram.groups = groups;
        diagram.edges = self.edges;
        diagram.presentation.class_defs = self.class_defs;
    }
}

/// Record a presentation statement.
fn present(diagram: &mut Diagram, keyword: &str, span: Span) {
    diagram
        .presentation
        .statements
        .push(PresentationStatement { keyword: keyword.to_string(), span });
}

fn label_type(quoting: ast::Quoting) -> LabelType {
    match quoting {
        ast::Quoting::Plain => LabelType::Text,
        ast::Quoting::String => LabelType::String,
        ast::Quoting::Markdown => LabelType::Markdown,
    }
}

/// mermaid drops a pair of `"` around a whole label.
fn strip_quotes(text: &str) -> String {
    if text.starts_with('"') && text.ends_with('"') {
        text.get(1..text.len().saturating_sub(1).max(1)).unwrap_or_default().to_string()
    } else {
        text.to_string()
    }
}

/// Links under `securityLevel: strict`: scripts become `about:blank`.
fn format_url(url: &str) -> String {
    let lowered: String =
        url.trim().chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    if lowered.starts_with("javascript:")
        || lowered.starts_with("vbscript:")
        || lowered.starts_with("data:")
    {
        "about:blank".to_string()
    } else {
        url.to_string()
    }
}

/// What an edge operator means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LinkKind {
    start_head: Option<Head>,
    end_head: Option<Head>,
    stroke: Stroke,
    length: u32,
    invalid: bool,
}

/// mermaid's edge type name to heads: `arrow_point` has an end head, `double_...` both.
fn heads(kind: &str) -> (Option<Head>, Option<Head>) {
    let head = if kind.ends_with("point") {
        Some(Head::Arrow)
    } else if kind.ends_with("cross") {
        Some(Head::Cross)
    } else if kind.ends_with("circle") {
        Some(Head::Circle)
    } else {
        None
    };
    if kind.starts_with("double_") { (head, head) } else { (None, head) }
}

/// The end operator: type, stroke and length (mermaid's `destructEndLink`).
fn destruct_end(arrow: &str) -> (String, Stroke, u32) {
    let s = arrow.trim();
    let mut line: &str = s.get(..s.len().saturating_sub(1)).unwrap_or_default();
    let mut kind = "arrow_open".to_string();
    let last = s.chars().last();
    let (name, opener) = match last {
        Some('x') => ("arrow_cross", 'x'),
        Some('>') => ("arrow_point", '<'),
        Some('o') => ("arrow_circle", 'o'),
        _ => ("", ' '),
    };
    if !name.is_empty() {
        kind = name.to_string();
        if s.starts_with(opener) {
            kind = format!("double_{kind}");
            line = line.get(1..).unwrap_or_default();
        }
    }
    let mut stroke = Stroke::Normal;
    let mut length = line.chars().count().saturating_sub(1);
    if line.starts_with('=') {
        stroke = Stroke::Thick;
    }
    if line.starts_with('~') {
        stroke = Stroke::Invisible;
    }
    let dots = line.chars().filter(|&c| c == '.').count();
    if dots > 0 {
        stroke = Stroke::Dotted;
        length = dots;
    }
    (kind, stroke, u32::try_from(length.min(10)).unwrap_or(10))
}

/// mermaid's `destructLink`: the closing operator and, for `-- text -->`, the opening one.
fn destruct_link(arrow: &str, start: Option<&str>) -> LinkKind {
    let (end_kind, stroke, length) = destruct_end(arrow);
    let invalid = LinkKind { start_head: None, end_head: None, stroke, length, invalid: true };
    let kind = match start {
        None => end_kind,
        Some(start) => {
            let s = start.trim();
            let (start_kind, rest) = match s.chars().next() {
                Some('<') => ("arrow_point", &s[1..]),
                Some('x') => ("arrow_cross", &s[1..]),
                Some('o') => ("arrow_circle", &s[1..]),
                _ => ("arrow_open", s),
            };
            let mut start_stroke = Stroke::Normal;
            if rest.contains('=') {
                start_stroke = Stroke::Thick;
            }
            if rest.contains('.') {
                start_stroke = Stroke::Dotted;
            }
            if start_stroke != stroke {
                return invalid;
            }
            if start_kind == "arrow_open" {
                end_kind
            } else if start_kind != end_kind {
                return invalid;
            } else {
                format!("double_{start_kind}")
            }
        }
    };
    let (start_head, end_head) = heads(&kind);
    LinkKind { start_head, end_head, stroke, length, invalid: false }
}

#[cfg(test)]
mod tests;
