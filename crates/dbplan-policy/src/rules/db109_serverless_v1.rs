//! ## What it does
//! Reports Aurora clusters with `engine_mode: serverless` (Aurora Serverless v1).
//!
//! ## Why is this bad?
//! Aurora Serverless v1 has reached its end of life: new v1 clusters cannot be created and
//! existing ones are being migrated by AWS. Serverless v2 (`engine_mode: provisioned` with
//! `db.serverless` instances) replaces it.
//!
//! ## Example
//! ```yaml
//! spec:
//!   engine_mode: serverless
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   engine_mode: provisioned
//!   serverless_v2_scaling: {min_capacity: 0.5, max_capacity: 16}
//! ---
//! kind: AwsRdsClusterInstance
//! spec:
//!   instance_class: db.serverless
//! ```
//!
//! ## References
//! - AWS, Aurora User Guide, "Aurora Serverless v1 end of life": Aurora Serverless v1 reached
//!   end of life on March 31, 2025; AWS recommends upgrading to Aurora Serverless v2.

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::kinds::EngineMode;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB109", "Aurora Serverless v1 (end of life)"),
    id: "serverless-v1",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db109_serverless_v1.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        if spec.engine_mode == Some(EngineMode::Serverless) {
            findings.fail(
                resource,
                "/spec/engine_mode",
                "Aurora Serverless v1 has reached end of life; new v1 clusters cannot be created",
                "use `engine_mode: provisioned` with `serverless_v2_scaling` and `db.serverless` instances (Serverless v2)",
            );
        }
    }
}
