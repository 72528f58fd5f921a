//! `crd`: what offline validation against the vendored CloudNativePG CRDs costs.
//!
//! Each run is a fresh child process (`crd-once`), so the embedded CRDs are parsed and every
//! validator compiled for the first time in it. The child times:
//!
//! - parsing the six embedded CRD files (YAML to JSON, `Crds::embedded()` the first time);
//! - compiling each CRD's validators (the JSON Schema and the CEL rules, `Crd::prepare`);
//! - validating `N` objects of each kind (a documented example with a different name each),
//!   per object;
//!
//! and the parent prints the median of the runs.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

/// A valid object of `kind`, named `name`, as CloudNativePG's documentation shows one.
fn example(kind: &str, name: &str) -> Value {
    let spec = match kind {
        "Cluster" => json!({
            "instances": 3,
            "imageName": "ghcr.io/cloudnative-pg/postgresql:17.5",
            "storage": {"size": "20Gi", "storageClass": "standard"},
            "walStorage": {"size": "5Gi", "storageClass": "standard"},
            "resources": {"requests": {"cpu": 1, "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
            "bootstrap": {"initdb": {"database": "app", "owner": "app", "secret": {"name": "app-secret"}}},
            "postgresql": {"parameters": {"max_connections": "200", "shared_buffers": "256MB"}},
            "managed": {"roles": [
                {"name": "dante", "ensure": "present", "login": true, "inRoles": ["pg_monitor"],
                 "passwordSecret": {"name": "dante"}},
                {"name": "beatrice", "login": true, "connectionLimit": 4},
            ]},
            "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true,
                         "parameters": {"barmanObjectName": "minio-store"}}],
        }),
        "ScheduledBackup" => json!({
            "schedule": "0 0 0 * * *", "cluster": {"name": "pg"}, "method": "plugin",
            "pluginConfiguration": {"name": "barman-cloud.cloudnative-pg.io"},
        }),
        "Database" => json!({"name": "one", "owner": "app", "cluster": {"name": "pg"}}),
        "Pooler" => json!({
            "cluster": {"name": "pg"}, "instances": 3, "type": "rw",
            "pgbouncer": {"poolMode": "session", "parameters": {"max_client_conn": "1000"}},
        }),
        "Backup" => json!({"method": "plugin", "cluster": {"name": "pg"},
                           "pluginConfiguration": {"name": "barman-cloud.cloudnative-pg.io"}}),
        _ => json!({
            "retentionPolicy": "30d",
            "configuration": {
                "destinationPath": "s3://backups/",
                "s3Credentials": {
                    "accessKeyId": {"name": "minio", "key": "ACCESS_KEY_ID"},
                    "secretAccessKey": {"name": "minio", "key": "ACCESS_SECRET_KEY"},
                },
                "wal": {"compression": "gzip"},
            },
        }),
    };
    let group = if kind == "ObjectStore" {
        "barmancloud.cnpg.io"
    } else {
        "postgresql.cnpg.io"
    };
    json!({
        "apiVersion": format!("{group}/v1"),
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    })
}

/// One run in the child: prints `parse SECONDS`, then `compile KIND SECONDS` and `validate
/// KIND SECONDS_PER_OBJECT` for each CRD.
pub fn run_once(objects: usize) -> anyhow::Result<()> {
    let start = Instant::now();
    let crds = dbplan_crd::Crds::embedded();
    println!("parse - {}", start.elapsed().as_secs_f64());
    for crd in crds.iter() {
        let start = Instant::now();
        crd.prepare();
        println!("compile {} {}", crd.kind(), start.elapsed().as_secs_f64());
        let examples: Vec<Value> = (0..objects)
            .map(|index| example(crd.kind(), &format!("object-{index}")))
            .collect();
        let start = Instant::now();
        for object in &examples {
            let violations = crd.validate(object, None);
            if !violations.is_empty() {
                bail!("{} example is invalid: {violations:?}", crd.kind());
            }
        }
        let per_object = start.elapsed().as_secs_f64() / objects.max(1) as f64;
        println!("validate {} {per_object}", crd.kind());
    }
    Ok(())
}

/// Runs `crd-once` `runs` times and prints the median of each figure.
pub fn measure(objects: usize, runs: usize) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let mut figures: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    let mut order = Vec::new();
    for _ in 0..runs.max(1) {
        let output = Command::new(&exe)
            .args(["crd-once", &objects.to_string()])
            .output()?;
        if !output.status.success() {
            bail!(
                "crd-once failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        for line in String::from_utf8(output.stdout)?.lines() {
            let mut words = line.split_whitespace();
            let (Some(what), Some(kind), Some(seconds)) =
                (words.next(), words.next(), words.next())
            else {
                bail!("unexpected crd-once line {line:?}");
            };
            let key = (what.to_owned(), kind.to_owned());
            if !figures.contains_key(&key) {
                order.push(key.clone());
            }
            let seconds: f64 = seconds.parse().context("a figure of crd-once")?;
            figures.entry(key).or_default().push(seconds);
        }
    }
    println!(
        "median of {} runs, {objects} objects of each kind validated per run",
        runs.max(1)
    );
    for key in order {
        let mut values = figures.remove(&key).unwrap_or_default();
        values.sort_by(f64::total_cmp);
        let median = values.get(values.len() / 2).copied().unwrap_or_default();
        let (what, kind) = key;
        let shown = match what.as_str() {
            "validate" => format!("{:>9.1} µs per object", median * 1e6),
            _ => format!("{:>9.1} ms", median * 1e3),
        };
        println!("{what:<9} {kind:<16} {shown}");
    }
    Ok(())
}
