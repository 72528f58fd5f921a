//! Offline admission in the plan: what an admission refuses of the planned parts. A transition
//! rule's refusal of an update makes the part a replacement (blocked where the lifecycle protects
//! it); an invalid object is an error at the resource in the manifests; an unevaluated rule is a
//! warning; parts that are not changing are not checked but lend their values. And what dbplan
//! itself knows must replace a cluster part (another Kubernetes context).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use dbplan_core::{Action, Kind, ResourceAddress};
use dbplan_diagnostics::Severity;
use dbplan_provider::admission::{Admission, PartValues, Refusal, RefusalKind};
use serde_json::json;
use std::sync::Mutex;
use support::{Run, applied, change, load, plan, plan_with};

const CLUSTER: &str = r#"
apiVersion: dbplan.io/v1
kind: CnpgCluster
metadata:
  name: home-pg
  ANNOTATIONS
spec:
  namespace: databases
  instances: INSTANCES
  storage: {size: 10Gi}
  databases:
    - {name: app, owner: app}
"#;

fn manifest(instances: u32, prevent_destroy: bool) -> String {
    CLUSTER
        .replace("INSTANCES", &instances.to_string())
        .replace(
            "ANNOTATIONS",
            if prevent_destroy {
                "annotations: {dbplan.io/prevent-destroy: \"true\"}"
            } else {
                "labels: {env: home}"
            },
        )
}

/// Stands in for an API server whose CRD makes `instances` immutable, and counts what it saw.
#[derive(Debug, Default)]
struct FrozenInstances {
    seen: Mutex<Vec<(String, bool, bool, bool)>>,
}

impl Admission for FrozenInstances {
    fn handles(&self, kind: Kind) -> bool {
        kind == Kind::CnpgCluster
    }

    fn admit(&self, resource: &ResourceAddress, parts: &[PartValues<'_>]) -> Vec<Refusal> {
        assert_eq!(resource.to_string(), "CnpgCluster/home-pg");
        let mut refusals = Vec::new();
        for part in parts {
            self.seen.lock().unwrap().push((
                part.address.to_string(),
                part.changing,
                part.after.is_some(),
                part.before.is_some(),
            ));
            if !part.changing {
                continue;
            }
            let instances =
                |values: Option<&std::collections::BTreeMap<String, serde_json::Value>>| {
                    values.and_then(|values| values.get("instances").cloned())
                };
            if let (Some(before), Some(after)) = (instances(part.before), instances(part.after))
                && before != after
            {
                refusals.push(Refusal {
                    part: part.address.clone(),
                    object: "Cluster databases/home-pg".to_owned(),
                    field: "spec.instances".to_owned(),
                    message: "Invalid value: \"integer\": instances is immutable".to_owned(),
                    rule: Some("self == oldSelf".to_owned()),
                    kind: RefusalKind::Immutable,
                });
            }
            if instances(part.after) == Some(json!(7)) {
                refusals.push(Refusal {
                    part: part.address.clone(),
                    object: "Cluster databases/home-pg".to_owned(),
                    field: "spec.instances".to_owned(),
                    message: "Invalid value: 7: must be odd and below 7".to_owned(),
                    rule: None,
                    kind: RefusalKind::Invalid,
                });
            }
            if instances(part.after) == Some(json!(9)) {
                refusals.push(Refusal {
                    part: part.address.clone(),
                    object: "Cluster databases/home-pg".to_owned(),
                    field: String::new(),
                    message: "the rule could not be evaluated".to_owned(),
                    rule: Some("self.x.y()".to_owned()),
                    kind: RefusalKind::Unknown,
                });
            }
        }
        refusals
    }
}

fn recorded(instances: u32, prevent_destroy: bool) -> dbplan_state::Snapshot {
    let text = manifest(instances, prevent_destroy);
    let (set, graph) = load(&[("cluster.yaml", &text)]);
    applied(
        &plan(&set, &graph, &Default::default()),
        &Default::default(),
    )
}

#[test]
fn an_update_a_transition_rule_refuses_becomes_a_replacement_with_the_crds_message() {
    let state = recorded(3, false);
    let text = manifest(5, false);
    let (set, graph) = load(&[("cluster.yaml", &text)]);
    let admission = FrozenInstances::default();
    let planned = plan_with(
        &set,
        &graph,
        &state,
        &Run {
            admission: Some(&admission),
            ..Run::default()
        },
    );
    let cluster = change(&planned.plan, "CnpgCluster/home-pg/cluster");
    assert_eq!(cluster.action, Action::Replace);
    assert_eq!(cluster.replace_because, ["instances"]);
    let note = cluster.note.as_deref().unwrap();
    assert!(note.contains("instances is immutable"), "{note}");
    assert!(
        note.contains("Cluster databases/home-pg: spec.instances"),
        "{note}"
    );
    assert!(cluster.blocked.is_none());
    // The database part did not change: it was handed over with its values, not checked.
    let database = change(&planned.plan, "CnpgCluster/home-pg/database-app");
    assert_eq!(database.action, Action::NoOp);
    let seen = admission.seen.lock().unwrap();
    assert!(
        seen.contains(&(
            "CnpgCluster/home-pg/database-app".to_owned(),
            false,
            true,
            true
        )),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("CnpgCluster/home-pg/cluster".to_owned(), true, true, true)),
        "{seen:?}"
    );
    // The replacement deletes before it creates, like any other.
    let order = support::order(&planned.plan);
    assert!(
        order
            .iter()
            .any(|step| step.contains("delete CnpgCluster/home-pg/cluster")),
        "{order:?}"
    );
    assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);
}

