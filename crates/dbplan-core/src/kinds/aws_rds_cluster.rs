//! `AwsRdsCluster`: a component of up to four parts. The security group (when the manifest
//! lists `allowed_cidr_blocks` or `security_group_ids`), the DB subnet group (when it lists
//! `subnet_ids`), the cluster parameter group (when it lists `parameters`) and the Aurora
//! cluster, which holds the data.

use super::{SecretText, de, output};
use crate::{OutputSpec, Part};
use serde::Deserialize;

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
