//! `dbplan lint PATH...`: the policies, offline (no credentials, no network, no state).

use crate::exit;
use crate::output;
use dbplan_diagnostics::{Diagnostic, Severity, SourceMap, escape};
use dbplan_policy::options::Snapshot;
use dbplan_policy::{Pack, Report};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Rendered diagnostics on stderr, with source excerpts.
    Text,
    /// The stable lint JSON on stdout: policy findings and the input's diagnostics.
    Json,
    /// SARIF 2.1.0 on stdout, for code scanning: policy findings and the input's diagnostics.
    Sarif,
    /// GitHub Actions workflow commands on stdout (annotations on the pull request): policy
    /// findings and the input's diagnostics.
    Github,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Unwaived mandatory findings fail the run (exit 3).
    Error,
    /// Unwaived mandatory and advisory findings fail the run (exit 3).
    Warning,
}

/// The packs of a run: `--policies PATH`, else `./policies/` when it exists, else the defaults.
pub fn load_pack(policies: Option<&Path>, sources: &mut SourceMap) -> (Pack, Vec<Diagnostic>) {
    match policies {
        Some(path) => Pack::load(path, sources),
        None if Path::new("policies").is_dir() => Pack::load(Path::new("policies"), sources),
        None => (Pack::builtin(), Vec::new()),
    }
}

/// Today as days since 1970-01-01: `DBPLAN_TODAY` (YYYY-MM-DD, for reproducible output) or the
/// clock. A `DBPLAN_TODAY` that is not such a date is an error, not a silent fallback.
pub fn today() -> anyhow::Result<i64> {
    if let Ok(text) = std::env::var("DBPLAN_TODAY") {
        return dbplan_policy::options::parse_date(&text).ok_or_else(|| {
            anyhow::anyhow!(
                "DBPLAN_TODAY is {}, which is not a date: write YYYY-MM-DD (e.g. 2026-12-02), or unset it to count to today",
                escape::for_terminal(&format!("`{text}`"))
            )
        });
    }
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| (elapsed.as_secs() / 86_400) as i64))
}

// Long: loads and lints, prints the report in each output format, then maps the counts to the exit
// code; the format arms and the exit-code rule read best next to each other.
pub fn run(
    paths: &[PathBuf],
    format: Format,
    policies: Option<&Path>,
    fail_on: FailOn,
) -> anyhow::Result<u8> {
    let (mut set, graph, mut diagnostics) = super::load(paths);
    let (pack, pack_diagnostics) = load_pack(policies, &mut set.sources);
    diagnostics.extend(pack_diagnostics);
    let options = Snapshot::digitalocean();
    let mut report: Report = dbplan_policy::lint(&set, &graph, &pack, options);
    if let Some(notice) = options.staleness_notice(today()?) {
        report.notices.push(notice);
    }
    let input_errors = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .count();
    let threshold = match fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
    };
    let blocking = report.blocking(threshold);

    match format {
        Format::Text => {
            let mut all = diagnostics;
            all.extend(
                report
                    .findings
                    .iter()
                    .map(|finding| finding.to_diagnostic()),
            );
            dbplan_diagnostics::sort_diagnostics(&mut all);
            output::report(&set.sources, &all);
        }
        Format::Json | Format::Sarif | Format::Github => {
            // The input's mistakes stay on stderr for the job log, and are results of the
            // format too, so code scanning and annotations show what failed the run.
            dbplan_diagnostics::sort_diagnostics(&mut diagnostics);
            output::report(&set.sources, &diagnostics);
            let text = match format {
                Format::Json => {
                    let mut text = escape::to_json_string_pretty(
                        &dbplan_policy::output::lint_json(&report, &diagnostics, &set.sources),
                    )?;
                    text.push('\n');
                    text
                }
                Format::Sarif => {
                    let mut text = escape::to_json_string_pretty(&dbplan_policy::output::sarif(
                        &report,
                        &diagnostics,
                        &set.sources,
                        &pack,
                        env!("CARGO_PKG_VERSION"),
                    ))?;
                    text.push('\n');
                    text
                }
                _ => dbplan_policy::output::github(&report, &diagnostics, &set.sources),
            };
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
    }
    for notice in &report.notices {
        eprintln!("notice: {}", escape::for_terminal(notice));
    }
    let counts = report.counts();
    eprintln!(
        "linted {}: {}, {}, {} info, {} waived{}",
        output::plural(set.resources.len() + set.partial().count(), "resource"),
        output::plural(counts.error, "error"),
        output::plural(counts.warning, "warning"),
        counts.info,
        counts.waived,
        if input_errors > 0 {
            format!("; {} in the input", output::plural(input_errors, "error"))
        } else {
            String::new()
        }
    );
    Ok(if input_errors > 0 {
        exit::ERROR
    } else if blocking > 0 {
        exit::POLICY
    } else {
        exit::SUCCESS
    })
}
