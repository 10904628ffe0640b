//! Overrides: `%% @aws` comments in the diagram, so the diagram still renders.
//!
//! ```text
//! %% @aws SQL kind=rds-postgres class=db.t4g.small storage=50
//! %% @aws ASG min=2 max=6 port=8080
//! %% @aws network=existing
//! ```
//! A line names an element or group id, then `key=value` pairs; a line with no id sets
//! diagram-wide options. Every key is validated, and a bad directive is an error on its line.

use std::collections::BTreeMap;

use crate::catalog::{Catalog, Port};
use crate::diagnostic::Diagnostic;
use crate::ir::graph::{Comment, Diagram};
use crate::source::Span;

/// Keys an element or group directive may set, with what their value must be.
pub const ELEMENT_KEYS: &[(&str, &str)] = &[
    ("kind", "a catalog kind id, such as `rds-postgres` or `ec2-redis`"),
    ("engine", "an engine name, such as `postgres`, `mysql`, `redis`, `memcached`"),
    ("class", "an instance type or class, such as `t3.small`, `db.t4g.micro`, `cache.t4g.micro`"),
    ("port", "a port or range, such as `8080`, `tcp/5432`, `9092-9094`"),
    ("count", "a whole number of instances, 1 to 20"),
    ("min", "a whole number, the auto scaling minimum"),
    ("max", "a whole number, the auto scaling maximum"),
    ("storage", "a whole number of GiB, 20 to 16384"),
    ("name", "a DNS name label, such as `db`"),
    ("multi_az", "`true` or `false`"),
];

/// Diagram-wide keys.
pub const DIAGRAM_KEYS: &[(&str, &str)] = &[
    ("network", "`new` (a new VPC, the default) or `existing` (VPC and subnets as parameters)"),
    ("zone", "the private hosted zone name, such as `shop.internal`"),
];

/// Validated overrides.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overrides {
    /// Element or group id -> key -> (value, span of the directive).
    pub elements: BTreeMap<String, BTreeMap<String, (String, Span)>>,
    pub diagram: BTreeMap<String, (String, Span)>,
}

impl Overrides {
    pub fn get(&self, id: &str, key: &str) -> Option<&str> {
        self.elements.get(id)?.get(key).map(|(v, _)| v.as_str())
    }

    pub fn number(&self, id: &str, key: &str) -> Option<i64> {
        self.get(id, key)?.parse().ok()
    }
}

/// Read every `%% @aws` comment.
pub fn read(diagram: &Diagram, catalog: &Catalog) -> (Overrides, Vec<Diagnostic>) {
    let mut overrides = Overrides::default();
    let mut diagnostics = Vec::new();
    for comment in &diagram.comments {
        let Some((body, body_start)) = directive_body(comment) else { continue };
        let mut tokens = tokens(body, body_start);
        let target = match tokens.first() {
            Some((text, _)) if !text.contains('=') => Some(tokens.remove(0)),
            _ => None,
        };
        if let Some((id, span)) = &target {
            let known = diagram.elements.iter().any(|e| &e.id == id)
                || diagram.groups.iter().any(|g| &g.id == id);
            if !known {
                diagnostics.push(
                    Diagnostic::error("m2a::lower::unknown_override_target", format!("`@aws` names `{id}`, which is not in the diagram"))
                        .with_label(*span, "no element or group has this id")
                        .with_help("use the id of a node, service or group (not its label), or drop the id for diagram-wide options"),
                );
                continue;
            }
        }
        if tokens.is_empty() {
            diagnostics.push(
                Diagnostic::error("m2a::lower::empty_override", "`@aws` sets nothing")
                    .with_label(comment.span, "")
                    .with_help("write `%% @aws ID key=value ...`, for example `%% @aws DB kind=rds-postgres`"),
            );
            continue;
        }
        for (token, span) in tokens {
            let Some((key, value)) = token.split_once('=') else {
                diagnostics.push(
                    Diagnostic::error(
                        "m2a::lower::bad_override",
                        format!("`{token}` is not `key=value`"),
                    )
                    .with_label(span, "expected `key=value`")
                    .with_help("separate settings with spaces, and write each as `key=value`"),
                );
                continue;
            };
            let allowed = if target.is_some() { ELEMENT_KEYS } else { DIAGRAM_KEYS };
            if !allowed.iter().any(|(k, _)| *k == key) {
                let keys: Vec<_> = allowed.iter().map(|(k, _)| format!("`{k}`")).collect();
                diagnostics.push(
                    Diagnostic::error(
                        "m2a::lower::unknown_override_key",
                        format!("unknown setting `{key}`"),
                    )
                    .with_label(span, "not a setting")
                    .with_help(format!("the settings here are {}", keys.join(", "))),
                );
                continue;
            }
            if let Err(expected) = check_value(key, value, catalog) {
                diagnostics.push(
                    Diagnostic::error(
                        "m2a::lower::bad_override_value",
                        format!("`{value}` is not a valid `{key}`"),
                    )
                    .with_label(span, "invalid value")
                    .with_help(format!("`{key}` takes {expected}")),
                );
                continue;
            }
            let entry = (value.to_string(), span);
            match &target {
                Some((id, _)) => {
                    overrides
                        .elements
                        .entry(id.clone())
                        .or_default()
                        .insert(key.to_string(), entry);
                }
                None => {
                    overrides.diagram.insert(key.to_string(), entry);
                }
            }
        }
    }
    (overrides, diagnostics)
}

