//! The diff, the plan rules, the plan file and the renderings, on inline manifests planned
//! against states built by recording earlier plans as applied.

// Test helpers fail loudly on a broken fixture; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use dbplan_core::{Action, Kind};
use dbplan_plan::render::{self, TextOptions};
use dbplan_plan::{Staleness, StateRef, check_fresh, file};
use dbplan_provider::{FakeProvider, Providers, RemoteObject};
use dbplan_state::{Snapshot, Status};
use sha2::{Digest, Sha256};
use support::{Run, address, applied, change, load, order, plan, plan_with, test_key};

fn vpc(region: &str) -> String {
    format!(
        r#"
apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanVpc
metadata: {{name: main-vpc}}
spec: {{region: {region}, ipRangeCidr: 10.10.0.0/20}}
"#
    )
}

fn cluster(size: &str, region: &str, annotations: &str) -> String {
    format!(
        r#"
apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanDatabaseCluster
metadata:
  name: app-db
  annotations: {{{annotations}}}
spec:
  clusterName: app-db
  engine: pg
  engineVersion: "16"
  region: {region}
  sizeSlug: {size}
  nodeCount: 2
  vpc: {{valueFrom: {{name: main-vpc}}}}
"#
    )
}

const FIREWALL: &str = r#"
apiVersion: dbplan.io/v1
kind: DigitalOceanDatabaseFirewall
metadata: {name: app-db-sources}
spec:
  clusterId: {valueFrom: {kind: DigitalOceanDatabaseCluster, name: app-db}}
  rules:
    - {type: ip_addr, value: 10.10.0.0/20}
"#;

fn stack(size: &str, region: &str) -> Vec<(&'static str, String)> {
    vec![
        ("vpc.yaml", vpc(region)),
        ("cluster.yaml", cluster(size, region, "")),
        ("firewall.yaml", FIREWALL.to_owned()),
    ]
}

fn borrowed<'a>(sources: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    sources
        .iter()
        .map(|(name, text)| (*name, text.as_str()))
        .collect()
}

fn applied_stack(size: &str) -> Snapshot {
    let sources = stack(size, "nyc3");
    let (set, graph) = load(&borrowed(&sources));
    applied(
        &plan(&set, &graph, &Snapshot::default()),
        &Snapshot::default(),
    )
}

#[test]
fn from_empty_everything_is_created_dependencies_first() {
    let sources = stack("db-s-2vcpu-4gb", "nyc3");
    let (set, graph) = load(&borrowed(&sources));
    let plan = plan(&set, &graph, &Snapshot::default());
    assert!(
        plan.changes
            .iter()
            .all(|change| change.action == Action::Create)
    );
    assert_eq!(
        order(&plan),
        [
            "create DigitalOceanVpc/main-vpc",
            "create DigitalOceanDatabaseCluster/app-db",
            "create DigitalOceanDatabaseFirewall/app-db-sources",
        ]
    );
    let cluster = change(&plan, "DigitalOceanDatabaseCluster/app-db");
    assert!(
        cluster.after["vpc"].is_unknown(),
        "the VPC id is known only after apply"
    );
    assert_eq!(
        cluster.references["vpc"].address.to_string(),
        "DigitalOceanVpc/main-vpc"
    );
    assert_eq!(cluster.references["vpc"].output, "vpc_id");
    let json: serde_json::Value = serde_json::from_str(&render::json(&plan)).unwrap();
    let cluster_json = &json["resource_changes"][1];
    assert_eq!(cluster_json["action"], "create");
    assert_eq!(cluster_json["after_unknown"], serde_json::json!(["vpc"]));
    assert_eq!(json["summary"]["create"], 3);
    assert_eq!(json["format_version"], "1");
}

#[test]
fn a_second_plan_after_apply_has_no_changes() {
    let state = applied_stack("db-s-2vcpu-4gb");
    let sources = stack("db-s-2vcpu-4gb", "nyc3");
    let (set, graph) = load(&borrowed(&sources));
    let plan = plan(&set, &graph, &state);
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    assert!(
        plan.changes
            .iter()
            .all(|change| change.action == Action::NoOp)
    );
    assert!(render::text(&plan, TextOptions::default()).contains("No changes."));
}

