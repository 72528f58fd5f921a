//! A reference written in a form the manifest language does not have is an error at its
//! `file:line:col` whose help lists the forms the field accepts.

// A test fails by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use dbplan_diagnostics::Severity;
use dbplan_manifest::Loader;
use dbplan_manifest::refs::{RESOURCE_REF_FORMS, VALUE_OR_REF_FORMS};

const POOL: &str = "apiVersion: dbplan.io/v1
kind: DigitalOceanDatabaseConnectionPool
metadata: {name: pool}
spec:
  name: api
  mode: transaction
  size: 10
  db: defaultdb
  clusterId: REF
";

const TENANT: &str = "apiVersion: dbplan.io/v1
kind: TenantDatabase
metadata: {name: app}
spec:
  server: REF
";

/// Every error of a one-document manifest as `(file:line:col, code, message, help)`.
fn errors(text: &str) -> Vec<(String, String, String, String)> {
    let mut loader = Loader::new();
    loader.add_source("refs.yaml", text.to_owned());
    let (set, diagnostics) = loader.finish();
    diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .map(|diagnostic| {
            let span = diagnostic
                .span
                .expect("every manifest error has a location");
            let (file, at) = set.sources.location(span).unwrap();
            (
                format!("{file}:{}:{}", at.line, at.column),
                diagnostic.code.to_string(),
                diagnostic.message.clone(),
                diagnostic.help.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// Each wrong form is refused on the field's line, and every error about it lists the forms.
fn assert_listed(template: &str, line: usize, forms: &str, wrong: &[&str]) {
    for form in wrong {
        let text = template.replace("REF", form);
        let found = errors(&text);
        assert!(!found.is_empty(), "{form} was accepted");
        for (at, code, message, help) in &found {
            assert!(
                at.starts_with(&format!("refs.yaml:{line}:")),
                "{form}: {code} {message} at {at}"
            );
            // The listing may start a sentence ("did you mean `x`? This field …").
            assert!(
                help.contains(&forms[1..]),
                "{form}: {at} {code} {message}: help {help:?} does not list the forms"
            );
        }
    }
}

#[test]
fn a_wrong_form_of_a_value_or_reference_lists_the_accepted_forms() {
    assert_listed(
        POOL,
        9,
        VALUE_OR_REF_FORMS,
        &[
            "[prod]",
            "{valueFrm: {name: prod}}",
            "{kind: DigitalOceanDatabaseCluster}",
            "{value: x, valueFrom: {name: prod}}",
            "{ref: prod}",
            "{valueFrom: {name: prod, field: status.outputs.cluster_id}}",
            "{name: prod, path: status.outputs.cluster_id}",
        ],
    );
}

#[test]
fn a_wrong_form_of_a_resource_reference_lists_the_accepted_forms() {
    assert_listed(
        TENANT,
        5,
        RESOURCE_REF_FORMS,
        &[
            "{value: pg}",
            "[pg]",
            "{valueFrom: pg}",
            "{valueFrom: {kind: PostgresServer}}",
            "{valueFrom: {name: pg, fieldPath: status.outputs.host}}",
            "{ref: {name: pg}, kind: PostgresServer}",
            "{server: pg}",
        ],
    );
}

#[test]
fn the_listing_error_points_at_the_wrong_key() {
    let found = errors(&TENANT.replace(
        "REF",
        "{valueFrom: {name: pg, fieldPath: status.outputs.host}}",
    ));
    assert!(
        found
            .iter()
            .any(|(at, code, message, _)| at == "refs.yaml:5:34"
                && code == "M005"
                && message.contains("`fieldPath`")),
        "{found:#?}"
    );
    let found = errors(&POOL.replace("REF", "{valueFrm: {name: prod}}"));
    assert!(
        found
            .iter()
            .any(|(at, code, _, help)| at == "refs.yaml:9:15"
                && code == "M005"
                && help.starts_with("did you mean `value_from`? This field takes")),
        "{found:#?}"
    );
}
