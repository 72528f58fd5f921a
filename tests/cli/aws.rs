//! The AWS provider through `dbplan` against moto in server mode: one moto server for the
//! whole run, reset (`/moto-api/reset`) before each scenario. moto validates little and has
//! quirks; each workaround below names the quirk it works around.

use dbplan_testkit::MotoServer;
use std::process::{Command, Output, Stdio};

struct Lab<'a> {
    moto: &'a MotoServer,
    directory: tempfile::TempDir,
}

impl<'a> Lab<'a> {
    fn new(moto: &'a MotoServer) -> Lab<'a> {
        moto.reset().unwrap();
        Lab {
            moto,
            directory: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_via(&self.moto.endpoint(), args)
    }

    /// Runs `dbplan` with the AWS endpoint at `endpoint` (a fault-injecting proxy, say).
    fn run_via(&self, endpoint: &str, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dbplan"));
        command
            .args(args)
            .current_dir(self.directory.path())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("DBPLAN_STATE")
            .stdin(Stdio::null());
        for (name, value) in self.moto.env() {
            command.env(name, value);
        }
        command.env("AWS_ENDPOINT_URL", endpoint);
        command.output().unwrap()
    }

    /// Copies the Aurora example into the working directory, with `edit` applied to its text.
    fn example(&self, edit: impl Fn(String) -> String) {
        super::copy_example("aws-aurora-serverless", self.directory.path(), edit);
    }

    /// Runs a few lines of Python with a boto3 RDS client `rds` (boto3 comes with moto, in
    /// the same virtualenv) and returns what they print: how the tests change things behind
    /// dbplan's back and look at the result.
    fn boto(&self, code: &str) -> String {
        let python = dbplan_testkit::moto_bin()
            .and_then(|bin| bin.parent().map(|dir| dir.join("python")))
            .unwrap();
        let script = format!(
            "import boto3, json\nrds = boto3.client('rds', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}",
            self.moto.endpoint()
        );
        let output = Command::new(python).args(["-c", &script]).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn cluster(&self, field: &str) -> String {
        self.boto(&format!(
            "print(json.dumps(rds.describe_db_clusters(DBClusterIdentifier='orders-db')['DBClusters'][0].get('{field}'), default=str))"
        ))
    }
}

fn text(output: &Output) -> String {
    format!("{}{}", super::stdout(output), super::stderr(output))
}

fn assert_code(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
}

/// moto answers HTTP 500 to `StorageType: aurora` (a KeyError in its default allocated
/// storage); the example's `storageType: aurora` is left out against it.
fn without_aurora_storage_type(text: String) -> String {
    text.replace("  storageType: aurora\n", "")
}

#[test]
fn aurora_against_moto() {
    let moto = MotoServer::start().unwrap_or_else(|error| panic!("{error}"));
    apply_the_example_from_empty_then_no_changes(&moto);
    drift_then_update_in_place(&moto);
    replace_deletes_instances_and_cluster_then_creates_them(&moto);
    destroy_honours_deletion_protection_and_takes_the_final_snapshot(&moto);
    a_failed_create_skips_its_dependents_and_the_rest_completes(&moto);
    groups_still_used_by_another_cluster_are_left_in_place(&moto);
    nat_gateways_are_created_and_removed_with_the_vpc(&moto);
    throttling_and_server_errors_are_retried(&moto);
    the_shared_tenant_cluster_example_applies(&moto);
    a_supplied_password_never_shows_even_at_trace(&moto);
    an_existing_cluster_is_adopted_only_with_opt_in_when_it_matches_and_reported_when_not(&moto);
}

fn apply_the_example_from_empty_then_no_changes(moto: &MotoServer) {
    let lab = Lab::new(moto);
    lab.example(without_aurora_storage_type);
    let applied = lab.run(&["apply", ".", "--auto-approve"]);
    assert_code(&applied, 0);
    assert!(
        super::stdout(&applied).contains("Apply complete: 8 created"),
        "{}",
        text(&applied)
    );
    assert_eq!(lab.cluster("Status"), "\"available\"");
    assert_eq!(lab.cluster("BackupRetentionPeriod"), "14");
    // The subnet group covers the VPC's three zones; the cluster uses it, its security group
    // and its parameter group.
    assert_eq!(lab.cluster("DBSubnetGroup"), "\"orders-db\"");
    assert_eq!(lab.cluster("DBClusterParameterGroup"), "\"orders-db\"");
    let zones = lab.boto(
        "print(sorted(s['SubnetAvailabilityZone']['Name'] for s in rds.describe_db_subnet_groups(DBSubnetGroupName='orders-db')['DBSubnetGroups'][0]['Subnets']))",
    );
    assert_eq!(zones, "['us-east-1a', 'us-east-1b', 'us-east-1c']");
    let members = lab.cluster("DBClusterMembers");
    assert!(
        members.contains("orders-db-writer") && members.contains("orders-db-reader"),
        "{members}"
    );
    // Outputs: endpoints and the managed secret's ARN, never a password.
    let outputs = lab.run(&["output", "AwsRdsCluster/orders-db", "--json"]);
    assert_code(&outputs, 0);
    let outputs: serde_json::Value = serde_json::from_str(&super::stdout(&outputs)).unwrap();
    let cluster = &outputs["AwsRdsCluster/orders-db/cluster"];
    assert!(
        cluster["rds_cluster_endpoint"]
            .as_str()
            .is_some_and(|endpoint| !endpoint.is_empty())
    );
    assert!(
        cluster["master_user_secret_arn"]
            .as_str()
            .is_some_and(|arn| arn.starts_with("arn:aws:secretsmanager:"))
    );
    // A second plan, after a real refresh, finds nothing to do.
    let again = lab.run(&["plan", ".", "--detailed-exitcode"]);
    assert_code(&again, 0);
}

fn drift_then_update_in_place(moto: &MotoServer) {
    let lab = Lab::new(moto);
    lab.example(without_aurora_storage_type);
    assert_code(&lab.run(&["apply", ".", "--auto-approve"]), 0);
    // Retention changed in the console.
    lab.boto("rds.modify_db_cluster(DBClusterIdentifier='orders-db', BackupRetentionPeriod=3, ApplyImmediately=True)");
    let planned = lab.run(&["plan", ".", "--detailed-exitcode", "--format", "json"]);
    assert_code(&planned, 2);
    let plan: serde_json::Value = serde_json::from_str(&super::stdout(&planned)).unwrap();
    let drift = &plan["resource_drift"][0];
    assert_eq!(
        drift["address"], "AwsRdsCluster/orders-db/cluster",
        "{plan}"
    );
    assert_eq!(drift["attributes"][0]["name"], "backup_retention_period");
    assert_eq!(drift["attributes"][0]["remote"], 3);
    // The manifest wins back, in place, and a manifest change is applied in place too.
    lab.example(|text| {
        without_aurora_storage_type(text)
            .replace("backupRetentionPeriod: 14", "backupRetentionPeriod: 21")
    });
    let shown = lab.run(&["plan", "."]);
    assert!(
        super::stdout(&shown).contains("AwsRdsCluster/orders-db/cluster will be updated in place"),
        "{}",
        text(&shown)
    );
    assert_code(&lab.run(&["apply", ".", "--auto-approve"]), 0);
    assert_eq!(lab.cluster("BackupRetentionPeriod"), "21");
    assert_code(&lab.run(&["plan", ".", "--detailed-exitcode"]), 0);
}

/// The example without deletion protection, and with the data-loss policy waived, so that it
/// can be replaced and destroyed.
fn unprotected(text: String) -> String {
    without_aurora_storage_type(text)
        .replace("  deletionProtection: true\n", "  deletionProtection: false\n")
        .replace(
            "  labels: {team: orders, env: prod}\nspec:\n  region: us-east-1\n  engine: aurora-postgresql",
            "  labels: {team: orders, env: prod}\n  annotations: {dbplan.io/waive.DB701: \"test cluster\", dbplan.io/waive.DB402: \"test cluster\"}\nspec:\n  region: us-east-1\n  engine: aurora-postgresql",
        )
}

fn replace_deletes_instances_and_cluster_then_creates_them(moto: &MotoServer) {
    let lab = Lab::new(moto);
    lab.example(unprotected);
    assert_code(&lab.run(&["apply", ".", "--auto-approve"]), 0);
    let before = lab.cluster("DbClusterResourceId");
    // A new database name cannot be changed in place.
    lab.example(|text| unprotected(text).replace("databaseName: orders", "databaseName: orders2"));
    let planned = lab.run(&["plan", "."]);
    let shown = super::stdout(&planned);
    assert!(
        shown.contains("AwsRdsCluster/orders-db/cluster must be replaced"),
        "{}",
        text(&planned)
    );
    assert!(
        shown.contains("AwsRdsClusterInstance/orders-db-writer must be replaced"),
        "{shown}"
    );
    // moto names the automated snapshot of a new cluster after its id and the minute, keeps it
    // after the cluster is deleted, and refuses a re-create within the same minute
    // (DBClusterSnapshotAlreadyExistsFault, though it stores the cluster anyway). AWS does
    // neither; the snapshot is removed before the replacement.
    lab.boto(
        "[rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=s['DBClusterSnapshotIdentifier']) for s in rds.describe_db_cluster_snapshots(DBClusterIdentifier='orders-db')['DBClusterSnapshots']]",
    );
    let applied = lab.run(&["apply", ".", "--auto-approve"]);
    assert_code(&applied, 0);
    assert_eq!(lab.cluster("DatabaseName"), "\"orders2\"");
    assert_ne!(lab.cluster("DbClusterResourceId"), before);
    assert_code(&lab.run(&["plan", ".", "--detailed-exitcode"]), 0);
}

fn destroy_honours_deletion_protection_and_takes_the_final_snapshot(moto: &MotoServer) {
    let lab = Lab::new(moto);
    lab.example(without_aurora_storage_type);
    assert_code(&lab.run(&["apply", ".", "--auto-approve"]), 0);
    let refused = lab.run(&["destroy", ".", "--auto-approve"]);
    assert_code(&refused, 1);
    assert!(
        text(&refused).contains("deletion protection on"),
        "{}",
        text(&refused)
    );
    assert_eq!(lab.cluster("Status"), "\"available\"");

    // Protection off first (applied), then destroy: the final snapshot is taken. The manifest
    // says `deletionProtection: false` itself and keeps the final snapshot: that is the
    // reviewed intent, so the data-loss policy (DB701) needs no waiver.
    lab.example(|text| unprotected(text).replace("dbplan.io/waive.DB701: \"test cluster\", ", ""));
    assert_code(&lab.run(&["apply", ".", "--auto-approve"]), 0);
    assert_eq!(lab.cluster("DeletionProtection"), "false");
    let destroyed = lab.run(&["destroy", ".", "--auto-approve"]);
    assert_code(&destroyed, 0);
    assert_eq!(
        lab.boto("print(len(rds.describe_db_clusters()['DBClusters']))"),
        "0"
    );
    let snapshot = lab.boto(
        "print(rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier='orders-db-final')['DBClusterSnapshots'][0]['Status'])",
    );
    assert_eq!(snapshot, "available");
    assert_eq!(
        lab.boto("print(len(rds.describe_db_subnet_groups()['DBSubnetGroups']))"),
        "0"
    );

    // Without a final snapshot: none is asked for (moto would take one whenever an identifier
    // is sent, whatever SkipFinalSnapshot says, so the identifier must not be sent).
    moto.reset().unwrap();
    let lab = Lab::new(moto);
    lab.example(|text| {
        unprotected(text)
            .replace(
                "  skipFinalSnapshot: false\n",
                "  skipFinalSnapshot: true\n",
            )
            .replace("  finalSnapshotIdentifier: orders-db-final\n", "")
    });
    assert_code(&lab.run(&["apply", ".", "--auto-approve"]), 0);
    // Deleting the cluster without a final snapshot is what DB701 guards, opt-in or not:
    // without its waiver the destroy is refused and the cluster stays.
    lab.example(|text| {
        unprotected(text)
            .replace(
                "  skipFinalSnapshot: false\n",
                "  skipFinalSnapshot: true\n",
            )
            .replace("  finalSnapshotIdentifier: orders-db-final\n", "")
            .replace("dbplan.io/waive.DB701: \"test cluster\", ", "")
    });
    let refused = lab.run(&["destroy", ".", "--auto-approve"]);
    assert_code(&refused, 3);
    assert!(
        text(&refused).contains("DB701")
            && text(&refused).contains("AwsRdsCluster/orders-db/cluster"),
        "{}",
        text(&refused)
    );
    assert_eq!(lab.cluster("Status"), "\"available\"");
    lab.example(|text| {
        unprotected(text)
            .replace(
                "  skipFinalSnapshot: false\n",
                "  skipFinalSnapshot: true\n",
            )
            .replace("  finalSnapshotIdentifier: orders-db-final\n", "")
    });
    assert_code(&lab.run(&["destroy", ".", "--auto-approve"]), 0);
    assert_eq!(
        lab.boto("print(len([s for s in rds.describe_db_cluster_snapshots(SnapshotType='manual')['DBClusterSnapshots']]))"),
        "0"
    );
}

fn a_failed_create_skips_its_dependents_and_the_rest_completes(moto: &MotoServer) {
    let lab = Lab::new(moto);
    // us-east-1z does not exist: the VPC's subnet fails (400 InvalidParameterValue), so the
    // subnet group, the cluster and its instances are skipped; the parameter group, which
    // needs none of them, is created.
    lab.example(|text| without_aurora_storage_type(text).replace("us-east-1c]", "us-east-1z]"));
    let applied = lab.run(&["apply", ".", "--auto-approve"]);
    assert_code(&applied, 1);
    let shown = text(&applied);
    assert!(shown.contains("InvalidParameterValue"), "{shown}");
    assert!(
        shown.contains("create AwsRdsCluster/orders-db/cluster: skipped"),
        "{shown}"
    );
    assert_eq!(
        lab.boto("print(len(rds.describe_db_cluster_parameter_groups(DBClusterParameterGroupName='orders-db')['DBClusterParameterGroups']))"),
        "1"
    );
    assert_eq!(
        lab.boto("print(len(rds.describe_db_clusters()['DBClusters']))"),
        "0"
    );
    // Fixed, the next apply adopts what the failed one left and converges.
    lab.example(without_aurora_storage_type);
    assert_code(&lab.run(&["apply", ".", "--auto-approve"]), 0);
    assert_code(&lab.run(&["plan", ".", "--detailed-exitcode"]), 0);
}

fn groups_still_used_by_another_cluster_are_left_in_place(moto: &MotoServer) {
    let lab = Lab::new(moto);
    lab.example(unprotected);
    assert_code(&lab.run(&["apply", ".", "--auto-approve"]), 0);
    // Someone else's cluster in the same subnet group and security group.
    lab.boto(
        "c = rds.describe_db_clusters(DBClusterIdentifier='orders-db')['DBClusters'][0]\n\
         rds.create_db_cluster(DBClusterIdentifier='other-team', Engine='aurora-postgresql', EngineVersion='16.4', MasterUsername='other', MasterUserPassword='other-password-1', DBSubnetGroupName=c['DBSubnetGroup'], VpcSecurityGroupIds=[g['VpcSecurityGroupId'] for g in c['VpcSecurityGroups']])",
    );
    let destroyed = lab.run(&["destroy", ".", "--auto-approve"]);
    assert_code(&destroyed, 1);
    let shown = text(&destroyed);
    assert!(shown.contains("still used by other-team"), "{shown}");
    assert_eq!(
        lab.boto("print(len(rds.describe_db_subnet_groups()['DBSubnetGroups']))"),
        "1"
    );
    assert_eq!(
        lab.boto(
            "print([c['DBClusterIdentifier'] for c in rds.describe_db_clusters()['DBClusters']])"
        ),
        "['other-team']"
    );
}

fn nat_gateways_are_created_and_removed_with_the_vpc(moto: &MotoServer) {
    let lab = Lab::new(moto);
    std::fs::write(
        lab.directory.path().join("vpc.yaml"),
        "apiVersion: aws.project-planton.org/v1\nkind: AwsVpc\nmetadata: {name: edge}\nspec:\n  region: us-east-1\n  vpcCidr: 10.40.0.0/16\n  availabilityZones: [us-east-1a, us-east-1b]\n  subnetsPerAvailabilityZone: 2\n  subnetSize: 256\n  isNatGatewayEnabled: true\n",
    )
    .unwrap();
    assert_code(&lab.run(&["apply", "vpc.yaml", "--auto-approve"]), 0);
    let outputs = lab.run(&["output", "AwsVpc/edge", "--json"]);
    let outputs: serde_json::Value = serde_json::from_str(&super::stdout(&outputs)).unwrap();
    let vpc = &outputs["AwsVpc/edge"];
    // Private subnets first, AZ by AZ; then one public subnet per AZ.
    let private: Vec<&str> = vpc["private_subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|subnet| subnet["cidr"].as_str().unwrap())
        .collect();
    assert_eq!(
        private,
        [
            "10.40.0.0/24",
            "10.40.1.0/24",
            "10.40.2.0/24",
            "10.40.3.0/24"
        ]
    );
    let public: Vec<&str> = vpc["public_subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|subnet| subnet["cidr"].as_str().unwrap())
        .collect();
    assert_eq!(public, ["10.40.4.0/24", "10.40.5.0/24"]);
    let ec2 = "ec2 = boto3.client('ec2', endpoint_url=rds.meta.endpoint_url, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n";
    assert_eq!(
        lab.boto(&format!("{ec2}print(len([n for n in ec2.describe_nat_gateways()['NatGateways'] if n['State'] != 'deleted']))")),
        "2"
    );
    assert_code(&lab.run(&["plan", "vpc.yaml", "--detailed-exitcode"]), 0);
    assert_code(&lab.run(&["destroy", "vpc.yaml", "--auto-approve"]), 0);
    assert_eq!(
        lab.boto(&format!("{ec2}print(len(ec2.describe_vpcs(Filters=[{{'Name': 'cidr', 'Values': ['10.40.0.0/16']}}])['Vpcs']))")),
        "0"
    );
}

fn throttling_and_server_errors_are_retried(moto: &MotoServer) {
    let lab = Lab::new(moto);
    lab.example(without_aurora_storage_type);
    // moto injects no faults; a proxy in front of it answers every third request with AWS's
    // Throttling error or a 503, alternately.
    let proxy = dbplan_testkit::FaultProxy::start(moto.port, 3).unwrap();
    let applied = lab.run_via(&proxy.endpoint(), &["apply", ".", "--auto-approve"]);
    assert_code(&applied, 0);
    assert!(
        proxy.injected() >= 10,
        "only {} faults injected",
        proxy.injected()
    );
    let again = lab.run_via(&proxy.endpoint(), &["plan", ".", "--detailed-exitcode"]);
    assert_code(&again, 0);
    assert_eq!(lab.cluster("Status"), "\"available\"");
}

/// The platform cluster of `examples/tenant-databases`, only referenced: apply reads the
/// cluster someone else made (in the manifest's region, not the environment's) and records
/// what AWS reports; destroy forgets it; the cluster is never changed.
fn the_shared_tenant_cluster_example_applies(moto: &MotoServer) {
    let lab = Lab::new(moto);
    std::fs::copy(
        super::root().join("examples/tenant-databases/platform-cluster.yaml"),
        lab.directory.path().join("platform-cluster.yaml"),
    )
    .unwrap();
    let frankfurt = "rds = boto3.client('rds', endpoint_url=rds.meta.endpoint_url, region_name='eu-central-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n";
    let missing = lab.run(&["apply", "platform-cluster.yaml", "--auto-approve"]);
    assert_code(&missing, 1);
    assert!(
        text(&missing).contains("dbplan only reads a referenced cluster and never creates one"),
        "{}",
        text(&missing)
    );
    lab.boto(&format!(
        "{frankfurt}rds.create_db_cluster(DBClusterIdentifier='shared-pg', Engine='aurora-postgresql', EngineVersion='16.4', MasterUsername='platform', ManageMasterUserPassword=True)"
    ));
    let applied = lab.run(&["apply", "platform-cluster.yaml", "--auto-approve"]);
    assert_code(&applied, 0);
    let shown = lab.run(&["state", "show", "AwsRdsClusterReference/shared-pg"]);
    assert_code(&shown, 0);
    let said = super::stdout(&shown);
    assert!(said.contains("shared-pg.cluster-"), "{said}");
    assert!(said.contains("master_user_secret_arn"), "{said}");
    assert!(said.contains("master_username = platform"), "{said}");
    assert_code(
        &lab.run(&["plan", "platform-cluster.yaml", "--detailed-exitcode"]),
        0,
    );
    assert_code(
        &lab.run(&["destroy", "platform-cluster.yaml", "--auto-approve"]),
        0,
    );
    assert_eq!(
        lab.boto(&format!(
            "{frankfurt}print(rds.describe_db_clusters(DBClusterIdentifier='shared-pg')['DBClusters'][0]['Status'])"
        )),
        "available"
    );
}

/// A master password from the environment reaches AWS, and no output shows it, even at
/// `RUST_LOG=trace` (where the SDK logs its requests).
fn a_supplied_password_never_shows_even_at_trace(moto: &MotoServer) {
    let lab = Lab::new(moto);
    lab.example(|text| {
        without_aurora_storage_type(text).replace(
            "  manageMasterUserPassword: true\n",
            "  manageMasterUserPassword: false\n  password: {secretEnv: ORDERS_DB_PASSWORD}\n",
        )
    });
    let canary = "canary-Pa55word-7d1f";
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbplan"));
    command
        .args(["apply", ".", "--auto-approve"])
        .current_dir(lab.directory.path())
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "trace")
        .env("ORDERS_DB_PASSWORD", canary)
        .stdin(Stdio::null());
    for (name, value) in moto.env() {
        command.env(name, value);
    }
    let applied = command.output().unwrap();
    let printed = text(&applied);
    assert_code(&applied, 0);
    assert!(printed.contains("TRACE"), "the trace level was not on");
    assert!(!printed.contains(canary), "the password was printed");
    assert_eq!(lab.cluster("MasterUsername"), "\"ordersadmin\"");
}

/// Describe before create: moto would silently overwrite a cluster created again under the same
/// id (AWS refuses with DBClusterAlreadyExistsFault); dbplan never creates over one.
fn an_existing_cluster_is_adopted_only_with_opt_in_when_it_matches_and_reported_when_not(
    moto: &MotoServer,
) {
    let lab = Lab::new(moto);
    lab.example(without_aurora_storage_type);
    lab.boto(
        "rds.create_db_cluster(DBClusterIdentifier='orders-db', Engine='aurora-mysql', EngineVersion='8.0.mysql_aurora.3.05.2', MasterUsername='someone', MasterUserPassword='someone-else-1')",
    );
    let refused = lab.run(&[
        "apply",
        ".",
        "--auto-approve",
        "--adopt",
        "AwsRdsCluster/orders-db",
    ]);
    assert_code(&refused, 1);
    assert!(
        text(&refused).contains("a DB cluster orders-db already exists and does not match the manifest: its engine is aurora-mysql"),
        "{}",
        text(&refused)
    );
    assert_eq!(lab.cluster("Engine"), "\"aurora-mysql\"", "left untouched");

    let lab = Lab::new(moto);
    lab.example(without_aurora_storage_type);
    lab.boto(
        // Alike in what cannot change in place (and in what moto ignores on modify: IAM
        // authentication and log exports), different in the backup retention.
        "rds.create_db_cluster(DBClusterIdentifier='orders-db', Engine='aurora-postgresql', EngineVersion='16.4', DatabaseName='orders', MasterUsername='ordersadmin', MasterUserPassword='adopted-password-1', StorageEncrypted=True, EnableIAMDatabaseAuthentication=True, EnableCloudwatchLogsExports=['postgresql'], BackupRetentionPeriod=1)",
    );
    let arn = lab.cluster("DBClusterArn");
    // Without an opt-in it is not taken over: the first plan (credentials are at hand) finds
    // it, and apply is refused before anything is done, saying how to opt in.
    let refused = lab.run(&["apply", ".", "--auto-approve"]);
    assert_code(&refused, 1);
    assert!(
        text(&refused).contains("exists (id orders-db), and dbplan did not create it")
            && text(&refused).contains("--adopt AwsRdsCluster/orders-db/cluster"),
        "{}",
        text(&refused)
    );
    assert_eq!(lab.cluster("BackupRetentionPeriod"), "1", "left untouched");
    // The plan shows it as an adopt, blocked without opt-in.
    let planned = lab.run(&["plan", "."]);
    assert_code(&planned, 1);
    assert!(
        text(&planned).contains(" <= AwsRdsCluster/orders-db/cluster {"),
        "{}",
        text(&planned)
    );
    assert_code(
        &lab.run(&[
            "apply",
            ".",
            "--auto-approve",
            "--adopt",
            "AwsRdsCluster/orders-db",
        ]),
        0,
    );
    assert_eq!(
        lab.cluster("DBClusterArn"),
        arn,
        "adopted, not created again"
    );
    assert_eq!(
        lab.cluster("BackupRetentionPeriod"),
        "14",
        "brought to the manifest"
    );
    assert_code(&lab.run(&["plan", ".", "--detailed-exitcode"]), 0);
}
