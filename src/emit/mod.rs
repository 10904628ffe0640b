//! Emit: infra IR -> CloudFormation template text (JSON or YAML).
//!
//! Invariant: the output is a pure function of the stack: keys in a fixed order (template
//! sections in CloudFormation's conventional order, resources by logical id), so the same
//! diagram gives byte-identical templates. CloudFormation's limits are checked here.

use serde_json::{Map, Value, json};

use crate::diagnostic::Diagnostic;
use crate::ir::infra::Stack;
use crate::source::Span;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Json,
    Yaml,
}

/// CloudFormation's limits (per template).
pub const MAX_RESOURCES: usize = 500;
pub const MAX_PARAMETERS: usize = 200;
pub const MAX_OUTPUTS: usize = 200;
/// A template body passed inline to the API.
pub const MAX_INLINE_BODY: usize = 51_200;
/// A template uploaded to S3.
pub const MAX_S3_BODY: usize = 1_000_000;

/// The template as JSON, in CloudFormation's conventional section order.
pub fn template(stack: &Stack) -> Value {
    let mut t = Map::new();
    t.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
    t.insert("Description".into(), json!(truncate(&stack.description, 1024)));
    if !stack.parameters.is_empty() {
        let params: Map<String, Value> = stack
            .parameters
            .iter()
            .map(|(name, p)| {
                let mut v = Map::new();
                v.insert("Type".into(), json!(p.kind));
                v.insert("Description".into(), json!(p.description));
                if let Some(d) = &p.default {
                    v.insert("Default".into(), json!(d));
                }
                if !p.allowed_values.is_empty() {
                    v.insert("AllowedValues".into(), json!(p.allowed_values));
                }
                if let Some(pattern) = &p.allowed_pattern {
                    v.insert("AllowedPattern".into(), json!(pattern));
                }
                if p.no_echo {
                    v.insert("NoEcho".into(), json!(true));
                }
                (name.clone(), Value::Object(v))
            })
            .collect();
        t.insert("Parameters".into(), Value::Object(params));
    }
    if !stack.conditions.is_empty() {
        t.insert("Conditions".into(), json!(stack.conditions));
    }
    let resources: Map<String, Value> = stack
        .resources
        .iter()
        .map(|(id, r)| {
            let mut v = Map::new();
            v.insert("Type".into(), json!(r.kind));
            if let Some(c) = &r.condition {
                v.insert("Condition".into(), json!(c));
            }
            if !r.depends_on.is_empty() {
                let mut deps = r.depends_on.clone();
                deps.sort();
                deps.dedup();
                v.insert("DependsOn".into(), json!(deps));
            }
            if let Some(p) = &r.deletion_policy {
                v.insert("DeletionPolicy".into(), json!(p));
            }
            if let Some(p) = &r.update_replace_policy {
                v.insert("UpdateReplacePolicy".into(), json!(p));
            }
            let mut meta = Map::new();
            meta.insert(
                "Mermaid2Aws".into(),
                json!({"Element": r.origin.element, "Source": r.origin.source}),
            );
            let checkov: Vec<Value> = r
                .suppressions
                .iter()
                .filter(|s| s.tool == "checkov")
                .map(|s| json!({"id": s.id, "comment": s.reason}))
                .collect();
            if !checkov.is_empty() {
                meta.insert("checkov".into(), json!({"skip": checkov}));
            }
            v.insert("Metadata".into(), Value::Object(meta));
            v.insert("Properties".into(), r.properties.clone());
            (id.clone(), Value::Object(v))
        })
        .collect();
    t.insert("Resources".into(), Value::Object(resources));
    if !stack.outputs.is_empty() {
        let outputs: Map<String, Value> = stack
            .outputs
            .iter()
            .map(|(name, o)| {
                let mut v = Map::new();
                v.insert("Description".into(), json!(o.description));
                if let Some(c) = &o.condition {
                    v.insert("Condition".into(), json!(c));
                }
                v.insert("Value".into(), o.value.clone());
                (name.clone(), Value::Object(v))
            })
            .collect();
        t.insert("Outputs".into(), Value::Object(outputs));
    }
    Value::Object(t)
}

/// Render the template. Returns the text and any limit diagnostics (errors for hard limits,
/// a warning when the body is too big to pass inline).
pub fn render(stack: &Stack, format: Format, diagram_span: Span) -> (String, Vec<Diagnostic>) {
    let value = template(stack);
    let text = match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Yaml => yaml_serde::to_string(&value).unwrap_or_default(),
    };
    let mut diagnostics = Vec::new();
    let mut limit = |what: &str, count: usize, max: usize| {
        if count > max {
            diagnostics.push(
                Diagnostic::error("m2a::emit::limit", format!("the template has {count} {what}; CloudFormation allows {max}"))
                    .with_label(diagram_span, "this diagram")
                    .with_help("split the diagram into several (one per stack), each in its own Markdown section"),
            );
        }
    };
    limit("resources", stack.resources.len(), MAX_RESOURCES);
    limit("parameters", stack.parameters.len(), MAX_PARAMETERS);
    limit("outputs", stack.outputs.len(), MAX_OUTPUTS);
    limit("bytes", text.len(), MAX_S3_BODY);
    if text.len() > MAX_INLINE_BODY && text.len() <= MAX_S3_BODY {
        diagnostics.push(
            Diagnostic::warning(
                "m2a::emit::large_template",
                format!(
                    "the template is {} bytes; more than {MAX_INLINE_BODY} cannot be sent inline",
                    text.len()
                ),
            )
            .with_label(diagram_span, "this diagram")
            .with_help("deploy it with `--template-bucket BUCKET`, which uploads it to S3 first"),
        );
    }
    (text, diagnostics)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
