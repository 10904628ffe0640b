//! `mermaid2aws deploy` with a person at a terminal and a network that loses answers: the
//! live display on a real pseudo-terminal (util-linux `script`), Ctrl-C while following, and
//! a change set whose creation went through although its answer was lost. The real binary
//! and SDK client talk to the scripted CloudFormation endpoint on 127.0.0.1.

mod support;

use support::text;

use std::io::{Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::scripted_cfn::{
    Change, Fault, Replacement, Request, Scenario, ScriptedCfn, aws_client_env, ev, stack_ev,
};

const STACK: &str = "shop";
const CERT: &str = "ELBCertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c";
const VPC: &str = "AWS::EC2::VPC";
const BUCKET: &str = "AWS::S3::Bucket";
const DEADLINE: Duration = Duration::from_secs(120);

/// The binary against `cfn`, with dummy credentials and no AWS configuration of this machine.
fn command(cfn: &ScriptedCfn, program: &str) -> Command {
    let mut command = Command::new(program);
    aws_client_env(&mut command, &cfn.url)
        .current_dir(support::repo_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn deploy_args() -> Vec<&'static str> {
    vec!["deploy", "diagrams/seed-iaas.mmd", "--stack-name", STACK, "--parameter", CERT, "--yes"]
}

/// Wait for `child` (killed after the deadline) and collect what it printed.
fn finish(child: Child) -> Output {
    let started = Instant::now();
    let mut child = child;
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("still running after {DEADLINE:?}: {:?}", child.wait_with_output());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn calls(log: &[Request], action: &str) -> usize {
    log.iter().filter(|r| r.action == action).count()
}

/// `script` runs the command on a fresh pseudo-terminal: stdin, stdout and stderr are a
/// terminal, as when a person runs deploy. Its own output is everything the terminal showed.
fn in_terminal(cfn: &ScriptedCfn, args: &[&str]) -> Child {
    let script = "/usr/bin/script";
    assert!(
        std::path::Path::new(script).exists(),
        "{script} (util-linux, Debian's essential bsdutils) is needed to run deploy on a terminal"
    );
    let line = std::iter::once(env!("CARGO_BIN_EXE_mermaid2aws"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = command(cfn, script);
    // -q: no banner, -e: the command's exit code, -f: flush at once, -c: the command.
    command.args(["-qefc", &line, "/dev/null"]).env("TERM", "xterm-256color").env("COLUMNS", "160");
    command.spawn().expect("run script")
}

#[test]
fn on_a_terminal_each_resource_has_a_live_line_that_ends_in_its_final_state() {
    let cfn = ScriptedCfn::start(Scenario::create_succeeds(vec![
        ev(300, "Vpc", VPC, "CREATE_IN_PROGRESS"),
        ev(900, "Vpc", VPC, "CREATE_COMPLETE"),
        ev(1000, "S3Bucket", BUCKET, "CREATE_IN_PROGRESS"),
        ev(2500, "S3Bucket", BUCKET, "CREATE_COMPLETE"),
    ]));
    let output = finish(in_terminal(&cfn, &deploy_args()));
    let shown = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{shown}\n{}", text(&output.stderr));
    // indicatif redraws its lines in place: cursor movements and line erasing.
    assert!(shown.contains("\x1b[2K") || shown.contains("\x1b[1A"), "no live redraw: {shown:?}");
    // Plain mode would print a `HH:MM:SS  STATUS` line per event; live mode keeps one line per
    // resource, whose last drawing is its final state with its diagram line.
    let plain = shown.lines().filter(|l| l.get(2..3) == Some(":") && l.contains("CREATE_")).count();
    assert_eq!(plain, 0, "plain lines on a terminal: {shown}");
    for resource in ["Vpc", "S3Bucket"] {
        let last = shown
            .split(['\r', '\n'])
            .rfind(|l| l.contains(&format!("{resource} ")) && l.contains("CREATE_"))
            .unwrap_or_default()
            .to_string();
        assert!(last.contains("✓") && last.contains("CREATE_COMPLETE"), "{resource}: {last:?}");
        assert!(last.contains("diagrams/seed-iaas.mmd:"), "{resource}: {last:?}");
    }
    assert!(shown.contains("stack `shop`: CREATE_COMPLETE"), "{shown}");
}

#[test]
fn ctrl_c_while_following_stops_following_cancels_nothing_and_says_how_to_watch() {
    // The stack takes 60 s: the interrupt comes while deploy follows it.
    let cfn = ScriptedCfn::start(Scenario::create_succeeds(vec![
        ev(300, "Vpc", VPC, "CREATE_IN_PROGRESS"),
        ev(60_000, "Vpc", VPC, "CREATE_COMPLETE"),
    ]));
    let mut child = command(&cfn, env!("CARGO_BIN_EXE_mermaid2aws"))
        .args(deploy_args())
        .args(["--region", "us-east-1"])
        .spawn()
        .expect("run mermaid2aws");
    let started = Instant::now();
    while calls(&cfn.requests(), "DescribeStackEvents") < 2 {
        assert!(started.elapsed() < DEADLINE, "deploy never followed the stack");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let mut stdout = String::new();
    let _ = child.stdout.take().unwrap().read_to_string(&mut stdout);
    let output = finish(child);
    let all = format!("{stdout}{}", text(&output.stderr));
    assert_eq!(output.status.code(), Some(130), "{all}");
    assert!(all.contains("stopped following"), "{all}");
    assert!(all.contains("not cancelled"), "{all}");
    assert!(
        all.contains("describe-stack-events --stack-name shop --region us-east-1\n"),
        "how to watch, with the same connection: {all}"
    );
    let again =
        format!("or run again:  mermaid2aws {} --region us-east-1 (", deploy_args().join(" "));
    assert!(all.contains(&again), "how to resume, the same command line: {all}");
    let log = cfn.requests();
    for action in ["CancelUpdateStack", "DeleteStack", "DeleteChangeSet", "RollbackStack"] {
        assert_eq!(calls(&log, action), 0, "{action} after Ctrl-C: {log:?}");
    }
    assert_eq!(cfn.stack_status(STACK).as_deref(), Some("CREATE_IN_PROGRESS"));
}

#[test]
fn a_change_set_created_although_its_answer_was_lost_is_not_made_twice() {
    let scenario = Scenario::create_succeeds(vec![
        ev(200, "Vpc", VPC, "CREATE_IN_PROGRESS"),
        ev(500, "Vpc", VPC, "CREATE_COMPLETE"),
    ])
    .with_fault(Fault::lost_answer("CreateChangeSet", 1, 503));
    let cfn = ScriptedCfn::start(scenario);
    let output = finish(
        command(&cfn, env!("CARGO_BIN_EXE_mermaid2aws")).args(deploy_args()).spawn().unwrap(),
    );
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(all.contains("stack `shop`: CREATE_COMPLETE"), "{all}");
    let log = cfn.requests();
    let creates: Vec<&Request> = log.iter().filter(|r| r.action == "CreateChangeSet").collect();
    assert_eq!(creates.len(), 2, "the SDK retried the lost answer: {log:?}");
    assert_eq!(creates[0].status, 503);
    assert_eq!(creates[1].status, 200, "the retry got the change set back: {log:?}");
    let token = creates[0].params.get("ClientToken");
    assert!(token.is_some() && token == creates[1].params.get("ClientToken"), "{creates:?}");
    assert_eq!(cfn.change_sets().len(), 1, "one change set: {:?}", cfn.change_sets());
}

#[test]
fn an_execution_whose_answer_was_lost_is_retried_with_its_token_and_followed() {
    let scenario = Scenario::create_succeeds(vec![
        ev(200, "Vpc", VPC, "CREATE_IN_PROGRESS"),
        ev(500, "Vpc", VPC, "CREATE_COMPLETE"),
    ])
    .with_fault(Fault::lost_answer("ExecuteChangeSet", 1, 503));
    let cfn = ScriptedCfn::start(scenario);
    let output = finish(
        command(&cfn, env!("CARGO_BIN_EXE_mermaid2aws")).args(deploy_args()).spawn().unwrap(),
    );
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(all.contains("stack `shop`: CREATE_COMPLETE"), "{all}");
    let log = cfn.requests();
    let executes: Vec<&Request> = log.iter().filter(|r| r.action == "ExecuteChangeSet").collect();
    assert_eq!(executes.len(), 2, "the SDK retried the lost answer: {log:?}");
    assert_eq!(executes[0].status, 503);
    assert_eq!(executes[1].status, 200, "the retry with the same token succeeded: {log:?}");
    let token = executes[0].params.get("ClientRequestToken");
    assert!(
        token.is_some() && token == executes[1].params.get("ClientRequestToken"),
        "{executes:?}"
    );
    assert_eq!(calls(&log, "DeleteChangeSet"), 0, "{log:?}");
}

#[test]
fn an_sso_profile_without_a_login_is_one_clear_error_before_any_call() {
    let cfn = ScriptedCfn::start(Scenario::default());
    let home = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sso-home");
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    let config = home.join("config");
    std::fs::write(
        &config,
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Deployer\nregion = us-east-1\n\n[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n",
    )
    .unwrap();
    let output = command(&cfn, env!("CARGO_BIN_EXE_mermaid2aws"))
        .args(["diff", "diagrams/seed-iaas.mmd", "--stack-name", STACK, "--profile", "dev"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &config)
        .env("HOME", &home)
        .output()
        .unwrap();
    let err = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("no AWS credentials") && err.contains("SSO token"), "{err}");
    assert!(err.contains("aws sso login --profile dev"), "{err}");
    assert!(output.stdout.is_empty(), "no output on error: {}", text(&output.stdout));
    assert!(cfn.requests().is_empty(), "no call was made: {:?}", cfn.requests());
}

/// Run `args` on a terminal and answer each question deploy asks, in turn; returns the exit
/// code and everything the terminal showed.
fn answering(cfn: &ScriptedCfn, args: &[&str], answers: &[&str]) -> (Option<i32>, String) {
    let line = std::iter::once(env!("CARGO_BIN_EXE_mermaid2aws"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = command(cfn, "/usr/bin/script")
        .args(["-qefc", &line, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env("COLUMNS", "160")
        .stdin(Stdio::piped())
        .spawn()
        .expect("run script");
    let shown = Arc::new(Mutex::new(String::new()));
    let reader = {
        let (shown, mut stdout) = (shown.clone(), child.stdout.take().unwrap());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    let started = Instant::now();
    for (asked, answer) in answers.iter().enumerate() {
        while shown.lock().unwrap().matches("[y/N]").count() <= asked {
            assert!(
                started.elapsed() < DEADLINE,
                "question {asked} not asked: {}",
                shown.lock().unwrap()
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "exited unasked: {}",
                shown.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        stdin.write_all(format!("{answer}\r").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("still running after {DEADLINE:?}: {}", shown.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    let code = child.wait().unwrap().code();
    reader.join().unwrap();
    let shown = shown.lock().unwrap().clone();
    (code, shown)
}

fn without_yes() -> Vec<&'static str> {
    deploy_args().into_iter().filter(|a| *a != "--yes").collect()
}

#[test]
fn on_a_terminal_deploy_asks_and_no_deletes_the_change_set_and_changes_nothing() {
    let cfn =
        ScriptedCfn::start(Scenario::create_succeeds(vec![ev(300, "Vpc", VPC, "CREATE_COMPLETE")]));
    let (code, shown) = answering(&cfn, &without_yes(), &["n"]);
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("deploy these changes to stack `shop`? [y/N]"), "{shown}");
    assert!(shown.contains("the changes were not confirmed"), "{shown}");
    let log = cfn.requests();
    assert_eq!(calls(&log, "ExecuteChangeSet"), 0, "{log:?}");
    assert_eq!(calls(&log, "DeleteChangeSet"), 1, "{log:?}");
}

#[test]
fn on_a_terminal_deploy_asks_and_yes_deploys() {
    let cfn = ScriptedCfn::start(Scenario::create_succeeds(vec![
        ev(300, "Vpc", VPC, "CREATE_IN_PROGRESS"),
        ev(600, "Vpc", VPC, "CREATE_COMPLETE"),
    ]));
    let (code, shown) = answering(&cfn, &without_yes(), &["y"]);
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("stack `shop`: CREATE_COMPLETE"), "{shown}");
    assert_eq!(calls(&cfn.requests(), "ExecuteChangeSet"), 1);
}

fn seed_template() -> String {
    let text = std::fs::read_to_string(support::repo_dir().join("diagrams/seed-iaas.mmd")).unwrap();
    support::compile_text("diagrams/seed-iaas.mmd", &text).remove(0).to_string()
}

#[test]
fn on_a_terminal_a_stack_in_rollback_complete_is_deleted_and_recreated_when_confirmed() {
    let cfn = ScriptedCfn::start(
        Scenario::create_succeeds(vec![ev(300, "Vpc", VPC, "CREATE_COMPLETE")])
            .existing_stack(STACK, "ROLLBACK_COMPLETE", &seed_template())
            .with_history(vec![
                stack_ev(0, "CREATE_IN_PROGRESS"),
                stack_ev(0, "ROLLBACK_COMPLETE"),
            ]),
    );
    let (code, shown) = answering(&cfn, &without_yes(), &["y", "y"]);
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("delete stack `shop` and create it again? [y/N]"), "{shown}");
    assert!(shown.contains("deploy these changes to stack `shop`? [y/N]"), "{shown}");
    let log = cfn.requests();
    let delete = log.iter().position(|r| r.action == "DeleteStack");
    let create = log.iter().position(|r| r.action == "CreateChangeSet");
    assert!(delete.is_some() && delete < create, "deleted, then created: {log:?}");
    assert_eq!(cfn.stack_status(STACK).as_deref(), Some("CREATE_COMPLETE"));
}

#[test]
fn on_a_terminal_a_deploy_waits_for_an_operation_in_progress_then_deploys() {
    let lt = "AWS::EC2::LaunchTemplate";
    let cfn = ScriptedCfn::start(
        Scenario::default()
            .existing_stack(STACK, "UPDATE_IN_PROGRESS", &seed_template())
            .under_way(vec![
                ev(500, "KLaunchTemplate", lt, "UPDATE_IN_PROGRESS"),
                stack_ev(2500, "UPDATE_COMPLETE"),
            ])
            .changes(vec![Change::modify("ASGLaunchTemplate", lt, Replacement::False)])
            .on_execute(vec![
                ev(200, "ASGLaunchTemplate", lt, "UPDATE_IN_PROGRESS"),
                ev(500, "ASGLaunchTemplate", lt, "UPDATE_COMPLETE"),
                stack_ev(800, "UPDATE_COMPLETE"),
            ]),
    );
    let output = finish(in_terminal(&cfn, &deploy_args()));
    let shown = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("has an operation in progress (UPDATE_IN_PROGRESS): waiting"),
        "{shown}"
    );
    let log = cfn.requests();
    let created = log.iter().find(|r| r.action == "CreateChangeSet").expect("a change set");
    assert!(created.at >= Duration::from_millis(2500), "only once the stack was free: {log:?}");
    assert_eq!(calls(&log, "ExecuteChangeSet"), 1);
}
