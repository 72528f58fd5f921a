//! The apply engine against the in-memory fake provider and a real sled state: order,
//! references, parallelism, failures, cancellation, staleness and fingerprints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dbplan_core::{Kind, ResourceAddress, Value};
use dbplan_engine::{
    ApplyError, ApplyOptions, ApplyReport, Cancel, Event, Observer, Operation, StepError,
    StepResult,
};
use dbplan_plan::{Desired, OutputRef, Plan};
use dbplan_provider::{FakeProvider, ProviderError, Providers};
use dbplan_state::{SledStore, Snapshot, StateStore, Status};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KIND: Kind = Kind::DigitalOceanVpc;

fn address(name: &str) -> ResourceAddress {
    ResourceAddress::new(KIND, name)
}

/// An object whose `parent` (if any) is the `id` output of its first dependency.
fn object(name: &str, dependencies: &[&str], size: &str) -> Desired {
    let mut attributes = BTreeMap::new();
    attributes.insert("size".to_owned(), Value::String(size.to_owned()));
    let mut references = BTreeMap::new();
    if let Some(first) = dependencies.first() {
        attributes.insert("parent".to_owned(), Value::Unknown);
        references.insert(
            "parent".to_owned(),
            OutputRef {
                address: ResourceAddress::new(KIND, *first),
                output: "id".to_owned(),
            },
        );
    }
    Desired {
        address: ResourceAddress::new(KIND, name),
        attributes,
        references,
        secrets: BTreeMap::new(),
        dependencies: dependencies
            .iter()
            .map(|name| ResourceAddress::new(KIND, *name))
            .collect(),
        lifecycle: Default::default(),
        waivers: BTreeMap::new(),
    }
}

struct Lab {
    directory: tempfile::TempDir,
    fake: Arc<FakeProvider>,
}

impl Lab {
    fn new() -> Lab {
        Lab {
            directory: tempfile::tempdir().unwrap(),
            fake: Arc::new(FakeProvider::new("fake", [KIND])),
        }
    }

    fn store(&self) -> SledStore {
        SledStore::open(self.directory.path(), "engine test").unwrap()
    }

    fn snapshot(&self) -> Snapshot {
        self.store().snapshot().unwrap()
    }

    fn plan(&self, desired: &[Desired]) -> Plan {
        dbplan_plan::plan_objects(desired, &self.snapshot(), false)
    }

    fn apply_with(&self, plan: &Plan, options: ApplyOptions) -> Result<ApplyReport, ApplyError> {
        let providers = Arc::new(Providers::new().with(Arc::clone(&self.fake)));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(dbplan_engine::apply(plan, self.store(), providers, options))
    }

    fn apply(&self, plan: &Plan) -> ApplyReport {
        self.apply_with(plan, ApplyOptions::default()).unwrap()
    }
}

fn result<'a>(report: &'a ApplyReport, name: &str) -> &'a StepResult {
    &report
        .steps
        .iter()
        .find(|step| step.address == address(name))
        .unwrap_or_else(|| panic!("no step for {name}"))
        .result
}

#[test]
fn creates_follow_dependencies_resolve_references_and_record_state() {
    let lab = Lab::new();
    let desired = [
        object("network", &[], "s"),
        object("cluster", &["network"], "m"),
        object("pool", &["cluster"], "l"),
    ];
    let report = lab.apply(&lab.plan(&desired));
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.done(Operation::Create), 3);
    let creates: Vec<ResourceAddress> = lab
        .fake
        .calls()
        .into_iter()
        .filter(|call| call.operation == "create")
        .map(|call| call.address)
        .collect();
    assert_eq!(
        creates,
        [address("network"), address("cluster"), address("pool")]
    );
    let state = lab.snapshot();
    let network = &state.resources[&address("network")];
    let cluster = &state.resources[&address("cluster")];
    assert_eq!(network.status, Status::Ready);
    assert_eq!(
        cluster.attributes["parent"].value, network.outputs["id"].value,
        "the reference resolved to the created object's id"
    );
    assert_eq!(
        cluster.dependencies,
        [ResourceAddress::new(KIND, "network")]
    );
    // Every step wrote twice (pending, ready): six writes after the state was created.
    assert_eq!(report.serial, state.serial);
    // A second plan finds nothing to do.
    assert!(!lab.plan(&desired).has_changes());
}

