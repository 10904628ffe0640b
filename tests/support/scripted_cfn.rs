//! A scripted CloudFormation endpoint: a small HTTP/1.1 server on 127.0.0.1 that speaks the
//! CloudFormation query protocol (form-encoded POST, XML answers) to the real SDK client, and
//! plays a scenario moto cannot: events that arrive over time, failed resources and rollbacks,
//! change sets that replace resources, throttling and 5xx bursts, stacks stuck in
//! ROLLBACK_COMPLETE. Every request is recorded (action, time, parameters, status) so tests can
//! count calls and check polling.
//!
//! Signatures are ignored. Only the actions `mermaid2aws` needs are answered; any other action
//! gets a 400 `InvalidAction` naming it, and is recorded like the rest.

use std::collections::{BTreeMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const XMLNS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
/// The status reason CloudFormation gives a change set with nothing in it.
pub const NO_CHANGES_REASON: &str = "The submitted information didn't contain changes. Submit different information to create a change set.";
/// How many events one DescribeStackEvents page holds, as in CloudFormation.
pub const EVENTS_PAGE: usize = 100;

const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

// ---------------------------------------------------------------------------------------------
// The scenario, as data
// ---------------------------------------------------------------------------------------------

/// One event the endpoint makes visible `at` after the operation (execution, deletion) began.
/// `logical_id: None` is an event of the stack itself.
#[derive(Clone, Debug)]
pub struct ScriptedEvent {
    pub at: Duration,
    pub logical_id: Option<String>,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl ScriptedEvent {
    /// A resource event at `ms` milliseconds.
    pub fn resource(ms: u64, logical_id: &str, resource_type: &str, status: &str) -> Self {
        ScriptedEvent {
            at: Duration::from_millis(ms),
            logical_id: Some(logical_id.to_string()),
            resource_type: resource_type.to_string(),
            status: status.to_string(),
            reason: None,
        }
    }

    /// An event of the stack itself at `ms` milliseconds.
    pub fn stack(ms: u64, status: &str) -> Self {
        ScriptedEvent {
            at: Duration::from_millis(ms),
            logical_id: None,
            resource_type: STACK_TYPE.to_string(),
            status: status.to_string(),
            reason: None,
        }
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_string());
        self
    }

    fn is_stack(&self) -> bool {
        self.logical_id.is_none()
    }
}

/// Shorthand for [`ScriptedEvent::resource`].
pub fn ev(ms: u64, logical_id: &str, resource_type: &str, status: &str) -> ScriptedEvent {
    ScriptedEvent::resource(ms, logical_id, resource_type, status)
}

/// Shorthand for [`ScriptedEvent::stack`].
pub fn stack_ev(ms: u64, status: &str) -> ScriptedEvent {
    ScriptedEvent::stack(ms, status)
}

/// `Replacement` of a `Modify` change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    True,
    False,
    Conditional,
}

impl Replacement {
    fn as_str(self) -> &'static str {
        match self {
            Replacement::True => "True",
            Replacement::False => "False",
            Replacement::Conditional => "Conditional",
        }
    }

    fn requires_recreation(self) -> &'static str {
        match self {
            Replacement::True => "Always",
            Replacement::False => "Never",
            Replacement::Conditional => "Conditionally",
        }
    }
}

/// One resource change of a change set.
#[derive(Clone, Debug)]
pub struct Change {
    /// `Add`, `Modify`, `Remove`.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// Only for `Modify`.
    pub replacement: Option<Replacement>,
    /// The property whose change causes it (for `Modify`).
    pub property: String,
}

impl Change {
    pub fn add(logical_id: &str, resource_type: &str) -> Self {
        Change::new("Add", logical_id, resource_type, None)
    }

    pub fn modify(logical_id: &str, resource_type: &str, replacement: Replacement) -> Self {
        Change::new("Modify", logical_id, resource_type, Some(replacement))
    }

    pub fn remove(logical_id: &str, resource_type: &str) -> Self {
        Change::new("Remove", logical_id, resource_type, None)
    }

    /// The property named in the change's details.
    pub fn property(mut self, name: &str) -> Self {
        self.property = name.to_string();
        self
    }

    fn new(action: &str, logical_id: &str, resource_type: &str, r: Option<Replacement>) -> Self {
        Change {
            action: action.to_string(),
            logical_id: logical_id.to_string(),
            resource_type: resource_type.to_string(),
            replacement: r,
            property: "Properties".to_string(),
        }
    }
}

/// What an injected failure answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// 400 `Throttling` / `Rate exceeded`.
    Throttling,
    /// 500 `InternalFailure`, 502/503/504 `ServiceUnavailable`.
    ServerError(u16),
    /// The call takes effect, then its answer is lost: a 500 or 503 as above.
    LostAnswer(u16),
}

/// The next `count` calls of `action` fail with `kind`; with `after`, only calls made after
/// the first call of that action count.
#[derive(Clone, Debug)]
pub struct Fault {
    pub action: String,
    pub count: usize,
    pub kind: FaultKind,
    pub after: Option<String>,
}

impl Fault {
    pub fn throttling(action: &str, count: usize) -> Self {
        Fault { action: action.to_string(), count, kind: FaultKind::Throttling, after: None }
    }

    pub fn server_error(action: &str, count: usize, status: u16) -> Self {
        Fault {
            action: action.to_string(),
            count,
            kind: FaultKind::ServerError(status),
            after: None,
        }
    }

    /// The next `count` calls of `action` take effect, but answer `status` (503: the answer
    /// was lost on the way back).
    pub fn lost_answer(action: &str, count: usize, status: u16) -> Self {
        Fault {
            action: action.to_string(),
            count,
            kind: FaultKind::LostAnswer(status),
            after: None,
        }
    }

    /// Armed only once `action` has been called (e.g. `ExecuteChangeSet`: a burst while
    /// following).
    pub fn after(mut self, action: &str) -> Self {
        self.after = Some(action.to_string());
        self
    }
}

/// A resource drift detection finds changed outside CloudFormation.
#[derive(Clone, Debug)]
pub struct ScriptedDrift {
    pub logical_id: String,
    pub resource_type: String,
    /// MODIFIED or DELETED.
    pub status: String,
    /// (property path, expected, actual, ADD / REMOVE / NOT_EQUAL).
    pub differences: Vec<(String, String, String, String)>,
}

impl ScriptedDrift {
    pub fn modified(logical_id: &str, resource_type: &str) -> Self {
        ScriptedDrift {
            logical_id: logical_id.to_string(),
            resource_type: resource_type.to_string(),
            status: "MODIFIED".to_string(),
            differences: Vec::new(),
        }
    }

