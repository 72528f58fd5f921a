//! The resources the fake serves: the built-in ones (namespaces, secrets, and the
//! CustomResourceDefinitions themselves) and one per kind of every stored CRD, with what
//! discovery (`/api`, `/apis`, `/apis/{group}/{version}`) and the OpenAPI v3 index tell clients.

use serde_json::{Value as Json, json};

pub(crate) const CRD_GROUP: &str = "apiextensions.k8s.io";

/// One resource of one group.
#[derive(Clone, Debug)]
pub(crate) struct Resource {
    pub(crate) group: String,
    /// Served versions, the storage version first.
    pub(crate) versions: Vec<String>,
    pub(crate) kind: String,
    pub(crate) plural: String,
    pub(crate) singular: String,
    pub(crate) short_names: Vec<String>,
    pub(crate) categories: Vec<String>,
    pub(crate) namespaced: bool,
    pub(crate) status_subresource: bool,
    /// The `openAPIV3Schema` of each served version.
    pub(crate) schemas: Vec<(String, Json)>,
    /// The CRD's `additionalPrinterColumns` of the storage version.
    pub(crate) printer_columns: Vec<Json>,
    pub(crate) builtin: bool,
}

impl Resource {
    pub(crate) fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_owned()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    pub(crate) fn schema(&self, version: &str) -> Option<&Json> {
        self.schemas
            .iter()
            .find(|(name, _)| name == version)
            .map(|(_, schema)| schema)
    }

    fn builtin(group: &str, kind: &str, plural: &str, namespaced: bool, schema: Json) -> Self {
        Resource {
            group: group.to_owned(),
            versions: vec!["v1".to_owned()],
            kind: kind.to_owned(),
            plural: plural.to_owned(),
            singular: kind.to_ascii_lowercase(),
            short_names: Vec::new(),
            categories: Vec::new(),
            namespaced,
            status_subresource: plural != "secrets",
            schemas: vec![("v1".to_owned(), schema)],
            printer_columns: Vec::new(),
            builtin: true,
        }
    }

