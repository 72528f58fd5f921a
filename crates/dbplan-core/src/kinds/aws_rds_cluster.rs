//! `AwsRdsCluster`: a component of up to four parts. The security group (when the manifest
//! lists `allowed_cidr_blocks` or `security_group_ids`), the DB subnet group (when it lists
//! `subnet_ids`), the cluster parameter group (when it lists `parameters`) and the Aurora
//! cluster, which holds the data.

use super::{SecretText, de, output};
use crate::refs::{
    AwsKmsKeyArn, AwsPrivateSubnetIds, AwsSecurityGroupId, AwsVpcId, NoDefault, SecretValue,
    ValueOrRef,
};
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub const OUTPUTS: &[OutputSpec] = &[
    output("rds_cluster_endpoint"),
    output("rds_cluster_reader_endpoint"),
    output("rds_cluster_id"),
    output("rds_cluster_arn"),
    output("rds_cluster_resource_id"),
    output("rds_cluster_engine"),
    output("rds_cluster_engine_version"),
    output("rds_cluster_port"),
    output("rds_subnet_group"),
    output("rds_security_group"),
    output("rds_cluster_parameter_group"),
    output("master_user_secret_arn"),
];

/// The attributes that hold a secret: planned as its keyed fingerprint, read at apply.
pub const SECRET_ATTRIBUTES: &[&str] = &["password"];

pub fn replaced_by(part: &Part) -> &'static [&'static str] {
    match part {
        // ModifyDBCluster has no parameter for any of these (AWS RDS API reference); Aurora
        // cannot encrypt or decrypt a cluster, change its KMS key, its initial database or its
        // master user name in place.
        Part::Cluster => &[
            "engine",
            "engine_mode",
            "storage_encrypted",
            "kms_key_id",
            "database_name",
            "username",
            "snapshot_identifier",
            "replication_source_identifier",
            "region",
        ],
        Part::SubnetGroup => &["db_subnet_group_name", "region"],
        // A parameter group's family is fixed at creation.
        Part::ParameterGroup => &["engine", "db_cluster_parameter_group_name", "region"],
        Part::SecurityGroup => &["vpc_id", "region"],
        _ => &[],
    }
}

/// The cluster holds the data; its groups do not.
pub fn holds_data(part: &Part) -> bool {
    *part == Part::Cluster
}

/// The attributes each part is planned with.
pub fn attribute_names(part: &Part) -> Option<&'static [&'static str]> {
    match part {
        Part::SecurityGroup => Some(de::attribute_names::<SecurityGroup>()),
        Part::SubnetGroup => Some(de::attribute_names::<SubnetGroup>()),
        Part::ParameterGroup => Some(de::attribute_names::<ParameterGroup>()),
        Part::Cluster => Some(de::attribute_names::<Cluster>()),
        _ => None,
    }
}

/// The planned attributes of the security group part: ingress on the cluster's port.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SecurityGroup {
    /// Known only once the VPC is applied; the engine resolves it before an apply.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub vpc_id: Option<String>,
    #[serde(default, deserialize_with = "de::texts")]
    pub allowed_cidr_blocks: Vec<String>,
    #[serde(default, deserialize_with = "de::texts")]
    pub security_group_ids: Vec<String>,
    /// 0 (the kind's default): the engine's default port.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub port: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub engine: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub region: Option<String>,
}

/// The planned attributes of the DB subnet group part.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SubnetGroup {
    #[serde(default, deserialize_with = "de::texts")]
    pub subnet_ids: Vec<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub db_subnet_group_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub region: Option<String>,
}

/// The planned attributes of the cluster parameter group part: its family follows `engine` and
/// `engine_version`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ParameterGroup {
    #[serde(deserialize_with = "de::text")]
    pub engine: String,
    #[serde(deserialize_with = "de::text")]
    pub engine_version: String,
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub db_cluster_parameter_group_name: Option<String>,
    /// The cluster's port, planned with the group so that it follows the cluster.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub port: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub region: Option<String>,
}

/// One item of `parameters`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub value: String,
    /// `immediate` when not given (the kind's documented default).
    #[serde(default)]
    pub apply_method: Option<String>,
}

