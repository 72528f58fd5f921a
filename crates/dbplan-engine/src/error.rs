//! Why a step failed, and why the state could not be written or closed: typed up to the CLI,
//! each with its cause, so that a provider's error (with the API's own code) reaches the caller
//! as the provider returned it.

use dbplan_core::ResourceAddress;
use dbplan_provider::ProviderError;
use dbplan_state::StateError;
use std::sync::Arc;

/// Why one step failed. Every message names the object and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The provider refused or failed the call (its error carries the API's code).
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The state could not be written; what was done before is recorded.
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(
        "{address}: this build has no provider for {}; it can be planned but not applied",
        .address.kind
    )]
    NoProvider { address: ResourceAddress },
    #[error(
        "{address} changed outside dbplan since the plan was made; run `dbplan plan` again and review the new plan"
    )]
    ChangedSincePlan { address: ResourceAddress },
    #[error(
        "{address} was deleted outside dbplan since the plan was made; run `dbplan plan` again to create it"
    )]
    DeletedSincePlan { address: ResourceAddress },
    #[error("{address}: not in the state any more; run `dbplan plan` again")]
    NotInState { address: ResourceAddress },
    #[error(
        "{address}: `{attribute}` comes from the environment variable {variable}, which is not set; set it and apply again"
    )]
    SecretUnset {
        address: ResourceAddress,
        attribute: String,
        variable: String,
    },
    #[error(
        "{address}: `{attribute}` is a literal secret, which a plan does not carry; use `{{secretEnv: NAME}}` and plan again"
    )]
    LiteralSecret {
        address: ResourceAddress,
        attribute: String,
    },
    #[error(
        "{address}: the value of {variable} differs from the one the plan was made with; run `dbplan plan` again"
    )]
    SecretChanged {
        address: ResourceAddress,
        variable: String,
    },
    #[error(
        "{address}: `{attribute}` refers to an output that is still unknown (the object it comes from was not applied); apply that object first"
    )]
    UnknownReference {
        address: ResourceAddress,
        attribute: String,
    },
    /// The step's task ended without an outcome (it panicked); its record, if it got that far,
    /// is in state.
    #[error("the step stopped unexpectedly: {0}")]
    Stopped(#[source] tokio::task::JoinError),
}

impl StepError {
    /// The provider's error, when the provider failed the step (its API code, its kind).
    pub fn provider_error(&self) -> Option<&ProviderError> {
        match self {
            StepError::Provider(error) => Some(error),
            _ => None,
        }
    }
}

/// Why a state write failed. Every step waiting for the same batch gets the same error.
#[derive(Clone, Debug, thiserror::Error)]
pub enum WriteError {
    /// The store refused the batch (its message names the state directory and what to do).
    #[error(transparent)]
    Store(Arc<StateError>),
    #[error("the state writer stopped; the state holds every write confirmed so far")]
    Stopped,
}

/// Why the state could not be closed after the last write; every write before was durable.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// The store's closing (its backup) failed.
    #[error(transparent)]
    State(#[from] StateError),
    #[error(
        "the state writer ended abnormally; every write confirmed before is in the state, but no backup was made: run `dbplan state check`"
    )]
    WriterEnded,
}
