//! What the fake keeps (every object, by group, resource, namespace and name, and the global
//! resource version) and the writes the API performs on it: create, update, server-side apply,
//! delete with finalizers and propagation, and the garbage collection of dependents.

use super::fields;
use super::managed::{self, Writer};
use super::resources::{CRD_GROUP, Resource, builtins};
use super::status::{ApiError, FieldError, Target};
use super::{Admission, now_text};
use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;

/// Where an object is kept.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) group: String,
    pub(crate) plural: String,
    pub(crate) namespace: String,
    pub(crate) name: String,
}

pub(crate) struct World {
    pub(crate) resources: Vec<Resource>,
    pub(crate) objects: BTreeMap<Key, Json>,
    pub(crate) revision: u64,
}

/// The object (or collection) a request is about.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) resource: Resource,
    pub(crate) version: String,
    pub(crate) namespace: Option<String>,
    pub(crate) name: Option<String>,
    /// `""` or `"status"`.
    pub(crate) subresource: String,
}

impl Request {
    pub(crate) fn key(&self, name: &str) -> Key {
        Key {
            group: self.resource.group.clone(),
            plural: self.resource.plural.clone(),
            namespace: self.namespace.clone().unwrap_or_default(),
            name: name.to_owned(),
        }
    }

    pub(crate) fn target<'a>(&'a self, name: &'a str) -> Target<'a> {
        Target {
            group: &self.resource.group,
            plural: &self.resource.plural,
            name,
        }
    }

    fn schema(&self) -> Option<&Json> {
        self.resource.schema(&self.version)
    }

    fn api_version(&self) -> String {
        self.resource.api_version(&self.version)
    }
}

/// How a write is made.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    pub(crate) dry_run: bool,
    pub(crate) manager: String,
    pub(crate) force: bool,
    /// `fieldValidation=Strict`: unknown fields fail the request instead of being dropped.
    pub(crate) strict: bool,
    /// Warnings for the `Warning` header (unknown fields dropped).
    pub(crate) warnings: Vec<String>,
}

pub(crate) type Answer = Result<(StatusCode, Json), ApiError>;

fn text<'a>(object: &'a Json, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(Json::as_str)
}

fn metadata(object: &mut Json) -> &mut Map<String, Json> {
    if !object.get("metadata").is_some_and(Json::is_object) {
        object["metadata"] = json!({});
    }
    match object.get_mut("metadata") {
        Some(Json::Object(map)) => map,
        // Just made an object above.
        _ => unreachable_metadata(),
    }
}

#[expect(
    clippy::panic,
    reason = "metadata was made an object on the line before"
)]
fn unreachable_metadata() -> ! {
    panic!("metadata is an object")
}

pub(crate) fn finalizers(object: &Json) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Json::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn uid_of(object: &Json) -> String {
    text(object, "/metadata/uid").unwrap_or_default().to_owned()
}

impl World {
    pub(crate) fn new(crds: &[Json]) -> World {
        let mut world = World {
            resources: builtins(),
            objects: BTreeMap::new(),
            revision: 1,
        };
        let now = now_text();
        for name in ["default", "kube-system", "kube-public"] {
            let key = Key {
                group: String::new(),
                plural: "namespaces".to_owned(),
                namespace: String::new(),
                name: name.to_owned(),
            };
            let object = json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
            world.insert_new(key, object, &now);
        }
        for crd in crds {
            let Some(name) = text(crd, "/metadata/name") else {
                continue;
            };
            let key = Key {
                group: CRD_GROUP.to_owned(),
                plural: "customresourcedefinitions".to_owned(),
                namespace: String::new(),
                name: name.to_owned(),
            };
            let mut object = crd.clone();
            object["status"] = crd_status(crd);
            world.insert_new(key, object, &now);
        }
        world.refresh_resources();
        world
    }

