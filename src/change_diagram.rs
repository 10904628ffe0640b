//! A set of resource changes drawn as the diagram that made them: the user's elements, groups
//! and edges re-emitted as a Mermaid flowchart, each styled (`classDef`) as added, modified,
//! replaced or removed, with a legend. Removed elements and edges are still drawn, dashed.
//!
//! Both diagram kinds are drawn as a flowchart: `architecture-beta` has no `classDef` or
//! `linkStyle`, and a flowchart with the same elements, groups (as subgraphs) and edges is what
//! GitHub renders in a pull request comment. Ids are generated (`n0`, `g0`, `r0`...) so no user
//! id can collide with a keyword; labels are the diagram's own, already sanitised by `resolve`
//! as mermaid's database keeps them, and quoted with mermaid's entity escapes.
//!
//! Pure: no IO.

use std::collections::{BTreeMap, BTreeSet};

use crate::compare::{ChangeKind, ResourceChange};
use crate::ir::graph::{Diagram, DiagramKind, Edge, Element, ElementForm, Group, Stroke};
use crate::source::SourceFile;

/// How an element, group or edge is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Unchanged,
    Added,
    Modified,
    Replaced,
    Removed,
}

impl Status {
    fn class(self) -> Option<&'static str> {
        match self {
            Status::Unchanged => None,
            Status::Added => Some("added"),
            Status::Modified => Some("modified"),
            Status::Replaced => Some("replaced"),
            Status::Removed => Some("removed"),
        }
    }

    /// Said in the label too, for readers who do not see colours.
    fn mark(self) -> &'static str {
        match self {
            Status::Unchanged => "",
            Status::Added => "+ ",
            Status::Modified => "~ ",
            Status::Replaced => "! ",
            Status::Removed => "- ",
        }
    }

    /// The status of something whose own resources changed like this.
    fn of(kinds: &[ChangeKind]) -> Status {
        if kinds.is_empty() {
            Status::Unchanged
        } else if kinds.contains(&ChangeKind::Replace) {
            Status::Replaced
        } else if kinds.iter().all(|k| *k == ChangeKind::Add) {
            Status::Added
        } else if kinds.iter().all(|k| *k == ChangeKind::Remove) {
            Status::Removed
        } else {
            Status::Modified
        }
    }
}

const CLASS_DEFS: &[(&str, &str)] = &[
    ("added", "fill:#dafbe1,stroke:#1a7f37,stroke-width:2px,color:#0f3d1f"),
    ("modified", "fill:#fff8c5,stroke:#9a6700,stroke-width:2px,color:#3b2300"),
    ("replaced", "fill:#ffebe9,stroke:#cf222e,stroke-width:3px,color:#67060c"),
    ("removed", "fill:#f6f8fa,stroke:#cf222e,stroke-width:2px,stroke-dasharray:5 5,color:#6e7781"),
];

const LINK_STYLES: &[(Status, &str)] = &[
    (Status::Added, "stroke:#1a7f37,stroke-width:3px"),
    (Status::Modified, "stroke:#9a6700,stroke-width:3px"),
    (Status::Replaced, "stroke:#cf222e,stroke-width:3px"),
    (Status::Removed, "stroke:#cf222e,stroke-width:2px,stroke-dasharray:5 5"),
];

/// One side of the comparison: a diagram and the file its spans point into.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub diagram: &'a Diagram,
    pub file: &'a SourceFile,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// The diagram as it is now.
    pub new: Side<'a>,
    /// The diagram before (`diff OLD NEW`); `None` when only a deployed template is known.
    pub old: Option<Side<'a>>,
    /// Elements the old (or deployed) template has resources for: an element of the new
    /// diagram named here existed before, one named only here was removed.
    pub old_elements: BTreeSet<String>,
    pub changes: &'a [ResourceChange],
}

