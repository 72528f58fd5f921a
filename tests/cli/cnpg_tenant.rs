//! A `CnpgCluster` found existing by the first plan, and a `TenantDatabase` on a `CnpgCluster`,
//! declaratively, against the fake Kubernetes API server
//! (CloudNativePG's CRDs, server-side apply, the simulated operator): `examples/cnpg-home`
//! applies whole; the tenant's role is an item of the Cluster's `spec.managed.roles` (field
//! manager `dbplan-roles`) with its password in a basic-auth Secret, its database a CNPG
//! `Database`; the connection secret file holds the same password and the cluster's service;
//! re-plan is a no-op; a role taken out of the managed roles behind dbplan's back is drift,
//! whose repair is a conflict until forced; the tenant's deletion protection blocks destroy; with `Delete`, destroy drops
//! the role (`ensure: absent`) and the database and removes the password Secret.

use crate::{assert_code, stdout, text};
use base64::Engine;
use dbplan_testkit::kubernetes::{FakeConfig, FakeKubernetes};
use serde_json::{Value as Json, json};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const CLUSTER: &str = "/apis/postgresql.cnpg.io/v1/namespaces/databases/clusters/home-pg";
const DATABASE: &str = "/apis/postgresql.cnpg.io/v1/namespaces/databases/databases/home-pg-photos";
const PASSWORD_SECRET: &str = "/api/v1/namespaces/databases/secrets/home-pg-role-photos-user";

