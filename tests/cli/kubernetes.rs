//! A `CnpgCluster` through `dbplan` against the fake Kubernetes API server (CloudNativePG's
//! CRDs and a simulated operator): `examples/cnpg-home` applied from empty, the objects and
//! their field manager, a refreshed re-plan with no change, drift read only from the fields
//! dbplan manages (server-side apply ownership: another manager's field is a conflict until
//! forced), destroy behind policy DB701, an operator that reports a failing cluster, injected
//! API faults, and a server that never answers.

use crate::{assert_code, stdout, text};
use dbplan_testkit::kubernetes::{
    Failure, FailureRule, FakeConfig, FakeKubernetes, Fault, FaultRule,
};
use serde_json::{Value, json};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const CLUSTER: &str = "/apis/postgresql.cnpg.io/v1/namespaces/databases/clusters/home-pg";
const SCHEDULED_BACKUP: &str =
    "/apis/postgresql.cnpg.io/v1/namespaces/databases/scheduledbackups/home-pg-scheduled-backup";
const OBJECT_STORE: &str =
    "/apis/barmancloud.cnpg.io/v1/namespaces/databases/objectstores/home-pg-backup";
const DATABASE: &str =
    "/apis/postgresql.cnpg.io/v1/namespaces/databases/databases/home-pg-nextcloud";
const CONNECTION_SECRET: &str = "/api/v1/namespaces/databases/secrets/home-pg-connection";
const APP_SECRET: &str = "/api/v1/namespaces/databases/secrets/home-pg-app";

/// Every object dbplan applies for the example.
const OBJECTS: [&str; 5] = [
    CLUSTER,
    SCHEDULED_BACKUP,
    OBJECT_STORE,
    DATABASE,
    CONNECTION_SECRET,
];

struct Lab {
    fake: FakeKubernetes,
    directory: tempfile::TempDir,
}

impl Lab {
    /// A fake whose operator settles objects within milliseconds, the namespace `databases`
    /// created (as README's recipe does), and `examples/cnpg-home`'s cluster copied into
    /// `cnpg-home/` (without the example's tenant database, which is not this test's subject).
    fn start() -> Lab {
        let fake = FakeKubernetes::start(FakeConfig {
            status_delay: Duration::from_millis(5),
            ..FakeConfig::default()
        })
        .unwrap_or_else(|error| panic!("{error}"));
        let directory = tempfile::tempdir().unwrap();
        fake.write_kubeconfig(&directory.path().join("kubeconfig"))
            .unwrap();
        let namespace = fake
            .call(
                "PATCH",
                "/api/v1/namespaces/databases?fieldManager=kubectl&force=true",
                Some("application/apply-patch+yaml"),
                Some(r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "databases"}}"#),
            )
            .unwrap();
        assert!(namespace.status < 300, "{}", namespace.text);
        super::copy_example("cnpg-home", &directory.path().join("cnpg-home"), |text| {
            let cluster = text
                .split("\n---\n")
                .next()
                .expect("the example's first document")
                .to_owned();
            assert!(cluster.contains("kind: CnpgCluster"), "{cluster}");
            cluster + "\n"
        });
        Lab { fake, directory }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dbplan"));
        command
            .args(args)
            .current_dir(self.directory.path())
            .env("NO_COLOR", "1")
            .env("KUBECONFIG", self.directory.path().join("kubeconfig"))
            .env_remove("RUST_LOG")
            .env_remove("DBPLAN_STATE")
            .env_remove("DBPLAN_KUBERNETES_FORCE_CONFLICTS")
            .env_remove("DBPLAN_CONNECT_TIMEOUT")
            .env_remove("DBPLAN_READ_TIMEOUT")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn apply(&self) -> Output {
        self.run(&["apply", "cnpg-home", "--auto-approve"])
    }

    fn plan(&self) -> Output {
        self.run(&["plan", "cnpg-home", "--detailed-exitcode"])
    }

    fn json_plan(&self) -> Value {
        let output = self.run(&["plan", "cnpg-home", "--format", "json"]);
        assert_code(&output, 0);
        serde_json::from_slice(&output.stdout).unwrap()
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.directory.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }

    /// The object at `path`, which must exist.
    fn get(&self, path: &str) -> Value {
        let reply = self.fake.call("GET", path, None, None).unwrap();
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
        reply.json
    }

    fn status_of(&self, path: &str) -> u16 {
        self.fake.call("GET", path, None, None).unwrap().status
    }

    /// A server-side apply of `patch` as another field manager, forcing conflicts (what
    /// `kubectl apply --server-side --force-conflicts --field-manager MANAGER` sends).
    fn apply_as(&self, manager: &str, path: &str, patch: &Value) {
        let reply = self
            .fake
            .call(
                "PATCH",
                &format!("{path}?fieldManager={manager}&force=true"),
                Some("application/apply-patch+yaml"),
                Some(&patch.to_string()),
            )
            .unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
}

/// The `managedFields` entries of an object: `(manager, operation)`.
fn managers(object: &Value) -> Vec<(String, String)> {
    object["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["manager"].as_str().unwrap().to_owned(),
                entry["operation"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The `fieldsV1` tree of a manager's entry with `operation` (`Null` when it has none).
fn owned(object: &Value, manager: &str, operation: &str) -> Value {
    object["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["manager"] == manager && entry["operation"] == operation)
        .map(|entry| entry["fieldsV1"].clone())
        .unwrap_or(Value::Null)
}

/// The addresses a JSON plan changes, with their actions.
fn planned_changes(plan: &Value) -> Vec<(String, String)> {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["action"] != "no-op")
        .map(|change| {
            (
                change["address"].as_str().unwrap().to_owned(),
                change["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// Long: one scenario on one applied cluster: each object's fields, then the re-plans.
#[test]
fn cnpg_home_applies_every_object_as_dbplan_and_replans_with_no_change() {
    let lab = Lab::start();
    let applied = lab.apply();
    assert_code(&applied, 0);

    // The Cluster, with the fields the manifest asks for.
    let cluster = lab.get(CLUSTER);
    let spec = &cluster["spec"];
    assert_eq!(spec["instances"], 3);
    assert_eq!(spec["imageName"], "ghcr.io/cloudnative-pg/postgresql:17");
    // (The API server adds the schema's defaults, such as `resizeInUseVolumes`.)
    assert_eq!(spec["storage"]["size"], "20Gi");
    assert_eq!(spec["storage"]["storageClass"], "local-path");
    assert_eq!(spec["walStorage"]["size"], "5Gi");
    assert_eq!(spec["walStorage"]["storageClass"], "local-path");
    assert_eq!(
        spec["bootstrap"]["initdb"],
        json!({"database": "app", "owner": "app"})
    );
    assert_eq!(
        spec["postgresql"]["parameters"],
        json!({"max_connections": "200", "shared_buffers": "256MB"})
    );
    assert_eq!(spec["plugins"][0]["name"], "barman-cloud.cloudnative-pg.io");
    assert_eq!(
        spec["plugins"][0]["parameters"]["barmanObjectName"],
        "home-pg-backup"
    );
    assert_eq!(
        cluster["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "dbplan"
    );
    assert_eq!(
        cluster["metadata"]["annotations"]["dbplan.io/resource"],
        "CnpgCluster/home-pg"
    );
    assert_eq!(cluster["status"]["phase"], "Cluster in healthy state");

    // The Barman Cloud plugin's ObjectStore, the ScheduledBackup and the Database.
    let store = lab.get(OBJECT_STORE);
    assert_eq!(
        store["spec"]["configuration"]["destinationPath"],
        "s3://backups/home-pg"
    );
    assert_eq!(
        store["spec"]["configuration"]["endpointURL"],
        "http://minio.storage.svc:9000"
    );
    assert_eq!(store["spec"]["retentionPolicy"], "7d");
    let store_credentials = store["spec"]["configuration"]["s3Credentials"].to_string();
    assert!(
        store_credentials.contains("minio-backup-credentials"),
        "{store_credentials}"
    );
    let scheduled = lab.get(SCHEDULED_BACKUP);
    assert_eq!(scheduled["spec"]["schedule"], "0 0 3 * * *");
    assert_eq!(scheduled["spec"]["immediate"], true);
    assert_eq!(scheduled["spec"]["method"], "plugin");
    assert_eq!(scheduled["spec"]["cluster"]["name"], "home-pg");
    let database = lab.get(DATABASE);
    assert_eq!(database["spec"]["name"], "nextcloud");
    assert_eq!(database["spec"]["owner"], "nextcloud");
    assert_eq!(database["spec"]["cluster"]["name"], "home-pg");
    assert_eq!(database["spec"]["databaseReclaimPolicy"], "retain");
    assert_eq!(
        database["spec"]["extensions"][0]["name"], "pg_trgm",
        "{database}"
    );
    assert_eq!(database["status"]["applied"], true);
    let secret = lab.get(CONNECTION_SECRET);
    let mut keys: Vec<&String> = secret["data"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "DATABASE_URL",
            "DB_HOST",
            "DB_NAME",
            "DB_PASSWORD",
            "DB_PORT",
            "DB_USER"
        ]
    );

    // Each object is dbplan's by server-side apply: one `Apply` entry of manager `dbplan`
    // owning the spec it set (the operator's status writes are its own, `manager`).
    for path in OBJECTS {
        let object = lab.get(path);
        let entries = managers(&object);
        assert!(
            entries.contains(&("dbplan".to_owned(), "Apply".to_owned())),
            "{path}: {entries:?}"
        );
        assert!(
            entries
                .iter()
                .all(|(manager, operation)| manager != "dbplan" || operation == "Apply"),
            "{path}: {entries:?}"
        );
    }
    let mine = owned(&cluster, "dbplan", "Apply");
    assert_eq!(mine["f:spec"]["f:instances"], json!({}), "{mine}");
    assert!(mine["f:status"].is_null(), "{mine}");

    // A refreshed re-plan has nothing to do, though the operator wrote statuses and defaults.
    let planned = lab.plan();
    assert_code(&planned, 0);
    assert!(
        stdout(&planned).contains("No changes"),
        "{}",
        text(&planned)
    );

    // Another manager's fields, which dbplan does not set, are no drift: a label, a
    // description and a parameter the manifest does not name.
    lab.apply_as(
        "kubectl",
        CLUSTER,
        &json!({
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": "home-pg", "namespace": "databases", "labels": {"team": "home"}},
            "spec": {"description": "set by hand", "postgresql": {"parameters": {"work_mem": "8MB"}}}
        }),
    );
    let unmanaged = lab.plan();
    assert_code(&unmanaged, 0);
    // dbplan's next apply of the Cluster leaves them in place: it owns only its own fields.
    lab.edit(
        "cnpg-home/cluster.yaml",
        "max_connections: \"200\"",
        "max_connections: \"300\"",
    );
    let before = lab.fake.stats().count("PATCH", CLUSTER);
    let reapplied = lab.apply();
    assert_code(&reapplied, 0);
    assert!(
        lab.fake.stats().count("PATCH", CLUSTER) > before,
        "{}",
        text(&reapplied)
    );
    let cluster = lab.get(CLUSTER);
    assert_eq!(
        cluster["spec"]["postgresql"]["parameters"]["max_connections"],
        "300"
    );
    assert_eq!(cluster["spec"]["description"], "set by hand");
    assert_eq!(
        cluster["spec"]["postgresql"]["parameters"]["work_mem"],
        "8MB"
    );
    assert_eq!(cluster["metadata"]["labels"]["team"], "home");
    assert_code(&lab.plan(), 0);
}

// Long: one scenario on one applied cluster: take-over, drift, conflict, force, update.
#[test]
fn a_managed_field_changed_by_another_manager_is_drift_and_a_conflict_until_forced() {
    let lab = Lab::start();
    assert_code(&lab.apply(), 0);

    // `kubectl apply --server-side --force-conflicts` of one instance: kubectl takes
    // `spec.instances` over from dbplan.
    lab.apply_as(
        "kubectl",
        CLUSTER,
        &json!({
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": "home-pg", "namespace": "databases"},
            "spec": {"instances": 1}
        }),
    );
    let taken = lab.get(CLUSTER);
    assert_eq!(taken["spec"]["instances"], 1);
    assert!(owned(&taken, "dbplan", "Apply")["f:spec"]["f:instances"].is_null());
    assert_eq!(
        owned(&taken, "kubectl", "Apply")["f:spec"]["f:instances"],
        json!({})
    );

    // The plan shows exactly that change: the cluster part, `instances` 1 -> 3.
    let drift = lab.plan();
    assert_code(&drift, 2);
    let plan = lab.json_plan();
    assert_eq!(
        planned_changes(&plan),
        [(
            "CnpgCluster/home-pg/cluster".to_owned(),
            "update".to_owned()
        )],
        "{plan}"
    );
    let change = crate::change(&plan, "CnpgCluster/home-pg/cluster");
    let changed: Vec<&str> = change["changed_attributes"]
        .as_array()
        .unwrap_or_else(|| panic!("{change}"))
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    assert_eq!(changed, ["instances"], "{change}");
    assert!(
        stdout(&drift).contains("instances") && stdout(&drift).contains("1 -> 3"),
        "{}",
        text(&drift)
    );

    // Server-side apply semantics: kubectl owns the field now, with another value, so
    // dbplan's apply is a conflict naming the manager and the field, and changes nothing.
    let refused = lab.apply();
    assert_code(&refused, 1);
    let said = text(&refused);
    assert!(
        said.contains("CnpgCluster/home-pg/cluster")
            && said.contains(".spec.instances (managed by `kubectl`)")
            && said.contains("DBPLAN_KUBERNETES_FORCE_CONFLICTS=1"),
        "{said}"
    );
    assert_eq!(lab.get(CLUSTER)["spec"]["instances"], 1);

    // Forced, dbplan takes the field back: its value and its ownership.
    let forced = lab
        .command(&["apply", "cnpg-home", "--auto-approve"])
        .env("DBPLAN_KUBERNETES_FORCE_CONFLICTS", "1")
        .output()
        .unwrap();
    assert_code(&forced, 0);
    let back = lab.get(CLUSTER);
    assert_eq!(back["spec"]["instances"], 3);
    assert_eq!(
        owned(&back, "dbplan", "Apply")["f:spec"]["f:instances"],
        json!({})
    );
    assert!(owned(&back, "kubectl", "Apply")["f:spec"]["f:instances"].is_null());
    assert_code(&lab.plan(), 0);

    // An update (a merge patch, as `kubectl edit` or `kubectl patch` sends) takes the field
    // over too: drift, then a conflict with that manager.
    let patched = lab
        .fake
        .call(
            "PATCH",
            &format!("{DATABASE}?fieldManager=kubectl-edit"),
            Some("application/merge-patch+json"),
            Some(r#"{"spec": {"owner": "someone"}}"#),
        )
        .unwrap();
    assert_eq!(patched.status, 200, "{}", patched.text);
    let drift = lab.plan();
    assert_code(&drift, 2);
    assert_eq!(
        planned_changes(&lab.json_plan()),
        [(
            "CnpgCluster/home-pg/database-nextcloud".to_owned(),
            "update".to_owned()
        )]
    );
    let refused = lab.apply();
    assert_code(&refused, 1);
    assert!(
        text(&refused).contains(".spec.owner (managed by `kubectl-edit`)"),
        "{}",
        text(&refused)
    );
}

// Long: one scenario: refused, waived, then a destroy held and watched mid-way.
#[test]
fn destroy_is_refused_by_policy_until_waived_then_deletes_everything() {
    let lab = Lab::start();
    assert_code(&lab.apply(), 0);

    // DB701: the cluster and its database hold data, and the manifest did not opt in.
    let refused = lab.run(&["destroy", "cnpg-home", "--auto-approve"]);
    assert_code(&refused, 3);
    assert!(
        text(&refused).contains("DB701") && text(&refused).contains("CnpgCluster/home-pg/cluster"),
        "{}",
        text(&refused)
    );
    for path in OBJECTS {
        assert_eq!(lab.status_of(path), 200, "{path} was touched");
    }

    // The documented way: waive DB701 in the manifest, apply that (recorded in state, no
    // call to the API), then destroy.
    lab.edit(
        "cnpg-home/cluster.yaml",
        "  labels: {env: home}\n",
        "  labels: {env: home}\n  annotations:\n    dbplan.io/waive.DB701: \"home lab torn down on purpose; owner=test\"\n",
    );
    let before = lab.fake.stats();
    let waived = lab.apply();
    assert_code(&waived, 0);
    assert_eq!(
        lab.fake.stats().count("PATCH", CLUSTER),
        before.count("PATCH", CLUSTER),
        "{}",
        text(&waived)
    );

    // Foreground propagation: the Cluster goes only after what it owns. A dependent that a
    // finalizer holds (as a volume claim in use would be) keeps the Cluster, marked for
    // deletion, and the destroy waiting, until it goes.
    let uid = lab.get(CLUSTER)["metadata"]["uid"].clone();
    let hold = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "home-pg-held", "namespace": "databases",
            "finalizers": ["test.dbplan.io/hold"],
            "ownerReferences": [{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                "name": "home-pg", "uid": uid, "controller": false, "blockOwnerDeletion": true}]
        },
        "data": {}
    });
    let created = lab
        .fake
        .call_json("POST", "/api/v1/namespaces/databases/secrets", &hold)
        .unwrap();
    assert!(created.status < 300, "{}", created.text);
    let held = "/api/v1/namespaces/databases/secrets/home-pg-held";
    let mut destroying = lab
        .command(&["destroy", "cnpg-home", "--auto-approve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while lab.get(held)["metadata"]["deletionTimestamp"].is_null() {
        assert!(
            destroying.try_wait().unwrap().is_none(),
            "destroy ended before the Cluster's dependents were deleted"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the Cluster's dependent was not deleted within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let terminating = lab.get(CLUSTER);
    assert!(
        !terminating["metadata"]["deletionTimestamp"].is_null(),
        "{terminating}"
    );
    assert_eq!(
        terminating["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    assert!(destroying.try_wait().unwrap().is_none());
    let released = lab
        .fake
        .call(
            "PATCH",
            held,
            Some("application/merge-patch+json"),
            Some(r#"{"metadata": {"finalizers": null}}"#),
        )
        .unwrap();
    assert_eq!(released.status, 200, "{}", released.text);
    let destroyed = destroying.wait_with_output().unwrap();
    assert_code(&destroyed, 0);
    for path in OBJECTS {
        assert_eq!(lab.status_of(path), 404, "{path} is still there");
    }
    assert_eq!(lab.status_of(held), 404);
    assert_eq!(lab.status_of(APP_SECRET), 404);
    let listed = lab.run(&["state", "list"]);
    assert_code(&listed, 0);
    assert!(
        !stdout(&listed).contains("CnpgCluster/home-pg"),
        "{}",
        text(&listed)
    );
}

#[test]
fn a_cluster_the_operator_reports_as_failing_fails_apply_with_its_message() {
    let lab = Lab::start();
    lab.fake.fail(FailureRule {
        kind: "Cluster".to_owned(),
        namespace: "databases".to_owned(),
        name: "home-pg".to_owned(),
        failure: Failure {
            phase: "Cluster is in an unrecoverable state, needs manual intervention".to_owned(),
            message: "primary instance home-pg-1 lost its volume".to_owned(),
        },
    });
    let applied = lab.apply();
    assert_code(&applied, 1);
    let said = text(&applied);
    assert!(
        said.contains("CnpgCluster/home-pg/cluster")
            && said.contains("unrecoverable state")
            && said.contains("primary instance home-pg-1 lost its volume"),
        "{said}"
    );
    // The parts after the cluster are reported, not attempted.
    for part in [
        "scheduled-backup",
        "database-nextcloud",
        "connection-secret",
    ] {
        assert!(
            said.contains(&format!("CnpgCluster/home-pg/{part}")),
            "{said}"
        );
    }
    assert_eq!(lab.status_of(DATABASE), 404);
    // The lock is released, and the cluster recovers on the next apply.
    assert_code(&lab.run(&["state", "list"]), 0);
    lab.fake.clear_failure("Cluster", "databases", "home-pg");
    assert_code(&lab.apply(), 0);
    assert_code(&lab.plan(), 0);
}

#[test]
fn throttling_server_errors_and_stale_conflicts_are_retried() {
    let lab = Lab::start();
    let fault = |path: &str, fault: Fault, count: u32| FaultRule {
        verb: Some("PATCH".to_owned()),
        path: path.to_owned(),
        fault,
        count,
    };
    lab.fake.add_fault(fault(
        CLUSTER,
        Fault::TooManyRequests {
            retry_after_seconds: 1,
        },
        1,
    ));
    lab.fake
        .add_fault(fault(OBJECT_STORE, Fault::InternalError, 2));
    lab.fake.add_fault(fault(DATABASE, Fault::Conflict, 1));
    let applied = lab.apply();
    assert_code(&applied, 0);
    let stats = lab.fake.stats();
    assert_eq!(stats.faults.get("429"), Some(&1), "{stats:?}");
    assert_eq!(stats.faults.get("500"), Some(&2), "{stats:?}");
    assert_eq!(stats.faults.get("409"), Some(&1), "{stats:?}");
    // The Cluster: the throttled apply, its retry, and the database owner's managed role (as
    // `dbplan-roles`).
    assert_eq!(stats.count("PATCH", CLUSTER), 3, "{stats:?}");
    assert_eq!(stats.count("PATCH", OBJECT_STORE), 3, "{stats:?}");
    assert_eq!(stats.count("PATCH", DATABASE), 2, "{stats:?}");
    for path in OBJECTS {
        assert_eq!(lab.status_of(path), 200, "{path}");
    }
    assert_code(&lab.plan(), 0);
}

#[test]
fn a_persistent_server_error_fails_its_part_only_and_names_it() {
    let lab = Lab::start();
    lab.fake.add_fault(FaultRule {
        verb: Some("PATCH".to_owned()),
        path: DATABASE.to_owned(),
        fault: Fault::InternalError,
        count: 100,
    });
    let applied = lab.apply();
    assert_code(&applied, 1);
    let said = text(&applied);
    assert!(
        said.contains("CnpgCluster/home-pg/database-nextcloud")
            && said.contains("Database databases/home-pg-nextcloud"),
        "{said}"
    );
    // The independent parts applied; the lock is released.
    for path in [CLUSTER, SCHEDULED_BACKUP, CONNECTION_SECRET] {
        assert_eq!(lab.status_of(path), 200, "{path}");
    }
    assert_code(&lab.run(&["state", "list"]), 0);
    lab.fake.clear_faults();
    assert_code(&lab.apply(), 0);
    assert_code(&lab.plan(), 0);
}

#[test]
fn a_server_that_never_answers_fails_the_apply_bounded_and_releases_the_lock() {
    let lab = Lab::start();
    // A listener that accepts connections and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    std::fs::write(
        lab.directory.path().join("silent.kubeconfig"),
        dbplan_testkit::kubernetes::kubeconfig(&format!("http://{address}"), "token"),
    )
    .unwrap();
    let applied = lab
        .command(&["apply", "cnpg-home", "--auto-approve"])
        .env("KUBECONFIG", lab.directory.path().join("silent.kubeconfig"))
        .env("DBPLAN_READ_TIMEOUT", "0.2")
        .output()
        .unwrap();
    assert_code(&applied, 1);
    let said = text(&applied);
    assert!(
        said.contains("CnpgCluster/home-pg/cluster")
            && said.contains("no answer within 0.2 s")
            && said.contains("DBPLAN_READ_TIMEOUT"),
        "{said}"
    );
    let listed = lab.run(&["state", "list"]);
    assert_code(&listed, 0);
}