#[test]
fn a_protected_part_a_transition_rule_refuses_is_blocked_not_replaced_silently() {
    let state = recorded(3, true);
    let text = manifest(5, true);
    let (set, graph) = load(&[("cluster.yaml", &text)]);
    let admission = FrozenInstances::default();
    let planned = plan_with(
        &set,
        &graph,
        &state,
        &Run {
            admission: Some(&admission),
            ..Run::default()
        },
    );
    let cluster = change(&planned.plan, "CnpgCluster/home-pg/cluster");
    assert_eq!(cluster.action, Action::Replace);
    let blocked = cluster.blocked.as_deref().unwrap();
    assert!(blocked.contains("prevent-destroy"), "{blocked}");
    assert!(!planned.plan.blocked().is_empty());
}

#[test]
fn an_invalid_object_is_an_error_at_the_resource_and_an_unevaluated_rule_a_warning() {
    let admission = FrozenInstances::default();
    for (instances, severity, code) in
        [(7, Severity::Error, "S002"), (9, Severity::Warning, "S003")]
    {
        let text = manifest(instances, false);
        let (set, graph) = load(&[("cluster.yaml", &text)]);
        let planned = plan_with(
            &set,
            &graph,
            &Default::default(),
            &Run {
                admission: Some(&admission),
                ..Run::default()
            },
        );
        assert_eq!(planned.diagnostics.len(), 1, "{:?}", planned.diagnostics);
        let diagnostic = &planned.diagnostics[0];
        assert_eq!(diagnostic.severity, severity);
        assert_eq!(diagnostic.code.as_str(), code);
        assert_eq!(
            diagnostic.resource.as_deref(),
            Some("CnpgCluster/home-pg/cluster")
        );
        assert!(
            diagnostic.span.is_some(),
            "the diagnostic points into the manifest"
        );
        // A create has no recorded object: nothing is replaced.
        let cluster = change(&planned.plan, "CnpgCluster/home-pg/cluster");
        assert_eq!(cluster.action, Action::Create);
    }
}

#[test]
fn without_an_admission_nothing_is_checked() {
    let state = recorded(3, false);
    let text = manifest(5, false);
    let (set, graph) = load(&[("cluster.yaml", &text)]);
    let planned = plan_with(&set, &graph, &state, &Run::default());
    let cluster = change(&planned.plan, "CnpgCluster/home-pg/cluster");
    assert_eq!(cluster.action, Action::Update);
}

#[test]
fn a_cluster_moved_to_another_kubernetes_context_is_replaced() {
    let state = recorded(3, false);
    let text = manifest(3, false).replace(
        "  namespace: databases\n",
        "  namespace: databases\n  context: office\n",
    );
    let (set, graph) = load(&[("cluster.yaml", &text)]);
    let planned = plan(&set, &graph, &state);
    let cluster = change(&planned, "CnpgCluster/home-pg/cluster");
    assert_eq!(cluster.action, Action::Replace);
    assert_eq!(cluster.replace_because, ["context"]);
}
