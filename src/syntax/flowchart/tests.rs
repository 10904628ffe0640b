//! Unit tests of the flowchart parser: AST details, syntax diagnostics and their spans,
//! robustness on deep and large inputs.

use super::ast::{Quoting, ShapeKind, Statement};
use crate::diagnostic::Diagnostic;
use crate::extract::DiagramSource;
use crate::syntax::preprocess;

fn parse(text: &str) -> Result<super::ast::Flowchart, Vec<Diagnostic>> {
    let source = DiagramSource::whole(1, "test".into(), text.to_string(), 0);
    let prepared = preprocess::prepare(text).map_err(|d| vec![d])?;
    super::parse(&prepared.text, &source)
}

fn statements(text: &str) -> Vec<Statement> {
    match parse(text) {
        Ok(chart) => chart.statements,
        Err(errors) => panic!("{text:?} should parse: {errors:?}"),
    }
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match parse(text) {
        Ok(chart) => panic!("{text:?} should fail: {chart:?}"),
        Err(errors) => errors,
    }
}

#[test]
fn header_direction_is_kept_as_written() {
    let chart = parse("graph >\nA").ok();
    assert_eq!(chart.and_then(|c| c.direction).map(|d| d.value).as_deref(), Some(">"));
}

#[test]
fn shapes_and_labels() {
    let cases = [
        ("A[t]", ShapeKind::Square),
        ("A(t)", ShapeKind::Round),
        ("A([t])", ShapeKind::Stadium),
        ("A[[t]]", ShapeKind::Subroutine),
        ("A[(t)]", ShapeKind::Cylinder),
        ("A((t))", ShapeKind::Circle),
        ("A(((t)))", ShapeKind::DoubleCircle),
        ("A>t]", ShapeKind::Odd),
        ("A{t}", ShapeKind::Diamond),
        ("A{{t}}", ShapeKind::Hexagon),
        ("A[/t/]", ShapeKind::LeanRight),
        ("A[\\t\\]", ShapeKind::LeanLeft),
        ("A[/t\\]", ShapeKind::Trapezoid),
        ("A[\\t/]", ShapeKind::InvTrapezoid),
        ("A(-t-)", ShapeKind::Ellipse),
        ("A[|k:w|t]", ShapeKind::Rect),
    ];
    for (node, kind) in cases {
        let text = format!("graph TD\n{node}");
        let Some(Statement::Vertices(vs)) = statements(&text).into_iter().next() else {
            panic!("{node}: no vertex statement");
        };
        let shape = vs.groups[0][0].shape.clone();
        assert_eq!(shape.as_ref().map(|s| s.kind), Some(kind), "{node}");
        assert_eq!(shape.map(|s| s.text.text).as_deref(), Some("t"), "{node}");
    }
}

#[test]
fn quoted_and_markdown_labels() {
    let Some(Statement::Vertices(vs)) =
        statements("graph TD\nA[\"f(x)\"] --> B[\"`**b**`\"]").into_iter().next()
    else {
        panic!("no vertex statement");
    };
    let a = vs.groups[0][0].shape.clone().map(|s| s.text);
    let b = vs.groups[1][0].shape.clone().map(|s| s.text);
    assert_eq!(a.as_ref().map(|l| (l.text.as_str(), l.quoting)), Some(("f(x)", Quoting::String)));
    assert_eq!(
        b.as_ref().map(|l| (l.text.as_str(), l.quoting)),
        Some(("**b**", Quoting::Markdown))
    );
}

#[test]
fn edges_labels_ids_and_groups() {
    let Some(Statement::Vertices(vs)) =
        statements("graph LR\nA & B e1@-- hi --> C -.->|x| D").into_iter().next()
    else {
        panic!("no vertex statement");
    };
    assert_eq!(vs.groups.len(), 3);
    assert_eq!(vs.groups[0].len(), 2);
    let first = &vs.links[0];
    assert_eq!(first.id.as_ref().map(|i| i.value.as_str()), Some("e1"));
    assert_eq!(first.start.as_deref(), Some("--"));
    assert_eq!(first.arrow.trim(), "-->");
    assert_eq!(first.label.as_ref().map(|l| l.text.trim()), Some("hi"));
    assert_eq!(vs.links[1].arrow.trim(), "-.->");
    assert_eq!(vs.links[1].label.as_ref().map(|l| l.text.as_str()), Some("x"));
}

