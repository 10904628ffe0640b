//! Resolve an architecture AST into the diagram IR, with mermaid's after-parse checks.
//!
//! mermaid's database checks each statement in source order and stops at the first failure.
//! We check the same things in the same order but report every failure, each on the span that
//! caused it. An item whose declaration failed only because of its parent is still declared, so
//! one mistake does not cascade into errors on every edge that uses it.

use std::collections::HashMap;

use crate::diagnostic::Diagnostic;
use crate::ir::graph::{
    Diagram, Edge, EdgeEnd, Element, ElementForm, ElementStyle, Group, Head, LabelType, Side,
    Stroke,
};
use crate::source::Span;
use crate::syntax::ast::architecture as arch;

/// Fill `diagram` from the AST; returns every problem found.
///
/// Establishes: element ids are unique and distinct from group ids; every `in` names a group
/// declared before; every edge end names a service or junction declared before it; a
/// `{group}` end never joins two items of the same group. Elements are sorted by id, groups
/// and edges keep source order.
pub fn resolve(ast: &arch::Architecture, diagram: &mut Diagram) -> Vec<Diagnostic> {
    let mut resolver = Resolver::new(ast);
    for statement in &ast.statements {
        match statement {
            arch::Statement::Group(group) => resolver.group(group, diagram),
            arch::Statement::Service(service) => resolver.service(service, diagram),
            arch::Statement::Junction(junction) => resolver.junction(junction, diagram),
            arch::Statement::Edge(edge) => resolver.edge(edge, diagram),
            arch::Statement::Title(text) => diagram.title = Some(text.value.clone()),
            arch::Statement::AccTitle(text) => diagram.acc_title = Some(text.value.clone()),
            arch::Statement::AccDescr(text) => diagram.acc_descr = Some(text.value.clone()),
        }
    }
    diagram.elements.sort_by(|a, b| a.id.cmp(&b.id));
    diagram.comments.extend(
        ast.comments
            .iter()
            .map(|c| crate::ir::graph::Comment { text: c.text.clone(), span: c.span }),
    );
    diagram.comments.sort_by_key(|c| c.span.start);
    resolver.diagnostics
}

/// What an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Group,
    Service,
    Junction,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Group => "group",
            Kind::Service => "service",
            Kind::Junction => "junction",
        }
    }
}

/// A declared id.
#[derive(Debug, Clone, Copy)]
struct Declared {
    kind: Kind,
    /// The span of the id in its declaration.
    span: Span,
    /// Its group, when it has a valid one.
    parent: Option<usize>,
}

