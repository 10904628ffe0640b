//! The ready-to-use integrations: the GitHub Actions workflow example and the pre-commit hook.
//! Both files are parsed, and every `mermaid2aws` command they run is run on a fixture
//! repository: the gate passes when in sync and fails when not, and the drawn change is a
//! Markdown comment whose Mermaid block mermaid-js accepts.

mod support;

use support::{run_in, text};

use std::path::PathBuf;

use serde::Deserialize;

const README: &str = "# Shop\n\n## Architecture\n\n```mermaid\nflowchart LR\n    U[Users] -->|https 443| ALB[Application Load Balancer]\n    ALB -->|http 8080| App[App servers]\n    App -->|tcp 5432| DB[(PostgreSQL)]\n```\n";

fn fixture(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("integrations").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("infra")).unwrap();
    std::fs::write(dir.join("README.md"), README).unwrap();
    let out = run_in(&dir, &["compile", "README.md", "-o", "infra"]);
    assert_eq!(out.status.code(), Some(0));
    dir
}

/// The words of a command line that needs no shell features beyond `"..."` and `$VAR`
/// (what the integration files are written with), `$VAR`s replaced from `vars`.
fn words(line: &str, vars: &[(&str, &str)]) -> Vec<String> {
    let mut line = line.to_string();
    for (name, value) in vars {
        line = line.replace(&format!("\"${name}\""), value).replace(&format!("${name}"), value);
    }
    assert!(!line.contains('$') && !line.contains('\''), "unexpected shell syntax: {line}");
    line.split_whitespace().map(|w| w.trim_matches('"').to_string()).collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hook {
    id: String,
    name: String,
    description: String,
    entry: String,
    language: String,
    files: String,
    pass_filenames: bool,
}

#[test]
fn the_pre_commit_hook_runs_check_on_markdown_and_mermaid_files() {
    let yaml = std::fs::read_to_string(support::repo_dir().join(".pre-commit-hooks.yaml")).unwrap();
    let hooks: Vec<Hook> = yaml_serde::from_str(&yaml).expect("a list of hooks");
    let [hook] = hooks.as_slice() else { panic!("one hook: {hooks:?}") };
    assert_eq!(hook.id, "mermaid2aws-check");
    assert!(!hook.name.is_empty() && !hook.description.is_empty());
    assert!(["rust", "system"].contains(&hook.language.as_str()), "{}", hook.language);
    assert!(hook.pass_filenames);
    // The files pattern is exactly the extensions check walks folders for.
    let extensions = hook
        .files
        .strip_prefix("\\.(")
        .and_then(|f| f.strip_suffix(")$"))
        .unwrap_or_else(|| panic!("files is \\.(EXT|...)$: {}", hook.files));
    assert_eq!(extensions.split('|').collect::<Vec<_>>(), ["md", "markdown", "mmd", "mermaid"]);

    let entry = words(&hook.entry, &[]);
    assert_eq!(entry[0], "mermaid2aws");
    let dir = fixture("pre-commit");
    std::fs::write(dir.join("extra.mmd"), "graph LR\n    Q[SQS queue]\n").unwrap();
    // As pre-commit runs it: the entry, the user's args, then the staged files.
    let staged = ["README.md", "extra.mmd"];
    let plain: Vec<&str> = entry[1..].iter().map(String::as_str).chain(staged).collect();
    let ok = run_in(&dir, &plain);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let with_templates: Vec<&str> = entry[1..]
        .iter()
        .map(String::as_str)
        .chain(["--templates", "infra", "README.md"])
        .collect();
    assert_eq!(run_in(&dir, &with_templates).status.code(), Some(0));
    // A warning fails the commit (--strict), as does a stale template (exit 3).
    std::fs::write(dir.join("extra.mmd"), "graph LR\n    Z[Zork thing]\n").unwrap();
    assert_eq!(run_in(&dir, &plain).status.code(), Some(1));
    let readme = README.replace("tcp 5432", "tcp 6432");
    std::fs::write(dir.join("README.md"), readme).unwrap();
    assert_eq!(run_in(&dir, &with_templates).status.code(), Some(3));
}

#[test]
fn the_github_workflow_gates_on_check_and_posts_the_drawn_change() {
    let path = support::repo_dir().join("examples/github/mermaid-diagram-check.yml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    let workflow: serde_json::Value = yaml_serde::from_str(&yaml).expect("the workflow is YAML");
    assert!(workflow["on"]["pull_request"].is_object(), "runs on pull requests: {workflow}");
    assert_eq!(workflow["permissions"]["pull-requests"], "write", "it may comment");
    let steps = workflow["jobs"]["diagrams"]["steps"].as_array().expect("steps");
    let scripts: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(scripts.iter().any(|s| s.contains("gh pr comment")), "it posts a comment");
    assert!(scripts.iter().any(|s| s.contains("GITHUB_STEP_SUMMARY")), "and a job summary");
    // Its commands call no AWS API, so it installs without the AWS SDK (`deploy` feature).
    assert!(
        scripts.iter().any(|s| s.contains("cargo install --locked --no-default-features")),
        "{scripts:?}"
    );
    let paths = workflow["on"]["pull_request"]["paths"].as_array().expect("paths");
    for ext in ["md", "markdown", "mmd", "mermaid"] {
        assert!(paths.iter().any(|p| p == &format!("**/*.{ext}")), "runs on .{ext} changes");
    }

    // Every mermaid2aws command, in order, on a pull request that changes the diagram.
    let dir = fixture("workflow");
    // The runner's temporary folder is outside the checkout.
    let temp = dir.with_file_name("workflow-runner-temp");
    let _ = std::fs::remove_dir_all(&temp);
    std::fs::create_dir_all(&temp).unwrap();
    // What the step's `git show` writes: the README of the pull request's base.
    std::fs::write(temp.join("README.base.md"), README).unwrap();
    let temp = temp.display().to_string();
    let commands: Vec<Vec<String>> = scripts
        .iter()
        .flat_map(|s| s.lines())
        .map(str::trim)
        .filter(|l| l.starts_with("mermaid2aws "))
        .map(|l| words(l, &[("RUNNER_TEMP", &temp)]))
        .collect();
    assert_eq!(commands.len(), 2, "check, then diff: {commands:?}");
    assert_eq!(commands[0][1], "check");
    assert_eq!(commands[1][1], "diff");
    let run = |command: &[String]| {
        // `> FILE` is the shell's: the output goes there.
        let (args, target) = match command.iter().position(|w| w == ">") {
            Some(i) => (&command[1..i], Some(command[i + 1].clone())),
            None => (&command[1..], None),
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_in(&dir, &args);
        if let Some(target) = target {
            std::fs::write(&target, &out.stdout).unwrap();
        }
        out
    };
    let gate = run(&commands[0]);
    assert_eq!(gate.status.code(), Some(0), "in sync: {}", text(&gate.stderr));
    let drawn = run(&commands[1]);
    assert_eq!(drawn.status.code(), Some(0), "{}", text(&drawn.stderr));
    let comment = std::fs::read_to_string(format!("{temp}/diagram-change.md")).unwrap();
    assert!(comment.contains("No resource changes."), "{comment}");

    // The pull request edits the diagram: the gate fails, and the comment draws the change.
    std::fs::write(
        dir.join("README.md"),
        README.replace(
            "    App -->|tcp 5432| DB[(PostgreSQL)]\n",
            "    App -->|tcp 5432| DB[(PostgreSQL)]\n    App --> Q[SQS queue]\n",
        ),
    )
    .unwrap();
    let gate = run(&commands[0]);
    assert_eq!(gate.status.code(), Some(3));
    assert!(
        text(&gate.stdout).contains("+ QQueue  AWS::SQS::Queue  README.md:10:"),
        "{}",
        text(&gate.stdout)
    );
    assert_eq!(run(&commands[1]).status.code(), Some(0));
    let comment = std::fs::read_to_string(format!("{temp}/diagram-change.md")).unwrap();
    assert!(
        comment.contains("| add | `Q` | `QQueue` | AWS::SQS::Queue | `README.md:10:"),
        "{comment}"
    );
    let block = comment.split("```mermaid\n").nth(1).unwrap().split("```").next().unwrap();
    assert!(block.contains("[\"+ SQS queue\"]:::added"), "{block}");
    support::assert_mermaid_accepts(block);
}

/// A repository whose README holds the seed's two diagrams (IaaS flowchart, PaaS
/// architecture-beta) gates its pull requests: in sync passes, an edit fails with the element
/// and line, and both diagrams' changes are drawn as Mermaid that mermaid-js accepts.
#[test]
fn a_readme_holding_the_seed_diagrams_is_gated_and_its_changes_drawn() {
    let seed = std::fs::read_to_string(support::repo_dir().join("diagrams/seed.md")).unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("integrations").join("seed");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("infra")).unwrap();
    std::fs::write(dir.join("README.md"), &seed).unwrap();
    std::fs::write(dir.join("README.base.md"), &seed).unwrap();
    assert_eq!(run_in(&dir, &["compile", "README.md", "-o", "infra"]).status.code(), Some(0));
    // As the workflow example runs it: warnings fail the gate too.
    let gate = run_in(&dir, &["check", "README.md", "--templates", "infra", "--strict"]);
    assert_eq!(gate.status.code(), Some(0), "{}", text(&gate.stderr));
    assert_eq!(text(&gate.stderr), "", "the seed's diagrams compile without a warning");

    let edited = seed
        .replace("    R <--> K\n", "")
        .replace("ASG <--> S3[S3 Bucket]", "ASG <--> S3[S3 Bucket]\nASG --> Q[SQS queue]");
    assert_ne!(edited, seed);
    std::fs::write(dir.join("README.md"), &edited).unwrap();
    let gate = run_in(&dir, &["check", "README.md", "--templates", "infra", "--strict"]);
    assert_eq!(gate.status.code(), Some(3));
    let report = text(&gate.stdout);
    assert!(report.contains("README.md:5:1 diagram `IaaS implementation`: template infra/iaas-implementation.json is stale"), "{report}");
    assert!(report.contains("+ QQueue  AWS::SQS::Queue  README.md:"), "{report}");
    assert!(report.contains("~ KInstance  AWS::EC2::Instance  README.md:36:5\n        moved from README.md:35:5 to README.md:36:5\n"), "{report}");
    // What the workflow posts: every diagram of the README, paired by heading.
    let drawn = run_in(&dir, &["diff", "README.base.md", "README.md", "--format", "markdown"]);
    assert_eq!(drawn.status.code(), Some(0), "{}", text(&drawn.stderr));
    let comment = text(&drawn.stdout);
    let blocks: Vec<&str> = comment
        .split("```mermaid\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert_eq!(blocks.len(), 2, "both diagrams drawn: {comment}");
    assert!(comment.contains("### mermaid2aws: `IaaS implementation`: changes from"), "{comment}");
    assert!(
        comment.contains("### mermaid2aws: `PaaS/SaaS implementation`: changes from"),
        "{comment}"
    );
    assert!(blocks[0].contains("[\"+ SQS queue\"]:::added"), "{comment}");
    assert!(
        blocks[0].contains("-.-|\"-\"|") || blocks[0].contains("-.->|\"-\"|"),
        "the removed R--K edge: {comment}"
    );
    for block in blocks {
        support::assert_mermaid_accepts(block);
    }
}
