//! `dbplan graph PATH... --format dot|mermaid`: the resource DAG on stdout.

use crate::exit;
use crate::output;
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
}

pub fn run(paths: &[PathBuf], format: Format) -> anyhow::Result<u8> {
    let (set, graph, diagnostics) = super::load(paths);
    let summary = output::report(&set.sources, &diagnostics);
    if summary.error > 0 {
        eprintln!("no graph: {}", output::counts(summary));
        return Ok(exit::ERROR);
    }
    let text = match format {
        Format::Dot => graph.to_dot(),
        Format::Mermaid => graph.to_mermaid(),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(exit::SUCCESS)
}
