//! `explain`: every decision lowering made, in words a reviewer can check against the diagram.

use std::fmt::Write;

use crate::ir::graph::Diagram;
use crate::ir::infra::{RuleSource, Stack};

/// The explanation of one compiled diagram.
pub fn render(diagram: &Diagram, stack: &Stack) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {} ({} resources)\n", diagram.name, stack.resources.len());
    let _ = writeln!(out, "## Elements");
    for d in &stack.decisions {
        let _ = writeln!(out, "- `{}` ({}) is {}: {}", d.element, d.source, d.kind, d.reason);
        if !d.resources.is_empty() {
            let resources: Vec<String> = d
                .resources
                .iter()
                .map(|r| {
                    format!("{r} ({})", stack.resources.get(r).map_or("", |x| x.kind.as_str()))
                })
                .collect();
            let _ = writeln!(out, "  becomes {}", resources.join(", "));
        }
    }
    let _ = writeln!(out, "\n## Network rules (inbound only)");
    for r in &stack.rules {
        let from = match &r.from {
            RuleSource::Group(g) => format!("security group {g}"),
            RuleSource::Cidr(c) if c == "CloudFrontPrefixListId" => {
                "CloudFront (managed prefix list)".to_string()
            }
            RuleSource::Cidr(c) => c.clone(),
        };
        let ports = if r.protocol == "-1" {
            "all traffic".to_string()
        } else if r.from_port == r.to_port {
            format!("{}/{}", r.protocol, r.from_port)
        } else {
            format!("{}/{}-{}", r.protocol, r.from_port, r.to_port)
        };
        let _ = writeln!(
            out,
            "- into {} from {from} on {ports}: {} (edge client `{}`, {})",
            r.to_group, r.description, r.origin.element, r.origin.source
        );
    }
    let _ = writeln!(out, "\n## IAM grants");
    for g in &stack.grants {
        let _ = writeln!(
            out,
            "- role {} may {} on {} (edge at {})",
            g.role,
            g.actions.join(", "),
            g.resource,
            g.origin.source
        );
    }
    if !stack.edge_notes.is_empty() {
        let _ = writeln!(out, "\n## Edges that made no rule or grant");
        for n in &stack.edge_notes {
            let _ = writeln!(out, "- {} ({}): {}", n.edge, n.source, n.note);
        }
    }
    out.push('\n');
    out
}
