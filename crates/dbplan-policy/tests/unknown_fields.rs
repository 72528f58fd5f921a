//! A field that fails validation is unknown to the policies: every other field of its resource
//! is still checked, and nothing is concluded from the unknown one.

// Test helpers fail loudly on a broken fixture; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dbplan_diagnostics::{Diagnostic, Severity};
use dbplan_policy::options::Snapshot;
use dbplan_policy::{Pack, Report};

fn lint(text: &str) -> (Vec<Diagnostic>, Report) {
    let mut loader = dbplan_manifest::Loader::new();
    loader.add_source("test.yaml", text.to_owned());
    let (set, diagnostics) = loader.finish();
    let (graph, _) = dbplan_graph::build(&set);
    let report = dbplan_policy::lint(&set, &graph, &Pack::builtin(), Snapshot::digitalocean());
    (diagnostics, report)
}

/// The codes found for one resource, policy and validation alike (not the findings that
/// cannot be decided offline).
fn codes(diagnostics: &[Diagnostic], report: &Report, resource: &str) -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = diagnostics
        .iter()
        .filter(|diagnostic| {
            diagnostic.severity == Severity::Error
                && diagnostic.resource.as_deref() == Some(resource)
        })
        .map(|diagnostic| diagnostic.code.as_str())
        .chain(
            report
                .findings
                .iter()
                .filter(|finding| finding.resource == resource && !finding.undecidable)
                .map(|finding| finding.code.as_str()),
        )
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

const CLUSTER: &str = "apiVersion: aws.project-planton.org/v1
kind: AwsRdsCluster
metadata: {name: reporting}
spec:
  engine: aurora-postgresql
  engineVersion: \"16.4\"
  subnetIds: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002]
  manageMasterUserPassword: true
  storageEncrypted: true
  deletionProtection: true
  copyTagsToSnapshot: true
  iamDatabaseAuthenticationEnabled: true
  finalSnapshotIdentifier: reporting-final
  backupRetentionPeriod: 14
  preferredBackupWindow: \"23:30-00:30\"
  preferredMaintenanceWindow: \"sun:23:45-mon:00:15\"
";

/// The cluster with one line replaced (or, with an empty `from`, one line added).
fn cluster_with(from: &str, to: &str) -> String {
    if from.is_empty() {
        return format!("{CLUSTER}  {to}\n");
    }
    assert!(CLUSTER.contains(from), "{from}");
    CLUSTER.replace(from, to)
}

#[test]
fn a_wrong_field_is_reported_next_to_the_violations_of_the_others() {
    let (diagnostics, report) = lint(&cluster_with(
        "backupRetentionPeriod: 14",
        "backupRetentionPeriod: seven",
    ));
    let found = codes(&diagnostics, &report, "AwsRdsCluster/reporting");
    assert_eq!(found, ["DB101", "M006"], "{report:#?}");
}

#[test]
fn nothing_is_concluded_from_an_unknown_field() {
    // Each field, written wrong, would otherwise read as off, absent or another engine's value.
    let cases = [
        // Neither on nor off: no "deletion protection off".
        (
            "deletionProtection: true",
            "deletionProtection: \"yes\"",
            "DB402",
        ),
        // Unknown, not unencrypted.
        (
            "storageEncrypted: true",
            "storageEncrypted: \"yes\"",
            "DB401",
        ),
        // Unknown, not "no final snapshot".
        (
            "finalSnapshotIdentifier: reporting-final",
            "finalSnapshotIdentifier: [reporting-final]",
            "DB403",
        ),
        // Unknown, not "tags not copied".
        ("copyTagsToSnapshot: true", "copyTagsToSnapshot: 1", "DB405"),
        // Unknown, not "IAM authentication off".
        (
            "iamDatabaseAuthenticationEnabled: true",
            "iamDatabaseAuthenticationEnabled: on-weekdays",
            "DB203",
        ),
    ];
    for (from, to, silent) in cases {
        let (diagnostics, report) = lint(&cluster_with(from, to));
        let found = codes(&diagnostics, &report, "AwsRdsCluster/reporting");
        assert!(
            found.contains(&"M006") && found.contains(&"DB101"),
            "{to}: {found:?}"
        );
        assert!(!found.contains(&silent), "{to}: {found:?} {report:#?}");
    }
}

