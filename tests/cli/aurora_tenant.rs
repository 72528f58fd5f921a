//! Tenant databases on an Aurora cluster dbplan manages, end to end: the cluster in moto
//! (which makes a real Secrets Manager secret for its managed master password), a real local
//! PostgreSQL with TLS standing in for the cluster's writer endpoint, reached through
//! `admin_connection.connect_via`, as a tunnel to a private cluster would be.

use crate::apply::{Lab, Tunnel};
use crate::{assert_code, text};
use dbplan_testkit::MotoServer;
use std::process::Output;

/// The cluster and its tenant, the tunnel at `via`.
fn manifests(via: u16, protected: bool) -> String {
    format!(
        r#"apiVersion: aws.project-planton.org/v1
kind: AwsRdsCluster
metadata:
  name: shared-pg
spec:
  region: us-east-1
  engine: aurora-postgresql
  engineVersion: "16.4"
  manageMasterUserPassword: true
  username: platform
  storageEncrypted: true
  deletionProtection: false
  skipFinalSnapshot: true
  backupRetentionPeriod: 7
  preferredBackupWindow: "02:00-02:30"
  preferredMaintenanceWindow: "sat:22:00-sat:22:30"
  copyTagsToSnapshot: true
  enabledCloudwatchLogsExports: [postgresql]
  iamDatabaseAuthenticationEnabled: true
  adminConnection:
    connectVia: {{host: 127.0.0.1, port: {via}}}
---
apiVersion: dbplan.io/v1
kind: TenantDatabase
metadata:
  name: billing
spec:
  server: {{kind: AwsRdsCluster, name: shared-pg}}
  databaseName: billing
  owner: billing_app
  extensions: [pgcrypto]
  deletionProtection: {protected}
  roleDeletionPolicy: Delete
  dbDeletionPolicy: Delete
  connectionSecret: {{file: secrets/billing.env, format: env}}
"#
    )
}

/// Runs `dbplan` in the lab with moto's environment (and `RUST_LOG` when given).
fn run(lab: &Lab, moto: &MotoServer, args: &[&str], log: Option<&str>) -> Output {
    let mut command = lab.command(args);
    for (name, value) in moto.env() {
        command.env(name, value);
    }
    if let Some(level) = log {
        command.env("RUST_LOG", level);
    }
    command.output().unwrap()
}

/// The master user's login, as RDS keeps it in the cluster's secret (read with boto3).
fn master_login(moto: &MotoServer) -> (String, String) {
    let python = dbplan_testkit::moto_bin()
        .and_then(|bin| bin.parent().map(|dir| dir.join("python")))
        .unwrap();
    let script = format!(
        "import boto3, json\nargs = dict(endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\narn = boto3.client('rds', **args).describe_db_clusters(DBClusterIdentifier='shared-pg')['DBClusters'][0]['MasterUserSecret']['SecretArn']\nvalue = json.loads(boto3.client('secretsmanager', **args).get_secret_value(SecretId=arn)['SecretString'])\nprint(value['username'])\nprint(value['password'])",
        moto.endpoint()
    );
    let output = std::process::Command::new(python)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = said.lines();
    (
        lines.next().unwrap().to_owned(),
        lines.next().unwrap().to_owned(),
    )
}

