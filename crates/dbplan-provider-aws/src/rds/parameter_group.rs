//! The cluster parameter group of an `AwsRdsCluster`, named after the cluster.

use super::{address_tag, conflict, group_name, major_version, named, refuse_if_used};
use crate::Clients;
use crate::attributes::{Action, incomplete};
use crate::error::{At, ErrorCode};
use aws_sdk_rds::types::{ApplyMethod, Parameter};
use dbplan_core::ResourceAddress;
use dbplan_core::kinds::aws_rds_cluster::ParameterGroup;
use dbplan_provider::{
    Applied, ChangeRequest, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// The output that names the group.
const OUTPUT: &str = "db_cluster_parameter_group_name";

/// At most this many parameters per modify call (the API's limit).
const PER_CALL: usize = 20;

/// `aurora-postgresql` + `16.4` → `aurora-postgresql16`; `aurora-mysql` + `8.0.mysql_aurora.3.05.2`
/// → `aurora-mysql8.0`.
pub(crate) fn family(engine: &str, version: &str) -> String {
    let major = if engine.contains("mysql") {
        version.split('.').take(2).collect::<Vec<_>>().join(".")
    } else {
        major_version(version).to_owned()
    };
    format!("{engine}{major}")
}

/// What the manifest asks of the group, decoded once.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ParameterGroupAttributes {
    /// The family, from `engine` and `engine_version`.
    pub(crate) family: String,
    /// `parameters`, in the manifest's order.
    parameters: Vec<PlannedParameter>,
}

/// One item of `parameters`.
#[derive(Clone, Debug, PartialEq)]
struct PlannedParameter {
    name: String,
    value: String,
    /// `apply_method`; the kind documents `immediate` as the default.
    apply_method: String,
}

impl ParameterGroupAttributes {
    pub(crate) fn from_planned(group: ParameterGroup) -> Self {
        let parameters = group
            .parameters
            .into_iter()
            .map(|parameter| PlannedParameter {
                name: parameter.name,
                value: parameter.value,
                apply_method: parameter
                    .apply_method
                    .unwrap_or_else(|| "immediate".to_owned()),
            })
            .collect();
        ParameterGroupAttributes {
            family: family(&group.engine, &group.engine_version),
            parameters,
        }
    }

    /// The parameters of each modify call, at most [`PER_CALL`] a call.
    fn modify_batches(&self) -> Vec<Vec<Parameter>> {
        self.parameters
            .chunks(PER_CALL)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|parameter| {
                        Parameter::builder()
                            .parameter_name(&parameter.name)
                            .parameter_value(&parameter.value)
                            .apply_method(ApplyMethod::from(parameter.apply_method.as_str()))
                            .build()
                    })
                    .collect()
            })
            .collect()
    }
}

/// The family of the group of this name, if there is one.
pub(crate) async fn existing_family(
    clients: &Clients,
    address: &ResourceAddress,
    name: &str,
) -> Result<Option<String>, ProviderError> {
    let found = clients
        .rds
        .describe_db_cluster_parameter_groups()
        .db_cluster_parameter_group_name(name)
        .send()
        .await
        .unless(ErrorCode::DbParameterGroupNotFound, address)?;
    let Some(group) = found.and_then(|found| found.db_cluster_parameter_groups().first().cloned())
    else {
        return Ok(None);
    };
    let family = group
        .db_parameter_group_family()
        .ok_or_else(|| incomplete(address, "parameter group family"))?;
    Ok(Some(family.to_owned()))
}

pub(crate) async fn apply(
    clients: &Clients,
    request: &ChangeRequest,
    action: Action,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let group = ParameterGroupAttributes::from_planned(request.decode()?);
    let name = request.address.name.clone();
    let family = &group.family;
    let found = existing_family(clients, address, &name).await?;
    if action == Action::Create && found.is_some() {
        request
            .adopt
            .check(address, format!("the cluster parameter group {name}"))?;
    }
    match found {
        Some(found) if &found != family => {
            return Err(conflict(
                address,
                format!(
                    "a cluster parameter group {name} already exists for {found}, not {family}; delete it or rename the cluster"
                ),
            ));
        }
        Some(_) => {}
        None => {
            clients
                .rds
                .create_db_cluster_parameter_group()
                .db_cluster_parameter_group_name(&name)
                .db_parameter_group_family(family)
                .description(format!("{name} (managed by dbplan)"))
                .tags(address_tag(address))
                .send()
                .await
                .at(address)?;
        }
    }
    for batch in group.modify_batches() {
        clients
            .rds
            .modify_db_cluster_parameter_group()
            .db_cluster_parameter_group_name(&name)
            .set_parameters(Some(batch))
            .send()
            .await
            .at(address)?;
    }
    Ok(named(OUTPUT, name))
}

pub(crate) async fn read(
    clients: &Clients,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let name = group_name(request.provider_id.as_ref(), &request.address.name);
    let Some(answer) = clients
        .rds
        .describe_db_cluster_parameters()
        .db_cluster_parameter_group_name(&name)
        .source("user")
        .send()
        .await
        .unless(ErrorCode::DbParameterGroupNotFound, address)?
    else {
        return Ok(ReadOutcome::Gone);
    };
    Ok(ReadOutcome::Found(RemoteObject {
        attributes: drift(&request.attributes, answer.parameters()),
        outputs: named(OUTPUT, name.clone()).outputs,
        provider_id: Some(name),
    }))
}