    pub fn deleted(logical_id: &str, resource_type: &str) -> Self {
        ScriptedDrift {
            status: "DELETED".to_string(),
            ..ScriptedDrift::modified(logical_id, resource_type)
        }
    }

    pub fn difference(mut self, path: &str, expected: &str, actual: &str) -> Self {
        self.differences.push((path.into(), expected.into(), actual.into(), "NOT_EQUAL".into()));
        self
    }
}

/// A stack that exists before the test starts.
#[derive(Clone, Debug)]
pub struct ExistingStack {
    pub name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub template: String,
    /// Its past events, oldest first (timestamps are laid out one second apart, ending an
    /// hour before the endpoint starts).
    pub history: Vec<ScriptedEvent>,
    /// An operation already under way when the endpoint starts (another deploy): these events
    /// play from the start.
    pub under_way: Vec<ScriptedEvent>,
}

/// Everything the endpoint will play.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub existing: Option<ExistingStack>,
    /// The changes of every change set created; `None`: for a CREATE change set every
    /// resource of the submitted template is an `Add`, for an UPDATE there are none. An empty
    /// list makes the change set FAILED with [`NO_CHANGES_REASON`].
    pub changes: Option<Vec<Change>>,
    /// How long a change set stays CREATE_IN_PROGRESS.
    pub change_set_delay: Duration,
    /// What ExecuteChangeSet plays.
    pub on_execute: Vec<ScriptedEvent>,
    /// What DeleteStack plays.
    pub on_delete: Vec<ScriptedEvent>,
    pub faults: Vec<Fault>,
    /// What drift detection finds (DescribeStackResourceDrifts).
    pub drift: Vec<ScriptedDrift>,
    /// How many DescribeStackDriftDetectionStatus calls answer DETECTION_IN_PROGRESS first.
    pub drift_polls: usize,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            existing: None,
            changes: None,
            change_set_delay: Duration::from_millis(300),
            on_execute: vec![stack_ev(0, "CREATE_IN_PROGRESS"), stack_ev(400, "CREATE_COMPLETE")],
            on_delete: vec![stack_ev(0, "DELETE_IN_PROGRESS"), stack_ev(400, "DELETE_COMPLETE")],
            faults: Vec::new(),
            drift: Vec::new(),
            drift_polls: 1,
        }
    }
}

impl Scenario {
    /// No stack yet; executing creates it, playing `resource_events` between the stack's own
    /// CREATE_IN_PROGRESS (at 0) and CREATE_COMPLETE (400 ms after the last of them).
    pub fn create_succeeds(resource_events: Vec<ScriptedEvent>) -> Self {
        let end = resource_events.iter().map(|e| e.at).max().unwrap_or_default()
            + Duration::from_millis(400);
        let mut on_execute = vec![stack_ev(0, "CREATE_IN_PROGRESS").reason("User Initiated")];
        on_execute.extend(resource_events);
        on_execute.push(ScriptedEvent { at: end, ..stack_ev(0, "CREATE_COMPLETE") });
        Scenario { on_execute, ..Scenario::default() }
    }

    /// A stack `name` in `status` with `template` deployed.
    pub fn existing_stack(mut self, name: &str, status: &str, template: &str) -> Self {
        self.existing = Some(ExistingStack {
            name: name.to_string(),
            status: status.to_string(),
            status_reason: None,
            template: template.to_string(),
            history: vec![stack_ev(0, "CREATE_IN_PROGRESS"), stack_ev(0, status)],
            under_way: Vec::new(),
        });
        self
    }

    /// The existing stack's past events, oldest first.
    pub fn with_history(mut self, history: Vec<ScriptedEvent>) -> Self {
        let stack = self.existing.as_mut().expect("with_history needs existing_stack first");
        stack.history = history;
        self
    }

    /// Another operation is under way on the existing stack: `events` play from the start
    /// (give the existing stack its `_IN_PROGRESS` status).
    pub fn under_way(mut self, events: Vec<ScriptedEvent>) -> Self {
        let stack = self.existing.as_mut().expect("under_way needs existing_stack first");
        stack.under_way = events;
        self
    }

    pub fn with_status_reason(mut self, reason: &str) -> Self {
        let stack = self.existing.as_mut().expect("with_status_reason needs existing_stack first");
        stack.status_reason = Some(reason.to_string());
        self
    }

    pub fn changes(mut self, changes: Vec<Change>) -> Self {
        self.changes = Some(changes);
        self
    }

    /// Every change set comes back FAILED: "didn't contain changes".
    pub fn no_changes(self) -> Self {
        self.changes(Vec::new())
    }

    pub fn change_set_delay(mut self, delay: Duration) -> Self {
        self.change_set_delay = delay;
        self
    }

    pub fn on_execute(mut self, events: Vec<ScriptedEvent>) -> Self {
        self.on_execute = events;
        self
    }

    pub fn on_delete(mut self, events: Vec<ScriptedEvent>) -> Self {
        self.on_delete = events;
        self
    }

    /// Drift detection finds these resources changed.
    pub fn drifted(mut self, drift: Vec<ScriptedDrift>) -> Self {
        self.drift = drift;
        self
    }

    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// The next `count` calls of `action` are throttled.
    pub fn with_throttling(self, action: &str, count: usize) -> Self {
        self.with_fault(Fault::throttling(action, count))
    }

    /// The next `count` calls of `action` answer HTTP `status` (500, 502, 503, 504).
    pub fn with_server_errors(self, action: &str, count: usize, status: u16) -> Self {
        self.with_fault(Fault::server_error(action, count, status))
    }

    /// The stack-level status that ends what ExecuteChangeSet plays.
    pub fn final_execute_status(&self) -> Option<&str> {
        self.on_execute.iter().rev().find(|e| e.is_stack()).map(|e| e.status.as_str())
    }
}

/// Whether a stack status is one CloudFormation stays in (no operation under way).
pub fn is_terminal(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS")
}

// ---------------------------------------------------------------------------------------------
// The request log
// ---------------------------------------------------------------------------------------------

/// One request as the endpoint saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub action: String,
    /// Since the endpoint started.
    pub at: Duration,
    pub params: BTreeMap<String, String>,
    /// The HTTP status answered.
    pub status: u16,
    /// This answer was the first to show the terminal stack-level event of an operation
    /// (DescribeStackEvents returning it for the first time).
    pub served_terminal_event: bool,
    /// This answer showed a terminal stack status for the first time (DescribeStacks, or
    /// DescribeStackEvents as above) since the operation began.
    pub served_terminal_status: bool,
}

/// Helpers over a request log.
pub trait RequestLog {
    fn actions(&self) -> Vec<&str>;
    fn count(&self, action: &str) -> usize;
    /// Calls of `action` made after the first answer that served an operation's terminal
    /// stack event; `None` if no answer served one.
    fn calls_after_terminal_event(&self, action: &str) -> Option<usize>;
}

