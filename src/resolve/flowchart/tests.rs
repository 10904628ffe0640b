//! Unit tests of the flowchart resolver: meaning, mermaid's database order, and diagnostics.

use crate::diagnostic::Diagnostic;
use crate::extract::DiagramSource;
use crate::ir::canonical::to_canonical_json;
use crate::ir::graph::Diagram;
use crate::syntax;

fn resolve(text: &str) -> Result<Diagram, Vec<Diagnostic>> {
    let source = DiagramSource::whole(1, "test".into(), text.to_string(), 0);
    let (ast, errors) = syntax::parse(&source);
    let Some(ast) = ast else { return Err(errors) };
    let (diagram, errors) = crate::resolve::resolve(&ast, &source);
    diagram.ok_or(errors)
}

fn ok(text: &str) -> Diagram {
    match resolve(text) {
        Ok(d) => d,
        Err(e) => panic!("{text:?} should resolve: {e:?}"),
    }
}

fn err(text: &str) -> Vec<Diagnostic> {
    match resolve(text) {
        Ok(d) => panic!("{text:?} should fail: {d:?}"),
        Err(e) => e,
    }
}

#[test]
fn chains_and_ampersands_expand_in_order() {
    let d = ok("graph LR\nA & B --> C & D --> E");
    let pairs: Vec<(&str, &str)> =
        d.edges.iter().map(|e| (e.from.id.as_str(), e.to.id.as_str())).collect();
    assert_eq!(pairs, [("A", "C"), ("A", "D"), ("B", "C"), ("B", "D"), ("C", "E"), ("D", "E")]);
    assert_eq!(
        d.elements.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["A", "B", "C", "D", "E"]
    );
}

#[test]
fn edge_kinds() {
    let d = ok("graph LR\nA <--> B\nA x-.-x B\nA ===>B\nA ~~~ B\nA x-- t --> B\nA -- t --- B");
    let json = to_canonical_json(&d);
    let kinds: Vec<(String, String, String)> = json["edges"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| (e["type"].to_string(), e["stroke"].to_string(), e["length"].to_string()))
                .collect()
        })
        .unwrap_or_default();
    let want = [
        ("double_arrow_point", "normal", "1"),
        ("double_arrow_cross", "dotted", "1"),
        ("arrow_point", "thick", "2"),
        ("arrow_open", "invisible", "1"),
        ("INVALID", "INVALID", "null"),
        ("arrow_open", "normal", "1"),
    ];
    for (got, want) in kinds.iter().zip(want) {
        assert_eq!(got.0.trim_matches('"'), want.0);
        assert_eq!(got.1.trim_matches('"'), want.1);
        assert_eq!(got.2, want.2);
    }
}

#[test]
fn subgraphs_inner_first_with_unique_members() {
    let d = ok(
        "graph TB\nsubgraph outer [Outer]\nA\nsubgraph inner\ndirection LR\nB --> A\nend\nC\nend\nX --> inner",
    );
    let ids: Vec<&str> = d.groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["inner", "outer"]);
    assert_eq!(d.groups[0].members, ["A", "B"]);
    assert_eq!(d.groups[1].members, ["inner", "C"]);
    assert_eq!(d.groups[0].parent.as_deref(), Some("outer"));
    assert!(d.elements.iter().any(|e| e.id == "inner"));
}

#[test]
fn titles_with_spaces_get_generated_ids() {
    let d = ok("graph TB\nsubgraph One Two\nA\nend\nsubgraph \"Three\"\nB\nend");
    assert_eq!(d.groups[0].id, "subGraph0");
    assert_eq!(d.groups[0].title.as_deref(), Some("One Two"));
    assert_eq!(d.groups[1].id, "Three");
}

#[test]
fn node_data_shapes_and_labels() {
    let d = ok("flowchart LR\nA@{ shape: procs, label: \"Servers\" } --> B[Old]@{ shape: cyl }");
    let a = &d.elements[0];
    assert_eq!(a.display_label(), "Servers");
    let json = to_canonical_json(&d);
    assert_eq!(json["nodes"][0]["shape"], "procs");
    assert_eq!(json["nodes"][0]["labelType"], "markdown");
    assert_eq!(json["nodes"][1]["shape"], "cyl");
    assert_eq!(json["nodes"][1]["label"], "Old");
}

