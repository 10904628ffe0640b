//! The diagram IR in the canonical JSON schema of mermaid's database, as the oracle in
//! `shared/tools/mermaid-oracle` writes it, so `mermaid2aws parse` can be compared with real
//! mermaid field by field. This is a view: it adds nothing the IR does not hold.

use serde_json::{Map, Value, json};

use super::graph::{Diagram, DiagramKind, Edge, Element, ElementForm, Head};

/// The oracle's JSON for one diagram.
pub fn to_canonical_json(diagram: &Diagram) -> Value {
    let mut out = match diagram.kind {
        DiagramKind::Flowchart => flowchart(diagram),
        DiagramKind::Architecture => architecture(diagram),
    };
    for (key, value) in [
        ("title", &diagram.title),
        ("accTitle", &diagram.acc_title),
        ("accDescr", &diagram.acc_descr),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            out.insert(key.to_string(), json!(value));
        }
    }
    Value::Object(out)
}

fn flowchart(diagram: &Diagram) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("ok".into(), json!(true));
    out.insert("kind".into(), json!("flowchart"));
    out.insert("direction".into(), json!(diagram.direction.map_or("TB", |d| d.as_str())));
    let nodes: Vec<Value> = diagram.elements.iter().map(flowchart_node).collect();
    out.insert("nodes".into(), Value::Array(nodes));
    let edges: Vec<Value> = diagram.edges.iter().map(flowchart_edge).collect();
    out.insert("edges".into(), Value::Array(edges));
    let subgraphs: Vec<Value> = diagram
        .groups
        .iter()
        .map(|g| {
            json!({
                "id": g.id,
                "title": g.display_title(),
                "nodes": g.members,
                "dir": g.direction.map(|d| d.as_str()),
                "labelType": g.label_type.as_str(),
                "classes": g.classes,
            })
        })
        .collect();
    out.insert("subgraphs".into(), Value::Array(subgraphs));
    if !diagram.presentation.class_defs.is_empty() {
        let defs: Map<String, Value> = diagram
            .presentation
            .class_defs
            .iter()
            .map(|(name, def)| {
                (name.clone(), json!({"styles": def.styles, "textStyles": def.text_styles}))
            })
            .collect();
        out.insert("classDefs".into(), Value::Object(defs));
    }
    out
}

fn flowchart_node(element: &Element) -> Value {
    let shape = match &element.form {
        ElementForm::Node { shape } => shape.clone(),
        ElementForm::Service | ElementForm::Junction => None,
    };
    let mut node = Map::new();
    node.insert("id".into(), json!(element.id));
    node.insert("label".into(), json!(element.display_label()));
    node.insert("shape".into(), json!(shape));
    node.insert("labelType".into(), json!(element.label_type.as_str()));
    node.insert("classes".into(), json!(element.style.classes));
    node.insert("styles".into(), json!(element.style.styles));
    let style = &element.style;
    for (key, value) in [
        ("link", &style.link),
        ("linkTarget", &style.link_target),
        ("tooltip", &style.tooltip),
        ("icon", &element.icon),
    ] {
        if let Some(value) = value {
            node.insert(key.into(), json!(value));
        }
    }
    if style.have_callback {
        node.insert("haveCallback".into(), json!(true));
    }
    for (key, value) in &element.data {
        let key = match key.as_str() {
            "w" => "assetWidth",
            "h" => "assetHeight",
            other => other,
        };
        node.insert(key.into(), json!(value));
    }
    Value::Object(node)
}

/// mermaid's edge `type`: from the heads at both ends.
pub fn flowchart_edge_type(edge: &Edge) -> String {
    if edge.mismatched {
        return "INVALID".to_string();
    }
    match (edge.from.head, edge.to.head) {
        (None, None) => "arrow_open".to_string(),
        (None, Some(head)) | (Some(head), None) => format!("arrow_{}", head.as_str()),
        (Some(a), Some(b)) if a == b => format!("double_arrow_{}", a.as_str()),
        (Some(_), Some(_)) => "INVALID".to_string(),
    }
}

fn flowchart_edge(edge: &Edge) -> Value {
    let kind = flowchart_edge_type(edge);
    let stroke = if kind == "INVALID" { "INVALID" } else { edge.stroke.as_str() };
    let mut out = Map::new();
    out.insert("from".into(), json!(edge.from.id));
    out.insert("to".into(), json!(edge.to.id));
    out.insert("label".into(), json!(edge.label.as_deref().unwrap_or("")));
    out.insert("type".into(), json!(kind));
    out.insert("stroke".into(), json!(stroke));
    // mermaid gives an INVALID edge no length.
    let length = if kind == "INVALID" { Value::Null } else { json!(edge.length) };
    out.insert("length".into(), length);
    out.insert("labelType".into(), json!(edge.label_type.as_str()));
    if let Some(id) = &edge.id {
        out.insert("id".into(), json!(id));
    }
    if !edge.classes.is_empty() {
        out.insert("classes".into(), json!(edge.classes));
    }
    if !edge.style.is_empty() {
        out.insert("style".into(), json!(edge.style));
    }
    for (key, value) in
        [("interpolate", &edge.interpolate), ("animation", &edge.animation), ("curve", &edge.curve)]
    {
        if let Some(value) = value {
            out.insert(key.into(), json!(value));
        }
    }
    if let Some(animate) = edge.animate {
        out.insert("animate".into(), json!(animate));
    }
    Value::Object(out)
}

fn architecture(diagram: &Diagram) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("ok".into(), json!(true));
    out.insert("kind".into(), json!("architecture"));
    let mut groups: Vec<_> = diagram.groups.iter().collect();
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| json!({"id": g.id, "icon": g.icon, "title": g.title, "in": g.parent}))
        .collect();
    out.insert("groups".into(), Value::Array(groups));
    let services: Vec<Value> = diagram
        .elements
        .iter()
        .filter(|e| e.form == ElementForm::Service)
        .map(|e| {
            json!({"id": e.id, "icon": e.icon, "iconText": e.icon_text, "title": e.label, "in": e.group})
        })
        .collect();
    out.insert("services".into(), Value::Array(services));
    let junctions: Vec<Value> = diagram
        .elements
        .iter()
        .filter(|e| e.form == ElementForm::Junction)
        .map(|e| json!({"id": e.id, "in": e.group}))
        .collect();
    out.insert("junctions".into(), Value::Array(junctions));
    let edges: Vec<Value> = diagram
        .edges
        .iter()
        .map(|e| {
            json!({
                "lhs": e.from.id,
                "lhsDir": e.from.side.map(|s| s.as_str()),
                "lhsGroup": e.from.via_group,
                "rhs": e.to.id,
                "rhsDir": e.to.side.map(|s| s.as_str()),
                "rhsGroup": e.to.via_group,
                "lhsInto": e.from.head == Some(Head::Arrow),
                "rhsInto": e.to.head == Some(Head::Arrow),
                "title": e.label,
            })
        })
        .collect();
    out.insert("edges".into(), Value::Array(edges));
    out
}
