//! One reference language: every form of a reference, in a value-or-reference field and in a
//! field that points at a whole resource, resolves to the same graph edge.

// A test fails by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use dbplan_diagnostics::Severity;
use dbplan_graph::EdgeReason;
use dbplan_manifest::Loader;

const VPC: &str = "apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanVpc
metadata: {name: net}
spec: {region: nyc3}
";

const CLUSTER: &str = "apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanDatabaseCluster
metadata: {name: db}
spec:
  clusterName: db
  engine: postgres
  engineVersion: \"16\"
  region: nyc3
  sizeSlug: db-s-1vcpu-1gb
  nodeCount: 1
  vpc: VPC
";

const POOL: &str = "apiVersion: dbplan.io/v1
kind: DigitalOceanDatabaseConnectionPool
metadata: {name: pool}
spec:
  clusterId: CLUSTER
  name: api
  mode: transaction
  size: 10
  db: defaultdb
";

const SERVER: &str = "apiVersion: dbplan.io/v1
kind: PostgresServer
metadata: {name: pg}
spec:
  host: 127.0.0.1
  adminUser: postgres
  adminPassword: {secretEnv: PG_ADMIN_PASSWORD}
";

const TENANT: &str = "apiVersion: dbplan.io/v1
kind: TenantDatabase
metadata: {name: app}
spec:
  server: SERVER
";

/// The manifests with the three reference fields written as given.
fn manifests(vpc: &str, cluster: &str, server: &str) -> String {
    [
        VPC.to_owned(),
        CLUSTER.replace("VPC", vpc),
        POOL.replace("CLUSTER", cluster),
        SERVER.to_owned(),
        TENANT.replace("SERVER", server),
    ]
    .join("---\n")
}

/// The reference edges of the graph of a manifest set that loads without errors, as
/// `(from, to, field)`, each with the text its span covers.
fn reference_edges(text: &str) -> Vec<(String, String, String, String)> {
    let mut loader = Loader::new();
    loader.add_source("forms.yaml", text.to_owned());
    let (set, mut diagnostics) = loader.finish();
    let (graph, graph_diagnostics) = dbplan_graph::build(&set);
    diagnostics.extend(graph_diagnostics);
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .map(|diagnostic| format!("{}: {}", diagnostic.code, diagnostic.message))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{text}");
    let file = set.sources.files().next().unwrap().1;
    let mut edges: Vec<(String, String, String, String)> = graph
        .edges()
        .into_iter()
        .filter_map(|(from, to, reason)| match reason {
            EdgeReason::Reference { pointer, span } => Some((
                from.to_string(),
                to.to_string(),
                pointer.clone(),
                file.text()[span.start as usize..span.end as usize].to_owned(),
            )),
            EdgeReason::Component => None,
        })
        .collect();
    edges.sort();
    edges
}

/// The edges without the spans, which differ between forms.
fn without_spans(edges: &[(String, String, String, String)]) -> Vec<(String, String, String)> {
    edges
        .iter()
        .map(|(from, to, field, _)| (from.clone(), to.clone(), field.clone()))
        .collect()
}

/// Every form of a value-or-reference, for a field whose default kind is `kind` and default
/// output `path`.
fn value_forms(kind: &str, name: &str, path: &str) -> Vec<String> {
    [
        "{valueFrom: {kind: $K, name: $N, fieldPath: $P}}",
        "{valueFrom: {name: $N}}",
        "{valueFrom: {name: $N, env: prod}}",
        "{value_from: {kind: $K, name: $N, field_path: $P}}",
        "{ref: {kind: $K, name: $N, field_path: $P}}",
        "{ref: {name: $N}}",
        "{kind: $K, name: $N, fieldPath: $P}",
        "{kind: $K, name: $N}",
        "{name: $N, field_path: $P}",
        "{name: $N}",
        "{name: $N, env: prod}",
    ]
    .iter()
    .map(|form| {
        form.replace("$K", kind)
            .replace("$N", name)
            .replace("$P", path)
    })
    .collect()
}

