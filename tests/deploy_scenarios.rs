//! `mermaid2aws deploy` as users run it (no terminal), with the real SDK client talking to the
//! scripted CloudFormation endpoint: what moto cannot play. Each scenario asserts what the user
//! sees and the exit code, and the calls the endpoint received.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::scripted_cfn::{
    Change, Fault, Replacement, Request, RequestLog, Scenario, ScriptedCfn, ScriptedEvent,
    aws_client_env, ev, stack_ev,
};

const STACK: &str = "shop";
const CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c";
/// A run that takes longer than this is stuck: it is killed and the test fails.
const DEADLINE: Duration = Duration::from_secs(180);

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    log: Vec<Request>,
}

impl Run {
    /// Both streams, for what may be said on either.
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    fn explain(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- calls\n{:?}",
            self.code,
            self.stdout,
            self.stderr,
            self.log.iter().map(|r| (r.action.as_str(), r.status)).collect::<Vec<_>>()
        )
    }

    fn calls(&self, action: &str) -> usize {
        self.log.count(action)
    }
}

/// Run `mermaid2aws ARGS` against `cfn`, with no terminal and only the endpoint's address.
fn run(cfn: &ScriptedCfn, args: &[&str]) -> Run {
    let mut child = aws_client_env(&mut Command::new(env!("CARGO_BIN_EXE_mermaid2aws")), &cfn.url)
        .args(args)
        .current_dir(support::repo_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mermaid2aws");
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.and_then(|s| s.code()),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        log: cfn.requests(),
    };
    assert!(status.is_some(), "still running after {DEADLINE:?}, killed:\n{}", run.explain());
    let unknown: Vec<&Request> = run.log.iter().filter(|r| r.action.is_empty()).collect();
    assert!(unknown.is_empty(), "requests without an action: {unknown:?}");
    run
}

fn deploy(cfn: &ScriptedCfn, diagram: &str, cert: &str, extra: &[&str]) -> Run {
    let mut args = vec!["deploy", diagram, "--stack-name", STACK, "--parameter", cert];
    args.extend_from_slice(extra);
    run(cfn, &args)
}

fn seed_iaas(cfn: &ScriptedCfn, extra: &[&str]) -> Run {
    deploy(cfn, "diagrams/seed-iaas.mmd", &format!("ELBCertificateArn={CERT}"), extra)
}

fn three_tier(cfn: &ScriptedCfn, extra: &[&str]) -> Run {
    deploy(cfn, "diagrams/three-tier.mmd", &format!("ALBCertificateArn={CERT}"), extra)
}

/// The template `mermaid2aws compile` makes of a diagram of the repository, as JSON text.
fn template_of(diagram: &str) -> String {
    let text = std::fs::read_to_string(support::repo_dir().join(diagram)).expect("read diagram");
    let templates = support::compile_text(diagram, &text);
    assert_eq!(templates.len(), 1, "{diagram} has one diagram");
    serde_json::to_string(&templates[0]).expect("JSON")
}

/// The `Source` (`file:line:col`) of a logical id in a compiled diagram.
fn source_of(diagram: &str, logical_id: &str) -> String {
    let template: serde_json::Value = serde_json::from_str(&template_of(diagram)).expect("JSON");
    let source = &template["Resources"][logical_id]["Metadata"]["Mermaid2Aws"]["Source"];
    source.as_str().unwrap_or_else(|| panic!("{logical_id} has no Source")).to_string()
}

/// Whether `line` holds `word` not as part of a longer identifier.
fn has_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric()) && !after.is_some_and(|c| c.is_alphanumeric())
    })
}

/// A status as CloudFormation spells it, or in words (`CREATE_COMPLETE`, `create complete`).
fn has_status(line: &str, status: &str) -> bool {
    line.contains(status)
        || line
            .to_lowercase()
            .replace(['_', '-'], " ")
            .contains(&status.to_lowercase().replace('_', " "))
}

