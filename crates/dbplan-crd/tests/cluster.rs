//! A CNPG Cluster as the documentation shows it passes; each single mistake gives the one
//! violation the API server reports, at its field path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{crd, of_kind, remove, set, valid};
use dbplan_crd::{Violation, ViolationKind};
use serde_json::{Value, json};

/// The API server's notice when schema errors keep it from running the CEL rules.
const NOT_CHECKED: &str = "Invalid value: \"null\": some validation rules were not checked because \
    the object was invalid; correct the existing errors to complete validation";

struct Case {
    name: &'static str,
    edit: fn(&mut Value),
    path: &'static str,
    message: &'static str,
    /// The schema error stops the CEL rules (a wrong type, a missing field, ...).
    blocks_rules: bool,
}

/// Validates against the Cluster CRD, whatever the object's kind says.
fn validate(object: &Value, old: Option<&Value>) -> Vec<Violation> {
    crd("Cluster").validate(object, old)
}

const CASES: &[Case] = &[
    Case {
        name: "a typo in a field name",
        edit: |c| {
            let class = remove(c, "/spec/storage/storageClass");
            set(c, "/spec/storage/storageClas", class);
        },
        path: "spec.storage.storageClas",
        message: "unknown field \"spec.storage.storageClas\"",
        blocks_rules: false,
    },
    Case {
        name: "no instances",
        edit: |c| set(c, "/spec/instances", json!(0)),
        path: "spec.instances",
        message: "Invalid value: 0: spec.instances in body should be greater than or equal to 1",
        blocks_rules: false,
    },
    Case {
        name: "instances as a string",
        edit: |c| set(c, "/spec/instances", json!("3")),
        path: "spec.instances",
        message: "Invalid value: \"string\": spec.instances in body must be of type integer: \"string\"",
        blocks_rules: true,
    },
    Case {
        name: "an unquoted integer parameter",
        edit: |c| set(c, "/spec/postgresql/parameters/max_connections", json!(200)),
        path: "spec.postgresql.parameters.max_connections",
        message: "Invalid value: \"integer\": spec.postgresql.parameters.max_connections in body \
                  must be of type string: \"integer\"",
        blocks_rules: true,
    },
    Case {
        name: "a retention policy in words",
        edit: |c| set(c, "/spec/backup/retentionPolicy", json!("7 days")),
        path: "spec.backup.retentionPolicy",
        message: "Invalid value: \"7 days\": spec.backup.retentionPolicy in body should match \
                  '^[1-9][0-9]*[dwm]$'",
        blocks_rules: false,
    },
    Case {
        name: "a missing required field",
        edit: |c| {
            remove(c, "/spec/bootstrap/initdb/secret/name");
        },
        path: "spec.bootstrap.initdb.secret.name",
        message: "Required value",
        blocks_rules: true,
    },
    Case {
        name: "an unsupported enum value",
        edit: |c| set(c, "/spec/primaryUpdateStrategy", json!("automatic")),
        path: "spec.primaryUpdateStrategy",
        message: "Unsupported value: \"automatic\": supported values: \"unsupervised\", \"supervised\"",
        blocks_rules: true,
    },
    Case {
        name: "an int32 out of range",
        edit: |c| set(c, "/spec/failoverDelay", json!(4_294_967_296_i64)),
        path: "spec.failoverDelay",
        message: "Invalid value: 4294967296: spec.failoverDelay in body should be less than or \
                  equal to 2147483647",
        blocks_rules: false,
    },
    Case {
        name: "an image extension listed twice (a map list keyed by name)",
        edit: |c| {
            let extension = json!({"name": "pgvector", "image": {"reference": "ghcr.io/cloudnative-pg/pgvector:0.8.1"}});
            set(
                c,
                "/spec/postgresql/extensions",
                json!([extension, extension]),
            );
        },
        path: "spec.postgresql.extensions[1]",
        message: "Duplicate value: {\"name\":\"pgvector\"}",
        blocks_rules: false,
    },
    Case {
        name: "a role without a name",
        edit: |c| {
            remove(c, "/spec/managed/roles/0/name");
        },
        path: "spec.managed.roles[0].name",
        message: "Required value",
        blocks_rules: true,
    },
    Case {
        name: "the wrong kind",
        edit: |c| set(c, "/kind", json!("Clusters")),
        path: "kind",
        message: "Unsupported value: \"Clusters\": supported values: \"Cluster\"",
        blocks_rules: true,
    },
    Case {
        name: "a name with capitals",
        edit: |c| set(c, "/metadata/name", json!("Cluster-Example")),
        path: "metadata.name",
        message: "Invalid value: \"Cluster-Example\": a lowercase RFC 1123 subdomain must consist \
                  of lower case alphanumeric characters, '-' or '.', and must start and end with \
                  an alphanumeric character (e.g. 'example.com', regex used for validation is \
                  '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        blocks_rules: false,
    },
    Case {
        name: "a name of 254 characters",
        edit: |c| set(c, "/metadata/name", json!("a".repeat(254))),
        path: "metadata.name",
        message: "must be no more than 253 characters",
        blocks_rules: false,
    },
    Case {
        name: "no name",
        edit: |c| {
            remove(c, "/metadata/name");
        },
        path: "metadata.name",
        message: "Required value: name or generateName is required",
        blocks_rules: true,
    },
    Case {
        name: "a namespace that is not a DNS label",
        edit: |c| set(c, "/metadata/namespace", json!("team.one")),
        path: "metadata.namespace",
        message: "Invalid value: \"team.one\": a lowercase RFC 1123 label must consist of lower \
                  case alphanumeric characters or '-'",
        blocks_rules: false,
    },
    Case {
        name: "a typo in metadata",
        edit: |c| set(c, "/metadata/label", json!({"app": "web"})),
        path: "metadata.label",
        message: "unknown field \"metadata.label\"",
        blocks_rules: false,
    },
    Case {
        name: "labels in a nested metadata without properties (the API server prunes them)",
        edit: |c| {
            set(
                c,
                "/spec/ephemeralVolumeSource",
                json!({"volumeClaimTemplate": {"metadata": {"labels": {"app": "pg"}}, "spec": {}}}),
            );
        },
        path: "spec.ephemeralVolumeSource.volumeClaimTemplate.metadata.labels",
        message: "unknown field \"spec.ephemeralVolumeSource.volumeClaimTemplate.metadata.labels\"",
        blocks_rules: false,
    },
    Case {
        name: "imageName with imageCatalogRef",
        edit: |c| {
            set(
                c,
                "/spec/imageCatalogRef",
                json!({"apiGroup": "postgresql.cnpg.io", "kind": "ClusterImageCatalog", "name": "postgresql", "major": 17}),
            );
        },
        path: "spec",
        message: "Invalid value: \"object\": imageName and imageCatalogRef are mutually exclusive",
        blocks_rules: false,
    },
    Case {
        name: "zero synchronous replicas",
        edit: |c| {
            set(
                c,
                "/spec/postgresql/synchronous",
                json!({"method": "any", "number": 0}),
            )
        },
        path: "spec.postgresql.synchronous.number",
        message: "Invalid value: \"integer\": The number of synchronous replicas should be greater than zero",
        blocks_rules: false,
    },
];

