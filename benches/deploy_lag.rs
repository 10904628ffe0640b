//! Deploy exit lag: the time from a stack's terminal status to the process exit, for
//! `mermaid2aws deploy --yes` and for `aws cloudformation deploy` (aws-cli from PyPI), both
//! against the scripted CloudFormation endpoint of the tests, on the same template (the seed
//! IaaS diagram compiled) and a stack that completes 20 s after execution (plus an offset
//! that spreads the runs over one second, so the completion falls at every point of a poll
//! cycle). Also the API calls each makes per minute while following.
//!
//!     cargo bench --bench deploy_lag
//!
//! aws-cli is installed into a virtualenv under target/bench-tools/awscli on first use
//! (python3 with venv, and PyPI); `M2A_AWS_CLI` names another `aws` to use instead.
//! `M2A_DEPLOY_LAG_RUNS` sets the runs per tool (default 5; each takes 20 to 50 s).

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/support/scripted_cfn.rs"]
mod scripted_cfn;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use scripted_cfn::{Request, Scenario, ScriptedCfn, ScriptedEvent, aws_client_env, ev};

const STACK: &str = "shop";
const DIAGRAM: &str = "diagrams/seed-iaas.mmd";
const PARAMETER: &str = "ELBCertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c";
/// When the stack reaches CREATE_COMPLETE, after ExecuteChangeSet (before the offset).
const COMPLETES_AFTER: Duration = Duration::from_secs(20);
const AWS_CLI: &str = "awscli==1.46.3";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Resource events spread over the 20 s, then the stack's CREATE_COMPLETE at `completes`.
fn scenario(completes: Duration) -> Scenario {
    let mut events: Vec<ScriptedEvent> = Vec::new();
    let resources = [
        ("VPC", "AWS::EC2::VPC"),
        ("ELBSecurityGroup", "AWS::EC2::SecurityGroup"),
        ("ELB", "AWS::ElasticLoadBalancingV2::LoadBalancer"),
        ("ASG", "AWS::AutoScaling::AutoScalingGroup"),
    ];
    for (i, (id, kind)) in resources.iter().enumerate() {
        let start = 1_000 + 4_800 * i as u64;
        events.push(ev(start, id, kind, "CREATE_IN_PROGRESS"));
        events.push(ev(start + 4_200, id, kind, "CREATE_COMPLETE"));
    }
    let mut scenario = Scenario::create_succeeds(events);
    let end = scenario.on_execute.last_mut().expect("the stack's own last event");
    assert_eq!(end.at, COMPLETES_AFTER, "the scenario's length");
    end.at = completes;
    scenario
}

/// One run of one tool.
struct Run {
    code: Option<i32>,
    /// Process exit minus the terminal status.
    exit_lag: Duration,
    /// The first answer that showed the terminal status, minus the terminal status.
    seen_lag: Duration,
    /// Calls per minute from ExecuteChangeSet to the last call, all and by action.
    per_minute: f64,
    by_action: BTreeMap<String, usize>,
    followed: Duration,
}

/// Start a fresh endpoint, run `tool` (made by `command` for the endpoint's URL) against it.
fn run(tool: &str, completes: Duration, command: impl FnOnce(&str) -> Command) -> Run {
    let cfn = ScriptedCfn::start(scenario(completes));
    let mut command = command(&cfn.url);
    let mut child = aws_client_env(&mut command, &cfn.url)
        // aws-cli reads the region from AWS_DEFAULT_REGION, and pages its output otherwise.
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_PAGER", "")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {tool}: {e}"));
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("stderr")));
    let status = child.wait().expect("wait");
    let exited = SystemTime::now();
    let (stdout, stderr) = (stdout.join().expect("stdout"), stderr.join().expect("stderr"));
    let log = cfn.requests();
    let terminal = cfn.terminal_status_time(STACK);
    let explain = || {
        let calls: Vec<(&str, u16)> = log.iter().map(|r| (r.action.as_str(), r.status)).collect();
        format!(
            "{tool}: exit {status}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- calls\n{calls:?}"
        )
    };
    assert!(status.success(), "{}", explain());
    let terminal = terminal.unwrap_or_else(|| panic!("the stack never completed\n{}", explain()));
    let exit_lag = exited
        .duration_since(terminal)
        .unwrap_or_else(|_| panic!("exited before the end\n{}", explain()));
    let started = log
        .iter()
        .find(|r| r.action == "ExecuteChangeSet")
        .unwrap_or_else(|| panic!("never executed\n{}", explain()));
    let seen = log
        .iter()
        .find(|r| r.served_terminal_status)
        .unwrap_or_else(|| panic!("never read the terminal status\n{}", explain()));
    // The endpoint's clock: `at` is since it started; the terminal status is due exactly
    // `completes` after ExecuteChangeSet was answered (within the same millisecond).
    let seen_lag = seen.at.saturating_sub(started.at + completes);
    let following: Vec<&Request> = log.iter().filter(|r| r.at > started.at).collect();
    let end = following.last().map_or(started.at, |r| r.at);
    let followed = end - started.at;
    let mut by_action = BTreeMap::new();
    for r in &following {
        *by_action.entry(r.action.clone()).or_insert(0) += 1;
    }
    Run {
        code: status.code(),
        exit_lag,
        seen_lag,
        per_minute: following.len() as f64 / followed.as_secs_f64().max(1.0) * 60.0,
        by_action,
        followed,
    }
}

