//! The fake Kubernetes API server, over raw HTTP: discovery, objects, errors, server-side apply
//! (data-driven, `tests/data/server-side-apply.yaml`), admission, the simulated CloudNativePG
//! operator, faults, the binary, and `kubectl` against it when one is installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![recursion_limit = "256"]

use dbplan_testkit::kubernetes::{
    Failure, FailureRule, FakeConfig, FakeKubernetes, Fault, FaultRule, FieldError, Reply,
};
use serde_json::{Value as Json, json};
use std::time::{Duration, Instant};

const CNPG: &str = "/apis/postgresql.cnpg.io/v1/namespaces/default";
const WIDGETS: &str = "/apis/test.dbplan.io/v1/namespaces/default/widgets";

/// CloudNativePG's CRDs, as the default configuration serves them.
fn cnpg_crds() -> Vec<Json> {
    FakeConfig::default().crds
}

/// A small CRD with every kind of node server-side apply tells apart.
fn widget_crd() -> Json {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.test.dbplan.io"},
        "spec": {
            "group": "test.dbplan.io",
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"], "listKind": "WidgetList"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                    "spec": {"type": "object", "properties": {
                        "replicas": {"type": "integer"},
                        "mode": {"type": "string"},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "selector": {"type": "object", "additionalProperties": {"type": "string"}, "x-kubernetes-map-type": "atomic"},
                        "args": {"type": "array", "items": {"type": "string"}},
                        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}},
                        "roles": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "properties": {"name": {"type": "string"}, "login": {"type": "boolean"}}}},
                    }},
                    "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                }}},
            }],
        },
    })
}

fn start(crds: Vec<Json>) -> FakeKubernetes {
    FakeKubernetes::start(FakeConfig {
        crds,
        status_delay: Duration::from_millis(200),
        ..FakeConfig::default()
    })
    .unwrap()
}

fn get(fake: &FakeKubernetes, path: &str) -> Reply {
    fake.call("GET", path, None, None).unwrap()
}

fn apply(fake: &FakeKubernetes, path: &str, manager: &str, force: bool, yaml: &str) -> Reply {
    let query = format!(
        "?fieldManager={manager}{}",
        if force { "&force=true" } else { "" }
    );
    fake.call(
        "PATCH",
        &format!("{path}{query}"),
        Some("application/apply-patch+yaml"),
        Some(yaml),
    )
    .unwrap()
}

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The entry `manager/operation` of an object's managedFields.
fn entry<'a>(object: &'a Json, key: &str) -> Option<&'a Json> {
    let (manager, operation) = key.split_once('/').unwrap();
    object["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|entry| entry["manager"] == json!(manager) && entry["operation"] == json!(operation))
}

// Long: the interpreter of the data-driven cases (one loop over steps and their expectations).
#[test]
fn server_side_apply_follows_the_documented_rules() {
    let fake = start(vec![widget_crd()]);
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/server-side-apply.yaml"
    ))
    .unwrap();
    let cases: Vec<Json> = serde_saphyr::from_str(&text).unwrap();
    assert!(cases.len() >= 10);
    for (index, case) in cases.iter().enumerate() {
        let name = format!("w{index}");
        let path = format!("{WIDGETS}/{name}");
        let label = case["name"].as_str().unwrap();
        let mut previous_version = Json::Null;
        for (number, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            let context = format!("case {label:?}, step {number}");
            let reply = if let Some(change) = step.get("apply") {
                let body = json!({"apiVersion": "test.dbplan.io/v1", "kind": "Widget",
                    "metadata": {"name": name}, "spec": change["spec"]});
                apply(
                    &fake,
                    &path,
                    change["manager"].as_str().unwrap(),
                    change["force"] == json!(true),
                    &body.to_string(),
                )
            } else {
                let change = &step["update"];
                let manager = change["manager"].as_str().unwrap();
                if get(&fake, &path).status == 404 {
                    let body = json!({"apiVersion": "test.dbplan.io/v1", "kind": "Widget",
                        "metadata": {"name": name}, "spec": change["spec"]});
                    fake.call_json("POST", &format!("{WIDGETS}?fieldManager={manager}"), &body)
                        .unwrap()
                } else {
                    fake.call(
                        "PATCH",
                        &format!("{path}?fieldManager={manager}"),
                        Some("application/merge-patch+json"),
                        Some(&json!({"spec": change["spec"]}).to_string()),
                    )
                    .unwrap()
                }
            };
            let Some(expect) = step.get("expect") else {
                assert!(reply.status < 300, "{context}: {}", reply.text);
                previous_version = reply.json["metadata"]["resourceVersion"].clone();
                continue;
            };
            if let Some(code) = expect.get("code") {
                assert_eq!(json!(reply.status), *code, "{context}: {}", reply.text);
            }
            if let Some(message) = expect.get("message") {
                assert_eq!(reply.json["kind"], json!("Status"), "{context}");
                assert_eq!(reply.json["reason"], json!("Conflict"), "{context}");
                assert_eq!(reply.json["message"], *message, "{context}");
            }
            if let Some(causes) = expect.get("causes") {
                assert_eq!(reply.json["details"]["causes"], *causes, "{context}");
            }
            if reply.status >= 300 {
                continue;
            }
            let object = get(&fake, &path).json;
            if let Some(spec) = expect.get("spec") {
                assert_eq!(object["spec"], *spec, "{context}: {object:#}");
            }
            if let Some(Json::Object(fields)) = expect.get("fields") {
                for (key, wanted) in fields {
                    let found = entry(&object, key)
                        .unwrap_or_else(|| panic!("{context}: no entry {key}: {object:#}"));
                    assert_eq!(found["fieldsV1"], *wanted, "{context}: {key}");
                    assert_eq!(found["fieldsType"], json!("FieldsV1"));
                    assert_eq!(found["apiVersion"], json!("test.dbplan.io/v1"));
                    assert!(found["time"].as_str().is_some_and(|t| t.ends_with('Z')));
                }
            }
            for key in expect
                .get("absent")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                assert!(
                    entry(&object, key.as_str().unwrap()).is_none(),
                    "{context}: {key} is there"
                );
            }
            if expect.get("unchanged") == Some(&json!(true)) {
                assert_eq!(
                    object["metadata"]["resourceVersion"], previous_version,
                    "{context}"
                );
            }
            previous_version = object["metadata"]["resourceVersion"].clone();
        }
    }
}