impl RequestLog for [Request] {
    fn actions(&self) -> Vec<&str> {
        self.iter().map(|r| r.action.as_str()).collect()
    }

    fn count(&self, action: &str) -> usize {
        self.iter().filter(|r| r.action == action).count()
    }

    fn calls_after_terminal_event(&self, action: &str) -> Option<usize> {
        let first = self.iter().position(|r| r.served_terminal_event)?;
        Some(self[first + 1..].iter().filter(|r| r.action == action).count())
    }
}

// ---------------------------------------------------------------------------------------------
// The endpoint
// ---------------------------------------------------------------------------------------------

/// A running endpoint; dropping it stops it.
pub struct ScriptedCfn {
    pub url: String,
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl ScriptedCfn {
    /// Listen on a free port of 127.0.0.1 and play `scenario`.
    pub fn start(scenario: Scenario) -> ScriptedCfn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State::new(scenario, addr.port())));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = Arc::clone(&state);
                    let stop = Arc::clone(&stop);
                    std::thread::spawn(move || serve_connection(stream, &state, &stop));
                }
            })
        };
        ScriptedCfn { url: format!("http://{addr}"), addr, state, stop, acceptor: Some(acceptor) }
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.state).log.clone()
    }

    /// The status of the stack `name` now (`None` if there is none, or it was deleted).
    pub fn stack_status(&self, name: &str) -> Option<String> {
        let mut state = lock(&self.state);
        state.advance();
        state.stacks.iter().find(|s| s.name == name && !s.deleted).map(|s| s.status.clone())
    }

    /// When the stack `name` (deleted or not) reached the terminal status that ended its
    /// operation: the time of that stack-level event. `None` while the operation is under way
    /// or if no operation was played.
    pub fn terminal_status_time(&self, name: &str) -> Option<SystemTime> {
        let mut state = lock(&self.state);
        state.advance();
        let stack = state.stacks.iter().rev().find(|s| s.name == name)?;
        if stack.operation.as_ref().is_none_or(|op| !op.pending.is_empty()) {
            return None;
        }
        stack.events.iter().rev().find(|e| e.stack_level && is_terminal(&e.status)).map(|e| e.time)
    }

    /// The names of the change sets that exist (not deleted) for any stack.
    pub fn change_sets(&self) -> Vec<String> {
        lock(&self.state)
            .change_sets
            .iter()
            .filter(|c| !c.deleted)
            .map(|c| c.name.clone())
            .collect()
    }
}

impl Drop for ScriptedCfn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Event {
    id: String,
    logical_id: String,
    physical_id: String,
    resource_type: String,
    status: String,
    reason: Option<String>,
    time: SystemTime,
    stack_level: bool,
}

#[derive(Debug)]
struct Operation {
    started: Instant,
    started_wall: SystemTime,
    pending: VecDeque<ScriptedEvent>,
    change_set: Option<String>,
    terminal_event_served: bool,
    terminal_status_served: bool,
}

#[derive(Debug)]
struct Stack {
    name: String,
    id: String,
    status: String,
    reason: Option<String>,
    created: SystemTime,
    deleted_at: Option<SystemTime>,
    deleted: bool,
    template: String,
    parameters: Vec<(String, String)>,
    capabilities: Vec<String>,
    disable_rollback: bool,
    /// Oldest first.
    events: Vec<Event>,
    operation: Option<Operation>,
}

#[derive(Debug)]
struct ChangeSet {
    name: String,
    id: String,
    stack_id: String,
    stack_name: String,
    kind: String,
    created: Instant,
    created_wall: SystemTime,
    changes: Vec<Change>,
    template: String,
    parameters: Vec<(String, String)>,
    capabilities: Vec<String>,
    /// `OnStackFailure` of a CREATE change set.
    on_stack_failure: Option<String>,
    /// `ClientToken`: a retried call with the same token gets this change set back.
    client_token: Option<String>,
    executed: bool,
    /// `ClientRequestToken` of the ExecuteChangeSet call that ran it: a retry with the same
    /// token succeeds without running it again.
    execute_token: Option<String>,
    deleted: bool,
}

struct State {
    started: Instant,
    scenario: Scenario,
    faults: Vec<Fault>,
    stacks: Vec<Stack>,
    change_sets: Vec<ChangeSet>,
    log: Vec<Request>,
    seed: u16,
    counter: u64,
    /// Drift detections: (id, stack id, status polls left before it completes).
    detections: Vec<(String, String, usize)>,
}

/// What a handler answers: status and body.
struct Answer {
    status: u16,
    body: String,
}

