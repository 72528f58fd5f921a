//! A `TenantDatabase` on a `CnpgCluster`, declaratively, as CloudNativePG manages roles and
//! databases:
//!
//! - the role is an item of the Cluster's `spec.managed.roles` (a login role with no other
//!   privilege, its connection limit, its password from a `kubernetes.io/basic-auth` Secret
//!   `<cluster>-role-<role>` that dbplan generates, labelled `cnpg.io/reload` so that the
//!   operator picks up a new password). `spec.managed.roles` is an atomic list for server-side
//!   apply (its CRD gives it no list type), so one manager owns it whole: dbplan edits it as
//!   the field manager `dbplan-roles` (one edit at a time per provider), reading the live list
//!   and applying it with the tenant's item added or changed; the cluster part's own apply
//!   (manager `dbplan`) does not list the roles and so keeps them. A list owned by another
//!   manager is a conflict, reported like any other.
//! - the database is a CNPG `Database` `<cluster>-<database>` owned by the role, with its
//!   extensions, `databaseReclaimPolicy: retain` while it lives; deleting it (the tenant's
//!   `Delete` policy: the engine never deletes an `Orphan` part) first sets the policy to
//!   `delete`, so that the operator's finalizer drops the database, then waits until it is gone.
//! - deleting the role sets its item to `ensure: absent` (the operator drops the role; an item
//!   removed from the list would only stop being managed), waits until the operator no longer
//!   reports it, then deletes its password Secret.
//!
//! The outputs are the ones a tenant on a `PostgresServer` has (the connection secret part is
//! written from them by the PostgreSQL provider): the host is the cluster's read-write service,
//! `<cluster>-rw.<namespace>.svc`, port 5432.

use crate::KubernetesProvider;
use crate::client::{Kube, ObjectRef};
use crate::render::{self, Owner};
use dbplan_core::kinds::cnpg_cluster::Cluster;
use dbplan_core::kinds::tenant_database::{Database, Role};
use dbplan_core::{Kind, Part, ResourceAddress};
use dbplan_provider::{
    Applied, ChangeRequest, Context, Field, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// The field manager of the tenants' managed roles.
pub const ROLES_MANAGER: &str = "dbplan-roles";

/// The tenant's cluster: its address and recorded cluster part, from a request's context.
fn server(
    address: &ResourceAddress,
    context: &Context,
) -> Result<(String, Cluster), ProviderError> {
    let (cluster_address, recorded) = context
        .iter()
        .find(|(dependency, _)| {
            dependency.kind == Kind::CnpgCluster && dependency.part.as_deref() == Some("cluster")
        })
        .ok_or_else(|| ProviderError::Conflict {
            address: address.clone(),
            message: "the tenant's CnpgCluster is not recorded; apply it first".to_owned(),
            source: None,
        })?;
    Ok((
        cluster_address.name.clone(),
        recorded.decode(cluster_address)?,
    ))
}

/// Whether a request's tenant lives on a `CnpgCluster`.
pub fn on_cnpg(context: &Context) -> bool {
    context
        .keys()
        .any(|dependency| dependency.kind == Kind::CnpgCluster)
}

/// The name of a role's password Secret: `<cluster>-role-<role>`, a DNS subdomain.
pub fn password_secret_name(cluster: &str, role: &str) -> String {
    format!("{cluster}-role-{role}")
        .to_ascii_lowercase()
        .replace('_', "-")
}

fn cluster_ref(owner: &Owner) -> ObjectRef {
    ObjectRef {
        api_version: "postgresql.cnpg.io/v1".to_owned(),
        kind: "Cluster".to_owned(),
        namespace: owner.namespace.clone(),
        name: owner.name.clone(),
    }
}

fn error(address: &ResourceAddress, message: String) -> ProviderError {
    ProviderError::Conflict {
        address: address.clone(),
        message,
        source: None,
    }
}

/// The role's item of `spec.managed.roles`.
/// A managed role: a login role with no other privilege, its password from `secret` (a role
/// without one has no password until someone sets it).
pub(crate) fn role_item(
    address: &str,
    name: &str,
    limit: i64,
    secret: Option<&str>,
    ensure: &str,
) -> Json {
    let mut item = json!({
        "name": name,
        "ensure": ensure,
        "comment": format!("managed by dbplan for {address}"),
        "login": true,
        "superuser": false,
        "createdb": false,
        "createrole": false,
        "replication": false,
        "bypassrls": false,
        "inherit": true,
        "connectionLimit": limit,
    });
    if let Some(secret) = secret {
        item["passwordSecret"] = json!({ "name": secret });
    }
    item
}

/// The basic-auth Secret the role's password is read from.
fn password_secret(owner: &Owner, address: &ResourceAddress, name: &str, password: &str) -> Json {
    let encode = |text: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(text)
    };
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": password_secret_name(&owner.name, name),
            "namespace": owner.namespace,
            "labels": {
                render::MANAGED_BY: "dbplan",
                render::RESOURCE: address.root().to_string().replace('/', "."),
                "cnpg.io/reload": "true",
            },
            "annotations": { render::RESOURCE: address.root().to_string() },
        },
        "type": "kubernetes.io/basic-auth",
        "data": { "username": encode(name), "password": encode(password) },
    })
}

