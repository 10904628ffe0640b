//! Following a stack operation through its events until the stack's own terminal event.
//!
//! Each poll makes one call: DescribeStackEvents (further pages only while the newest page
//! has not reached the last event already seen: events come newest first), or, after four
//! polls without a new event, DescribeStacks (for endpoints that do not report the stack's own
//! events). Polls start every 800 ms, the first at once, so the process exits within 800 ms
//! (plus one call's latency) of the terminal event, and makes one call every 800 ms at most,
//! 75 a minute: fewer than rain's 2-second poll, which makes three calls (DescribeStacks,
//! DescribeChangeSet and DescribeStackResources) per poll, 90 a minute.
//! A failed read is reported and retried, backing off to 2 s: it never decides the outcome.

use std::time::Duration;

use super::api::{Cloud, Event};

/// Time between the starts of two polls: `first` while reads succeed, doubling after each
/// failed read up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// Every 800 ms, backing off to 2 s while reads fail.
    pub(crate) const DEFAULT: Backoff =
        Backoff { first: Duration::from_millis(800), max: Duration::from_secs(2) };

    pub(crate) fn next(self, current: Duration) -> Duration {
        (current * 2).clamp(self.first, self.max)
    }
}

/// Where each new event goes (a live display or plain lines).
pub(crate) trait Watch {
    fn event(&mut self, event: &Event);
    /// Something to tell the user that is not an event (a failed read, a retry).
    fn note(&mut self, text: &str);
}

/// How following ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Followed {
    /// The stack reached this terminal status; `events` are the operation's events, oldest first.
    Done { status: String, reason: Option<String>, events: Vec<Event> },
    /// Reads kept failing: the outcome is unknown (the operation goes on in CloudFormation).
    LostContact { last_error: String, events: Vec<Event> },
}

/// Consecutive failed reads after which following gives up (the verdict stays unknown).
const MAX_FAILED_READS: u32 = 40;
/// Quiet polls (no new event) after which the next poll reads the stack's status instead, for
/// endpoints that do not report the stack's own events.
const QUIET_POLLS_BEFORE_STATUS: u32 = 4;

/// A stack status that ends an operation.
pub(crate) fn is_terminal(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS")
        && (status.ends_with("_COMPLETE") || status.ends_with("_FAILED"))
        && status != "REVIEW_IN_PROGRESS"
}

/// A terminal status that means the operation did what was asked.
pub(crate) fn is_success(status: &str) -> bool {
    matches!(status, "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "DELETE_COMPLETE" | "IMPORT_COMPLETE")
}

/// The event is about the stack itself, not one of its resources.
pub(crate) fn is_stack_event(event: &Event, stack_id: &str, stack_name: &str) -> bool {
    event.resource_type == "AWS::CloudFormation::Stack"
        && (event.physical_id == stack_id || event.logical_id == stack_name)
}

/// The newest event of the stack, so that following shows only what comes after it.
/// `None` when the stack has no event yet or the read failed.
pub(crate) async fn newest_event_id(cloud: &impl Cloud, stack_id: &str) -> Option<String> {
    let page = cloud.stack_events(stack_id, None).await.ok()?;
    page.events.first().map(|e| e.id.clone())
}

/// Follow the stack's events after `seen` until the stack's own terminal event.
pub(crate) async fn follow(
    cloud: &impl Cloud,
    stack_id: &str,
    stack_name: &str,
    mut seen: Option<String>,
    backoff: Backoff,
    watch: &mut dyn Watch,
) -> Followed {
    let mut interval = backoff.first;
    let mut all = Vec::new();
    let mut failed_reads = 0;
    let mut quiet_polls = 0;
    // The first poll at once; then each starts `interval` after the previous one started, so
    // a slow answer does not delay the next poll and calls never come closer than that.
    let mut next_poll = tokio::time::Instant::now();
    loop {
        tokio::time::sleep_until(next_poll).await;
        let poll_started = tokio::time::Instant::now();
        if quiet_polls >= QUIET_POLLS_BEFORE_STATUS {
            // This poll's one call reads the stack's status instead of its events.
            quiet_polls = 0;
            match cloud.describe_stack(stack_id).await {
                Ok(Some(stack)) if is_terminal(&stack.status) => {
                    return Followed::Done {
                        status: stack.status,
                        reason: stack.status_reason,
                        events: all,
                    };
                }
                Ok(None) => {
                    return Followed::Done {
                        status: "DELETE_COMPLETE".into(),
                        reason: None,
                        events: all,
                    };
                }
                Ok(Some(_)) => {}
                Err(err) => watch.note(&format!("could not read the stack's status ({err})")),
            }
            next_poll = poll_started + interval;
            continue;
        }
        let new = match new_events(cloud, stack_id, seen.as_deref()).await {
            Ok(new) => {
                failed_reads = 0;
                interval = backoff.first;
                new
            }
            Err(err) => {
                failed_reads += 1;
                watch.note(&format!("could not read the stack's events ({err}); trying again"));
                if failed_reads >= MAX_FAILED_READS {
                    return Followed::LostContact { last_error: err, events: all };
                }
                interval = backoff.next(interval);
                next_poll = poll_started + interval;
                continue;
            }
        };
        let had_new = !new.is_empty();
        if let Some(newest) = new.first() {
            seen = Some(newest.id.clone());
        }
        let mut terminal = None;
        for event in new.into_iter().rev() {
            watch.event(&event);
            if terminal.is_none()
                && is_stack_event(&event, stack_id, stack_name)
                && is_terminal(&event.status)
            {
                terminal = Some((event.status.clone(), event.reason.clone()));
            }
            all.push(event);
        }
        if let Some((status, reason)) = terminal {
            return Followed::Done { status, reason, events: all };
        }
        if had_new {
            quiet_polls = 0;
        } else {
            quiet_polls += 1;
        }
        next_poll = poll_started + interval;
    }
}

/// Events newer than `seen`, newest first: one call, and more pages only while the last seen
/// event has not been reached.
async fn new_events(
    cloud: &impl Cloud,
    stack_id: &str,
    seen: Option<&str>,
) -> Result<Vec<Event>, String> {
    let mut new = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page =
            cloud.stack_events(stack_id, token.as_deref()).await.map_err(|e| e.to_string())?;
        for event in page.events {
            if Some(event.id.as_str()) == seen {
                return Ok(new);
            }
            new.push(event);
        }
        match page.next_token {
            Some(next) => token = Some(next),
            None => return Ok(new),
        }
    }
}