    /// The resource a CRD defines, or `None` when the CRD lacks what one needs.
    pub(crate) fn from_crd(crd: &Json) -> Option<Resource> {
        let spec = crd.get("spec")?;
        let names = spec.get("names")?;
        let text = |value: Option<&Json>| value.and_then(Json::as_str).map(str::to_owned);
        let strings = |value: Option<&Json>| -> Vec<String> {
            value
                .and_then(Json::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Json::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let kind = text(names.get("kind"))?;
        let served: Vec<&Json> = spec
            .get("versions")?
            .as_array()?
            .iter()
            .filter(|version| version.get("served").and_then(Json::as_bool) != Some(false))
            .collect();
        let mut ordered = served.clone();
        ordered.sort_by_key(|version| version.get("storage").and_then(Json::as_bool) != Some(true));
        let storage = ordered.first()?;
        Some(Resource {
            group: text(spec.get("group"))?,
            versions: ordered.iter().filter_map(|v| text(v.get("name"))).collect(),
            plural: text(names.get("plural"))?,
            singular: text(names.get("singular")).unwrap_or_else(|| kind.to_ascii_lowercase()),
            kind,
            short_names: strings(names.get("shortNames")),
            categories: strings(names.get("categories")),
            namespaced: spec.get("scope").and_then(Json::as_str) != Some("Cluster"),
            status_subresource: storage
                .get("subresources")
                .and_then(|sub| sub.get("status"))
                .is_some(),
            schemas: ordered
                .iter()
                .filter_map(|version| {
                    let schema = version.get("schema")?.get("openAPIV3Schema")?;
                    Some((text(version.get("name"))?, with_metadata(schema)))
                })
                .collect(),
            printer_columns: storage
                .get("additionalPrinterColumns")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default(),
            builtin: false,
        })
    }

    /// An entry of an `APIResourceList`.
    fn discovery(&self, subresource: Option<&str>) -> Json {
        let verbs = if subresource.is_some() {
            json!(["get", "patch", "update"])
        } else {
            json!([
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update"
            ])
        };
        let name = match subresource {
            Some(sub) => format!("{}/{sub}", self.plural),
            None => self.plural.clone(),
        };
        let mut entry = json!({
            "name": name,
            "singularName": if subresource.is_some() { String::new() } else { self.singular.clone() },
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": verbs,
        });
        if subresource.is_none() {
            if !self.short_names.is_empty() {
                entry["shortNames"] = json!(self.short_names);
            }
            if !self.categories.is_empty() {
                entry["categories"] = json!(self.categories);
            }
        }
        entry
    }
}

/// A CRD's schema with the standard `ObjectMeta` in place of its bare `metadata: {type:
/// object}`, so that labels, finalizers and owner references merge as the API server merges them.
fn with_metadata(schema: &Json) -> Json {
    let mut schema = schema.clone();
    if let Some(properties) = schema.get_mut("properties").and_then(Json::as_object_mut) {
        properties.insert("metadata".to_owned(), object_meta());
    }
    schema
}

/// The parts of `ObjectMeta`'s schema that matter to merging.
pub(crate) fn object_meta() -> Json {
    json!({
        "type": "object",
        "properties": {
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            "ownerReferences": {
                "type": "array",
                "items": {"type": "object"},
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["uid"],
            },
        },
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Namespaces, Secrets and CustomResourceDefinitions.
pub(crate) fn builtins() -> Vec<Resource> {
    let string_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
    vec![
        Resource::builtin(
            "",
            "Namespace",
            "namespaces",
            false,
            json!({"type": "object", "properties": {"metadata": object_meta(),
                "spec": {"type": "object", "properties": {"finalizers": {"type": "array", "x-kubernetes-list-type": "atomic"}}},
                "status": {"type": "object"}}, "x-kubernetes-preserve-unknown-fields": true}),
        ),
        Resource {
            short_names: Vec::new(),
            ..Resource::builtin(
                "",
                "Secret",
                "secrets",
                true,
                json!({"type": "object", "properties": {"metadata": object_meta(),
                    "data": string_map, "stringData": string_map, "type": {"type": "string"},
                    "immutable": {"type": "boolean"}}}),
            )
        },
        Resource {
            short_names: vec!["crd".to_owned(), "crds".to_owned()],
            ..Resource::builtin(
                CRD_GROUP,
                "CustomResourceDefinition",
                "customresourcedefinitions",
                false,
                json!({"type": "object", "properties": {"metadata": object_meta()},
                    "x-kubernetes-preserve-unknown-fields": true}),
            )
        },
    ]
    .into_iter()
    .map(|mut resource| {
        if resource.plural == "namespaces" {
            resource.short_names = vec!["ns".to_owned()];
        }
        resource
    })
    .collect()
}

/// `GET /api`.
pub(crate) fn core_versions(server: &str) -> Json {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}],
    })
}

/// `GET /apis`: one group per group served, its versions as the CRDs list them.
pub(crate) fn group_list(resources: &[Resource]) -> Json {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for resource in resources.iter().filter(|r| !r.group.is_empty()) {
        match groups
            .iter_mut()
            .find(|(group, _)| *group == resource.group)
        {
            Some((_, versions)) => {
                for version in &resource.versions {
                    if !versions.contains(version) {
                        versions.push(version.clone());
                    }
                }
            }
            None => groups.push((resource.group.clone(), resource.versions.clone())),
        }
    }
    let groups: Vec<Json> = groups
        .into_iter()
        .map(|(group, versions)| {
            let entries: Vec<Json> = versions
                .iter()
                .map(|version| json!({"groupVersion": format!("{group}/{version}"), "version": version}))
                .collect();
            let preferred = entries.first().cloned().unwrap_or(Json::Null);
            json!({"name": group, "versions": entries, "preferredVersion": preferred})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /api/v1` or `GET /apis/{group}/{version}`, or `None` when nothing is served there.
pub(crate) fn resource_list(resources: &[Resource], group: &str, version: &str) -> Option<Json> {
    let mut entries = Vec::new();
    for resource in resources
        .iter()
        .filter(|r| r.group == group && r.versions.iter().any(|v| v == version))
    {
        entries.push(resource.discovery(None));
        if resource.status_subresource {
            entries.push(resource.discovery(Some("status")));
        }
    }
    if entries.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    let mut list =
        json!({"kind": "APIResourceList", "groupVersion": group_version, "resources": entries});
    if !group.is_empty() {
        list["apiVersion"] = json!("v1");
    }
    Some(list)
}

/// `GET /openapi/v3`: the documents there are, one per group-version.
pub(crate) fn openapi_index(resources: &[Resource]) -> Json {
    let mut paths = serde_json::Map::new();
    for resource in resources {
        for version in &resource.versions {
            let key = if resource.group.is_empty() {
                format!("api/{version}")
            } else {
                format!("apis/{}/{version}", resource.group)
            };
            let url = format!("/openapi/v3/{key}?hash=fake");
            paths.insert(key, json!({"serverRelativeURL": url}));
        }
    }
    json!({"paths": paths})
}

/// `GET /openapi/v3/{api|apis/group}/{version}`: each resource's paths with the query
/// parameters its operations take (what kubectl reads to learn that the server validates
/// fields), and each kind's schema.
pub(crate) fn openapi_document(resources: &[Resource], group: &str, version: &str) -> Option<Json> {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    let served: Vec<&Resource> = resources
        .iter()
        .filter(|r| r.group == group && r.versions.iter().any(|v| v == version))
        .collect();
    if served.is_empty() {
        return None;
    }
    for resource in served {
        let gvk = json!({"group": resource.group, "version": version, "kind": resource.kind});
        let base = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let collection = if resource.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", resource.plural)
        } else {
            format!("{base}/{}", resource.plural)
        };
        let query = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string"}});
        let parameters = json!([
            query("dryRun"),
            query("fieldManager"),
            query("fieldValidation")
        ]);
        let operation = |action: &str| {
            json!({"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
                "parameters": parameters, "responses": {"200": {"description": "OK"}}})
        };
        let mut patch = operation("patch");
        if let Some(list) = patch.get_mut("parameters").and_then(Json::as_array_mut) {
            list.push(query("force"));
        }
        paths.insert(collection.clone(), json!({"post": operation("post")}));
        paths.insert(
            format!("{collection}/{{name}}"),
            json!({"put": operation("put"), "patch": patch}),
        );
        let id = format!(
            "{}.{version}.{}",
            if group.is_empty() {
                "io.k8s.api.core"
            } else {
                group
            },
            resource.kind
        );
        let mut schema = resource
            .schema(version)
            .cloned()
            .unwrap_or_else(|| json!({}));
        schema["x-kubernetes-group-version-kind"] = json!([gvk]);
        schemas.insert(id, schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": super::SERVER_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}