#[test]
fn tenants_on_a_managed_aurora_cluster_log_in_with_its_secret_through_a_tunnel() {
    let moto = MotoServer::start().unwrap_or_else(|error| panic!("{error}"));
    let lab = Lab::start_with_tls();
    let tunnel = Tunnel::to(lab.server.port);
    std::fs::write(lab.path("db.yaml"), manifests(tunnel.port, false)).unwrap();

    // Before the cluster exists, plan says nothing about tenants this build cannot apply.
    let planned = run(&lab, &moto, &["plan", "db.yaml"], None);
    assert_code(&planned, 0);
    assert!(
        !text(&planned).contains("cannot be applied"),
        "{}",
        text(&planned)
    );

    // The cluster first, then its master user on the server that stands in for it, as RDS
    // makes it: CREATEDB and CREATEROLE, not a superuser.
    let cluster = run(
        &lab,
        &moto,
        &[
            "apply",
            "db.yaml",
            "--target",
            "AwsRdsCluster/shared-pg",
            "--auto-approve",
        ],
        None,
    );
    assert_code(&cluster, 0);
    let (user, password) = master_login(&moto);
    lab.sql(
        "postgres",
        &format!(
            "CREATE ROLE \"{user}\" LOGIN CREATEDB CREATEROLE PASSWORD '{}'",
            password.replace('\'', "''")
        ),
    );

    // The tenant, at trace level: the master password appears nowhere.
    let applied = run(
        &lab,
        &moto,
        &["apply", "db.yaml", "--auto-approve"],
        Some("trace"),
    );
    assert_code(&applied, 0);
    assert!(tunnel.used() > 0, "apply went through the tunnel");
    assert!(
        !text(&applied).contains(&password),
        "the master password was printed"
    );
    assert_in_no_file(lab.directory.path(), &password, "master password");
    assert_eq!(
        lab.sql(
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'billing'"
        ),
        "billing_app"
    );
    let secret = lab.env_secret("billing");
    let value = |key: &str| {
        secret
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("{key} in {secret:?}"))
    };
    // The applications inside the network use the cluster's endpoint, not the tunnel.
    assert!(
        value("DB_HOST").contains(".rds.amazonaws.com"),
        "{secret:?}"
    );
    assert_eq!(
        lab.login("billing_app", &value("DB_PASSWORD"), "billing"),
        Ok("billing_app".to_owned())
    );

    // Planned again with refresh (the secret read again): no change.
    assert_code(
        &run(
            &lab,
            &moto,
            &["plan", "db.yaml", "--detailed-exitcode"],
            None,
        ),
        0,
    );

    // Drift: the role dropped behind dbplan's back is planned again.
    lab.sql("postgres", "DROP DATABASE billing");
    lab.sql("postgres", "DROP ROLE billing_app");
    let drifted = run(
        &lab,
        &moto,
        &["plan", "db.yaml", "--detailed-exitcode"],
        None,
    );
    assert_code(&drifted, 2);
    assert_code(
        &run(&lab, &moto, &["apply", "db.yaml", "--auto-approve"], None),
        0,
    );
    let mut roles = vec!["billing_app".to_owned(), user.clone()];
    roles.sort();
    assert_eq!(lab.roles(), roles);

    // Protected, the tenant is not destroyed; unprotected with Delete, it is dropped.
    std::fs::write(lab.path("db.yaml"), manifests(tunnel.port, true)).unwrap();
    assert_code(
        &run(&lab, &moto, &["apply", "db.yaml", "--auto-approve"], None),
        0,
    );
    let refused = run(
        &lab,
        &moto,
        &[
            "destroy",
            "db.yaml",
            "--target",
            "TenantDatabase/billing",
            "--auto-approve",
        ],
        None,
    );
    assert_code(&refused, 1);
    // Protection is turned off by an apply first, as for any tenant.
    std::fs::write(lab.path("db.yaml"), manifests(tunnel.port, false)).unwrap();
    assert_code(
        &run(&lab, &moto, &["apply", "db.yaml", "--auto-approve"], None),
        0,
    );
    let destroyed = run(
        &lab,
        &moto,
        &[
            "destroy",
            "db.yaml",
            "--target",
            "TenantDatabase/billing",
            "--auto-approve",
        ],
        None,
    );
    assert_code(&destroyed, 0);
    assert_eq!(lab.roles(), vec![user]);
    assert!(!lab.databases().contains(&"billing".to_owned()));
}

/// Fails when `secret` (named `what`) is in any file under `directory`, the state included.
pub(crate) fn assert_in_no_file(directory: &std::path::Path, secret: &str, what: &str) {
    let mut pending = vec![directory.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "the {what} is in {}",
                path.display()
            );
        }
    }
}