#[test]
fn a_failure_skips_dependents_while_independent_branches_finish() {
    let lab = Lab::new();
    lab.fake.fail_changes(&address("x1"), "quota exceeded");
    let desired = [
        object("x1", &[], "s"),
        object("x2", &["x1"], "s"),
        object("x3", &["x2"], "s"),
        object("y1", &[], "s"),
        object("y2", &["y1"], "s"),
    ];
    let report = lab.apply(&lab.plan(&desired));
    let StepResult::Failed(failure) = result(&report, "x1") else {
        panic!("x1 did not fail: {:?}", result(&report, "x1"));
    };
    assert!(failure.to_string().contains("quota exceeded"), "{failure}");
    // The provider's error reaches the caller as the provider returned it, with its API code.
    assert!(
        matches!(
            failure.provider_error(),
            Some(ProviderError::Api { code: Some(code), .. }) if &**code == "InjectedFailure"
        ),
        "{failure:?}"
    );
    assert!(matches!(result(&report, "x2"), StepResult::Skipped(_)));
    assert!(matches!(result(&report, "x3"), StepResult::Skipped(_)));
    assert!(matches!(result(&report, "y1"), StepResult::Done));
    assert!(matches!(result(&report, "y2"), StepResult::Done));
    assert_eq!(
        (report.succeeded(), report.failed(), report.skipped()),
        (2, 1, 2)
    );
    let state = lab.snapshot();
    // The failed create is recorded pending (the next plan adopts or creates it); its
    // dependents were never attempted.
    assert_eq!(state.resources[&address("x1")].status, Status::Pending);
    assert!(!state.resources.contains_key(&address("x2")));
    assert_eq!(state.resources[&address("y2")].status, Status::Ready);

    // Fixed, the next apply converges.
    let lab_fixed = Lab {
        directory: lab.directory,
        fake: Arc::new(FakeProvider::new("fake", [KIND])),
    };
    let plan = lab_fixed.plan(&desired);
    assert_eq!(
        plan.changes
            .iter()
            .filter(|change| change.action == dbplan_core::Action::Create)
            .count(),
        3
    );
    assert!(lab_fixed.apply(&plan).is_complete());
}

/// Counts steps in flight.
#[derive(Default)]
struct Concurrency {
    now: AtomicUsize,
    peak: AtomicUsize,
    started: Mutex<Vec<String>>,
    cancel_after: Option<(usize, Cancel)>,
}

impl Observer for Concurrency {
    fn on_event(&self, event: &Event<'_>) {
        match event {
            Event::Started { address, .. } => {
                let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
                self.peak.fetch_max(now, Ordering::SeqCst);
                let mut started = self.started.lock().unwrap();
                started.push(address.to_string());
                if let Some((after, cancel)) = &self.cancel_after
                    && started.len() == *after
                {
                    cancel.cancel();
                }
            }
            Event::Finished { .. } => {
                self.now.fetch_sub(1, Ordering::SeqCst);
            }
            Event::Skipped { .. } => {}
        }
    }
}

#[test]
fn parallelism_bounds_the_steps_in_flight() {
    let lab = Lab::new();
    lab.fake.set_latency(Duration::from_millis(50));
    let desired: Vec<Desired> = (0..12)
        .map(|index| object(&format!("n{index}"), &[], "s"))
        .collect();
    let observer = Arc::new(Concurrency::default());
    let report = lab
        .apply_with(
            &lab.plan(&desired),
            ApplyOptions {
                parallelism: 4,
                observer: Arc::clone(&observer) as Arc<dyn Observer>,
                ..ApplyOptions::default()
            },
        )
        .unwrap();
    assert!(report.is_complete());
    assert_eq!(observer.peak.load(Ordering::SeqCst), 4);
}

#[test]
fn deletes_go_dependents_first_and_replace_deletes_before_it_creates() {
    let lab = Lab::new();
    let desired = [
        object("base", &[], "s"),
        object("middle", &["base"], "s"),
        object("top", &["middle"], "s"),
    ];
    assert!(lab.apply(&lab.plan(&desired)).is_complete());

    // A region change replaces the base, and the cascade replaces what references it: the
    // deletes run top-down, then the creates bottom-up.
    let mut moved = desired.clone();
    for object in &mut moved {
        object
            .attributes
            .insert("region".to_owned(), Value::String("fra1".to_owned()));
    }
    let replace = lab.plan(&moved);
    assert!(
        replace
            .changes
            .iter()
            .all(|change| change.action == dbplan_core::Action::Replace)
    );
    let before = lab.fake.calls().len();
    assert!(lab.apply(&replace).is_complete());
    let calls: Vec<String> = lab.fake.calls()[before..]
        .iter()
        .filter(|call| call.operation != "read")
        .map(|call| format!("{} {}", call.operation, call.address))
        .collect();
    assert_eq!(
        calls,
        [
            format!("delete {}", address("top")),
            format!("delete {}", address("middle")),
            format!("delete {}", address("base")),
            format!("create {}", address("base")),
            format!("create {}", address("middle")),
            format!("create {}", address("top")),
        ]
    );
    let desired = moved;

    let destroy = dbplan_plan::plan_objects(&desired, &lab.snapshot(), true);
    let before = lab.fake.calls().len();
    let report = lab.apply(&destroy);
    assert!(report.is_complete(), "{report:?}");
    let deletes: Vec<ResourceAddress> = lab.fake.calls()[before..]
        .iter()
        .filter(|call| call.operation == "delete")
        .map(|call| call.address.clone())
        .collect();
    assert_eq!(
        deletes,
        [address("top"), address("middle"), address("base")]
    );
    assert!(lab.snapshot().resources.is_empty());
    assert!(lab.fake.addresses().is_empty());
}