    fn insert_new(&mut self, key: Key, mut object: Json, now: &str) {
        self.revision += 1;
        let meta = metadata(&mut object);
        meta.insert("uid".to_owned(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert(
            "resourceVersion".to_owned(),
            json!(self.revision.to_string()),
        );
        meta.insert("creationTimestamp".to_owned(), json!(now));
        self.objects.insert(key, object);
    }

    /// The built-in resources and one per stored CRD.
    pub(crate) fn refresh_resources(&mut self) {
        let mut resources = builtins();
        for (key, crd) in &self.objects {
            if key.group == CRD_GROUP
                && key.plural == "customresourcedefinitions"
                && let Some(resource) = Resource::from_crd(crd)
            {
                resources.push(resource);
            }
        }
        self.resources = resources;
    }

    /// The resource of `kind` in `group`.
    pub(crate) fn resource_of_kind(&self, group: &str, kind: &str) -> Option<&Resource> {
        self.resources
            .iter()
            .find(|resource| resource.group == group && resource.kind == kind)
    }

    /// An object as served in `version`.
    fn render(request: &Request, object: &Json) -> Json {
        let mut object = object.clone();
        if let Json::Object(map) = &mut object {
            let mut out = Map::new();
            out.insert("apiVersion".to_owned(), json!(request.api_version()));
            out.insert("kind".to_owned(), json!(request.resource.kind));
            for (key, value) in std::mem::take(map) {
                if key != "apiVersion" && key != "kind" {
                    out.insert(key, value);
                }
            }
            *map = out;
        }
        object
    }

    pub(crate) fn get(&self, request: &Request) -> Answer {
        let name = request.name.as_deref().unwrap_or_default();
        let object = self
            .objects
            .get(&request.key(name))
            .ok_or_else(|| ApiError::not_found(&request.target(name)))?;
        Ok((StatusCode::OK, World::render(request, object)))
    }

    /// `GET` of a collection, filtered by label and field selectors.
    pub(crate) fn list(
        &self,
        request: &Request,
        labels: &[Requirement],
        fields_wanted: &[(String, bool, String)],
    ) -> Answer {
        let items: Vec<Json> = self
            .objects
            .iter()
            .filter(|(key, _)| {
                key.group == request.resource.group
                    && key.plural == request.resource.plural
                    && request
                        .namespace
                        .as_ref()
                        .is_none_or(|ns| *ns == key.namespace)
            })
            .filter(|(_, object)| labels.iter().all(|requirement| requirement.matches(object)))
            .filter(|(key, _)| {
                fields_wanted.iter().all(|(field, equal, value)| {
                    let actual = match field.as_str() {
                        "metadata.name" => &key.name,
                        "metadata.namespace" => &key.namespace,
                        _ => return true,
                    };
                    (actual == value) == *equal
                })
            })
            .map(|(_, object)| {
                let mut item = World::render(request, object);
                if request.resource.builtin
                    && let Json::Object(map) = &mut item
                {
                    map.shift_remove("apiVersion");
                    map.shift_remove("kind");
                }
                item
            })
            .collect();
        Ok((
            StatusCode::OK,
            json!({
                "kind": format!("{}List", request.resource.kind),
                "apiVersion": request.api_version(),
                "metadata": {"resourceVersion": self.revision.to_string()},
                "items": items,
            }),
        ))
    }

    /// Fails unless the namespace of a namespaced request exists and is not terminating.
    fn check_namespace(&self, request: &Request, name: &str) -> Result<(), ApiError> {
        let Some(namespace) = request.namespace.as_deref() else {
            return Ok(());
        };
        let key = Key {
            group: String::new(),
            plural: "namespaces".to_owned(),
            namespace: String::new(),
            name: namespace.to_owned(),
        };
        let Some(object) = self.objects.get(&key) else {
            return Err(ApiError::not_found(&Target {
                group: "",
                plural: "namespaces",
                name: namespace,
            }));
        };
        if object.pointer("/metadata/deletionTimestamp").is_some() {
            let mut error = ApiError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!(
                    "{} {name:?} is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                    request.resource.plural
                ),
            );
            error.details = Some(Box::new(
                json!({"name": name, "kind": request.resource.plural,
                "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {namespace} is being terminated"), "field": "metadata.namespace"}]}),
            ));
            return Err(error);
        }
        Ok(())
    }

    /// `POST`: a new object (`409 AlreadyExists` when the name is taken).
    pub(crate) fn create(
        &mut self,
        request: &Request,
        mut body: Json,
        options: &mut Options,
        admission: &Admission,
    ) -> Answer {
        check_kind(request, &body)?;
        if text(&body, "/metadata/name").is_none_or(str::is_empty)
            && let Some(prefix) = text(&body, "/metadata/generateName").map(str::to_owned)
        {
            let suffix: String = (0..5)
                .map(|_| char::from(b"bcdfghjklmnpqrstvwxz2456789"[fastrand::usize(..27)]))
                .collect();
            metadata(&mut body).insert("name".to_owned(), json!(format!("{prefix}{suffix}")));
        }
        let name = text(&body, "/metadata/name").unwrap_or_default().to_owned();
        check_name(request, &name)?;
        if let (Some(url), Some(given)) = (
            request.namespace.as_deref(),
            text(&body, "/metadata/namespace"),
        ) && url != given
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        self.check_namespace(request, &name)?;
        if self.objects.contains_key(&request.key(&name)) {
            return Err(ApiError::already_exists(&request.target(&name)));
        }
        if let Json::Object(map) = &mut body
            && request.resource.status_subresource
        {
            map.shift_remove("status");
        }
        self.commit(
            request,
            &name,
            None,
            body,
            options,
            admission,
            Ownership::Update,
        )
    }

    /// `PUT`: replaces the object (`409 Conflict` on a stale `resourceVersion`).
    pub(crate) fn update(
        &mut self,
        request: &Request,
        body: Json,
        options: &mut Options,
        admission: &Admission,
    ) -> Answer {
        check_kind(request, &body)?;
        let name = request.name.clone().unwrap_or_default();
        if let Some(given) = text(&body, "/metadata/name")
            && given != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({given}) does not match the name on the URL ({name})"
            )));
        }
        let old = self
            .objects
            .get(&request.key(&name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&request.target(&name)))?;
        if let Some(version) = text(&body, "/metadata/resourceVersion")
            && Some(version) != text(&old, "/metadata/resourceVersion")
        {
            return Err(ApiError::conflict(&request.target(&name)));
        }
        self.commit(
            request,
            &name,
            Some(old),
            body,
            options,
            admission,
            Ownership::Update,
        )
    }

    /// A merge or JSON patch: the patched object, written as an update.
    pub(crate) fn patch(
        &mut self,
        request: &Request,
        change: impl FnOnce(&Json) -> Result<Json, ApiError>,
        options: &mut Options,
        admission: &Admission,
    ) -> Answer {
        let name = request.name.clone().unwrap_or_default();
        let old = self
            .objects
            .get(&request.key(&name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&request.target(&name)))?;
        let new = change(&World::render(request, &old))?;
        if let Some(version) = text(&new, "/metadata/resourceVersion")
            && Some(version) != text(&old, "/metadata/resourceVersion")
        {
            return Err(ApiError::conflict(&request.target(&name)));
        }
        self.commit(
            request,
            &name,
            Some(old),
            new,
            options,
            admission,
            Ownership::Update,
        )
    }

    /// Server-side apply (`application/apply-patch+yaml`); creates the object when it is absent.
    pub(crate) fn apply(
        &mut self,
        request: &Request,
        mut config: Json,
        options: &mut Options,
        admission: &Admission,
    ) -> Answer {
        let name = request.name.clone().unwrap_or_default();
        check_applied(request, &config, &name)?;
        prune(request, &mut config, options)?;
        normalize_secret(request, &mut config)?;
        let existing = self.objects.get(&request.key(&name)).cloned();
        // An applied configuration with a resourceVersion is a precondition, as for updates.
        if let Some(wanted) = text(&config, "/metadata/resourceVersion")
            && existing
                .as_ref()
                .and_then(|object| text(object, "/metadata/resourceVersion"))
                != Some(wanted)
        {
            return Err(ApiError::conflict(&request.target(&name)));
        }
        let live = match &existing {
            Some(object) => World::render(request, object),
            None => {
                check_name(request, &name)?;
                self.check_namespace(request, &name)?;
                if request.subresource == "status" {
                    return Err(ApiError::not_found(&request.target(&name)));
                }
                let mut skeleton = json!({"apiVersion": request.api_version(),
                    "kind": request.resource.kind, "metadata": {"name": name}});
                if let Some(namespace) = &request.namespace {
                    skeleton["metadata"]["namespace"] = json!(namespace);
                }
                skeleton
            }
        };
        let now = now_text();
        let api_version = request.api_version();
        let writer = Writer {
            manager: &options.manager,
            api_version: &api_version,
            subresource: &request.subresource,
            now: &now,
        };
        let merged = managed::apply(
            &live,
            &config,
            request.schema(),
            request.resource.status_subresource,
            &writer,
            options.force,
        )
        .map_err(|conflicts| {
            let (message, causes) = managed::conflict_message(&conflicts);
            let mut error = ApiError::new(StatusCode::CONFLICT, "Conflict", message);
            error.details = Some(Box::new(json!({"causes": causes})));
            error
        })?;
        self.commit(
            request,
            &name,
            existing,
            merged,
            options,
            admission,
            Ownership::Recorded,
        )
    }

    // Long: one write's steps in the API server's order (subresource resets, secret data,
    // pruning, defaults, validation, managed fields, generation, no-op detection, dry run).
    #[expect(clippy::too_many_arguments, reason = "the parts of one write")]
    fn commit(
        &mut self,
        request: &Request,
        name: &str,
        old: Option<Json>,
        mut new: Json,
        options: &mut Options,
        admission: &Admission,
        ownership: Ownership,
    ) -> Answer {
        let status_sub = request.resource.status_subresource;
        // Writes through the main resource keep the status; writes to /status only change it.
        if let Some(previous) = &old {
            if request.subresource == "status" {
                let status = new.get("status").cloned();
                let mut kept = World::render(request, previous);
                if ownership == Ownership::Recorded {
                    kept["metadata"]["managedFields"] = new
                        .pointer("/metadata/managedFields")
                        .cloned()
                        .unwrap_or(json!([]));
                }
                match status {
                    Some(status) => kept["status"] = status,
                    None => {
                        if let Json::Object(map) = &mut kept {
                            map.shift_remove("status");
                        }
                    }
                }
                new = kept;
            } else if status_sub {
                match previous.get("status") {
                    Some(status) => new["status"] = status.clone(),
                    None => {
                        if let Json::Object(map) = &mut new {
                            map.shift_remove("status");
                        }
                    }
                }
            }
        }
        let now = now_text();
        let api_version = request.api_version();
        // The fields only the server sets.
        {
            let previous_meta = old.as_ref().and_then(|o| o.get("metadata")).cloned();
            let meta = metadata(&mut new);
            meta.insert("name".to_owned(), json!(name));
            if let Some(namespace) = &request.namespace {
                meta.insert("namespace".to_owned(), json!(namespace));
            } else {
                meta.shift_remove("namespace");
            }
            for field in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "resourceVersion",
            ] {
                match previous_meta.as_ref().and_then(|m| m.get(field)) {
                    Some(value) => {
                        meta.insert(field.to_owned(), value.clone());
                    }
                    None => {
                        meta.shift_remove(field);
                    }
                }
            }
            if ownership == Ownership::Update {
                match previous_meta.as_ref().and_then(|m| m.get("managedFields")) {
                    Some(value) => meta.insert("managedFields".to_owned(), value.clone()),
                    None => meta.shift_remove("managedFields"),
                };
            }
            meta.entry("uid")
                .or_insert_with(|| json!(uuid::Uuid::new_v4().to_string()));
            meta.entry("creationTimestamp")
                .or_insert_with(|| json!(now));
        }
        new["apiVersion"] = json!(api_version);
        new["kind"] = json!(request.resource.kind);
        if request.resource.group == CRD_GROUP
            && request.subresource.is_empty()
            && new.get("status").is_none()
        {
            new["status"] = crd_status(&new);
        }
        prune(request, &mut new, options)?;
        normalize_secret(request, &mut new)?;
        let qualified = format!("{}.{}", request.resource.kind, request.resource.group);
        if let Some(defaulter) = admission.defaulters.get(&qualified) {
            defaulter(&mut new);
        }
        if let Some(validator) = admission.validators.get(&qualified) {
            let previous = old.as_ref().map(|o| World::render(request, o));
            let errors: Vec<FieldError> = validator(&new, previous.as_ref());
            if !errors.is_empty() {
                return Err(ApiError::invalid(
                    &request.resource.group,
                    &request.resource.kind,
                    name,
                    &errors,
                ));
            }
        }
        if ownership == Ownership::Update {
            let before = old.clone().unwrap_or_else(|| json!({"metadata": {}}));
            let writer = Writer {
                manager: &options.manager,
                api_version: &api_version,
                subresource: &request.subresource,
                now: &now,
            };
            managed::record_update(&before, &mut new, request.schema(), status_sub, &writer);
        }
        let tracks_generation = !request.resource.builtin || request.resource.group == CRD_GROUP;
        if tracks_generation {
            let generation = old
                .as_ref()
                .and_then(|o| o.pointer("/metadata/generation"))
                .and_then(Json::as_i64);
            let spec_changed = old
                .as_ref()
                .is_none_or(|o| spec_part(o, status_sub) != spec_part(&new, status_sub));
            let next = match generation {
                Some(value) if spec_changed => value + 1,
                Some(value) => value,
                None => 1,
            };
            metadata(&mut new).insert("generation".to_owned(), json!(next));
        }
        if let Some(previous) = &old
            && without_times(previous) == without_times(&new)
        {
            return Ok((StatusCode::OK, World::render(request, previous)));
        }
        let created = old.is_none();
        let code = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        if options.dry_run {
            return Ok((code, World::render(request, &new)));
        }
        self.revision += 1;
        metadata(&mut new).insert(
            "resourceVersion".to_owned(),
            json!(self.revision.to_string()),
        );
        let key = request.key(name);
        let finished =
            new.pointer("/metadata/deletionTimestamp").is_some() && finalizers(&new).is_empty();
        let rendered = World::render(request, &new);
        if finished {
            self.objects.remove(&key);
        } else {
            self.objects.insert(key, new);
        }
        if request.resource.group == CRD_GROUP {
            self.refresh_resources();
        }
        self.collect_garbage();
        Ok((code, rendered))
    }

    /// `DELETE` with a propagation policy (`Background` by default).
    pub(crate) fn delete(&mut self, request: &Request, policy: &str, dry_run: bool) -> Answer {
        let name = request.name.clone().unwrap_or_default();
        let key = request.key(&name);
        let mut object = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&request.target(&name)))?;
        if dry_run || object.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok((StatusCode::OK, World::render(request, &object)));
        }
        let mut pending = finalizers(&object);
        match policy {
            "Foreground" => pending.push("foregroundDeletion".to_owned()),
            "Orphan" => pending.push("orphan".to_owned()),
            _ => {}
        }
        if request.resource.plural == "namespaces" && request.resource.group.is_empty() {
            self.terminate_namespace(&name);
            object = self.objects.get(&key).cloned().unwrap_or(object);
            self.collect_garbage();
            return Ok((StatusCode::OK, World::render(request, &object)));
        }
        self.revision += 1;
        if pending.is_empty() {
            self.objects.remove(&key);
            if request.resource.group == CRD_GROUP {
                self.remove_instances(&object);
                self.refresh_resources();
            }
            if request.resource.group.is_empty() {
                // The core registry answers an immediate deletion with a success Status, where
                // custom resources return the deleted object.
                self.collect_garbage();
                return Ok((
                    StatusCode::OK,
                    json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Success",
                        "details": {"name": name, "kind": request.resource.plural, "uid": uid_of(&object)}}),
                ));
            }
        } else {
            let generation = object
                .pointer("/metadata/generation")
                .and_then(Json::as_i64);
            let meta = metadata(&mut object);
            meta.insert("finalizers".to_owned(), json!(pending));
            meta.insert("deletionTimestamp".to_owned(), json!(now_text()));
            meta.insert("deletionGracePeriodSeconds".to_owned(), json!(0));
            if let Some(generation) = generation {
                meta.insert("generation".to_owned(), json!(generation + 1));
            }
            meta.insert(
                "resourceVersion".to_owned(),
                json!(self.revision.to_string()),
            );
            self.objects.insert(key, object.clone());
        }
        self.collect_garbage();
        Ok((StatusCode::OK, World::render(request, &object)))
    }

    /// A deleted CRD takes its objects with it.
    fn remove_instances(&mut self, crd: &Json) {
        let Some(resource) = Resource::from_crd(crd) else {
            return;
        };
        self.objects
            .retain(|key, _| !(key.group == resource.group && key.plural == resource.plural));
    }

    /// Marks a namespace terminating and deletes everything in it; it goes once it is empty.
    fn terminate_namespace(&mut self, name: &str) {
        let now = now_text();
        self.revision += 1;
        let revision = self.revision.to_string();
        let key = Key {
            group: String::new(),
            plural: "namespaces".to_owned(),
            namespace: String::new(),
            name: name.to_owned(),
        };
        if let Some(namespace) = self.objects.get_mut(&key) {
            let meta = metadata(namespace);
            meta.insert("deletionTimestamp".to_owned(), json!(now));
            meta.insert("resourceVersion".to_owned(), json!(revision));
            namespace["status"] = json!({"phase": "Terminating"});
        }
        let inside: Vec<Key> = self
            .objects
            .keys()
            .filter(|key| key.namespace == name)
            .cloned()
            .collect();
        for key in inside {
            self.mark_deleted(&key, &now);
        }
    }

    /// Deletes an object in the background: gone now unless it has finalizers.
    fn mark_deleted(&mut self, key: &Key, now: &str) {
        let Some(object) = self.objects.get_mut(key) else {
            return;
        };
        self.revision += 1;
        if finalizers(object).is_empty() {
            self.objects.remove(key);
        } else if object.pointer("/metadata/deletionTimestamp").is_none() {
            let meta = metadata(object);
            meta.insert("deletionTimestamp".to_owned(), json!(now));
            meta.insert(
                "resourceVersion".to_owned(),
                json!(self.revision.to_string()),
            );
        }
    }

    /// The garbage collector and the namespace controller, run to a fixed point: dependents
    /// of deleted owners go (background), foreground deletions wait for their dependents,
    /// orphaning ones release them, and emptied terminating namespaces go.
    // Long: the collector's passes (foreground, orphaning, namespaces, dependents) in the one
    // fixed-point loop they share.
    pub(crate) fn collect_garbage(&mut self) {
        let now = now_text();
        for _ in 0..64 {
            let mut changed = false;
            let uids: BTreeMap<String, Key> = self
                .objects
                .iter()
                .map(|(key, object)| (uid_of(object), key.clone()))
                .collect();
            let dependents_of = |world: &World, uid: &str| -> Vec<Key> {
                world
                    .objects
                    .iter()
                    .filter(|(_, object)| owner_uids(object).iter().any(|owner| owner == uid))
                    .map(|(key, _)| key.clone())
                    .collect()
            };
            let deleting: Vec<(Key, Json)> = self
                .objects
                .iter()
                .filter(|(_, object)| object.pointer("/metadata/deletionTimestamp").is_some())
                .map(|(key, object)| (key.clone(), object.clone()))
                .collect();
            for (key, object) in deleting {
                let uid = uid_of(&object);
                let pending = finalizers(&object);
                if pending.iter().any(|f| f == "foregroundDeletion") {
                    let dependents = dependents_of(self, &uid);
                    if dependents.is_empty() {
                        self.drop_finalizer(&key, "foregroundDeletion");
                    } else {
                        for dependent in dependents {
                            if self
                                .objects
                                .get(&dependent)
                                .is_some_and(|o| o.pointer("/metadata/deletionTimestamp").is_none())
                            {
                                self.mark_deleted(&dependent, &now);
                            }
                        }
                    }
                    changed = true;
                } else if pending.iter().any(|f| f == "orphan") {
                    for dependent in dependents_of(self, &uid) {
                        if let Some(object) = self.objects.get_mut(&dependent)
                            && let Some(Json::Array(owners)) =
                                object.pointer_mut("/metadata/ownerReferences")
                        {
                            owners.retain(|owner| {
                                owner.get("uid").and_then(Json::as_str) != Some(uid.as_str())
                            });
                        }
                    }
                    self.drop_finalizer(&key, "orphan");
                    changed = true;
                } else if key.plural == "namespaces" && key.group.is_empty() {
                    if !self.objects.keys().any(|inner| inner.namespace == key.name) {
                        self.objects.remove(&key);
                        changed = true;
                    }
                } else if pending.is_empty() {
                    self.objects.remove(&key);
                    changed = true;
                }
            }
            let orphans: Vec<Key> = self
                .objects
                .iter()
                .filter(|(_, object)| {
                    let owners = owner_uids(object);
                    !owners.is_empty()
                        && owners.iter().all(|owner| !uids.contains_key(owner))
                        && object.pointer("/metadata/deletionTimestamp").is_none()
                })
                .map(|(key, _)| key.clone())
                .collect();
            for key in orphans {
                self.mark_deleted(&key, &now);
                changed = true;
            }
            if !changed {
                return;
            }
        }
    }

    fn drop_finalizer(&mut self, key: &Key, finalizer: &str) {
        self.revision += 1;
        let revision = self.revision.to_string();
        let Some(object) = self.objects.get_mut(key) else {
            return;
        };
        let remaining: Vec<String> = finalizers(object)
            .into_iter()
            .filter(|f| f != finalizer)
            .collect();
        if remaining.is_empty() {
            self.objects.remove(key);
        } else {
            let meta = metadata(object);
            meta.insert("finalizers".to_owned(), json!(remaining));
            meta.insert("resourceVersion".to_owned(), json!(revision));
        }
    }
}

