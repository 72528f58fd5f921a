//! A simulation of what the CloudNativePG operator does to the objects it watches, enough for a
//! client to wait for them: a `Cluster` is `Setting up primary`, then, after the configured
//! delay, `Cluster in healthy state` (Ready, all instances ready, primary `<name>-1`, services
//! `<name>-rw` and `<name>-r`), with its `<name>-app` Secret (and `<name>-superuser` when
//! superuser access is enabled); a `Database` is applied (or not, when its cluster does not
//! exist, or its owner is not a role of the cluster); a `ScheduledBackup` gets its last schedule
//! time; a healthy `Cluster` reports its
//! `spec.managed.roles` in `status.managedRolesStatus`. A test can make an object fail
//! (`Failure`). The operator writes statuses through `/status`, as field manager `manager`
//! (the name of CloudNativePG's binary).

use super::store::{Options, Request, World};
use super::{Admission, Failure, now_text};
use base64::Engine;
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

const GROUP: &str = "postgresql.cnpg.io";
const MANAGER: &str = "manager";

/// What the operator has seen of each object (by uid): the generation it last acted on, and since when.
#[derive(Default)]
pub(crate) struct Operator {
    seen: HashMap<String, (i64, Instant)>,
    /// Failures to report, by `(kind, namespace, name)`.
    pub(crate) failing: BTreeMap<(String, String, String), Failure>,
}

struct Found {
    namespace: String,
    name: String,
    object: Json,
}

fn objects_of(world: &World, plural: &str) -> Vec<Found> {
    world
        .objects
        .iter()
        .filter(|(key, object)| {
            key.group == GROUP
                && key.plural == plural
                && object.pointer("/metadata/deletionTimestamp").is_none()
        })
        .map(|(key, object)| Found {
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            object: object.clone(),
        })
        .collect()
}

fn request(world: &World, kind: &str, namespace: &str, name: &str, sub: &str) -> Option<Request> {
    let resource = world.resource_of_kind(if kind == "Secret" { "" } else { GROUP }, kind)?;
    Some(Request {
        version: resource.versions.first()?.clone(),
        resource: resource.clone(),
        namespace: Some(namespace.to_owned()),
        name: Some(name.to_owned()),
        subresource: sub.to_owned(),
    })
}

/// Ready conditions compare without their transition times.
fn same_status(current: Option<&Json>, desired: &Json) -> bool {
    let strip = |status: &Json| {
        let mut status = status.clone();
        if let Some(Json::Array(conditions)) = status.get_mut("conditions") {
            for condition in conditions {
                if let Json::Object(map) = condition {
                    map.shift_remove("lastTransitionTime");
                }
            }
        }
        for field in ["lastScheduleTime", "lastCheckTime"] {
            if let Json::Object(map) = &mut status
                && map.contains_key(field)
            {
                map.insert(field.to_owned(), Json::Null);
            }
        }
        status
    };
    current.is_some_and(|current| strip(current) == strip(desired))
}

fn write_status(world: &mut World, admission: &Admission, kind: &str, found: &Found, status: Json) {
    if same_status(found.object.get("status"), &status) {
        return;
    }
    let Some(request) = request(world, kind, &found.namespace, &found.name, "status") else {
        return;
    };
    let mut options = Options {
        manager: MANAGER.to_owned(),
        ..Options::default()
    };
    let _ = world.patch(
        &request,
        |object| {
            let mut object = object.clone();
            object["status"] = status;
            Ok(object)
        },
        &mut options,
        admission,
    );
}

impl Operator {
    /// Whether the operator has waited `delay` since it first saw this generation.
    fn settled(&mut self, object: &Json, delay: Duration, now: Instant) -> (bool, bool) {
        let uid = object
            .pointer("/metadata/uid")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        let generation = object
            .pointer("/metadata/generation")
            .and_then(Json::as_i64)
            .unwrap_or(1);
        let first = !self.seen.contains_key(&uid);
        let entry = self.seen.entry(uid).or_insert((generation, now));
        if entry.0 != generation {
            *entry = (generation, now);
        }
        (first, now.duration_since(entry.1) >= delay)
    }

    fn failure(&self, kind: &str, found: &Found) -> Option<&Failure> {
        self.failing
            .get(&(kind.to_owned(), found.namespace.clone(), found.name.clone()))
    }

