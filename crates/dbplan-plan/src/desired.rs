//! What the manifests ask for, per graph node: the attributes of each object, with references
//! left as unknowns (and remembered, so that the diff and the apply can resolve them) and
//! secrets replaced by their fingerprints (HMAC keyed with the state's key).
//!
//! This is the only step of planning that looks outside the manifests: it reads the
//! environment variables that `{secretEnv: NAME}` fields name, through the lookup it is given.

use crate::model::{OutputRef, SecretRef, SecretSource};
use dbplan_core::{ResourceAddress, Secret, Value};
use dbplan_diagnostics::Diagnostic;
use dbplan_graph::{EdgeReason, Graph, GraphNode, Part};
use dbplan_manifest::{ManifestSet, Resource, Spec};
use dbplan_state::{DeletionPolicy, Lifecycle, StateKey};
use serde_json::{Map as JsonMap, Value as Json};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// The annotation that records prevent-destroy in state.
pub const PREVENT_DESTROY: &str = "dbplan.io/prevent-destroy";

/// The annotation that adopts what exists but dbplan did not create (`"true"`); for a file
/// dbplan writes, an existing file it did not write (see [`crate::files`]).
pub const ADOPT: &str = "dbplan.io/adopt";

/// The annotation that defers an Aurora cluster's or instance's in-place changes to its next
/// maintenance window (`"false"`); they apply at once otherwise (`ApplyImmediately`).
pub const APPLY_IMMEDIATELY: &str = "dbplan.io/apply-immediately";

/// One object the manifests ask for.
#[derive(Clone, Debug)]
pub struct Desired {
    pub address: ResourceAddress,
    /// Attributes; references are `Unknown` here until the diff resolves them.
    pub attributes: BTreeMap<String, Value>,
    /// Attribute pointer (`vpc`, `subnet_ids/0`) → the output it comes from.
    pub references: BTreeMap<String, OutputRef>,
    /// Attribute pointer → where the secret comes from (never its value).
    pub secrets: BTreeMap<String, SecretRef>,
    /// Addresses this object depends on, sorted.
    pub dependencies: Vec<ResourceAddress>,
    pub lifecycle: Lifecycle,
    /// `dbplan.io/waive.<CODE>` reasons of the declaring resource, recorded in state on apply.
    pub waivers: BTreeMap<String, String>,
}

/// Everything the manifests ask for, in dependency order (an object after what it needs).
#[derive(Debug, Default)]
pub struct DesiredSet {
    pub objects: Vec<Desired>,
    /// Problems found while reading it (an unset `secretEnv` variable).
    pub diagnostics: Vec<Diagnostic>,
}

/// The fingerprint that stands for a secret in plans and state: an HMAC-SHA-256 keyed with the
/// state's key, so that a leaked plan file does not let anyone test guesses of a password
/// offline, and bound to one object's attribute, so that equal passwords elsewhere do not
/// fingerprint alike. (Not to the state's serial: the fingerprint must stay the same once the
/// apply records it.)
/// The address enters the MAC as its text, `Kind/name[/part]`.
pub fn secret_hash(
    key: &StateKey,
    address: &ResourceAddress,
    attribute: &str,
    secret: &str,
) -> String {
    let address = address.to_string();
    key.mac(
        "dbplan-secret-v2",
        &[address.as_bytes(), attribute.as_bytes(), secret.as_bytes()],
    )
}

/// Whether a recorded fingerprint was made before fingerprints were keyed (a salted SHA-256
/// without a key, `sha256:…`): it cannot be compared with a keyed one, and the next apply of
/// its object records the keyed fingerprint.
pub fn is_unkeyed_fingerprint(recorded: &str) -> bool {
    recorded.starts_with("sha256:")
}

