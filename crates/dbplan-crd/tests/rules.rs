//! The CEL rules of the vendored CRDs, transition rules against an old object, and rules that
//! cannot be evaluated, which are violations, never passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{remove, set, valid, validate};
use dbplan_crd::{Crds, Violation, ViolationKind};
use serde_json::{Value, json};

fn violation(path: &str, message: &str, kind: ViolationKind, rule: &str) -> Violation {
    Violation {
        path: path.to_owned(),
        message: message.to_owned(),
        kind,
        rule: Some(rule.to_owned()),
    }
}

#[test]
fn a_database_named_postgres_is_reserved() {
    for reserved in ["postgres", "template0", "template1"] {
        let mut database = valid("Database");
        set(&mut database, "/spec/name", json!(reserved));
        assert_eq!(
            validate(&database, None),
            vec![violation(
                "spec.name",
                &format!("Invalid value: \"string\": the name {reserved} is reserved"),
                ViolationKind::Rule,
                &format!("self != '{reserved}'"),
            )]
        );
    }
}

/// (kind, pointer changed, new value, violation path, message, rule)
const IMMUTABLE: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "Database",
        "/spec/name",
        "\"two\"",
        "spec.name",
        "Invalid value: \"string\": name is immutable",
        "self == oldSelf",
    ),
    (
        "Database",
        "/spec/cluster/name",
        "\"other\"",
        "spec.cluster",
        "Invalid value: \"object\": cluster reference is immutable after creation",
        "self == oldSelf",
    ),
    (
        "ScheduledBackup",
        "/spec/cluster/name",
        "\"other\"",
        "spec.cluster",
        "Invalid value: \"object\": cluster reference is immutable after creation",
        "self == oldSelf",
    ),
    (
        "Pooler",
        "/spec/cluster/name",
        "\"other\"",
        "spec.cluster",
        "Invalid value: \"object\": cluster reference is immutable after creation",
        "self == oldSelf",
    ),
    (
        "Backup",
        "/spec/cluster/name",
        "\"other\"",
        "spec",
        "Invalid value: \"object\": BackupSpec is immutable once set",
        "oldSelf == self",
    ),
    (
        "Cluster",
        "/spec/serviceAccountName",
        "\"second\"",
        "spec.serviceAccountName",
        "Invalid value: \"string\": serviceAccountName is immutable",
        "self == oldSelf",
    ),
];

#[test]
fn changing_an_immutable_field_is_a_transition_violation_on_update_only() {
    for (kind, pointer, value, path, message, rule) in IMMUTABLE {
        let value: Value = serde_json::from_str(value).unwrap();
        let mut old = valid(kind);
        if *kind == "Cluster" {
            set(&mut old, pointer, json!("first"));
        }
        let mut new = old.clone();
        set(&mut new, pointer, value);
        assert_eq!(
            validate(&new, None),
            vec![],
            "{kind}: a create has no old object"
        );
        assert_eq!(
            validate(&old, Some(&old)),
            vec![],
            "{kind}: an unchanged update"
        );
        assert_eq!(
            validate(&new, Some(&old)),
            vec![violation(path, message, ViolationKind::Transition, rule)],
            "{kind}: {pointer} changed"
        );
    }
}

#[test]
fn a_transition_rule_is_skipped_where_the_old_object_has_no_value() {
    // Database.spec.template is immutable, but setting it where it was unset is no change the
    // rule can see: the API server runs a transition rule only where oldSelf exists.
    let old = valid("Database");
    let mut new = old.clone();
    set(&mut new, "/spec/template", json!("template0"));
    assert_eq!(validate(&new, Some(&old)), vec![]);
    assert_eq!(
        validate(&old, Some(&new)),
        vec![],
        "removing the field leaves no self for the rule"
    );
    let mut changed = new.clone();
    set(&mut changed, "/spec/template", json!("template1"));
    assert_eq!(
        validate(&changed, Some(&new)),
        vec![violation(
            "spec.template",
            "Invalid value: \"string\": template is immutable",
            ViolationKind::Transition,
            "self == oldSelf",
        )]
    );
}

#[test]
fn an_object_store_with_a_server_name_fails_its_rule() {
    let mut store = valid("ObjectStore");
    set(&mut store, "/spec/configuration/serverName", json!("pg"));
    let violations = validate(&store, None);
    assert_eq!(
        violations,
        vec![violation(
            "spec.configuration.serverName",
            "Forbidden: use the 'serverName' plugin parameter in the Cluster resource",
            ViolationKind::Rule,
            "!has(self.serverName)",
        )]
    );
    assert_eq!(violations[0].reason(), "FieldValueForbidden");
}

