//! `dbplan validate PATH...`: every mistake in the manifests, with its location; exit 1 on errors.

use crate::exit::Outcome;
use crate::output;
use crate::shared;
use std::path::PathBuf;

/// The arguments of `dbplan validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files or directories (read recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Allow `file` fields (connection secrets, CA certificates) outside the project (the
    /// directories of the paths named here); never inside the state directory.
    #[arg(long, env = "DBPLAN_ALLOW_FILES_OUTSIDE", value_parser = clap::builder::BoolishValueParser::new())]
    allow_files_outside: bool,
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let (set, graph, mut diagnostics) = shared::load(&args.paths);
    // Files outside the project are a manifest mistake; the state directory is not known
    // here (`plan` and `apply` check it).
    let project = dbplan_plan::files::Project::new(&args.paths, None, args.allow_files_outside);
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
        Outcome::Failure
    } else {
        Outcome::Success
    })
}