/// The (logical id, status) progress lines of `text` among `expected`, in order of appearance.
fn progress(text: &str, expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    for line in text.lines() {
        // At most one pair per line (an expected list may hold a pair twice).
        if let Some((id, status)) =
            expected.iter().find(|(id, status)| has_word(line, id) && has_status(line, status))
        {
            seen.push((id.to_string(), status.to_string()));
        }
    }
    seen
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// Per-resource lines are printed on one of the two streams; return the one that has them.
fn progress_anywhere(run: &Run, expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let out = progress(&run.stdout, expected);
    if out.is_empty() { progress(&run.stderr, expected) } else { out }
}

const VPC: &str = "AWS::EC2::VPC";
const BUCKET: &str = "AWS::S3::Bucket";

fn create_events() -> Vec<ScriptedEvent> {
    vec![
        ev(200, "Vpc", VPC, "CREATE_IN_PROGRESS"),
        ev(300, "Vpc", VPC, "CREATE_IN_PROGRESS").reason("Resource creation Initiated"),
        ev(600, "Vpc", VPC, "CREATE_COMPLETE"),
        ev(700, "S3Bucket", BUCKET, "CREATE_IN_PROGRESS"),
        ev(1100, "S3Bucket", BUCKET, "CREATE_COMPLETE"),
    ]
}

const CREATE_PROGRESS: [(&str, &str); 5] = [
    ("Vpc", "CREATE_IN_PROGRESS"),
    ("Vpc", "CREATE_IN_PROGRESS"),
    ("Vpc", "CREATE_COMPLETE"),
    ("S3Bucket", "CREATE_IN_PROGRESS"),
    ("S3Bucket", "CREATE_COMPLETE"),
];

/// The calls made after `action` was first called.
fn after<'a>(log: &'a [Request], action: &str) -> &'a [Request] {
    let i = log.iter().position(|r| r.action == action).unwrap_or(log.len());
    &log[(i + 1).min(log.len())..]
}

// -- a. events over time ----------------------------------------------------------------------

#[test]
fn events_arriving_over_time_are_printed_in_order_and_the_deploy_ends_with_the_stack() {
    let cfn = ScriptedCfn::start(Scenario::create_succeeds(create_events()));
    let run = seed_iaas(&cfn, &["--yes"]);
    assert_eq!(run.code, Some(0), "{}", run.explain());
    assert_eq!(run.calls("ExecuteChangeSet"), 1, "{}", run.explain());
    assert_eq!(
        progress_anywhere(&run, &CREATE_PROGRESS),
        pairs(&CREATE_PROGRESS),
        "one line per resource event, in order:\n{}",
        run.explain()
    );
    assert!(run.all().contains("CREATE_COMPLETE") || has_status(&run.all(), "CREATE_COMPLETE"));
    // Prompt exit: the terminal stack event was served, and at most one more poll followed.
    let after_terminal = run.log.calls_after_terminal_event("DescribeStackEvents");
    assert!(
        after_terminal.is_some(),
        "the stack's terminal event was never read:\n{}",
        run.explain()
    );
    assert!(
        after_terminal <= Some(1),
        "{after_terminal:?} DescribeStackEvents calls after the terminal event:\n{}",
        run.explain()
    );
    let polls_after = run.log.calls_after_terminal_event("DescribeStacks");
    assert!(
        polls_after <= Some(1),
        "{polls_after:?} DescribeStacks after the end:\n{}",
        run.explain()
    );
}

// -- b. a failed resource and its rollback ----------------------------------------------------

const ROOT_CAUSE: &str = "The image id '[ami-0b5eea76982371e91]' does not exist (Service: Ec2, Status Code: 400, Request ID: 5c4e7a3b-1d2f-4a8e-9b6c-3f2e1d0c9b8a)";

