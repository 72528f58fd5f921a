//! The planned or recorded attributes of a request, and the helpers every object shares to
//! read them.

use dbplan_provider::{ChangeRequest, Context, Field, ProviderError};
use std::collections::BTreeMap;

/// Attribute helpers over planned or recorded JSON values.
pub(crate) struct Attributes<'a>(pub(crate) &'a BTreeMap<String, serde_json::Value>);

impl Attributes<'_> {
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            serde_json::Value::String(text) if !text.is_empty() => Some(text.clone()),
            serde_json::Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }

    pub(crate) fn flag(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(serde_json::Value::as_bool)
    }

    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(|value| {
            value
                .as_i64()
                .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
        })
    }

    pub(crate) fn float(&self, name: &str) -> Option<f64> {
        self.0.get(name).and_then(serde_json::Value::as_f64)
    }

    pub(crate) fn texts(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .and_then(serde_json::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| match item {
                        serde_json::Value::String(text) => Some(text.clone()),
                        serde_json::Value::Object(map) => map
                            .get("value")
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_owned),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.get(name)
    }
}

/// The plain planned attributes of a request, and its secrets by name.
pub(crate) fn split(
    request: &ChangeRequest,
) -> (
    BTreeMap<String, serde_json::Value>,
    BTreeMap<String, String>,
) {
    let mut plain = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    for (name, field) in &request.attributes {
        if field.sensitive {
            if let Some(text) = field.as_str() {
                secrets.insert(name.clone(), text.to_owned());
            }
        } else {
            plain.insert(name.clone(), field.value.clone());
        }
    }
    (plain, secrets)
}

/// The `metadata.name` of an address (`Kind/name[/part]`).
pub(crate) fn resource_name(address: &str) -> &str {
    address.split('/').nth(1).unwrap_or(address)
}

/// A recorded output of a context object, as text.
pub(crate) fn context_output(context: &Context, address: &str, output: &str) -> Option<String> {
    context
        .get(address)?
        .outputs
        .get(output)
        .and_then(Field::as_str)
        .map(str::to_owned)
}

/// The plain recorded attributes of a request (secrets, recorded as salted hashes, left out).
pub(crate) fn prior(request: &ChangeRequest) -> BTreeMap<String, serde_json::Value> {
    request
        .prior
        .iter()
        .filter(|(_, field)| !field.sensitive)
        .map(|(name, field)| (name.clone(), field.value.clone()))
        .collect()
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
pub(crate) fn missing(address: &str, name: &str) -> ProviderError {
    ProviderError::Conflict {
        address: address.to_owned(),
        message: format!(
            "the planned attribute `{name}` is missing: the plan was edited or made by another version of dbplan; run `dbplan plan` again"
        ),
    }
}

/// The error for a planned value AWS cannot take.
pub(crate) fn unusable(
    address: &str,
    name: &str,
    value: impl std::fmt::Display,
    why: &str,
) -> ProviderError {
    ProviderError::Conflict {
        address: address.to_owned(),
        message: format!("`{name}` is {value}, {why}; fix it in the manifest"),
    }
}

impl Attributes<'_> {
    /// A text the object cannot be made without.
    pub(crate) fn required(&self, address: &str, name: &str) -> Result<String, ProviderError> {
        self.text(name).ok_or_else(|| missing(address, name))
    }

    /// A whole number AWS takes as a 32-bit integer (ports, days, seconds, tiers).
    pub(crate) fn int32(&self, address: &str, name: &str) -> Result<Option<i32>, ProviderError> {
        self.int(name)
            .map(|value| {
                i32::try_from(value)
                    .map_err(|_| unusable(address, name, value, "more than AWS takes (2147483647)"))
            })
            .transpose()
    }
}

/// The error for an answer of AWS that lacks what AWS always sends (the id of an object it just
/// created or described): the endpoint (an emulator, a proxy) misbehaved.
pub(crate) fn incomplete(address: &str, what: &str) -> ProviderError {
    ProviderError::Api {
        address: address.to_owned(),
        code: None,
        message: format!(
            "AWS's answer has no {what}; check that AWS_ENDPOINT_URL (if set) is an AWS-compatible endpoint, then apply again"
        ),
    }
}
