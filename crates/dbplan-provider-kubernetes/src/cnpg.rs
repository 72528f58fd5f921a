//! A `CnpgCluster`'s parts applied, read and deleted: each part renders its objects
//! ([`crate::render`]) from the attributes the plan holds; the parts after the cluster find its
//! namespace and context in the recorded cluster part (the request's context).

use crate::KubernetesProvider;
use crate::client::{Failure, Kube, ObjectRef};
use crate::fields;
use crate::render::{self, Credentials, Owner};
use base64::Engine;
use dbplan_core::kinds::cnpg_cluster::{Cluster, ConnectionSecret, Database, ScheduledBackup};
use dbplan_core::{Part, ResourceAddress};
use dbplan_provider::{
    Applied, ChangeRequest, Context, Existing, Field, FindOutcome, ProviderError, ReadOutcome,
    ReadRequest, RemoteObject,
};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The phase CNPG reports for a cluster that is up.
pub const HEALTHY: &str = "Cluster in healthy state";

/// The recorded cluster part of a resource, from a request's context: where its objects live.
fn recorded_cluster(
    address: &ResourceAddress,
    context: &Context,
) -> Result<Cluster, ProviderError> {
    let cluster_address = address.root().part("cluster");
    let recorded = context
        .get(&cluster_address)
        .ok_or_else(|| ProviderError::Conflict {
            address: address.clone(),
            message: format!(
                "{cluster_address} is not recorded, and this part lives in its namespace; apply the cluster first"
            ),
            source: None,
        })?;
    recorded.decode(&cluster_address)
}

fn provider_id(object: &Json) -> String {
    let target = ObjectRef::of(object);
    format!("{}/{}", target.namespace, target.name)
}

/// Creates or updates a part.
pub(crate) async fn apply(
    provider: &KubernetesProvider,
    request: &ChangeRequest,
    creating: bool,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    match request.part()? {
        Part::Cluster => apply_cluster(provider, request, creating).await,
        Part::ScheduledBackup => {
            let _: ScheduledBackup = request.decode()?;
            let cluster = recorded_cluster(address, &request.context)?;
            let owner = Owner::new(&address.name, &cluster);
            let kube = provider.client(address, cluster.context.as_deref()).await?;
            let object = render::scheduled_backup(&owner, &cluster).ok_or_else(|| {
                ProviderError::Conflict {
                    address: address.clone(),
                    message: "the cluster's backup has no schedule".to_owned(),
                    source: None,
                }
            })?;
            adopt_check(&kube, request, &object, creating).await?;
            provider.apply_object(&kube, address, &object).await?;
            Ok(applied(&object))
        }
        Part::CnpgDatabase(_) => {
            let database: Database = request.decode()?;
            let cluster = recorded_cluster(address, &request.context)?;
            let owner = Owner::new(&address.name, &cluster);
            let kube = provider.client(address, cluster.context.as_deref()).await?;
            let object = render::database(&owner, &database);
            adopt_check(&kube, request, &object, creating).await?;
            ensure_owner(provider, &kube, address, &owner, &cluster, &database).await?;
            provider.apply_object(&kube, address, &object).await?;
            wait_for_database(provider, &kube, address, &object).await?;
            Ok(applied(&object))
        }
        Part::ConnectionSecret => {
            let secret: ConnectionSecret = request.decode()?;
            let secret = secret.connection_secret.unwrap_or_default();
            let cluster = recorded_cluster(address, &request.context)?;
            let owner = Owner::new(&address.name, &cluster);
            let kube = provider.client(address, cluster.context.as_deref()).await?;
            let credentials = app_credentials(&kube, address, &owner, &cluster).await?;
            let values = render::secret_values(&owner, &secret, &credentials);
            let object = encode_secret(render::connection_secret(&owner, &secret, Some(&values)));
            adopt_check(&kube, request, &object, creating).await?;
            provider.apply_object(&kube, address, &object).await?;
            Ok(applied(&object))
        }
        other => Err(ProviderError::Unsupported {
            address: address.clone(),
            message: format!("a CnpgCluster has no part `{other}`"),
        }),
    }
}

fn applied(object: &Json) -> Applied {
    Applied {
        provider_id: Some(provider_id(object)),
        outputs: BTreeMap::new(),
    }
}

