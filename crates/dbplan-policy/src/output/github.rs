//! GitHub Actions workflow commands: one `::error`, `::warning` or `::notice` line per finding
//! and per diagnostic of the input (a manifest error is an `::error`), which GitHub shows as an annotation on the pull request's diff.
//!
//! Every field from the manifests (resource, message, waiver reason, file name) is first shown
//! through `escape::for_terminal`, so a control character in it is a visible `\u{1b}` and a
//! newline in it cannot end the command or start another one; then GitHub's own escaping
//! (`%`, CR, LF; also `:` and `,` in properties) applies to the whole.

use super::entries;
use crate::engine::Report;
use dbplan_diagnostics::escape::for_terminal;
use dbplan_diagnostics::{Diagnostic, Severity, SourceMap};

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

/// The input's `diagnostics` and the report's findings as workflow commands, one line each.
pub fn github(report: &Report, diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for entry in entries(report, diagnostics) {
        let command = match (entry.waived, entry.severity) {
            (Some(_), _) | (None, Severity::Info) => "notice",
            (None, Severity::Warning) => "warning",
            (None, Severity::Error) => "error",
        };
        let mut properties = Vec::new();
        if let Some((file, line, column)) = entry.location(sources) {
            properties.push(format!("file={}", escape_property(&for_terminal(&file))));
            properties.push(format!("line={line}"));
            properties.push(format!("col={column}"));
        }
        let title = match entry.waived {
            Some(_) => format!("{} {} (waived)", entry.code, entry.id),
            None => format!("{} {}", entry.code, entry.id),
        };
        properties.push(format!("title={}", escape_property(&title)));
        let mut message = for_terminal(&entry.headline()).into_owned();
        match (entry.waived, entry.help) {
            (Some(reason), _) => message.push_str(&format!("\nwaived: {}", for_terminal(reason))),
            (None, Some(help)) => message.push_str(&format!("\nhelp: {}", for_terminal(help))),
            (None, None) => {}
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

    #[test]
    fn an_input_diagnostic_is_an_escaped_annotation_even_without_a_location() {
        let diagnostic = Diagnostic::error(dbplan_manifest::codes::READ_ERROR)
            .with_message("cannot read `a\nb\u{1b}.yaml`: 100% gone")
            .with_help("check the path");
        let text = github(&Report::default(), &[diagnostic], &SourceMap::new());
        assert_eq!(
            text,
            "::error title=M013 cannot-read-input::cannot read `a\\nb\\u{1b}.yaml`: 100%25 gone%0Ahelp: check the path\n"
        );
    }
}