struct Resolver<'a> {
    /// Ids declared so far, by name, with their index in `diagram.groups` for groups.
    declared: HashMap<&'a str, (Declared, Option<usize>)>,
    /// Every declaration in the diagram, first one per id: to tell "declared later" from
    /// "never declared".
    all: HashMap<&'a str, (Kind, Span)>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Resolver<'a> {
    fn new(ast: &'a arch::Architecture) -> Self {
        let mut all = HashMap::new();
        for statement in &ast.statements {
            let (kind, id) = match statement {
                arch::Statement::Group(g) => (Kind::Group, &g.id),
                arch::Statement::Service(s) => (Kind::Service, &s.id),
                arch::Statement::Junction(j) => (Kind::Junction, &j.id),
                _ => continue,
            };
            all.entry(id.name.as_str()).or_insert((kind, id.span));
        }
        Resolver { declared: HashMap::new(), all, diagnostics: Vec::new() }
    }

    fn group(&mut self, group: &'a arch::Group, diagram: &mut Diagram) {
        if !self.unique(&group.id, Kind::Group) {
            return;
        }
        let parent = self.parent(&group.id, group.parent.as_ref(), Kind::Group, diagram);
        let index = diagram.groups.len();
        diagram.groups.push(Group {
            id: group.id.name.clone(),
            span: group.span,
            title: group.title.as_ref().map(|t| t.value.clone()),
            label_type: LabelType::Text,
            parent: parent.map(|p| diagram.groups[p].id.clone()),
            direction: None,
            icon: group.icon.as_ref().map(|t| t.value.clone()),
            members: Vec::new(),
            classes: Vec::new(),
        });
        if let Some(p) = parent {
            diagram.groups[p].members.push(group.id.name.clone());
        }
        let declared = Declared { kind: Kind::Group, span: group.id.span, parent };
        self.declared.insert(&group.id.name, (declared, Some(index)));
    }

    fn service(&mut self, service: &'a arch::Service, diagram: &mut Diagram) {
        let element = Element {
            icon: service.icon.as_ref().map(|t| t.value.clone()),
            icon_text: service.icon_text.as_ref().map(|t| t.value.clone()),
            label: service.title.as_ref().map(|t| t.value.clone()),
            ..element(&service.id, service.span, ElementForm::Service)
        };
        self.element(element, &service.id, service.parent.as_ref(), Kind::Service, diagram);
    }

    fn junction(&mut self, junction: &'a arch::Junction, diagram: &mut Diagram) {
        let element = element(&junction.id, junction.span, ElementForm::Junction);
        self.element(element, &junction.id, junction.parent.as_ref(), Kind::Junction, diagram);
    }

    fn element(
        &mut self,
        mut element: Element,
        id: &'a arch::Ident,
        parent: Option<&arch::Ident>,
        kind: Kind,
        diagram: &mut Diagram,
    ) {
        if !self.unique(id, kind) {
            return;
        }
        let parent = self.parent(id, parent, kind, diagram);
        if let Some(p) = parent {
            element.group = Some(diagram.groups[p].id.clone());
            diagram.groups[p].members.push(id.name.clone());
        }
        diagram.elements.push(element);
        self.declared.insert(&id.name, (Declared { kind, span: id.span, parent }, None));
    }

    /// Whether `id` is new; reports the duplicate otherwise.
    fn unique(&mut self, id: &arch::Ident, kind: Kind) -> bool {
        let Some((first, _)) = self.declared.get(id.name.as_str()) else { return true };
        self.diagnostics.push(
            Diagnostic::error(
                "m2a::resolve::duplicate_id",
                format!("the id `{}` is declared twice", id.name),
            )
            .with_label(id.span, format!("declared again here, as a {}", kind.noun()))
            .with_label(first.span, format!("first declared here, as a {}", first.kind.noun()))
            .with_help("groups, services and junctions share one set of ids: rename one of them"),
        );
        false
    }

    /// The index of the valid parent group, reporting why it is not valid otherwise.
    fn parent(
        &mut self,
        id: &arch::Ident,
        parent: Option<&arch::Ident>,
        kind: Kind,
        diagram: &Diagram,
    ) -> Option<usize> {
        let parent = parent?;
        let noun = kind.noun();
        if parent.name == id.name {
            self.diagnostics.push(
                Diagnostic::error(
                    "m2a::resolve::self_parent",
                    format!("the {noun} `{}` is placed in itself", id.name),
                )
                .with_label(parent.span, "this is the id being declared")
                .with_help(format!(
                    "name an enclosing group after `in`, or remove `in {}`",
                    parent.name
                )),
            );
            return None;
        }
        match self.declared.get(parent.name.as_str()) {
            Some((Declared { kind: Kind::Group, .. }, Some(index))) => {
                debug_assert_eq!(diagram.groups[*index].id, parent.name);
                Some(*index)
            }
            Some((declared, _)) => {
                let what = declared.kind.noun();
                self.diagnostics.push(
                    Diagnostic::error(
                        "m2a::resolve::parent_not_group",
                        format!("the parent `{}` of `{}` is a {what}, not a group", parent.name, id.name),
                    )
                    .with_label(parent.span, "`in` needs a group")
                    .with_label(declared.span, format!("declared here as a {what}"))
                    .with_help(format!(
                        "only groups contain things: declare a `group` and put both `{}` and `{}` in it",
                        parent.name, id.name
                    )),
                );
                None
            }
            None => {
                let later = self.all.get(parent.name.as_str()).copied();
                let mut diagnostic = Diagnostic::error(
                    "m2a::resolve::unknown_parent",
                    match later {
                        Some(_) => format!(
                            "the parent group `{}` of `{}` is declared after it",
                            parent.name, id.name
                        ),
                        None => format!(
                            "the parent group `{}` of `{}` is not declared",
                            parent.name, id.name
                        ),
                    },
                )
                .with_label(parent.span, "not declared before this line");
                diagnostic = match later {
                    Some((later_kind, span)) => diagnostic
                        .with_label(span, format!("declared here, as a {}", later_kind.noun()))
                        .with_help(format!(
                            "mermaid reads the diagram top to bottom: move the declaration of `{}` above this line",
                            parent.name
                        )),
                    None => diagnostic
                        .with_help(format!("declare `group {}` before this line", parent.name)),
                };
                self.diagnostics.push(diagnostic);
                None
            }
        }
    }

    fn edge(&mut self, edge: &arch::Edge, diagram: &mut Diagram) {
        let lhs = self.endpoint(&edge.lhs, "left");
        let rhs = self.endpoint(&edge.rhs, "right");
        let (Some(lhs_parent), Some(rhs_parent)) = (lhs, rhs) else { return };
        // mermaid rejects `{group}` on an end when both ends sit directly in the same group.
        if let (Some(l), Some(r)) = (lhs_parent, rhs_parent)
            && l == r
        {
            let group = &diagram.groups[l].id;
            for end in [&edge.lhs, &edge.rhs] {
                if let Some(span) = end.group_modifier {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "m2a::resolve::group_edge_within_group",
                            format!(
                                "`{{group}}` on `{}` leaves no group: both ends are in group `{group}`",
                                end.id.name
                            ),
                        )
                        .with_label(span, "this edge does not cross a group boundary")
                        .with_label(edge.span, "")
                        .with_help(format!(
                            "remove `{{group}}`, or connect `{}` to something outside `{group}`",
                            end.id.name
                        )),
                    );
                }
            }
        }
        diagram.edges.push(Edge {
            id: None,
            span: edge.span,
            from: edge_end(&edge.lhs),
            to: edge_end(&edge.rhs),
            label: edge.title.as_ref().map(|t| t.value.clone()),
            label_type: LabelType::Text,
            stroke: Stroke::Normal,
            length: 1,
            mismatched: false,
            style: Vec::new(),
            classes: Vec::new(),
            interpolate: None,
            animate: None,
            animation: None,
            curve: None,
        });
    }

    /// `Some(parent group)` when the end names a service or junction declared before.
    fn endpoint(&mut self, end: &arch::EdgeEnd, hand: &str) -> Option<Option<usize>> {
        let name = end.id.name.as_str();
        match self.declared.get(name) {
            Some((Declared { kind: Kind::Group, span, .. }, _)) => {
                let span = *span;
                self.diagnostics.push(
                    Diagnostic::error(
                        "m2a::resolve::group_endpoint",
                        format!("the {hand}-hand end `{name}` of this edge is a group"),
                    )
                    .with_label(end.id.span, "mermaid cannot attach an edge to a group itself")
                    .with_label(span, "declared here as a group")
                    .with_help(format!(
                        "connect a service inside `{name}` and write `{{group}}` after its id, as in `svc{{group}}:R -- L:other`"
                    )),
                );
                None
            }
            Some((declared, _)) => Some(declared.parent),
            None => {
                let later = self.all.get(name).copied();
                let mut diagnostic = Diagnostic::error(
                    "m2a::resolve::unknown_endpoint",
                    match later {
                        Some(_) => {
                            format!("the {hand}-hand end `{name}` is declared after this edge")
                        }
                        None => format!("the {hand}-hand end `{name}` is not declared"),
                    },
                )
                .with_label(end.id.span, "not declared before this edge");
                diagnostic = match later {
                    Some((kind, span)) => diagnostic
                        .with_label(span, format!("declared here, as a {}", kind.noun()))
                        .with_help(format!(
                            "mermaid reads the diagram top to bottom: move the declaration of `{name}` above this edge"
                        )),
                    None => diagnostic.with_help(format!(
                        "declare `service {name}` (or `junction {name}`) before this edge"
                    )),
                };
                self.diagnostics.push(diagnostic);
                None
            }
        }
    }
}