#[test]
fn every_value_or_reference_form_is_the_same_edge() {
    let server = "pg";
    let expected = reference_edges(&manifests(
        "{valueFrom: {kind: DigitalOceanVpc, name: net, fieldPath: status.outputs.vpc_id}}",
        "{valueFrom: {kind: DigitalOceanDatabaseCluster, name: db, fieldPath: status.outputs.cluster_id}}",
        server,
    ));
    let expected = without_spans(&expected);
    for field in [
        (
            "DigitalOceanDatabaseCluster/db",
            "DigitalOceanVpc/net",
            "/spec/vpc",
        ),
        (
            "DigitalOceanDatabaseConnectionPool/pool",
            "DigitalOceanDatabaseCluster/db",
            "/spec/cluster_id",
        ),
    ] {
        let edge = (field.0.to_owned(), field.1.to_owned(), field.2.to_owned());
        assert!(expected.contains(&edge), "{edge:?} in {expected:#?}");
    }
    let vpc_forms = value_forms("DigitalOceanVpc", "net", "status.outputs.vpc_id");
    let cluster_forms = value_forms(
        "DigitalOceanDatabaseCluster",
        "db",
        "status.outputs.cluster_id",
    );
    assert_eq!(vpc_forms.len(), 11);
    for (vpc, cluster) in vpc_forms.iter().zip(&cluster_forms) {
        let edges = reference_edges(&manifests(vpc, cluster, server));
        assert_eq!(
            without_spans(&edges),
            expected,
            "vpc: {vpc}, clusterId: {cluster}"
        );
        for (_, to, field, text) in &edges {
            if field == "/spec/server" {
                continue;
            }
            // The edge points at where the reference starts: the key of its wrapper, or the
            // first key of the resource form.
            assert!(
                ["valueFrom", "value_from", "ref", "kind", "name"].contains(&text.as_str()),
                "{to}: span covers {text:?} ({vpc}, {cluster})"
            );
        }
    }
    // A literal is no edge.
    let edges = reference_edges(&manifests(
        "8d3c6f1e-0000-4000-8000-000000000000",
        "{value: 9cc10173-e9ea-4176-9dbc-a4cee4c4ff30}",
        server,
    ));
    assert!(
        edges
            .iter()
            .all(|(_, _, field, _)| field != "/spec/vpc" && field != "/spec/cluster_id"),
        "{edges:#?}"
    );
}

#[test]
fn every_resource_reference_form_is_the_same_edge() {
    let vpc = "{valueFrom: {name: net}}";
    let cluster = "{valueFrom: {name: db}}";
    let tenant_edges = |server: &str| -> Vec<(String, String, String)> {
        let edges = reference_edges(&manifests(vpc, cluster, server));
        for (_, to, field, text) in &edges {
            // The edge points at the field: its key, or the bare name.
            let name = to.split('/').nth(1).unwrap();
            assert!(
                field != "/spec/server" || text == "server" || text == name,
                "{to}: span covers {text:?} (server: {server})"
            );
        }
        without_spans(&edges)
            .into_iter()
            .filter(|(_, _, field)| field == "/spec/server")
            .collect()
    };
    // The default kind (PostgresServer).
    let expected = tenant_edges("pg");
    assert!(
        !expected.is_empty()
            && expected
                .iter()
                .all(|(from, to, _)| from.starts_with("TenantDatabase/app/")
                    && to == "PostgresServer/pg"),
        "{expected:#?}"
    );
    for form in [
        "{name: pg}",
        "{kind: PostgresServer, name: pg}",
        "{valueFrom: {kind: PostgresServer, name: pg}}",
        "{valueFrom: {name: pg}}",
        "{value_from: {name: pg, env: prod}}",
        "{ref: {kind: PostgresServer, name: pg}}",
        "{ref: {name: pg}}",
        "{kind: PostgresServer, name: pg, env: prod}",
    ] {
        assert_eq!(tenant_edges(form), expected, "server: {form}");
    }
    // Another kind, named in every form that can name one.
    let expected = tenant_edges("{kind: DigitalOceanDatabaseCluster, name: db}");
    assert!(
        !expected.is_empty()
            && expected
                .iter()
                .all(|(_, to, _)| to == "DigitalOceanDatabaseCluster/db"),
        "{expected:#?}"
    );
    for form in [
        "{valueFrom: {kind: DigitalOceanDatabaseCluster, name: db}}",
        "{value_from: {kind: DigitalOceanDatabaseCluster, name: db}}",
        "{ref: {kind: DigitalOceanDatabaseCluster, name: db}}",
    ] {
        assert_eq!(tenant_edges(form), expected, "server: {form}");
    }
}