/// How the managed fields of a write are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ownership {
    /// Computed as an update of the options' manager.
    Update,
    /// Already computed (server-side apply).
    Recorded,
}

fn owner_uids(object: &Json) -> Vec<String> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Json::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|owner| owner.get("uid").and_then(Json::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What changes the generation: everything but metadata (and status, when it has its own
/// subresource).
fn spec_part(object: &Json, status_subresource: bool) -> Json {
    let mut part = object.clone();
    if let Json::Object(map) = &mut part {
        map.shift_remove("metadata");
        map.shift_remove("apiVersion");
        map.shift_remove("kind");
        if status_subresource {
            map.shift_remove("status");
        }
    }
    part
}

/// The object without its managed fields' timestamps and resource version (what a no-op
/// write leaves as it was).
fn without_times(object: &Json) -> Json {
    let mut copy = object.clone();
    if let Some(Json::Array(entries)) = copy.pointer_mut("/metadata/managedFields") {
        for entry in entries {
            if let Json::Object(map) = entry {
                map.shift_remove("time");
            }
        }
    }
    if let Some(Json::Object(meta)) = copy.get_mut("metadata") {
        meta.shift_remove("resourceVersion");
    }
    copy
}

/// What an applied configuration must say: its `apiVersion` and `kind` (the URL's), its name
/// (the URL's), and no other namespace than the URL's.
fn check_applied(request: &Request, config: &Json, name: &str) -> Result<(), ApiError> {
    if text(config, "/apiVersion").is_none() || text(config, "/kind").is_none() {
        return Err(ApiError::bad_request(
            "apiVersion and kind must be set in an applied configuration",
        ));
    }
    check_kind(request, config)?;
    match text(config, "/metadata/name") {
        Some(given) if given == name => {}
        Some(given) => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({given}) does not match the name on the URL ({name})"
            )));
        }
        None => {
            return Err(ApiError::bad_request(
                "metadata.name must be set in an applied configuration",
            ));
        }
    }
    if let (Some(url), Some(given)) = (
        request.namespace.as_deref(),
        text(config, "/metadata/namespace"),
    ) && url != given
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