#[test]
fn a_misspelt_engine_silences_only_the_rules_that_depend_on_it() {
    // The log type is wrong for MySQL but right for PostgreSQL: with the engine unknown, DB107
    // cannot say. Retention 0 is wrong for every engine: DB103 still says so.
    let text = cluster_with("engine: aurora-postgresql", "engine: aurora-postgres")
        .replace("backupRetentionPeriod: 14", "backupRetentionPeriod: 0")
        + "  enabledCloudwatchLogsExports: [postgresql]\n";
    let (diagnostics, report) = lint(&text);
    let found = codes(&diagnostics, &report, "AwsRdsCluster/reporting");
    assert_eq!(found, ["DB101", "DB103", "M008"], "{report:#?}");
}

#[test]
fn one_wrong_item_of_a_list_leaves_the_other_items_checked() {
    let text = "apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanDatabaseCluster
metadata: {name: tiny}
spec:
  clusterName: tiny
  engine: pg
  engineVersion: \"16\"
  region: nyc3
  sizeSlug: db-s-1vcpu-1gb
  nodeCount: 2
  storageGib: lots
---
apiVersion: dbplan.io/v1
kind: DigitalOceanDatabaseFirewall
metadata: {name: tiny-trusted-sources}
spec:
  clusterId: {valueFrom: {name: tiny}}
  rules:
    - {type: ip_addr, value: 0.0.0.0/0}
    - {type: droplet-tag, value: web}
";
    let (diagnostics, report) = lint(text);
    assert_eq!(
        codes(&diagnostics, &report, "DigitalOceanDatabaseCluster/tiny"),
        ["DB301", "M006"],
        "{report:#?}"
    );
    let firewall = "DigitalOceanDatabaseFirewall/tiny-trusted-sources";
    assert_eq!(
        codes(&diagnostics, &report, firewall),
        ["DB501", "M008"],
        "{report:#?}"
    );
    // The finding points at the item it is about, not at the wrong one.
    let open = report
        .findings
        .iter()
        .find(|finding| finding.code == "DB501")
        .unwrap();
    assert!(open.message.contains("0.0.0.0/0"), "{open:#?}");
}

#[test]
fn a_resource_that_refers_to_an_unknown_value_concludes_nothing_from_it() {
    // The pool's cluster has a misspelt engine: whether it runs PostgreSQL is unknown, so DB305
    // (a pool on a cluster that is not PostgreSQL) cannot say.
    let text = "apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanDatabaseCluster
metadata: {name: main}
spec:
  clusterName: main
  engine: postgresql
  engineVersion: \"16\"
  region: nyc3
  sizeSlug: db-s-2vcpu-4gb
  nodeCount: 2
---
apiVersion: dbplan.io/v1
kind: DigitalOceanDatabaseConnectionPool
metadata: {name: main-pool}
spec:
  clusterId: {valueFrom: {name: main}}
  name: app
  mode: transaction
  size: 10
  db: app
";
    let (diagnostics, report) = lint(text);
    let found = codes(
        &diagnostics,
        &report,
        "DigitalOceanDatabaseConnectionPool/main-pool",
    );
    assert!(!found.contains(&"DB305"), "{found:?} {report:#?}");
    assert!(
        codes(&diagnostics, &report, "DigitalOceanDatabaseCluster/main").contains(&"M008"),
        "{diagnostics:#?}"
    );

    // The VPC's region is misspelt: whether the cluster sits in the VPC's region is unknown, so
    // DB306 cannot say. The first stand-in region (nyc1) differs from the cluster's, so only the
    // view in which the unknown region is nyc3 keeps this finding out.
    let text = "apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanVpc
metadata: {name: private}
spec: {region: nyc-3, ipRangeCidr: 10.20.0.0/20}
---
apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanDatabaseCluster
metadata: {name: orders}
spec:
  clusterName: orders
  engine: pg
  engineVersion: \"16\"
  region: nyc3
  sizeSlug: db-s-2vcpu-4gb
  nodeCount: 2
  vpc: {valueFrom: {name: private}}
";
    let (diagnostics, report) = lint(text);
    assert!(
        codes(&diagnostics, &report, "DigitalOceanVpc/private").contains(&"M008"),
        "{diagnostics:#?}"
    );
    let found = codes(&diagnostics, &report, "DigitalOceanDatabaseCluster/orders");
    assert!(!found.contains(&"DB306"), "{found:?} {report:#?}");
}

#[test]
fn waivers_still_apply_to_a_resource_with_a_wrong_field() {
    let text = cluster_with("backupRetentionPeriod: 14", "backupRetentionPeriod: seven").replace(
        "metadata: {name: reporting}",
        "metadata:\n  name: reporting\n  annotations: {dbplan.io/waive.DB101: \"backups moved to 02:00 in the next change; owner=alice\"}",
    );
    let (_, report) = lint(&text);
    let overlap = report
        .findings
        .iter()
        .find(|finding| finding.code == "DB101")
        .expect("DB101 is still found");
    assert!(overlap.waived.is_some(), "{overlap:#?}");
    // A waiver on such a resource is never called unused: what it waives may be unknown.
    assert!(
        report
            .findings
            .iter()
            .all(|finding| finding.code != "DB003"),
        "{report:#?}"
    );
}

