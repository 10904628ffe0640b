//! `check --stack-name` and `check --stacks` end to end: the real binary and SDK read the
//! deployed template (GetTemplate) from a moto server started on a free 127.0.0.1 port.
//! moto has no drift detection API: that a failed call is exit 2 is checked here, the drift
//! report itself against the scripted endpoint (`tests/check_scenarios.rs`).

mod support;

use support::text;

use std::path::PathBuf;

use support::moto::Moto;

fn workdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("check_moto").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const DIAGRAM: &str = "graph LR\n    Q[SQS queue]\n    N[SNS topic]\n";

#[test]
fn the_deployed_template_is_compared_with_the_diagram() {
    let moto = Moto::start();
    let dir = workdir("get-template");
    std::fs::write(dir.join("queues.mmd"), DIAGRAM).unwrap();
    std::fs::write(dir.join("other.mmd"), "graph LR\n    T[SNS topic]\n").unwrap();
    let deployed = moto.run(&dir, &["deploy", "queues.mmd", "--stack-name", "queues", "--yes"]);
    assert_eq!(deployed.status.code(), Some(0), "{}", text(&deployed.stderr));

    let in_sync = moto.run(&dir, &["check", "queues.mmd", "--stack-name", "queues"]);
    assert_eq!(in_sync.status.code(), Some(0), "{}", text(&in_sync.stderr));
    assert_eq!(text(&in_sync.stdout), "");

    std::fs::write(dir.join("queues.mmd"), format!("{DIAGRAM}    Q2[SQS queue]\n")).unwrap();
    let changed = moto.run(&dir, &["check", "queues.mmd", "--stack-name", "queues"]);
    assert_eq!(changed.status.code(), Some(3), "{}", text(&changed.stderr));
    let report = text(&changed.stdout);
    assert!(
        report.starts_with("queues.mmd:1:1 diagram `queues`: stack `queues` runs another template; deploying the diagram would change:\n"),
        "{report}"
    );
    assert!(
        report.contains("  element Q2\n    + Q2Queue  AWS::SQS::Queue  queues.mmd:4:5\n"),
        "{report}"
    );

    std::fs::write(
        dir.join("stacks.toml"),
        "[[stack]]\nname = \"queues\"\nfile = \"queues.mmd\"\n\n[[stack]]\nname = \"not-deployed\"\nfile = \"other.mmd\"\ndiagram = \"1\"\n",
    )
    .unwrap();
    let mapped = moto.run(&dir, &["check", ".", "--stacks", "stacks.toml", "--format", "json"]);
    assert_eq!(mapped.status.code(), Some(3), "{}", text(&mapped.stderr));
    let value: serde_json::Value = serde_json::from_slice(&mapped.stdout).unwrap();
    let stacks: Vec<(&str, &str, &str)> = value["diagrams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap(),
                d["stack"]["name"].as_str().unwrap(),
                d["stack"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        stacks,
        [("other.mmd", "not-deployed", "missing"), ("queues.mmd", "queues", "out_of_sync")]
    );

    // moto answers DetectStackDrift with an error: a failed AWS call is exit 2, said on stderr.
    std::fs::write(dir.join("queues.mmd"), DIAGRAM).unwrap();
    let drift = moto.run(&dir, &["check", "queues.mmd", "--stack-name", "queues", "--drift"]);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift.stderr));
    assert!(text(&drift.stderr).contains("DetectStackDrift"), "{}", text(&drift.stderr));
    assert_eq!(text(&drift.stdout), "");
}
