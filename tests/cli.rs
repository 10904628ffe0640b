//! The binary as users run it: outputs, files, exit codes.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mermaid2aws"))
        .args(args)
        .current_dir(support::repo_dir())
        .output()
        .expect("run mermaid2aws")
}

fn scratch(name: &str) -> PathBuf {
    let dir = support::repo_dir().join("target/test-cli").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn compile_prints_json_on_stdout() {
    let out = run(&["compile", "diagrams/seed-iaas.mmd"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let template: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON template");
    assert_eq!(template["AWSTemplateFormatVersion"], "2010-09-09");
}

#[test]
fn compile_markdown_to_a_directory_writes_one_template_per_diagram() {
    let dir = scratch("markdown-dir");
    let out = run(&[
        "compile",
        "diagrams/README.md",
        "-o",
        dir.to_str().expect("utf8"),
        "--format",
        "yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(files(&dir), vec!["back-office.yaml", "storefront.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("skipped `sequenceDiagram`"),
        "the sequence diagram is skipped and said so: {stderr}"
    );
    let yaml: serde_json::Value =
        yaml_serde::from_str(&std::fs::read_to_string(dir.join("storefront.yaml")).expect("read"))
            .expect("YAML parses");
    assert!(yaml["Resources"].as_object().is_some_and(|r| r.len() > 10));
}

/// `-o out/` names a directory even before it exists: it is made, as the README's first
/// example expects; a missing path without the `/` stays a file name.
#[test]
fn compile_to_a_new_directory_makes_it() {
    let dir = scratch("new-dir");
    let made = dir.join("infra").join("out");
    let out = run(&["compile", "diagrams/README.md", "-o", &format!("{}/", made.display())]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(files(&made), vec!["back-office.json", "storefront.json"]);
    let one = dir.join("one");
    let out = run(&["compile", "diagrams/seed-iaas.mmd", "-o", &format!("{}/", one.display())]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(files(&one), vec!["seed-iaas.json"]);
    let missing = dir.join("missing");
    let out = run(&["compile", "diagrams/README.md", "-o", missing.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not a directory") && stderr.contains("end the path with `/`"),
        "{stderr}"
    );
    assert!(!missing.exists());
}

/// Templates written into a folder are all replaced or none: where one of them cannot be
/// written (a folder has its name), the others keep their old text and no staged file is left.
#[test]
fn compile_into_a_folder_replaces_all_templates_or_none() {
    let dir = scratch("all-or-none");
    // The storefront's template is written first, the back office's last.
    std::fs::write(dir.join("storefront.json"), "old\n").expect("write");
    std::fs::create_dir(dir.join("back-office.json")).expect("mkdir");
    let out = run(&["compile", "diagrams/README.md", "-o", &format!("{}/", dir.display())]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write `") && stderr.contains("back-office.json`"), "{stderr}");
    let kept = std::fs::read_to_string(dir.join("storefront.json")).expect("read");
    assert!(kept == "old\n", "the storefront's template was replaced");
    assert_eq!(files(&dir), vec!["back-office.json", "storefront.json"], "nothing staged is left");
}

#[test]
fn a_folder_as_input_points_at_check() {
    let out = run(&["compile", "diagrams"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read `diagrams`"), "{stderr}");
    assert!(stderr.contains("`mermaid2aws check` walks a folder"), "{stderr}");
}

#[test]
fn diagram_picks_one_by_name_or_number() {
    let by_name = run(&["compile", "diagrams/seed.md", "--diagram", "PaaS/SaaS implementation"]);
    let by_number = run(&["compile", "diagrams/seed.md", "--diagram", "2"]);
    assert_eq!(by_name.status.code(), Some(0), "{}", String::from_utf8_lossy(&by_name.stderr));
    assert_eq!(by_name.stdout, by_number.stdout);
    let missing = run(&["compile", "diagrams/seed.md", "--diagram", "7"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("IaaS implementation"),
        "lists the diagrams"
    );
}

#[test]
fn a_failed_compile_leaves_no_file_behind() {
    let dir = scratch("failed");
    let bad = dir.join("bad.md");
    std::fs::write(&bad, "# One\n```mermaid\ngraph LR\n  A[EC2] --> B[(MySQL)]\n```\n# Two\n```mermaid\ngraph LR\n  subgraph X\n```\n").expect("write");
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let out = run(&["compile", bad.to_str().expect("utf8"), "-o", out_dir.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(files(&out_dir).is_empty(), "no partial output: {:?}", files(&out_dir));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.md:9:3"), "points into the Markdown file: {stderr}");
    let file = dir.join("one.json");
    let out = run(&["compile", bad.to_str().expect("utf8"), "-o", file.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!file.exists());
    let new_dir = dir.join("new");
    let out =
        run(&["compile", bad.to_str().expect("utf8"), "-o", &format!("{}/", new_dir.display())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!new_dir.exists(), "a failed compile makes no directory");
}

#[test]
fn emit_dumps_the_intermediate_representations() {
    let graph = run(&["compile", "diagrams/seed-paas.mmd", "--emit", "graph"]);
    let graph: serde_json::Value = serde_json::from_slice(&graph.stdout).expect("graph IR JSON");
    assert_eq!(graph["kind"], "architecture");
    let infra = run(&["compile", "diagrams/seed-paas.mmd", "--emit", "infra"]);
    let infra: serde_json::Value = serde_json::from_slice(&infra.stdout).expect("infra IR JSON");
    assert!(infra["rules"].as_array().is_some_and(|r| !r.is_empty()));
}

#[test]
fn existing_network_takes_the_vpc_as_parameters() {
    let out = run(&["compile", "diagrams/seed-iaas.mmd", "--network", "existing"]);
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(t["Parameters"]["VpcId"]["Type"], "AWS::EC2::VPC::Id");
    assert!(t["Resources"].get("Vpc").is_none());
}

#[test]
fn explain_names_the_evidence_and_the_edges() {
    let out = run(&["explain", "diagrams/seed-iaas.mmd"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("`R` (diagrams/seed-iaas.mmd:29:5) is ec2-redis: label word \"redis\""),
        "{text}"
    );
    assert!(text.contains("from 0.0.0.0/0 on tcp/443"), "{text}");
    assert!(text.contains("role ASGRole may"), "{text}");
}

/// A diagram that names no AWS element has no template (CloudFormation refuses one without
/// resources), but `explain` still shows why each element made nothing.
#[test]
fn a_diagram_without_aws_elements_is_explained_but_not_compiled() {
    let case = "tests/cases/err/no-aws-element.mmd";
    let out = run(&["compile", case]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no template: {}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-aws-element.mmd:3:1: error"), "on the keyword line: {stderr}");
    assert!(stderr.contains("m2a::emit::no_resources"), "{stderr}");

    let out = run(&["explain", case]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(0 resources)"), "{text}");
    assert!(text.contains("`Pack` (tests/cases/err/no-aws-element.mmd:5:16) is unknown"), "{text}");

    // In a block quote, below a comment, the error still points at the keyword.
    let dir = scratch("no-aws-element-quoted");
    let quoted = dir.join("quoted.md");
    std::fs::write(
        &quoted,
        "# Q\n\n> ```mermaid\n> %% a comment\n> flowchart TD\n>   A --> B\n> ```\n",
    )
    .expect("write");
    let out = run(&["compile", quoted.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("quoted.md:5:3: error"), "{stderr}");
}

/// A README often holds a process chart beside its architecture: unmarked, it stops the
/// whole file (no template can be made of it); marked `%% @aws ignore`, it is skipped as a
/// sequence diagram is, and the architecture compiles and checks on its own.
#[test]
fn a_process_chart_marked_ignore_is_skipped_beside_the_architecture() {
    let dir = scratch("ignore-marker");
    let readme = |marker: &str| {
        format!(
            "# Shop\n\n## Infrastructure\n\n```mermaid\nflowchart LR\n  U[Users] --> LB[Load balancer] --> W[Web server]\n```\n\n## Ordering\n\n```mermaid\nflowchart TD\n{marker}  Start([Order placed]) --> Pay{{Paid?}}\n```\n"
        )
    };
    let path = dir.join("README.md");
    let path_text = path.to_str().expect("utf8");
    let templates = dir.join("infra");
    let templates_arg = format!("{}/", templates.display());

    std::fs::write(&path, readme("")).expect("write");
    let out = run(&["compile", path_text, "-o", &templates_arg]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("README.md:13:1: error"), "{stderr}");
    assert!(
        stderr.contains("m2a::emit::no_resources") && stderr.contains("`%% @aws ignore`"),
        "{stderr}"
    );
    assert!(!templates.exists(), "nothing written");

    std::fs::write(&path, readme("  %% @aws ignore\n")).expect("write");
    let out = run(&["compile", path_text, "-o", &templates_arg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("skipped `flowchart` diagram `Ordering`"), "{stderr}");
    assert!(stderr.contains("README.md:14:3"), "the note points at the marker: {stderr}");
    assert_eq!(files(&templates), vec!["infrastructure.json"]);
    let out =
        run(&["check", path_text, "--templates", templates.to_str().expect("utf8"), "--strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["compile", path_text, "--diagram", "Ordering"]);
    assert_eq!(out.status.code(), Some(1), "a marked diagram cannot be picked");
}

#[test]
fn parse_prints_mermaids_schema() {
    let out = run(&["parse", "diagrams/seed-iaas.mmd"]);
    let ours: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(ours["kind"], "flowchart");
    assert_eq!(ours["direction"], "LR");
    let md = run(&["parse", "diagrams/seed.md"]);
    let list: serde_json::Value = serde_json::from_slice(&md.stdout).expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert_eq!(
        list[1]["source"], "diagrams/seed.md:62:1",
        "the line of `architecture-beta` in the Markdown file"
    );
}

#[test]
fn cloudformation_limits_are_checked() {
    let dir = scratch("limits");
    let mut text = String::from("flowchart LR\n  App[EC2 app server]\n");
    for i in 0..120 {
        text.push_str(&format!("  App --> R{i}[Redis]\n"));
    }
    let path = dir.join("big.mmd");
    std::fs::write(&path, text).expect("write");
    let out = run(&["compile", path.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CloudFormation allows 500"), "{stderr}");
    assert!(stderr.contains("big.mmd:1:1"), "{stderr}");
}

/// mermaid keeps `maxEdges` out of a diagram's reach (it is a secure setting): a directive
/// or front matter that raises it changes nothing, as the real parser shows.
#[test]
fn a_diagram_cannot_raise_the_edge_limit() {
    let dir = scratch("max-edges");
    let edges: String = (0..600).map(|i| format!("  N{i} --> N{}\n", i + 1)).collect();
    for (name, head) in [
        ("plain", ""),
        ("directive", "%%{init: {\"maxEdges\": 1000}}%%\n"),
        ("front-matter", "---\nconfig:\n  maxEdges: 1000\n---\n"),
    ] {
        let path = dir.join(format!("{name}.mmd"));
        std::fs::write(&path, format!("{head}flowchart LR\n{edges}")).expect("write");
        let out = run(&["parse", path.to_str().expect("utf8")]);
        assert_eq!(out.status.code(), Some(1), "{name}: mermaid's limit is 500 edges");
        assert!(String::from_utf8_lossy(&out.stderr).contains("edge limit exceeded"), "{name}");
    }
}

/// The site's own limit (mermaid's `initialize({maxEdges})`) is `--max-edges`: 500 by
/// default, as in mermaid, and raised only by the flag.
#[test]
fn max_edges_flag_raises_the_edge_limit() {
    let dir = scratch("max-edges-flag");
    let edges: String = (0..600).map(|i| format!("  N{i} --> N{}\n", i + 1)).collect();
    let path = dir.join("long-chain.mmd");
    // One bucket, so that the template has a resource once the edges pass.
    std::fs::write(&path, format!("flowchart LR\n  Logs[S3 Bucket]\n{edges}")).expect("write");
    let path = path.to_str().expect("utf8");
    for command in ["parse", "compile", "explain", "check"] {
        let out = run(&[command, path]);
        assert_eq!(out.status.code(), Some(1), "{command}: 600 edges are over the default 500");
        assert!(out.stdout.is_empty(), "{command}: no partial output");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("m2a::resolve::edge_limit"), "{command}: {stderr}");
        assert!(stderr.contains("more than 500 edges"), "{command}: {stderr}");
        assert!(stderr.contains("--max-edges"), "{command}: the help names the flag: {stderr}");

        let out = run(&[command, path, "--max-edges", "1000"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{command} --max-edges 1000: {stderr}");
        assert!(!stderr.contains("edge_limit"), "{command}: {stderr}");
    }
    let out = run(&["parse", path, "--max-edges", "1000"]);
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(parsed["edges"].as_array().map(Vec::len), Some(600));

    let out = run(&["parse", path, "--max-edges", "599"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("more than 599 edges"));
}