/// The planned attributes of the cluster part: the spec's fields the other parts do not take,
/// and `apply_immediately`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Cluster {
    #[serde(deserialize_with = "de::text")]
    pub engine: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub engine_version: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub engine_mode: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub database_name: Option<String>,
    /// The master user.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub username: Option<String>,
    /// The master password (`{secretEnv}` read at apply); its fingerprint in a record.
    #[serde(default)]
    pub password: Option<SecretText>,
    /// 0 (the kind's default): the engine's default port.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub port: Option<i64>,
    #[serde(default)]
    pub storage_encrypted: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub iam_database_authentication_enabled: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub backup_retention_period: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub preferred_backup_window: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub preferred_maintenance_window: Option<String>,
    #[serde(default)]
    pub deletion_protection: Option<bool>,
    #[serde(default)]
    pub copy_tags_to_snapshot: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub storage_type: Option<String>,
    #[serde(default)]
    pub enable_http_endpoint: Option<bool>,
    #[serde(default)]
    pub serverless_v2_scaling: Option<Scaling>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub replication_source_identifier: Option<String>,
    #[serde(default, deserialize_with = "de::texts")]
    pub enabled_cloudwatch_logs_exports: Vec<String>,
    #[serde(default)]
    pub manage_master_user_password: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub master_user_secret_kms_key_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub snapshot_identifier: Option<String>,
    /// On unless the manifest defers changes to the maintenance window.
    #[serde(default)]
    pub apply_immediately: Option<bool>,
    /// An existing group, when the cluster has no subnet group part.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub db_subnet_group_name: Option<String>,
    /// An existing group, when the cluster has no parameter group part.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub db_cluster_parameter_group_name: Option<String>,
    #[serde(default, deserialize_with = "de::texts")]
    pub associate_security_group_ids: Vec<String>,
    /// The VPC, when the cluster has no security group part to take it (AWS places the
    /// cluster by its subnet group).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub skip_final_snapshot: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub final_snapshot_identifier: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub region: Option<String>,
}

/// `serverless_v2_scaling`: the capacity range, in ACUs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Scaling {
    #[serde(default)]
    pub min_capacity: Option<f64>,
    #[serde(default)]
    pub max_capacity: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub seconds_until_auto_pause: Option<i64>,
}

/// What deleting the cluster reads from its record: whether to take a final snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Deletion {
    #[serde(default)]
    pub skip_final_snapshot: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub final_snapshot_identifier: Option<String>,
}

/// What a modify or a read of the cluster reads from its record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct RecordedCluster {
    /// 0 asks for the engine's default port, whatever number that is.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub port: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub engine_version: Option<String>,
    #[serde(default, deserialize_with = "de::texts")]
    pub enabled_cloudwatch_logs_exports: Vec<String>,
    #[serde(default)]
    pub manage_master_user_password: Option<bool>,
}

// The spec: the fields a manifest declares (their doc comments are the editor schema's help).
// Its semantic checks, which report with spans, live with the loader
// (`dbplan-manifest/src/checks/`).

/// An RDS DB cluster engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AwsClusterEngine {
    /// Aurora MySQL.
    #[serde(rename = "aurora-mysql")]
    AuroraMysql,
    /// Aurora PostgreSQL.
    #[serde(rename = "aurora-postgresql")]
    AuroraPostgresql,
    /// A Multi-AZ DB cluster of RDS for MySQL.
    #[serde(rename = "mysql")]
    Mysql,
    /// A Multi-AZ DB cluster of RDS for PostgreSQL.
    #[serde(rename = "postgres")]
    Postgres,
}

impl AwsRdsClusterSpec {
    /// The part a top-level spec field configures: the security group, subnet group and
    /// parameter group are parts only when the spec asks for them (the graph expands the same
    /// conditions), and their fields belong to the cluster otherwise.
    pub fn part_of(&self, field: &str) -> Part {
        let security_group =
            !self.allowed_cidr_blocks.is_empty() || !self.security_group_ids.is_empty();
        match field {
            "subnet_ids" | "db_subnet_group_name" if !self.subnet_ids.is_empty() => {
                Part::SubnetGroup
            }
            "allowed_cidr_blocks" | "security_group_ids" | "vpc_id" if security_group => {
                Part::SecurityGroup
            }
            "parameters" | "db_cluster_parameter_group_name" if !self.parameters.is_empty() => {
                Part::ParameterGroup
            }
            // No part of the cluster is applied with it: the tenants on the cluster are (see
            // `tenant_admin`).
            "admin_connection" => Part::Whole,
            _ => Part::Cluster,
        }
    }

