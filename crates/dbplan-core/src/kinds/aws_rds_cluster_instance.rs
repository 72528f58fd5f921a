//! `AwsRdsClusterInstance`: an instance of an Aurora cluster. One object.

use super::{de, output};
use crate::refs::{AwsRdsClusterId, ValueOrRef};
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const OUTPUTS: &[OutputSpec] = &[
    output("instance_id"),
    output("arn"),
    output("endpoint"),
    output("port"),
];

/// No attribute holds a secret.
pub const SECRET_ATTRIBUTES: &[&str] = &[];

/// ModifyDBInstance cannot move an instance to another cluster or zone, or rename it here.
pub fn replaced_by(_: &Part) -> &'static [&'static str] {
    &["cluster", "identifier", "availability_zone"]
}

pub fn holds_data(_: &Part) -> bool {
    false
}

/// The attributes the object is planned with.
pub fn attribute_names(_: &Part) -> Option<&'static [&'static str]> {
    Some(de::attribute_names::<Instance>())
}

/// The planned attributes of the instance: the spec's fields and `apply_immediately`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Instance {
    /// The cluster's identifier.
    #[serde(deserialize_with = "de::text")]
    pub cluster: String,
    #[serde(deserialize_with = "de::text")]
    pub instance_class: String,
    /// `metadata.name` when not given.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub identifier: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub publicly_accessible: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub promotion_tier: Option<i64>,
    #[serde(default)]
    pub auto_minor_version_upgrade: Option<bool>,
    #[serde(default)]
    pub performance_insights_enabled: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub monitoring_interval: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub db_parameter_group_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub ca_cert_identifier: Option<String>,
    /// On unless the manifest defers changes to the maintenance window.
    #[serde(default)]
    pub apply_immediately: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub region: Option<String>,
}

/// What finding or deleting an instance reads: its identifier alone (a delete has no planned
/// attributes, only recorded ones).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Identity {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub identifier: Option<String>,
}

// The spec: the fields a manifest declares (their doc comments are the editor schema's help).
// Its semantic checks, which report with spans, live with the loader
// (`dbplan-manifest/src/checks/`).

/// An instance of an Aurora DB cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsRdsClusterInstanceSpec {
    /// The cluster the instance belongs to.
    pub cluster: ValueOrRef<AwsRdsClusterId>,
    /// Instance class: `db.serverless` for Serverless v2, else e.g. `db.r6g.large`.
    pub instance_class: String,
    /// The instance identifier; `metadata.id`, else `metadata.name`, when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Availability Zone of the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// Whether the instance has a public IP address.
    #[serde(default)]
    pub publicly_accessible: bool,
    /// Failover priority, 0 (highest) to 15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 15))]
    pub promotion_tier: Option<u32>,
    /// Apply minor engine upgrades in the maintenance window.
    #[serde(default = "default_true")]
    pub auto_minor_version_upgrade: bool,
    /// Enable Performance Insights.
    #[serde(default)]
    pub performance_insights_enabled: bool,
    /// Enhanced Monitoring interval in seconds: 0 (off), 1, 5, 10, 15, 30 or 60.
    #[serde(default)]
    pub monitoring_interval: u32,
    /// DB parameter group of the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_parameter_group_name: Option<String>,
    /// Certificate authority of the instance's server certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert_identifier: Option<String>,
}

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_planned_instance() {
        let json = json!({
            "cluster": "orders-db",
            "instance_class": "db.serverless",
            "publicly_accessible": false,
            "auto_minor_version_upgrade": true,
            "performance_insights_enabled": false,
            "monitoring_interval": 0,
            "apply_immediately": true,
        });
        let instance: Instance = serde_json::from_value(json).unwrap();
        assert_eq!(instance.cluster, "orders-db");
        assert_eq!(instance.monitoring_interval, Some(0));
        assert_eq!(instance.identifier, None);
    }
}
