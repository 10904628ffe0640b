//! Change sets made readable: each change classified as add / modify / replace / remove, tied
//! back to the diagram through the templates' `Metadata.Mermaid2Aws`, and checked for data loss.
//!
//! Pure: no IO. Metadata of added, modified and replaced resources comes from the new template,
//! of removed ones from the deployed template.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use super::api::ResourceChange;
use crate::source::{SourceFile, Span};

/// What a template says about one resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ResourceMeta {
    pub resource_type: String,
    /// The diagram element that caused the resource (`Metadata.Mermaid2Aws.Element`).
    pub element: Option<String>,
    /// `file:line:col` of that element (`Metadata.Mermaid2Aws.Source`).
    pub source: Option<String>,
    pub deletion_policy: Option<String>,
    /// An EC2 instance whose EBS volumes outlive it (`DeleteOnTermination: false`): how
    /// lowering marks a self-hosted data store.
    pub keeps_volumes: bool,
}

impl ResourceMeta {
    /// Replacing or removing this resource loses the data it holds. A self-hosted data store
    /// is an EC2 instance that keeps its volumes (or, in older templates, the instance itself).
    pub(crate) fn holds_data(&self) -> bool {
        const STATEFUL: &[&str] = &[
            "AWS::RDS::DBInstance",
            "AWS::RDS::DBCluster",
            "AWS::ElastiCache::CacheCluster",
            "AWS::ElastiCache::ReplicationGroup",
            "AWS::ElastiCache::ServerlessCache",
            "AWS::S3::Bucket",
            "AWS::AmazonMQ::Broker",
            "AWS::DynamoDB::Table",
            "AWS::DynamoDB::GlobalTable",
            "AWS::EFS::FileSystem",
            "AWS::MSK::Cluster",
            "AWS::MSK::ServerlessCluster",
            "AWS::EC2::Volume",
            "AWS::DocDB::DBCluster",
            "AWS::Neptune::DBCluster",
            "AWS::OpenSearchService::Domain",
            "AWS::Elasticsearch::Domain",
            "AWS::Kinesis::Stream",
        ];
        if STATEFUL.contains(&self.resource_type.as_str()) {
            return true;
        }
        self.resource_type == "AWS::EC2::Instance"
            && (self.keeps_volumes
                || matches!(
                    self.deletion_policy.as_deref(),
                    Some("Retain" | "Snapshot" | "RetainExceptOnCreate")
                ))
    }
}

/// The parts of a template deploy needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct TemplateInfo {
    pub resources: BTreeMap<String, ResourceMeta>,
    /// Parameter name -> whether it has a default.
    pub parameters: BTreeMap<String, bool>,
}

impl TemplateInfo {
    /// Read a JSON (or plain YAML) template; anything unreadable gives an empty info.
    pub(crate) fn parse(text: &str) -> TemplateInfo {
        let value: Value = serde_json::from_str(text)
            .or_else(|_| yaml_serde::from_str(text))
            .unwrap_or(Value::Null);
        let mut info = TemplateInfo::default();
        if let Some(resources) = value.get("Resources").and_then(Value::as_object) {
            for (id, r) in resources {
                let meta = &r["Metadata"]["Mermaid2Aws"];
                let text = |v: &Value| v.as_str().map(str::to_string);
                info.resources.insert(
                    id.clone(),
                    ResourceMeta {
                        resource_type: r["Type"].as_str().unwrap_or_default().to_string(),
                        element: text(&meta["Element"]),
                        source: text(&meta["Source"]),
                        deletion_policy: text(&r["DeletionPolicy"]),
                        keeps_volumes: keeps_volumes(r),
                    },
                );
            }
        }
        if let Some(parameters) = value.get("Parameters").and_then(Value::as_object) {
            for (name, p) in parameters {
                info.parameters.insert(name.clone(), p.get("Default").is_some());
            }
        }
        info
    }
}