impl State {
    fn new(scenario: Scenario, port: u16) -> State {
        let mut state = State {
            started: Instant::now(),
            faults: scenario.faults.clone(),
            scenario,
            stacks: Vec::new(),
            change_sets: Vec::new(),
            log: Vec::new(),
            seed: port,
            counter: 0,
            detections: Vec::new(),
        };
        if let Some(existing) = state.scenario.existing.clone() {
            let id = state.stack_id(&existing.name);
            let end = SystemTime::now() - Duration::from_secs(3600);
            let n = existing.history.len() as u64;
            let created = end - Duration::from_secs(n);
            let mut stack = Stack {
                name: existing.name.clone(),
                id,
                status: existing.status.clone(),
                reason: existing.status_reason.clone(),
                created,
                deleted_at: None,
                deleted: false,
                template: existing.template.clone(),
                parameters: Vec::new(),
                capabilities: Vec::new(),
                disable_rollback: false,
                events: Vec::new(),
                operation: None,
            };
            for (i, e) in existing.history.iter().enumerate() {
                let time = created + Duration::from_secs(i as u64 + 1);
                let event = state.event((&stack.name, &stack.id), e, time);
                stack.events.push(event);
            }
            if !existing.under_way.is_empty() {
                stack.operation = Some(Operation {
                    started: state.started,
                    started_wall: SystemTime::now(),
                    pending: existing.under_way.clone().into(),
                    change_set: None,
                    terminal_event_served: false,
                    terminal_status_served: false,
                });
            }
            state.stacks.push(stack);
        }
        state
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn uuid(&mut self) -> String {
        let n = self.next();
        format!("{:08x}-5c21-4e0f-9d6b-{:012x}", u32::from(self.seed) << 8, n)
    }

    fn stack_id(&mut self, name: &str) -> String {
        format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{}", self.uuid())
    }

    fn event(&mut self, stack: (&str, &str), e: &ScriptedEvent, time: SystemTime) -> Event {
        let (name, stack_id) = stack;
        let (logical_id, physical_id) = match &e.logical_id {
            None => (name.to_string(), stack_id.to_string()),
            // Stable for a resource, as its physical id is once it exists.
            Some(id) => (id.clone(), format!("{name}-{id}-1Q2W3E4R5T6Y")),
        };
        let id = match &e.logical_id {
            None => self.uuid(),
            Some(logical) => format!("{logical}-{}-{}", e.status, timestamp(time)),
        };
        let id = format!("{id}-{}", self.next());
        Event {
            id,
            logical_id,
            physical_id,
            resource_type: e.resource_type.clone(),
            status: e.status.clone(),
            reason: e.reason.clone(),
            time,
            stack_level: e.is_stack(),
        }
    }

    /// Make every scripted event that is due visible, and update stack and change set status.
    fn advance(&mut self) {
        let now = Instant::now();
        for i in 0..self.stacks.len() {
            loop {
                let due = {
                    let Some(op) = self.stacks[i].operation.as_mut() else { break };
                    match op.pending.front() {
                        Some(e) if op.started + e.at <= now => {
                            let e = op.pending.pop_front().expect("front");
                            Some((e.clone(), op.started_wall + e.at))
                        }
                        _ => None,
                    }
                };
                let Some((e, time)) = due else { break };
                let (name, id) = (self.stacks[i].name.clone(), self.stacks[i].id.clone());
                let event = self.event((&name, &id), &e, time);
                let stack = &mut self.stacks[i];
                if e.is_stack() {
                    stack.status = e.status.clone();
                    stack.reason = e.reason.clone();
                    if e.status == "DELETE_COMPLETE" {
                        stack.deleted = true;
                        stack.deleted_at = Some(time);
                    }
                }
                stack.events.push(event);
            }
        }
    }

    fn find_stack(&self, name_or_id: &str) -> Option<usize> {
        if name_or_id.starts_with("arn:") {
            self.stacks.iter().position(|s| s.id == name_or_id)
        } else {
            self.stacks.iter().position(|s| s.name == name_or_id && !s.deleted)
        }
    }

    fn find_change_set(&self, name_or_id: &str, stack: Option<&str>) -> Option<usize> {
        self.change_sets.iter().position(|c| {
            !c.deleted
                && if name_or_id.starts_with("arn:") {
                    c.id == name_or_id
                } else {
                    c.name == name_or_id
                        && stack.is_none_or(|s| c.stack_name == s || c.stack_id == s)
                }
        })
    }

    /// A fault for this call, if one is armed.
    fn fault(&mut self, action: &str) -> Option<FaultKind> {
        let called: Vec<String> = self.log.iter().map(|r| r.action.clone()).collect();
        let fault = self.faults.iter_mut().find(|f| {
            f.action == action
                && f.count > 0
                && f.after.as_ref().is_none_or(|a| called.iter().any(|c| c == a))
        })?;
        fault.count -= 1;
        Some(fault.kind)
    }

    fn handle(&mut self, params: BTreeMap<String, String>) -> (Answer, String) {
        let action = params.get("Action").cloned().unwrap_or_default();
        let at = self.started.elapsed();
        self.advance();
        let mut record = Request {
            action: action.clone(),
            at,
            params: params.clone(),
            status: 0,
            served_terminal_event: false,
            served_terminal_status: false,
        };
        let request_id = self.uuid();
        let answer = match self.fault(&action) {
            Some(FaultKind::Throttling) => {
                error_answer(400, "Sender", "Throttling", "Rate exceeded", &request_id)
            }
            Some(FaultKind::ServerError(status)) => server_error(status, &request_id),
            Some(FaultKind::LostAnswer(status)) => {
                let _ = self.dispatch(&action, &params, &mut record);
                server_error(status, &request_id)
            }
            None => match self.dispatch(&action, &params, &mut record) {
                Ok(result) => Answer { status: 200, body: ok_body(&action, &result, &request_id) },
                Err((status, code, message)) => {
                    error_answer(status, "Sender", code, &message, &request_id)
                }
            },
        };
        record.status = answer.status;
        self.log.push(record);
        (answer, request_id)
    }

    fn dispatch(
        &mut self,
        action: &str,
        p: &BTreeMap<String, String>,
        record: &mut Request,
    ) -> Result<Option<String>, (u16, &'static str, String)> {
        match action {
            "DescribeStacks" => self.describe_stacks(p, record).map(Some),
            "CreateChangeSet" => self.create_change_set(p).map(Some),
            "DescribeChangeSet" => self.describe_change_set(p).map(Some),
            "ExecuteChangeSet" => self.execute_change_set(p).map(|()| Some(String::new())),
            "DeleteChangeSet" => self.delete_change_set(p).map(|()| Some(String::new())),
            "ListChangeSets" => self.list_change_sets(p).map(Some),
            "DescribeStackEvents" => self.describe_stack_events(p, record).map(Some),
            "GetTemplate" => self.get_template(p).map(Some),
            "DeleteStack" => self.delete_stack(p).map(|()| None),
            "ValidateTemplate" => Ok(Some("<Parameters/><Capabilities/>".to_string())),
            "DetectStackDrift" => self.detect_stack_drift(p).map(Some),
            "DescribeStackDriftDetectionStatus" => self.drift_detection_status(p).map(Some),
            "DescribeStackResourceDrifts" => self.resource_drifts(p).map(Some),
            _ => Err((
                400,
                "InvalidAction",
                format!("The scripted endpoint does not implement the action {action:?}"),
            )),
        }
    }

    fn stack_param(
        &self,
        p: &BTreeMap<String, String>,
    ) -> Result<usize, (u16, &'static str, String)> {
        let name = p.get("StackName").map(String::as_str).unwrap_or_default();
        self.find_stack(name)
            .ok_or_else(|| (400, "ValidationError", format!("Stack with id {name} does not exist")))
    }

    fn describe_stacks(
        &mut self,
        p: &BTreeMap<String, String>,
        record: &mut Request,
    ) -> Result<String, (u16, &'static str, String)> {
        let indices: Vec<usize> = match p.get("StackName") {
            Some(_) => vec![self.stack_param(p)?],
            None => (0..self.stacks.len()).filter(|&i| !self.stacks[i].deleted).collect(),
        };
        let mut xml = String::from("<Stacks>");
        for i in indices {
            let s = &mut self.stacks[i];
            if is_terminal(&s.status)
                && let Some(op) = s.operation.as_mut()
                && op.pending.is_empty()
                && !op.terminal_status_served
            {
                op.terminal_status_served = true;
                record.served_terminal_status = true;
            }
            let s = &self.stacks[i];
            xml.push_str("<member>");
            xml.push_str(&el("StackId", &s.id));
            xml.push_str(&el("StackName", &s.name));
            xml.push_str(&parameters_xml(&s.parameters));
            xml.push_str(&el("CreationTime", &timestamp(s.created)));
            if let Some(t) = s.deleted_at {
                xml.push_str(&el("DeletionTime", &timestamp(t)));
            }
            xml.push_str(&el("StackStatus", &s.status));
            if let Some(r) = &s.reason {
                xml.push_str(&el("StackStatusReason", r));
            }
            xml.push_str(&el("DisableRollback", &s.disable_rollback.to_string()));
            xml.push_str("<NotificationARNs/>");
            xml.push_str(&members("Capabilities", &s.capabilities));
            xml.push_str("<Outputs/><Tags/>");
            xml.push_str(&el("EnableTerminationProtection", "false"));
            xml.push_str(
                "<DriftInformation><StackDriftStatus>NOT_CHECKED</StackDriftStatus></DriftInformation>",
            );
            xml.push_str("</member>");
        }
        xml.push_str("</Stacks>");
        Ok(xml)
    }

    fn create_change_set(
        &mut self,
        p: &BTreeMap<String, String>,
    ) -> Result<String, (u16, &'static str, String)> {
        let stack_name = p.get("StackName").cloned().unwrap_or_default();
        let name = p.get("ChangeSetName").cloned().unwrap_or_default();
        let kind = p.get("ChangeSetType").cloned().unwrap_or_else(|| "UPDATE".to_string());
        let Some(template) = p.get("TemplateBody").cloned() else {
            return Err((
                400,
                "ValidationError",
                "The scripted endpoint needs TemplateBody (TemplateURL is not read)".to_string(),
            ));
        };
        let token = p.get("ClientToken").cloned();
        if let Some(done) = self
            .change_sets
            .iter()
            .find(|c| c.stack_name == stack_name && c.name == name && !c.deleted)
        {
            if token.is_some() && done.client_token == token {
                return Ok(format!("{}{}", el("Id", &done.id), el("StackId", &done.stack_id)));
            }
            return Err((
                400,
                "AlreadyExistsException",
                format!("ChangeSet {name} already exists"),
            ));
        }
        let existing = self.find_stack(&stack_name);
        let stack_index = match kind.as_str() {
            "CREATE" => match existing {
                Some(i) if self.stacks[i].status != "REVIEW_IN_PROGRESS" => {
                    return Err((
                        400,
                        "ValidationError",
                        format!(
                            "Stack [{stack_name}] already exists and cannot be created again with the changeSet [{name}]."
                        ),
                    ));
                }
                Some(i) => i,
                None => {
                    let id = self.stack_id(&stack_name);
                    let now = SystemTime::now();
                    let mut stack = Stack {
                        name: stack_name.clone(),
                        id,
                        status: "REVIEW_IN_PROGRESS".to_string(),
                        reason: Some("User Initiated".to_string()),
                        created: now,
                        deleted_at: None,
                        deleted: false,
                        template: String::new(),
                        parameters: Vec::new(),
                        capabilities: Vec::new(),
                        disable_rollback: false,
                        events: Vec::new(),
                        operation: None,
                    };
                    let e = stack_ev(0, "REVIEW_IN_PROGRESS").reason("User Initiated");
                    let event = self.event((&stack.name, &stack.id), &e, now);
                    stack.events.push(event);
                    self.stacks.push(stack);
                    self.stacks.len() - 1
                }
            },
            "UPDATE" => {
                let Some(i) = existing else {
                    return Err((
                        400,
                        "ValidationError",
                        format!("Stack [{stack_name}] does not exist"),
                    ));
                };
                let s = &self.stacks[i];
                if !is_terminal(&s.status)
                    || s.status == "ROLLBACK_COMPLETE"
                    || s.status.ends_with("_FAILED")
                        && s.status != "UPDATE_ROLLBACK_FAILED"
                        && s.status != "UPDATE_FAILED"
                {
                    return Err((
                        400,
                        "ValidationError",
                        format!("Stack:{} is in {} state and can not be updated.", s.id, s.status),
                    ));
                }
                i
            }
            other => {
                return Err((400, "ValidationError", format!("Unsupported ChangeSetType {other}")));
            }
        };
        let changes = match &self.scenario.changes {
            Some(changes) => changes.clone(),
            None if kind == "CREATE" => changes_from_template(&template),
            None => Vec::new(),
        };
        let id =
            format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{name}/{}", self.uuid());
        let stack = &self.stacks[stack_index];
        let change_set = ChangeSet {
            name,
            id: id.clone(),
            stack_id: stack.id.clone(),
            stack_name: stack.name.clone(),
            kind,
            created: Instant::now(),
            created_wall: SystemTime::now(),
            changes,
            template,
            parameters: list_params(p, "Parameters", &["ParameterKey", "ParameterValue"])
                .into_iter()
                .map(|mut v| (std::mem::take(&mut v[0]), std::mem::take(&mut v[1])))
                .collect(),
            capabilities: member_list(p, "Capabilities"),
            on_stack_failure: p.get("OnStackFailure").cloned(),
            client_token: token,
            executed: false,
            execute_token: None,
            deleted: false,
        };
        let stack_id = change_set.stack_id.clone();
        self.change_sets.push(change_set);
        Ok(format!("{}{}", el("Id", &id), el("StackId", &stack_id)))
    }

    fn change_set_status(
        &self,
        c: &ChangeSet,
    ) -> (&'static str, &'static str, Option<&'static str>) {
        if c.created.elapsed() < self.scenario.change_set_delay {
            return ("CREATE_IN_PROGRESS", "UNAVAILABLE", None);
        }
        if c.changes.is_empty() {
            return ("FAILED", "UNAVAILABLE", Some(NO_CHANGES_REASON));
        }
        if !c.executed {
            return ("CREATE_COMPLETE", "AVAILABLE", None);
        }
        let stack = self.stacks.iter().find(|s| s.id == c.stack_id);
        let status = stack.map(|s| s.status.as_str()).unwrap_or("CREATE_COMPLETE");
        let execution = if !is_terminal(status) {
            "EXECUTE_IN_PROGRESS"
        } else if status.ends_with("_COMPLETE") && !status.contains("ROLLBACK") {
            "EXECUTE_COMPLETE"
        } else {
            "EXECUTE_FAILED"
        };
        ("CREATE_COMPLETE", execution, None)
    }

    fn change_set_param(
        &self,
        p: &BTreeMap<String, String>,
    ) -> Result<usize, (u16, &'static str, String)> {
        let name = p.get("ChangeSetName").map(String::as_str).unwrap_or_default();
        self.find_change_set(name, p.get("StackName").map(String::as_str))
            .ok_or_else(|| (404, "ChangeSetNotFound", format!("ChangeSet [{name}] does not exist")))
    }

    fn describe_change_set(
        &mut self,
        p: &BTreeMap<String, String>,
    ) -> Result<String, (u16, &'static str, String)> {
        let c = &self.change_sets[self.change_set_param(p)?];
        let (status, execution, reason) = self.change_set_status(c);
        let mut xml = String::new();
        xml.push_str(&el("ChangeSetName", &c.name));
        xml.push_str(&el("ChangeSetId", &c.id));
        xml.push_str(&el("StackId", &c.stack_id));
        xml.push_str(&el("StackName", &c.stack_name));
        xml.push_str(&parameters_xml(&c.parameters));
        xml.push_str(&el("CreationTime", &timestamp(c.created_wall)));
        xml.push_str(&el("ExecutionStatus", execution));
        xml.push_str(&el("Status", status));
        if let Some(r) = reason {
            xml.push_str(&el("StatusReason", r));
        }
        xml.push_str("<NotificationARNs/><RollbackConfiguration/>");
        xml.push_str(&members("Capabilities", &c.capabilities));
        xml.push_str("<Changes>");
        if status != "CREATE_IN_PROGRESS" {
            for ch in &c.changes {
                xml.push_str("<member><Type>Resource</Type><ResourceChange>");
                xml.push_str(&el("Action", &ch.action));
                xml.push_str(&el("LogicalResourceId", &ch.logical_id));
                if ch.action != "Add" {
                    xml.push_str(&el(
                        "PhysicalResourceId",
                        &format!("{}-{}", c.stack_name, ch.logical_id),
                    ));
                }
                xml.push_str(&el("ResourceType", &ch.resource_type));
                if let Some(r) = ch.replacement {
                    xml.push_str(&el("Replacement", r.as_str()));
                    xml.push_str(
                        "<Scope><member>Properties</member></Scope><Details><member><Target>",
                    );
                    xml.push_str(&el("Attribute", "Properties"));
                    xml.push_str(&el("Name", &ch.property));
                    xml.push_str(&el("RequiresRecreation", r.requires_recreation()));
                    xml.push_str("</Target><Evaluation>Static</Evaluation><ChangeSource>DirectModification</ChangeSource></member></Details>");
                } else {
                    xml.push_str("<Scope/><Details/>");
                }
                xml.push_str("</ResourceChange></member>");
            }
        }
        xml.push_str("</Changes>");
        xml.push_str(&el("IncludeNestedStacks", "false"));
        Ok(xml)
    }

    fn execute_change_set(
        &mut self,
        p: &BTreeMap<String, String>,
    ) -> Result<(), (u16, &'static str, String)> {
        let ci = self.change_set_param(p)?;
        let token = p.get("ClientRequestToken").cloned();
        if self.change_sets[ci].executed
            && token.is_some()
            && self.change_sets[ci].execute_token == token
        {
            return Ok(());
        }
        let (status, execution, _) = self.change_set_status(&self.change_sets[ci]);
        if execution != "AVAILABLE" {
            return Err((
                400,
                "InvalidChangeSetStatus",
                format!(
                    "ChangeSet [{}] cannot be executed in its current status of [{status}]",
                    self.change_sets[ci].id
                ),
            ));
        }
        let c = &mut self.change_sets[ci];
        c.executed = true;
        c.execute_token = token;
        let (stack_id, template, parameters, capabilities) =
            (c.stack_id.clone(), c.template.clone(), c.parameters.clone(), c.capabilities.clone());
        let change_set = c.id.clone();
        let disable_rollback = c.on_stack_failure.as_deref() == Some("DO_NOTHING");
        let events = self.scenario.on_execute.clone();
        let stack = self.stacks.iter_mut().find(|s| s.id == stack_id).expect("stack of change set");
        stack.template = template;
        stack.parameters = parameters;
        stack.capabilities = capabilities;
        stack.disable_rollback =
            disable_rollback || p.get("DisableRollback").is_some_and(|v| v == "true");
        stack.operation = Some(Operation {
            started: Instant::now(),
            started_wall: SystemTime::now(),
            pending: events.into(),
            change_set: Some(change_set),
            terminal_event_served: false,
            terminal_status_served: false,
        });
        self.advance();
        Ok(())
    }

    fn delete_change_set(
        &mut self,
        p: &BTreeMap<String, String>,
    ) -> Result<(), (u16, &'static str, String)> {
        let ci = self.change_set_param(p)?;
        let (_, execution, _) = self.change_set_status(&self.change_sets[ci]);
        if execution == "EXECUTE_IN_PROGRESS" {
            return Err((
                400,
                "InvalidChangeSetStatus",
                "Cannot delete a change set while it is being executed".to_string(),
            ));
        }
        self.change_sets[ci].deleted = true;
        Ok(())
    }

    fn list_change_sets(
        &mut self,
        p: &BTreeMap<String, String>,
    ) -> Result<String, (u16, &'static str, String)> {
        let stack = &self.stacks[self.stack_param(p)?];
        let mut xml = String::from("<Summaries>");
        for c in self.change_sets.iter().filter(|c| !c.deleted && c.stack_id == stack.id) {
            let (status, execution, reason) = self.change_set_status(c);
            xml.push_str("<member>");
            xml.push_str(&el("StackId", &c.stack_id));
            xml.push_str(&el("StackName", &c.stack_name));
            xml.push_str(&el("ChangeSetId", &c.id));
            xml.push_str(&el("ChangeSetName", &c.name));
            xml.push_str(&el("ExecutionStatus", execution));
            xml.push_str(&el("Status", status));
            if let Some(r) = reason {
                xml.push_str(&el("StatusReason", r));
            }
            xml.push_str(&el("CreationTime", &timestamp(c.created_wall)));
            xml.push_str(&el("IncludeNestedStacks", "false"));
            xml.push_str("</member>");
        }
        xml.push_str("</Summaries>");
        Ok(xml)
    }

    fn describe_stack_events(
        &mut self,
        p: &BTreeMap<String, String>,
        record: &mut Request,
    ) -> Result<String, (u16, &'static str, String)> {
        let si = self.stack_param(p)?;
        let start: usize = match p.get("NextToken") {
            None => 0,
            Some(t) => t
                .strip_prefix("page-")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| (400, "ValidationError", format!("Invalid NextToken {t}")))?,
        };
        let s = &mut self.stacks[si];
        let total = s.events.len();
        let end = (start + EVENTS_PAGE).min(total);
        // Newest first.
        let page: Vec<&Event> = s.events.iter().rev().skip(start).take(EVENTS_PAGE).collect();
        if let Some(op) = s.operation.as_mut()
            && op.pending.is_empty()
            && !op.terminal_event_served
            && page.first().is_some_and(|e| e.stack_level && is_terminal(&e.status))
        {
            op.terminal_event_served = true;
            record.served_terminal_event = true;
            if !op.terminal_status_served {
                op.terminal_status_served = true;
                record.served_terminal_status = true;
            }
        }
        let mut xml = String::from("<StackEvents>");
        for e in page {
            xml.push_str("<member>");
            xml.push_str(&el("StackId", &s.id));
            xml.push_str(&el("EventId", &e.id));
            xml.push_str(&el("StackName", &s.name));
            xml.push_str(&el("LogicalResourceId", &e.logical_id));
            xml.push_str(&el("PhysicalResourceId", &e.physical_id));
            xml.push_str(&el("ResourceType", &e.resource_type));
            xml.push_str(&el("Timestamp", &timestamp(e.time)));
            xml.push_str(&el("ResourceStatus", &e.status));
            if let Some(r) = &e.reason {
                xml.push_str(&el("ResourceStatusReason", r));
            }
            xml.push_str("</member>");
        }
        xml.push_str("</StackEvents>");
        if end < total {
            xml.push_str(&el("NextToken", &format!("page-{end}")));
        }
        Ok(xml)
    }

