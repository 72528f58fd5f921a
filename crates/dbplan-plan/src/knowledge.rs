//! What dbplan knows about each kind's objects: which attributes cannot change in place (a
//! change replaces the object), which objects hold data, and whether deleting one takes a final
//! snapshot. The lists follow the providers' APIs: an attribute that the modify/update call of
//! the API does not accept forces a new object.

use dbplan_core::{Kind, Value};
use std::collections::BTreeMap;

/// Attributes whose change forces a new object, per kind and part.
pub fn forces_replacement(kind: Kind, part: Option<&str>, attribute: &str) -> bool {
    let list: &[&str] = match (kind, part) {
        // ModifyDBCluster has no parameter for any of these (AWS RDS API reference); Aurora
        // cannot encrypt or decrypt a cluster, change its KMS key, its initial database or its
        // master user name in place.
        (Kind::AwsRdsCluster, Some("cluster")) => &[
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
        (Kind::AwsRdsCluster, Some("subnet-group")) => &["db_subnet_group_name", "region"],
        // A parameter group's family is fixed at creation.
        (Kind::AwsRdsCluster, Some("parameter-group")) => {
            &["engine", "db_cluster_parameter_group_name", "region"]
        }
        (Kind::AwsRdsCluster, Some("security-group")) => &["vpc_id", "region"],
        (Kind::AwsRdsClusterInstance, _) => &["cluster", "identifier", "availability_zone"],
        (Kind::AwsVpc, _) => &["vpc_cidr", "region"],
        (Kind::AwsSecurityGroup, _) => &["vpc_id", "description", "region"],
        // The DigitalOcean API has no call that changes a cluster's engine, name or VPC, and
        // dbplan does not migrate clusters between regions: a new region is a new cluster.
        (Kind::DigitalOceanDatabaseCluster, _) => &["engine", "region", "cluster_name", "vpc"],
        (Kind::DigitalOceanVpc, _) => &["region", "ip_range_cidr"],
        // A pool's name is its key in the API (`PUT …/pools/{pool_name}` cannot rename it).
        (Kind::DigitalOceanDatabaseConnectionPool, _) => &["name", "cluster_id"],
        (Kind::DigitalOceanDatabaseFirewall, _) => &["cluster_id"],
        // A tenant database on another server, or under another name, is another database. A
        // role is renamed in place (`ALTER ROLE … RENAME TO`): the databases it owns keep their
        // owner, so the old role never has to be dropped while it still owns them.
        (Kind::TenantDatabase, Some("database")) => &["name", "server"],
        (Kind::TenantDatabase, Some("role")) => &["server"],
        (Kind::CnpgCluster, Some("cluster")) => &["namespace", "bootstrap"],
        (Kind::CnpgCluster, Some(part)) if part.starts_with("database-") => &["name"],
        _ => &[],
    };
    list.contains(&attribute)
}

/// Whether an object holds data that a delete or a replacement loses.
pub fn is_stateful(kind: Kind, part: Option<&str>) -> bool {
    match (kind, part) {
        (Kind::AwsRdsCluster, Some("cluster")) => true,
        (Kind::DigitalOceanDatabaseCluster, _) => true,
        (Kind::TenantDatabase, Some("database" | "role")) => true,
        (Kind::CnpgCluster, Some(part)) => part == "cluster" || part.starts_with("database-"),
        _ => false,
    }
}

/// Whether deleting the object takes a final snapshot: `Some(true|false)` where the provider
/// offers one, `None` where it has no such thing.
pub fn final_snapshot(
    kind: Kind,
    part: Option<&str>,
    attributes: &BTreeMap<String, Value>,
) -> Option<bool> {
    match (kind, part) {
        (Kind::AwsRdsCluster, Some("cluster")) => {
            let skip = matches!(
                attributes.get("skip_final_snapshot"),
                Some(Value::Bool(true))
            );
            let named = matches!(
                attributes.get("final_snapshot_identifier"),
                Some(Value::String(name)) if !name.is_empty()
            );
            Some(!skip && named)
        }
        (Kind::DigitalOceanDatabaseCluster, _) => Some(false),
        _ => None,
    }
}
