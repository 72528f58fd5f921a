//! The semantic checks of every kind, one file per kind: formats and cross-field rules that a
//! JSON Schema cannot say well, reported at the value they concern.

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

use crate::codes;
use crate::formats::FormatError;
use crate::metadata::Metadata;
use crate::node::Node;
use dbplan_core::kinds::Spec;
use dbplan_diagnostics::{Code, Diagnostic};

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

/// A spec's checks are its kind's.
impl Check for Spec {
    fn check(&self, checker: &mut Checker<'_>) {
        match self {
            Spec::DigitalOceanVpc(spec) => spec.check(checker),
            Spec::DigitalOceanDatabaseCluster(spec) => spec.check(checker),
            Spec::DigitalOceanDatabaseFirewall(spec) => spec.check(checker),
            Spec::DigitalOceanDatabaseConnectionPool(spec) => spec.check(checker),
            Spec::DigitalOceanDatabaseCaCertificate(spec) => spec.check(checker),
            Spec::AwsVpc(spec) => spec.check(checker),
            Spec::AwsSecurityGroup(spec) => spec.check(checker),
            Spec::AwsRdsCluster(spec) => spec.check(checker),
            Spec::AwsRdsClusterInstance(spec) => spec.check(checker),
            Spec::AwsRdsClusterReference(spec) => spec.check(checker),
            Spec::DigitalOceanDatabaseClusterReference(spec) => spec.check(checker),
            Spec::PostgresServer(spec) => spec.check(checker),
            Spec::TenantDatabase(spec) => spec.check(checker),
            Spec::CnpgCluster(spec) => spec.check(checker),
        }
    }
}
