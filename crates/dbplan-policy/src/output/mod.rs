//! Lint output formats: human text (rendered diagnostics), JSON, SARIF 2.1.0 and GitHub
//! workflow commands.
//!
//! A lint run has two kinds of results, written in one shape by every machine format: policy
//! findings (`DB…` codes) and the mistakes found while reading the input (validation `M…`,
//! reference `G…`, secret `S…` and policy pack `P…` diagnostics), which carry the kind
//! `manifest`. Both have a code, a severity, a location and a message; only findings can be
//! waived.

mod github;
mod json;
mod sarif;

pub use github::github;
pub use json::{FORMAT_VERSION, json, lint_json};
pub use sarif::sarif;

use crate::engine::{Finding, Report};
use dbplan_diagnostics::{Diagnostic, Severity, SourceMap, Span};

/// What a lint result is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A finding of a policy.
    Policy,
    /// A mistake in the manifests or packs: the run exits 1 whatever the policies say.
    Manifest,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Policy => "policy",
            Kind::Manifest => "manifest",
        }
    }
}

/// One result of a lint run, of either kind.
pub(crate) struct Entry<'a> {
    pub kind: Kind,
    pub code: &'a str,
    /// The policy's id, or for a diagnostic its fixed summary as kebab-case (`unknown-field`).
    pub id: String,
    pub severity: Severity,
    pub resource: Option<&'a str>,
    pub span: Option<Span>,
    pub message: &'a str,
    pub help: Option<&'a str>,
    pub waived: Option<&'a str>,
}

impl<'a> Entry<'a> {
    fn of_finding(finding: &'a Finding) -> Self {
        Entry {
            kind: Kind::Policy,
            code: finding.code.as_str(),
            id: finding.id.to_owned(),
            severity: finding.severity,
            resource: Some(&finding.resource),
            span: finding.span,
            message: &finding.message,
            help: Some(&finding.help),
            waived: finding.waived.as_deref(),
        }
    }

    fn of_diagnostic(diagnostic: &'a Diagnostic) -> Self {
        Entry {
            kind: Kind::Manifest,
            code: diagnostic.code.as_str(),
            id: kebab(&diagnostic.summary),
            severity: diagnostic.severity,
            resource: diagnostic.resource.as_deref(),
            span: diagnostic.span,
            message: if diagnostic.message.is_empty() {
                &diagnostic.summary
            } else {
                &diagnostic.message
            },
            help: diagnostic.help.as_deref(),
            waived: None,
        }
    }

    /// File, line and column (1-based), when the result has a span.
    fn location(&self, sources: &SourceMap) -> Option<(String, u32, u32)> {
        let (file, position) = sources.location(self.span?)?;
        Some((file, position.line, position.column))
    }

    /// `Kind/name: message`, or the message alone when no resource is concerned.
    fn headline(&self) -> String {
        match self.resource {
            Some(resource) => format!("{resource}: {}", self.message),
            None => self.message.to_owned(),
        }
    }
}

/// Every result of a lint run: the input's diagnostics (in the order given) first, since they
/// fail the run, then the policy findings.
pub(crate) fn entries<'a>(report: &'a Report, diagnostics: &'a [Diagnostic]) -> Vec<Entry<'a>> {
    diagnostics
        .iter()
        .map(Entry::of_diagnostic)
        .chain(report.findings.iter().map(Entry::of_finding))
        .collect()
}

/// A fixed summary as an id: lowercase words joined by `-` (`unknown field` → `unknown-field`).
fn kebab(summary: &str) -> String {
    summary
        .split(|character: char| !character.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_become_kebab_case_ids() {
        assert_eq!(kebab("unknown field"), "unknown-field");
        assert_eq!(
            kebab("input outside the given paths"),
            "input-outside-the-given-paths"
        );
        assert_eq!(kebab("wrong apiVersion"), "wrong-apiversion");
        assert_eq!(kebab("YAML limit exceeded"), "yaml-limit-exceeded");
    }
}