/// A tenant's objects for `dbplan render` (GitOps), from its spec: its item of the Cluster's
/// managed roles, its password Secret with the user name only (the password is generated at
/// apply and never written to a file: give the Secret its `password` from a secret manager
/// before the operator reconciles the role), and its `Database`.
pub fn rendered(
    tenant: &ResourceAddress,
    spec: &dbplan_core::kinds::specs::TenantDatabaseSpec,
    owner: &Owner,
) -> (Json, Vec<Json>) {
    let role = spec.owner(&tenant.name);
    let secret_name = password_secret_name(&owner.name, &role);
    let limit = spec.connection_limit.map_or(-1, i64::from);
    let item = role_item(
        &tenant.root().to_string(),
        &role,
        limit,
        Some(&secret_name),
        "present",
    );
    let mut secret = password_secret(owner, tenant, &role, "");
    if let Some(object) = secret.as_object_mut() {
        object.remove("data");
        object.insert("stringData".to_owned(), json!({ "username": role }));
    }
    secret["metadata"]["annotations"][render::SECRET_KEYS] = json!("username,password");
    let database = Database {
        name: Some(spec.database_name(&tenant.name).to_owned()),
        owner: Some(role.clone()),
        extensions: spec.extensions.clone(),
        ..Database::default()
    };
    let object = database_object(owner, tenant, &database, "retain");
    (item, vec![secret, object])
}

/// How [`edit_roles`] changes one item of a cluster's managed roles.
pub(crate) enum RoleEdit<'a> {
    /// Adds or replaces the item; a create takes over an item dbplan did not write for this
    /// resource only with the request's opt-in.
    Set {
        item: Json,
        request: &'a ChangeRequest,
        creating: bool,
    },
    /// Removes the item (the operator stops managing the role, which stays in PostgreSQL).
    Remove,
    /// Adds the item unless one of that name is listed (whoever listed it keeps it).
    Ensure(Json),
}

/// Edits one item of the cluster's managed roles, as `dbplan-roles`, one edit at a time per
/// provider: each reads the live list first. Returns whether the list was written.
pub(crate) async fn edit_roles(
    provider: &KubernetesProvider,
    kube: &Kube,
    address: &ResourceAddress,
    owner: &Owner,
    name: &str,
    edit: RoleEdit<'_>,
) -> Result<bool, ProviderError> {
    let _one_at_a_time = provider.roles_lock.lock().await;
    let target = cluster_ref(owner);
    let live = kube
        .get(&target)
        .await
        .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?
        .ok_or_else(|| {
            error(
                address,
                format!("the {target} does not exist; apply its CnpgCluster first"),
            )
        })?;
    let mut roles: Vec<Json> = live
        .pointer("/spec/managed/roles")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let position = roles
        .iter()
        .position(|role| role.get("name").and_then(Json::as_str) == Some(name));
    match (position, edit) {
        (
            Some(index),
            RoleEdit::Set {
                item,
                request,
                creating,
            },
        ) => {
            let ours = roles[index].get("comment").and_then(Json::as_str)
                == Some(format!("managed by dbplan for {}", address.root()).as_str());
            if creating && !ours {
                request.adopt.check(
                    address,
                    format!("the managed role {name:?} of the {target}"),
                )?;
            }
            roles[index] = item;
        }
        (None, RoleEdit::Set { item, .. } | RoleEdit::Ensure(item)) => roles.push(item),
        (Some(index), RoleEdit::Remove) => {
            roles.remove(index);
        }
        (None, RoleEdit::Remove) | (Some(_), RoleEdit::Ensure(_)) => return Ok(false),
    }
    let patch = json!({
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": { "name": owner.name, "namespace": owner.namespace },
        "spec": { "managed": { "roles": roles } },
    });
    match kube.apply_as(&patch, ROLES_MANAGER, provider.force()).await {
        Ok(_) => Ok(true),
        Err(crate::client::Failure::Refused(refusal))
            if refusal.status == http::StatusCode::CONFLICT =>
        {
            Err(crate::cnpg::conflict_error(
                address,
                &target,
                crate::client::Failure::Refused(refusal),
            ))
        }
        Err(failure) => {
            Err(failure.into_error(address, &format!("applying the managed roles of {target}")))
        }
    }
}