    /// One pass over every CloudNativePG object.
    pub(crate) fn reconcile(&mut self, world: &mut World, admission: &Admission, delay: Duration) {
        let now = Instant::now();
        for found in objects_of(world, "clusters") {
            self.cluster(world, admission, &found, delay, now);
        }
        for found in objects_of(world, "databases") {
            let (_, settled) = self.settled(&found.object, delay, now);
            let generation = found.object.pointer("/metadata/generation").cloned();
            let status = if let Some(failure) = self.failure("Database", &found) {
                json!({"applied": false, "message": failure.message, "observedGeneration": generation})
            } else if !settled {
                continue;
            } else {
                let cluster = found
                    .object
                    .pointer("/spec/cluster/name")
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                let cluster_object =
                    world
                        .resource_of_kind(GROUP, "Cluster")
                        .and_then(|resource| {
                            world.objects.iter().find_map(|(key, object)| {
                                (key.group == GROUP
                                    && key.plural == resource.plural
                                    && key.namespace == found.namespace
                                    && key.name == cluster)
                                    .then_some(object)
                            })
                        });
                if let Some(cluster_object) = cluster_object {
                    let owner = found
                        .object
                        .pointer("/spec/owner")
                        .and_then(Json::as_str)
                        .unwrap_or_default();
                    if role_exists(cluster_object, owner) {
                        json!({"applied": true, "observedGeneration": generation})
                    } else {
                        json!({"applied": false, "observedGeneration": generation,
                            "message": format!("ERROR: role {owner:?} does not exist (SQLSTATE 42704)")})
                    }
                } else {
                    json!({"applied": false, "observedGeneration": generation,
                        "message": format!("cluster {cluster:?} not found in namespace {:?}", found.namespace)})
                }
            };
            write_status(world, admission, "Database", &found, status);
        }
        for found in objects_of(world, "scheduledbackups") {
            let (_, settled) = self.settled(&found.object, delay, now);
            let mut status = found.object.get("status").cloned().unwrap_or(json!({}));
            if let Some(failure) = self.failure("ScheduledBackup", &found) {
                status["error"] = json!(failure.message);
            } else if settled && status.get("lastScheduleTime").is_none() {
                status["lastScheduleTime"] = json!(now_text());
                status["lastCheckTime"] = json!(now_text());
            } else {
                continue;
            }
            write_status(world, admission, "ScheduledBackup", &found, status);
        }
    }

    fn cluster(
        &mut self,
        world: &mut World,
        admission: &Admission,
        found: &Found,
        delay: Duration,
        now: Instant,
    ) {
        let (first, settled) = self.settled(&found.object, delay, now);
        if first {
            create_secrets(world, admission, found);
        }
        let name = &found.name;
        let instances = found
            .object
            .pointer("/spec/instances")
            .and_then(Json::as_i64)
            .unwrap_or(1);
        let previous = found.object.get("status");
        let ready_before = previous
            .and_then(|s| s.get("readyInstances"))
            .and_then(Json::as_i64)
            .unwrap_or(0);
        let condition = |status: &str, reason: &str, message: &str| {
            let since = previous
                .and_then(|s| s.get("conditions"))
                .and_then(Json::as_array)
                .and_then(|list| {
                    list.iter().find(|c| {
                        c.get("type") == Some(&json!("Ready"))
                            && c.get("status") == Some(&json!(status))
                    })
                })
                .and_then(|c| c.get("lastTransitionTime").cloned())
                .unwrap_or_else(|| json!(now_text()));
            json!([{"type": "Ready", "status": status, "reason": reason, "message": message,
                "lastTransitionTime": since}])
        };
        let mut status = json!({
            "instances": instances,
            "writeService": format!("{name}-rw"),
            "readService": format!("{name}-r"),
            "latestGeneratedNode": instances,
        });
        if let Some(failure) = self.failure("Cluster", found) {
            status["phase"] = json!(failure.phase);
            status["phaseReason"] = json!(failure.message);
            status["readyInstances"] = json!(0);
            status["conditions"] = condition("False", "ClusterIsNotReady", &failure.message);
        } else if settled {
            status["phase"] = json!("Cluster in healthy state");
            status["readyInstances"] = json!(instances);
            status["currentPrimary"] = json!(format!("{name}-1"));
            status["targetPrimary"] = json!(format!("{name}-1"));
            status["instanceNames"] = json!(
                (1..=instances)
                    .map(|i| format!("{name}-{i}"))
                    .collect::<Vec<_>>()
            );
            status["conditions"] = condition("True", "ClusterIsReady", "Cluster is Ready");
            status["managedRolesStatus"] = managed_roles_status(world, found, previous);
        } else {
            let phase = if previous.and_then(|s| s.get("currentPrimary")).is_none() {
                "Setting up primary"
            } else if instances > ready_before {
                "Creating a new replica"
            } else {
                "Upgrading cluster"
            };
            status["phase"] = json!(phase);
            status["readyInstances"] = json!(ready_before.min(instances));
            if let Some(primary) = previous.and_then(|s| s.get("currentPrimary")) {
                status["currentPrimary"] = primary.clone();
                status["targetPrimary"] = primary.clone();
            }
            status["conditions"] = condition("False", "ClusterIsNotReady", "Cluster Is Not Ready");
            // The instance manager's last report stays while the cluster works on a change: a
            // role just set absent is still listed until it is dropped.
            if let Some(roles) = previous.and_then(|s| s.get("managedRolesStatus")) {
                status["managedRolesStatus"] = roles.clone();
            }
        }
        write_status(world, admission, "Cluster", found, status);
    }
}