fn failure_events() -> Vec<ScriptedEvent> {
    let ec2 = "AWS::EC2::Instance";
    vec![
        stack_ev(0, "CREATE_IN_PROGRESS").reason("User Initiated"),
        ev(100, "Vpc", VPC, "CREATE_IN_PROGRESS"),
        ev(300, "Vpc", VPC, "CREATE_COMPLETE"),
        ev(400, "SQLInstance", ec2, "CREATE_IN_PROGRESS"),
        ev(450, "S3Bucket", BUCKET, "CREATE_IN_PROGRESS"),
        ev(700, "SQLInstance", ec2, "CREATE_FAILED").reason(ROOT_CAUSE),
        ev(750, "S3Bucket", BUCKET, "CREATE_FAILED").reason("Resource creation cancelled"),
        stack_ev(800, "ROLLBACK_IN_PROGRESS").reason(
            "The following resource(s) failed to create: [S3Bucket, SQLInstance]. Rollback requested by user.",
        ),
        ev(900, "S3Bucket", BUCKET, "DELETE_IN_PROGRESS"),
        ev(1000, "SQLInstance", ec2, "DELETE_COMPLETE"),
        ev(1000, "S3Bucket", BUCKET, "DELETE_COMPLETE"),
        ev(1100, "Vpc", VPC, "DELETE_IN_PROGRESS"),
        ev(1300, "Vpc", VPC, "DELETE_COMPLETE"),
        stack_ev(1500, "ROLLBACK_COMPLETE"),
    ]
}

#[test]
fn a_failed_resource_is_reported_first_on_its_diagram_line_and_the_deploy_exits_2() {
    let location = source_of("diagrams/seed-iaas.mmd", "SQLInstance");
    assert_eq!(location, "diagrams/seed-iaas.mmd:30:5");
    let cfn = ScriptedCfn::start(Scenario::default().on_execute(failure_events()));
    let run = seed_iaas(&cfn, &["--yes"]);
    assert_eq!(run.code, Some(2), "a failed deploy exits 2:\n{}", run.explain());
    let stderr = &run.stderr;
    let reason_at = stderr.find(ROOT_CAUSE);
    assert!(reason_at.is_some(), "the root cause's reason is on stderr:\n{}", run.explain());
    let location_at = stderr.find(&location);
    assert!(
        location_at.is_some(),
        "the diagnostic points at the diagram element {location}:\n{}",
        run.explain()
    );
    // Root cause first: before the cancelled sibling and the stack's own summary.
    for later in ["Resource creation cancelled", "The following resource(s) failed to create"] {
        if let Some(i) = stderr.find(later) {
            assert!(reason_at < Some(i), "{ROOT_CAUSE:?} comes before {later:?}:\n{stderr}");
        }
    }
    // The first diagram location the diagnostics name after the reason is the failed element's.
    let from_reason = &stderr[reason_at.expect("reason")..];
    let first_location = from_reason
        .match_indices("diagrams/seed-iaas.mmd:")
        .next()
        .map(|(i, _)| &from_reason[i..])
        .unwrap_or_default();
    assert!(
        first_location.starts_with(&location),
        "the reason is rendered on {location}:\n{stderr}"
    );
    assert!(
        run.log.calls_after_terminal_event("DescribeStackEvents").is_some(),
        "{}",
        run.explain()
    );
    assert!(
        run.log.calls_after_terminal_event("DescribeStackEvents") <= Some(1),
        "{}",
        run.explain()
    );
}

// -- c. replacing a database ------------------------------------------------------------------

