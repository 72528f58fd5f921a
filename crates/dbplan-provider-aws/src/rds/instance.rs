//! An `AwsRdsClusterInstance`: identified by its `identifier`, else its `metadata.name`.

use super::cluster::describe as describe_cluster;
use super::{address_tag, conflict};
use crate::Clients;
use crate::attributes::{Action, int32};
use crate::error::{At, ErrorCode};
use aws_sdk_rds::operation::create_db_instance::builders::CreateDBInstanceFluentBuilder;
use aws_sdk_rds::operation::modify_db_instance::builders::ModifyDBInstanceFluentBuilder;
use aws_sdk_rds::types::DbInstance;
use dbplan_core::ResourceAddress;
use dbplan_core::kinds::aws_rds_cluster_instance::{Identity, Instance};
use dbplan_provider::{
    Applied, ChangeRequest, Field, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
    wait_until,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// What the manifest asks of an instance, decoded once (the JSON keys are the field names, but
/// `cluster`, `instance_class` and `performance_insights_enabled`, noted).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct InstanceAttributes {
    /// `identifier`, else `metadata.name`; lower case, as AWS keeps it.
    pub(crate) identifier: String,
    /// `cluster`: the cluster's identifier.
    cluster: String,
    /// `instance_class`.
    class: String,
    availability_zone: Option<String>,
    publicly_accessible: Option<bool>,
    promotion_tier: Option<i32>,
    auto_minor_version_upgrade: Option<bool>,
    /// `performance_insights_enabled`.
    performance_insights: Option<bool>,
    monitoring_interval: Option<i32>,
    db_parameter_group_name: Option<String>,
    /// `ca_cert_identifier`.
    ca_certificate: Option<String>,
    /// `apply_immediately` (on unless the manifest defers changes to the maintenance window).
    apply_immediately: bool,
}

/// An instance's identifier: `identifier`, else `metadata.name` (`name`), in lower case.
pub(crate) fn identifier(name: &str, planned: Identity) -> String {
    planned
        .identifier
        .unwrap_or_else(|| name.to_owned())
        .to_lowercase()
}

impl InstanceAttributes {
    pub(crate) fn from_planned(
        address: &ResourceAddress,
        instance: Instance,
    ) -> Result<Self, ProviderError> {
        let name = &address.name;
        Ok(InstanceAttributes {
            identifier: identifier(
                name,
                Identity {
                    identifier: instance.identifier,
                },
            ),
            cluster: instance.cluster,
            class: instance.instance_class,
            availability_zone: instance.availability_zone,
            publicly_accessible: instance.publicly_accessible,
            promotion_tier: int32(address, "promotion_tier", instance.promotion_tier)?,
            auto_minor_version_upgrade: instance.auto_minor_version_upgrade,
            performance_insights: instance.performance_insights_enabled,
            monitoring_interval: int32(
                address,
                "monitoring_interval",
                instance.monitoring_interval,
            )?,
            db_parameter_group_name: instance.db_parameter_group_name,
            ca_certificate: instance.ca_cert_identifier,
            apply_immediately: instance.apply_immediately.unwrap_or(true),
        })
    }

    /// The create of the instance in its cluster (`engine`: the cluster's).
    fn create(
        &self,
        call: CreateDBInstanceFluentBuilder,
        engine: Option<&str>,
        address: &ResourceAddress,
    ) -> CreateDBInstanceFluentBuilder {
        call.db_instance_identifier(&self.identifier)
            .db_cluster_identifier(&self.cluster)
            .set_engine(engine.map(str::to_owned))
            .db_instance_class(&self.class)
            .set_availability_zone(self.availability_zone.clone())
            .set_publicly_accessible(self.publicly_accessible)
            .set_promotion_tier(self.promotion_tier)
            .set_auto_minor_version_upgrade(self.auto_minor_version_upgrade)
            .set_enable_performance_insights(self.performance_insights)
            .set_monitoring_interval(self.monitoring_interval)
            .set_db_parameter_group_name(self.db_parameter_group_name.clone())
            .set_ca_certificate_identifier(self.ca_certificate.clone())
            .tags(address_tag(address))
    }

    /// The modify that brings an existing instance to the manifest.
    fn modify(&self, call: ModifyDBInstanceFluentBuilder) -> ModifyDBInstanceFluentBuilder {
        call.db_instance_identifier(&self.identifier)
            .apply_immediately(self.apply_immediately)
            .db_instance_class(&self.class)
            .set_publicly_accessible(self.publicly_accessible)
            .set_promotion_tier(self.promotion_tier)
            .set_auto_minor_version_upgrade(self.auto_minor_version_upgrade)
            .set_enable_performance_insights(self.performance_insights)
            .set_monitoring_interval(self.monitoring_interval)
    }
}

/// The instance of this identifier, if there is one.
pub(crate) async fn describe(
    clients: &Clients,
    address: &ResourceAddress,
    identifier: &str,
) -> Result<Option<DbInstance>, ProviderError> {
    let found = clients
        .rds
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
        .unless(ErrorCode::DbInstanceNotFound, address)?;
    Ok(found.and_then(|found| found.db_instances().first().cloned()))
}