/// The change diagram, a Mermaid flowchart.
pub fn render_mermaid(input: &Input<'_>) -> String {
    Drawing::new(input).render()
}

/// The change diagram in a fenced `mermaid` block under `title`, then a table of every change.
pub fn render_markdown(input: &Input<'_>, title: &str) -> String {
    let mut out = format!("### {title}\n\n```mermaid\n{}```\n\n", render_mermaid(input));
    if input.changes.is_empty() {
        out.push_str("No resource changes.\n");
        return out;
    }
    out.push_str(
        "| change | element | resource | type | source |\n| --- | --- | --- | --- | --- |\n",
    );
    for c in input.changes {
        let code = |s: &str| format!("`{}`", s.replace('`', "'").replace('|', "\\|"));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            c.kind,
            c.element.as_deref().map_or("-".into(), code),
            code(&c.logical_id),
            c.resource_type.replace('|', "\\|"),
            c.source.as_deref().map_or("-".into(), code),
        ));
    }
    out.push('\n');
    out.push_str(&crate::compare::summary(input.changes));
    out
}

/// A node to draw.
struct Node {
    id: String,
    label: String,
    shape: Shape,
    status: Status,
}

#[derive(Clone, Copy)]
enum Shape {
    Box,
    Cylinder,
    Circle,
}

/// An edge to draw.
struct Link {
    from: String,
    to: String,
    label: Option<String>,
    stroke: Stroke,
    arrow: bool,
    status: Status,
}

struct Drawing<'a> {
    input: &'a Input<'a>,
    /// Diagram id (element or group) -> drawn id.
    ids: BTreeMap<String, String>,
    /// Group id -> drawn subgraph id.
    groups: BTreeMap<String, String>,
    /// Changes by the element they belong to, and by the edge location they come from.
    by_element: BTreeMap<String, Vec<ChangeKind>>,
    by_edge: BTreeMap<String, Vec<ChangeKind>>,
}

fn edge_key(e: &Edge) -> (String, String, String) {
    (e.from.id.clone(), e.to.id.clone(), e.label.clone().unwrap_or_default())
}

