//! Deploy stage: template -> change set -> stack, and `diff` and `destroy`.
//!
//! Invariant: this is the only module that uses tokio and the AWS SDK; it makes its own
//! runtime. The logic is generic over [`api::Cloud`], so every decision (change-set
//! classification, data safety, event following, failure mapping) is tested with an in-memory
//! fake; `aws.rs` is the real client.
//!
//! Exit codes: 0 done (or nothing to change), 1 the request was refused before anything
//! changed (bad parameters, no confirmation, data loss, template too big, busy stack without
//! a terminal), 2 CloudFormation rejected or failed the operation, 130 interrupted.

mod api;
mod aws;
mod changes;
mod drift;
mod follow;
mod progress;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::io::Write;
use std::time::Duration;

use api::{
    ChangeSet, ChangeSetRequest, ChangeSetType, Cloud, Event, Param, StackInfo, TemplateSource,
};
pub use aws::Connection;
use changes::{Action, Row, TemplateInfo};
pub use drift::{Drift, DriftedResource, StackState, inspect_stacks};
use follow::{Backoff, Followed};

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

/// Exit code: done, or nothing to change.
pub const EXIT_OK: u8 = 0;
/// Exit code: refused before anything changed.
pub const EXIT_REFUSED: u8 = 1;
/// Exit code: CloudFormation rejected or failed the operation.
pub const EXIT_FAILED: u8 = 2;
/// Exit code: the outcome is unknown: following stopped because the stack's events could not
/// be read any more (the operation goes on in CloudFormation).
pub const EXIT_UNKNOWN: u8 = 4;
/// Exit code: interrupted with Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

/// CloudFormation's limit for a template sent inline.
pub const MAX_INLINE_TEMPLATE: usize = 51_200;

/// What the user asked for (`diff` ignores the confirmation and safety flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub stack_name: String,
    /// `--parameter K=V` and `--parameters-file`, the flags last (they win).
    pub parameters: Vec<(String, String)>,
    pub yes: bool,
    pub keep_on_failure: bool,
    pub allow_data_loss: bool,
    pub template_bucket: Option<String>,
    /// Stdin and stderr are a terminal: questions can be asked.
    pub interactive: bool,
    /// Stderr is a terminal: show live progress instead of plain lines.
    pub live: bool,
    /// The command to run again to resume (shown after Ctrl-C).
    pub command_line: String,
    /// The connection flags for the AWS CLI commands we suggest (` --region R`...).
    pub aws_flags: String,
}

/// How a command ended: its exit code and the diagnostics to render (against the input file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub code: u8,
    pub diagnostics: Vec<Diagnostic>,
}

impl Outcome {
    fn ok() -> Outcome {
        Outcome { code: EXIT_OK, diagnostics: Vec::new() }
    }

    fn refused(diagnostic: Diagnostic) -> Outcome {
        Outcome { code: EXIT_REFUSED, diagnostics: vec![diagnostic] }
    }

    fn failed(diagnostic: Diagnostic) -> Outcome {
        Outcome { code: EXIT_FAILED, diagnostics: vec![diagnostic] }
    }
}

/// Parse `KEY=VALUE`.
pub fn parse_parameter(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// Read a parameters file: a JSON object `{"Key": "value"}`, or the AWS CLI's list
/// `[{"ParameterKey": "Key", "ParameterValue": "value"}]`.
pub fn parse_parameters_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match &value {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| scalar(v).map(|v| (k.clone(), v)).ok_or(format!("`{k}` is not a string")))
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|item| {
                let key = item["ParameterKey"].as_str();
                let val = scalar(&item["ParameterValue"]);
                match (key, val) {
                    (Some(k), Some(v)) => Ok((k.to_string(), v)),
                    _ => Err("every item needs ParameterKey and ParameterValue".to_string()),
                }
            })
            .collect(),
        _ => {
            Err("expected an object of KEY: value, or a list of ParameterKey/ParameterValue".into())
        }
    }
}

/// `deploy`: change set, table, safety check, confirmation, execution followed to the end.
pub fn deploy(
    file: &SourceFile,
    template: &str,
    options: &Options,
    connection: &Connection,
    out: &mut dyn Write,
) -> Outcome {
    // Without a terminal and without --yes, deploy still looks (the stack's state, the change
    // table) and refuses where it would have asked.
    if let Some(refused) = check_request(template, options) {
        return refused;
    }
    run(connection, options, out, Job::Deploy { file, template })
}

/// Draws a change set another way than the table: given the changes and the elements the
/// deployed template has resources for, the text to print (a Mermaid diagram, say).
pub type ChangeView<'a> =
    &'a dyn Fn(&[crate::compare::ResourceChange], &std::collections::BTreeSet<String>) -> String;

