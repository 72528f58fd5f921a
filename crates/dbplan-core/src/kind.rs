use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The API group a kind belongs to, which fixes its `apiVersion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiGroup {
    /// Project Planton's DigitalOcean kinds.
    PlantonDigitalOcean,
    /// Project Planton's AWS kinds.
    PlantonAws,
    /// dbplan's own kinds.
    Dbplan,
}

impl ApiGroup {
    /// The exact `apiVersion` manifests of this group must carry.
    pub fn api_version(self) -> &'static str {
        match self {
            ApiGroup::PlantonDigitalOcean => "digital-ocean.project-planton.org/v1",
            ApiGroup::PlantonAws => "aws.project-planton.org/v1",
            ApiGroup::Dbplan => "dbplan.io/v1",
        }
    }
}

/// One output of a kind that a reference (`fieldPath: status.outputs.<name>`) may point at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    /// The proto (snake_case) name.
    pub name: &'static str,
    /// Secret values are carried as [`crate::Value::Sensitive`] and never shown.
    pub sensitive: bool,
    /// For list outputs, the fields of each item (`status.outputs.<name>.[*].<field>`).
    pub item_fields: &'static [&'static str],
}

const fn output(name: &'static str) -> OutputSpec {
    OutputSpec {
        name,
        sensitive: false,
        item_fields: &[],
    }
}

const fn secret(name: &'static str) -> OutputSpec {
    OutputSpec {
        name,
        sensitive: true,
        item_fields: &[],
    }
}

const fn list(name: &'static str, item_fields: &'static [&'static str]) -> OutputSpec {
    OutputSpec {
        name,
        sensitive: false,
        item_fields,
    }
}

const SUBNET_FIELDS: &[&str] = &["name", "id", "cidr", "availability_zone", "nat_gateway"];

macro_rules! kinds {
    ($($variant:ident => $group:ident, $doc:literal;)*) => {
        /// Every kind of resource dbplan understands.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $(#[doc = $doc] $variant,)*
        }

        impl Kind {
            /// All kinds, in a stable order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            /// The kind's name as written in `kind:`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$variant => stringify!($variant),)*
                }
            }

            pub fn api_group(self) -> ApiGroup {
                match self {
                    $(Kind::$variant => ApiGroup::$group,)*
                }
            }

            /// One-line description of what the kind becomes.
            pub fn description(self) -> &'static str {
                match self {
                    $(Kind::$variant => $doc,)*
                }
            }
        }
    };
}

kinds! {
    DigitalOceanVpc => PlantonDigitalOcean, "A DigitalOcean VPC.";
    DigitalOceanDatabaseCluster => PlantonDigitalOcean, "A DigitalOcean managed database cluster.";
    DigitalOceanDatabaseFirewall => Dbplan, "The trusted sources of a DigitalOcean database cluster.";
    DigitalOceanDatabaseConnectionPool => Dbplan, "A PgBouncer connection pool of a DigitalOcean PostgreSQL cluster.";
    DigitalOceanDatabaseCaCertificate => Dbplan, "The CA certificate of a DigitalOcean database cluster, written to a file.";
    AwsVpc => PlantonAws, "An AWS VPC with subnets in each listed Availability Zone.";
    AwsSecurityGroup => PlantonAws, "An AWS EC2 security group.";
    AwsRdsCluster => PlantonAws, "An Aurora DB cluster with its security group, DB subnet group and cluster parameter group.";
    AwsRdsClusterInstance => Dbplan, "An instance of an Aurora DB cluster (`db.serverless` for Serverless v2).";
    PostgresServer => Dbplan, "An existing PostgreSQL server that tenant databases are created in.";
    TenantDatabase => Dbplan, "A database, its owner role and a connection secret on a PostgreSQL server.";
    CnpgCluster => Dbplan, "A CloudNativePG Cluster with scheduled backups, databases and a connection secret.";
}

impl Kind {
    /// The outputs other resources may reference, as declared by the kind.
    // Long: one arm per kind, each the table of outputs the kind declares: data written as code,
    // read kind by kind.
    pub fn outputs(self) -> &'static [OutputSpec] {
        match self {
            Kind::DigitalOceanVpc => {
                const OUTPUTS: &[OutputSpec] =
                    &[output("vpc_id"), output("ip_range"), output("urn")];
                OUTPUTS
            }
            Kind::DigitalOceanDatabaseCluster => {
                const OUTPUTS: &[OutputSpec] = &[
                    output("cluster_id"),
                    secret("connection_uri"),
                    secret("private_uri"),
                    output("host"),
                    output("private_host"),
                    output("port"),
                    output("database_name"),
                    output("username"),
                    secret("password"),
                    output("database_user"),
                    secret("database_password"),
                    output("urn"),
                ];
                OUTPUTS
            }
            Kind::DigitalOceanDatabaseFirewall => {
                const OUTPUTS: &[OutputSpec] = &[output("cluster_id")];
                OUTPUTS
            }
            Kind::DigitalOceanDatabaseConnectionPool => {
                const OUTPUTS: &[OutputSpec] = &[
                    output("name"),
                    output("host"),
                    output("private_host"),
                    output("port"),
                    output("database_name"),
                    output("username"),
                    secret("password"),
                    secret("uri"),
                    secret("private_uri"),
                ];
                OUTPUTS
            }
            Kind::DigitalOceanDatabaseCaCertificate => {
                const OUTPUTS: &[OutputSpec] = &[output("file"), output("certificate")];
                OUTPUTS
            }
            Kind::AwsVpc => {
                const OUTPUTS: &[OutputSpec] = &[
                    output("vpc_id"),
                    output("internet_gateway_id"),
                    list("private_subnets", SUBNET_FIELDS),
                    list("public_subnets", SUBNET_FIELDS),
                    output("vpc_cidr"),
                ];
                OUTPUTS
            }
            Kind::AwsSecurityGroup => {
                const OUTPUTS: &[OutputSpec] = &[output("security_group_id")];
                OUTPUTS
            }
            Kind::AwsRdsCluster => {
                const OUTPUTS: &[OutputSpec] = &[
                    output("rds_cluster_endpoint"),
                    output("rds_cluster_reader_endpoint"),
                    output("rds_cluster_id"),
                    output("rds_cluster_arn"),
                    output("rds_cluster_resource_id"),
                    output("rds_cluster_engine"),
                    output("rds_cluster_engine_version"),
                    output("rds_cluster_port"),
                    output("rds_subnet_group"),
                    output("rds_security_group"),
                    output("rds_cluster_parameter_group"),
                    output("master_user_secret_arn"),
                ];
                OUTPUTS
            }
            Kind::AwsRdsClusterInstance => {
                const OUTPUTS: &[OutputSpec] = &[
                    output("instance_id"),
                    output("arn"),
                    output("endpoint"),
                    output("port"),
                ];
                OUTPUTS
            }
            Kind::PostgresServer => {
                const OUTPUTS: &[OutputSpec] = &[output("host"), output("port")];
                OUTPUTS
            }
            Kind::TenantDatabase => {
                const OUTPUTS: &[OutputSpec] = &[
                    output("username"),
                    secret("password"),
                    output("endpoint"),
                    output("port"),
                    output("database"),
                    secret("uri"),
                ];
                OUTPUTS
            }
            Kind::CnpgCluster => {
                const OUTPUTS: &[OutputSpec] = &[
                    output("cluster_name"),
                    output("namespace"),
                    output("host"),
                    output("read_only_host"),
                    output("port"),
                    output("database"),
                    output("username"),
                    secret("password"),
                    secret("uri"),
                    output("app_secret_name"),
                ];
                OUTPUTS
            }
        }
    }

    /// The output with the given proto (snake_case) name.
    pub fn output(self, name: &str) -> Option<&'static OutputSpec> {
        self.outputs().iter().find(|output| output.name == name)
    }

    /// The key dbplan compares kind names by: lower case, without `-` and `_`, as Project
    /// Planton's CLI does (`KindFromString`).
    fn lookup_key(name: &str) -> String {
        name.chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    /// The kind's name (as [`Kind::as_str`] writes it, or a spelling [`FromStr`] accepts); an
    /// unknown one is an error that names it.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A `kind:` value that names no kind dbplan knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseKindError(pub String);

impl fmt::Display for ParseKindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown kind `{}`", self.0)
    }
}

impl std::error::Error for ParseKindError {}

impl FromStr for Kind {
    type Err = ParseKindError;

    /// Accepts the exact name and the spellings Project Planton's CLI accepts (any case, with or
    /// without `-`/`_`).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let key = Kind::lookup_key(name);
        Kind::ALL
            .iter()
            .copied()
            .find(|kind| Kind::lookup_key(kind.as_str()) == key)
            .ok_or_else(|| ParseKindError(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_like_planton() {
        assert_eq!("AwsRdsCluster".parse(), Ok(Kind::AwsRdsCluster));
        assert_eq!("aws-rds-cluster".parse(), Ok(Kind::AwsRdsCluster));
        assert_eq!("digital_ocean_vpc".parse(), Ok(Kind::DigitalOceanVpc));
        assert!("AwsRdsClusters".parse::<Kind>().is_err());
    }

    #[test]
    fn every_kind_declares_outputs_with_unique_names() {
        for kind in Kind::ALL {
            let outputs = kind.outputs();
            assert!(!outputs.is_empty(), "{kind} declares no outputs");
            for (index, output) in outputs.iter().enumerate() {
                assert!(
                    outputs[index + 1..]
                        .iter()
                        .all(|other| other.name != output.name),
                    "{kind} declares `{}` twice",
                    output.name
                );
            }
        }
    }
}
