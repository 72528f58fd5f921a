//! The typed spec of every kind, one file per kind, each with its semantic checks.

mod aws_rds_cluster;
mod aws_rds_cluster_instance;
mod aws_security_group;
mod aws_vpc;
mod cnpg_cluster;
mod digital_ocean_database_ca_certificate;
mod digital_ocean_database_cluster;
mod digital_ocean_database_firewall;
mod digital_ocean_database_pool;
mod digital_ocean_vpc;
mod postgres_server;
mod tenant_database;

pub use aws_rds_cluster::*;
pub use aws_rds_cluster_instance::*;
pub use aws_security_group::*;
pub use aws_vpc::*;
pub use cnpg_cluster::*;
pub use digital_ocean_database_ca_certificate::*;
pub use digital_ocean_database_cluster::*;
pub use digital_ocean_database_firewall::*;
pub use digital_ocean_database_pool::*;
pub use digital_ocean_vpc::*;
pub use postgres_server::*;
pub use tenant_database::*;

use crate::codes;
use crate::formats::FormatError;
use crate::metadata::Metadata;
use crate::node::Node;
use dbplan_core::Kind;
use dbplan_diagnostics::{Code, Diagnostic};
use serde_json::Value as Json;
use std::sync::LazyLock;

/// The compiled schema of one kind.
pub struct KindSchema {
    pub kind: Kind,
    /// The document schema (`apiVersion`, `kind`, `metadata`, `spec`), snake_case only.
    pub schema: Json,
    pub validator: jsonschema::Validator,
}

impl std::fmt::Debug for KindSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindSchema")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn generator() -> schemars::SchemaGenerator {
    schemars::generate::SchemaSettings::draft2020_12().into_generator()
}

macro_rules! specs {
    ($($kind:ident => $spec:ty;)*) => {
        /// The typed spec of a resource.
        // One spec per resource: the size difference between kinds costs nothing worth boxing for.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq)]
        pub enum Spec {
            $($kind($spec),)*
        }

        impl Spec {
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

            /// Runs the kind's semantic checks.
            pub fn check(&self, checker: &mut Checker<'_>) {
                match self {
                    $(Spec::$kind(spec) => spec.check(checker),)*
                }
            }
        }

        fn build_schema(kind: Kind) -> Json {
            let mut generator = generator();
            let spec = match kind {
                $(Kind::$kind => generator.subschema_for::<$spec>(),)*
            };
            crate::schema::document_schema(kind, generator, spec)
        }
    };
}

specs! {
    DigitalOceanVpc => DigitalOceanVpcSpec;
    DigitalOceanDatabaseCluster => DigitalOceanDatabaseClusterSpec;
    DigitalOceanDatabaseFirewall => DigitalOceanDatabaseFirewallSpec;
    DigitalOceanDatabaseConnectionPool => DigitalOceanDatabaseConnectionPoolSpec;
    DigitalOceanDatabaseCaCertificate => DigitalOceanDatabaseCaCertificateSpec;
    AwsVpc => AwsVpcSpec;
    AwsSecurityGroup => AwsSecurityGroupSpec;
    AwsRdsCluster => AwsRdsClusterSpec;
    AwsRdsClusterInstance => AwsRdsClusterInstanceSpec;
    PostgresServer => PostgresServerSpec;
    TenantDatabase => TenantDatabaseSpec;
    CnpgCluster => CnpgClusterSpec;
}

static SCHEMAS: LazyLock<Vec<KindSchema>> = LazyLock::new(|| {
    Kind::ALL
        .iter()
        .map(|&kind| {
            let schema = build_schema(kind);
            let validator = compile(&schema);
            KindSchema {
                kind,
                schema,
                validator,
            }
        })
        .collect()
});

#[expect(
    clippy::expect_used,
    reason = "the schemas are generated from dbplan's own types, not from input: one jsonschema rejects is a bug, which the tests catch by compiling every kind's schema"
)]
fn compile(schema: &Json) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(false)
        .build(schema)
        .expect("a schema generated from dbplan's own types compiles")
}

/// The compiled schema of a kind.
#[expect(
    clippy::expect_used,
    reason = "SCHEMAS holds one schema per kind of Kind::ALL, by construction"
)]
pub fn kind_schema(kind: Kind) -> &'static KindSchema {
    SCHEMAS
        .iter()
        .find(|schema| schema.kind == kind)
        .expect("SCHEMAS is built from Kind::ALL, so every kind has a schema")
}

/// Semantic checks of one document: formats and cross-field rules that a JSON Schema cannot say
/// well. Findings point at the value by JSON pointer.
pub struct Checker<'a> {
    document: &'a Node,
    resource: &'a str,
    pub metadata: &'a Metadata,
    pub diagnostics: Vec<Diagnostic>,
    /// Fields that failed schema validation: nothing is reported at, inside or next to them
    /// (see [`crate::partial`]).
    unknown: &'a [String],
}

impl<'a> Checker<'a> {
    pub(crate) fn new(document: &'a Node, resource: &'a str, metadata: &'a Metadata) -> Self {
        Checker {
            document,
            resource,
            metadata,
            diagnostics: Vec::new(),
            unknown: &[],
        }
    }

    /// A checker of a resource some of whose fields failed schema validation.
    pub(crate) fn with_unknown(mut self, unknown: &'a [String]) -> Self {
        self.unknown = unknown;
        self
    }

    /// Reports a format error at a pointer; returns the parsed value when the format is valid.
    pub fn format<T>(&mut self, pointer: &str, result: Result<T, FormatError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.report(codes::BAD_FORMAT, pointer, error.message, error.help);
                None
            }
        }
    }

    /// Reports a finding with the given code at a pointer.
    pub fn report(
        &mut self,
        code: Code,
        pointer: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        if self
            .unknown
            .iter()
            .any(|unknown| crate::partial::related(pointer, unknown))
        {
            return;
        }
        let span = self.document.locate(pointer).span();
        self.diagnostics.push(
            Diagnostic::error(code)
                .with_message(message)
                .with_help(help)
                .with_span(span)
                .with_resource(self.resource),
        );
    }

    /// Whether the document sets a field (by JSON pointer), as opposed to taking its default.
    pub fn is_set(&self, pointer: &str) -> bool {
        self.document.locate(pointer).complete
    }
}

/// Every kind's semantic checks implement this.
pub trait Check {
    fn check(&self, checker: &mut Checker<'_>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_compiled_schema() {
        for &kind in Kind::ALL {
            let schema = kind_schema(kind);
            assert_eq!(schema.kind, kind);
            assert_eq!(
                schema.schema["properties"]["kind"]["const"],
                Json::from(kind.as_str()),
                "{kind}: {}",
                schema.schema["properties"]["kind"]
            );
        }
    }
}
