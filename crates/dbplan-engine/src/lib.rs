//! Apply: a reviewed [`Plan`] carried out through the providers.
//!
//! [`apply`] refuses a stale plan (its state lineage or serial no longer match), a blocked one
//! and one with blocking policy findings; then it walks the plan's steps as a DAG with tokio,
//! at most `parallelism` at a time: an object after the objects it depends on, a delete after
//! the deletes of its dependents, the create half of a replace after its delete half. Every
//! state change goes through one writer thread (`writer`) and is durable before the step goes
//! on; a create is recorded `pending` before its API call, so a crash at any point leaves a
//! record the next plan adopts or cleans. On a failure no new work starts on that branch (its
//! dependents are skipped) while independent branches finish. A [`Cancel`] stops new work;
//! in-flight steps finish and are recorded.
//!
//! This is the only crate that spawns tasks.

mod error;
mod step;
mod writer;

pub use error::{CloseError, StepError, WriteError};

pub use dbplan_core::Operation;
use dbplan_core::ResourceAddress;
use dbplan_plan::{Change, Plan, Staleness, StateRef};
use dbplan_provider::Providers;
use dbplan_state::{StateError, StateStore};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// How one step ended.
#[derive(Debug)]
pub enum StepResult {
    Done,
    /// The provider or the state refused it; the error says why and what to do, and keeps its
    /// cause (a provider's error with the API's code).
    Failed(StepError),
    /// Not attempted because something it needs failed.
    Skipped(String),
    /// Not attempted because the apply was interrupted.
    NotStarted,
}

/// One step of the apply and how it ended.
#[derive(Debug)]
pub struct StepReport {
    pub address: ResourceAddress,
    pub operation: Operation,
    pub result: StepResult,
    /// How long it ran (`None` when it did not run).
    pub elapsed: Option<Duration>,
}

/// The outcome of an apply.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// In the plan's apply order.
    pub steps: Vec<StepReport>,
    /// Whether a [`Cancel`] stopped it.
    pub interrupted: bool,
    /// The state serial after the last write.
    pub serial: u64,
    /// Why the state could not be closed after the last write (its backup failed); every
    /// write before was durable.
    pub state_error: Option<CloseError>,
}

impl ApplyReport {
    fn count(&self, matches: impl Fn(&StepResult) -> bool) -> usize {
        self.steps
            .iter()
            .filter(|step| matches(&step.result))
            .count()
    }

    pub fn succeeded(&self) -> usize {
        self.count(|result| matches!(result, StepResult::Done))
    }

    pub fn failed(&self) -> usize {
        self.count(|result| matches!(result, StepResult::Failed(_)))
    }

    pub fn skipped(&self) -> usize {
        self.count(|result| matches!(result, StepResult::Skipped(_)))
    }

    pub fn not_started(&self) -> usize {
        self.count(|result| matches!(result, StepResult::NotStarted))
    }

    /// Whether every step was done.
    pub fn is_complete(&self) -> bool {
        self.succeeded() == self.steps.len()
    }

    /// Steps done per operation, e.g. how many objects were created.
    pub fn done(&self, operation: Operation) -> usize {
        self.steps
            .iter()
            .filter(|step| step.operation == operation && matches!(step.result, StepResult::Done))
            .count()
    }
}

/// What the engine reports while it works.
#[derive(Debug)]
pub enum Event<'a> {
    Started {
        address: &'a ResourceAddress,
        operation: Operation,
    },
    Finished {
        address: &'a ResourceAddress,
        operation: Operation,
        result: &'a StepResult,
        elapsed: Duration,
    },
    /// A dependent that will not run.
    Skipped {
        address: &'a ResourceAddress,
        reason: &'a str,
    },
}

