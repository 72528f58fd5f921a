//! GitHub Actions workflow commands: one `::error`, `::warning` or `::notice` line per finding,
//! which GitHub shows as an annotation on the pull request's diff.

use super::location;
use crate::engine::Report;
use dbplan_diagnostics::{Severity, SourceMap};

/// Escapes a workflow command's message (`%`, CR, LF).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The report as workflow commands, one line per finding.
pub fn github(report: &Report, sources: &SourceMap) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        let command = match (&finding.waived, finding.severity) {
            (Some(_), _) | (None, Severity::Info) => "notice",
            (None, Severity::Warning) => "warning",
            (None, Severity::Error) => "error",
        };
        let mut properties = Vec::new();
        if let Some((file, line, column)) = location(sources, finding) {
            properties.push(format!("file={}", escape_property(&file)));
            properties.push(format!("line={line}"));
            properties.push(format!("col={column}"));
        }
        let title = match &finding.waived {
            Some(_) => format!("{} {} (waived)", finding.code, finding.id),
            None => format!("{} {}", finding.code, finding.id),
        };
        properties.push(format!("title={}", escape_property(&title)));
        let mut message = format!("{}: {}", finding.resource, finding.message);
        match &finding.waived {
            Some(reason) => message.push_str(&format!("\nwaived: {reason}")),
            None => message.push_str(&format!("\nhelp: {}", finding.help)),
        }
        out.push_str(&format!(
            "::{command} {}::{}\n",
            properties.join(","),
            escape_data(&message)
        ));
    }
    out
}
