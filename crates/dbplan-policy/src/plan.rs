//! Policies on a plan: the rules that look at what will happen (replace, delete, a version
//! jump) rather than at the manifests alone.
//!
//! The plan crate makes one [`Change`] per object; [`check_plan`] runs every plan rule of the
//! pack over them, applies waivers and returns a [`Report`] in the same shape as
//! lint's. A waiver comes from the resource's manifest, or, for a resource that is no longer in
//! the manifests, from the waivers recorded in state when it was last applied: deleting a
//! protected resource takes two reviewed steps (waive and apply, then remove).

use crate::engine::{Finding, Report, WAIVER_PREFIX, resource_waivers};
use crate::pack::{Enforcement, Pack};
use crate::rules::{Check, RULES, Rule};
use dbplan_core::Change;
use dbplan_diagnostics::Severity;
use dbplan_manifest::ManifestSet;
use dbplan_manifest::schema::escape;

/// The read-only input of a plan rule.
pub struct PlanContext<'a> {
    pub changes: &'a [Change],
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
pub fn check_plan(set: &ManifestSet, changes: &[Change], pack: &Pack) -> Report {
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
    change: &Change,
    rule: &Rule,
    enforcement: Enforcement,
    message: String,
    help: String,
) -> Finding {
    let resource = set.resources.iter().find(|resource| {
        resource.address.kind == change.address.kind && resource.address.name == change.address.name
    });
    let key = format!("{WAIVER_PREFIX}{}", rule.code);
    let waived = match resource {
        Some(resource) => resource_waivers(resource).remove(rule.code.as_str()),
        None => change
            .waivers
            .get(rule.code.as_str())
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
        severity: match enforcement {
            Enforcement::Mandatory => Severity::Error,
            Enforcement::Advisory | Enforcement::Disabled => Severity::Warning,
        },
        resource: change.address.to_string(),
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
