//! `AwsRdsClusterReference`: an Aurora cluster dbplan does not manage, read so that tenant
//! databases can be made on it (Terraform's `data "aws_rds_cluster"`, Crossplane's `Observe`
//! management policy). Creating it reads the cluster (`DescribeDBClusters`) and records what
//! AWS reports as outputs; refresh reads it again; deleting it only forgets it. dbplan never
//! modifies or deletes the cluster.

use super::aws_rds_cluster::AdminConnection;
use super::{SecretText, de, output};
use crate::refs::SecretEnv;
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// What AWS reports of the cluster. The names of an `AwsRdsCluster`'s outputs where they are
/// the same thing, and what a tenant needs to log in: the master user, whether RDS manages its
/// password, whether IAM authentication is on.
pub const OUTPUTS: &[OutputSpec] = &[
    output("rds_cluster_endpoint"),
    output("rds_cluster_reader_endpoint"),
    output("rds_cluster_id"),
    output("rds_cluster_arn"),
    output("rds_cluster_resource_id"),
    output("rds_cluster_engine"),
    output("rds_cluster_engine_version"),
    output("rds_cluster_port"),
    output("master_user_secret_arn"),
    output("master_username"),
    output("manage_master_user_password"),
    output("iam_database_authentication_enabled"),
];

/// The attributes that hold a secret: planned as its keyed fingerprint, read at apply.
pub const SECRET_ATTRIBUTES: &[&str] = &["master_password"];

/// Another identifier or region is another cluster.
pub fn replaced_by(_: &Part) -> &'static [&'static str] {
    &["cluster_identifier", "region"]
}

/// dbplan holds no data of a cluster it only reads.
pub fn holds_data(_: &Part) -> bool {
    false
}

/// The attributes the object is planned with.
pub fn attribute_names(_: &Part) -> Option<&'static [&'static str]> {
    Some(de::attribute_names::<Reference>())
}

/// The planned (or recorded) attributes of the reference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Reference {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub cluster_identifier: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub region: Option<String>,
    /// Read only by the tenants on the cluster (who carry it as `admin`).
    #[serde(default)]
    pub admin_connection: Option<Json>,
    /// The master password, read from the environment when a tenant connects (never recorded).
    #[serde(default)]
    pub master_password: Option<SecretText>,
    /// The variable the password comes from.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub master_password_env: Option<String>,
}

/// An existing Aurora PostgreSQL cluster that dbplan reads but never changes or deletes, for
/// the tenant databases made on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsRdsClusterReferenceSpec {
    /// The cluster's identifier (`DBClusterIdentifier`), e.g. `platform-pg`.
    #[schemars(length(min = 1, max = 63))]
    pub cluster_identifier: String,
    /// The AWS region; the AWS configuration chain's region when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The master password, only as `{secretEnv: NAME}`, for a cluster whose password RDS does not manage; omit it when it does (dbplan then reads the managed secret) or with `adminConnection.iamUser`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_password: Option<SecretEnv>,
    /// How dbplan connects to the cluster's writer endpoint to manage the TenantDatabases on it: TLS, a tunnel, IAM authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_connection: Option<AdminConnection>,
}

impl AwsRdsClusterReferenceSpec {
    /// The name of the master password's variable (not its value), recorded so that tenants
    /// can connect.
    pub fn derived_attributes(&self) -> Json {
        let mut attributes = serde_json::Map::new();
        if let Some(password) = &self.master_password {
            attributes.insert(
                "master_password_env".to_owned(),
                Json::from(password.secret_env.clone()),
            );
        }
        Json::Object(attributes)
    }

    /// What the role and database of a tenant on this cluster are planned with (attribute
    /// `admin`), as [`super::aws_rds_cluster::AwsRdsClusterSpec::tenant_admin`].
    pub fn tenant_admin(&self) -> Json {
        super::aws_rds_cluster::tenant_admin(
            self.admin_connection.as_ref(),
            self.master_password
                .as_ref()
                .map(|password| password.secret_env.as_str()),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_planned_reference_and_names_the_password_variable() {
        let spec: AwsRdsClusterReferenceSpec = serde_json::from_value(json!({
            "cluster_identifier": "platform-pg",
            "region": "eu-central-1",
            "master_password": {"secret_env": "PLATFORM_PG_PASSWORD"},
            "admin_connection": {"connect_via": {"host": "127.0.0.1", "port": 15432}}
        }))
        .unwrap();
        assert_eq!(
            spec.derived_attributes(),
            json!({"master_password_env": "PLATFORM_PG_PASSWORD"})
        );
        assert_eq!(
            spec.tenant_admin(),
            json!({"sslmode": "require", "connect_via": {"host": "127.0.0.1", "port": 15432}, "password_env": "PLATFORM_PG_PASSWORD"})
        );
        let reference: Reference = crate::kinds::decode(
            json!({"cluster_identifier": "platform-pg", "region": "eu-central-1", "master_password_env": "PLATFORM_PG_PASSWORD"})
                .as_object()
                .unwrap()
                .clone(),
        )
        .unwrap();
        assert_eq!(reference.cluster_identifier.as_deref(), Some("platform-pg"));
        assert_eq!(
            reference.master_password_env.as_deref(),
            Some("PLATFORM_PG_PASSWORD")
        );
    }
}