/// Receives the engine's events (the CLI draws progress from them).
pub trait Observer: Send + Sync {
    fn on_event(&self, event: &Event<'_>);
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Silent;

impl Observer for Silent {
    fn on_event(&self, _event: &Event<'_>) {}
}

/// Stops an apply from starting new work; steps in flight finish and are recorded.
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    inner: Arc<CancelInner>,
}

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Ctrl-C handling for an apply: the first interrupt cancels (in-flight work finishes and is
/// recorded) and calls `on_first`; the second ends the process at once with exit code 130,
/// which still loses nothing: every object is recorded `pending` before its API call.
pub fn cancel_on_ctrl_c(cancel: Cancel, on_first: impl Fn() + Send + 'static) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        cancel.cancel();
        on_first();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

/// Reads an environment variable (the `secretEnv` values a plan names).
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How to apply.
#[derive(Clone)]
pub struct ApplyOptions {
    /// At most this many steps at a time (at least 1).
    pub parallelism: usize,
    /// Reads the `secretEnv` variables the plan names.
    pub env: Env,
    pub cancel: Cancel,
    pub observer: Arc<dyn Observer>,
}

impl std::fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("parallelism", &self.parallelism)
            .finish_non_exhaustive()
    }
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 10,
            env: Arc::new(|name| std::env::var(name).ok()),
            cancel: Cancel::new(),
            observer: Arc::new(Silent),
        }
    }
}

/// Why an apply did not start.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Stale(#[from] Staleness),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the plan may not be applied: {}", .0.join("; "))]
    Blocked(Vec<String>),
    #[error(
        "the plan has {0} blocking policy finding(s); fix them or waive them with a reason, then plan again"
    )]
    PolicyFindings(usize),
    #[error("the plan file is inconsistent: {0}; make a new plan")]
    Inconsistent(String),
}

/// Applies a plan. The store must be the one the plan was made against (it is checked), held
/// by this process (its lock taken); it is handed to the writer thread for the duration.
pub async fn apply<S: StateStore + Send + 'static>(
    plan: &Plan,
    store: S,
    providers: Arc<Providers>,
    options: ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let snapshot = store.snapshot()?;
    dbplan_plan::check_fresh(
        plan,
        &StateRef {
            lineage: snapshot.lineage.clone(),
            serial: snapshot.serial,
        },
    )?;
    let blocked: Vec<String> = plan
        .blocked()
        .iter()
        .filter_map(|change| change.blocked.clone())
        .collect();
    if !blocked.is_empty() {
        return Err(ApplyError::Blocked(blocked));
    }
    let findings = plan.blocking_findings();
    if findings > 0 {
        return Err(ApplyError::PolicyFindings(findings));
    }
    let schedule = Schedule::new(plan, &snapshot)?;
    let serial = snapshot.serial;
    let key = store.key()?;
    let (writer, thread) = writer::Writer::start(store, snapshot);
    let shared = Arc::new(step::Shared {
        writer,
        key,
        providers,
        env: Arc::clone(&options.env),
        refreshed: plan.refreshed,
    });
    let mut report = run(&schedule, &shared, &options).await;
    report.serial = shared.writer.read(|snapshot| snapshot.serial).max(serial);
    drop(shared);
    // Every write was durable when its step went on; joining returns the store, which then
    // closes the session (its backup).
    report.state_error = match tokio::task::spawn_blocking(move || thread.join()).await {
        Ok(Ok(store)) => store.finish().err().map(CloseError::State),
        _ => Some(CloseError::WriterEnded),
    };
    Ok(report)
}

/// The plan's steps as a DAG: each step with the steps it waits for.
struct Schedule {
    steps: Vec<(Operation, Change)>,
    /// Step index → the steps that wait for it.
    dependents: Vec<Vec<usize>>,
    /// Step index → how many steps it waits for.
    waits_for: Vec<usize>,
}