#[test]
fn discovery_lists_the_groups_and_the_resources_the_crds_define() {
    let fake = start(cnpg_crds());
    let version = get(&fake, "/version");
    assert_eq!(version.json["major"], json!("1"));
    assert_eq!(get(&fake, "/api").json["versions"], json!(["v1"]));
    let core = get(&fake, "/api/v1").json;
    let names: Vec<&str> = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&"namespaces") && names.contains(&"secrets"),
        "{names:?}"
    );
    let groups = get(&fake, "/apis").json;
    assert_eq!(groups["kind"], json!("APIGroupList"));
    let group_names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    for wanted in [
        "postgresql.cnpg.io",
        "barmancloud.cnpg.io",
        "apiextensions.k8s.io",
    ] {
        assert!(group_names.contains(&wanted), "{group_names:?}");
    }
    let list = get(&fake, "/apis/postgresql.cnpg.io/v1").json;
    assert_eq!(list["kind"], json!("APIResourceList"));
    assert_eq!(list["groupVersion"], json!("postgresql.cnpg.io/v1"));
    let clusters = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == json!("clusters"))
        .unwrap();
    assert_eq!(clusters["singularName"], json!("cluster"));
    assert_eq!(clusters["namespaced"], json!(true));
    assert_eq!(clusters["kind"], json!("Cluster"));
    assert!(
        clusters["verbs"]
            .as_array()
            .unwrap()
            .contains(&json!("patch"))
    );
    assert!(
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == json!("clusters/status"))
    );
    let crd = get(
        &fake,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusters.postgresql.cnpg.io",
    );
    assert_eq!(crd.status, 200);
    assert_eq!(crd.json["spec"]["names"]["kind"], json!("Cluster"));
    let crds = get(
        &fake,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    )
    .json;
    assert_eq!(crds["kind"], json!("CustomResourceDefinitionList"));
    assert_eq!(crds["items"].as_array().unwrap().len(), 6);
    assert_eq!(get(&fake, "/apis/nothing.example.com/v1").status, 404);
}

#[test]
fn a_crd_created_through_the_api_is_served_at_once() {
    let fake = start(Vec::new());
    assert_eq!(get(&fake, "/apis/test.dbplan.io/v1").status, 404);
    let created = fake
        .call_json(
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            &widget_crd(),
        )
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.text);
    let list = get(&fake, "/apis/test.dbplan.io/v1").json;
    assert_eq!(list["resources"][0]["shortNames"], json!(["wd"]));
    let widget = json!({"apiVersion": "test.dbplan.io/v1", "kind": "Widget", "metadata": {"name": "a"}, "spec": {"replicas": 1}});
    assert_eq!(
        fake.call_json("POST", WIDGETS, &widget).unwrap().status,
        201
    );
    let deleted = fake
        .call(
            "DELETE",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.dbplan.io",
            None,
            None,
        )
        .unwrap();
    assert_eq!(deleted.status, 200);
    assert_eq!(get(&fake, &format!("{WIDGETS}/a")).status, 404);
}