fn replace_db_scenario() -> Scenario {
    let rds = "AWS::RDS::DBInstance";
    Scenario::default()
        .existing_stack(STACK, "CREATE_COMPLETE", &template_of("diagrams/three-tier.mmd"))
        .changes(vec![
            Change::modify("DBDatabase", rds, Replacement::True).property("Engine"),
            Change::modify("AppLaunchTemplate", "AWS::EC2::LaunchTemplate", Replacement::False)
                .property("LaunchTemplateData"),
        ])
        .on_execute(vec![
            stack_ev(0, "UPDATE_IN_PROGRESS").reason("User Initiated"),
            ev(200, "AppLaunchTemplate", "AWS::EC2::LaunchTemplate", "UPDATE_IN_PROGRESS"),
            ev(400, "AppLaunchTemplate", "AWS::EC2::LaunchTemplate", "UPDATE_COMPLETE"),
            ev(500, "DBDatabase", rds, "UPDATE_IN_PROGRESS").reason(
                "Requested update requires the creation of a new physical resource; hence creating one.",
            ),
            ev(900, "DBDatabase", rds, "UPDATE_COMPLETE"),
            stack_ev(1000, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            ev(1100, "DBDatabase", rds, "DELETE_IN_PROGRESS"),
            ev(1300, "DBDatabase", rds, "DELETE_COMPLETE"),
            stack_ev(1500, "UPDATE_COMPLETE"),
        ])
}

#[test]
fn replacing_a_database_is_refused_without_allow_data_loss_and_the_change_set_deleted() {
    let location = source_of("diagrams/three-tier.mmd", "DBDatabase");
    assert_eq!(location, "diagrams/three-tier.mmd:13:13");
    let cfn = ScriptedCfn::start(replace_db_scenario());
    let run = three_tier(&cfn, &["--yes"]);
    assert_eq!(run.code, Some(1), "a refusal exits 1:\n{}", run.explain());
    let all = run.all();
    assert!(
        all.lines().any(|l| has_word(l, "DBDatabase") && l.contains("replace")),
        "the change table shows the replacement:\n{}",
        run.explain()
    );
    assert!(all.contains(&location), "names the diagram line:\n{}", run.explain());
    assert!(all.contains("--allow-data-loss"), "says how to allow it:\n{}", run.explain());
    assert_eq!(run.calls("ExecuteChangeSet"), 0, "{}", run.explain());
    assert_eq!(run.calls("DeleteChangeSet"), 1, "{}", run.explain());
    assert!(cfn.change_sets().is_empty(), "no change set is left behind");
    assert_eq!(cfn.stack_status(STACK).as_deref(), Some("CREATE_COMPLETE"));
}

#[test]
fn replacing_a_database_proceeds_with_allow_data_loss_and_yes() {
    let cfn = ScriptedCfn::start(replace_db_scenario());
    let run = three_tier(&cfn, &["--allow-data-loss", "--yes"]);
    assert_eq!(run.code, Some(0), "{}", run.explain());
    assert_eq!(run.calls("ExecuteChangeSet"), 1, "{}", run.explain());
    let create = run.log.iter().find(|r| r.action == "CreateChangeSet").expect("CreateChangeSet");
    assert_eq!(
        create.params.get("ChangeSetType").map(String::as_str).unwrap_or("UPDATE"),
        "UPDATE"
    );
    let all = run.all();
    assert!(
        all.lines().any(|l| has_word(l, "DBDatabase") && l.contains("replace")),
        "{}",
        run.explain()
    );
    let expected = [
        ("AppLaunchTemplate", "UPDATE_IN_PROGRESS"),
        ("AppLaunchTemplate", "UPDATE_COMPLETE"),
        ("DBDatabase", "UPDATE_IN_PROGRESS"),
        ("DBDatabase", "UPDATE_COMPLETE"),
        ("DBDatabase", "DELETE_IN_PROGRESS"),
        ("DBDatabase", "DELETE_COMPLETE"),
    ];
    assert_eq!(progress_anywhere(&run, &expected), pairs(&expected), "{}", run.explain());
    assert_eq!(cfn.stack_status(STACK).as_deref(), Some("UPDATE_COMPLETE"));
}

// -- d. throttling and 5xx bursts -------------------------------------------------------------

#[test]
fn throttling_and_server_error_bursts_do_not_change_the_verdict() {
    let cfn = ScriptedCfn::start(
        Scenario::create_succeeds(create_events())
            .with_server_errors("DescribeStacks", 2, 503)
            // Three in a row exhaust the SDK's default three attempts: one read fails whole.
            .with_fault(Fault::throttling("DescribeStackEvents", 3).after("ExecuteChangeSet"))
            .with_fault(
                Fault::server_error("DescribeStackEvents", 2, 500).after("ExecuteChangeSet"),
            )
            .with_fault(Fault::server_error("DescribeStacks", 2, 503).after("ExecuteChangeSet")),
    );
    let run = seed_iaas(&cfn, &["--yes"]);
    assert_eq!(run.code, Some(0), "still a success:\n{}", run.explain());
    let failed: Vec<(&str, u16)> =
        run.log.iter().filter(|r| r.status != 200).map(|r| (r.action.as_str(), r.status)).collect();
    assert!(
        failed.iter().filter(|(a, s)| *a == "DescribeStackEvents" && *s == 400).count() == 3
            && failed.iter().filter(|(a, s)| *a == "DescribeStackEvents" && *s == 500).count() == 2
            && failed.iter().any(|(a, s)| *a == "DescribeStacks" && *s == 503),
        "the bursts were served: {failed:?}\n{}",
        run.explain()
    );
    assert_eq!(run.calls("ExecuteChangeSet"), 1);
    assert_eq!(
        progress_anywhere(&run, &CREATE_PROGRESS),
        pairs(&CREATE_PROGRESS),
        "same lines as without the bursts:\n{}",
        run.explain()
    );
    assert!(
        run.log.calls_after_terminal_event("DescribeStackEvents").is_some(),
        "{}",
        run.explain()
    );
}

// -- e. a stack stuck in ROLLBACK_COMPLETE ----------------------------------------------------

fn rollback_complete() -> Scenario {
    Scenario::create_succeeds(create_events())
        .existing_stack(STACK, "ROLLBACK_COMPLETE", &template_of("diagrams/seed-iaas.mmd"))
        .with_history(vec![
            stack_ev(0, "CREATE_IN_PROGRESS").reason("User Initiated"),
            ev(0, "SQLInstance", "AWS::EC2::Instance", "CREATE_FAILED").reason(ROOT_CAUSE),
            stack_ev(0, "ROLLBACK_IN_PROGRESS").reason(
                "The following resource(s) failed to create: [SQLInstance]. Rollback requested by user.",
            ),
            stack_ev(0, "ROLLBACK_COMPLETE"),
        ])
}

#[test]
fn a_stack_in_rollback_complete_is_deleted_and_recreated_with_yes() {
    let cfn = ScriptedCfn::start(rollback_complete());
    let run = seed_iaas(&cfn, &["--yes"]);
    assert_eq!(run.code, Some(0), "{}", run.explain());
    let all = run.all();
    assert!(all.contains("ROLLBACK_COMPLETE"), "recognised:\n{}", run.explain());
    assert!(all.to_lowercase().contains("delet"), "says it deletes it:\n{}", run.explain());
    let actions = run.log.actions();
    let delete = actions.iter().position(|a| *a == "DeleteStack");
    let create = actions.iter().position(|a| *a == "CreateChangeSet");
    assert!(delete.is_some() && delete < create, "deleted, then created:\n{}", run.explain());
    let create = &run.log[create.expect("CreateChangeSet")];
    assert_eq!(create.params.get("ChangeSetType").map(String::as_str), Some("CREATE"));
    assert_eq!(run.calls("ExecuteChangeSet"), 1);
    assert_eq!(cfn.stack_status(STACK).as_deref(), Some("CREATE_COMPLETE"));
}

#[test]
fn a_stack_in_rollback_complete_is_not_deleted_without_yes_and_without_a_terminal() {
    let cfn = ScriptedCfn::start(rollback_complete());
    let run = seed_iaas(&cfn, &[]);
    assert_eq!(run.code, Some(1), "{}", run.explain());
    assert!(run.all().contains("ROLLBACK_COMPLETE"), "recognised:\n{}", run.explain());
    assert!(run.all().contains("--yes"), "says how to go on:\n{}", run.explain());
    assert_eq!(run.calls("DeleteStack"), 0, "{}", run.explain());
    assert_eq!(run.calls("ExecuteChangeSet"), 0, "{}", run.explain());
    assert_eq!(cfn.stack_status(STACK).as_deref(), Some("ROLLBACK_COMPLETE"));
}

// -- f. no changes ----------------------------------------------------------------------------

#[test]
fn an_empty_change_set_is_no_changes_exit_0_and_deleted() {
    let cfn = ScriptedCfn::start(
        Scenario::default()
            .existing_stack(STACK, "UPDATE_COMPLETE", &template_of("diagrams/seed-iaas.mmd"))
            .no_changes(),
    );
    let run = seed_iaas(&cfn, &["--yes"]);
    assert_eq!(run.code, Some(0), "{}", run.explain());
    assert!(run.all().contains("no changes"), "{}", run.explain());
    assert_eq!(run.calls("ExecuteChangeSet"), 0, "{}", run.explain());
    assert_eq!(run.calls("DeleteChangeSet"), 1, "{}", run.explain());
    assert!(cfn.change_sets().is_empty());
}

// -- g. no terminal, no --yes -----------------------------------------------------------------

#[test]
fn a_real_change_without_yes_and_without_a_terminal_is_refused_and_nothing_executed() {
    let cfn = ScriptedCfn::start(Scenario::create_succeeds(create_events()));
    let run = seed_iaas(&cfn, &[]);
    assert_eq!(run.code, Some(1), "{}", run.explain());
    assert!(run.all().contains("--yes"), "says how to go on:\n{}", run.explain());
    assert_eq!(run.calls("ExecuteChangeSet"), 0, "{}", run.explain());
    // The change set is shown, then removed with the empty stack CreateChangeSet made for
    // review: nothing is left behind.
    assert!(run.all().contains("add"), "the change table is shown first:\n{}", run.explain());
    assert!(cfn.change_sets().is_empty(), "{}", run.explain());
}

// -- polling cost -----------------------------------------------------------------------------

/// How many polls start within `time`, on follow's schedule (see `src/deploy/follow.rs`).
fn polls_within(time: Duration) -> u64 {
    let (mut at, mut interval, mut polls) = (Duration::ZERO, Duration::from_millis(200), 0);
    while at <= time {
        polls += 1;
        at += interval;
        interval = (interval + interval / 2).min(Duration::from_millis(800));
    }
    polls
}

#[test]
fn a_followed_deploy_costs_no_more_calls_than_rains_two_second_poll() {
    // A 30-second update of a stack with a long history (three pages of old events).
    let template = template_of("diagrams/seed-iaas.mmd");
    let history: Vec<ScriptedEvent> = (0..250)
        .map(|i| stack_ev(0, if i % 2 == 0 { "UPDATE_IN_PROGRESS" } else { "UPDATE_COMPLETE" }))
        .collect();
    let lt = "AWS::EC2::LaunchTemplate";
    let mut events = vec![stack_ev(0, "UPDATE_IN_PROGRESS").reason("User Initiated")];
    for (i, id) in ["ASGLaunchTemplate", "KLaunchTemplate", "RLaunchTemplate", "SQLLaunchTemplate"]
        .iter()
        .enumerate()
    {
        let start = 1_000 + 7_000 * i as u64;
        events.push(ev(start, id, lt, "UPDATE_IN_PROGRESS"));
        events.push(ev(start + 5_000, id, lt, "UPDATE_COMPLETE"));
    }
    events.push(stack_ev(29_000, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"));
    events.push(stack_ev(30_000, "UPDATE_COMPLETE"));
    let scripted = Duration::from_secs(30);
    let cfn = ScriptedCfn::start(
        Scenario::default()
            .existing_stack(STACK, "UPDATE_COMPLETE", &template)
            .with_history(history)
            .changes(vec![
                Change::modify("ASGLaunchTemplate", lt, Replacement::False),
                Change::modify("KLaunchTemplate", lt, Replacement::False),
                Change::modify("RLaunchTemplate", lt, Replacement::False),
                Change::modify("SQLLaunchTemplate", lt, Replacement::False),
            ])
            .on_execute(events),
    );
    let run = seed_iaas(&cfn, &["--yes"]);
    assert_eq!(run.code, Some(0), "{}", run.explain());
    let following = after(&run.log, "ExecuteChangeSet");
    let start = run.log.iter().find(|r| r.action == "ExecuteChangeSet").expect("executed").at;
    let end = following.last().map(|r| r.at).unwrap_or(start);
    let calls = following.len();
    let event_calls = following.count("DescribeStackEvents");
    let followed = (end - start).max(scripted);
    let minutes = (end - start).as_secs_f64().max(1.0) / 60.0;
    eprintln!(
        "followed deploy: {calls} calls ({event_calls} DescribeStackEvents) in {:.1} s = {:.1} calls/min, {:.1} DescribeStackEvents/min; {:?}",
        (end - start).as_secs_f64(),
        calls as f64 / minutes,
        event_calls as f64 / minutes,
        following.actions()
    );
    // One call per poll; polls start at once, then 200 ms apart, each interval half as long
    // again up to 800 ms: over the time followed (at least the scripted 30 s) 40 polls, and
    // one more for the jitter between a call's start and the endpoint's stamp of its arrival.
    let polls = polls_within(followed) + 1;
    assert!(calls as u64 <= polls, "{calls} calls > {polls} polls:\n{}", run.explain());
    // rain's 2-second poll makes three calls (DescribeStacks, DescribeChangeSet,
    // DescribeStackResources): 48 over the same 30 s.
    let rain = 3 * (followed.as_secs().div_ceil(2) + 1);
    assert!(calls as u64 <= rain, "{calls} calls > rain's {rain}:\n{}", run.explain());
    // Each poll stops at the last event already seen: no paging into the old history.
    let paged: Vec<&Request> = following
        .iter()
        .filter(|r| r.action == "DescribeStackEvents" && r.params.contains_key("NextToken"))
        .collect();
    assert!(paged.is_empty(), "paged through old events while following: {paged:?}");
    assert!(
        run.log.calls_after_terminal_event("DescribeStackEvents") <= Some(1),
        "{}",
        run.explain()
    );
    let expected: Vec<(&str, &str)> =
        ["ASGLaunchTemplate", "KLaunchTemplate", "RLaunchTemplate", "SQLLaunchTemplate"]
            .iter()
            .flat_map(|id| [(*id, "UPDATE_IN_PROGRESS"), (*id, "UPDATE_COMPLETE")])
            .collect();
    assert_eq!(progress_anywhere(&run, &expected), pairs(&expected), "{}", run.explain());
}

// -- keep on failure --------------------------------------------------------------------------

#[test]
fn keep_on_failure_disables_rollback_and_still_reports_the_root_cause() {
    let ec2 = "AWS::EC2::Instance";
    let cfn = ScriptedCfn::start(Scenario::default().on_execute(vec![
        stack_ev(0, "CREATE_IN_PROGRESS").reason("User Initiated"),
        ev(200, "SQLInstance", ec2, "CREATE_IN_PROGRESS"),
        ev(500, "SQLInstance", ec2, "CREATE_FAILED").reason(ROOT_CAUSE),
        stack_ev(700, "CREATE_FAILED")
            .reason("The following resource(s) failed to create: [SQLInstance]. "),
    ]));
    let run = seed_iaas(&cfn, &["--yes", "--keep-on-failure"]);
    assert_eq!(run.code, Some(2), "{}", run.explain());
    // Either way CloudFormation offers: OnStackFailure=DO_NOTHING on a CREATE change set, or
    // DisableRollback on its execution.
    let asked = |action: &str, key: &str, value: &str| {
        run.log
            .iter()
            .any(|r| r.action == action && r.params.get(key).map(String::as_str) == Some(value))
    };
    assert!(
        asked("CreateChangeSet", "OnStackFailure", "DO_NOTHING")
            || asked("ExecuteChangeSet", "DisableRollback", "true"),
        "rollback disabled:\n{}",
        run.explain()
    );
    assert!(run.stderr.contains(ROOT_CAUSE), "{}", run.explain());
    assert!(run.stderr.contains("diagrams/seed-iaas.mmd:30:5"), "{}", run.explain());
    assert_eq!(cfn.stack_status(STACK).as_deref(), Some("CREATE_FAILED"));
}

// -- diff and destroy -------------------------------------------------------------------------

#[test]
fn diff_shows_the_change_set_then_deletes_it_and_executes_nothing() {
    let cfn = ScriptedCfn::start(replace_db_scenario());
    let run = run(
        &cfn,
        &[
            "diff",
            "diagrams/three-tier.mmd",
            "--stack-name",
            STACK,
            "--parameter",
            &format!("ALBCertificateArn={CERT}"),
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.explain());
    let all = run.all();
    assert!(
        all.lines().any(|l| has_word(l, "DBDatabase") && l.contains("replace")),
        "{}",
        run.explain()
    );
    assert!(
        all.lines().any(|l| has_word(l, "AppLaunchTemplate") && l.contains("modify")),
        "{}",
        run.explain()
    );
    assert!(all.contains("diagrams/three-tier.mmd:13:13"), "{}", run.explain());
    assert_eq!(run.calls("ExecuteChangeSet"), 0, "{}", run.explain());
    assert_eq!(run.calls("DeleteChangeSet"), 1, "{}", run.explain());
    assert!(cfn.change_sets().is_empty());
}

fn existing_three_tier() -> Scenario {
    Scenario::default().existing_stack(
        STACK,
        "CREATE_COMPLETE",
        &template_of("diagrams/three-tier.mmd"),
    )
}

#[test]
fn destroy_with_yes_deletes_the_stack_and_names_what_is_kept() {
    let cfn = ScriptedCfn::start(existing_three_tier().on_delete(vec![
        stack_ev(0, "DELETE_IN_PROGRESS").reason("User Initiated"),
        ev(300, "AppInstance", "AWS::EC2::Instance", "DELETE_IN_PROGRESS"),
        ev(600, "AppInstance", "AWS::EC2::Instance", "DELETE_COMPLETE"),
        ev(700, "AssetsBucket", BUCKET, "DELETE_SKIPPED"),
        stack_ev(900, "DELETE_COMPLETE"),
    ]));
    let run = run(&cfn, &["destroy", "--stack-name", STACK, "--yes"]);
    assert_eq!(run.code, Some(0), "{}", run.explain());
    assert_eq!(run.calls("DeleteStack"), 1, "{}", run.explain());
    assert_eq!(cfn.stack_status(STACK), None, "deleted");
    // Kept by DeletionPolicy Retain: the bucket and the cache's secret.
    for kept in ["AssetsBucket", "CacheAuthToken"] {
        assert!(run.all().contains(kept), "names {kept} as kept:\n{}", run.explain());
    }
    let expected = [
        ("AppInstance", "DELETE_IN_PROGRESS"),
        ("AppInstance", "DELETE_COMPLETE"),
        ("AssetsBucket", "DELETE_SKIPPED"),
    ];
    assert_eq!(progress_anywhere(&run, &expected), pairs(&expected), "{}", run.explain());
    assert!(
        run.log.calls_after_terminal_event("DescribeStackEvents") <= Some(1),
        "{}",
        run.explain()
    );
}

#[test]
fn destroy_without_yes_and_without_a_terminal_is_refused() {
    let cfn = ScriptedCfn::start(existing_three_tier());
    let run = run(&cfn, &["destroy", "--stack-name", STACK]);
    assert_eq!(run.code, Some(1), "{}", run.explain());
    assert!(run.all().contains("--yes"), "{}", run.explain());
    assert_eq!(run.calls("DeleteStack"), 0, "{}", run.explain());
    assert_eq!(cfn.stack_status(STACK).as_deref(), Some("CREATE_COMPLETE"));
}

// -- another operation under way --------------------------------------------------------------

#[test]
fn a_deploy_while_another_is_in_progress_without_a_terminal_says_so_and_exits_1() {
    let lt = "AWS::EC2::LaunchTemplate";
    let cfn = ScriptedCfn::start(
        Scenario::default()
            .existing_stack(STACK, "UPDATE_IN_PROGRESS", &template_of("diagrams/seed-iaas.mmd"))
            .under_way(vec![
                ev(500, "KLaunchTemplate", lt, "UPDATE_IN_PROGRESS"),
                ev(1500, "KLaunchTemplate", lt, "UPDATE_COMPLETE"),
                stack_ev(2500, "UPDATE_COMPLETE"),
            ])
            .changes(vec![Change::modify("ASGLaunchTemplate", lt, Replacement::False)])
            .on_execute(vec![
                stack_ev(0, "UPDATE_IN_PROGRESS").reason("User Initiated"),
                ev(200, "ASGLaunchTemplate", lt, "UPDATE_IN_PROGRESS"),
                ev(500, "ASGLaunchTemplate", lt, "UPDATE_COMPLETE"),
                stack_ev(800, "UPDATE_COMPLETE"),
            ]),
    );
    // Without a terminal nobody can watch a wait: exit 1 at once, changing nothing (on a
    // terminal it waits: `deploy_interaction.rs`).
    let run = seed_iaas(&cfn, &["--yes"]);
    assert_eq!(run.code, Some(1), "{}", run.explain());
    assert!(
        run.all().contains("has an operation in progress (UPDATE_IN_PROGRESS)"),
        "says so:\n{}",
        run.explain()
    );
    assert!(run.all().contains("run again when it has finished"), "{}", run.explain());
    for action in ["CreateChangeSet", "ExecuteChangeSet", "DeleteStack"] {
        assert_eq!(run.calls(action), 0, "{action}: {}", run.explain());
    }
}
