//! Parser parity with the real mermaid-js: every case of `shared/conformance/` must get the
//! same verdict (accept/reject) and the same core fields as mermaid 11.17.2's database.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use mermaid2aws::ir::canonical::to_canonical_json;
use mermaid2aws::source::SourceFile;
use serde_json::{Value, json};

/// Cases where we knowingly differ from mermaid, each with its reason. A case listed here
/// that starts to agree fails the test, so the list stays true.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

/// The fields the comparison is about (the same as `shared/tools/parity/parity.py`).
fn core(d: &Value) -> Value {
    let s = |v: &Value, k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    let list = |k: &str| d.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
    let sorted = |mut v: Vec<Value>| {
        v.sort_by_key(ToString::to_string);
        Value::Array(v)
    };
    match d.get("kind").and_then(Value::as_str) {
        Some("flowchart") => json!({
            "direction": s(d, "direction"),
            "nodes": sorted(list("nodes").iter().map(|n| json!([s(n, "id"), s(n, "label"), s(n, "shape")])).collect()),
            "edges": list("edges").iter().map(|e| json!([s(e, "from"), s(e, "to"), s(e, "label"), s(e, "type"), s(e, "stroke"), s(e, "length")])).collect::<Vec<_>>(),
            "subgraphs": list("subgraphs").iter().map(|g| json!([s(g, "id"), s(g, "title"), s(g, "nodes"), s(g, "dir")])).collect::<Vec<_>>(),
        }),
        Some("architecture") => json!({
            "groups": sorted(list("groups").iter().map(|g| json!([s(g, "id"), s(g, "icon"), s(g, "title"), s(g, "in")])).collect()),
            "services": sorted(list("services").iter().map(|v| json!([s(v, "id"), s(v, "icon"), s(v, "iconText"), s(v, "title"), s(v, "in")])).collect()),
            "junctions": sorted(list("junctions").iter().map(|j| json!([s(j, "id"), s(j, "in")])).collect()),
            "edges": list("edges").iter().map(|e| {
                json!(["lhs", "lhsDir", "lhsGroup", "rhs", "rhsDir", "rhsGroup", "lhsInto", "rhsInto", "title"].map(|k| s(e, k)))
            }).collect::<Vec<_>>(),
        }),
        other => json!({ "kind": other }),
    }
}

/// What we make of one case, as the oracle would write it.
fn ours(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let file = SourceFile::new(path.display().to_string(), text);
    let parsed = catch_unwind(AssertUnwindSafe(|| mermaid2aws::parse_file(&file, None)))
        .map_err(|_| "PANIC".to_string())?;
    match parsed {
        Ok(parsed) => Ok(parsed.diagrams.first().map_or(Value::Null, to_canonical_json)),
        Err(diagnostics) => {
            Ok(json!({"ok": false, "error": diagnostics.first().map(|d| d.message.clone())}))
        }
    }
}

#[test]
fn conformance_corpus_matches_mermaid() {
    let root = support::shared_dir().join("conformance");
    let mut cases = Vec::new();
    for kind in ["flowchart", "architecture", "seed"] {
        let mut names: Vec<_> = std::fs::read_dir(root.join(kind))
            .expect("conformance folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "mmd"))
            .collect();
        names.sort();
        cases.extend(names);
    }
    assert!(
        cases.len() > 1300,
        "only {} conformance cases found under {}",
        cases.len(),
        root.display()
    );

    let mut failures = Vec::new();
    let mut known_now_passing = Vec::new();
    for mmd in &cases {
        let name = mmd.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(mmd.with_extension("json")).expect("oracle json"),
        )
        .expect("oracle json parses");
        let got = ours(mmd);
        let verdict = match (&got, expected["ok"].as_bool()) {
            (Err(why), _) => Err(why.clone()),
            (Ok(got), Some(false)) if got["ok"] == json!(false) => Ok(()),
            (Ok(_), Some(false)) => Err("accepted, mermaid rejects".to_string()),
            (Ok(got), _) if got["ok"] == json!(false) => {
                Err(format!("rejected, mermaid accepts: {}", got["error"]))
            }
            (Ok(got), _) if core(got) == core(&expected) => Ok(()),
            (Ok(got), _) => Err(format!("differs: want {} got {}", core(&expected), core(got))),
        };
        let known = KNOWN_DIFFERENCES.iter().any(|(k, _)| *k == name);
        match (verdict, known) {
            (Ok(()), true) => known_now_passing.push(name),
            (Err(why), false) => failures.push(format!("{name}: {why}")),
            _ => {}
        }
    }
    let shown: Vec<_> =
        failures.iter().take(25).map(|f| f.chars().take(400).collect::<String>()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from mermaid:\n{}",
        failures.len(),
        cases.len(),
        shown.join("\n")
    );
    assert!(
        known_now_passing.is_empty(),
        "these known differences now agree with mermaid; remove them from KNOWN_DIFFERENCES: {known_now_passing:?}"
    );
}
