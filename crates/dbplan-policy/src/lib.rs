//! dbplan's policies and the offline lint engine.
//!
//! A policy ([`Rule`]) is one file in `rules/` (ruff's layout): a module doc comment with the
//! sections `## What it does`, `## Why is this bad?`, `## Example`, `Use instead:` and
//! `## References` (the provider documentation it enforces), a registry entry with a stable code,
//! and a pure check over the loaded manifests and their resolved graph. Checks never do I/O and
//! never call providers.
//!
//! Values that come from references are reasoned about in three ways: a check passes, fails, or
//! cannot decide until apply; the last is reported at `info`, never silently skipped.
//!
//! A [`Pack`] (YAML files in the top-level `policies/`) sets each rule's enforcement
//! (`mandatory` → error that blocks, `advisory` → warning, `disabled`) and its parameters.
//! Waivers (`dbplan.io/waive.<CODE>: "<reason>"` annotations) silence one rule for one resource;
//! waived findings are still listed, marked as waived, in every output.
//!
//! Plan rules ([`Check::Plan`]) look at planned changes instead ([`check_plan`]): replacing or
//! deleting a stateful resource, an engine major-version jump, turning encryption off.

pub mod codes;
mod context;
mod doc;
mod engine;
pub mod options;
pub mod output;
mod pack;
mod plan;
mod rules;

pub use context::{Context, Findings};
pub use doc::{RuleDoc, explain, rules_markdown};
pub use engine::{Counts, Finding, Report, WAIVER_PREFIX, lint, resource_waivers};
pub use pack::{Enforcement, Pack};
pub use plan::{PlanContext, PlanFindings, check_plan, major_version};
pub use rules::{Check, RULES, Rule, RuleParam, rule};
