//! From loaded manifests to the resource DAG.
//!
//! Components are expanded into their parts (`expand`), every reference is resolved to the part
//! it points at and checked against the outputs its kind declares (`resolve`), and the result is
//! a [`Graph`]: a DAG of resource parts with topological levels, rendered as DOT or Mermaid.
//!
//! This crate is the only user of petgraph; no petgraph type appears in a public signature.

mod codes;
mod expand;
mod render;
mod resolve;
mod tenants;

pub use codes::ALL as CODES;
pub use expand::Part;

use dbplan_core::ResourceAddress;
use dbplan_diagnostics::{Diagnostic, Span};
use dbplan_manifest::ManifestSet;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;

/// One node of the graph: a resource, or one part of a component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNode {
    pub address: ResourceAddress,
    /// Index of the declaring resource in [`ManifestSet::resources`].
    pub resource: usize,
    pub part: Part,
}

/// Why one node depends on another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EdgeReason {
    /// A part of a component needs another part of it (e.g. the cluster needs its subnet group).
    Component,
    /// A field references the other resource; `pointer` is the field, `span` the reference.
    Reference { pointer: String, span: Span },
}

/// The resource DAG. Edges point from a dependent to what it depends on.
#[derive(Debug, Default)]
pub struct Graph {
    graph: DiGraph<GraphNode, EdgeReason>,
    index: HashMap<ResourceAddress, NodeIndex>,
}

impl Graph {
    /// Every node, in a stable order (by address).
    pub fn nodes(&self) -> Vec<&GraphNode> {
        let mut nodes: Vec<&GraphNode> = self.graph.node_weights().collect();
        nodes.sort_by(|a, b| a.address.cmp(&b.address));
        nodes
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    pub fn node(&self, address: &ResourceAddress) -> Option<&GraphNode> {
        self.index
            .get(address)
            .and_then(|index| self.graph.node_weight(*index))
    }

    /// What a node depends on, sorted by address.
    pub fn dependencies(&self, address: &ResourceAddress) -> Vec<&ResourceAddress> {
        self.neighbours(address, petgraph::Direction::Outgoing)
    }

    /// What depends on a node, sorted by address.
    pub fn dependents(&self, address: &ResourceAddress) -> Vec<&ResourceAddress> {
        self.neighbours(address, petgraph::Direction::Incoming)
    }

    fn neighbours(
        &self,
        address: &ResourceAddress,
        direction: petgraph::Direction,
    ) -> Vec<&ResourceAddress> {
        let Some(index) = self.index.get(address) else {
            return Vec::new();
        };
        let mut out: Vec<&ResourceAddress> = self
            .graph
            .neighbors_directed(*index, direction)
            .filter_map(|neighbour| self.graph.node_weight(neighbour))
            .map(|node| &node.address)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every edge as (dependent, dependency, reason), sorted.
    pub fn edges(&self) -> Vec<(&ResourceAddress, &ResourceAddress, &EdgeReason)> {
        let mut edges: Vec<_> = self
            .graph
            .edge_indices()
            .filter_map(|edge| {
                let (from, to) = self.graph.edge_endpoints(edge)?;
                Some((
                    &self.graph.node_weight(from)?.address,
                    &self.graph.node_weight(to)?.address,
                    self.graph.edge_weight(edge)?,
                ))
            })
            .collect();
        edges.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        edges.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        edges
    }

    /// Nodes grouped into levels: every node's dependencies are in earlier levels, so each
    /// level can be created in parallel. Empty if the graph has a cycle.
    pub fn levels(&self) -> Vec<Vec<&ResourceAddress>> {
        let mut remaining: HashMap<NodeIndex, usize> = self
            .graph
            .node_indices()
            .map(|index| {
                let count = self
                    .graph
                    .neighbors_directed(index, petgraph::Direction::Outgoing)
                    .collect::<std::collections::HashSet<_>>()
                    .len();
                (index, count)
            })
            .collect();
        let mut current: Vec<NodeIndex> = remaining
            .iter()
            .filter(|(_, count)| **count == 0)
            .map(|(index, _)| *index)
            .collect();
        let mut levels = Vec::new();
        let mut placed = 0;
        while !current.is_empty() {
            let mut next = Vec::new();
            for index in &current {
                remaining.remove(index);
                let dependents: std::collections::HashSet<NodeIndex> = self
                    .graph
                    .neighbors_directed(*index, petgraph::Direction::Incoming)
                    .collect();
                for dependent in dependents {
                    if let Some(count) = remaining.get_mut(&dependent) {
                        *count = count.saturating_sub(1);
                        if *count == 0 {
                            next.push(dependent);
                        }
                    }
                }
            }
            placed += current.len();
            let mut level: Vec<&ResourceAddress> = current
                .iter()
                .filter_map(|index| self.graph.node_weight(*index))
                .map(|node| &node.address)
                .collect();
            level.sort();
            levels.push(level);
            current = next;
        }
        if placed != self.graph.node_count() {
            return Vec::new();
        }
        levels
    }

    /// The graph in Graphviz DOT.
    pub fn to_dot(&self) -> String {
        render::dot(self)
    }

    /// The graph as a Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        render::mermaid(self)
    }
}

/// Builds the graph of a manifest set: expansion, reference resolution, cycle detection.
pub fn build(set: &ManifestSet) -> (Graph, Vec<Diagnostic>) {
    let mut graph = Graph::default();
    let mut diagnostics = Vec::new();
    expand::expand(set, &mut graph);
    resolve::resolve(set, &mut graph, &mut diagnostics);
    resolve::find_cycles(set, &graph, &mut diagnostics);
    tenants::check_clashes(set, &mut diagnostics);
    tenants::check_engines(set, &mut diagnostics);
    dbplan_diagnostics::sort_diagnostics(&mut diagnostics);
    (graph, diagnostics)
}
