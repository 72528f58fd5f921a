use super::{Check, Checker};
use crate::codes;
use crate::formats;
use crate::refs::{AwsRdsClusterId, ValueOrRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

impl Check for AwsRdsClusterInstanceSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        if !self.instance_class.starts_with("db.") || self.instance_class.len() < 4 {
            checker.report(
                codes::BAD_FORMAT,
                "/spec/instance_class",
                format!("{:?} is not a DB instance class", self.instance_class),
                "write `db.serverless` for Aurora Serverless v2, or a class such as `db.r6g.large`",
            );
        }
        if ![0, 1, 5, 10, 15, 30, 60].contains(&self.monitoring_interval) {
            checker.report(
                codes::BAD_ENUM,
                "/spec/monitoring_interval",
                format!("monitoring_interval cannot be {}", self.monitoring_interval),
                "use 0 (off), 1, 5, 10, 15, 30 or 60 seconds",
            );
        }
        let (identifier, pointer) = match (&self.identifier, &checker.metadata.id) {
            (Some(identifier), _) => (identifier.clone(), "/spec/identifier"),
            (None, Some(id)) => (id.clone(), "/metadata/id"),
            (None, None) => (checker.metadata.name.clone(), "/metadata/name"),
        };
        checker.format(
            pointer,
            formats::check_aurora_cluster_identifier(&identifier),
        );
        if let Some(zone) = &self.availability_zone {
            checker.format(
                "/spec/availability_zone",
                formats::check_availability_zone(zone),
            );
        }
    }
}