/// Whether a role exists in a cluster's PostgreSQL: `postgres`, the bootstrap owner (`app` by
/// default), or a managed role the operator reports a password state for (it reports one for
/// every managed role in the database, none for a dropped one).
fn role_exists(cluster: &Json, role: &str) -> bool {
    let bootstrap_owner = cluster
        .pointer("/spec/bootstrap/initdb/owner")
        .and_then(Json::as_str)
        .or_else(|| {
            cluster
                .pointer("/spec/bootstrap/initdb/database")
                .and_then(Json::as_str)
        })
        .unwrap_or("app");
    role == "postgres"
        || role == bootstrap_owner
        || cluster
            .pointer("/status/managedRolesStatus/passwordStatus")
            .and_then(Json::as_object)
            .is_some_and(|states| states.contains_key(role))
}

/// The status of `spec.managed.roles`, as CloudNativePG's instance manager reports it (its
/// `evaluateRoleActions`): a role to be present is `reconciled` once its password Secret (when
/// it names one) exists in the cluster's namespace, else it cannot be reconciled, with the
/// reason; a role to be absent that is not in the database is `reconciled` too. Every role in
/// the database has a `passwordStatus` entry: the transaction that last changed it and the
/// `resourceVersion` of the Secret its password came from. `postgres` and `streaming_replica`
/// are reserved.
fn managed_roles_status(world: &World, found: &Found, previous: Option<&Json>) -> Json {
    let roles = found
        .object
        .pointer("/spec/managed/roles")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let before = previous
        .and_then(|status| status.pointer("/managedRolesStatus/passwordStatus"))
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    let mut last_transaction = before
        .values()
        .filter_map(|state| state.get("transactionID").and_then(Json::as_i64))
        .max()
        .unwrap_or(1000);
    let mut reconciled = Vec::new();
    let mut cannot = serde_json::Map::new();
    let mut passwords = serde_json::Map::new();
    for role in &roles {
        let Some(name) = role.get("name").and_then(Json::as_str) else {
            continue;
        };
        if role.get("ensure").and_then(Json::as_str) == Some("absent") {
            reconciled.push(name.to_owned());
            continue;
        }
        let secret_name = role.pointer("/passwordSecret/name").and_then(Json::as_str);
        let secret = secret_name.map(|secret| secret_of(world, &found.namespace, secret));
        match (secret_name, secret) {
            (Some(secret), Some(None)) => {
                cannot.insert(
                    name.to_owned(),
                    json!([format!(
                        "could not get the password secret {}/{secret}: secrets {secret:?} not found",
                        found.namespace
                    )]),
                );
            }
            (_, secret) => {
                reconciled.push(name.to_owned());
                let version = secret
                    .flatten()
                    .and_then(|object| object.pointer("/metadata/resourceVersion"))
                    .cloned();
                let state = password_state(before.get(name), version, &mut last_transaction);
                passwords.insert(name.to_owned(), state);
            }
        }
    }
    reconciled.sort();
    let mut status = json!({
        "byStatus": {
            "reconciled": reconciled,
            "reserved": ["postgres", "streaming_replica"],
        },
    });
    if !cannot.is_empty() {
        status["cannotReconcile"] = Json::Object(cannot);
    }
    if !passwords.is_empty() {
        status["passwordStatus"] = Json::Object(passwords);
    }
    status
}

/// A Secret of the namespace, if it exists.
fn secret_of<'a>(world: &'a World, namespace: &str, name: &str) -> Option<&'a Json> {
    world.objects.iter().find_map(|(key, object)| {
        (key.group.is_empty()
            && key.plural == "secrets"
            && key.namespace == namespace
            && key.name == name)
            .then_some(object)
    })
}

