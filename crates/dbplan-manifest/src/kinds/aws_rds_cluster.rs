use super::{Check, Checker};
use crate::formats;
use crate::refs::{
    AwsKmsKeyArn, AwsPrivateSubnetIds, AwsSecurityGroupId, AwsVpcId, NoDefault, SecretValue,
    ValueOrRef,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
}

fn default_username() -> String {
    "master".to_owned()
}

impl Check for AwsRdsClusterSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        let (identifier, pointer) = match &checker.metadata.id {
            Some(id) => (id.clone(), "/metadata/id"),
            None => (checker.metadata.name.clone(), "/metadata/name"),
        };
        checker.format(
            pointer,
            formats::check_aurora_cluster_identifier(&identifier),
        );
        checker.format(
            "/spec/engine_version",
            formats::check_aurora_engine_version(&self.engine_version),
        );
        if let Some(SecretValue::Env { secret_env }) = &self.password {
            crate::secret_env::check(checker, "/spec/password/secret_env", secret_env);
        }
        if let Some(window) = &self.preferred_backup_window {
            checker.format(
                "/spec/preferred_backup_window",
                formats::parse_backup_window(window),
            );
        }
        if let Some(window) = &self.preferred_maintenance_window {
            checker.format(
                "/spec/preferred_maintenance_window",
                formats::parse_maintenance_window(window),
            );
        }
        for (index, cidr) in self.allowed_cidr_blocks.iter().enumerate() {
            checker.format(
                &format!("/spec/allowed_cidr_blocks/{index}"),
                formats::parse_ipv4_cidr(cidr),
            );
        }
        if let Some(name) = &self.final_snapshot_identifier {
            checker.format(
                "/spec/final_snapshot_identifier",
                formats::check_final_snapshot_identifier(name),
            );
        }
        if let Some(name) = &self.db_cluster_parameter_group_name {
            checker.format(
                "/spec/db_cluster_parameter_group_name",
                formats::check_parameter_group_name(name),
            );
        }
        if let Some(ValueOrRef::Value(name)) = &self.db_subnet_group_name {
            checker.format(
                "/spec/db_subnet_group_name",
                formats::check_db_subnet_group_name(name),
            );
        }
        if let Some(name) = &self.database_name {
            checker.format(
                "/spec/database_name",
                formats::check_aurora_database_name(name, self.engine.as_str()),
            );
        }
        if checker.is_set("/spec/username") {
            checker.format(
                "/spec/username",
                formats::check_aurora_master_username(&self.username),
            );
        }
        if let Some(region) = &self.region {
            checker.format("/spec/region", formats::check_aws_region(region));
        }
    }
}
