//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

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