/// The database's owner exists before its `Database` is applied (the operator refuses one whose
/// owner is missing): the bootstrap owner, `postgres`, or a managed role, added (login, no
/// password, no other privilege) unless one of that name is listed.
async fn ensure_owner(
    provider: &KubernetesProvider,
    kube: &Kube,
    address: &ResourceAddress,
    owner: &Owner,
    cluster: &Cluster,
    database: &Database,
) -> Result<(), ProviderError> {
    let role = database.owner.clone().unwrap_or_default();
    let (_, bootstrap_owner) = render::bootstrap(cluster);
    if role.is_empty() || role == bootstrap_owner || role == "postgres" {
        return Ok(());
    }
    let item = crate::tenant::role_item(&owner.address, &role, -1, None, "present");
    let added = crate::tenant::edit_roles(
        provider,
        kube,
        address,
        owner,
        &role,
        crate::tenant::RoleEdit::Ensure(item),
    )
    .await?;
    if added {
        let goal = crate::tenant::RoleGoal::Present {
            secret_version: None,
        };
        crate::tenant::wait_for_role(provider, kube, address, owner, &role, goal).await?;
    }
    Ok(())
}

/// A create that finds the object already there takes it over only when the request permits
/// it (an interrupted create of dbplan's own, or the manifest's opt-in).
async fn adopt_check(
    kube: &Kube,
    request: &ChangeRequest,
    object: &Json,
    creating: bool,
) -> Result<(), ProviderError> {
    if !creating || request.adopt.permits() {
        return Ok(());
    }
    let target = ObjectRef::of(object);
    let existing = kube
        .get(&target)
        .await
        .map_err(|failure| failure.into_error(&request.address, &format!("reading {target}")))?;
    match existing {
        Some(_) => request
            .adopt
            .check(&request.address, format!("the {target}")),
        None => Ok(()),
    }
}

/// Applies the cluster part: the `ObjectStore` first (the plugin reads it), then the
/// `Cluster`; an `ObjectStore` the cluster no longer uses is deleted; on an update the
/// `ScheduledBackup`, which takes its settings from the cluster's `backup`, follows. Then
/// waits for the cluster to be healthy.
async fn apply_cluster(
    provider: &KubernetesProvider,
    request: &ChangeRequest,
    creating: bool,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let cluster: Cluster = request.decode()?;
    let owner = Owner::new(&address.name, &cluster);
    let kube = provider.client(address, cluster.context.as_deref()).await?;
    let objects = render::cluster_objects(&owner, &cluster);
    let Some((cluster_object, rest)) = objects.split_first() else {
        unreachable!("the cluster part renders the Cluster first")
    };
    adopt_check(&kube, request, cluster_object, creating).await?;
    for object in rest {
        provider.apply_object(&kube, address, object).await?;
    }
    provider
        .apply_object(&kube, address, cluster_object)
        .await?;
    if !creating {
        if rest.is_empty() {
            let store = ObjectRef {
                api_version: "barmancloud.cnpg.io/v1".to_owned(),
                kind: "ObjectStore".to_owned(),
                namespace: owner.namespace.clone(),
                name: render::object_store_name(&owner.name),
            };
            if let Some(existing) = kube
                .get(&store)
                .await
                .map_err(|failure| failure.into_error(address, &format!("reading {store}")))?
                && fields::owned_tree(&existing, fields::MANAGER) != Json::Object(Map::new())
            {
                kube.delete(&store)
                    .await
                    .map_err(|failure| failure.into_error(address, &format!("deleting {store}")))?;
            }
        }
        if let Some(scheduled) = render::scheduled_backup(&owner, &cluster) {
            let target = ObjectRef::of(&scheduled);
            let exists = kube
                .get(&target)
                .await
                .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?;
            if exists.is_some() {
                provider.apply_object(&kube, address, &scheduled).await?;
            }
        }
    }
    let expected = cluster.instances.unwrap_or(1);
    wait_for_cluster(provider, &kube, address, cluster_object, expected).await?;
    let outputs = cluster_outputs(&kube, address, &owner, &cluster).await?;
    Ok(Applied {
        provider_id: Some(provider_id(cluster_object)),
        outputs,
    })
}

/// The cluster's outputs; the password and URI from the operator's `<cluster>-app` secret,
/// as sensitive outputs.
async fn cluster_outputs(
    kube: &Kube,
    address: &ResourceAddress,
    owner: &Owner,
    cluster: &Cluster,
) -> Result<BTreeMap<String, Field>, ProviderError> {
    let credentials = app_credentials(kube, address, owner, cluster).await?;
    let mut outputs = BTreeMap::new();
    let mut plain = |name: &str, value: String| {
        outputs.insert(name.to_owned(), Field::plain(value));
    };
    plain("cluster_name", owner.name.clone());
    plain("namespace", owner.namespace.clone());
    plain("host", render::host(owner));
    plain(
        "read_only_host",
        format!("{}-ro.{}.svc", owner.name, owner.namespace),
    );
    plain("port", render::PORT.to_string());
    plain("database", credentials.database.clone());
    plain("username", credentials.user.clone());
    plain("app_secret_name", render::app_secret_name(&owner.name));
    let uri = render::secret_value("uri", owner, &credentials).unwrap_or_default();
    outputs.insert(
        "password".to_owned(),
        Field::sensitive(credentials.password),
    );
    outputs.insert("uri".to_owned(), Field::sensitive(uri));
    Ok(outputs)
}