#[test]
fn an_object_store_sidecar_cannot_set_the_log_level_by_argument() {
    let mut store = valid("ObjectStore");
    set(
        &mut store,
        "/spec/instanceSidecarConfiguration/additionalContainerArgs",
        json!(["--verbose", "--log-level=debug"]),
    );
    let violations = validate(&store, None);
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(
        violations[0].path,
        "spec.instanceSidecarConfiguration.additionalContainerArgs"
    );
    assert_eq!(
        violations[0].message,
        "Forbidden: do not set --log-level in additionalContainerArgs; use \
         spec.instanceSidecarConfiguration.logLevel"
    );
    set(
        &mut store,
        "/spec/instanceSidecarConfiguration/additionalContainerArgs",
        json!(["--verbose"]),
    );
    assert_eq!(validate(&store, None), vec![]);
}

#[test]
fn a_pooler_takes_an_image_or_a_catalog_not_both() {
    let mut pooler = valid("Pooler");
    set(
        &mut pooler,
        "/spec/pgbouncer/image",
        json!("ghcr.io/cloudnative-pg/pgbouncer:1.24.1"),
    );
    assert_eq!(validate(&pooler, None), vec![]);
    set(
        &mut pooler,
        "/spec/pgbouncer/imageCatalogRef",
        json!({"apiGroup": "example.com", "kind": "ImageCatalog", "name": "pgbouncer", "key": "1"}),
    );
    let messages: Vec<String> = validate(&pooler, None)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        messages,
        [
            "spec.pgbouncer: Invalid value: \"object\": image and imageCatalogRef are mutually exclusive",
            "spec.pgbouncer.imageCatalogRef: Invalid value: \"object\": apiGroup must be postgresql.cnpg.io",
        ]
    );
}

#[test]
fn the_locale_rules_tie_locales_to_their_provider() {
    let mut cluster = valid("Cluster");
    set(
        &mut cluster,
        "/spec/bootstrap/initdb/icuLocale",
        json!("en-US"),
    );
    set(
        &mut cluster,
        "/spec/bootstrap/initdb/localeProvider",
        json!("libc"),
    );
    let rule = "!has(self.icuLocale) || self.localeProvider == 'icu'";
    let message = "icuLocale is only available when localeProvider is set to `icu`";
    assert_eq!(
        validate(&cluster, None),
        vec![violation(
            "spec.bootstrap.initdb",
            &format!("Invalid value: \"object\": {message}"),
            ViolationKind::Rule,
            rule,
        )]
    );
    set(
        &mut cluster,
        "/spec/bootstrap/initdb/localeProvider",
        json!("icu"),
    );
    assert_eq!(validate(&cluster, None), vec![]);
    // Without localeProvider the rule reads a missing key: the API server rejects the object
    // with the evaluation error and the rule's message.
    remove(&mut cluster, "/spec/bootstrap/initdb/localeProvider");
    assert_eq!(
        validate(&cluster, None),
        vec![violation(
            "spec.bootstrap.initdb",
            &format!(
                "Invalid value: \"object\": no such key: localeProvider evaluating rule: {message}"
            ),
            ViolationKind::Rule,
            rule,
        )]
    );
}

/// A CRD of one kind, `Widget`, whose spec carries `rules`.
fn widget(rules: Value) -> Crds {
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
            "scope": "Cluster",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}, "size": {"type": "integer"}},
                            "x-kubernetes-validations": rules,
                        },
                    },
                }},
            }],
        },
    });
    Crds::from_yaml([crd.to_string().as_str()]).unwrap()
}

fn widget_object(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec})
}

#[test]
fn a_rule_with_a_function_kube_cel_lacks_is_unevaluated_even_when_it_would_short_circuit() {
    // `lowerAscii` is a Kubernetes CEL string function; this build registers no string library.
    let rule = "!has(self.name) || self.name.lowerAscii() == self.name";
    let crds = widget(json!([{"rule": rule, "message": "name must be lower case"}]));
    let crd = crds.find("example.com/v1", "Widget").unwrap();
    let infos = crd.rules();
    assert_eq!(infos.len(), 1);
    assert!(
        infos[0]
            .unevaluable
            .as_deref()
            .is_some_and(|why| why.contains("lowerAscii"))
    );
    for spec in [
        json!({}),
        json!({"name": "Upper"}),
        json!({"name": "lower"}),
    ] {
        let violations = crd.validate(&widget_object(spec.clone()), None);
        assert_eq!(violations.len(), 1, "{spec}: {violations:#?}");
        assert_eq!(violations[0].kind, ViolationKind::Unevaluated);
        assert_eq!(violations[0].rule.as_deref(), Some(rule));
        assert_eq!(violations[0].path, "spec");
        assert!(
            violations[0].message.contains("lowerAscii"),
            "{}",
            violations[0].message
        );
    }
}

