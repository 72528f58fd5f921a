//! `dbplan graph PATH... --format dot|mermaid`: the resource DAG on stdout.

use crate::exit::Outcome;
use crate::output;
use crate::shared;
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
}

/// The arguments of `dbplan graph`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files or directories (read recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Dot)]
    format: Format,
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let (set, graph, diagnostics) = shared::load(&args.paths);
    let summary = output::report(&set.sources, &diagnostics);
    if summary.error > 0 {
        eprintln!("no graph: {}", output::counts(summary));
        return Ok(Outcome::Failure);
    }
    let text = match args.format {
        Format::Dot => graph.to_dot(),
        Format::Mermaid => graph.to_mermaid(),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(Outcome::Success)
}
