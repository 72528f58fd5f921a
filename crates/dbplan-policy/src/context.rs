//! What a policy sees: the loaded manifests, their graph, its parameters and the provider data;
//! and where it puts what it finds.

use crate::options::Snapshot;
use crate::rules::Rule;
use dbplan_diagnostics::Span;
use dbplan_graph::Graph;
use dbplan_manifest::Resource;
use dbplan_manifest::refs::{RefTarget, ValueOrRef};
use std::collections::{BTreeMap, HashMap};

/// The read-only input of every check.
pub struct Context<'a> {
    /// The valid resources in input order, then those whose documents failed validation.
    resources: &'a [&'a Resource],
    pub graph: &'a Graph,
    pub options: &'a Snapshot,
    params: &'a BTreeMap<String, i64>,
    rule: &'a Rule,
    by_address: &'a HashMap<(&'a str, &'a str), usize>,
}

/// Where a value-or-reference field points.
pub enum Target<'a> {
    /// A literal value in the manifest.
    Literal(&'a str),
    /// An output of a resource in the manifest set, with the field path into it.
    Resource(&'a Resource, String),
    /// A reference to something that is not in the set (reported by `validate`).
    Missing,
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        resources: &'a [&'a Resource],
        graph: &'a Graph,
        options: &'a Snapshot,
        params: &'a BTreeMap<String, i64>,
        rule: &'a Rule,
        by_address: &'a HashMap<(&'a str, &'a str), usize>,
    ) -> Self {
        Context {
            resources,
            graph,
            options,
            params,
            rule,
            by_address,
        }
    }

    /// Every resource: the valid ones in input order, then those whose documents failed
    /// validation (with their failed fields unknown).
    pub fn resources(&self) -> impl Iterator<Item = &'a Resource> {
        self.resources.iter().copied()
    }

    /// The resource of a kind and name, if the set declares it.
    pub fn find(&self, kind: &str, name: &str) -> Option<&'a Resource> {
        self.by_address
            .get(&(kind, name))
            .and_then(|index| self.resources.get(*index).copied())
    }

    /// Where a value-or-reference field points, with the field's default kind and path.
    pub fn target<T: RefTarget>(&self, value: &'a ValueOrRef<T>) -> Target<'a> {
        match value {
            ValueOrRef::Value(text) => Target::Literal(text),
            ValueOrRef::Ref(reference, _) => {
                let kind = reference.kind.as_deref().or(T::DEFAULT_KIND);
                let path = reference
                    .field_path
                    .clone()
                    .or_else(|| T::DEFAULT_FIELD_PATH.map(str::to_owned))
                    .unwrap_or_default();
                match kind.and_then(|kind| self.find(kind, &reference.name)) {
                    Some(resource) => Target::Resource(resource, path),
                    None => Target::Missing,
                }
            }
        }
    }

    /// A parameter of the rule being checked: the pack's value, else the rule's default.
    pub fn param(&self, name: &str) -> i64 {
        self.params.get(name).copied().unwrap_or_else(|| {
            self.rule
                .params
                .iter()
                .find(|param| param.name == name)
                .map_or(0, |param| param.default)
        })
    }

    /// Whether a resource is production: `env: prod`/`production` in `metadata.labels` or
    /// `metadata.env` (Project Planton's field).
    pub fn is_production(&self, resource: &Resource) -> bool {
        let production =
            |value: &str| matches!(value.to_ascii_lowercase().as_str(), "prod" | "production");
        resource
            .metadata
            .labels
            .get("env")
            .is_some_and(|value| production(value))
            || resource.metadata.env.as_deref().is_some_and(production)
    }
}

/// A finding as a check reports it, before enforcement and waivers are applied.
#[derive(Clone, Debug)]
pub(crate) struct RawFinding {
    pub resource: usize,
    /// The JSON pointer the check gave.
    pub pointer: String,
    pub span: Span,
    pub message: String,
    pub help: String,
    pub undecidable: bool,
}

/// What one rule found.
pub struct Findings<'a> {
    by_address: &'a HashMap<(&'a str, &'a str), usize>,
    pub(crate) found: Vec<RawFinding>,
}

impl<'a> Findings<'a> {
    pub(crate) fn new(by_address: &'a HashMap<(&'a str, &'a str), usize>) -> Self {
        Findings {
            by_address,
            found: Vec::new(),
        }
    }

    fn index(&self, resource: &Resource) -> usize {
        let key = (
            resource.address.kind.as_str(),
            resource.address.name.as_str(),
        );
        self.by_address.get(&key).copied().unwrap_or(0)
    }

    /// The rule fails for this resource; `pointer` (a JSON pointer into the document) says where.
    pub fn fail(
        &mut self,
        resource: &Resource,
        pointer: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(resource, pointer, message.into(), help.into(), false);
    }

    /// The rule cannot decide until apply (the value comes from a reference or the environment).
    pub fn undecidable(
        &mut self,
        resource: &Resource,
        pointer: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(resource, pointer, message.into(), help.into(), true);
    }

    fn push(
        &mut self,
        resource: &Resource,
        pointer: &str,
        message: String,
        help: String,
        undecidable: bool,
    ) {
        let index = self.index(resource);
        self.found.push(RawFinding {
            resource: index,
            pointer: pointer.to_owned(),
            span: resource.span_at(pointer),
            message,
            help,
            undecidable,
        });
    }
}