/// Reads the desired objects of a manifest set. `env` looks up `secretEnv` variables.
pub fn desired(
    set: &ManifestSet,
    graph: &Graph,
    env: &dyn Fn(&str) -> Option<String>,
    key: &StateKey,
) -> DesiredSet {
    let mut reference_targets: HashMap<(&ResourceAddress, &str), &ResourceAddress> = HashMap::new();
    for (from, to, reason) in graph.edges() {
        if let EdgeReason::Reference { pointer, .. } = reason {
            reference_targets.insert((from, pointer.as_str()), to);
        }
    }
    // A resource's spec as JSON is made once for all its parts (an Aurora cluster is four
    // objects): kept from its first part to its last, whose fields then move out of it.
    let mut parts_left: Vec<usize> = vec![0; set.resources.len()];
    for node in graph.nodes() {
        if let Some(left) = parts_left.get_mut(node.resource) {
            *left += 1;
        }
    }
    // How tenants on an Aurora cluster reach it (the cluster's `admin_connection`), by the
    // address a tenant's `server` resolves to: a cluster's cluster part, or a reference.
    let tenant_admins: HashMap<&ResourceAddress, Json> = graph
        .nodes()
        .into_iter()
        .filter_map(
            |node| match (&set.resources.get(node.resource)?.spec, &node.part) {
                (Spec::AwsRdsCluster(spec), Part::Cluster) => {
                    Some((&node.address, spec.tenant_admin()))
                }
                (Spec::AwsRdsClusterReference(spec), _) => {
                    Some((&node.address, spec.tenant_admin()))
                }
                (Spec::DigitalOceanDatabaseCluster(spec), _) => {
                    Some((&node.address, spec.tenant_admin()))
                }
                (Spec::DigitalOceanDatabaseClusterReference(spec), _) => {
                    Some((&node.address, spec.tenant_admin()))
                }
                _ => None,
            },
        )
        .collect();
    let mut spec_objects: HashMap<usize, JsonMap<String, Json>> = HashMap::new();
    let mut out = DesiredSet::default();
    for level in graph.levels() {
        for address in level {
            let Some(node) = graph.node(address) else {
                continue;
            };
            let Some(resource) = set.resources.get(node.resource) else {
                continue;
            };
            let last = parts_left.get_mut(node.resource).is_none_or(|left| {
                *left = left.saturating_sub(1);
                *left == 0
            });
            let spec = if last {
                Cow::Owned(
                    spec_objects
                        .remove(&node.resource)
                        .unwrap_or_else(|| spec_object(&resource.spec)),
                )
            } else {
                Cow::Borrowed(
                    &*spec_objects
                        .entry(node.resource)
                        .or_insert_with(|| spec_object(&resource.spec)),
                )
            };
            let mut desired = object(
                resource,
                spec,
                node,
                graph,
                &reference_targets,
                &tenant_admins,
                env,
                key,
                &mut out.diagnostics,
            );
            crate::files::resolve_in(&mut desired, resource, &node.part, &set.sources);
            out.objects.push(desired);
        }
    }
    out
}

