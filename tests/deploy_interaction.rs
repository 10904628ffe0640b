//! `mermaid2aws deploy` with a person at a terminal and a network that loses answers: the
//! live display on a real pseudo-terminal (util-linux `script`), Ctrl-C while following, and
//! a change set whose creation went through although its answer was lost. The real binary
//! and SDK client talk to the scripted CloudFormation endpoint on 127.0.0.1.

mod support;

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::scripted_cfn::{Fault, Request, Scenario, ScriptedCfn, ev};

const STACK: &str = "shop";
const CERT: &str = "ELBCertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c";
const VPC: &str = "AWS::EC2::VPC";
const BUCKET: &str = "AWS::S3::Bucket";
const DEADLINE: Duration = Duration::from_secs(120);

/// The binary against `cfn`, with dummy credentials and no AWS configuration of this machine.
fn command(cfn: &ScriptedCfn, program: &str) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(support::repo_dir())
        .env("AWS_ENDPOINT_URL", &cfn.url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_DEFAULT_REGION")
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
    assert!(all.contains("describe-stack-events --stack-name shop"), "how to watch: {all}");
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
