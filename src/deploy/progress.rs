//! Showing a stack operation as it happens: one live line per resource on a terminal
//! (indicatif), plain timestamped lines otherwise.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::api::Event;
use super::changes::TemplateInfo;
use super::follow::Watch;

/// The display for one operation; `deployed` gives metadata of resources the new template lacks.
pub(crate) fn watcher<'a>(
    live: bool,
    out: &'a mut dyn Write,
    new: &'a TemplateInfo,
    deployed: &'a TemplateInfo,
) -> Box<dyn Watch + 'a> {
    if live {
        Box::new(Live {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: HashMap::new(),
            new,
            deployed,
        })
    } else {
        Box::new(Plain { out, new, deployed })
    }
}

/// `HH:MM:SS` (UTC) of a Unix time.
pub(crate) fn clock(timestamp: i64) -> String {
    let s = timestamp.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn origin(event: &Event, new: &TemplateInfo, deployed: &TemplateInfo) -> String {
    let meta =
        new.resources.get(&event.logical_id).or_else(|| deployed.resources.get(&event.logical_id));
    match meta.map(|m| (m.element.as_deref(), m.source.as_deref())) {
        Some((Some(element), Some(source))) => format!("  [{element} {source}]"),
        _ => String::new(),
    }
}

/// One line per event: `12:00:01  CREATE_COMPLETE  WebSG  AWS::EC2::SecurityGroup ...`.
pub(crate) fn line(event: &Event, new: &TemplateInfo, deployed: &TemplateInfo) -> String {
    let mut text = format!(
        "{}  {:<28} {:<32} {}",
        clock(event.timestamp),
        event.status,
        event.logical_id,
        event.resource_type
    );
    if let Some(reason) = event.reason.as_deref().filter(|r| !r.is_empty()) {
        text.push_str(&format!("  {reason}"));
    }
    text.push_str(&origin(event, new, deployed));
    text.trim_end().to_string()
}

struct Plain<'a> {
    out: &'a mut dyn Write,
    new: &'a TemplateInfo,
    deployed: &'a TemplateInfo,
}

impl Watch for Plain<'_> {
    fn event(&mut self, event: &Event) {
        let _ = writeln!(self.out, "{}", line(event, self.new, self.deployed));
        let _ = self.out.flush();
    }

    fn note(&mut self, text: &str) {
        let _ = writeln!(self.out, "note: {text}");
    }
}

struct Live<'a> {
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
    new: &'a TemplateInfo,
    deployed: &'a TemplateInfo,
}

impl Watch for Live<'_> {
    fn event(&mut self, event: &Event) {
        let busy = event.status.ends_with("_IN_PROGRESS");
        let mark = if busy {
            ""
        } else if event.status.ends_with("_FAILED") {
            "✗ "
        } else {
            "✓ "
        };
        let multi = &self.multi;
        let bar = self.bars.entry(event.logical_id.clone()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let mut text =
            format!("{mark}{:<32} {:<28} {}", event.logical_id, event.status, event.resource_type);
        if let Some(reason) = event.reason.as_deref().filter(|r| !r.is_empty() && !busy) {
            text.push_str(&format!("  {reason}"));
        }
        text.push_str(&origin(event, self.new, self.deployed));
        bar.set_message(text);
    }

    fn note(&mut self, text: &str) {
        let _ = self.multi.println(format!("note: {text}"));
    }
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        for bar in self.bars.values() {
            bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_have_a_clock_and_the_diagram_element() {
        let new = TemplateInfo::parse(
            r#"{"Resources": {"Web": {"Type": "AWS::EC2::Instance",
                "Metadata": {"Mermaid2Aws": {"Element": "W", "Source": "a.mmd:2:5"}}}}}"#,
        );
        let event = Event {
            logical_id: "Web".into(),
            resource_type: "AWS::EC2::Instance".into(),
            status: "CREATE_FAILED".into(),
            reason: Some("no capacity".into()),
            timestamp: 1_700_000_000 + 3661,
            ..Event::default()
        };
        let text = line(&event, &new, &TemplateInfo::default());
        assert!(text.starts_with("23:14:21  CREATE_FAILED"), "{text}");
        assert!(text.ends_with("no capacity  [W a.mmd:2:5]"), "{text}");
        assert_eq!(clock(0), "00:00:00");
    }
}