/// A role's password state: the one reported before while its Secret's version is the same,
/// else a new transaction with the Secret's version.
fn password_state(
    before: Option<&Json>,
    version: Option<Json>,
    last_transaction: &mut i64,
) -> Json {
    if let Some(state) = before.filter(|state| state.get("resourceVersion") == version.as_ref()) {
        return state.clone();
    }
    *last_transaction += 1;
    let mut state = json!({ "transactionID": *last_transaction });
    if let Some(version) = version {
        state["resourceVersion"] = version;
    }
    state
}

/// `<name>-app` (unless `bootstrap.initdb.secret` names one) and, with
/// `enableSuperuserAccess`, `<name>-superuser`, as CloudNativePG writes them.
fn create_secrets(world: &mut World, admission: &Admission, found: &Found) {
    let cluster = &found.object;
    let name = &found.name;
    let namespace = &found.namespace;
    let initdb = cluster.pointer("/spec/bootstrap/initdb");
    let database = initdb
        .and_then(|i| i.get("database"))
        .and_then(Json::as_str)
        .unwrap_or("app")
        .to_owned();
    let owner = initdb
        .and_then(|i| i.get("owner"))
        .and_then(Json::as_str)
        .unwrap_or(&database)
        .to_owned();
    let mut secrets = Vec::new();
    if initdb.and_then(|i| i.pointer("/secret/name")).is_none() {
        secrets.push(("app", owner, database));
    }
    if cluster.pointer("/spec/enableSuperuserAccess") == Some(&json!(true))
        && cluster.pointer("/spec/superuserSecret/name").is_none()
    {
        secrets.push(("superuser", "postgres".to_owned(), "*".to_owned()));
    }
    let api_version = cluster
        .get("apiVersion")
        .cloned()
        .unwrap_or(json!("postgresql.cnpg.io/v1"));
    for (user_type, user, dbname) in secrets {
        let secret_name = format!("{name}-{user_type}");
        let Some(request) = request(world, "Secret", namespace, &secret_name, "") else {
            return;
        };
        if world.objects.contains_key(&request.key(&secret_name)) {
            continue;
        }
        let password: String = (0..64).map(|_| fastrand::alphanumeric()).collect();
        let data = secret_data(name, namespace, &user, &dbname, &password);
        let secret = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": secret_name,
                "namespace": namespace,
                "labels": {"cnpg.io/cluster": name, "cnpg.io/reload": "true", "cnpg.io/userType": user_type},
                "ownerReferences": [{"apiVersion": api_version, "kind": "Cluster", "name": name,
                    "uid": cluster.pointer("/metadata/uid").cloned().unwrap_or(Json::Null),
                    "controller": true, "blockOwnerDeletion": true}],
            },
            "type": "kubernetes.io/basic-auth",
            "data": data,
        });
        let mut options = Options {
            manager: MANAGER.to_owned(),
            ..Options::default()
        };
        let _ = world.create(&request, secret, &mut options, admission);
    }
}

/// The keys of a CloudNativePG user Secret, base64-encoded.
fn secret_data(
    name: &str,
    namespace: &str,
    user: &str,
    dbname: &str,
    password: &str,
) -> serde_json::Map<String, Json> {
    let host = format!("{name}-rw");
    let fqdn = format!("{host}.{namespace}.svc.cluster.local");
    let db_in_uri = if dbname == "*" {
        String::new()
    } else {
        format!("/{dbname}")
    };
    let data: Vec<(&str, String)> = vec![
        ("username", user.to_owned()),
        ("user", user.to_owned()),
        ("password", password.to_owned()),
        ("dbname", dbname.to_owned()),
        ("host", host.clone()),
        ("port", "5432".to_owned()),
        (
            "pgpass",
            format!("{host}:5432:{dbname}:{user}:{password}\n"),
        ),
        (
            "uri",
            format!("postgresql://{user}:{password}@{host}.{namespace}:5432{db_in_uri}"),
        ),
        (
            "jdbc-uri",
            format!(
                "jdbc:postgresql://{host}.{namespace}:5432{db_in_uri}?password={password}&user={user}"
            ),
        ),
        (
            "fqdn-uri",
            format!("postgresql://{user}:{password}@{fqdn}:5432{db_in_uri}"),
        ),
        (
            "fqdn-jdbc-uri",
            format!("jdbc:postgresql://{fqdn}:5432{db_in_uri}?password={password}&user={user}"),
        ),
    ];
    data.into_iter()
        .map(|(key, value)| {
            (
                key.to_owned(),
                json!(base64::engine::general_purpose::STANDARD.encode(value)),
            )
        })
        .collect()
}
