//! Emit: infra IR -> CloudFormation template text (JSON or YAML).
//!
//! Invariant: the output is a pure function of the stack: keys in a fixed order (template
//! sections in CloudFormation's conventional order, resources by logical id), so the same
//! diagram gives byte-identical templates. CloudFormation's limits (at least one resource, at
//! most 500...) are checked here.

use serde::ser::{Serialize, SerializeMap, Serializer};
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
    serde_json::to_value(Template(stack)).unwrap_or(Value::Null)
}

/// The template, serialized straight from the stack: the same text as [`template`]'s value,
/// without first copying every resource's properties into it (on a large diagram the copy
/// and freeing it again cost as much as writing the text).
struct Template<'a>(&'a Stack);

impl Serialize for Template<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let stack = self.0;
        let (head, outputs) = sections(stack);
        let mut map = serializer.serialize_map(Some(head.len() + 1 + outputs.len()))?;
        for (key, value) in &head {
            map.serialize_entry(key, value)?;
        }
        map.serialize_entry("Resources", &Resources(stack))?;
        for (key, value) in &outputs {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The `Resources` section: each resource's attributes, then its properties, borrowed.
struct Resources<'a>(&'a Stack);

impl Serialize for Resources<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let resources = &self.0.resources;
        let mut map = serializer.serialize_map(Some(resources.len()))?;
        for (id, r) in resources {
            map.serialize_entry(id, &ResourceEntry(r))?;
        }
        map.end()
    }
}

/// One resource: type, condition, dependencies, policies and metadata, then its properties,
/// written straight to the serializer (no map is built per resource).
struct ResourceEntry<'a>(&'a crate::ir::infra::Resource);

impl Serialize for ResourceEntry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut depends_on: Vec<&str> = r.depends_on.iter().map(String::as_str).collect();
        depends_on.sort_unstable();
        depends_on.dedup();
        let len = 3
            + usize::from(r.condition.is_some())
            + usize::from(!depends_on.is_empty())
            + usize::from(r.deletion_policy.is_some())
            + usize::from(r.update_replace_policy.is_some());
        let mut map = serializer.serialize_map(Some(len))?;
        map.serialize_entry("Type", &r.kind)?;
        if let Some(c) = &r.condition {
            map.serialize_entry("Condition", c)?;
        }
        if !depends_on.is_empty() {
            map.serialize_entry("DependsOn", &depends_on)?;
        }
        if let Some(p) = &r.deletion_policy {
            map.serialize_entry("DeletionPolicy", p)?;
        }
        if let Some(p) = &r.update_replace_policy {
            map.serialize_entry("UpdateReplacePolicy", p)?;
        }
        map.serialize_entry("Metadata", &Metadata(r))?;
        map.serialize_entry("Properties", &r.properties)?;
        map.end()
    }
}

/// A resource's `Metadata`: the diagram element it came from, and checkov's accepted findings.
struct Metadata<'a>(&'a crate::ir::infra::Resource);

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let checkov: Vec<Value> = r
            .suppressions
            .iter()
            .filter(|s| s.tool == "checkov")
            .map(|s| json!({"id": s.id, "comment": s.reason}))
            .collect();
        let mut map = serializer.serialize_map(Some(1 + usize::from(!checkov.is_empty())))?;
        map.serialize_entry("Mermaid2Aws", &Origin(&r.origin))?;
        if !checkov.is_empty() {
            map.serialize_entry("checkov", &json!({"skip": checkov}))?;
        }
        map.end()
    }
}

/// `{"Element": ..., "Source": ...}`.
struct Origin<'a>(&'a crate::ir::infra::Origin);

impl Serialize for Origin<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("Element", &self.0.element)?;
        map.serialize_entry("Source", &self.0.source)?;
        map.end()
    }
}

/// The sections before `Resources` and the one after it, as values (they are small).
fn sections(stack: &Stack) -> (Map<String, Value>, Map<String, Value>) {
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
    let mut after = Map::new();
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
        after.insert("Outputs".into(), Value::Object(outputs));
    }
    (t, after)
}

