//! Every object dbplan renders is one the API server accepts: validated against CloudNativePG's
//! and the Barman Cloud plugin's CRDs (schema, unknown fields, names, CEL rules) with zero
//! violations, for examples/cnpg-home and for specs that vary every choice the renderer makes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dbplan_core::kinds::specs::{BackupMethod, CnpgClusterSpec, DeletionPolicy, Ensure};
use dbplan_crd::Crds;
use dbplan_manifest::Spec;
use dbplan_provider_kubernetes::render;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn example() -> (String, CnpgClusterSpec) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/cnpg-home");
    let (set, diagnostics) = dbplan_manifest::load_paths(&[root]);
    assert!(
        diagnostics
            .iter()
            .all(|diagnostic| diagnostic.severity != dbplan_diagnostics::Severity::Error),
        "{diagnostics:?}"
    );
    set.resources
        .iter()
        .find_map(|resource| match &resource.spec {
            Spec::CnpgCluster(spec) => Some((resource.address.name.clone(), spec.clone())),
            _ => None,
        })
        .expect("examples/cnpg-home declares a CnpgCluster")
}

/// Validates every object but the core Secret (no CRD) and fails with every violation.
fn assert_valid(objects: &[Json]) {
    let crds = Crds::embedded();
    let mut checked = 0;
    for object in objects {
        let api_version = object["apiVersion"].as_str().unwrap();
        let kind = object["kind"].as_str().unwrap();
        if (api_version, kind) == ("v1", "Secret") {
            continue;
        }
        let crd = crds
            .find(api_version, kind)
            .unwrap_or_else(|| panic!("no CRD for {api_version} {kind}"));
        let violations = crd.validate(object, None);
        assert!(
            violations.is_empty(),
            "{kind} {}: {}",
            object["metadata"]["name"],
            violations
                .iter()
                .map(|violation| format!("{violation} ({:?})", violation.kind))
                .collect::<Vec<_>>()
                .join("; ")
        );
        // An update to the same object passes the transition rules too.
        assert_eq!(crd.validate(object, Some(object)), Vec::new(), "{kind}");
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn the_example_s_objects_validate_against_the_crds() {
    let (name, spec) = example();
    let objects = render::render(&name, &spec, None).unwrap();
    assert_eq!(objects.len(), 5);
    assert_valid(&objects);
}

#[test]
fn varied_specs_validate_against_the_crds() {
    let (_, base) = example();
    let mut variants: Vec<CnpgClusterSpec> = Vec::new();
    for method in [
        BackupMethod::Plugin,
        BackupMethod::BarmanObjectStore,
        BackupMethod::VolumeSnapshot,
    ] {
        let mut spec = base.clone();
        spec.backup.as_mut().unwrap().method = method;
        variants.push(spec.clone());
        // Without credentials, endpoint, retention or schedule.
        let backup = spec.backup.as_mut().unwrap();
        backup.credentials_secret = None;
        backup.endpoint_url = None;
        backup.retention_policy = None;
        backup.schedule = None;
        backup.immediate = false;
        if method == BackupMethod::VolumeSnapshot {
            backup.destination_path = None;
        }
        variants.push(spec);
    }
    let mut minimal: CnpgClusterSpec = serde_json::from_value(json!({
        "instances": 1,
        "storage": {"size": "1Gi"}
    }))
    .unwrap();
    variants.push(minimal.clone());
    minimal.image_name = Some("ghcr.io/cloudnative-pg/postgresql:17.5".to_owned());
    minimal.enable_superuser_access = true;
    minimal.postgresql = Some(dbplan_core::kinds::specs::CnpgPostgresql {
        parameters: BTreeMap::from([("work_mem".to_owned(), "64MB".to_owned())]),
    });
    variants.push(minimal);
    let mut databases = base.clone();
    databases.databases[0].ensure = Ensure::Absent;
    databases.databases[0].deletion_policy = Some(DeletionPolicy::Delete);
    databases.databases[0].extensions = vec!["postgis".to_owned(), "pg_trgm".to_owned()];
    let mut second = databases.databases[0].clone();
    second.name = "photo_archive".to_owned();
    second.extensions.clear();
    databases.databases.push(second);
    databases.connection_secret = None;
    variants.push(databases);

    for (index, spec) in variants.iter().enumerate() {
        let objects = render::render(&format!("variant-{index}"), spec, None).unwrap();
        assert_valid(&objects);
    }
}

/// The parts of a spec as a plan holds them: each part's attributes as JSON.
fn part_values(
    name: &str,
    spec: &CnpgClusterSpec,
) -> Vec<(dbplan_core::ResourceAddress, BTreeMap<String, Json>)> {
    let resource: dbplan_core::ResourceAddress = format!("CnpgCluster/{name}").parse().unwrap();
    let Json::Object(mut fields) = serde_json::to_value(spec).unwrap() else {
        panic!("a spec is an object");
    };
    let databases = fields.remove("databases");
    let secret = fields.remove("connection_secret");
    let mut parts = vec![(resource.part("cluster"), fields.into_iter().collect())];
    for database in databases
        .and_then(|list| list.as_array().cloned())
        .unwrap_or_default()
    {
        let db = database["name"].as_str().unwrap().to_owned();
        let Json::Object(entry) = database else {
            panic!("an entry is an object")
        };
        parts.push((
            resource.part(format!("database-{db}")),
            entry.into_iter().collect(),
        ));
    }
    let mut secret_part = BTreeMap::new();
    if let Some(secret) = secret {
        secret_part.insert("connection_secret".to_owned(), secret);
    }
    parts.push((resource.part("connection-secret"), secret_part));
    parts
}

#[test]
fn the_plan_time_admission_passes_the_example_and_names_what_the_api_server_would_refuse() {
    use dbplan_provider::admission::{Admission, PartValues, RefusalKind};
    let admission = dbplan_provider_kubernetes::CnpgAdmission;
    let (name, spec) = example();
    let resource: dbplan_core::ResourceAddress = format!("CnpgCluster/{name}").parse().unwrap();
    let parts = part_values(&name, &spec);
    let values: Vec<PartValues<'_>> = parts
        .iter()
        .map(|(address, after)| PartValues {
            address,
            after: Some(after),
            before: Some(after),
            changing: true,
        })
        .collect();
    assert!(admission.handles(dbplan_core::Kind::CnpgCluster));
    assert!(!admission.handles(dbplan_core::Kind::PostgresServer));
    assert_eq!(admission.admit(&resource, &values), []);

    // A database name PostgreSQL and dbplan accept, whose `Database` object name the API
    // server refuses (a DNS subdomain cannot end with `-`).
    let mut bad = spec.clone();
    bad.databases[0].name = "nextcloud_".to_owned();
    let parts = part_values(&name, &bad);
    let values: Vec<PartValues<'_>> = parts
        .iter()
        .map(|(address, after)| PartValues {
            address,
            after: Some(after),
            before: None,
            changing: true,
        })
        .collect();
    let refusals = admission.admit(&resource, &values);
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    let refusal = &refusals[0];
    assert_eq!(refusal.kind, RefusalKind::Invalid);
    assert_eq!(
        refusal.part.to_string(),
        "CnpgCluster/home-pg/database-nextcloud_"
    );
    assert_eq!(refusal.object, "Database databases/home-pg-nextcloud-");
    assert_eq!(refusal.field, "metadata.name");
    assert!(refusal.message.contains("RFC 1123 subdomain"), "{refusal}");

    // A part that does not change is not checked, only read for the namespace.
    let values: Vec<PartValues<'_>> = parts
        .iter()
        .map(|(address, after)| PartValues {
            address,
            after: Some(after),
            before: Some(after),
            changing: address.part.as_deref() == Some("cluster"),
        })
        .collect();
    assert_eq!(admission.admit(&resource, &values), []);

    // Rendered without a state (`dbplan render`), the same object is refused the same way.
    let objects = render::render(&name, &bad, None).unwrap();
    let refusals = dbplan_provider_kubernetes::admission::check_rendered(&resource, &objects);
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0].field, "metadata.name");
}