#[test]
fn a_missing_required_field_leaves_the_rest_checked() {
    let text = cluster_with("  engine: aurora-postgresql\n", "");
    let (diagnostics, report) = lint(&text);
    let found = codes(&diagnostics, &report, "AwsRdsCluster/reporting");
    assert_eq!(found, ["DB101", "M007"], "{diagnostics:#?} {report:#?}");
}

/// The findings of a set, as (code, resource, line): a mutation that lengthens one line keeps
/// every line number.
fn finding_lines(
    report: &Report,
    set: &dbplan_manifest::ManifestSet,
) -> Vec<(String, String, usize)> {
    report
        .findings
        .iter()
        .filter(|finding| !finding.undecidable)
        .map(|finding| {
            let line = finding
                .span
                .and_then(|span| set.sources.location(span))
                .map_or(0, |(_, at)| at.line as usize);
            (finding.code.to_string(), finding.resource.clone(), line)
        })
        .collect()
}

fn lint_files(
    files: &[(String, String)],
) -> (dbplan_manifest::ManifestSet, Vec<Diagnostic>, Report) {
    let mut loader = dbplan_manifest::Loader::new();
    for (name, text) in files {
        loader.add_source(name, text.clone());
    }
    let (set, diagnostics) = loader.finish();
    let (graph, _) = dbplan_graph::build(&set);
    let report = dbplan_policy::lint(&set, &graph, &Pack::builtin(), Snapshot::digitalocean());
    (set, diagnostics, report)
}

#[test]
fn an_unknown_field_never_adds_a_finding_in_any_example() {
    // Every scalar field of every example, in turn, replaced by a mapping where it does not
    // belong: the field is reported, nothing panics, and no policy finding appears that the
    // example did not have: a finding about a resource with an unknown field must hold whatever
    // the field's value, so the example's own value cannot have escaped it.
    let read = |path: &std::path::Path| {
        (
            path.display().to_string(),
            std::fs::read_to_string(path).unwrap(),
        )
    };
    let yaml_files = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        paths.sort();
        paths
    };
    // Each example folder as one set, and each rule's fixture (full of violations) as one.
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sets: Vec<Vec<(String, String)>> = Vec::new();
    for dir in std::fs::read_dir(here.join("../../examples")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            sets.push(yaml_files(&dir).iter().map(|path| read(path)).collect());
        }
    }
    for path in yaml_files(&here.join("tests/fixtures")) {
        sets.push(vec![read(&path)]);
    }
    let mut mutations = 0;
    for files in sets {
        let (set, _, report) = lint_files(&files);
        let original: std::collections::BTreeSet<_> =
            finding_lines(&report, &set).into_iter().collect();
        for (index, (_, text)) in files.iter().enumerate() {
            for (number, line) in text.lines().enumerate() {
                let Some((key, value)) = line.split_once(": ") else {
                    continue;
                };
                let key = key.trim_start_matches([' ', '-']);
                let value = value.trim();
                if !line.starts_with("  ")
                    || matches!(key, "name" | "kind" | "apiVersion")
                    || value.is_empty()
                    || value.starts_with(['{', '[', '#', '|', '>', '&', '*'])
                {
                    continue;
                }
                let mutated: String = text
                    .lines()
                    .enumerate()
                    .map(|(at, original)| {
                        if at == number {
                            original.replacen(value, "{not: expected}", 1)
                        } else {
                            original.to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                let mut changed = files.clone();
                changed[index].1 = mutated;
                let (set, diagnostics, report) = lint_files(&changed);
                mutations += 1;
                assert!(
                    diagnostics
                        .iter()
                        .any(|diagnostic| diagnostic.severity == Severity::Error),
                    "{}:{}: `{key}: {{not: expected}}` is not reported",
                    changed[index].0,
                    number + 1
                );
                let added: Vec<_> = finding_lines(&report, &set)
                    .into_iter()
                    .filter(|finding| !original.contains(finding))
                    .collect();
                assert!(
                    added.is_empty(),
                    "{}:{}: with `{key}` unknown, findings appear that the example does not have: {added:?}",
                    changed[index].0,
                    number + 1
                );
            }
        }
    }
    assert!(mutations > 50, "only {mutations} fields were tried");
}