/// Whether an instance's block device mappings keep any EBS volume after termination.
fn keeps_volumes(resource: &Value) -> bool {
    resource["Properties"]["BlockDeviceMappings"].as_array().is_some_and(|mappings| {
        mappings.iter().any(|m| m["Ebs"]["DeleteOnTermination"] == Value::Bool(false))
    })
}

/// The four words the change table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Action {
    Add,
    Modify,
    Replace,
    Remove,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Add => "add",
            Action::Modify => "modify",
            Action::Replace => "replace",
            Action::Remove => "remove",
        })
    }
}

/// One row of the change table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub action: Action,
    pub logical_id: String,
    pub resource_type: String,
    /// The metadata of the resource: from the new template, or the deployed one for removals.
    pub meta: ResourceMeta,
    /// CloudFormation said `Conditional`: it may replace, depending on values known later.
    pub conditional: bool,
}

impl Row {
    /// The row as a change `compare` and `change_diagram` understand.
    pub(crate) fn to_change(&self) -> crate::compare::ResourceChange {
        use crate::compare::ChangeKind;
        crate::compare::ResourceChange {
            kind: match self.action {
                Action::Add => ChangeKind::Add,
                Action::Modify => ChangeKind::Modify,
                Action::Replace => ChangeKind::Replace,
                Action::Remove => ChangeKind::Remove,
            },
            logical_id: self.logical_id.clone(),
            resource_type: self.resource_type.clone(),
            element: self.meta.element.clone(),
            source: self.meta.source.clone(),
            details: if self.conditional {
                vec![
                    "CloudFormation may replace it, depending on values it learns while deploying"
                        .into(),
                ]
            } else {
                Vec::new()
            },
        }
    }

    /// Replacing or removing this resource loses the data it holds.
    pub(crate) fn loses_data(&self) -> bool {
        matches!(self.action, Action::Replace | Action::Remove)
            && ResourceMeta { resource_type: self.resource_type.clone(), ..self.meta.clone() }
                .holds_data()
    }
}

/// Classify a change set's changes, sorted by action then logical id.
pub(crate) fn classify(
    changes: &[ResourceChange],
    new: &TemplateInfo,
    deployed: &TemplateInfo,
) -> Vec<Row> {
    let mut rows: Vec<Row> = changes
        .iter()
        .map(|c| {
            let replacement = c.replacement.as_deref().unwrap_or("False");
            let action = match c.action.as_str() {
                "Add" | "Import" => Action::Add,
                "Remove" => Action::Remove,
                _ if replacement == "True" || replacement == "Conditional" => Action::Replace,
                _ => Action::Modify,
            };
            let (first, second) =
                if action == Action::Remove { (deployed, new) } else { (new, deployed) };
            let mut meta = first
                .resources
                .get(&c.logical_id)
                .or_else(|| second.resources.get(&c.logical_id))
                .cloned()
                .unwrap_or_default();
            if meta.resource_type.is_empty() {
                meta.resource_type.clone_from(&c.resource_type);
            }
            Row {
                action,
                logical_id: c.logical_id.clone(),
                resource_type: if c.resource_type.is_empty() {
                    meta.resource_type.clone()
                } else {
                    c.resource_type.clone()
                },
                meta,
                conditional: action == Action::Replace && replacement == "Conditional",
            }
        })
        .collect();
    rows.sort_by(|a, b| (a.action, &a.logical_id).cmp(&(b.action, &b.logical_id)));
    rows
}

/// Every resource of a template as an `add` row (a stack that does not exist yet).
pub(crate) fn all_added(new: &TemplateInfo) -> Vec<Row> {
    new.resources
        .iter()
        .map(|(id, meta)| Row {
            action: Action::Add,
            logical_id: id.clone(),
            resource_type: meta.resource_type.clone(),
            meta: meta.clone(),
            conditional: false,
        })
        .collect()
}

