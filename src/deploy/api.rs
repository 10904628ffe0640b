//! The CloudFormation (and S3) calls deploy makes, behind a small trait.
//!
//! The logic in `deploy` only sees these SDK-free types, so it is unit-tested with an
//! in-memory fake; `aws.rs` implements the trait with the real SDK clients.

/// A stack as DescribeStacks reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackInfo {
    /// The stack id (an ARN); events of a deleted stack can still be read through it.
    pub id: String,
    pub status: String,
    pub status_reason: Option<String>,
    /// Keys of the parameters the deployed stack has.
    pub parameter_keys: Vec<String>,
}

/// CREATE for a stack that does not exist yet (or only waits for its first change set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeSetType {
    Create,
    Update,
}

/// Where CloudFormation reads the template from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateSource {
    Body(String),
    Url(String),
}

/// A stack parameter: a value, or `None` for "use the deployed stack's previous value".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    pub key: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangeSetRequest {
    pub stack_name: String,
    pub change_set_name: String,
    pub change_set_type: ChangeSetType,
    pub template: TemplateSource,
    pub parameters: Vec<Param>,
    /// Leave failed resources in place instead of rolling back (CREATE change sets).
    pub keep_on_failure: bool,
}

/// The ids CreateChangeSet answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangeSetIds {
    pub change_set_id: String,
    pub stack_id: String,
}

/// A change set as DescribeChangeSet reports it (every page of changes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ChangeSet {
    /// CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE, FAILED...
    pub status: String,
    pub status_reason: Option<String>,
    pub changes: Vec<ResourceChange>,
}

/// One resource change of a change set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ResourceChange {
    /// Add, Modify, Remove, Import, Dynamic.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// True, False or Conditional (Modify only).
    pub replacement: Option<String>,
}

/// One stack event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Event {
    pub id: String,
    pub logical_id: String,
    pub physical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
}

/// A page of events, newest first, and the token of the next (older) page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct EventPage {
    pub events: Vec<Event>,
    pub next_token: Option<String>,
}

/// A drift detection as DescribeStackDriftDetectionStatus reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DriftDetection {
    /// DETECTION_IN_PROGRESS, DETECTION_COMPLETE or DETECTION_FAILED.
    pub status: String,
    /// DRIFTED, IN_SYNC, NOT_CHECKED, UNKNOWN.
    pub stack_drift_status: Option<String>,
    pub reason: Option<String>,
}

/// One resource that differs from its template (DescribeStackResourceDrifts).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    /// MODIFIED or DELETED.
    pub status: String,
    pub differences: Vec<PropertyDifference>,
}

/// One property of a drifted resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PropertyDifference {
    pub path: String,
    pub expected: String,
    pub actual: String,
    /// ADD, REMOVE or NOT_EQUAL.
    pub kind: String,
}

/// A call that failed after the SDK's own retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// The operation, such as `CreateChangeSet`.
    pub operation: &'static str,
    /// The service's error code (`ValidationError`, `Throttling`...), if it answered.
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.operation, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

/// The calls deploy, diff and destroy need. Every method is one logical call (paging of
/// change-set changes is included in `describe_change_set`).
#[allow(async_fn_in_trait)]
pub(crate) trait Cloud {
    /// DescribeStacks; `Ok(None)` when the stack does not exist (or is DELETE_COMPLETE).
    async fn describe_stack(&self, name: &str) -> Result<Option<StackInfo>, ApiError>;
    /// GetTemplate (original stage) of a deployed stack.
    async fn get_template(&self, stack: &str) -> Result<String, ApiError>;
    async fn create_change_set(&self, req: &ChangeSetRequest) -> Result<ChangeSetIds, ApiError>;
    async fn describe_change_set(&self, id: &str) -> Result<ChangeSet, ApiError>;
    /// ExecuteChangeSet with a client request token, so that a retried call is idempotent.
    async fn execute_change_set(
        &self,
        id: &str,
        client_token: &str,
        disable_rollback: bool,
    ) -> Result<(), ApiError>;
    async fn delete_change_set(&self, id: &str) -> Result<(), ApiError>;
    /// One DescribeStackEvents call.
    async fn stack_events(
        &self,
        stack_id: &str,
        next_token: Option<&str>,
    ) -> Result<EventPage, ApiError>;
    async fn delete_stack(&self, stack_id: &str) -> Result<(), ApiError>;
    /// DetectStackDrift; the detection id.
    async fn detect_stack_drift(&self, stack: &str) -> Result<String, ApiError>;
    /// DescribeStackDriftDetectionStatus.
    async fn drift_detection_status(&self, detection_id: &str) -> Result<DriftDetection, ApiError>;
    /// DescribeStackResourceDrifts (every page) of the resources that are MODIFIED or DELETED.
    async fn resource_drifts(&self, stack: &str) -> Result<Vec<ResourceDrift>, ApiError>;
    /// S3 PutObject of a template too big to send inline.
    async fn put_template(&self, bucket: &str, key: &str, body: &str) -> Result<(), ApiError>;
}