/// A platform cluster dbplan does not manage, made in moto by someone else, with a master
/// password of its own (not managed by RDS), and a tenant on it through a reference.
fn reference_manifests(via: u16, with_tenant: bool) -> String {
    let mut text = format!(
        r#"apiVersion: dbplan.io/v1
kind: AwsRdsClusterReference
metadata:
  name: platform-pg
spec:
  clusterIdentifier: platform-pg
  region: us-east-1
  masterPassword: {{secretEnv: PLATFORM_PG_PASSWORD}}
  adminConnection:
    connectVia: {{host: 127.0.0.1, port: {via}}}
"#
    );
    if with_tenant {
        text.push_str(
            r#"---
apiVersion: dbplan.io/v1
kind: TenantDatabase
metadata:
  name: invoices
spec:
  server: {kind: AwsRdsClusterReference, name: platform-pg}
  deletionProtection: false
  connectionSecret: {file: secrets/invoices.env}
"#,
        );
    }
    text
}

/// Runs a few lines of Python with a boto3 RDS client `rds` against moto; what they print.
fn boto(moto: &MotoServer, code: &str) -> String {
    let python = dbplan_testkit::moto_bin()
        .and_then(|bin| bin.parent().map(|dir| dir.join("python")))
        .unwrap();
    let script = format!(
        "import boto3, json\nrds = boto3.client('rds', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}",
        moto.endpoint()
    );
    let output = std::process::Command::new(python)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn tenants_on_a_referenced_cluster_never_touch_it_and_log_in_with_its_password_variable() {
    const PASSWORD: &str = "Pl4tform-Master-Canary";
    let moto = MotoServer::start().unwrap_or_else(|error| panic!("{error}"));
    let lab = Lab::start_with_tls();
    let tunnel = Tunnel::to(lab.server.port);
    boto(
        &moto,
        &format!(
            "rds.create_db_cluster(DBClusterIdentifier='platform-pg', Engine='aurora-postgresql', EngineVersion='16.4', MasterUsername='platform', MasterUserPassword='{PASSWORD}')"
        ),
    );
    lab.sql(
        "postgres",
        &format!("CREATE ROLE platform LOGIN CREATEDB CREATEROLE PASSWORD '{PASSWORD}'"),
    );
    std::fs::write(lab.path("db.yaml"), reference_manifests(tunnel.port, true)).unwrap();
    let run_with = |args: &[&str]| {
        let mut command = lab.command(args);
        for (name, value) in moto.env() {
            command.env(name, value);
        }
        command.env("PLATFORM_PG_PASSWORD", PASSWORD);
        command.env("RUST_LOG", "trace");
        command.output().unwrap()
    };

    // Offline, without AWS or the password: lint and plan work, the cluster's values unknown.
    let linted = lab.run(&["lint", "db.yaml"]);
    assert_code(&linted, 0);
    let offline = lab.run(&["plan", "db.yaml", "--offline"]);
    assert_code(&offline, 0);
    let said = text(&offline);
    assert!(
        said.contains("AwsRdsClusterReference/platform-pg will be read"),
        "{said}"
    );
    assert!(!said.contains("cannot be applied"), "{said}");

    let applied = run_with(&["apply", "db.yaml", "--auto-approve"]);
    assert_code(&applied, 0);
    assert!(tunnel.used() > 0, "apply went through the tunnel");
    assert!(
        !text(&applied).contains(PASSWORD),
        "the master password was printed"
    );
    assert_in_no_file(lab.directory.path(), PASSWORD, "master password");
    let secret = lab.env_secret("invoices");
    let value = |key: &str| {
        secret
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("{key} in {secret:?}"))
    };
    assert!(value("DB_HOST").starts_with("platform-pg."), "{secret:?}");
    assert_eq!(
        lab.login("invoices_user", &value("DB_PASSWORD"), "invoices"),
        Ok("invoices_user".to_owned())
    );
    assert_code(&run_with(&["plan", "db.yaml", "--detailed-exitcode"]), 0);

    // Without the password variable, apply says which variable to set.
    std::fs::write(
        lab.path("db.yaml"),
        reference_manifests(tunnel.port + 1, true),
    )
    .unwrap();
    let mut command = lab.command(&["apply", "db.yaml", "--auto-approve"]);
    for (name, value) in moto.env() {
        command.env(name, value);
    }
    let refused = command.env_remove("PLATFORM_PG_PASSWORD").output().unwrap();
    assert_code(&refused, 1);
    assert!(
        text(&refused).contains("PLATFORM_PG_PASSWORD"),
        "{}",
        text(&refused)
    );
    std::fs::write(lab.path("db.yaml"), reference_manifests(tunnel.port, true)).unwrap();

    // The tenant's manifest removed: Orphan (the default) leaves its role and database.
    std::fs::write(lab.path("db.yaml"), reference_manifests(tunnel.port, false)).unwrap();
    let orphaned = run_with(&["apply", "db.yaml", "--auto-approve"]);
    assert_code(&orphaned, 0);
    assert!(lab.roles().contains(&"invoices_user".to_owned()));
    assert!(lab.databases().contains(&"invoices".to_owned()));

    // Destroying the reference forgets it; the cluster stays in AWS, untouched.
    let destroyed = run_with(&["destroy", "db.yaml", "--auto-approve"]);
    assert_code(&destroyed, 0);
    assert_eq!(
        boto(
            &moto,
            "print(rds.describe_db_clusters(DBClusterIdentifier='platform-pg')['DBClusters'][0]['Status'])"
        ),
        "available"
    );
}

