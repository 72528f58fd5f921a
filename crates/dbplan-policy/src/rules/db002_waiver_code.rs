//! ## What it does
//! Reports a waiver annotation whose code is not a policy code.
//!
//! ## Why is this bad?
//! A misspelt waiver (`dbplan.io/waive.DB42`) waives nothing: the finding it was meant to cover
//! still blocks, and the annotation suggests to readers that the resource was reviewed.
//!
//! ## Example
//! ```yaml
//! metadata:
//!   annotations:
//!     dbplan.io/waive.DB42: "handled by org SCP"
//! ```
//!
//! Use instead:
//! ```yaml
//! metadata:
//!   annotations:
//!     dbplan.io/waive.DB402: "handled by org SCP"
//! ```
//!
//! ## References
//! - `dbplan policy list` prints every code.

use super::{Check, Code, Rule};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB002", "waiver of an unknown policy"),
    id: "waiver-code",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db002_waiver_code.rs"),
    check: Check::Engine,
};
