//! The command line: clap types, input reading, output writing and diagnostic rendering.
//! The library stages below never print; this module owns the process's IO and exit codes.

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use miette::{GraphicalReportHandler, GraphicalTheme};
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::emit::Format;
use crate::extract;
use crate::ir::canonical::to_canonical_json;
use crate::lower::{LowerOptions, Network};
use crate::resolve::{DEFAULT_MAX_EDGES, ResolveOptions};
use crate::source::{SourceFile, Span};

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code for a user error: bad input, bad flags, a diagram that does not compile, a
/// deploy refused before anything changed.
pub const EXIT_USER_ERROR: u8 = 1;
/// Exit code for a deploy (or destroy) that CloudFormation rejected or that failed.
pub const EXIT_DEPLOY_FAILED: u8 = 2;
/// Exit code of `check` when a diagram, its committed template or its stack disagree.
pub const EXIT_OUT_OF_SYNC: u8 = 3;
/// Exit code after Ctrl-C while following a stack operation.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Compile the Mermaid architecture diagram in your README into CloudFormation.
#[derive(Debug, Parser)]
#[command(name = "mermaid2aws", version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the diagram IR as JSON, in the canonical schema of mermaid's own database.
    Parse {
        /// A `.mmd`/`.mermaid` diagram, a Markdown file with ```mermaid blocks, or `-` for stdin.
        input: PathBuf,
        /// Only the diagram with this number (1-based) or heading.
        #[arg(long)]
        diagram: Option<String>,
        #[command(flatten)]
        site: SiteArgs,
    },
    /// Compile diagrams to CloudFormation templates (JSON on stdout by default).
    Compile {
        /// A `.mmd`/`.mermaid` diagram, a Markdown file with ```mermaid blocks, or `-` for stdin.
        input: PathBuf,
        /// Write to this file, or one template per diagram to this directory (an existing
        /// one, or a path ending in `/`, made if missing).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Template format.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Only the diagram with this number (1-based) or heading.
        #[arg(long)]
        diagram: Option<String>,
        /// Dump an intermediate representation instead of the template.
        #[arg(long, value_enum)]
        emit: Option<Stage>,
        /// Network: a new VPC, or an existing VPC and subnets as parameters (overrides the diagram).
        #[arg(long, value_enum)]
        network: Option<NetworkArg>,
        #[command(flatten)]
        site: SiteArgs,
    },
    /// Explain every decision: element kinds and why, resources, network rules, IAM grants.
    Explain {
        /// A `.mmd`/`.mermaid` diagram, a Markdown file, or `-` for stdin.
        input: PathBuf,
        /// Only the diagram with this number (1-based) or heading.
        #[arg(long)]
        diagram: Option<String>,
        #[command(flatten)]
        site: SiteArgs,
    },
    /// Deploy a diagram: change set, table of changes, confirmation, then live progress.
    #[cfg(feature = "deploy")]
    Deploy {
        #[command(flatten)]
        target: DeployTarget,
        /// Deploy without asking for confirmation (needed without a terminal, as in CI).
        #[arg(long)]
        yes: bool,
        /// Leave failed resources in place instead of rolling back (to inspect them).
        #[arg(long)]
        keep_on_failure: bool,
        /// Allow replacing or removing resources that hold data (databases, buckets...).
        #[arg(long)]
        allow_data_loss: bool,
        /// Upload the template to this S3 bucket (needed above 51,200 bytes).
        #[arg(long, value_name = "BUCKET")]
        template_bucket: Option<String>,
    },
    /// Show what a deploy would change (a change set, shown then deleted), or what changes
    /// between two revisions of a diagram (`diff OLD NEW`, no AWS).
    Diff(DiffArgs),
    /// Check that diagrams compile and agree with their committed templates and deployed
    /// stacks. Exit 0 in sync, 1 user error (or a warning with --strict), 2 an AWS call
    /// failed, 3 out of sync.
    Check(CheckArgs),
    /// Delete a stack, saying first which resources its DeletionPolicy keeps.
    #[cfg(feature = "deploy")]
    Destroy {
        /// The CloudFormation stack.
        #[arg(long)]
        stack_name: String,
        /// Delete without asking for confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
}

