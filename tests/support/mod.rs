//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod moto;
pub mod scripted_cfn;

/// `shared/` (conformance corpus, oracle, docs): the one path setting the tests read it
/// through. `M2A_SHARED` overrides the default, `../shared` beside the checkout.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("M2A_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    assert!(
        dir.join("conformance").is_dir(),
        "shared/ not found at {}: set M2A_SHARED to the folder that holds conformance/",
        dir.display()
    );
    dir
}

/// The repository root.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub use scripted_cfn::isolate_from_aws_config;

/// Compile a diagram text (as `name`) and return its templates as JSON.
pub fn compile_text(name: &str, text: &str) -> Vec<serde_json::Value> {
    let file = mermaid2aws::source::SourceFile::new(name, text);
    let (compiled, _) = mermaid2aws::compile_file(
        &file,
        None,
        mermaid2aws::lower::LowerOptions::default(),
        mermaid2aws::emit::Format::Json,
    )
    .unwrap_or_else(|d| {
        panic!("{name} does not compile: {:?}", d.iter().map(|d| &d.message).collect::<Vec<_>>())
    });
    compiled.iter().map(|c| serde_json::from_str(&c.template).expect("template is JSON")).collect()
}

/// A tool installed by `scripts/test` under target/test-tools (or named by an env variable).
/// Fails the test, saying why, when it is missing: never a silent skip.
pub fn tool(env: &str, venv: &str, bin: &str) -> PathBuf {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join("target/test-tools").join(venv).join("bin").join(bin));
    assert!(
        path.is_file(),
        "{bin} not found at {}: run the README's test command (./scripts/test), which installs it, or set {env}",
        path.display()
    );
    path
}

/// The security-group view of a template: which element may reach which on what.
pub struct Reach {
    /// Element id -> the security groups its resources are in.
    pub groups_of: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    /// (to group, from group or CIDR, protocol, from port, to port).
    pub rules: Vec<(String, String, String, i64, i64)>,
}

impl Reach {
    pub fn of(template: &serde_json::Value) -> Reach {
        use std::collections::{BTreeMap, BTreeSet};
        let resources = template["Resources"].as_object().expect("Resources");
        let sgs: BTreeSet<String> = resources
            .iter()
            .filter(|(_, r)| r["Type"] == "AWS::EC2::SecurityGroup")
            .map(|(id, _)| id.clone())
            .collect();
        let mut groups_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut rules = Vec::new();
        for (_, r) in resources {
            let element =
                r["Metadata"]["Mermaid2Aws"]["Element"].as_str().unwrap_or_default().to_string();
            let props = &r["Properties"];
            match r["Type"].as_str() {
                Some("AWS::EC2::SecurityGroupIngress") => {
                    let to =
                        props["GroupId"]["Fn::GetAtt"][0].as_str().unwrap_or_default().to_string();
                    let from = props["SourceSecurityGroupId"]["Fn::GetAtt"][0]
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| props["CidrIp"].as_str().map(str::to_string))
                        .or_else(|| {
                            props["SourcePrefixListId"]["Ref"]
                                .as_str()
                                .map(|_| "cloudfront".to_string())
                        })
                        .unwrap_or_default();
                    let proto = props["IpProtocol"].as_str().unwrap_or_default().to_string();
                    let lo = props["FromPort"].as_i64().unwrap_or(-1);
                    let hi = props["ToPort"].as_i64().unwrap_or(-1);
                    rules.push((to, from, proto, lo, hi));
                }
                Some("AWS::EC2::SecurityGroup") => {}
                _ => {
                    let mut found = BTreeSet::new();
                    collect_refs(props, &sgs, &mut found);
                    if !found.is_empty() {
                        groups_of.entry(element).or_default().extend(found);
                    }
                }
            }
        }
        Reach { groups_of, rules }
    }

    /// May `from` (an element id, or a CIDR like `0.0.0.0/0`) open a TCP connection to
    /// element `to` on `port`?
    pub fn can(&self, from: &str, to: &str, port: i64) -> bool {
        let empty = Default::default();
        let targets = self.groups_of.get(to).unwrap_or(&empty);
        let sources: std::collections::BTreeSet<String> =
            if from.contains('/') || from == "cloudfront" {
                [from.to_string()].into()
            } else {
                self.groups_of.get(from).cloned().unwrap_or_default()
            };
        self.rules.iter().any(|(g, src, proto, lo, hi)| {
            targets.contains(g)
                && sources.contains(src)
                && (proto == "-1" || (proto == "tcp" && *lo <= port && port <= *hi))
        })
    }

    /// Every (group, port range) open to the internet.
    pub fn open_to_internet(&self) -> Vec<(String, i64, i64)> {
        self.rules.iter().filter(|r| r.1 == "0.0.0.0/0").map(|r| (r.0.clone(), r.3, r.4)).collect()
    }
}

