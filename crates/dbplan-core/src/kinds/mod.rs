//! One module per kind, listed once in `kinds!` below (which makes [`Kind`] and [`Spec`]): everything
//! dbplan knows about a kind is here. Its spec (what a manifest declares: serde and schemars types,
//! from which the loader's JSON Schema is generated; the loader's semantic checks of it, which
//! report with spans, live in `dbplan-manifest`'s `checks/`), its parts, the typed attributes each
//! part is planned with (what a provider decodes:
//! `let cluster: aws_rds_cluster::Cluster = request.decode()?`), the outputs it declares, the
//! attributes whose change forces a new object, and whether a part holds data.
//!
//! The typed attributes read the JSON plans and state hold (the spec fields a part owns, by
//! their snake_case names), by the one set of rules in [`de`]. Each kind module's tests decode
//! that JSON as the planner writes it.

pub mod de;

pub mod aws_rds_cluster;
pub mod aws_rds_cluster_instance;
pub mod aws_rds_cluster_reference;
pub mod aws_security_group;
pub mod aws_vpc;
pub mod cnpg_cluster;
pub mod digital_ocean_database_ca_certificate;
pub mod digital_ocean_database_cluster;
pub mod digital_ocean_database_cluster_reference;
pub mod digital_ocean_database_firewall;
pub mod digital_ocean_database_pool;
pub mod digital_ocean_vpc;
pub mod postgres_server;
pub mod tenant_database;

pub use de::{DecodeError, SecretText, decode, decode_map};

/// Every kind's spec types (what a manifest declares), by name: the manifest loader's `Spec` holds
/// one of them.
pub mod specs {
    pub use super::aws_rds_cluster::{
        ApplyMethod, AwsClusterEngine, AwsRdsClusterParameter, AwsRdsClusterSpec, EngineMode,
        ServerlessV2Scaling, StorageType,
    };
    pub use super::aws_rds_cluster_instance::AwsRdsClusterInstanceSpec;
    pub use super::aws_rds_cluster_reference::AwsRdsClusterReferenceSpec;
    pub use super::aws_security_group::{AwsSecurityGroupSpec, SecurityGroupRule};
    pub use super::aws_vpc::AwsVpcSpec;
    pub use super::cnpg_cluster::{
        BackupMethod, CnpgBackup, CnpgBootstrap, CnpgClusterSpec, CnpgConnectionSecret,
        CnpgDatabase, CnpgPostgresql, CnpgStorage, ConnectionSecretKey, Ensure,
    };
    pub use super::digital_ocean_database_ca_certificate::DigitalOceanDatabaseCaCertificateSpec;
    pub use super::digital_ocean_database_cluster::{
        DigitalOceanDatabaseClusterSpec, DigitalOceanEngine, MaintenanceWindowSpec, Weekday,
    };
    pub use super::digital_ocean_database_cluster_reference::DigitalOceanDatabaseClusterReferenceSpec;
    pub use super::digital_ocean_database_firewall::{
        DigitalOceanDatabaseFirewallSpec, TrustedSource, TrustedSourceType,
    };
    pub use super::digital_ocean_database_pool::{
        DigitalOceanDatabaseConnectionPoolSpec, PoolMode,
    };
    pub use super::digital_ocean_vpc::{
        DIGITAL_OCEAN_REGIONS, DigitalOceanRegion, DigitalOceanVpcSpec,
    };
    pub use super::postgres_server::{PostgresServerSpec, SslMode};
    pub use super::tenant_database::{
        DeletionPolicy, KubernetesSecretSpec, SecretDataKey, SecretFormat, SecretStyle,
        SecretTarget, SecretTargetError, StandardSecretKey, TENANT_SERVER_KINDS,
        TenantConnectionSecret, TenantDatabaseSpec,
    };
}

use crate::{ApiGroup, OutputSpec, Part};
use serde::Deserialize;
use serde_json::Value as Json;

/// The region an object of a cloud kind lives in: `region`, which the AWS kinds' parts and
/// DigitalOcean's VPCs and clusters carry (planned or recorded); `None` where the manifest
/// leaves it to the provider's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Region {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub region: Option<String>,
}

pub(crate) const fn output(name: &'static str) -> OutputSpec {
    OutputSpec {
        name,
        sensitive: false,
        item_fields: &[],
    }
}

pub(crate) const fn secret(name: &'static str) -> OutputSpec {
    OutputSpec {
        name,
        sensitive: true,
        item_fields: &[],
    }
}

