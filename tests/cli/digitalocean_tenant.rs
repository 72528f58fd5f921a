//! Tenant databases on a DigitalOcean cluster dbplan manages, end to end: the cluster in the
//! fake DigitalOcean API, whose `pg` clusters have a real local PostgreSQL with TLS behind them
//! (their connection names the server's certificate name, their CA is the server's CA, and the
//! users and databases the API makes are made there), reached through
//! `admin_connection.connect_via`, as a tunnel to a private cluster would be.

use crate::apply::{Lab, Tunnel};
use crate::{assert_code, text};
use dbplan_testkit::digitalocean::{FakeConfig, FakeDigitalOcean, SqlBackend};
use serde_json::Value;
use std::process::Output;
use std::time::Duration;

const TOKEN: &str = "dop_v1_tenant0canary0token0never0shown0c4";

/// The cluster and two tenants: `billing` (dropped on destroy, protected when `protected`,
/// with `limit` connections) and `ledger` (left in place on destroy). The tunnel is at `via`.
fn manifests(via: u16, protected: bool, limit: u32) -> String {
    format!(
        r#"apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanDatabaseCluster
metadata:
  name: shared-pg
spec:
  clusterName: shared-pg
  engine: pg
  engineVersion: "16"
  region: nyc3
  sizeSlug: db-s-1vcpu-2gb
  nodeCount: 2
  adminConnection:
    connectVia: {{host: 127.0.0.1, port: {via}}}
---
apiVersion: dbplan.io/v1
kind: TenantDatabase
metadata:
  name: billing
spec:
  server: {{kind: DigitalOceanDatabaseCluster, name: shared-pg}}
  databaseName: billing
  owner: billing_app
  extensions: [pgcrypto]
  connectionLimit: {limit}
  deletionProtection: {protected}
  roleDeletionPolicy: Delete
  dbDeletionPolicy: Delete
  connectionSecret: {{file: secrets/billing.env, format: env}}
---
apiVersion: dbplan.io/v1
kind: TenantDatabase
metadata:
  name: ledger
spec:
  server: {{kind: DigitalOceanDatabaseCluster, name: shared-pg}}
  deletionProtection: false
  roleDeletionPolicy: Orphan
  dbDeletionPolicy: Orphan
  connectionSecret: {{file: secrets/ledger.env, format: env}}
"#
    )
}

struct DoLab {
    lab: Lab,
    fake: FakeDigitalOcean,
}

impl DoLab {
    fn start() -> DoLab {
        DoLab::start_for(dbplan_testkit::TLS_ONLY_NAME)
    }

    /// The lab with clusters whose connection names `host`.
    fn start_for(host: &str) -> DoLab {
        let lab = Lab::start_with_tls();
        let backend =
            SqlBackend::postgres(&lab.server, host).unwrap_or_else(|error| panic!("{error}"));
        let fake = FakeDigitalOcean::start(FakeConfig {
            token: Some(TOKEN.to_owned()),
            create_delay: Duration::from_millis(300),
            sql: Some(backend),
            ..FakeConfig::default()
        })
        .unwrap_or_else(|error| panic!("{error}"));
        DoLab { lab, fake }
    }

    /// Runs `dbplan` with the fake's URL and token, at `RUST_LOG=trace`.
    fn run(&self, args: &[&str]) -> Output {
        self.lab
            .command(args)
            .env("DIGITALOCEAN_TOKEN", TOKEN)
            .env("DIGITALOCEAN_API_URL", self.fake.url())
            .env("RUST_LOG", "trace")
            .output()
            .unwrap()
    }

    fn cluster(&self) -> Value {
        let (status, body) = self.fake.call("GET", "/v2/databases", None).unwrap();
        assert_eq!(status, 200, "{body}");
        body["databases"][0].clone()
    }