/// The application owner's credentials from the operator's `<cluster>-app` secret (its
/// `username`, `password` and `dbname`; the bootstrap's database and owner where a key is
/// missing). The password never enters a message.
async fn app_credentials(
    kube: &Kube,
    address: &ResourceAddress,
    owner: &Owner,
    cluster: &Cluster,
) -> Result<Credentials, ProviderError> {
    let target = ObjectRef::secret(&owner.namespace, &render::app_secret_name(&owner.name));
    let secret = kube
        .get(&target)
        .await
        .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?
        .ok_or_else(|| ProviderError::Conflict {
            address: address.clone(),
            message: format!(
                "the {target} the operator writes is not there: is the cluster bootstrapped, and does it use its own `bootstrap.initdb.secret`?"
            ),
            source: None,
        })?;
    let key = |name: &str| -> Option<String> {
        let encoded = secret.pointer(&format!("/data/{name}"))?.as_str()?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        String::from_utf8(bytes).ok()
    };
    let (database, user) = render::bootstrap(cluster);
    let password = key("password").ok_or_else(|| ProviderError::Conflict {
        address: address.clone(),
        message: format!("the {target} has no readable `password` key"),
        source: None,
    })?;
    Ok(Credentials {
        database: key("dbname").unwrap_or(database),
        user: key("username").unwrap_or(user),
        password,
    })
}

/// A Secret's `stringData` as `data` (base64): what server-side apply tracks field by field.
fn encode_secret(mut object: Json) -> Json {
    if let Json::Object(map) = &mut object
        && let Some(Json::Object(values)) = map.remove("stringData")
    {
        let data: Map<String, Json> = values
            .into_iter()
            .map(|(key, value)| {
                let text = value.as_str().unwrap_or_default().to_owned();
                (
                    key,
                    Json::String(base64::engine::general_purpose::STANDARD.encode(text)),
                )
            })
            .collect();
        map.insert("data".to_owned(), Json::Object(data));
    }
    object
}

/// What a wait saw last, for the message when it gives up.
type LastSeen = Arc<Mutex<String>>;

fn remember(last: &LastSeen, text: String) {
    if let Ok(mut seen) = last.lock() {
        *seen = text;
    }
}

fn recall(last: &LastSeen) -> String {
    last.lock().map(|seen| seen.clone()).unwrap_or_default()
}

/// Where a Cluster stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Phase healthy, every instance ready, condition `Ready` true.
    Healthy,
    /// Not yet, with what the status says.
    Waiting(String),
    /// A phase the operator does not leave by itself (an invalid definition, an
    /// unrecoverable cluster).
    Failed(String),
}

/// Where a Cluster stands, from its status: phase, ready instances and the `Ready` condition.
pub fn cluster_health(object: &Json, expected: i64) -> Health {
    let phase = object
        .pointer("/status/phase")
        .and_then(Json::as_str)
        .unwrap_or("");
    let ready_instances = object
        .pointer("/status/readyInstances")
        .and_then(Json::as_i64)
        .unwrap_or(0);
    let ready = object
        .pointer("/status/conditions")
        .and_then(Json::as_array)
        .and_then(|conditions| {
            conditions
                .iter()
                .find(|condition| condition["type"] == "Ready")
        });
    let ready_true = ready.is_some_and(|condition| condition["status"] == "True");
    if phase == HEALTHY && ready_instances == expected && ready_true {
        return Health::Healthy;
    }
    let condition_message = ready
        .and_then(|condition| condition["message"].as_str())
        .unwrap_or("");
    let summary = format!(
        "phase {:?}, {ready_instances} of {expected} instances ready{}",
        if phase.is_empty() {
            "(none yet)"
        } else {
            phase
        },
        if condition_message.is_empty() {
            String::new()
        } else {
            format!(", Ready: {condition_message}")
        }
    );
    if phase.starts_with("Invalid cluster definition") || phase.contains("unrecoverable") {
        return Health::Failed(summary);
    }
    Health::Waiting(summary)
}

