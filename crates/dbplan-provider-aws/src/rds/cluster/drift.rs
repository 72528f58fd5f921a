//! What a read of the cluster reports: the recorded attributes with AWS's values where they
//! differ (a table of which attribute AWS reports where), and the cluster's outputs (another
//! table).

use super::describe;
use crate::Clients;
use aws_sdk_rds::types::DbCluster;
use dbplan_core::kinds::aws_rds_cluster::RecordedCluster;
use dbplan_provider::{Field, ProviderError, ReadOutcome, ReadRequest, RemoteObject};
use serde_json::Value;
use std::collections::BTreeMap;

/// The cluster's settings that come from its other parts or the manifest's existing names.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Placement {
    pub(crate) subnet_group: Option<String>,
    pub(crate) security_groups: Vec<String>,
    pub(crate) parameter_group: Option<String>,
}

impl Placement {
    /// Where the cluster is placed, as AWS reports it.
    fn of(cluster: &DbCluster) -> Placement {
        Placement {
            subnet_group: cluster.db_subnet_group().map(str::to_owned),
            security_groups: cluster
                .vpc_security_groups()
                .iter()
                .filter_map(|group| group.vpc_security_group_id().map(str::to_owned))
                .collect(),
            parameter_group: cluster.db_cluster_parameter_group().map(str::to_owned),
        }
    }
}

/// Where AWS reports a value of the cluster.
type Reported = fn(&DbCluster) -> Option<Value>;

/// The attributes a read compares, and where AWS reports each (`port` has its own rule:
/// [`drift`]).
const ATTRIBUTES: &[(&str, Reported)] = &[
    ("engine", |c| c.engine().map(Value::from)),
    ("engine_version", |c| c.engine_version().map(Value::from)),
    ("backup_retention_period", |c| {
        c.backup_retention_period().map(Value::from)
    }),
    ("preferred_backup_window", |c| {
        c.preferred_backup_window().map(Value::from)
    }),
    ("preferred_maintenance_window", |c| {
        c.preferred_maintenance_window().map(Value::from)
    }),
    ("deletion_protection", |c| {
        c.deletion_protection().map(Value::from)
    }),
    ("copy_tags_to_snapshot", |c| {
        c.copy_tags_to_snapshot().map(Value::from)
    }),
    ("storage_encrypted", |c| {
        c.storage_encrypted().map(Value::from)
    }),
    ("iam_database_authentication_enabled", |c| {
        c.iam_database_authentication_enabled().map(Value::from)
    }),
    ("database_name", |c| c.database_name().map(Value::from)),
    ("username", |c| c.master_username().map(Value::from)),
    ("enabled_cloudwatch_logs_exports", |c| {
        Some(serde_json::json!(c.enabled_cloudwatch_logs_exports()))
    }),
    ("manage_master_user_password", |c| {
        Some(Value::from(c.master_user_secret().is_some()))
    }),
];

/// The outputs read from the cluster itself (the placement adds three: [`cluster_outputs`]).
const OUTPUTS: &[(&str, Reported)] = &[
    ("rds_cluster_id", |c| {
        c.db_cluster_identifier().map(Value::from)
    }),
    ("rds_cluster_endpoint", |c| c.endpoint().map(Value::from)),
    ("rds_cluster_reader_endpoint", |c| {
        c.reader_endpoint().map(Value::from)
    }),
    ("rds_cluster_arn", |c| c.db_cluster_arn().map(Value::from)),
    ("rds_cluster_resource_id", |c| {
        c.db_cluster_resource_id().map(Value::from)
    }),
    ("rds_cluster_engine", |c| c.engine().map(Value::from)),
    ("rds_cluster_engine_version", |c| {
        c.engine_version().map(Value::from)
    }),
    ("rds_cluster_port", |c| c.port().map(Value::from)),
    // The managed secret's ARN, never a password.
    ("master_user_secret_arn", |c| {
        c.master_user_secret()
            .and_then(|secret| secret.secret_arn())
            .map(Value::from)
    }),
];