fn check_kind(request: &Request, body: &Json) -> Result<(), ApiError> {
    if let Some(kind) = text(body, "/kind")
        && kind != request.resource.kind
    {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): kind {kind:?} does not match",
            request.resource.kind
        )));
    }
    if let Some(version) = text(body, "/apiVersion")
        && version != request.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({version}) does not match the expected API version ({})",
            request.api_version()
        )));
    }
    if !body.is_object() {
        return Err(ApiError::bad_request("the body is not a JSON object"));
    }
    Ok(())
}

/// `metadata.name`: required, an RFC 1123 subdomain.
fn check_name(request: &Request, name: &str) -> Result<(), ApiError> {
    let error = if name.is_empty() {
        FieldError::required("metadata.name", "name or generateName is required")
    } else if name.len() > 253
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        FieldError::invalid(
            "metadata.name",
            json!(name),
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        )
    } else {
        return Ok(());
    };
    Err(ApiError::invalid(
        &request.resource.group,
        &request.resource.kind,
        name,
        &[error],
    ))
}

/// Drops the fields a CRD's schema does not declare, as the API server prunes them; with
/// `fieldValidation=Strict` they fail the request instead.
fn prune(request: &Request, object: &mut Json, options: &mut Options) -> Result<(), ApiError> {
    if request.resource.builtin {
        return Ok(());
    }
    let Some(schema) = request.schema() else {
        return Ok(());
    };
    let mut unknown = Vec::new();
    if let Json::Object(map) = object {
        for (key, value) in map.iter_mut() {
            if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            match fields::child(Some(schema), key) {
                Some(child) => prune_node(value, child, key, &mut unknown),
                None => unknown.push(key.clone()),
            }
        }
        map.retain(|key, _| !unknown.contains(key));
    }
    if unknown.is_empty() {
        return Ok(());
    }
    if options.strict {
        let list: Vec<String> = unknown
            .iter()
            .map(|field| format!("unknown field {field:?}"))
            .collect();
        return Err(ApiError::bad_request(format!(
            "{} in version {:?} cannot be handled as a {}: strict decoding error: {}",
            request.resource.kind,
            request.version,
            request.resource.kind,
            list.join(", ")
        )));
    }
    options.warnings.extend(
        unknown
            .iter()
            .map(|field| format!("unknown field {field:?}")),
    );
    Ok(())
}

