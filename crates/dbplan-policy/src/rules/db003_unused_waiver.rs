//! ## What it does
//! Reports a waiver that matched no finding of its policy on its resource.
//!
//! ## Why is this bad?
//! A waiver that waives nothing is either left over (the resource was fixed, so the waiver
//! should go before it hides a future regression) or on the wrong resource.
//!
//! ## Example
//! ```yaml
//! metadata:
//!   annotations:
//!     dbplan.io/waive.DB402: "temporary"   # but deletion_protection is true
//! spec:
//!   deletion_protection: true
//! ```
//!
//! Use instead: remove the annotation.
//!
//! ## References
//! - dbplan's design guide, §2: "a waiver that waived nothing is itself reported".

use super::{Check, Code, Rule};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB003", "waiver that waived nothing"),
    id: "unused-waiver",
    default: Enforcement::Advisory,
    params: &[],
    source: include_str!("db003_unused_waiver.rs"),
    check: Check::Engine,
};