/// `diff`: the change table of what `deploy` would do (or `view`'s drawing of it); the change
/// set is deleted after.
pub fn diff(
    file: &SourceFile,
    template: &str,
    options: &Options,
    connection: &Connection,
    out: &mut dyn Write,
    view: Option<ChangeView<'_>>,
) -> Outcome {
    if let Some(refused) = check_request(template, options) {
        return refused;
    }
    run(connection, options, out, Job::Diff { file, template, view })
}

/// `destroy`: says what DeletionPolicy keeps, then deletes the stack and follows it.
pub fn destroy(options: &Options, connection: &Connection, out: &mut dyn Write) -> Outcome {
    if !options.yes && !options.interactive {
        return Outcome::refused(no_confirmation("destroy"));
    }
    run(connection, options, out, Job::Destroy)
}

/// Checks that need no API call: they refuse before anything is sent.
fn check_request(template: &str, options: &Options) -> Option<Outcome> {
    if template.len() > MAX_INLINE_TEMPLATE && options.template_bucket.is_none() {
        return Some(Outcome::refused(
            Diagnostic::error(
                "m2a::deploy::template_too_big",
                format!(
                    "the template is {} bytes; CloudFormation takes at most {MAX_INLINE_TEMPLATE} bytes inline",
                    template.len()
                ),
            )
            .with_help("pass --template-bucket BUCKET: the template is uploaded there and deployed from S3"),
        ));
    }
    let info = TemplateInfo::parse(template);
    for (key, _) in &options.parameters {
        if !info.parameters.contains_key(key) {
            let known: Vec<&str> = info.parameters.keys().map(String::as_str).collect();
            return Some(Outcome::refused(
                Diagnostic::error(
                    "m2a::deploy::unknown_parameter",
                    format!("the template has no parameter `{key}`"),
                )
                .with_help(if known.is_empty() {
                    "this template takes no parameters".to_string()
                } else {
                    format!("its parameters are: {}", known.join(", "))
                }),
            ));
        }
    }
    None
}

fn no_confirmation(command: &str) -> Diagnostic {
    Diagnostic::error(
        "m2a::deploy::no_confirmation",
        format!("refusing to {command} without confirmation: no terminal to ask on"),
    )
    .with_help(format!(
        "pass --yes to {command} without asking (as in CI){}",
        if command == "deploy" {
            ", or run `mermaid2aws diff` to see the changes first"
        } else {
            ""
        }
    ))
}

/// What is going on, for Ctrl-C to clean up or explain.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Nothing sent that changes anything.
    Idle,
    /// A change set exists (and, for a new stack, the stack waiting for it).
    ChangeSet { id: String, new_stack: Option<String> },
    /// A stack operation is running.
    Following { operation: &'static str },
}

/// Everything a command needs besides the cloud.
struct Ctx<'a> {
    options: &'a Options,
    out: &'a mut dyn Write,
    phase: &'a RefCell<Phase>,
    backoff: Backoff,
    /// Tests answer questions here instead of a terminal.
    answers: Option<Vec<bool>>,
}

impl Ctx<'_> {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }

    /// Ask a yes/no question on the terminal; without one the answer is no.
    async fn confirm(&mut self, question: &str) -> bool {
        if let Some(answers) = &mut self.answers {
            return if answers.is_empty() { false } else { answers.remove(0) };
        }
        if !self.options.interactive {
            return false;
        }
        let question = question.to_string();
        let answer = tokio::task::spawn_blocking(move || {
            eprint!("{question} [y/N] ");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line).unwrap_or_default()
        })
        .await
        .unwrap_or_default();
        matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
    }

    fn set_phase(&self, phase: Phase) {
        *self.phase.borrow_mut() = phase;
    }
}

/// The command to run.
enum Job<'a> {
    Deploy { file: &'a SourceFile, template: &'a str },
    Diff { file: &'a SourceFile, template: &'a str, view: Option<ChangeView<'a>> },
    Destroy,
}

