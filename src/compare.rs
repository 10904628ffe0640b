//! Two CloudFormation templates compared resource by resource, and inside a resource property by
//! property, with security group rules and IAM statements compared as sets of rules; every change
//! carries the diagram element and `file:line:col` from `Metadata.Mermaid2Aws`.
//!
//! Pure: no IO. Used by `check` (committed template vs. diagram, deployed template vs. diagram)
//! and by `diff OLD NEW`.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// What happens to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Add,
    Modify,
    /// CloudFormation will replace it (known from a change set only).
    Replace,
    Remove,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Add => "add",
            ChangeKind::Modify => "modify",
            ChangeKind::Replace => "replace",
            ChangeKind::Remove => "remove",
        }
    }

    /// The one-character mark of text reports.
    pub fn mark(self) -> char {
        match self {
            ChangeKind::Add => '+',
            ChangeKind::Modify => '~',
            ChangeKind::Replace => '!',
            ChangeKind::Remove => '-',
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One changed resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResourceChange {
    pub kind: ChangeKind,
    pub logical_id: String,
    pub resource_type: String,
    /// `Metadata.Mermaid2Aws.Element`: from the new template, or the old one for a removal.
    pub element: Option<String>,
    /// `Metadata.Mermaid2Aws.Source` (`file:line:col`), from the same side.
    pub source: Option<String>,
    /// What changed inside it: `path: old -> new` lines, and `+ rule ...` / `- rule ...`.
    pub details: Vec<String>,
}

/// Everything that differs between two templates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateDiff {
    /// Sorted by element, then logical id.
    pub resources: Vec<ResourceChange>,
    /// Differences outside `Resources` (parameters, outputs, description...), as detail lines.
    pub other: Vec<String>,
}

impl TemplateDiff {
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.other.is_empty()
    }
}

/// Read a template, JSON or YAML.
pub fn parse_template(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => Ok(value),
        Err(json) => yaml_serde::from_str::<Value>(text)
            .map_err(|yaml| format!("neither JSON ({json}) nor YAML ({yaml})")),
    }
}

/// Arrays whose items are rules: compared as sets, each item added or removed on its own.
const RULE_LISTS: &[&str] =
    &["SecurityGroupIngress", "SecurityGroupEgress", "Statement", "Policies", "ManagedPolicyArns"];

/// Compare `old` with `new`.
pub fn compare_templates(old: &Value, new: &Value) -> TemplateDiff {
    let empty = serde_json::Map::new();
    let old_resources = old.get("Resources").and_then(Value::as_object).unwrap_or(&empty);
    let new_resources = new.get("Resources").and_then(Value::as_object).unwrap_or(&empty);
    let mut changes = Vec::new();
    for (id, n) in new_resources {
        match old_resources.get(id) {
            None => changes.push(resource_change(ChangeKind::Add, id, n, describe(n))),
            Some(o) if o != n => {
                let mut details = Vec::new();
                match moved_only(o, n) {
                    Some(moved) => details.push(moved),
                    None => diff_values("", o, n, &mut details),
                }
                changes.push(resource_change(ChangeKind::Modify, id, n, details));
            }
            Some(_) => {}
        }
    }
    for (id, o) in old_resources {
        if !new_resources.contains_key(id) {
            changes.push(resource_change(ChangeKind::Remove, id, o, describe(o)));
        }
    }
    changes.sort_by(|a, b| {
        (a.element.as_deref().unwrap_or_default(), &a.logical_id)
            .cmp(&(b.element.as_deref().unwrap_or_default(), &b.logical_id))
    });
    let mut other = Vec::new();
    let strip = |t: &Value| match t {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| *k != "Resources")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    diff_values("", &strip(old), &strip(new), &mut other);
    TemplateDiff { resources: changes, other }
}

/// Compare two revisions of a diagram's template (`diff OLD NEW`): locations (`file:line:col`
/// of either file, in metadata and descriptions) are not compared, so moving or renaming the
/// file is no change; each change still names the location on its own side.
pub fn compare_revisions(old: &Value, old_file: &str, new: &Value, new_file: &str) -> TemplateDiff {
    let mut diff =
        compare_templates(&without_locations(old, old_file), &without_locations(new, new_file));
    for change in &mut diff.resources {
        let side = if change.kind == ChangeKind::Remove { old } else { new };
        let meta = &side["Resources"][&change.logical_id]["Metadata"]["Mermaid2Aws"];
        change.source = meta["Source"].as_str().map(str::to_string);
    }
    diff
}

