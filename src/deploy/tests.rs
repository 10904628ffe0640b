//! The deploy logic against an in-memory CloudFormation.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Duration;

use super::api::*;
use super::*;

/// One step of the fake's event history, taken by each first-page DescribeStackEvents call.
enum Step {
    Events(Vec<Event>),
    Fail,
}

/// An in-memory CloudFormation that records every call.
#[derive(Default)]
struct Fake {
    /// Answers of DescribeStacks, in order; the last one repeats.
    stacks: RefCell<VecDeque<Option<StackInfo>>>,
    deployed_template: RefCell<String>,
    /// Answers of DescribeChangeSet, in order; the last one repeats.
    change_sets: RefCell<VecDeque<ChangeSet>>,
    script: RefCell<VecDeque<Step>>,
    /// Events so far, oldest first.
    history: RefCell<Vec<Event>>,
    page_size: usize,
    calls: RefCell<Vec<String>>,
    requests: RefCell<Vec<ChangeSetRequest>>,
    /// CreateChangeSet fails with this message.
    create_error: RefCell<Option<String>>,
    /// Answers of DescribeStackDriftDetectionStatus, in order; the last one repeats.
    drift_detections: RefCell<VecDeque<DriftDetection>>,
    drifted: RefCell<Vec<ResourceDrift>>,
}

impl Fake {
    fn new() -> Fake {
        Fake { page_size: 100, ..Fake::default() }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }

    fn count(&self, call: &str) -> usize {
        self.calls.borrow().iter().filter(|c| c.as_str() == call).count()
    }

    fn log(&self, call: &str) {
        self.calls.borrow_mut().push(call.to_string());
    }
}

fn next_of<T: Clone>(queue: &RefCell<VecDeque<T>>) -> Option<T> {
    let mut queue = queue.borrow_mut();
    if queue.len() > 1 { queue.pop_front() } else { queue.front().cloned() }
}

fn err(operation: &'static str, code: &str) -> ApiError {
    ApiError { operation, code: Some(code.into()), message: "rate exceeded".into() }
}

impl Cloud for Fake {
    async fn describe_stack(&self, _name: &str) -> Result<Option<StackInfo>, ApiError> {
        self.log("DescribeStacks");
        Ok(next_of(&self.stacks).flatten())
    }

    async fn get_template(&self, _stack: &str) -> Result<String, ApiError> {
        self.log("GetTemplate");
        Ok(self.deployed_template.borrow().clone())
    }

    async fn create_change_set(&self, req: &ChangeSetRequest) -> Result<ChangeSetIds, ApiError> {
        self.log("CreateChangeSet");
        self.requests.borrow_mut().push(req.clone());
        if let Some(message) = self.create_error.borrow().clone() {
            return Err(ApiError {
                operation: "CreateChangeSet",
                code: Some("ValidationError".into()),
                message,
            });
        }
        Ok(ChangeSetIds { change_set_id: "cs-1".into(), stack_id: STACK_ID.into() })
    }

    async fn describe_change_set(&self, _id: &str) -> Result<ChangeSet, ApiError> {
        self.log("DescribeChangeSet");
        Ok(next_of(&self.change_sets).unwrap_or_default())
    }

    async fn execute_change_set(
        &self,
        _id: &str,
        _client_token: &str,
        disable_rollback: bool,
    ) -> Result<(), ApiError> {
        self.log(if disable_rollback {
            "ExecuteChangeSet(DisableRollback)"
        } else {
            "ExecuteChangeSet"
        });
        Ok(())
    }

    async fn delete_change_set(&self, _id: &str) -> Result<(), ApiError> {
        self.log("DeleteChangeSet");
        Ok(())
    }

    async fn stack_events(
        &self,
        _stack_id: &str,
        next_token: Option<&str>,
    ) -> Result<EventPage, ApiError> {
        self.log("DescribeStackEvents");
        if next_token.is_none() {
            match self.script.borrow_mut().pop_front() {
                Some(Step::Events(events)) => self.history.borrow_mut().extend(events),
                Some(Step::Fail) => return Err(err("DescribeStackEvents", "Throttling")),
                None => {}
            }
        }
        let newest_first: Vec<Event> = self.history.borrow().iter().rev().cloned().collect();
        let start: usize = next_token.map_or(0, |t| t.parse().unwrap());
        let end = (start + self.page_size).min(newest_first.len());
        Ok(EventPage {
            events: newest_first[start..end].to_vec(),
            next_token: (end < newest_first.len()).then(|| end.to_string()),
        })
    }

    async fn delete_stack(&self, _stack_id: &str) -> Result<(), ApiError> {
        self.log("DeleteStack");
        Ok(())
    }

    async fn detect_stack_drift(&self, _stack: &str) -> Result<String, ApiError> {
        self.log("DetectStackDrift");
        Ok("detection-1".into())
    }

    async fn drift_detection_status(&self, _id: &str) -> Result<DriftDetection, ApiError> {
        self.log("DescribeStackDriftDetectionStatus");
        Ok(next_of(&self.drift_detections).unwrap_or_default())
    }

