//! Diagnostics: what every stage reports to the user.
//!
//! Stages never print and never stop at the first problem: they return their result together
//! with a `Vec<Diagnostic>`, and the driver decides, between stages, whether to go on. A
//! diagnostic carries only spans; the driver attaches the source file once when rendering.
//! Error codes are stable and grouped by stage (`m2a::extract::*`, `m2a::parse::*`,
//! `m2a::resolve::*`, `m2a::lower::*`, ...); ARCHITECTURE.md lists the prefixes.

use std::fmt;

use miette::{LabeledSpan, NamedSource, Severity};

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
    pub fn with_source(&self, file: &SourceFile) -> Rendered {
        Rendered {
            diagnostic: self.clone(),
            source: NamedSource::new(file.name.clone(), file.text.clone()),
        }
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

/// A [`Diagnostic`] together with its source text: what miette renders.
#[derive(Debug)]
pub struct Rendered {
    diagnostic: Diagnostic,
    source: NamedSource<String>,
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.diagnostic.fmt(f)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.diagnostic.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
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
