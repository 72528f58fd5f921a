//! `dbplan apply FILE | PATH...` and `dbplan destroy PATH...`: carry out a plan.
//!
//! With a saved plan file, the plan is applied as reviewed (stale or modified: refused). With
//! manifest paths, a plan is made under the state lock, shown, and applied after confirmation
//! (`--auto-approve` skips it; without a terminal to ask on, `--auto-approve` is required).

use crate::commands::plan::{self, Format};
use crate::exit;
use dbplan_diagnostics::escape::Escaped;
use dbplan_engine::{
    ApplyError, ApplyOptions, ApplyReport, Cancel, Event, Observer, Operation, StepResult,
};
use dbplan_plan::Plan;
use dbplan_state::{SledStore, StateStore};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The options of `dbplan apply` and `dbplan destroy`.
#[derive(Debug)]
pub struct Options<'a> {
    pub paths: &'a [PathBuf],
    pub state: &'a Path,
    pub auto_approve: bool,
    pub parallelism: usize,
    pub targets: &'a [String],
    pub destroy: bool,
    pub policies: Option<&'a Path>,
    /// `--allow-files-outside`: `file` fields may leave the project.
    pub allow_files_outside: bool,
    /// `--adopt ADDR`: existing objects apply may take over (apply of manifests only).
    pub adopt: &'a [String],
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

// Long: the apply and destroy steps in the order a user meets them (saved plan or a fresh one,
// state, staleness, authenticity, revalidation, files, then the engine), each refusal with its own
// message and exit code; they become library verdicts with the thin CLI (issue 16, point 4).
pub fn run(options: &Options<'_>) -> anyhow::Result<u8> {
    let runtime = plan::runtime()?;
    let providers = Arc::new(plan::providers());
    let verb = if options.destroy { "destroy" } else { "apply" };
    let holder = format!("dbplan {verb}");

    if let Some(file) = saved_plan(options.paths) {
        if options.destroy {
            eprintln!(
                "error: `dbplan destroy` takes manifests; to apply a saved destroy plan, run `dbplan apply {}`",
                Escaped(file.display())
            );
            return Ok(exit::ERROR);
        }
        if !options.adopt.is_empty() {
            eprintln!(
                "error: a saved plan applies the opt-ins it was reviewed with; to adopt more, plan again with --adopt and apply that plan"
            );
            return Ok(exit::ERROR);
        }
        let plan_file = match dbplan_plan::file::load(file) {
            Ok(plan_file) => plan_file,
            Err(error) => {
                eprintln!("error: {}", Escaped(&error));
                return Ok(exit::ERROR);
            }
        };
        // `plan --out` always leaves a state; with none here, the plan was made against
        // another location, and opening would create an empty state only to call it stale.
        if !SledStore::exists(options.state) {
            eprintln!(
                "error: there is no state at {}; the saved plan {} was made against state {} (serial {}): apply it with the --state it was made with, or plan again here",
                Escaped(options.state.display()),
                Escaped(file.display()),
                Escaped(&plan_file.plan.state.lineage),
                plan_file.plan.state.serial
            );
            return Ok(exit::ERROR);
        }
        let keep = super::state::backups_kept()?;
        let mut store = SledStore::open(options.state, &holder)?;
        store.keep_backups(keep);
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
            eprintln!("error: {}", Escaped(&stale));
            return Ok(exit::ERROR);
        }
        let plan = match plan_file.authenticate(&store.key()?) {
            Ok(plan) => plan,
            Err(error) => {
                eprintln!("error: {}", Escaped(&error));
                return Ok(exit::ERROR);
            }
        };
        // Every value once more through the manifests' own checks, before any provider call.
        let mistakes = dbplan_plan::revalidate::revalidate(&plan);
        if !mistakes.is_empty() {
            for mistake in &mistakes {
                eprintln!("error: {}", Escaped(mistake));
            }
            eprintln!(
                "error: the saved plan {} holds values that no manifest may have; nothing was applied: plan again",
                Escaped(file.display())
            );
            return Ok(exit::ERROR);
        }
        // The plan's files, resolved when it was made relative to the directory it was made
        // in: here the project is this directory, and the state directory is off limits.
        let project = dbplan_plan::files::Project::new(
            &[PathBuf::from(".")],
            Some(options.state),
            options.allow_files_outside,
        );
        let refused = dbplan_plan::files::check_plan(&plan, &project);
        if !refused.is_empty() {
            for refusal in &refused {
                eprintln!("error: {}", Escaped(refusal));
            }
            eprintln!(
                "error: the saved plan {} writes files where dbplan may not; nothing was applied",
                Escaped(file.display())
            );
            return Ok(exit::ERROR);
        }
        return execute(&runtime, &plan, store, providers, options);
    }

    // The state stays locked from the plan to the end of the apply, so nothing can change it
    // in between.
    let keep = super::state::backups_kept()?;
    let mut store = SledStore::open(options.state, &holder)?;
    store.keep_backups(keep);
    let snapshot = store.snapshot()?;
    let key = store.key()?;
    let plan_options = plan::Options {
        paths: options.paths,
        state: options.state,
        out: None,
        format: Format::Text,
        detailed_exitcode: false,
        offline: false,
        targets: options.targets,
        destroy: options.destroy,
        policies: options.policies,
        allow_files_outside: options.allow_files_outside,
        adopt: options.adopt,
    };
    let plan = match plan::make(&plan_options, &snapshot, &key, &runtime, &providers)? {
        Ok(plan) => plan,
        Err(code) => return Ok(code),
    };
    if !plan.has_changes() {
        println!("No changes: nothing to {verb}.");
        return Ok(exit::SUCCESS);
    }
    if !options.auto_approve {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "error: {verb} needs confirmation, and stdin is not a terminal; review the plan above and run again with --auto-approve, or save it with `dbplan plan --out FILE` and run `dbplan apply FILE`"
            );
            return Ok(exit::ERROR);
        }
        eprint!("\nDo you want to {verb} these changes? Only 'yes' is accepted: ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            eprintln!("{verb} cancelled: nothing was changed");
            return Ok(exit::ERROR);
        }
    }
    execute(&runtime, &plan, store, providers, options)
}