/// `diff INPUT --stack-name NAME` or `diff OLD NEW`.
#[derive(Debug, clap::Args)]
struct DiffArgs {
    /// The diagram (with --stack-name), or the old revision (with NEW).
    input: PathBuf,
    /// The new revision of the diagram: compare the two without AWS.
    new: Option<PathBuf>,
    /// The diagram with this number (1-based) or heading (in both files with NEW).
    #[arg(long)]
    diagram: Option<String>,
    /// `text`: a table (with a stack) or the changes element by element; `mermaid`: the change
    /// drawn as the diagram; `markdown`: that drawing and a table of changes, for a PR comment.
    #[arg(long, value_enum, default_value = "text")]
    format: DiffFormat,
    #[command(flatten)]
    site: SiteArgs,
    /// The CloudFormation stack to compare with (a change set, shown then deleted).
    #[cfg(feature = "deploy")]
    #[arg(long)]
    stack_name: Option<String>,
    /// A stack parameter, `KEY=VALUE` (repeatable; wins over --parameters-file).
    #[cfg(feature = "deploy")]
    #[arg(long = "parameter", value_name = "KEY=VALUE", value_parser = crate::deploy::parse_parameter)]
    parameters: Vec<(String, String)>,
    /// A JSON file of parameters: `{"KEY": "VALUE"}` or the AWS CLI's ParameterKey/ParameterValue list.
    #[cfg(feature = "deploy")]
    #[arg(long)]
    parameters_file: Option<PathBuf>,
    /// Upload the template to this S3 bucket (needed above 51,200 bytes).
    #[cfg(feature = "deploy")]
    #[arg(long, value_name = "BUCKET")]
    template_bucket: Option<String>,
    #[cfg(feature = "deploy")]
    #[command(flatten)]
    connection: ConnectionArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DiffFormat {
    Text,
    Mermaid,
    Markdown,
}

/// `check PATH...`.
#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Files, or folders to walk for .md, .markdown, .mmd and .mermaid files (skipping
    /// target/, node_modules/ and hidden folders).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The folder of committed templates, named as `compile FILE -o DIR` names them.
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// Warnings fail the check (exit 1).
    #[arg(long)]
    strict: bool,
    /// Also say what is in sync.
    #[arg(long)]
    verbose: bool,
    /// `text` (only what is out of sync) or `json` (the whole report).
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    #[command(flatten)]
    site: SiteArgs,
    // The stack options exist in every build, so a build without AWS support says so
    // (`m2a::check::no_deploy`) instead of rejecting an unknown flag.
    /// The stack the one diagram checked is deployed as (compares GetTemplate).
    #[arg(long)]
    stack_name: Option<String>,
    /// A TOML file mapping diagrams to stacks: `[[stack]]` tables of `name`, `file`, `diagram`.
    #[arg(long, value_name = "FILE")]
    stacks: Option<PathBuf>,
    /// Also run CloudFormation drift detection on the stacks.
    #[arg(long)]
    drift: bool,
    #[cfg(feature = "deploy")]
    #[command(flatten)]
    connection: ConnectionArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

/// What to deploy, where.
#[cfg(feature = "deploy")]
#[derive(Debug, clap::Args)]
struct DeployTarget {
    /// A `.mmd`/`.mermaid` diagram, a Markdown file with ```mermaid blocks, or `-` for stdin.
    input: PathBuf,
    /// The CloudFormation stack.
    #[arg(long)]
    stack_name: String,
    /// The diagram with this number (1-based) or heading (needed when the file has several).
    #[arg(long)]
    diagram: Option<String>,
    /// A stack parameter, `KEY=VALUE` (repeatable; wins over --parameters-file).
    #[arg(long = "parameter", value_name = "KEY=VALUE", value_parser = crate::deploy::parse_parameter)]
    parameters: Vec<(String, String)>,
    /// A JSON file of parameters: `{"KEY": "VALUE"}` or the AWS CLI's ParameterKey/ParameterValue list.
    #[arg(long)]
    parameters_file: Option<PathBuf>,
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// Settings of the site that renders the diagrams, which a diagram cannot change: what the
/// site passes to mermaid's `initialize()`.
#[derive(Debug, Clone, Copy, clap::Args)]
struct SiteArgs {
    /// The most edges a flowchart may have: mermaid's `maxEdges` (a diagram's own
    /// `%%{init}%%` cannot raise it).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_EDGES)]
    max_edges: usize,
}

impl SiteArgs {
    fn options(self) -> ResolveOptions {
        ResolveOptions { max_edges: self.max_edges }
    }
}

/// Where AWS is: each flag wins over the environment (`AWS_REGION`, `AWS_PROFILE`,
/// `AWS_ENDPOINT_URL`) and the shared config files.
#[cfg(feature = "deploy")]
#[derive(Debug, clap::Args)]
struct ConnectionArgs {
    /// The AWS region.
    #[arg(long)]
    region: Option<String>,
    /// The profile of the shared config and credentials files.
    #[arg(long)]
    profile: Option<String>,
    /// Send every AWS call to this endpoint (a local test endpoint, for example).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
}

#[cfg(feature = "deploy")]
impl ConnectionArgs {
    /// The same connection as flags of the AWS CLI (for the commands we suggest).
    fn aws_cli_flags(&self) -> String {
        [
            ("--region", &self.region),
            ("--profile", &self.profile),
            ("--endpoint-url", &self.endpoint_url),
        ]
        .into_iter()
        .filter_map(|(flag, value)| value.as_ref().map(|v| format!(" {flag} {}", shell_quote(v))))
        .collect()
    }
}

/// This command line as the user could type it again (to resume after Ctrl-C).
#[cfg(feature = "deploy")]
fn invocation() -> String {
    let args = std::env::args_os().skip(1).map(|a| shell_quote(&a.to_string_lossy()));
    std::iter::once("mermaid2aws".to_string()).chain(args).collect::<Vec<_>>().join(" ")
}

/// A word for a POSIX shell: as it is when it holds only safe characters, else single-quoted.
#[cfg(feature = "deploy")]
fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// An intermediate representation `compile --emit` can dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Stage {
    /// The diagram IR (after resolve).
    Graph,
    /// The infra IR (after lower).
    Infra,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum NetworkArg {
    New,
    Existing,
}

/// Run the command line; returns the process exit code.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let args = match Args::try_parse_from(args) {
        Ok(args) => args,
        Err(err) => {
            let _ = write!(stderr, "{}", err.render().ansi());
            return if err.use_stderr() { EXIT_USER_ERROR } else { EXIT_OK };
        }
    };
    match args.command {
        Command::Parse { input, diagram, site } => {
            parse(&input, diagram.as_deref(), site.options(), stdout, stderr)
        }
        Command::Compile { input, output, format, diagram, emit, network, site } => {
            let network = network.map(|n| match n {
                NetworkArg::New => Network::New,
                NetworkArg::Existing => Network::Existing,
            });
            let options = LowerOptions { network };
            compile(
                &input,
                output.as_deref(),
                format,
                diagram.as_deref(),
                emit,
                site.options(),
                options,
                stdout,
                stderr,
            )
        }
        Command::Explain { input, diagram, site } => {
            explain(&input, diagram.as_deref(), site.options(), stdout, stderr)
        }
        #[cfg(feature = "deploy")]
        Command::Deploy { target, yes, keep_on_failure, allow_data_loss, template_bucket } => {
            let flags =
                DeployFlags { yes, keep_on_failure, allow_data_loss, template_bucket, drawn: None };
            deploy_command(DeployKind::Deploy, target, flags, stdout, stderr)
        }
        Command::Diff(args) => diff_command(args, stdout, stderr),
        Command::Check(args) => check_command(args, stdout, stderr),
        #[cfg(feature = "deploy")]
        Command::Destroy { stack_name, yes, connection } => {
            destroy_command(stack_name, yes, &connection, stdout, stderr)
        }
    }
}