pub(crate) const fn list(name: &'static str, item_fields: &'static [&'static str]) -> OutputSpec {
    OutputSpec {
        name,
        sensitive: false,
        item_fields,
    }
}

/// Every kind, with its home module and spec type, API group and one-line description: the one
/// list a new kind is added to (with its module). It makes [`Kind`], [`Spec`] and the lookups of
/// each kind's home.
macro_rules! kinds {
    ($($kind:ident => $module:ident($spec:ident), $group:ident, $doc:literal;)*) => {
        /// Every kind of resource dbplan understands.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $(#[doc = $doc] $kind,)*
        }

        impl Kind {
            /// All kinds, in a stable order.
            pub const ALL: &'static [Kind] = &[$(Kind::$kind,)*];

            /// The kind's name as written in `kind:`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$kind => stringify!($kind),)*
                }
            }

            pub fn api_group(self) -> ApiGroup {
                match self {
                    $(Kind::$kind => ApiGroup::$group,)*
                }
            }

            /// One-line description of what the kind becomes.
            pub fn description(self) -> &'static str {
                match self {
                    $(Kind::$kind => $doc,)*
                }
            }
        }

        /// The typed spec of a resource: one of the kinds' spec types.
        // One spec per resource: the size difference between kinds costs nothing worth boxing for.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq)]
        pub enum Spec {
            $($kind($module::$spec),)*
        }

        impl Spec {
            /// The kind whose spec this is.
            pub fn kind(&self) -> Kind {
                match self {
                    $(Spec::$kind(_) => Kind::$kind,)*
                }
            }

            /// Reads the spec of a kind from its (normalised, schema-valid) JSON form.
            pub fn from_json(kind: Kind, value: Json) -> Result<Spec, serde_json::Error> {
                Ok(match kind {
                    $(Kind::$kind => Spec::$kind(serde_json::from_value(value)?),)*
                })
            }

            /// The spec's JSON form (snake_case field names): always an object.
            // `allow`, not `expect`: clippy does not lint code this macro expands to.
            #[allow(
                clippy::expect_used,
                reason = "a spec is a struct of strings, numbers, lists and string-keyed maps, which serde_json always serialises"
            )]
            pub fn to_json(&self) -> Json {
                match self {
                    $(Spec::$kind(spec) => serde_json::to_value(spec)
                        .expect("a spec serialises to JSON"),)*
                }
            }
        }

        /// The JSON Schema of a kind's spec, its types added to the generator's definitions.
        pub fn spec_schema(kind: Kind, generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
            match kind {
                $(Kind::$kind => generator.subschema_for::<$module::$spec>(),)*
            }
        }

        /// The outputs a kind declares (other resources may reference them).
        pub(crate) fn outputs(kind: Kind) -> &'static [OutputSpec] {
            match kind {
                $(Kind::$kind => $module::OUTPUTS,)*
            }
        }

        /// The attributes of a kind's part whose change forces a new object: those the API's
        /// modify or update call does not take.
        pub fn replaced_by(kind: Kind, part: &Part) -> &'static [&'static str] {
            match kind {
                $(Kind::$kind => $module::replaced_by(part),)*
            }
        }

        /// The spec fields of a kind that hold a secret (`{secretEnv}` or a literal): planned
        /// as their keyed fingerprint, their value read only at apply.
        pub fn secret_attributes(kind: Kind) -> &'static [&'static str] {
            match kind {
                $(Kind::$kind => $module::SECRET_ATTRIBUTES,)*
            }
        }

        /// Whether a kind's part holds data that a delete or a replacement loses.
        pub fn holds_data(kind: Kind, part: &Part) -> bool {
            match kind {
                $(Kind::$kind => $module::holds_data(part),)*
            }
        }

        /// The attributes a kind's part is planned with (the fields of its typed struct);
        /// `None` for a part without one.
        pub fn attribute_names(kind: Kind, part: &Part) -> Option<&'static [&'static str]> {
            match kind {
                $(Kind::$kind => $module::attribute_names(part),)*
            }
        }
    };
}

