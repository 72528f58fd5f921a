//! Offline admission: what the API server behind a provider would refuse of the objects a
//! resource's planned parts become, checked at plan time without asking it (the Kubernetes
//! provider renders a `CnpgCluster`'s parts and validates them against CloudNativePG's CRDs).
//!
//! The plan hands every part of a resource that is not being deleted, with its planned and
//! recorded attributes; the admission checks the objects of the parts that change, against the
//! recorded object for the rules that compare an old and a new value (transition rules).

use dbplan_core::{Kind, ResourceAddress};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// One part of a resource, as the plan has it.
#[derive(Clone, Copy, Debug)]
pub struct PartValues<'a> {
    /// `Kind/name/part`.
    pub address: &'a ResourceAddress,
    /// The planned attributes known at plan time (one known only after apply, and a secret,
    /// left out); `None` when a value is known only in part (the part's objects cannot be
    /// rendered yet).
    pub after: Option<&'a BTreeMap<String, Json>>,
    /// The recorded attributes (refreshed when the plan refreshed); `None` for a new part.
    pub before: Option<&'a BTreeMap<String, Json>>,
    /// The plan creates, updates or replaces this part: its objects are checked. A part that
    /// stays as it is only lends its values (a database's namespace is the cluster's).
    pub changing: bool,
}

/// What the API server would say of one object a part renders to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The part whose object it is.
    pub part: ResourceAddress,
    /// The object, as `kubectl` names it: `Cluster databases/home-pg`.
    pub object: String,
    /// The field, as the API server writes it (`spec.name`); empty for the object itself.
    pub field: String,
    /// The API server's message (the CRD's own, for a CEL rule).
    pub message: String,
    /// The CEL rule, when a rule said it.
    pub rule: Option<String>,
    pub kind: RefusalKind,
}

/// How a [`Refusal`] bears on the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// The object is invalid: the API server would refuse it whatever it holds now.
    Invalid,
    /// The object may not change this way (a transition rule against the recorded object):
    /// the part has to be replaced.
    Immutable,
    /// A rule that cannot be evaluated offline: the API server decides at apply. Never a pass.
    Unknown,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.object, self.message)
        } else {
            write!(f, "{}: {}: {}", self.object, self.field, self.message)
        }
    }
}

/// Checks planned parts of the kinds it handles, offline and without side effects.
pub trait Admission: Send + Sync + std::fmt::Debug {
    /// Whether it checks this kind's resources.
    fn handles(&self, kind: Kind) -> bool;

    /// What would be refused of the objects of one resource's changing parts (`parts` holds
    /// every part of the resource that the plan does not delete).
    fn admit(&self, resource: &ResourceAddress, parts: &[PartValues<'_>]) -> Vec<Refusal>;
}
