//! What `check` asks of deployed stacks: the template they run (GetTemplate, original stage) and,
//! on request, CloudFormation's drift detection (DetectStackDrift, polled with
//! DescribeStackDriftDetectionStatus, then DescribeStackResourceDrifts). Read-only: nothing
//! here changes AWS state.

use std::time::Duration;

use super::api::{ApiError, Cloud, PropertyDifference, ResourceDrift};
use super::aws;
use crate::diagnostic::Diagnostic;

/// A deployed stack as `check` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackState {
    /// No such stack (or it is DELETE_COMPLETE).
    Missing,
    Deployed {
        /// Its template (original stage), as CloudFormation returns it.
        template: String,
        /// With `--drift`: the resources that differ from the template.
        drift: Option<Drift>,
    },
}

/// The result of a drift detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// DRIFTED, IN_SYNC...
    pub stack_status: String,
    pub resources: Vec<DriftedResource>,
}

/// A resource that differs from its template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftedResource {
    pub logical_id: String,
    pub resource_type: String,
    /// MODIFIED or DELETED.
    pub status: String,
    /// `path: expected -> actual` lines.
    pub differences: Vec<String>,
}

/// How long drift detection may take before `check` gives up on it.
const DRIFT_DEADLINE: Duration = Duration::from_secs(600);

/// Read each named stack (and detect its drift with `drift`). The connection is built here,
/// so nothing touches the network unless a stack is named. `Err` is a diagnostic of a failed
/// call (`m2a::deploy::api`) or of a missing configuration (`m2a::deploy::config`).
pub fn inspect_stacks(
    names: &[String],
    drift: bool,
    connection: &aws::Connection,
) -> Result<Vec<StackState>, Diagnostic> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Diagnostic::bug(format!("no async runtime: {err}")))?;
    runtime.block_on(async {
        let cloud = aws::connect(connection).await.map_err(|err| {
            Diagnostic::error("m2a::deploy::config", err.message).with_help(err.help)
        })?;
        let mut states = Vec::new();
        for name in names {
            let state = inspect(&cloud, name, drift, Duration::from_secs(1))
                .await
                .map_err(|err| api_diagnostic(&err))?;
            states.push(state);
        }
        Ok(states)
    })
}

fn api_diagnostic(err: &ApiError) -> Diagnostic {
    Diagnostic::error("m2a::deploy::api", err.to_string())
        .with_help("check the region, credentials and endpoint; the SDK already retried throttling and server errors")
}

/// One stack: its template, then its drift.
pub(crate) async fn inspect(
    cloud: &impl Cloud,
    name: &str,
    drift: bool,
    poll: Duration,
) -> Result<StackState, ApiError> {
    let Some(stack) = cloud.describe_stack(name).await? else { return Ok(StackState::Missing) };
    let template = cloud.get_template(&stack.id).await?;
    let drift = if drift { Some(detect(cloud, &stack.id, poll).await?) } else { None };
    Ok(StackState::Deployed { template, drift })
}

async fn detect(cloud: &impl Cloud, stack_id: &str, poll: Duration) -> Result<Drift, ApiError> {
    let id = cloud.detect_stack_drift(stack_id).await?;
    let started = tokio::time::Instant::now();
    let detection = loop {
        let detection = cloud.drift_detection_status(&id).await?;
        if detection.status != "DETECTION_IN_PROGRESS" {
            break detection;
        }
        if started.elapsed() > DRIFT_DEADLINE {
            return Err(ApiError {
                operation: "DescribeStackDriftDetectionStatus",
                code: None,
                message: format!(
                    "drift detection {id} still in progress after {} s",
                    DRIFT_DEADLINE.as_secs()
                ),
            });
        }
        tokio::time::sleep(poll).await;
    };
    if detection.status == "DETECTION_FAILED" && detection.stack_drift_status.is_none() {
        return Err(ApiError {
            operation: "DetectStackDrift",
            code: Some("DETECTION_FAILED".into()),
            message: detection.reason.unwrap_or_else(|| "no reason given".into()),
        });
    }
    // A detection that failed for some resources still reports the others.
    let resources = cloud.resource_drifts(stack_id).await?.into_iter().map(drifted).collect();
    Ok(Drift {
        stack_status: detection.stack_drift_status.unwrap_or_else(|| "UNKNOWN".into()),
        resources,
    })
}

fn drifted(d: ResourceDrift) -> DriftedResource {
    DriftedResource {
        logical_id: d.logical_id,
        resource_type: d.resource_type,
        status: d.status,
        differences: d.differences.iter().map(difference).collect(),
    }
}

fn difference(p: &PropertyDifference) -> String {
    match p.kind.as_str() {
        "ADD" => format!("{}: added {}", p.path, p.actual),
        "REMOVE" => format!("{}: removed (expected {})", p.path, p.expected),
        _ => format!("{}: expected {}, actual {}", p.path, p.expected, p.actual),
    }
}