impl Schedule {
    /// A delete waits for the deletes of the objects that depend on it, by the dependencies
    /// recorded in state (for the delete half of a replace, the manifests may say otherwise
    /// already); a create or update waits for its dependencies' steps and for its own delete
    /// half. Every delete also runs before every create and update ([`run`] holds those back
    /// until the deletes are done), as the apply order says: a new object may take the name,
    /// owner or file of one being deleted.
    fn new(plan: &Plan, recorded: &dbplan_state::Snapshot) -> Result<Schedule, ApplyError> {
        let changes: HashMap<&ResourceAddress, &Change> = plan
            .changes
            .iter()
            .map(|change| (&change.address, change))
            .collect();
        let mut steps = Vec::with_capacity(plan.apply_order.len());
        let mut dependents: Vec<Vec<usize>> = Vec::with_capacity(plan.apply_order.len());
        let mut waits_for = Vec::with_capacity(plan.apply_order.len());
        // The latest step of each address so far, and the delete steps of objects that
        // depend on an address (which must go before that address's own delete).
        let mut latest: HashMap<&ResourceAddress, usize> = HashMap::new();
        let mut deleting_dependents: HashMap<&ResourceAddress, Vec<usize>> = HashMap::new();
        for (index, step) in plan.apply_order.iter().enumerate() {
            let operation = step.operation;
            let address = &step.address;
            let change = changes.get(&step.address).ok_or_else(|| {
                ApplyError::Inconsistent(format!("no change for step {}", step.address))
            })?;
            if !operation.carries_out(change.action) {
                return Err(ApplyError::Inconsistent(format!(
                    "step {} {} does not match its change ({})",
                    operation.as_str(),
                    step.address,
                    change.action.as_str()
                )));
            }
            let mut prerequisites: Vec<usize> = Vec::new();
            if let Some(&previous) = latest.get(address) {
                prerequisites.push(previous);
            }
            match operation {
                Operation::Create | Operation::Update => {
                    for dependency in &change.dependencies {
                        if let Some(&previous) = latest.get(dependency) {
                            prerequisites.push(previous);
                        }
                    }
                }
                Operation::Delete | Operation::Orphan => {
                    if let Some(before) = deleting_dependents.get(address) {
                        prerequisites.extend(before);
                    }
                    let dependencies = recorded
                        .resources
                        .get(address)
                        .map_or(&change.dependencies, |resource| &resource.dependencies);
                    for dependency in dependencies {
                        deleting_dependents
                            .entry(dependency)
                            .or_default()
                            .push(index);
                    }
                }
            }
            prerequisites.sort_unstable();
            prerequisites.dedup();
            waits_for.push(prerequisites.len());
            for prerequisite in prerequisites {
                dependents[prerequisite].push(index);
            }
            dependents.push(Vec::new());
            latest.insert(address, index);
            steps.push((operation, (*change).clone()));
        }
        Ok(Schedule {
            steps,
            dependents,
            waits_for,
        })
    }
}

