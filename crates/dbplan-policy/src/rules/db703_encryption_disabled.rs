//! ## What it does
//! Blocks a plan that turns storage encryption off on an Aurora cluster that has it
//! (`storage_encrypted: true` in state, `false` in the manifest).
//!
//! ## Why is this bad?
//! The change cannot be made in place: it replaces the encrypted cluster with a new,
//! unencrypted one, so the data is both at risk of loss and, once restored, stored in the clear.
//! It is almost always a mistake (a dropped line, a wrong default).
//!
//! ## Example
//! ```yaml
//! # state: storage_encrypted: true; manifest:
//! spec:
//!   storage_encrypted: false
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   storage_encrypted: true
//! ```
//!
//! ## References
//! - AWS, Encrypting Amazon Aurora resources: "You can't turn off encryption on an encrypted DB
//!   cluster."

use super::{Check, Code, Rule};
use crate::pack::Enforcement;
use crate::plan::{PlanContext, PlanFindings};
use dbplan_core::{Action, Value};

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB703", "the plan turns storage encryption off"),
    id: "encryption-disabled",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db703_encryption_disabled.rs"),
    check: Check::Plan(check),
};

fn check(context: &PlanContext<'_>, findings: &mut PlanFindings) {
    for (index, change) in context.changes.iter().enumerate() {
        if !matches!(change.action, Action::Update | Action::Replace) {
            continue;
        }
        if change.before.get("storage_encrypted") == Some(&Value::Bool(true))
            && change.after.get("storage_encrypted") == Some(&Value::Bool(false))
        {
            findings.fail(
                index,
                format!(
                    "{} turns storage encryption off: AWS cannot do that in place, so the encrypted cluster is replaced by an unencrypted one",
                    change.address
                ),
                "keep `storage_encrypted: true`",
            );
        }
    }
}
