//! Helpers of the unit tests: clients that send nothing (the tests only build requests and
//! read them back with `as_input()`), and attributes from JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_config::{BehaviorVersion, Region};
use dbplan_core::ResourceAddress;
use dbplan_provider::{Adoption, ChangeRequest, Context, Field};
use serde_json::Value;
use std::collections::BTreeMap;

pub(crate) fn rds() -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::from_conf(
        aws_sdk_rds::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build(),
    )
}

pub(crate) fn ec2() -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build(),
    )
}

/// Attributes from a JSON object.
pub(crate) fn map(json: Value) -> BTreeMap<String, Value> {
    match json {
        Value::Object(map) => map.into_iter().collect(),
        other => panic!("not an object: {other}"),
    }
}

/// Decodes `json` into the kind's typed part and that with `convert`, as a provider does its
/// planned attributes.
pub(crate) fn decode<P: serde::de::DeserializeOwned, T, E: std::fmt::Debug>(
    json: Value,
    convert: impl FnOnce(P) -> Result<T, E>,
) -> T {
    convert(dbplan_core::kinds::decode_map(&map(json)).unwrap()).unwrap()
}

/// What a call that cannot fail on the test's input returned.
pub(crate) fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.unwrap()
}

/// Recorded attributes as a typed struct, as a read decodes them.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(attributes: &BTreeMap<String, Value>) -> T {
    dbplan_core::kinds::decode_map(attributes).unwrap()
}

/// An address from its text.
pub(crate) fn address(text: &str) -> ResourceAddress {
    text.parse().unwrap()
}

/// A change request for `address` with these planned (plain) and recorded attributes.
pub(crate) fn request(address: &str, planned: Value, prior: Value) -> ChangeRequest {
    let fields = |json: Value| -> BTreeMap<String, Field> {
        map(json)
            .into_iter()
            .map(|(name, value)| (name, Field::plain(value)))
            .collect()
    };
    ChangeRequest {
        address: address.parse().unwrap(),
        provider_id: None,
        attributes: fields(planned),
        prior: fields(prior),
        prior_outputs: BTreeMap::new(),
        context: Context::new(),
        adopt: Adoption::Refuse,
    }
}