// Long: copies a part's spec fields and resolves its references into the same attribute map in one
// pass; the map is the plan's and the state's JSON form, which the kinds' typed parts decode
// (tests/typed_parts.rs holds every example's maps to them), and which part a field goes to and
// what is derived from the spec are the kind's home's (`Spec::part_of`, `derived_attributes`).
#[expect(
    clippy::too_many_arguments,
    reason = "the spec's JSON is shared between the parts of one resource by the caller"
)]
fn object(
    resource: &Resource,
    spec: Cow<'_, JsonMap<String, Json>>,
    node: &GraphNode,
    graph: &Graph,
    reference_targets: &HashMap<(&ResourceAddress, &str), &ResourceAddress>,
    tenant_admins: &HashMap<&ResourceAddress, Json>,
    env: &dyn Fn(&str) -> Option<String>,
    key: &StateKey,
    diagnostics: &mut Vec<Diagnostic>,
) -> Desired {
    let part = node.address.part.as_deref();
    let wanted = |key: &str| {
        resource.spec.part_of(key) == node.part
            && crate::knowledge::not_applied(node.address.kind, part, key).is_none()
    };
    let mut attributes: BTreeMap<String, Json> = match spec {
        Cow::Owned(spec) => spec.into_iter().filter(|(key, _)| wanted(key)).collect(),
        Cow::Borrowed(spec) => spec
            .iter()
            .filter(|(key, _)| wanted(key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
    };
    derived_attributes(resource, &node.part, &mut attributes);
    // A tenant's role and database on an Aurora cluster: how its provider reaches the cluster
    // (the `server` reference is the role part's).
    if matches!(
        (&resource.spec, &node.part),
        (Spec::TenantDatabase(_), Part::Role | Part::Database)
    ) && let Some(admin) = reference_targets
        .get(&(&resource.address.part("role"), "/spec/server"))
        .and_then(|server| tenant_admins.get(server))
    {
        attributes.insert("admin".to_owned(), admin.clone());
    }

    let address_text = node.address.to_string();
    let mut references = BTreeMap::new();
    for site in &resource.references {
        let Some(relative) = site.pointer.strip_prefix("/spec/") else {
            continue;
        };
        let top = relative.split('/').next().unwrap_or_default();
        if !attributes.contains_key(top) {
            continue;
        }
        let Some(target) = reference_targets.get(&(&node.address, site.pointer.as_str())) else {
            continue;
        };
        let path = site
            .field_path
            .as_ref()
            .map(|(path, _)| path.clone())
            .or_else(|| site.default_field_path.clone())
            .unwrap_or_default();
        let output = path
            .strip_prefix("status.outputs.")
            .unwrap_or(&path)
            .to_owned();
        references.insert(
            relative.to_owned(),
            OutputRef {
                address: (*target).clone(),
                output,
            },
        );
    }

    let mut values: BTreeMap<String, Value> = attributes
        .iter()
        .map(|(key, value)| (key.clone(), simplify(value)))
        .collect();
    // A tenant's database (its URI output) and connection secret carry the owner's password:
    // a role created again (dropped outside dbplan) gets a new one, and both must follow.
    if let Spec::TenantDatabase(_) = &resource.spec
        && matches!(node.part, Part::Database | Part::ConnectionSecret)
    {
        values.insert("owner_password".to_owned(), Value::Unknown);
        references.insert(
            "owner_password".to_owned(),
            OutputRef {
                address: resource.address.part("role"),
                output: "password".to_owned(),
            },
        );
    }
    for pointer in references.keys() {
        set_at(&mut values, pointer, Value::Unknown);
    }

    let mut secrets = BTreeMap::new();
    for attribute in dbplan_core::kinds::secret_attributes(resource.kind()) {
        let Some(json) = attributes.get(*attribute) else {
            continue;
        };
        let (source, secret) = match json {
            Json::Object(map) => {
                let name = map
                    .get("secret_env")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let secret = env(&name);
                if secret.is_none() {
                    diagnostics.push(
                        Diagnostic::warning(crate::codes::SECRET_ENV_UNSET)
                            .with_message(format!(
                                "{address_text}: `{attribute}` comes from the environment variable {name}, which is not set"
                            ))
                            .with_help(format!(
                                "set {name} before `dbplan apply`; the plan treats the secret as unchanged"
                            ))
                            .with_span(resource.span_at(&format!("/spec/{attribute}")))
                            .with_resource(address_text.clone()),
                    );
                }
                (SecretSource::Env(name), secret)
            }
            Json::String(literal) => (SecretSource::Literal, Some(literal.clone())),
            _ => continue,
        };
        let hash = secret.map(|secret| secret_hash(key, &node.address, attribute, &secret));
        values.insert(
            (*attribute).to_owned(),
            match &hash {
                Some(hash) => Value::Sensitive(Secret::new(Value::String(hash.clone()))),
                None => Value::Sensitive(Secret::new(Value::Unknown)),
            },
        );
        secrets.insert((*attribute).to_owned(), SecretRef { source, hash });
    }

    let dependencies = graph
        .dependencies(&node.address)
        .into_iter()
        .cloned()
        .collect();
    Desired {
        address: node.address.clone(),
        attributes: values,
        references,
        secrets,
        dependencies,
        lifecycle: lifecycle(resource, &node.part),
        waivers: dbplan_policy::resource_waivers(resource),
    }
}

/// A spec as the JSON object its attributes are copied from.
fn spec_object(spec: &Spec) -> JsonMap<String, Json> {
    let Json::Object(object) = spec.to_json() else {
        unreachable!("every spec is a struct, which serialises to a JSON object")
    };
    object
}

/// Attributes of parts that are not a plain copy of spec fields: what the kind derives from
/// its spec (its home's `derived_attributes`), and the annotation that defers an Aurora
/// cluster's or instance's changes to its maintenance window.
fn derived_attributes(resource: &Resource, part: &Part, attributes: &mut BTreeMap<String, Json>) {
    if matches!(
        (&resource.spec, part),
        (Spec::AwsRdsCluster(_), Part::Cluster) | (Spec::AwsRdsClusterInstance(_), _)
    ) {
        let immediately = resource
            .metadata
            .annotations
            .get(APPLY_IMMEDIATELY)
            .is_none_or(|value| !value.trim().eq_ignore_ascii_case("false"));
        attributes.insert("apply_immediately".to_owned(), Json::from(immediately));
    }
    let Json::Object(derived) = resource
        .spec
        .derived_attributes(&resource.address.name, part)
    else {
        unreachable!("a kind's derived attributes are an object")
    };
    attributes.extend(derived);
}

/// The lifecycle a part records in state, diffed like an attribute (a change alone is an
/// in-place update that apply records without calling the provider).
///
/// A tenant's `deletion_protection` guards every part of it (role, database, connection
/// secret); its deletion policies decide what happens once protection is off (the secret
/// follows the database's). Deletion is opted into when the manifest says so itself:
/// protection off and a `Delete` policy for a tenant part (neither is a default), an explicit
/// `deletion_protection: false` for an Aurora cluster (whose default is already false).
fn lifecycle(resource: &Resource, part: &Part) -> Lifecycle {
    let prevent_destroy = resource
        .metadata
        .annotations
        .get(PREVENT_DESTROY)
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let explicit = |pointer: &str| resource.document.locate(pointer).complete;
    let (deletion_protection, deletion_policy, deletion_opted_in) = match (&resource.spec, part) {
        (Spec::AwsRdsCluster(spec), Part::Cluster) => (
            spec.deletion_protection,
            DeletionPolicy::Delete,
            !spec.deletion_protection && explicit("/spec/deletion_protection"),
        ),
        (Spec::TenantDatabase(spec), Part::Database | Part::ConnectionSecret) => {
            let policy = DeletionPolicy::from(spec.db_deletion_policy);
            (
                spec.deletion_protection,
                policy,
                !spec.deletion_protection && policy == DeletionPolicy::Delete,
            )
        }
        (Spec::TenantDatabase(spec), Part::Role) => {
            let policy = DeletionPolicy::from(spec.role_deletion_policy);
            (
                spec.deletion_protection,
                policy,
                !spec.deletion_protection && policy == DeletionPolicy::Delete,
            )
        }
        _ => (false, DeletionPolicy::Delete, false),
    };
    Lifecycle {
        prevent_destroy,
        deletion_protection,
        deletion_policy,
        deletion_opted_in: deletion_opted_in && !prevent_destroy,
    }
}

/// JSON → value, with `{value: x}` literals unwrapped and any reference object left as unknown.
fn simplify(json: &Json) -> Value {
    match json {
        Json::Object(map) if map.len() == 1 => {
            if let Some(inner) = map.get("value")
                && !inner.is_object()
                && !inner.is_array()
            {
                return match inner {
                    Json::String(text) => Value::String(text.clone()),
                    other => Value::String(other.to_string()),
                };
            }
            if map.contains_key("value_from") {
                return Value::Unknown;
            }
            Value::Map(
                map.iter()
                    .map(|(key, value)| (key.clone(), simplify(value)))
                    .collect(),
            )
        }
        Json::Object(map) => Value::Map(
            map.iter()
                .map(|(key, value)| (key.clone(), simplify(value)))
                .collect(),
        ),
        Json::Array(values) => Value::List(values.iter().map(simplify).collect()),
        other => Value::from_json(other),
    }
}

/// Sets the value at a `/`-separated pointer relative to the attributes.
pub(crate) fn set_at(values: &mut BTreeMap<String, Value>, pointer: &str, new: Value) {
    let mut segments = pointer.split('/');
    let Some(first) = segments.next() else {
        return;
    };
    let rest: Vec<&str> = segments.collect();
    let Some(mut current) = values.get_mut(first) else {
        return;
    };
    for segment in rest {
        current = match current {
            Value::Map(map) => match map.get_mut(segment) {
                Some(next) => next,
                None => return,
            },
            Value::List(list) => {
                match segment.parse::<usize>().ok().and_then(|i| list.get_mut(i)) {
                    Some(next) => next,
                    None => return,
                }
            }
            _ => return,
        };
    }
    *current = new;
}

/// The value at a pointer, mutably.
pub(crate) fn get_at_mut<'a>(
    values: &'a mut BTreeMap<String, Value>,
    pointer: &str,
) -> Option<&'a mut Value> {
    let mut segments = pointer.split('/');
    let mut current = values.get_mut(segments.next()?)?;
    for segment in segments {
        current = match current {
            Value::Map(map) => map.get_mut(segment)?,
            Value::List(list) => list.get_mut(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}