#[test]
fn a_rule_that_does_not_compile_is_unevaluated() {
    let crds = widget(json!([{"rule": "self.size >", "message": "broken"}]));
    let crd = crds.find("example.com/v1", "Widget").unwrap();
    assert!(crd.rules()[0].unevaluable.is_some());
    let violations = crd.validate(&widget_object(json!({"size": 1})), None);
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].kind, ViolationKind::Unevaluated);
    assert_eq!(violations[0].rule.as_deref(), Some("self.size >"));
}

#[test]
fn a_rule_reading_a_missing_key_fails_as_the_api_server_says() {
    let crds = widget(json!([{"rule": "self.size > 0", "message": "size must be positive"}]));
    let crd = crds.find("example.com/v1", "Widget").unwrap();
    assert_eq!(crd.rules()[0].unevaluable, None);
    assert_eq!(
        crd.validate(&widget_object(json!({"size": 1})), None),
        vec![]
    );
    let violations = crd.validate(&widget_object(json!({"size": 0})), None);
    assert_eq!(
        violations[0].message,
        "Invalid value: \"object\": size must be positive"
    );
    let violations = crd.validate(&widget_object(json!({"name": "x"})), None);
    assert_eq!(
        violations,
        vec![violation(
            "spec",
            "Invalid value: \"object\": no such key: size evaluating rule: size must be positive",
            ViolationKind::Rule,
            "self.size > 0",
        )]
    );
}

#[test]
fn a_rule_whose_evaluation_fails_otherwise_is_unevaluated() {
    // A string plus an integer: the API server's type checker would refuse the CRD; kube-cel
    // finds out only when it evaluates the rule.
    let crds = widget(json!([{"rule": "self.name + 1 == 'x'", "message": "odd"}]));
    let crd = crds.find("example.com/v1", "Widget").unwrap();
    let violations = crd.validate(&widget_object(json!({"name": "x"})), None);
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].kind, ViolationKind::Unevaluated);
    assert_eq!(violations[0].reason(), "InternalError");
}

#[test]
fn message_expression_field_path_and_optional_old_self_are_honoured() {
    let crds = widget(json!([
        {
            "rule": "self.size <= 10",
            "messageExpression": "'size ' + string(self.size) + ' is over 10'",
            "fieldPath": ".size",
            "reason": "FieldValueForbidden",
        },
        {
            "rule": "oldSelf == null || self.size >= oldSelf.size",
            "optionalOldSelf": true,
            "message": "size cannot shrink",
        },
    ]));
    let crd = crds.find("example.com/v1", "Widget").unwrap();
    let big = widget_object(json!({"size": 11}));
    assert_eq!(
        crd.validate(&big, None),
        vec![violation(
            "spec.size",
            "Forbidden: size 11 is over 10",
            ViolationKind::Rule,
            "self.size <= 10",
        )]
    );
    let small = widget_object(json!({"size": 2}));
    assert_eq!(crd.validate(&small, None), vec![]);
    assert_eq!(
        crd.validate(&small, Some(&widget_object(json!({"size": 3})))),
        vec![violation(
            "spec",
            "Invalid value: \"object\": size cannot shrink",
            ViolationKind::Transition,
            "oldSelf == null || self.size >= oldSelf.size",
        )]
    );
}

#[test]
fn a_cluster_scoped_kind_takes_no_namespace() {
    let crds = widget(json!([]));
    let crd = crds.find("example.com/v1", "Widget").unwrap();
    assert!(!crd.namespaced());
    let mut object = widget_object(json!({}));
    assert_eq!(crd.validate(&object, None), vec![]);
    set(&mut object, "/metadata/namespace", json!("default"));
    let violations = crd.validate(&object, None);
    assert_eq!(violations.len(), 1);
    assert_eq!(
        violations[0].to_string(),
        "metadata.namespace: Forbidden: not allowed on this type"
    );
    remove(&mut object, "/metadata/namespace");
}
