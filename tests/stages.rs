//! One snapshot per stage per case (`tests/cases/ok/*.mmd`): the diagram IR, the infra IR
//! and the template. Error cases (`tests/cases/err/*.mmd`) snapshot the rendered diagnostics.
//! Review changes with `cargo insta test --review`.

use std::path::Path;

use mermaid2aws::emit::Format;
use mermaid2aws::source::SourceFile;
use miette::{GraphicalReportHandler, GraphicalTheme};

fn read(path: &Path) -> SourceFile {
    let name = format!("cases/{}", path.file_name().and_then(|n| n.to_str()).unwrap_or_default());
    SourceFile::new(name, std::fs::read_to_string(path).expect("read case"))
}

#[test]
fn graph() {
    insta::glob!("cases/ok/*.mmd", |path| {
        let file = read(path);
        let parsed = mermaid2aws::parse_file(&file, None).expect("parses");
        insta::assert_json_snapshot!(parsed.diagrams);
    });
}

#[test]
fn infra() {
    insta::glob!("cases/ok/*.mmd", |path| {
        let file = read(path);
        let (compiled, _) =
            mermaid2aws::compile_file(&file, None, Default::default(), Format::Json)
                .expect("compiles");
        let stacks: Vec<_> = compiled.iter().map(|c| &c.stack).collect();
        insta::assert_json_snapshot!(stacks);
    });
}

#[test]
fn cfn_yaml() {
    insta::glob!("cases/ok/*.mmd", |path| {
        let file = read(path);
        let (compiled, _) =
            mermaid2aws::compile_file(&file, None, Default::default(), Format::Yaml)
                .expect("compiles");
        let text: Vec<_> = compiled.iter().map(|c| c.template.as_str()).collect();
        insta::assert_snapshot!(text.join("---\n"));
    });
}

#[test]
fn warnings() {
    insta::glob!("cases/ok/*.mmd", |path| {
        let file = read(path);
        let (_, warnings) =
            mermaid2aws::compile_file(&file, None, Default::default(), Format::Json)
                .expect("compiles");
        insta::assert_snapshot!(render(&file, &warnings));
    });
}

#[test]
fn errors() {
    insta::glob!("cases/err/*.mmd", |path| {
        let file = read(path);
        let diagnostics =
            match mermaid2aws::compile_file(&file, None, Default::default(), Format::Json) {
                Ok(_) => panic!("{} should not compile", file.name),
                Err(d) => d,
            };
        assert!(diagnostics.iter().any(|d| d.is_error()));
        for d in &diagnostics {
            assert!(d.help.is_some(), "{}: `{}` has no help line", file.name, d.message);
            assert!(d.span().is_some(), "{}: `{}` has no span", file.name, d.message);
        }
        insta::assert_snapshot!(render(&file, &diagnostics));
    });
}

/// Diagnostics as the user sees them, without colour, 80 columns wide.
fn render(file: &SourceFile, diagnostics: &[mermaid2aws::diagnostic::Diagnostic]) -> String {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(80)
        .with_context_lines(mermaid2aws::diagnostic::CONTEXT_LINES);
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&format!(
            "{}: {}\n",
            d.span().map(|s| file.location(s)).unwrap_or_default(),
            d.code
        ));
        handler.render_report(&mut out, &d.with_source(file)).expect("render");
    }
    out
}