kinds! {
    DigitalOceanVpc => digital_ocean_vpc(DigitalOceanVpcSpec), PlantonDigitalOcean, "A DigitalOcean VPC.";
    DigitalOceanDatabaseCluster => digital_ocean_database_cluster(DigitalOceanDatabaseClusterSpec), PlantonDigitalOcean, "A DigitalOcean managed database cluster.";
    DigitalOceanDatabaseClusterReference => digital_ocean_database_cluster_reference(DigitalOceanDatabaseClusterReferenceSpec), Dbplan, "An existing DigitalOcean PostgreSQL cluster dbplan reads but never changes, for the tenant databases on it.";
    DigitalOceanDatabaseFirewall => digital_ocean_database_firewall(DigitalOceanDatabaseFirewallSpec), Dbplan, "The trusted sources of a DigitalOcean database cluster.";
    DigitalOceanDatabaseConnectionPool => digital_ocean_database_pool(DigitalOceanDatabaseConnectionPoolSpec), Dbplan, "A PgBouncer connection pool of a DigitalOcean PostgreSQL cluster.";
    DigitalOceanDatabaseCaCertificate => digital_ocean_database_ca_certificate(DigitalOceanDatabaseCaCertificateSpec), Dbplan, "The CA certificate of a DigitalOcean database cluster, written to a file.";
    AwsVpc => aws_vpc(AwsVpcSpec), PlantonAws, "An AWS VPC with subnets in each listed Availability Zone.";
    AwsSecurityGroup => aws_security_group(AwsSecurityGroupSpec), PlantonAws, "An AWS EC2 security group.";
    AwsRdsCluster => aws_rds_cluster(AwsRdsClusterSpec), PlantonAws, "An Aurora DB cluster with its security group, DB subnet group and cluster parameter group.";
    AwsRdsClusterInstance => aws_rds_cluster_instance(AwsRdsClusterInstanceSpec), Dbplan, "An instance of an Aurora DB cluster (`db.serverless` for Serverless v2).";
    AwsRdsClusterReference => aws_rds_cluster_reference(AwsRdsClusterReferenceSpec), Dbplan, "An existing Aurora cluster dbplan reads but never changes, for the tenant databases on it.";
    PostgresServer => postgres_server(PostgresServerSpec), Dbplan, "An existing PostgreSQL server that tenant databases are created in.";
    TenantDatabase => tenant_database(TenantDatabaseSpec), Dbplan, "A database, its owner role and a connection secret on a PostgreSQL server.";
    CnpgCluster => cnpg_cluster(CnpgClusterSpec), Dbplan, "A CloudNativePG Cluster with scheduled backups, databases and a connection secret.";
}

impl Spec {
    /// The part of a component that a top-level spec field configures ([`Part::Whole`] for a
    /// kind without parts, and for a tenant database, whose parts are all derived).
    pub fn part_of(&self, field: &str) -> Part {
        match self {
            Spec::AwsRdsCluster(spec) => spec.part_of(field),
            Spec::CnpgCluster(spec) => spec.part_of(field),
            _ => Part::Whole,
        }
    }

    /// What a part is planned with besides the spec fields it owns ([`Spec::part_of`]): values
    /// its kind derives from the spec, by the names the part's typed struct reads (an object;
    /// empty for most kinds). `name` is the resource's.
    pub fn derived_attributes(&self, name: &str, part: &Part) -> Json {
        match self {
            Spec::AwsRdsCluster(spec) => spec.derived_attributes(part),
            Spec::TenantDatabase(spec) => spec.derived_attributes(name, part),
            Spec::CnpgCluster(spec) => spec.derived_attributes(part),
            Spec::PostgresServer(spec) => spec.derived_attributes(),
            Spec::AwsRdsClusterReference(spec) => spec.derived_attributes(),
            _ => Json::Object(serde_json::Map::new()),
        }
    }
}

/// The JSON form of a spec value (plans and state hold attributes as JSON).
#[expect(
    clippy::expect_used,
    reason = "spec types are structs and enums of strings, numbers, lists and string-keyed maps, which serde_json always serialises"
)]
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Json {
    serde_json::to_value(value).expect("a spec value serialises to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every part of every kind, as the graph expands them (a CNPG database by example).
    fn parts() -> Vec<(Kind, Part)> {
        let mut parts = Vec::new();
        for kind in Kind::ALL {
            for part in Part::examples() {
                parts.push((*kind, part));
            }
        }
        parts
    }

    #[test]
    fn secret_attributes_are_attributes_of_a_part() {
        for kind in Kind::ALL {
            for attribute in secret_attributes(*kind) {
                assert!(
                    parts()
                        .iter()
                        .filter(|(of, _)| of == kind)
                        .filter_map(|(_, part)| attribute_names(*kind, part))
                        .any(|names| names.contains(attribute)),
                    "{kind}: the secret `{attribute}` is not an attribute of any of its parts"
                );
            }
        }
    }

    #[test]
    fn replacement_attributes_are_attributes_of_the_part() {
        for (kind, part) in parts() {
            let Some(names) = attribute_names(kind, &part) else {
                continue;
            };
            for attribute in replaced_by(kind, &part) {
                assert!(
                    names.contains(attribute),
                    "{kind}/{part}: `{attribute}` forces a replacement but is not an attribute of the part"
                );
            }
        }
    }
}
