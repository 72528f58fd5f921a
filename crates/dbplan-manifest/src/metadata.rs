//! The manifest envelope's `metadata`, as Project Planton's `CloudResourceMetadata`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Project Planton's `CloudResourceMetadata`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Name of the resource, unique per kind; the address is `Kind/name`.
    pub name: String,
    /// Slug of the resource (Project Planton).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// Identifier; AWS identifiers default to it, else to `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Organization the resource belongs to (Project Planton).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Environment the resource belongs to (Project Planton).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Labels; `env: prod` or `env: production` marks production resources for policies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations; `dbplan.io/waive.<CODE>` and `dbplan.io/prevent-destroy` are read by dbplan.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Tags (Project Planton).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Explicit relationships with other resources (Project Planton).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relationships: Vec<Relationship>,
    /// Group for visual organization (Project Planton).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// Project Planton's `CloudResourceRelationship`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Relationship {
    /// Kind of the related resource.
    pub kind: String,
    /// Environment of the related resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Name of the related resource.
    pub name: String,
    /// `depends_on`, `runs_on`, `managed_by` or `uses`.
    #[serde(rename = "type")]
    pub relationship_type: RelationshipType,
}

/// Type of a relationship.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipType {
    DependsOn,
    RunsOn,
    ManagedBy,
    Uses,
}

impl Metadata {
    /// Whether the resource is labelled as production (`env` label or `metadata.env`).
    pub fn is_production(&self) -> bool {
        let is_prod =
            |value: &str| matches!(value.to_ascii_lowercase().as_str(), "prod" | "production");
        self.labels
            .get("env")
            .or_else(|| self.labels.get("environment"))
            .is_some_and(|value| is_prod(value))
            || self.env.as_deref().is_some_and(is_prod)
    }
}