impl<'a> Drawing<'a> {
    fn new(input: &'a Input<'a>) -> Drawing<'a> {
        let mut edge_locations: BTreeSet<String> = BTreeSet::new();
        let mut old_edge_locations: BTreeSet<String> = BTreeSet::new();
        for e in &input.new.diagram.edges {
            edge_locations.insert(input.new.file.location(e.span));
        }
        if let Some(old) = input.old {
            for e in &old.diagram.edges {
                old_edge_locations.insert(old.file.location(e.span));
            }
        }
        let mut by_element: BTreeMap<String, Vec<ChangeKind>> = BTreeMap::new();
        let mut by_edge: BTreeMap<String, Vec<ChangeKind>> = BTreeMap::new();
        for c in input.changes {
            // A removed resource's source points into the old file (or the deployed
            // template's): only the old diagram's edges can be where it came from.
            let locations =
                if c.kind == ChangeKind::Remove { &old_edge_locations } else { &edge_locations };
            match (&c.source, &c.element) {
                (Some(source), _) if locations.contains(source) => {
                    by_edge.entry(source.clone()).or_default().push(c.kind);
                }
                (_, Some(element)) => by_element.entry(element.clone()).or_default().push(c.kind),
                _ => {}
            }
        }
        Drawing { input, ids: BTreeMap::new(), groups: BTreeMap::new(), by_element, by_edge }
    }

    fn existed_before(&self, id: &str) -> bool {
        self.input.old_elements.contains(id)
            || self.input.old.is_some_and(|old| {
                old.diagram.elements.iter().any(|e| e.id == id)
                    || old.diagram.groups.iter().any(|g| g.id == id)
            })
    }

    fn status_of(&self, id: &str) -> Status {
        let kinds = self.by_element.get(id).map(Vec::as_slice).unwrap_or_default();
        if !self.existed_before(id) {
            // Against a deployed template only, an element that makes no resource (a subnet
            // drawn as a group, say) cannot be told new; it is drawn as it is.
            return if self.input.old.is_some() || !kinds.is_empty() {
                Status::Added
            } else {
                Status::Unchanged
            };
        }
        match Status::of(kinds) {
            // Resources added to an element that was there: the element changed.
            Status::Added | Status::Removed => Status::Modified,
            other => other,
        }
    }

    fn render(mut self) -> String {
        let new = self.input.new.diagram;
        let direction = match (new.kind, new.direction) {
            (DiagramKind::Flowchart, Some(d)) => d.as_str(),
            _ => "LR",
        };
        let mut out = format!("flowchart {direction}\n");
        for (name, style) in CLASS_DEFS {
            out.push_str(&format!("    classDef {name} {style}\n"));
        }
        for (i, g) in new.groups.iter().enumerate() {
            self.groups.insert(g.id.clone(), format!("g{i}"));
            self.ids.insert(g.id.clone(), format!("g{i}"));
        }
        let mut nodes: BTreeMap<Option<String>, Vec<Node>> = BTreeMap::new();
        let group_ids: BTreeSet<&str> = new.groups.iter().map(|g| g.id.as_str()).collect();
        let drawn = new.elements.iter().filter(|e| !group_ids.contains(e.id.as_str()));
        for (counter, e) in drawn.enumerate() {
            let id = format!("n{counter}");
            self.ids.insert(e.id.clone(), id.clone());
            let node =
                Node { id, label: label_of(e), shape: shape_of(e), status: self.status_of(&e.id) };
            nodes.entry(e.group.clone()).or_default().push(node);
        }
        // Removed elements: from the old diagram (with their labels and groups), then any
        // other element the old template names.
        let mut removed = 0;
        let mut add_removed =
            |this: &mut Self, id: &str, label: String, shape: Shape, group: Option<String>| {
                if this.ids.contains_key(id) {
                    return;
                }
                let drawn = format!("r{removed}");
                removed += 1;
                this.ids.insert(id.to_string(), drawn.clone());
                let group = group.filter(|g| this.groups.contains_key(g));
                nodes.entry(group).or_default().push(Node {
                    id: drawn,
                    label,
                    shape,
                    status: Status::Removed,
                });
            };
        if let Some(old) = self.input.old {
            for e in &old.diagram.elements {
                add_removed(&mut self, &e.id, label_of(e), shape_of(e), e.group.clone());
            }
            for g in &old.diagram.groups {
                add_removed(
                    &mut self,
                    &g.id,
                    g.display_title().to_string(),
                    Shape::Box,
                    g.parent.clone(),
                );
            }
        }
        let named: Vec<String> = self.input.old_elements.iter().cloned().collect();
        for id in named {
            add_removed(&mut self, &id, id.clone(), Shape::Box, None);
        }
        // Groups, nested, with their nodes.
        let roots: Vec<&Group> = new.groups.iter().filter(|g| g.parent.is_none()).collect();
        for g in roots {
            self.write_group(&mut out, g, &mut nodes, 1);
        }
        for node in nodes.remove(&None).unwrap_or_default() {
            write_node(&mut out, &node, 1);
        }
        for (_, orphans) in nodes {
            for node in orphans {
                write_node(&mut out, &node, 1);
            }
        }
        // Edges: the new diagram's, then the old diagram's that are gone.
        let links = self.links();
        for link in &links {
            let arrow = match (link.stroke, link.arrow) {
                (Stroke::Thick, true) => "==>",
                (Stroke::Thick, false) => "===",
                (Stroke::Dotted, true) => "-.->",
                (Stroke::Dotted, false) => "-.-",
                (Stroke::Invisible, _) => "~~~",
                (Stroke::Normal, true) => "-->",
                (Stroke::Normal, false) => "---",
            };
            let arrow = if link.status == Status::Removed && link.stroke != Stroke::Invisible {
                if link.arrow { "-.->" } else { "-.-" }
            } else {
                arrow
            };
            let label = match &link.label {
                Some(l) if !l.is_empty() && link.stroke != Stroke::Invisible => {
                    format!("|{}|", quote(&format!("{}{l}", link.status.mark())))
                }
                _ if link.status != Status::Unchanged && link.stroke != Stroke::Invisible => {
                    format!("|{}|", quote(link.status.mark().trim_end()))
                }
                _ => String::new(),
            };
            out.push_str(&format!("    {} {arrow}{label} {}\n", link.from, link.to));
        }
        // The legend.
        out.push_str("    subgraph legend[\"Legend\"]\n");
        for (status, word) in [
            (Status::Added, "added"),
            (Status::Modified, "modified"),
            (Status::Replaced, "replaced"),
            (Status::Removed, "removed"),
        ] {
            out.push_str(&format!("        legend_{word}[\"{}{word}\"]:::{word}\n", status.mark()));
        }
        out.push_str("    end\n");
        // Classes of subgraphs (nodes carry theirs inline).
        for g in &new.groups {
            if let Some(class) = self.status_of(&g.id).class() {
                out.push_str(&format!("    class {} {class}\n", self.groups[&g.id]));
            }
        }
        for (status, style) in LINK_STYLES {
            let indexes: Vec<String> = links
                .iter()
                .enumerate()
                .filter(|(_, l)| l.status == *status)
                .map(|(i, _)| i.to_string())
                .collect();
            if !indexes.is_empty() {
                out.push_str(&format!("    linkStyle {} {style}\n", indexes.join(",")));
            }
        }
        out
    }

    fn write_group(
        &self,
        out: &mut String,
        group: &Group,
        nodes: &mut BTreeMap<Option<String>, Vec<Node>>,
        depth: usize,
    ) {
        let indent = "    ".repeat(depth);
        let status = self.status_of(&group.id);
        out.push_str(&format!(
            "{indent}subgraph {}[{}]\n",
            self.groups[&group.id],
            quote(&format!("{}{}", status.mark(), group.display_title()))
        ));
        for child in
            self.input.new.diagram.groups.iter().filter(|g| g.parent.as_deref() == Some(&group.id))
        {
            self.write_group(out, child, nodes, depth + 1);
        }
        for node in nodes.remove(&Some(group.id.clone())).unwrap_or_default() {
            write_node(out, &node, depth + 1);
        }
        out.push_str(&format!("{indent}end\n"));
    }

    fn links(&self) -> Vec<Link> {
        let new = self.input.new;
        let old_keys: Option<Vec<(String, String, String)>> =
            self.input.old.map(|o| o.diagram.edges.iter().map(edge_key).collect());
        let mut links = Vec::new();
        let mut unmatched_old = old_keys.clone().unwrap_or_default();
        for e in &new.diagram.edges {
            let key = edge_key(e);
            let kinds =
                self.by_edge.get(&new.file.location(e.span)).map(Vec::as_slice).unwrap_or_default();
            let status = match &old_keys {
                Some(_) => match unmatched_old.iter().position(|k| *k == key) {
                    Some(i) => {
                        unmatched_old.remove(i);
                        match Status::of(kinds) {
                            Status::Added | Status::Removed => Status::Modified,
                            other => other,
                        }
                    }
                    None => Status::Added,
                },
                // Against a deployed template: an edge to or from an added element is new.
                None if [&e.from.id, &e.to.id]
                    .iter()
                    .any(|id| self.status_of(id) == Status::Added) =>
                {
                    Status::Added
                }
                None => match Status::of(kinds) {
                    Status::Removed => Status::Modified,
                    other => other,
                },
            };
            if let Some(link) = self.link(e, status) {
                links.push(link);
            }
        }
        if let Some(old) = self.input.old {
            for e in &old.diagram.edges {
                let key = edge_key(e);
                if let Some(i) = unmatched_old.iter().position(|k| *k == key) {
                    unmatched_old.remove(i);
                    if let Some(link) = self.link(e, Status::Removed) {
                        links.push(link);
                    }
                }
            }
        }
        links
    }

    fn link(&self, e: &Edge, status: Status) -> Option<Link> {
        let (mut from, mut to) =
            (self.ids.get(&e.from.id)?.clone(), self.ids.get(&e.to.id)?.clone());
        let arrow = e.to.head.is_some() || e.from.head.is_some();
        if e.from.head.is_some() && e.to.head.is_none() {
            std::mem::swap(&mut from, &mut to);
        }
        Some(Link { from, to, label: e.label.clone(), stroke: e.stroke, arrow, status })
    }
}

