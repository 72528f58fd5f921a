//! `dbplan lint PATH...`: the policies, offline (no credentials, no network, no state).

use crate::exit::Outcome;
use crate::output;
use crate::shared;
use dbplan_diagnostics::{Severity, escape};
use dbplan_policy::Report;
use dbplan_policy::options::Snapshot;
use std::io::Write;
use std::path::PathBuf;

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

/// The arguments of `dbplan lint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files or directories (read recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// A policy pack file or a directory of packs; `./policies/` when it exists.
    #[arg(long)]
    policies: Option<PathBuf>,
    /// The lowest severity of an unwaived finding that fails the run (exit 3).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
}

// Long: loads and lints, prints the report in each output format, then maps the counts to the exit
// code; the format arms and the exit-code rule read best next to each other.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let Args {
        paths,
        format,
        policies,
        fail_on,
    } = args;
    let (mut set, graph, mut diagnostics) = shared::load(&paths);
    let (pack, pack_diagnostics) = shared::load_pack(policies.as_deref(), &mut set.sources);
    diagnostics.extend(pack_diagnostics);
    let options = Snapshot::digitalocean();
    let mut report: Report = dbplan_policy::lint(&set, &graph, &pack, options);
    if let Some(notice) = options.staleness_notice(shared::today()?) {
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
        Outcome::Failure
    } else if blocking > 0 {
        Outcome::PolicyFindings
    } else {
        Outcome::Success
    })
}
