//! `dbplan import ADDR ID PATH...` against a real PostgreSQL server: an existing role and
//! database are recorded without a change on the server, the next plan shows only how they
//! differ from the manifest (the role's password, which dbplan cannot read, is set), and apply
//! converges. Every refusal writes nothing. The same against moto (every object of the Aurora
//! example) and the DigitalOcean fake (VPC, clusters, trusted sources, pool).

use crate::apply::{Lab, Tenant};
use crate::{assert_code, change, text};
use dbplan_testkit::MotoServer;
use dbplan_testkit::digitalocean::{FakeConfig, FakeDigitalOcean};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The tenant `legacy` (owner `legacy_user`, connection limit 5 in the manifest) whose role
/// (limit 3, a password of its own) and database exist on the server already.
fn legacy_lab() -> Lab {
    let lab = Lab::start();
    let mut legacy = Tenant::new("legacy");
    legacy.connection_limit = Some(5);
    lab.manifests(&[legacy]);
    lab.sql(
        "postgres",
        "CREATE ROLE legacy_user LOGIN PASSWORD 'owned-by-another-team' CONNECTION LIMIT 3",
    );
    lab.sql("postgres", "CREATE DATABASE legacy OWNER legacy_user");
    lab
}

fn import(lab: &Lab, address: &str, id: &str) -> Output {
    lab.run(&["import", address, id, "tenants.yaml"])
}

/// The state's serial (`dbplan state export`), to show that a refusal wrote nothing.
fn serial(lab: &Lab) -> u64 {
    let exported = lab.run(&["state", "export"]);
    assert_code(&exported, 0);
    let json: serde_json::Value = serde_json::from_str(&super::stdout(&exported)).unwrap();
    json["state"]["serial"].as_u64().unwrap()
}

#[test]
fn an_imported_role_and_database_plan_only_what_differs_and_apply_converges() {
    let lab = legacy_lab();
    assert_code(
        &lab.run(&[
            "apply",
            "tenants.yaml",
            "--auto-approve",
            "--target",
            "PostgresServer/pg",
        ]),
        0,
    );

    let log_before = lab.server.log().len();
    let role = import(&lab, "TenantDatabase/legacy/role", "legacy_user");
    assert_code(&role, 0);
    assert!(
        super::stdout(&role).contains("Imported TenantDatabase/legacy/role (id legacy_user)"),
        "{}",
        text(&role)
    );
    assert!(
        super::stdout(&role).contains("the next apply sets a new one"),
        "{}",
        text(&role)
    );
    assert_code(&import(&lab, "TenantDatabase/legacy/database", "legacy"), 0);

    // Import itself changed nothing on the server: no statement that writes, the old
    // password still logs in, the connection limit is still 3.
    let log = lab.server.log();
    let during_import = &log[log_before.min(log.len())..];
    for statement in ["ALTER", "CREATE", "GRANT", "REVOKE", "DROP"] {
        assert!(
            !during_import.contains(statement),
            "{statement} during import:\n{during_import}"
        );
    }
    assert_eq!(
        lab.login("legacy_user", "owned-by-another-team", "legacy"),
        Ok("legacy_user".to_owned())
    );
    assert_eq!(
        lab.sql(
            "postgres",
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'legacy_user'"
        )
        .trim(),
        "3"
    );

    // Recorded as apply records: ready, with its id, dependencies and lifecycle.
    let shown = lab.run(&["state", "show", "TenantDatabase/legacy/role"]);
    assert_code(&shown, 0);
    let shown = super::stdout(&shown);
    assert!(shown.contains("legacy_user"), "{shown}");
    assert!(shown.contains("PostgresServer/pg"), "{shown}");

    // The plan: the role's limit and password, the database's owner password (the role's
    // new one, known after apply), and the secret file still to write; nothing else.
    let planned = lab.run(&["plan", "tenants.yaml", "--format", "json"]);
    assert_code(&planned, 0);
    let plan: serde_json::Value = serde_json::from_str(&super::stdout(&planned)).unwrap();
    let role = change(&plan, "TenantDatabase/legacy/role");
    assert_eq!(role["action"], "update", "{role}");
    assert_eq!(
        role["changed_attributes"],
        serde_json::json!(["connection_limit", "password"]),
        "{role}"
    );
    assert_eq!(role["before"]["connection_limit"], 3, "{role}");
    assert_eq!(role["after"]["connection_limit"], 5, "{role}");
    let database = change(&plan, "TenantDatabase/legacy/database");
    assert_eq!(database["action"], "update", "{database}");
    assert_eq!(
        database["changed_attributes"],
        serde_json::json!(["owner_password"]),
        "{database}"
    );
    assert_eq!(
        change(&plan, "TenantDatabase/legacy/connection-secret")["action"],
        "create"
    );
    for (action, count) in [
        ("create", 1),
        ("update", 2),
        ("replace", 0),
        ("delete", 0),
        ("orphan", 0),
    ] {
        assert_eq!(plan["summary"][action], count, "{action}: {plan}");
    }
    let shown = lab.run(&["plan", "tenants.yaml"]);
    assert!(
        super::stdout(&shown).contains("its `password` is not known to dbplan"),
        "{}",
        text(&shown)
    );

    // Apply sets the password and the limit; the old password no longer logs in, the
    // secret's does; then nothing is left to do.
    assert_code(&lab.apply(), 0);
    assert!(
        lab.login("legacy_user", "owned-by-another-team", "legacy")
            .is_err()
    );
    let secret = lab.env_secret("legacy");
    let password = secret
        .iter()
        .find(|(key, _)| key == "DB_PASSWORD")
        .map(|(_, value)| value.clone())
        .unwrap();
    assert_eq!(
        lab.login("legacy_user", &password, "legacy"),
        Ok("legacy_user".to_owned())
    );
    assert_eq!(
        lab.sql(
            "postgres",
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'legacy_user'"
        )
        .trim(),
        "5"
    );
    assert_code(
        &lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]),
        0,
    );
}

