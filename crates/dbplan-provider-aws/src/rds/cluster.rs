//! The Aurora cluster of an `AwsRdsCluster`: identified by `metadata.name`. Its requests are
//! built from [`ClusterAttributes`] by pure functions (`create_request`, `restore_request`,
//! `modify_request`); what a read reports is in the `drift` submodule.

pub(crate) mod drift;

use super::{address_tag, conflict, major_version};
use crate::Clients;
use crate::attributes::{Action, context_output, int32};
use crate::error::{At, ErrorCode};
use aws_sdk_rds::operation::create_db_cluster::builders::CreateDBClusterFluentBuilder;
use aws_sdk_rds::operation::modify_db_cluster::builders::ModifyDBClusterFluentBuilder;
use aws_sdk_rds::operation::restore_db_cluster_from_snapshot::builders::RestoreDBClusterFromSnapshotFluentBuilder;
use aws_sdk_rds::types::{
    CloudwatchLogsExportConfiguration, DbCluster, ServerlessV2ScalingConfiguration,
};
use dbplan_core::ResourceAddress;
use dbplan_core::kinds::SecretText;
use dbplan_core::kinds::aws_rds_cluster::{Cluster, Deletion, RecordedCluster, Scaling};
use dbplan_provider::{Applied, ChangeRequest, ProviderError, wait_until};
use drift::{Placement, cluster_outputs};
use std::time::Duration;

pub(crate) use drift::read;

/// What the manifest asks of the cluster, decoded once from the planned attributes (the JSON
/// keys are the field names, but `username`, `port` and `serverless_v2_scaling`, noted).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ClusterAttributes {
    pub(crate) engine: String,
    pub(crate) engine_version: Option<String>,
    engine_mode: Option<String>,
    pub(crate) database_name: Option<String>,
    /// `username`: the master user.
    pub(crate) username: Option<String>,
    /// `port`; `None` for 0, the kind's default: the engine's default port.
    port: Option<i32>,
    pub(crate) storage_encrypted: Option<bool>,
    kms_key_id: Option<String>,
    iam_database_authentication_enabled: Option<bool>,
    backup_retention_period: Option<i32>,
    preferred_backup_window: Option<String>,
    preferred_maintenance_window: Option<String>,
    deletion_protection: Option<bool>,
    copy_tags_to_snapshot: Option<bool>,
    storage_type: Option<String>,
    enable_http_endpoint: Option<bool>,
    /// `serverless_v2_scaling`.
    scaling: Option<ServerlessV2ScalingConfiguration>,
    replication_source_identifier: Option<String>,
    enabled_cloudwatch_logs_exports: Vec<String>,
    manage_master_user_password: bool,
    master_user_secret_kms_key_id: Option<String>,
    snapshot_identifier: Option<String>,
    /// `apply_immediately` (on unless the manifest defers changes to the maintenance window).
    apply_immediately: bool,
    /// `db_subnet_group_name`: an existing group, when the cluster has no subnet group part.
    db_subnet_group_name: Option<String>,
    /// `db_cluster_parameter_group_name`: likewise.
    db_cluster_parameter_group_name: Option<String>,
    associate_security_group_ids: Vec<String>,
}

impl ClusterAttributes {
    pub(crate) fn from_planned(
        address: &ResourceAddress,
        c: Cluster,
    ) -> Result<Self, ProviderError> {
        Ok(ClusterAttributes {
            port: int32(address, "port", c.port)?.filter(|port| *port > 0),
            backup_retention_period: int32(
                address,
                "backup_retention_period",
                c.backup_retention_period,
            )?,
            scaling: c
                .serverless_v2_scaling
                .map(|scaling| self::scaling(address, scaling))
                .transpose()?,
            engine: c.engine,
            engine_version: c.engine_version,
            engine_mode: c.engine_mode,
            database_name: c.database_name,
            username: c.username,
            storage_encrypted: c.storage_encrypted,
            kms_key_id: c.kms_key_id,
            iam_database_authentication_enabled: c.iam_database_authentication_enabled,
            preferred_backup_window: c.preferred_backup_window,
            preferred_maintenance_window: c.preferred_maintenance_window,
            deletion_protection: c.deletion_protection,
            copy_tags_to_snapshot: c.copy_tags_to_snapshot,
            storage_type: c.storage_type,
            enable_http_endpoint: c.enable_http_endpoint,
            replication_source_identifier: c.replication_source_identifier,
            enabled_cloudwatch_logs_exports: c.enabled_cloudwatch_logs_exports,
            manage_master_user_password: c.manage_master_user_password == Some(true),
            master_user_secret_kms_key_id: c.master_user_secret_kms_key_id,
            snapshot_identifier: c.snapshot_identifier,
            apply_immediately: c.apply_immediately.unwrap_or(true),
            db_subnet_group_name: c.db_subnet_group_name,
            db_cluster_parameter_group_name: c.db_cluster_parameter_group_name,
            associate_security_group_ids: c.associate_security_group_ids,
        })
    }
}