async fn wait_for_cluster(
    provider: &KubernetesProvider,
    kube: &Kube,
    address: &ResourceAddress,
    object: &Json,
    expected: i64,
) -> Result<(), ProviderError> {
    let target = ObjectRef::of(object);
    let last: LastSeen = Arc::default();
    let terminal: LastSeen = Arc::default();
    let waited = dbplan_provider::wait_until(
        address,
        &format!("the {target} to be healthy"),
        provider.wait_limit(),
        || async {
            let live = kube
                .get(&target)
                .await
                .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?;
            let Some(live) = live else {
                remember(&last, "the Cluster is not there".to_owned());
                return Ok(false);
            };
            match cluster_health(&live, expected) {
                Health::Healthy => Ok(true),
                Health::Waiting(summary) => {
                    remember(&last, summary);
                    Ok(false)
                }
                Health::Failed(summary) => {
                    remember(&terminal, summary);
                    Ok(true)
                }
            }
        },
    )
    .await;
    let stuck = recall(&terminal);
    if !stuck.is_empty() {
        return Err(ProviderError::Conflict {
            address: address.clone(),
            message: format!("the operator cannot run the {target}: {stuck}"),
            source: None,
        });
    }
    waited.map_err(|error| with_status(error, &recall(&last)))
}

/// A wait's error with what the object said last.
pub(crate) fn with_status(error: ProviderError, last: &str) -> ProviderError {
    match error {
        ProviderError::Transport {
            address,
            message,
            source,
        } if !last.is_empty() => ProviderError::Transport {
            address,
            message: format!("{message} (last seen: {last})"),
            source,
        },
        other => other,
    }
}

/// Whether a `Database` is applied: `status.applied` true for the current generation; its
/// `status.message` otherwise.
pub fn database_applied(object: &Json) -> Result<bool, String> {
    let applied = object.pointer("/status/applied").and_then(Json::as_bool);
    let generation = object
        .pointer("/metadata/generation")
        .and_then(Json::as_i64);
    let observed = object
        .pointer("/status/observedGeneration")
        .and_then(Json::as_i64);
    let current = match (generation, observed) {
        (Some(generation), Some(observed)) => observed >= generation,
        _ => true,
    };
    if applied == Some(true) && current {
        return Ok(true);
    }
    let message = object
        .pointer("/status/message")
        .and_then(Json::as_str)
        .unwrap_or("");
    Err(if message.is_empty() {
        "not applied yet".to_owned()
    } else {
        message.to_owned()
    })
}

pub(crate) async fn wait_for_database(
    provider: &KubernetesProvider,
    kube: &Kube,
    address: &ResourceAddress,
    object: &Json,
) -> Result<(), ProviderError> {
    let target = ObjectRef::of(object);
    let last: LastSeen = Arc::default();
    dbplan_provider::wait_until(
        address,
        &format!("the {target} to be applied"),
        provider.wait_limit(),
        || async {
            let live = kube
                .get(&target)
                .await
                .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?;
            let Some(live) = live else {
                remember(&last, "the Database is not there".to_owned());
                return Ok(false);
            };
            match database_applied(&live) {
                Ok(done) => Ok(done),
                Err(message) => {
                    remember(&last, message);
                    Ok(false)
                }
            }
        },
    )
    .await
    .map_err(|error| with_status(error, &recall(&last)))
}

/// The objects a part is: the first is the one whose absence means the part is gone.
fn part_objects(
    address: &ResourceAddress,
    part: &Part,
    cluster: &Cluster,
    attributes: &BTreeMap<String, Json>,
) -> Result<Vec<Json>, ProviderError> {
    let owner = Owner::new(&address.name, cluster);
    fn decode<T: serde::de::DeserializeOwned>(
        address: &ResourceAddress,
        attributes: &BTreeMap<String, Json>,
    ) -> Result<T, ProviderError> {
        dbplan_core::kinds::decode_map(attributes).map_err(|source| ProviderError::Decode {
            address: address.clone(),
            which: "recorded",
            source: Box::new(source),
        })
    }
    Ok(match part {
        Part::Cluster => render::cluster_objects(&owner, cluster),
        Part::ScheduledBackup => render::scheduled_backup(&owner, cluster)
            .into_iter()
            .collect(),
        Part::CnpgDatabase(_) => {
            let database: Database = decode(address, attributes)?;
            vec![render::database(&owner, &database)]
        }
        Part::ConnectionSecret => {
            let secret: ConnectionSecret = decode(address, attributes)?;
            vec![render::connection_secret(
                &owner,
                &secret.connection_secret.unwrap_or_default(),
                None,
            )]
        }
        other => {
            return Err(ProviderError::Unsupported {
                address: address.clone(),
                message: format!("a CnpgCluster has no part `{other}`"),
            });
        }
    })
}

