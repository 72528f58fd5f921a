//! dbplan's vocabulary, shared by every other crate: what a resource is called ([`Kind`],
//! [`ResourceAddress`]), what it can be referenced for ([`OutputSpec`]), what a value may be before
//! and after apply ([`Value`]), and what a plan does to a resource ([`Action`]).
//!
//! Vocabulary only: no I/O, no parsing of files, no policy.

mod address;
mod kind;
mod value;

pub use address::ResourceAddress;
pub use kind::{ApiGroup, Kind, OutputSpec, ParseKindError};
pub use value::{Secret, Value};

use serde::Serialize;

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
