//! `dbplan schema`: the exported schemas match the committed files in `schemas/` (so a change to
//! the types that changes the schema is seen in review), and they accept every example.

use crate::{dbplan, root, stdout};
use dbplan_core::Kind;

fn exported(kind: Option<&str>) -> String {
    let mut args = vec!["schema"];
    args.extend(kind);
    let output = dbplan(&args);
    assert_eq!(output.status.code(), Some(0));
    stdout(&output)
}

#[test]
fn committed_schemas_match_the_types() {
    let update = std::env::var_os("DBPLAN_UPDATE_SCHEMAS").is_some();
    let mut expected: Vec<(String, String)> = Kind::ALL
        .iter()
        .map(|kind| (format!("{kind}.json"), exported(Some(kind.as_str()))))
        .collect();
    expected.push(("dbplan.json".to_owned(), exported(None)));
    let dir = root().join("schemas");
    for (file, text) in expected {
        let path = dir.join(&file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "schemas/{file} is stale: the Rust types changed; run `DBPLAN_UPDATE_SCHEMAS=1 cargo test --test cli schema` and review the diff"
        );
    }
}

#[test]
fn unknown_kind_is_an_error() {
    let output = dbplan(&["schema", "AwsRdsClustr"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn exported_schema_accepts_camel_case_and_rejects_unknown_fields() {
    let schema: serde_json::Value =
        serde_json::from_str(&exported(Some("DigitalOceanVpc"))).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let camel = serde_json::json!({
        "apiVersion": "digital-ocean.project-planton.org/v1",
        "kind": "DigitalOceanVpc",
        "metadata": {"name": "v"},
        "spec": {"region": "nyc3", "ipRangeCidr": "10.10.0.0/16", "isDefaultForRegion": false}
    });
    assert!(validator.is_valid(&camel));
    let mut unknown = camel.clone();
    unknown["spec"]["ipRange"] = serde_json::json!("10.0.0.0/16");
    assert!(!validator.is_valid(&unknown));
}
