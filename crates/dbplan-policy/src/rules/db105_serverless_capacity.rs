//! ## What it does
//! Checks an Aurora Serverless v2 capacity range: both bounds in steps of 0.5 ACU, the minimum
//! not above the maximum, a maximum of at least 1 and at most 256 ACUs, a minimum of 0 only
//! together with `seconds_until_auto_pause` (auto-pause), `seconds_until_auto_pause` only with a
//! minimum of 0, and no Serverless v2 scaling on a Serverless v1 (`engine_mode: serverless`)
//! cluster.
//!
//! ## Why is this bad?
//! RDS refuses each of these at apply time, after the rest of the plan has been applied.
//!
//! ## Example
//! ```yaml
//! spec:
//!   serverless_v2_scaling: {min_capacity: 4.2, max_capacity: 2}
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   serverless_v2_scaling: {min_capacity: 0.5, max_capacity: 16}
//! ```
//!
//! ## References
//! - AWS, ServerlessV2ScalingConfiguration: "You can specify ACU values in half-step increments,
//!   such as 8, 8.5, 9, and so on." `MaxCapacity`: "The largest value that you can use is 256
//!   for recent Aurora versions, or 128 for older versions." `MinCapacity`: "The smallest value
//!   that you can use is 0. For Aurora versions that don't support the Aurora Serverless v2
//!   auto-pause feature, the smallest value that you can use is 0.5."
//! - `SecondsUntilAutoPause`: "Specify a value between 300 seconds (five minutes) and 86,400
//!   seconds (one day)"; it applies only when the minimum capacity is 0.

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::kinds::EngineMode;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB105", "invalid Aurora Serverless v2 capacity range"),
    id: "serverless-capacity",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db105_serverless_capacity.rs"),
    check: Check::Manifest(check),
};

fn half_steps(value: f64) -> bool {
    (value * 2.0).fract() == 0.0
}

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        let Some(scaling) = &spec.serverless_v2_scaling else {
            continue;
        };
        let min = scaling.min_capacity;
        if spec.engine_mode == Some(EngineMode::Serverless) {
            findings.fail(
                resource,
                "/spec/serverless_v2_scaling",
                "Serverless v2 scaling is set on a Serverless v1 (`engine_mode: serverless`) cluster",
                "use `engine_mode: provisioned` with `db.serverless` instances for Serverless v2",
            );
        }
        if !half_steps(min) {
            findings.fail(
                resource,
                "/spec/serverless_v2_scaling/min_capacity",
                format!("min_capacity {min} is not a multiple of 0.5 ACU"),
                format!(
                    "use {} or {}",
                    (min * 2.0).floor() / 2.0,
                    (min * 2.0).ceil() / 2.0
                ),
            );
        }
        match scaling.max_capacity {
            None => findings.fail(
                resource,
                "/spec/serverless_v2_scaling",
                "Serverless v2 scaling needs `max_capacity`",
                "add `max_capacity`, from 1 to 256 ACUs",
            ),
            Some(max) => {
                if !half_steps(max) {
                    findings.fail(
                        resource,
                        "/spec/serverless_v2_scaling/max_capacity",
                        format!("max_capacity {max} is not a multiple of 0.5 ACU"),
                        format!(
                            "use {} or {}",
                            (max * 2.0).floor() / 2.0,
                            (max * 2.0).ceil() / 2.0
                        ),
                    );
                }
                if !(1.0..=256.0).contains(&max) {
                    findings.fail(
                        resource,
                        "/spec/serverless_v2_scaling/max_capacity",
                        format!("max_capacity {max} is outside 1 to 256 ACUs"),
                        "use a maximum from 1 to 256 ACUs (128 on older engine versions)",
                    );
                }
                if min > max {
                    findings.fail(
                        resource,
                        "/spec/serverless_v2_scaling/min_capacity",
                        format!("min_capacity {min} is above max_capacity {max}"),
                        "make min_capacity at most max_capacity",
                    );
                }
            }
        }
        if min == 0.0 && scaling.seconds_until_auto_pause.is_none() {
            findings.fail(
                resource,
                "/spec/serverless_v2_scaling/min_capacity",
                "min_capacity 0 means the cluster pauses, but `seconds_until_auto_pause` is not set",
                "add `seconds_until_auto_pause` (300 to 86400), or use a minimum of 0.5 ACU",
            );
        }
        if min > 0.0 && scaling.seconds_until_auto_pause.is_some() {
            findings.fail(
                resource,
                "/spec/serverless_v2_scaling/seconds_until_auto_pause",
                format!("`seconds_until_auto_pause` has no effect with min_capacity {min}: only clusters with a minimum of 0 pause"),
                "remove it, or set min_capacity to 0 to let the cluster pause",
            );
        }
    }
}
