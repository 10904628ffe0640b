//! Robustness of the front end (extract + parse + resolve), seen from outside.
//!
//! Binary-level: hostile or odd inputs given to `mermaid2aws parse` (and `compile` where the
//! depth of the input reaches lowering) must end with exit code 0 or 1, never a panic (101) or
//! a signal; an error must say `file:line:col` and `help:` on stderr and leave stdout empty.
//! The wall-clock limit on each child process is only a hang guard, not a performance check.
//!
//! Library-level: `parse_file` over the conformance corpus, the repository's diagrams and
//! deterministic mutations of them must never panic, and every error must carry a label inside
//! the file and a help line.

mod support;

use std::io::{Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mermaid2aws::diagnostic::Diagnostic;
use mermaid2aws::source::SourceFile;

// --- running the binary --------------------------------------------------------------------

/// What the user sees.
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The hang guard for ordinary inputs.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Run the binary with `args`, feeding `stdin`; fails the test on a hang, a signal or a panic.
#[track_caller]
fn run(args: &[&str], stdin: &[u8], guard: Duration) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mermaid2aws"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_BACKTRACE")
        .spawn()
        .expect("start mermaid2aws");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    // Writing and reading on their own threads: a full pipe never blocks the other side.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > guard {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mermaid2aws {args:?} still running after {guard:?}: killed (hang guard)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    let stdout =
        String::from_utf8(out_reader.join().expect("stdout reader")).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&err_reader.join().expect("stderr reader")).into_owned();
    let Some(code) = status.code() else {
        panic!("mermaid2aws {args:?} was killed by a signal ({status:?}); stderr:\n{stderr}");
    };
    assert_ne!(code, 101, "mermaid2aws {args:?} panicked; stderr:\n{stderr}");
    assert!(code == 0 || code == 1, "mermaid2aws {args:?} exited with {code}; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked at"), "a panic message on stderr:\n{stderr}");
    Outcome { code, stdout, stderr }
}