#[test]
fn admin_connection_mistakes_are_reported_at_their_place() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(
        directory.path().join("ref.yaml"),
        "apiVersion: dbplan.io/v1\nkind: AwsRdsClusterReference\nmetadata:\n  name: platform-pg\nspec:\n  clusterIdentifier: platform-pg\n  masterPassword: {secretEnv: 1PASSWORD}\n  adminConnection:\n    sslmode: verify-full\n    connectVia: {host: \"ssh://127.0.0.1\", port: 15432}\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dbplan"))
        .args(["validate", "ref.yaml"])
        .current_dir(directory.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_code(&output, 1);
    let said = text(&output);
    assert!(said.contains("ref.yaml:7:31"), "{said}");
    assert!(
        said.contains("is not an environment variable name"),
        "{said}"
    );
    assert!(said.contains("ref.yaml:9:14"), "{said}");
    assert!(said.contains("global-bundle.pem"), "{said}");
    assert!(said.contains("ref.yaml:10:24"), "{said}");
    assert!(
        said.contains("the port goes in its own `port` field"),
        "{said}"
    );
}

/// `plan` reads a reference as Terraform reads a data source: a cluster AWS does not have stops
/// the plan, and so does one that runs MySQL under a tenant database.
#[test]
fn plan_reads_a_referenced_cluster_and_stops_when_it_is_missing_or_not_postgresql() {
    let moto = MotoServer::start().unwrap_or_else(|error| panic!("{error}"));
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(
        directory.path().join("db.yaml"),
        reference_manifests(15432, true),
    )
    .unwrap();
    let plan = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dbplan"));
        command
            .args(["plan", "db.yaml"])
            .current_dir(directory.path())
            .env("NO_COLOR", "1");
        for (name, value) in moto.env() {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let missing = plan();
    assert_code(&missing, 1);
    let said = text(&missing);
    assert!(
        said.contains("AwsRdsClusterReference/platform-pg: the referenced cluster \"platform-pg\" does not exist"),
        "{said}"
    );
    assert!(said.contains("check `cluster_identifier`"), "{said}");
    assert!(said.contains("plan not made"), "{said}");

    boto(
        &moto,
        "rds.create_db_cluster(DBClusterIdentifier='platform-pg', Engine='aurora-mysql', EngineVersion='8.0.mysql_aurora.3.05.2', MasterUsername='platform', MasterUserPassword='Pl4tform-Mysql-Pw')",
    );
    let mysql = plan();
    assert_code(&mysql, 1);
    let said = text(&mysql);
    assert!(
        said.contains(
            "TenantDatabase/invoices: AwsRdsClusterReference/platform-pg runs aurora-mysql, not PostgreSQL"
        ),
        "{said}"
    );
    assert_eq!(
        said.matches("runs aurora-mysql").count(),
        1,
        "said once for the tenant: {said}"
    );
}