fn prune_node(value: &mut Json, schema: &Json, path: &str, unknown: &mut Vec<String>) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Json::Bool(true)) {
        return;
    }
    match value {
        Json::Object(map) => {
            let declared = schema.get("properties").and_then(Json::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            if declared.is_none() && additional.is_none() {
                return;
            }
            let mut dropped = Vec::new();
            for (key, child_value) in map.iter_mut() {
                let child_path = format!("{path}.{key}");
                match declared.and_then(|d| d.get(key)).or(additional) {
                    Some(child) => prune_node(child_value, child, &child_path, unknown),
                    None => {
                        unknown.push(child_path);
                        dropped.push(key.clone());
                    }
                }
            }
            map.retain(|key, _| !dropped.contains(key));
        }
        Json::Array(list) => {
            if let Some(items) = schema.get("items") {
                for (index, item) in list.iter_mut().enumerate() {
                    prune_node(item, items, &format!("{path}[{index}]"), unknown);
                }
            }
        }
        _ => {}
    }
}

/// A Secret's `stringData` goes into `data` (base64), as the API server does on write;
/// `data` must be base64.
fn normalize_secret(request: &Request, object: &mut Json) -> Result<(), ApiError> {
    if !(request.resource.group.is_empty() && request.resource.plural == "secrets") {
        return Ok(());
    }
    let Json::Object(map) = object else {
        return Ok(());
    };
    if let Some(Json::Object(data)) = map.get("data") {
        for (key, value) in data {
            let encoded = value.as_str().unwrap_or_default();
            if base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .is_err()
            {
                return Err(ApiError::bad_request(format!(
                    "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data.{key}"
                )));
            }
        }
    }
    if let Some(Json::Object(strings)) = map.shift_remove("stringData") {
        let data = map.entry("data").or_insert_with(|| json!({}));
        if let Json::Object(data) = data {
            for (key, value) in strings {
                let plain = value.as_str().unwrap_or_default();
                data.insert(
                    key,
                    json!(base64::engine::general_purpose::STANDARD.encode(plain)),
                );
            }
        }
    }
    if request.subresource.is_empty() && !map.contains_key("type") {
        map.insert("type".to_owned(), json!("Opaque"));
    }
    Ok(())
}