    async fn resource_drifts(&self, _stack: &str) -> Result<Vec<ResourceDrift>, ApiError> {
        self.log("DescribeStackResourceDrifts");
        Ok(self.drifted.borrow().clone())
    }

    async fn put_template(&self, bucket: &str, key: &str, _body: &str) -> Result<(), ApiError> {
        self.log(&format!("PutObject {bucket}/{key}"));
        Ok(())
    }
}

const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/shop/1";

fn stack(status: &str) -> Option<StackInfo> {
    Some(StackInfo {
        id: STACK_ID.into(),
        status: status.into(),
        status_reason: None,
        parameter_keys: vec!["Cert".into()],
    })
}

fn stack_event(n: u32, status: &str) -> Event {
    Event {
        id: format!("e{n}"),
        logical_id: "shop".into(),
        physical_id: STACK_ID.into(),
        resource_type: "AWS::CloudFormation::Stack".into(),
        status: status.into(),
        reason: None,
        timestamp: 1_700_000_000 + i64::from(n),
    }
}

fn resource_event(n: u32, id: &str, ty: &str, status: &str, reason: Option<&str>) -> Event {
    Event {
        id: format!("e{n}"),
        logical_id: id.into(),
        physical_id: String::new(),
        resource_type: ty.into(),
        status: status.into(),
        reason: reason.map(str::to_string),
        timestamp: 1_700_000_000 + i64::from(n),
    }
}

/// A change set row (also used by `changes`' tests).
pub(super) fn change(
    action: &str,
    id: &str,
    ty: &str,
    replacement: Option<&str>,
) -> ResourceChange {
    ResourceChange {
        action: action.into(),
        logical_id: id.into(),
        resource_type: ty.into(),
        replacement: replacement.map(str::to_string),
    }
}

fn complete(changes: Vec<ResourceChange>) -> ChangeSet {
    ChangeSet { status: "CREATE_COMPLETE".into(), status_reason: None, changes }
}

const DIAGRAM: &str = "graph LR\n    W[Web server] --> DB[(PostgreSQL)]\n    DB2[RDS]\n";

fn file() -> SourceFile {
    SourceFile::new("a.mmd", DIAGRAM)
}

const TEMPLATE: &str = r#"{"Parameters": {"Cert": {"Type": "String"}, "Ami": {"Type": "String", "Default": "/aws/ami"}},
  "Resources": {
    "Web": {"Type": "AWS::EC2::Instance",
            "Metadata": {"Mermaid2Aws": {"Element": "W", "Source": "a.mmd:2:5"}}},
    "Db": {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot",
           "Metadata": {"Mermaid2Aws": {"Element": "DB2", "Source": "a.mmd:3:5"}}},
    "Rule": {"Type": "AWS::EC2::SecurityGroupIngress",
             "Metadata": {"Mermaid2Aws": {"Element": "W", "Source": "a.mmd:2:5"}}}}}"#;

fn options() -> Options {
    Options {
        stack_name: "shop".into(),
        parameters: vec![("Cert".into(), "arn:cert".into())],
        yes: true,
        command_line: "mermaid2aws deploy a.mmd --stack-name shop".into(),
        ..Options::default()
    }
}

/// A watch that shows nothing.
struct Quiet;

impl follow::Watch for Quiet {
    fn event(&mut self, _: &Event) {}
    fn note(&mut self, _: &str) {}
}

const NO_WAIT: Backoff =
    Backoff { first: Duration::ZERO, steady: Duration::ZERO, failing: Duration::ZERO };

/// Run `deploy` against the fake; returns the outcome and what was printed.
fn deploy_with(fake: &Fake, options: &Options, answers: Option<Vec<bool>>) -> (Outcome, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut out = Vec::new();
    let phase = RefCell::new(Phase::Idle);
    let outcome = runtime.block_on(async {
        let mut ctx = Ctx { options, out: &mut out, phase: &phase, backoff: NO_WAIT, answers };
        run_deploy(fake, &mut ctx, &file(), TEMPLATE).await
    });
    (outcome, String::from_utf8(out).unwrap())
}

fn diff_with(fake: &Fake) -> (Outcome, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut out = Vec::new();
    let phase = RefCell::new(Phase::Idle);
    let options = options();
    let outcome = runtime.block_on(async {
        let mut ctx = Ctx {
            options: &options,
            out: &mut out,
            phase: &phase,
            backoff: NO_WAIT,
            answers: None,
        };
        run_diff(fake, &mut ctx, &file(), TEMPLATE, None).await
    });
    (outcome, String::from_utf8(out).unwrap())
}

fn destroy_with(fake: &Fake, options: &Options) -> (Outcome, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut out = Vec::new();
    let phase = RefCell::new(Phase::Idle);
    let outcome = runtime.block_on(async {
        let mut ctx =
            Ctx { options, out: &mut out, phase: &phase, backoff: NO_WAIT, answers: None };
        run_destroy(fake, &mut ctx).await
    });
    (outcome, String::from_utf8(out).unwrap())
}

