//! VPCs, the default VPC of each region, and the IPv4 range arithmetic they need.

use super::request::{
    Answer, ApiError, body, no_content, now_text, ok, optional_str, page, required_str,
};
use super::shared::{Shared, lock};
use crate::digitalocean::model::{Vpc, World};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) fn parse_cidr(text: &str) -> Option<(u32, u32)> {
    let (address, bits) = text.split_once('/').unwrap_or((text, "32"));
    let address: std::net::Ipv4Addr = address.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    if bits > 32 {
        return None;
    }
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    Some((u32::from(address) & mask, bits))
}

fn overlaps(a: (u32, u32), b: (u32, u32)) -> bool {
    let bits = a.1.min(b.1);
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    a.0 & mask == b.0 & mask
}

fn is_private(range: (u32, u32)) -> bool {
    [("10.0.0.0", 8), ("172.16.0.0", 12), ("192.168.0.0", 16)]
        .iter()
        .filter_map(|(network, bits)| parse_cidr(&format!("{network}/{bits}")))
        .any(|private| range.1 >= private.1 && overlaps(range, private))
}

/// Finds or makes the region's default VPC.
pub(super) fn default_vpc(world: &mut World, region: &str) -> String {
    if let Some(vpc) = world
        .vpcs
        .iter()
        .find(|vpc| vpc.region == region && vpc.default)
    {
        return vpc.id.clone();
    }
    let taken: Vec<(u32, u32)> = world
        .vpcs
        .iter()
        .filter_map(|vpc| parse_cidr(&vpc.ip_range))
        .collect();
    let range = (100..=250)
        .map(|second| format!("10.{second}.0.0/20"))
        .find(|candidate| {
            parse_cidr(candidate).is_some_and(|range| !taken.iter().any(|t| overlaps(*t, range)))
        })
        .unwrap_or_else(|| "10.99.0.0/20".to_owned());
    let vpc = Vpc {
        id: uuid::Uuid::new_v4().to_string(),
        name: format!("default-{region}"),
        description: String::new(),
        region: region.to_owned(),
        ip_range: range,
        default: true,
        created_at: now_text(),
    };
    let id = vpc.id.clone();
    world.vpcs.push(vpc);
    id
}

pub(super) async fn list_vpcs(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let items: Vec<Value> = lock(&shared.world).vpcs.iter().map(Vpc::json).collect();
    page("vpcs", items, &query, &headers, "/v2/vpcs")
}

fn valid_vpc_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
}

pub(super) async fn create_vpc(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Answer {
    let map = body(&bytes)?;
    let name = required_str(&map, "name")?.to_owned();
    let region = required_str(&map, "region")?.to_owned();
    let description = optional_str(&map, "description")?
        .unwrap_or_default()
        .to_owned();
    if !valid_vpc_name(&name) {
        return Err(ApiError::invalid(
            "name may only contain alphanumeric characters, dashes, and periods",
        ));
    }
    if description.chars().count() > 255 {
        return Err(ApiError::invalid(
            "description may be at most 255 characters",
        ));
    }
    let known_region = shared
        .engine("pg")
        .map(|pg| Shared::strings(pg.get("regions")))
        .unwrap_or_default();
    if !known_region.contains(&region) {
        return Err(ApiError::invalid(format!(
            "region {region:?} is not available"
        )));
    }
    let requested = optional_str(&map, "ip_range")?.map(str::to_owned);
    let mut world = lock(&shared.world);
    if world.vpcs.iter().any(|vpc| vpc.name == name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("a VPC named {name:?} already exists"),
        ));
    }
    let taken: Vec<(u32, u32)> = world
        .vpcs
        .iter()
        .filter_map(|vpc| parse_cidr(&vpc.ip_range))
        .collect();
    let ip_range = ip_range(requested, &taken)?;
    // The first VPC of a region becomes its default.
    let first = !world.vpcs.iter().any(|vpc| vpc.region == region);
    let vpc = Vpc {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        description,
        region,
        ip_range,
        default: first,
        created_at: now_text(),
    };
    let json = vpc.json();
    world.vpcs.push(vpc);
    ok(StatusCode::CREATED, json!({"vpc": json}))
}