/// Reads a part: gone when its main object is; the recorded attributes, with the live values
/// of the fields dbplan owns where they differ ([`fields::differences`]).
pub(crate) async fn read(
    provider: &KubernetesProvider,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let part = request.part()?;
    let cluster = match part {
        Part::Cluster => request.decode::<Cluster>()?,
        _ => recorded_cluster(address, &request.context)?,
    };
    let kube = provider.client(address, cluster.context.as_deref()).await?;
    let objects = part_objects(address, &part, &cluster, &request.attributes)?;
    let Some(main) = objects.first() else {
        return Ok(ReadOutcome::Gone);
    };
    let target = ObjectRef::of(main);
    let Some(live) = kube
        .get(&target)
        .await
        .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?
    else {
        return Ok(ReadOutcome::Gone);
    };
    let mut attributes = request.attributes.clone();
    let differences = fields::differences(&live, main);
    if !differences.is_empty() {
        tracing::debug!(%address, ?differences, "Kubernetes object differs from its record");
        overlay(&part, &mut attributes, &live, &differences);
    }
    if part == Part::Cluster {
        // The backup settings live in the ObjectStore and the ScheduledBackup too.
        backup_drift(&kube, address, &cluster, &objects[1..], &mut attributes).await?;
    }
    if part == Part::ConnectionSecret {
        secret_keys_drift(&mut attributes, &live);
    }
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: request
            .provider_id
            .clone()
            .or_else(|| Some(provider_id(main))),
        attributes,
        outputs: BTreeMap::new(),
    }))
}

/// Looks for the object a create of a part would take over (plan, without a record): the
/// part's main object, read as refresh reads it. The parts after the cluster are looked up only
/// once the cluster is recorded (their namespace is its).
pub(crate) async fn find(
    provider: &KubernetesProvider,
    request: &ChangeRequest,
) -> Result<FindOutcome, ProviderError> {
    let address = &request.address;
    if request.part()? != Part::Cluster
        && !request
            .context
            .contains_key(&address.root().part("cluster"))
    {
        return Ok(FindOutcome::Unknown);
    }
    let lookup = ReadRequest {
        address: address.clone(),
        provider_id: None,
        attributes: request
            .attributes
            .iter()
            .filter(|(_, field)| !field.sensitive)
            .map(|(name, field)| (name.clone(), field.value.clone()))
            .collect(),
        outputs: BTreeMap::new(),
        context: request.context.clone(),
        declared: BTreeMap::new(),
    };
    Ok(match read(provider, &lookup).await? {
        ReadOutcome::Gone => FindOutcome::Absent,
        ReadOutcome::Found(remote) => FindOutcome::Found(Existing {
            remote,
            effects: vec![format!(
                "dbplan becomes a field manager (`{}`) of the fields it sets on the existing objects; a field another manager owns is a conflict unless {}=1",
                fields::MANAGER,
                crate::FORCE_VARIABLE
            )],
        }),
    })
}

/// A connection secret whose keys are not the recorded ones: the live keys, sorted.
fn secret_keys_drift(attributes: &mut BTreeMap<String, Json>, live: &Json) {
    let Some(Json::Object(data)) = live.get("data") else {
        return;
    };
    let recorded: ConnectionSecret = dbplan_core::kinds::decode_map(attributes).unwrap_or_default();
    let spec = recorded.connection_secret.unwrap_or_default();
    let mut wanted = render::secret_keys(&spec);
    wanted.sort();
    let mut present: Vec<String> = data.keys().cloned().collect();
    present.sort();
    if wanted != present {
        let mut secret = Map::new();
        if let Some(name) = spec.name {
            secret.insert("name".to_owned(), Json::String(name));
        }
        secret.insert(
            "keys".to_owned(),
            Json::Array(present.into_iter().map(Json::String).collect()),
        );
        attributes.insert("connection_secret".to_owned(), Json::Object(secret));
    }
}

