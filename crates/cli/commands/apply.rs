//! `dbplan apply FILE | PATH...` and `dbplan destroy PATH...`: carry out a plan.
//!
//! With a saved plan file, the plan is applied as reviewed (stale or modified: refused). With
//! manifest paths, a plan is made under the state lock, shown, and applied after confirmation
//! (`--auto-approve` skips it; without a terminal to ask on, `--auto-approve` is required).

use crate::exit::Outcome;
use crate::shared::{self, PlanArgs, PlanFormat, Planning, Session};
use dbplan_core::ResourceAddress;
use dbplan_diagnostics::escape::Escaped;
use dbplan_engine::{
    ApplyError, ApplyOptions, ApplyReport, Cancel, Event, Observer, Operation, StepResult,
};
use dbplan_plan::{Plan, Verdict};
use dbplan_state::{StateStore, Store};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::fmt::Display;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The arguments of `dbplan apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A file `dbplan plan --out` wrote, or manifest files and directories.
    #[arg(required = true, value_name = "FILE | PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    plan: PlanArgs,
    #[command(flatten)]
    run: RunArgs,
    /// Let apply take over an existing object dbplan did not create (`Kind/name`: every
    /// part; `Kind/name/part`), as `dbplan.io/adopt: "true"` does; repeatable. A saved plan
    /// carries the opt-ins it was made with.
    #[arg(long = "adopt", value_name = "ADDR")]
    adopt: Vec<String>,
}

/// The arguments of `dbplan destroy`.
#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    /// Manifest files and directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    plan: PlanArgs,
    #[command(flatten)]
    run: RunArgs,
}

/// How `apply` and `destroy` carry out a plan.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Go ahead without asking (required when stdin is not a terminal).
    #[arg(long)]
    auto_approve: bool,
    /// At most this many operations at a time.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    parallelism: u16,
}

/// Whether the arguments name a saved plan rather than manifests: one file that is not YAML.
fn saved_plan(paths: &[PathBuf]) -> Option<&Path> {
    match paths {
        [path] if path.is_file() => {
            let yaml = path
                .extension()
                .and_then(|extension| extension.to_str())
                .is_some_and(|extension| matches!(extension, "yaml" | "yml"));
            (!yaml).then_some(path.as_path())
        }
        _ => None,
    }
}

/// Says why nothing is applied.
fn refuse(message: impl Display) -> Outcome {
    eprintln!("error: {}", Escaped(message));
    Outcome::Failure
}

/// `dbplan apply FILE | PATH...`.
pub fn apply(args: ApplyArgs) -> anyhow::Result<Outcome> {
    let session = Session::start()?;
    match saved_plan(&args.paths) {
        Some(_) if !args.adopt.is_empty() => Ok(refuse(
            "a saved plan applies the opt-ins it was reviewed with; to adopt more, plan again with --adopt and apply that plan",
        )),
        Some(file) => apply_saved(file, &args.plan, &args.run, &session),
        None => apply_manifests(
            &args.paths,
            &args.plan,
            &args.run,
            &args.adopt,
            false,
            &session,
        ),
    }
}

/// `dbplan destroy PATH...`.
pub fn destroy(args: DestroyArgs) -> anyhow::Result<Outcome> {
    let session = Session::start()?;
    if let Some(file) = saved_plan(&args.paths) {
        return Ok(refuse(format!(
            "`dbplan destroy` takes manifests; to apply a saved destroy plan, run `dbplan apply {}`",
            file.display()
        )));
    }
    apply_manifests(&args.paths, &args.plan, &args.run, &[], true, &session)
}

/// Applies a saved plan as it was reviewed: refused when it cannot be read, is stale, was
/// edited, holds values no manifest may have or writes files where dbplan may not.
fn apply_saved(
    file: &Path,
    plan_args: &PlanArgs,
    run: &RunArgs,
    session: &Session,
) -> anyhow::Result<Outcome> {
    let state = plan_args.state_location()?;
    let plan_file = match dbplan_plan::file::load(file) {
        Ok(plan_file) => plan_file,
        Err(error) => return Ok(refuse(error)),
    };
    // `plan --out` always leaves a state; with none here, the plan was made against
    // another location, and opening would create an empty state only to call it stale.
    if !state.exists()? {
        return Ok(refuse(format!(
            "there is no state at {}; the saved plan {} was made against state {} (serial {}): apply it with the --state it was made with, or plan again here",
            state,
            file.display(),
            plan_file.plan.state.lineage,
            plan_file.plan.state.serial
        )));
    }
    let mut store = shared::open_state(&state, "dbplan apply")?;
    let snapshot = store.snapshot()?;
    // A plan for another state cannot be authenticated with this state's key; saying that
    // it is stale is the more useful message.
    if let Err(stale) = dbplan_plan::check_fresh(
        &plan_file.plan,
        &dbplan_plan::StateRef {
            lineage: snapshot.lineage.clone(),
            serial: snapshot.serial,
        },
    ) {
        return Ok(refuse(stale));
    }
    store.set_plan(format!("{} ({})", file.display(), plan_file.digest()));
    let plan = match plan_file.authenticate(&store.key()?) {
        Ok(plan) => plan,
        Err(error) => return Ok(refuse(error)),
    };
    // Every value once more through the manifests' own checks, before any provider call.
    let mistakes = dbplan_plan::revalidate::revalidate(&plan);
    if !mistakes.is_empty() {
        for mistake in &mistakes {
            eprintln!("error: {}", Escaped(mistake));
        }
        return Ok(refuse(format!(
            "the saved plan {} holds values that no manifest may have; nothing was applied: plan again",
            file.display()
        )));
    }
    // The plan's files, resolved when it was made relative to the directory it was made
    // in: here the project is this directory, and the state directory is off limits.
    let project = dbplan_plan::files::Project::new(
        &[PathBuf::from(".")],
        state.directory(),
        plan_args.allow_files_outside,
    );
    let refused = dbplan_plan::files::check_plan(&plan, &project);
    if !refused.is_empty() {
        for refusal in &refused {
            eprintln!("error: {}", Escaped(refusal));
        }
        return Ok(refuse(format!(
            "the saved plan {} writes files where dbplan may not; nothing was applied",
            file.display()
        )));
    }
    execute(&plan, store, run, session)
}

/// Plans the manifests under the state lock, shows the plan and applies it after
/// confirmation (`--auto-approve` skips it; without a terminal to ask on, it is required).
fn apply_manifests(
    paths: &[PathBuf],
    plan_args: &PlanArgs,
    run: &RunArgs,
    adopt: &[String],
    destroy: bool,
    session: &Session,
) -> anyhow::Result<Outcome> {
    let verb = if destroy { "destroy" } else { "apply" };
    // The state stays locked from the plan to the end of the apply, so nothing can change it
    // in between.
    let location = plan_args.state_location()?;
    let (store, loaded) = shared::load_beside(paths, || {
        shared::open_state(&location, &format!("dbplan {verb}"))
    });
    let store = store?;
    let snapshot = store.snapshot()?;
    let key = store.key()?;
    let planning = Planning {
        adopt,
        offline: false,
        destroy,
        format: PlanFormat::Text,
        saving: false,
        exits_after: false,
    };
    let plan =
        match shared::make_plan(paths, loaded, plan_args, planning, &snapshot, &key, session)? {
            Verdict::Ready(plan) => plan,
            verdict => return Ok(Outcome::from(verdict)),
        };
    if !plan.has_changes() {
        println!("No changes: nothing to {verb}.");
        return Ok(Outcome::Success);
    }
    if !run.auto_approve && !confirmed(verb)? {
        return Ok(Outcome::Failure);
    }
    execute(&plan, store, run, session)
}

/// Asks on the terminal whether to go ahead; says why not when it may not or the answer is
/// not `yes`.
fn confirmed(verb: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "error: {verb} needs confirmation, and stdin is not a terminal; review the plan above and run again with --auto-approve, or save it with `dbplan plan --out FILE` and run `dbplan apply FILE`"
        );
        return Ok(false);
    }
    eprint!("\nDo you want to {verb} these changes? Only 'yes' is accepted: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        eprintln!("{verb} cancelled: nothing was changed");
        return Ok(false);
    }
    Ok(true)
}

/// Runs the engine over the plan, with progress on stderr and a summary at the end.
fn execute(plan: &Plan, store: Store, run: &RunArgs, session: &Session) -> anyhow::Result<Outcome> {
    let cancel = Cancel::new();
    let progress = Arc::new(Progress::new());
    let apply_options = ApplyOptions {
        parallelism: usize::from(run.parallelism).max(1),
        env: Arc::new(|name| std::env::var(name).ok()),
        cancel: cancel.clone(),
        observer: Arc::clone(&progress) as Arc<dyn Observer>,
    };
    let interrupt_progress = Arc::clone(&progress);
    let providers = Arc::clone(&session.providers);
    let result = session.runtime.block_on(async {
        dbplan_engine::cancel_on_ctrl_c(cancel, move || {
            interrupt_progress.line(
                "interrupted: finishing the work in flight and saving the state; press Ctrl-C again to stop at once",
            );
        });
        dbplan_engine::apply(plan, store, providers, apply_options).await
    });
    progress.finish();
    let report = match result {
        Ok(report) => report,
        Err(error @ ApplyError::PolicyFindings(_)) => {
            eprintln!("error: {error}");
            return Ok(Outcome::PolicyFindings);
        }
        Err(error) => return Ok(refuse(error)),
    };
    summarize(&report);
    if let Some(error) = &report.state_error {
        return Ok(refuse(error));
    }
    Ok(if report.is_complete() {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

fn summarize(report: &ApplyReport) {
    let failures: Vec<_> = report
        .steps
        .iter()
        .filter_map(|step| match &step.result {
            StepResult::Failed(message) => Some((step, message)),
            _ => None,
        })
        .collect();
    for (step, message) in &failures {
        // A provider's error names the address itself: said once.
        let address = step.address.to_string();
        let message = message.to_string();
        let message = message
            .strip_prefix(address.as_str())
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(&message);
        eprintln!(
            "error: {} {}: {}",
            step.operation.as_str(),
            Escaped(&address),
            Escaped(message)
        );
    }
    let done = [
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::Orphan,
    ]
    .iter()
    .map(|operation| format!("{} {}", report.done(*operation), operation.done()))
    .collect::<Vec<_>>()
    .join(", ");
    if report.is_complete() {
        println!("Apply complete: {done}.");
        return;
    }
    let mut parts = vec![format!("{} succeeded ({done})", report.succeeded())];
    parts.push(format!("{} failed", report.failed()));
    parts.push(format!("{} skipped", report.skipped()));
    if report.not_started() > 0 {
        parts.push(format!("{} not started", report.not_started()));
    }
    println!(
        "Apply {}: {}. The state records what was done; run `dbplan plan` to see what is left.",
        if report.interrupted {
            "interrupted"
        } else {
            "failed"
        },
        parts.join(", ")
    );
    for step in &report.steps {
        let outcome = match &step.result {
            StepResult::Done => continue,
            StepResult::Failed(_) => "failed".to_owned(),
            StepResult::Skipped(reason) => format!("skipped: {}", Escaped(reason)),
            StepResult::NotStarted => "not started".to_owned(),
        };
        println!(
            "  {} {}: {outcome}",
            step.operation.as_str(),
            Escaped(&step.address)
        );
    }
}

/// Progress on stderr: a spinner per step in flight with its elapsed time on a terminal,
/// plain lines otherwise.
struct Progress {
    bars: Option<MultiProgress>,
    running: Mutex<HashMap<ResourceAddress, ProgressBar>>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            bars: std::io::stderr().is_terminal().then(MultiProgress::new),
            running: Mutex::new(HashMap::new()),
        }
    }

    fn line(&self, text: &str) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    fn finish(&self) {
        if let Ok(mut running) = self.running.lock() {
            for (_, bar) in running.drain() {
                bar.finish_and_clear();
            }
        }
    }
}

fn seconds(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}

fn ing(operation: Operation) -> &'static str {
    match operation {
        Operation::Create => "creating",
        Operation::Update => "updating",
        Operation::Delete => "deleting",
        Operation::Orphan => "orphaning",
    }
}

impl Observer for Progress {
    fn on_event(&self, event: &Event<'_>) {
        match event {
            Event::Started { address, operation } => match &self.bars {
                Some(bars) => {
                    let bar = bars.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.set_message(format!("{}: {}…", Escaped(address), ing(*operation)));
                    bar.enable_steady_tick(Duration::from_millis(120));
                    if let Ok(mut running) = self.running.lock() {
                        running.insert((*address).clone(), bar);
                    }
                }
                None => eprintln!("{}: {}…", Escaped(address), ing(*operation)),
            },
            Event::Finished {
                address,
                operation,
                result,
                elapsed,
            } => {
                if let Ok(mut running) = self.running.lock()
                    && let Some(bar) = running.remove(*address)
                {
                    bar.finish_and_clear();
                }
                let text = match result {
                    StepResult::Done => {
                        format!(
                            "{}: {} after {}",
                            Escaped(address),
                            operation.done(),
                            seconds(*elapsed)
                        )
                    }
                    _ => format!(
                        "{}: {} failed after {}",
                        Escaped(address),
                        operation.as_str(),
                        seconds(*elapsed)
                    ),
                };
                self.line(&text);
            }
            Event::Skipped { address, reason } => {
                self.line(&format!(
                    "{}: skipped ({})",
                    Escaped(address),
                    Escaped(reason)
                ));
            }
        }
    }
}