#[test]
fn a_new_stack_is_created_and_followed_until_its_own_terminal_event() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(None);
    fake.change_sets.borrow_mut().extend([
        ChangeSet { status: "CREATE_PENDING".into(), ..ChangeSet::default() },
        complete(vec![change("Add", "Web", "AWS::EC2::Instance", None)]),
    ]);
    fake.script.borrow_mut().extend([
        Step::Events(vec![stack_event(1, "REVIEW_IN_PROGRESS")]),
        Step::Events(vec![stack_event(2, "CREATE_IN_PROGRESS")]),
        Step::Events(vec![]),
        Step::Events(vec![
            resource_event(3, "Web", "AWS::EC2::Instance", "CREATE_IN_PROGRESS", None),
            resource_event(4, "Web", "AWS::EC2::Instance", "CREATE_COMPLETE", None),
            stack_event(5, "CREATE_COMPLETE"),
        ]),
        Step::Events(vec![stack_event(6, "never read")]),
    ]);
    let (outcome, out) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome, Outcome::ok(), "{out}");
    assert_eq!(fake.requests.borrow()[0].change_set_type, ChangeSetType::Create);
    assert!(out.contains("add     Web         AWS::EC2::Instance  W        a.mmd:2:5"), "{out}");
    // Only new events are shown, the stack's own terminal event ends following at once.
    assert!(!out.contains("REVIEW_IN_PROGRESS"), "{out}");
    assert!(out.contains("22:13:24  CREATE_COMPLETE              Web"), "{out}");
    assert!(out.contains("stack `shop`: CREATE_COMPLETE"), "{out}");
    assert_eq!(fake.count("DescribeStackEvents"), 4, "{:?}", fake.calls());
    assert_eq!(fake.script.borrow().len(), 1);
    assert_eq!(fake.count("DeleteChangeSet"), 0);
}

#[test]
fn an_empty_change_set_is_no_changes_and_is_deleted() {
    for empty in [
        complete(vec![]),
        ChangeSet {
            status: "FAILED".into(),
            status_reason: Some("The submitted information didn't contain changes. Submit different information to create a change set.".into()),
            changes: vec![],
        },
        ChangeSet { status: "FAILED".into(), status_reason: None, changes: vec![] },
    ] {
        let fake = Fake::new();
        fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
        fake.change_sets.borrow_mut().push_back(empty);
        let (outcome, out) = deploy_with(&fake, &options(), None);
        assert_eq!(outcome.code, EXIT_OK);
        assert!(out.contains("no changes"), "{out}");
        assert_eq!(fake.count("DeleteChangeSet"), 1);
        assert_eq!(fake.count("ExecuteChangeSet"), 0);
    }
}

#[test]
fn an_identical_update_refused_outright_is_no_changes() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    *fake.create_error.borrow_mut() = Some("No updates are to be performed.".into());
    let (outcome, out) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome, Outcome::ok());
    assert!(out.contains("no changes"), "{out}");
    assert_eq!(fake.count("ExecuteChangeSet"), 0);
    *fake.create_error.borrow_mut() = Some("Template format error".into());
    let (outcome, _) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome.code, EXIT_FAILED);
}

#[test]
fn a_change_set_that_fails_for_a_reason_is_a_failed_deploy() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    fake.change_sets.borrow_mut().push_back(ChangeSet {
        status: "FAILED".into(),
        status_reason: Some("Template format error: unresolved resource dependencies".into()),
        changes: vec![],
    });
    let (outcome, _) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome.code, EXIT_FAILED);
    assert!(outcome.diagnostics[0].message.contains("Template format error"));
    assert_eq!(fake.count("DeleteChangeSet"), 1);
}

#[test]
fn updates_keep_the_previous_value_of_parameters_not_given() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    fake.change_sets.borrow_mut().push_back(complete(vec![]));
    let options = Options { parameters: vec![], ..options() };
    let (outcome, _) = deploy_with(&fake, &options, None);
    assert_eq!(outcome.code, EXIT_OK);
    let request = fake.requests.borrow()[0].clone();
    assert_eq!(request.change_set_type, ChangeSetType::Update);
    assert_eq!(request.parameters, [Param { key: "Cert".into(), value: None }]);
}

#[test]
fn a_parameter_without_value_or_default_is_refused_before_any_change() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(None);
    let options = Options { parameters: vec![], ..options() };
    let (outcome, _) = deploy_with(&fake, &options, None);
    assert_eq!(outcome.code, EXIT_REFUSED);
    assert!(outcome.diagnostics[0].message.contains("`Cert`"));
    assert_eq!(fake.calls(), ["DescribeStacks"]);
}

#[test]
fn replacing_a_database_is_refused_naming_the_diagram_line() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    fake.change_sets.borrow_mut().push_back(complete(vec![
        change("Modify", "Db", "AWS::RDS::DBInstance", Some("True")),
        change("Modify", "Rule", "AWS::EC2::SecurityGroupIngress", Some("True")),
    ]));
    let (outcome, out) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome.code, EXIT_REFUSED, "{out}");
    assert!(out.contains("replace  Db"), "{out}");
    let d = &outcome.diagnostics[0];
    assert_eq!(d.code, "m2a::deploy::data_loss");
    assert!(d.message.contains("`Db`") && d.message.contains("a.mmd:3:5"), "{}", d.message);
    let span = d.span().unwrap();
    assert_eq!(&DIAGRAM[span.start..span.end], "DB2[RDS]");
    assert_eq!(outcome.diagnostics.len(), 2);
    assert_eq!(fake.count("DeleteChangeSet"), 1);
    assert_eq!(fake.count("ExecuteChangeSet"), 0);
}