/// The change table: one line per change, columns aligned.
pub(crate) fn render_table(rows: &[Row]) -> String {
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let mut action = r.action.to_string();
            if r.conditional {
                action.push('?');
            }
            [
                action,
                r.logical_id.clone(),
                r.resource_type.clone(),
                r.meta.element.clone().unwrap_or_else(|| "-".into()),
                r.meta.source.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = ["action", "logical id", "type", "element", "source"].map(String::from);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&cells) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&cells) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let count = |a: Action| rows.iter().filter(|r| r.action == a).count();
    out.push_str(&format!(
        "{} to add, {} to modify, {} to replace, {} to remove\n",
        count(Action::Add),
        count(Action::Modify),
        count(Action::Replace),
        count(Action::Remove)
    ));
    if rows.iter().any(|r| r.conditional) {
        out.push_str("replace? = CloudFormation may replace it, depending on values it learns while deploying\n");
    }
    out
}

/// The span in `file` that a `file:line:col` source names: from that column to the end of its
/// line. `None` when the source names another file or a position the file does not have.
pub(crate) fn span_of(file: &SourceFile, source: &str) -> Option<Span> {
    let mut parts = source.rsplitn(3, ':');
    let col: usize = parts.next()?.parse().ok()?;
    let line: usize = parts.next()?.parse().ok()?;
    let name = parts.next()?;
    if name != file.name || line == 0 || col == 0 {
        return None;
    }
    let mut line_start = 0;
    for _ in 1..line {
        line_start += file.text[line_start..].find('\n')? + 1;
    }
    let line_text = file.text[line_start..].split('\n').next().unwrap_or_default();
    let start = line_start + line_text.char_indices().nth(col - 1).map(|(i, _)| i)?;
    let end = line_start + line_text.trim_end().len();
    Some(Span::new(start, end.max(start)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::tests::change;

    fn template() -> TemplateInfo {
        TemplateInfo::parse(
            r#"{"Parameters": {"Cert": {"Type": "String"}, "Size": {"Type": "String", "Default": "1"}},
               "Resources": {
                 "Db": {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot",
                        "Metadata": {"Mermaid2Aws": {"Element": "SQL", "Source": "a.mmd:3:5"}}},
                 "Redis": {"Type": "AWS::EC2::Instance", "DeletionPolicy": "Retain",
                        "Metadata": {"Mermaid2Aws": {"Element": "R", "Source": "a.mmd:4:5"}}},
                 "Kafka": {"Type": "AWS::EC2::Instance",
                        "Properties": {"BlockDeviceMappings": [
                          {"DeviceName": "/dev/xvda", "Ebs": {"DeleteOnTermination": false}}]},
                        "Metadata": {"Mermaid2Aws": {"Element": "K", "Source": "a.mmd:6:5"}}},
                 "Web": {"Type": "AWS::EC2::Instance",
                        "Properties": {"BlockDeviceMappings": [
                          {"DeviceName": "/dev/xvda", "Ebs": {"DeleteOnTermination": true}}]},
                        "Metadata": {"Mermaid2Aws": {"Element": "W", "Source": "a.mmd:2:5"}}},
                 "Rule": {"Type": "AWS::EC2::SecurityGroupIngress",
                        "Metadata": {"Mermaid2Aws": {"Element": "W", "Source": "a.mmd:5:1"}}}}}"#,
        )
    }

    #[test]
    fn template_info_reads_metadata_policies_and_parameters() {
        let t = template();
        assert_eq!(t.resources["Db"].element.as_deref(), Some("SQL"));
        assert_eq!(t.resources["Db"].source.as_deref(), Some("a.mmd:3:5"));
        assert_eq!(t.resources["Redis"].deletion_policy.as_deref(), Some("Retain"));
        assert!(t.resources["Kafka"].keeps_volumes);
        assert!(!t.resources["Web"].keeps_volumes && !t.resources["Redis"].keeps_volumes);
        assert_eq!(t.parameters, BTreeMap::from([("Cert".into(), false), ("Size".into(), true)]));
        assert_eq!(TemplateInfo::parse("not a template"), TemplateInfo::default());
    }

    #[test]
    fn replacement_flags_decide_between_modify_and_replace() {
        let t = template();
        let rows = classify(
            &[
                change("Modify", "Rule", "AWS::EC2::SecurityGroupIngress", Some("True")),
                change("Modify", "Web", "AWS::EC2::Instance", Some("False")),
                change("Modify", "Db", "AWS::RDS::DBInstance", Some("Conditional")),
                change("Add", "New", "AWS::SQS::Queue", None),
                change("Dynamic", "Redis", "AWS::EC2::Instance", None),
            ],
            &t,
            &TemplateInfo::default(),
        );
        let got: Vec<(String, &str, bool)> = rows
            .iter()
            .map(|r| (r.action.to_string(), r.logical_id.as_str(), r.conditional))
            .collect();
        assert_eq!(
            got,
            [
                ("add".into(), "New", false),
                ("modify".into(), "Redis", false),
                ("modify".into(), "Web", false),
                ("replace".into(), "Db", true),
                ("replace".into(), "Rule", false),
            ]
        );
        assert_eq!(rows[3].meta.source.as_deref(), Some("a.mmd:3:5"));
    }

    #[test]
    fn removals_take_their_metadata_from_the_deployed_template() {
        let deployed = template();
        let rows = classify(
            &[change("Remove", "Db", "AWS::RDS::DBInstance", None)],
            &TemplateInfo::default(),
            &deployed,
        );
        assert_eq!(rows[0].action, Action::Remove);
        assert_eq!(rows[0].meta.element.as_deref(), Some("SQL"));
        assert!(rows[0].loses_data());
    }

    #[test]
    fn data_loss_is_replacing_or_removing_what_holds_data() {
        let t = template();
        let rows = classify(
            &[
                change("Modify", "Db", "AWS::RDS::DBInstance", Some("True")),
                change("Modify", "Redis", "AWS::EC2::Instance", Some("True")),
                change("Remove", "Kafka", "AWS::EC2::Instance", None),
                change("Modify", "Web", "AWS::EC2::Instance", Some("True")),
                change("Remove", "Bucket", "AWS::S3::Bucket", None),
                change("Modify", "Table", "AWS::DynamoDB::Table", Some("False")),
                change("Add", "Cache", "AWS::ElastiCache::CacheCluster", None),
            ],
            &t,
            &t,
        );
        let lost: Vec<&str> =
            rows.iter().filter(|r| r.loses_data()).map(|r| r.logical_id.as_str()).collect();
        assert_eq!(lost, ["Db", "Redis", "Bucket", "Kafka"]);
    }

    #[test]
    fn table_shows_the_words_elements_and_sources() {
        let t = template();
        let rows = classify(
            &[
                change("Modify", "Rule", "AWS::EC2::SecurityGroupIngress", Some("False")),
                change("Remove", "Gone", "AWS::SNS::Topic", None),
            ],
            &t,
            &TemplateInfo::default(),
        );
        let table = render_table(&rows);
        assert_eq!(
            table,
            "action  logical id  type                            element  source\n\
             modify  Rule        AWS::EC2::SecurityGroupIngress  W        a.mmd:5:1\n\
             remove  Gone        AWS::SNS::Topic                 -        -\n\
             0 to add, 1 to modify, 0 to replace, 1 to remove\n"
        );
    }

    #[test]
    fn sources_map_to_spans_in_the_same_file_only() {
        let file = SourceFile::new("a.mmd", "graph LR\n    ELB[Load balancer]  \nÄ-->B\n");
        let span = span_of(&file, "a.mmd:2:5").unwrap();
        assert_eq!(&file.text[span.start..span.end], "ELB[Load balancer]");
        let span = span_of(&file, "a.mmd:3:2").unwrap();
        assert_eq!(&file.text[span.start..span.end], "-->B");
        assert_eq!(span_of(&file, "b.mmd:2:5"), None);
        assert_eq!(span_of(&file, "a.mmd:9:1"), None);
        assert_eq!(span_of(&file, "a.mmd:2:99"), None);
        assert_eq!(span_of(&file, "nonsense"), None);
    }
}