/// The text after `@aws` and its file offset, when the comment is a directive.
fn directive_body(comment: &Comment) -> Option<(&str, usize)> {
    let trimmed = comment.text.trim_start();
    let rest = trimmed.strip_prefix("@aws")?;
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    // The comment span starts at `%%`; the text starts two bytes later.
    let start = comment.span.start + 2 + (comment.text.len() - trimmed.len()) + 4;
    Some((rest, start))
}

fn tokens(body: &str, start: usize) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for piece in body.split_whitespace() {
        let at = body[offset..].find(piece).map_or(offset, |i| offset + i);
        out.push((piece.to_string(), Span::new(start + at, start + at + piece.len())));
        offset = at + piece.len();
    }
    out
}

fn check_value(key: &str, value: &str, catalog: &Catalog) -> Result<(), String> {
    let expected =
        ELEMENT_KEYS.iter().chain(DIAGRAM_KEYS).find(|(k, _)| *k == key).map_or("", |(_, e)| e);
    let number =
        |lo: i64, hi: i64| value.parse::<i64>().ok().filter(|n| (lo..=hi).contains(n)).is_some();
    let ok = match key {
        "kind" => {
            if catalog.kind(value).is_none() {
                let ids: Vec<_> = catalog.kinds.iter().map(|k| k.id.as_str()).collect();
                return Err(format!("a catalog kind id: {}", ids.join(", ")));
            }
            true
        }
        "engine" => [
            "mysql",
            "mariadb",
            "postgres",
            "redis",
            "valkey",
            "memcached",
            "activemq",
            "rabbitmq",
            "aurora-mysql",
            "aurora-postgresql",
        ]
        .contains(&value),
        "class" => {
            !value.is_empty()
                && value.split('.').count() >= 2
                && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        }
        "port" => Port::parse(value).is_some() || Port::parse(&format!("tcp/{value}")).is_some(),
        "count" => number(1, 20),
        "min" | "max" => number(0, 100),
        "storage" => number(20, 16384),
        "name" => {
            !value.is_empty()
                && value.len() <= 63
                && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        }
        "multi_az" => value == "true" || value == "false",
        "network" => value == "new" || value == "existing",
        "zone" => {
            value.contains('.')
                && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        }
        _ => false,
    };
    if ok { Ok(()) } else { Err(expected.to_string()) }
}

/// A port override as a [`Port`].
pub fn port_value(value: &str) -> Option<Port> {
    Port::parse(value).or_else(|| Port::parse(&format!("tcp/{value}")))
}