/// One requirement of a label selector.
#[derive(Clone, Debug)]
pub(crate) enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Requirement {
    fn matches(&self, object: &Json) -> bool {
        let label = |key: &str| {
            object
                .pointer("/metadata/labels")
                .and_then(|labels| labels.get(key))
                .and_then(Json::as_str)
                .map(str::to_owned)
        };
        match self {
            Requirement::Equals(key, value) => label(key).as_deref() == Some(value),
            Requirement::NotEquals(key, value) => label(key).as_deref() != Some(value),
            Requirement::In(key, values) => label(key).is_some_and(|v| values.contains(&v)),
            Requirement::NotIn(key, values) => label(key).is_none_or(|v| !values.contains(&v)),
            Requirement::Exists(key) => label(key).is_some(),
            Requirement::NotExists(key) => label(key).is_none(),
        }
    }
}

/// Parses a label selector (`a=b,c!=d,e in (f,g),!h`).
pub(crate) fn parse_selector(selector: &str) -> Result<Vec<Requirement>, ApiError> {
    let mut parts = Vec::new();
    let mut depth = 0_i32;
    let mut current = String::new();
    for c in selector.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    let bad = |part: &str| {
        ApiError::bad_request(format!(
            "unable to parse requirement: found '{part}', expected: key, '!', '=', '==', '!=', 'in' or 'notin'"
        ))
    };
    let mut requirements = Vec::new();
    for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let values = |rest: &str| -> Option<Vec<String>> {
            let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
            Some(inner.split(',').map(|v| v.trim().to_owned()).collect())
        };
        let requirement = if let Some(key) = part.strip_prefix('!') {
            Requirement::NotExists(key.trim().to_owned())
        } else if let Some((key, value)) = part.split_once("!=") {
            Requirement::NotEquals(key.trim().to_owned(), value.trim().to_owned())
        } else if let Some((key, value)) = part.split_once("==") {
            Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
        } else if let Some((key, value)) = part.split_once('=') {
            Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
        } else if let Some((key, rest)) = part.split_once(" notin ") {
            Requirement::NotIn(
                key.trim().to_owned(),
                values(rest).ok_or_else(|| bad(part))?,
            )
        } else if let Some((key, rest)) = part.split_once(" in ") {
            Requirement::In(
                key.trim().to_owned(),
                values(rest).ok_or_else(|| bad(part))?,
            )
        } else if part.contains(char::is_whitespace) {
            return Err(bad(part));
        } else {
            Requirement::Exists(part.to_owned())
        };
        requirements.push(requirement);
    }
    Ok(requirements)
}

/// The status a stored CRD reports: established, its names accepted.
pub(crate) fn crd_status(crd: &Json) -> Json {
    let now = now_text();
    json!({
        "acceptedNames": crd.pointer("/spec/names").cloned().unwrap_or(json!({})),
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
        "storedVersions": crd.pointer("/spec/versions").and_then(Json::as_array)
            .map(|versions| versions.iter().filter(|v| v.get("storage").and_then(Json::as_bool) == Some(true))
                .filter_map(|v| v.get("name").cloned()).collect::<Vec<_>>())
            .unwrap_or_default(),
    })
}