/// The recorded parameters with their values (and apply methods, where recorded) as AWS holds
/// them now; one that is gone shows as a missing item.
fn drift(recorded: &BTreeMap<String, Value>, remote: &[Parameter]) -> BTreeMap<String, Value> {
    let remote: BTreeMap<&str, &Parameter> = remote
        .iter()
        .filter_map(|parameter| Some((parameter.parameter_name()?, parameter)))
        .collect();
    let mut attributes = recorded.clone();
    let Some(Value::Array(items)) = recorded.get("parameters") else {
        return attributes;
    };
    let now: Vec<Value> = items
        .iter()
        .filter_map(|item| {
            let parameter = remote.get(item.get("name")?.as_str()?)?;
            let mut item = item.clone();
            if let Some(map) = item.as_object_mut() {
                // A parameter AWS holds without a value shows as an empty one.
                let value = parameter.parameter_value().unwrap_or_default();
                map.insert("value".to_owned(), Value::from(value));
                if let Some(method) = parameter.apply_method()
                    && map.contains_key("apply_method")
                {
                    map.insert("apply_method".to_owned(), Value::from(method.as_str()));
                }
            }
            Some(item)
        })
        .collect();
    attributes.insert("parameters".to_owned(), Value::Array(now));
    attributes
}

pub(crate) async fn delete(
    clients: &Clients,
    request: &ChangeRequest,
) -> Result<(), ProviderError> {
    let address = &request.address;
    let name = group_name(request.provider_id.as_ref(), &request.address.name);
    refuse_if_used(
        clients,
        address,
        "cluster parameter group",
        &name,
        |cluster| cluster.db_cluster_parameter_group() == Some(name.as_str()),
    )
    .await?;
    clients
        .rds
        .delete_db_cluster_parameter_group()
        .db_cluster_parameter_group_name(&name)
        .send()
        .await
        .unless(ErrorCode::DbParameterGroupNotFound, address)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{decode, map};
    use serde_json::json;

    const ADDRESS: &str = "AwsRdsCluster/orders-db/parameter-group";

    #[test]
    fn the_family_follows_the_engine_and_its_major_version() {
        assert_eq!(family("aurora-postgresql", "16.4"), "aurora-postgresql16");
        assert_eq!(family("aurora-postgresql", "16"), "aurora-postgresql16");
        assert_eq!(
            family("aurora-mysql", "8.0.mysql_aurora.3.05.2"),
            "aurora-mysql8.0"
        );
    }

    #[test]
    fn parameters_are_sent_twenty_a_call_immediate_unless_planned_otherwise() {
        let parameters: Vec<Value> = (0..25)
            .map(|index| json!({"name": format!("p{index}"), "value": index.to_string()}))
            .chain([json!({"name": "shared_preload_libraries", "value": "pg_stat_statements", "apply_method": "pending-reboot"})])
            .collect();
        let group = decode(
            json!({"engine": "aurora-postgresql", "engine_version": "16.4", "parameters": parameters}),
            |group| Ok::<_, ProviderError>(ParameterGroupAttributes::from_planned(group)),
        );
        assert_eq!(group.family, "aurora-postgresql16");
        let batches = group.modify_batches();
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [20, 6]);
        let first = &batches[0][0];
        assert_eq!(first.parameter_name(), Some("p0"));
        assert_eq!(first.parameter_value(), Some("0"));
        assert_eq!(first.apply_method(), Some(&ApplyMethod::Immediate));
        let last = &batches[1][5];
        assert_eq!(last.parameter_name(), Some("shared_preload_libraries"));
        assert_eq!(last.apply_method(), Some(&ApplyMethod::PendingReboot));
    }

    #[test]
    fn drift_shows_aws_values_and_drops_parameters_aws_no_longer_has() {
        let recorded = map(json!({
            "engine": "aurora-postgresql",
            "parameters": [
                {"name": "work_mem", "value": "4096", "apply_method": "immediate"},
                {"name": "log_min_duration_statement", "value": "500"},
                {"name": "gone", "value": "1"},
            ],
        }));
        let remote = [
            Parameter::builder()
                .parameter_name("work_mem")
                .parameter_value("8192")
                .apply_method(ApplyMethod::PendingReboot)
                .build(),
            Parameter::builder()
                .parameter_name("log_min_duration_statement")
                .parameter_value("500")
                .apply_method(ApplyMethod::Immediate)
                .build(),
        ];
        assert_eq!(
            drift(&recorded, &remote),
            map(json!({
                "engine": "aurora-postgresql",
                "parameters": [
                    {"name": "work_mem", "value": "8192", "apply_method": "pending-reboot"},
                    {"name": "log_min_duration_statement", "value": "500"},
                ],
            }))
        );
    }

    #[test]
    fn a_plan_without_an_engine_version_is_an_error() {
        let planned = json!({"engine": "aurora-postgresql"});
        let request = crate::testing::request(ADDRESS, planned, json!({}));
        let error = request.decode::<ParameterGroup>().err();
        let text = error.map(|error| error.to_string()).unwrap_or_default();
        assert!(text.contains("missing field `engine_version`"), "{text}");
    }
}