#[cfg(feature = "deploy")]
#[derive(Debug, Default)]
struct DeployFlags {
    yes: bool,
    keep_on_failure: bool,
    allow_data_loss: bool,
    template_bucket: Option<String>,
    /// `diff --format mermaid|markdown`: the change set drawn instead of the table.
    drawn: Option<DiffFormat>,
}

#[cfg(feature = "deploy")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeployKind {
    Deploy,
    Diff,
}

#[cfg(feature = "deploy")]
impl ConnectionArgs {
    fn connection(&self) -> crate::deploy::Connection {
        crate::deploy::Connection {
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

/// Whether questions can be asked (stdin and stderr are a terminal) and progress drawn live.
#[cfg(feature = "deploy")]
fn terminal() -> (bool, bool) {
    let live = std::io::stderr().is_terminal();
    (live && std::io::stdin().is_terminal(), live)
}

/// `deploy` and `diff`: compile one diagram, then hand the template to `deploy`.
#[cfg(feature = "deploy")]
fn deploy_command(
    kind: DeployKind,
    target: DeployTarget,
    flags: DeployFlags,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let file = match read_input(&target.input) {
        Ok(file) => file,
        Err(failed) => {
            let (file, diagnostic) = *failed;
            report(&file, &[diagnostic], stderr);
            return EXIT_USER_ERROR;
        }
    };
    let mut parameters = Vec::new();
    if let Some(path) = &target.parameters_file {
        let read = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| crate::deploy::parse_parameters_file(&text));
        match read {
            Ok(found) => parameters.extend(found),
            Err(err) => {
                let diagnostic = Diagnostic::error(
                    "m2a::deploy::parameters_file",
                    format!("cannot read parameters from `{}`: {err}", path.display()),
                )
                .with_help(r#"write a JSON object like {"KEY": "VALUE"}"#);
                report(&file, &[diagnostic], stderr);
                return EXIT_USER_ERROR;
            }
        }
    }
    parameters.extend(target.parameters);
    let compiled = crate::compile_file_with(
        &file,
        target.diagram.as_deref(),
        target.site.options(),
        LowerOptions::default(),
        Format::Json,
    );
    let (compiled, warnings) = match compiled {
        Ok(done) => done,
        Err(diagnostics) => {
            report(&file, &diagnostics, stderr);
            return EXIT_USER_ERROR;
        }
    };
    report(&file, &warnings, stderr);
    let (template, diagram) = match compiled.as_slice() {
        [one] => (one.template.clone(), one.diagram.clone()),
        [] => {
            let diagnostic = Diagnostic::error(
                "m2a::deploy::no_diagram",
                format!("`{}` has no infrastructure diagram to deploy", file.name),
            )
            .with_help("a flowchart/graph or architecture-beta diagram is needed");
            report(&file, &[diagnostic], stderr);
            return EXIT_USER_ERROR;
        }
        many => {
            let names: Vec<String> = many
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{} `{}`", i + 1, c.diagram.name))
                .collect();
            let diagnostic = Diagnostic::error(
                "m2a::deploy::several_diagrams",
                format!("`{}` has {} diagrams; one stack is one diagram", file.name, many.len()),
            )
            .with_help(format!("pick one with --diagram N or NAME: {}", names.join(", ")));
            report(&file, &[diagnostic], stderr);
            return EXIT_USER_ERROR;
        }
    };
    let (interactive, live) = terminal();
    let options = crate::deploy::Options {
        stack_name: target.stack_name.clone(),
        parameters,
        yes: flags.yes,
        keep_on_failure: flags.keep_on_failure,
        allow_data_loss: flags.allow_data_loss,
        template_bucket: flags.template_bucket,
        interactive,
        live,
        command_line: invocation(),
        aws_flags: target.connection.aws_cli_flags(),
    };
    let connection = target.connection.connection();
    let outcome = match kind {
        DeployKind::Deploy => {
            crate::deploy::deploy(&file, &template, &options, &connection, stdout)
        }
        DeployKind::Diff => {
            let stack = target.stack_name.clone();
            let draw = |changes: &[crate::compare::ResourceChange],
                        before: &std::collections::BTreeSet<String>| {
                let input = crate::change_diagram::Input {
                    new: crate::change_diagram::Side { diagram: &diagram, file: &file },
                    old: None,
                    old_elements: before.clone(),
                    changes,
                };
                match flags.drawn {
                    Some(DiffFormat::Markdown) => crate::change_diagram::render_markdown(
                        &input,
                        &format!("mermaid2aws: changes to stack `{stack}`"),
                    ),
                    _ => crate::change_diagram::render_mermaid(&input),
                }
            };
            let view: Option<crate::deploy::ChangeView<'_>> =
                flags.drawn.is_some().then_some(&draw as crate::deploy::ChangeView<'_>);
            crate::deploy::diff(&file, &template, &options, &connection, stdout, view)
        }
    };
    report(&file, &outcome.diagnostics, stderr);
    outcome.code
}

/// `diff`: against a stack (a change set) or between two revisions of a diagram.
fn diff_command(args: DiffArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    #[cfg(feature = "deploy")]
    let stack_name = args.stack_name.clone();
    #[cfg(not(feature = "deploy"))]
    let stack_name: Option<String> = None;
    match (&args.new, stack_name) {
        (Some(new), None) => {
            #[cfg(feature = "deploy")]
            if !args.parameters.is_empty()
                || args.parameters_file.is_some()
                || args.template_bucket.is_some()
            {
                let diagnostic = Diagnostic::error(
                    "m2a::diff::arguments",
                    "parameters and --template-bucket only apply to a diff with a stack",
                )
                .with_help(
                    "drop them to compare two diagrams, or give --stack-name instead of NEW",
                );
                report(&SourceFile::new("diff", ""), &[diagnostic], stderr);
                return EXIT_USER_ERROR;
            }
            let diagram = args.diagram.as_deref();
            revision_diff(&args.input, new, diagram, args.site, args.format, stdout, stderr)
        }
        #[cfg(feature = "deploy")]
        (None, Some(stack_name)) => {
            let target = DeployTarget {
                input: args.input,
                stack_name,
                diagram: args.diagram,
                parameters: args.parameters,
                parameters_file: args.parameters_file,
                site: args.site,
                connection: args.connection,
            };
            let drawn = (args.format != DiffFormat::Text).then_some(args.format);
            let flags = DeployFlags {
                template_bucket: args.template_bucket,
                drawn,
                ..DeployFlags::default()
            };
            deploy_command(DeployKind::Diff, target, flags, stdout, stderr)
        }
        (new, _) => {
            let message = if new.is_some() {
                "give either --stack-name or a NEW diagram, not both"
            } else {
                "diff needs something to compare the diagram with"
            };
            let diagnostic = Diagnostic::error("m2a::diff::arguments", message).with_help(
                "`diff INPUT --stack-name NAME` shows what a deploy would change; `diff OLD NEW` what changes between two revisions of a diagram",
            );
            report(&SourceFile::new("diff", ""), &[diagnostic], stderr);
            EXIT_USER_ERROR
        }
    }
}

/// The one diagram of `path` (or the one `diagram` names), compiled; `Err` with the exit code
/// after reporting why not.
fn one_compiled(
    path: &PathBuf,
    diagram: Option<&str>,
    site: SiteArgs,
    stderr: &mut dyn Write,
) -> Result<(SourceFile, crate::Compiled), u8> {
    let Some(file) = load(path, stderr) else { return Err(EXIT_USER_ERROR) };
    let compiled = crate::compile_file_with(
        &file,
        diagram,
        site.options(),
        LowerOptions::default(),
        Format::Json,
    );
    let (mut compiled, warnings) = match compiled {
        Ok(done) => done,
        Err(diagnostics) => {
            report(&file, &diagnostics, stderr);
            return Err(EXIT_USER_ERROR);
        }
    };
    report(&file, &warnings, stderr);
    if compiled.len() == 1 {
        let one = compiled.remove(0);
        return Ok((file, one));
    }
    let names: Vec<String> = compiled
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} `{}`", i + 1, c.diagram.name))
        .collect();
    let diagnostic = Diagnostic::error(
        "m2a::diff::diagram_count",
        format!(
            "`{}` has {} infrastructure diagrams; diff compares one",
            file.name,
            compiled.len()
        ),
    )
    .with_help(if names.is_empty() {
        "a flowchart/graph or architecture-beta diagram is needed".to_string()
    } else {
        format!("pick one with --diagram N or NAME: {}", names.join(", "))
    });
    report(&file, &[diagnostic], stderr);
    Err(EXIT_USER_ERROR)
}

/// Every infrastructure diagram of `path`, compiled; with `may_have_none`, a file without
/// one (a README that had no diagram yet) is an empty list. `Err` with the exit code after
/// reporting why not.
fn all_compiled(
    path: &PathBuf,
    may_have_none: bool,
    site: SiteArgs,
    stderr: &mut dyn Write,
) -> Result<(SourceFile, Vec<crate::Compiled>), u8> {
    let Some(file) = load(path, stderr) else { return Err(EXIT_USER_ERROR) };
    match crate::compile_file_with(
        &file,
        None,
        site.options(),
        LowerOptions::default(),
        Format::Json,
    ) {
        Ok((compiled, warnings)) => {
            report(&file, &warnings, stderr);
            Ok((file, compiled))
        }
        Err(diagnostics)
            if may_have_none
                && diagnostics.iter().all(|d| {
                    matches!(d.code, "m2a::extract::no_diagram" | "m2a::extract::empty")
                        || d.severity != miette::Severity::Error
                }) =>
        {
            Ok((file, Vec::new()))
        }
        Err(diagnostics) => {
            report(&file, &diagnostics, stderr);
            Err(EXIT_USER_ERROR)
        }
    }
}

/// One diagram in both revisions (or only in one of them: added or removed whole).
struct RevisionPair<'a> {
    name: &'a str,
    old: Option<&'a crate::Compiled>,
    new: Option<&'a crate::Compiled>,
}

/// Pair the diagrams of two revisions: one each, whatever their names; else by name (the
/// nearest heading), in the new file's order, then the diagrams only the old file has.
fn pair_revisions<'a>(
    old: &'a [crate::Compiled],
    new: &'a [crate::Compiled],
) -> Vec<RevisionPair<'a>> {
    if old.len() <= 1 && new.len() == 1 {
        return vec![RevisionPair {
            name: &new[0].diagram.name,
            old: old.first(),
            new: new.first(),
        }];
    }
    let mut pairs: Vec<RevisionPair<'a>> = new
        .iter()
        .map(|n| RevisionPair {
            name: &n.diagram.name,
            old: old.iter().find(|o| o.diagram.name == n.diagram.name),
            new: Some(n),
        })
        .collect();
    for o in old {
        if !new.iter().any(|n| n.diagram.name == o.diagram.name) {
            pairs.push(RevisionPair { name: &o.diagram.name, old: Some(o), new: None });
        }
    }
    pairs
}

