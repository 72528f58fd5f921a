//! The registry: every rule, one file each. Codes are stable and never reused; a retired rule
//! keeps its code listed with `disabled`.

use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use crate::plan::{PlanContext, PlanFindings};
use dbplan_diagnostics::Code;

mod db001_waiver_reason;
mod db002_waiver_code;
mod db003_unused_waiver;
mod db101_window_overlap;
mod db102_multi_az_subnets;
mod db103_backup_retention_range;
mod db104_backup_retention_minimum;
mod db105_serverless_capacity;
mod db106_serverless_instance_scaling;
mod db107_log_exports;
mod db108_static_parameter_immediate;
mod db109_serverless_v1;
mod db201_managed_password;
mod db202_literal_password;
mod db203_iam_auth;
mod db204_plaintext_password;
mod db301_size_slug_compat;
mod db302_public_connectivity;
mod db303_trusted_sources;
mod db304_pool_connections;
mod db305_pool_engine;
mod db306_vpc_region;
mod db401_storage_encryption;
mod db402_deletion_protection;
mod db403_final_snapshot;
mod db404_kms_key_without_encryption;
mod db405_copy_tags;
mod db406_tenant_deletion_protection;
mod db407_tenant_delete_policy;
mod db501_open_database_port;
mod db502_public_instance;
mod db601_cnpg_single_instance;
mod db602_cnpg_backup;
mod db603_cnpg_in_tree_backup;
mod db604_cnpg_superuser;
mod db605_cnpg_backup_target;
mod db701_stateful_destroy;
mod db702_engine_major_version;
mod db703_encryption_disabled;

/// A rule's integer parameter, set in a policy pack.
#[derive(Clone, Copy, Debug)]
pub struct RuleParam {
    pub name: &'static str,
    pub default: i64,
    pub min: i64,
    pub max: i64,
    pub description: &'static str,
}

/// One policy.
#[derive(Clone, Copy)]
pub struct Rule {
    /// Stable code with its fixed one-line summary, e.g. `DB101`.
    pub code: Code,
    /// Stable kebab-case id, e.g. `window-overlap`.
    pub id: &'static str,
    /// Enforcement when no pack says otherwise.
    pub default: Enforcement,
    pub params: &'static [RuleParam],
    /// The rule file's own text, whose module doc comment is the rule's documentation.
    pub source: &'static str,
    /// The check: pure, over the manifests and their graph, or over the planned changes.
    pub check: Check,
}

/// What a rule looks at.
#[derive(Clone, Copy)]
pub enum Check {
    /// The manifests and their graph: runs in `lint` and on every plan.
    Manifest(fn(&Context<'_>, &mut Findings<'_>)),
    /// The planned changes (actions, before and after values): runs on a plan only.
    Plan(fn(&PlanContext<'_>, &mut PlanFindings)),
    /// Reported by the engine itself (waivers).
    Engine,
}

impl Check {
    /// Whether the rule needs a plan (and so never fires in `lint`).
    pub fn is_plan(self) -> bool {
        matches!(self, Check::Plan(_))
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("code", &self.code)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Every rule, by code.
pub static RULES: &[Rule] = &[
    db001_waiver_reason::RULE,
    db002_waiver_code::RULE,
    db003_unused_waiver::RULE,
    db101_window_overlap::RULE,
    db102_multi_az_subnets::RULE,
    db103_backup_retention_range::RULE,
    db104_backup_retention_minimum::RULE,
    db105_serverless_capacity::RULE,
    db106_serverless_instance_scaling::RULE,
    db107_log_exports::RULE,
    db108_static_parameter_immediate::RULE,
    db109_serverless_v1::RULE,
    db201_managed_password::RULE,
    db202_literal_password::RULE,
    db203_iam_auth::RULE,
    db204_plaintext_password::RULE,
    db301_size_slug_compat::RULE,
    db302_public_connectivity::RULE,
    db303_trusted_sources::RULE,
    db304_pool_connections::RULE,
    db305_pool_engine::RULE,
    db306_vpc_region::RULE,
    db401_storage_encryption::RULE,
    db402_deletion_protection::RULE,
    db403_final_snapshot::RULE,
    db404_kms_key_without_encryption::RULE,
    db405_copy_tags::RULE,
    db406_tenant_deletion_protection::RULE,
    db407_tenant_delete_policy::RULE,
    db501_open_database_port::RULE,
    db502_public_instance::RULE,
    db601_cnpg_single_instance::RULE,
    db602_cnpg_backup::RULE,
    db603_cnpg_in_tree_backup::RULE,
    db604_cnpg_superuser::RULE,
    db605_cnpg_backup_target::RULE,
    db701_stateful_destroy::RULE,
    db702_engine_major_version::RULE,
    db703_encryption_disabled::RULE,
];

/// DB001, which the engine reports itself: a waiver without a reason.
pub(crate) const WAIVER_REASON: &Rule = &db001_waiver_reason::RULE;
/// DB002, which the engine reports itself: a waiver of a code no rule has.
pub(crate) const WAIVER_CODE: &Rule = &db002_waiver_code::RULE;
/// DB003, which the engine reports itself: a waiver that waived nothing.
pub(crate) const UNUSED_WAIVER: &Rule = &db003_unused_waiver::RULE;

/// The rule with this code (case-insensitive).
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|rule| rule.code.as_str().eq_ignore_ascii_case(code))
}

/// The Aurora clusters of the set with their specs.
pub(crate) fn aurora_clusters<'a>(
    context: &Context<'a>,
) -> impl Iterator<
    Item = (
        &'a dbplan_manifest::Resource,
        &'a dbplan_manifest::kinds::AwsRdsClusterSpec,
    ),
> {
    context
        .resources()
        .filter_map(|resource| match &resource.spec {
            dbplan_manifest::Spec::AwsRdsCluster(spec) => Some((resource, spec)),
            _ => None,
        })
}

/// The DigitalOcean database clusters of the set with their specs.
pub(crate) fn digitalocean_clusters<'a>(
    context: &Context<'a>,
) -> impl Iterator<
    Item = (
        &'a dbplan_manifest::Resource,
        &'a dbplan_manifest::kinds::DigitalOceanDatabaseClusterSpec,
    ),
> {
    context
        .resources()
        .filter_map(|resource| match &resource.spec {
            dbplan_manifest::Spec::DigitalOceanDatabaseCluster(spec) => Some((resource, spec)),
            _ => None,
        })
}
