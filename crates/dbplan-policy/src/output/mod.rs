//! Lint output formats: human text (rendered diagnostics), JSON, SARIF 2.1.0 and GitHub
//! workflow commands.

mod github;
mod json;
mod sarif;

pub use github::github;
pub use json::{FORMAT_VERSION, json};
pub use sarif::sarif;

use crate::engine::Finding;
use dbplan_diagnostics::SourceMap;

/// File, line and column (1-based) of a finding, when it has a span.
pub(crate) fn location(sources: &SourceMap, finding: &Finding) -> Option<(String, u32, u32)> {
    let span = finding.span?;
    let (file, position) = sources.location(span)?;
    Some((file, position.line, position.column))
}