fn write_node(out: &mut String, node: &Node, depth: usize) {
    let label = quote(&format!("{}{}", node.status.mark(), node.label));
    let shaped = match node.shape {
        Shape::Box => format!("[{label}]"),
        Shape::Cylinder => format!("[({label})]"),
        Shape::Circle => format!("(({label}))"),
    };
    let class = node.status.class().map(|c| format!(":::{c}")).unwrap_or_default();
    out.push_str(&format!("{}{}{shaped}{class}\n", "    ".repeat(depth), node.id));
}

fn label_of(e: &Element) -> String {
    match e.form {
        ElementForm::Junction => " ".to_string(),
        _ => e.display_label().to_string(),
    }
}

fn shape_of(e: &Element) -> Shape {
    match &e.form {
        ElementForm::Junction => Shape::Circle,
        ElementForm::Node { shape: Some(s) }
            if matches!(
                s.as_str(),
                "cylinder" | "cyl" | "db" | "database" | "das" | "h-cyl" | "lin-cyl"
            ) =>
        {
            Shape::Cylinder
        }
        ElementForm::Service
            if e.icon.as_deref().is_some_and(|i| i == "database" || i == "disk") =>
        {
            Shape::Cylinder
        }
        _ => Shape::Box,
    }
}

/// A label as a mermaid quoted string: `"` and a `#` that does not already start an entity
/// (`#quot;`, `#35;`, kept as the user wrote them) are written as entities, as are the
/// characters that end a label (`|`) or start a markdown string (`` ` ``); line breaks become
/// spaces. Anything else, unicode included, is kept.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for (i, c) in text.char_indices() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' if starts_entity(&text[i..]) => out.push('#'),
            '#' => out.push_str("#35;"),
            '|' => out.push_str("#124;"),
            '`' => out.push_str("#96;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `#name;` or `#123;` at the start of `s`: mermaid decodes it when rendering.
fn starts_entity(s: &str) -> bool {
    let body = &s[1..];
    body.find(';').is_some_and(|end| {
        end > 0 && end <= 32 && body[..end].chars().all(|c| c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_quoted_with_entities_and_user_entities_are_kept() {
        assert_eq!(quote("a \"b\" #1 | `c` ü"), "\"a #quot;b#quot; #35;1 #124; #96;c#96; ü\"");
        assert_eq!(
            quote("kept #quot; and #35; but not # alone or #;"),
            "\"kept #quot; and #35; but not #35; alone or #35;;\""
        );
        assert_eq!(quote("two\nlines"), "\"two lines\"");
    }

    #[test]
    fn the_status_of_a_thing_follows_its_resources() {
        use ChangeKind::*;
        assert_eq!(Status::of(&[]), Status::Unchanged);
        assert_eq!(Status::of(&[Add, Add]), Status::Added);
        assert_eq!(Status::of(&[Remove]), Status::Removed);
        assert_eq!(Status::of(&[Add, Remove]), Status::Modified);
        assert_eq!(Status::of(&[Modify, Replace, Add]), Status::Replaced);
    }
}