    /// What the role and database of a tenant on this cluster are planned with (attribute
    /// `admin`): the cluster's `admin_connection`, and the name of the master password's
    /// variable when `password` is a `secretEnv` (never a value). See
    /// [`super::tenant_database::TenantAdmin`].
    pub fn tenant_admin(&self) -> Json {
        let password_env = match &self.password {
            Some(SecretValue::Env { secret_env }) if !self.manage_master_user_password => {
                Some(secret_env.as_str())
            }
            _ => None,
        };
        tenant_admin(self.admin_connection.as_ref(), password_env)
    }

    /// What a part is planned with besides the spec fields it owns: the security group opens the
    /// cluster's port to its engine, the parameter group's family follows the engine and its
    /// version (`aurora-postgresql16`), and every part lives in the cluster's region.
    pub fn derived_attributes(&self, part: &Part) -> Json {
        let mut attributes = serde_json::Map::new();
        if matches!(part, Part::SecurityGroup | Part::ParameterGroup) {
            if *part == Part::ParameterGroup {
                attributes.insert(
                    "engine_version".to_owned(),
                    Json::from(self.engine_version.clone()),
                );
            }
            attributes.insert("port".to_owned(), Json::from(self.port));
            attributes.insert("engine".to_owned(), Json::from(self.engine.as_str()));
        }
        if matches!(
            part,
            Part::SecurityGroup | Part::ParameterGroup | Part::SubnetGroup
        ) && let Some(region) = &self.region
        {
            attributes.insert("region".to_owned(), Json::from(region.clone()));
        }
        Json::Object(attributes)
    }
}

impl AwsClusterEngine {
    pub fn as_str(self) -> &'static str {
        match self {
            AwsClusterEngine::AuroraMysql => "aurora-mysql",
            AwsClusterEngine::AuroraPostgresql => "aurora-postgresql",
            AwsClusterEngine::Mysql => "mysql",
            AwsClusterEngine::Postgres => "postgres",
        }
    }

    /// Whether the engine speaks PostgreSQL.
    pub fn is_postgres(self) -> bool {
        matches!(
            self,
            AwsClusterEngine::AuroraPostgresql | AwsClusterEngine::Postgres
        )
    }
}

/// How a parameter change is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ApplyMethod {
    /// Now (dynamic parameters only).
    Immediate,
    /// At the next reboot (required for static parameters).
    PendingReboot,
}

/// A cluster parameter set through the cluster parameter group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsRdsClusterParameter {
    /// Parameter name, e.g. `log_min_duration_statement`.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Parameter value as a string.
    pub value: String,
    /// `immediate` (default) or `pending-reboot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_method: Option<ApplyMethod>,
}

/// Aurora Serverless v2 capacity range, in Aurora capacity units (ACUs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerlessV2Scaling {
    /// Minimum ACUs, in steps of 0.5; 0 only where auto-pause is supported.
    #[schemars(range(min = 0.0, max = 256.0))]
    pub min_capacity: f64,
    /// Maximum ACUs, in steps of 0.5, at most 256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 256.0))]
    pub max_capacity: Option<f64>,
    /// Seconds of inactivity before an auto-paused cluster (min 0) pauses, 300 to 86400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 300, max = 86400))]
    pub seconds_until_auto_pause: Option<u32>,
}

/// Aurora engine mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EngineMode {
    Provisioned,
    /// Aurora Serverless v1 (end of life).
    Serverless,
}

/// Aurora storage type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum StorageType {
    /// Aurora Standard.
    #[serde(rename = "aurora")]
    Aurora,
    /// Aurora I/O-Optimized.
    #[serde(rename = "aurora-iopt1")]
    AuroraIopt1,
}

