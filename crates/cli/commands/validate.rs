//! `dbplan validate PATH...`: every mistake in the manifests, with its location; exit 1 on errors.

use crate::exit;
use crate::output;
use std::path::PathBuf;

pub fn run(paths: &[PathBuf]) -> anyhow::Result<u8> {
    let (set, graph, diagnostics) = super::load(paths);
    let summary = output::report(&set.sources, &diagnostics);
    let files = set.sources.files().count();
    eprintln!(
        "validated {} in {} from {} ({}): {}",
        output::plural(set.resources.len(), "resource"),
        output::plural(set.documents, "document"),
        output::plural(files, "file"),
        output::plural(graph.len(), "graph node"),
        output::counts(summary)
    );
    Ok(if summary.error > 0 {
        exit::ERROR
    } else {
        exit::SUCCESS
    })
}