#[test]
fn objects_have_the_api_servers_metadata_errors_and_versions() {
    let fake = start(vec![widget_crd()]);
    let widget = json!({"apiVersion": "test.dbplan.io/v1", "kind": "Widget",
        "metadata": {"name": "a", "labels": {"tier": "db"}}, "spec": {"replicas": 1}, "status": {"phase": "ignored"}});
    let created = fake.call_json("POST", WIDGETS, &widget).unwrap();
    assert_eq!(created.status, 201, "{}", created.text);
    let meta = &created.json["metadata"];
    assert_eq!(meta["generation"], json!(1));
    assert!(meta["uid"].as_str().is_some_and(|u| u.len() == 36));
    assert!(
        meta["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert!(meta["creationTimestamp"].as_str().is_some());
    assert_eq!(meta["managedFields"][0]["manager"], json!("dbplan-testkit"));
    assert_eq!(meta["managedFields"][0]["operation"], json!("Update"));
    assert!(
        created.json.get("status").is_none(),
        "a create through the main resource drops status"
    );

    let again = fake.call_json("POST", WIDGETS, &widget).unwrap();
    assert_eq!(again.status, 409);
    assert_eq!(again.json["reason"], json!("AlreadyExists"));
    assert_eq!(
        again.json["message"],
        json!("widgets.test.dbplan.io \"a\" already exists")
    );
    assert_eq!(
        again.json["details"],
        json!({"name": "a", "kind": "widgets", "group": "test.dbplan.io"})
    );

    let missing = get(&fake, &format!("{WIDGETS}/nope"));
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json["message"],
        json!("widgets.test.dbplan.io \"nope\" not found")
    );
    assert_eq!(missing.json["status"], json!("Failure"));
    assert_eq!(missing.json["code"], json!(404));

    // A metadata change leaves the generation; a spec change bumps it.
    let path = format!("{WIDGETS}/a");
    let labelled = fake
        .call(
            "PATCH",
            &path,
            Some("application/merge-patch+json"),
            Some(r#"{"metadata":{"labels":{"x":"y"}}}"#),
        )
        .unwrap();
    assert_eq!(labelled.json["metadata"]["generation"], json!(1));
    let mut stale = labelled.json.clone();
    let scaled = fake.call("PATCH", &path, Some("application/json-patch+json"),
        Some(r#"[{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/spec/mode","value":"fast"},{"op":"remove","path":"/metadata/labels/x"}]"#)).unwrap();
    assert_eq!(scaled.status, 200, "{}", scaled.text);
    assert_eq!(scaled.json["metadata"]["generation"], json!(2));
    assert_eq!(scaled.json["spec"], json!({"replicas": 3, "mode": "fast"}));
    assert_eq!(scaled.json["metadata"]["labels"], json!({"tier": "db"}));

    // PUT with the old resourceVersion: 409 Conflict.
    stale["spec"]["replicas"] = json!(9);
    let conflict = fake.call_json("PUT", &path, &stale).unwrap();
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.json["reason"], json!("Conflict"));
    assert!(conflict.json["message"].as_str().unwrap().starts_with("Operation cannot be fulfilled on widgets.test.dbplan.io \"a\": the object has been modified"));

    // Status goes through /status only.
    let mut current = scaled.json.clone();
    current["status"] = json!({"phase": "Ready"});
    current["spec"]["replicas"] = json!(4);
    let put = fake.call_json("PUT", &path, &current).unwrap();
    assert_eq!(put.status, 200, "{}", put.text);
    assert!(put.json.get("status").is_none());
    assert_eq!(put.json["spec"]["replicas"], json!(4));
    let mut status_write = put.json.clone();
    status_write["status"] = json!({"phase": "Ready"});
    status_write["spec"]["replicas"] = json!(100);
    let status = fake
        .call_json("PUT", &format!("{path}/status"), &status_write)
        .unwrap();
    assert_eq!(status.status, 200, "{}", status.text);
    assert_eq!(status.json["status"], json!({"phase": "Ready"}));
    assert_eq!(status.json["spec"]["replicas"], json!(4));
    assert_eq!(
        status.json["metadata"]["generation"],
        put.json["metadata"]["generation"]
    );

    // Unsupported patch types and bodies.
    let strategic = fake
        .call(
            "PATCH",
            &path,
            Some("application/strategic-merge-patch+json"),
            Some("{}"),
        )
        .unwrap();
    assert_eq!(strategic.status, 415);
    assert_eq!(strategic.json["reason"], json!("UnsupportedMediaType"));
    let bad = fake.call("POST", WIDGETS, None, Some("{not json")).unwrap();
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json["reason"], json!("BadRequest"));
    let no_manager = fake
        .call(
            "PATCH",
            &path,
            Some("application/apply-patch+yaml"),
            Some("{}"),
        )
        .unwrap();
    assert_eq!(no_manager.status, 422);
    assert_eq!(
        no_manager.json["message"],
        json!(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
        )
    );

    // Lists: kind, resourceVersion, label selectors.
    let second = json!({"apiVersion": "test.dbplan.io/v1", "kind": "Widget", "metadata": {"name": "b", "labels": {"tier": "web"}}, "spec": {}});
    assert_eq!(
        fake.call_json("POST", WIDGETS, &second).unwrap().status,
        201
    );
    let list = get(&fake, WIDGETS).json;
    assert_eq!(list["kind"], json!("WidgetList"));
    assert_eq!(list["apiVersion"], json!("test.dbplan.io/v1"));
    assert!(list["metadata"]["resourceVersion"].as_str().is_some());
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let names = |selector: &str| -> Vec<String> {
        get(&fake, &format!("{WIDGETS}?labelSelector={selector}")).json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("tier%3Ddb"), ["a"]);
    assert_eq!(names("tier!%3Ddb"), ["b"]);
    assert_eq!(names("tier%20in%20(db,web)"), ["a", "b"]);
    assert_eq!(names("!tier"), Vec::<String>::new());
    let all = get(&fake, "/apis/test.dbplan.io/v1/widgets").json;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
}

#[test]
fn strict_field_validation_refuses_unknown_fields_and_the_default_drops_them() {
    let fake = start(vec![widget_crd()]);
    let widget = json!({"apiVersion": "test.dbplan.io/v1", "kind": "Widget", "metadata": {"name": "a"}, "spec": {"replicas": 1, "replicaz": 2}});
    let strict = fake
        .call_json(
            "POST",
            &format!("{WIDGETS}?fieldValidation=Strict"),
            &widget,
        )
        .unwrap();
    assert_eq!(strict.status, 400);
    assert!(
        strict.json["message"]
            .as_str()
            .unwrap()
            .contains("unknown field \"spec.replicaz\""),
        "{}",
        strict.text
    );
    let lax = fake.call_json("POST", WIDGETS, &widget).unwrap();
    assert_eq!(lax.status, 201);
    assert_eq!(lax.json["spec"], json!({"replicas": 1}));
    assert!(
        lax.header("warning")
            .is_some_and(|w| w.contains("unknown field")),
        "{:?}",
        lax.headers
    );
}

#[test]
fn namespaces_must_exist_and_take_their_objects_with_them() {
    let fake = start(vec![widget_crd()]);
    let path = "/apis/test.dbplan.io/v1/namespaces/team/widgets";
    let widget = json!({"apiVersion": "test.dbplan.io/v1", "kind": "Widget", "metadata": {"name": "a"}, "spec": {}});
    let missing = fake.call_json("POST", path, &widget).unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json["message"],
        json!("namespaces \"team\" not found")
    );
    let applied = apply(
        &fake,
        &format!("{path}/a"),
        "dbplan",
        false,
        &widget.to_string(),
    );
    assert_eq!(applied.status, 404);
    assert_eq!(get(&fake, "/api/v1/namespaces/default").status, 200);
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}});
    assert_eq!(
        fake.call_json("POST", "/api/v1/namespaces", &namespace)
            .unwrap()
            .status,
        201
    );
    assert_eq!(fake.call_json("POST", path, &widget).unwrap().status, 201);
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2"}});
    let created = fake
        .call_json("POST", "/api/v1/namespaces/team/secrets", &secret)
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["data"], json!({"password": "aHVudGVyMg=="}));
    assert!(created.json.get("stringData").is_none());
    assert_eq!(created.json["type"], json!("Opaque"));
    let secrets = get(&fake, "/api/v1/namespaces/team/secrets").json;
    assert_eq!(secrets["kind"], json!("SecretList"));
    assert_eq!(secrets["apiVersion"], json!("v1"));
    let deleted = fake
        .call("DELETE", "/api/v1/namespaces/team", None, None)
        .unwrap();
    assert_eq!(deleted.status, 200);
    assert_eq!(get(&fake, &format!("{path}/a")).status, 404);
    assert_eq!(get(&fake, "/api/v1/namespaces/team/secrets/s").status, 404);
    assert_eq!(get(&fake, "/api/v1/namespaces/team").status, 404);
}

