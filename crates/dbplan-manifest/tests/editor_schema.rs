//! The editor schema (`dbplan schema`) accepts what the loader accepts: every shipped example and
//! Planton fixture is valid against it, and on documents written every way the manifest
//! language allows (and a few ways it does not), the schema and the loader give the same verdict,
//! among them every reference form of a value-or-reference field and of a resource field.

// A test fails by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use dbplan_core::Kind;
use dbplan_diagnostics::{Severity, SourceMap};
use dbplan_manifest::schema::{export_all, export_kind};
use dbplan_manifest::{Loader, parse_yaml_documents};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `*.yaml` and `*.yml` file under a directory of the repository, sorted, skipping the
/// folders in `skip`.
fn yaml_files(dir: &str, skip: &[&str]) -> Vec<PathBuf> {
    let root = repository().join(dir);
    let skip: Vec<PathBuf> = skip.iter().map(|skip| repository().join(skip)).collect();
    let mut found = Vec::new();
    let mut pending = vec![root];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if skip.contains(&path) {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The documents of a YAML text as JSON, read the way the loader reads them.
fn documents(name: &str, text: &str) -> Vec<Json> {
    let mut sources = SourceMap::default();
    let file = sources.add(name, text.to_owned());
    parse_yaml_documents(&sources, file)
        .unwrap_or_else(|errors| panic!("{name} is not YAML: {errors:?}"))
        .iter()
        .map(dbplan_manifest::node::Node::to_json)
        .filter(|document| !document.is_null())
        .collect()
}

fn errors(validator: &jsonschema::Validator, document: &Json) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

fn editor_schema() -> jsonschema::Validator {
    jsonschema::validator_for(&export_all()).expect("the editor schema is a valid JSON Schema")
}

#[test]
fn every_example_and_planton_fixture_is_valid_against_the_editor_schema() {
    let all = editor_schema();
    let per_kind: Vec<(Kind, jsonschema::Validator)> = Kind::ALL
        .iter()
        .map(|kind| {
            (
                *kind,
                jsonschema::validator_for(&export_kind(*kind)).unwrap(),
            )
        })
        .collect();
    // `examples/ci` holds GitHub Actions workflows, not manifests.
    let mut files = yaml_files("examples", &["examples/bad", "examples/ci"]);
    files.extend(yaml_files("tests/fixtures/planton", &[]));
    assert!(files.len() >= 12, "examples found: {files:?}");
    let mut checked = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (index, document) in documents(&path.display().to_string(), &text)
            .iter()
            .enumerate()
        {
            let found = errors(&all, document);
            assert!(
                found.is_empty(),
                "{} document {index}: {found:#?}",
                path.display()
            );
            let kind: Kind = document["kind"].as_str().unwrap().parse().unwrap();
            let (_, validator) = per_kind.iter().find(|(each, _)| *each == kind).unwrap();
            let found = errors(validator, document);
            assert!(
                found.is_empty(),
                "{} document {index} against `dbplan schema {kind}`: {found:#?}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} documents checked");
}

/// The errors the loader reports on a one-document manifest.
fn loader_errors(text: &str) -> Vec<String> {
    let mut loader = Loader::new();
    loader.add_source("case.yaml", text.to_owned());
    let (_, diagnostics) = loader.finish();
    diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .map(|diagnostic| format!("{}: {}", diagnostic.code, diagnostic.message))
        .collect()
}

const POOL: &str = "apiVersion: dbplan.io/v1
kind: DigitalOceanDatabaseConnectionPool
metadata:
  name: api-pool
  labels: {env: prod}
  annotations: {dbplan.io/prevent-destroy: \"true\"}
spec:
  CLUSTER
  name: api
  mode: transaction
  size: SIZE
  db: defaultdb
";

fn pool(cluster: &str, size: &str) -> String {
    POOL.replace("CLUSTER", cluster).replace("SIZE", size)
}

const SERVER: &str = "apiVersion: dbplan.io/v1
kind: PostgresServer
metadata: {name: local}
spec:
  host: 127.0.0.1
  ADMIN
  PASSWORD
";

fn server(admin: &str, password: &str) -> String {
    SERVER.replace("ADMIN", admin).replace("PASSWORD", password)
}

const TENANT: &str = "apiVersion: dbplan.io/v1
kind: TenantDatabase
metadata: {name: app}
spec:
  server: SERVER
";

fn tenant(server: &str) -> String {
    TENANT.replace("SERVER", server)
}

#[test]
fn the_editor_schema_and_the_loader_agree() {
    let all = editor_schema();
    // (what the case is, the manifest, whether the loader accepts it)
    let cases: Vec<(&str, String, bool)> = vec![
        // Field names in both spellings; value-or-reference in every form.
        (
            "lowerCamelCase, valueFrom",
            pool("clusterId: {valueFrom: {name: prod}}", "20"),
            true,
        ),
        (
            "snake_case, value_from with field_path",
            pool(
                "cluster_id: {value_from: {kind: DigitalOceanDatabaseCluster, name: prod, field_path: status.outputs.cluster_id}}",
                "20",
            ),
            true,
        ),
        (
            "valueFrom with fieldPath and env",
            pool(
                "clusterId: {valueFrom: {name: prod, fieldPath: status.outputs.cluster_id, env: prod}}",
                "20",
            ),
            true,
        ),
        (
            "{value: x}",
            pool(
                "clusterId: {value: 9cc10173-e9ea-4176-9dbc-a4cee4c4ff30}",
                "20",
            ),
            true,
        ),
        (
            "bare scalar",
            pool("clusterId: 9cc10173-e9ea-4176-9dbc-a4cee4c4ff30", "20"),
            true,
        ),
        (
            "{ref: …}",
            pool("clusterId: {ref: {name: prod}}", "20"),
            true,
        ),
        (
            "the resource form {kind, name, fieldPath}",
            pool(
                "clusterId: {kind: DigitalOceanDatabaseCluster, name: prod, fieldPath: status.outputs.cluster_id}",
                "20",
            ),
            true,
        ),
        (
            "the resource form {name} (snake_case, with env)",
            pool(
                "cluster_id: {name: prod, field_path: status.outputs.cluster_id, env: prod}",
                "20",
            ),
            true,
        ),
        // A field that points at a whole resource, in every form.
        ("a bare resource name", tenant("pg"), true),
        (
            "{kind, name}",
            tenant("{kind: PostgresServer, name: pg}"),
            true,
        ),
        ("{name}", tenant("{name: pg, env: prod}"), true),
        (
            "a resource as {valueFrom: {kind, name}}",
            tenant("{valueFrom: {kind: AwsRdsCluster, name: orders}}"),
            true,
        ),
        (
            "a resource as {value_from: {name}}",
            tenant("{value_from: {name: pg}}"),
            true,
        ),
        (
            "a resource as {ref: {kind, name}}",
            tenant("{ref: {kind: CnpgCluster, name: home}}"),
            true,
        ),
        (
            "a number written as a string",
            pool("clusterId: {valueFrom: {name: prod}}", "\" 20\""),
            true,
        ),
        (
            "secretEnv",
            server(
                "adminUser: postgres",
                "adminPassword: {secretEnv: PG_ADMIN_PASSWORD}",
            ),
            true,
        ),
        (
            "secret_env",
            server(
                "admin_user: postgres",
                "admin_password: {secret_env: PG_ADMIN_PASSWORD}",
            ),
            true,
        ),
        (
            "Planton's other DigitalOcean apiVersion",
            pool("clusterId: {valueFrom: {name: prod}}", "20")
                .replace("dbplan.io/v1", "digitalocean.project-planton.org/v1"),
            true,
        ),
        (
            "another spelling of the kind",
            pool("clusterId: {valueFrom: {name: prod}}", "20").replace(
                "kind: DigitalOceanDatabaseConnectionPool",
                "kind: digital-ocean-database-connection-pool",
            ),
            true,
        ),
        (
            "a status block",
            pool("clusterId: {valueFrom: {name: prod}}", "20") + "status: {outputs: {name: api}}\n",
            true,
        ),
        // Mistakes.
        (
            "unknown field",
            pool("clusterId: {valueFrom: {name: prod}}", "20") + "  sizeSlug: db-s-1\n",
            false,
        ),
        ("missing required field", pool("", "20"), false),
        (
            "missing required field (a wrong spelling)",
            pool("ClusterId: {valueFrom: {name: prod}}", "20"),
            false,
        ),
        (
            "missing required field (snake_case document)",
            server("", "admin_password: {secret_env: PG_ADMIN_PASSWORD}"),
            false,
        ),
        (
            "missing required field (camelCase document)",
            server("", "adminPassword: {secretEnv: PG_ADMIN_PASSWORD}"),
            false,
        ),
        (
            "both spellings of one field",
            pool(
                "clusterId: {valueFrom: {name: prod}}\n  cluster_id: {valueFrom: {name: prod}}",
                "20",
            ),
            false,
        ),
        (
            "wrong type",
            pool("clusterId: {valueFrom: {name: prod}}", "lots"),
            false,
        ),
        (
            "a fraction where an integer is wanted",
            pool("clusterId: {valueFrom: {name: prod}}", "\"1.5\""),
            false,
        ),
        (
            "below the minimum",
            pool("clusterId: {valueFrom: {name: prod}}", "0"),
            false,
        ),
        (
            "a list for a reference",
            pool("clusterId: [prod]", "20"),
            false,
        ),
        (
            "a reference without a name",
            pool(
                "clusterId: {valueFrom: {kind: DigitalOceanDatabaseCluster}}",
                "20",
            ),
            false,
        ),
        (
            "unknown key in a reference",
            pool("clusterId: {valueFrom: {name: prod, field: x}}", "20"),
            false,
        ),
        (
            "a capitalised key in a reference",
            pool(
                "clusterId: {valueFrom: {name: prod, FieldPath: status.outputs.cluster_id}}",
                "20",
            ),
            false,
        ),
        (
            "value and valueFrom at once",
            pool("clusterId: {value: x, valueFrom: {name: prod}}", "20"),
            false,
        ),
        (
            "the resource form without a name",
            pool("clusterId: {kind: DigitalOceanDatabaseCluster}", "20"),
            false,
        ),
        (
            "the resource form with an unknown key",
            pool(
                "clusterId: {name: prod, path: status.outputs.cluster_id}",
                "20",
            ),
            false,
        ),
        ("a literal for a resource", tenant("{value: pg}"), false),
        ("a list for a resource", tenant("[pg]"), false),
        (
            "a resource reference without a name",
            tenant("{valueFrom: {kind: PostgresServer}}"),
            false,
        ),
        (
            "a field path in a resource reference",
            tenant("{valueFrom: {name: pg, fieldPath: status.outputs.host}}"),
            false,
        ),
        (
            "a resource reference with a scalar inside",
            tenant("{ref: pg}"),
            false,
        ),
        (
            "a resource reference wrapped and not",
            tenant("{ref: {name: pg}, kind: PostgresServer}"),
            false,
        ),
        (
            "a literal where only secretEnv is allowed",
            server(
                "admin_user: postgres",
                "admin_password: correct-horse-battery",
            ),
            false,
        ),
        (
            "secretEnv with a list",
            server("adminUser: postgres", "adminPassword: {secretEnv: [PG]}"),
            false,
        ),
        (
            "secret_env twice",
            server(
                "adminUser: postgres",
                "adminPassword: {secretEnv: A, secret_env: B}",
            ),
            false,
        ),
        (
            "wrong apiVersion",
            pool("clusterId: {valueFrom: {name: prod}}", "20")
                .replace("dbplan.io/v1", "dbplan.io/v2"),
            false,
        ),
        (
            "unknown kind",
            pool("clusterId: {valueFrom: {name: prod}}", "20")
                .replace("ConnectionPool", "ConnectionPol"),
            false,
        ),
        (
            "metadata without a name",
            pool("clusterId: {valueFrom: {name: prod}}", "20").replace("  name: api-pool\n", ""),
            false,
        ),
        (
            "unknown metadata field",
            pool("clusterId: {valueFrom: {name: prod}}", "20")
                .replace("  name: api-pool\n", "  name: api-pool\n  owner: me\n"),
            false,
        ),
        (
            "a label that is not a string",
            pool("clusterId: {valueFrom: {name: prod}}", "20")
                .replace("{env: prod}", "{env: [prod]}"),
            false,
        ),
    ];
    let mut disagreements = Vec::new();
    for (case, text, accepted) in &cases {
        let refused = loader_errors(text);
        assert_eq!(
            refused.is_empty(),
            *accepted,
            "{case}: the loader's errors: {refused:?}\n{text}"
        );
        let document = documents(case, text).remove(0);
        let found = errors(&all, &document);
        if found.is_empty() != *accepted {
            disagreements.push(format!("{case}: schema errors {found:?}\n{text}"));
        }
    }
    assert!(
        disagreements.is_empty(),
        "the editor schema and the loader disagree:\n{}",
        disagreements.join("\n")
    );
}
