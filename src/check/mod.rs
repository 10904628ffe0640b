//! `check`: is every diagram, its committed template and its deployed stack in agreement?
//!
//! 1. Every infrastructure diagram of the files named (folders are walked) parses and compiles;
//!    warnings are shown, and with `strict` they fail the check. A file without any
//!    infrastructure diagram (prose, a sequence diagram, a chart marked `%% @aws ignore`) is
//!    skipped.
//! 2. With a templates folder, each diagram's committed template is byte-for-byte what the
//!    diagram compiles to today (compile output is deterministic). The template a diagram maps to
//!    is the one `compile FILE -o DIR` writes: `DIR/<name>.json` (or `.yaml`), named by
//!    `cli::template_file_stems`. A difference is shown element by element (`compare`).
//! 3. With a stack (`--stack-name` for one diagram, or a mapping file), the deployed template
//!    (GetTemplate) means the same as the compiled one, and with `drift` CloudFormation's drift
//!    detection finds no drifted resource; drifted resources are named with their diagram
//!    element. Only this step uses the network, and the connection is not even built without it.
//!
//! This module decides and reports; it prints nothing (the CLI renders [`Outcome`]).

mod discover;
#[cfg(feature = "deploy")]
mod stacks;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[cfg(feature = "deploy")]
use crate::cli::EXIT_DEPLOY_FAILED;
use crate::cli::{EXIT_OK, EXIT_OUT_OF_SYNC, EXIT_USER_ERROR};
use crate::compare::{self, ResourceChange, TemplateDiff};
use crate::diagnostic::{Diagnostic, has_errors};
use crate::emit::Format;
use crate::lower::LowerOptions;
use crate::source::SourceFile;

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub paths: Vec<PathBuf>,
    /// Site settings (`--max-edges`), as for `compile`.
    pub resolve: crate::resolve::ResolveOptions,
    /// The folder of committed templates.
    pub templates: Option<PathBuf>,
    /// Warnings fail the check (exit 1).
    pub strict: bool,
    /// The stack the one diagram checked is deployed as.
    pub stack_name: Option<String>,
    /// A TOML file mapping diagrams to stacks.
    pub stacks_file: Option<PathBuf>,
    /// Run drift detection on the stacks.
    pub drift: bool,
    #[cfg(feature = "deploy")]
    pub connection: crate::deploy::Connection,
}

/// How the check ended: the exit code, the report (when the check got that far), and the
/// diagnostics to render against each file.
#[derive(Debug)]
pub struct Outcome {
    pub code: u8,
    pub report: Option<Report>,
    pub diagnostics: Vec<(SourceFile, Vec<Diagnostic>)>,
}

/// The machine-readable result (`--format json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `in_sync` or `out_of_sync`.
    pub status: &'static str,
    pub diagrams: Vec<DiagramReport>,
}