#[test]
fn a_new_size_is_an_update_in_place() {
    let state = applied_stack("db-s-2vcpu-4gb");
    let sources = stack("db-s-4vcpu-8gb", "nyc3");
    let (set, graph) = load(&borrowed(&sources));
    let plan = plan(&set, &graph, &state);
    let cluster = change(&plan, "DigitalOceanDatabaseCluster/app-db");
    assert_eq!(cluster.action, Action::Update);
    assert_eq!(cluster.changed, ["size_slug"]);
    assert!(cluster.replace_because.is_empty());
    assert_eq!(
        change(&plan, "DigitalOceanDatabaseFirewall/app-db-sources").action,
        Action::NoOp
    );
    let text = render::text(&plan, TextOptions::default());
    assert!(
        text.contains(r#"~ size_slug = "db-s-2vcpu-4gb" -> "db-s-4vcpu-8gb""#),
        "{text}"
    );
}

#[test]
fn a_new_region_replaces_the_network_and_what_depends_on_it_in_reverse_order() {
    let state = applied_stack("db-s-2vcpu-4gb");
    let sources = stack("db-s-2vcpu-4gb", "sfo3");
    let (set, graph) = load(&borrowed(&sources));
    let planned = plan_with(&set, &graph, &state, &Run::default());
    let plan = &planned.plan;
    let cluster = change(plan, "DigitalOceanDatabaseCluster/app-db");
    assert_eq!(cluster.action, Action::Replace);
    // The region forces it, and so does the VPC (DigitalOcean cannot move a cluster to
    // another VPC; the new VPC's id is known only after apply).
    assert_eq!(cluster.replace_because, ["region", "vpc"]);
    assert!(cluster.changed.contains(&"vpc".to_owned()));
    assert_eq!(cluster.final_snapshot, Some(false));
    // The firewall's cluster id is unknown until the new cluster exists, and it cannot change
    // in place.
    let firewall = change(plan, "DigitalOceanDatabaseFirewall/app-db-sources");
    assert_eq!(firewall.action, Action::Replace);
    assert_eq!(firewall.replace_because, ["cluster_id"]);
    assert_eq!(
        order(plan),
        [
            "delete DigitalOceanDatabaseFirewall/app-db-sources",
            "delete DigitalOceanDatabaseCluster/app-db",
            "delete DigitalOceanVpc/main-vpc",
            "create DigitalOceanVpc/main-vpc",
            "create DigitalOceanDatabaseCluster/app-db",
            "create DigitalOceanDatabaseFirewall/app-db-sources",
        ]
    );
    // Replacing a cluster is a mandatory finding (DB701) unless waived.
    let finding = planned
        .report
        .findings
        .iter()
        .find(|finding| finding.code == "DB701")
        .expect("DB701");
    assert_eq!(finding.resource, "DigitalOceanDatabaseCluster/app-db");
    assert!(finding.waived.is_none());
    assert!(
        finding
            .message
            .contains("region, vpc cannot change in place"),
        "{}",
        finding.message
    );
    assert_eq!(
        plan.blocking_findings(),
        1,
        "{:#?}",
        planned.report.findings
    );
    let text = render::text(plan, TextOptions::default());
    assert!(
        text.contains("-/+ DigitalOceanDatabaseCluster/app-db {"),
        "{text}"
    );
    assert!(
        text.contains(r#"~ region = "nyc3" -> "sfo3" # forces replacement"#),
        "{text}"
    );
    let markdown = render::markdown(plan, &render::Review::default());
    let risk = markdown.split("#### Data-loss risk").nth(1).unwrap();
    assert!(
        risk.contains("| <code>DigitalOceanDatabaseCluster/app-db</code> | replace | <code>region</code>, <code>vpc</code> cannot change in place | **no** |"),
        "{markdown}"
    );
}

#[test]
fn a_waiver_lets_the_replacement_through() {
    let state = applied_stack("db-s-2vcpu-4gb");
    let sources = vec![
        ("vpc.yaml", vpc("sfo3")),
        (
            "cluster.yaml",
            cluster(
                "db-s-2vcpu-4gb",
                "sfo3",
                r#""dbplan.io/waive.DB701": "moving to sfo3, data restored from backup; owner=alice""#,
            ),
        ),
        ("firewall.yaml", FIREWALL.to_owned()),
    ];
    let (set, graph) = load(&borrowed(&sources));
    let planned = plan_with(&set, &graph, &state, &Run::default());
    let finding = planned
        .report
        .findings
        .iter()
        .find(|finding| finding.code == "DB701")
        .unwrap();
    assert!(finding.waived.as_deref().unwrap().contains("owner=alice"));
    assert_eq!(planned.plan.blocking_findings(), 0);
}

#[test]
fn removed_manifests_are_deleted_dependents_first() {
    let state = applied_stack("db-s-2vcpu-4gb");
    let (set, graph) = load(&[]);
    let planned = plan_with(&set, &graph, &state, &Run::default());
    let plan = &planned.plan;
    assert_eq!(
        order(plan),
        [
            "delete DigitalOceanDatabaseFirewall/app-db-sources",
            "delete DigitalOceanDatabaseCluster/app-db",
            "delete DigitalOceanVpc/main-vpc",
        ]
    );
    assert_eq!(plan.summary().delete, 3);
    // Deleting the cluster is DB701; no manifest, no waiver recorded: blocking.
    assert!(
        planned
            .report
            .findings
            .iter()
            .any(|finding| finding.code == "DB701"
                && finding.resource == "DigitalOceanDatabaseCluster/app-db"
                && finding.waived.is_none())
    );
}

#[test]
fn a_waiver_recorded_in_state_allows_the_delete() {
    let sources = vec![
        ("vpc.yaml", vpc("nyc3")),
        (
            "cluster.yaml",
            cluster(
                "db-s-2vcpu-4gb",
                "nyc3",
                r#""dbplan.io/waive.DB701": "decommissioned, see ticket 42; owner=bob""#,
            ),
        ),
    ];
    let (set, graph) = load(&borrowed(&sources));
    let state = applied(
        &plan(&set, &graph, &Snapshot::default()),
        &Snapshot::default(),
    );
    let (set, graph) = load(&[]);
    let planned = plan_with(&set, &graph, &state, &Run::default());
    let finding = planned
        .report
        .findings
        .iter()
        .find(|finding| finding.code == "DB701")
        .unwrap();
    assert!(finding.waived.as_deref().unwrap().contains("ticket 42"));
    assert_eq!(planned.plan.blocking_findings(), 0);
}

#[test]
fn prevent_destroy_recorded_in_state_blocks_the_delete() {
    let sources = vec![
        ("vpc.yaml", vpc("nyc3")),
        (
            "cluster.yaml",
            cluster(
                "db-s-2vcpu-4gb",
                "nyc3",
                r#""dbplan.io/prevent-destroy": "true""#,
            ),
        ),
    ];
    let (set, graph) = load(&borrowed(&sources));
    let state = applied(
        &plan(&set, &graph, &Snapshot::default()),
        &Snapshot::default(),
    );
    assert!(
        state.resources[&address("DigitalOceanDatabaseCluster/app-db")]
            .lifecycle
            .prevent_destroy
    );
    let (set, graph) = load(&borrowed(&sources[..1]));
    let plan = plan(&set, &graph, &state);
    let cluster = change(&plan, "DigitalOceanDatabaseCluster/app-db");
    assert_eq!(cluster.action, Action::Delete);
    assert!(
        cluster
            .blocked
            .as_deref()
            .unwrap()
            .contains("prevent-destroy")
    );
    assert_eq!(plan.blocked().len(), 1);
    assert!(render::text(&plan, TextOptions::default()).contains("This plan is blocked"));
    let markdown = render::markdown(&plan, &render::Review::default());
    assert!(
        markdown.starts_with(
            "### dbplan plan\n\n> [!CAUTION]\n> **Refused:** apply would refuse this plan: 1 change would destroy a protected object."
        ),
        "{markdown}"
    );
}

const SERVER: &str = r#"
apiVersion: dbplan.io/v1
kind: PostgresServer
metadata: {name: shared}
spec: {host: 127.0.0.1, adminUser: postgres, sslmode: disable}
"#;

#[test]
fn a_postgres_server_is_shown_as_a_connection_check_not_a_creation() {
    let (set, graph) = load(&[("server.yaml", SERVER)]);
    let plan = plan(&set, &graph, &Snapshot::default());
    let text = render::text(&plan, TextOptions::default());
    assert!(
        text.contains("# PostgresServer/shared will be checked: apply connects to the existing server (dbplan creates none)"),
        "{text}"
    );
    assert!(!text.contains("will be created"), "{text}");
    let markdown = render::markdown(&plan, &render::Review::default());
    assert!(
        markdown.contains("PostgresServer/shared will be checked"),
        "{markdown}"
    );
}

fn tenant(name: &str, extra: &str) -> String {
    format!(
        r#"
apiVersion: dbplan.io/v1
kind: TenantDatabase
metadata: {{name: {name}}}
spec:
  server: shared
{extra}
"#
    )
}

#[test]
fn tenants_are_orphaned_or_deleted_per_their_policies_and_protection() {
    let kept = tenant(
        "kept",
        "  deletionProtection: false\n  connectionSecret: {file: kept.env}\n",
    );
    let dropped = tenant(
        "dropped",
        "  deletionProtection: false\n  dbDeletionPolicy: Delete\n  roleDeletionPolicy: Delete\n",
    );
    let guarded = tenant(
        "guarded",
        "  dbDeletionPolicy: Delete\n  connectionSecret: {file: guarded.env}\n",
    );
    let sources = [
        ("server.yaml", SERVER),
        ("kept.yaml", kept.as_str()),
        ("dropped.yaml", dropped.as_str()),
        ("guarded.yaml", guarded.as_str()),
    ];
    let (set, graph) = load(&sources);
    let state = applied(
        &plan(&set, &graph, &Snapshot::default()),
        &Snapshot::default(),
    );
    let (set, graph) = load(&sources[..1]);
    let planned = plan_with(&set, &graph, &state, &Run::default());
    let plan = &planned.plan;
    for part in ["database", "role", "connection-secret"] {
        let kept = change(plan, &format!("TenantDatabase/kept/{part}"));
        assert_eq!(kept.action, Action::Orphan, "{part}");
        assert!(kept.blocked.is_none(), "{part}");
        // A tenant's protection guards every part of it, whatever its policy.
        let guarded = change(plan, &format!("TenantDatabase/guarded/{part}"));
        let reason = guarded.blocked.as_deref().unwrap();
        assert!(
            reason.contains(&format!(
                "TenantDatabase/guarded/{part} has deletion protection on"
            )) && reason.contains("apply that first"),
            "{reason}"
        );
    }
    assert_eq!(
        change(plan, "TenantDatabase/guarded/role").action,
        Action::Orphan
    );
    assert!(
        change(plan, "TenantDatabase/guarded/role")
            .blocked
            .as_deref()
            .unwrap()
            .contains("cannot be orphaned")
    );
    assert_eq!(
        change(plan, "TenantDatabase/dropped/database").action,
        Action::Delete
    );
    assert!(
        change(plan, "TenantDatabase/dropped/database")
            .blocked
            .is_none()
    );
    // The role goes after the database that it owns.
    let steps = order(plan);
    let position = |step: &str| steps.iter().position(|s| s == step).unwrap();
    assert!(
        position("delete TenantDatabase/dropped/database")
            < position("delete TenantDatabase/dropped/role")
    );
    assert_eq!(plan.summary().orphan, 4, "kept: 3 parts; guarded: its role");
    let json: serde_json::Value = serde_json::from_str(&render::json(plan)).unwrap();
    assert_eq!(json["summary"]["orphan"], 4);
    // An orphan loses no data, and the dropped tenant's manifest opted into deletion itself:
    // neither is DB701.
    let db701: Vec<&str> = planned
        .report
        .findings
        .iter()
        .filter(|finding| finding.code == "DB701")
        .map(|finding| finding.resource.as_str())
        .collect();
    assert!(
        db701
            .iter()
            .all(|resource| resource.starts_with("TenantDatabase/guarded")),
        "{db701:?}"
    );
    assert!(
        render::markdown(plan, &render::Review::default())
            .contains("| <code>TenantDatabase/kept/database</code> | orphan |")
    );
}

/// A tenant applied by a dbplan whose records had no `deletion_opted_in` (and whose role and
/// secret did not carry the tenant's protection).
fn older_record(state: &mut Snapshot) {
    for (address, resource) in &mut state.resources {
        resource.lifecycle.deletion_opted_in = false;
        if address.part.as_deref() != Some("database") {
            resource.lifecycle.deletion_protection = false;
        }
    }
}

#[test]
fn an_older_record_is_guarded_by_its_tenant_and_migrates_without_a_remote_call() {
    let guarded = tenant(
        "guarded",
        "  dbDeletionPolicy: Delete\n  roleDeletionPolicy: Delete\n  connectionSecret: {file: guarded.env}\n",
    );
    let sources = [("server.yaml", SERVER), ("guarded.yaml", guarded.as_str())];
    let (set, graph) = load(&sources);
    let mut state = applied(
        &plan(&set, &graph, &Snapshot::default()),
        &Snapshot::default(),
    );
    older_record(&mut state);
    // Its role is guarded by the database's recorded protection.
    let (server, server_graph) = load(&sources[..1]);
    let removed = plan(&server, &server_graph, &state);
    let role = change(&removed, "TenantDatabase/guarded/role");
    assert_eq!(role.action, Action::Delete);
    assert!(
        role.blocked
            .as_deref()
            .unwrap()
            .contains("belongs to TenantDatabase/guarded, whose deletion protection is on"),
        "{:?}",
        role.blocked
    );
    // Planned again with its manifest: the role and secret pick up the protection, in the
    // state only.
    let again = plan(&set, &graph, &state);
    for part in ["role", "connection-secret"] {
        let update = change(&again, &format!("TenantDatabase/guarded/{part}"));
        assert_eq!(update.action, Action::Update, "{part}");
        assert!(update.changed.is_empty());
        assert_eq!(update.lifecycle_changed, ["deletion_protection"]);
        assert!(update.records_only());
    }
    assert_eq!(
        change(&again, "TenantDatabase/guarded/database").action,
        Action::NoOp
    );
    // A record without the field at all reads as not opted in.
    let json =
        r#"{"prevent_destroy": false, "deletion_protection": false, "deletion_policy": "Delete"}"#;
    let lifecycle: dbplan_state::Lifecycle = serde_json::from_str(json).unwrap();
    assert!(!lifecycle.deletion_opted_in);
}

#[test]
fn a_lifecycle_change_alone_is_an_update_of_every_part() {
    let protected = tenant("app", "  connectionSecret: {file: app.env}\n");
    let opened = tenant(
        "app",
        "  deletionProtection: false\n  dbDeletionPolicy: Delete\n  roleDeletionPolicy: Delete\n  connectionSecret: {file: app.env}\n",
    );
    let (set, graph) = load(&[("server.yaml", SERVER), ("app.yaml", protected.as_str())]);
    let state = applied(
        &plan(&set, &graph, &Snapshot::default()),
        &Snapshot::default(),
    );
    let (set, graph) = load(&[("server.yaml", SERVER), ("app.yaml", opened.as_str())]);
    let planned = plan(&set, &graph, &state);
    for part in ["database", "role", "connection-secret"] {
        let update = change(&planned, &format!("TenantDatabase/app/{part}"));
        assert_eq!(update.action, Action::Update, "{part}");
        assert!(update.records_only(), "{part}");
        assert_eq!(
            update.lifecycle_changed,
            [
                "deletion_opted_in",
                "deletion_policy",
                "deletion_protection"
            ],
            "{part}"
        );
        assert!(
            update
                .lifecycle_before
                .as_ref()
                .unwrap()
                .deletion_protection
        );
        assert!(!update.lifecycle.deletion_protection);
    }
    let text = render::text(&planned, TextOptions::default());
    assert!(
        text.contains("TenantDatabase/app/role will be updated in place (in the state only"),
        "{text}"
    );
    assert!(
        text.contains("~ lifecycle.deletion_protection = true -> false"),
        "{text}"
    );
    assert!(
        text.contains("~ lifecycle.deletion_policy     = Orphan -> Delete"),
        "{text}"
    );
    assert!(
        render::markdown(&planned, &render::Review::default())
            .contains("lifecycle.deletion_protection = true -> false")
    );
    let json: serde_json::Value = serde_json::from_str(&render::json(&planned)).unwrap();
    let role = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["address"] == "TenantDatabase/app/role")
        .unwrap();
    assert_eq!(role["action"], "update");
    assert_eq!(role["lifecycle_before"]["deletion_protection"], true);
    assert_eq!(role["lifecycle"]["deletion_protection"], false);
    assert_eq!(role["lifecycle"]["deletion_policy"], "Delete");
    // Once applied, nothing is left to do; a saved plan reads back the same.
    let state = applied(&planned, &state);
    let (set, graph) = load(&[("server.yaml", SERVER), ("app.yaml", opened.as_str())]);
    assert!(!plan(&set, &graph, &state).has_changes());
}

#[test]
fn a_removed_field_returns_to_its_default_or_is_forgotten_with_a_note() {
    let with = tenant(
        "app",
        "  deletionProtection: false\n  connectionLimit: 5\n  extensions: [pgcrypto]\n",
    );
    let without = tenant("app", "  deletionProtection: false\n");
    let (set, graph) = load(&[("server.yaml", SERVER), ("app.yaml", with.as_str())]);
    let state = applied(
        &plan(&set, &graph, &Snapshot::default()),
        &Snapshot::default(),
    );
    let (set, graph) = load(&[("server.yaml", SERVER), ("app.yaml", without.as_str())]);
    let removed = plan(&set, &graph, &state);
    let role = change(&removed, "TenantDatabase/app/role");
    assert_eq!(role.action, Action::Update);
    assert_eq!(role.changed, ["connection_limit"]);
    assert_eq!(role.after["connection_limit"], dbplan_core::Value::Int(-1));
    let database = change(&removed, "TenantDatabase/app/database");
    assert_eq!(database.changed, ["extensions"]);
    let text = render::text(&removed, TextOptions::default());
    assert!(text.contains("~ connection_limit = 5 -> -1"), "{text}");
    // Applied, the default is recorded and nothing is left to do.
    let state = applied(&removed, &state);
    assert!(!plan(&set, &graph, &state).has_changes());

    // Every tag of a cluster removed: back to none.
    let tagged = cluster("db-s-1vcpu-1gb", "nyc3", "").replace(
        "  nodeCount: 2\n",
        "  nodeCount: 2\n  tags: [team-a, billing]\n",
    );
    let sources = [("vpc.yaml", vpc("nyc3")), ("cluster.yaml", tagged)];
    let (set, graph) = load(&borrowed(&sources));
    let state = applied(
        &plan(&set, &graph, &Snapshot::default()),
        &Snapshot::default(),
    );
    let sources = [
        ("vpc.yaml", vpc("nyc3")),
        ("cluster.yaml", cluster("db-s-1vcpu-1gb", "nyc3", "")),
    ];
    let (set, graph) = load(&borrowed(&sources));
    let untagged = plan(&set, &graph, &state);
    let cluster_change = change(&untagged, "DigitalOceanDatabaseCluster/app-db");
    assert_eq!(cluster_change.action, Action::Update);
    assert_eq!(cluster_change.changed, ["tags"]);
    assert_eq!(
        cluster_change.after["tags"],
        dbplan_core::Value::List(Vec::new())
    );

    // A field the provider cannot reset: the plan says so, and apply only stops recording it.
    let windowed = cluster("db-s-1vcpu-1gb", "nyc3", "").replace(
        "  nodeCount: 2\n",
        "  nodeCount: 2\n  maintenanceWindow: {day: tuesday, hour: \"04:00\"}\n",
    );
    let sources = [("vpc.yaml", vpc("nyc3")), ("cluster.yaml", windowed)];
    let (windowed_set, windowed_graph) = load(&borrowed(&sources));
    let state = applied(
        &plan(&windowed_set, &windowed_graph, &Snapshot::default()),
        &Snapshot::default(),
    );
    let forgotten = plan(&set, &graph, &state);
    let cluster_change = change(&forgotten, "DigitalOceanDatabaseCluster/app-db");
    assert_eq!(cluster_change.action, Action::Update);
    assert_eq!(cluster_change.changed, ["maintenance_window"]);
    assert!(cluster_change.records_only());
    assert!(
        cluster_change
            .note
            .as_deref()
            .unwrap()
            .contains("`maintenance_window` was removed from the manifest, but DigitalOcean always keeps a window"),
        "{:?}",
        cluster_change.note
    );
    let text = render::text(&forgotten, TextOptions::default());
    assert!(
        text.contains("(no longer recorded; the object keeps it)"),
        "{text}"
    );
    let state = applied(&forgotten, &state);
    assert!(
        !state.resources[&address("DigitalOceanDatabaseCluster/app-db")]
            .attributes
            .contains_key("maintenance_window")
    );
    assert!(!plan(&set, &graph, &state).has_changes());
}

#[test]
fn renaming_a_tenant_database_replaces_it() {
    let before = tenant("app", "  databaseName: app\n  deletionProtection: false\n");
    let after = tenant("app", "  databaseName: app2\n  deletionProtection: false\n");
    let (set, graph) = load(&[("server.yaml", SERVER), ("app.yaml", before.as_str())]);
    let state = applied(
        &plan(&set, &graph, &Snapshot::default()),
        &Snapshot::default(),
    );
    let (set, graph) = load(&[("server.yaml", SERVER), ("app.yaml", after.as_str())]);
    let plan = plan(&set, &graph, &state);
    let database = change(&plan, "TenantDatabase/app/database");
    assert_eq!(database.action, Action::Replace);
    assert_eq!(database.replace_because, ["name"]);
    // The owner is `<database_name>_user` unless set, so the role is renamed too, in place.
    let role = change(&plan, "TenantDatabase/app/role");
    assert_eq!(role.action, Action::Update);
    assert_eq!(role.changed, ["name"]);
}

fn aurora(version: &str, encrypted: bool) -> String {
    format!(
        r#"
apiVersion: aws.project-planton.org/v1
kind: AwsRdsCluster
metadata: {{name: orders}}
spec:
  region: us-east-1
  engine: aurora-postgresql
  engineVersion: "{version}"
  username: ordersadmin
  password: {{secretEnv: ORDERS_DB_PASSWORD}}
  storageEncrypted: {encrypted}
  deletionProtection: false
  skipFinalSnapshot: false
  finalSnapshotIdentifier: orders-final
  dbSubnetGroupName: existing-group
"#
    )
}

#[test]
fn major_upgrades_and_turning_encryption_off_are_flagged() {
    let env = vec![("ORDERS_DB_PASSWORD", "correct-horse")];
    let original = aurora("15.4", true);
    let (set, graph) = load(&[("orders.yaml", original.as_str())]);
    let first = plan_with(
        &set,
        &graph,
        &Snapshot::default(),
        &Run {
            env: env.clone(),
            ..Run::default()
        },
    );
    let state = applied(&first.plan, &Snapshot::default());

    let upgraded = aurora("16.4", true);
    let (set, graph) = load(&[("orders.yaml", upgraded.as_str())]);
    let planned = plan_with(
        &set,
        &graph,
        &state,
        &Run {
            env: env.clone(),
            ..Run::default()
        },
    );
    let cluster = change(&planned.plan, "AwsRdsCluster/orders/cluster");
    assert_eq!(cluster.action, Action::Update, "{:?}", cluster.changed);
    assert_eq!(cluster.changed, ["engine_version"]);
    let finding = planned
        .report
        .findings
        .iter()
        .find(|f| f.code == "DB702")
        .unwrap();
    assert_eq!(finding.severity, dbplan_diagnostics::Severity::Warning);
    assert!(
        finding.message.contains("from major version 15 to 16"),
        "{}",
        finding.message
    );

    let decrypted = aurora("15.4", false);
    let (set, graph) = load(&[("orders.yaml", decrypted.as_str())]);
    let planned = plan_with(
        &set,
        &graph,
        &state,
        &Run {
            env,
            ..Run::default()
        },
    );
    let cluster = change(&planned.plan, "AwsRdsCluster/orders/cluster");
    assert_eq!(cluster.action, Action::Replace);
    assert_eq!(cluster.replace_because, ["storage_encrypted"]);
    assert_eq!(cluster.final_snapshot, Some(true));
    let codes: Vec<_> = planned
        .report
        .findings
        .iter()
        .map(|f| f.code.as_str())
        .collect();
    assert!(
        codes.contains(&"DB703") && codes.contains(&"DB701"),
        "{codes:?}"
    );
}

#[test]
fn a_secret_never_appears_in_any_output_and_its_change_is_still_seen() {
    const CANARY: &str = "canary-3f9d1c-not-for-output";
    const ROLE_CANARY: &str = "canary-77aa02-role-password";
    let manifest = aurora("16.4", true);
    let (set, graph) = load(&[("orders.yaml", manifest.as_str())]);
    let env = vec![("ORDERS_DB_PASSWORD", CANARY)];
    let first = plan_with(
        &set,
        &graph,
        &Snapshot::default(),
        &Run {
            env: env.clone(),
            ..Run::default()
        },
    );
    let mut state = applied(&first.plan, &Snapshot::default());
    // A generated password recorded in state (as a tenant role's would be).
    state
        .resources
        .get_mut(&address("AwsRdsCluster/orders/cluster"))
        .unwrap()
        .outputs
        .insert(
            "generated".into(),
            dbplan_state::StateValue::sensitive(ROLE_CANARY),
        );

    // Same secret: no change. Another secret: an update of `password`, shown as sensitive.
    let same = plan_with(
        &set,
        &graph,
        &state,
        &Run {
            env: env.clone(),
            ..Run::default()
        },
    );
    assert!(!same.plan.has_changes(), "{:#?}", same.plan.changes);
    let rotated_env = vec![("ORDERS_DB_PASSWORD", "canary-rotated-9e1")];
    let rotated = plan_with(
        &set,
        &graph,
        &state,
        &Run {
            env: rotated_env,
            ..Run::default()
        },
    );
    let cluster = change(&rotated.plan, "AwsRdsCluster/orders/cluster");
    assert_eq!(cluster.action, Action::Update);
    assert_eq!(cluster.changed, ["password"]);

    let (empty_set, empty_graph) = load(&[]);
    let destroy = plan_with(&empty_set, &empty_graph, &state, &Run::default());
    for plan in [&first.plan, &same.plan, &rotated.plan, &destroy.plan] {
        let outputs = [
            render::text(
                plan,
                TextOptions {
                    color: false,
                    findings: true,
                },
            ),
            render::text(
                plan,
                TextOptions {
                    color: true,
                    findings: true,
                },
            ),
            render::markdown(plan, &render::Review::default()),
            render::json(plan),
            file::to_file_text(plan, &test_key()).unwrap(),
            format!("{plan:?}"),
        ];
        for output in outputs {
            for canary in [CANARY, ROLE_CANARY, "canary-rotated-9e1"] {
                assert!(!output.contains(canary), "a secret leaked:\n{output}");
            }
        }
    }
    assert!(render::text(&rotated.plan, TextOptions::default()).contains("(sensitive)"));
}

#[test]
fn an_unset_secret_variable_is_a_warning_not_a_change() {
    let manifest = aurora("16.4", true);
    let (set, graph) = load(&[("orders.yaml", manifest.as_str())]);
    let env = vec![("ORDERS_DB_PASSWORD", "some-password")];
    let first = plan_with(
        &set,
        &graph,
        &Snapshot::default(),
        &Run {
            env,
            ..Run::default()
        },
    );
    let state = applied(&first.plan, &Snapshot::default());
    let planned = plan_with(&set, &graph, &state, &Run::default());
    assert!(!planned.plan.has_changes());
    assert_eq!(planned.diagnostics.len(), 1);
    assert!(
        planned.diagnostics[0]
            .message
            .contains("ORDERS_DB_PASSWORD")
    );
}

#[test]
fn refresh_reports_drift_and_plans_it_back() {
    let state = applied_stack("db-s-2vcpu-4gb");
    let provider = FakeProvider::new(
        "digitalocean",
        [Kind::DigitalOceanDatabaseCluster, Kind::DigitalOceanVpc],
    );
    for address in [
        "DigitalOceanDatabaseCluster/app-db",
        "DigitalOceanVpc/main-vpc",
    ] {
        let recorded = &state.resources[&support::address(address)];
        provider.put(
            &address.parse().unwrap(),
            RemoteObject {
                provider_id: recorded.provider_id.clone(),
                attributes: recorded
                    .attributes
                    .iter()
                    .map(|(key, value)| (key.clone(), value.value.clone()))
                    .collect(),
                outputs: Default::default(),
            },
        );
    }
    provider.set_attribute(
        &"DigitalOceanDatabaseCluster/app-db".parse().unwrap(),
        "size_slug",
        serde_json::json!("db-s-1vcpu-2gb"),
    );
    // A value the provider returns but state never recorded (here a password) is not drift,
    // and so never reaches a report.
    provider.set_attribute(
        &"DigitalOceanDatabaseCluster/app-db".parse().unwrap(),
        "password",
        serde_json::json!("canary-5d2e-remote-password"),
    );
    provider.delete(&"DigitalOceanVpc/main-vpc".parse().unwrap());
    let providers = Providers::new().with(provider);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let refreshed = runtime.block_on(dbplan_plan::refresh::refresh(&state, &providers, 4, &[]));
    assert!(refreshed.errors.is_empty());
    assert_eq!(refreshed.drift.len(), 2);
    assert!(
        refreshed.notices[0].contains("1 DigitalOceanDatabaseFirewall object not refreshed"),
        "{:?}",
        refreshed.notices
    );

    let sources = stack("db-s-2vcpu-4gb", "nyc3");
    let (set, graph) = load(&borrowed(&sources));
    let planned = plan_with(
        &set,
        &graph,
        &state,
        &Run {
            refreshed: Some(&refreshed),
            ..Run::default()
        },
    );
    let plan = &planned.plan;
    assert!(plan.refreshed);
    // The VPC is gone: created again. The cluster's size was changed: set back, in place.
    assert_eq!(
        change(plan, "DigitalOceanVpc/main-vpc").action,
        Action::Create
    );
    let cluster = change(plan, "DigitalOceanDatabaseCluster/app-db");
    assert!(cluster.changed.contains(&"size_slug".to_owned()));
    let text = render::text(plan, TextOptions::default());
    assert!(text.contains("Objects changed outside dbplan:"), "{text}");
    assert!(
        text.contains(r#"~ size_slug = "db-s-2vcpu-4gb" -> "db-s-1vcpu-2gb""#),
        "{text}"
    );
    assert!(
        text.contains("DigitalOceanVpc/main-vpc was deleted outside dbplan"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&render::json(plan)).unwrap();
    assert_eq!(
        json["resource_drift"][0]["address"],
        "DigitalOceanDatabaseCluster/app-db"
    );
}

#[test]
fn a_failed_read_is_an_error_of_the_refresh() {
    let state = applied_stack("db-s-2vcpu-4gb");
    let provider = FakeProvider::new("digitalocean", [Kind::DigitalOceanVpc]);
    provider.fail_reads(
        &"DigitalOceanVpc/main-vpc".parse().unwrap(),
        "503 Service Unavailable",
    );
    let providers = Providers::new().with(provider);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let refreshed = runtime.block_on(dbplan_plan::refresh::refresh(&state, &providers, 4, &[]));
    assert_eq!(refreshed.errors.len(), 1);
    assert!(
        refreshed.errors[0]
            .to_string()
            .contains("DigitalOceanVpc/main-vpc")
    );
}

#[test]
fn tainted_objects_are_replaced_and_pending_ones_adopted_or_created() {
    let mut state = applied_stack("db-s-2vcpu-4gb");
    state
        .resources
        .get_mut(&address("DigitalOceanVpc/main-vpc"))
        .unwrap()
        .status = Status::Tainted;
    state
        .resources
        .get_mut(&address("DigitalOceanDatabaseFirewall/app-db-sources"))
        .unwrap()
        .status = Status::Pending;
    let sources = stack("db-s-2vcpu-4gb", "nyc3");
    let (set, graph) = load(&borrowed(&sources));
    let plan = plan(&set, &graph, &state);
    let vpc = change(&plan, "DigitalOceanVpc/main-vpc");
    assert_eq!(vpc.action, Action::Replace);
    assert!(vpc.note.as_deref().unwrap().contains("tainted"));
    let firewall = change(&plan, "DigitalOceanDatabaseFirewall/app-db-sources");
    assert_eq!(firewall.action, Action::Create);
    assert!(firewall.note.as_deref().unwrap().contains("adopts"));
}

#[test]
fn targets_bring_their_dependencies_and_nothing_else() {
    let sources = stack("db-s-2vcpu-4gb", "nyc3");
    let (set, graph) = load(&borrowed(&sources));
    let planned = plan_with(
        &set,
        &graph,
        &Snapshot::default(),
        &Run {
            targets: vec!["DigitalOceanDatabaseCluster/app-db".into()],
            ..Run::default()
        },
    );
    let addresses: Vec<_> = planned
        .plan
        .changes
        .iter()
        .map(|c| c.address.to_string())
        .collect();
    assert_eq!(
        addresses,
        [
            "DigitalOceanVpc/main-vpc",
            "DigitalOceanDatabaseCluster/app-db"
        ]
    );

    let error = dbplan_plan::make_plan(&dbplan_plan::PlanRequest {
        set: &set,
        graph: &graph,
        state: &Snapshot::default(),
        refreshed: None,
        pack: &dbplan_policy::Pack::builtin(),
        options: dbplan_policy::options::Snapshot::digitalocean(),
        destroy: false,
        targets: &["DigitalOceanDatabaseCluster/app-bd".to_owned()],
        adopt: &[],
        env: &|_| None,
        key: &test_key(),
        admission: None,
    })
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("did you mean DigitalOceanDatabaseCluster/app-db"),
        "{error}"
    );
}

#[test]
fn destroy_deletes_everything_in_reverse_order() {
    let state = applied_stack("db-s-2vcpu-4gb");
    let sources = stack("db-s-2vcpu-4gb", "nyc3");
    let (set, graph) = load(&borrowed(&sources));
    let planned = plan_with(
        &set,
        &graph,
        &state,
        &Run {
            destroy: true,
            ..Run::default()
        },
    );
    assert_eq!(planned.plan.summary().delete, 3);
    assert_eq!(
        order(&planned.plan)[0],
        "delete DigitalOceanDatabaseFirewall/app-db-sources"
    );
}

#[test]
fn plan_files_round_trip_and_refuse_tampering_and_newer_versions() {
    let state = applied_stack("db-s-2vcpu-4gb");
    let sources = stack("db-s-4vcpu-8gb", "nyc3");
    let (set, graph) = load(&borrowed(&sources));
    let plan = plan(&set, &graph, &state);
    let text = file::to_file_text(&plan, &test_key()).unwrap();
    let loaded = file::from_file_text(&text, "plan.out")
        .unwrap()
        .authenticate(&test_key())
        .unwrap();
    assert_eq!(loaded.changes, plan.changes);
    assert_eq!(loaded.apply_order, plan.apply_order);
    assert_eq!(
        render::text(&loaded, TextOptions::default()),
        render::text(&plan, TextOptions::default())
    );

    let tampered = text.replace("db-s-4vcpu-8gb", "db-s-8vcpu-16gb");
    let error = file::from_file_text(&tampered, "plan.out").unwrap_err();
    assert!(error.to_string().contains("has been modified"), "{error}");

    // An edit whose checksum is recomputed still fails the tag, which needs the state's key.
    let mut envelope: serde_json::Value = serde_json::from_str(&text).unwrap();
    let body = envelope["plan"]
        .to_string()
        .replace("db-s-4vcpu-8gb", "db-s-8vcpu-16gb");
    envelope["plan"] = serde_json::from_str(&body).unwrap();
    envelope["checksum"] =
        format!("sha256:{}", hex::encode(Sha256::digest(body.as_bytes()))).into();
    let edited = file::from_file_text(&envelope.to_string(), "plan.out").unwrap();
    let error = edited.authenticate(&test_key()).unwrap_err();
    assert!(error.to_string().contains("not authenticated"), "{error}");
    let other_key = dbplan_state::StateKey::generate().unwrap();
    let genuine = file::from_file_text(&text, "plan.out").unwrap();
    assert!(!genuine.is_authentic(&other_key), "another state's key");
    let unsigned = text.replace("\"mac\"", "\"unsigned\"");
    let error = file::from_file_text(&unsigned, "plan.out").unwrap_err();
    assert!(error.to_string().contains("not authenticated"), "{error}");

    let newer = text.replace("\"file_version\": 2", "\"file_version\": 3");
    let error = file::from_file_text(&newer, "plan.out").unwrap_err();
    assert!(error.to_string().contains("newer dbplan"), "{error}");
    let older = text.replace("\"file_version\": 2", "\"file_version\": 1");
    let error = file::from_file_text(&older, "plan.out").unwrap_err();
    assert!(
        error.to_string().contains("older dbplan") && error.to_string().contains("plan again"),
        "{error}"
    );

    let error = file::from_file_text("{}", "notes.json").unwrap_err();
    assert!(
        error.to_string().contains("not a dbplan plan file"),
        "{error}"
    );
    let error = file::from_file_text("garbage", "notes.json").unwrap_err();
    assert!(error.to_string().contains("not JSON"), "{error}");
}

#[test]
fn a_saved_plan_is_stale_once_the_state_moves() {
    let state = applied_stack("db-s-2vcpu-4gb");
    let sources = stack("db-s-4vcpu-8gb", "nyc3");
    let (set, graph) = load(&borrowed(&sources));
    let plan = plan(&set, &graph, &state);
    let now = |lineage: &str, serial| StateRef {
        lineage: lineage.to_owned(),
        serial,
    };
    assert_eq!(
        check_fresh(&plan, &now(&state.lineage, state.serial)),
        Ok(())
    );
    assert!(matches!(
        check_fresh(&plan, &now(&state.lineage, state.serial + 1)),
        Err(Staleness::Serial { .. })
    ));
    assert!(matches!(
        check_fresh(&plan, &now("another", state.serial)),
        Err(Staleness::Lineage { .. })
    ));

    // Planned against an empty state that another apply has since filled.
    let fresh = support::plan(&set, &graph, &Snapshot::default());
    assert_eq!(check_fresh(&fresh, &now("", 0)), Ok(()));
    assert_eq!(check_fresh(&fresh, &now("new-lineage", 0)), Ok(()));
    let error = check_fresh(&fresh, &now("new-lineage", 3)).unwrap_err();
    assert!(matches!(error, Staleness::StateCreated { .. }));
    assert!(error.to_string().starts_with("saved plan is stale"));
}

#[test]
fn markdown_stays_under_the_comment_limit_and_says_what_it_cut() {
    // Four files: one YAML file holds at most 1,024 documents.
    let files: Vec<String> = (0..4)
        .map(|file| {
            let mut text = String::new();
            for index in file * 500..(file + 1) * 500 {
                text.push_str(&format!(
                    "---\napiVersion: digital-ocean.project-planton.org/v1\nkind: DigitalOceanVpc\nmetadata: {{name: vpc-{index:04}}}\nspec: {{region: nyc3, description: \"network number {index} with a long description\"}}\n"
                ));
            }
            text
        })
        .collect();
    let names = ["a.yaml", "b.yaml", "c.yaml", "d.yaml"];
    let sources: Vec<(&str, &str)> = names
        .iter()
        .copied()
        .zip(files.iter().map(String::as_str))
        .collect();
    let (set, graph) = load(&sources);
    let plan = plan(&set, &graph, &Snapshot::default());
    let markdown = render::markdown(&plan, &render::Review::default());
    assert!(markdown.chars().count() <= render::MARKDOWN_LIMIT);
    assert!(
        markdown.contains("This comment was cut to stay under 65535 characters"),
        "{}",
        &markdown[markdown.len() - 500..]
    );
    assert!(
        markdown.starts_with("### dbplan plan\n\n> [!NOTE]\n> **Ready to apply:**"),
        "{}",
        &markdown[..200]
    );
    assert!(markdown.contains("**2000 to create"));
    // The changed addresses survive the cut, as many as fit, with how many more there are.
    assert!(
        markdown.contains("#### Changed addresses\n\n- create (2000): DigitalOceanVpc/vpc-0000, DigitalOceanVpc/vpc-0001, "),
        "{markdown}"
    );
    assert!(
        markdown.contains(
            " changed addresses are not listed; `dbplan show` on the saved plan lists every change."
        ) || markdown.contains("DigitalOceanVpc/vpc-1999\n"),
        "{markdown}"
    );
    assert_eq!(
        markdown,
        render::markdown(&plan, &render::Review::default()),
        "deterministic"
    );
}

#[test]
fn nested_values_and_long_strings_are_diffed_line_by_line_and_word_by_word() {
    let description = "Private network for the application databases of the payments team";
    let original = format!(
        "apiVersion: digital-ocean.project-planton.org/v1\nkind: DigitalOceanVpc\nmetadata: {{name: main-vpc}}\nspec: {{region: nyc3, description: \"{description}\"}}\n---\n{}",
        cluster("db-s-2vcpu-4gb", "nyc3", "")
    );
    let (set, graph) = load(&[("all.yaml", original.as_str())]);
    let state = applied(
        &plan(&set, &graph, &Snapshot::default()),
        &Snapshot::default(),
    );
    let changed = original
        .replace("of the payments team", "of the payments and billing teams")
        .replace(
            "nodeCount: 2",
            "nodeCount: 2\n  tags: [env-prod, team-payments]",
        );
    let (set, graph) = load(&[("all.yaml", changed.as_str())]);
    let plan = plan(&set, &graph, &state);
    let text = render::text(&plan, TextOptions::default());
    assert!(
        text.contains("of the payments [-team-]{+and billing teams+}"),
        "a long string is diffed word by word:\n{text}"
    );
    assert!(
        text.contains("+ tags = ["),
        "an attribute not recorded before is added:\n{text}"
    );
    let markdown = render::markdown(&plan, &render::Review::default());
    assert!(markdown.contains("~ description ="), "{markdown}");

    let with_tags = changed.replace("team-payments]", "team-payments, tier-1]");
    let state = applied(&plan, &state);
    let (set, graph) = load(&[("all.yaml", with_tags.as_str())]);
    let text = render::text(&support::plan(&set, &graph, &state), TextOptions::default());
    assert!(text.contains("~ tags ="), "{text}");
    assert!(
        text.contains("-   \"team-payments\""),
        "a list is diffed line by line:\n{text}"
    );
    assert!(text.contains("+   \"tier-1\""), "{text}");
}

#[test]
fn every_example_plan_revalidates_and_an_edited_value_does_not() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut planned_examples = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let folder = entry.unwrap().path();
        if !folder.is_dir() || folder.ends_with("bad") {
            continue;
        }
        let (set, diagnostics) = dbplan_manifest::load_paths(std::slice::from_ref(&folder));
        if diagnostics
            .iter()
            .any(|d| d.severity == dbplan_diagnostics::Severity::Error)
        {
            continue;
        }
        let (graph, _) = dbplan_graph::build(&set);
        let planned = plan_with(
            &set,
            &graph,
            &Snapshot::default(),
            &Run {
                env: vec![("ORDERS_DB_PASSWORD", "x"), ("PG_ADMIN_PASSWORD", "y")],
                ..Run::default()
            },
        );
        let mistakes = dbplan_plan::revalidate::revalidate(&planned.plan);
        assert!(mistakes.is_empty(), "{}: {mistakes:#?}", folder.display());
        planned_examples += 1;
    }
    assert!(planned_examples >= 5, "the examples were found");

    // A value no manifest may have, as if the plan file had been edited.
    let sources = stack("db-s-4vcpu-8gb", "nyc3");
    let (set, graph) = load(&borrowed(&sources));
    let mut plan = plan(&set, &graph, &Snapshot::default());
    let cluster = plan
        .changes
        .iter_mut()
        .find(|change| change.kind() == Kind::DigitalOceanDatabaseCluster)
        .unwrap();
    cluster
        .after
        .insert("node_count".to_owned(), dbplan_core::Value::Int(-3));
    cluster.after.insert(
        "engine".to_owned(),
        dbplan_core::Value::String("oracle\"; DROP".to_owned()),
    );
    let mistakes = dbplan_plan::revalidate::revalidate(&plan);
    assert!(
        mistakes
            .iter()
            .any(|m| m.contains("DigitalOceanDatabaseCluster/app-db")),
        "{mistakes:#?}"
    );
    assert!(mistakes.len() >= 2, "both edits are found: {mistakes:#?}");
}

