//! A `CnpgCluster`'s planned parts rendered ([`crate::render`]) and checked offline against
//! CloudNativePG's own CRDs (`dbplan-crd`: the `openAPIV3Schema` after defaulting and the CEL
//! `x-kubernetes-validations`), as the API server's admission would check them at apply. A
//! transition rule is checked against the object rendered from the recorded attributes; a rule
//! that cannot be evaluated offline is reported as unknown, never as passed. The core `Secret`
//! has no CRD: the API server's own validation of it is not repeated here.

use crate::render::{self, Owner};
use dbplan_core::kinds::cnpg_cluster::{Cluster, ConnectionSecret, Database};
use dbplan_core::{Kind, Part, ResourceAddress};
use dbplan_crd::{Crds, ViolationKind};
use dbplan_provider::admission::{Admission, PartValues, Refusal, RefusalKind};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The admission of `CnpgCluster` resources against the vendored CRDs.
#[derive(Clone, Copy, Debug, Default)]
pub struct CnpgAdmission;

impl Admission for CnpgAdmission {
    fn handles(&self, kind: Kind) -> bool {
        matches!(kind, Kind::CnpgCluster | Kind::TenantDatabase)
    }

    fn admit(&self, resource: &ResourceAddress, parts: &[PartValues<'_>]) -> Vec<Refusal> {
        if resource.kind == Kind::TenantDatabase {
            return admit_tenant(resource, parts);
        }
        let cluster_address = resource.root().part("cluster");
        let cluster_part = parts.iter().find(|part| *part.address == cluster_address);
        let mut refusals = Vec::new();
        // The parts after the cluster live in its namespace: the planned one, else the recorded.
        let cluster_after = cluster_part
            .and_then(|part| part.after.or(part.before))
            .map(decode::<Cluster>);
        let cluster_before = cluster_part
            .and_then(|part| part.before)
            .map(decode::<Cluster>);
        let cluster_after = match cluster_after {
            Some(Ok(cluster)) => cluster,
            Some(Err(message)) => {
                refusals.push(unrendered(&cluster_address, &message));
                return refusals;
            }
            // No cluster part planned or recorded: nothing to render the others in.
            None => return refusals,
        };
        let cluster_before = match cluster_before {
            Some(Ok(cluster)) => Some(cluster),
            Some(Err(_)) | None => None,
        };
        for part in parts.iter().filter(|part| part.changing) {
            let Some(after) = part.after else {
                continue;
            };
            let new = match objects(resource, part.address, &cluster_after, after) {
                Ok(objects) => objects,
                Err(message) => {
                    refusals.push(unrendered(part.address, &message));
                    continue;
                }
            };
            let old = match (part.before, &cluster_before) {
                (Some(before), Some(cluster)) => {
                    objects(resource, part.address, cluster, before).unwrap_or_default()
                }
                _ => Vec::new(),
            };
            for object in &new {
                check(part.address, object, &old, &mut refusals);
            }
        }
        refusals
    }
}

/// A tenant on a `CnpgCluster`: its `Database` object (the role is an item of the Cluster,
/// checked with it when rendered). The namespace is the cluster's, which the tenant's parts do
/// not hold; the object is checked in a stand-in namespace and named without one.
fn admit_tenant(resource: &ResourceAddress, parts: &[PartValues<'_>]) -> Vec<Refusal> {
    let Some(part) = parts
        .iter()
        .find(|part| part.changing && part.address.part.as_deref() == Some("database"))
    else {
        return Vec::new();
    };
    let Some(after) = part.after else {
        return Vec::new();
    };
    let database = match decode::<dbplan_core::kinds::tenant_database::Database>(after) {
        Ok(database) => database,
        Err(message) => return vec![unrendered(part.address, &message)],
    };
    let Some(cluster) = database
        .server
        .as_deref()
        .and_then(|server| server.strip_prefix("CnpgCluster/"))
    else {
        return Vec::new();
    };
    if database.name.is_none() || database.owner.is_none() {
        // Known only after apply: nothing to check yet.
        return Vec::new();
    }
    let owner = Owner {
        name: cluster.to_owned(),
        address: format!("CnpgCluster/{cluster}"),
        namespace: "default".to_owned(),
    };
    let object = crate::tenant::database_object(&owner, resource, &database, "retain");
    let mut refusals = Vec::new();
    check(part.address, &object, &[], &mut refusals);
    let name = object
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or_default();
    for refusal in &mut refusals {
        refusal.object = format!("Database {name} (in the namespace of CnpgCluster/{cluster})");
    }
    refusals
}

fn decode<T: serde::de::DeserializeOwned>(
    attributes: &BTreeMap<String, Json>,
) -> Result<T, String> {
    dbplan_core::kinds::decode_map(attributes).map_err(|error| error.to_string())
}

fn unrendered(part: &ResourceAddress, message: &str) -> Refusal {
    Refusal {
        part: part.clone(),
        object: part.to_string(),
        field: String::new(),
        message: format!(
            "its planned attributes do not render into Kubernetes objects ({message}), so the CRDs could not check them"
        ),
        rule: None,
        kind: RefusalKind::Unknown,
    }
}

/// The objects a part renders to, with the resource's cluster part.
fn objects(
    resource: &ResourceAddress,
    address: &ResourceAddress,
    cluster: &Cluster,
    attributes: &BTreeMap<String, Json>,
) -> Result<Vec<Json>, String> {
    let part = Part::of(address.part.as_deref()).map_err(|error| error.to_string())?;
    let owner = Owner::new(&resource.name, cluster);
    Ok(match part {
        Part::Cluster => render::cluster_objects(&owner, &decode::<Cluster>(attributes)?),
        Part::ScheduledBackup => render::scheduled_backup(&owner, cluster)
            .into_iter()
            .collect(),
        Part::CnpgDatabase(_) => vec![render::database(&owner, &decode::<Database>(attributes)?)],
        Part::ConnectionSecret => {
            let secret = decode::<ConnectionSecret>(attributes)?;
            vec![render::connection_secret(
                &owner,
                &secret.connection_secret.unwrap_or_default(),
                None,
            )]
        }
        _ => Vec::new(),
    })
}

/// `Cluster databases/home-pg`.
fn object_name(object: &Json) -> String {
    let text = |pointer: &str| object.pointer(pointer).and_then(Json::as_str).unwrap_or("");
    format!(
        "{} {}/{}",
        text("/kind"),
        text("/metadata/namespace"),
        text("/metadata/name")
    )
}

/// Validates one object against its CRD (none for a core kind), with the recorded object of
/// the same kind and name as the old one.
fn check(part: &ResourceAddress, object: &Json, old: &[Json], refusals: &mut Vec<Refusal>) {
    let text = |object: &Json, pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let Some(crd) = Crds::embedded().find(&text(object, "/apiVersion"), &text(object, "/kind"))
    else {
        return;
    };
    let old = old.iter().find(|old| {
        text(old, "/kind") == text(object, "/kind")
            && text(old, "/metadata/name") == text(object, "/metadata/name")
            && text(old, "/metadata/namespace") == text(object, "/metadata/namespace")
    });
    for violation in crd.validate(object, old) {
        refusals.push(Refusal {
            part: part.clone(),
            object: object_name(object),
            field: violation.path,
            message: violation.message,
            rule: violation.rule,
            kind: match violation.kind {
                ViolationKind::Schema | ViolationKind::Rule => RefusalKind::Invalid,
                ViolationKind::Transition => RefusalKind::Immutable,
                ViolationKind::Unevaluated => RefusalKind::Unknown,
            },
        });
    }
}

/// Checks objects rendered without a state (`dbplan render`): no transition rule applies, as
/// there is no old object to compare with.
pub fn check_rendered(resource: &ResourceAddress, objects: &[Json]) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    for object in objects {
        check(resource, object, &[], &mut refusals);
    }
    refusals
}
