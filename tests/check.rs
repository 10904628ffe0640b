//! `mermaid2aws check` on files and folders: in sync, out of sync (an edited label, an added edge,
//! a removed node, a stale or reformatted or missing template), compile errors, warnings with
//! and without `--strict`, the JSON report, and no network without a stack.

mod support;

use support::{run_in, text};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

const README: &str = "# Shop\n\nSome prose.\n\n## Architecture\n\n```mermaid\nflowchart LR\n    U[Users] -->|https 443| ALB[Application Load Balancer]\n    ALB -->|http 8080| App[App servers]\n    App -->|tcp 5432| DB[(PostgreSQL)]\n    App --> Q[SQS queue]\n```\n\n## Events\n\n```mermaid\nflowchart LR\n    F[Lambda function] --> T[DynamoDB table]\n```\n";

/// A fresh directory holding `README.md` and its committed templates (`infra/`), made the way
/// the README says: `mermaid2aws compile README.md -o infra`.
fn repo(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("check").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("infra")).unwrap();
    std::fs::write(dir.join("README.md"), README).unwrap();
    let compiled = run_in(&dir, &["compile", "README.md", "-o", "infra"]);
    assert_eq!(compiled.status.code(), Some(0), "{}", text(&compiled.stderr));
    dir
}

fn edit(dir: &Path, from: &str, to: &str) {
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains(from), "{from:?} not in the README");
    std::fs::write(dir.join("README.md"), readme.replacen(from, to, 1)).unwrap();
}

#[test]
fn in_sync_is_exit_0_and_says_nothing() {
    let dir = repo("in-sync");
    assert_eq!(
        std::fs::read_dir(dir.join("infra")).unwrap().count(),
        2,
        "compile -o wrote one template per diagram"
    );
    for args in [
        vec!["check", "README.md", "--templates", "infra"],
        vec!["check", ".", "--templates", "infra"],
    ] {
        let out = run_in(&dir, &args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "", "{args:?}");
        assert_eq!(text(&out.stderr), "", "{args:?}");
    }
    let verbose = run_in(&dir, &["check", "README.md", "--templates", "infra", "--verbose"]);
    assert_eq!(
        text(&verbose.stdout),
        "README.md:8:1 diagram `Architecture`: template infra/architecture.json in sync\n\
         README.md:18:1 diagram `Events`: template infra/events.json in sync\n\
         in sync: 2 diagram(s)\n"
    );
}