#[test]
fn a_parameter_removed_from_a_parameter_group_is_said_to_stay_on_aws() {
    let env = vec![("ORDERS_DB_PASSWORD", "correct-horse")];
    let run = || Run {
        env: env.clone(),
        ..Run::default()
    };
    let with = |parameters: &str| format!("{}  parameters:\n{parameters}", aurora("16.4", true));
    let both = with(
        "    - {name: log_min_duration_statement, value: \"500\"}\n    - {name: rds.force_ssl, value: \"1\", applyMethod: pending-reboot}\n",
    );
    let (set, graph) = load(&[("orders.yaml", both.as_str())]);
    let state = applied(
        &plan_with(&set, &graph, &Snapshot::default(), &run()).plan,
        &Snapshot::default(),
    );

    // One parameter dropped: an update of the list, with a note that AWS keeps its value.
    let one = with("    - {name: log_min_duration_statement, value: \"500\"}\n");
    let (set, graph) = load(&[("orders.yaml", one.as_str())]);
    let planned = plan_with(&set, &graph, &state, &run()).plan;
    let group = change(&planned, "AwsRdsCluster/orders/parameter-group");
    assert_eq!(group.action, Action::Update);
    assert_eq!(group.changed, ["parameters"]);
    let note = group.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("`rds.force_ssl` removed from `parameters`")
            && note.contains("AWS keeps the value")
            && !note.contains("log_min_duration_statement"),
        "{note}"
    );
    let text = render::text(&planned, TextOptions::default());
    assert!(text.contains("AWS keeps the value"), "{text}");

    // A value changed, nothing removed: no note.
    let changed = with(
        "    - {name: log_min_duration_statement, value: \"900\"}\n    - {name: rds.force_ssl, value: \"1\", applyMethod: pending-reboot}\n",
    );
    let (set, graph) = load(&[("orders.yaml", changed.as_str())]);
    let planned = plan_with(&set, &graph, &state, &run()).plan;
    let group = change(&planned, "AwsRdsCluster/orders/parameter-group");
    assert_eq!(group.action, Action::Update);
    assert_eq!(group.note, None);
}