    fn get_template(
        &mut self,
        p: &BTreeMap<String, String>,
    ) -> Result<String, (u16, &'static str, String)> {
        let body = match p.get("ChangeSetName") {
            Some(_) => self.change_sets[self.change_set_param(p)?].template.clone(),
            None => self.stacks[self.stack_param(p)?].template.clone(),
        };
        Ok(format!(
            "{}<StagesAvailable><member>Original</member><member>Processed</member></StagesAvailable>",
            el("TemplateBody", &body)
        ))
    }

    fn detect_stack_drift(
        &mut self,
        p: &BTreeMap<String, String>,
    ) -> Result<String, (u16, &'static str, String)> {
        let stack_id = self.stacks[self.stack_param(p)?].id.clone();
        let id = self.uuid();
        self.detections.push((id.clone(), stack_id, self.scenario.drift_polls));
        Ok(el("StackDriftDetectionId", &id))
    }

    fn drift_detection_status(
        &mut self,
        p: &BTreeMap<String, String>,
    ) -> Result<String, (u16, &'static str, String)> {
        let wanted = p.get("StackDriftDetectionId").cloned().unwrap_or_default();
        let drifted = self.scenario.drift.len();
        let Some(detection) = self.detections.iter_mut().find(|d| d.0 == wanted) else {
            return Err((400, "ValidationError", format!("No drift detection {wanted}")));
        };
        let mut xml = el("StackId", &detection.1) + &el("StackDriftDetectionId", &detection.0);
        if detection.2 > 0 {
            detection.2 -= 1;
            xml.push_str(&el("DetectionStatus", "DETECTION_IN_PROGRESS"));
        } else {
            xml.push_str(&el("DetectionStatus", "DETECTION_COMPLETE"));
            xml.push_str(&el("StackDriftStatus", if drifted > 0 { "DRIFTED" } else { "IN_SYNC" }));
            xml.push_str(&el("DriftedStackResourceCount", &drifted.to_string()));
        }
        xml.push_str(&el("Timestamp", &timestamp(SystemTime::now())));
        Ok(xml)
    }

