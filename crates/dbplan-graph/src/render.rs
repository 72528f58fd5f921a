//! DOT and Mermaid renderings of the graph. Edges point from a dependent to its dependency, as in
//! `terraform graph`.

use crate::Graph;
use std::collections::HashMap;
use std::fmt::Write;

fn quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

pub(crate) fn dot(graph: &Graph) -> String {
    let mut out = String::from("digraph dbplan {\n  rankdir = \"RL\";\n  node [shape = box];\n");
    let nodes = graph.nodes();
    // Parts of one component are drawn inside a box labelled with the component.
    let mut components: Vec<(String, Vec<String>)> = Vec::new();
    for node in &nodes {
        let address = node.address.to_string();
        if node.address.part.is_some() {
            let root = node.address.root().to_string();
            match components.iter_mut().find(|(name, _)| *name == root) {
                Some((_, members)) => members.push(address),
                None => components.push((root, vec![address])),
            }
        } else {
            let _ = writeln!(out, "  \"{}\";", quote(&address));
        }
    }
    for (index, (root, members)) in components.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph \"cluster_{index}\" {{\n    label = \"{}\";",
            quote(root)
        );
        for member in members {
            let _ = writeln!(out, "    \"{}\";", quote(member));
        }
        out.push_str("  }\n");
    }
    for (from, to, _) in graph.edges() {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\";",
            quote(&from.to_string()),
            quote(&to.to_string())
        );
    }
    out.push_str("}\n");
    out
}

pub(crate) fn mermaid(graph: &Graph) -> String {
    let mut out = String::from("flowchart RL\n");
    let nodes = graph.nodes();
    let ids: HashMap<String, String> = nodes
        .iter()
        .enumerate()
        .map(|(index, node)| (node.address.to_string(), format!("n{index}")))
        .collect();
    let label = |text: &str| text.replace('"', "#quot;");
    let mut components: Vec<(String, Vec<String>)> = Vec::new();
    for node in &nodes {
        let address = node.address.to_string();
        if node.address.part.is_some() {
            let root = node.address.root().to_string();
            match components.iter_mut().find(|(name, _)| *name == root) {
                Some((_, members)) => members.push(address),
                None => components.push((root, vec![address])),
            }
        } else if let Some(id) = ids.get(&address) {
            let _ = writeln!(out, "  {id}[\"{}\"]", label(&address));
        }
    }
    for (index, (root, members)) in components.iter().enumerate() {
        let _ = writeln!(out, "  subgraph c{index}[\"{}\"]", label(root));
        for member in members {
            if let Some(id) = ids.get(member) {
                let _ = writeln!(out, "    {id}[\"{}\"]", label(member));
            }
        }
        out.push_str("  end\n");
    }
    for (from, to, _) in graph.edges() {
        if let (Some(from), Some(to)) = (ids.get(&from.to_string()), ids.get(&to.to_string())) {
            let _ = writeln!(out, "  {from} --> {to}");
        }
    }
    out
}