/// What a wait for a managed role waits for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RoleGoal<'a> {
    /// In the database; with a password Secret, holding the password of this revision of it.
    Present { secret_version: Option<&'a str> },
    /// Dropped from the database.
    Absent,
}

/// Whether the operator reports the role as `goal` wants it (`Ok(true)`), not yet
/// (`Ok(false)`), or cannot reconcile it, with its reasons.
///
/// CloudNativePG lists a role `reconciled` when the database matches its item, which for an
/// item with `ensure: absent` means the role is not there, and `pending-reconciliation` while
/// it still has to act; `passwordStatus` has an entry for every managed role in the database,
/// with the `resourceVersion` of the Secret its password was last set from. The status carries
/// no generation, so the password's revision (present) and the missing entry (absent) are what
/// tell a fresh report from the one before the change.
fn role_status(cluster: &Json, name: &str, goal: RoleGoal<'_>) -> Result<bool, String> {
    let status = cluster.pointer("/status/managedRolesStatus");
    if let Some(reasons) = status
        .and_then(|status| status.pointer("/cannotReconcile"))
        .and_then(|cannot| cannot.get(name))
        .and_then(Json::as_array)
    {
        let reasons: Vec<&str> = reasons.iter().filter_map(Json::as_str).collect();
        return Err(reasons.join("; "));
    }
    let listed = |state: &str| {
        status
            .and_then(|status| status.get("byStatus"))
            .and_then(|by| by.get(state))
            .and_then(Json::as_array)
            .is_some_and(|names| names.iter().any(|listed| listed.as_str() == Some(name)))
    };
    if listed("pending-reconciliation") {
        return Ok(false);
    }
    let passwords = status
        .and_then(|status| status.get("passwordStatus"))
        .and_then(Json::as_object);
    Ok(match goal {
        RoleGoal::Present { secret_version } => {
            let password_current = match (secret_version, passwords) {
                (Some(version), Some(passwords)) => {
                    passwords
                        .get(name)
                        .and_then(|state| state.get("resourceVersion"))
                        .and_then(Json::as_str)
                        == Some(version)
                }
                // An operator that reports no password states: the listing is all there is.
                _ => true,
            };
            listed("reconciled") && password_current
        }
        RoleGoal::Absent => passwords.is_none_or(|passwords| !passwords.contains_key(name)),
    })
}

/// Waits until the operator reports the role as `goal` wants it, with what it said when it
/// gives up.
pub(crate) async fn wait_for_role(
    provider: &KubernetesProvider,
    kube: &Kube,
    address: &ResourceAddress,
    owner: &Owner,
    name: &str,
    goal: RoleGoal<'_>,
) -> Result<(), ProviderError> {
    let target = cluster_ref(owner);
    let last = std::sync::Mutex::new(String::new());
    let waited = dbplan_provider::wait_until(
        address,
        &format!(
            "the role {name:?} of the {target} to be {}",
            match goal {
                RoleGoal::Present { .. } => "reconciled",
                RoleGoal::Absent => "dropped",
            }
        ),
        provider.wait_limit(),
        || async {
            let live = kube
                .get(&target)
                .await
                .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?;
            let Some(live) = live else {
                return Ok(matches!(goal, RoleGoal::Absent));
            };
            match role_status(&live, name, goal) {
                Ok(done) => Ok(done),
                Err(message) => {
                    if let Ok(mut last) = last.lock() {
                        last.clone_from(&message);
                    }
                    Ok(false)
                }
            }
        },
    )
    .await;
    waited.map_err(|error| {
        let said = last.lock().map(|last| last.clone()).unwrap_or_default();
        if said.is_empty() {
            error
        } else {
            crate::cnpg::with_status(error, &format!("the operator says: {said}"))
        }
    })
}