/// `aws` from `M2A_AWS_CLI`, or the virtualenv under target/, installed on first use.
fn aws_cli() -> PathBuf {
    if let Some(path) = std::env::var_os("M2A_AWS_CLI") {
        return PathBuf::from(path);
    }
    let venv = repo().join("target/bench-tools/awscli");
    let stamp = venv.join(format!(".installed-{AWS_CLI}"));
    if !stamp.exists() {
        eprintln!("installing {AWS_CLI} into {}", venv.display());
        let _ = std::fs::remove_dir_all(&venv);
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status();
        assert!(
            ok.is_ok_and(|s| s.success()),
            "python3 -m venv failed: python3 with venv is needed"
        );
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", AWS_CLI])
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "pip install {AWS_CLI} failed (PyPI is needed)");
        std::fs::write(&stamp, "").expect("write the install stamp");
    }
    venv.join("bin/aws")
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that does not name this bench skips it.
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if !filters.is_empty() && !filters.iter().any(|f| "deploy_lag".contains(f.as_str())) {
        return;
    }
    let runs: usize =
        std::env::var("M2A_DEPLOY_LAG_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(5);
    let ours = env!("CARGO_BIN_EXE_mermaid2aws");
    let work = repo().join("target/bench-deploy-lag");
    std::fs::create_dir_all(&work).expect("create target/bench-deploy-lag");
    let template = work.join("seed-iaas.json");
    let compiled = Command::new(ours)
        .current_dir(repo())
        .args(["compile", DIAGRAM, "-o"])
        .arg(&template)
        .status()
        .expect("run mermaid2aws compile");
    assert!(compiled.success(), "mermaid2aws compile {DIAGRAM} failed");
    let aws = aws_cli();

    let mut results: Vec<(&str, Vec<Run>)> = Vec::new();
    for tool in ["mermaid2aws deploy --yes", "aws cloudformation deploy"] {
        let mut tool_runs = Vec::new();
        for i in 0..runs {
            // Spread the completion over one second across the runs.
            let completes = COMPLETES_AFTER + Duration::from_millis(1000 * i as u64 / runs as u64);
            eprintln!("{tool}: run {} of {runs}, the stack completes after {completes:?}", i + 1);
            let command = |url: &str| {
                if tool.starts_with("mermaid2aws") {
                    // The SDK reads the endpoint from AWS_ENDPOINT_URL, set for both tools.
                    let mut c = Command::new(ours);
                    c.current_dir(repo()).args([
                        "deploy",
                        DIAGRAM,
                        "--stack-name",
                        STACK,
                        "--parameter",
                        PARAMETER,
                        "--yes",
                    ]);
                    c
                } else {
                    let mut c = Command::new(&aws);
                    c.args(["cloudformation", "deploy", "--template-file"]).arg(&template).args([
                        "--stack-name",
                        STACK,
                        "--parameter-overrides",
                        PARAMETER,
                        "--region",
                        "us-east-1",
                        "--endpoint-url",
                        url,
                    ]);
                    c
                }
            };
            tool_runs.push(run(tool, completes, command));
        }
        results.push((tool, tool_runs));
    }

    println!();
    println!(
        "deploy exit lag: a stack that completes {} s after ExecuteChangeSet (plus 0 to 1 s across the runs), {runs} runs per tool",
        COMPLETES_AFTER.as_secs()
    );
    println!();
    println!(
        "| tool | exit lag median | exit lag max | status seen after (median) | calls/min while following | calls while following |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    for (tool, runs) in &results {
        let lags: Vec<Duration> = runs.iter().map(|r| r.exit_lag).collect();
        let seen: Vec<Duration> = runs.iter().map(|r| r.seen_lag).collect();
        let max = lags.iter().max().copied().unwrap_or_default();
        let per_minute = runs.iter().map(|r| r.per_minute).fold(0.0, f64::max);
        let last = runs.last().expect("a run");
        let calls: Vec<String> = last.by_action.iter().map(|(a, n)| format!("{n} {a}")).collect();
        println!(
            "| `{tool}` | {:.2} s | {:.2} s | {:.2} s | {per_minute:.0} | {} in {:.1} s (exit {:?}) |",
            median(lags).as_secs_f64(),
            max.as_secs_f64(),
            median(seen).as_secs_f64(),
            calls.join(", "),
            last.followed.as_secs_f64(),
            last.code,
        );
    }
    println!();
    println!(
        "rain (for the budget): each 2-second poll makes DescribeStacks, DescribeChangeSet and DescribeStackResources: 90 calls/min at most."
    );
}