/// The cluster's outputs: what AWS reports of it, and where it is placed.
pub(crate) fn cluster_outputs(
    cluster: &DbCluster,
    placement: &Placement,
) -> BTreeMap<String, Field> {
    let placed = [
        ("rds_subnet_group", placement.subnet_group.clone()),
        (
            "rds_security_group",
            placement.security_groups.first().cloned(),
        ),
        (
            "rds_cluster_parameter_group",
            placement.parameter_group.clone(),
        ),
    ];
    OUTPUTS
        .iter()
        .map(|(name, reported)| (*name, reported(cluster)))
        .chain(placed.map(|(name, value)| (name, value.map(Value::from))))
        .filter_map(|(name, value)| Some((name.to_owned(), Field::plain(value?))))
        .collect()
}

/// What an `AwsRdsClusterReference` records of the cluster it reads: the cluster's own outputs,
/// and what a tenant needs to log in (the master user, whether RDS manages its password,
/// whether IAM authentication is on).
pub(crate) fn observed_outputs(cluster: &DbCluster) -> BTreeMap<String, Field> {
    let login: [(&str, Reported); 3] = [
        ("master_username", |c| c.master_username().map(Value::from)),
        ("manage_master_user_password", |c| {
            Some(Value::from(c.master_user_secret().is_some()))
        }),
        ("iam_database_authentication_enabled", |c| {
            Some(Value::from(
                c.iam_database_authentication_enabled().unwrap_or(false),
            ))
        }),
    ];
    OUTPUTS
        .iter()
        .chain(login.iter())
        .filter_map(|(name, reported)| Some(((*name).to_owned(), Field::plain(reported(cluster)?))))
        .collect()
}

/// The recorded attributes with the values AWS reports where they differ. Only recorded
/// attributes are compared; one AWS does not report keeps its recorded value.
pub(crate) fn drift(
    recorded: &BTreeMap<String, Value>,
    typed: RecordedCluster,
    cluster: &DbCluster,
) -> BTreeMap<String, Value> {
    let mut attributes = recorded.clone();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value
            && attributes.contains_key(name)
            && !equivalent(name, attributes.get(name), &value)
        {
            attributes.insert(name.to_owned(), value);
        }
    };
    for (name, reported) in ATTRIBUTES {
        put(name, reported(cluster));
    }
    // A recorded 0 asks for the engine's default port, whatever number that is.
    if typed.port != Some(0) {
        put("port", cluster.port().map(Value::from));
    }
    if let Some(scaling) = cluster.serverless_v2_scaling_configuration()
        && let Some(Value::Object(recorded)) = attributes.get("serverless_v2_scaling")
    {
        let mut now = recorded.clone();
        if let Some(min) = scaling.min_capacity() {
            now.insert("min_capacity".to_owned(), Value::from(min));
        }
        if let Some(max) = scaling.max_capacity() {
            now.insert("max_capacity".to_owned(), Value::from(max));
        }
        attributes.insert("serverless_v2_scaling".to_owned(), Value::Object(now));
    }
    attributes
}

/// Whether a value AWS reports says the same as the recorded one, though written differently:
/// an engine version AWS upgraded within the same major version (automatic minor upgrades; the
/// manifest may name only the major), a window in other letter case, a list in another order.
fn equivalent(name: &str, recorded: Option<&Value>, remote: &Value) -> bool {
    let Some(recorded) = recorded else {
        return false;
    };
    match (name, recorded, remote) {
        ("engine_version", Value::String(recorded), Value::String(remote)) => {
            super::major_version(recorded) == super::major_version(remote)
        }
        (_, Value::String(recorded), Value::String(remote)) => {
            recorded.eq_ignore_ascii_case(remote)
        }
        (_, Value::Array(recorded), Value::Array(remote)) => {
            let mut recorded = recorded.clone();
            let mut remote = remote.clone();
            recorded.sort_by_key(ToString::to_string);
            remote.sort_by_key(ToString::to_string);
            recorded == remote
        }
        _ => recorded == remote,
    }
}