impl Report {
    pub fn in_sync(&self) -> bool {
        self.diagrams.iter().all(DiagramReport::in_sync)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiagramReport {
    pub file: String,
    /// The diagram's name (its heading, else the file stem).
    pub diagram: String,
    /// `file:line:col` of the diagram.
    pub source: String,
    pub warnings: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<StackReport>,
}

impl DiagramReport {
    pub fn in_sync(&self) -> bool {
        self.template.as_ref().is_none_or(|t| t.status == TemplateStatus::InSync)
            && self.stack.as_ref().is_none_or(StackReport::in_sync)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateStatus {
    InSync,
    /// No committed template for the diagram.
    Missing,
    /// The committed template means something else.
    Stale,
    /// Same meaning, other bytes: not what `compile` writes.
    Formatting,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateReport {
    pub path: String,
    pub status: TemplateStatus,
    /// From the committed template to the compiled one.
    pub changes: Vec<ResourceChange>,
    pub other: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackStatus {
    InSync,
    /// No such stack.
    Missing,
    /// The deployed template means something else than the diagram.
    OutOfSync,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackReport {
    pub name: String,
    pub status: StackStatus,
    /// From the deployed template to the compiled one.
    pub changes: Vec<ResourceChange>,
    pub other: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftReport>,
}

impl StackReport {
    fn in_sync(&self) -> bool {
        self.status == StackStatus::InSync
            && self.drift.as_ref().is_none_or(|d| d.resources.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    /// CloudFormation's verdict for the stack: DRIFTED, IN_SYNC...
    pub status: String,
    pub resources: Vec<DriftedResource>,
}

/// A drifted resource, on its diagram element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftedResource {
    pub logical_id: String,
    pub resource_type: String,
    /// MODIFIED or DELETED.
    pub status: String,
    pub element: Option<String>,
    pub source: Option<String>,
    pub differences: Vec<String>,
}

/// One compiled diagram, kept for the later steps.
struct Checked {
    file: usize,
    compiled: crate::Compiled,
}

/// The stacks mapping file: `[[stack]]` tables of `name`, `file` and an optional `diagram`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StacksFile {
    stack: Vec<StackEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StackEntry {
    name: String,
    file: PathBuf,
    /// A number (1-based) or heading, as `--diagram`.
    diagram: Option<String>,
}

/// Run the check.
pub fn run(request: &Request) -> Outcome {
    let mut outcome = Outcome { code: EXIT_OK, report: None, diagnostics: Vec::new() };
    let fail = |outcome: &mut Outcome, file: SourceFile, d: Diagnostic| {
        outcome.diagnostics.push((file, vec![d]));
        outcome.code = EXIT_USER_ERROR;
    };
    if let Some(dir) = request.templates.as_ref().filter(|d| !d.is_dir()) {
        let d = Diagnostic::error(
            "m2a::check::templates",
            format!("the templates folder `{}` does not exist", dir.display()),
        )
        .with_help(format!(
            "create it and write the templates: mkdir -p {0} && mermaid2aws compile FILE -o {0}",
            dir.display()
        ));
        fail(&mut outcome, SourceFile::new("check", ""), d);
        return outcome;
    }
    if request.drift && request.stack_name.is_none() && request.stacks_file.is_none() {
        let d = Diagnostic::error("m2a::check::stacks", "--drift needs a stack to look at")
            .with_help(
                "name it with --stack-name NAME, or map diagrams to stacks with --stacks FILE",
            );
        fail(&mut outcome, SourceFile::new("check", ""), d);
        return outcome;
    }
    let paths = match discover::files(&request.paths) {
        Ok(paths) => paths,
        Err(d) => {
            fail(&mut outcome, SourceFile::new("check", ""), d);
            return outcome;
        }
    };
    // Step 1: everything compiles.
    let mut files = Vec::new();
    let mut checked = Vec::new();
    let mut warnings_seen = false;
    for path in &paths {
        let file = match crate::cli::read_input(path) {
            Ok(file) => file,
            Err(failed) => {
                let (file, d) = *failed;
                fail(&mut outcome, file, d);
                continue;
            }
        };
        let index = files.len();
        match crate::compile_file_with(
            &file,
            None,
            request.resolve,
            LowerOptions::default(),
            Format::Json,
        ) {
            Ok((compiled, found)) => {
                let found: Vec<Diagnostic> =
                    found.into_iter().filter(|d| d.severity != miette::Severity::Advice).collect();
                warnings_seen |= !found.is_empty();
                checked
                    .extend(compiled.into_iter().map(|compiled| Checked { file: index, compiled }));
                if !found.is_empty() {
                    outcome.diagnostics.push((file.clone(), found));
                }
            }
            // Prose without a diagram (a CHANGELOG, say), or a diagram of another kind (a sequence
            // diagram), has no infrastructure to check.
            Err(found) if matches!(found.as_slice(), [d] if d.code == "m2a::extract::no_diagram") =>
                {}
            Err(found) => {
                outcome.diagnostics.push((file.clone(), found));
                outcome.code = EXIT_USER_ERROR;
            }
        }
        files.push(file);
    }
    if outcome.code != EXIT_OK {
        return outcome;
    }
    if request.strict && warnings_seen {
        let d = Diagnostic::error("m2a::check::strict", "warnings fail the check (--strict)")
            .with_help("fix the diagram so it compiles without warnings, or drop --strict");
        fail(&mut outcome, SourceFile::new("check", ""), d);
        return outcome;
    }
    let mut reports: Vec<DiagramReport> = checked
        .iter()
        .map(|c| {
            let file = &files[c.file];
            DiagramReport {
                file: file.name.clone(),
                diagram: c.compiled.diagram.name.clone(),
                source: file.location(c.compiled.diagram.span),
                warnings: outcome
                    .diagnostics
                    .iter()
                    .filter(|(f, _)| f.name == file.name)
                    .flat_map(|(_, ds)| ds)
                    .filter(|d| {
                        d.span().is_some_and(|s| {
                            c.compiled.diagram.span.start <= s.start
                                && s.start <= c.compiled.diagram.span.end
                        })
                    })
                    .count(),
                template: None,
                stack: None,
            }
        })
        .collect();
    // Step 2: committed templates.
    if let Some(dir) = &request.templates {
        match template_reports(dir, &files, &checked) {
            Ok(found) => {
                for (report, template) in reports.iter_mut().zip(found) {
                    report.template = Some(template);
                }
            }
            Err(d) => {
                fail(&mut outcome, SourceFile::new(dir.display().to_string(), ""), d);
                return outcome;
            }
        }
    }
    // Step 3: deployed stacks.
    if request.stack_name.is_some() || request.stacks_file.is_some() {
        let targets = match stack_targets(request, &files, &checked) {
            Ok(targets) => targets,
            Err(failed) => {
                let (file, d) = *failed;
                fail(&mut outcome, file, d);
                return outcome;
            }
        };
        #[cfg(feature = "deploy")]
        match stacks::check(&targets, request.drift, &request.connection) {
            Ok(found) => {
                for (target, stack) in targets.iter().zip(found) {
                    match reports
                        .iter_mut()
                        .find(|r| r.file == target.file && r.diagram == target.diagram)
                    {
                        Some(report) => report.stack = Some(stack),
                        None => reports.push(DiagramReport {
                            file: target.file.clone(),
                            diagram: target.diagram.clone(),
                            source: target.source.clone(),
                            warnings: 0,
                            template: None,
                            stack: Some(stack),
                        }),
                    }
                }
            }
            Err(d) => {
                // No region or credentials is the user's to fix; a failed call is AWS's answer.
                outcome.code = if d.code == "m2a::deploy::config" {
                    EXIT_USER_ERROR
                } else {
                    EXIT_DEPLOY_FAILED
                };
                outcome.diagnostics.push((SourceFile::new("check", ""), vec![d]));
                return outcome;
            }
        }
        #[cfg(not(feature = "deploy"))]
        {
            let _ = targets;
            let d = Diagnostic::error("m2a::check::no_deploy", "this build has no AWS support")
                .with_help("build with the default `deploy` feature to check stacks");
            fail(&mut outcome, SourceFile::new("check", ""), d);
            return outcome;
        }
    }
    let mut report = Report { status: "in_sync", diagrams: reports };
    if !report.in_sync() {
        report.status = "out_of_sync";
        outcome.code = EXIT_OUT_OF_SYNC;
    }
    outcome.report = Some(report);
    outcome
}

/// Each diagram's committed template compared with what it compiles to.
fn template_reports(
    dir: &Path,
    files: &[SourceFile],
    checked: &[Checked],
) -> Result<Vec<TemplateReport>, Diagnostic> {
    // The names `compile FILE -o DIR` gives each file's diagrams.
    let mut stems: Vec<String> = Vec::new();
    for (index, _) in files.iter().enumerate() {
        let names =
            checked.iter().filter(|c| c.file == index).map(|c| c.compiled.diagram.name.as_str());
        stems.extend(crate::cli::template_file_stems(names));
    }
    let mut owners: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, stem) in stems.iter().enumerate() {
        if let Some(first) = owners.insert(stem, i) {
            let name =
                |c: &Checked| format!("`{}` in {}", c.compiled.diagram.name, files[c.file].name);
            return Err(Diagnostic::error(
                "m2a::check::template_clash",
                format!(
                    "{} and {} both map to the template `{stem}` in `{}`",
                    name(&checked[first]),
                    name(&checked[i]),
                    dir.display()
                ),
            )
            .with_help("give the diagrams distinct headings (or file names), or check them against separate --templates folders"));
        }
    }
    let mut reports = Vec::new();
    for (c, stem) in checked.iter().zip(&stems) {
        let found = ["json", "yaml"]
            .iter()
            .map(|ext| dir.join(format!("{stem}.{ext}")))
            .find(|p| p.is_file());
        let Some(path) = found else {
            reports.push(TemplateReport {
                path: dir.join(format!("{stem}.json")).display().to_string(),
                status: TemplateStatus::Missing,
                changes: Vec::new(),
                other: Vec::new(),
            });
            continue;
        };
        let committed = std::fs::read_to_string(&path).map_err(|err| {
            Diagnostic::error("m2a::io::read", format!("cannot read `{}`: {err}", path.display()))
                .with_help("check the file's permissions")
        })?;
        let yaml = path.extension().is_some_and(|e| e != "json");
        let compiled = if yaml {
            let (text, _) =
                crate::emit::render(&c.compiled.stack, Format::Yaml, c.compiled.diagram.span);
            text
        } else {
            c.compiled.template.clone()
        };
        let (status, diff) = if committed == compiled {
            (TemplateStatus::InSync, TemplateDiff::default())
        } else {
            match compare::parse_template(&committed) {
                Ok(old) => {
                    let new = compare::parse_template(&compiled).unwrap_or_default();
                    let diff = compare::compare_templates(&old, &new);
                    let status = if diff.is_empty() {
                        TemplateStatus::Formatting
                    } else {
                        TemplateStatus::Stale
                    };
                    (status, diff)
                }
                Err(err) => (
                    TemplateStatus::Stale,
                    TemplateDiff {
                        resources: Vec::new(),
                        other: vec![format!("the committed file is not a template: {err}")],
                    },
                ),
            }
        };
        reports.push(TemplateReport {
            path: path.display().to_string(),
            status,
            changes: diff.resources,
            other: diff.other,
        });
    }
    Ok(reports)
}

/// A diagram and the stack it is deployed as.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "deploy"), allow(dead_code))]
pub(crate) struct StackTarget {
    pub stack_name: String,
    pub file: String,
    pub diagram: String,
    pub source: String,
    /// What the diagram compiles to (JSON, as `deploy` sends it).
    pub template: String,
}

fn stack_targets(
    request: &Request,
    files: &[SourceFile],
    checked: &[Checked],
) -> Result<Vec<StackTarget>, Box<(SourceFile, Diagnostic)>> {
    let target = |c: &Checked, name: &str| {
        let file = &files[c.file];
        StackTarget {
            stack_name: name.to_string(),
            file: file.name.clone(),
            diagram: c.compiled.diagram.name.clone(),
            source: file.location(c.compiled.diagram.span),
            template: c.compiled.template.clone(),
        }
    };
    let nowhere = || SourceFile::new("check", "");
    if let (Some(_), Some(_)) = (&request.stack_name, &request.stacks_file) {
        return Err(failure(
            nowhere(),
            Diagnostic::error("m2a::check::stacks", "--stack-name and --stacks both name stacks")
                .with_help("use --stack-name for one diagram, or a --stacks file for several"),
        ));
    }
    if let Some(name) = &request.stack_name {
        return match checked {
            [one] => Ok(vec![target(one, name)]),
            _ => {
                let names: Vec<String> = checked
                    .iter()
                    .map(|c| format!("`{}` in {}", c.compiled.diagram.name, files[c.file].name))
                    .collect();
                Err(failure(
                    nowhere(),
                    Diagnostic::error(
                        "m2a::check::several_diagrams",
                        format!("--stack-name needs exactly one diagram; {} were found{}", checked.len(), if names.is_empty() { String::new() } else { format!(": {}", names.join(", ")) }),
                    )
                    .with_help("check one file with one diagram, or map diagrams to stacks with a --stacks file"),
                ))
            }
        };
    }
    let Some(path) = &request.stacks_file else { return Ok(Vec::new()) };
    let mapping = crate::cli::read_input(path)?;
    let parsed: Result<StacksFile, Diagnostic> = toml::from_str(&mapping.text).map_err(|err| {
        let mut d = Diagnostic::error("m2a::check::stacks", format!("`{}` is not a stacks file: {}", mapping.name, err.message()))
            .with_help("write [[stack]] tables with `name`, `file` and optionally `diagram` (a number or heading)");
        if let Some(range) = err.span() {
            d = d.with_label(crate::source::Span::new(range.start, range.end), "here");
        }
        d
    });
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(d) => return Err(failure(mapping, d)),
    };
    let mut targets = Vec::new();
    for entry in parsed.stack {
        let wanted = discover::files(std::slice::from_ref(&entry.file))
            .ok()
            .and_then(|f| f.into_iter().next());
        let Some(index) = wanted.and_then(|w| files.iter().position(|f| Path::new(&f.name) == w))
        else {
            return Err(failure(
                mapping.clone(),
                Diagnostic::error(
                    "m2a::check::stacks",
                    format!(
                        "stack `{}`: `{}` is not among the files checked",
                        entry.name,
                        entry.file.display()
                    ),
                )
                .with_help("name the file (or a folder holding it) on the command line too"),
            ));
        };
        let file = &files[index];
        let compiled = match &entry.diagram {
            None => checked.iter().filter(|c| c.file == index).collect::<Vec<_>>(),
            Some(wanted) => {
                match crate::compile_file_with(
                    file,
                    Some(wanted),
                    request.resolve,
                    LowerOptions::default(),
                    Format::Json,
                ) {
                    Ok((compiled, _)) => {
                        let names: Vec<&str> =
                            compiled.iter().map(|c| c.diagram.name.as_str()).collect();
                        let spans: Vec<_> = compiled.iter().map(|c| c.diagram.span).collect();
                        checked
                            .iter()
                            .filter(|c| {
                                c.file == index
                                    && spans.contains(&c.compiled.diagram.span)
                                    && names.contains(&c.compiled.diagram.name.as_str())
                            })
                            .collect()
                    }
                    Err(found) => {
                        let d = found
                            .into_iter()
                            .find(|d| has_errors(std::slice::from_ref(d)))
                            .unwrap_or_else(|| Diagnostic::bug("no diagnostic"));
                        return Err(failure(file.clone(), d));
                    }
                }
            }
        };
        match compiled.as_slice() {
            [one] => targets.push(target(one, &entry.name)),
            other => {
                return Err(failure(
                    mapping.clone(),
                    Diagnostic::error(
                        "m2a::check::stacks",
                        format!(
                            "stack `{}`: `{}` has {} diagrams; one stack is one diagram",
                            entry.name,
                            file.name,
                            other.len()
                        ),
                    )
                    .with_help(
                        "add `diagram = \"HEADING\"` (or its number) to the [[stack]] table",
                    ),
                ));
            }
        }
    }
    Ok(targets)
}

fn failure(file: SourceFile, diagnostic: Diagnostic) -> Box<(SourceFile, Diagnostic)> {
    Box::new((file, diagnostic))
}

/// The report as text: nothing for a diagram in sync (unless `verbose`), and for each
/// difference the diagram, what differs and the element-by-element changes.
pub fn render_text(report: &Report, verbose: bool) -> String {
    let mut out = String::new();
    for d in &report.diagrams {
        let head = format!("{} diagram `{}`", d.source, d.diagram);
        if let Some(t) = &d.template {
            match t.status {
                TemplateStatus::InSync if verbose => out.push_str(&format!("{head}: template {} in sync\n", t.path)),
                TemplateStatus::InSync => {}
                TemplateStatus::Missing => out.push_str(&format!(
                    "{head}: template {} is missing\n  write it with: mermaid2aws compile {} -o {}\n",
                    t.path, d.file, parent(&t.path)
                )),
                TemplateStatus::Formatting => out.push_str(&format!(
                    "{head}: template {} differs only in formatting (same resources and properties)\n  compile output is deterministic; rewrite it with: mermaid2aws compile {} -o {}{}\n",
                    t.path, d.file, parent(&t.path), yaml_flag(&t.path)
                )),
                TemplateStatus::Stale => {
                    out.push_str(&format!("{head}: template {} is stale; the diagram now compiles to:\n", t.path));
                    out.push_str(&indent(&compare::render_text(&TemplateDiff { resources: t.changes.clone(), other: t.other.clone() })));
                    out.push_str(&format!("  update it with: mermaid2aws compile {} -o {}{}\n", d.file, parent(&t.path), yaml_flag(&t.path)));
                }
            }
        }
        if let Some(s) = &d.stack {
            match s.status {
                StackStatus::InSync if verbose => {
                    out.push_str(&format!("{head}: stack `{}` in sync\n", s.name))
                }
                StackStatus::InSync => {}
                StackStatus::Missing => out.push_str(&format!(
                    "{head}: stack `{}` does not exist\n  deploy it with: mermaid2aws deploy {} --stack-name {}\n",
                    s.name, d.file, s.name
                )),
                StackStatus::OutOfSync => {
                    out.push_str(&format!("{head}: stack `{}` runs another template; deploying the diagram would change:\n", s.name));
                    out.push_str(&indent(&compare::render_text(&TemplateDiff {
                        resources: s.changes.clone(),
                        other: s.other.clone(),
                    })));
                    out.push_str(&format!(
                        "  see the change set with: mermaid2aws diff {} --stack-name {}\n",
                        d.file, s.name
                    ));
                }
            }
            if let Some(drift) = &s.drift {
                if drift.resources.is_empty() {
                    if verbose {
                        out.push_str(&format!(
                            "{head}: stack `{}` has not drifted ({})\n",
                            s.name, drift.status
                        ));
                    }
                } else {
                    out.push_str(&format!(
                        "{head}: stack `{}` has drifted from its template:\n",
                        s.name
                    ));
                    for r in &drift.resources {
                        out.push_str(&format!(
                            "  element {}\n    {} {}  {}  {}\n",
                            r.element.as_deref().unwrap_or("(no element)"),
                            r.status,
                            r.logical_id,
                            r.resource_type,
                            r.source.as_deref().unwrap_or("-")
                        ));
                        for diff in &r.differences {
                            out.push_str(&format!("        {diff}\n"));
                        }
                    }
                }
            }
        }
    }
    let out_of_sync = report.diagrams.iter().filter(|d| !d.in_sync()).count();
    if out_of_sync > 0 {
        out.push_str(&format!(
            "out of sync: {out_of_sync} of {} diagram(s)\n",
            report.diagrams.len()
        ));
    } else if verbose {
        out.push_str(&format!("in sync: {} diagram(s)\n", report.diagrams.len()));
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn parent(path: &str) -> String {
    Path::new(path)
        .parent()
        .map(|p| p.display().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| ".".into())
}

fn yaml_flag(path: &str) -> &'static str {
    if path.ends_with(".json") { "" } else { " --format yaml" }
}