#[test]
fn keywords_only_as_whole_words() {
    statements("graph TD\nclass1 --> endpoint --> subgraph1 --> End");
    let errs = errors("graph TD\nA --> end");
    assert_eq!(errs[0].code, "m2a::parse::syntax");
    let errs = errors("graph TD;graph.node");
    assert_eq!(errs.len(), 1);
}

#[test]
fn subgraph_and_end_are_flat_statements() {
    let s = statements("graph TD\nsubgraph one [Title]\ndirection LR\nA\nend");
    assert!(matches!(&s[0], Statement::Subgraph(open)
        if open.name.as_ref().map(|n| n.text.trim()) == Some("one")
            && open.title.as_ref().map(|t| t.text.as_str()) == Some("Title")));
    assert!(matches!(&s[1], Statement::Direction(d) if d.value == "LR"));
    assert!(matches!(s[3], Statement::End(_)));
}

#[test]
fn presentation_statements() {
    let s = statements(
        "graph TD\nA\nclassDef red fill:#f00,stroke:#333;\nclass A red\nstyle A fill:#f9f\nlinkStyle default interpolate basis\nclick A \"https://x\" \"tip\" _blank\naccTitle: T\naccDescr {\nlong\n}",
    );
    assert!(matches!(&s[1], Statement::ClassDef(d) if d.styles == ["fill:#f00", "stroke:#333"]));
    assert!(matches!(&s[2], Statement::Class(c) if c.class.value == "red"));
    assert!(matches!(&s[3], Statement::Style(st) if st.styles == ["fill:#f9f"]));
    assert!(matches!(&s[4], Statement::LinkStyle(l) if l.indexes.is_none()));
    assert!(matches!(&s[5], Statement::Click(c) if c.tooltip.as_deref() == Some("tip")));
    assert!(matches!(&s[7], Statement::AccDescr(d) if d.value == "long"));
}

#[test]
fn entity_codes_stay_as_written_in_labels_but_not_in_ids() {
    let Some(Statement::Vertices(vs)) =
        statements("graph TD\nA[\"say #quot;hi#quot;\"]").into_iter().next()
    else {
        panic!("no vertex statement");
    };
    let label = vs.groups[0][0].shape.clone().map(|s| s.text.text);
    assert_eq!(label.as_deref(), Some("say #quot;hi#quot;"));
    errors("graph TD\nA#quot;B --> C");
}

#[test]
fn every_bad_line_is_reported_with_its_span() {
    let text = "graph TD\nA --> B\nC[unclosed\nD --> E\nF(a (b)) --> G\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 2, "{errs:?}");
    for e in &errs {
        assert_eq!(e.code, "m2a::parse::syntax");
        assert!(!e.message.ends_with('.'));
        assert!(e.help.is_some());
    }
    // The second error points at the nested `(` in line 5.
    let at = errs[1].span().map(|s| s.start);
    assert_eq!(at, text.find("(b"));
}

#[test]
fn trailing_comment_is_an_error() {
    let errs = errors("graph TD\nA --> B %% no\n");
    assert_eq!(errs.len(), 1);
}

#[test]
fn bad_header_is_reported() {
    let errs = errors("flowchart XY\nA --> B");
    assert_eq!(errs[0].code, "m2a::parse::syntax");
    assert!(errs[0].message.contains("expected"), "{}", errs[0].message);
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 10_000;
    let mut text = String::from("graph TD\n");
    for i in 0..depth {
        text.push_str(&format!("subgraph S{i}\n"));
    }
    text.push_str("A --> B\n");
    for _ in 0..depth {
        text.push_str("end\n");
    }
    assert_eq!(statements(&text).len(), 2 * depth + 1);
}

#[test]
fn large_input_parses() {
    let mut text = String::from("graph LR\n");
    let mut i = 0;
    while text.len() < 3_000_000 {
        text.push_str(&format!("    N{i}[\"Node {i}\"] --> N{}(Next) & M{i}\n", i + 1));
        i += 1;
    }
    assert_eq!(statements(&text).len(), i);
}

#[test]
fn unparseable_garbage_does_not_panic() {
    for text in [
        "graph TD\n\u{0}\u{1}[[(((",
        "graph TD\nA[\"",
        "graph TD\nA -- x",
        "graph TD\nA@{ shape: ",
        "graph TD\naccDescr {",
        "graph TD\nclick",
        "graph TD\n\"`",
        "graph TD\n;;;;&&&",
        "graph",
    ] {
        let _ = parse(text);
    }
}