pub(crate) async fn read(
    clients: &Clients,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let identifier = request
        .provider_id
        .clone()
        .unwrap_or_else(|| request.address.name.to_lowercase());
    let Some(cluster) = describe(clients, address, &identifier).await? else {
        return Ok(ReadOutcome::Gone);
    };
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: Some(identifier),
        attributes: drift(&request.attributes, request.decode()?, &cluster),
        outputs: cluster_outputs(&cluster, &Placement::of(&cluster)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{map, typed};
    use aws_sdk_rds::types::{
        MasterUserSecret, ServerlessV2ScalingConfigurationInfo, VpcSecurityGroupMembership,
    };
    use serde_json::json;

    fn described() -> DbCluster {
        DbCluster::builder()
            .db_cluster_identifier("orders-db")
            .engine("aurora-postgresql")
            // AWS upgraded the minor version on its own.
            .engine_version("16.6")
            .backup_retention_period(14)
            // The same window, in AWS's letter case.
            .preferred_backup_window("03:00-04:00")
            .preferred_maintenance_window("SUN:05:00-SUN:06:00")
            .deletion_protection(true)
            .port(5432)
            .enabled_cloudwatch_logs_exports("upgrade")
            .enabled_cloudwatch_logs_exports("postgresql")
            .master_user_secret(MasterUserSecret::builder().secret_arn("arn:secret").build())
            .serverless_v2_scaling_configuration(
                ServerlessV2ScalingConfigurationInfo::builder()
                    .min_capacity(1.0)
                    .max_capacity(8.0)
                    .build(),
            )
            .endpoint("orders-db.cluster-x.us-east-1.rds.amazonaws.com")
            .db_subnet_group("orders-db")
            .vpc_security_groups(
                VpcSecurityGroupMembership::builder()
                    .vpc_security_group_id("sg-1")
                    .build(),
            )
            .build()
    }

    #[test]
    fn drift_reports_changed_values_and_keeps_equivalent_ones() {
        let recorded = map(json!({
            "engine": "aurora-postgresql",
            "engine_version": "16.4",
            "backup_retention_period": 7,
            "preferred_maintenance_window": "sun:05:00-sun:06:00",
            "deletion_protection": false,
            "port": 0,
            "enabled_cloudwatch_logs_exports": ["postgresql", "upgrade"],
            "manage_master_user_password": false,
            "serverless_v2_scaling": {"min_capacity": 0.5, "max_capacity": 8.0, "seconds_until_auto_pause": 300},
        }));
        let now = drift(&recorded, typed(&recorded), &described());
        let expected = map(json!({
            "engine": "aurora-postgresql",
            "engine_version": "16.4",
            "backup_retention_period": 14,
            "preferred_maintenance_window": "sun:05:00-sun:06:00",
            "deletion_protection": true,
            "port": 0,
            "enabled_cloudwatch_logs_exports": ["postgresql", "upgrade"],
            "manage_master_user_password": true,
            "serverless_v2_scaling": {"min_capacity": 1.0, "max_capacity": 8.0, "seconds_until_auto_pause": 300},
        }));
        assert_eq!(now, expected);
    }

    #[test]
    fn drift_compares_a_recorded_port_and_adds_nothing_unrecorded() {
        let recorded = map(json!({"port": 5433, "engine_version": "15.4"}));
        let now = drift(&recorded, typed(&recorded), &described());
        assert_eq!(now, map(json!({"port": 5432, "engine_version": "16.6"})));
    }

    #[test]
    fn outputs_hold_the_endpoints_the_placement_and_the_secret_arn() {
        let cluster = described();
        let outputs = cluster_outputs(&cluster, &Placement::of(&cluster));
        let text = |name: &str| outputs.get(name).and_then(Field::as_str);
        assert_eq!(text("rds_cluster_id"), Some("orders-db"));
        assert_eq!(
            text("rds_cluster_endpoint"),
            Some("orders-db.cluster-x.us-east-1.rds.amazonaws.com")
        );
        assert_eq!(text("rds_subnet_group"), Some("orders-db"));
        assert_eq!(text("rds_security_group"), Some("sg-1"));
        assert_eq!(text("master_user_secret_arn"), Some("arn:secret"));
        assert_eq!(outputs.get("rds_cluster_port"), Some(&Field::plain(5432)));
        // What AWS did not report is left out.
        assert_eq!(outputs.get("rds_cluster_reader_endpoint"), None);
        assert_eq!(outputs.get("rds_cluster_parameter_group"), None);
        assert!(outputs.values().all(|field| !field.sensitive));
    }
}