/// Project Planton's `AwsRdsClusterSpec` (every field), plus `seconds_until_auto_pause` and an
/// optional region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsRdsClusterSpec {
    /// Subnets of the DB subnet group; provide subnets in at least two Availability Zones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnet_ids: Vec<ValueOrRef<AwsPrivateSubnetIds>>,
    /// An existing DB subnet group to use instead of `subnet_ids`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_subnet_group_name: Option<ValueOrRef<NoDefault>>,
    /// Security groups allowed to connect (ingress sources of the security group dbplan creates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_group_ids: Vec<ValueOrRef<AwsSecurityGroupId>>,
    /// IPv4 CIDR blocks allowed to connect (ingress of the security group dbplan creates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_cidr_blocks: Vec<String>,
    /// Existing security groups attached to the cluster as they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub associate_security_group_ids: Vec<ValueOrRef<AwsSecurityGroupId>>,
    /// Name of the initial database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    /// Let RDS manage the master password in AWS Secrets Manager.
    #[serde(default)]
    pub manage_master_user_password: bool,
    /// KMS key for the managed master password's secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_user_secret_kms_key_id: Option<ValueOrRef<AwsKmsKeyArn>>,
    /// Master user name; `master` when omitted.
    #[serde(default = "default_username")]
    pub username: String,
    /// Master password: `{secretEnv: NAME}`, or a literal (flagged by policy). Not with a managed password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretValue>,
    /// Port the cluster listens on; the engine's default (3306 or 5432) when 0 or omitted.
    #[serde(default)]
    #[schemars(range(min = 0, max = 65535))]
    pub port: u32,
    /// The engine: `aurora-postgresql`, `aurora-mysql` (or `postgres`/`mysql` for Multi-AZ DB clusters).
    pub engine: AwsClusterEngine,
    /// Engine version, e.g. "16.4" or "8.0.mysql_aurora.3.05.2" (quote it).
    pub engine_version: String,
    /// Encrypt the cluster's storage.
    #[serde(default)]
    pub storage_encrypted: bool,
    /// KMS key for storage encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<ValueOrRef<AwsKmsKeyArn>>,
    /// Logs exported to CloudWatch (Aurora MySQL: audit, error, general, slowquery; Aurora PostgreSQL: postgresql).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enabled_cloudwatch_logs_exports: Vec<String>,
    /// Refuse deletion of the cluster.
    #[serde(default)]
    pub deletion_protection: bool,
    /// Weekly maintenance window in UTC, `ddd:hh24:mi-ddd:hh24:mi`, at least 30 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_maintenance_window: Option<String>,
    /// Days automated backups are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 35))]
    pub backup_retention_period: Option<u32>,
    /// Daily backup window in UTC, `hh24:mi-hh24:mi`, at least 30 minutes, not overlapping maintenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_backup_window: Option<String>,
    /// Copy the cluster's tags to its snapshots.
    #[serde(default)]
    pub copy_tags_to_snapshot: bool,
    /// Delete without a final snapshot.
    #[serde(default)]
    pub skip_final_snapshot: bool,
    /// Name of the final snapshot taken on deletion (required unless skipping it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_snapshot_identifier: Option<String>,
    /// Map IAM users and roles to database logins.
    #[serde(default)]
    pub iam_database_authentication_enabled: bool,
    /// Enable the RDS Data API.
    #[serde(default)]
    pub enable_http_endpoint: bool,
    /// Aurora Serverless v2 capacity range (needed before adding `db.serverless` instances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serverless_v2_scaling: Option<ServerlessV2Scaling>,
    /// Create the cluster from this snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_identifier: Option<String>,
    /// Create the cluster as a read replica of this cluster (ARN or identifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_source_identifier: Option<String>,
    /// An existing cluster parameter group (when `parameters` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_cluster_parameter_group_name: Option<String>,
    /// Parameters of the cluster parameter group dbplan creates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<AwsRdsClusterParameter>,
    /// The VPC of the cluster (for the security group dbplan creates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<ValueOrRef<AwsVpcId>>,
    /// `provisioned` (default) or `serverless` (Serverless v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_mode: Option<EngineMode>,
    /// `aurora` (Standard) or `aurora-iopt1` (I/O-Optimized).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_type: Option<StorageType>,
    /// The AWS region (dbplan extension); the AWS configuration chain's region when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// How dbplan connects to the cluster's writer endpoint to manage the TenantDatabases on it (dbplan extension): TLS, a tunnel, IAM authentication. Not an AWS setting: changing it changes no cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_connection: Option<AdminConnection>,
}

