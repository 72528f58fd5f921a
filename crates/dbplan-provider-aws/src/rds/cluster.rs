//! The Aurora cluster of an `AwsRdsCluster`: identified by `metadata.name`.

use super::{address_tag, conflict, part_address};
use crate::{
    Attributes, Clients, context_output, error_code, resource_name, sdk_error, wait_until,
};
use aws_sdk_rds::types::{
    CloudwatchLogsExportConfiguration, DbCluster, ServerlessV2ScalingConfiguration,
};
use dbplan_provider::{
    Applied, ChangeRequest, Field, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use std::collections::BTreeMap;
use std::time::Duration;

pub(crate) async fn describe_cluster(
    clients: &Clients,
    address: &str,
    identifier: &str,
) -> Result<Option<DbCluster>, ProviderError> {
    match clients
        .rds
        .describe_db_clusters()
        .db_cluster_identifier(identifier)
        .send()
        .await
    {
        Ok(found) => Ok(found.db_clusters().first().cloned()),
        Err(error) if error_code(&error) == Some("DBClusterNotFoundFault") => Ok(None),
        Err(error) => Err(sdk_error(address, error)),
    }
}

/// The cluster's settings that come from its other parts or the manifest's existing names.
struct Placement {
    subnet_group: Option<String>,
    security_groups: Vec<String>,
    parameter_group: Option<String>,
}

fn placement(request: &ChangeRequest, attributes: &Attributes<'_>) -> Placement {
    let address = request.address.as_str();
    let subnet_group = context_output(
        &request.context,
        &part_address(address, "subnet-group"),
        "db_subnet_group_name",
    )
    .or_else(|| attributes.text("db_subnet_group_name"));
    let mut security_groups: Vec<String> = context_output(
        &request.context,
        &part_address(address, "security-group"),
        "security_group_id",
    )
    .into_iter()
    .collect();
    security_groups.extend(attributes.texts("associate_security_group_ids"));
    let parameter_group = context_output(
        &request.context,
        &part_address(address, "parameter-group"),
        "db_cluster_parameter_group_name",
    )
    .or_else(|| attributes.text("db_cluster_parameter_group_name"));
    Placement {
        subnet_group,
        security_groups,
        parameter_group,
    }
}

fn scaling(attributes: &Attributes<'_>) -> Option<ServerlessV2ScalingConfiguration> {
    let scaling = attributes.get("serverless_v2_scaling")?;
    let scaling = Attributes(&scaling.as_object()?.clone().into_iter().collect());
    let mut builder = ServerlessV2ScalingConfiguration::builder();
    if let Some(min) = scaling.float("min_capacity") {
        builder = builder.min_capacity(min);
    }
    if let Some(max) = scaling.float("max_capacity") {
        builder = builder.max_capacity(max);
    }
    if let Some(pause) = scaling.int("seconds_until_auto_pause") {
        builder = builder.seconds_until_auto_pause(pause as i32);
    }
    Some(builder.build())
}

fn cluster_outputs(cluster: &DbCluster, placement: &Placement) -> BTreeMap<String, Field> {
    let mut outputs = BTreeMap::new();
    let mut put = |name: &str, value: Option<serde_json::Value>| {
        if let Some(value) = value {
            outputs.insert(name.to_owned(), Field::plain(value));
        }
    };
    put(
        "rds_cluster_id",
        cluster.db_cluster_identifier().map(serde_json::Value::from),
    );
    put(
        "rds_cluster_endpoint",
        cluster.endpoint().map(serde_json::Value::from),
    );
    put(
        "rds_cluster_reader_endpoint",
        cluster.reader_endpoint().map(serde_json::Value::from),
    );
    put(
        "rds_cluster_arn",
        cluster.db_cluster_arn().map(serde_json::Value::from),
    );
    put(
        "rds_cluster_resource_id",
        cluster
            .db_cluster_resource_id()
            .map(serde_json::Value::from),
    );
    put(
        "rds_cluster_engine",
        cluster.engine().map(serde_json::Value::from),
    );
    put(
        "rds_cluster_engine_version",
        cluster.engine_version().map(serde_json::Value::from),
    );
    put(
        "rds_cluster_port",
        cluster.port().map(serde_json::Value::from),
    );
    put(
        "rds_subnet_group",
        placement.subnet_group.clone().map(serde_json::Value::from),
    );
    put(
        "rds_security_group",
        placement
            .security_groups
            .first()
            .cloned()
            .map(serde_json::Value::from),
    );
    put(
        "rds_cluster_parameter_group",
        placement
            .parameter_group
            .clone()
            .map(serde_json::Value::from),
    );
    // The managed secret's ARN, never a password.
    put(
        "master_user_secret_arn",
        cluster
            .master_user_secret()
            .and_then(|secret| secret.secret_arn())
            .map(serde_json::Value::from),
    );
    outputs
}

/// Whether an existing cluster is the one the manifest asks for (engine and major version).
fn matches(cluster: &DbCluster, attributes: &Attributes<'_>) -> Result<(), String> {
    let engine = attributes.text("engine").unwrap_or_default();
    if cluster.engine() != Some(engine.as_str()) {
        return Err(format!(
            "its engine is {}, not {engine}",
            cluster.engine().unwrap_or("unknown")
        ));
    }
    // What cannot change in place must already be as planned.
    if let Some(encrypted) = attributes.flag("storage_encrypted")
        && cluster
            .storage_encrypted()
            .is_some_and(|found| found != encrypted)
    {
        return Err(format!(
            "its storage is {}encrypted, and encryption cannot be changed in place",
            if encrypted { "not " } else { "" }
        ));
    }
    for (name, found) in [
        ("database_name", cluster.database_name()),
        ("username", cluster.master_username()),
    ] {
        if let (Some(planned), Some(found)) = (attributes.text(name), found)
            && planned != found
        {
            return Err(format!("its {name} is {found}, not {planned}"));
        }
    }
    let wanted = attributes.text("engine_version").unwrap_or_default();
    let major = |version: &str| version.split('.').next().unwrap_or_default().to_owned();
    if let Some(version) = cluster.engine_version()
        && major(version) != major(&wanted)
    {
        return Err(format!("its engine version is {version}, not {wanted}"));
    }
    Ok(())
}

pub(crate) async fn apply_cluster(
    clients: &Clients,
    request: &ChangeRequest,
    plain: &BTreeMap<String, serde_json::Value>,
    secrets: &BTreeMap<String, String>,
    create: bool,
    limit: Duration,
) -> Result<Applied, ProviderError> {
    let address = request.address.as_str();
    let attributes = Attributes(plain);
    let identifier = resource_name(address).to_lowercase();
    let placement = placement(request, &attributes);
    let existing = describe_cluster(clients, address, &identifier).await?;
    if create && let Some(cluster) = &existing {
        // Describe before create: an existing cluster (an interrupted create, or one made
        // outside dbplan that the manifest opts into adopting) is adopted when it matches, and
        // brought to the manifest by a modify.
        request
            .adopt
            .check(address, format!("the DB cluster {identifier}"))?;
        if let Err(difference) = matches(cluster, &attributes) {
            return Err(conflict(
                address,
                format!(
                    "a DB cluster {identifier} already exists and does not match the manifest: {difference}; choose another name, or delete that cluster"
                ),
            ));
        }
    }
    if create && existing.is_none() {
        let mut call = clients
            .rds
            .create_db_cluster()
            .db_cluster_identifier(&identifier)
            .engine(attributes.text("engine").unwrap_or_default())
            .set_engine_version(attributes.text("engine_version"))
            .set_engine_mode(attributes.text("engine_mode"))
            .set_database_name(attributes.text("database_name"))
            .set_master_username(attributes.text("username"))
            .set_port(
                // 0 (the kind's default) means the engine's default port.
                attributes
                    .int("port")
                    .filter(|port| *port > 0)
                    .map(|port| port as i32),
            )
            .set_storage_encrypted(attributes.flag("storage_encrypted"))
            .set_kms_key_id(attributes.text("kms_key_id"))
            .set_enable_iam_database_authentication(
                attributes.flag("iam_database_authentication_enabled"),
            )
            .set_backup_retention_period(
                attributes
                    .int("backup_retention_period")
                    .map(|days| days as i32),
            )
            .set_preferred_backup_window(attributes.text("preferred_backup_window"))
            .set_preferred_maintenance_window(attributes.text("preferred_maintenance_window"))
            .set_deletion_protection(attributes.flag("deletion_protection"))
            .set_copy_tags_to_snapshot(attributes.flag("copy_tags_to_snapshot"))
            .set_storage_type(attributes.text("storage_type"))
            .set_enable_http_endpoint(attributes.flag("enable_http_endpoint"))
            .set_serverless_v2_scaling_configuration(scaling(&attributes))
            .set_db_subnet_group_name(placement.subnet_group.clone())
            .set_db_cluster_parameter_group_name(placement.parameter_group.clone())
            .set_replication_source_identifier(attributes.text("replication_source_identifier"))
            .tags(address_tag(address));
        if !placement.security_groups.is_empty() {
            call = call.set_vpc_security_group_ids(Some(placement.security_groups.clone()));
        }
        for log in attributes.texts("enabled_cloudwatch_logs_exports") {
            call = call.enable_cloudwatch_logs_exports(log);
        }
        if attributes.flag("manage_master_user_password") == Some(true) {
            call = call
                .manage_master_user_password(true)
                .set_master_user_secret_kms_key_id(
                    attributes.text("master_user_secret_kms_key_id"),
                );
        } else if let Some(password) = secrets.get("password") {
            call = call.master_user_password(password);
        }
        if let Some(snapshot) = attributes.text("snapshot_identifier") {
            // Restoring from a snapshot is its own call.
            let mut restore = clients
                .rds
                .restore_db_cluster_from_snapshot()
                .db_cluster_identifier(&identifier)
                .snapshot_identifier(snapshot)
                .engine(attributes.text("engine").unwrap_or_default())
                .set_engine_version(attributes.text("engine_version"))
                .set_db_subnet_group_name(placement.subnet_group.clone())
                .set_db_cluster_parameter_group_name(placement.parameter_group.clone())
                .set_deletion_protection(attributes.flag("deletion_protection"))
                .set_copy_tags_to_snapshot(attributes.flag("copy_tags_to_snapshot"))
                .set_serverless_v2_scaling_configuration(scaling(&attributes))
                .tags(address_tag(address));
            if !placement.security_groups.is_empty() {
                restore =
                    restore.set_vpc_security_group_ids(Some(placement.security_groups.clone()));
            }
            restore
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        } else {
            call.send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
    } else {
        // A cluster still being created (an interrupted create retried) or modified cannot be
        // modified yet: wait for it first.
        wait_until(address, "the cluster to be available", limit, || {
            let clients = clients.clone();
            let identifier = identifier.clone();
            async move {
                Ok(describe_cluster(&clients, address, &identifier)
                    .await?
                    .is_none_or(|cluster| cluster.status() == Some("available")))
            }
        })
        .await?;
        modify_cluster(
            clients,
            request,
            &attributes,
            &placement,
            secrets,
            &identifier,
        )
        .await?;
    }
    let mut last: Option<DbCluster> = None;
    wait_until(address, "the cluster to be available", limit, || {
        let clients = clients.clone();
        let identifier = identifier.clone();
        async move {
            let cluster = describe_cluster(&clients, address, &identifier).await?;
            Ok(cluster
                .as_ref()
                .is_some_and(|cluster| cluster.status() == Some("available")))
        }
    })
    .await?;
    if let Some(cluster) = describe_cluster(clients, address, &identifier).await? {
        last = Some(cluster);
    }
    let cluster = last.ok_or_else(|| ProviderError::Api {
        address: address.to_owned(),
        code: Some("DBClusterNotFoundFault".to_owned()),
        message: format!("the cluster {identifier} disappeared while dbplan waited for it"),
    })?;
    Ok(Applied {
        provider_id: Some(identifier),
        outputs: cluster_outputs(&cluster, &placement),
    })
}

async fn modify_cluster(
    clients: &Clients,
    request: &ChangeRequest,
    attributes: &Attributes<'_>,
    placement: &Placement,
    secrets: &BTreeMap<String, String>,
    identifier: &str,
) -> Result<(), ProviderError> {
    let address = request.address.as_str();
    let prior: BTreeMap<String, serde_json::Value> = request
        .prior
        .iter()
        .filter(|(_, field)| !field.sensitive)
        .map(|(name, field)| (name.clone(), field.value.clone()))
        .collect();
    let prior = Attributes(&prior);
    let mut call = clients
        .rds
        .modify_db_cluster()
        .db_cluster_identifier(identifier)
        .apply_immediately(attributes.flag("apply_immediately").unwrap_or(true))
        .set_engine_version(
            // Only a version the manifest changed: AWS's own minor upgrades are not undone.
            attributes
                .text("engine_version")
                .filter(|version| Some(version) != prior.text("engine_version").as_ref()),
        )
        .set_port(
            // 0 (the kind's default) means the engine's default port.
            attributes
                .int("port")
                .filter(|port| *port > 0)
                .map(|port| port as i32),
        )
        .set_enable_iam_database_authentication(
            attributes.flag("iam_database_authentication_enabled"),
        )
        .set_backup_retention_period(
            attributes
                .int("backup_retention_period")
                .map(|days| days as i32),
        )
        .set_preferred_backup_window(attributes.text("preferred_backup_window"))
        .set_preferred_maintenance_window(attributes.text("preferred_maintenance_window"))
        .set_deletion_protection(attributes.flag("deletion_protection"))
        .set_copy_tags_to_snapshot(attributes.flag("copy_tags_to_snapshot"))
        .set_storage_type(attributes.text("storage_type"))
        .set_enable_http_endpoint(attributes.flag("enable_http_endpoint"))
        .set_serverless_v2_scaling_configuration(scaling(attributes))
        .set_db_cluster_parameter_group_name(placement.parameter_group.clone());
    if !placement.security_groups.is_empty() {
        call = call.set_vpc_security_group_ids(Some(placement.security_groups.clone()));
    }
    let major = |version: Option<String>| {
        version.and_then(|version| version.split('.').next().map(str::to_owned))
    };
    if major(attributes.text("engine_version")) != major(prior.text("engine_version"))
        && prior.text("engine_version").is_some()
    {
        // Policy DB702 has flagged the major upgrade in the plan; AWS needs this to do it.
        call = call.allow_major_version_upgrade(true);
    }
    // Log exports are switched on and off by difference.
    let wanted = attributes.texts("enabled_cloudwatch_logs_exports");
    let had = prior.texts("enabled_cloudwatch_logs_exports");
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
    if !enable.is_empty() || !disable.is_empty() {
        call = call.cloudwatch_logs_export_configuration(
            CloudwatchLogsExportConfiguration::builder()
                .set_enable_log_types(Some(enable))
                .set_disable_log_types(Some(disable))
                .build(),
        );
    }
    let managed = attributes.flag("manage_master_user_password") == Some(true);
    if managed != (prior.flag("manage_master_user_password") == Some(true)) {
        call = call.manage_master_user_password(managed);
        if !managed && let Some(password) = secrets.get("password") {
            call = call.master_user_password(password);
        }
    } else if !managed
        && let Some(password) = secrets.get("password")
        && request.prior.get("password").map(|field| &field.value)
            != request.attributes.get("password").map(|field| &field.value)
    {
        call = call.master_user_password(password);
    }
    call.send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    Ok(())
}

/// Whether a value AWS reports says the same as the recorded one, though written differently:
/// an engine version AWS upgraded within the same major version (automatic minor upgrades; the
/// manifest may name only the major), a window in other letter case, a list in another order.
fn equivalent(
    name: &str,
    recorded: Option<&serde_json::Value>,
    remote: &serde_json::Value,
) -> bool {
    let Some(recorded) = recorded else {
        return false;
    };
    match (name, recorded, remote) {
        (
            "engine_version",
            serde_json::Value::String(recorded),
            serde_json::Value::String(remote),
        ) => {
            let major = |version: &str| version.split('.').next().unwrap_or_default().to_owned();
            major(recorded) == major(remote)
        }
        (_, serde_json::Value::String(recorded), serde_json::Value::String(remote)) => {
            recorded.eq_ignore_ascii_case(remote)
        }
        (_, serde_json::Value::Array(recorded), serde_json::Value::Array(remote)) => {
            let mut recorded = recorded.clone();
            let mut remote = remote.clone();
            recorded.sort_by_key(ToString::to_string);
            remote.sort_by_key(ToString::to_string);
            recorded == remote
        }
        _ => recorded == remote,
    }
}

pub(crate) async fn read_cluster(
    clients: &Clients,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = request.address.as_str();
    let identifier = request
        .provider_id
        .clone()
        .unwrap_or_else(|| resource_name(address).to_lowercase());
    let Some(cluster) = describe_cluster(clients, address, &identifier).await? else {
        return Ok(ReadOutcome::Gone);
    };
    let recorded_port = Attributes(&request.attributes).int("port");
    let mut attributes = request.attributes.clone();
    let mut put = |name: &str, value: Option<serde_json::Value>| {
        if let Some(value) = value
            && attributes.contains_key(name)
            && !equivalent(name, attributes.get(name), &value)
        {
            attributes.insert(name.to_owned(), value);
        }
    };
    put("engine", cluster.engine().map(serde_json::Value::from));
    put(
        "engine_version",
        cluster.engine_version().map(serde_json::Value::from),
    );
    put(
        "backup_retention_period",
        cluster
            .backup_retention_period()
            .map(serde_json::Value::from),
    );
    put(
        "preferred_backup_window",
        cluster
            .preferred_backup_window()
            .map(serde_json::Value::from),
    );
    put(
        "preferred_maintenance_window",
        cluster
            .preferred_maintenance_window()
            .map(serde_json::Value::from),
    );
    put(
        "deletion_protection",
        cluster.deletion_protection().map(serde_json::Value::from),
    );
    put(
        "copy_tags_to_snapshot",
        cluster.copy_tags_to_snapshot().map(serde_json::Value::from),
    );
    put(
        "storage_encrypted",
        cluster.storage_encrypted().map(serde_json::Value::from),
    );
    put(
        "iam_database_authentication_enabled",
        cluster
            .iam_database_authentication_enabled()
            .map(serde_json::Value::from),
    );
    // A recorded 0 asks for the engine's default port, whatever number that is.
    if recorded_port != Some(0) {
        put("port", cluster.port().map(serde_json::Value::from));
    }
    put(
        "database_name",
        cluster.database_name().map(serde_json::Value::from),
    );
    put(
        "username",
        cluster.master_username().map(serde_json::Value::from),
    );
    put(
        "enabled_cloudwatch_logs_exports",
        Some(serde_json::json!(cluster.enabled_cloudwatch_logs_exports())),
    );
    put(
        "manage_master_user_password",
        Some(serde_json::Value::from(
            cluster.master_user_secret().is_some(),
        )),
    );
    if let Some(scaling) = cluster.serverless_v2_scaling_configuration()
        && let Some(serde_json::Value::Object(recorded)) = attributes.get("serverless_v2_scaling")
    {
        let mut now = recorded.clone();
        if let Some(min) = scaling.min_capacity() {
            now.insert("min_capacity".to_owned(), serde_json::Value::from(min));
        }
        if let Some(max) = scaling.max_capacity() {
            now.insert("max_capacity".to_owned(), serde_json::Value::from(max));
        }
        attributes.insert(
            "serverless_v2_scaling".to_owned(),
            serde_json::Value::Object(now),
        );
    }
    // Where the cluster is placed, as AWS reports it.
    let placement = Placement {
        subnet_group: cluster.db_subnet_group().map(str::to_owned),
        security_groups: cluster
            .vpc_security_groups()
            .iter()
            .filter_map(|group| group.vpc_security_group_id().map(str::to_owned))
            .collect(),
        parameter_group: cluster.db_cluster_parameter_group().map(str::to_owned),
    };
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: Some(identifier),
        attributes,
        outputs: cluster_outputs(&cluster, &placement),
    }))
}

pub(crate) async fn delete_cluster(
    clients: &Clients,
    request: &ChangeRequest,
    prior: &BTreeMap<String, serde_json::Value>,
    limit: Duration,
) -> Result<(), ProviderError> {
    let address = request.address.as_str();
    let attributes = Attributes(prior);
    let identifier = request
        .provider_id
        .clone()
        .unwrap_or_else(|| resource_name(address).to_lowercase());
    let Some(cluster) = describe_cluster(clients, address, &identifier).await? else {
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
    let skip = attributes.flag("skip_final_snapshot").unwrap_or(false);
    let mut call = clients
        .rds
        .delete_db_cluster()
        .db_cluster_identifier(&identifier)
        .skip_final_snapshot(skip);
    if !skip {
        let snapshot = attributes
            .text("final_snapshot_identifier")
            .unwrap_or_else(|| format!("{identifier}-final"));
        call = call.final_db_snapshot_identifier(snapshot);
    }
    call.send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    wait_until(address, "the cluster to be deleted", limit, || {
        let clients = clients.clone();
        let identifier = identifier.clone();
        async move {
            Ok(describe_cluster(&clients, address, &identifier)
                .await?
                .is_none())
        }
    })
    .await
}