/// A fresh element with nothing but its id and form.
fn element(id: &arch::Ident, span: Span, form: ElementForm) -> Element {
    Element {
        id: id.name.clone(),
        span,
        label: None,
        label_type: LabelType::Text,
        form,
        group: None,
        icon: None,
        icon_text: None,
        data: Default::default(),
        style: ElementStyle::default(),
    }
}

fn edge_end(end: &arch::EdgeEnd) -> EdgeEnd {
    EdgeEnd {
        id: end.id.name.clone(),
        span: end.id.span,
        head: end.head.map(|_| Head::Arrow),
        side: Some(match end.side {
            arch::Side::Left => Side::L,
            arch::Side::Right => Side::R,
            arch::Side::Top => Side::T,
            arch::Side::Bottom => Side::B,
        }),
        via_group: end.group_modifier.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Diagnostic;
    use crate::extract::DiagramSource;
    use crate::ir::canonical::to_canonical_json;
    use crate::ir::graph::Diagram;

    /// The only place that runs parse and resolve.
    #[track_caller]
    fn run(text: &str) -> Result<Diagram, Vec<Diagnostic>> {
        let source = DiagramSource::whole(1, "test".into(), text.to_string(), 0);
        let (ast, diagnostics) = crate::syntax::parse(&source);
        let ast = ast.unwrap_or_else(|| panic!("syntax errors: {diagnostics:#?}"));
        let (diagram, diagnostics) = crate::resolve::resolve(&ast, &source);
        diagram.ok_or(diagnostics)
    }

    /// Each error as (code, text under the primary span).
    #[track_caller]
    fn errors(text: &str) -> Vec<(&'static str, &str)> {
        let diagnostics = run(text).expect_err("expected errors");
        diagnostics
            .iter()
            .map(|d| {
                let span = d.span().expect("a span");
                (d.code, &text[span.start..span.end])
            })
            .collect()
    }

    #[test]
    fn canonical_json_of_a_small_diagram() {
        let diagram = run("architecture-beta\n\
             group api(cloud)[API]\n\
             service db(database)[DB] in api\n\
             service web \"W\"[Web] in api\n\
             junction j\n\
             web:R <-[sql]- L:db\n\
             db{group}:B --> T:j\n")
        .expect("valid");
        let json = to_canonical_json(&diagram);
        assert_eq!(json["groups"][0]["id"], "api");
        assert_eq!(json["services"][0]["id"], "db");
        assert_eq!(json["services"][1]["iconText"], "W");
        assert_eq!(json["junctions"][0]["in"], serde_json::Value::Null);
        assert_eq!(json["edges"][0]["title"], "sql");
        assert_eq!(json["edges"][0]["lhsInto"], true);
        assert_eq!(json["edges"][0]["rhsInto"], false);
        assert_eq!(json["edges"][1]["lhsGroup"], true);
        assert_eq!(diagram.groups[0].members, ["db", "web"]);
    }

    #[test]
    fn trailing_comments_join_whole_line_comments_in_order() {
        let diagram =
            run("architecture-beta\nservice a %% two\n%% one\nservice b %% three\n").expect("ok");
        let texts: Vec<_> = diagram.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, [" two", " one", " three"]);
    }

    #[test]
    fn duplicate_id_labels_both_declarations() {
        let text = "architecture-beta\ngroup a\nservice a\n";
        let diagnostics = run(text).expect_err("duplicate");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].code, "m2a::resolve::duplicate_id");
        let spans: Vec<_> = diagnostics[0].labels.iter().map(|(s, _)| s.start).collect();
        // The second declaration first, then the first one.
        assert_eq!(spans, [34, 24]);
    }

    #[test]
    fn unknown_parent() {
        assert_eq!(
            errors("architecture-beta\nservice a in nowhere\n"),
            [("m2a::resolve::unknown_parent", "nowhere")]
        );
    }

    #[test]
    fn parent_declared_later_points_at_the_declaration() {
        let text = "architecture-beta\nservice a in g\ngroup g\n";
        let diagnostics = run(text).expect_err("later");
        assert_eq!(diagnostics[0].code, "m2a::resolve::unknown_parent");
        assert_eq!(diagnostics[0].labels[1].0.start, text.rfind('g').expect("g"));
        assert!(diagnostics[0].help.as_deref().unwrap_or_default().contains("move"));
    }

    #[test]
    fn parent_that_is_not_a_group() {
        assert_eq!(
            errors("architecture-beta\njunction j\nservice a in j\n"),
            [("m2a::resolve::parent_not_group", "j")]
        );
    }

    #[test]
    fn self_parent() {
        assert_eq!(
            errors("architecture-beta\ngroup g in g\n"),
            [("m2a::resolve::self_parent", "g")]
        );
    }

    #[test]
    fn unknown_endpoints_are_each_reported() {
        assert_eq!(
            errors("architecture-beta\nservice a\nx:R -- L:y\na:R -- L:a\n"),
            [("m2a::resolve::unknown_endpoint", "x"), ("m2a::resolve::unknown_endpoint", "y")]
        );
    }

    #[test]
    fn group_as_endpoint() {
        assert_eq!(
            errors("architecture-beta\ngroup g\nservice a\na:R -- L:g\n"),
            [("m2a::resolve::group_endpoint", "g")]
        );
    }

    #[test]
    fn group_modifier_within_one_group() {
        assert_eq!(
            errors(
                "architecture-beta\ngroup g\nservice a in g\nservice b in g\na{group}:R -- L:b\n"
            ),
            [("m2a::resolve::group_edge_within_group", "{group}")]
        );
    }

    #[test]
    fn accepted_like_mermaid() {
        // `{group}` on a service with no group, a self edge, nested groups.
        run("architecture-beta\nservice a\nservice b\na{group}:R -- L:b\na:R -- L:a\n")
            .expect("ok");
        run("architecture-beta\ngroup g\ngroup h in g\nservice a in g\nservice b in h\na{group}:R -- L:b{group}\n")
            .expect("ok");
    }

    #[test]
    fn one_bad_parent_does_not_cascade_into_edges() {
        assert_eq!(
            errors("architecture-beta\nservice a in nowhere\nservice b\na:R -- L:b\n"),
            [("m2a::resolve::unknown_parent", "nowhere")]
        );
    }

    #[test]
    fn long_in_chains_resolve_without_recursion() {
        let mut text = "architecture-beta\ngroup g0\n".to_string();
        for i in 1..3000 {
            text.push_str(&format!("group g{i} in g{}\n", i - 1));
        }
        let diagram = run(&text).expect("ok");
        assert_eq!(diagram.groups.len(), 3000);
    }
}