/// Every `file:LINE:COL` in the strings of `value` replaced by `file:*`.
fn without_locations(value: &Value, file: &str) -> Value {
    match value {
        Value::String(s) => Value::String(strip_locations(s, file)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| without_locations(v, file)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| (k.clone(), without_locations(v, file))).collect(),
        ),
        other => other.clone(),
    }
}

fn strip_locations(text: &str, file: &str) -> String {
    let prefix = format!("{file}:");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&prefix) {
        out.push_str(&rest[..at]);
        let after = &rest[at + prefix.len()..];
        let line = after.bytes().take_while(u8::is_ascii_digit).count();
        let col = after[line..]
            .strip_prefix(':')
            .map_or(0, |r| r.bytes().take_while(u8::is_ascii_digit).count());
        if line > 0 && col > 0 {
            out.push_str("<file>:*");
            rest = &after[line + 1 + col..];
        } else {
            out.push_str(&prefix);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `moved from a.mmd:3:5 to a.mmd:4:5` when two versions of a resource differ only in the
/// locations they record (its element's line moved), so that is said once, not per string.
fn moved_only(old: &Value, new: &Value) -> Option<String> {
    let source = |r: &Value| r["Metadata"]["Mermaid2Aws"]["Source"].as_str().map(str::to_string);
    let (from, to) = (source(old)?, source(new)?);
    let file = |s: &str| s.rsplitn(3, ':').nth(2).map(str::to_string);
    let (old_file, new_file) = (file(&from)?, file(&to)?);
    (without_locations(old, &old_file) == without_locations(new, &new_file))
        .then(|| format!("moved from {from} to {to}"))
}

fn resource_change(kind: ChangeKind, id: &str, r: &Value, details: Vec<String>) -> ResourceChange {
    let meta = &r["Metadata"]["Mermaid2Aws"];
    ResourceChange {
        kind,
        logical_id: id.to_string(),
        resource_type: r["Type"].as_str().unwrap_or_default().to_string(),
        element: meta["Element"].as_str().map(str::to_string),
        source: meta["Source"].as_str().map(str::to_string),
        details,
    }
}

/// What an added or removed resource is, when one line says more than its type: the rule of a
/// standalone security group rule, the statements of an IAM policy.
fn describe(r: &Value) -> Vec<String> {
    let props = &r["Properties"];
    match r["Type"].as_str() {
        Some("AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress") => {
            vec![format!("rule {}", rule_summary(props))]
        }
        Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy") => {
            props["PolicyDocument"]["Statement"]
                .as_array()
                .map(|s| s.iter().map(|s| format!("rule {}", statement_summary(s))).collect())
                .unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// Record the differences between `old` and `new` at `path`.
fn diff_values(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    if old == new {
        return;
    }
    let key = path.rsplit('.').next().unwrap_or_default();
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, nv) in n {
                let sub = join(path, k);
                match o.get(k) {
                    Some(ov) => diff_values(&sub, ov, nv, out),
                    None => out.push(format!("{sub}: added {}", short(nv))),
                }
            }
            for (k, ov) in o {
                if !n.contains_key(k) {
                    out.push(format!("{}: removed (was {})", join(path, k), short(ov)));
                }
            }
        }
        (Value::Array(o), Value::Array(n)) if key == "Policies" => {
            // Inline policies pair up by name; their statements are then compared as rules.
            let name = |v: &Value| v["PolicyName"].as_str().map(str::to_string);
            for nv in n {
                match o.iter().find(|ov| name(ov).is_some() && name(ov) == name(nv)) {
                    Some(ov) => diff_values(
                        &format!("{path}[{}]", name(nv).unwrap_or_default()),
                        ov,
                        nv,
                        out,
                    ),
                    None => out.push(format!("{path}: + rule {}", item_summary(key, nv))),
                }
            }
            for ov in
                o.iter().filter(|ov| !n.iter().any(|nv| name(nv).is_some() && name(nv) == name(ov)))
            {
                out.push(format!("{path}: - rule {}", item_summary(key, ov)));
            }
        }
        (Value::Array(o), Value::Array(n)) if RULE_LISTS.contains(&key) => {
            for item in n.iter().filter(|i| !o.contains(i)) {
                out.push(format!("{path}: + rule {}", item_summary(key, item)));
            }
            for item in o.iter().filter(|i| !n.contains(i)) {
                out.push(format!("{path}: - rule {}", item_summary(key, item)));
            }
            if o.len() == n.len() && o.iter().all(|i| n.contains(i)) {
                out.push(format!("{path}: same rules, another order"));
            }
        }
        (Value::Array(o), Value::Array(n)) if o.len() == n.len() => {
            for (i, (ov, nv)) in o.iter().zip(n).enumerate() {
                diff_values(&format!("{path}[{i}]"), ov, nv, out);
            }
        }
        (Value::String(o), Value::String(n)) if o.contains('\n') || n.contains('\n') => {
            // Scripts (user data): the lines that differ, not two cut-off strings.
            let (old_lines, new_lines): (Vec<&str>, Vec<&str>) =
                (o.lines().collect(), n.lines().collect());
            for line in old_lines.iter().filter(|l| !new_lines.contains(l)) {
                out.push(format!("{path}: - line {}", short(&Value::String((*line).to_string()))));
            }
            for line in new_lines.iter().filter(|l| !old_lines.contains(l)) {
                out.push(format!("{path}: + line {}", short(&Value::String((*line).to_string()))));
            }
            if old_lines.iter().all(|l| new_lines.contains(l))
                && new_lines.iter().all(|l| old_lines.contains(l))
            {
                out.push(format!("{path}: same lines, another order or spacing"));
            }
        }
        _ => out.push(format!("{path}: {} -> {}", short(old), short(new))),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// A value on one line, cut at 100 characters.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 100 {
        format!("{}...", text.chars().take(97).collect::<String>())
    } else {
        text
    }
}

fn item_summary(list: &str, item: &Value) -> String {
    match list {
        "SecurityGroupIngress" | "SecurityGroupEgress" => rule_summary(item),
        "Statement" => statement_summary(item),
        "Policies" => {
            let name = item["PolicyName"].as_str().unwrap_or("?");
            let statements: Vec<String> = item["PolicyDocument"]["Statement"]
                .as_array()
                .map(|s| s.iter().map(statement_summary).collect())
                .unwrap_or_default();
            format!("policy {name}: {}", statements.join("; "))
        }
        _ => short(item),
    }
}

/// `tcp 8080 from SG1SecurityGroup`.
fn rule_summary(rule: &Value) -> String {
    let proto = match rule["IpProtocol"].as_str() {
        Some("-1") => "all traffic".to_string(),
        Some(p) => p.to_string(),
        None => rule["IpProtocol"].to_string(),
    };
    let ports = match (rule["FromPort"].as_i64(), rule["ToPort"].as_i64()) {
        (Some(a), Some(b)) if a == b => format!(" {a}"),
        (Some(a), Some(b)) => format!(" {a}-{b}"),
        _ => String::new(),
    };
    let reference = |v: &Value| {
        v.get("Fn::GetAtt")
            .and_then(|a| a.get(0))
            .or_else(|| v.get("Ref"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| v.as_str().map(str::to_string))
    };
    let peer = reference(&rule["SourceSecurityGroupId"])
        .or_else(|| rule["CidrIp"].as_str().map(str::to_string))
        .or_else(|| reference(&rule["SourcePrefixListId"]).map(|p| format!("prefix list {p}")))
        .or_else(|| reference(&rule["DestinationSecurityGroupId"]))
        .or_else(|| rule["CidrIpv6"].as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    let to = reference(&rule["GroupId"]).map(|g| format!(" to {g}")).unwrap_or_default();
    format!("{proto}{ports} from {peer}{to}")
}

/// `Allow sqs:SendMessage on Queue`.
fn statement_summary(statement: &Value) -> String {
    let list = |v: &Value| match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| resource_name(i), str::to_string))
            .collect::<Vec<_>>()
            .join(","),
        Value::Null => "*".to_string(),
        other => other.as_str().map_or_else(|| resource_name(other), str::to_string),
    };
    format!(
        "{} {} on {}",
        statement["Effect"].as_str().unwrap_or("Allow"),
        list(&statement["Action"]),
        list(&statement["Resource"])
    )
}