/// `serverless_v2_scaling`, as AWS takes it.
fn scaling(
    address: &ResourceAddress,
    scaling: Scaling,
) -> Result<ServerlessV2ScalingConfiguration, ProviderError> {
    Ok(ServerlessV2ScalingConfiguration::builder()
        .set_min_capacity(scaling.min_capacity)
        .set_max_capacity(scaling.max_capacity)
        .set_seconds_until_auto_pause(int32(
            address,
            "seconds_until_auto_pause",
            scaling.seconds_until_auto_pause,
        )?)
        .build())
}

/// What the prior record says that a modify depends on.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Recorded {
    engine_version: Option<String>,
    enabled_cloudwatch_logs_exports: Vec<String>,
    manage_master_user_password: bool,
    /// Whether the planned password differs from the recorded one.
    password_changed: bool,
}

impl Recorded {
    fn of(request: &ChangeRequest) -> Result<Recorded, ProviderError> {
        let prior: RecordedCluster = request.decode_prior()?;
        Ok(Recorded {
            engine_version: prior.engine_version,
            enabled_cloudwatch_logs_exports: prior.enabled_cloudwatch_logs_exports,
            manage_master_user_password: prior.manage_master_user_password == Some(true),
            // Secrets are compared as the fields the request carries (a recorded fingerprint
            // against the planned one), never decoded.
            password_changed: request.prior.get("password").map(|field| &field.value)
                != request.attribute("password"),
        })
    }
}

/// The cluster of this identifier, if there is one.
pub(crate) async fn describe(
    clients: &Clients,
    address: &ResourceAddress,
    identifier: &str,
) -> Result<Option<DbCluster>, ProviderError> {
    let found = clients
        .rds
        .describe_db_clusters()
        .db_cluster_identifier(identifier)
        .send()
        .await
        .unless(ErrorCode::DbClusterNotFound, address)?;
    Ok(found.and_then(|found| found.db_clusters().first().cloned()))
}

/// Where the cluster goes: the other parts' groups (recorded outputs of the context), else the
/// existing groups the manifest names.
fn placement(request: &ChangeRequest, cluster: &ClusterAttributes) -> Placement {
    let output = |part: &str, output: &str| {
        context_output(&request.context, &request.address.part(part), output)
    };
    let mut security_groups: Vec<String> = output("security-group", "security_group_id")
        .into_iter()
        .collect();
    security_groups.extend(cluster.associate_security_group_ids.iter().cloned());
    Placement {
        subnet_group: output("subnet-group", "db_subnet_group_name")
            .or_else(|| cluster.db_subnet_group_name.clone()),
        security_groups,
        parameter_group: output("parameter-group", "db_cluster_parameter_group_name")
            .or_else(|| cluster.db_cluster_parameter_group_name.clone()),
    }
}

/// Whether an existing cluster is the one the manifest asks for (engine and major version).
fn matches(cluster: &DbCluster, planned: &ClusterAttributes) -> Result<(), String> {
    let engine = &planned.engine;
    if cluster.engine() != Some(engine.as_str()) {
        return Err(format!(
            "its engine is {}, not {engine}",
            cluster.engine().unwrap_or("unknown")
        ));
    }
    // What cannot change in place must already be as planned.
    if let Some(encrypted) = planned.storage_encrypted
        && cluster
            .storage_encrypted()
            .is_some_and(|found| found != encrypted)
    {
        return Err(format!(
            "its storage is {}encrypted, and encryption cannot be changed in place",
            if encrypted { "not " } else { "" }
        ));
    }
    for (name, planned, found) in [
        (
            "database_name",
            &planned.database_name,
            cluster.database_name(),
        ),
        ("username", &planned.username, cluster.master_username()),
    ] {
        if let (Some(planned), Some(found)) = (planned, found)
            && planned != found
        {
            return Err(format!("its {name} is {found}, not {planned}"));
        }
    }
    if let (Some(version), Some(wanted)) = (cluster.engine_version(), &planned.engine_version)
        && major_version(version) != major_version(wanted)
    {
        return Err(format!("its engine version is {version}, not {wanted}"));
    }
    Ok(())
}