#[test]
fn unknown_shape_is_an_error_with_a_suggestion() {
    let text = "flowchart LR\nA@{ shape: databse }";
    let errors = err(text);
    assert_eq!(errors[0].code, "m2a::resolve::unknown_shape");
    assert_eq!(errors[0].message, "no such shape `databse`");
    assert!(errors[0].help.as_deref().is_some_and(|h| h.contains("`database`")));
    let span = errors[0].span().unwrap_or_default();
    assert_eq!(&text[span.start..span.end], "@{ shape: databse }");
    assert_eq!(err("flowchart LR\nA@{ shape: RECT }")[0].code, "m2a::resolve::unknown_shape");
    assert_eq!(err("flowchart LR\nA@{ shape: square }")[0].code, "m2a::resolve::unknown_shape");
}

#[test]
fn unclosed_subgraph_and_stray_end() {
    let text = "graph TD\nsubgraph X\nA\n";
    let errors = err(text);
    assert_eq!(errors[0].code, "m2a::resolve::unclosed_subgraph");
    assert_eq!(errors[0].message, "`subgraph` `X` is never closed");
    assert_eq!(errors[0].help.as_deref(), Some("add `end` after its last statement"));
    let span = errors[0].span().unwrap_or_default();
    assert_eq!(&text[span.start..span.end], "subgraph X");
    let errors = err("graph TD\nA\nend\n");
    assert_eq!(errors[0].code, "m2a::resolve::stray_end");
}

#[test]
fn edge_limit() {
    let mut text = String::from("graph LR\n");
    for i in 0..501 {
        text.push_str(&format!("A{i} --> B{i}\n"));
    }
    let errors = err(&text);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "m2a::resolve::edge_limit");
}

#[test]
fn link_style_out_of_bounds() {
    assert_eq!(
        err("graph LR\nA --> B\nlinkStyle 1 stroke:red")[0].code,
        "m2a::resolve::link_style_index"
    );
    let d = ok("graph LR\nA --> B\nlinkStyle 0 stroke:red");
    assert_eq!(d.edges[0].style, ["stroke:red", "fill:none"]);
}

#[test]
fn presentation_is_applied() {
    let d = ok(
        "graph LR\nA:::big --> B\nclassDef big font-size:30px,color:red\nclass B big\nstyle A fill:#f9f\nclick A \"https://example.com\" \"tip\" _blank",
    );
    assert_eq!(d.elements[0].style.classes, ["big", "clickable"]);
    assert_eq!(d.elements[0].style.styles, ["fill:#f9f"]);
    assert_eq!(d.elements[0].style.link.as_deref(), Some("https://example.com"));
    assert_eq!(d.elements[1].style.classes, ["big"]);
    let def = d.presentation.class_defs.get("big").cloned().unwrap_or_default();
    assert_eq!(def.text_styles, ["color:red"]);
}

#[test]
fn ten_thousand_nested_subgraphs_resolve() {
    let depth = 10_000;
    let mut text = String::from("graph TD\n");
    for i in 0..depth {
        text.push_str(&format!("subgraph S{i}\n"));
    }
    text.push_str("A\n");
    for _ in 0..depth {
        text.push_str("end\n");
    }
    let d = ok(&text);
    assert_eq!(d.groups.len(), depth);
    assert_eq!(d.groups[0].id, format!("S{}", depth - 1));
    assert_eq!(d.groups[0].members, ["A"]);
}

#[test]
fn a_subgraph_id_used_twice_is_a_warning_on_both() {
    let text = "graph LR\nsubgraph A[\"one\"]\n  X\nend\nsubgraph A[\"two\"]\n  Y\nend\n";
    let source = DiagramSource::whole(1, "test".into(), text.to_string(), 0);
    let (ast, _) = syntax::parse(&source);
    let (diagram, found) = crate::resolve::resolve(&ast.unwrap(), &source);
    assert_eq!(diagram.unwrap().groups.len(), 2, "still resolves, as mermaid draws it");
    let warning = found.iter().find(|d| d.code == "m2a::resolve::duplicate_subgraph").unwrap();
    assert_eq!(warning.severity, miette::Severity::Warning);
    assert_eq!(warning.labels.len(), 2);
    assert!(found.iter().all(|d| d.code == "m2a::resolve::duplicate_subgraph"), "{found:?}");
    // Distinct ids say nothing.
    let text = "graph LR\nsubgraph A\n  X\nend\nsubgraph B\n  Y\nend\n";
    let source = DiagramSource::whole(1, "test".into(), text.to_string(), 0);
    let (ast, _) = syntax::parse(&source);
    let (_, found) = crate::resolve::resolve(&ast.unwrap(), &source);
    assert!(found.is_empty(), "{found:?}");
}