pub(crate) async fn apply(
    clients: &Clients,
    request: &ChangeRequest,
    action: Action,
    limit: Duration,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let instance = InstanceAttributes::from_planned(&request.address, request.decode()?)?;
    let (identifier, cluster_id) = (&instance.identifier, &instance.cluster);
    let Some(cluster) = describe_cluster(clients, address, cluster_id).await? else {
        return Err(ProviderError::Api {
            address: address.clone(),
            code: Some(ErrorCode::DbClusterNotFound.to_string().into()),
            message: format!("the cluster {cluster_id} does not exist; apply it first"),
            source: None,
        });
    };
    // `db.serverless` needs the cluster's Serverless v2 scaling first (AWS refuses otherwise).
    if instance.class == "db.serverless" && cluster.serverless_v2_scaling_configuration().is_none()
    {
        return Err(conflict(
            address,
            format!(
                "db.serverless needs the cluster {cluster_id} to have serverless_v2_scaling; set it on the cluster"
            ),
        ));
    }
    match (action, describe(clients, address, identifier).await?) {
        (Action::Create, Some(found)) => {
            request
                .adopt
                .check(address, format!("the DB instance {identifier}"))?;
            if found.db_cluster_identifier() != Some(cluster_id.as_str()) {
                return Err(conflict(
                    address,
                    format!(
                        "a DB instance {identifier} already exists in another cluster ({}); choose another identifier",
                        found.db_cluster_identifier().unwrap_or("none")
                    ),
                ));
            }
        }
        (Action::Create, None) => {
            let call = instance.create(clients.rds.create_db_instance(), cluster.engine(), address);
            call.send().await.at(address)?;
        }
        (Action::Update, _) => {
            let call = instance.modify(clients.rds.modify_db_instance());
            call.send().await.at(address)?;
        }
    }
    wait_until(address, "the instance to be available", limit, || async {
        Ok(describe(clients, address, identifier)
            .await?
            .is_some_and(|instance| instance.db_instance_status() == Some("available")))
    })
    .await?;
    let made = describe(clients, address, identifier)
        .await?
        .ok_or_else(|| ProviderError::Api {
            address: address.clone(),
            code: Some(ErrorCode::DbInstanceNotFound.to_string().into()),
            message: format!("the instance {identifier} disappeared while dbplan waited for it"),
            source: None,
        })?;
    Ok(Applied {
        outputs: outputs(identifier, &made),
        provider_id: Some(identifier.clone()),
    })
}

/// An instance's outputs: its identifier, ARN and endpoint.
fn outputs(identifier: &str, instance: &DbInstance) -> BTreeMap<String, Field> {
    let endpoint = instance.endpoint();
    [
        ("instance_id", Some(Value::from(identifier))),
        ("arn", instance.db_instance_arn().map(Value::from)),
        (
            "endpoint",
            endpoint.and_then(|e| e.address()).map(Value::from),
        ),
        ("port", endpoint.and_then(|e| e.port()).map(Value::from)),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name.to_owned(), Field::plain(value?))))
    .collect()
}

/// Where AWS reports a value of the instance.
type Reported = fn(&DbInstance) -> Option<Value>;

/// The attributes a read reports, and where AWS reports each.
const ATTRIBUTES: &[(&str, Reported)] = &[
    ("instance_class", |i| i.db_instance_class().map(Value::from)),
    ("cluster", |i| i.db_cluster_identifier().map(Value::from)),
    ("publicly_accessible", |i| {
        i.publicly_accessible().map(Value::from)
    }),
    ("promotion_tier", |i| i.promotion_tier().map(Value::from)),
];

/// The recorded attributes with the values AWS reports (only recorded ones).
fn drift(recorded: &BTreeMap<String, Value>, instance: &DbInstance) -> BTreeMap<String, Value> {
    let mut attributes = recorded.clone();
    for (name, reported) in ATTRIBUTES {
        if let Some(value) = reported(instance)
            && attributes.contains_key(*name)
        {
            attributes.insert((*name).to_owned(), value);
        }
    }
    attributes
}

pub(crate) async fn read(
    clients: &Clients,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let identifier = match &request.provider_id {
        Some(id) => id.clone(),
        None => identifier(&request.address.name, request.decode()?),
    };
    let Some(instance) = describe(clients, address, &identifier).await? else {
        return Ok(ReadOutcome::Gone);
    };
    Ok(ReadOutcome::Found(RemoteObject {
        attributes: drift(&request.attributes, &instance),
        outputs: outputs(&identifier, &instance),
        provider_id: Some(identifier),
    }))
}