/// Make the runtime and the client, run the job, and handle Ctrl-C.
fn run(connection: &Connection, options: &Options, out: &mut dyn Write, job: Job<'_>) -> Outcome {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => return Outcome::failed(Diagnostic::bug(format!("no async runtime: {err}"))),
    };
    let outcome = runtime.block_on(async {
        let cloud = match aws::connect(connection).await {
            Ok(cloud) => cloud,
            Err(err) => {
                return Outcome::refused(
                    Diagnostic::error("m2a::deploy::config", err.message).with_help(err.help),
                );
            }
        };
        let phase = RefCell::new(Phase::Idle);
        let finished = {
            let mut ctx = Ctx {
                options,
                out: &mut *out,
                phase: &phase,
                backoff: Backoff::DEFAULT,
                answers: None,
            };
            let command = async {
                match job {
                    Job::Deploy { file, template } => {
                        run_deploy(&cloud, &mut ctx, file, template).await
                    }
                    Job::Diff { file, template, view } => {
                        run_diff(&cloud, &mut ctx, file, template, view).await
                    }
                    Job::Destroy => run_destroy(&cloud, &mut ctx).await,
                }
            };
            tokio::select! {
                outcome = command => Some(outcome),
                () = interrupt() => None,
            }
        };
        match finished {
            Some(outcome) => outcome,
            None => interrupted(&cloud, &phase.into_inner(), options, out).await,
        }
    });
    // A question may still wait on stdin in a blocking thread: do not wait for it.
    runtime.shutdown_background();
    outcome
}

/// Resolves on Ctrl-C; never, when the signal cannot be watched.
async fn interrupt() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn interrupted(
    cloud: &impl Cloud,
    phase: &Phase,
    options: &Options,
    out: &mut dyn Write,
) -> Outcome {
    let name = &options.stack_name;
    let text = match phase {
        Phase::Idle => "interrupted: nothing was changed".to_string(),
        Phase::ChangeSet { id, new_stack } => {
            let _ = cloud.delete_change_set(id).await;
            if let Some(stack) = new_stack {
                let _ = cloud.delete_stack(stack).await;
            }
            "interrupted: the change set was deleted; nothing was changed".to_string()
        }
        Phase::Following { operation } => format!(
            "interrupted: stopped following; the {operation} of stack `{name}` goes on in CloudFormation (it was not cancelled)\n\
             watch it with: aws cloudformation describe-stack-events --stack-name {name}{}\n\
             or run again:  {} (it waits for the stack to be ready)",
            options.aws_flags, options.command_line
        ),
    };
    let _ = writeln!(out, "{text}");
    Outcome { code: EXIT_INTERRUPTED, diagnostics: Vec::new() }
}

fn api_failure(err: &api::ApiError) -> Outcome {
    Outcome::failed(
        Diagnostic::error("m2a::deploy::api", err.to_string())
            .with_help("check the region, credentials and endpoint; the SDK already retried throttling and server errors"),
    )
}

/// The events could not be read before starting an operation: it is not started, since
/// following it would not know which events are its own.
fn not_started(err: &api::ApiError, what: &str) -> Outcome {
    Outcome::failed(
        Diagnostic::error("m2a::deploy::api", format!("could not read the stack's events: {err}"))
            .with_help(format!("nothing was changed: {what}; the SDK already retried throttling and server errors, try again")),
    )
}

