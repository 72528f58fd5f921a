//! `Crd::defaults` applies the schema's defaults as the API server's structural defaulting does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{crd, remove, set, valid};
use serde_json::{Value, json};

#[test]
fn a_cluster_gets_the_schema_defaults_of_the_fields_it_has() {
    let mut cluster = valid("Cluster");
    remove(&mut cluster, "/spec/instances");
    crd("Cluster").defaults(&mut cluster);
    let spec = &cluster["spec"];
    assert_eq!(spec["instances"], 1);
    assert_eq!(spec["primaryUpdateMethod"], "restart");
    assert_eq!(spec["enableSuperuserAccess"], false);
    assert_eq!(spec["storage"]["resizeInUseVolumes"], true);
    assert_eq!(spec["walStorage"]["resizeInUseVolumes"], true);
    // Given values stay.
    assert_eq!(spec["primaryUpdateStrategy"], "unsupervised");
    assert_eq!(spec["storage"]["size"], "20Gi");
    // List items are defaulted one by one.
    let roles = spec["managed"]["roles"].as_array().unwrap();
    for role in roles {
        assert_eq!(role["inherit"], true);
        assert_eq!(role["ensure"], "present");
    }
    assert_eq!(roles[0]["connectionLimit"], -1);
    assert_eq!(roles[1]["connectionLimit"], 4);
    assert_eq!(spec["plugins"][0]["enabled"], true);
    assert_eq!(spec["plugins"][0]["isWALArchiver"], true);
}

#[test]
fn a_defaulted_object_is_defaulted_inside_too_and_absent_objects_stay_absent() {
    let mut cluster = valid("Cluster");
    crd("Cluster").defaults(&mut cluster);
    // replicationSlots' default is {highAvailability: {enabled: true}}; defaulting goes on
    // into it, as the API server's does.
    assert_eq!(
        cluster["spec"]["replicationSlots"],
        json!({"highAvailability": {"enabled": true, "slotPrefix": "_cnpg_"}, "updateInterval": 30})
    );
    // No default invents an object that has none: monitoring has defaulted fields, but no
    // default of its own.
    assert_eq!(cluster["spec"].get("monitoring"), None);
    assert_eq!(cluster["spec"].get("backup"), None);
}

#[test]
fn defaulting_is_idempotent_and_the_result_is_valid() {
    let mut cluster = valid("Cluster");
    let cluster_crd = crd("Cluster");
    cluster_crd.defaults(&mut cluster);
    let once = cluster.clone();
    cluster_crd.defaults(&mut cluster);
    assert_eq!(cluster, once);
    assert_eq!(cluster_crd.validate(&cluster, None), vec![]);
}

#[test]
fn a_null_field_without_nullable_takes_its_default() {
    let mut cluster = valid("Cluster");
    set(&mut cluster, "/spec/logLevel", Value::Null);
    crd("Cluster").defaults(&mut cluster);
    assert_eq!(cluster["spec"]["logLevel"], "info");
}

#[test]
fn an_object_of_another_version_is_left_alone() {
    let mut cluster = valid("Cluster");
    set(&mut cluster, "/apiVersion", json!("postgresql.cnpg.io/v2"));
    let before = cluster.clone();
    crd("Cluster").defaults(&mut cluster);
    assert_eq!(cluster, before);
}

#[test]
fn every_kind_defaults_its_documented_example_into_a_valid_object() {
    for kind in [
        "ScheduledBackup",
        "Database",
        "Pooler",
        "Backup",
        "ObjectStore",
    ] {
        let mut object = valid(kind);
        crd(kind).defaults(&mut object);
        assert_eq!(crd(kind).validate(&object, None), vec![], "{kind}");
    }
    let mut backup = valid("ScheduledBackup");
    remove(&mut backup, "/spec/method");
    crd("ScheduledBackup").defaults(&mut backup);
    assert_eq!(backup["spec"]["method"], "barmanObjectStore");
    let mut pooler = valid("Pooler");
    remove(&mut pooler, "/spec/type");
    crd("Pooler").defaults(&mut pooler);
    assert_eq!(pooler["spec"]["type"], "rw");
}

#[test]
fn validation_sees_the_defaults_a_missing_required_instances_takes_one() {
    // spec.instances is required, with a default of 1: the API server defaults it before
    // validating, so leaving it out is no error.
    let mut cluster = valid("Cluster");
    remove(&mut cluster, "/spec/instances");
    assert_eq!(crd("Cluster").validate(&cluster, None), vec![]);
}

#[test]
fn a_null_field_without_nullable_or_default_is_dropped() {
    // The API server prunes such nulls before defaulting, so they are no type error.
    let mut cluster = valid("Cluster");
    set(&mut cluster, "/spec/backup", Value::Null);
    set(&mut cluster, "/spec/storage/storageClass", Value::Null);
    assert_eq!(crd("Cluster").validate(&cluster, None), vec![]);
    crd("Cluster").defaults(&mut cluster);
    assert_eq!(cluster["spec"].get("backup"), None);
    assert_eq!(cluster["spec"]["storage"].get("storageClass"), None);
    // A null list item is not a field: it stays, and is an error.
    let mut cluster = valid("Cluster");
    set(&mut cluster, "/spec/managed/roles/1", Value::Null);
    let violations = crd("Cluster").validate(&cluster, None);
    assert_eq!(
        violations[0].path, "spec.managed.roles[1]",
        "{violations:#?}"
    );
}
