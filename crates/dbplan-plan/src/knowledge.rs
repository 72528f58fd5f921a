//! What planning knows about each kind's objects beyond their homes in [`dbplan_core::kinds`]
//! (which say the attributes that cannot change in place and the parts that hold data): what
//! a removed field becomes, which outputs a provider generates, and whether deleting an object
//! takes a final snapshot.

use dbplan_core::{Kind, Part, Value, kinds};
use std::collections::BTreeMap;

/// Whether a change of the attribute forces a new object: the kind's home in
/// [`dbplan_core::kinds`] lists the attributes each API cannot change in place.
pub fn forces_replacement(kind: Kind, part: Option<&str>, attribute: &str) -> bool {
    Part::of(part).is_ok_and(|part| kinds::replaced_by(kind, &part).contains(&attribute))
}

/// Outputs a provider generates for an object and that cannot be read back from it (a role's
/// password). An object recorded without one (imported with `dbplan import`) is planned as an
/// update that sets it: the plan shows it as a sensitive value known after apply, and the
/// provider generates it when it applies the update.
pub fn generated_outputs(kind: Kind, part: Option<&str>) -> &'static [&'static str] {
    match (kind, Part::of(part)) {
        (Kind::TenantDatabase, Ok(Part::Role)) => &["password"],
        _ => &[],
    }
}

/// Whether an object holds data that a delete or a replacement loses (the kind's home in
/// [`dbplan_core::kinds`] says).
pub fn is_stateful(kind: Kind, part: Option<&str>) -> bool {
    Part::of(part).is_ok_and(|part| kinds::holds_data(kind, &part))
}