/// Creates or updates the role: its password Secret, then its managed-role item; waits until
/// the operator has reconciled it.
pub(crate) async fn apply_role(
    provider: &KubernetesProvider,
    request: &ChangeRequest,
    creating: bool,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let role: Role = request.decode()?;
    let name = role.name.clone().unwrap_or_default();
    let limit = role.connection_limit.unwrap_or(-1);
    let password = request
        .prior_outputs
        .get("password")
        .and_then(Field::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            error(
                address,
                "no password was generated for the role; run `dbplan plan` and apply again"
                    .to_owned(),
            )
        })?;
    let (cluster_name, cluster) = server(address, &request.context)?;
    let owner = Owner::new(&cluster_name, &cluster);
    let kube = provider.client(address, cluster.context.as_deref()).await?;
    let secret = password_secret(&owner, address, &name, &password);
    let applied_secret = provider.apply_object(&kube, address, &secret).await?;
    let secret_version = applied_secret
        .pointer("/metadata/resourceVersion")
        .and_then(Json::as_str)
        .map(str::to_owned);
    let secret_name = password_secret_name(&owner.name, &name);
    if !creating {
        // A renamed role is another item: the old one is dropped from the list (the operator
        // stops managing it; its objects keep their owner until the database follows).
        let recorded: Role = request.decode_prior()?;
        if let Some(old) = recorded.name.as_deref()
            && old != name
        {
            edit_roles(provider, &kube, address, &owner, old, RoleEdit::Remove).await?;
        }
    }
    let item = role_item(
        &address.root().to_string(),
        &name,
        limit,
        Some(&secret_name),
        "present",
    );
    edit_roles(
        provider,
        &kube,
        address,
        &owner,
        &name,
        RoleEdit::Set {
            item,
            request,
            creating,
        },
    )
    .await?;
    let goal = RoleGoal::Present {
        secret_version: secret_version.as_deref(),
    };
    wait_for_role(provider, &kube, address, &owner, &name, goal).await?;
    let mut outputs = BTreeMap::new();
    outputs.insert("username".to_owned(), Field::plain(name.clone()));
    outputs.insert("password".to_owned(), Field::sensitive(password));
    Ok(Applied {
        provider_id: Some(format!("{}/{}/{name}", owner.namespace, owner.name)),
        outputs,
    })
}

/// The CNPG `Database` of a tenant: rendered as a cluster's own database is, labelled with the
/// tenant's address.
pub(crate) fn database_object(
    owner: &Owner,
    address: &ResourceAddress,
    database: &Database,
    reclaim: &str,
) -> Json {
    let entry = dbplan_core::kinds::cnpg_cluster::Database {
        name: database.name.clone(),
        owner: database.owner.clone(),
        extensions: database.extensions.clone(),
        ensure: None,
        deletion_policy: (reclaim == "delete").then(|| "Delete".to_owned()),
    };
    let mut object = render::database(owner, &entry);
    let tenant = address.root().to_string();
    object["metadata"]["labels"][render::RESOURCE] = json!(tenant.replace('/', "."));
    object["metadata"]["annotations"][render::RESOURCE] = json!(tenant);
    object
}

/// Creates or updates the database; waits until the operator has applied it. Its outputs say
/// how applications connect.
pub(crate) async fn apply_database(
    provider: &KubernetesProvider,
    request: &ChangeRequest,
    creating: bool,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let database: Database = request.decode()?;
    let (cluster_name, cluster) = server(address, &request.context)?;
    let owner = Owner::new(&cluster_name, &cluster);
    let kube = provider.client(address, cluster.context.as_deref()).await?;
    let object = database_object(&owner, address, &database, "retain");
    let target = ObjectRef::of(&object);
    if creating && !request.adopt.permits() {
        let existing = kube
            .get(&target)
            .await
            .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?;
        if existing.is_some() {
            request.adopt.check(address, format!("the {target}"))?;
        }
    }
    provider.apply_object(&kube, address, &object).await?;
    crate::cnpg::wait_for_database(provider, &kube, address, &object).await?;
    let name = database.name.clone().unwrap_or_default();
    let user = database.owner.clone().unwrap_or_default();
    let role = request.context.get(&address.part("role")).ok_or_else(|| {
        error(
            address,
            "the tenant's role is not recorded; apply it first".to_owned(),
        )
    })?;
    let password = role
        .outputs
        .get("password")
        .and_then(Field::as_str)
        .ok_or_else(|| {
            error(
                address,
                "the tenant's role has no password recorded; run `dbplan plan` and apply again, which sets one".to_owned(),
            )
        })?;
    let credentials = render::Credentials {
        database: name.clone(),
        user: user.clone(),
        password: password.to_owned(),
    };
    let mut outputs = BTreeMap::new();
    outputs.insert("database".to_owned(), Field::plain(name));
    outputs.insert("username".to_owned(), Field::plain(user));
    outputs.insert("endpoint".to_owned(), Field::plain(render::host(&owner)));
    outputs.insert("port".to_owned(), Field::plain(render::PORT));
    outputs.insert("password".to_owned(), Field::sensitive(password));
    let uri = render::secret_value("uri", &owner, &credentials).unwrap_or_default();
    outputs.insert("uri".to_owned(), Field::sensitive(uri));
    Ok(Applied {
        provider_id: Some(format!("{}/{}", target.namespace, target.name)),
        outputs,
    })
}