/// `diff OLD NEW`: the diagrams of both revisions compiled and paired, their templates
/// compared resource by resource.
fn revision_diff(
    old_path: &PathBuf,
    new_path: &PathBuf,
    diagram: Option<&str>,
    site: SiteArgs,
    format: DiffFormat,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let ((old_file, old), (new_file, new)) = if diagram.is_some() {
        let old = match one_compiled(old_path, diagram, site, stderr) {
            Ok((file, one)) => (file, vec![one]),
            Err(code) => return code,
        };
        let new = match one_compiled(new_path, diagram, site, stderr) {
            Ok((file, one)) => (file, vec![one]),
            Err(code) => return code,
        };
        (old, new)
    } else {
        let old = match all_compiled(old_path, true, site, stderr) {
            Ok(done) => done,
            Err(code) => return code,
        };
        let new = match all_compiled(new_path, false, site, stderr) {
            Ok(done) => done,
            Err(code) => return code,
        };
        (old, new)
    };
    let pairs = pair_revisions(&old, &new);
    if pairs.len() > 1 && format == DiffFormat::Mermaid {
        let names: Vec<String> = pairs.iter().map(|p| format!("`{}`", p.name)).collect();
        let diagnostic = Diagnostic::error(
            "m2a::diff::diagram_count",
            format!("{} diagrams to compare; one Mermaid drawing shows one", pairs.len()),
        )
        .with_help(format!(
            "pick one with --diagram N or NAME ({}), or use --format markdown for all",
            names.join(", ")
        ));
        report(&new_file, &[diagnostic], stderr);
        return EXIT_USER_ERROR;
    }
    let several = pairs.len() > 1;
    let mut text = String::new();
    for (i, pair) in pairs.iter().enumerate() {
        if several && format == DiffFormat::Text {
            text.push_str(&format!("{}diagram `{}`:\n", if i == 0 { "" } else { "\n" }, pair.name));
        }
        text.push_str(&render_revision_pair(pair, &old_file, &new_file, format, several));
    }
    if stdout.write_all(text.as_bytes()).is_err() {
        return EXIT_USER_ERROR;
    }
    EXIT_OK
}