/// The create of a new cluster.
fn create_request(
    call: CreateDBClusterFluentBuilder,
    cluster: &ClusterAttributes,
    identifier: &str,
    placement: &Placement,
    password: Option<&str>,
    address: &ResourceAddress,
) -> CreateDBClusterFluentBuilder {
    let c = cluster;
    let mut call = call
        .db_cluster_identifier(identifier)
        .engine(&c.engine)
        .set_engine_version(c.engine_version.clone())
        .set_engine_mode(c.engine_mode.clone())
        .set_database_name(c.database_name.clone())
        .set_master_username(c.username.clone())
        .set_port(c.port)
        .set_storage_encrypted(c.storage_encrypted)
        .set_kms_key_id(c.kms_key_id.clone())
        .set_enable_iam_database_authentication(c.iam_database_authentication_enabled)
        .set_backup_retention_period(c.backup_retention_period)
        .set_preferred_backup_window(c.preferred_backup_window.clone())
        .set_preferred_maintenance_window(c.preferred_maintenance_window.clone())
        .set_deletion_protection(c.deletion_protection)
        .set_copy_tags_to_snapshot(c.copy_tags_to_snapshot)
        .set_storage_type(c.storage_type.clone())
        .set_enable_http_endpoint(c.enable_http_endpoint)
        .set_serverless_v2_scaling_configuration(c.scaling.clone())
        .set_db_subnet_group_name(placement.subnet_group.clone())
        .set_db_cluster_parameter_group_name(placement.parameter_group.clone())
        .set_replication_source_identifier(c.replication_source_identifier.clone())
        .tags(address_tag(address));
    if !placement.security_groups.is_empty() {
        call = call.set_vpc_security_group_ids(Some(placement.security_groups.clone()));
    }
    for log in &c.enabled_cloudwatch_logs_exports {
        call = call.enable_cloudwatch_logs_exports(log);
    }
    if c.manage_master_user_password {
        call.manage_master_user_password(true)
            .set_master_user_secret_kms_key_id(c.master_user_secret_kms_key_id.clone())
    } else if let Some(password) = password {
        call.master_user_password(password)
    } else {
        call
    }
}

/// The restore of a new cluster from `snapshot_identifier` (its own call).
fn restore_request(
    call: RestoreDBClusterFromSnapshotFluentBuilder,
    cluster: &ClusterAttributes,
    snapshot: &str,
    identifier: &str,
    placement: &Placement,
    address: &ResourceAddress,
) -> RestoreDBClusterFromSnapshotFluentBuilder {
    let call = call
        .db_cluster_identifier(identifier)
        .snapshot_identifier(snapshot)
        .engine(&cluster.engine)
        .set_engine_version(cluster.engine_version.clone())
        .set_db_subnet_group_name(placement.subnet_group.clone())
        .set_db_cluster_parameter_group_name(placement.parameter_group.clone())
        .set_deletion_protection(cluster.deletion_protection)
        .set_copy_tags_to_snapshot(cluster.copy_tags_to_snapshot)
        .set_serverless_v2_scaling_configuration(cluster.scaling.clone())
        .tags(address_tag(address));
    if placement.security_groups.is_empty() {
        call
    } else {
        call.set_vpc_security_group_ids(Some(placement.security_groups.clone()))
    }
}

