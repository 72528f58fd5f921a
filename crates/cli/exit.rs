//! How a command ended, and the one place that turns it into an exit code (README.md, "Exit
//! codes"): `0` success, `1` error, `2` changes present (`plan --detailed-exitcode` only), `3`
//! blocking policy findings.

use dbplan_plan::Verdict;

/// How a command ended. Whatever it had to say is said; only the exit code is left.
#[derive(Debug)]
pub enum Outcome {
    /// Done as asked (also `--help`, `--version` and `help`).
    Success,
    /// Refused or failed: bad input, a usage error, a refusal, a failed step, an I/O error.
    Failure,
    /// Unwaived policy findings that fail the run: `lint`'s threshold, or a saved plan the
    /// engine refuses for its findings.
    PolicyFindings,
    /// What planning decided, for `plan`, and for `apply` and `destroy` when they stop there.
    Planned {
        verdict: Verdict,
        /// `plan --detailed-exitcode`: a ready plan with changes ends with 2.
        detailed_exitcode: bool,
    },
}

impl From<Verdict> for Outcome {
    fn from(verdict: Verdict) -> Outcome {
        Outcome::Planned {
            verdict,
            detailed_exitcode: false,
        }
    }
}

/// The exit code of an outcome.
pub fn code(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Success => 0,
        Outcome::Failure => 1,
        Outcome::PolicyFindings => 3,
        Outcome::Planned {
            verdict,
            detailed_exitcode,
        } => match verdict {
            Verdict::Ready(plan) if *detailed_exitcode && plan.has_changes() => 2,
            Verdict::Ready(_) => 0,
            Verdict::NotMade(_) | Verdict::Blocked(_) => 1,
            Verdict::Refused { .. } => 3,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbplan_core::ResourceAddress;
    use dbplan_diagnostics::Summary;
    use dbplan_plan::{Blocked, NotMade};
    use dbplan_state::{ResourceState, Snapshot};

    /// A ready plan: one that deletes a recorded VPC, or one that changes nothing.
    fn ready(changes: bool) -> Verdict {
        let mut state = Snapshot::default();
        if changes {
            let address: ResourceAddress = "AwsVpc/main".parse().unwrap();
            state
                .resources
                .insert(address.clone(), ResourceState::new(address));
        }
        let plan = dbplan_plan::plan_objects(&[], &state, false);
        assert_eq!(plan.has_changes(), changes);
        Verdict::Ready(Box::new(plan))
    }

    fn planned(verdict: Verdict, detailed_exitcode: bool) -> Outcome {
        Outcome::Planned {
            verdict,
            detailed_exitcode,
        }
    }

    fn blocked() -> Verdict {
        Verdict::Blocked(Blocked {
            reasons: vec!["AwsVpc/main has deletion protection on".to_owned()],
            protected: 1,
            adoptions: 0,
        })
    }

    #[test]
    fn every_outcome_has_the_documented_exit_code() {
        let cases = [
            (Outcome::Success, 0),
            (Outcome::Failure, 1),
            (Outcome::PolicyFindings, 3),
            (planned(ready(false), false), 0),
            (planned(ready(false), true), 0),
            (planned(ready(true), false), 0),
            (planned(ready(true), true), 2),
            (
                planned(Verdict::NotMade(NotMade::Input(Summary::default())), true),
                1,
            ),
            (planned(blocked(), true), 1),
            (Outcome::from(blocked()), 1),
            (
                planned(
                    Verdict::Refused {
                        blocking_findings: 1,
                    },
                    true,
                ),
                3,
            ),
            (
                Outcome::from(Verdict::Refused {
                    blocking_findings: 2,
                }),
                3,
            ),
        ];
        for (outcome, expected) in cases {
            assert_eq!(code(&outcome), expected, "{outcome:?}");
        }
    }
}
