//! Shared terminal output: diagnostics on stderr, colour per `NO_COLOR` and the terminal.

use dbplan_diagnostics::{Diagnostic, RenderOptions, SourceMap, Summary, render_all};
use std::io::{IsTerminal, Write};

/// Whether stderr gets colour: not with `NO_COLOR` set (to anything non-empty), not when it is
/// not a terminal.
pub fn stderr_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        && std::io::stderr().is_terminal()
}

/// Whether stdout gets colour: the same rule as stderr, for stdout.
pub fn stdout_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        && std::io::stdout().is_terminal()
}

/// Prints diagnostics to stderr and returns their counts.
pub fn report(sources: &SourceMap, diagnostics: &[Diagnostic]) -> Summary {
    let text = render_all(
        sources,
        diagnostics,
        RenderOptions {
            color: stderr_color(),
        },
    );
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    Summary::of(diagnostics)
}

/// "1 error", "2 errors".
pub fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// "2 errors, 1 warning".
pub fn counts(summary: Summary) -> String {
    format!(
        "{}, {}",
        plural(summary.error, "error"),
        plural(summary.warning, "warning")
    )
}
