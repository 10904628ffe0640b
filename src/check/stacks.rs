//! `check` against deployed stacks: the deployed template compared with the compiled one, and
//! drifted resources put back on their diagram elements through the deployed template's
//! `Metadata.Mermaid2Aws`.

use serde_json::Value;

use super::{DriftReport, DriftedResource, StackReport, StackStatus, StackTarget};
use crate::compare;
use crate::deploy::{Connection, StackState, inspect_stacks};
use crate::diagnostic::Diagnostic;

/// One report per target, in order.
pub(super) fn check(
    targets: &[StackTarget],
    drift: bool,
    connection: &Connection,
) -> Result<Vec<StackReport>, Diagnostic> {
    let names: Vec<String> = targets.iter().map(|t| t.stack_name.clone()).collect();
    let states = inspect_stacks(&names, drift, connection)?;
    Ok(targets.iter().zip(states).map(|(t, state)| report(t, state)).collect())
}

fn report(target: &StackTarget, state: StackState) -> StackReport {
    let (template, drift) = match state {
        StackState::Missing => {
            return StackReport {
                name: target.stack_name.clone(),
                status: StackStatus::Missing,
                changes: Vec::new(),
                other: Vec::new(),
                drift: None,
            };
        }
        StackState::Deployed { template, drift } => (template, drift),
    };
    let deployed = compare::parse_template(&template).unwrap_or(Value::Null);
    let compiled = compare::parse_template(&target.template).unwrap_or(Value::Null);
    let diff = compare::compare_templates(&deployed, &compiled);
    let drift = drift.map(|d| DriftReport {
        status: d.stack_status,
        resources: d
            .resources
            .into_iter()
            .map(|r| {
                let meta = &deployed["Resources"][&r.logical_id]["Metadata"]["Mermaid2Aws"];
                DriftedResource {
                    element: meta["Element"].as_str().map(str::to_string),
                    source: meta["Source"].as_str().map(str::to_string),
                    logical_id: r.logical_id,
                    resource_type: r.resource_type,
                    status: r.status,
                    differences: r.differences,
                }
            })
            .collect(),
    });
    StackReport {
        name: target.stack_name.clone(),
        status: if diff.is_empty() { StackStatus::InSync } else { StackStatus::OutOfSync },
        changes: diff.resources,
        other: diff.other,
        drift,
    }
}
