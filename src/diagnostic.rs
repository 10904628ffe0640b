//! Diagnostics: what every stage reports to the user.
//!
//! Stages never print and never stop at the first problem: they return their result together
//! with a `Vec<Diagnostic>`, and the driver decides, between stages, whether to go on. A
//! diagnostic carries only spans; the driver attaches the source file once when rendering.
//! Error codes are stable and grouped by stage (`m2a::extract::*`, `m2a::parse::*`,
//! `m2a::resolve::*`, `m2a::lower::*`, ...); ARCHITECTURE.md lists the prefixes.

use std::fmt;

use miette::{
    LabeledSpan, MietteError, MietteSpanContents, Severity, SourceCode, SourceSpan, SpanContents,
};

use crate::source::{SourceFile, Span};

/// One problem found in the user's input (or, with code `m2a::bug`, in ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable machine-readable code, such as `m2a::parse::unclosed_subgraph`.
    pub code: &'static str,
    /// What is wrong, lower-case, no trailing period, names in backticks.
    pub message: String,
    /// The primary span first; its text is the label drawn under the code.
    pub labels: Vec<(Span, String)>,
    /// How to fix it, in plain words.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    /// An internal error: a bug in mermaid2aws, never the user's fault.
    pub fn bug(details: impl Into<String>) -> Self {
        Diagnostic::error("m2a::bug", format!("internal error: {}", details.into())).with_help(
            "this is a bug in mermaid2aws; please report it with the diagram that caused it",
        )
    }

    #[must_use]
    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push((span, text.into()));
        self
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The primary span, if any.
    pub fn span(&self) -> Option<Span> {
        self.labels.first().map(|(span, _)| *span)
    }

    /// Attach the source file, ready for miette to render.
    pub fn with_source<'a>(&'a self, file: &'a SourceFile) -> Rendered<'a> {
        Rendered { diagnostic: self, source: file }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// True when any of the diagnostics is an error (warnings do not stop the pipeline).
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

/// The longest line a snippet is drawn with. miette pads up to a label's column with a format
/// width, which panics past 65,535 columns (a tab is drawn four wide, so 4,096 bytes stay well
/// inside), and it draws whole lines, so a long line would be printed again for every
/// diagnostic on or beside it.
const MAX_DRAWN_LINE: usize = 4096;

/// Lines of context miette draws before and after each label (`cli` sets it on the handler).
pub const CONTEXT_LINES: usize = 1;

/// A [`Diagnostic`] together with its source file: what miette renders. Both are borrowed, so
/// a file with thousands of bad lines is not copied once per diagnostic.
#[derive(Debug)]
pub struct Rendered<'a> {
    diagnostic: &'a Diagnostic,
    source: &'a SourceFile,
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.diagnostic.fmt(f)
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.diagnostic.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    /// The file, unless a label or its context lines are longer than [`MAX_DRAWN_LINE`]: such a
    /// diagnostic is shown without its snippet (its `file:line:col` header still points at the
    /// place).
    fn source_code(&self) -> Option<&dyn SourceCode> {
        let drawable = self.diagnostic.labels.iter().all(|(span, _)| {
            self.source.longest_line(span.start, span.end, CONTEXT_LINES) <= MAX_DRAWN_LINE
        });
        drawable.then_some(self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.diagnostic.labels.is_empty() {
            return None;
        }
        let labels = self.diagnostic.labels.iter().enumerate().map(|(i, (span, text))| {
            let text = (!text.is_empty()).then(|| text.clone());
            if i == 0 {
                LabeledSpan::new_primary_with_span(text, *span)
            } else {
                LabeledSpan::new_with_span(text, *span)
            }
        });
        Some(Box::new(labels))
    }
}

/// The lines around a span, as miette's own `str` reader finds them, but read from a window of
/// a few lines found through the file's line index: miette's reader walks the text from its
/// first byte, once per label, which made a file with thousands of bad lines quadratic.
impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let end = span.offset().saturating_add(span.len());
        // miette's reader slices out of range (a panic) for some spans past the end.
        if end > self.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let starts = self.line_starts();
        // One line more than miette keeps on each side, so that it finds its context lines
        // exactly as in the whole file.
        let first =
            self.line_index(span.offset()).saturating_sub(context_lines_before.saturating_add(1));
        let last = self.line_index(end).saturating_add(context_lines_after).saturating_add(2);
        let (window_start, lines_before) = (starts[first], first);
        let window_end = starts.get(last).copied().unwrap_or(self.text.len());
        let window = &self.text.as_bytes()[window_start..window_end];
        let local = SourceSpan::new((span.offset() - window_start).into(), span.len());
        let contents = window.read_span(&local, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            SourceSpan::new(
                (contents.span().offset() + window_start).into(),
                contents.span().len(),
            ),
            contents.line() + lines_before,
            contents.column(),
            contents.line_count() + lines_before,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every span of a few small files, with 0 to 3 context lines each side: the windowed
    /// reader gives exactly what miette's own reader gives on the whole text; a span past
    /// the end is an error, not a panic.
    #[test]
    fn windowed_read_span_matches_miette_on_the_whole_text() {
        let texts = [
            "graph LR\nA -- x\nB --> C\n\nsubgraph S\n  D\nend\n",
            "graph LR\r\nA -- x\r\nB --> C\r\n\r\nD",
            "graph LR\rA -- x\nB --> C\r\nD\r",
            "graph LR\rA\rB -- x\r\rC\r\nD\n\rE\r\r\nF -- y\rG\r\n\r",
            "# Doc\n\n```mermaid\nflowchart LR\n  Ä -- é\n```\n",
            "",
            "\n\n\n",
        ];
        for text in texts {
            let file = SourceFile::new("a.mmd", text);
            for start in 0..=text.len() + 1 {
                let past_end = SourceSpan::new(start.into(), text.len() + 1 - start);
                assert!(file.read_span(&past_end, 1, 1).is_err(), "{text:?} {start}: past the end");
            }
            for start in 0..=text.len() {
                for len in 0..=text.len() - start {
                    for before in 0..4 {
                        for after in 0..4 {
                            let span = SourceSpan::new(start.into(), len);
                            let ours = file.read_span(&span, before, after);
                            let theirs = text.read_span(&span, before, after);
                            let (ours, theirs) = match (ours, theirs) {
                                (Ok(ours), Ok(theirs)) => (ours, theirs),
                                (Err(_), Err(_)) => continue,
                                (ours, theirs) => panic!(
                                    "{text:?} {start}+{len} ({before}, {after}): ours {} theirs {}",
                                    ours.is_ok(),
                                    theirs.is_ok()
                                ),
                            };
                            let view = |c: &dyn SpanContents<'_>| {
                                (c.data().to_vec(), *c.span(), c.line(), c.column(), c.line_count())
                            };
                            assert_eq!(
                                view(ours.as_ref()),
                                view(theirs.as_ref()),
                                "{text:?} {start}+{len} ({before}, {after})"
                            );
                            assert_eq!(ours.name(), Some("a.mmd"));
                        }
                    }
                }
            }
        }
    }
}