#[test]
fn import_refuses_what_it_cannot_record_and_writes_nothing() {
    let lab = legacy_lab();

    // Before anything is in state: refused, and no state is created.
    let cases: [(&str, &str, &str); 6] = [
        (
            "TenantDatabase/nothing/role",
            "x",
            "TenantDatabase/nothing/role is not declared in the manifests given",
        ),
        ("nonsense", "x", "\"nonsense\" is not a resource address"),
        (
            "TenantDatabase/legacy",
            "legacy",
            "TenantDatabase/legacy is a component; import each of its parts on its own: TenantDatabase/legacy/connection-secret, TenantDatabase/legacy/database, TenantDatabase/legacy/role",
        ),
        (
            "TenantDatabase/legacy/connection-secret",
            "secrets/legacy.env",
            "TenantDatabase/legacy/connection-secret cannot be imported: a connection secret is a file dbplan writes",
        ),
        (
            "PostgresServer/pg",
            "127.0.0.1",
            "dbplan never creates or changes a PostgresServer",
        ),
        (
            "TenantDatabase/legacy/role",
            "legacy_user",
            "TenantDatabase/legacy/role depends on PostgresServer/pg, which is not in the state yet; import or apply it first",
        ),
    ];
    for (address, id, message) in cases {
        let refused = import(&lab, address, id);
        assert_code(&refused, 1);
        assert!(
            super::stderr(&refused).contains(message),
            "{address}: {}",
            text(&refused)
        );
        assert!(
            super::stderr(&refused).contains("nothing was imported"),
            "{}",
            text(&refused)
        );
        assert!(!lab.path("state").exists(), "{address} created a state");
    }

    assert_code(
        &lab.run(&[
            "apply",
            "tenants.yaml",
            "--auto-approve",
            "--target",
            "PostgresServer/pg",
        ]),
        0,
    );
    let before = serial(&lab);

    // An id the server does not have.
    let gone = import(&lab, "TenantDatabase/legacy/role", "no_such_role");
    assert_code(&gone, 1);
    assert!(
        super::stderr(&gone)
            .contains("the postgres provider finds no object with the id \"no_such_role\""),
        "{}",
        text(&gone)
    );
    // A part whose own dependency (the role) is not recorded yet.
    let early = import(&lab, "TenantDatabase/legacy/database", "legacy");
    assert_code(&early, 1);
    assert!(
        super::stderr(&early).contains(
            "TenantDatabase/legacy/database depends on TenantDatabase/legacy/role, which is not in the state yet"
        ),
        "{}",
        text(&early)
    );
    assert_eq!(serial(&lab), before);

    // Imported once; a second import of the same address is refused.
    assert_code(
        &import(&lab, "TenantDatabase/legacy/role", "legacy_user"),
        0,
    );
    let imported = serial(&lab);
    assert_eq!(imported, before + 1);
    let again = import(&lab, "TenantDatabase/legacy/role", "legacy_user");
    assert_code(&again, 1);
    assert!(
        super::stderr(&again).contains(
            "TenantDatabase/legacy/role is already in the state (id legacy_user); `dbplan state rm TenantDatabase/legacy/role` forgets it first"
        ),
        "{}",
        text(&again)
    );
    assert_eq!(serial(&lab), imported);
}

