//! `dbplan validate PATH...`: every mistake in the manifests, with its location; exit 1 on errors.

use crate::exit;
use crate::output;
use std::path::PathBuf;

pub fn run(paths: &[PathBuf]) -> anyhow::Result<u8> {
    let (set, graph, diagnostics) = super::load(paths);
    let summary = output::report(&set.sources, &diagnostics);
    let files = set.sources.files().count();
    eprintln!(
        "validated {} resources ({} graph nodes) in {} documents from {} files: {}",
        set.resources.len(),
        graph.len(),
        set.documents,
        files,
        output::counts(summary)
    );
    Ok(if summary.error > 0 { exit::ERROR } else { exit::SUCCESS })
}