#[test]
fn finalizers_propagation_and_dry_runs() {
    let fake = start(vec![widget_crd()]);
    let path = format!("{WIDGETS}/a");
    let widget = json!({"apiVersion": "test.dbplan.io/v1", "kind": "Widget",
        "metadata": {"name": "a", "finalizers": ["test.dbplan.io/cleanup"]}, "spec": {}});
    let dry = fake
        .call_json("POST", &format!("{WIDGETS}?dryRun=All"), &widget)
        .unwrap();
    assert_eq!(dry.status, 201);
    assert_eq!(get(&fake, &path).status, 404, "a dry run stores nothing");
    let owner = fake.call_json("POST", WIDGETS, &widget).unwrap().json;
    assert_eq!(
        fake.call("DELETE", &format!("{path}?dryRun=All"), None, None)
            .unwrap()
            .status,
        200
    );
    assert!(
        get(&fake, &path).json["metadata"]
            .get("deletionTimestamp")
            .is_none()
    );

    let deleting = fake.call("DELETE", &path, None, None).unwrap();
    assert_eq!(deleting.status, 200);
    let held = get(&fake, &path);
    assert_eq!(held.status, 200, "a finalizer holds the object");
    assert!(
        held.json["metadata"]["deletionTimestamp"]
            .as_str()
            .is_some()
    );
    let released = fake
        .call(
            "PATCH",
            &path,
            Some("application/merge-patch+json"),
            Some(r#"{"metadata":{"finalizers":null}}"#),
        )
        .unwrap();
    assert_eq!(released.status, 200, "{}", released.text);
    assert_eq!(get(&fake, &path).status, 404);

    // Dependents: background deletion removes them, orphaning keeps them without the owner.
    for (policy, survives) in [
        ("Background", false),
        ("Foreground", false),
        ("Orphan", true),
    ] {
        let owner_body = json!({"apiVersion": "test.dbplan.io/v1", "kind": "Widget", "metadata": {"name": "owner"}, "spec": {}});
        let owner = fake.call_json("POST", WIDGETS, &owner_body).unwrap().json;
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "dep",
            "ownerReferences": [{"apiVersion": "test.dbplan.io/v1", "kind": "Widget", "name": "owner", "uid": owner["metadata"]["uid"]}]},
            "data": {}});
        assert_eq!(
            fake.call_json("POST", "/api/v1/namespaces/default/secrets", &secret)
                .unwrap()
                .status,
            201
        );
        let reply = fake
            .call(
                "DELETE",
                &format!("{WIDGETS}/owner?propagationPolicy={policy}"),
                None,
                None,
            )
            .unwrap();
        assert_eq!(reply.status, 200, "{policy}: {}", reply.text);
        wait_for("the owner to go", || {
            get(&fake, &format!("{WIDGETS}/owner")).status == 404
        });
        let dependent = get(&fake, "/api/v1/namespaces/default/secrets/dep");
        assert_eq!(dependent.status == 200, survives, "{policy}");
        if survives {
            assert!(
                dependent.json["metadata"]
                    .get("ownerReferences")
                    .is_none_or(|o| o.as_array().unwrap().is_empty())
            );
            let deleted = fake
                .call(
                    "DELETE",
                    "/api/v1/namespaces/default/secrets/dep",
                    None,
                    None,
                )
                .unwrap();
            assert_eq!(deleted.json["kind"], json!("Status"));
            assert_eq!(deleted.json["status"], json!("Success"));
            assert_eq!(deleted.json["details"]["name"], json!("dep"));
        }
    }
    drop(owner);
}

#[test]
fn cloudnative_pg_objects_are_validated_and_defaulted_by_their_crds() {
    let fake = FakeKubernetes::start(FakeConfig::default()).unwrap();
    let path = format!("{CNPG}/clusters/x");
    let bad = apply(
        &fake,
        &path,
        "dbplan",
        false,
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\nspec:\n  instances: 0\n",
    );
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.json["reason"], json!("Invalid"));
    let message = bad.json["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Cluster.postgresql.cnpg.io \"x\" is invalid: spec.instances: Invalid value: 0: "
        ),
        "{message}"
    );
    let cause = &bad.json["details"]["causes"][0];
    assert_eq!(cause["reason"], json!("FieldValueInvalid"));
    assert_eq!(cause["field"], json!("spec.instances"));
    assert_eq!(bad.json["details"]["group"], json!("postgresql.cnpg.io"));
    assert_eq!(bad.json["details"]["kind"], json!("Cluster"));
    assert_eq!(get(&fake, &path).status, 404);
    let both = apply(
        &fake,
        &path,
        "dbplan",
        false,
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\nspec:\n  instances: 1\n  imageName: a\n  imageCatalogRef: {apiGroup: postgresql.cnpg.io, kind: ImageCatalog, name: c, major: 16}\n",
    );
    assert_eq!(both.status, 422, "a CEL rule: {}", both.text);
    let good = apply(
        &fake,
        &path,
        "dbplan",
        false,
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\nspec:\n  instances: 1\n  storage: {size: 1Gi}\n",
    );
    assert_eq!(good.status, 201, "{}", good.text);
    // Schema defaults, as the API server applies them.
    assert_eq!(
        good.json["spec"]["enableSuperuserAccess"],
        json!(false),
        "{:#}",
        good.json["spec"]
    );
}

