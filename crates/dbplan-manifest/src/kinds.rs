//! The typed spec of every kind ([`Spec`], whose types live in each kind's home in
//! `dbplan_core::kinds`) and the JSON Schema compiled from them, one per kind.

pub use dbplan_core::kinds::Spec;
pub use dbplan_core::kinds::specs::*;

use dbplan_core::Kind;
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

fn build_schema(kind: Kind) -> Json {
    let mut generator = generator();
    let spec = dbplan_core::kinds::spec_schema(kind, &mut generator);
    crate::schema::document_schema(kind, generator, spec)
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