#[test]
fn enable_public_connectivity_is_accepted_but_never_planned() {
    let private = cluster("db-s-1vcpu-1gb", "nyc3", "").replace(
        "  nodeCount: 2\n",
        "  nodeCount: 2\n  enablePublicConnectivity: false\n",
    );
    let sources = [("vpc.yaml", vpc("nyc3")), ("cluster.yaml", private)];
    let (set, graph) = load(&borrowed(&sources));
    let created = plan(&set, &graph, &Snapshot::default());
    let cluster_change = change(&created, "DigitalOceanDatabaseCluster/app-db");
    assert_eq!(cluster_change.action, Action::Create);
    assert!(
        !cluster_change
            .after
            .contains_key("enable_public_connectivity"),
        "{:?}",
        cluster_change.after.keys().collect::<Vec<_>>()
    );
    let text = render::text(&created, TextOptions::default());
    assert!(!text.contains("enable_public_connectivity"), "{text}");

    // A state that recorded it (an older dbplan planned it) forgets it in the state only,
    // with a note saying why.
    let mut state = applied(&created, &Snapshot::default());
    state
        .resources
        .get_mut(&address("DigitalOceanDatabaseCluster/app-db"))
        .unwrap()
        .attributes
        .insert(
            "enable_public_connectivity".to_owned(),
            dbplan_state::StateValue::plain(false),
        );
    let migrated = plan(&set, &graph, &state);
    let cluster_change = change(&migrated, "DigitalOceanDatabaseCluster/app-db");
    assert_eq!(cluster_change.action, Action::Update);
    assert_eq!(cluster_change.changed, ["enable_public_connectivity"]);
    assert!(
        cluster_change
            .note
            .as_deref()
            .is_some_and(|note| note.contains("not a DigitalOcean setting")),
        "{:?}",
        cluster_change.note
    );
    let state = applied(&migrated, &state);
    assert!(!plan(&set, &graph, &state).has_changes());
}
