//! The policy findings a plan carries: typed in the plan, written at the edge (plan JSON, plan
//! file) in the lint JSON's shape without `kind` (`{"format_version","findings":[{code, id,
//! severity, resource, file, line, column, message, waived}],"summary":{error, warning, info,
//! waived}}`).

use dbplan_diagnostics::{Severity, SourceMap};
use serde::{Deserialize, Serialize};

/// One policy finding of a plan (a lint rule on the planned values, or a plan rule on the
/// changes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyFinding {
    /// The rule's stable code, e.g. `DB701`.
    pub code: String,
    /// The rule's id, e.g. `stateful-destroy`.
    pub id: String,
    /// `error` (mandatory), `warning` (advisory) or `info` (undecidable until apply).
    pub severity: Severity,
    /// The resource address, `Kind/name`.
    pub resource: String,
    /// Where in the manifests, when the finding points at a value.
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
    /// Whether a `dbplan.io/waive.<CODE>` waiver covers it (its reason is in the manifest).
    pub waived: bool,
}

impl PolicyFinding {
    /// The plan's form of a policy engine finding, located through the manifests' sources.
    pub fn of(finding: &dbplan_policy::Finding, sources: &SourceMap) -> Self {
        let location = finding.span.and_then(|span| sources.location(span));
        PolicyFinding {
            code: finding.code.to_string(),
            id: finding.id.to_owned(),
            severity: finding.severity,
            resource: finding.resource.clone(),
            file: location.as_ref().map(|(file, _)| file.clone()),
            line: location.as_ref().map(|(_, position)| position.line),
            column: location.as_ref().map(|(_, position)| position.column),
            message: finding.message.clone(),
            waived: finding.waived.is_some(),
        }
    }

    /// Whether it blocks apply: a mandatory finding without a waiver.
    pub fn is_blocking(&self) -> bool {
        self.severity == Severity::Error && !self.waived
    }
}

/// The findings as the plan JSON and the plan file write them.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FindingsWire {
    /// The lint JSON's format version (read and ignored: the plan's own version governs).
    #[serde(default = "lint_format_version")]
    pub format_version: String,
    #[serde(default)]
    pub findings: Vec<PolicyFinding>,
    /// Counted from `findings` when written; ignored when read.
    #[serde(default)]
    pub summary: FindingCounts,
}

fn lint_format_version() -> String {
    dbplan_policy::output::FORMAT_VERSION.to_owned()
}

/// The plan JSON's `policy.summary`: unwaived findings per severity, and the waived ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct FindingCounts {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
    pub waived: usize,
}

impl FindingsWire {
    pub(crate) fn encode(findings: &[PolicyFinding]) -> Self {
        let mut summary = FindingCounts::default();
        for finding in findings {
            match (finding.waived, finding.severity) {
                (true, _) => summary.waived += 1,
                (false, Severity::Error) => summary.error += 1,
                (false, Severity::Warning) => summary.warning += 1,
                (false, Severity::Info) => summary.info += 1,
            }
        }
        FindingsWire {
            format_version: lint_format_version(),
            findings: findings.to_vec(),
            summary,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn findings_keep_the_lint_json_shape() {
        let finding = PolicyFinding {
            code: "DB701".to_owned(),
            id: "stateful-destroy".to_owned(),
            severity: Severity::Error,
            resource: "AwsRdsCluster/prod".to_owned(),
            file: None,
            line: None,
            column: None,
            message: "m".to_owned(),
            waived: false,
        };
        let waived = PolicyFinding {
            severity: Severity::Warning,
            file: Some("a.yaml".to_owned()),
            line: Some(3),
            column: Some(5),
            waived: true,
            ..finding.clone()
        };
        let json =
            serde_json::to_string(&FindingsWire::encode(&[finding.clone(), waived])).unwrap();
        assert_eq!(
            json,
            r#"{"format_version":"1","findings":[{"code":"DB701","id":"stateful-destroy","severity":"error","resource":"AwsRdsCluster/prod","file":null,"line":null,"column":null,"message":"m","waived":false},{"code":"DB701","id":"stateful-destroy","severity":"warning","resource":"AwsRdsCluster/prod","file":"a.yaml","line":3,"column":5,"message":"m","waived":true}],"summary":{"error":1,"warning":0,"info":0,"waived":1}}"#
        );
        let read: FindingsWire = serde_json::from_str(&json).unwrap();
        assert_eq!(read.findings[0], finding);
        assert!(read.findings[0].is_blocking() && !read.findings[1].is_blocking());
    }
}
