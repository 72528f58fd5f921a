//! `dbplan graph`: DOT and Mermaid output, and a refusal on invalid input.

use crate::{dbplan, stderr, stdout};

#[test]
fn dot_output_of_the_aurora_example() {
    let output = dbplan(&["graph", "examples/aws-aurora-serverless", "--format", "dot"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let dot = stdout(&output);
    assert!(dot.starts_with("digraph dbplan {"));
    insta::assert_snapshot!("graph-dot-aws-aurora-serverless", dot);
}

#[test]
fn graph_refuses_invalid_manifests() {
    let output = dbplan(&["graph", "tests/fixtures/invalid/cycle.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).is_empty());
    assert!(stderr(&output).contains("G002"), "{}", stderr(&output));
}