/// The range of a new VPC: the one asked for (a private `/16` to `/28` that overlaps no other
/// network of the account), or the first free `10.x.y.0/20`.
fn ip_range(requested: Option<String>, taken: &[(u32, u32)]) -> Result<String, ApiError> {
    match requested {
        Some(range) => {
            let Some(parsed) = parse_cidr(&range)
                .filter(|parsed| range.contains('/') && (16..=28).contains(&parsed.1))
            else {
                return Err(ApiError::invalid(format!(
                    "ip_range {range:?} must be a CIDR block from /16 to /28"
                )));
            };
            if !is_private(parsed) {
                return Err(ApiError::invalid(format!(
                    "ip_range {range:?} is not a private (RFC 1918) range"
                )));
            }
            if taken.iter().any(|other| overlaps(*other, parsed)) {
                return Err(ApiError::invalid(format!(
                    "ip_range {range:?} overlaps another network of the account"
                )));
            }
            Ok(range)
        }
        None => Ok((0..=255)
            .flat_map(|second| (0..16).map(move |block| format!("10.{second}.{}.0/20", block * 16)))
            .find(|candidate| {
                parse_cidr(candidate)
                    .is_some_and(|range| !taken.iter().any(|other| overlaps(*other, range)))
            })
            .unwrap_or_default()),
    }
}

pub(super) async fn get_vpc(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let world = lock(&shared.world);
    let vpc = world
        .vpcs
        .iter()
        .find(|vpc| vpc.id == id)
        .ok_or_else(ApiError::not_found)?;
    ok(StatusCode::OK, json!({"vpc": vpc.json()}))
}

pub(super) async fn update_vpc(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let name = if method == Method::PUT {
        Some(required_str(&map, "name")?)
    } else {
        optional_str(&map, "name")?
    };
    if name.is_some_and(|name| !valid_vpc_name(name)) {
        return Err(ApiError::invalid(
            "name may only contain alphanumeric characters, dashes, and periods",
        ));
    }
    let description = optional_str(&map, "description")?;
    let default = match map.get("default") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(flag)) => Some(*flag),
        Some(_) => return Err(ApiError::invalid("default must be a boolean")),
    };
    let mut world = lock(&shared.world);
    let Some(index) = world.vpcs.iter().position(|vpc| vpc.id == id) else {
        return Err(ApiError::not_found());
    };
    if default == Some(false) && world.vpcs[index].default {
        return Err(ApiError::invalid(
            "default cannot be unset; make another VPC of the region the default instead",
        ));
    }
    if let Some(name) = name
        && world
            .vpcs
            .iter()
            .any(|vpc| vpc.name == name && vpc.id != id)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("a VPC named {name:?} already exists"),
        ));
    }
    if default == Some(true) {
        let region = world.vpcs[index].region.clone();
        for vpc in &mut world.vpcs {
            if vpc.region == region {
                vpc.default = vpc.id == id;
            }
        }
    }
    let vpc = &mut world.vpcs[index];
    if let Some(name) = name {
        vpc.name = name.to_owned();
    }
    if let Some(description) = description {
        vpc.description = description.to_owned();
    }
    ok(StatusCode::OK, json!({"vpc": vpc.json()}))
}

pub(super) async fn delete_vpc(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Answer {
    let mut world = lock(&shared.world);
    let Some(vpc) = world.vpcs.iter().find(|vpc| vpc.id == id) else {
        return Err(ApiError::not_found());
    };
    // Both are 403 Forbidden, as DigitalOcean's API reference says.
    if vpc.default {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The default VPC for a region cannot be deleted.",
        ));
    }
    if world
        .clusters
        .iter()
        .any(|cluster| cluster.private_network_uuid == id)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Cannot delete a VPC that still has members.",
        ));
    }
    world.vpcs.retain(|vpc| vpc.id != id);
    no_content()
}
