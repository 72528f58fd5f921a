//! The verdict on a run of the planner: a plan that may be saved and applied, or why not.
//!
//! `dbplan plan` and `dbplan apply PATH...` act on it, and the CLI maps it to an exit code:
//! [`Verdict::Ready`] is 0 (or 2 with `--detailed-exitcode` when something would change),
//! [`Verdict::NotMade`] and [`Verdict::Blocked`] are 1, [`Verdict::Refused`] is 3.

use crate::{Plan, PlanError, Refreshed};
use dbplan_core::Action;
use dbplan_diagnostics::{Diagnostic, Severity, Summary};
use dbplan_provider::ProviderError;

/// What planning decided.
#[derive(Debug)]
pub enum Verdict {
    /// Nothing stands in the way: the plan may be saved and applied (it may change nothing).
    Ready(Box<Plan>),
    /// No plan was made.
    NotMade(NotMade),
    /// The plan holds changes that may not be applied.
    Blocked(Blocked),
    /// Unwaived mandatory policy findings refuse the plan.
    Refused {
        /// How many ([`Plan::blocking_findings`]).
        blocking_findings: usize,
    },
}

/// Why no plan was made.
#[derive(Debug)]
pub enum NotMade {
    /// The manifests or the policy packs have errors (reported as diagnostics): nothing is
    /// planned from a wrong input. The counts of every diagnostic of the input.
    Input(Summary),
    /// Recorded objects could not be read, so what exists is not known.
    Refresh(Vec<ProviderError>),
    /// `--target` or `--adopt` names no resource.
    Request(PlanError),
}

/// The changes of a plan that may not be applied ([`crate::Change::blocked`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    /// Why, one sentence per blocked change, in the plan's order.
    pub reasons: Vec<String>,
    /// How many would destroy a protected object (prevent-destroy, deletion protection): a
    /// delete, orphan or replace.
    pub protected: usize,
    /// How many would take over an existing object dbplan did not create, without an opt-in.
    pub adoptions: usize,
}

impl Verdict {
    /// The verdict on a plan that was made. Blocked changes come first: no waiver or policy
    /// lets them through. Then the policies: an unwaived mandatory finding refuses the plan.
    pub fn of(plan: Plan) -> Verdict {
        let blocked = plan.blocked();
        if !blocked.is_empty() {
            let adoptions = blocked
                .iter()
                .filter(|change| change.action == Action::Adopt)
                .count();
            return Verdict::Blocked(Blocked {
                reasons: blocked
                    .iter()
                    .filter_map(|change| change.blocked.clone())
                    .collect(),
                protected: blocked.len() - adoptions,
                adoptions,
            });
        }
        let blocking_findings = plan.blocking_findings();
        if blocking_findings > 0 {
            return Verdict::Refused { blocking_findings };
        }
        Verdict::Ready(Box::new(plan))
    }

    /// The verdict on the input, before anything is planned: no plan when any diagnostic of
    /// the manifests or the policy packs is an error.
    pub fn of_input(diagnostics: &[Diagnostic]) -> Option<Verdict> {
        diagnostics
            .iter()
            .any(|diagnostic| diagnostic.severity == Severity::Error)
            .then(|| Verdict::NotMade(NotMade::Input(Summary::of(diagnostics))))
    }

    /// The verdict on a refresh: no plan when any recorded object could not be read (its
    /// errors are taken out of `refreshed`).
    pub fn of_refresh(refreshed: &mut Refreshed) -> Option<Verdict> {
        (!refreshed.errors.is_empty())
            .then(|| Verdict::NotMade(NotMade::Refresh(std::mem::take(&mut refreshed.errors))))
    }
}