// ---------------------------------------------------------------------------------------------
// The cloud providers: objects made by a first state (`a`, by apply) are imported into a fresh
// one (`b`) by the ids the first recorded, in dependency order. Import records what apply
// recorded (but a secret), changes nothing remote, and the plan shows only what an import
// cannot know; an id the API does not have is refused with nothing written.

/// `dbplan` in a directory of its own, with the environment that points it at a fake cloud.
struct Cloud {
    directory: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Cloud {
    fn new(env: Vec<(String, String)>) -> Cloud {
        Cloud {
            directory: tempfile::tempdir().unwrap(),
            env,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dbplan"));
        command
            .args(args)
            .current_dir(self.directory.path())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("DBPLAN_STATE")
            .stdin(Stdio::null());
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command.output().unwrap()
    }

    /// Copies `examples/<name>` into `<directory>/<name>`, with `edit` applied to each file.
    fn example(&self, name: &str, edit: impl Fn(String) -> String) {
        super::copy_example(name, &self.directory.path().join(name), edit);
    }

    fn state_exists(&self, state: &str) -> bool {
        self.directory.path().join(state).exists()
    }

    /// `dbplan state export` of a state: its serial and its records by address.
    fn export(&self, state: &str) -> (u64, serde_json::Map<String, Value>) {
        let exported = self.run(&["state", "export", "--state", state]);
        assert_code(&exported, 0);
        let json: Value = serde_json::from_str(&super::stdout(&exported)).unwrap();
        (
            json["state"]["serial"].as_u64().unwrap(),
            json["state"]["resources"].as_object().unwrap().clone(),
        )
    }

    /// The id each object of a state is recorded with.
    fn ids(&self, state: &str) -> BTreeMap<String, String> {
        self.export(state)
            .1
            .into_iter()
            .map(|(address, record)| (address, record["provider_id"].as_str().unwrap().to_owned()))
            .collect()
    }

    fn import(&self, address: &str, id: &str, path: &str, state: &str) -> Output {
        self.run(&["import", address, id, path, "--state", state])
    }

    /// Imports an id the API does not have, and checks it is refused with nothing written.
    fn refused(&self, address: &str, id: &str, path: &str, state: &str, provider: &str) {
        let before = self.state_exists(state).then(|| self.export(state).0);
        let refused = self.import(address, id, path, state);
        assert_code(&refused, 1);
        let said = super::stderr(&refused);
        assert!(
            said.contains(&format!(
                "{address}: the {provider} provider finds no object with the id {id:?}"
            )) && said.contains("nothing was imported"),
            "{}",
            text(&refused)
        );
        match before {
            None => assert!(!self.state_exists(state), "{address}: a state was created"),
            Some(serial) => assert_eq!(self.export(state).0, serial, "{address}: written"),
        }
    }

    /// Imports each object in order by the id state `from` records it with, into `into`; an id
    /// the API does not have (the second of each pair) is refused first, with nothing written.
    fn import_all(
        &self,
        objects: &[(&str, &str)],
        path: &str,
        from: &str,
        into: &str,
    ) -> Vec<Output> {
        let ids = self.ids(from);
        let mut outputs = Vec::new();
        for (address, unknown) in objects {
            let provider = if address.starts_with("Aws") {
                "aws"
            } else {
                "digitalocean"
            };
            self.refused(address, unknown, path, into, provider);
            let id = &ids[*address];
            let imported = self.import(address, id, path, into);
            assert_code(&imported, 0);
            assert!(
                super::stdout(&imported).contains(&format!(
                    "Imported {address} (id {id}): recorded in the state"
                )),
                "{}",
                text(&imported)
            );
            outputs.push(imported);
        }
        outputs
    }

    /// `dbplan plan PATH --state STATE --format json --detailed-exitcode`: the exit code and
    /// the changes that are not no-ops.
    fn plan(&self, path: &str, state: &str) -> (i32, Value, Vec<Value>) {
        let planned = self.run(&[
            "plan",
            path,
            "--state",
            state,
            "--format",
            "json",
            "--detailed-exitcode",
        ]);
        let plan: Value = serde_json::from_str(&super::stdout(&planned))
            .unwrap_or_else(|error| panic!("{error}: {}", text(&planned)));
        let changes = plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|change| change["action"] != "no-op")
            .cloned()
            .collect();
        (planned.status.code().unwrap(), plan, changes)
    }
}

/// What an import must record as apply did: id, plain attributes, outputs, dependencies,
/// status and lifecycle (a secret attribute, which a read cannot give back, left out).
fn as_recorded(record: &Value) -> Value {
    let mut attributes = record["attributes"].as_object().unwrap().clone();
    attributes.retain(|_, value| value["sensitive"] != true);
    json!({
        "provider_id": record["provider_id"],
        "attributes": attributes,
        "outputs": record["outputs"],
        "dependencies": record["dependencies"],
        "status": record["status"],
        "lifecycle": record["lifecycle"],
    })
}

/// Every record of `into` is the record of `from` for the same address, as [`as_recorded`].
fn assert_same_records(cloud: &Cloud, from: &str, into: &str) {
    let (_, applied) = cloud.export(from);
    let (_, imported) = cloud.export(into);
    assert_eq!(
        imported.keys().collect::<Vec<_>>(),
        applied.keys().collect::<Vec<_>>()
    );
    for (address, record) in &applied {
        assert_eq!(
            as_recorded(&imported[address]),
            as_recorded(record),
            "{address} is recorded differently by import and by apply"
        );
    }
}

/// Every count of a plan's summary is 0 but those named.
fn assert_summary(plan: &Value, expected: &[(&str, u64)]) {
    for (action, count) in plan["summary"].as_object().unwrap() {
        let wanted = expected
            .iter()
            .find(|(name, _)| name == action)
            .map_or(0, |(_, count)| *count);
        assert_eq!(count.as_u64(), Some(wanted), "{action}: {plan}");
    }
}

// --- AWS against moto ------------------------------------------------------------------------

/// The Aurora example's objects in dependency order, each with an id moto does not have.
const AURORA: [(&str, &str); 8] = [
    ("AwsVpc/orders-vpc", "vpc-0123456789abcdef0"),
    ("AwsSecurityGroup/orders-app", "sg-0123456789abcdef0"),
    (
        "AwsRdsCluster/orders-db/security-group",
        "sg-0123456789abcdef1",
    ),
    (
        "AwsRdsCluster/orders-db/subnet-group",
        "no-such-subnet-group",
    ),
    (
        "AwsRdsCluster/orders-db/parameter-group",
        "no-such-parameter-group",
    ),
    ("AwsRdsCluster/orders-db/cluster", "no-such-cluster"),
    ("AwsRdsClusterInstance/orders-db-writer", "no-such-instance"),
    ("AwsRdsClusterInstance/orders-db-reader", "no-such-instance"),
];

const MASTER_PASSWORD: &str = "imported-Pa55word-41c7";

fn aws_cloud(moto: &MotoServer) -> Cloud {
    moto.reset().unwrap();
    let mut env: Vec<(String, String)> = moto
        .env()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    env.push(("ORDERS_DB_PASSWORD".to_owned(), MASTER_PASSWORD.to_owned()));
    Cloud::new(env)
}

/// The Aurora example as moto takes it: moto answers HTTP 500 to `StorageType: aurora`.
fn aurora(text: String) -> String {
    text.replace("  storageType: aurora\n", "")
}

/// Runs Python with boto3 clients `rds` and `ec2` on moto (boto3 comes with moto, in the same
/// virtualenv) and returns what it prints.
fn boto(moto: &MotoServer, code: &str) -> String {
    let python = dbplan_testkit::moto_bin()
        .and_then(|bin| bin.parent().map(|dir| dir.join("python")))
        .unwrap();
    let script = format!(
        "import boto3, json\nkw = dict(endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\nrds = boto3.client('rds', **kw)\nec2 = boto3.client('ec2', **kw)\n{code}",
        moto.endpoint()
    );
    let output = Command::new(python).args(["-c", &script]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Everything moto holds of the example, to show that an import changes none of it (but the
/// latest restorable time, which moto moves with the clock).
fn aurora_objects(moto: &MotoServer) -> String {
    boto(
        moto,
        "objects = {'clusters': rds.describe_db_clusters()['DBClusters'], 'instances': rds.describe_db_instances()['DBInstances'], 'subnet_groups': rds.describe_db_subnet_groups()['DBSubnetGroups'], 'parameter_groups': rds.describe_db_cluster_parameter_groups()['DBClusterParameterGroups'], 'parameters': rds.describe_db_cluster_parameters(DBClusterParameterGroupName='orders-db', Source='user')['Parameters'], 'vpcs': ec2.describe_vpcs()['Vpcs'], 'subnets': ec2.describe_subnets()['Subnets'], 'security_groups': ec2.describe_security_groups()['SecurityGroups']}\nfor db in objects['clusters'] + objects['instances']:\n    db.pop('LatestRestorableTime', None)\nprint(json.dumps(objects, default=str, sort_keys=True))",
    )
}

fn backup_retention(moto: &MotoServer) -> String {
    boto(
        moto,
        "print(rds.describe_db_clusters(DBClusterIdentifier='orders-db')['DBClusters'][0]['BackupRetentionPeriod'])",
    )
}

#[test]
fn aurora_objects_import_against_moto() {
    let moto = MotoServer::start().unwrap_or_else(|error| panic!("{error}"));
    every_aurora_object_imports_and_only_the_master_password_is_planned(&moto);
    an_imported_cluster_that_differs_from_its_manifest_plans_only_that_attribute(&moto);
}

fn every_aurora_object_imports_and_only_the_master_password_is_planned(moto: &MotoServer) {
    let cloud = aws_cloud(moto);
    cloud.example("aws-aurora-serverless", |text| {
        aurora(text).replace(
            "  manageMasterUserPassword: true\n",
            "  manageMasterUserPassword: false\n  password: {secretEnv: ORDERS_DB_PASSWORD}\n",
        )
    });
    let path = "aws-aurora-serverless";
    assert_code(
        &cloud.run(&["apply", path, "--auto-approve", "--state", "a"]),
        0,
    );
    let ids = cloud.ids("a");
    assert_eq!(ids.keys().map(String::as_str).collect::<Vec<_>>(), {
        let mut addresses: Vec<&str> = AURORA.iter().map(|(address, _)| *address).collect();
        addresses.sort_unstable();
        addresses
    });

    // Out of dependency order: refused, and no state is made.
    let early = cloud.import(
        "AwsRdsCluster/orders-db/cluster",
        &ids["AwsRdsCluster/orders-db/cluster"],
        path,
        "b",
    );
    assert_code(&early, 1);
    assert!(
        super::stderr(&early).contains("AwsRdsCluster/orders-db/cluster depends on AwsRdsCluster/orders-db/parameter-group, AwsRdsCluster/orders-db/security-group, AwsRdsCluster/orders-db/subnet-group, which are not in the state yet"),
        "{}",
        text(&early)
    );
    assert!(!cloud.state_exists("b"));

    let before = aurora_objects(moto);
    let imported = cloud.import_all(&AURORA, path, "a", "b");
    assert_eq!(
        aurora_objects(moto),
        before,
        "an import changed something in AWS"
    );
    // The master password is a secret no read gives back, and import says so.
    assert!(
        super::stdout(&imported[5]).contains(
            "Its `password` is a secret dbplan cannot read back: the next apply sets the manifest's (from $ORDERS_DB_PASSWORD), replacing the current one."
        ),
        "{}",
        text(&imported[5])
    );
    // What import recorded is what apply recorded (outputs included: the subnets, endpoints
    // and group names dependents refer to), but the password.
    assert_same_records(&cloud, "a", "b");
    let (_, records) = cloud.export("b");
    assert!(
        !records["AwsRdsCluster/orders-db/cluster"]["attributes"]
            .as_object()
            .unwrap()
            .contains_key("password")
    );

    // The plan: the password, and nothing else.
    let (code, plan, changes) = cloud.plan(path, "b");
    assert_eq!(code, 2, "{plan}");
    assert_eq!(changes.len(), 1, "{plan}");
    let cluster = &changes[0];
    assert_eq!(cluster["address"], "AwsRdsCluster/orders-db/cluster");
    assert_eq!(cluster["action"], "update", "{cluster}");
    assert_eq!(
        cluster["changed_attributes"],
        json!(["password"]),
        "{cluster}"
    );
    assert_eq!(cluster["after"]["password"], "(sensitive)", "{cluster}");
    assert_eq!(
        cluster["secrets"]["password"]["source"],
        json!({"env": "ORDERS_DB_PASSWORD"}),
        "{cluster}"
    );
    assert_eq!(
        plan["resource_drift"].as_array().map_or(0, Vec::len),
        0,
        "{plan}"
    );
    assert_summary(&plan, &[("update", 1)]);
    let shown = cloud.run(&["plan", path, "--state", "b"]);
    let printed = super::stdout(&shown);
    assert!(
        printed.contains("AwsRdsCluster/orders-db/cluster will be updated in place")
            && printed.contains("+ password = (sensitive)"),
        "{}",
        text(&shown)
    );

    // Apply sets it; the next plan has nothing to do, in either state; no output ever shows
    // the password.
    let applied = cloud.run(&["apply", path, "--auto-approve", "--state", "b"]);
    assert_code(&applied, 0);
    assert!(
        super::stdout(&applied).contains("0 created, 1 updated"),
        "{}",
        text(&applied)
    );
    assert_code(
        &cloud.run(&["plan", path, "--state", "b", "--detailed-exitcode"]),
        0,
    );
    assert_code(
        &cloud.run(&["plan", path, "--state", "a", "--detailed-exitcode"]),
        0,
    );
    for output in imported.iter().chain([&shown, &applied]) {
        assert!(!text(output).contains(MASTER_PASSWORD), "{}", text(output));
    }
}

fn an_imported_cluster_that_differs_from_its_manifest_plans_only_that_attribute(moto: &MotoServer) {
    let cloud = aws_cloud(moto);
    cloud.example("aws-aurora-serverless", aurora);
    let path = "aws-aurora-serverless";
    assert_code(
        &cloud.run(&["apply", path, "--auto-approve", "--state", "a"]),
        0,
    );
    // Changed in the console: the manifest keeps backups 14 days.
    boto(
        moto,
        "rds.modify_db_cluster(DBClusterIdentifier='orders-db', BackupRetentionPeriod=3, ApplyImmediately=True)",
    );
    cloud.import_all(&AURORA, path, "a", "b");
    assert_eq!(backup_retention(moto), "3", "import changed the cluster");

    // Recorded as read, so not drift: an update of that one attribute, in place.
    let (code, plan, changes) = cloud.plan(path, "b");
    assert_eq!(code, 2, "{plan}");
    assert_eq!(changes.len(), 1, "{plan}");
    let cluster = &changes[0];
    assert_eq!(cluster["address"], "AwsRdsCluster/orders-db/cluster");
    assert_eq!(cluster["action"], "update", "{cluster}");
    assert_eq!(
        cluster["changed_attributes"],
        json!(["backup_retention_period"]),
        "{cluster}"
    );
    assert_eq!(cluster["before"]["backup_retention_period"], 3);
    assert_eq!(cluster["after"]["backup_retention_period"], 14);
    assert_eq!(
        plan["resource_drift"].as_array().map_or(0, Vec::len),
        0,
        "{plan}"
    );
    assert_summary(&plan, &[("update", 1)]);

    assert_code(
        &cloud.run(&["apply", path, "--auto-approve", "--state", "b"]),
        0,
    );
    assert_eq!(backup_retention(moto), "14");
    assert_code(
        &cloud.run(&["plan", path, "--state", "b", "--detailed-exitcode"]),
        0,
    );
}

// --- DigitalOcean against the fake -----------------------------------------------------------

const TOKEN: &str = "dop_v1_import0test0token0never0shown0c81d";

/// A UUID the fake has given nothing.
const UNKNOWN: &str = "00000000-0000-4000-8000-000000000000";

fn digitalocean_cloud(fake: &FakeDigitalOcean) -> Cloud {
    Cloud::new(vec![
        ("DIGITALOCEAN_TOKEN".to_owned(), TOKEN.to_owned()),
        ("DIGITALOCEAN_API_URL".to_owned(), fake.url()),
    ])
}

fn api(fake: &FakeDigitalOcean, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = fake.call(method, path, body.as_ref()).unwrap();
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {answer}"
    );
    answer
}

/// Everything the fake holds, to show that an import changes none of it.
fn digitalocean_objects(fake: &FakeDigitalOcean) -> Value {
    let clusters = api(fake, "GET", "/v2/databases", None)["databases"].clone();
    let mut children = BTreeMap::new();
    for cluster in clusters.as_array().unwrap() {
        let id = cluster["id"].as_str().unwrap();
        children.insert(
            id.to_owned(),
            json!({
                "firewall": api(fake, "GET", &format!("/v2/databases/{id}/firewall"), None),
                "pools": api(fake, "GET", &format!("/v2/databases/{id}/pools"), None),
            }),
        );
    }
    json!({
        "clusters": clusters,
        "children": children,
        "vpcs": api(fake, "GET", "/v2/vpcs?per_page=200", None),
    })
}

#[test]
fn digitalocean_objects_import_against_the_fake() {
    let fake = FakeDigitalOcean::start(FakeConfig {
        token: Some(TOKEN.to_owned()),
        create_delay: Duration::from_millis(300),
        resize_delay: Duration::from_millis(300),
        ..FakeConfig::default()
    })
    .unwrap_or_else(|error| panic!("{error}"));
    let cloud = digitalocean_cloud(&fake);
    cloud.example("digitalocean-postgres", |text| text);
    let path = "digitalocean-postgres";
    assert_code(
        &cloud.run(&["apply", path, "--auto-approve", "--state", "a"]),
        0,
    );
    let ids = cloud.ids("a");
    let prod = ids["DigitalOceanDatabaseCluster/prod-postgres"].clone();
    let pool = "DigitalOceanDatabaseConnectionPool/prod-postgres-api-pool";
    assert_eq!(ids[pool], format!("{prod}/api"));

    let unknown_pool = format!("{UNKNOWN}/api");
    let objects: [(&str, &str); 5] = [
        ("DigitalOceanVpc/production-vpc", UNKNOWN),
        ("DigitalOceanDatabaseCluster/prod-postgres", UNKNOWN),
        ("DigitalOceanDatabaseCluster/dev-postgres", UNKNOWN),
        (
            "DigitalOceanDatabaseFirewall/prod-postgres-trusted-sources",
            UNKNOWN,
        ),
        (pool, &unknown_pool),
    ];
    let before = digitalocean_objects(&fake);
    cloud.import_all(&objects[..4], path, "a", "b");
    // A pool's id is `CLUSTER_ID/POOL`: another pool of the cluster, or an id of another form,
    // names none (not the pool the manifest names).
    for id in [
        format!("{prod}/no-such-pool"),
        prod.clone(),
        "api".to_owned(),
        format!("{prod}/"),
    ] {
        cloud.refused(pool, &id, path, "b", "digitalocean");
    }
    cloud.import_all(&objects[4..], path, "a", "b");
    assert_eq!(
        digitalocean_objects(&fake),
        before,
        "an import changed something"
    );

    assert_same_records(&cloud, "a", "b");
    // The dev cluster has a maintenance window (DigitalOcean always keeps one) that its
    // manifest does not set: not recorded, as apply did not record it.
    let dev = ids["DigitalOceanDatabaseCluster/dev-postgres"].clone();
    assert!(
        api(&fake, "GET", &format!("/v2/databases/{dev}"), None)["database"]["maintenance_window"]
            .is_object()
    );
    let (_, records) = cloud.export("b");
    assert!(
        !records["DigitalOceanDatabaseCluster/dev-postgres"]["attributes"]
            .as_object()
            .unwrap()
            .contains_key("maintenance_window")
    );

    // Nothing to do: the objects are what the manifests ask for.
    let (code, plan, changes) = cloud.plan(path, "b");
    assert_eq!(code, 0, "{plan}");
    assert!(changes.is_empty(), "{plan}");

    // Trusted sources and pool changed behind dbplan's back, then imported into a third
    // state: the plan updates exactly those, and apply converges.
    api(
        &fake,
        "PUT",
        &format!("/v2/databases/{prod}/firewall"),
        Some(json!({"rules": [{"type": "ip_addr", "value": "10.20.0.0/20"}]})),
    );
    api(
        &fake,
        "PUT",
        &format!("/v2/databases/{prod}/pools/api"),
        Some(json!({"mode": "transaction", "size": 10, "db": "defaultdb", "user": "doadmin"})),
    );
    cloud.import_all(&objects, path, "a", "c");
    let (code, plan, changes) = cloud.plan(path, "c");
    assert_eq!(code, 2, "{plan}");
    let mut changed: Vec<(&str, &str, &Value)> = changes
        .iter()
        .map(|change| {
            (
                change["address"].as_str().unwrap(),
                change["action"].as_str().unwrap(),
                &change["changed_attributes"],
            )
        })
        .collect();
    changed.sort_by_key(|(address, _, _)| *address);
    assert_eq!(
        changed,
        [
            (pool, "update", &json!(["size"])),
            (
                "DigitalOceanDatabaseFirewall/prod-postgres-trusted-sources",
                "update",
                &json!(["rules"])
            ),
        ],
        "{plan}"
    );
    assert_summary(&plan, &[("update", 2)]);
    assert_code(
        &cloud.run(&["apply", path, "--auto-approve", "--state", "c"]),
        0,
    );
    let rules = api(
        &fake,
        "GET",
        &format!("/v2/databases/{prod}/firewall"),
        None,
    )["rules"]
        .clone();
    assert_eq!(rules.as_array().map(Vec::len), Some(2), "{rules}");
    assert_eq!(
        api(
            &fake,
            "GET",
            &format!("/v2/databases/{prod}/pools/api"),
            None
        )["pool"]["size"],
        20
    );
    assert_code(
        &cloud.run(&["plan", path, "--state", "c", "--detailed-exitcode"]),
        0,
    );
}