// Long: the scheduler loop (start ready steps up to the parallelism, join them, release dependents
// and held creates, stop on cancel); every branch updates the same waiting counts and queues, which
// split up would be passed to every part.
async fn run(
    schedule: &Schedule,
    shared: &Arc<step::Shared>,
    options: &ApplyOptions,
) -> ApplyReport {
    let count = schedule.steps.len();
    let mut results: Vec<Option<(StepResult, Option<Duration>)>> =
        (0..count).map(|_| None).collect();
    let mut waiting = schedule.waits_for.clone();
    let is_delete = |index: usize| {
        matches!(
            schedule.steps[index].0,
            Operation::Delete | Operation::Orphan
        )
    };
    // Creates and updates wait in `held` until every delete and orphan has ended (done,
    // failed or skipped).
    let mut deletes_left = (0..count).filter(|&index| is_delete(index)).count();
    let mut held: VecDeque<usize> = VecDeque::new();
    let mut ready: VecDeque<usize> = VecDeque::new();
    for index in (0..count).filter(|&index| waiting[index] == 0) {
        if is_delete(index) || deletes_left == 0 {
            ready.push_back(index);
        } else {
            held.push_back(index);
        }
    }
    let mut running: JoinSet<(usize, StepResult, Duration)> = JoinSet::new();
    let mut task_steps: HashMap<tokio::task::Id, usize> = HashMap::new();
    let parallelism = options.parallelism.max(1);
    let mut interrupted = false;
    loop {
        if options.cancel.is_cancelled() {
            interrupted = true;
        }
        while !interrupted && running.len() < parallelism {
            let Some(index) = ready.pop_front() else {
                break;
            };
            let (operation, change) = &schedule.steps[index];
            options.observer.on_event(&Event::Started {
                address: &change.address,
                operation: *operation,
            });
            let shared = Arc::clone(shared);
            let operation = *operation;
            let change = change.clone();
            let handle = running.spawn(async move {
                let started = Instant::now();
                let result = step::run(&shared, operation, &change).await;
                (index, result, started.elapsed())
            });
            task_steps.insert(handle.id(), index);
        }
        if running.is_empty() {
            break;
        }
        let joined = tokio::select! {
            joined = running.join_next_with_id() => joined,
            () = options.cancel.cancelled(), if !interrupted => {
                interrupted = true;
                continue;
            }
        };
        let Some(joined) = joined else {
            break;
        };
        let (index, result, elapsed) = match joined {
            Ok((_, done)) => done,
            // A step that stopped unexpectedly fails like any other; its record (`pending`,
            // if it got that far) is in state.
            Err(error) => {
                let Some(index) = task_steps.get(&error.id()).copied() else {
                    continue;
                };
                (
                    index,
                    StepResult::Failed(StepError::Stopped(error)),
                    Duration::ZERO,
                )
            }
        };
        let (operation, change) = &schedule.steps[index];
        options.observer.on_event(&Event::Finished {
            address: &change.address,
            operation: *operation,
            result: &result,
            elapsed,
        });
        let mut deletes_ended = usize::from(is_delete(index));
        if matches!(result, StepResult::Done) {
            for &dependent in &schedule.dependents[index] {
                waiting[dependent] -= 1;
                if waiting[dependent] == 0 && results[dependent].is_none() {
                    if is_delete(dependent) || deletes_left == 0 {
                        ready.push_back(dependent);
                    } else {
                        held.push_back(dependent);
                    }
                }
            }
        } else {
            let reason = format!("{} {} did not succeed", operation.as_str(), change.address);
            let skipped = skip_dependents(schedule, index, &reason, &mut results, options);
            deletes_ended += skipped
                .iter()
                .filter(|&&skipped| is_delete(skipped))
                .count();
            held.retain(|waiting| !skipped.contains(waiting));
        }
        if deletes_ended > 0 {
            deletes_left = deletes_left.saturating_sub(deletes_ended);
            if deletes_left == 0 {
                ready.extend(held.drain(..));
            }
        }
        results[index] = Some((result, Some(elapsed)));
    }
    if options.cancel.is_cancelled() {
        interrupted = true;
    }
    let steps = schedule
        .steps
        .iter()
        .zip(results)
        .map(|((operation, change), result)| {
            let (result, elapsed) = result.unwrap_or((StepResult::NotStarted, None));
            StepReport {
                address: change.address.clone(),
                operation: *operation,
                result,
                elapsed,
            }
        })
        .collect();
    ApplyReport {
        steps,
        interrupted,
        serial: 0,
        state_error: None,
    }
}

/// Marks every step that waits, directly or not, on a step that did not succeed; returns them.
fn skip_dependents(
    schedule: &Schedule,
    failed: usize,
    reason: &str,
    results: &mut [Option<(StepResult, Option<Duration>)>],
    options: &ApplyOptions,
) -> Vec<usize> {
    let mut skipped = Vec::new();
    let mut pending: Vec<usize> = schedule.dependents[failed].clone();
    while let Some(index) = pending.pop() {
        if results[index].is_some() {
            continue;
        }
        let (_, change) = &schedule.steps[index];
        options.observer.on_event(&Event::Skipped {
            address: &change.address,
            reason,
        });
        results[index] = Some((StepResult::Skipped(reason.to_owned()), None));
        skipped.push(index);
        pending.extend(&schedule.dependents[index]);
    }
    skipped
}