/// Writes the live value of each differing field into the attribute it renders from.
fn overlay(
    part: &Part,
    attributes: &mut BTreeMap<String, Json>,
    live: &Json,
    differences: &[Vec<String>],
) {
    for path in differences {
        let value = path
            .iter()
            .try_fold(live, |node, key| node.get(key))
            .cloned()
            .unwrap_or(Json::Null);
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        let target: Option<Vec<String>> = match (part, segments.as_slice()) {
            (Part::Cluster, segments) => cluster_attribute(segments),
            (Part::CnpgDatabase(_), ["spec", field @ ("owner" | "ensure")]) => {
                Some(vec![(*field).to_owned()])
            }
            (Part::CnpgDatabase(_), ["spec", "extensions"]) => {
                let names = value
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter(|item| item["ensure"] != "absent")
                            .filter_map(|item| item["name"].as_str())
                            .map(|name| Json::String(name.to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                set_path(attributes, &["extensions".to_owned()], Json::Array(names));
                None
            }
            (Part::CnpgDatabase(_), ["spec", "databaseReclaimPolicy"]) => {
                let policy = if value == "delete" {
                    "Delete"
                } else {
                    "Orphan"
                };
                set_path(
                    attributes,
                    &["deletion_policy".to_owned()],
                    Json::String(policy.to_owned()),
                );
                None
            }
            _ => {
                tracing::debug!(
                    ?path,
                    "a field dbplan owns differs, with no attribute of its own"
                );
                None
            }
        };
        if let Some(target) = target {
            set_path(attributes, &target, value);
        }
    }
}

/// Reads the `backup` attribute's drift from the cluster part's other objects (the plugin's
/// `ObjectStore`) and from the `ScheduledBackup`, which renders from it. An `ObjectStore` that
/// is gone is drift of the whole `backup` (the cluster's update applies it again); a
/// `ScheduledBackup` that is gone is its own part's.
async fn backup_drift(
    kube: &Kube,
    address: &ResourceAddress,
    cluster: &Cluster,
    others: &[Json],
    attributes: &mut BTreeMap<String, Json>,
) -> Result<(), ProviderError> {
    let owner = Owner::new(&address.name, cluster);
    let mut rendered_objects: Vec<Json> = others.to_vec();
    rendered_objects.extend(render::scheduled_backup(&owner, cluster));
    for rendered in &rendered_objects {
        let target = ObjectRef::of(rendered);
        let Some(live) = kube
            .get(&target)
            .await
            .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?
        else {
            if target.kind == "ObjectStore" {
                set_path(attributes, &["backup".to_owned()], Json::Null);
            }
            continue;
        };
        for path in fields::differences(&live, rendered) {
            let value = path
                .iter()
                .try_fold(&live, |node, key| node.get(key))
                .cloned()
                .unwrap_or(Json::Null);
            let segments: Vec<&str> = path.iter().map(String::as_str).collect();
            if let Some(field) = backup_attribute(&target.kind, &segments) {
                set_path(attributes, &field, value);
            }
        }
    }
    Ok(())
}

/// The `backup` attribute a field of the `ObjectStore` or the `ScheduledBackup` renders from.
fn backup_attribute(kind: &str, segments: &[&str]) -> Option<Vec<String>> {
    let field = match (kind, segments) {
        ("ObjectStore", ["spec", "configuration", "destinationPath"]) => "destination_path",
        ("ObjectStore", ["spec", "configuration", "endpointURL"]) => "endpoint_url",
        ("ObjectStore", ["spec", "retentionPolicy"]) => "retention_policy",
        ("ScheduledBackup", ["spec", "schedule"]) => "schedule",
        ("ScheduledBackup", ["spec", "immediate"]) => "immediate",
        _ => return None,
    };
    Some(vec!["backup".to_owned(), field.to_owned()])
}

/// The attribute a field of the `Cluster` object renders from (`spec.storage.size` →
/// `storage.size`).
fn cluster_attribute(segments: &[&str]) -> Option<Vec<String>> {
    Some(match segments {
        ["spec", "instances"] => vec!["instances".into()],
        ["spec", "imageName"] => vec!["image_name".into()],
        ["spec", "enableSuperuserAccess"] => vec!["enable_superuser_access".into()],
        ["spec", volume @ ("storage" | "walStorage"), field] => vec![
            if *volume == "storage" {
                "storage"
            } else {
                "wal_storage"
            }
            .into(),
            if *field == "storageClass" {
                "storage_class"
            } else {
                field
            }
            .to_string(),
        ],
        [
            "spec",
            "bootstrap",
            "initdb",
            field @ ("database" | "owner"),
        ] => {
            vec!["bootstrap".into(), (*field).to_owned()]
        }
        ["spec", "postgresql", "parameters", name] => {
            vec!["postgresql".into(), "parameters".into(), (*name).to_owned()]
        }
        ["spec", "backup", "barmanObjectStore", "destinationPath"] => {
            vec!["backup".into(), "destination_path".into()]
        }
        ["spec", "backup", "barmanObjectStore", "endpointURL"] => {
            vec!["backup".into(), "endpoint_url".into()]
        }
        ["spec", "backup", "retentionPolicy"] => vec!["backup".into(), "retention_policy".into()],
        _ => return None,
    })
}

fn set_path(attributes: &mut BTreeMap<String, Json>, path: &[String], value: Json) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        attributes.insert(first.clone(), value);
        return;
    }
    let mut node = attributes
        .entry(first.clone())
        .or_insert_with(|| Json::Object(Map::new()));
    for (index, segment) in rest.iter().enumerate() {
        if !node.is_object() {
            *node = Json::Object(Map::new());
        }
        let Json::Object(map) = node else {
            return;
        };
        if index + 1 == rest.len() {
            if value.is_null() {
                map.remove(segment);
            } else {
                map.insert(segment.clone(), value);
            }
            return;
        }
        node = map
            .entry(segment.clone())
            .or_insert_with(|| Json::Object(Map::new()));
    }
}