/// One pair of `diff OLD NEW`, in the requested format.
fn render_revision_pair(
    pair: &RevisionPair<'_>,
    old_file: &SourceFile,
    new_file: &SourceFile,
    format: DiffFormat,
    several: bool,
) -> String {
    let parse = |c: Option<&crate::Compiled>| {
        c.and_then(|c| crate::compare::parse_template(&c.template).ok()).unwrap_or_default()
    };
    let (old_template, new_template) = (parse(pair.old), parse(pair.new));
    let diff = crate::compare::compare_revisions(
        &old_template,
        &old_file.name,
        &new_template,
        &new_file.name,
    );
    let old_elements = old_template["Resources"]
        .as_object()
        .map(|r| {
            r.values()
                .filter_map(|r| r["Metadata"]["Mermaid2Aws"]["Element"].as_str())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let old_side =
        pair.old.map(|o| crate::change_diagram::Side { diagram: &o.diagram, file: old_file });
    // A diagram removed whole is drawn against an empty one: every element removed.
    let emptied = pair.old.map(|o| crate::ir::graph::Diagram {
        elements: Vec::new(),
        groups: Vec::new(),
        edges: Vec::new(),
        ..o.diagram.clone()
    });
    let new_side = match (pair.new, &emptied) {
        (Some(n), _) => crate::change_diagram::Side { diagram: &n.diagram, file: new_file },
        (None, Some(empty)) => crate::change_diagram::Side { diagram: empty, file: new_file },
        (None, None) => return String::new(),
    };
    let input = crate::change_diagram::Input {
        new: new_side,
        old: old_side,
        old_elements,
        changes: &diff.resources,
    };
    let what = match (pair.old, pair.new) {
        (None, _) => " (a new diagram)",
        (_, None) => " (a removed diagram)",
        _ => "",
    };
    match format {
        DiffFormat::Text if diff.is_empty() => format!(
            "no changes: `{}` and `{}` make the same resources\n",
            old_file.name, new_file.name
        ),
        DiffFormat::Text => format!(
            "{}{}",
            if what.is_empty() {
                String::new()
            } else {
                format!("{}\n", what.trim().trim_matches(['(', ')']))
            },
            crate::compare::render_text(&diff)
        ),
        DiffFormat::Mermaid => crate::change_diagram::render_mermaid(&input),
        DiffFormat::Markdown => {
            let title = if several {
                format!(
                    "mermaid2aws: `{}`{what}: changes from `{}` to `{}`",
                    pair.name, old_file.name, new_file.name
                )
            } else {
                format!("mermaid2aws: changes from `{}` to `{}`", old_file.name, new_file.name)
            };
            crate::change_diagram::render_markdown(&input, &title)
        }
    }
}

/// `check`: run it, render the diagnostics and the report.
fn check_command(args: CheckArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    let request = crate::check::Request {
        paths: args.paths,
        resolve: args.site.options(),
        templates: args.templates,
        strict: args.strict,
        stack_name: args.stack_name,
        stacks_file: args.stacks,
        drift: args.drift,
        #[cfg(feature = "deploy")]
        connection: args.connection.connection(),
    };
    let outcome = crate::check::run(&request);
    for (file, diagnostics) in &outcome.diagnostics {
        report(file, diagnostics, stderr);
    }
    let Some(found) = &outcome.report else { return outcome.code };
    let text = match args.format {
        ReportFormat::Json => pretty(found),
        ReportFormat::Text => crate::check::render_text(found, args.verbose),
    };
    if stdout.write_all(text.as_bytes()).is_err() {
        return EXIT_USER_ERROR;
    }
    outcome.code
}

#[cfg(feature = "deploy")]
fn destroy_command(
    stack_name: String,
    yes: bool,
    connection: &ConnectionArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let (interactive, live) = terminal();
    let options = crate::deploy::Options {
        command_line: invocation(),
        aws_flags: connection.aws_cli_flags(),
        stack_name,
        yes,
        interactive,
        live,
        ..crate::deploy::Options::default()
    };
    let outcome = crate::deploy::destroy(&options, &connection.connection(), stdout);
    let file = SourceFile::new(format!("stack {}", options.stack_name), "");
    report(&file, &outcome.diagnostics, stderr);
    outcome.code
}

fn parse(
    input: &PathBuf,
    diagram: Option<&str>,
    site: ResolveOptions,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let Some(file) = load(input, stderr) else { return EXIT_USER_ERROR };
    let parsed = match crate::parse_file_with(&file, diagram, site) {
        Ok(parsed) => parsed,
        Err(diagnostics) => {
            report(&file, &diagnostics, stderr);
            return EXIT_USER_ERROR;
        }
    };
    report(&file, &parsed.warnings, stderr);
    let json = if extract::is_markdown(&file) {
        Value::Array(
            parsed
                .diagrams
                .iter()
                .map(|d| {
                    let mut v = to_canonical_json(d);
                    if let Value::Object(map) = &mut v {
                        map.insert("diagram".into(), Value::String(d.name.clone()));
                        map.insert("source".into(), Value::String(file.location(d.span)));
                    }
                    v
                })
                .collect(),
        )
    } else {
        parsed.diagrams.first().map_or(Value::Null, to_canonical_json)
    };
    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
    if writeln!(stdout, "{text}").is_err() {
        return EXIT_USER_ERROR;
    }
    EXIT_OK
}

/// Read the input, or report why it cannot be read.
fn load(input: &PathBuf, stderr: &mut dyn Write) -> Option<SourceFile> {
    match read_input(input) {
        Ok(file) => Some(file),
        Err(failed) => {
            let (file, diagnostic) = *failed;
            report(&file, &[diagnostic], stderr);
            None
        }
    }
}

/// Read a file or stdin as UTF-8. On failure returns what to report against.
pub fn read_input(path: &PathBuf) -> Result<SourceFile, Box<(SourceFile, Diagnostic)>> {
    let name = path.display().to_string();
    let bytes = if name == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    let bytes = bytes.map_err(|err| {
        // Reading a folder fails with an OS message that does not say what to do instead.
        let help = if path.is_dir() {
            "give one file (`.mmd`, `.mermaid` or Markdown); `mermaid2aws check` walks a folder"
        } else {
            "check the path and that the file is readable"
        };
        let diagnostic = Diagnostic::error("m2a::io::read", format!("cannot read `{name}`: {err}"))
            .with_help(help);
        Box::new((SourceFile::new(name.clone(), ""), diagnostic))
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(name, text)),
        Err(err) => {
            let at = err.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(err.as_bytes()).into_owned();
            let file = SourceFile::new(name, lossy);
            let diagnostic = Diagnostic::error("m2a::io::not_utf8", "the input is not valid UTF-8")
                .with_label(Span::new(at, at + 1), "this byte is not UTF-8")
                .with_help("save the file as UTF-8");
            Err(Box::new((file, diagnostic)))
        }
    }
}

/// Render diagnostics with miette (colours only on a terminal), one after the other.
pub fn report(file: &SourceFile, diagnostics: &[Diagnostic], stderr: &mut dyn Write) {
    let theme = if std::io::stderr().is_terminal() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_context_lines(crate::diagnostic::CONTEXT_LINES);
    for diagnostic in diagnostics {
        let rendered = diagnostic.with_source(file);
        let mut out = String::new();
        if handler.render_report(&mut out, &rendered).is_err() {
            out = format!("error: {}\n", diagnostic.message);
        }
        // The location first, on its own line, so editors and CI logs can jump to it.
        let location = diagnostic.span().map(|s| file.location(s)).unwrap_or(file.name.clone());
        let _ = writeln!(stderr, "{location}: {}", severity_word(diagnostic));
        let _ = write!(stderr, "{out}");
    }
}

fn severity_word(diagnostic: &Diagnostic) -> &'static str {
    match diagnostic.severity {
        miette::Severity::Error => "error",
        miette::Severity::Warning => "warning",
        miette::Severity::Advice => "note",
    }
}

#[allow(clippy::too_many_arguments)]
fn compile(
    input: &PathBuf,
    output: Option<&Path>,
    format: Format,
    diagram: Option<&str>,
    emit: Option<Stage>,
    site: ResolveOptions,
    options: LowerOptions,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let Some(file) = load(input, stderr) else { return EXIT_USER_ERROR };
    let compiled = crate::compile_file_with(&file, diagram, site, options, format);
    let (compiled, warnings) = match compiled {
        Ok(done) => done,
        Err(diagnostics) => {
            report(&file, &diagnostics, stderr);
            return EXIT_USER_ERROR;
        }
    };
    report(&file, &warnings, stderr);
    let mut texts: Vec<(String, String)> = compiled
        .iter()
        .map(|c| {
            let text = match emit {
                Some(Stage::Graph) => pretty(&c.diagram),
                Some(Stage::Infra) => pretty(&c.stack),
                None => c.template.clone(),
            };
            (c.diagram.name.clone(), text)
        })
        .collect();
    // Several IR dumps on stdout form one JSON array, so the output stays one document.
    if emit.is_some() && output.is_none() && compiled.len() > 1 {
        let all: Vec<serde_json::Value> = compiled
            .iter()
            .map(|c| match emit {
                Some(Stage::Graph) => serde_json::to_value(&c.diagram),
                _ => serde_json::to_value(&c.stack),
            })
            .filter_map(Result::ok)
            .collect();
        texts = vec![(String::new(), pretty(&all))];
    }
    let ext = match (emit, format) {
        (Some(_), _) | (None, Format::Json) => "json",
        (None, Format::Yaml) => "yaml",
    };
    let result = match output {
        None => {
            let mut all = String::new();
            for (i, (_, text)) in texts.iter().enumerate() {
                if i > 0 {
                    all.push_str(if ext == "yaml" { "---\n" } else { "\n" });
                }
                all.push_str(text);
            }
            stdout.write_all(all.as_bytes()).map_err(|e| e.to_string())
        }
        Some(path) if path.is_dir() || names_a_directory(path) => write_dir(path, &texts, ext),
        Some(path) if texts.len() == 1 => write_atomic(path, &texts[0].1),
        Some(path) => Err(format!(
            "{} diagrams compiled; `-o {}` is not a directory. Give a directory (one template per diagram; end the path with `/` to make it) or pick one diagram with --diagram",
            texts.len(),
            path.display()
        )),
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(message) => {
            let diagnostic =
                Diagnostic::error("m2a::io::write", message).with_help("check the output path");
            report(&file, &[diagnostic], stderr);
            EXIT_USER_ERROR
        }
    }
}

fn pretty(value: &impl serde::Serialize) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

/// The file names `compile -o DIR` gives the diagrams of one input file, in order: the
/// diagram's name (its heading, else the file stem) normalised, `-2`, `-3`... on a clash.
/// `check --templates DIR` looks for committed templates under the same names.
pub(crate) fn template_file_stems<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut used = std::collections::BTreeSet::new();
    let mut stems = Vec::new();
    for name in names {
        let mut slug: String = crate::catalog::normalize(name).replace([' ', '/'], "-");
        if slug.is_empty() {
            slug = "diagram".into();
        }
        let mut candidate = slug.clone();
        let mut n = 2;
        while !used.insert(candidate.clone()) {
            candidate = format!("{slug}-{n}");
            n += 1;
        }
        stems.push(candidate);
    }
    stems
}

