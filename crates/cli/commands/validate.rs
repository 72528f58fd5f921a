//! `dbplan validate PATH...`: every mistake in the manifests, with its location; exit 1 on errors.

use crate::exit;
use crate::output;
use std::path::PathBuf;

pub fn run(paths: &[PathBuf], allow_files_outside: bool) -> anyhow::Result<u8> {
    let (set, graph, mut diagnostics) = super::load(paths);
    // Files outside the project are a manifest mistake; the state directory is not known
    // here (`plan` and `apply` check it).
    let project = dbplan_plan::files::Project::new(paths, None, allow_files_outside);
    diagnostics.extend(dbplan_plan::files::check_manifests(&set, &project));
    dbplan_diagnostics::sort_diagnostics(&mut diagnostics);
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