#[test]
fn admission_hooks_default_and_refuse_with_the_api_servers_invalid_status() {
    let mut config = FakeConfig {
        crds: cnpg_crds(),
        ..FakeConfig::default()
    };
    config.validators.insert(
        "Cluster.postgresql.cnpg.io".to_owned(),
        Box::new(|new: &Json, _old: Option<&Json>| {
            let instances = new["spec"]["instances"].as_i64().unwrap_or(0);
            if instances < 1 {
                vec![FieldError::invalid(
                    "spec.instances",
                    json!(instances),
                    "spec.instances in body should be greater than or equal to 1",
                )]
            } else {
                Vec::new()
            }
        }),
    );
    config.defaulters.insert(
        "Cluster.postgresql.cnpg.io".to_owned(),
        Box::new(|object: &mut Json| {
            if object["spec"].get("logLevel").is_none() {
                object["spec"]["logLevel"] = json!("info");
            }
        }),
    );
    let fake = FakeKubernetes::start(config).unwrap();
    let bad = apply(
        &fake,
        &format!("{CNPG}/clusters/x"),
        "dbplan",
        false,
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\nspec:\n  instances: 0\n",
    );
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.json["reason"], json!("Invalid"));
    assert_eq!(
        bad.json["message"],
        json!(
            "Cluster.postgresql.cnpg.io \"x\" is invalid: spec.instances: Invalid value: 0: spec.instances in body should be greater than or equal to 1"
        )
    );
    assert_eq!(
        bad.json["details"],
        json!({"name": "x", "kind": "Cluster", "group": "postgresql.cnpg.io",
        "causes": [{"reason": "FieldValueInvalid", "message": "Invalid value: 0: spec.instances in body should be greater than or equal to 1", "field": "spec.instances"}]})
    );
    assert_eq!(get(&fake, &format!("{CNPG}/clusters/x")).status, 404);
    let good = apply(
        &fake,
        &format!("{CNPG}/clusters/x"),
        "dbplan",
        false,
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\nspec:\n  instances: 1\n",
    );
    assert_eq!(good.status, 201, "{}", good.text);
    assert_eq!(good.json["spec"]["logLevel"], json!("info"));
}

