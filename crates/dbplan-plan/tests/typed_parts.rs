//! The planner's attributes and the kinds' typed parts (`dbplan_core::kinds`) say the same
//! thing: every attribute `desired` plans for a part of every example is a field of that part's
//! typed struct (so a provider that decodes the part sees all of it), and the attributes decode
//! into it, references (unknown until apply) given a stand-in text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use dbplan_core::kinds::{
    self, DecodeError, aws_rds_cluster, aws_rds_cluster_instance, aws_security_group, aws_vpc,
    cnpg_cluster, digital_ocean_database_ca_certificate, digital_ocean_database_cluster,
    digital_ocean_database_firewall, digital_ocean_database_pool, digital_ocean_vpc,
    postgres_server, tenant_database,
};
use dbplan_core::{Kind, Part, Value};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::Path;

/// A planned value as the provider receives it at apply: references resolved (here to a
/// stand-in), secrets exposed.
fn at_apply(value: &Value) -> Json {
    match value {
        Value::Unknown => Json::from("(known after apply)"),
        Value::Sensitive(secret) => at_apply(secret.expose()),
        Value::List(items) => Json::Array(items.iter().map(at_apply).collect()),
        Value::Map(fields) => Json::Object(
            fields
                .iter()
                .map(|(name, value)| (name.clone(), at_apply(value)))
                .collect(),
        ),
        other => other.to_json_exposed(),
    }
}

/// Decodes a part's attributes into its kind's typed part; `None` for a kind without one.
fn decode(
    kind: Kind,
    part: &Part,
    json: &BTreeMap<String, Json>,
) -> Option<Result<(), DecodeError>> {
    fn into<T: serde::de::DeserializeOwned>(
        json: &BTreeMap<String, Json>,
    ) -> Result<(), DecodeError> {
        kinds::decode_map::<T>(json).map(drop)
    }
    Some(match (kind, part) {
        (Kind::AwsVpc, _) => into::<aws_vpc::Vpc>(json),
        (Kind::AwsSecurityGroup, _) => into::<aws_security_group::SecurityGroup>(json),
        (Kind::AwsRdsCluster, Part::SecurityGroup) => into::<aws_rds_cluster::SecurityGroup>(json),
        (Kind::AwsRdsCluster, Part::SubnetGroup) => into::<aws_rds_cluster::SubnetGroup>(json),
        (Kind::AwsRdsCluster, Part::ParameterGroup) => {
            into::<aws_rds_cluster::ParameterGroup>(json)
        }
        (Kind::AwsRdsCluster, Part::Cluster) => into::<aws_rds_cluster::Cluster>(json),
        (Kind::AwsRdsClusterInstance, _) => into::<aws_rds_cluster_instance::Instance>(json),
        (Kind::DigitalOceanVpc, _) => into::<digital_ocean_vpc::Vpc>(json),
        (Kind::DigitalOceanDatabaseCluster, _) => {
            into::<digital_ocean_database_cluster::Cluster>(json)
        }
        (Kind::DigitalOceanDatabaseFirewall, _) => {
            into::<digital_ocean_database_firewall::Firewall>(json)
        }
        (Kind::DigitalOceanDatabaseConnectionPool, _) => {
            into::<digital_ocean_database_pool::Pool>(json)
        }
        (Kind::DigitalOceanDatabaseCaCertificate, _) => {
            into::<digital_ocean_database_ca_certificate::CaCertificate>(json)
        }
        (Kind::PostgresServer, _) => into::<postgres_server::Server>(json),
        (Kind::TenantDatabase, Part::Role) => into::<tenant_database::Role>(json),
        (Kind::TenantDatabase, Part::Database) => into::<tenant_database::Database>(json),
        (Kind::TenantDatabase, Part::ConnectionSecret) => {
            into::<tenant_database::ConnectionSecret>(json)
        }
        (Kind::CnpgCluster, Part::Cluster) => into::<cnpg_cluster::Cluster>(json),
        (Kind::CnpgCluster, Part::ScheduledBackup) => into::<cnpg_cluster::ScheduledBackup>(json),
        (Kind::CnpgCluster, Part::CnpgDatabase(_)) => into::<cnpg_cluster::Database>(json),
        (Kind::CnpgCluster, Part::ConnectionSecret) => into::<cnpg_cluster::ConnectionSecret>(json),
        _ => return None,
    })
}

/// The manifests of one example folder.
fn example(folder: &Path) -> Vec<(String, String)> {
    let mut sources: Vec<(String, String)> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path.display().to_string(), text)
        })
        .collect();
    sources.sort();
    sources
}

#[test]
fn every_planned_attribute_of_every_example_is_a_field_of_its_typed_part() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut folders: Vec<_> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    folders.sort();
    let mut typed = 0;
    for folder in folders {
        let sources = example(&folder);
        let borrowed: Vec<(&str, &str)> = sources
            .iter()
            .map(|(name, text)| (name.as_str(), text.as_str()))
            .collect();
        let (set, graph) = support::load(&borrowed);
        let desired = dbplan_plan::desired::desired(&set, &graph, &|_| None, &support::test_key());
        for object in &desired.objects {
            let address = &object.address;
            let part = Part::of(address.part.as_deref()).unwrap();
            let Some(names) = kinds::attribute_names(address.kind, &part) else {
                continue;
            };
            for name in object.attributes.keys() {
                assert!(
                    names.contains(&name.as_str())
                        || name == dbplan_provider::files::ADOPT_ATTRIBUTE,
                    "{address} ({}): `{name}` is planned but not a field of the kind's typed part",
                    folder.display()
                );
            }
            let json: BTreeMap<String, Json> = object
                .attributes
                .iter()
                .map(|(name, value)| (name.clone(), at_apply(value)))
                .collect();
            if let Some(decoded) = decode(address.kind, &part, &json) {
                decoded.unwrap_or_else(|error| panic!("{address}: {error}"));
                typed += 1;
            }
        }
    }
    assert!(typed > 20, "only {typed} typed parts were checked");
}
