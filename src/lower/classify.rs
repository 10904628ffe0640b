//! Classification: which catalog kind each element is, and why; what each group means.
//!
//! Order of evidence: an `@aws kind=` override, then an AWS icon (`logos:aws-*`), then the
//! words of the label, then a generic icon (`database`, `server`...), then the shape, then
//! the words of the id. The first that decides wins, and its reason is kept for `explain`.

use std::collections::{BTreeMap, HashMap};

use crate::catalog::{Catalog, Family, Kind, Role, Trait};
use crate::diagnostic::Diagnostic;
use crate::ir::graph::{Diagram, ElementForm};

use super::overrides::Overrides;

/// What lowering knows about one element.
#[derive(Debug, Clone)]
pub(crate) struct Classified<'c> {
    pub kind: &'c Kind,
    pub reason: String,
    /// Set when another element stands for this one (an engine node drawn next to its managed
    /// service, or a load balancer/instances inside an Elastic Beanstalk group).
    pub merged_into: Option<String>,
    /// The engine, when an override or a merged engine node named one.
    pub engine: Option<String>,
}

/// Classification of the whole diagram.
#[derive(Debug, Clone, Default)]
pub(crate) struct Classes<'c> {
    pub elements: BTreeMap<String, Classified<'c>>,
    /// Hashed: only looked up (`has_trait` runs several times per element and per group).
    pub groups: HashMap<String, Vec<Trait>>,
}

impl<'c> Classes<'c> {
    /// The element that represents `id` after merging (itself when not merged).
    pub(crate) fn representative<'a>(&'a self, id: &'a str) -> &'a str {
        let mut current = id;
        // Merges are at most two deep (engine node -> service -> platform); bound the walk.
        for _ in 0..4 {
            match self.elements.get(current).and_then(|c| c.merged_into.as_deref()) {
                Some(next) => current = next,
                None => break,
            }
        }
        current
    }

    pub(crate) fn has_trait(&self, group: &str, t: Trait) -> bool {
        self.groups.get(group).is_some_and(|traits| traits.contains(&t))
    }
}

/// Classify every element and group. Unknown elements get a warning and no kind.
pub(crate) fn classify<'c>(
    diagram: &Diagram,
    catalog: &'c Catalog,
    overrides: &Overrides,
) -> (Classes<'c>, Vec<Diagnostic>) {
    let mut classes = Classes::default();
    let mut diagnostics = Vec::new();
    for group in &diagram.groups {
        let mut traits = catalog.group_traits(group.display_title());
        if traits.is_empty() && group.title.is_none() {
            traits = catalog.group_traits(&split_id(&group.id));
        }
        classes.groups.insert(group.id.clone(), traits);
    }
    let group_ids: std::collections::BTreeSet<&str> =
        diagram.groups.iter().map(|g| g.id.as_str()).collect();
    for element in &diagram.elements {
        // A subgraph used as an edge endpoint also appears as a bare node: it is the group.
        if group_ids.contains(element.id.as_str()) {
            continue;
        }
        if element.form == ElementForm::Junction {
            continue;
        }
        match decide(element, catalog, overrides) {
            Some((kind, reason)) => {
                let engine = overrides.get(&element.id, "engine").map(str::to_string);
                classes.elements.insert(element.id.clone(), Classified { kind, reason, merged_into: None, engine });
            }
            None => diagnostics.push(
                Diagnostic::warning(
                    "m2a::lower::unknown_element",
                    format!("`{}` (\"{}\") is not a known AWS element; it makes no resource", element.id, element.display_label()),
                )
                .with_label(element.span, "no label word, icon or shape names an AWS kind")
                .with_help(format!(
                    "name the service in the label (\"Amazon RDS\", \"Redis\", \"S3 Bucket\"...), use an icon such as `logos:aws-rds`, or add `%% @aws {} kind=KIND`",
                    element.id
                )),
            ),
        }
    }
    merge_engines(diagram, &mut classes);
    merge_replicas(diagram, &mut classes);
    merge_into_platforms(diagram, &mut classes);
    (classes, diagnostics)
}

fn decide<'c>(
    element: &crate::ir::graph::Element,
    catalog: &'c Catalog,
    overrides: &Overrides,
) -> Option<(&'c Kind, String)> {
    if let Some(kind) = overrides.get(&element.id, "kind").and_then(|k| catalog.kind(k)) {
        return Some((kind, format!("override `@aws {} kind={}`", element.id, kind.id)));
    }
    let icon = element.icon.as_deref();
    if let Some(icon) = icon.filter(|i| i.starts_with("logos:aws") || i.starts_with("aws"))
        && let Some(kind) = catalog.match_icon(icon)
    {
        return Some((kind, format!("icon `{icon}`")));
    }
    if let Some(label) = element.label.as_deref()
        && let Some((kind, word)) = catalog.match_words(label)
    {
        return Some((kind, format!("label word \"{word}\" in \"{}\"", label.trim())));
    }
    if let Some(kind) = icon.and_then(|i| catalog.match_icon(i)) {
        return Some((kind, format!("icon `{}`", icon.unwrap_or_default())));
    }
    if let ElementForm::Node { shape: Some(shape) } = &element.form
        && let Some(kind) = catalog.match_shape(shape)
    {
        return Some((kind, format!("shape `{shape}`")));
    }
    catalog
        .match_words(&split_id(&element.id))
        .map(|(kind, word)| (kind, format!("id word \"{word}\" in `{}`", element.id)))
}

