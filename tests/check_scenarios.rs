//! `check --stack-name` and `diff --format mermaid|markdown` with the real SDK client against the
//! scripted CloudFormation endpoint: drift detection (which moto does not have) and a change set
//! that replaces, adds and removes resources, drawn as the diagram.

mod support;

use support::text;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::scripted_cfn::{
    Change, Replacement, Scenario, ScriptedCfn, ScriptedDrift, aws_client_env,
};

const STACK: &str = "shop";
const CERT: &str = "ALBCertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c";

/// A working directory holding the three-tier diagram as `three-tier.mmd`.
fn workdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("check_scenarios").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let diagram =
        std::fs::read_to_string(support::repo_dir().join("diagrams/three-tier.mmd")).unwrap();
    std::fs::write(dir.join("three-tier.mmd"), diagram).unwrap();
    dir
}

fn run(dir: &Path, cfn: &ScriptedCfn, args: &[&str]) -> Output {
    let out = aws_client_env(&mut Command::new(env!("CARGO_BIN_EXE_mermaid2aws")), &cfn.url)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!(
        "$ mermaid2aws {} -> {:?}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// The template `compile` writes for the diagram in `dir` (what `deploy` sent).
fn compiled(dir: &Path, file: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mermaid2aws"))
        .args(["compile", file])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn source_of(template: &str, logical_id: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(template).unwrap();
    value["Resources"][logical_id]["Metadata"]["Mermaid2Aws"]["Source"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_deployed_stack_in_sync_passes_and_drift_is_reported_on_the_diagram_elements() {
    let dir = workdir("drift");
    let template = compiled(&dir, "three-tier.mmd");
    let in_sync =
        ScriptedCfn::start(Scenario::default().existing_stack(STACK, "UPDATE_COMPLETE", &template));
    let out = run(&dir, &in_sync, &["check", "three-tier.mmd", "--stack-name", STACK, "--drift"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "");
    let calls: Vec<String> = in_sync.requests().iter().map(|r| r.action.clone()).collect();
    assert_eq!(
        calls,
        [
            "DescribeStacks",
            "GetTemplate",
            "DetectStackDrift",
            "DescribeStackDriftDetectionStatus",
            "DescribeStackDriftDetectionStatus",
            "DescribeStackResourceDrifts"
        ]
    );
    // GetTemplate asks for the original template.
    let get = in_sync.requests().into_iter().find(|r| r.action == "GetTemplate").unwrap();
    assert_eq!(get.params.get("TemplateStage").map(String::as_str), Some("Original"));

    let drifted = ScriptedCfn::start(
        Scenario::default().existing_stack(STACK, "UPDATE_COMPLETE", &template).drifted(vec![
            ScriptedDrift::modified("DBDatabase", "AWS::RDS::DBInstance").difference(
                "/DBInstanceClass",
                "db.t4g.small",
                "db.r6g.large",
            ),
            ScriptedDrift::deleted("CacheFromApp6379Ingress", "AWS::EC2::SecurityGroupIngress"),
        ]),
    );
    let out = run(&dir, &drifted, &["check", "three-tier.mmd", "--stack-name", STACK, "--drift"]);
    assert_eq!(out.status.code(), Some(3));
    let report = text(&out.stdout);
    let db = source_of(&template, "DBDatabase");
    let rule = source_of(&template, "CacheFromApp6379Ingress");
    assert!(report.contains("stack `shop` has drifted from its template:"), "{report}");
    assert!(
        report.contains(&format!(
            "  element DB\n    MODIFIED DBDatabase  AWS::RDS::DBInstance  {db}\n        /DBInstanceClass: expected db.t4g.small, actual db.r6g.large\n"
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "  element App\n    DELETED CacheFromApp6379Ingress  AWS::EC2::SecurityGroupIngress  {rule}\n"
        )),
        "{report}"
    );
    let json = run(
        &dir,
        &drifted,
        &["check", "three-tier.mmd", "--stack-name", STACK, "--drift", "--format", "json"],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let stack = &value["diagrams"][0]["stack"];
    assert_eq!(stack["status"], "in_sync", "the template itself matches");
    assert_eq!(stack["drift"]["status"], "DRIFTED");
    assert_eq!(stack["drift"]["resources"][0]["element"], "DB");
    assert_eq!(stack["drift"]["resources"][0]["source"], db.as_str());
}

#[test]
fn a_stack_running_another_template_is_out_of_sync_and_a_missing_stack_too() {
    let dir = workdir("other-template");
    let old = compiled(&dir, "three-tier.mmd");
    let diagram = std::fs::read_to_string(dir.join("three-tier.mmd")).unwrap();
    std::fs::write(dir.join("three-tier.mmd"), diagram.replace("TCP/6379", "TCP/6380")).unwrap();
    let cfn =
        ScriptedCfn::start(Scenario::default().existing_stack(STACK, "UPDATE_COMPLETE", &old));
    let out = run(&dir, &cfn, &["check", "three-tier.mmd", "--stack-name", STACK]);
    assert_eq!(out.status.code(), Some(3));
    let report = text(&out.stdout);
    assert!(report.contains("stack `shop` runs another template"), "{report}");
    assert!(report.contains("- CacheFromApp6379Ingress"), "{report}");
    assert!(report.contains("+ CacheFromApp6380Ingress"), "{report}");
    assert!(
        !cfn.requests().iter().any(|r| r.action == "DetectStackDrift"),
        "no --drift, no detection"
    );

    let empty = ScriptedCfn::start(Scenario::default());
    std::fs::write(
        dir.join("stacks.toml"),
        "[[stack]]\nname = \"other\"\nfile = \"three-tier.mmd\"\n",
    )
    .unwrap();
    let out = run(&dir, &empty, &["check", ".", "--stacks", "stacks.toml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["diagrams"][0]["stack"]["name"], "other");
    assert_eq!(value["diagrams"][0]["stack"]["status"], "missing");
}

/// The seed's three tiers, changed: the database replaced, the cache removed, a queue added.
fn changed_three_tier(dir: &Path) -> String {
    let diagram = std::fs::read_to_string(dir.join("three-tier.mmd")).unwrap();
    let changed = diagram
        .replace("        Cache[ElastiCache for Redis]\n", "")
        .replace("    App -->|TCP/6379| Cache\n", "")
        .replace("    App --> Assets[S3 Bucket]", "    App --> Assets[S3 Bucket]\n    App -->|\"orders #quot;v2#quot; [EU] ✓\"| Q[SQS queue]")
        .replace("class=db.t4g.small", "class=db.r6g.large");
    assert_ne!(changed, diagram);
    std::fs::write(dir.join("three-tier.mmd"), &changed).unwrap();
    changed
}

fn replacing_scenario(deployed: &str) -> Scenario {
    Scenario::default().existing_stack(STACK, "UPDATE_COMPLETE", deployed).changes(vec![
        Change::modify("DBDatabase", "AWS::RDS::DBInstance", Replacement::True)
            .property("DBInstanceClass"),
        Change::modify("AppRole", "AWS::IAM::Role", Replacement::False),
        Change::add("QQueue", "AWS::SQS::Queue"),
        Change::remove("CacheReplicationGroup", "AWS::ElastiCache::ReplicationGroup"),
        Change::remove("CacheSecurityGroup", "AWS::EC2::SecurityGroup"),
        Change::remove("CacheFromApp6379Ingress", "AWS::EC2::SecurityGroupIngress"),
    ])
}

#[test]
fn a_change_set_with_replacements_is_drawn_as_the_diagram() {
    let dir = workdir("drawn");
    let deployed = compiled(&dir, "three-tier.mmd");
    changed_three_tier(&dir);
    let cfn = ScriptedCfn::start(replacing_scenario(&deployed));
    let out = run(
        &dir,
        &cfn,
        &[
            "diff",
            "three-tier.mmd",
            "--stack-name",
            STACK,
            "--format",
            "mermaid",
            "--parameter",
            CERT,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let drawn = text(&out.stdout);
    // mermaid reads `TD` as `TB`.
    assert!(drawn.starts_with("flowchart TB\n"), "{drawn}");
    let line = |needle: &str| {
        drawn
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{drawn}"))
            .to_string()
    };
    assert!(line("\"! PostgreSQL\"").ends_with(":::replaced"), "{drawn}");
    assert!(line("\"~ App servers").ends_with(":::modified"), "{drawn}");
    assert!(line("\"+ SQS queue\"").ends_with(":::added"), "{drawn}");
    // The cache is gone from the diagram, but still drawn: from the deployed template.
    assert!(line("\"- Cache\"").ends_with(":::removed"), "{drawn}");
    assert!(line("legend_replaced").contains("replaced"), "{drawn}");
    insta::assert_snapshot!("drawn_change_set", drawn);
    support::assert_mermaid_accepts(&drawn);
    // Only reads and the change set's own life cycle: nothing executed.
    assert_eq!(cfn.requests().iter().filter(|r| r.action == "ExecuteChangeSet").count(), 0);
    assert_eq!(cfn.requests().iter().filter(|r| r.action == "DeleteChangeSet").count(), 1);
    // The database's replacement is still said on stderr.
    assert!(text(&out.stderr).contains("DBDatabase"), "{}", text(&out.stderr));

    let cfn = ScriptedCfn::start(replacing_scenario(&deployed));
    let out = run(
        &dir,
        &cfn,
        &[
            "diff",
            "three-tier.mmd",
            "--stack-name",
            STACK,
            "--format",
            "markdown",
            "--parameter",
            CERT,
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let markdown = text(&out.stdout);
    assert!(
        markdown
            .starts_with("### mermaid2aws: changes to stack `shop`\n\n```mermaid\nflowchart TB\n"),
        "{markdown}"
    );
    assert!(
        markdown
            .contains("| replace | `DB` | `DBDatabase` | AWS::RDS::DBInstance | `three-tier.mmd:"),
        "{markdown}"
    );
    assert!(markdown.contains("| remove | `Cache` | `CacheReplicationGroup` |"), "{markdown}");
    assert!(markdown.ends_with("1 to add, 1 to modify, 1 to replace, 3 to remove\n"), "{markdown}");
    let block = markdown.split("```mermaid\n").nth(1).unwrap().split("```").next().unwrap();
    assert_eq!(block, drawn, "the markdown holds the same drawing");
}