#[test]
fn removing_a_database_is_refused_with_the_deployed_templates_metadata() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    *fake.deployed_template.borrow_mut() =
        r#"{"Resources": {"OldDb": {"Type": "AWS::RDS::DBInstance",
        "Metadata": {"Mermaid2Aws": {"Element": "Old", "Source": "a.mmd:9:1"}}}}}"#
            .into();
    fake.change_sets.borrow_mut().push_back(complete(vec![change(
        "Remove",
        "OldDb",
        "AWS::RDS::DBInstance",
        None,
    )]));
    let (outcome, out) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome.code, EXIT_REFUSED);
    assert!(out.contains("remove  OldDb       AWS::RDS::DBInstance  Old      a.mmd:9:1"), "{out}");
    assert!(outcome.diagnostics[0].message.contains("element `Old` at a.mmd:9:1"));
}

#[test]
fn allow_data_loss_deploys_the_replacement() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    fake.change_sets.borrow_mut().push_back(complete(vec![change(
        "Modify",
        "Db",
        "AWS::RDS::DBInstance",
        Some("Conditional"),
    )]));
    fake.script.borrow_mut().extend([
        Step::Events(vec![stack_event(1, "CREATE_COMPLETE")]),
        Step::Events(vec![stack_event(2, "UPDATE_IN_PROGRESS"), stack_event(3, "UPDATE_COMPLETE")]),
    ]);
    let options = Options { allow_data_loss: true, keep_on_failure: true, ..options() };
    let (outcome, out) = deploy_with(&fake, &options, None);
    assert_eq!(outcome.code, EXIT_OK, "{out}");
    assert!(out.contains("replace?"), "{out}");
    assert_eq!(fake.count("ExecuteChangeSet(DisableRollback)"), 1);
}

#[test]
fn a_failed_create_shows_the_root_cause_on_the_diagram_element() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(None);
    fake.change_sets.borrow_mut().push_back(complete(vec![
        change("Add", "Web", "AWS::EC2::Instance", None),
        change("Add", "Rule", "AWS::EC2::SecurityGroupIngress", None),
    ]));
    fake.script.borrow_mut().extend([
        Step::Events(vec![stack_event(1, "REVIEW_IN_PROGRESS")]),
        Step::Events(vec![
            stack_event(2, "CREATE_IN_PROGRESS"),
            resource_event(
                3,
                "Rule",
                "AWS::EC2::SecurityGroupIngress",
                "CREATE_FAILED",
                Some("Resource creation cancelled"),
            ),
            resource_event(
                4,
                "Web",
                "AWS::EC2::Instance",
                "CREATE_FAILED",
                Some("Instance type t9.nano is not supported"),
            ),
            stack_event(5, "ROLLBACK_IN_PROGRESS"),
        ]),
        Step::Events(vec![stack_event(6, "ROLLBACK_COMPLETE")]),
    ]);
    let (outcome, out) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome.code, EXIT_FAILED, "{out}");
    let first = &outcome.diagnostics[0];
    assert_eq!(first.code, "m2a::deploy::resource_failed");
    assert!(first.message.contains("Instance type t9.nano is not supported"), "{}", first.message);
    let span = first.span().unwrap();
    assert_eq!(file().location(span), "a.mmd:2:5");
    assert_eq!(outcome.diagnostics[1].code, "m2a::deploy::also_failed");
    let last = outcome.diagnostics.last().unwrap();
    assert!(last.message.contains("ROLLBACK_COMPLETE"));
}

#[test]
fn failed_reads_while_following_never_decide_the_outcome() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    fake.change_sets.borrow_mut().push_back(complete(vec![change(
        "Modify",
        "Web",
        "AWS::EC2::Instance",
        Some("False"),
    )]));
    fake.script.borrow_mut().extend([
        Step::Events(vec![stack_event(1, "CREATE_COMPLETE")]),
        Step::Fail,
        Step::Events(vec![stack_event(2, "UPDATE_IN_PROGRESS")]),
        Step::Fail,
        Step::Fail,
        Step::Events(vec![stack_event(3, "UPDATE_COMPLETE")]),
    ]);
    let (outcome, out) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome.code, EXIT_OK, "{out}");
    assert_eq!(out.matches("could not read the stack's events").count(), 3, "{out}");
}