/// `AmazonElasticCache` -> `Amazon Elastic Cache`, `web_server-1` -> `web server 1`.
fn split_id(id: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in id.chars() {
        if c == '_' || c == '-' {
            out.push(' ');
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.push(c);
    }
    out
}

/// A bare engine node drawn next to its managed service ("Amazon ElastiCache" -- "Memcached")
/// names the service's engine: the node merges into the service.
fn merge_engines(diagram: &Diagram, classes: &mut Classes<'_>) {
    for edge in &diagram.edges {
        for (managed, engine_node) in [(&edge.from.id, &edge.to.id), (&edge.to.id, &edge.from.id)] {
            let (Some(m), Some(e)) =
                (classes.elements.get(managed), classes.elements.get(engine_node))
            else {
                continue;
            };
            if m.merged_into.is_some() || e.merged_into.is_some() {
                continue;
            }
            let engine = match (m.kind.family, e.kind.software.as_deref()) {
                (Family::Elasticache, Some(sw @ ("redis" | "memcached"))) => sw,
                (Family::Rds, Some("mariadb")) => "mysql",
                (Family::Rds, Some("postgresql")) => "postgres",
                _ => continue,
            };
            let (managed, engine_node) = (managed.clone(), engine_node.clone());
            if let Some(m) = classes.elements.get_mut(&managed) {
                m.engine.get_or_insert_with(|| engine.to_string());
                m.reason.push_str(&format!(
                    "; engine {engine} from the `{engine_node}` node drawn next to it"
                ));
            }
            if let Some(e) = classes.elements.get_mut(&engine_node) {
                e.merged_into = Some(managed.clone());
                e.reason.push_str(&format!("; the engine of `{managed}`, not a server of its own"));
            }
        }
    }
}

/// A managed database or cache drawn twice and connected ("RDS primary" -.- "RDS standby")
/// is one Multi-AZ service: the second merges into the first.
fn merge_replicas(diagram: &Diagram, classes: &mut Classes<'_>) {
    for edge in &diagram.edges {
        let (a, b) = (&edge.from.id, &edge.to.id);
        let (Some(ca), Some(cb)) = (classes.elements.get(a), classes.elements.get(b)) else {
            continue;
        };
        let managed = matches!(ca.kind.family, Family::Rds | Family::Aurora | Family::Elasticache);
        if a == b
            || !managed
            || ca.kind.id != cb.kind.id
            || ca.merged_into.is_some()
            || cb.merged_into.is_some()
        {
            continue;
        }
        // The one whose label says standby/replica/secondary is the replica; else the later one.
        let label = |id: &str| {
            diagram
                .elements
                .iter()
                .find(|e| e.id == id)
                .map(|e| e.display_label().to_lowercase())
                .unwrap_or_default()
        };
        let is_replica = |id: &str| {
            ["standby", "replica", "secondary", "read"].iter().any(|w| label(id).contains(w))
        };
        let (primary, replica) = if is_replica(a) && !is_replica(b) {
            (b.clone(), a.clone())
        } else {
            (a.clone(), b.clone())
        };
        if let Some(c) = classes.elements.get_mut(&replica) {
            c.merged_into = Some(primary.clone());
            c.reason
                .push_str(&format!("; a replica of `{primary}` (one Multi-AZ service, not two)"));
        }
    }
}

/// Load balancers and instances drawn inside an Elastic Beanstalk group (or next to an Elastic
/// Beanstalk element, inside its group) are the environment's own: they merge into it.
fn merge_into_platforms<'d>(diagram: &'d Diagram, classes: &mut Classes<'_>) {
    let parent: BTreeMap<&'d str, Option<&'d str>> =
        diagram.groups.iter().map(|g| (g.id.as_str(), g.parent.as_deref())).collect();
    let platform_group = |start: Option<&'d str>| -> Option<String> {
        let mut group = start;
        for _ in 0..=diagram.groups.len() {
            let g = group?;
            if classes.has_trait(g, Trait::ElasticBeanstalk) {
                return Some(g.to_string());
            }
            group = parent.get(g).copied().flatten();
        }
        None
    };
    let mut merges = Vec::new();
    for element in &diagram.elements {
        let Some(c) = classes.elements.get(&element.id) else { continue };
        if !matches!(c.kind.role, Role::Entry | Role::Compute) || c.kind.family == Family::Lambda {
            continue;
        }
        if let Some(group) = platform_group(element.group.as_deref()) {
            merges.push((element.id.clone(), group));
        }
    }
    for (id, group) in merges {
        if let Some(c) = classes.elements.get_mut(&id) {
            c.reason.push_str(&format!("; run by the Elastic Beanstalk environment `{group}`"));
            c.merged_into = Some(group);
        }
    }
}