#[test]
fn the_simulated_operator_brings_clusters_databases_and_backups_up() {
    let fake = start(cnpg_crds());
    fake.set_status_delay(Duration::from_millis(300));
    let cluster = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: orders\nspec:\n  instances: 3\n  enableSuperuserAccess: true\n  storage:\n    size: 1Gi\n";
    assert_eq!(
        apply(
            &fake,
            &format!("{CNPG}/clusters/orders"),
            "dbplan",
            false,
            cluster
        )
        .status,
        201
    );
    wait_for("Setting up primary", || {
        get(&fake, &format!("{CNPG}/clusters/orders")).json["status"]["phase"]
            == json!("Setting up primary")
    });
    wait_for("a healthy cluster", || {
        get(&fake, &format!("{CNPG}/clusters/orders")).json["status"]["phase"]
            == json!("Cluster in healthy state")
    });
    let status = get(&fake, &format!("{CNPG}/clusters/orders")).json["status"].clone();
    assert_eq!(status["readyInstances"], json!(3));
    assert_eq!(status["instances"], json!(3));
    assert_eq!(status["currentPrimary"], json!("orders-1"));
    assert_eq!(status["writeService"], json!("orders-rw"));
    assert_eq!(status["readService"], json!("orders-r"));
    assert_eq!(status["conditions"][0]["type"], json!("Ready"));
    assert_eq!(status["conditions"][0]["status"], json!("True"));
    assert_eq!(status["conditions"][0]["reason"], json!("ClusterIsReady"));
    let app = get(&fake, "/api/v1/namespaces/default/secrets/orders-app").json;
    assert_eq!(app["type"], json!("kubernetes.io/basic-auth"));
    let decode = |value: &Json| {
        use base64::Engine;
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(value.as_str().unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(decode(&app["data"]["username"]), "app");
    assert_eq!(decode(&app["data"]["dbname"]), "app");
    assert_eq!(decode(&app["data"]["host"]), "orders-rw");
    assert_eq!(decode(&app["data"]["port"]), "5432");
    assert!(decode(&app["data"]["uri"]).starts_with("postgresql://app:"));
    assert_eq!(
        get(&fake, "/api/v1/namespaces/default/secrets/orders-superuser").status,
        200
    );

    let database = "apiVersion: postgresql.cnpg.io/v1\nkind: Database\nmetadata:\n  name: orders-db\nspec:\n  name: orders\n  owner: app\n  cluster:\n    name: orders\n";
    assert_eq!(
        apply(
            &fake,
            &format!("{CNPG}/databases/orders-db"),
            "dbplan",
            false,
            database
        )
        .status,
        201
    );
    wait_for("an applied database", || {
        get(&fake, &format!("{CNPG}/databases/orders-db")).json["status"]["applied"] == json!(true)
    });
    assert_eq!(
        get(&fake, &format!("{CNPG}/databases/orders-db")).json["status"]["observedGeneration"],
        json!(1)
    );
    let orphan = database
        .replace("orders-db", "lost-db")
        .replace("    name: orders\n", "    name: nowhere\n");
    assert_eq!(
        apply(
            &fake,
            &format!("{CNPG}/databases/lost-db"),
            "dbplan",
            false,
            &orphan
        )
        .status,
        201
    );
    wait_for("an unapplied database", || {
        let status = get(&fake, &format!("{CNPG}/databases/lost-db")).json["status"].clone();
        status["applied"] == json!(false) && status["message"].as_str().is_some()
    });

    let backup = "apiVersion: postgresql.cnpg.io/v1\nkind: ScheduledBackup\nmetadata:\n  name: nightly\nspec:\n  schedule: \"0 0 3 * * *\"\n  cluster:\n    name: orders\n";
    assert_eq!(
        apply(
            &fake,
            &format!("{CNPG}/scheduledbackups/nightly"),
            "dbplan",
            false,
            backup
        )
        .status,
        201
    );
    wait_for("a scheduled backup", || {
        get(&fake, &format!("{CNPG}/scheduledbackups/nightly")).json["status"]["lastScheduleTime"]
            .is_string()
    });

    // A cluster made to fail, and one whose app secret is the user's.
    fake.fail(FailureRule {
        kind: "Cluster".to_owned(),
        namespace: "default".to_owned(),
        name: "broken".to_owned(),
        failure: Failure {
            phase: "Cluster cannot be created".to_owned(),
            message: "no storage class".to_owned(),
        },
    });
    let broken = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: broken\nspec:\n  instances: 1\n  bootstrap:\n    initdb:\n      secret:\n        name: mine\n";
    assert_eq!(
        apply(
            &fake,
            &format!("{CNPG}/clusters/broken"),
            "dbplan",
            false,
            broken
        )
        .status,
        201
    );
    wait_for("a failing cluster", || {
        let status = get(&fake, &format!("{CNPG}/clusters/broken")).json["status"].clone();
        status["phase"] == json!("Cluster cannot be created")
            && status["conditions"][0]["status"] == json!("False")
            && status["conditions"][0]["message"] == json!("no storage class")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        get(&fake, "/api/v1/namespaces/default/secrets/broken-app").status,
        404
    );
    fake.clear_failure("Cluster", "default", "broken");
    wait_for("a recovered cluster", || {
        get(&fake, &format!("{CNPG}/clusters/broken")).json["status"]["phase"]
            == json!("Cluster in healthy state")
    });

    // Deleting the cluster takes its secrets.
    assert_eq!(
        fake.call("DELETE", &format!("{CNPG}/clusters/orders"), None, None)
            .unwrap()
            .status,
        200
    );
    wait_for("the secrets to go", || {
        get(&fake, "/api/v1/namespaces/default/secrets/orders-app").status == 404
    });
}

#[test]
fn faults_hit_the_next_matching_requests_and_requests_are_counted() {
    let fake = start(cnpg_crds());
    let path = format!("{CNPG}/clusters/x");
    fake.add_fault(FaultRule {
        verb: Some("GET".to_owned()),
        path: "/apis/postgresql.cnpg.io/*/clusters/*".to_owned(),
        fault: Fault::TooManyRequests {
            retry_after_seconds: 2,
        },
        count: 2,
    });
    for _ in 0..2 {
        let limited = get(&fake, &path);
        assert_eq!(limited.status, 429);
        assert_eq!(limited.header("retry-after"), Some("2"));
        assert_eq!(limited.json["reason"], json!("TooManyRequests"));
        assert_eq!(limited.json["details"]["retryAfterSeconds"], json!(2));
    }
    assert_eq!(get(&fake, &path).status, 404, "only the next two");
    fake.add_fault(FaultRule {
        verb: None,
        path: path.clone(),
        fault: Fault::InternalError,
        count: 1,
    });
    let internal = get(&fake, &path);
    assert_eq!(internal.status, 500);
    assert_eq!(internal.json["reason"], json!("InternalError"));
    fake.add_fault(FaultRule {
        verb: Some("PATCH".to_owned()),
        path: path.clone(),
        fault: Fault::Conflict,
        count: 1,
    });
    let conflict = apply(
        &fake,
        &path,
        "dbplan",
        false,
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: x}\nspec: {instances: 1}\n",
    );
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.json["reason"], json!("Conflict"));
    fake.add_fault(FaultRule {
        verb: Some("GET".to_owned()),
        path: path.clone(),
        fault: Fault::Timeout,
        count: 1,
    });
    let started = Instant::now();
    assert!(
        fake.call_with_timeout("GET", &path, Duration::from_millis(300))
            .is_err()
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    let stats = fake.stats();
    assert_eq!(stats.count("GET", &path), 5);
    assert_eq!(stats.count("PATCH", &path), 1);
    assert_eq!(stats.faults.get("429"), Some(&2));
    assert_eq!(stats.faults.get("timeout"), Some(&1));
    // The control API does the same over HTTP.
    let rule = json!({"verb": "GET", "path": "/api/v1/namespaces", "fault": {"kind": "internal_error"}, "count": 1});
    assert_eq!(
        fake.call_json("POST", "/_fake/faults", &rule)
            .unwrap()
            .status,
        204
    );
    assert_eq!(get(&fake, "/api/v1/namespaces").status, 500);
    let counted = get(&fake, "/_fake/stats").json;
    assert_eq!(counted["by_request"]["GET /api/v1/namespaces"], json!(1));
}

#[test]
fn a_wrong_token_is_unauthorized() {
    let fake = FakeKubernetes::start(FakeConfig {
        anonymous: false,
        ..FakeConfig::default()
    })
    .unwrap();
    let reply = fake.call("GET", "/api/v1/namespaces", None, None).unwrap();
    assert_eq!(reply.status, 200);
    let kubeconfig = fake.kubeconfig();
    assert!(kubeconfig.contains(&format!("server: {}", fake.url())));
    assert!(kubeconfig.contains("current-context: dbplan-fake"));
    assert!(kubeconfig.contains(&format!("token: {}", fake.token())));
    let mut stream = std::net::TcpStream::connect(fake.address()).unwrap();
    use std::io::{Read, Write};
    stream.write_all(b"GET /api HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("\"reason\":\"Unauthorized\""));
}

/// The binary, started on a free port, and its kubeconfig.
struct Binary {
    child: std::process::Child,
    kubeconfig: std::path::PathBuf,
    _directory: tempfile::TempDir,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_binary() -> (Binary, String) {
    let directory = tempfile::tempdir().unwrap();
    let kubeconfig = directory.path().join("kubeconfig");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dbplan-fake-kubernetes"));
    command
        .args([
            "--listen",
            "127.0.0.1:0",
            "--status-delay-ms",
            "200",
            "--kubeconfig",
        ])
        .arg(&kubeconfig);
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let binary = Binary {
        child,
        kubeconfig: kubeconfig.clone(),
        _directory: directory,
    };
    wait_for("the kubeconfig", || kubeconfig.exists());
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_owned();
    (binary, server)
}

#[test]
fn the_binary_serves_what_its_kubeconfig_says() {
    let (binary, server) = start_binary();
    let address = server.strip_prefix("http://").unwrap();
    let text = std::fs::read_to_string(&binary.kubeconfig).unwrap();
    let token = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    use std::io::{Read, Write};
    write!(stream, "GET /apis/postgresql.cnpg.io/v1 HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"name\":\"clusters\""));
}

fn kubectl() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("DBPLAN_KUBECTL").map(std::path::PathBuf::from)
        && path.exists()
    {
        return Some(path);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("kubectl"))
            .find(|p| p.exists())
    })
}