/// Whether deleting the object takes a final snapshot: `Some(true|false)` where the provider
/// offers one, `None` where it has no such thing.
pub fn final_snapshot(
    kind: Kind,
    part: Option<&str>,
    attributes: &BTreeMap<String, Value>,
) -> Option<bool> {
    match (kind, Part::of(part)) {
        (Kind::AwsRdsCluster, Ok(Part::Cluster)) => {
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

/// What a field removed from a manifest (recorded in state, no longer asked for) becomes.
#[derive(Clone, Debug, PartialEq)]
pub enum Removal {
    /// The field returns to this value (the kind's documented default, or empty), planned and
    /// applied like any other change.
    Reset(Value),
    /// The provider cannot reset it: the remote object keeps its value and dbplan stops
    /// recording it. The plan says so with this reason.
    Forget(&'static str),
}

/// The reason shown for a field no provider call can take back to a default.
const KEPT: &str = "the object keeps its current value";

/// What stays on the object although the manifest dropped it from a field it still has, when
/// the provider cannot take it away: a note for the plan. Today: parameters removed from an
/// Aurora cluster parameter group keep their values on AWS (ModifyDBClusterParameterGroup sets
/// only the parameters it is given, and dbplan does not call ResetDBClusterParameterGroup).
pub fn kept_after_removal(
    kind: Kind,
    part: Option<&str>,
    attribute: &str,
    before: Option<&Value>,
    after: &Value,
) -> Option<String> {
    if (kind, Part::of(part), attribute)
        != (Kind::AwsRdsCluster, Ok(Part::ParameterGroup), "parameters")
    {
        return None;
    }
    let names = |value: &Value| -> Vec<String> {
        match value {
            Value::List(items) => items
                .iter()
                .filter_map(|item| match item {
                    Value::Map(fields) => match fields.get("name") {
                        Some(Value::String(name)) => Some(name.clone()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    let planned = names(after);
    let dropped: Vec<String> = names(before?)
        .into_iter()
        .filter(|name| !planned.contains(name))
        .map(|name| format!("`{name}`"))
        .collect();
    if dropped.is_empty() {
        return None;
    }
    Some(format!(
        "{} removed from `parameters`, but AWS keeps the value a parameter group was given until it is reset: dbplan stops managing {}; to return {} to the engine default, set the default value in the manifest, or reset {} (ResetDBClusterParameterGroup)",
        dropped.join(", "),
        if dropped.len() == 1 { "it" } else { "them" },
        if dropped.len() == 1 { "it" } else { "them" },
        if dropped.len() == 1 { "it" } else { "them" },
    ))
}

/// Why a field the manifest language accepts is not planned at all, if it is not: no provider
/// call applies it, so showing it as a planned value would promise what apply does not do.
/// Today: a DigitalOcean cluster's `enable_public_connectivity`, a Project Planton field for
/// which DigitalOcean's API has no setting (every cluster has a public hostname; trusted
/// sources restrict it, and DB302 says so), and its (or a reference's) `admin_connection`,
/// which its tenants are planned with instead.
pub fn not_applied(kind: Kind, part: Option<&str>, attribute: &str) -> Option<&'static str> {
    match (kind, part, attribute) {
        (Kind::DigitalOceanDatabaseCluster, _, "enable_public_connectivity") => Some(
            "it is not a DigitalOcean setting (the API has no such field), so dbplan does not plan it; trusted sources restrict who connects",
        ),
        (
            Kind::DigitalOceanDatabaseCluster | Kind::DigitalOceanDatabaseClusterReference,
            _,
            "admin_connection",
        ) => Some(
            "it is how dbplan connects to manage the tenant databases on the cluster, not a DigitalOcean setting; the tenants record it",
        ),
        _ => None,
    }
}

/// What a removed field becomes, per kind and part. The recorded value says its shape when
/// the kind does not: a list returns to empty, a map to empty; any other field whose default
/// the provider cannot set is forgotten (the object keeps it), so that a removal never plans
/// a change that apply would not make.
pub fn on_removal(kind: Kind, part: Option<&str>, attribute: &str, recorded: &Value) -> Removal {
    let forget = |why: &'static str| Removal::Forget(why);
    match (kind, Part::of(part), attribute) {
        // `CONNECTION LIMIT -1` is PostgreSQL's "no limit", the kind's documented default.
        (Kind::TenantDatabase, Ok(Part::Role), "connection_limit") => {
            Removal::Reset(Value::Int(-1))
        }
        // Only used to connect: without them, no password, the system's CAs and no tunnel.
        (
            Kind::PostgresServer,
            _,
            "admin_password" | "admin_password_env" | "sslrootcert" | "connect_via",
        ) => Removal::Reset(Value::Null),
        // Only read by the tenants, to connect.
        (
            Kind::AwsRdsClusterReference,
            _,
            "admin_connection" | "master_password" | "master_password_env",
        ) => Removal::Reset(Value::Null),
        // How a tenant reaches its Aurora cluster: without it, the cluster's defaults.
        (Kind::TenantDatabase, Ok(Part::Role | Part::Database), "admin") => {
            Removal::Reset(Value::Null)
        }
        // ModifyDBCluster takes 1 day, the RDS default; and the final snapshot's name is only
        // read when the cluster is deleted.
        (Kind::AwsRdsCluster, Ok(Part::Cluster), "backup_retention_period") => {
            Removal::Reset(Value::Int(1))
        }
        (Kind::AwsRdsCluster, Ok(Part::Cluster), "final_snapshot_identifier") => {
            Removal::Reset(Value::Null)
        }
        (_, _, "region") => forget("the object stays in its region"),
        (
            Kind::AwsRdsCluster,
            Ok(Part::Cluster),
            "database_name" | "kms_key_id" | "engine_mode",
        ) => forget("Aurora cannot change it on an existing cluster, which keeps its value"),
        (
            Kind::AwsRdsCluster,
            Ok(Part::Cluster),
            "snapshot_identifier" | "replication_source_identifier",
        ) => forget("it is only read when the cluster is created"),
        (
            Kind::AwsRdsCluster,
            Ok(Part::Cluster),
            "preferred_backup_window" | "preferred_maintenance_window",
        ) => forget("AWS always keeps a window: the cluster keeps its current one"),
        (Kind::AwsRdsCluster, Ok(Part::Cluster), "serverless_v2_scaling") => {
            forget("ModifyDBCluster cannot remove a capacity range; the cluster keeps its own")
        }
        // The VPC update sends the description it is given, empty included.
        (Kind::DigitalOceanVpc, _, "description") => Removal::Reset(Value::String(String::new())),
        (Kind::AwsRdsCluster, Ok(Part::Cluster), "associate_security_group_ids") => {
            forget("the cluster keeps its security groups until the manifest names others")
        }
        (Kind::AwsSecurityGroup, _, "description") => {
            forget("a security group's description cannot change; it keeps its current one")
        }
        (Kind::DigitalOceanDatabaseCluster, _, "vpc") => {
            forget("a DigitalOcean cluster cannot leave its VPC")
        }
        (Kind::DigitalOceanDatabaseCluster, _, "maintenance_window") => {
            forget("DigitalOcean always keeps a window: the cluster keeps its current one")
        }
        (Kind::DigitalOceanDatabaseCluster, _, "storage_gib") => {
            forget("DigitalOcean cannot shrink a cluster's storage; it keeps its current size")
        }
        (Kind::DigitalOceanVpc, _, "ip_range_cidr") => forget("a VPC keeps its range"),
        (Kind::AwsRdsClusterInstance, _, "identifier" | "availability_zone") => {
            forget("an instance keeps its identifier and zone")
        }
        _ => match recorded {
            Value::List(_) => Removal::Reset(Value::List(Vec::new())),
            Value::Map(_) => Removal::Reset(Value::Map(BTreeMap::new())),
            Value::Null => Removal::Reset(Value::Null),
            _ => forget(KEPT),
        },
    }
}
