//! dbplan's vocabulary, shared by every other crate: what a resource is called ([`Kind`],
//! [`ResourceAddress`], [`Part`]), what it can be referenced for ([`OutputSpec`]), what a manifest
//! declares for each kind and what its parts are planned with ([`kinds`], one module per kind,
//! and [`refs`], the value-or-reference fields of the specs), what a value may be before
//! and after apply ([`Value`]), what a plan does to a resource ([`Action`], and in full
//! [`Change`], with the [`Lifecycle`] that guards its destruction) and what one step of an apply
//! does to an object ([`Operation`]).
//!
//! Vocabulary only: no I/O, no parsing of files, no policy.

mod address;
pub mod causes;
mod change;
mod field;
mod kind;
pub mod kinds;
mod part;
pub mod refs;
pub mod timeouts;
mod value;

pub use address::{ParseAddressError, ResourceAddress};
pub use change::{Change, DeletionPolicy, Lifecycle, OutputRef, SecretRef, SecretSource};
pub use field::Field;
pub use kind::{ApiGroup, Kind, OutputSpec, ParseKindError};
pub use part::{ParsePartError, Part};
pub use value::{Secret, Value};

use serde::{Deserialize, Serialize};

/// What a plan does to one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    /// Take over an object that exists but that dbplan did not create (no record of it in
    /// state), and bring it to the manifest. Applied only with an explicit opt-in
    /// (`dbplan.io/adopt: "true"` or `--adopt ADDR`).
    Adopt,
    Update,
    /// Destroy and create again: the data in it is lost.
    Replace,
    Delete,
    /// Removed from state and left in the cloud (deletion policy `Orphan`).
    Orphan,
    NoOp,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Adopt => "adopt",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Orphan => "orphan",
            Action::NoOp => "no-op",
        }
    }
}

/// What one step of an apply does to its object, as the plan's apply order names it (`create`,
/// `update`, `delete`, `orphan`: the same words in the plan file and the plan JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Also for an adopt, and for the second half of a replace.
    Create,
    Update,
    /// Also for the first half of a replace.
    Delete,
    /// Removed from state; the object is left in place.
    Orphan,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Orphan => "orphan",
        }
    }

    /// The past tense, for progress and summaries.
    pub fn done(self) -> &'static str {
        match self {
            Operation::Create => "created",
            Operation::Update => "updated",
            Operation::Delete => "deleted",
            Operation::Orphan => "orphaned",
        }
    }

    /// Whether a step of this operation may carry out a change with this action: a create
    /// for a create, an adopt or the second half of a replace; a delete for a delete or the
    /// first half of a replace.
    pub fn carries_out(self, action: Action) -> bool {
        match self {
            Operation::Create => matches!(action, Action::Create | Action::Adopt | Action::Replace),
            Operation::Update => action == Action::Update,
            Operation::Delete => matches!(action, Action::Delete | Action::Replace),
            Operation::Orphan => action == Action::Orphan,
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_serialise_as_their_words() {
        for operation in [
            Operation::Create,
            Operation::Update,
            Operation::Delete,
            Operation::Orphan,
        ] {
            let json = serde_json::to_string(&operation).unwrap();
            assert_eq!(json, format!("\"{}\"", operation.as_str()));
            assert_eq!(serde_json::from_str::<Operation>(&json).unwrap(), operation);
        }
        assert!(serde_json::from_str::<Operation>("\"replace\"").is_err());
    }
}
