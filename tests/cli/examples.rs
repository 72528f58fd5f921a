//! Every example validates without errors, and its graph renders.

use crate::{dbplan, example_dirs, stderr};

#[test]
fn every_example_validates() {
    let examples = example_dirs();
    assert!(examples.len() >= 5, "example folders missing: {examples:?}");
    for example in examples {
        let path = example.to_string_lossy().into_owned();
        let output = dbplan(&["validate", &path]);
        let text = stderr(&output);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{path} does not validate:\n{text}"
        );
        assert!(!text.contains("warning["), "{path} has warnings:\n{text}");
    }
}

#[test]
fn every_example_graph_is_snapshot_tested() {
    for example in example_dirs() {
        let path = example.to_string_lossy().into_owned();
        let output = dbplan(&["graph", &path, "--format", "mermaid"]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let name = example.file_name().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(format!("graph-{name}"), crate::stdout(&output));
    }
}
