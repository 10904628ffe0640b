//! Unit tests of the architecture parser: conversions, token details, syntax errors.

use super::ast::{Architecture, Side, Statement};
use crate::diagnostic::Diagnostic;
use crate::extract::DiagramSource;
use crate::syntax::preprocess;

/// The only place that calls the parser.
#[track_caller]
fn parse(text: &str) -> Result<Architecture, Vec<Diagnostic>> {
    let source = DiagramSource::whole(1, "test".into(), text.to_string(), 0);
    let prepared = preprocess::prepare(text).expect("preprocess");
    super::parse(&prepared.text, &source)
}

#[track_caller]
fn ok(text: &str) -> Architecture {
    match parse(text) {
        Ok(ast) => ast,
        Err(errors) => panic!("expected to parse, got {errors:#?}"),
    }
}

/// The code and the primary span's text of every error.
#[track_caller]
fn errors(text: &str) -> Vec<(&'static str, String)> {
    let errors = parse(text).expect_err("expected errors");
    errors
        .iter()
        .map(|d| {
            let span = d.span().expect("a span");
            (d.code, text[span.start..span.end].to_string())
        })
        .collect()
}

#[track_caller]
fn only(text: &str) -> Statement {
    let mut ast = ok(text);
    assert_eq!(ast.statements.len(), 1, "{:#?}", ast.statements);
    ast.statements.remove(0)
}

#[test]
fn service_with_icon_title_and_parent() {
    let Statement::Service(s) =
        only("architecture-beta\n  service db(logos:aws-s3)[ My DB ] in api\n")
    else {
        panic!("not a service")
    };
    assert_eq!(s.id.name, "db");
    assert_eq!(s.icon.map(|t| t.value).as_deref(), Some("logos:aws-s3"));
    assert_eq!(s.title.map(|t| t.value).as_deref(), Some("My DB"));
    assert_eq!(s.parent.as_ref().map(|p| p.name.as_str()), Some("api"));
    // Spans are file spans: `db` is at offset 28.
    assert_eq!((s.id.span.start, s.id.span.end), (28, 30));
}

