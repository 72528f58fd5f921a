//! What every object shares around its typed attributes (`dbplan_core::kinds`, decoded with
//! `request.decode()`): the address's name, context outputs, and the errors for planned values
//! AWS cannot take.

use dbplan_core::ResourceAddress;
use dbplan_provider::{Context, Field, ProviderError};

/// A recorded output of a context object, as text.
pub(crate) fn context_output(
    context: &Context,
    address: &ResourceAddress,
    output: &str,
) -> Option<String> {
    context
        .get(address)?
        .outputs
        .get(output)
        .and_then(Field::as_str)
        .map(str::to_owned)
}

/// Whether an apply creates the object or changes the recorded one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// A create: an object that exists already is taken over only when the request permits it.
    Create,
    /// An update of the recorded object.
    Update,
}

/// The error for a planned attribute an object cannot be made without: the planner always
/// plans it (the kind's schema requires it), so a plan without it was edited or made by
/// another version of dbplan.
pub(crate) fn missing(address: &ResourceAddress, name: &str) -> ProviderError {
    ProviderError::Conflict {
        address: address.clone(),
        message: format!(
            "the planned attribute `{name}` is missing: the plan was edited or made by another version of dbplan; run `dbplan plan` again"
        ),
        source: None,
    }
}

/// The error for a planned value AWS cannot take.
pub(crate) fn unusable(
    address: &ResourceAddress,
    name: &str,
    value: impl std::fmt::Display,
    why: &str,
) -> ProviderError {
    ProviderError::Conflict {
        address: address.clone(),
        message: format!("`{name}` is {value}, {why}; fix it in the manifest"),
        source: None,
    }
}

/// A whole number AWS takes as a 32-bit integer (ports, days, seconds, tiers).
pub(crate) fn int32(
    address: &ResourceAddress,
    name: &str,
    value: Option<i64>,
) -> Result<Option<i32>, ProviderError> {
    value
        .map(|value| {
            i32::try_from(value)
                .map_err(|_| unusable(address, name, value, "more than AWS takes (2147483647)"))
        })
        .transpose()
}

/// The error for an answer of AWS that lacks what AWS always sends (the id of an object it just
/// created or described): the endpoint (an emulator, a proxy) misbehaved.
pub(crate) fn incomplete(address: &ResourceAddress, what: &str) -> ProviderError {
    ProviderError::Api {
        address: address.clone(),
        code: None,
        message: format!(
            "AWS's answer has no {what}; check that AWS_ENDPOINT_URL (if set) is an AWS-compatible endpoint, then apply again"
        ),
        source: None,
    }
}
