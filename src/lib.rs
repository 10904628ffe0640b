#![doc = include_str!("../ARCHITECTURE.md")]

pub mod catalog;
pub mod change_diagram;
pub mod check;
pub mod cli;
pub mod compare;
#[cfg(feature = "deploy")]
pub mod deploy;
pub mod diagnostic;
pub mod emit;
pub mod explain;
pub mod extract;
pub mod ir;
pub mod lower;
pub mod resolve;
pub mod source;
pub mod syntax;

use diagnostic::{Diagnostic, has_errors};
use extract::Skipped;
use ir::graph;
use source::SourceFile;

/// The diagrams of one file, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub diagrams: Vec<graph::Diagram>,
    /// Mermaid diagrams of other kinds, not infrastructure.
    pub skipped: Vec<Skipped>,
    /// Warnings from every stage (errors make the whole call fail).
    pub warnings: Vec<Diagnostic>,
}

/// Extract, parse and resolve every infrastructure diagram of `file` (or only the one
/// `diagram` names, by number or heading) with mermaid's default settings. All errors of all
/// diagrams are reported at once.
pub fn parse_file(file: &SourceFile, diagram: Option<&str>) -> Result<Parsed, Vec<Diagnostic>> {
    parse_file_with(file, diagram, resolve::ResolveOptions::default())
}

/// [`parse_file`] with the settings a diagram cannot change (`--max-edges`).
pub fn parse_file_with(
    file: &SourceFile,
    diagram: Option<&str>,
    options: resolve::ResolveOptions,
) -> Result<Parsed, Vec<Diagnostic>> {
    let extracted = extract::extract(file).map_err(|d| vec![d])?;
    let sources = match diagram {
        Some(wanted) => vec![extract::select(&extracted.diagrams, wanted).map_err(|d| vec![d])?],
        None => extracted.diagrams.iter().collect(),
    };
    let mut diagnostics = Vec::new();
    let mut diagrams = Vec::new();
    for source in sources {
        let (ast, found) = syntax::parse(source);
        diagnostics.extend(found);
        let Some(ast) = ast else { continue };
        let (resolved, found) = resolve::resolve_with(&ast, source, options);
        diagnostics.extend(found);
        diagrams.extend(resolved);
    }
    if has_errors(&diagnostics) {
        return Err(diagnostics);
    }
    for s in &extracted.skipped {
        let (why, label, help) = if s.marked {
            (
                "it is marked as not infrastructure",
                "marked as not infrastructure",
                format!("remove `{}` to make infrastructure of it", extract::IGNORE_MARKER),
            )
        } else {
            (
                "it describes no infrastructure",
                "not an infrastructure diagram",
                "only `flowchart`/`graph` and `architecture-beta` diagrams become infrastructure"
                    .to_string(),
            )
        };
        let mut note = Diagnostic::warning(
            "m2a::extract::skipped",
            format!("skipped `{}` diagram `{}`: {why}", s.keyword, s.name),
        )
        .with_label(s.span, label)
        .with_help(help);
        note.severity = miette::Severity::Advice;
        diagnostics.push(note);
    }
    Ok(Parsed { diagrams, skipped: extracted.skipped, warnings: diagnostics })
}

/// One diagram lowered to infrastructure, before any template is rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Lowered {
    pub diagram: graph::Diagram,
    pub stack: ir::infra::Stack,
}

/// One compiled diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub diagram: graph::Diagram,
    pub stack: ir::infra::Stack,
    /// The template text in the requested format.
    pub template: String,
}

/// Extract, parse, resolve, lower and emit every infrastructure diagram of `file` (or the
/// one `diagram` names) with mermaid's default settings. Nothing is returned unless every
/// diagram compiles.
pub fn compile_file(
    file: &SourceFile,
    diagram: Option<&str>,
    options: lower::LowerOptions,
    format: emit::Format,
) -> Result<(Vec<Compiled>, Vec<Diagnostic>), Vec<Diagnostic>> {
    compile_file_with(file, diagram, resolve::ResolveOptions::default(), options, format)
}

/// [`compile_file`] with the settings a diagram cannot change (`--max-edges`).
pub fn compile_file_with(
    file: &SourceFile,
    diagram: Option<&str>,
    resolve_options: resolve::ResolveOptions,
    options: lower::LowerOptions,
    format: emit::Format,
) -> Result<(Vec<Compiled>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (lowered, mut diagnostics) = lower_all(file, diagram, resolve_options, options)?;
    let mut compiled = Vec::new();
    for Lowered { diagram: d, stack } in lowered {
        let (template, found) = emit::render(&stack, format, d.keyword);
        diagnostics.extend(found);
        compiled.push(Compiled { diagram: d, stack, template });
    }
    if has_errors(&diagnostics) {
        return Err(diagnostics);
    }
    Ok((compiled, diagnostics))
}

/// Extract, parse, resolve and lower every infrastructure diagram of `file` (or the one
/// `diagram` names), without rendering templates: what `explain` shows, which still means
/// something where no template can be made (a diagram that names no AWS element, or one
/// over CloudFormation's limits).
pub fn lower_file_with(
    file: &SourceFile,
    diagram: Option<&str>,
    resolve_options: resolve::ResolveOptions,
    options: lower::LowerOptions,
) -> Result<(Vec<Lowered>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (lowered, diagnostics) = lower_all(file, diagram, resolve_options, options)?;
    if has_errors(&diagnostics) {
        return Err(diagnostics);
    }
    Ok((lowered, diagnostics))
}

/// The diagrams that lowered, with every diagnostic so far; a diagram whose lowering failed is
/// left out and its errors kept, so that the caller reports every diagram's errors at once.
fn lower_all(
    file: &SourceFile,
    diagram: Option<&str>,
    resolve_options: resolve::ResolveOptions,
    options: lower::LowerOptions,
) -> Result<(Vec<Lowered>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let parsed = parse_file_with(file, diagram, resolve_options)?;
    let catalog = catalog::Catalog::builtin();
    let mut diagnostics = parsed.warnings;
    let mut lowered = Vec::new();
    for d in parsed.diagrams {
        let (stack, found) = lower::lower(&d, catalog, options, file);
        diagnostics.extend(found);
        if let Some(stack) = stack {
            lowered.push(Lowered { diagram: d, stack });
        }
    }
    Ok((lowered, diagnostics))
}