fn execute(
    runtime: &tokio::runtime::Runtime,
    plan: &Plan,
    store: SledStore,
    providers: Arc<dbplan_provider::Providers>,
    options: &Options<'_>,
) -> anyhow::Result<u8> {
    let cancel = Cancel::new();
    let progress = Arc::new(Progress::new());
    let apply_options = ApplyOptions {
        parallelism: options.parallelism.max(1),
        env: Arc::new(|name| std::env::var(name).ok()),
        cancel: cancel.clone(),
        observer: Arc::clone(&progress) as Arc<dyn Observer>,
    };
    let interrupt_progress = Arc::clone(&progress);
    let result = runtime.block_on(async {
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
        Err(ApplyError::PolicyFindings(count)) => {
            eprintln!("error: {}", ApplyError::PolicyFindings(count));
            return Ok(exit::POLICY);
        }
        Err(error) => {
            eprintln!("error: {}", Escaped(&error));
            return Ok(exit::ERROR);
        }
    };
    summarize(&report);
    if let Some(error) = &report.state_error {
        eprintln!("error: {}", Escaped(error));
        return Ok(exit::ERROR);
    }
    Ok(if report.is_complete() {
        exit::SUCCESS
    } else {
        exit::ERROR
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
        eprintln!(
            "error: {} {}: {}",
            step.operation.as_str(),
            Escaped(&step.address),
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
    running: Mutex<HashMap<String, ProgressBar>>,
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
                        running.insert(address.to_string(), bar);
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
                    && let Some(bar) = running.remove(&address.to_string())
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