/// A resource reference by the logical id it names (`Fn::GetAtt`, `Ref`, `Fn::Sub`).
fn resource_name(value: &Value) -> String {
    if let Some(id) = value.get("Fn::GetAtt").and_then(|a| a.get(0)).and_then(Value::as_str) {
        return id.to_string();
    }
    if let Some(id) = value.get("Ref").and_then(Value::as_str) {
        return id.to_string();
    }
    if let Some(sub) = value.get("Fn::Sub").and_then(Value::as_str) {
        return sub.to_string();
    }
    short(value)
}

/// The changes as text, element by element: the element, then each resource with its mark,
/// type and `file:line:col`, then what changed inside it.
pub fn render_text(diff: &TemplateDiff) -> String {
    let mut by_element: BTreeMap<&str, Vec<&ResourceChange>> = BTreeMap::new();
    for change in &diff.resources {
        by_element
            .entry(change.element.as_deref().unwrap_or("(no element)"))
            .or_default()
            .push(change);
    }
    let mut out = String::new();
    for (element, changes) in by_element {
        out.push_str(&format!("element {element}\n"));
        for c in changes {
            out.push_str(&format!(
                "  {} {}  {}  {}\n",
                c.kind.mark(),
                c.logical_id,
                c.resource_type,
                c.source.as_deref().unwrap_or("-")
            ));
            for d in &c.details {
                out.push_str(&format!("      {d}\n"));
            }
        }
    }
    if !diff.other.is_empty() {
        out.push_str("template\n");
        for d in &diff.other {
            out.push_str(&format!("      {d}\n"));
        }
    }
    out.push_str(&summary(&diff.resources));
    out
}

