use super::{Check, Checker};
use crate::codes;
use crate::formats;
use dbplan_core::kinds::aws_rds_cluster_instance::AwsRdsClusterInstanceSpec;

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
