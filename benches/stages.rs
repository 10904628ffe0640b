//! Compile speed per stage (extract, parse, resolve, lower, emit) and whole, on the seed
//! diagrams and on generated ones of 10, 100 and 1,000 security-group tiers of both kinds.
//!
//!     cargo bench --bench stages               # everything (a few minutes)
//!     cargo bench --bench stages -- seed-iaas  # one input (criterion's name filter)
//!
//! Each benchmark reports time per iteration, bytes/s (of the diagram text) and elements/s
//! (nodes, services, junctions, groups and edges of the resolved diagram). A stage that the
//! input does not get through (a limit the compiler reports) is not measured, and the run
//! says so on stderr, with each input's size and the size of the template it renders (also
//! when the template is over CloudFormation's limits and `compile` refuses to write it).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mermaid2aws::catalog::Catalog;
use mermaid2aws::diagnostic::{Diagnostic, has_errors};
use mermaid2aws::emit::{self, Format};
use mermaid2aws::extract::{self, DiagramSource};
use mermaid2aws::ir::graph;
use mermaid2aws::lower::{self, LowerOptions};
use mermaid2aws::source::{SourceFile, Span};
use mermaid2aws::{resolve, syntax};

// The allocator of the `mermaid2aws` binary (src/main.rs), so the stages run as they do there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// As `compile --max-edges 1000000`: generated flowcharts have about 4 edges a tier, over
/// mermaid's default of 500 from about 125 tiers.
const SITE: resolve::ResolveOptions = resolve::ResolveOptions { max_edges: 1_000_000 };

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/generate.rs"]
mod generate;

/// One input: a name for the report and the file as `mermaid2aws compile` would read it.
struct Input {
    name: String,
    file: SourceFile,
}

fn inputs() -> Vec<Input> {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut inputs: Vec<Input> = ["seed-iaas.mmd", "seed-paas.mmd", "seed.md"]
        .iter()
        .map(|name| {
            let path = repo.join("diagrams").join(name);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            Input { name: name.to_string(), file: SourceFile::new(*name, text) }
        })
        .collect();
    for tiers in [10, 100, 1000] {
        for (kind, text) in [
            ("flowchart", generate::flowchart(tiers)),
            ("architecture", generate::architecture(tiers)),
        ] {
            let name = format!("{kind}-{tiers}");
            inputs.push(Input { file: SourceFile::new(format!("{name}.mmd"), text), name });
        }
    }
    inputs
}

/// What each stage made of one diagram, so the next stage can be timed on its own.
struct Staged<'a> {
    source: &'a DiagramSource,
    ast: Option<syntax::ast::Diagram>,
    diagram: Option<graph::Diagram>,
    stack: Option<mermaid2aws::ir::infra::Stack>,
    header: Span,
    /// Where the pipeline stopped, for the report.
    stopped: Option<(&'static str, String)>,
}

fn first_error(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .find(|d| d.severity == miette::Severity::Error)
        .map_or_else(String::new, |d| format!("{}: {}", d.code, d.message))
}

fn run_stages<'a>(file: &SourceFile, source: &'a DiagramSource, catalog: &Catalog) -> Staged<'a> {
    let mut staged = Staged {
        source,
        ast: None,
        diagram: None,
        stack: None,
        header: Span::new(0, 0),
        stopped: None,
    };
    let (ast, found) = syntax::parse(source);
    if has_errors(&found) || ast.is_none() {
        staged.stopped = Some(("parse", first_error(&found)));
        return staged;
    }
    staged.ast = ast;
    let (diagram, found) =
        resolve::resolve_with(staged.ast.as_ref().expect("parsed"), source, SITE);
    if has_errors(&found) || diagram.is_none() {
        staged.stopped = Some(("resolve", first_error(&found)));
        return staged;
    }
    let diagram = diagram.expect("resolved");
    let (stack, found) = lower::lower(&diagram, catalog, LowerOptions::default(), file);
    // As `compile_file` does: limits are reported on the diagram's first line.
    let first_line = file
        .text
        .get(diagram.span.start..diagram.span.end)
        .and_then(|t| t.lines().next())
        .map_or(0, str::len);
    staged.header = Span::new(diagram.span.start, diagram.span.start + first_line);
    staged.diagram = Some(diagram);
    if has_errors(&found) || stack.is_none() {
        staged.stopped = Some(("lower", first_error(&found)));
        return staged;
    }
    staged.stack = stack;
    let (_, found) =
        emit::render(staged.stack.as_ref().expect("lowered"), Format::Json, staged.header);
    if has_errors(&found) {
        // The template text is still made in full; the limit is what the user is told.
        staged.stopped = Some(("emit (measured; it reports)", first_error(&found)));
    }
    staged
}