#[test]
fn the_documented_cluster_is_valid() {
    let cluster = valid("Cluster");
    assert_eq!(validate(&cluster, None), vec![]);
}

#[test]
fn each_mistake_is_one_violation_at_its_path() {
    let mut failures = Vec::new();
    for case in CASES {
        let mut cluster = valid("Cluster");
        (case.edit)(&mut cluster);
        let violations = validate(&cluster, None);
        let found: Vec<_> = violations
            .iter()
            .filter(|v| v.kind != ViolationKind::Unevaluated)
            .collect();
        let matches = found.len() == 1
            && found[0].path == case.path
            && found[0].message.contains(case.message);
        let notice = of_kind(&violations, ViolationKind::Unevaluated);
        let notice_right = if case.blocks_rules {
            notice.len() == 1 && notice[0].path.is_empty() && notice[0].message == NOT_CHECKED
        } else {
            notice.is_empty()
        };
        if !matches || !notice_right {
            failures.push(format!("{}: {violations:#?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_cel_rule_violation_names_its_rule_and_kind() {
    let mut cluster = valid("Cluster");
    set(
        &mut cluster,
        "/spec/imageCatalogRef",
        json!({"apiGroup": "postgresql.cnpg.io", "kind": "ImageCatalog", "name": "postgresql", "major": 17}),
    );
    let violations = validate(&cluster, None);
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].kind, ViolationKind::Rule);
    assert_eq!(
        violations[0].rule.as_deref(),
        Some("!(has(self.imageCatalogRef) && has(self.imageName))")
    );
    assert_eq!(violations[0].reason(), "FieldValueInvalid");
    assert_eq!(
        violations[0].to_string(),
        "spec: Invalid value: \"object\": imageName and imageCatalogRef are mutually exclusive"
    );
}

#[test]
fn int_or_string_takes_both() {
    let mut cluster = valid("Cluster");
    set(&mut cluster, "/spec/resources/limits/cpu", json!(2));
    set(&mut cluster, "/spec/resources/requests/cpu", json!("500m"));
    assert_eq!(validate(&cluster, None), vec![]);
    set(&mut cluster, "/spec/resources/limits/cpu", json!(true));
    let violations = validate(&cluster, None);
    assert_eq!(
        violations[0].path, "spec.resources.limits.cpu",
        "{violations:#?}"
    );
    assert!(
        violations[0]
            .message
            .contains("must be of type integer,string"),
        "{violations:#?}"
    );
}

#[test]
fn an_unknown_api_version_is_one_violation() {
    let mut cluster = valid("Cluster");
    set(&mut cluster, "/apiVersion", json!("postgresql.cnpg.io/v2"));
    let violations = validate(&cluster, None);
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].path, "apiVersion");
    assert_eq!(
        violations[0].message,
        "Unsupported value: \"postgresql.cnpg.io/v2\": supported values: \"postgresql.cnpg.io/v1\""
    );
}