/// How dbplan connects to an Aurora PostgreSQL cluster as its administrator, to manage the
/// tenant databases on it. It logs in as the master user, with the password RDS manages in
/// Secrets Manager (`manage_master_user_password`) or the one in `password`'s `secretEnv`
/// variable, or with an IAM authentication token as `iam_user`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminConnection {
    /// `require` (default: encrypted, the certificate not verified) or `verify-full` (verified against the endpoint's name with `sslrootcert`).
    #[serde(default)]
    pub sslmode: AdminSslMode,
    /// CA bundle that verifies the cluster's certificate, e.g. RDS's `global-bundle.pem` (for `verify-full`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sslrootcert: Option<String>,
    /// Connect through a tunnel's local end (`{host: 127.0.0.1, port: 15432}`) instead of the writer endpoint, for a cluster in a private network; TLS still verifies the endpoint's name, and tenants' connection secrets still point at the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_via: Option<super::postgres_server::ConnectVia>,
    /// Database dbplan connects to for administration; `postgres` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Log in as this database user with an IAM authentication token instead of the master password (needs `iam_database_authentication_enabled`; the user needs the `rds_iam` role, CREATEDB and CREATEROLE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub iam_user: Option<String>,
}

/// The `admin` attribute of a tenant's role and database on an Aurora cluster (managed or only
/// referenced): how to connect, and the master password's variable, if it comes from one.
pub(crate) fn tenant_admin(
    connection: Option<&AdminConnection>,
    password_env: Option<&str>,
) -> Json {
    let connection = connection.cloned().unwrap_or_default();
    let mut admin = serde_json::Map::new();
    admin.insert(
        "sslmode".to_owned(),
        Json::from(connection.sslmode.as_str()),
    );
    if let Some(root) = connection.sslrootcert {
        admin.insert("sslrootcert".to_owned(), Json::from(root));
    }
    if let Some(via) = &connection.connect_via {
        admin.insert("connect_via".to_owned(), super::to_json(via));
    }
    if let Some(database) = connection.database {
        admin.insert("database".to_owned(), Json::from(database));
    }
    if let Some(user) = connection.iam_user {
        admin.insert("iam_user".to_owned(), Json::from(user));
    }
    if let Some(variable) = password_env {
        admin.insert("password_env".to_owned(), Json::from(variable));
    }
    Json::Object(admin)
}

/// TLS of dbplan's administrative connection to an Aurora cluster: never without encryption.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AdminSslMode {
    /// Encrypt, without verifying the certificate.
    #[default]
    Require,
    /// Encrypt and verify the certificate and the endpoint's name.
    VerifyFull,
}

impl AdminSslMode {
    /// libpq's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminSslMode::Require => "require",
            AdminSslMode::VerifyFull => "verify-full",
        }
    }
}

fn default_username() -> String {
    "master".to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_planned_cluster() {
        let json = json!({
            "engine": "aurora-postgresql",
            "engine_version": "16.4",
            "username": "master",
            "password": "hunter2",
            "port": 0,
            "storage_encrypted": true,
            "serverless_v2_scaling": {"min_capacity": 0.5, "max_capacity": 4.0},
            "enabled_cloudwatch_logs_exports": ["postgresql"],
            "skip_final_snapshot": false,
            "final_snapshot_identifier": "orders-final",
            "apply_immediately": true,
        });
        let cluster: Cluster = serde_json::from_value(json).unwrap();
        assert_eq!(cluster.port, Some(0));
        assert_eq!(
            cluster.password.as_ref().map(SecretText::expose),
            Some("hunter2")
        );
        assert!(!format!("{cluster:?}").contains("hunter2"));
        assert_eq!(
            cluster.final_snapshot_identifier.as_deref(),
            Some("orders-final")
        );
        assert_eq!(
            cluster.serverless_v2_scaling.unwrap().max_capacity,
            Some(4.0)
        );
    }

    #[test]
    fn decodes_the_planned_groups() {
        let group: ParameterGroup = serde_json::from_value(json!({
            "engine": "aurora-postgresql",
            "engine_version": "16.4",
            "parameters": [{"name": "log_min_duration_statement", "value": "500"}],
        }))
        .unwrap();
        assert_eq!(group.parameters[0].apply_method, None);
        let subnets: SubnetGroup =
            serde_json::from_value(json!({"subnet_ids": ["subnet-a", "subnet-b"]})).unwrap();
        assert_eq!(subnets.subnet_ids.len(), 2);
        let security: SecurityGroup = serde_json::from_value(json!({
            "vpc_id": "vpc-1", "allowed_cidr_blocks": ["10.0.0.0/16"], "port": 5432,
            "engine": "aurora-postgresql",
        }))
        .unwrap();
        assert_eq!(security.port, Some(5432));
    }
}