#[test]
fn an_edited_label_is_out_of_sync_element_by_element() {
    let dir = repo("edited-label");
    edit(&dir, "DB[(PostgreSQL)]", "DB[(MySQL)]");
    let out = run_in(&dir, &["check", "README.md", "--templates", "infra"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.starts_with("README.md:8:1 diagram `Architecture`: template infra/architecture.json is stale; the diagram now compiles to:\n"),
        "{report}"
    );
    assert!(report.contains("  element DB\n"), "{report}");
    assert!(report.contains("README.md:11:23"), "the element's line: {report}");
    assert!(report.contains("3306"), "MySQL's port: {report}");
    assert!(
        report.contains("update it with: mermaid2aws compile README.md -o infra\n"),
        "{report}"
    );
    assert!(report.ends_with("out of sync: 1 of 2 diagram(s)\n"), "{report}");
    insta::assert_snapshot!("edited_label", report);
}

#[test]
fn an_added_edge_is_a_new_rule_on_its_line() {
    let dir = repo("added-edge");
    edit(&dir, "    App --> Q[SQS queue]\n", "    App --> Q[SQS queue]\n    U -->|ssh| App\n");
    let out = run_in(&dir, &["check", "README.md", "--templates", "infra"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    let added: Vec<&str> = report.lines().filter(|l| l.trim_start().starts_with("+ ")).collect();
    assert!(
        added
            .iter()
            .any(|l| l.contains("AWS::EC2::SecurityGroupIngress") && l.contains("README.md:13:")),
        "{report}"
    );
    assert!(report.contains("rule tcp 22 from 0.0.0.0/0"), "{report}");
}

#[test]
fn a_removed_node_lists_its_resources_as_removed() {
    let dir = repo("removed-node");
    edit(&dir, "    App --> Q[SQS queue]\n", "");
    let out = run_in(&dir, &["check", "README.md", "--templates", "infra"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("  element Q\n    - QQueue  AWS::SQS::Queue  README.md:12:13\n"),
        "{report}"
    );
    // The app's only grant was to the queue: its inline policy goes.
    assert!(
        report.contains(
            "~ AppRole  AWS::IAM::Role  README.md:10:24\n        Properties.Policies: removed"
        ),
        "{report}"
    );
    // The diagram below moved up a line: its template records where each element is.
    assert!(
        report.contains("~ FFunction  AWS::Lambda::Function  README.md:18:5\n        moved from README.md:19:5 to README.md:18:5\n"),
        "{report}"
    );
}

#[test]
fn a_reformatted_or_missing_template_is_out_of_sync_too() {
    let dir = repo("formatting");
    let path = dir.join("infra/events.json");
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    std::fs::write(&path, value.to_string()).unwrap();
    std::fs::remove_file(dir.join("infra/architecture.json")).unwrap();
    let out = run_in(&dir, &["check", "README.md", "--templates", "infra"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "README.md:8:1 diagram `Architecture`: template infra/architecture.json is missing\n  \
         write it with: mermaid2aws compile README.md -o infra\n\
         README.md:18:1 diagram `Events`: template infra/events.json differs only in formatting (same resources and properties)\n  \
         compile output is deterministic; rewrite it with: mermaid2aws compile README.md -o infra\n\
         out of sync: 2 of 2 diagram(s)\n"
    );
    // What the help says to run puts it right.
    let fixed = run_in(&dir, &["compile", "README.md", "-o", "infra"]);
    assert_eq!(fixed.status.code(), Some(0));
    assert_eq!(
        run_in(&dir, &["check", "README.md", "--templates", "infra"]).status.code(),
        Some(0)
    );
}

#[test]
fn yaml_templates_are_compared_as_yaml() {
    let dir = repo("yaml");
    std::fs::remove_dir_all(dir.join("infra")).unwrap();
    std::fs::create_dir_all(dir.join("infra")).unwrap();
    assert_eq!(
        run_in(&dir, &["compile", "README.md", "-o", "infra", "--format", "yaml"]).status.code(),
        Some(0)
    );
    assert_eq!(
        run_in(&dir, &["check", "README.md", "--templates", "infra"]).status.code(),
        Some(0)
    );
    edit(&dir, "T[DynamoDB table]", "T[DynamoDB table]\n    F --> S[SNS topic]");
    let out = run_in(&dir, &["check", "README.md", "--templates", "infra"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stdout).contains("+ STopic  AWS::SNS::Topic"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("-o infra --format yaml"), "{}", text(&out.stdout));
}

#[test]
fn the_json_report_says_everything() {
    let dir = repo("json");
    edit(&dir, "DB[(PostgreSQL)]", "DB[(MySQL)]");
    let out = run_in(&dir, &["check", "README.md", "--templates", "infra", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(report["status"], "out_of_sync");
    let diagrams = report["diagrams"].as_array().unwrap();
    assert_eq!(diagrams.len(), 2);
    assert_eq!(diagrams[0]["template"]["status"], "stale");
    assert_eq!(diagrams[1]["template"]["status"], "in_sync");
    let changes = diagrams[0]["template"]["changes"].as_array().unwrap();
    assert!(
        changes.iter().any(|c| c["element"] == "DB" && c["source"] == "README.md:11:23"),
        "{changes:?}"
    );
    assert!(
        changes.iter().all(|c| ["add", "modify", "remove"].contains(&c["kind"].as_str().unwrap()))
    );
}

#[test]
fn diagrams_that_do_not_compile_are_a_user_error_with_nothing_on_stdout() {
    let dir = repo("broken");
    edit(&dir, "App -->|tcp 5432| DB[(PostgreSQL)]", "App -->|tcp 5432| DB[(PostgreSQL)");
    for format in ["text", "json"] {
        let out = run_in(&dir, &["check", ".", "--templates", "infra", "--format", format]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(text(&out.stdout), "");
        assert!(text(&out.stderr).contains("README.md:11:"), "{}", text(&out.stderr));
    }
    let no_folder = run_in(&dir, &["check", "README.md", "--templates", "templates"]);
    assert_eq!(no_folder.status.code(), Some(1));
    assert!(text(&no_folder.stderr).contains("the templates folder `templates` does not exist"));
    let missing = run_in(&dir, &["check", "nowhere"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("cannot read `nowhere`"), "{}", text(&missing.stderr));
}

#[test]
fn warnings_are_shown_and_fail_only_with_strict() {
    let dir = repo("warnings");
    std::fs::write(dir.join("odd.mmd"), "graph LR\n  W[Web server] --> Z[Zork thing]\n").unwrap();
    let out = run_in(&dir, &["check", "odd.mmd"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("odd.mmd:2:21: warning"), "{}", text(&out.stderr));
    let strict = run_in(&dir, &["check", "odd.mmd", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(text(&strict.stderr).contains("--strict"), "{}", text(&strict.stderr));
    assert_eq!(text(&strict.stdout), "");
}

#[test]
fn folders_are_walked_skipping_target_and_hidden_folders() {
    let dir = repo("walk");
    for (path, body) in [
        ("docs/a.mmd", "graph LR\n  Q[SQS queue]\n"),
        ("target/broken.mmd", "graph LR\n  A[(\n"),
        (".hidden/broken.md", "```mermaid\ngraph LR\n  A[(\n```\n"),
        ("docs/notes.txt", "graph LR\n  A[(\n"),
        ("CHANGELOG.md", "# Changes\n\nNo diagram here.\n"),
        ("docs/sequence.md", "```mermaid\nsequenceDiagram\n  A->>B: hi\n```\n"),
        ("docs/pets.mmd", "pie title Pets\n  \"Dogs\" : 3\n"),
    ] {
        std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
        std::fs::write(dir.join(path), body).unwrap();
    }
    let out = run_in(&dir, &["check", ".", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<&str> = report["diagrams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["README.md", "README.md", "docs/a.mmd"]);
    // Two files whose diagrams map to the same template name cannot share a templates folder.
    std::fs::write(dir.join("docs/events.mmd"), "graph LR\n  Q[SQS queue]\n").unwrap();
    let clash = run_in(&dir, &["check", ".", "--templates", "infra"]);
    assert_eq!(clash.status.code(), Some(1));
    assert!(
        text(&clash.stderr).contains("both map to the template `events`"),
        "{}",
        text(&clash.stderr)
    );
}

#[test]
fn stacks_need_one_diagram_or_a_mapping() {
    let dir = repo("stack-args");
    let drift = run_in(&dir, &["check", "README.md", "--drift"]);
    assert_eq!(drift.status.code(), Some(1));
    assert!(text(&drift.stderr).contains("--drift needs a stack"), "{}", text(&drift.stderr));
    let out = run_in(&dir, &["check", "README.md", "--stack-name", "shop"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("--stack-name needs exactly one diagram; 2 were found"), "{err}");
    assert!(err.contains("--stacks"), "{err}");
    std::fs::write(dir.join("stacks.toml"), "[[stack]]\nname = \"shop\"\nfile = \"README.md\"\n")
        .unwrap();
    let out = run_in(&dir, &["check", "README.md", "--stacks", "stacks.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("has 2 diagrams"), "{}", text(&out.stderr));
    std::fs::write(
        dir.join("stacks.toml"),
        "[[stack]]\nname = \"shop\"\nfile = \"README.md\"\nregion = 1\n",
    )
    .unwrap();
    let out = run_in(&dir, &["check", "README.md", "--stacks", "stacks.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("stacks.toml:4:1"), "{}", text(&out.stderr));
}

/// Without a stack, check never builds an AWS connection: an endpoint that records every
/// connection sees none, even with AWS settings in the environment.
#[test]
fn no_network_without_a_stack() {
    let dir = repo("offline");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let out = Command::new(env!("CARGO_BIN_EXE_mermaid2aws"))
        .args(["check", ".", "--templates", "infra"])
        .current_dir(&dir)
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
}

/// A stack named without a region (or credentials) is the user's to fix: exit 1, no call made.
#[test]
fn a_stack_without_a_region_is_a_user_error() {
    let dir = repo("no-region");
    std::fs::write(dir.join("one.mmd"), "graph LR\n    Q[SQS queue]\n").unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mermaid2aws"));
    let out = support::isolate_from_aws_config(&mut command)
        .args(["check", "one.mmd", "--stack-name", "shop"])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no AWS region is set"), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
}
