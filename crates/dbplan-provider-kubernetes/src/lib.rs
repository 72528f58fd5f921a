//! The Kubernetes provider: a `CnpgCluster` rendered into CloudNativePG objects ([`render`]).

pub mod fields;
pub mod render;