#[test]
fn kubectl_applies_lists_and_reads_a_cluster() {
    let Some(kubectl) = kubectl() else {
        println!("skipped: no kubectl (set DBPLAN_KUBECTL or put kubectl on PATH)");
        return;
    };
    let (binary, _server) = start_binary();
    let directory = tempfile::tempdir().unwrap();
    let manifest = directory.path().join("cluster.yaml");
    std::fs::write(&manifest, "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: orders\nspec:\n  instances: 2\n  storage:\n    size: 1Gi\n").unwrap();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(&binary.kubeconfig)
            .args(args)
            .env("HOME", directory.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            output.status.success(),
            "kubectl {args:?}: {stdout}{stderr}"
        );
        stdout
    };
    let applied = run(&["apply", "--server-side", "-f", manifest.to_str().unwrap()]);
    assert_eq!(
        applied.trim(),
        "cluster.postgresql.cnpg.io/orders serverside-applied"
    );
    let listed = run(&["get", "clusters"]);
    let header = listed.lines().next().unwrap();
    for column in ["NAME", "AGE", "INSTANCES", "READY", "STATUS", "PRIMARY"] {
        assert!(header.contains(column), "{listed}");
    }
    assert!(
        listed.lines().nth(1).unwrap().starts_with("orders "),
        "{listed}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let yaml = run(&["get", "cluster", "orders", "-o", "yaml"]);
        if yaml.contains("phase: Cluster in healthy state") {
            assert!(yaml.contains("apiVersion: postgresql.cnpg.io/v1"));
            assert!(yaml.contains("kind: Cluster"));
            assert!(yaml.contains("  instances: 2"));
            assert!(yaml.contains("readyInstances: 2"));
            assert!(yaml.contains("currentPrimary: orders-1"));
            assert!(
                !yaml.contains("managedFields"),
                "kubectl hides them by default"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never healthy: {yaml}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let fields = run(&[
        "get",
        "cluster",
        "orders",
        "-o",
        "yaml",
        "--show-managed-fields",
    ]);
    assert!(fields.contains("manager: kubectl"), "{fields}");
    assert!(fields.contains("operation: Apply"));
    // A second manager with another value conflicts, as on a real server.
    std::fs::write(&manifest, "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: orders\nspec:\n  instances: 3\n").unwrap();
    let output = std::process::Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(&binary.kubeconfig)
        .args([
            "apply",
            "--server-side",
            "--field-manager",
            "other",
            "-f",
            manifest.to_str().unwrap(),
        ])
        .env("HOME", directory.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Apply failed with 1 conflict: conflict with \"kubectl\": .spec.instances"),
        "{stderr}"
    );
}

#[test]
fn a_watch_streams_the_changes_of_a_collection() {
    let fake = std::sync::Arc::new(start(vec![widget_crd()]));
    let widget = |name: &str| json!({"apiVersion": "test.dbplan.io/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"replicas": 1}});
    let before = fake
        .call_json("POST", WIDGETS, &widget("old"))
        .unwrap()
        .json;
    let since = before["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let watcher = {
        let fake = fake.clone();
        std::thread::spawn(move || {
            fake.call(
                "GET",
                &format!("{WIDGETS}?watch=true&timeoutSeconds=4&resourceVersion={since}"),
                None,
                None,
            )
            .unwrap()
        })
    };
    let everything = {
        let fake = fake.clone();
        std::thread::spawn(move || {
            fake.call(
                "GET",
                &format!("{WIDGETS}?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Dold"),
                None,
                None,
            )
            .unwrap()
        })
    };
    wait_for("both watches", || fake.stats().count("GET", WIDGETS) >= 2);
    std::thread::sleep(Duration::from_millis(200));
    fake.call_json("POST", WIDGETS, &widget("new")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    fake.call(
        "PATCH",
        &format!("{WIDGETS}/new"),
        Some("application/merge-patch+json"),
        Some(r#"{"spec":{"replicas":2}}"#),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    fake.call("DELETE", &format!("{WIDGETS}/new"), None, None)
        .unwrap();
    let reply = watcher.join().unwrap();
    assert_eq!(reply.status, 200);
    let events: Vec<(String, String)> = reply
        .text
        .lines()
        .map(|line| serde_json::from_str::<Json>(line).unwrap())
        .map(|event| {
            (
                event["type"].as_str().unwrap().to_owned(),
                event["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = events
        .iter()
        .map(|(t, n)| (t.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("ADDED", "new"), ("MODIFIED", "new"), ("DELETED", "new")],
        "{}",
        reply.text
    );
    let initial = everything.join().unwrap();
    let first: Json = serde_json::from_str(initial.text.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], json!("ADDED"));
    assert_eq!(first["object"]["kind"], json!("Widget"));
    assert_eq!(first["object"]["metadata"]["name"], json!("old"));
    assert_eq!(initial.text.lines().count(), 1, "{}", initial.text);
}

#[test]
fn an_applied_configuration_names_its_object_and_may_set_a_precondition() {
    let fake = start(vec![widget_crd()]);
    let path = format!("{WIDGETS}/a");
    let body = |extra: &str| {
        format!(
            "apiVersion: test.dbplan.io/v1\nkind: Widget\nmetadata:\n  name: a\n{extra}spec:\n  replicas: 1\n"
        )
    };
    let created = apply(&fake, &path, "dbplan", false, &body(""));
    assert_eq!(created.status, 201, "{}", created.text);
    let stale = apply(
        &fake,
        &path,
        "dbplan",
        false,
        &body("  resourceVersion: \"1\"\n"),
    );
    assert_eq!(stale.status, 409);
    assert_eq!(stale.json["reason"], json!("Conflict"));
    let version = created.json["metadata"]["resourceVersion"]
        .as_str()
        .unwrap();
    let current = apply(
        &fake,
        &path,
        "dbplan",
        false,
        &body(&format!("  resourceVersion: \"{version}\"\n")),
    );
    assert_eq!(current.status, 200, "{}", current.text);
    let elsewhere = apply(&fake, &path, "dbplan", false, &body("  namespace: other\n"));
    assert_eq!(elsewhere.status, 400);
    let renamed = apply(&fake, &format!("{WIDGETS}/b"), "dbplan", false, &body(""));
    assert_eq!(renamed.status, 400);
    assert_eq!(
        renamed.json["message"],
        json!("the name of the object (a) does not match the name on the URL (b)")
    );
    let forced_merge = fake
        .call(
            "PATCH",
            &format!("{path}?force=true"),
            Some("application/merge-patch+json"),
            Some("{}"),
        )
        .unwrap();
    assert_eq!(forced_merge.status, 422);
    assert_eq!(
        forced_merge.json["message"],
        json!(
            "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
        )
    );
    let again = apply(&fake, &path, "dbplan", false, &body(""));
    assert_eq!(again.status, 200);
    let dry_change = fake
        .call(
            "PATCH",
            &format!("{path}?fieldManager=dbplan&dryRun=All"),
            Some("application/apply-patch+yaml"),
            Some(&body("").replace("replicas: 1", "replicas: 7")),
        )
        .unwrap();
    assert_eq!(dry_change.status, 200, "{}", dry_change.text);
    assert_eq!(dry_change.json["spec"]["replicas"], json!(7));
    assert_eq!(
        get(&fake, &path).json["spec"]["replicas"],
        json!(1),
        "a dry run changes nothing"
    );
}

#[test]
fn the_control_api_sets_delays_and_failures_over_http() {
    let fake = start(cnpg_crds());
    let delay = fake
        .call_json(
            "PUT",
            "/_fake/status-delay",
            &json!({"milliseconds": 60000}),
        )
        .unwrap();
    assert_eq!(delay.status, 204);
    let failure = json!({"kind": "Cluster", "namespace": "default", "name": "bad",
        "phase": "Cluster cannot be created", "message": "quota exceeded"});
    assert_eq!(
        fake.call_json("PUT", "/_fake/failures", &failure)
            .unwrap()
            .status,
        204
    );
    let cluster = |name: &str| {
        format!(
            "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: {name}\nspec:\n  instances: 1\n"
        )
    };
    assert_eq!(
        apply(
            &fake,
            &format!("{CNPG}/clusters/slow"),
            "dbplan",
            false,
            &cluster("slow")
        )
        .status,
        201
    );
    assert_eq!(
        apply(
            &fake,
            &format!("{CNPG}/clusters/bad"),
            "dbplan",
            false,
            &cluster("bad")
        )
        .status,
        201
    );
    wait_for("the failure", || {
        get(&fake, &format!("{CNPG}/clusters/bad")).json["status"]["phase"]
            == json!("Cluster cannot be created")
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        get(&fake, &format!("{CNPG}/clusters/slow")).json["status"]["phase"],
        json!("Setting up primary")
    );
    assert_eq!(
        fake.call("DELETE", "/_fake/failures", None, None)
            .unwrap()
            .status,
        204
    );
    fake.call_json("PUT", "/_fake/status-delay", &json!({"milliseconds": 0}))
        .unwrap();
    wait_for("both healthy", || {
        ["slow", "bad"].iter().all(|name| {
            get(&fake, &format!("{CNPG}/clusters/{name}")).json["status"]["phase"]
                == json!("Cluster in healthy state")
        })
    });
}