/// Render the template. Returns the text and any limit diagnostics (errors for hard limits,
/// a warning when the body is too big to pass inline). When there are more resources,
/// parameters or outputs than CloudFormation allows, the template can never be used: its
/// size is still reported, but it is measured without keeping the text (an empty string is
/// returned), which on a very large diagram saves hundreds of megabytes.
pub fn render(stack: &Stack, format: Format, diagram_span: Span) -> (String, Vec<Diagnostic>) {
    let value = Template(stack);
    let over_count = stack.resources.len() > MAX_RESOURCES
        || stack.parameters.len() > MAX_PARAMETERS
        || stack.outputs.len() > MAX_OUTPUTS;
    let (text, len) = if over_count {
        (String::new(), rendered_len(&value, format))
    } else {
        let text = match format {
            Format::Json => {
                let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
                s.push('\n');
                s
            }
            Format::Yaml => yaml_serde::to_string(&value).unwrap_or_default(),
        };
        let len = text.len();
        (text, len)
    };
    let mut diagnostics = Vec::new();
    if stack.resources.is_empty() {
        // CloudFormation refuses such a template outright ("At least one Resources member
        // must be defined"), so an empty one is never written.
        diagnostics.push(
            Diagnostic::error(
                "m2a::emit::no_resources",
                "no element of this diagram makes an AWS resource, and CloudFormation refuses a template without resources",
            )
            .with_label(diagram_span, "this diagram")
            .with_help("name AWS services in its labels (\"Amazon RDS\", \"Redis\", \"S3 Bucket\"...) or add `%% @aws ID kind=KIND`, and `mermaid2aws explain` shows how each element was read; a diagram that is not infrastructure (a process chart beside the architecture) is skipped when it has a line `%% @aws ignore`"),
        );
    }
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
    limit("bytes", len, MAX_S3_BODY);
    if len > MAX_INLINE_BODY && len <= MAX_S3_BODY {
        diagnostics.push(
            Diagnostic::warning(
                "m2a::emit::large_template",
                format!(
                    "the template is {len} bytes; more than {MAX_INLINE_BODY} cannot be sent inline"
                ),
            )
            .with_label(diagram_span, "this diagram")
            .with_help("deploy it with `--template-bucket BUCKET`, which uploads it to S3 first"),
        );
    }
    (text, diagnostics)
}

/// The length of the rendered template, counted as it is written and not kept.
fn rendered_len(value: &Template<'_>, format: Format) -> usize {
    let mut count = ByteCount(0);
    match format {
        Format::Json => {
            let _ = serde_json::to_writer_pretty(&mut count, value);
            count.0 + 1 // the final line feed
        }
        Format::Yaml => {
            let _ = yaml_serde::to_writer(&mut count, value);
            count.0
        }
    }
}

/// A writer that only counts bytes.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::infra::{Origin, Resource, Suppression};

    /// A stack of `n` resources with nested properties, metadata and suppressions.
    fn stack(n: usize) -> Stack {
        let mut stack = Stack { description: "test ✓".into(), ..Stack::default() };
        for i in 0..n {
            stack.resources.insert(
                format!("Queue{i}"),
                Resource {
                    kind: "AWS::SQS::Queue".into(),
                    properties: json!({"QueueName": {"Fn::Sub": format!("${{AWS::StackName}}-{i}")}, "Tags": [{"Key": "n", "Value": i}]}),
                    depends_on: vec![format!("Key{i}"), "Key".into(), "Key".into()],
                    condition: None,
                    deletion_policy: Some("Retain".into()),
                    update_replace_policy: None,
                    suppressions: vec![Suppression {
                        tool: "checkov".into(),
                        id: "CKV_AWS_27".into(),
                        reason: "test".into(),
                    }],
                    origin: Origin { element: format!("q{i}"), source: "a.mmd:1:1".into() },
                },
            );
        }
        stack
    }

    fn bytes_reported(diagnostics: &[Diagnostic]) -> Option<usize> {
        diagnostics.iter().find_map(|d| {
            d.message
                .strip_prefix("the template has ")?
                .strip_suffix(" bytes; CloudFormation allows 1000000")?
                .parse()
                .ok()
        })
    }

    #[test]
    fn streamed_template_is_the_template_value() {
        let stack = stack(3);
        let (text, diagnostics) = render(&stack, Format::Json, Span::default());
        assert!(diagnostics.is_empty());
        let mut expected = serde_json::to_string_pretty(&template(&stack)).expect("json");
        expected.push('\n');
        assert_eq!(text, expected);
        let (yaml, _) = render(&stack, Format::Yaml, Span::default());
        assert_eq!(yaml, yaml_serde::to_string(&template(&stack)).expect("yaml"));
    }

    /// Over the resource limit the text is not kept, but its size is measured exactly.
    #[test]
    fn size_of_an_unusable_template_is_measured_exactly() {
        let stack = stack(MAX_RESOURCES * 12);
        for format in [Format::Json, Format::Yaml] {
            let (text, diagnostics) = render(&stack, format, Span::default());
            assert!(text.is_empty());
            assert!(diagnostics.iter().any(|d| d.message.contains("resources")));
            let full = match format {
                Format::Json => {
                    serde_json::to_string_pretty(&template(&stack)).expect("json") + "\n"
                }
                Format::Yaml => yaml_serde::to_string(&template(&stack)).expect("yaml"),
            };
            assert!(full.len() > MAX_S3_BODY, "the test needs a template over 1 MB");
            assert_eq!(bytes_reported(&diagnostics), Some(full.len()), "{format:?}");
        }
    }
}
