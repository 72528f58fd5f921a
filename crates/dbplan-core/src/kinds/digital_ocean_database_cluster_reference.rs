//! `DigitalOceanDatabaseClusterReference`: a DigitalOcean database cluster dbplan does not
//! manage, read so that tenant databases can be made on it (Terraform's
//! `data "digitalocean_database_cluster"`, Crossplane's `Observe` management policy). Creating
//! it looks the cluster up by name and records what the API reports as outputs; refresh reads
//! it again; deleting it only forgets it. dbplan never modifies or deletes the cluster, and
//! records none of its credentials: the admin login is read from the API each time a tenant
//! connects.

use super::digital_ocean_database_cluster::DigitalOceanAdminConnection;
use super::{de, output};
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// What the API reports of the cluster: the names of a `DigitalOceanDatabaseCluster`'s outputs
/// where they are the same thing, without its credentials (`connection_uri`, `password`), which
/// are read when needed and never recorded.
pub const OUTPUTS: &[OutputSpec] = &[
    output("cluster_id"),
    output("engine"),
    output("engine_version"),
    output("region"),
    output("host"),
    output("private_host"),
    output("port"),
    output("database_name"),
    output("database_user"),
    output("urn"),
];

/// No attribute holds a secret.
pub const SECRET_ATTRIBUTES: &[&str] = &[];

/// Another name is another cluster.
pub fn replaced_by(_: &Part) -> &'static [&'static str] {
    &["cluster_name"]
}

/// dbplan holds no data of a cluster it only reads.
pub fn holds_data(_: &Part) -> bool {
    false
}

/// The attributes the object is planned with.
pub fn attribute_names(_: &Part) -> Option<&'static [&'static str]> {
    Some(de::attribute_names::<Reference>())
}

/// The planned (or recorded) attributes of the reference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Reference {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub cluster_name: Option<String>,
}

/// An existing DigitalOcean PostgreSQL cluster that dbplan reads but never changes or deletes,
/// for the tenant databases made on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DigitalOceanDatabaseClusterReferenceSpec {
    /// The cluster's name as DigitalOcean lists it (unique in an account), e.g. `platform-pg`.
    #[schemars(length(min = 1, max = 64))]
    pub cluster_name: String,
    /// How dbplan connects to the cluster as its admin user to manage the TenantDatabases on it: TLS, a tunnel. Recorded by the tenants, not by the reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_connection: Option<DigitalOceanAdminConnection>,
}

impl DigitalOceanDatabaseClusterReferenceSpec {
    /// What the role and database of a tenant on this cluster are planned with (attribute
    /// `admin`), as on a cluster dbplan manages.
    pub fn tenant_admin(&self) -> Json {
        super::digital_ocean_database_cluster::tenant_admin(self.admin_connection.as_ref())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_reference_and_plans_its_tenants_admin_as_a_managed_clusters() {
        let spec: DigitalOceanDatabaseClusterReferenceSpec = serde_json::from_value(json!({
            "cluster_name": "platform-pg",
            "admin_connection": {"connect_via": {"host": "127.0.0.1", "port": 15432}}
        }))
        .unwrap();
        assert_eq!(
            spec.tenant_admin(),
            json!({"sslmode": "verify-full", "connect_via": {"host": "127.0.0.1", "port": 15432}})
        );
        assert!(
            serde_json::from_value::<DigitalOceanDatabaseClusterReferenceSpec>(
                json!({"cluster_name": "p", "engine": "pg"})
            )
            .is_err(),
            "a reference declares no setting of the cluster"
        );
        let reference: Reference = crate::kinds::decode(
            json!({"cluster_name": "platform-pg"})
                .as_object()
                .unwrap()
                .clone(),
        )
        .unwrap();
        assert_eq!(reference.cluster_name.as_deref(), Some("platform-pg"));
    }
}
