//! VPCs (with their subnets, and NAT gateways when enabled) and security groups, through
//! `aws-sdk-ec2`.

mod nat;
mod security_group;
mod vpc;

pub(crate) use security_group::{
    apply_security_group, delete_security_group, group_name, read_security_group,
};
pub(crate) use vpc::{apply_vpc, delete_vpc, find_vpc, read_vpc};

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use dbplan_provider::ProviderError;

/// The tag that ties an EC2 object to its dbplan address (how describe-before-create finds it).
pub(crate) const ADDRESS_TAG: &str = "dbplan:address";

pub(crate) fn tags(resource: ResourceType, name: &str, address: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .tags(Tag::builder().key("Name").value(name).build())
        .tags(Tag::builder().key(ADDRESS_TAG).value(address).build())
        .build()
}

pub(crate) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

pub(crate) fn conflict(address: &str, message: String) -> ProviderError {
    ProviderError::Conflict {
        address: address.to_owned(),
        message,
    }
}