#[test]
fn generate_name_stands_for_a_name() {
    let mut cluster = valid("Cluster");
    remove(&mut cluster, "/metadata/name");
    set(&mut cluster, "/metadata/generateName", json!("cluster-"));
    assert_eq!(validate(&cluster, None), vec![]);
}

#[test]
fn the_immutable_service_account_name_is_checked_on_update_only() {
    let mut old = valid("Cluster");
    set(&mut old, "/spec/serviceAccountName", json!("first"));
    let mut new = old.clone();
    set(&mut new, "/spec/serviceAccountName", json!("second"));
    assert_eq!(validate(&new, None), vec![]);
    assert_eq!(
        validate(&new, Some(&old)),
        vec![Violation {
            path: "spec.serviceAccountName".to_owned(),
            message: "Invalid value: \"string\": serviceAccountName is immutable".to_owned(),
            kind: ViolationKind::Transition,
            rule: Some("self == oldSelf".to_owned()),
        }]
    );
    assert_eq!(validate(&old, Some(&old)), vec![]);
    // Set for the first time: the old object has no value for the rule to compare.
    let mut unset = old.clone();
    remove(&mut unset, "/spec/serviceAccountName");
    assert_eq!(validate(&new, Some(&unset)), vec![]);
}

#[test]
fn managed_roles_are_an_atomic_list_in_the_crd() {
    // `spec.managed.roles` has no x-kubernetes-list-type: the API server accepts a role listed
    // twice (CloudNativePG's webhook rejects it, not the CRD), so the CRD check passes it.
    let mut cluster = valid("Cluster");
    set(&mut cluster, "/spec/managed/roles/1/name", json!("dante"));
    assert_eq!(validate(&cluster, None), vec![]);
}