#[test]
fn paging_stops_at_the_last_event_already_seen() {
    let fake = Fake { page_size: 2, ..Fake::new() };
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    fake.change_sets.borrow_mut().push_back(complete(vec![change(
        "Modify",
        "Web",
        "AWS::EC2::Instance",
        Some("False"),
    )]));
    // Ten old events: the baseline reads one page only.
    let old: Vec<Event> = (1..=10)
        .map(|n| resource_event(n, "Old", "AWS::SQS::Queue", "CREATE_COMPLETE", None))
        .collect();
    fake.script.borrow_mut().extend([
        Step::Events(old),
        Step::Events(vec![
            stack_event(11, "UPDATE_IN_PROGRESS"),
            resource_event(12, "Web", "AWS::EC2::Instance", "UPDATE_IN_PROGRESS", None),
            resource_event(13, "Web", "AWS::EC2::Instance", "UPDATE_COMPLETE", None),
        ]),
        Step::Events(vec![stack_event(14, "UPDATE_COMPLETE")]),
    ]);
    let (outcome, out) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome.code, EXIT_OK, "{out}");
    // Baseline: 1 page. One call a poll: the first poll reads [13,12] (e10 not reached: a
    // gap), the second the older page [11,10] (stops at e10: e11-e13 shown), the third
    // [14,13] (stops at e13).
    assert_eq!(fake.count("DescribeStackEvents"), 4, "{:?}", fake.calls());
    let events = &out[out.find("to remove").expect("the change table")..];
    let shown: Vec<(&str, &str)> = events
        .lines()
        .skip(1)
        .filter(|line| !line.starts_with("stack "))
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            Some((*words.get(1)?, *words.get(2)?))
        })
        .collect();
    let expected = [
        ("UPDATE_IN_PROGRESS", "shop"),
        ("UPDATE_IN_PROGRESS", "Web"),
        ("UPDATE_COMPLETE", "Web"),
        ("UPDATE_COMPLETE", "shop"),
    ];
    assert_eq!(shown, expected, "each event once, in order: {out}");
    assert!(!out.contains("  Old  "), "{out}");
    assert_eq!(out.matches("UPDATE_IN_PROGRESS").count(), 2, "{out}");
}

#[test]
fn an_unreadable_event_history_before_executing_executes_nothing() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    fake.change_sets.borrow_mut().push_back(complete(vec![change(
        "Modify",
        "Web",
        "AWS::EC2::Instance",
        Some("False"),
    )]));
    // The stack's history ends in an old CREATE_COMPLETE; the read before executing fails.
    fake.history.borrow_mut().push(stack_event(1, "CREATE_COMPLETE"));
    fake.script.borrow_mut().push_back(Step::Fail);
    let (outcome, out) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome.code, EXIT_FAILED, "{out}");
    assert_eq!(fake.count("ExecuteChangeSet"), 0, "{:?}", fake.calls());
    assert_eq!(fake.count("DeleteChangeSet"), 1, "{:?}", fake.calls());
    let help = outcome.diagnostics[0].help.clone().unwrap_or_default();
    assert!(help.contains("nothing was changed"), "{help}");
}

#[test]
fn an_update_that_ends_with_the_stack_gone_is_no_success() {
    let fake = Fake::new();
    // No event ever comes; the status read finds no stack.
    let followed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(follow::follow(&fake, STACK_ID, "shop", None, NO_WAIT, &mut Quiet));
    let Followed::Done { status, .. } = followed else { panic!("{followed:?}") };
    assert_eq!(status, "DELETE_COMPLETE");
    // `finish` compares with the operation's own success status.
    let (outcome, _) = {
        let fake = Fake::new();
        fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
        fake.change_sets.borrow_mut().push_back(complete(vec![change(
            "Modify",
            "Web",
            "AWS::EC2::Instance",
            Some("False"),
        )]));
        fake.script
            .borrow_mut()
            .push_back(Step::Events(vec![stack_event(1, "UPDATE_IN_PROGRESS")]));
        fake.script.borrow_mut().push_back(Step::Events(vec![stack_event(2, "DELETE_COMPLETE")]));
        deploy_with(&fake, &options(), None)
    };
    assert_eq!(outcome.code, EXIT_FAILED);
}

#[test]
fn a_busy_stack_without_a_terminal_is_refused() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_IN_PROGRESS"));
    let (outcome, _) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome.code, EXIT_REFUSED);
    assert!(outcome.diagnostics[0].message.contains("operation in progress (UPDATE_IN_PROGRESS)"));
    assert_eq!(fake.calls(), ["DescribeStacks"]);
}

#[test]
fn a_busy_stack_is_waited_for_on_a_terminal() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().extend([
        stack("UPDATE_IN_PROGRESS"),
        stack("UPDATE_IN_PROGRESS"),
        stack("UPDATE_COMPLETE"),
    ]);
    fake.change_sets.borrow_mut().push_back(complete(vec![]));
    let options = Options { interactive: true, ..options() };
    let (outcome, out) = deploy_with(&fake, &options, None);
    assert_eq!(outcome.code, EXIT_OK);
    assert!(out.contains("waiting for it to finish"), "{out}");
    assert_eq!(fake.count("DescribeStacks"), 3);
}

