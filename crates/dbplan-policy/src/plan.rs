//! Policies on a plan: the rules that look at what will happen (replace, delete, a version
//! jump) rather than at the manifests alone.
//!
//! The plan crate describes each change as a [`PlannedChange`]; [`check_plan`] runs every plan
//! rule of the pack over them, applies waivers and returns a [`Report`] in the same shape as
//! lint's. A waiver comes from the resource's manifest, or, for a resource that is no longer in
//! the manifests, from the waivers recorded in state when it was last applied: deleting a
//! protected resource takes two reviewed steps (waive and apply, then remove).

use crate::engine::{Finding, Report, WAIVER_PREFIX, resource_waivers};
use crate::pack::{Enforcement, Pack};
use crate::rules::{Check, RULES, Rule};
use dbplan_core::{Action, Kind, Value};
use dbplan_diagnostics::Severity;
use dbplan_manifest::ManifestSet;
use dbplan_manifest::schema::escape;
use std::collections::BTreeMap;

/// One change of a plan, as the plan rules see it (borrowing the plan's values).
#[derive(Clone, Debug)]
pub struct PlannedChange<'a> {
    /// `Kind/name[/part]`.
    pub address: String,
    pub kind: Kind,
    /// `metadata.name` of the declaring resource.
    pub name: String,
    pub part: Option<String>,
    pub action: Action,
    /// Whether the object holds data (a cluster, a database, a role).
    pub stateful: bool,
    pub replace_because: &'a [String],
    /// Attributes as recorded (after refresh); empty for a create.
    pub before: &'a BTreeMap<String, Value>,
    /// Attributes as planned; empty for a delete.
    pub after: &'a BTreeMap<String, Value>,
    /// For a delete of a stateful object: whether a final snapshot or backup is taken.
    pub final_snapshot: Option<bool>,
    /// `dbplan.io/waive.<CODE>` reasons recorded in state at the last apply.
    pub recorded_waivers: &'a BTreeMap<String, String>,
    /// For a delete: whether the recorded lifecycle opted into deletion (the manifest said
    /// `deletion_protection: false` and `Delete` itself, and that was applied).
    pub deletion_opted_in: bool,
}

/// The read-only input of a plan rule.
pub struct PlanContext<'a> {
    pub changes: &'a [PlannedChange<'a>],
}

/// What one plan rule found: (index of the change, message, help).
#[derive(Debug, Default)]
pub struct PlanFindings {
    pub(crate) found: Vec<(usize, String, String)>,
}

impl PlanFindings {
    /// The rule fails for the change at `index` of [`PlanContext::changes`].
    pub fn fail(&mut self, index: usize, message: impl Into<String>, help: impl Into<String>) {
        self.found.push((index, message.into(), help.into()));
    }
}

/// Runs the plan rules of a pack over the planned changes.
pub fn check_plan(set: &ManifestSet, changes: &[PlannedChange<'_>], pack: &Pack) -> Report {
    let mut findings = Vec::new();
    let context = PlanContext { changes };
    for rule in RULES {
        let Check::Plan(check) = rule.check else {
            continue;
        };
        let enforcement = pack.enforcement(rule);
        if enforcement == Enforcement::Disabled {
            continue;
        }
        let mut found = PlanFindings::default();
        check(&context, &mut found);
        for (index, message, help) in found.found {
            let Some(change) = changes.get(index) else {
                continue;
            };
            findings.push(finding(set, change, rule, enforcement, message, help));
        }
    }
    findings.sort_by(|a, b| {
        (a.resource.as_str(), a.code, a.message.as_str()).cmp(&(
            b.resource.as_str(),
            b.code,
            b.message.as_str(),
        ))
    });
    findings.dedup();
    Report {
        findings,
        notices: Vec::new(),
    }
}

fn finding(
    set: &ManifestSet,
    change: &PlannedChange<'_>,
    rule: &Rule,
    enforcement: Enforcement,
    message: String,
    help: String,
) -> Finding {
    let resource = set.resources.iter().find(|resource| {
        resource.address.kind == change.kind && resource.address.name == change.name
    });
    let key = format!("{WAIVER_PREFIX}{}", rule.code);
    let waived = match resource {
        Some(resource) => resource_waivers(resource).remove(rule.code),
        None => change
            .recorded_waivers
            .get(rule.code)
            .filter(|reason| !reason.trim().is_empty())
            .map(|reason| reason.trim().to_owned()),
    };
    let span = resource.map(|resource| {
        let located = resource
            .document
            .locate(&format!("/metadata/annotations/{}", escape(&key)));
        if located.complete {
            located.key_span.unwrap_or_else(|| located.span())
        } else {
            resource.name_span()
        }
    });
    Finding {
        code: rule.code,
        id: rule.id,
        summary: rule.summary,
        severity: match enforcement {
            Enforcement::Mandatory => Severity::Error,
            Enforcement::Advisory | Enforcement::Disabled => Severity::Warning,
        },
        resource: change.address.clone(),
        span,
        message,
        help,
        waived,
        undecidable: false,
    }
}

/// The major version of an engine version: the first number from PostgreSQL 10 on (`16.4` →
/// `16`), the first two below that and for MySQL-style versions (`9.6.24` → `9.6`,
/// `8.0.mysql_aurora.3.04.0` → `8.0`).
pub fn major_version(version: &str) -> Option<String> {
    let mut numbers = version
        .split(['.', '-', '_'])
        .map_while(|part| part.parse::<u32>().ok());
    let first = numbers.next()?;
    if first >= 10 {
        return Some(first.to_string());
    }
    Some(match numbers.next() {
        Some(second) => format!("{first}.{second}"),
        None => first.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::major_version;

    #[test]
    fn major_versions_follow_each_engine_numbering() {
        assert_eq!(major_version("16.4").as_deref(), Some("16"));
        assert_eq!(major_version("16").as_deref(), Some("16"));
        assert_eq!(major_version("9.6.24").as_deref(), Some("9.6"));
        assert_eq!(
            major_version("8.0.mysql_aurora.3.04.0").as_deref(),
            Some("8.0")
        );
        assert_eq!(major_version("7").as_deref(), Some("7"));
        assert_eq!(major_version("latest"), None);
    }
}