fn run(directory: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbplan"));
    command
        .args(args)
        .current_dir(directory)
        .env("KUBECONFIG", directory.join("kubeconfig"))
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("DBPLAN_STATE")
        .env_remove("DBPLAN_KUBERNETES_FORCE_CONFLICTS")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn copy_example(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir("examples/cnpg-home").unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|extension| extension == "yaml")
        {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

fn get(fake: &FakeKubernetes, path: &str) -> Option<Json> {
    let reply = fake.call("GET", path, None, None).unwrap();
    match reply.status {
        200 => Some(reply.json),
        404 => None,
        status => panic!("GET {path}: {status} {}", reply.text),
    }
}

fn role_item(cluster: &Json) -> Option<Json> {
    cluster
        .pointer("/spec/managed/roles")
        .and_then(Json::as_array)
        .and_then(|roles| {
            roles
                .iter()
                .find(|role| role["name"] == "photos_user")
                .cloned()
        })
}

fn decoded(secret: &Json, key: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(secret["data"][key].as_str().unwrap())
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

fn env_file(path: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

fn start() -> (tempfile::TempDir, FakeKubernetes) {
    let directory = tempfile::tempdir().unwrap();
    let fake = FakeKubernetes::start(FakeConfig {
        status_delay: Duration::from_millis(20),
        ..FakeConfig::default()
    })
    .unwrap();
    fake.write_kubeconfig(&directory.path().join("kubeconfig"))
        .unwrap();
    let namespace = fake
        .call_json(
            "POST",
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "databases"}}),
        )
        .unwrap();
    assert!(namespace.status < 300, "{}", namespace.text);
    copy_example(&directory.path().join("m"));
    (directory, fake)
}

#[test]
fn a_tenant_on_a_cnpg_cluster_is_a_managed_role_and_a_database_object() {
    let (directory, fake) = start();
    let dir = directory.path();

    let applied = run(dir, &["apply", "m", "--auto-approve"], &[]);
    assert_code(&applied, 0);
    assert!(
        text(&applied).contains("TenantDatabase/photos/role: created"),
        "{}",
        text(&applied)
    );

    // The role: an item of the Cluster's managed roles, owned by `dbplan-roles`, reconciled.
    let cluster = get(&fake, CLUSTER).unwrap();
    let item = role_item(&cluster).expect("the tenant's role is a managed role");
    assert_eq!(item["ensure"], "present");
    assert_eq!(item["login"], true);
    assert_eq!(item["superuser"], false);
    assert_eq!(item["passwordSecret"]["name"], "home-pg-role-photos-user");
    let roles_manager = cluster["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["manager"] == "dbplan-roles")
        .expect("dbplan-roles manages the roles");
    assert!(
        roles_manager["fieldsV1"]["f:spec"]["f:managed"]
            .get("f:roles")
            .is_some(),
        "{roles_manager}"
    );
    let cluster_manager = cluster["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["manager"] == "dbplan" && entry["operation"] == "Apply")
        .unwrap();
    assert!(
        cluster_manager["fieldsV1"]["f:spec"]
            .get("f:managed")
            .is_none(),
        "the cluster part does not own the roles: {cluster_manager}"
    );
    assert_eq!(
        cluster["status"]["managedRolesStatus"]["byStatus"]["reconciled"],
        // The cluster's own database's owner is a managed role too, added before its Database.
        json!(["nextcloud", "photos_user"])
    );

    // Its password: a basic-auth Secret, the operator reloads it; the same password as the
    // connection secret's, which points at the cluster's read-write service.
    let secret = get(&fake, PASSWORD_SECRET).unwrap();
    assert_eq!(secret["type"], "kubernetes.io/basic-auth");
    assert_eq!(secret["metadata"]["labels"]["cnpg.io/reload"], "true");
    assert_eq!(decoded(&secret, "username"), "photos_user");
    let password = decoded(&secret, "password");
    assert_eq!(password.len(), 32);
    let connection = env_file(&dir.join("m/secrets/photos.env"));
    assert_eq!(connection["DB_PASSWORD"], password);
    assert_eq!(connection["DB_HOST"], "home-pg-rw.databases.svc");
    assert_eq!(connection["DB_PORT"], "5432");
    assert_eq!(connection["DB_USER"], "photos_user");
    assert_eq!(connection["DB_NAME"], "photos");

    // The database: a CNPG Database owned by the role, with its extension, retained while it
    // lives, applied.
    let database = get(&fake, DATABASE).unwrap();
    assert_eq!(database["spec"]["name"], "photos");
    assert_eq!(database["spec"]["owner"], "photos_user");
    assert_eq!(database["spec"]["cluster"]["name"], "home-pg");
    assert_eq!(
        database["spec"]["extensions"],
        json!([{"name": "pgcrypto", "ensure": "present"}])
    );
    assert_eq!(database["spec"]["databaseReclaimPolicy"], "retain");
    assert_eq!(database["status"]["applied"], true);

    // No password in any output.
    let planned = run(dir, &["plan", "m", "--detailed-exitcode"], &[]);
    assert_code(&planned, 0);
    assert!(
        stdout(&planned).contains("No changes"),
        "{}",
        text(&planned)
    );
    let json = run(dir, &["plan", "m", "--format", "json"], &[]);
    for output in [&applied, &planned, &json] {
        assert!(!text(output).contains(&password), "{}", text(output));
    }

    // Taken out of the managed roles behind dbplan's back by another manager: the role is
    // gone for dbplan, which plans to create it again; the repair is a conflict naming that
    // manager (it now owns the list, which is atomic for server-side apply) until forced.
    let others: Vec<Json> = cluster["spec"]["managed"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|role| role["name"] != "photos_user")
        .cloned()
        .collect();
    let patch = json!({
        "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
        "metadata": {"name": "home-pg", "namespace": "databases"},
        "spec": {"managed": {"roles": others}},
    });
    let edited = fake
        .call(
            "PATCH",
            &format!("{CLUSTER}?fieldManager=kubectl&force=true"),
            Some("application/apply-patch+yaml"),
            Some(&patch.to_string()),
        )
        .unwrap();
    assert!(edited.status < 300, "{}", edited.text);
    let drift = run(dir, &["plan", "m", "--detailed-exitcode"], &[]);
    assert_code(&drift, 2);
    let said = stdout(&drift);
    assert!(
        said.contains("TenantDatabase/photos/role will be created"),
        "{}",
        text(&drift)
    );
    let refused = run(dir, &["apply", "m", "--auto-approve"], &[]);
    assert_code(&refused, 1);
    assert!(
        text(&refused).contains("`kubectl`")
            && text(&refused).contains("DBPLAN_KUBERNETES_FORCE_CONFLICTS"),
        "{}",
        text(&refused)
    );
    let forced = run(
        dir,
        &["apply", "m", "--auto-approve"],
        &[("DBPLAN_KUBERNETES_FORCE_CONFLICTS", "1")],
    );
    assert_code(&forced, 0);
    let cluster = get(&fake, CLUSTER).unwrap();
    assert_eq!(role_item(&cluster).unwrap()["ensure"], "present");
    // Created again, the role has a new password, and the connection secret follows it.
    let secret = get(&fake, PASSWORD_SECRET).unwrap();
    let renewed = decoded(&secret, "password");
    assert_ne!(renewed, password);
    let connection = env_file(&dir.join("m/secrets/photos.env"));
    assert_eq!(connection["DB_PASSWORD"], renewed);
    let again = run(dir, &["plan", "m", "--detailed-exitcode"], &[]);
    assert_code(&again, 0);

    // The example's tenant has deletion protection: destroy is blocked, nothing is touched.
    let blocked = run(
        dir,
        &[
            "destroy",
            "m",
            "--target",
            "TenantDatabase/photos",
            "--auto-approve",
        ],
        &[],
    );
    assert_code(&blocked, 1);
    assert!(
        text(&blocked).contains("deletion protection"),
        "{}",
        text(&blocked)
    );
    assert!(get(&fake, DATABASE).is_some());
}

#[test]
fn destroying_a_tenant_with_delete_drops_its_role_and_database() {
    let (directory, fake) = start();
    let dir = directory.path();
    let manifest = dir.join("m/cluster.yaml");
    let text_before = std::fs::read_to_string(&manifest).unwrap();
    let unprotected = text_before.replace(
        "  deletionProtection: true\n",
        "  deletionProtection: false\n  roleDeletionPolicy: Delete\n  dbDeletionPolicy: Delete\n",
    );
    assert_ne!(
        unprotected, text_before,
        "the example's tenant has deletionProtection"
    );
    std::fs::write(&manifest, unprotected).unwrap();
    let applied = run(dir, &["apply", "m", "--auto-approve"], &[]);
    assert_code(&applied, 0);
    assert!(get(&fake, DATABASE).is_some());

    let destroyed = run(
        dir,
        &[
            "destroy",
            "m",
            "--target",
            "TenantDatabase/photos",
            "--auto-approve",
        ],
        &[],
    );
    assert_code(&destroyed, 0);
    // The database's object is gone (its reclaim policy set to drop it first), the role is to
    // be absent (the operator drops it; an item removed from the list would stay in
    // PostgreSQL), its password Secret is gone, the cluster and its own database stay.
    assert!(get(&fake, DATABASE).is_none(), "{}", text(&destroyed));
    let cluster = get(&fake, CLUSTER).unwrap();
    let item = role_item(&cluster).unwrap();
    assert_eq!(item["ensure"], "absent");
    // The item to drop names no Secret (the Secret is deleted next, and an item whose Secret
    // is missing cannot be reconciled).
    assert!(item.get("passwordSecret").is_none(), "{item}");
    // The operator lists a dropped role as reconciled, with no password state: apply waited
    // for that report, not for the one from before the change.
    let roles = &cluster["status"]["managedRolesStatus"];
    assert_eq!(
        roles["byStatus"]["reconciled"],
        json!(["nextcloud", "photos_user"]),
        "{roles}"
    );
    assert!(
        roles["passwordStatus"].get("photos_user").is_none(),
        "{roles}"
    );
    assert!(
        roles["passwordStatus"].get("nextcloud").is_some(),
        "{roles}"
    );
    assert!(get(&fake, PASSWORD_SECRET).is_none());
    assert!(
        get(
            &fake,
            "/apis/postgresql.cnpg.io/v1/namespaces/databases/databases/home-pg-nextcloud"
        )
        .is_some()
    );
    assert!(!dir.join("m/secrets/photos.env").exists());
    let listed = run(dir, &["state", "list"], &[]);
    assert_code(&listed, 0);
    assert!(
        !stdout(&listed).contains("TenantDatabase/photos"),
        "{}",
        text(&listed)
    );
}

/// A Cluster that already exists (made by someone else) is found by the first plan: shown as an
/// adopt, blocked without the opt-in, and taken over with `--adopt` (server-side apply shares
/// the fields both managers set to the same values).
#[test]
fn an_existing_cluster_is_an_adopt_blocked_without_the_opt_in() {
    let (directory, fake) = start();
    let dir = directory.path();
    let cluster_only = std::fs::read_to_string(dir.join("m/cluster.yaml"))
        .unwrap()
        .split("\n---\n")
        .next()
        .unwrap()
        .to_owned();
    std::fs::remove_dir_all(dir.join("m")).unwrap();
    std::fs::create_dir_all(dir.join("m")).unwrap();
    std::fs::write(dir.join("m/cluster.yaml"), cluster_only).unwrap();
    assert_code(&run(dir, &["render", "m", "--out", "rendered"], &[]), 0);
    let rendered =
        std::fs::read_to_string(dir.join("rendered/databases/cluster-home-pg.yaml")).unwrap();
    let created = fake
        .call(
            "PATCH",
            &format!("{CLUSTER}?fieldManager=kubectl&force=false"),
            Some("application/apply-patch+yaml"),
            Some(&rendered),
        )
        .unwrap();
    assert!(created.status < 300, "{}", created.text);

    let planned = run(dir, &["plan", "m"], &[]);
    assert_code(&planned, 1);
    assert!(
        stdout(&planned).contains("<= CnpgCluster/home-pg/cluster {")
            && stdout(&planned).contains("blocked: CnpgCluster/home-pg/cluster exists"),
        "{}",
        text(&planned)
    );
    assert!(
        text(&planned).contains("field manager"),
        "{}",
        text(&planned)
    );
    let refused = run(dir, &["apply", "m", "--auto-approve"], &[]);
    assert_code(&refused, 1);
    let adopted = run(
        dir,
        &[
            "apply",
            "m",
            "--adopt",
            "CnpgCluster/home-pg",
            "--auto-approve",
        ],
        &[],
    );
    assert_code(&adopted, 0);
    let cluster = get(&fake, CLUSTER).unwrap();
    let managers: Vec<&str> = cluster["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["manager"].as_str())
        .collect();
    assert!(
        managers.contains(&"dbplan") && managers.contains(&"kubectl"),
        "{managers:?}"
    );
    assert_code(&run(dir, &["plan", "m", "--detailed-exitcode"], &[]), 0);
}

/// Drift in what the cluster part renders beyond the Cluster itself (the ObjectStore's
/// retention, the ScheduledBackup's schedule) and in a parameter whose name holds a `.` shows
/// as a change of the attribute it renders from.
#[test]
fn backup_settings_and_dotted_parameters_drift_into_their_attributes() {
    let (directory, fake) = start();
    let dir = directory.path();
    let cluster_only = std::fs::read_to_string(dir.join("m/cluster.yaml"))
        .unwrap()
        .split("\n---\n")
        .next()
        .unwrap()
        .replace(
            "shared_buffers: 256MB",
            "shared_buffers: 256MB\n      pg_stat_statements.track: all",
        );
    std::fs::remove_dir_all(dir.join("m")).unwrap();
    std::fs::create_dir_all(dir.join("m")).unwrap();
    std::fs::write(dir.join("m/cluster.yaml"), cluster_only).unwrap();
    assert_code(&run(dir, &["apply", "m", "--auto-approve"], &[]), 0);
    assert_code(&run(dir, &["plan", "m", "--detailed-exitcode"], &[]), 0);

    let edit = |path: &str, kind: &str, api_version: &str, name: &str, spec: Json| {
        let patch = json!({
            "apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": "databases"},
            "spec": spec,
        });
        let reply = fake
            .call(
                "PATCH",
                &format!("{path}?fieldManager=kubectl&force=true"),
                Some("application/apply-patch+yaml"),
                Some(&patch.to_string()),
            )
            .unwrap();
        assert!(reply.status < 300, "{}", reply.text);
    };
    edit(
        "/apis/barmancloud.cnpg.io/v1/namespaces/databases/objectstores/home-pg-backup",
        "ObjectStore",
        "barmancloud.cnpg.io/v1",
        "home-pg-backup",
        json!({"retentionPolicy": "30d"}),
    );
    edit(
        "/apis/postgresql.cnpg.io/v1/namespaces/databases/scheduledbackups/home-pg-scheduled-backup",
        "ScheduledBackup",
        "postgresql.cnpg.io/v1",
        "home-pg-scheduled-backup",
        json!({"schedule": "0 0 5 * * *", "cluster": {"name": "home-pg"}}),
    );
    edit(
        CLUSTER,
        "Cluster",
        "postgresql.cnpg.io/v1",
        "home-pg",
        json!({"postgresql": {"parameters": {"pg_stat_statements.track": "top"}}}),
    );
    let drift = run(
        dir,
        &["plan", "m", "--detailed-exitcode", "--format", "json"],
        &[],
    );
    assert_code(&drift, 2);
    let plan: Json = serde_json::from_slice(&drift.stdout).unwrap();
    let cluster = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["address"] == "CnpgCluster/home-pg/cluster")
        .unwrap();
    assert_eq!(cluster["action"], "update", "{cluster}");
    assert_eq!(cluster["before"]["backup"]["retention_policy"], "30d");
    assert_eq!(cluster["before"]["backup"]["schedule"], "0 0 5 * * *");
    assert_eq!(
        cluster["before"]["postgresql"]["parameters"]["pg_stat_statements.track"],
        "top"
    );
    assert_eq!(cluster["after"]["backup"]["retention_policy"], "7d");
    assert_eq!(
        cluster["after"]["postgresql"]["parameters"]["pg_stat_statements.track"],
        "all"
    );
}

/// A tenant database whose `Database` object name the API server refuses (a DNS subdomain
/// cannot end with `-`) stops the plan, offline, with the CRD's message; `render` refuses it
/// too.
#[test]
fn a_tenant_object_its_crd_refuses_stops_the_plan() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    copy_example(&dir.join("m"));
    let manifest = dir.join("m/cluster.yaml");
    let example = std::fs::read_to_string(&manifest).unwrap();
    let renamed = example.replacen(
        "  extensions: [pgcrypto]\n",
        "  databaseName: photos_\n  extensions: [pgcrypto]\n",
        1,
    );
    assert_ne!(renamed, example);
    std::fs::write(&manifest, renamed).unwrap();
    let planned = run(dir, &["plan", "m", "--offline"], &[]);
    assert_code(&planned, 1);
    let said = text(&planned);
    assert!(said.contains("error[S002]"), "{said}");
    assert!(
        said.contains("resource: TenantDatabase/photos/database"),
        "{said}"
    );
    assert!(
        said.contains(
            "Database home-pg-photos- (in the namespace of CnpgCluster/home-pg): metadata.name"
        ),
        "{said}"
    );
    assert!(said.contains("plan not made"), "{said}");
    let rendered = run(dir, &["render", "m", "--out", "out"], &[]);
    assert_code(&rendered, 1);
    assert!(
        text(&rendered).contains("error[S002]"),
        "{}",
        text(&rendered)
    );
    assert!(!dir.join("out").exists());
}