/// Deletes a part's objects (`propagationPolicy: Foreground`: the Cluster's pods and volumes
/// go before the Cluster does, so that "gone" means gone) and waits until the main one is.
pub(crate) async fn delete(
    provider: &KubernetesProvider,
    request: &ChangeRequest,
) -> Result<(), ProviderError> {
    let address = &request.address;
    let part = request.part()?;
    let recorded: BTreeMap<String, Json> = request
        .prior
        .iter()
        .filter(|(_, field)| !field.sensitive)
        .map(|(name, field)| (name.clone(), field.value.clone()))
        .collect();
    let cluster = match part {
        Part::Cluster => request.decode_prior::<Cluster>()?,
        _ => recorded_cluster(address, &request.context)?,
    };
    let kube = provider.client(address, cluster.context.as_deref()).await?;
    let objects = part_objects(address, &part, &cluster, &recorded)?;
    for object in objects.iter().rev() {
        let target = ObjectRef::of(object);
        kube.delete(&target)
            .await
            .map_err(|failure| failure.into_error(address, &format!("deleting {target}")))?;
    }
    let Some(main) = objects.first() else {
        return Ok(());
    };
    wait_until_gone(provider, &kube, address, &ObjectRef::of(main)).await
}

/// Deletes an object (foreground propagation) and waits until it is gone.
pub(crate) async fn delete_until_gone(
    provider: &KubernetesProvider,
    kube: &Kube,
    address: &ResourceAddress,
    target: &ObjectRef,
) -> Result<(), ProviderError> {
    kube.delete(target)
        .await
        .map_err(|failure| failure.into_error(address, &format!("deleting {target}")))?;
    wait_until_gone(provider, kube, address, target).await
}

/// Waits until an object is gone (its finalizers done).
async fn wait_until_gone(
    provider: &KubernetesProvider,
    kube: &Kube,
    address: &ResourceAddress,
    target: &ObjectRef,
) -> Result<(), ProviderError> {
    dbplan_provider::wait_until(
        address,
        &format!("the {target} to be deleted"),
        provider.wait_limit(),
        || async {
            Ok(kube
                .get(target)
                .await
                .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?
                .is_none())
        },
    )
    .await
}

