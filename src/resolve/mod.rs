//! Resolve: AST -> diagram IR. Ids are resolved, nesting is known, defaults are applied, and
//! mermaid's own after-parse checks (unknown parent, unknown endpoint, duplicate id...) are
//! reported as diagnostics on the exact span. See `ir::graph` for the invariants established.

pub mod architecture;
pub mod flowchart;

use crate::diagnostic::{Diagnostic, has_errors};
use crate::extract::DiagramSource;
use crate::ir::graph::{Comment, Diagram, DiagramKind, Presentation};
use crate::syntax::ast;

/// mermaid's default `maxEdges`.
pub const DEFAULT_MAX_EDGES: usize = 500;

/// Settings a diagram cannot change: in mermaid, what the site passes to `initialize()`.
/// (`maxEdges` is a secure setting: mermaid ignores it in a diagram's directive or front
/// matter, so only the command line can raise it here.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolveOptions {
    /// The most edges a flowchart may have.
    pub max_edges: usize,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions { max_edges: DEFAULT_MAX_EDGES }
    }
}

/// Resolve one parsed diagram with mermaid's default settings. Returns the IR when there
/// were no errors.
pub fn resolve(ast: &ast::Diagram, source: &DiagramSource) -> (Option<Diagram>, Vec<Diagnostic>) {
    resolve_with(ast, source, ResolveOptions::default())
}

/// Resolve one parsed diagram. Returns the IR when there were no errors.
pub fn resolve_with(
    ast: &ast::Diagram,
    source: &DiagramSource,
    options: ResolveOptions,
) -> (Option<Diagram>, Vec<Diagnostic>) {
    let kind = match ast.body {
        ast::Body::Flowchart(_) => DiagramKind::Flowchart,
        ast::Body::Architecture(_) => DiagramKind::Architecture,
    };
    let mut diagram = Diagram {
        kind,
        name: source.name.clone(),
        span: source.span,
        keyword: ast.keyword,
        direction: None,
        // mermaid shows a front-matter title on flowcharts only; architecture has `title`.
        title: if kind == DiagramKind::Flowchart { ast.front_matter_title.clone() } else { None },
        acc_title: None,
        acc_descr: None,
        elements: Vec::new(),
        groups: Vec::new(),
        edges: Vec::new(),
        presentation: Presentation::default(),
        comments: ast
            .comments
            .iter()
            .map(|c| Comment { text: c.text.clone(), span: c.span })
            .collect(),
    };
    let diagnostics = match &ast.body {
        ast::Body::Flowchart(flowchart) => flowchart::resolve(flowchart, options, &mut diagram),
        ast::Body::Architecture(architecture) => architecture::resolve(architecture, &mut diagram),
    };
    let ok = !has_errors(&diagnostics);
    (ok.then_some(diagram), diagnostics)
}