/// Creates or updates a tenant's role or database.
pub(crate) async fn apply(
    provider: &KubernetesProvider,
    request: &ChangeRequest,
    creating: bool,
) -> Result<Applied, ProviderError> {
    match request.part()? {
        Part::Role => apply_role(provider, request, creating).await,
        Part::Database => apply_database(provider, request, creating).await,
        other => Err(ProviderError::Unsupported {
            address: request.address.clone(),
            message: format!(
                "a tenant on a CnpgCluster has no part `{other}` applied by the Kubernetes provider"
            ),
        }),
    }
}

/// Reads the role (its item of the managed roles) or the database (its `Database`).
pub(crate) async fn read(
    provider: &KubernetesProvider,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let (cluster_name, cluster) = server(address, &request.context)?;
    let owner = Owner::new(&cluster_name, &cluster);
    let kube = provider.client(address, cluster.context.as_deref()).await?;
    let mut attributes = request.attributes.clone();
    match request.part()? {
        Part::Role => {
            let role: Role = request.decode()?;
            let name = role.name.unwrap_or_default();
            let target = cluster_ref(&owner);
            let live = kube
                .get(&target)
                .await
                .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?;
            let item = live.as_ref().and_then(|live| {
                live.pointer("/spec/managed/roles")
                    .and_then(Json::as_array)
                    .and_then(|roles| {
                        roles
                            .iter()
                            .find(|role| role.get("name").and_then(Json::as_str) == Some(&name))
                            .cloned()
                    })
            });
            let Some(item) =
                item.filter(|item| item.get("ensure").and_then(Json::as_str) != Some("absent"))
            else {
                return Ok(ReadOutcome::Gone);
            };
            if let Some(limit) = item.get("connectionLimit").and_then(Json::as_i64) {
                attributes.insert("connection_limit".to_owned(), json!(limit));
            }
        }
        Part::Database => {
            let database: Database = request.decode()?;
            let name = database.name.clone().unwrap_or_default();
            let object = database_object(&owner, address, &database, "retain");
            let target = ObjectRef::of(&object);
            let live = kube
                .get(&target)
                .await
                .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?;
            let Some(live) =
                live.filter(|live| live.pointer("/metadata/deletionTimestamp").is_none())
            else {
                return Ok(ReadOutcome::Gone);
            };
            if let Some(owner) = live.pointer("/spec/owner").and_then(Json::as_str) {
                attributes.insert("owner".to_owned(), json!(owner));
            }
            if let Some(live_name) = live.pointer("/spec/name").and_then(Json::as_str)
                && live_name != name
            {
                attributes.insert("name".to_owned(), json!(live_name));
            }
            if let Some(extensions) = live.pointer("/spec/extensions").and_then(Json::as_array) {
                let present: Vec<Json> = extensions
                    .iter()
                    .filter(|extension| {
                        extension.get("ensure").and_then(Json::as_str) != Some("absent")
                    })
                    .filter_map(|extension| extension.get("name").cloned())
                    .collect();
                attributes.insert("extensions".to_owned(), Json::Array(present));
            }
        }
        other => {
            return Err(ProviderError::Unsupported {
                address: address.clone(),
                message: format!(
                    "a tenant on a CnpgCluster has no part `{other}` applied by the Kubernetes provider"
                ),
            });
        }
    }
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: request.provider_id.clone(),
        attributes,
        outputs: BTreeMap::new(),
    }))
}