    /// The names of the cluster's users, as the API lists them.
    fn api_users(&self) -> Vec<String> {
        let id = self.cluster()["id"].as_str().unwrap().to_owned();
        let (status, body) = self
            .fake
            .call("GET", &format!("/v2/databases/{id}/users"), None)
            .unwrap();
        assert_eq!(status, 200, "{body}");
        let mut names: Vec<String> = body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|user| user["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }

    fn secret(&self, name: &str, key: &str) -> String {
        let secret = self.lab.env_secret(name);
        secret
            .iter()
            .find(|(found, _)| found == key)
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("{key} in {secret:?}"))
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn tenants_on_a_digitalocean_cluster_are_made_through_its_api_and_over_tls_with_its_ca() {
    let lab = DoLab::start();
    let tunnel = Tunnel::to(lab.lab.server.port);
    let write = |protected: bool, limit: u32| {
        std::fs::write(
            lab.lab.path("db.yaml"),
            manifests(tunnel.port, protected, limit),
        )
        .unwrap();
    };
    write(false, 5);

    // Offline, the tenants are planned and plan says nothing about what cannot be applied.
    let offline = lab.lab.run(&["plan", "db.yaml", "--offline"]);
    assert_code(&offline, 0);
    assert!(
        !text(&offline).contains("cannot be applied"),
        "{}",
        text(&offline)
    );

    let applied = lab.run(&["apply", "db.yaml", "--auto-approve"]);
    assert_code(&applied, 0);
    assert!(tunnel.used() > 0, "apply went through the tunnel");

    // The users were made through the API (which generated their passwords), the databases
    // too, and both exist on the server behind the cluster.
    assert_eq!(
        lab.api_users(),
        names(&["billing_app", "doadmin", "ledger_user"])
    );
    let databases = lab.cluster()["db_names"].clone();
    for name in ["billing", "ledger"] {
        assert!(
            databases.as_array().unwrap().iter().any(|db| db == name),
            "{databases}"
        );
    }
    assert_eq!(
        lab.lab.sql(
            "postgres",
            "SELECT pg_get_userbyid(datdba) || ' ' || (SELECT rolconnlimit FROM pg_roles WHERE rolname = 'billing_app') FROM pg_database WHERE datname = 'billing'"
        ),
        "billing_app 5"
    );
    assert_eq!(
        lab.lab.sql(
            "billing",
            "SELECT extname FROM pg_extension WHERE extname = 'pgcrypto'"
        ),
        "pgcrypto"
    );
    // The applications inside the network use the cluster's own host and port.
    assert_eq!(
        lab.secret("billing", "DB_HOST"),
        dbplan_testkit::TLS_ONLY_NAME
    );
    assert_eq!(lab.secret("billing", "DB_PORT"), "25060");
    let password = lab.secret("billing", "DB_PASSWORD");
    assert_eq!(
        lab.lab.login("billing_app", &password, "billing"),
        Ok("billing_app".to_owned())
    );
    assert_eq!(
        lab.lab.login(
            "ledger_user",
            &lab.secret("ledger", "DB_PASSWORD"),
            "ledger"
        ),
        Ok("ledger_user".to_owned())
    );

    // The admin password is read from the API when needed, and never printed or written: not
    // in a saved plan, a log at trace level, a tenant's secret or the state.
    let admin_password = lab.cluster()["connection"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!text(&applied).contains(&admin_password));
    assert!(!text(&applied).contains(TOKEN));
    let saved = lab.run(&["plan", "db.yaml", "--out", "review.plan"]);
    assert_code(&saved, 0);
    assert!(!text(&saved).contains(&admin_password));
    crate::aurora_tenant::assert_in_no_file(
        lab.lab.directory.path(),
        &admin_password,
        "admin password",
    );

    // Planned again (read back from the API and the server): no change.
    assert_code(&lab.run(&["plan", "db.yaml", "--detailed-exitcode"]), 0);

    // The connection limit changed alone: an in-place update of the role, over SQL.
    write(false, 8);
    let planned = lab.run(&["plan", "db.yaml", "--detailed-exitcode"]);
    assert_code(&planned, 2);
    assert!(
        text(&planned).contains("connection_limit"),
        "{}",
        text(&planned)
    );
    assert_code(&lab.run(&["apply", "db.yaml", "--auto-approve"]), 0);
    assert_eq!(
        lab.lab.sql(
            "postgres",
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'billing_app'"
        ),
        "8"
    );
    assert_eq!(lab.secret("billing", "DB_PASSWORD"), password);

    // Drift: the user and database deleted in the control panel (through the API) are made
    // again; DigitalOcean generates a new password, which the connection secret carries.
    let id = lab.cluster()["id"].as_str().unwrap().to_owned();
    for path in ["dbs/billing", "users/billing_app"] {
        let (status, body) = lab
            .fake
            .call("DELETE", &format!("/v2/databases/{id}/{path}"), None)
            .unwrap();
        assert_eq!(status, 204, "{body}");
    }
    assert_code(&lab.run(&["plan", "db.yaml", "--detailed-exitcode"]), 2);
    assert_code(&lab.run(&["apply", "db.yaml", "--auto-approve"]), 0);
    let renewed = lab.secret("billing", "DB_PASSWORD");
    assert_ne!(renewed, password);
    assert_eq!(
        lab.lab.login("billing_app", &renewed, "billing"),
        Ok("billing_app".to_owned())
    );
    assert_code(&lab.run(&["plan", "db.yaml", "--detailed-exitcode"]), 0);

    // DigitalOcean has no call that renames a user: a new owner is refused, nothing changes.
    let renamed =
        manifests(tunnel.port, false, 8).replace("owner: billing_app", "owner: billing_owner");
    std::fs::write(lab.lab.path("db.yaml"), renamed).unwrap();
    let warned = lab.run(&["plan", "db.yaml"]);
    assert_code(&warned, 0);
    assert!(
        text(&warned).contains("TenantDatabase/billing/role: DigitalOcean cannot rename the database user \"billing_app\" to \"billing_owner\", so apply will fail here"),
        "{}",
        text(&warned)
    );
    let refused = lab.run(&["apply", "db.yaml", "--auto-approve"]);
    assert_code(&refused, 1);
    // The failed step names its address once.
    assert!(
        text(&refused).contains("error: update TenantDatabase/billing/role: DigitalOcean cannot rename the database user \"billing_app\""),
        "{}",
        text(&refused)
    );
    assert!(lab.api_users().contains(&"billing_app".to_owned()));
    write(false, 8);
    assert_code(&lab.run(&["plan", "db.yaml", "--detailed-exitcode"]), 0);

    // Protected, the tenant is not destroyed.
    write(true, 8);
    assert_code(&lab.run(&["apply", "db.yaml", "--auto-approve"]), 0);
    let refused = lab.run(&[
        "destroy",
        "db.yaml",
        "--target",
        "TenantDatabase/billing",
        "--auto-approve",
    ]);
    assert_code(&refused, 1);
    assert!(lab.lab.databases().contains(&"billing".to_owned()));

    // Unprotected: billing (Delete) is dropped through the API, a session on it
    // notwithstanding; ledger (Orphan) stays, with its user, on the cluster and the server.
    write(false, 8);
    assert_code(&lab.run(&["apply", "db.yaml", "--auto-approve"]), 0);
    // The application's own session on its database, as a running service holds one.
    let mut session = std::process::Command::new(dbplan_testkit::pg_bin().unwrap().join("psql"))
        .args(["-X", "-q", "-h", "127.0.0.1"])
        .args(["-p", &lab.lab.server.port.to_string()])
        .args(["-U", "billing_app", "-d", "billing"])
        .args(["-c", "SELECT pg_sleep(600)"])
        .env("PGPASSWORD", &renewed)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    lab.lab.wait_until_server_shows(
        "a session on billing",
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE datname = 'billing'",
        || assert!(session.try_wait().unwrap().is_none(), "the session ended"),
    );
    let destroyed = lab.run(&[
        "destroy",
        "db.yaml",
        "--target",
        "TenantDatabase/billing",
        "--target",
        "TenantDatabase/ledger",
        "--auto-approve",
    ]);
    let _ = session.kill();
    let _ = session.wait();
    assert_code(&destroyed, 0);
    assert_eq!(lab.api_users(), names(&["doadmin", "ledger_user"]));
    assert!(!lab.lab.databases().contains(&"billing".to_owned()));
    assert!(lab.lab.databases().contains(&"ledger".to_owned()));
    assert!(!lab.lab.roles().contains(&"billing_app".to_owned()));
    assert!(lab.lab.roles().contains(&"ledger_user".to_owned()));
}

/// TLS verifies the cluster's host name against the CA the API gives: a server whose
/// certificate does not name the cluster's host is refused before the admin password is sent,
/// and `sslmode: require` (encryption without verification) is the manifest's explicit choice.
#[test]
fn a_cluster_whose_certificate_does_not_name_its_host_is_refused_under_the_default_verify_full() {
    let lab = DoLab::start_for("elsewhere.dbplan.test");
    let tunnel = Tunnel::to(lab.lab.server.port);
    let write = |sslmode: &str| {
        let text = manifests(tunnel.port, false, 5).replace(
            "  adminConnection:\n",
            &format!("  adminConnection:\n{sslmode}"),
        );
        std::fs::write(lab.lab.path("db.yaml"), text).unwrap();
    };
    write("");
    let refused = lab.run(&["apply", "db.yaml", "--auto-approve"]);
    assert_code(&refused, 1);
    let said = text(&refused);
    assert!(said.contains("certificate"), "{said}");
    assert!(said.contains("elsewhere.dbplan.test"), "{said}");
    assert!(!lab.lab.roles().contains(&"billing_app".to_owned()));

    // The failed creates left `pending` records with the refused settings; the next plan
    // reads them with the settings the manifest declares now.
    write("    sslmode: require\n");
    let applied = lab.run(&["apply", "db.yaml", "--auto-approve"]);
    assert_code(&applied, 0);
    assert!(lab.lab.roles().contains(&"billing_app".to_owned()));
}

/// An admin connection on a cluster that is not PostgreSQL, a tunnel host with a scheme and an
/// unknown field are each reported at their place, in one run.
#[test]
fn admin_connection_mistakes_on_a_digitalocean_cluster_are_reported_at_their_place() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(
        directory.path().join("do.yaml"),
        "apiVersion: digital-ocean.project-planton.org/v1\nkind: DigitalOceanDatabaseCluster\nmetadata:\n  name: cache\nspec:\n  clusterName: cache\n  engine: mysql\n  engineVersion: \"8\"\n  region: nyc3\n  sizeSlug: db-s-1vcpu-1gb\n  nodeCount: 1\n  adminConnection:\n    connectVia: {host: \"ssh://127.0.0.1\", port: 15432}\n---\napiVersion: digital-ocean.project-planton.org/v1\nkind: DigitalOceanDatabaseCluster\nmetadata:\n  name: main\nspec:\n  clusterName: main\n  engine: pg\n  engineVersion: \"16\"\n  region: nyc3\n  sizeSlug: db-s-1vcpu-1gb\n  nodeCount: 1\n  adminConnection:\n    iamUser: dbplan\n---\napiVersion: dbplan.io/v1\nkind: DigitalOceanDatabaseClusterReference\nmetadata:\n  name: platform\nspec:\n  clusterName: platform\n  engine: pg\n  adminConnection:\n    connectVia: {host: \"ssh://127.0.0.1\", port: 15432}\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dbplan"))
        .args(["validate", "do.yaml"])
        .current_dir(directory.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_code(&output, 1);
    let said = text(&output);
    assert!(said.contains("do.yaml:12:"), "{said}");
    assert!(said.contains("this cluster's engine is mysql"), "{said}");
    assert!(said.contains("do.yaml:13:24"), "{said}");
    assert!(
        said.contains("the port goes in its own `port` field"),
        "{said}"
    );
    assert!(said.contains("do.yaml:27:5"), "{said}");
    assert!(said.contains("iamUser"), "{said}");
    // A reference declares no setting of the cluster, and its tunnel is checked as a cluster's.
    assert!(said.contains("do.yaml:35:3"), "{said}");
    assert!(said.contains("do.yaml:37:24"), "{said}");
}

/// A cluster made by someone else, referenced (`platform-pg`, reached through `via`), with one
/// tenant on it when `tenant`.
fn reference_manifests(via: u16, tenant: bool) -> String {
    let mut text = format!(
        r#"apiVersion: dbplan.io/v1
kind: DigitalOceanDatabaseClusterReference
metadata:
  name: platform-pg
spec:
  clusterName: platform-pg
  adminConnection:
    connectVia: {{host: 127.0.0.1, port: {via}}}
"#
    );
    if tenant {
        text.push_str(
            r#"---
apiVersion: dbplan.io/v1
kind: TenantDatabase
metadata:
  name: orders
spec:
  server: {kind: DigitalOceanDatabaseClusterReference, name: platform-pg}
  deletionProtection: false
  roleDeletionPolicy: Delete
  dbDeletionPolicy: Delete
  connectionSecret: {file: secrets/orders.env, format: env}
"#,
        );
    }
    text
}

impl DoLab {
    /// A cluster made through the API, not by dbplan, once it is online.
    fn cluster_made_by_another_team(&self, name: &str, engine: &str, version: &str) -> Value {
        let (status, body) = self
            .fake
            .call(
                "POST",
                "/v2/databases",
                Some(&serde_json::json!({
                    "name": name, "engine": engine, "version": version, "region": "nyc3",
                    "size": "db-s-1vcpu-2gb", "num_nodes": 1
                })),
            )
            .unwrap();
        assert_eq!(status, 201, "{body}");
        let id = body["database"]["id"].as_str().unwrap().to_owned();
        for _ in 0..200 {
            let (_, body) = self
                .fake
                .call("GET", &format!("/v2/databases/{id}"), None)
                .unwrap();
            if body["database"]["status"] == "online" {
                return body["database"].clone();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the cluster {name} never came online");
    }
}

/// A DigitalOcean cluster dbplan does not manage: referenced, read and never changed; its
/// admin login read from the API each time and recorded nowhere, the state included.
#[test]
fn tenants_on_a_referenced_digitalocean_cluster_never_touch_it_or_record_its_admin_password() {
    let lab = DoLab::start();
    let tunnel = Tunnel::to(lab.lab.server.port);
    let cluster = lab.cluster_made_by_another_team("platform-pg", "pg", "16");
    let admin_password = cluster["connection"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(
        lab.lab.path("db.yaml"),
        reference_manifests(tunnel.port, true),
    )
    .unwrap();

    // Offline, without a token: lint and plan work, the cluster's values unknown.
    assert_code(&lab.lab.run(&["lint", "db.yaml"]), 0);
    let offline = lab.lab.run(&["plan", "db.yaml", "--offline"]);
    assert_code(&offline, 0);
    let said = text(&offline);
    assert!(
        said.contains("DigitalOceanDatabaseClusterReference/platform-pg will be read"),
        "{said}"
    );
    assert!(!said.contains("cannot be applied"), "{said}");

    let applied = lab.run(&["apply", "db.yaml", "--auto-approve"]);
    assert_code(&applied, 0);
    assert!(tunnel.used() > 0, "apply went through the tunnel");
    assert_eq!(
        lab.api_users(),
        names(&["doadmin", "orders_user"]),
        "the user was made through the API"
    );
    assert_eq!(
        lab.lab.login(
            "orders_user",
            &lab.secret("orders", "DB_PASSWORD"),
            "orders"
        ),
        Ok("orders_user".to_owned())
    );
    assert_eq!(
        lab.secret("orders", "DB_HOST"),
        dbplan_testkit::TLS_ONLY_NAME
    );

    // What the reference records: where the cluster is, not how to log in to it.
    let outputs = lab.run(&[
        "output",
        "DigitalOceanDatabaseClusterReference/platform-pg",
        "--json",
        "--show-sensitive",
    ]);
    assert_code(&outputs, 0);
    let recorded: Value = serde_json::from_slice(&outputs.stdout).unwrap();
    let recorded = &recorded["DigitalOceanDatabaseClusterReference/platform-pg"];
    assert_eq!(recorded["cluster_id"], cluster["id"], "{recorded}");
    assert_eq!(recorded["engine"], "pg", "{recorded}");
    assert_eq!(recorded["database_name"], "defaultdb", "{recorded}");

    // The admin password is in no output at trace level, no plan file and no file of the
    // working directory, the state included.
    assert_code(&lab.run(&["plan", "db.yaml", "--out", "review.plan"]), 0);
    for output in [&applied, &outputs] {
        assert!(!text(output).contains(&admin_password));
        assert!(!text(output).contains(TOKEN));
    }
    crate::aurora_tenant::assert_in_no_file(
        lab.lab.directory.path(),
        &admin_password,
        "admin password",
    );
    assert_code(&lab.run(&["plan", "db.yaml", "--detailed-exitcode"]), 0);

    // The tunnel moved to another local port, alone: the tenant's recorded `admin` is updated
    // in place through the new tunnel; nothing else changes, the password included.
    let password = lab.secret("orders", "DB_PASSWORD");
    let moved = Tunnel::to(lab.lab.server.port);
    std::fs::write(
        lab.lab.path("db.yaml"),
        reference_manifests(moved.port, true),
    )
    .unwrap();
    let planned = lab.run(&["plan", "db.yaml", "--detailed-exitcode"]);
    assert_code(&planned, 2);
    let said = text(&planned);
    assert!(
        said.contains("TenantDatabase/orders/role will be updated in place"),
        "{said}"
    );
    assert!(!said.contains("will be created"), "{said}");
    assert!(!said.contains("must be replaced"), "{said}");
    assert_code(&lab.run(&["apply", "db.yaml", "--auto-approve"]), 0);
    assert!(moved.used() > 0, "apply went through the new tunnel");
    assert_eq!(lab.secret("orders", "DB_PASSWORD"), password);
    assert_code(&lab.run(&["plan", "db.yaml", "--detailed-exitcode"]), 0);

    // Destroyed: the tenant (Delete) is dropped, the reference forgotten, and the cluster is
    // still there, online, with its admin user.
    let destroyed = lab.run(&["destroy", "db.yaml", "--auto-approve"]);
    assert_code(&destroyed, 0);
    assert!(!lab.lab.databases().contains(&"orders".to_owned()));
    assert_eq!(lab.api_users(), names(&["doadmin"]));
    assert_eq!(lab.cluster()["status"], "online");
    assert_eq!(lab.cluster()["id"], cluster["id"]);
    assert_code(&lab.run(&["plan", "db.yaml", "--detailed-exitcode"]), 2);

    // Recorded, then deleted by its team: the next plan stops, as for a cluster never read;
    // a destroy, which reads no reference to create, is not stopped, and removes the record of
    // what is gone.
    std::fs::write(
        lab.lab.path("db.yaml"),
        reference_manifests(moved.port, false),
    )
    .unwrap();
    assert_code(&lab.run(&["apply", "db.yaml", "--auto-approve"]), 0);
    let id = cluster["id"].as_str().unwrap();
    let (status, body) = lab
        .fake
        .call("DELETE", &format!("/v2/databases/{id}"), None)
        .unwrap();
    assert_eq!(status, 204, "{body}");
    let gone = lab.run(&["plan", "db.yaml"]);
    assert_code(&gone, 1);
    assert!(
        text(&gone).contains("the referenced cluster \"platform-pg\" does not exist"),
        "{}",
        text(&gone)
    );
    let destroyed = lab.run(&["destroy", "db.yaml", "--auto-approve"]);
    assert_code(&destroyed, 0);
    assert!(
        text(&destroyed).contains("DigitalOceanDatabaseClusterReference/platform-pg was deleted outside dbplan: its record will be removed from the state"),
        "{}",
        text(&destroyed)
    );
    let listed = lab.run(&["state", "list"]);
    assert_code(&listed, 0);
    assert_eq!(crate::stdout(&listed).trim(), "", "the record is removed");
}

/// A reference is read by `plan`, as Terraform reads a data source: one to a cluster the
/// account does not have stops the plan (and apply) and is never created; a tenant on a
/// referenced cluster that runs another engine stops it with the engine named.
#[test]
fn a_missing_or_non_postgresql_referenced_digitalocean_cluster_is_refused() {
    let lab = DoLab::start();
    std::fs::write(lab.lab.path("db.yaml"), reference_manifests(15432, true)).unwrap();
    let planned = lab.run(&["plan", "db.yaml"]);
    assert_code(&planned, 1);
    let said = text(&planned);
    assert!(
        said.contains("the referenced cluster \"platform-pg\" does not exist"),
        "{said}"
    );
    assert!(said.contains("check `cluster_name`"), "{said}");
    let missing = lab.run(&["apply", "db.yaml", "--auto-approve"]);
    assert_code(&missing, 1);
    assert!(
        text(&missing).contains("the referenced cluster \"platform-pg\" does not exist"),
        "{}",
        text(&missing)
    );
    let (_, body) = lab.fake.call("GET", "/v2/databases", None).unwrap();
    assert_eq!(
        body["databases"],
        serde_json::json!([]),
        "nothing was created"
    );

    lab.cluster_made_by_another_team("platform-pg", "mysql", "8");
    let planned = lab.run(&["plan", "db.yaml"]);
    assert_code(&planned, 1);
    assert!(
        text(&planned).contains(
            "TenantDatabase/orders: DigitalOceanDatabaseClusterReference/platform-pg runs mysql, not PostgreSQL"
        ),
        "{}",
        text(&planned)
    );
    // Without tenants on it, the reference alone is read and recorded.
    std::fs::write(lab.lab.path("db.yaml"), reference_manifests(15432, false)).unwrap();
    assert_code(&lab.run(&["apply", "db.yaml", "--auto-approve"]), 0);
    std::fs::write(lab.lab.path("db.yaml"), reference_manifests(15432, true)).unwrap();
    // Recorded and refreshed, it stops the plan of a tenant on it all the same.
    let planned = lab.run(&["plan", "db.yaml"]);
    assert_code(&planned, 1);
    assert!(
        text(&planned).contains("runs mysql, not PostgreSQL"),
        "{}",
        text(&planned)
    );
    let refused = lab.run(&["apply", "db.yaml", "--auto-approve"]);
    assert_code(&refused, 1);
    let said = text(&refused);
    assert!(
        said.contains(
            "DigitalOceanDatabaseClusterReference/platform-pg runs mysql, not PostgreSQL"
        ),
        "{said}"
    );
    assert!(!lab.lab.roles().contains(&"orders_user".to_owned()));
}