#[test]
fn rollback_complete_is_deleted_and_created_again_with_yes() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("ROLLBACK_COMPLETE"));
    fake.change_sets.borrow_mut().push_back(complete(vec![change(
        "Add",
        "Web",
        "AWS::EC2::Instance",
        None,
    )]));
    fake.script.borrow_mut().extend([
        Step::Events(vec![stack_event(1, "ROLLBACK_COMPLETE")]),
        Step::Events(vec![stack_event(2, "DELETE_IN_PROGRESS"), stack_event(3, "DELETE_COMPLETE")]),
        Step::Events(vec![]),
        Step::Events(vec![stack_event(4, "CREATE_IN_PROGRESS"), stack_event(5, "CREATE_COMPLETE")]),
    ]);
    let (outcome, out) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome.code, EXIT_OK, "{out}");
    assert!(out.contains("ROLLBACK_COMPLETE") && out.contains("(--yes)"), "{out}");
    let calls = fake.calls();
    let delete = calls.iter().position(|c| c == "DeleteStack").unwrap();
    let create = calls.iter().position(|c| c == "CreateChangeSet").unwrap();
    assert!(delete < create, "{calls:?}");
    assert_eq!(fake.requests.borrow()[0].change_set_type, ChangeSetType::Create);
}

#[test]
fn rollback_complete_declined_on_a_terminal_changes_nothing() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("ROLLBACK_COMPLETE"));
    let options = Options { yes: false, interactive: true, ..options() };
    let (outcome, _) = deploy_with(&fake, &options, Some(vec![false]));
    assert_eq!(outcome.code, EXIT_REFUSED);
    assert_eq!(fake.calls(), ["DescribeStacks"]);
}

#[test]
fn declining_the_changes_deletes_the_change_set_and_the_empty_new_stack() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(None);
    fake.change_sets.borrow_mut().push_back(complete(vec![change(
        "Add",
        "Web",
        "AWS::EC2::Instance",
        None,
    )]));
    let options = Options { yes: false, interactive: true, ..options() };
    let (outcome, _) = deploy_with(&fake, &options, Some(vec![false]));
    assert_eq!(outcome.code, EXIT_REFUSED);
    assert_eq!(fake.count("DeleteChangeSet"), 1);
    assert_eq!(fake.count("DeleteStack"), 1);
    assert_eq!(fake.count("ExecuteChangeSet"), 0);
}

#[test]
fn requests_are_checked_before_any_call() {
    let big = format!(
        "{{\"Resources\": {{}}, \"Description\": \"{}\"}}",
        "x".repeat(MAX_INLINE_TEMPLATE)
    );
    let refused = check_request(&big, &options()).unwrap();
    assert_eq!(refused.diagnostics[0].code, "m2a::deploy::template_too_big");
    let with_bucket =
        Options { template_bucket: Some("b".into()), parameters: vec![], ..options() };
    assert_eq!(check_request(&big, &with_bucket), None);
    let unknown = check_request(
        TEMPLATE,
        &Options { parameters: vec![("Nope".into(), "1".into())], ..options() },
    )
    .unwrap();
    assert!(unknown.diagnostics[0].message.contains("`Nope`"));
    // No --yes and no terminal is refused later, where deploy would ask (after showing the
    // stack's state and the changes): tests/deploy_scenarios.rs, scenarios e and g.
    assert_eq!(check_request(TEMPLATE, &Options { yes: false, ..options() }), None);
}

#[test]
fn big_templates_go_through_the_bucket() {
    let fake = Fake::new();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let big = "x".repeat(MAX_INLINE_TEMPLATE + 1);
    let options = Options { template_bucket: Some("templates".into()), ..options() };
    let source = runtime.block_on(template_source(&fake, &options, &big)).unwrap();
    let TemplateSource::Url(url) = source else { panic!("inline") };
    assert!(url.starts_with("https://templates.s3.amazonaws.com/mermaid2aws/shop/"), "{url}");
    assert!(fake.calls()[0].starts_with("PutObject templates/mermaid2aws/shop/"));
}

#[test]
fn diff_shows_the_table_and_deletes_the_change_set() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    fake.change_sets.borrow_mut().push_back(complete(vec![
        change("Modify", "Rule", "AWS::EC2::SecurityGroupIngress", Some("True")),
        change("Modify", "Db", "AWS::RDS::DBInstance", Some("True")),
    ]));
    let (outcome, out) = diff_with(&fake);
    assert_eq!(outcome.code, EXIT_OK);
    assert!(out.contains("replace  Rule"), "{out}");
    assert_eq!(outcome.diagnostics.len(), 1);
    assert!(outcome.diagnostics[0].help.as_deref().unwrap().contains("--allow-data-loss"));
    assert_eq!(fake.count("DeleteChangeSet"), 1);
    assert_eq!(fake.count("ExecuteChangeSet"), 0);
}

#[test]
fn diff_of_a_new_stack_lists_everything_as_added_without_a_change_set() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(None);
    let (outcome, out) = diff_with(&fake);
    assert_eq!(outcome.code, EXIT_OK);
    assert!(out.contains("3 to add"), "{out}");
    assert_eq!(fake.calls(), ["DescribeStacks"]);
}