#[test]
fn a_stale_or_blocked_plan_is_refused_before_anything_runs() {
    let lab = Lab::new();
    let plan = lab.plan(&[object("a", &[], "s")]);
    // Someone else applies first.
    assert!(lab.apply(&lab.plan(&[object("b", &[], "s")])).is_complete());
    let calls = lab.fake.calls().len();
    let refused = lab.apply_with(&plan, ApplyOptions::default());
    assert!(matches!(refused, Err(ApplyError::Stale(_))), "{refused:?}");
    assert_eq!(lab.fake.calls().len(), calls);

    let mut blocked = lab.plan(&[object("b", &[], "s"), object("c", &[], "s")]);
    blocked.changes[0].blocked = Some("protected".to_owned());
    assert!(matches!(
        lab.apply_with(&blocked, ApplyOptions::default()),
        Err(ApplyError::Blocked(_))
    ));
}

#[test]
fn cancel_lets_steps_in_flight_finish_and_starts_nothing_new() {
    let lab = Lab::new();
    lab.fake.set_latency(Duration::from_millis(100));
    let desired: Vec<Desired> = (0..6)
        .map(|index| object(&format!("c{index}"), &[], "s"))
        .collect();
    let cancel = Cancel::new();
    let observer = Arc::new(Concurrency {
        cancel_after: Some((2, cancel.clone())),
        ..Concurrency::default()
    });
    let report = lab
        .apply_with(
            &lab.plan(&desired),
            ApplyOptions {
                parallelism: 2,
                cancel,
                observer: Arc::clone(&observer) as Arc<dyn Observer>,
                ..ApplyOptions::default()
            },
        )
        .unwrap();
    assert!(report.interrupted);
    assert_eq!(report.succeeded(), 2, "{report:?}");
    assert_eq!(report.not_started(), 4);
    let state = lab.snapshot();
    assert_eq!(state.resources.len(), 2);
    assert!(
        state
            .resources
            .values()
            .all(|resource| resource.status == Status::Ready)
    );
}

#[test]
fn an_object_changed_since_a_refreshed_plan_is_refused() {
    let lab = Lab::new();
    assert!(lab.apply(&lab.plan(&[object("a", &[], "s")])).is_complete());
    let mut plan = lab.plan(&[object("a", &[], "m")]);
    assert_eq!(plan.changes[0].action, dbplan_core::Action::Update);
    // As if refresh had read it: its fingerprint is the recorded one.
    plan.refreshed = true;
    lab.fake
        .set_attribute(&address("a"), "size", serde_json::json!("xl"));
    let report = lab.apply(&plan);
    assert!(
        matches!(result(&report, "a"), StepResult::Failed(error @ StepError::ChangedSincePlan { .. }) if error.to_string().contains("changed outside dbplan since the plan")),
        "{report:?}"
    );
    assert_eq!(
        lab.snapshot().resources[&address("a")].attributes["size"].value,
        "s"
    );
}

/// Records the order of starts and ends.
#[derive(Default)]
struct Timeline(Mutex<Vec<String>>);

impl Observer for Timeline {
    fn on_event(&self, event: &Event<'_>) {
        let line = match event {
            Event::Started { address, .. } => format!("start {address}"),
            Event::Finished { address, .. } => format!("end {address}"),
            Event::Skipped { address, .. } => format!("skip {address}"),
        };
        self.0.lock().unwrap().push(line);
    }
}

#[test]
fn creates_wait_until_every_delete_has_ended_even_a_failed_one() {
    let lab = Lab::new();
    assert!(
        lab.apply(&lab.plan(&[object("old", &[], "s"), object("older", &[], "s")]))
            .is_complete()
    );
    lab.fake.set_latency(Duration::from_millis(50));
    lab.fake.fail_changes(&address("older"), "still in use");
    // `old` and `older` leave the manifests; `new`, unrelated to them, arrives. A new object
    // may take the name or file of one being deleted, so it starts only after the deletes.
    let plan = lab.plan(&[object("new", &[], "s")]);
    let timeline = Arc::new(Timeline::default());
    let report = lab
        .apply_with(
            &plan,
            ApplyOptions {
                observer: Arc::clone(&timeline) as Arc<dyn Observer>,
                ..ApplyOptions::default()
            },
        )
        .unwrap();
    assert!(matches!(result(&report, "old"), StepResult::Done));
    assert!(matches!(result(&report, "older"), StepResult::Failed(_)));
    assert!(matches!(result(&report, "new"), StepResult::Done));
    let timeline = timeline.0.lock().unwrap().clone();
    let position = |line: String| timeline.iter().position(|seen| *seen == line).unwrap();
    let create = position(format!("start {}", address("new")));
    assert!(
        create > position(format!("end {}", address("old"))),
        "{timeline:?}"
    );
    assert!(
        create > position(format!("end {}", address("older"))),
        "{timeline:?}"
    );
}
