pub mod apply;
pub mod completions;
pub mod graph;
pub mod import;
pub mod lint;
pub mod output;
pub mod plan;
pub mod policy;
pub mod schema;
pub mod show;
pub mod state;
pub mod validate;

use dbplan_diagnostics::Diagnostic;
use dbplan_graph::Graph;
use dbplan_manifest::ManifestSet;
use std::path::PathBuf;

/// Loads manifests and builds the graph; diagnostics of both stages, sorted.
pub fn load(paths: &[PathBuf]) -> (ManifestSet, Graph, Vec<Diagnostic>) {
    let (set, mut diagnostics) = dbplan_manifest::load_paths(paths);
    let (graph, graph_diagnostics) = dbplan_graph::build(&set);
    diagnostics.extend(graph_diagnostics);
    dbplan_diagnostics::sort_diagnostics(&mut diagnostics);
    (set, graph, diagnostics)
}
