//! Following a stack operation through its events until the stack's own terminal event.
//!
//! Each poll makes exactly one call: DescribeStackEvents, or, after four polls without a new
//! event, DescribeStacks (for endpoints that do not report the stack's own events). Events
//! come newest first, so a poll reads the newest page and stops at the last event already
//! seen; when more events came since the last poll than a page holds, the next polls read the
//! older pages, one a poll, and the events are shown, in order, once the gap is closed.
//!
//! Polls start fast and back off: the first at once, the next 200 ms later, each interval
//! half as long again as the one before, up to 800 ms. So the process exits within 800 ms
//! (plus one call's latency) of the terminal event, and once settled makes one call every
//! 800 ms: 75 a minute (78 over a one-minute operation, counting the fast start), fewer than
//! rain's 2-second poll, which makes three calls (DescribeStacks, DescribeChangeSet and
//! DescribeStackResources) a poll, 90 a minute. A failed read is reported and retried,
//! backing off to 2 s: it never decides the outcome.

use std::time::Duration;

use super::api::{ApiError, Cloud, Event};

/// Time between the starts of two polls: `first`, then half as long again after each
/// answered poll up to `steady`; doubling after each failed read up to `failing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub first: Duration,
    pub steady: Duration,
    pub failing: Duration,
}

impl Backoff {
    /// 200 ms growing to 800 ms; 2 s while reads fail.
    pub(crate) const DEFAULT: Backoff = Backoff {
        first: Duration::from_millis(200),
        steady: Duration::from_millis(800),
        failing: Duration::from_secs(2),
    };

    /// The interval after an answered poll.
    pub(crate) fn after_answer(self, current: Duration) -> Duration {
        (current + current / 2).min(self.steady).max(self.first)
    }

    /// The interval after a failed read.
    pub(crate) fn after_failure(self, current: Duration) -> Duration {
        (current * 2).min(self.failing).max(self.first)
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

/// The event is about the stack itself, not one of its resources.
pub(crate) fn is_stack_event(event: &Event, stack_id: &str, stack_name: &str) -> bool {
    event.resource_type == "AWS::CloudFormation::Stack"
        && (event.physical_id == stack_id || event.logical_id == stack_name)
}

/// The newest event of the stack (`None`: it has none yet), read before an operation starts
/// so that following shows only what comes after it. A failed read is an error: without it,
/// an old terminal event could be taken for the new operation's.
pub(crate) async fn newest_event_id(
    cloud: &impl Cloud,
    stack_id: &str,
) -> Result<Option<String>, ApiError> {
    let page = cloud.stack_events(stack_id, None).await?;
    Ok(page.events.first().map(|e| e.id.clone()))
}

/// Follow the stack's events after `seen` until the stack's own terminal event.
pub(crate) async fn follow(
    cloud: &impl Cloud,
    stack_id: &str,
    stack_name: &str,
    seen: Option<String>,
    backoff: Backoff,
    watch: &mut dyn Watch,
) -> Followed {
    let mut cursor = Cursor { seen, gap: None };
    let mut interval = backoff.first;
    let mut all = Vec::new();
    let mut failed_reads = 0;
    let mut quiet_polls = 0;
    // A terminal status read with DescribeStacks: one more read of the events (so that the
    // failures behind it are shown), then done.
    let mut settled: Option<(String, Option<String>)> = None;
    // The first poll at once; then each starts `interval` after the previous one started, so
    // a slow answer does not delay the next poll and calls never come closer than that.
    let mut next_poll = tokio::time::Instant::now();
    loop {
        tokio::time::sleep_until(next_poll).await;
        let poll_started = tokio::time::Instant::now();
        if settled.is_none() && cursor.gap.is_none() && quiet_polls >= QUIET_POLLS_BEFORE_STATUS {
            // This poll's one call reads the stack's status instead of its events.
            quiet_polls = 0;
            match cloud.describe_stack(stack_id).await {
                Ok(Some(stack)) if is_terminal(&stack.status) => {
                    settled = Some((stack.status, stack.status_reason));
                }
                // Gone: that is how a deletion ends (any other operation fails on it).
                Ok(None) => settled = Some(("DELETE_COMPLETE".into(), None)),
                Ok(Some(_)) => {}
                Err(err) => watch.note(&format!("could not read the stack's status ({err})")),
            }
            interval = backoff.after_answer(interval);
            next_poll = poll_started + interval;
            continue;
        }
        let new = match cursor.read(cloud, stack_id).await {
            Ok(new) => {
                failed_reads = 0;
                interval = backoff.after_answer(interval);
                new
            }
            Err(err) => {
                failed_reads += 1;
                watch.note(&format!("could not read the stack's events ({err}); trying again"));
                if failed_reads >= MAX_FAILED_READS {
                    return Followed::LostContact { last_error: err.to_string(), events: all };
                }
                interval = backoff.after_failure(interval);
                next_poll = poll_started + interval;
                continue;
            }
        };
        let had_new = !new.is_empty();
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
        if cursor.gap.is_none()
            && let Some((status, reason)) = terminal.or_else(|| settled.take())
        {
            return Followed::Done { status, reason, events: all };
        }
        if had_new || cursor.gap.is_some() {
            quiet_polls = 0;
        } else {
            quiet_polls += 1;
        }
        next_poll = poll_started + interval;
    }
}

/// Where reading the events has got to.
struct Cursor {
    /// The newest event already shown.
    seen: Option<String>,
    /// More events came than one page holds: the older pages still to read.
    gap: Option<Gap>,
}

struct Gap {
    /// The token of the next (older) page.
    token: String,
    /// The events read so far, newest first.
    read: Vec<Event>,
}

impl Cursor {
    /// One DescribeStackEvents call. Returns the events that are now known to follow `seen`
    /// without a gap, newest first (none while a gap is still being read).
    async fn read(&mut self, cloud: &impl Cloud, stack_id: &str) -> Result<Vec<Event>, ApiError> {
        let token = self.gap.as_ref().map(|gap| gap.token.clone());
        let page = cloud.stack_events(stack_id, token.as_deref()).await?;
        let mut read = self.gap.take().map(|gap| gap.read).unwrap_or_default();
        let mut reached_seen = false;
        for event in page.events {
            if Some(&event.id) == self.seen.as_ref() {
                reached_seen = true;
                break;
            }
            read.push(event);
        }
        match page.next_token {
            Some(token) if !reached_seen => {
                self.gap = Some(Gap { token, read });
                Ok(Vec::new())
            }
            _ => {
                if let Some(newest) = read.first() {
                    self.seen = Some(newest.id.clone());
                }
                Ok(read)
            }
        }
    }
}