/// The modify that brings an existing cluster to the manifest.
fn modify_request(
    call: ModifyDBClusterFluentBuilder,
    cluster: &ClusterAttributes,
    recorded: &Recorded,
    identifier: &str,
    placement: &Placement,
    password: Option<&str>,
) -> ModifyDBClusterFluentBuilder {
    let c = cluster;
    let mut call = call
        .db_cluster_identifier(identifier)
        .apply_immediately(c.apply_immediately)
        // Only a version the manifest changed: AWS's own minor upgrades are not undone.
        .set_engine_version(
            c.engine_version
                .clone()
                .filter(|version| Some(version) != recorded.engine_version.as_ref()),
        )
        .set_port(c.port)
        .set_enable_iam_database_authentication(c.iam_database_authentication_enabled)
        .set_backup_retention_period(c.backup_retention_period)
        .set_preferred_backup_window(c.preferred_backup_window.clone())
        .set_preferred_maintenance_window(c.preferred_maintenance_window.clone())
        .set_deletion_protection(c.deletion_protection)
        .set_copy_tags_to_snapshot(c.copy_tags_to_snapshot)
        .set_storage_type(c.storage_type.clone())
        .set_enable_http_endpoint(c.enable_http_endpoint)
        .set_serverless_v2_scaling_configuration(c.scaling.clone())
        .set_db_cluster_parameter_group_name(placement.parameter_group.clone());
    if !placement.security_groups.is_empty() {
        call = call.set_vpc_security_group_ids(Some(placement.security_groups.clone()));
    }
    if let Some(before) = &recorded.engine_version
        && c.engine_version.as_deref().map(major_version) != Some(major_version(before))
    {
        // Policy DB702 has flagged the major upgrade in the plan; AWS needs this to do it.
        call = call.allow_major_version_upgrade(true);
    }
    if let Some(logs) = log_changes(
        &recorded.enabled_cloudwatch_logs_exports,
        &c.enabled_cloudwatch_logs_exports,
    ) {
        call = call.cloudwatch_logs_export_configuration(logs);
    }
    let managed = c.manage_master_user_password;
    if managed != recorded.manage_master_user_password {
        call = call.manage_master_user_password(managed);
    }
    let password_changed =
        recorded.password_changed || managed != recorded.manage_master_user_password;
    match password {
        Some(password) if !managed && password_changed => call.master_user_password(password),
        _ => call,
    }
}

/// Log exports are switched on and off by difference; `None` when nothing changes.
fn log_changes(had: &[String], wanted: &[String]) -> Option<CloudwatchLogsExportConfiguration> {
    let enable: Vec<String> = wanted
        .iter()
        .filter(|log| !had.contains(log))
        .cloned()
        .collect();
    let disable: Vec<String> = had
        .iter()
        .filter(|log| !wanted.contains(log))
        .cloned()
        .collect();
    (!enable.is_empty() || !disable.is_empty()).then(|| {
        CloudwatchLogsExportConfiguration::builder()
            .set_enable_log_types(Some(enable))
            .set_disable_log_types(Some(disable))
            .build()
    })
}

pub(crate) async fn apply(
    clients: &Clients,
    request: &ChangeRequest,
    action: Action,
    limit: Duration,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let mut planned: Cluster = request.decode()?;
    let password = planned.password.take();
    let password = password.as_ref().map(SecretText::expose);
    let cluster = ClusterAttributes::from_planned(address, planned)?;
    let identifier = request.address.name.to_lowercase();
    let placement = placement(request, &cluster);
    let existing = describe(clients, address, &identifier).await?;
    match (action, existing) {
        (Action::Create, None) => {
            if let Some(snapshot) = &cluster.snapshot_identifier {
                let call = clients.rds.restore_db_cluster_from_snapshot();
                restore_request(call, &cluster, snapshot, &identifier, &placement, address)
                    .send()
                    .await
                    .at(address)?;
            } else {
                let call = clients.rds.create_db_cluster();
                create_request(call, &cluster, &identifier, &placement, password, address)
                    .send()
                    .await
                    .at(address)?;
            }
        }
        (action, existing) => {
            if action == Action::Create
                && let Some(found) = &existing
            {
                adopt(request, found, &cluster, &identifier)?;
            }
            // A cluster still being created (an interrupted create retried) or modified cannot
            // be modified yet: wait for it first.
            wait_available(clients, address, &identifier, limit, true).await?;
            let call = clients.rds.modify_db_cluster();
            let recorded = Recorded::of(request)?;
            modify_request(call, &cluster, &recorded, &identifier, &placement, password)
                .send()
                .await
                .at(address)?;
        }
    }
    wait_available(clients, address, &identifier, limit, false).await?;
    let made = describe(clients, address, &identifier)
        .await?
        .ok_or_else(|| ProviderError::Api {
            address: address.clone(),
            code: Some(ErrorCode::DbClusterNotFound.to_string().into()),
            message: format!("the cluster {identifier} disappeared while dbplan waited for it"),
            source: None,
        })?;
    Ok(Applied {
        provider_id: Some(identifier),
        outputs: cluster_outputs(&made, &placement),
    })
}

