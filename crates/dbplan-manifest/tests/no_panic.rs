//! The loader never panics: arbitrary bytes, arbitrary YAML, and manifests built from real field
//! names with arbitrary values all come back as resources or diagnostics.
//!
//! The number of cases is proptest's `PROPTEST_CASES` (256 by default per property); a longer
//! run: `PROPTEST_CASES=200000 cargo test --release -p dbplan-manifest --test no_panic`.

// A panic here is the failure this test looks for.
#![allow(clippy::expect_used)]

use dbplan_core::Kind;
use dbplan_manifest::Loader;
use proptest::prelude::*;

fn load(text: String) {
    let mut loader = Loader::new();
    loader.add_source("input.yaml", text);
    let (set, diagnostics) = loader.finish();
    // Every diagnostic about an input file points into it.
    for diagnostic in &diagnostics {
        if let Some(span) = diagnostic.span {
            let file = set.sources.get(span.file).expect("span's file exists");
            assert!(
                span.start as usize <= file.text().len(),
                "span past the end: {diagnostic:?}"
            );
        }
    }
}

/// Field names the kinds really have (snake_case and camelCase), so that generated documents get
/// past the envelope and exercise the schema walk, the validator and the typed checks.
const FIELDS: &[&str] = &[
    "region",
    "ipRangeCidr",
    "description",
    "cluster_name",
    "engine",
    "engineVersion",
    "size_slug",
    "nodeCount",
    "vpc",
    "value",
    "valueFrom",
    "value_from",
    "ref",
    "kind",
    "name",
    "fieldPath",
    "storage_gib",
    "maintenance_window",
    "day",
    "hour",
    "cluster_id",
    "rules",
    "type",
    "mode",
    "size",
    "db",
    "vpcCidr",
    "availability_zones",
    "subnetsPerAvailabilityZone",
    "subnet_size",
    "vpc_id",
    "ingress",
    "protocol",
    "from_port",
    "ipv4Cidrs",
    "subnet_ids",
    "security_group_ids",
    "allowedCidrBlocks",
    "password",
    "secretEnv",
    "port",
    "preferredBackupWindow",
    "preferred_maintenance_window",
    "serverlessV2Scaling",
    "min_capacity",
    "maxCapacity",
    "parameters",
    "apply_method",
    "cluster",
    "instance_class",
    "host",
    "admin_user",
    "admin_password",
    "sslmode",
    "server",
    "database_name",
    "owner",
    "extensions",
    "connection_secret",
    "file",
    "format",
    "instances",
    "storage",
    "backup",
    "schedule",
    "retention_policy",
    "databases",
    "labels",
    "annotations",
    "id",
];

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        Just("true".to_owned()),
        Just("~".to_owned()),
        "[a-z0-9 ./:*-]{0,20}".prop_map(|text| format!("{text:?}")),
        "[a-zA-Z0-9_-]{1,12}",
        Just("sun:23:45-mon:00:15".to_owned()),
        Just("10.0.0.0/16".to_owned()),
        Just("0 0 3 * * *".to_owned()),
        Just("${placeholder}".to_owned()),
    ]
}

/// YAML values as flow-style text, nested up to a few levels.
fn yaml_value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(FIELDS).prop_map(str::to_owned),
                        "[a-z]{1,8}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|entries| {
                let body: Vec<String> = entries
                    .into_iter()
                    .map(|(key, value)| format!("{key}: {value}"))
                    .collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

fn manifest() -> impl Strategy<Value = String> {
    (
        prop::sample::select(Kind::ALL),
        "[a-z][a-z0-9-]{0,10}",
        prop::collection::vec((prop::sample::select(FIELDS), yaml_value()), 0..12),
    )
        .prop_map(|(kind, name, fields)| {
            let mut text = format!(
                "apiVersion: {}\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n",
                kind.api_group().api_version()
            );
            for (field, value) in fields {
                text.push_str(&format!("  {field}: {value}\n"));
            }
            text
        })
}

proptest! {
    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        load(String::from_utf8_lossy(&bytes).into_owned());
    }

    #[test]
    fn arbitrary_yaml(value in yaml_value()) {
        load(format!("apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata: {{name: x}}\nspec: {value}\n"));
        load(value);
    }

    #[test]
    fn manifests_with_real_fields(documents in prop::collection::vec(manifest(), 1..4)) {
        load(documents.join("---\n"));
    }
}

#[test]
fn deeply_nested_and_huge_inputs_do_not_crash() {
    load("[".repeat(100_000));
    load(format!("a: {}1{}", "[".repeat(5_000), "]".repeat(5_000)));
    load("a: &a [*a]\n".to_owned());
    load("x: &x {a: 1}\ny: {<<: *x, b: 2}\n".repeat(100));
    load("\u{feff}apiVersion: dbplan.io/v1\nkind: PostgresServer\n".to_owned());
}
