//! Source files, spans and diagnostics.
//!
//! Every user mistake dbplan finds is a [`Diagnostic`]: a stable [`Code`] (declared with
//! [`codes!`]) with its fixed one-line summary, a severity, a detail that says what to do, and (where the mistake is in a file) a [`Span`] that the
//! renderer prints as ` --> file:line:col` with the source excerpt. This crate does no I/O: callers
//! add file contents to a [`SourceMap`] themselves.
//!
//! [`escape`] is where every crate escapes outside text for an output (terminal, Markdown,
//! JSON): the one place that decides what a control character looks like when printed.

mod code;
pub mod escape;
mod render;
mod source;

pub use code::Code;
pub use render::{RenderOptions, render, render_all};
pub use source::{FileId, LineColumn, SourceFile, SourceMap, Span};

use serde::{Deserialize, Serialize};
use std::fmt;

/// How serious a diagnostic is. Ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something the user should know, e.g. a value that can only be checked at apply time.
    Info,
    /// Probably a mistake, but dbplan can go on.
    Warning,
    /// The input cannot be used as written.
    Error,
}

impl Severity {
    /// The lower-case word used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary location that explains the primary one (e.g. the other end of a cycle).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One finding about the user's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code such as `M005`; documented and never reused.
    pub code: Code,
    pub severity: Severity,
    /// The code's fixed one-line summary, e.g. "unknown field" (a waived policy finding adds
    /// "(waived)").
    pub summary: String,
    /// What exactly is wrong here, pointing at the primary span.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// Where the mistake is; `None` only for mistakes that are not in a file (e.g. a missing path).
    pub span: Option<Span>,
    /// The resource the mistake belongs to, as `Kind/name`, when known.
    pub resource: Option<String>,
    /// Further locations that explain the mistake.
    pub labels: Vec<Label>,
}

impl Diagnostic {
    /// A new error with the given code and its summary.
    pub fn error(code: Code) -> Self {
        Self::new(code, Severity::Error)
    }

    /// A new warning with the given code and its summary.
    pub fn warning(code: Code) -> Self {
        Self::new(code, Severity::Warning)
    }

    /// A new informational diagnostic with the given code and its summary.
    pub fn info(code: Code) -> Self {
        Self::new(code, Severity::Info)
    }

    /// A new diagnostic of the given severity with the given code and its summary.
    pub fn of(code: Code, severity: Severity) -> Self {
        Self::new(code, severity)
    }

    fn new(code: Code, severity: Severity) -> Self {
        Diagnostic {
            code,
            severity,
            summary: code.summary().to_owned(),
            message: String::new(),
            help: None,
            span: None,
            resource: None,
            labels: Vec::new(),
        }
    }

    /// The summary shown instead of the code's own (a waived finding, a warning of an unusual
    /// spelling under the code of the mistake it nearly is).
    #[must_use]
    pub fn with_summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }

    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    #[must_use]
    pub fn with_span(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    #[must_use]
    pub fn with_optional_span(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    #[must_use]
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    #[must_use]
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Sort key that orders diagnostics by file, position, then code, so output is stable.
    pub fn sort_key(&self) -> (u32, u32, &'static str, &str) {
        match self.span {
            Some(span) => (
                span.file.index(),
                span.start,
                self.code.as_str(),
                &self.message,
            ),
            None => (u32::MAX, 0, self.code.as_str(), &self.message),
        }
    }
}

/// Sorts diagnostics into their stable output order and drops exact duplicates.
pub fn sort_diagnostics(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diagnostics.dedup();
}

/// Counts of diagnostics per severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

impl Summary {
    pub fn of(diagnostics: &[Diagnostic]) -> Self {
        let mut summary = Summary::default();
        for diagnostic in diagnostics {
            match diagnostic.severity {
                Severity::Error => summary.error += 1,
                Severity::Warning => summary.warning += 1,
                Severity::Info => summary.info += 1,
            }
        }
        summary
    }
}