/// Deletes the role (its item set to `ensure: absent`, then its password Secret) or the
/// database (reclaim policy `delete`, then the `Database`, until gone).
pub(crate) async fn delete(
    provider: &KubernetesProvider,
    request: &ChangeRequest,
) -> Result<(), ProviderError> {
    let address = &request.address;
    let (cluster_name, cluster) = server(address, &request.context)?;
    let owner = Owner::new(&cluster_name, &cluster);
    let kube = provider.client(address, cluster.context.as_deref()).await?;
    match request.part()? {
        Part::Role => {
            let role: Role = request.decode_prior()?;
            let name = role.name.unwrap_or_default();
            let secret_name = password_secret_name(&owner.name, &name);
            let limit = role.connection_limit.unwrap_or(-1);
            // The item to drop names no Secret: the Secret goes next, and an item whose
            // Secret is missing is one the operator cannot reconcile.
            let item = role_item(&address.root().to_string(), &name, limit, None, "absent");
            edit_roles(
                provider,
                &kube,
                address,
                &owner,
                &name,
                RoleEdit::Set {
                    item,
                    request,
                    creating: false,
                },
            )
            .await?;
            wait_for_role(provider, &kube, address, &owner, &name, RoleGoal::Absent).await?;
            let secret = ObjectRef::secret(&owner.namespace, &secret_name);
            kube.delete(&secret)
                .await
                .map_err(|failure| failure.into_error(address, &format!("deleting {secret}")))?;
            Ok(())
        }
        Part::Database => {
            let database: Database = request.decode_prior()?;
            let object = database_object(&owner, address, &database, "delete");
            let target = ObjectRef::of(&object);
            let exists = kube
                .get(&target)
                .await
                .map_err(|failure| failure.into_error(address, &format!("reading {target}")))?;
            if exists.is_none() {
                return Ok(());
            }
            provider.apply_object(&kube, address, &object).await?;
            crate::cnpg::delete_until_gone(provider, &kube, address, &target).await
        }
        other => Err(ProviderError::Unsupported {
            address: address.clone(),
            message: format!(
                "a tenant on a CnpgCluster has no part `{other}` applied by the Kubernetes provider"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::{RoleGoal, role_status};
    use serde_json::{Value as Json, json};

    fn cluster(roles: Json) -> Json {
        json!({ "status": { "managedRolesStatus": roles } })
    }

    const FRESH: RoleGoal<'static> = RoleGoal::Present {
        secret_version: Some("42"),
    };

    #[test]
    fn a_role_is_present_once_reconciled_with_the_current_password() {
        let reconciled = |version: &str| {
            cluster(json!({
                "byStatus": { "reconciled": ["app_user"] },
                "passwordStatus": { "app_user": { "transactionID": 7, "resourceVersion": version } },
            }))
        };
        assert_eq!(role_status(&reconciled("42"), "app_user", FRESH), Ok(true));
        // The report from before the password changed.
        assert_eq!(role_status(&reconciled("41"), "app_user", FRESH), Ok(false));
        let pending = cluster(json!({
            "byStatus": { "reconciled": [], "pending-reconciliation": ["app_user"] },
        }));
        assert_eq!(role_status(&pending, "app_user", FRESH), Ok(false));
        assert_eq!(role_status(&json!({}), "app_user", FRESH), Ok(false));
        // An operator that reports no password states is taken at its listing.
        let listed = cluster(json!({ "byStatus": { "reconciled": ["app_user"] } }));
        assert_eq!(role_status(&listed, "app_user", FRESH), Ok(true));
    }

    #[test]
    fn a_role_is_dropped_once_it_has_no_password_state_and_nothing_is_pending() {
        let still_there = cluster(json!({
            "byStatus": { "reconciled": ["app_user"] },
            "passwordStatus": { "app_user": { "transactionID": 7 } },
        }));
        assert_eq!(
            role_status(&still_there, "app_user", RoleGoal::Absent),
            Ok(false)
        );
        let pending = cluster(json!({
            "byStatus": { "pending-reconciliation": ["app_user"] },
        }));
        assert_eq!(
            role_status(&pending, "app_user", RoleGoal::Absent),
            Ok(false)
        );
        let dropped = cluster(json!({
            "byStatus": { "reconciled": ["app_user", "other"] },
            "passwordStatus": { "other": { "transactionID": 9 } },
        }));
        assert_eq!(
            role_status(&dropped, "app_user", RoleGoal::Absent),
            Ok(true)
        );
    }

    #[test]
    fn what_the_operator_cannot_reconcile_is_said() {
        let refused = cluster(json!({
            "byStatus": { "reconciled": [] },
            "cannotReconcile": { "app_user": ["secret not found", "retrying"] },
        }));
        assert_eq!(
            role_status(&refused, "app_user", FRESH),
            Err("secret not found; retrying".to_owned())
        );
    }
}
