//! Project Planton manifests load unchanged: the fixture set in `tests/fixtures/planton/`, written
//! from Planton's protos, validates without errors or warnings, and its references resolve.

use crate::{dbplan, stderr, stdout};

const FIXTURES: &str = "tests/fixtures/planton";

#[test]
fn planton_manifests_load_unchanged() {
    let output = dbplan(&["validate", FIXTURES]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(!text.contains("warning["), "{text}");
    assert!(
        text.contains("validated 12 resources in 12 documents from 5 files"),
        "every Planton document must load as a resource: {text}"
    );
}

#[test]
fn planton_references_become_graph_edges() {
    let output = dbplan(&["graph", FIXTURES, "--format", "dot"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let dot = stdout(&output);
    // valueFrom with every field, with the kind and field path omitted, and the RDS default path
    // into the VPC's nested subnet outputs.
    for edge in [
        "\"DigitalOceanDatabaseCluster/planton-pg\" -> \"DigitalOceanVpc/planton-do-vpc\"",
        "\"DigitalOceanDatabaseCluster/planton-mysql\" -> \"DigitalOceanVpc/planton-do-vpc\"",
        "\"AwsSecurityGroup/planton-app-sg\" -> \"AwsVpc/planton-aws-vpc\"",
        "\"AwsRdsCluster/planton-aurora-pg/subnet-group\" -> \"AwsVpc/planton-aws-vpc\"",
        "\"AwsRdsCluster/planton-aurora-pg/security-group\" -> \"AwsSecurityGroup/planton-app-sg\"",
    ] {
        assert!(dot.contains(edge), "missing edge {edge} in:\n{dot}");
    }
    insta::assert_snapshot!("graph-planton", dot);
}