    fn resource_drifts(
        &mut self,
        p: &BTreeMap<String, String>,
    ) -> Result<String, (u16, &'static str, String)> {
        let stack = &self.stacks[self.stack_param(p)?];
        let filters = member_list(p, "StackResourceDriftStatusFilters");
        let mut xml = String::from("<StackResourceDrifts>");
        for d in
            self.scenario.drift.iter().filter(|d| filters.is_empty() || filters.contains(&d.status))
        {
            xml.push_str("<member>");
            xml.push_str(&el("StackId", &stack.id));
            xml.push_str(&el("LogicalResourceId", &d.logical_id));
            xml.push_str(&el(
                "PhysicalResourceId",
                &format!("{}-{}-1Q2W3E4R5T6Y", stack.name, d.logical_id),
            ));
            xml.push_str(&el("ResourceType", &d.resource_type));
            xml.push_str(&el("StackResourceDriftStatus", &d.status));
            xml.push_str("<PropertyDifferences>");
            for (path, expected, actual, kind) in &d.differences {
                xml.push_str("<member>");
                xml.push_str(&el("PropertyPath", path));
                xml.push_str(&el("ExpectedValue", expected));
                xml.push_str(&el("ActualValue", actual));
                xml.push_str(&el("DifferenceType", kind));
                xml.push_str("</member>");
            }
            xml.push_str("</PropertyDifferences>");
            xml.push_str(&el("Timestamp", &timestamp(SystemTime::now())));
            xml.push_str("</member>");
        }
        xml.push_str("</StackResourceDrifts>");
        Ok(xml)
    }