#[test]
fn destroy_names_what_the_deletion_policy_keeps() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    *fake.deployed_template.borrow_mut() = TEMPLATE.into();
    fake.script.borrow_mut().extend([
        Step::Events(vec![stack_event(1, "UPDATE_COMPLETE")]),
        Step::Events(vec![stack_event(2, "DELETE_IN_PROGRESS"), stack_event(3, "DELETE_COMPLETE")]),
    ]);
    let (outcome, out) = destroy_with(&fake, &options());
    assert_eq!(outcome.code, EXIT_OK, "{out}");
    assert!(out.contains("kept by their DeletionPolicy"), "{out}");
    assert!(out.contains("Db  AWS::RDS::DBInstance  Snapshot"), "{out}");
    assert!(!out.contains("  Web  "), "{out}");
}

#[test]
fn destroy_of_a_missing_stack_is_a_user_error() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(None);
    let (outcome, _) = destroy_with(&fake, &options());
    assert_eq!(outcome.code, EXIT_REFUSED);
    assert_eq!(fake.calls(), ["DescribeStacks"]);
}

#[test]
fn a_failed_delete_is_a_failed_operation() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    fake.script.borrow_mut().extend([
        Step::Events(vec![]),
        Step::Events(vec![
            resource_event(
                1,
                "Db",
                "AWS::RDS::DBInstance",
                "DELETE_FAILED",
                Some("snapshot quota exceeded"),
            ),
            stack_event(2, "DELETE_FAILED"),
        ]),
    ]);
    let (outcome, _) = destroy_with(&fake, &options());
    assert_eq!(outcome.code, EXIT_FAILED);
    assert!(outcome.diagnostics[0].message.contains("snapshot quota exceeded"));
}

#[test]
fn following_falls_back_to_the_stacks_status_when_no_event_comes() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let followed =
        runtime.block_on(follow::follow(&fake, STACK_ID, "shop", None, NO_WAIT, &mut Quiet));
    assert!(matches!(followed, Followed::Done { ref status, .. } if status == "UPDATE_COMPLETE"));
    // Four quiet polls, the status, then one more read for the events behind it.
    assert_eq!(fake.count("DescribeStackEvents"), 5, "{:?}", fake.calls());
    assert_eq!(fake.count("DescribeStacks"), 1, "{:?}", fake.calls());
}

#[test]
fn terminal_statuses() {
    for s in [
        "CREATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "DELETE_FAILED",
        "UPDATE_FAILED",
    ] {
        assert!(follow::is_terminal(s), "{s}");
    }
    for s in [
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "REVIEW_IN_PROGRESS",
        "ROLLBACK_IN_PROGRESS",
        "CREATE_IN_PROGRESS",
    ] {
        assert!(!follow::is_terminal(s), "{s}");
    }
}

#[test]
fn polls_start_fast_and_back_off_to_800_ms_and_to_2_s_while_reads_fail() {
    let b = Backoff::DEFAULT;
    let mut intervals = vec![b.first];
    for _ in 0..6 {
        intervals.push(b.after_answer(*intervals.last().unwrap()));
    }
    let ms: Vec<u128> = intervals.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [200, 300, 450, 675, 800, 800, 800], "fast start, then every 800 ms");
    let mut d = b.steady;
    for _ in 0..10 {
        d = b.after_failure(d);
    }
    assert_eq!(d, Duration::from_secs(2), "failed reads back off to 2 s");
    assert_eq!(b.after_answer(d), b.steady, "an answer brings the steady pace back");
}

#[test]
fn parameters_come_as_pairs_objects_or_the_cli_list() {
    assert_eq!(parse_parameter("A=b=c"), Ok(("A".into(), "b=c".into())));
    assert!(parse_parameter("nope").is_err());
    assert_eq!(
        parse_parameters_file(r#"{"A": "1", "B": 2}"#),
        Ok(vec![("A".into(), "1".into()), ("B".into(), "2".into())])
    );
    assert_eq!(
        parse_parameters_file(r#"[{"ParameterKey": "A", "ParameterValue": "x"}]"#),
        Ok(vec![("A".into(), "x".into())])
    );
    assert!(parse_parameters_file("[1]").is_err());
}

fn detection(status: &str, drift: Option<&str>) -> DriftDetection {
    DriftDetection {
        status: status.into(),
        stack_drift_status: drift.map(str::to_string),
        reason: None,
    }
}

fn inspect_with(fake: &Fake, drift: bool) -> Result<drift::StackState, ApiError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(drift::inspect(fake, "shop", drift, Duration::ZERO))
}

#[test]
fn inspecting_a_stack_reads_its_template_and_polls_drift_detection_to_the_end() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    *fake.deployed_template.borrow_mut() = TEMPLATE.into();
    fake.drift_detections.borrow_mut().extend([
        detection("DETECTION_IN_PROGRESS", None),
        detection("DETECTION_IN_PROGRESS", None),
        detection("DETECTION_COMPLETE", Some("DRIFTED")),
    ]);
    fake.drifted.borrow_mut().push(ResourceDrift {
        logical_id: "Rule".into(),
        resource_type: "AWS::EC2::SecurityGroupIngress".into(),
        status: "MODIFIED".into(),
        differences: vec![PropertyDifference {
            path: "/FromPort".into(),
            expected: "5432".into(),
            actual: "22".into(),
            kind: "NOT_EQUAL".into(),
        }],
    });
    let state = inspect_with(&fake, true).unwrap();
    let drift::StackState::Deployed { template, drift: Some(drift) } = state else {
        panic!("{state:?}")
    };
    assert_eq!(template, TEMPLATE);
    assert_eq!(drift.stack_status, "DRIFTED");
    assert_eq!(drift.resources[0].differences, ["/FromPort: expected 5432, actual 22"]);
    assert_eq!(
        fake.calls(),
        [
            "DescribeStacks",
            "GetTemplate",
            "DetectStackDrift",
            "DescribeStackDriftDetectionStatus",
            "DescribeStackDriftDetectionStatus",
            "DescribeStackDriftDetectionStatus",
            "DescribeStackResourceDrifts"
        ]
    );
}