fn elements(diagrams: &[&graph::Diagram]) -> u64 {
    diagrams.iter().map(|d| (d.elements.len() + d.groups.len() + d.edges.len()) as u64).sum()
}

fn stages(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    for input in inputs() {
        let file = &input.file;
        let extracted = extract::extract(file).expect("the benchmark inputs extract");
        let staged: Vec<Staged> =
            extracted.diagrams.iter().map(|s| run_stages(file, s, catalog)).collect();
        for s in &staged {
            if let Some((stage, error)) = &s.stopped {
                eprintln!("{}: diagram {:?} stops at {stage}: {error}", input.name, s.source.name);
            }
        }
        let bytes = file.text.len() as u64;
        let throughput = if staged.iter().all(|s| s.diagram.is_some()) {
            let resolved: Vec<&graph::Diagram> =
                staged.iter().filter_map(|s| s.diagram.as_ref()).collect();
            Throughput::ElementsAndBytes { elements: elements(&resolved), bytes }
        } else {
            // Not resolved: the element count is unknown.
            Throughput::Bytes(bytes)
        };
        let template_bytes: usize = staged
            .iter()
            .filter_map(|s| {
                s.stack.as_ref().map(|stack| emit::render(stack, Format::Json, s.header).0.len())
            })
            .sum();
        eprintln!("{}: {bytes} bytes in, {template_bytes} bytes of JSON template out", input.name);
        let mut group = c.benchmark_group(&input.name);
        group.throughput(throughput);
        if file.text.len() > 100_000 {
            group.sample_size(10).measurement_time(Duration::from_secs(4));
        }
        group.bench_function("extract", |b| b.iter(|| extract::extract(black_box(file))));
        group.bench_function("parse", |b| {
            b.iter(|| {
                for s in &extracted.diagrams {
                    black_box(syntax::parse(black_box(s)));
                }
            })
        });
        if staged.iter().all(|s| s.ast.is_some()) {
            group.bench_function("resolve", |b| {
                b.iter(|| {
                    for s in &staged {
                        let ast = s.ast.as_ref().expect("parsed");
                        black_box(resolve::resolve_with(ast, s.source, SITE));
                    }
                })
            });
        }
        if staged.iter().all(|s| s.diagram.is_some()) {
            group.bench_function("lower", |b| {
                b.iter(|| {
                    for s in &staged {
                        let d = s.diagram.as_ref().expect("resolved");
                        black_box(lower::lower(d, catalog, LowerOptions::default(), file));
                    }
                })
            });
        }
        if staged.iter().all(|s| s.stack.is_some()) {
            group.bench_function("emit", |b| {
                b.iter(|| {
                    for s in &staged {
                        let stack = s.stack.as_ref().expect("lowered");
                        black_box(emit::render(stack, Format::Json, s.header));
                    }
                })
            });
        }
        group.bench_function("compile", |b| {
            b.iter(|| {
                mermaid2aws::compile_file_with(
                    black_box(file),
                    None,
                    SITE,
                    LowerOptions::default(),
                    Format::Json,
                )
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = stages
}
criterion_main!(benches);
