//! GitHub Actions workflow commands: one `::error`, `::warning` or `::notice` line per finding,
//! which GitHub shows as an annotation on the pull request's diff.
//!
//! Every field from the manifests (resource, message, waiver reason, file name) is first shown
//! through `escape::for_terminal`, so a control character in it is a visible `\u{1b}` and a
//! newline in it cannot end the command or start another one; then GitHub's own escaping
//! (`%`, CR, LF; also `:` and `,` in properties) applies to the whole.

use super::location;
use crate::engine::Report;
use dbplan_diagnostics::escape::for_terminal;
use dbplan_diagnostics::{Severity, SourceMap};

/// Escapes a workflow command's message (`%`, CR, LF); any other control character, which
/// GitHub has no escape for, is shown as `\u{1b}`.
fn escape_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            other => out.push_str(&for_terminal(other.encode_utf8(&mut [0; 4]))),
        }
    }
    out
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
            properties.push(format!("file={}", escape_property(&for_terminal(&file))));
            properties.push(format!("line={line}"));
            properties.push(format!("col={column}"));
        }
        let title = match &finding.waived {
            Some(_) => format!("{} {} (waived)", finding.code, finding.id),
            None => format!("{} {}", finding.code, finding.id),
        };
        properties.push(format!("title={}", escape_property(&title)));
        let mut message = format!(
            "{}: {}",
            for_terminal(&finding.resource),
            for_terminal(&finding.message)
        );
        match &finding.waived {
            Some(reason) => message.push_str(&format!("\nwaived: {}", for_terminal(reason))),
            None => message.push_str(&format!("\nhelp: {}", for_terminal(&finding.help))),
        }
        out.push_str(&format!(
            "::{command} {}::{}\n",
            properties.join(","),
            escape_data(&message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_github_specials_and_shows_other_controls() {
        assert_eq!(
            escape_data("50% a\r\nb\u{1b}]0;x\u{7}\u{202e}\u{85}"),
            "50%25 a%0D%0Ab\\u{1b}]0;x\\u{7}\\u{202e}\\u{85}"
        );
        assert_eq!(escape_property("a:b,c%\n\u{1b}"), "a%3Ab%2Cc%25%0A\\u{1b}");
    }
}