/// `N to add, N to modify, N to replace, N to remove`.
pub fn summary(changes: &[ResourceChange]) -> String {
    let count = |k: ChangeKind| changes.iter().filter(|c| c.kind == k).count();
    format!(
        "{} to add, {} to modify, {} to replace, {} to remove\n",
        count(ChangeKind::Add),
        count(ChangeKind::Modify),
        count(ChangeKind::Replace),
        count(ChangeKind::Remove)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(element: &str, source: &str) -> Value {
        json!({"Mermaid2Aws": {"Element": element, "Source": source}})
    }

    #[test]
    fn resources_are_added_modified_and_removed_with_their_elements() {
        let old = json!({"Resources": {
            "Db": {"Type": "AWS::RDS::DBInstance", "Metadata": meta("DB", "old.mmd:3:5"),
                   "Properties": {"DBInstanceClass": "db.t4g.micro"}},
            "Gone": {"Type": "AWS::SQS::Queue", "Metadata": meta("Q", "old.mmd:4:5")}}});
        let new = json!({"Resources": {
            "Db": {"Type": "AWS::RDS::DBInstance", "Metadata": meta("DB", "new.mmd:3:5"),
                   "Properties": {"DBInstanceClass": "db.t4g.small"}},
            "Rule": {"Type": "AWS::EC2::SecurityGroupIngress", "Metadata": meta("W", "new.mmd:5:1"),
                     "Properties": {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                        "GroupId": {"Fn::GetAtt": ["DbSg", "GroupId"]},
                        "SourceSecurityGroupId": {"Fn::GetAtt": ["WebSg", "GroupId"]}}}}});
        let diff = compare_templates(&old, &new);
        let got: Vec<(ChangeKind, &str, Option<&str>)> = diff
            .resources
            .iter()
            .map(|c| (c.kind, c.logical_id.as_str(), c.source.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (ChangeKind::Modify, "Db", Some("new.mmd:3:5")),
                (ChangeKind::Remove, "Gone", Some("old.mmd:4:5")),
                (ChangeKind::Add, "Rule", Some("new.mmd:5:1")),
            ]
        );
        assert_eq!(
            diff.resources[0].details,
            [
                "Metadata.Mermaid2Aws.Source: \"old.mmd:3:5\" -> \"new.mmd:3:5\"",
                "Properties.DBInstanceClass: \"db.t4g.micro\" -> \"db.t4g.small\""
            ]
        );
        assert_eq!(diff.resources[2].details, ["rule tcp 5432 from WebSg to DbSg"]);
        let text = render_text(&diff);
        assert!(
            text.starts_with("element DB\n  ~ Db  AWS::RDS::DBInstance  new.mmd:3:5\n"),
            "{text}"
        );
        assert!(text.contains("element W\n  + Rule  AWS::EC2::SecurityGroupIngress  new.mmd:5:1\n      rule tcp 5432"), "{text}");
        assert!(text.ends_with("1 to add, 1 to modify, 0 to replace, 1 to remove\n"), "{text}");
    }

    #[test]
    fn rules_and_statements_are_compared_as_sets() {
        let statement = |action: &str| json!({"Effect": "Allow", "Action": [action], "Resource": [{"Fn::GetAtt": ["Queue", "Arn"]}]});
        let role = |statements: Vec<Value>| {
            json!({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [
                {"PolicyName": "edges", "PolicyDocument": {"Statement": statements}}]}}}})
        };
        let old = role(vec![statement("sqs:SendMessage"), statement("s3:GetObject")]);
        let new = role(vec![statement("s3:GetObject"), statement("sqs:ReceiveMessage")]);
        let diff = compare_templates(&old, &new);
        assert_eq!(
            diff.resources[0].details,
            [
                "Properties.Policies[edges].PolicyDocument.Statement: + rule Allow sqs:ReceiveMessage on Queue",
                "Properties.Policies[edges].PolicyDocument.Statement: - rule Allow sqs:SendMessage on Queue",
            ]
        );
        let reordered = role(vec![statement("s3:GetObject"), statement("sqs:SendMessage")]);
        assert_eq!(
            compare_templates(&old, &reordered).resources[0].details,
            ["Properties.Policies[edges].PolicyDocument.Statement: same rules, another order"]
        );
    }

    #[test]
    fn revisions_ignore_where_things_are_written() {
        let old = json!({"Resources": {"Rule": {"Type": "AWS::EC2::SecurityGroupIngress",
            "Metadata": meta("W", "old.mmd:5:1"),
            "Properties": {"Description": "W -> DB (tcp/5432) at old.mmd:5:1", "FromPort": 5432}}}});
        let moved = json!({"Resources": {"Rule": {"Type": "AWS::EC2::SecurityGroupIngress",
            "Metadata": meta("W", "new.mmd:9:3"),
            "Properties": {"Description": "W -> DB (tcp/5432) at new.mmd:9:3", "FromPort": 5432}}}});
        assert!(compare_revisions(&old, "old.mmd", &moved, "new.mmd").is_empty());
        let mut changed = moved.clone();
        changed["Resources"]["Rule"]["Properties"]["FromPort"] = json!(6432);
        let diff = compare_revisions(&old, "old.mmd", &changed, "new.mmd");
        assert_eq!(diff.resources[0].source.as_deref(), Some("new.mmd:9:3"));
        assert_eq!(diff.resources[0].details, ["Properties.FromPort: 5432 -> 6432"]);
        assert_eq!(strip_locations("a.mmd:3 and a.mmd:3:4x", "a.mmd"), "a.mmd:3 and <file>:*x");
        // Within one file, a resource whose element only moved says so once.
        let same_file = json!({"Resources": {"Rule": {"Type": "AWS::EC2::SecurityGroupIngress",
            "Metadata": meta("W", "old.mmd:9:3"),
            "Properties": {"Description": "W -> DB (tcp/5432) at old.mmd:9:3", "FromPort": 5432}}}});
        assert_eq!(
            compare_templates(&old, &same_file).resources[0].details,
            ["moved from old.mmd:5:1 to old.mmd:9:3"]
        );
    }

    #[test]
    fn equal_templates_have_no_difference_and_other_sections_are_reported() {
        let t = json!({"Parameters": {"A": {"Type": "String"}}, "Resources": {}});
        assert!(compare_templates(&t, &t).is_empty());
        let u = json!({"Parameters": {"B": {"Type": "String"}}, "Resources": {}});
        assert_eq!(
            compare_templates(&t, &u).other,
            [
                "Parameters.B: added {\"Type\":\"String\"}",
                "Parameters.A: removed (was {\"Type\":\"String\"})"
            ]
        );
        assert!(parse_template("Resources: {}\n").is_ok());
        assert!(parse_template("{ nope").is_err());
    }
}