/// Describe before create: an existing cluster (an interrupted create, or one made outside
/// dbplan that the manifest opts into adopting) is adopted when it matches, and brought to the
/// manifest by a modify.
fn adopt(
    request: &ChangeRequest,
    found: &DbCluster,
    cluster: &ClusterAttributes,
    identifier: &str,
) -> Result<(), ProviderError> {
    let address = &request.address;
    request
        .adopt
        .check(address, format!("the DB cluster {identifier}"))?;
    matches(found, cluster).map_err(|difference| {
        conflict(
            address,
            format!(
                "a DB cluster {identifier} already exists and does not match the manifest: {difference}; choose another name, or delete that cluster"
            ),
        )
    })
}

/// Waits for the cluster to be `available` (`or_gone`: or not there at all).
async fn wait_available(
    clients: &Clients,
    address: &ResourceAddress,
    identifier: &str,
    limit: Duration,
    or_gone: bool,
) -> Result<(), ProviderError> {
    wait_until(
        address,
        "the cluster to be available",
        limit,
        || async move {
            Ok(match describe(clients, address, identifier).await? {
                Some(cluster) => cluster.status() == Some("available"),
                None => or_gone,
            })
        },
    )
    .await
}

pub(crate) async fn delete(
    clients: &Clients,
    request: &ChangeRequest,
    limit: Duration,
) -> Result<(), ProviderError> {
    let address = &request.address;
    let identifier = request
        .provider_id
        .clone()
        .unwrap_or_else(|| request.address.name.to_lowercase());
    let Some(cluster) = describe(clients, address, &identifier).await? else {
        return Ok(());
    };
    if cluster.deletion_protection() == Some(true) {
        return Err(conflict(
            address,
            format!(
                "the DB cluster {identifier} has deletion protection on; set `deletion_protection: false` and apply that first, then destroy"
            ),
        ));
    }
    let recorded: Deletion = request.decode_prior()?;
    let skip = recorded.skip_final_snapshot.unwrap_or(false);
    let snapshot = (!skip).then(|| {
        recorded
            .final_snapshot_identifier
            .unwrap_or_else(|| format!("{identifier}-final"))
    });
    clients
        .rds
        .delete_db_cluster()
        .db_cluster_identifier(&identifier)
        .skip_final_snapshot(skip)
        .set_final_db_snapshot_identifier(snapshot)
        .send()
        .await
        .at(address)?;
    wait_until(address, "the cluster to be deleted", limit, || async {
        Ok(describe(clients, address, &identifier).await?.is_none())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{address, decode, ok, rds, request};
    use serde_json::json;

    const ADDRESS: &str = "AwsRdsCluster/orders-db/cluster";

    fn planned() -> serde_json::Value {
        json!({
            "engine": "aurora-postgresql",
            "engine_version": "16.4",
            "port": 0,
            "username": "master",
            "database_name": "orders",
            "storage_encrypted": true,
            "backup_retention_period": 7,
            "preferred_backup_window": "03:00-04:00",
            "deletion_protection": false,
            "enabled_cloudwatch_logs_exports": ["postgresql"],
            "serverless_v2_scaling": {"min_capacity": 0.5, "max_capacity": 4.0},
            "associate_security_group_ids": ["sg-extra"],
            "apply_immediately": false,
        })
    }

    fn attributes(json: serde_json::Value) -> ClusterAttributes {
        decode(json, |cluster| {
            ClusterAttributes::from_planned(&address(ADDRESS), cluster)
        })
    }

    fn placement() -> Placement {
        Placement {
            subnet_group: Some("orders-db".to_owned()),
            security_groups: vec!["sg-cluster".to_owned(), "sg-extra".to_owned()],
            parameter_group: Some("orders-db".to_owned()),
        }
    }

    #[test]
    fn a_create_sends_the_planned_settings_the_placement_and_the_password() {
        let cluster = attributes(planned());
        let call = create_request(
            rds().create_db_cluster(),
            &cluster,
            "orders-db",
            &placement(),
            Some("s3cret"),
            &address(ADDRESS),
        );
        let input = call.as_input();
        assert_eq!(
            input.get_db_cluster_identifier().as_deref(),
            Some("orders-db")
        );
        assert_eq!(input.get_engine().as_deref(), Some("aurora-postgresql"));
        assert_eq!(input.get_engine_version().as_deref(), Some("16.4"));
        // Port 0 is the engine's default: no port is sent.
        assert_eq!(*input.get_port(), None);
        assert_eq!(input.get_master_username().as_deref(), Some("master"));
        assert_eq!(input.get_master_user_password().as_deref(), Some("s3cret"));
        assert_eq!(*input.get_manage_master_user_password(), None);
        assert_eq!(*input.get_storage_encrypted(), Some(true));
        assert_eq!(*input.get_backup_retention_period(), Some(7));
        assert_eq!(*input.get_deletion_protection(), Some(false));
        assert_eq!(
            input.get_vpc_security_group_ids().as_deref(),
            Some(&["sg-cluster".to_owned(), "sg-extra".to_owned()][..])
        );
        assert_eq!(
            input.get_db_subnet_group_name().as_deref(),
            Some("orders-db")
        );
        assert_eq!(
            input.get_enable_cloudwatch_logs_exports().as_deref(),
            Some(&["postgresql".to_owned()][..])
        );
        let scaling = input.get_serverless_v2_scaling_configuration().as_ref();
        assert_eq!(scaling.and_then(|s| s.max_capacity()), Some(4.0));
        let tags = input.get_tags().as_deref().unwrap_or_default();
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].value(), Some(ADDRESS));
    }

    #[test]
    fn a_managed_password_is_asked_of_aws_and_no_password_is_sent() {
        let mut json = planned();
        json["manage_master_user_password"] = json!(true);
        json["master_user_secret_kms_key_id"] = json!("alias/orders");
        json["port"] = json!(5433);
        let cluster = attributes(json);
        let call = create_request(
            rds().create_db_cluster(),
            &cluster,
            "orders-db",
            &Placement::default(),
            Some("s3cret"),
            &address(ADDRESS),
        );
        let input = call.as_input();
        assert_eq!(*input.get_manage_master_user_password(), Some(true));
        assert_eq!(
            input.get_master_user_secret_kms_key_id().as_deref(),
            Some("alias/orders")
        );
        assert_eq!(*input.get_master_user_password(), None);
        assert_eq!(*input.get_port(), Some(5433));
        assert_eq!(*input.get_vpc_security_group_ids(), None);
    }

    #[test]
    fn a_restore_names_the_snapshot_and_the_placement() {
        let mut json = planned();
        json["snapshot_identifier"] = json!("orders-snap");
        let cluster = attributes(json);
        let snapshot = cluster.snapshot_identifier.clone().unwrap_or_default();
        let call = restore_request(
            rds().restore_db_cluster_from_snapshot(),
            &cluster,
            &snapshot,
            "orders-db",
            &placement(),
            &address(ADDRESS),
        );
        let input = call.as_input();
        assert_eq!(
            input.get_snapshot_identifier().as_deref(),
            Some("orders-snap")
        );
        assert_eq!(input.get_engine().as_deref(), Some("aurora-postgresql"));
        assert_eq!(
            input.get_db_cluster_parameter_group_name().as_deref(),
            Some("orders-db")
        );
        assert_eq!(
            input.get_vpc_security_group_ids().as_ref().map(Vec::len),
            Some(2)
        );
    }

    fn modify(
        planned: serde_json::Value,
        prior: serde_json::Value,
    ) -> ModifyDBClusterFluentBuilder {
        let request = request(ADDRESS, planned.clone(), prior);
        modify_request(
            rds().modify_db_cluster(),
            &attributes(planned),
            &ok(Recorded::of(&request)),
            "orders-db",
            &placement(),
            Some("s3cret"),
        )
    }

    #[test]
    fn a_modify_sends_what_the_manifest_changed() {
        let mut prior = planned();
        prior["engine_version"] = json!("16.2");
        let call = modify(planned(), prior);
        let input = call.as_input();
        assert_eq!(*input.get_apply_immediately(), Some(false));
        // A minor version the manifest changed is sent; no major upgrade is allowed.
        assert_eq!(input.get_engine_version().as_deref(), Some("16.4"));
        assert_eq!(*input.get_allow_major_version_upgrade(), None);
        assert_eq!(*input.get_cloudwatch_logs_export_configuration(), None);
        assert_eq!(*input.get_backup_retention_period(), Some(7));
        assert_eq!(
            input.get_db_cluster_parameter_group_name().as_deref(),
            Some("orders-db")
        );

        // The same version as recorded is not sent (AWS's own minor upgrades stay).
        let call = modify(planned(), planned());
        assert_eq!(*call.as_input().get_engine_version(), None);
    }

    #[test]
    fn a_major_upgrade_and_log_changes_are_asked_for_explicitly() {
        let mut prior = planned();
        prior["engine_version"] = json!("15.7");
        prior["enabled_cloudwatch_logs_exports"] = json!(["upgrade"]);
        let call = modify(planned(), prior);
        let input = call.as_input();
        assert_eq!(*input.get_allow_major_version_upgrade(), Some(true));
        let logs = input.get_cloudwatch_logs_export_configuration().as_ref();
        assert_eq!(
            logs.map(CloudwatchLogsExportConfiguration::enable_log_types),
            Some(&["postgresql".to_owned()][..])
        );
        assert_eq!(
            logs.map(CloudwatchLogsExportConfiguration::disable_log_types),
            Some(&["upgrade".to_owned()][..])
        );
    }

    #[test]
    fn a_password_is_sent_only_when_it_changed_or_stops_being_managed() {
        let mut with_password = planned();
        with_password["password"] = json!("s3cret");
        let unchanged = modify(with_password.clone(), with_password.clone());
        assert_eq!(*unchanged.as_input().get_master_user_password(), None);

        let mut old_password = with_password.clone();
        old_password["password"] = json!("hash-of-the-old-one");
        let changed = modify(with_password.clone(), old_password);
        assert_eq!(
            changed.as_input().get_master_user_password().as_deref(),
            Some("s3cret")
        );

        let mut managed = with_password.clone();
        managed["manage_master_user_password"] = json!(true);
        let unmanaged = modify(with_password, managed);
        let input = unmanaged.as_input();
        assert_eq!(*input.get_manage_master_user_password(), Some(false));
        assert_eq!(input.get_master_user_password().as_deref(), Some("s3cret"));
    }

    #[test]
    fn an_existing_cluster_is_adopted_only_when_it_matches() {
        let cluster = attributes(planned());
        let found = |engine: &str, version: &str, encrypted: bool| {
            DbCluster::builder()
                .engine(engine)
                .engine_version(version)
                .storage_encrypted(encrypted)
                .master_username("master")
                .build()
        };
        assert_eq!(
            matches(&found("aurora-postgresql", "16.1", true), &cluster),
            Ok(())
        );
        assert_eq!(
            matches(&found("aurora-mysql", "16.1", true), &cluster),
            Err("its engine is aurora-mysql, not aurora-postgresql".to_owned())
        );
        assert_eq!(
            matches(&found("aurora-postgresql", "15.4", true), &cluster),
            Err("its engine version is 15.4, not 16.4".to_owned())
        );
        assert_eq!(
            matches(&found("aurora-postgresql", "16.4", false), &cluster),
            Err(
                "its storage is not encrypted, and encryption cannot be changed in place"
                    .to_owned()
            )
        );
    }

    #[test]
    fn attributes_the_plan_always_holds_or_aws_cannot_take_are_errors() {
        let without_engine = json!({"engine_version": "16.4"});
        let request = request(ADDRESS, without_engine, json!({}));
        let text = request
            .decode::<Cluster>()
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(
            text.starts_with(
                "AwsRdsCluster/orders-db/cluster: the planned attributes do not fit the kind: missing field `engine`"
            ),
            "{text}"
        );

        let mut json = planned();
        json["backup_retention_period"] = json!(4_294_967_296_i64);
        let error = ClusterAttributes::from_planned(
            &address(ADDRESS),
            decode(json, Ok::<_, ProviderError>),
        );
        let text = error
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(
            text.contains("`backup_retention_period` is 4294967296"),
            "{text}"
        );
    }
}