/// The error for a server-side apply conflict: the other managers and their fields, and how
/// to take them over.
pub(crate) fn conflict_error(
    address: &ResourceAddress,
    target: &ObjectRef,
    failure: Failure,
) -> ProviderError {
    let Failure::Refused(refusal) = failure else {
        return failure.into_error(address, &format!("applying {target}"));
    };
    let mut fields: Vec<String> = Vec::new();
    for (field, message) in &refusal.causes {
        let manager = message
            .split('"')
            .nth(1)
            .map_or_else(|| "another manager".to_owned(), |name| format!("`{name}`"));
        fields.push(format!("{field} (managed by {manager})"));
    }
    if fields.is_empty() {
        fields.push(refusal.message.clone());
    }
    ProviderError::Conflict {
        address: address.clone(),
        message: format!(
            "applying {target}: another field manager owns fields dbplan sets: {}; dbplan does not take them over unless asked: set {}=1 and apply again to make dbplan their manager, or change the manifest to agree",
            fields.join(", "),
            crate::FORCE_VARIABLE
        ),
        source: Some(Box::new(refusal)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::client::Refusal;
    use serde_json::json;

    #[test]
    fn a_cluster_is_healthy_with_its_phase_its_instances_and_ready() {
        let mut cluster = json!({"status": {
            "phase": HEALTHY, "readyInstances": 3,
            "conditions": [{"type": "Ready", "status": "True", "message": "Cluster is Ready"}]
        }});
        assert_eq!(cluster_health(&cluster, 3), Health::Healthy);
        assert!(matches!(cluster_health(&cluster, 4), Health::Waiting(_)));
        cluster["status"]["conditions"][0]["status"] = json!("False");
        cluster["status"]["conditions"][0]["message"] = json!("primary not ready");
        cluster["status"]["phase"] = json!("Setting up primary");
        let Health::Waiting(summary) = cluster_health(&cluster, 3) else {
            panic!("waiting")
        };
        assert!(
            summary.contains("Setting up primary") && summary.contains("primary not ready"),
            "{summary}"
        );
        cluster["status"]["phase"] = json!("Invalid cluster definition");
        assert!(matches!(cluster_health(&cluster, 3), Health::Failed(_)));
        assert!(matches!(cluster_health(&json!({}), 1), Health::Waiting(_)));
    }

    #[test]
    fn a_database_is_applied_for_its_generation() {
        let database = json!({"metadata": {"generation": 2},
            "status": {"applied": true, "observedGeneration": 2}});
        assert_eq!(database_applied(&database), Ok(true));
        let stale = json!({"metadata": {"generation": 3},
            "status": {"applied": true, "observedGeneration": 2}});
        assert!(database_applied(&stale).is_err());
        let failed =
            json!({"status": {"applied": false, "message": "role \"nextcloud\" does not exist"}});
        assert_eq!(
            database_applied(&failed),
            Err("role \"nextcloud\" does not exist".to_owned())
        );
    }

    #[test]
    fn a_conflict_names_the_managers_fields_and_how_to_force() {
        let address: ResourceAddress = "CnpgCluster/home-pg/cluster".parse().unwrap();
        let target = ObjectRef::of(
            &json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "home-pg", "namespace": "databases"}}),
        );
        let body = json!({"kind": "Status", "status": "Failure", "reason": "Conflict", "code": 409,
            "message": "Apply failed with 1 conflict",
            "details": {"causes": [{"type": "FieldManagerConflict",
                "message": "conflict with \"kubectl-edit\" using postgresql.cnpg.io/v1",
                "field": ".spec.instances"}]}});
        let refusal = Refusal::read_for_test(409, &body);
        let error = conflict_error(&address, &target, Failure::Refused(refusal)).to_string();
        assert!(
            error.contains(".spec.instances (managed by `kubectl-edit`)"),
            "{error}"
        );
        assert!(
            error.contains("DBPLAN_KUBERNETES_FORCE_CONFLICTS=1"),
            "{error}"
        );
        assert!(error.contains("Cluster databases/home-pg"), "{error}");
    }

    #[test]
    fn drift_in_owned_fields_shows_in_the_attributes() {
        let mut attributes: BTreeMap<String, Json> = BTreeMap::from([
            ("instances".to_owned(), json!(3)),
            (
                "storage".to_owned(),
                json!({"size": "20Gi", "storage_class": "local-path"}),
            ),
            (
                "postgresql".to_owned(),
                json!({"parameters": {"max_connections": "200"}}),
            ),
        ]);
        let live = json!({"spec": {"instances": 1, "storage": {"size": "30Gi"},
            "postgresql": {"parameters": {}}}});
        overlay(
            &Part::Cluster,
            &mut attributes,
            &live,
            &[
                vec!["spec".to_owned(), "instances".to_owned()],
                vec!["spec".to_owned(), "storage".to_owned(), "size".to_owned()],
                vec![
                    "spec".to_owned(),
                    "postgresql".to_owned(),
                    "parameters".to_owned(),
                    "max_connections".to_owned(),
                ],
            ],
        );
        assert_eq!(attributes["instances"], json!(1));
        assert_eq!(
            attributes["storage"],
            json!({"size": "30Gi", "storage_class": "local-path"})
        );
        assert_eq!(attributes["postgresql"], json!({"parameters": {}}));
    }

    #[test]
    fn a_secret_is_applied_as_base64_data() {
        let secret = encode_secret(json!({"kind": "Secret", "stringData": {"DB_PORT": "5432"}}));
        assert_eq!(
            secret,
            json!({"kind": "Secret", "data": {"DB_PORT": "NTQzMg=="}})
        );
    }

    #[test]
    fn changed_secret_keys_show_as_drift() {
        let mut attributes = BTreeMap::from([(
            "connection_secret".to_owned(),
            json!({"name": "s", "keys": ["DB_HOST", "DB_PORT"]}),
        )]);
        secret_keys_drift(
            &mut attributes,
            &json!({"data": {"DB_HOST": "eA==", "DB_PORT": "eA=="}}),
        );
        assert_eq!(
            attributes["connection_secret"]["keys"],
            json!(["DB_HOST", "DB_PORT"])
        );
        secret_keys_drift(&mut attributes, &json!({"data": {"DB_HOST": "eA=="}}));
        assert_eq!(
            attributes["connection_secret"],
            json!({"name": "s", "keys": ["DB_HOST"]})
        );
    }
}