/// `parse FILE` on a file written into this test's scratch folder.
#[track_caller]
fn parse_bytes(name: &str, bytes: &[u8]) -> Outcome {
    let dir = scratch(name);
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write input");
    let outcome = run(&["parse", path.to_str().expect("UTF-8 path")], b"", HANG_GUARD);
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// A fresh folder for one test's files, under cargo's scratch directory for tests.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("robustness-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// An error, as the user must see it: exit 1, nothing on stdout, the `file:line:col` header
/// of the first diagnostic, its code and a `help:` line on stderr.
#[track_caller]
fn assert_error(out: &Outcome, file_name: &str, at: (usize, usize), code: &str) {
    assert_eq!(out.code, 1, "expected a user error; stderr:\n{}", out.stderr);
    assert!(out.stdout.is_empty(), "stdout must be empty on error, got:\n{}", out.stdout);
    let header = out.stderr.lines().next().unwrap_or_default();
    let want = format!("{file_name}:{}:{}: error", at.0, at.1);
    assert!(header.ends_with(&want), "first line `{header}` should end with `{want}`");
    assert_every_error_is_located(out);
    assert!(out.stderr.contains(code), "stderr should name `{code}`:\n{}", out.stderr);
}

/// Every `error` header on stderr is `path:line:col: error` and every error has a `help:`.
#[track_caller]
fn assert_every_error_is_located(out: &Outcome) {
    let headers: Vec<&str> =
        out.stderr.lines().filter(|l| l.ends_with(": error") && !l.starts_with(' ')).collect();
    assert!(!headers.is_empty(), "no error header on stderr:\n{}", out.stderr);
    for header in &headers {
        let location = header.trim_end_matches(": error");
        let mut parts = location.rsplitn(3, ':');
        let col = parts.next().and_then(|c| c.parse::<usize>().ok());
        let line = parts.next().and_then(|l| l.parse::<usize>().ok());
        assert!(
            col.is_some_and(|c| c > 0) && line.is_some_and(|l| l > 0),
            "`{header}` is not `file:line:col: error`"
        );
    }
    let helps = out.stderr.lines().filter(|l| l.trim_start().starts_with("help:")).count();
    assert!(
        helps >= headers.len(),
        "{} errors but {helps} help lines:\n{}",
        headers.len(),
        out.stderr
    );
}

/// Success: exit 0 and one JSON document on stdout.
#[track_caller]
fn assert_json(out: &Outcome) -> serde_json::Value {
    assert_eq!(out.code, 0, "expected success; stderr:\n{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("stdout is one JSON document")
}

// --- small hostile inputs ------------------------------------------------------------------

#[test]
fn empty_input() {
    assert_error(&parse_bytes("empty.mmd", b""), "empty.mmd", (1, 1), "m2a::extract::empty");
    assert_error(&parse_bytes("empty.md", b""), "empty.md", (1, 1), "m2a::extract::empty");
}

#[test]
fn whitespace_only_input() {
    let text = b" \t\n\r\n   \n\x0b\x0c\n";
    assert_error(&parse_bytes("blank.mmd", text), "blank.mmd", (1, 1), "m2a::extract::empty");
    assert_error(&parse_bytes("blank.md", text), "blank.md", (1, 1), "m2a::extract::empty");
}

#[test]
fn markdown_without_mermaid_block() {
    let md = b"# Notes\n\nSome text.\n\n```rust\nfn main() {}\n```\n";
    let out = parse_bytes("notes.md", md);
    assert_error(&out, "notes.md", (1, 1), "m2a::extract::no_diagram");
    assert!(out.stderr.contains("```mermaid"), "the help says what to add:\n{}", out.stderr);
}

#[test]
fn markdown_with_only_a_sequence_diagram_says_it_was_skipped() {
    let md = b"# Flow\n\n```mermaid\nsequenceDiagram\n  A->>B: hi\n```\n";
    let out = parse_bytes("seq.md", md);
    assert_error(&out, "seq.md", (1, 1), "m2a::extract::no_diagram");
    assert!(out.stderr.contains("`sequenceDiagram`"), "names the skipped kind:\n{}", out.stderr);

    // Next to an infrastructure diagram it is skipped with a note, and the rest is parsed.
    let md = b"# Flow\n\n```mermaid\nsequenceDiagram\n  A->>B: hi\n```\n\n# Infra\n\n```mermaid\narchitecture-beta\nservice db(database)[DB]\n```\n";
    let out = parse_bytes("both.md", md);
    let json = assert_json(&out);
    assert_eq!(json.as_array().map(Vec::len), Some(1), "{json}");
    assert!(
        out.stderr.contains("both.md:4:1: note")
            && out.stderr.contains("skipped `sequenceDiagram` diagram `Flow`"),
        "stderr:\n{}",
        out.stderr
    );
}

#[test]
fn invalid_utf8() {
    let out = parse_bytes("latin1.mmd", b"architecture-beta\nservice caf\xe9(server)\n");
    assert_error(&out, "latin1.mmd", (2, 12), "m2a::io::not_utf8");
    let out = parse_bytes("bom16.md", b"\xff\xfe#\x00 \x00T\x00");
    assert_error(&out, "bom16.md", (1, 1), "m2a::io::not_utf8");
}

#[test]
fn nul_bytes_in_a_diagram() {
    let out = parse_bytes("nul-arch.mmd", b"architecture-beta\nservice a\x00b(server)\n");
    assert_error(&out, "nul-arch.mmd", (2, 10), "m2a::parse::syntax");
    let out = parse_bytes("nul-flow.mmd", b"graph LR\nA\x00 --> B\n");
    assert_error(&out, "nul-flow.mmd", (2, 2), "m2a::parse::syntax");
    let out = parse_bytes("nul-label.mmd", b"graph LR\nA[a\x00b] --> B\n");
    // Inside a label a NUL is just a character: a result, or a located error.
    if out.code == 1 {
        assert_every_error_is_located(&out);
        assert!(out.stdout.is_empty());
    } else {
        assert_json(&out);
    }
    let out = parse_bytes("nul-only.mmd", b"\x00\x00\x00");
    assert_error(&out, "nul-only.mmd", (1, 1), "m2a::parse::unknown_diagram_type");
}

/// A problem on or beside a very long line: miette cannot draw a label past column 65,535 (its
/// padding panicked) and draws whole lines, so such a diagnostic comes without its snippet,
/// still located and helped, and does not print the long line.
#[test]
fn an_error_on_or_beside_a_long_line() {
    let mut text = String::from("graph LR\n");
    for _ in 0..12_000 {
        text.push_str("A-->B;");
    }
    let column = text.len() - "graph LR\n".len() + 1;
    text.push_str("A -- x\n");
    let out = parse_bytes("long-line.mmd", text.as_bytes());
    assert_error(&out, "long-line.mmd", (2, column + "A -- x".len()), "m2a::parse::syntax");
    assert!(out.stderr.len() < 2_000, "the long line was printed:\n{}", out.stderr);
    // Tabs are drawn four columns wide: 20,000 of them put a label past 65,535 columns.
    let text = format!("graph LR\n{}A -- x\n", "\t".repeat(20_000));
    let out = parse_bytes("tabs.mmd", text.as_bytes());
    assert_error(&out, "tabs.mmd", (2, 20_000 + "A -- x".len() + 1), "m2a::parse::syntax");
    // The line after the bad one is 72,000 bytes long: it is not drawn as context either.
    let text = format!("graph LR\nA -- x\n{}\n", "A-->B;".repeat(12_000));
    let out = parse_bytes("beside.mmd", text.as_bytes());
    assert_error(&out, "beside.mmd", (2, 7), "m2a::parse::syntax");
    assert!(out.stderr.len() < 2_000, "the long line was printed:\n{}", out.stderr);
    // Lines short enough keep their snippet.
    let text = format!("graph LR\n{}A -- x\n", " ".repeat(4_000));
    let out = parse_bytes("drawn.mmd", text.as_bytes());
    assert_error(&out, "drawn.mmd", (2, 4_000 + "A -- x".len() + 1), "m2a::parse::syntax");
    assert!(out.stderr.contains("the statement cannot go on here"), "{}", out.stderr);
}

/// A `\r` alone breaks a line (as miette draws lines and CommonMark counts them): the
/// `file:line:col` header and the snippet's line number agree.
#[test]
fn a_lone_carriage_return_breaks_a_line() {
    let text = "graph LR\n%% a comment\rB\nA -- x\n";
    let out = parse_bytes("cr.mmd", text.as_bytes());
    assert_error(&out, "cr.mmd", (4, 7), "m2a::parse::syntax");
    assert!(out.stderr.contains("cr.mmd:4:7]"), "{}", out.stderr);
    assert!(out.stderr.contains(" 4 │ A -- x"), "{}", out.stderr);
}

#[test]
fn unclosed_subgraph() {
    let out = parse_bytes("open.mmd", b"graph LR\n  subgraph vpc [VPC]\n    A --> B\n");
    assert_error(&out, "open.mmd", (2, 3), "m2a::resolve::unclosed_subgraph");
    let out = parse_bytes("stray.mmd", b"graph LR\n  A --> B\nend\n");
    assert_error(&out, "stray.mmd", (3, 1), "m2a::resolve::stray_end");
}

#[test]
fn unknown_diagram_types() {
    for (text, word) in [
        ("foo\nA-->B\n", "foo"),
        ("architecture\nservice a\n", "architecture"),
        ("Graph LR\nA-->B\n", "Graph"),
        ("%%{init: {}}%%\n  flowchart_v3 TD\n", "flowchart_v3"),
    ] {
        let out = parse_bytes("kind.mmd", text.as_bytes());
        let (line, col) = SourceFile::new("kind.mmd", text).line_col(text.find(word).unwrap());
        assert_error(&out, "kind.mmd", (line, col), "m2a::parse::unknown_diagram_type");
        assert!(out.stderr.contains(&format!("`{word}`")), "names `{word}`:\n{}", out.stderr);
    }
    // Only comments and directives: no diagram at all.
    let out = parse_bytes("nothing.mmd", b"%% just a comment\n%%{init: {}}%%\n");
    assert_error(&out, "nothing.mmd", (1, 1), "m2a::parse::no_diagram");
}

#[test]
fn stdin_via_dash() {
    let out = run(&["parse", "-"], b"architecture-beta\nservice a(server)\n", HANG_GUARD);
    let json = assert_json(&out);
    assert_eq!(json["services"][0]["id"], "a");

    let out = run(&["parse", "-"], b"# Doc\n\n```mermaid\ngraph LR\n  A --> B\n```\n", HANG_GUARD);
    let json = assert_json(&out);
    assert_eq!(json[0]["diagram"], "Doc");

    let out = run(&["parse", "-"], b"", HANG_GUARD);
    assert_error(&out, "-", (1, 1), "m2a::extract::empty");

    let out = run(&["parse", "-"], b"graph LR\n  A --> B[\n", HANG_GUARD);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.starts_with("-:2:"), "stderr:\n{}", out.stderr);
    assert_every_error_is_located(&out);

    let out = run(&["parse", "-"], b"\xc3\x28", HANG_GUARD);
    assert_error(&out, "-", (1, 1), "m2a::io::not_utf8");
}

// --- deep and long inputs ------------------------------------------------------------------

const DEPTH: usize = 10_000;

/// `DEPTH` nested subgraphs, a data store in the innermost, an edge to the outermost.
fn deep_subgraphs() -> String {
    let mut text = String::from("graph LR\n");
    for i in 0..DEPTH {
        text.push_str(&format!("subgraph s{i}\n"));
    }
    text.push_str("db[(Amazon RDS)]\n");
    for _ in 0..DEPTH {
        text.push_str("end\n");
    }
    text.push_str("fn[AWS Lambda] --> s0\n");
    text
}

/// A chain of `DEPTH` groups, each `in` the one before, with edges through `{group}`.
fn long_in_chain() -> String {
    let mut text = String::from("architecture-beta\ngroup g0(cloud)[G0]\n");
    for i in 1..DEPTH {
        text.push_str(&format!("group g{i}(cloud)[G{i}] in g{}\n", i - 1));
    }
    text.push_str(&format!("service db(database)[Amazon RDS] in g{}\n", DEPTH - 1));
    text.push_str("service fn(server)[AWS Lambda]\nfn:R --> L:db\nfn:B --> T:db{group}\n");
    text
}

#[test]
fn ten_thousand_nested_subgraphs() {
    let dir = scratch("deep");
    let path = dir.join("deep.mmd");
    std::fs::write(&path, deep_subgraphs()).expect("write");
    let path = path.to_str().expect("UTF-8 path");
    let json = assert_json(&run(&["parse", path], b"", HANG_GUARD));
    assert_eq!(json["subgraphs"].as_array().map(Vec::len), Some(DEPTH));
    // Lowering walks the nesting too.
    for command in ["compile", "explain"] {
        let out = run(&[command, path], b"", HANG_GUARD);
        assert_eq!(out.code, 0, "{command}: {}", out.stderr);
        assert!(!out.stdout.is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ten_thousand_long_in_chain() {
    let dir = scratch("chain");
    let path = dir.join("chain.mmd");
    std::fs::write(&path, long_in_chain()).expect("write");
    let path = path.to_str().expect("UTF-8 path");
    let json = assert_json(&run(&["parse", path], b"", HANG_GUARD));
    assert_eq!(json["groups"].as_array().map(Vec::len), Some(DEPTH));
    for command in ["compile", "explain"] {
        let out = run(&[command, path], b"", HANG_GUARD);
        assert_eq!(out.code, 0, "{command}: {}", out.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cyclic_subgraph_membership_does_not_overflow_the_stack() {
    // mermaid lets a subgraph list another subgraph, or itself, as a member.
    for text in [
        "graph LR\nsubgraph a\n  b\nend\nsubgraph b\n  a\nend\nfn[AWS Lambda] --> a\n",
        "graph LR\nsubgraph a\n  a\nend\nfn[AWS Lambda] --> a\n",
        "graph LR\nsubgraph a\n  subgraph b\n  end\nend\nsubgraph b\n  a\nend\na --> fn[AWS Lambda]\n",
    ] {
        let dir = scratch("cycle");
        let path = dir.join("cycle.mmd");
        std::fs::write(&path, text).expect("write");
        let path = path.to_str().expect("UTF-8 path");
        assert_json(&run(&["parse", path], b"", HANG_GUARD));
        for command in ["compile", "explain"] {
            let out = run(&[command, path], b"", HANG_GUARD);
            assert!(out.code == 0 || out.stdout.is_empty(), "{command}: {}", out.stderr);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// --- 50 MB inputs --------------------------------------------------------------------------

/// The hang guard for the 50 MB inputs: a debug build parses them in about a minute.
const BIG_HANG_GUARD: Duration = Duration::from_secs(600);
const FIFTY_MB: usize = 50 * 1024 * 1024;

/// An architecture diagram of about `size` bytes: groups, services in them, edges.
fn big_architecture(size: usize) -> (String, usize) {
    let mut text = String::with_capacity(size + 100);
    text.push_str("architecture-beta\n");
    let mut services = 0;
    let mut i = 0;
    while text.len() < size {
        text.push_str(&format!("group g{i}(cloud)[Zone {i}]\n"));
        for j in 0..8 {
            text.push_str(&format!("service s{i}_{j}(server)[Web server {i}.{j}] in g{i}\n"));
            services += 1;
        }
        for j in 1..8 {
            text.push_str(&format!("s{i}_{}:R --> L:s{i}_{j}\n", j - 1));
        }
        i += 1;
    }
    (text, services)
}

/// A flowchart of about `size` bytes: subgraphs, labelled nodes, edge chains.
fn big_flowchart(size: usize) -> (String, usize) {
    let mut text = String::with_capacity(size + 100);
    text.push_str("flowchart LR\n");
    let mut subgraphs = 0;
    let mut i = 0;
    while text.len() < size {
        text.push_str(&format!("  subgraph z{i} [Zone {i}]\n"));
        subgraphs += 1;
        text.push_str(&format!("    w{i}[Web {i}] & a{i}([App {i}]) & d{i}[(DB {i})]\n"));
        text.push_str(&format!("    c{i}{{{{Cache {i}}}}} & q{i}>Queue {i}]\n"));
        text.push_str("  end\n");
        // mermaid refuses more than 500 edges.
        if i > 0 && i < 400 {
            text.push_str(&format!("  w{} --> w{i}\n", i - 1));
        }
        i += 1;
    }
    (text, subgraphs)
}

/// Both at full size through the binary: the output is the whole diagram.
#[test]
fn fifty_megabyte_architecture() {
    let (text, services) = big_architecture(FIFTY_MB);
    let dir = scratch("big-arch");
    let path = dir.join("big.mmd");
    std::fs::write(&path, &text).expect("write");
    let out = run(&["parse", path.to_str().expect("UTF-8 path")], b"", BIG_HANG_GUARD);
    let json = assert_json(&out);
    assert_eq!(json["services"].as_array().map(Vec::len), Some(services));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The flowchart grammar is several times slower than the architecture one in a debug build
/// (about 10 s per MB), so this one stays at 4 MB.
#[test]
fn four_megabyte_flowchart_with_an_error_on_its_last_line() {
    let (mut text, _) = big_flowchart(4 * 1024 * 1024);
    text.push_str("  last[unclosed --> x\n");
    let lines = text.lines().count();
    let dir = scratch("big-flow");
    let path = dir.join("big.mmd");
    std::fs::write(&path, &text).expect("write");
    let out = run(&["parse", path.to_str().expect("UTF-8 path")], b"", BIG_HANG_GUARD);
    assert_eq!(out.code, 1, "stderr:\n{}", out.stderr);
    assert!(out.stdout.is_empty(), "no partial output");
    assert!(
        out.stderr.contains(&format!("big.mmd:{lines}:")),
        "the error is on line {lines}:\n{}",
        &out.stderr[..out.stderr.len().min(2000)]
    );
    assert_every_error_is_located(&out);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Smaller generated inputs through the library, both kinds, both valid.
#[test]
fn large_generated_inputs_parse() {
    const SIZE: usize = 1024 * 1024;
    let (text, services) = big_architecture(SIZE);
    let parsed = mermaid2aws::parse_file(&SourceFile::new("big.mmd", text), None)
        .unwrap_or_else(|d| panic!("{:?}", d.first()));
    assert_eq!(parsed.diagrams[0].elements.len(), services);
    let (text, subgraphs) = big_flowchart(SIZE / 2);
    let parsed = mermaid2aws::parse_file(&SourceFile::new("big.mmd", text), None)
        .unwrap_or_else(|d| panic!("{:?}", d.first()));
    assert_eq!(parsed.diagrams[0].groups.len(), subgraphs);
}

// --- regressions ---------------------------------------------------------------------------

/// Every input under `tests/regressions/` (found by fuzzing or by hand) gives a result or a
/// located error through the binary, for `parse`, `compile` and `explain`.
#[test]
fn regressions() {
    let dir = support::repo_dir().join("tests/regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/regressions")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mmd" || x == "md"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no regression inputs in {}", dir.display());
    for file in &files {
        let path = file.to_str().expect("UTF-8 path");
        for command in ["parse", "compile", "explain"] {
            let out = run(&[command, path], b"", HANG_GUARD);
            if out.code == 1 {
                assert!(out.stdout.is_empty(), "{command} {path}: output on error");
                assert_every_error_is_located(&out);
            }
        }
        let text = std::fs::read_to_string(file).expect("UTF-8 regression input");
        check_library(&file.display().to_string(), &text)
            .unwrap_or_else(|why| panic!("{}: {why}", file.display()));
    }
}

// --- library level: corpus and mutations -------------------------------------------------

/// A small deterministic pseudo-random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// The largest char boundary of `text` at or before `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// What gets inserted into the inputs.
const INSERTS: &[&str] = &["end", "subgraph", "[", "\"", "%%{"];

/// Mutations of `text`: truncated at every 7th byte, a line dropped, a line duplicated, and
/// each of `INSERTS` put at a random place and on a line of its own.
fn mutations(text: &str, rng: &mut Rng) -> Vec<String> {
    let mut out = Vec::new();
    for at in (0..text.len()).step_by(7) {
        let at = floor_boundary(text, at);
        out.push(text[..at].to_string());
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if !lines.is_empty() {
        let drop = rng.below(lines.len());
        out.push(lines.iter().enumerate().filter(|&(i, _)| i != drop).map(|(_, l)| *l).collect());
        let dup = rng.below(lines.len());
        let mut doubled = String::new();
        for (i, line) in lines.iter().enumerate() {
            doubled.push_str(line);
            if i == dup {
                if !line.ends_with('\n') {
                    doubled.push('\n');
                }
                doubled.push_str(line);
            }
        }
        out.push(doubled);
    }
    for insert in INSERTS {
        let at = floor_boundary(text, rng.below(text.len() + 1));
        out.push(format!("{}{insert}{}", &text[..at], &text[at..]));
        let line = rng.below(lines.len() + 1);
        let mut with_line = String::new();
        for (i, l) in lines.iter().enumerate() {
            if i == line {
                with_line.push_str(insert);
                with_line.push('\n');
            }
            with_line.push_str(l);
        }
        if line == lines.len() {
            if !with_line.is_empty() && !with_line.ends_with('\n') {
                with_line.push('\n');
            }
            with_line.push_str(insert);
        }
        out.push(with_line);
    }
    out
}

/// One diagnostic's contract: labels inside the file on character boundaries; errors have a
/// primary label and a help line; never an internal error.
fn check_diagnostic(file: &SourceFile, d: &Diagnostic) -> Result<(), String> {
    let len = file.text.len();
    if d.code == "m2a::bug" {
        return Err(format!("internal error: {}", d.message));
    }
    for (span, _) in &d.labels {
        if span.start > span.end || span.end > len {
            return Err(format!("`{}`: label {span:?} outside the file (len {len})", d.code));
        }
        if !file.text.is_char_boundary(span.start) || !file.text.is_char_boundary(span.end) {
            return Err(format!("`{}`: label {span:?} splits a character", d.code));
        }
    }
    if d.is_error() {
        if d.labels.is_empty() {
            return Err(format!("`{}` ({}) has no label", d.code, d.message));
        }
        if d.help.as_deref().is_none_or(|h| h.trim().is_empty()) {
            return Err(format!("`{}` ({}) has no help", d.code, d.message));
        }
    }
    Ok(())
}

/// `parse_file` on one text, as `name`: no panic, and every diagnostic keeps its contract.
fn check_library(name: &str, text: &str) -> Result<(), String> {
    let file = SourceFile::new(name, text);
    let result = catch_unwind(AssertUnwindSafe(|| mermaid2aws::parse_file(&file, None))).map_err(
        |panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            format!("panicked: {message}")
        },
    )?;
    let diagnostics = match &result {
        Ok(parsed) => &parsed.warnings,
        Err(diagnostics) => {
            if !diagnostics.iter().any(Diagnostic::is_error) {
                return Err("failed without an error".to_string());
            }
            diagnostics
        }
    };
    for d in diagnostics {
        check_diagnostic(&file, d)?;
    }
    Ok(())
}

/// Every `.mmd` under `dir`, at any depth, sorted.
fn mmd_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            mmd_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "mmd") {
            out.push(path);
        }
    }
}

#[test]
fn front_end_survives_corpus_and_mutations() {
    let mut files = Vec::new();
    mmd_files(&support::shared_dir().join("conformance"), &mut files);
    // A 287 KB flowchart on a single line: its mutations are hundreds of parses of a line with
    // no blank in it, which the flowchart grammar scans in quadratic time (`link_id`). It is
    // still parsed once, whole, by the parity test.
    let slow = "0046-flow-huge-it-should-handle-huge-diagrams.mmd";
    let before = files.len();
    files.retain(|p| !p.ends_with(slow));
    assert_eq!(files.len() + 1, before, "{slow} is no longer in the corpus: drop this exclusion");
    let conformance = files.len();
    assert!(conformance > 1300, "only {conformance} conformance cases");
    for entry in std::fs::read_dir(support::repo_dir().join("diagrams")).expect("diagrams/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|x| x == "md" || x == "mmd") {
            files.push(path);
        }
    }
    files.sort();
    assert!(files.len() > conformance, "no diagrams/ files");

    // Silence the default hook: a panic is reported below, with its input.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    let mut checked = 0;
    for (n, path) in files.iter().enumerate() {
        let text = std::fs::read_to_string(path).expect("UTF-8 input");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("input.mmd").to_string();
        let mut rng = Rng::new(n as u64 + 1);
        let mut inputs = vec![text.clone()];
        inputs.extend(mutations(&text, &mut rng));
        for (i, input) in inputs.iter().enumerate() {
            // Every input as the file it came from; every third also fenced in Markdown, indented
            // in a list item, so spans go through the Markdown offset map.
            let mut runs = vec![(name.clone(), input.clone())];
            if i % 3 == 0 && !name.ends_with(".md") {
                let fenced: String = input.lines().map(|l| format!("   {l}\n")).collect();
                runs.push((
                    "wrapped.md".into(),
                    format!("# T\n\n- x\n\n   ```mermaid\n{fenced}   ```\n"),
                ));
            }
            for (run_name, run_text) in runs {
                checked += 1;
                if let Err(why) = check_library(&run_name, &run_text) {
                    failures.push(format!(
                        "{} (mutation {i} as {run_name}): {why}\n{run_text:?}",
                        path.display()
                    ));
                }
            }
        }
    }
    std::panic::set_hook(hook);
    let shown: Vec<String> =
        failures.iter().take(10).map(|f| f.chars().take(1500).collect()).collect();
    assert!(
        failures.is_empty(),
        "{} of {checked} inputs broke the front end:\n{}",
        failures.len(),
        shown.join("\n\n")
    );
    assert!(checked > 20_000, "only {checked} inputs checked");
}