fn is_busy(status: &str) -> bool {
    status.ends_with("_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS"
}

/// Read the stack; while it has an operation in progress, wait on a terminal, or refuse.
async fn settled_stack(
    cloud: &impl Cloud,
    ctx: &mut Ctx<'_>,
) -> Result<Option<StackInfo>, Outcome> {
    let name = ctx.options.stack_name.clone();
    let mut interval = ctx.backoff.first;
    let mut told = false;
    loop {
        let stack = cloud.describe_stack(&name).await.map_err(|e| api_failure(&e))?;
        match stack {
            Some(s) if is_busy(&s.status) => {
                if !ctx.options.interactive {
                    return Err(Outcome::refused(
                        Diagnostic::error(
                            "m2a::deploy::busy",
                            format!("stack `{name}` has an operation in progress ({})", s.status),
                        )
                        .with_help(format!(
                            "run again when it has finished; watch it with `aws cloudformation describe-stack-events --stack-name {name}`"
                        )),
                    ));
                }
                if !told {
                    ctx.say(&format!(
                        "stack `{name}` has an operation in progress ({}): waiting for it to finish (Ctrl-C stops waiting)",
                        s.status
                    ));
                    told = true;
                }
                tokio::time::sleep(interval).await;
                interval = (interval * 2).min(Duration::from_secs(5)).max(ctx.backoff.steady);
            }
            other => return Ok(other),
        }
    }
}

/// The parameters to send: the user's; for an update, the deployed value of every template
/// parameter without a default that the user did not give (one with a default gets its
/// default). A parameter with no value anywhere is refused here.
fn stack_parameters(
    info: &TemplateInfo,
    given: &[(String, String)],
    deployed: Option<&StackInfo>,
) -> Result<Vec<Param>, Outcome> {
    let mut params = Vec::new();
    let mut missing = Vec::new();
    for (key, has_default) in &info.parameters {
        if let Some((_, value)) = given.iter().rev().find(|(k, _)| k == key) {
            params.push(Param { key: key.clone(), value: Some(value.clone()) });
        } else if *has_default {
            // The template's default applies (as on every deploy of this diagram).
        } else if deployed.is_some_and(|s| s.parameter_keys.contains(key)) {
            params.push(Param { key: key.clone(), value: None });
        } else {
            missing.push(key.as_str());
        }
    }
    if missing.is_empty() {
        return Ok(params);
    }
    Err(Outcome::refused(
        Diagnostic::error(
            "m2a::deploy::missing_parameter",
            format!(
                "the template needs {} and it has no default: {}",
                if missing.len() == 1 { "this parameter" } else { "these parameters" },
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            ),
        )
        .with_help(format!("pass --parameter {}=VALUE (or a --parameters-file)", missing[0])),
    ))
}

/// CloudFormation's ways of saying that there is nothing to change.
fn says_no_changes(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    reason.contains("didn't contain changes")
        || reason.contains("no updates are to be performed")
        || reason.contains("no changes")
}

fn is_no_changes(cs: &ChangeSet) -> bool {
    match cs.status.as_str() {
        "FAILED" => {
            let reason = cs.status_reason.as_deref().unwrap_or_default();
            cs.changes.is_empty() && (reason.trim().is_empty() || says_no_changes(reason))
        }
        _ => cs.changes.is_empty(),
    }
}

/// Upload the template when it is too big to send inline.
async fn template_source(
    cloud: &impl Cloud,
    options: &Options,
    template: &str,
) -> Result<TemplateSource, Outcome> {
    if template.len() <= MAX_INLINE_TEMPLATE {
        return Ok(TemplateSource::Body(template.to_string()));
    }
    let Some(bucket) = &options.template_bucket else {
        return Err(check_request(template, options).unwrap_or_else(Outcome::ok));
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let key = format!("mermaid2aws/{}/{stamp}.json", options.stack_name);
    cloud.put_template(bucket, &key, template).await.map_err(|e| api_failure(&e))?;
    Ok(TemplateSource::Url(format!("https://{bucket}.s3.amazonaws.com/{key}")))
}

/// A change set made, waited for and read; the caller deletes or executes it.
struct Made {
    id: String,
    /// The change set's name, unique to this run.
    name: String,
    stack_id: String,
    change_set_type: ChangeSetType,
    change_set: ChangeSet,
}

async fn make_change_set(
    cloud: &impl Cloud,
    ctx: &mut Ctx<'_>,
    template: &str,
    stack: Option<&StackInfo>,
) -> Result<Made, Outcome> {
    let info = TemplateInfo::parse(template);
    let parameters = stack_parameters(&info, &ctx.options.parameters, stack)?;
    let source = template_source(cloud, ctx.options, template).await?;
    let change_set_type = match stack {
        Some(s) if s.status != "REVIEW_IN_PROGRESS" => ChangeSetType::Update,
        _ => ChangeSetType::Create,
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let request = ChangeSetRequest {
        stack_name: ctx.options.stack_name.clone(),
        // Unique per run (two runs in the same second differ by process id); also the
        // request's client token.
        change_set_name: format!("mermaid2aws-{stamp}-{}", std::process::id()),
        change_set_type,
        template: source,
        parameters,
        keep_on_failure: ctx.options.keep_on_failure,
    };
    let ids = match cloud.create_change_set(&request).await {
        Ok(ids) => ids,
        // Some endpoints refuse an identical update outright instead of an empty change set.
        // The caller says so (`Err` of exit 0 is "no changes").
        Err(err) if says_no_changes(&err.message) => return Err(Outcome::ok()),
        Err(err) => return Err(api_failure(&err)),
    };
    // A CREATE change set makes the stack (REVIEW_IN_PROGRESS); it goes if the change set does.
    let new_stack =
        (change_set_type == ChangeSetType::Create && stack.is_none()).then(|| ids.stack_id.clone());
    ctx.set_phase(Phase::ChangeSet { id: ids.change_set_id.clone(), new_stack });
    let mut interval = ctx.backoff.first;
    loop {
        let change_set = match cloud.describe_change_set(&ids.change_set_id).await {
            Ok(cs) => cs,
            Err(err) => {
                discard(cloud, ctx).await;
                return Err(api_failure(&err));
            }
        };
        if !matches!(change_set.status.as_str(), "CREATE_PENDING" | "CREATE_IN_PROGRESS") {
            return Ok(Made {
                id: ids.change_set_id,
                name: request.change_set_name,
                stack_id: ids.stack_id,
                change_set_type,
                change_set,
            });
        }
        tokio::time::sleep(interval).await;
        interval = ctx.backoff.after_answer(interval);
    }
}

/// Delete the change set (and the stack a CREATE change set made), best effort.
async fn discard(cloud: &impl Cloud, ctx: &mut Ctx<'_>) {
    let phase = ctx.phase.replace(Phase::Idle);
    if let Phase::ChangeSet { id, new_stack } = phase {
        if let Err(err) = cloud.delete_change_set(&id).await {
            ctx.say(&format!("warning: could not delete change set {id}: {err}"));
        }
        if let Some(stack) = new_stack
            && let Err(err) = cloud.delete_stack(&stack).await
        {
            ctx.say(&format!("warning: could not delete the empty stack {stack}: {err}"));
        }
    }
}

/// The deployed template, for the metadata of removed resources; empty when unreadable.
async fn deployed_template(cloud: &impl Cloud, ctx: &mut Ctx<'_>, stack_id: &str) -> TemplateInfo {
    match cloud.get_template(stack_id).await {
        Ok(text) => TemplateInfo::parse(&text),
        Err(err) => {
            ctx.say(&format!("warning: could not read the deployed template ({err}); removed resources show no diagram element"));
            TemplateInfo::default()
        }
    }
}

/// One diagnostic per resource whose data the change would lose.
fn data_loss_diagnostics(file: &SourceFile, rows: &[&Row]) -> Vec<Diagnostic> {
    rows.iter()
        .map(|row| {
            let verb = if row.action == Action::Remove { "remove" } else { "replace" };
            let element = row.meta.element.as_deref().unwrap_or("?");
            let source = row.meta.source.as_deref().unwrap_or("unknown source");
            let span = row.meta.source.as_deref().and_then(|s| changes::span_of(file, s));
            let mut d = Diagnostic::error(
                "m2a::deploy::data_loss",
                format!(
                    "deploying would {verb} `{}` ({}), which holds data: element `{element}` at {source}",
                    row.logical_id, row.resource_type
                ),
            )
            .with_help("its data would be lost; pass --allow-data-loss if that is intended, or change the diagram back");
            if let Some(span) = span {
                d = d.with_label(span, format!("`{element}` would be {verb}d"));
            }
            d
        })
        .collect()
}

/// Root cause first: the first failed resource (not a cancellation, when there is another),
/// on the diagram element that caused it; then the other failures; then the stack's status.
fn failure_diagnostics(
    file: &SourceFile,
    new: &TemplateInfo,
    deployed: &TemplateInfo,
    stack_name: &str,
    status: &str,
    reason: Option<&str>,
    events: &[Event],
) -> Vec<Diagnostic> {
    let failed: Vec<&Event> = events
        .iter()
        .filter(|e| {
            e.status.ends_with("_FAILED") && e.resource_type != "AWS::CloudFormation::Stack"
        })
        .collect();
    let cancelled = |e: &Event| {
        e.reason.as_deref().unwrap_or_default().to_ascii_lowercase().contains("cancelled")
    };
    let root = failed.iter().position(|e| !cancelled(e)).or(if failed.is_empty() {
        None
    } else {
        Some(0)
    });
    let mut order: Vec<&Event> = Vec::new();
    if let Some(root) = root {
        order.push(failed[root]);
        order.extend(failed.iter().enumerate().filter(|(i, _)| *i != root).map(|(_, e)| *e));
    }
    let mut out = Vec::new();
    for (i, event) in order.iter().enumerate() {
        let meta = new
            .resources
            .get(&event.logical_id)
            .or_else(|| deployed.resources.get(&event.logical_id));
        let element = meta.and_then(|m| m.element.as_deref());
        let source = meta.and_then(|m| m.source.as_deref());
        let span = source.and_then(|s| changes::span_of(file, s));
        let reason = event.reason.as_deref().unwrap_or("no reason given");
        let mut message =
            format!("`{}` ({}) {}: {reason}", event.logical_id, event.resource_type, event.status);
        if let (Some(source), None) = (source, span) {
            message.push_str(&format!(" (element `{}` at {source})", element.unwrap_or("?")));
        }
        let code = if i == 0 { "m2a::deploy::resource_failed" } else { "m2a::deploy::also_failed" };
        let mut d = Diagnostic::error(code, message);
        if let Some(span) = span {
            let label = match (element, source) {
                (Some(e), Some(s)) => format!("`{e}` ({s}) made `{}`", event.logical_id),
                _ => format!("made `{}`", event.logical_id),
            };
            d = d.with_label(span, label);
        }
        if i == 0 {
            d = d.with_help(if order.len() > 1 {
                "this is the first failure; the ones after it may only follow from it"
            } else {
                "fix the diagram (or the parameters) and deploy again"
            });
        }
        out.push(d);
    }
    let mut summary = format!("stack `{stack_name}` ended in {status}");
    if let Some(reason) = reason.filter(|r| !r.is_empty()) {
        summary.push_str(&format!(": {reason}"));
    }
    let help = if status == "ROLLBACK_COMPLETE" {
        "a stack in ROLLBACK_COMPLETE cannot be updated: the next deploy offers to delete and recreate it"
    } else {
        "see `aws cloudformation describe-stack-events` for every event"
    };
    out.push(Diagnostic::error("m2a::deploy::failed", summary).with_help(help));
    out
}

async fn run_deploy(
    cloud: &impl Cloud,
    ctx: &mut Ctx<'_>,
    file: &SourceFile,
    template: &str,
) -> Outcome {
    let name = ctx.options.stack_name.clone();
    let mut stack = match settled_stack(cloud, ctx).await {
        Ok(stack) => stack,
        Err(outcome) => return outcome,
    };
    if let Some(s) = stack.as_ref().filter(|s| s.status == "ROLLBACK_COMPLETE") {
        ctx.say(&format!(
            "stack `{name}` is in ROLLBACK_COMPLETE: its creation failed and it cannot be updated"
        ));
        let recreate = if ctx.options.yes {
            ctx.say("deleting it to create it again (--yes)");
            true
        } else {
            ctx.confirm(&format!("delete stack `{name}` and create it again?")).await
        };
        if !recreate {
            return Outcome::refused(
                Diagnostic::error("m2a::deploy::rollback_complete", format!("stack `{name}` is in ROLLBACK_COMPLETE"))
                    .with_help(format!("delete it (`mermaid2aws destroy --stack-name {name}`) and deploy again, or pass --yes to do both")),
            );
        }
        let id = s.id.clone();
        match delete_and_follow(cloud, ctx, &id, None).await {
            Ok(()) => stack = None,
            Err(outcome) => return outcome,
        }
    }
    let made = match make_change_set(cloud, ctx, template, stack.as_ref()).await {
        Ok(made) => made,
        Err(outcome) if outcome == Outcome::ok() => {
            ctx.say(&format!("no changes: stack `{name}` already matches the diagram"));
            return outcome;
        }
        Err(outcome) => return outcome,
    };
    if is_no_changes(&made.change_set) {
        ctx.say(&format!("no changes: stack `{name}` already matches the diagram"));
        discard(cloud, ctx).await;
        return Outcome::ok();
    }
    if made.change_set.status == "FAILED" {
        let reason = made.change_set.status_reason.clone().unwrap_or_default();
        discard(cloud, ctx).await;
        return Outcome::failed(
            Diagnostic::error(
                "m2a::deploy::change_set_failed",
                format!("CloudFormation rejected the change set: {reason}"),
            )
            .with_help("nothing was changed; the change set was deleted"),
        );
    }
    let new = TemplateInfo::parse(template);
    let deployed = if made.change_set_type == ChangeSetType::Update {
        deployed_template(cloud, ctx, &made.stack_id).await
    } else {
        TemplateInfo::default()
    };
    let rows = changes::classify(&made.change_set.changes, &new, &deployed);
    ctx.say(&format!("changes to stack `{name}`:"));
    ctx.say(changes::render_table(&rows).trim_end());
    let losing: Vec<&Row> = rows.iter().filter(|r| r.loses_data()).collect();
    if !losing.is_empty() {
        if ctx.options.allow_data_loss {
            ctx.say(&format!("warning: {} resource(s) holding data will be replaced or removed (--allow-data-loss)", losing.len()));
        } else {
            let mut diagnostics = data_loss_diagnostics(file, &losing);
            discard(cloud, ctx).await;
            diagnostics.push(
                Diagnostic::error(
                    "m2a::deploy::refused",
                    format!(
                        "refusing to deploy: {} resource(s) would lose their data",
                        losing.len()
                    ),
                )
                .with_help("nothing was changed; the change set was deleted"),
            );
            return Outcome { code: EXIT_REFUSED, diagnostics };
        }
    }
    if !ctx.options.yes && !ctx.confirm(&format!("deploy these changes to stack `{name}`?")).await {
        discard(cloud, ctx).await;
        if !ctx.options.interactive {
            return Outcome::refused(no_confirmation("deploy"));
        }
        return Outcome::refused(
            Diagnostic::error(
                "m2a::deploy::cancelled",
                "not deployed: the changes were not confirmed",
            )
            .with_help("nothing was changed; the change set was deleted"),
        );
    }
    let seen = match follow::newest_event_id(cloud, &made.stack_id).await {
        Ok(seen) => seen,
        Err(err) => {
            discard(cloud, ctx).await;
            return not_started(&err, "the change set was not executed and was deleted");
        }
    };
    let disable_rollback =
        ctx.options.keep_on_failure && made.change_set_type == ChangeSetType::Update;
    // The change set's name is unique to this run: as the client request token, it makes a
    // retried call whose first attempt went through succeed instead of failing.
    if let Err(err) = cloud.execute_change_set(&made.id, &made.name, disable_rollback).await {
        discard(cloud, ctx).await;
        return api_failure(&err);
    }
    let (operation, success) = if made.change_set_type == ChangeSetType::Create {
        ("creation", "CREATE_COMPLETE")
    } else {
        ("update", "UPDATE_COMPLETE")
    };
    ctx.set_phase(Phase::Following { operation });
    let followed = {
        let mut watch = progress::watcher(ctx.options.live, &mut *ctx.out, &new, &deployed);
        follow::follow(cloud, &made.stack_id, &name, seen, ctx.backoff, watch.as_mut()).await
    };
    ctx.set_phase(Phase::Idle);
    finish(ctx, file, &new, &deployed, success, followed)
}

fn finish(
    ctx: &mut Ctx<'_>,
    file: &SourceFile,
    new: &TemplateInfo,
    deployed: &TemplateInfo,
    success: &str,
    followed: Followed,
) -> Outcome {
    let name = ctx.options.stack_name.clone();
    match followed {
        Followed::Done { status, .. } if status == success => {
            ctx.say(&format!("stack `{name}`: {status}"));
            Outcome::ok()
        }
        Followed::Done { status, reason, events } => Outcome {
            code: EXIT_FAILED,
            diagnostics: failure_diagnostics(file, new, deployed, &name, &status, reason.as_deref(), &events),
        },
        Followed::LostContact { last_error, .. } => Outcome {
            code: EXIT_UNKNOWN,
            diagnostics: vec![
                Diagnostic::error("m2a::deploy::lost_contact", format!("stopped following stack `{name}`: its events cannot be read ({last_error})"))
                    .with_help(format!("the outcome is unknown (the operation goes on); watch it with `aws cloudformation describe-stack-events --stack-name {name}{}`", ctx.options.aws_flags)),
            ],
        },
    }
}

/// Delete a stack and follow it until DELETE_COMPLETE (`Err` with the outcome otherwise).
async fn delete_and_follow(
    cloud: &impl Cloud,
    ctx: &mut Ctx<'_>,
    stack_id: &str,
    deployed: Option<&TemplateInfo>,
) -> Result<(), Outcome> {
    let name = ctx.options.stack_name.clone();
    let seen = follow::newest_event_id(cloud, stack_id)
        .await
        .map_err(|e| not_started(&e, "the stack was not deleted"))?;
    cloud.delete_stack(stack_id).await.map_err(|e| api_failure(&e))?;
    ctx.set_phase(Phase::Following { operation: "deletion" });
    let empty = TemplateInfo::default();
    let info = deployed.unwrap_or(&empty);
    let followed = {
        let mut watch = progress::watcher(ctx.options.live, &mut *ctx.out, info, &empty);
        follow::follow(cloud, stack_id, &name, seen, ctx.backoff, watch.as_mut()).await
    };
    ctx.set_phase(Phase::Idle);
    let outcome =
        finish(ctx, &SourceFile::new(name.as_str(), ""), info, &empty, "DELETE_COMPLETE", followed);
    if outcome.code == EXIT_OK { Ok(()) } else { Err(outcome) }
}

async fn run_diff(
    cloud: &impl Cloud,
    ctx: &mut Ctx<'_>,
    file: &SourceFile,
    template: &str,
    view: Option<ChangeView<'_>>,
) -> Outcome {
    let name = ctx.options.stack_name.clone();
    let new = TemplateInfo::parse(template);
    let stack = match cloud.describe_stack(&name).await {
        Ok(stack) => stack,
        Err(err) => return api_failure(&err),
    };
    let elements = |info: &TemplateInfo| -> std::collections::BTreeSet<String> {
        info.resources.values().filter_map(|m| m.element.clone()).collect()
    };
    let (rows, before) = match &stack {
        Some(s) if s.status != "REVIEW_IN_PROGRESS" && s.status != "ROLLBACK_COMPLETE" => {
            let made = match make_change_set(cloud, ctx, template, stack.as_ref()).await {
                Ok(made) => Some(made),
                Err(outcome) if outcome == Outcome::ok() => None,
                Err(outcome) => return outcome,
            };
            match made {
                Some(made)
                    if made.change_set.status == "FAILED" && !is_no_changes(&made.change_set) =>
                {
                    let reason = made.change_set.status_reason.clone().unwrap_or_default();
                    discard(cloud, ctx).await;
                    return Outcome::failed(Diagnostic::error(
                        "m2a::deploy::change_set_failed",
                        format!("CloudFormation rejected the change set: {reason}"),
                    ));
                }
                Some(made) if !is_no_changes(&made.change_set) => {
                    let deployed = deployed_template(cloud, ctx, &made.stack_id).await;
                    discard(cloud, ctx).await;
                    (
                        changes::classify(&made.change_set.changes, &new, &deployed),
                        elements(&deployed),
                    )
                }
                nothing => {
                    if nothing.is_some() {
                        discard(cloud, ctx).await;
                    }
                    if view.is_none() {
                        ctx.say(&format!("no changes: stack `{name}` already matches the diagram"));
                        return Outcome::ok();
                    }
                    // Nothing to draw but the diagram as it stands.
                    (Vec::new(), elements(&new))
                }
            }
        }
        other => {
            let why = match other {
                Some(s) => format!("is in {} (a deploy creates it anew)", s.status),
                None => "does not exist".to_string(),
            };
            if view.is_none() {
                ctx.say(&format!("stack `{name}` {why}: every resource would be added"));
            }
            (changes::all_added(&new), std::collections::BTreeSet::new())
        }
    };
    match view {
        Some(view) => {
            let drawn = view(&rows.iter().map(Row::to_change).collect::<Vec<_>>(), &before);
            let _ = write!(ctx.out, "{drawn}");
        }
        None => {
            ctx.say(&format!("changes to stack `{name}`:"));
            ctx.say(changes::render_table(&rows).trim_end());
        }
    }
    let losing: Vec<&Row> = rows.iter().filter(|r| r.loses_data()).collect();
    let mut diagnostics = data_loss_diagnostics(file, &losing);
    for d in &mut diagnostics {
        d.severity = miette::Severity::Warning;
        d.help = Some("deploy refuses this without --allow-data-loss".into());
    }
    Outcome { code: EXIT_OK, diagnostics }
}

async fn run_destroy(cloud: &impl Cloud, ctx: &mut Ctx<'_>) -> Outcome {
    let name = ctx.options.stack_name.clone();
    let stack = match settled_stack(cloud, ctx).await {
        Ok(Some(stack)) => stack,
        Ok(None) => {
            return Outcome::refused(
                Diagnostic::error(
                    "m2a::deploy::no_stack",
                    format!("stack `{name}` does not exist"),
                )
                .with_help("check --stack-name and the region"),
            );
        }
        Err(outcome) => return outcome,
    };
    let deployed = deployed_template(cloud, ctx, &stack.id).await;
    let kept: Vec<(&String, &changes::ResourceMeta)> = deployed
        .resources
        .iter()
        .filter(|(_, m)| {
            matches!(
                m.deletion_policy.as_deref(),
                Some("Retain" | "RetainExceptOnCreate" | "Snapshot")
            )
        })
        .collect();
    ctx.say(&format!(
        "stack `{name}` ({}): {} resource(s) in its template",
        stack.status,
        deployed.resources.len()
    ));
    let volumes: Vec<(&String, &changes::ResourceMeta)> =
        deployed.resources.iter().filter(|(_, m)| m.keeps_volumes).collect();
    if kept.is_empty() && volumes.is_empty() {
        ctx.say("no resource is kept by a DeletionPolicy: everything is deleted");
    } else if !kept.is_empty() {
        ctx.say("kept by their DeletionPolicy (they stay, and cost, after the stack is gone):");
        for (id, meta) in &kept {
            let policy = meta.deletion_policy.as_deref().unwrap_or_default();
            let what = if policy == "Snapshot" {
                "Snapshot: deleted after a final snapshot"
            } else {
                policy
            };
            ctx.say(&format!(
                "  {id}  {}  {what}  {} {}",
                meta.resource_type,
                meta.element.as_deref().unwrap_or("-"),
                meta.source.as_deref().unwrap_or("-")
            ));
        }
    }
    if !volumes.is_empty() {
        ctx.say(
            "kept after their instance is deleted (DeleteOnTermination: false), with the data:",
        );
        for (id, meta) in &volumes {
            ctx.say(&format!(
                "  EBS volumes of {id}  {} {}",
                meta.element.as_deref().unwrap_or("-"),
                meta.source.as_deref().unwrap_or("-")
            ));
        }
    }
    if !ctx.options.yes && !ctx.confirm(&format!("delete stack `{name}`?")).await {
        return Outcome::refused(
            Diagnostic::error("m2a::deploy::cancelled", "not deleted: not confirmed")
                .with_help("nothing was changed"),
        );
    }
    match delete_and_follow(cloud, ctx, &stack.id, Some(&deployed)).await {
        Ok(()) => Outcome::ok(),
        Err(outcome) => outcome,
    }
}