pub(crate) async fn delete(
    clients: &Clients,
    request: &ChangeRequest,
    limit: Duration,
) -> Result<(), ProviderError> {
    let address = &request.address;
    let Some(identifier) = request.provider_id.as_deref() else {
        return Ok(());
    };
    let deleted = clients
        .rds
        .delete_db_instance()
        .db_instance_identifier(identifier)
        .skip_final_snapshot(true)
        .send()
        .await
        .unless(ErrorCode::DbInstanceNotFound, address)?;
    if deleted.is_none() {
        return Ok(());
    }
    wait_until(address, "the instance to be deleted", limit, || async {
        Ok(describe(clients, address, identifier).await?.is_none())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{address, decode, map, rds, request};
    use aws_sdk_rds::types::Endpoint;
    use serde_json::json;

    const ADDRESS: &str = "AwsRdsClusterInstance/orders-db-1";

    fn attributes() -> InstanceAttributes {
        decode(
            json!({
                "cluster": "orders-db",
                "instance_class": "db.r6g.large",
                "availability_zone": "us-east-1a",
                "promotion_tier": 1,
                "performance_insights_enabled": true,
                "ca_cert_identifier": "rds-ca-rsa2048-g1",
            }),
            |instance| InstanceAttributes::from_planned(&address(ADDRESS), instance),
        )
    }

    #[test]
    fn a_create_puts_the_instance_in_its_cluster_with_the_clusters_engine() {
        let instance = attributes();
        assert_eq!(instance.identifier, "orders-db-1");
        let call = instance.create(
            rds().create_db_instance(),
            Some("aurora-postgresql"),
            &address(ADDRESS),
        );
        let input = call.as_input();
        assert_eq!(
            input.get_db_instance_identifier().as_deref(),
            Some("orders-db-1")
        );
        assert_eq!(
            input.get_db_cluster_identifier().as_deref(),
            Some("orders-db")
        );
        assert_eq!(input.get_engine().as_deref(), Some("aurora-postgresql"));
        assert_eq!(
            input.get_db_instance_class().as_deref(),
            Some("db.r6g.large")
        );
        assert_eq!(input.get_availability_zone().as_deref(), Some("us-east-1a"));
        assert_eq!(*input.get_promotion_tier(), Some(1));
        assert_eq!(*input.get_enable_performance_insights(), Some(true));
        assert_eq!(
            input.get_ca_certificate_identifier().as_deref(),
            Some("rds-ca-rsa2048-g1")
        );
        assert_eq!(*input.get_publicly_accessible(), None);
    }

    #[test]
    fn a_modify_changes_the_class_and_settings_immediately_by_default() {
        let call = attributes().modify(rds().modify_db_instance());
        let input = call.as_input();
        assert_eq!(
            input.get_db_instance_identifier().as_deref(),
            Some("orders-db-1")
        );
        assert_eq!(*input.get_apply_immediately(), Some(true));
        assert_eq!(
            input.get_db_instance_class().as_deref(),
            Some("db.r6g.large")
        );
        assert_eq!(*input.get_promotion_tier(), Some(1));
        assert_eq!(*input.get_enable_performance_insights(), Some(true));
    }

    #[test]
    fn an_identifier_is_lower_case_and_defaults_to_the_name() {
        let named = Identity {
            identifier: Some("Orders-Writer".to_owned()),
        };
        assert_eq!(identifier(&address(ADDRESS).name, named), "orders-writer");
        assert_eq!(
            identifier(
                &address("AwsRdsClusterInstance/Reader").name,
                Identity::default()
            ),
            "reader"
        );
    }

    #[test]
    fn a_plan_without_a_cluster_is_an_error() {
        let planned = json!({"instance_class": "db.serverless"});
        let request = request(ADDRESS, planned, json!({}));
        let error = request.decode::<Instance>().err();
        let text = error.map(|error| error.to_string()).unwrap_or_default();
        assert!(text.contains("missing field `cluster`"), "{text}");
    }

    #[test]
    fn drift_and_outputs_come_from_the_described_instance() {
        let described = DbInstance::builder()
            .db_instance_class("db.r6g.xlarge")
            .db_cluster_identifier("orders-db")
            .promotion_tier(2)
            .publicly_accessible(false)
            .db_instance_arn("arn:db:orders-db-1")
            .endpoint(
                Endpoint::builder()
                    .address("orders-db-1.x.rds.amazonaws.com")
                    .port(5432)
                    .build(),
            )
            .build();
        let recorded = map(
            json!({"instance_class": "db.r6g.large", "promotion_tier": 1, "cluster": "orders-db"}),
        );
        assert_eq!(
            drift(&recorded, &described),
            map(
                json!({"instance_class": "db.r6g.xlarge", "promotion_tier": 2, "cluster": "orders-db"})
            )
        );
        let outputs = outputs("orders-db-1", &described);
        assert_eq!(
            outputs.get("instance_id"),
            Some(&Field::plain("orders-db-1"))
        );
        assert_eq!(
            outputs.get("arn"),
            Some(&Field::plain("arn:db:orders-db-1"))
        );
        assert_eq!(
            outputs.get("endpoint"),
            Some(&Field::plain("orders-db-1.x.rds.amazonaws.com"))
        );
        assert_eq!(outputs.get("port"), Some(&Field::plain(5432)));
    }
}
