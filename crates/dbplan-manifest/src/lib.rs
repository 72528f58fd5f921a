//! Loads dbplan manifests: from YAML files on disk to typed, validated resources.
//!
//! Pipeline per document: YAML with spans ([`node`]) → envelope (`apiVersion`, `kind`,
//! `metadata.name`) → schema-guided normalisation and JSON Schema validation ([`schema`]) →
//! typed spec ([`kinds`]) → semantic checks (formats, cross-field rules). Every mistake becomes a
//! [`Diagnostic`] with a span; the loader never stops at the first one and never panics.
//!
//! This crate is the only user of the YAML parser.

pub mod checks;
pub mod codes;
pub mod formats;
pub mod input;
pub mod kinds;
pub mod limits;
mod load;
pub mod metadata;
pub mod node;
pub mod partial;
pub use dbplan_core::refs;
pub mod schema;
pub mod secret_env;
pub mod write;

pub use kinds::{Spec, kind_schema};
pub use load::{
    InvalidResource, Loader, ManifestSet, PartialResource, Resource, load_paths, parse_yaml,
    parse_yaml_documents,
};
pub use metadata::Metadata;
pub use schema::ReferenceSite;

pub use dbplan_diagnostics::Diagnostic;