fn collect_refs(
    v: &serde_json::Value,
    sgs: &std::collections::BTreeSet<String>,
    out: &mut std::collections::BTreeSet<String>,
) {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Array(a)) = map.get("Fn::GetAtt")
                && let Some(id) = a.first().and_then(|x| x.as_str()).filter(|id| sgs.contains(*id))
            {
                out.insert(id.to_string());
            }
            if let Some(id) = map.get("Ref").and_then(|x| x.as_str()).filter(|id| sgs.contains(*id))
            {
                out.insert(id.to_string());
            }
            for x in map.values() {
                collect_refs(x, sgs, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_refs(x, sgs, out)),
        _ => {}
    }
}

/// What the real mermaid-js parser (shared/tools/mermaid-oracle, installed by `scripts/test`
/// under target/test-tools) makes of `diagram`: its canonical JSON. Fails the test, saying why,
/// when node or the oracle is missing.
pub fn mermaid_oracle(diagram: &str) -> serde_json::Value {
    let oracle = std::env::var_os("M2A_MERMAID_ORACLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join("target/test-tools/mermaid-oracle/oracle.mjs"));
    assert!(
        oracle.is_file() && oracle.with_file_name("node_modules").is_dir(),
        "the mermaid oracle is not installed at {}: run ./scripts/test (it runs npm ci there), or set M2A_MERMAID_ORACLE",
        oracle.display()
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oracle");
    std::fs::create_dir_all(&dir).unwrap();
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let path = dir.join(format!(
        "{}-{:?}-{}.mmd",
        std::process::id(),
        std::thread::current().id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::write(&path, diagram).unwrap();
    let out = std::process::Command::new("node")
        .arg(&oracle)
        .arg("--stdout")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node (needed for the mermaid oracle): {e}"));
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "the oracle failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the oracle prints JSON")
}

/// What our own parser makes of `diagram`, in the same canonical schema as the oracle.
pub fn our_parse(diagram: &str) -> serde_json::Value {
    let file = mermaid2aws::source::SourceFile::new("drawn.mmd", diagram);
    let parsed = mermaid2aws::parse_file(&file, None).unwrap_or_else(|d| {
        panic!(
            "our parser rejects the drawn diagram: {:?}\n{diagram}",
            d.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    });
    assert_eq!(parsed.diagrams.len(), 1, "{diagram}");
    mermaid2aws::ir::canonical::to_canonical_json(&parsed.diagrams[0])
}

/// The drawn diagram parses, in our parser and in mermaid-js, to the same nodes, edges,
/// subgraphs and classes.
pub fn assert_mermaid_accepts(diagram: &str) {
    let ours = our_parse(diagram);
    let theirs = mermaid_oracle(diagram);
    assert_eq!(theirs["ok"], true, "mermaid-js rejects it: {theirs}\n{diagram}");
    assert_eq!(ours, theirs, "our parser and mermaid-js disagree on:\n{diagram}");
}

/// The binary run in `dir` with `args`: no colour, nothing on stdin (so never a terminal).
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mermaid2aws"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run mermaid2aws")
}

/// A process's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
