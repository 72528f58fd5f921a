//! VPCs (with their subnets, and NAT gateways when enabled) and security groups, through
//! `aws-sdk-ec2`.

pub(crate) mod nat;
pub(crate) mod security_group;
pub(crate) mod vpc;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use dbplan_core::ResourceAddress;
use dbplan_provider::ProviderError;

/// The tag that ties an EC2 object to its dbplan address (how describe-before-create finds it).
pub(crate) const ADDRESS_TAG: &str = "dbplan:address";

/// The tags of an object dbplan makes: its `Name`, and the address it belongs to.
pub(crate) fn tags(
    resource: ResourceType,
    name: &str,
    address: &ResourceAddress,
) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .tags(Tag::builder().key("Name").value(name).build())
        .tags(
            Tag::builder()
                .key(ADDRESS_TAG)
                .value(address.to_string())
                .build(),
        )
        .build()
}

pub(crate) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The filter for the objects tagged for an address.
pub(crate) fn tagged(address: &ResourceAddress) -> Filter {
    filter(&format!("tag:{ADDRESS_TAG}"), &address.to_string())
}

pub(crate) fn conflict(address: &ResourceAddress, message: String) -> ProviderError {
    ProviderError::Conflict {
        address: address.clone(),
        message,
        source: None,
    }
}