    fn delete_stack(
        &mut self,
        p: &BTreeMap<String, String>,
    ) -> Result<(), (u16, &'static str, String)> {
        // Deleting a stack that does not exist succeeds, as in CloudFormation.
        let Ok(si) = self.stack_param(p) else { return Ok(()) };
        let events = self.scenario.on_delete.clone();
        let stack = &mut self.stacks[si];
        if stack.deleted || stack.status == "DELETE_IN_PROGRESS" {
            return Ok(());
        }
        stack.operation = Some(Operation {
            started: Instant::now(),
            started_wall: SystemTime::now(),
            pending: events.into(),
            change_set: None,
            terminal_event_served: false,
            terminal_status_served: false,
        });
        for c in self.change_sets.iter_mut().filter(|c| c.stack_name == stack.name) {
            c.deleted = true;
        }
        self.advance();
        Ok(())
    }
}

/// Every resource of a template (JSON or YAML) as an `Add`.
pub fn changes_from_template(template: &str) -> Vec<Change> {
    let value: serde_json::Value = serde_json::from_str(template)
        .or_else(|_| yaml_serde::from_str(template))
        .unwrap_or_default();
    value["Resources"]
        .as_object()
        .map(|resources| {
            resources
                .iter()
                .map(|(id, r)| Change::add(id, r["Type"].as_str().unwrap_or("AWS::Unknown")))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// HTTP and the query protocol
// ---------------------------------------------------------------------------------------------

struct HttpRequest {
    method: String,
    path: String,
    body: Vec<u8>,
}

fn serve_connection(mut stream: TcpStream, state: &Mutex<State>, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::new();
    let mut continued = false;
    loop {
        match parse_http(&buf) {
            Parsed::Complete(request, used) => {
                buf.drain(..used);
                continued = false;
                let response = respond(&request, state);
                if stream.write_all(&response).is_err() {
                    return;
                }
                continue;
            }
            Parsed::Malformed => {
                let _ = stream.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                return;
            }
            Parsed::NeedsContinue if !continued => {
                continued = true;
                if stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
                    return;
                }
            }
            Parsed::NeedsContinue | Parsed::Incomplete => {}
        }
        let mut chunk = [0u8; 64 * 1024];
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

enum Parsed {
    Complete(HttpRequest, usize),
    Incomplete,
    NeedsContinue,
    Malformed,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_http(buf: &[u8]) -> Parsed {
    let Some(head_end) = find(buf, b"\r\n\r\n") else { return Parsed::Incomplete };
    let Ok(head) = std::str::from_utf8(&buf[..head_end]) else { return Parsed::Malformed };
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(path)) = (first.next(), first.next()) else {
        return Parsed::Malformed;
    };
    let mut length = 0usize;
    let mut chunked = false;
    let mut expect_continue = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { return Parsed::Malformed };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => match value.parse() {
                Ok(n) => length = n,
                Err(_) => return Parsed::Malformed,
            },
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
            _ => {}
        }
    }
    let start = head_end + 4;
    let request =
        |body: Vec<u8>| HttpRequest { method: method.to_string(), path: path.to_string(), body };
    if chunked {
        let mut body = Vec::new();
        let mut at = start;
        loop {
            let Some(line_end) = find(&buf[at..], b"\r\n") else { return Parsed::Incomplete };
            let size_text = String::from_utf8_lossy(&buf[at..at + line_end]);
            let size_text = size_text.split(';').next().unwrap_or_default().trim().to_string();
            let Ok(size) = usize::from_str_radix(&size_text, 16) else { return Parsed::Malformed };
            at += line_end + 2;
            if size == 0 {
                // Skip trailers up to the empty line.
                let Some(end) = find(&buf[at - 2..], b"\r\n\r\n") else {
                    return Parsed::Incomplete;
                };
                return Parsed::Complete(request(body), at - 2 + end + 4);
            }
            if buf.len() < at + size + 2 {
                return Parsed::Incomplete;
            }
            body.extend_from_slice(&buf[at..at + size]);
            at += size + 2;
        }
    }
    if buf.len() < start + length {
        return if expect_continue && buf.len() == start {
            Parsed::NeedsContinue
        } else {
            Parsed::Incomplete
        };
    }
    Parsed::Complete(request(buf[start..start + length].to_vec()), start + length)
}

fn respond(request: &HttpRequest, state: &Mutex<State>) -> Vec<u8> {
    let (answer, request_id) =
        if request.method != "POST" || request.path.split('?').next() != Some("/") {
            let id = "00000000-0000-4000-8000-000000000000".to_string();
            (
                error_answer(
                    400,
                    "Sender",
                    "InvalidAction",
                    &format!(
                        "The scripted endpoint answers POST / only, not {} {}",
                        request.method, request.path
                    ),
                    &id,
                ),
                id,
            )
        } else {
            let params = parse_form(&String::from_utf8_lossy(&request.body));
            lock(state).handle(params)
        };
    let reason = match answer.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nx-amzn-RequestId: {request_id}\r\nDate: {}\r\n\r\n",
        answer.status,
        answer.body.len(),
        http_date(SystemTime::now()),
    )
    .into_bytes();
    out.extend_from_slice(answer.body.as_bytes());
    out
}

/// `application/x-www-form-urlencoded` into a map (later keys win).
pub fn parse_form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `Prefix.member.N` values, in order of N.
fn member_list(p: &BTreeMap<String, String>, prefix: &str) -> Vec<String> {
    (1..).map_while(|n| p.get(&format!("{prefix}.member.{n}")).cloned()).collect()
}

/// `Prefix.member.N.Field` values for each N, one vector of `fields` per member.
fn list_params(p: &BTreeMap<String, String>, prefix: &str, fields: &[&str]) -> Vec<Vec<String>> {
    (1..)
        .map_while(|n| {
            let values: Vec<Option<&String>> =
                fields.iter().map(|f| p.get(&format!("{prefix}.member.{n}.{f}"))).collect();
            values
                .iter()
                .any(Option::is_some)
                .then(|| values.iter().map(|v| v.cloned().unwrap_or_default()).collect())
        })
        .collect()
}

fn ok_body(action: &str, result: &Option<String>, request_id: &str) -> String {
    let result = match result {
        None => String::new(),
        Some(r) if r.is_empty() => format!("<{action}Result/>"),
        Some(r) => format!("<{action}Result>{r}</{action}Result>"),
    };
    format!(
        "<{action}Response xmlns=\"{XMLNS}\">{result}<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    )
}

fn server_error(status: u16, request_id: &str) -> Answer {
    let (code, message) = if status == 500 {
        (
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    } else {
        ("ServiceUnavailable", "The service is unavailable. Please try again later.")
    };
    error_answer(status, "Receiver", code, message, request_id)
}

fn error_answer(status: u16, kind: &str, code: &str, message: &str, request_id: &str) -> Answer {
    Answer {
        status,
        body: format!(
            "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
            escape(message)
        ),
    }
}

fn parameters_xml(parameters: &[(String, String)]) -> String {
    let mut xml = String::from("<Parameters>");
    for (k, v) in parameters {
        xml.push_str("<member>");
        xml.push_str(&el("ParameterKey", k));
        xml.push_str(&el("ParameterValue", v));
        xml.push_str("</member>");
    }
    xml.push_str("</Parameters>");
    xml
}

fn members(name: &str, values: &[String]) -> String {
    let inner: String = values.iter().map(|v| el("member", v)).collect();
    format!("<{name}>{inner}</{name}>")
}

fn el(name: &str, text: &str) -> String {
    format!("<{name}>{}</{name}>", escape(text))
}

/// XML text escaping.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// (year, month, day, hour, minute, second, millisecond) in UTC.
fn civil(time: SystemTime) -> (i64, u32, u32, u32, u32, u32, u32) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days to civil date (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
        since.subsec_millis(),
    )
}

/// Remove every `AWS_*` variable of this machine from a client process's environment (an
/// endpoint, profile or region of the person running the tests must never reach a test's
/// client), and point it at no configuration file and no instance metadata. The caller then
/// sets what the test needs.
pub fn isolate_from_aws_config(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

/// Point an AWS client process (mermaid2aws, aws-cli) at the endpoint `url` and nothing
/// else: dummy credentials, us-east-1, and none of this machine's AWS configuration.
pub fn aws_client_env<'a>(command: &'a mut Command, url: &str) -> &'a mut Command {
    isolate_from_aws_config(command)
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("NO_COLOR", "1")
}

/// ISO 8601 with milliseconds, as CloudFormation writes timestamps.
pub fn timestamp(time: SystemTime) -> String {
    let (y, mo, d, h, mi, s, ms) = civil(time);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

fn http_date(time: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (y, mo, d, h, mi, s, _) = civil(time);
    let days = time.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 86_400;
    format!(
        "{}, {d:02} {} {y} {h:02}:{mi:02}:{s:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(mo - 1) as usize]
    )
}
