//! `diff OLD NEW`: two revisions of a diagram compared without AWS, as text (element by
//! element, rule by rule) and drawn as Mermaid that our parser and mermaid-js both accept.

mod support;

use support::{run_in, text};

use std::path::PathBuf;

fn workdir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("diff_revisions").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

fn three_tier() -> String {
    std::fs::read_to_string(support::repo_dir().join("diagrams/three-tier.mmd")).unwrap()
}

#[test]
fn resources_and_rules_that_change_are_listed_with_their_side_of_the_diff() {
    let old = three_tier();
    let new = old
        .replace("        Cache[ElastiCache for Redis]\n", "")
        .replace("    App -->|TCP/6379| Cache\n", "")
        .replace("ALB -->|HTTP 8080| App", "ALB -->|HTTP 9090| App")
        .replace(
            "    App --> Assets[S3 Bucket]",
            "    App --> Assets[S3 Bucket]\n    App --> Q[SQS queue]",
        );
    let dir = workdir("three-tier", &[("old.mmd", &old), ("new.mmd", &new)]);
    let out = run_in(&dir, &["diff", "old.mmd", "new.mmd"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    // Removed on the old side's lines, added on the new side's.
    assert!(
        report
            .contains("  - CacheReplicationGroup  AWS::ElastiCache::ReplicationGroup  old.mmd:12:"),
        "{report}"
    );
    assert!(report.contains("  + QQueue  AWS::SQS::Queue  new.mmd:19:13\n"), "{report}");
    assert!(report.contains("rule tcp 9090 from ALBSecurityGroup to AppSecurityGroup"), "{report}");
    assert!(report.contains("rule tcp 8080 from ALBSecurityGroup to AppSecurityGroup"), "{report}");
    assert!(
        report.contains("Statement: + rule Allow sqs:GetQueueAttributes,sqs:SendMessage on QQueue"),
        "{report}"
    );
    // Lines that only moved are no change.
    assert!(!report.contains("Mermaid2Aws.Source"), "{report}");
    insta::assert_snapshot!("three_tier_text", report);

    let drawn = text(&run_in(&dir, &["diff", "old.mmd", "new.mmd", "--format", "mermaid"]).stdout);
    assert!(drawn.contains("[\"- ElastiCache for Redis\"]:::removed"), "{drawn}");
    assert!(drawn.contains("[\"+ SQS queue\"]:::added"), "{drawn}");
    assert!(drawn.contains("-.->|\"- TCP/6379\"|"), "the removed edge is dashed: {drawn}");
    assert!(
        drawn.contains("-->|\"+ HTTP 9090\"|") && drawn.contains("-.->|\"- HTTP 8080\"|"),
        "{drawn}"
    );
    support::assert_mermaid_accepts(&drawn);

    let same = run_in(&dir, &["diff", "old.mmd", "old.mmd"]);
    assert_eq!(text(&same.stdout), "no changes: `old.mmd` and `old.mmd` make the same resources\n");
    let markdown =
        text(&run_in(&dir, &["diff", "old.mmd", "new.mmd", "--format", "markdown"]).stdout);
    assert!(
        markdown
            .starts_with("### mermaid2aws: changes from `old.mmd` to `new.mmd`\n\n```mermaid\n"),
        "{markdown}"
    );
    assert!(markdown.contains("| remove | `Cache` | `CacheReplicationGroup` |"), "{markdown}");
}

#[test]
fn architecture_diagrams_are_drawn_as_flowcharts_with_their_groups() {
    let old = "architecture-beta\n    group cloud(cloud)[AWS]\n    service api(logos:aws-api-gateway)[Public API] in cloud\n    service fn(logos:aws-lambda)[Orders function] in cloud\n    service table(logos:aws-dynamodb)[Orders table] in cloud\n    service topic(logos:aws-sns)[Notifications]\n    junction j in cloud\n    api:R --> L:fn\n    fn:R --> L:table\n    fn:B -- T:j\n    j:R --> L:topic\n";
    let new = old
        .replace(
            "    service topic(logos:aws-sns)[Notifications]\n",
            "    service queue(logos:aws-sqs)[Order \"events\" #1 (EU) ✓] in cloud\n",
        )
        .replace("j:R --> L:topic", "j:R --> L:queue");
    let dir = workdir("architecture", &[("old.mmd", old), ("new.mmd", &new)]);
    let out = run_in(&dir, &["diff", "old.mmd", "new.mmd", "--format", "mermaid"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let drawn = text(&out.stdout);
    assert!(drawn.starts_with("flowchart LR\n"), "{drawn}");
    assert!(drawn.contains("subgraph g0[\"AWS\"]"), "{drawn}");
    assert!(drawn.contains("[\"+ Order #quot;events#quot; #35;1 (EU) ✓\"]:::added"), "{drawn}");
    assert!(drawn.contains("[\"- Notifications\"]:::removed"), "{drawn}");
    assert!(drawn.contains("((\" \"))"), "the junction: {drawn}");
    support::assert_mermaid_accepts(&drawn);
    insta::assert_snapshot!("architecture_drawn", drawn);
}

#[test]
fn labels_with_quotes_entities_brackets_and_markdown_are_drawn_safely() {
    let old = "flowchart LR\n    A[\"Web #quot;front#quot; [v2] {x} ü | a\"] --> B[(\"`**Orders** DB`\")]\n    B --> C>\"S3 bucket: logs #35; <b>bold</b>\"]\n";
    let new = old.replace("[v2]", "[v3]").replace("C>", "D[SQS queue] --> C>");
    let dir = workdir("labels", &[("old.mmd", old), ("new.mmd", &new)]);
    let drawn = text(&run_in(&dir, &["diff", "old.mmd", "new.mmd", "--format", "mermaid"]).stdout);
    support::assert_mermaid_accepts(&drawn);
    let parsed = support::our_parse(&drawn);
    let labels: Vec<&str> =
        parsed["nodes"].as_array().unwrap().iter().map(|n| n["label"].as_str().unwrap()).collect();
    // The label is kept as written (entities included); `|` is written as an entity.
    assert!(labels.contains(&"Web #quot;front#quot; [v3] {x} ü #124; a"), "{labels:?}");
    assert!(labels.contains(&"S3 bucket: logs #35; <b>bold</b>"), "{labels:?}");
    assert!(labels.contains(&"+ SQS queue"), "{labels:?}");
}

#[test]
fn diff_needs_a_stack_or_a_new_revision_not_both() {
    let dir = workdir("arguments", &[("a.mmd", "graph LR\n  Q[SQS queue]\n")]);
    let neither = run_in(&dir, &["diff", "a.mmd"]);
    assert_eq!(neither.status.code(), Some(1));
    assert!(
        text(&neither.stderr).contains("diff needs something to compare the diagram with"),
        "{}",
        text(&neither.stderr)
    );
    assert!(text(&neither.stderr).contains("`diff OLD NEW`"), "{}", text(&neither.stderr));
    let both = run_in(&dir, &["diff", "a.mmd", "a.mmd", "--stack-name", "s"]);
    assert_eq!(both.status.code(), Some(1));
    assert!(text(&both.stderr).contains("not both"), "{}", text(&both.stderr));
    let params = run_in(&dir, &["diff", "a.mmd", "a.mmd", "--parameter", "K=V"]);
    assert_eq!(params.status.code(), Some(1));
    assert!(
        text(&params.stderr).contains("only apply to a diff with a stack"),
        "{}",
        text(&params.stderr)
    );
    for out in [neither, both, params] {
        assert_eq!(text(&out.stdout), "");
    }
}

/// Every example diagram, drawn all added and all removed, parses the same in mermaid-js and
/// in our parser.
#[test]
fn every_example_diagram_is_drawn_as_mermaid_that_mermaid_accepts() {
    let base = "graph LR\n    Q[SQS queue]\n";
    let dir = workdir("examples", &[("base.mmd", base)]);
    let mut examples: Vec<PathBuf> = std::fs::read_dir(support::repo_dir().join("diagrams"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mmd"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 5, "{examples:?}");
    for example in &examples {
        let example = example.to_str().unwrap();
        for (old, new) in [("base.mmd", example), (example, "base.mmd")] {
            let out = run_in(&dir, &["diff", old, new, "--format", "mermaid"]);
            assert_eq!(out.status.code(), Some(0), "{old} -> {new}: {}", text(&out.stderr));
            let drawn = text(&out.stdout);
            assert!(drawn.contains(":::added") && drawn.contains(":::removed"), "{drawn}");
            support::assert_mermaid_accepts(&drawn);
        }
    }
}

/// The fenced `mermaid` blocks of a Markdown text.
fn mermaid_blocks(markdown: &str) -> Vec<String> {
    markdown
        .split("```mermaid\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_readme_with_several_diagrams_is_compared_diagram_by_diagram_paired_by_heading() {
    let seed = std::fs::read_to_string(support::repo_dir().join("diagrams/seed.md")).unwrap();
    let edited = seed.replace("http 8080", "http 9090");
    assert_ne!(seed, edited);
    // The IaaS diagram only, moved down by a paragraph: the PaaS diagram is removed whole.
    let paas = seed.find("## PaaS").expect("the PaaS heading");
    let iaas_only = format!("Intro.\n\n{}", &seed[..paas]);
    let dir = workdir(
        "several",
        &[
            ("seed.md", &seed),
            ("edited.md", &edited),
            ("iaas-only.md", &iaas_only),
            ("empty.md", ""),
        ],
    );

    let out = run_in(&dir, &["diff", "seed.md", "edited.md"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    let (iaas, paas) = report.split_once("diagram `PaaS/SaaS implementation`:\n").expect(&report);
    assert!(iaas.starts_with("diagram `IaaS implementation`:\n"), "{report}");
    assert!(iaas.contains("rule tcp 9090 from SG1SecurityGroup to SG2SecurityGroup"), "{report}");
    assert_eq!(paas, "no changes: `seed.md` and `edited.md` make the same resources\n");

    let markdown =
        text(&run_in(&dir, &["diff", "seed.md", "edited.md", "--format", "markdown"]).stdout);
    assert!(
        markdown.contains(
            "### mermaid2aws: `IaaS implementation`: changes from `seed.md` to `edited.md`"
        ),
        "{markdown}"
    );
    assert!(
        markdown.contains("### mermaid2aws: `PaaS/SaaS implementation`: changes from"),
        "{markdown}"
    );
    let blocks = mermaid_blocks(&markdown);
    assert_eq!(blocks.len(), 2, "one drawing per diagram: {markdown}");
    for block in &blocks {
        support::assert_mermaid_accepts(block);
    }

    let removed = text(&run_in(&dir, &["diff", "seed.md", "iaas-only.md"]).stdout);
    assert!(
        removed.contains("diagram `PaaS/SaaS implementation`:\na removed diagram\n"),
        "{removed}"
    );
    assert!(removed.contains("  - AMQBroker  AWS::AmazonMQ::Broker  seed.md:"), "{removed}");
    assert!(
        removed.contains("diagram `IaaS implementation`:\nno changes"),
        "moved lines are no change: {removed}"
    );
    let drawn =
        text(&run_in(&dir, &["diff", "seed.md", "iaas-only.md", "--format", "markdown"]).stdout);
    let blocks = mermaid_blocks(&drawn);
    assert_eq!(blocks.len(), 2, "{drawn}");
    let drawing = blocks[1].split("subgraph legend").next().unwrap();
    assert!(drawing.contains("[\"- Amazon MQ\"]:::removed"), "{drawn}");
    assert!(!drawing.contains(":::added") && !drawing.contains(":::modified"), "{drawn}");
    support::assert_mermaid_accepts(&blocks[1]);

    // A README that had no diagram yet (or no README: an empty file): every diagram is new.
    let added = run_in(&dir, &["diff", "empty.md", "seed.md", "--format", "markdown"]);
    assert_eq!(added.status.code(), Some(0), "{}", text(&added.stderr));
    let added = text(&added.stdout);
    assert!(added.contains("`IaaS implementation` (a new diagram)"), "{added}");
    let blocks = mermaid_blocks(&added);
    assert_eq!(blocks.len(), 2, "{added}");
    for block in &blocks {
        let drawing = block.split("subgraph legend").next().unwrap();
        assert!(drawing.contains(":::added"), "{added}");
        assert!(!drawing.contains(":::removed") && !drawing.contains(":::modified"), "{added}");
    }

    // One Mermaid drawing cannot hold two diagrams: pick one, or use Markdown.
    let refused = run_in(&dir, &["diff", "seed.md", "edited.md", "--format", "mermaid"]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(text(&refused.stdout), "");
    assert!(text(&refused.stderr).contains("--diagram N or NAME"), "{}", text(&refused.stderr));
    let one =
        run_in(&dir, &["diff", "seed.md", "edited.md", "--format", "mermaid", "--diagram", "1"]);
    assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
    support::assert_mermaid_accepts(&text(&one.stdout));
}
