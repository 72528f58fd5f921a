//! ## What it does
//! Reports a waiver annotation (`dbplan.io/waive.<CODE>`) whose reason is empty.
//!
//! ## Why is this bad?
//! A waiver turns a policy off for one resource. Without a reason nobody can tell later why the
//! rule does not apply, who decided it, or whether the decision still holds, and the finding it
//! hides is back to being invisible.
//!
//! ## Example
//! ```yaml
//! metadata:
//!   annotations:
//!     dbplan.io/waive.DB402: ""
//! ```
//!
//! Use instead:
//! ```yaml
//! metadata:
//!   annotations:
//!     dbplan.io/waive.DB402: "deletion protection handled by org SCP; owner=alice; expires=2027-01-31"
//! ```
//!
//! ## References
//! - dbplan's design guide, §2: "a reason is mandatory; a waiver that waived nothing is itself
//!   reported".

use super::{Check, Code, Rule};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB001", "waiver without a reason"),
    id: "waiver-reason",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db001_waiver_reason.rs"),
    check: Check::Engine,
};