/// Whether a path is written as a directory: `out/`, as a shell completes one.
fn names_a_directory(path: &Path) -> bool {
    path.as_os_str().to_string_lossy().ends_with(std::path::is_separator)
}

/// One file per diagram, named after its heading; all written or none. The directory is
/// made if missing (and removed again if nothing could be written into it).
fn write_dir(dir: &Path, texts: &[(String, String)], ext: &str) -> Result<(), String> {
    let made = !dir.exists();
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make `{}`: {e}", dir.display()))?;
    let written = write_into_dir(dir, texts, ext);
    if written.is_err() && made {
        let _ = std::fs::remove_dir(dir);
    }
    written
}

fn write_into_dir(dir: &Path, texts: &[(String, String)], ext: &str) -> Result<(), String> {
    let stems = template_file_stems(texts.iter().map(|(name, _)| name.as_str()));
    let planned: Vec<(PathBuf, &String)> = stems
        .iter()
        .zip(texts)
        .map(|(stem, (_, text))| (dir.join(format!("{stem}.{ext}")), text))
        .collect();
    // Renaming onto a folder is what fails once every file is staged: refuse that before
    // anything is replaced, so the folder never holds new templates beside old ones.
    if let Some((path, _)) = planned.iter().find(|(path, _)| path.is_dir()) {
        return Err(format!("cannot write `{}`: it is a folder", path.display()));
    }
    // Stage every file first, then rename: a failure leaves no template behind.
    let mut staged = Vec::new();
    for (path, text) in &planned {
        match stage(path, text) {
            Ok(tmp) => staged.push((tmp, path.clone())),
            Err(e) => {
                for (tmp, _) in staged {
                    let _ = std::fs::remove_file(tmp);
                }
                return Err(e);
            }
        }
    }
    let mut staged = staged.into_iter();
    while let Some((tmp, path)) = staged.next() {
        if let Err(e) = std::fs::rename(&tmp, &path) {
            // No staged file is left behind, this one or those not yet renamed.
            let _ = std::fs::remove_file(&tmp);
            for (rest, _) in staged {
                let _ = std::fs::remove_file(rest);
            }
            return Err(format!("cannot write `{}`: {e}", path.display()));
        }
    }
    Ok(())
}

fn stage(path: &Path, text: &str) -> Result<PathBuf, String> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    Ok(tmp)
}

fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let tmp = stage(path, text)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write `{}`: {e}", path.display())
    })
}

fn explain(
    input: &PathBuf,
    diagram: Option<&str>,
    site: ResolveOptions,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let Some(file) = load(input, stderr) else { return EXIT_USER_ERROR };
    // No template is rendered: explain shows every decision even where no template can be
    // made (nothing names an AWS element, or CloudFormation's limits are exceeded).
    let lowered = crate::lower_file_with(&file, diagram, site, LowerOptions::default());
    let (lowered, warnings) = match lowered {
        Ok(done) => done,
        Err(diagnostics) => {
            report(&file, &diagnostics, stderr);
            return EXIT_USER_ERROR;
        }
    };
    report(&file, &warnings, stderr);
    let mut out = String::new();
    for one in &lowered {
        out.push_str(&crate::explain::render(&one.diagram, &one.stack));
    }
    if stdout.write_all(out.as_bytes()).is_err() {
        return EXIT_USER_ERROR;
    }
    EXIT_OK
}