#[test]
fn title_conversions_follow_mermaid() {
    let title = |raw: &str| {
        let Statement::Service(s) = only(&format!("architecture-beta\nservice a{raw}\n")) else {
            panic!("not a service")
        };
        s.title.map(|t| t.value)
    };
    assert_eq!(title(r#"["The \"Main\" API"]"#).as_deref(), Some(r#"The "Main" API"#));
    assert_eq!(title("['single']").as_deref(), Some("single"));
    assert_eq!(title("[Data-base]").as_deref(), Some("Data-base"));
    assert_eq!(title("[ 'it''s' ]").as_deref(), Some("it''s"));
    assert_eq!(title(r#"["]"#).as_deref(), Some(""));
    assert_eq!(title(r#"["x"y"]"#).as_deref(), Some(r#"x"y"#));
    assert_eq!(title(r"['a\\b']").as_deref(), Some(r"a\\b"));
}

#[test]
fn icon_text_is_an_escaped_string() {
    let Statement::Service(s) = only("architecture-beta\nservice a \"a\\nb\\q\\\\\"[T]\n") else {
        panic!("not a service")
    };
    assert_eq!(s.icon_text.map(|t| t.value).as_deref(), Some("a\nbq\\"));
    assert!(s.icon.is_none());
}

#[test]
fn edge_with_spaces_heads_title_and_group_modifiers() {
    let Statement::Edge(e) =
        only("architecture-beta\n a {group} : R < - [ https 443 ] - > L : b{group}\n")
    else {
        panic!("not an edge")
    };
    assert_eq!((e.lhs.id.name.as_str(), e.lhs.side), ("a", Side::Right));
    assert_eq!((e.rhs.id.name.as_str(), e.rhs.side), ("b", Side::Left));
    assert!(e.lhs.head.is_some() && e.rhs.head.is_some());
    assert!(e.lhs.group_modifier.is_some() && e.rhs.group_modifier.is_some());
    assert_eq!(e.title.map(|t| t.value).as_deref(), Some("https 443"));
}

#[test]
fn either_head_character_works_on_either_end() {
    let Statement::Edge(e) = only("architecture-beta\na:B >--< T:b\n") else {
        panic!("not an edge")
    };
    assert!(e.lhs.head.is_some() && e.rhs.head.is_some());
    let Statement::Edge(e) = only("architecture-beta\na:B -- T:b\n") else { panic!("not an edge") };
    assert!(e.lhs.head.is_none() && e.rhs.head.is_none());
}

#[test]
fn ids_with_inner_dashes_and_leading_digits() {
    let ast = ok("architecture-beta\nservice api-gw_1\nservice 1x\nservice a--b\n");
    let ids: Vec<_> = ast
        .statements
        .iter()
        .map(|s| match s {
            Statement::Service(s) => s.id.name.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, ["api-gw_1", "1x", "a--b"]);
}

#[test]
fn keywords_only_count_as_whole_words() {
    let ast = ok("architecture-beta\nservice groups\nservice inx\ngroup in-a\n");
    assert_eq!(ast.statements.len(), 3);
}

#[test]
fn title_and_accessibility_statements() {
    let ast = ok(
        "architecture-beta title  first   line %% hidden\naccTitle:  A  T \naccDescr {\n  one\n\n   two   words\n}\n",
    );
    let texts: Vec<_> = ast
        .statements
        .iter()
        .map(|s| match s {
            Statement::Title(t) | Statement::AccTitle(t) | Statement::AccDescr(t) => {
                t.value.clone()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(texts, ["first line", "A T", "one\ntwo words"]);
    assert_eq!(ast.comments.len(), 1);
    assert_eq!(ast.comments[0].text, " hidden");
}

#[test]
fn trailing_comments_are_kept_and_whole_line_ones_are_blanked() {
    let ast = ok("architecture-beta\n  %% whole line\n  service a %% @aws type=s3\n");
    assert_eq!(ast.statements.len(), 1);
    assert_eq!(ast.comments.len(), 1);
    assert_eq!(ast.comments[0].text, " @aws type=s3");
}

#[test]
fn every_bad_line_is_reported_in_one_pass() {
    let text =
        "architecture-beta\n  service a\n  a:X -- L:b\n  node a\n  a:R - L:b\n  service a-(x)\n";
    assert_eq!(
        errors(text),
        [
            ("m2a::parse::syntax", "X".to_string()),
            ("m2a::parse::syntax", "a".to_string()),
            ("m2a::parse::syntax", "L".to_string()),
            ("m2a::parse::syntax", "-".to_string()),
        ]
    );
}

#[test]
fn syntax_error_says_what_was_expected() {
    let errors = parse("architecture-beta\na:r -- L:b\n").expect_err("lower-case side");
    assert_eq!(errors[0].message, "unexpected `r`");
    assert!(errors[0].labels[0].1.contains("a side"), "{:?}", errors[0].labels);
    assert!(errors[0].help.as_deref().unwrap_or_default().contains("upper case"));
}

#[test]
fn unexpected_end_of_line() {
    let errors = parse("architecture-beta\nservice a in\n").expect_err("no parent");
    assert_eq!(errors[0].message, "unexpected end of line");
}

#[test]
fn ids_mermaid_lexes_as_something_else_are_refused() {
    for (text, id) in [
        ("architecture-beta\nservice Bob\n", "Bob"),
        ("architecture-beta\nservice titlebar\n", "titlebar"),
        ("architecture-beta\nservice in\n", "in"),
        ("architecture-beta\nservice a\nTx:R -- L:a\n", "Tx"),
    ] {
        assert_eq!(errors(text), [("m2a::parse::reserved_id", id.to_string())], "{text:?}");
    }
}

#[test]
fn statements_need_their_own_line() {
    assert_eq!(errors("architecture-beta\nservice a service b\n")[0].0, "m2a::parse::syntax");
    assert_eq!(errors("architecture-beta\naccDescr { x } service b\n")[0].0, "m2a::parse::syntax");
    // ...except the first one, which may share the header's line.
    assert_eq!(ok("architecture-beta service a").statements.len(), 1);
}

#[test]
fn hostile_input_does_not_panic() {
    let long_chain: String =
        (0..2000).map(|i| format!("group g{i} in g{}\n", i.max(1) - 1)).collect();
    for text in [
        "architecture-beta\n[".to_string(),
        "architecture-beta\n\"".to_string(),
        "architecture-beta\naccDescr {".to_string(),
        "architecture-beta\nservice é(ü)[ß]".to_string(),
        "architecture-beta\n".to_string() + &"(".repeat(10_000),
        "architecture-beta\n".to_string() + &long_chain,
    ] {
        let _ = parse(&text);
    }
}