impl From<PlanError> for Verdict {
    fn from(error: PlanError) -> Verdict {
        Verdict::NotMade(NotMade::Request(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicyFinding;
    use dbplan_core::ResourceAddress;
    use dbplan_state::{ResourceState, Snapshot};

    /// A state recording `addresses`, those in `protected` with `prevent-destroy`.
    fn state(addresses: &[&str], protected: &[&str]) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for address in addresses {
            let mut record = ResourceState::new(address.parse::<ResourceAddress>().unwrap());
            record.lifecycle.prevent_destroy = protected.contains(address);
            snapshot.resources.insert(record.address.clone(), record);
        }
        snapshot
    }

    /// A plan that deletes every recorded object (the manifests declare none).
    fn deleting(addresses: &[&str], protected: &[&str]) -> Plan {
        crate::plan_objects(&[], &state(addresses, protected), false)
    }

    fn finding(severity: Severity, waived: bool) -> PolicyFinding {
        PolicyFinding {
            code: "DB701".to_owned(),
            id: "stateful-destroy".to_owned(),
            severity,
            resource: "AwsVpc/main".to_owned(),
            file: None,
            line: None,
            column: None,
            message: "a finding".to_owned(),
            waived,
        }
    }

    /// The loader's diagnostic for a missing path, with `severity`.
    fn diagnostic(severity: Severity) -> Diagnostic {
        let missing = std::path::PathBuf::from("no such manifests");
        let (_, diagnostics) = dbplan_manifest::load_paths(&[missing]);
        let mut diagnostic = diagnostics.into_iter().next().unwrap();
        diagnostic.severity = severity;
        diagnostic
    }

    #[test]
    fn a_plan_without_changes_is_ready() {
        let verdict = Verdict::of(deleting(&[], &[]));
        assert!(
            matches!(&verdict, Verdict::Ready(plan) if !plan.has_changes()),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_plan_with_changes_and_only_advisory_or_waived_findings_is_ready() {
        let mut plan = deleting(&["AwsVpc/main"], &[]);
        plan.findings.push(finding(Severity::Warning, false));
        plan.findings.push(finding(Severity::Error, true));
        let verdict = Verdict::of(plan);
        assert!(
            matches!(&verdict, Verdict::Ready(plan) if plan.has_changes()),
            "{verdict:?}"
        );
    }

    #[test]
    fn an_unwaived_mandatory_finding_refuses_the_plan() {
        let mut plan = deleting(&["AwsVpc/main"], &[]);
        plan.findings.push(finding(Severity::Error, false));
        plan.findings.push(finding(Severity::Error, false));
        plan.findings.push(finding(Severity::Warning, false));
        assert!(matches!(
            Verdict::of(plan),
            Verdict::Refused {
                blocking_findings: 2
            }
        ));
    }

    #[test]
    fn destroying_a_protected_object_blocks_the_plan_with_its_reason() {
        let plan = deleting(&["AwsVpc/main", "AwsVpc/other"], &["AwsVpc/main"]);
        let Verdict::Blocked(blocked) = Verdict::of(plan) else {
            panic!("not blocked");
        };
        assert_eq!((blocked.protected, blocked.adoptions), (1, 0));
        assert_eq!(blocked.reasons.len(), 1);
        assert!(
            blocked.reasons[0].contains("AwsVpc/main")
                && blocked.reasons[0].contains("prevent-destroy"),
            "{:?}",
            blocked.reasons
        );
    }

    #[test]
    fn a_takeover_without_opt_in_is_counted_apart_from_protected_objects() {
        let mut plan = deleting(&["AwsVpc/main", "AwsVpc/other"], &["AwsVpc/main"]);
        let other = plan
            .changes
            .iter_mut()
            .find(|change| change.address.to_string() == "AwsVpc/other")
            .unwrap();
        other.action = Action::Adopt;
        other.blocked = Some("AwsVpc/other exists and dbplan did not create it".to_owned());
        let Verdict::Blocked(blocked) = Verdict::of(plan) else {
            panic!("not blocked");
        };
        assert_eq!((blocked.protected, blocked.adoptions), (1, 1));
        assert_eq!(blocked.reasons.len(), 2);
    }

    #[test]
    fn blocked_changes_come_before_the_policies() {
        let mut plan = deleting(&["AwsVpc/main"], &["AwsVpc/main"]);
        plan.findings.push(finding(Severity::Error, false));
        assert!(matches!(Verdict::of(plan), Verdict::Blocked(_)));
    }

    #[test]
    fn an_input_error_means_no_plan_and_warnings_do_not() {
        assert!(Verdict::of_input(&[]).is_none());
        assert!(Verdict::of_input(&[diagnostic(Severity::Warning)]).is_none());
        let verdict =
            Verdict::of_input(&[diagnostic(Severity::Warning), diagnostic(Severity::Error)]);
        let Some(Verdict::NotMade(NotMade::Input(summary))) = verdict else {
            panic!("{verdict:?}");
        };
        assert_eq!((summary.error, summary.warning), (1, 1));
    }

    #[test]
    fn an_unread_recorded_object_means_no_plan() {
        let mut refreshed = Refreshed::default();
        assert!(Verdict::of_refresh(&mut refreshed).is_none());
        refreshed.errors.push(ProviderError::Unsupported {
            address: "AwsVpc/main".parse().unwrap(),
            message: "this build has no provider for AwsVpc".to_owned(),
        });
        let verdict = Verdict::of_refresh(&mut refreshed);
        assert!(
            matches!(&verdict, Some(Verdict::NotMade(NotMade::Refresh(errors))) if errors.len() == 1),
            "{verdict:?}"
        );
        assert!(refreshed.errors.is_empty());
    }
}