#[test]
fn inspecting_without_drift_or_without_a_stack_calls_nothing_more() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(None);
    assert_eq!(inspect_with(&fake, true).unwrap(), drift::StackState::Missing);
    assert_eq!(fake.calls(), ["DescribeStacks"]);
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("CREATE_COMPLETE"));
    let state = inspect_with(&fake, false).unwrap();
    assert!(matches!(state, drift::StackState::Deployed { drift: None, .. }), "{state:?}");
    assert_eq!(fake.calls(), ["DescribeStacks", "GetTemplate"]);
}

#[test]
fn a_failed_drift_detection_is_an_error_naming_its_reason() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("CREATE_COMPLETE"));
    fake.drift_detections.borrow_mut().push_back(DriftDetection {
        status: "DETECTION_FAILED".into(),
        stack_drift_status: None,
        reason: Some("Access denied".into()),
    });
    let err = inspect_with(&fake, true).unwrap_err();
    assert!(err.to_string().contains("Access denied"), "{err}");
}

/// Run `diff` with a view that lists what it is given.
fn diff_viewed(fake: &Fake) -> (Outcome, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut out = Vec::new();
    let phase = RefCell::new(Phase::Idle);
    let options = options();
    let view = |changes: &[crate::compare::ResourceChange],
                before: &std::collections::BTreeSet<String>| {
        let rows: Vec<String> = changes
            .iter()
            .map(|c| format!("{} {} {:?}", c.kind, c.logical_id, c.element))
            .collect();
        format!("drawn: {} | before: {:?}\n", rows.join(", "), before)
    };
    let outcome = runtime.block_on(async {
        let mut ctx = Ctx {
            options: &options,
            out: &mut out,
            phase: &phase,
            backoff: NO_WAIT,
            answers: None,
        };
        run_diff(fake, &mut ctx, &file(), TEMPLATE, Some(&view)).await
    });
    (outcome, String::from_utf8(out).unwrap())
}

#[test]
fn a_viewed_diff_prints_only_the_view_of_the_classified_changes() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    *fake.deployed_template.borrow_mut() =
        TEMPLATE.replace("\"Element\": \"DB2\"", "\"Element\": \"Old\"");
    fake.change_sets.borrow_mut().push_back(complete(vec![
        change("Modify", "Db", "AWS::RDS::DBInstance", Some("True")),
        change("Remove", "Gone", "AWS::SQS::Queue", None),
    ]));
    let (outcome, out) = diff_viewed(&fake);
    assert_eq!(outcome.code, EXIT_OK);
    assert_eq!(
        out,
        "drawn: replace Db Some(\"DB2\"), remove Gone None | before: {\"Old\", \"W\"}\n"
    );
    assert_eq!(fake.count("DeleteChangeSet"), 1);

    // Nothing to change: the diagram as it stands; a new stack: everything added.
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    fake.change_sets.borrow_mut().push_back(complete(vec![]));
    let (_, out) = diff_viewed(&fake);
    assert_eq!(out, "drawn:  | before: {\"DB2\", \"W\"}\n");
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(None);
    let (_, out) = diff_viewed(&fake);
    assert_eq!(
        out,
        "drawn: add Db Some(\"DB2\"), add Rule Some(\"W\"), add Web Some(\"W\") | before: {}\n"
    );
}

#[test]
fn events_that_stay_unreadable_end_following_with_an_unknown_outcome_not_a_verdict() {
    let fake = Fake::new();
    fake.stacks.borrow_mut().push_back(stack("UPDATE_COMPLETE"));
    fake.change_sets.borrow_mut().push_back(complete(vec![change(
        "Modify",
        "Web",
        "AWS::EC2::Instance",
        Some("False"),
    )]));
    // The baseline read works, then every read fails.
    fake.script.borrow_mut().push_back(Step::Events(vec![stack_event(1, "CREATE_COMPLETE")]));
    fake.script.borrow_mut().extend((0..100).map(|_| Step::Fail));
    let (outcome, out) = deploy_with(&fake, &options(), None);
    assert_eq!(outcome.code, EXIT_UNKNOWN, "{out}");
    assert_eq!(outcome.diagnostics[0].code, "m2a::deploy::lost_contact");
    assert_eq!(fake.count("ExecuteChangeSet"), 1);
}
