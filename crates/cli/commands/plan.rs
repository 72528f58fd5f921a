//! `dbplan plan PATH...`: what apply would do, with the policies checked; optionally saved.

use crate::exit;
use crate::output;
use dbplan_diagnostics::Severity;
use dbplan_diagnostics::escape::Escaped;
use dbplan_plan::refresh::LookupScope;
use dbplan_plan::render::{self, TextOptions};
use dbplan_plan::{Plan, PlanRequest, Planned};
use dbplan_provider::Providers;
use dbplan_provider_aws::AwsProvider;
use dbplan_provider_postgres::PostgresProvider;
use dbplan_state::{SledStore, Snapshot, StateKey, StateStore};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Terraform-like text with `+ ~ -/+ - .` symbols.
    Text,
    /// The plan JSON (GUIDE §4).
    Json,
    /// Markdown for a pull-request comment (at most 65,535 characters).
    Markdown,
}

/// The options of `dbplan plan`.
#[derive(Debug)]
pub struct Options<'a> {
    pub paths: &'a [PathBuf],
    pub state: &'a Path,
    pub out: Option<&'a Path>,
    pub format: Format,
    pub detailed_exitcode: bool,
    pub offline: bool,
    pub targets: &'a [String],
    pub destroy: bool,
    pub policies: Option<&'a Path>,
    /// `--allow-files-outside`: `file` fields may leave the project.
    pub allow_files_outside: bool,
    /// `--adopt ADDR`: existing objects that apply may take over.
    pub adopt: &'a [String],
}

/// The providers this build has; refresh reports each kind it cannot read.
pub fn providers() -> Providers {
    Providers::new()
        .with(PostgresProvider::new())
        .with(AwsProvider::new())
        .with(dbplan_provider_digitalocean::DigitalOceanProvider::new())
}

/// The runtime of commands that talk to providers.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The recorded state, verified, with its key; an empty state without a key when there is
/// none (reading never creates a state).
pub fn read_state(directory: &Path, holder: &str) -> anyhow::Result<(Snapshot, Option<StateKey>)> {
    Ok(match SledStore::read(directory, holder)? {
        Some(read) => (read.snapshot, read.key),
        None => (Snapshot::default(), None),
    })
}

/// The state and its key for a plan. A plan saved with `--out` is authenticated with the
/// state's key, so the state is created when there is none yet; a plan that is only shown
/// fingerprints secrets with a key of its own, which nothing keeps.
fn state_for_plan(options: &Options<'_>) -> anyhow::Result<(Snapshot, StateKey)> {
    let (snapshot, key) = read_state(options.state, "dbplan plan")?;
    match (key, options.out) {
        (Some(key), _) => Ok((snapshot, key)),
        (None, Some(_)) => {
            let store = SledStore::open(options.state, "dbplan plan")?;
            let result = (store.snapshot()?, store.key()?);
            store.close()?;
            Ok(result)
        }
        (None, None) => Ok((snapshot, StateKey::generate()?)),
    }
}

pub fn run(options: &Options<'_>) -> anyhow::Result<u8> {
    let (snapshot, key) = state_for_plan(options)?;
    let runtime = runtime()?;
    let providers = providers();
    let plan = match make(options, &snapshot, &key, &runtime, &providers)? {
        Ok(plan) => plan,
        Err(code) => return Ok(code),
    };

    if let Some(out) = options.out {
        dbplan_plan::file::save(&plan, &key, out)?;
        eprintln!(
            "saved the plan to {}; apply it with `dbplan apply {}`",
            Escaped(out.display()),
            Escaped(out.display())
        );
    }
    Ok(if options.detailed_exitcode && plan.has_changes() {
        exit::CHANGES
    } else {
        exit::SUCCESS
    })
}

/// Loads, refreshes and plans; prints the diagnostics and the plan (in `options.format`) and
/// says why a plan may not be applied. The plan, or the exit code to end with.
// Long: the plan pipeline in the order it runs (load, lint on failure, refresh, plan, files,
// render, verdict) with what is printed between the steps; each step is a library call, this is the
// wiring between them.
pub fn make(
    options: &Options<'_>,
    snapshot: &Snapshot,
    key: &StateKey,
    runtime: &tokio::runtime::Runtime,
    providers: &Providers,
) -> anyhow::Result<Result<Plan, u8>> {
    let (mut set, graph, mut diagnostics) = super::load(options.paths);
    let (pack, pack_diagnostics) = super::lint::load_pack(options.policies, &mut set.sources);
    diagnostics.extend(pack_diagnostics);
    let project = dbplan_plan::files::Project::new(
        options.paths,
        Some(options.state),
        options.allow_files_outside,
    );
    diagnostics.extend(dbplan_plan::files::check_manifests(&set, &project));
    if diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity == Severity::Error)
    {
        // Every mistake in one run: the policies still check what the manifests settle.
        let report = dbplan_policy::lint(
            &set,
            &graph,
            &pack,
            dbplan_policy::options::Snapshot::digitalocean(),
        );
        diagnostics.extend(
            report
                .findings
                .iter()
                .map(|finding| finding.to_diagnostic()),
        );
        dbplan_diagnostics::sort_diagnostics(&mut diagnostics);
        let summary = output::report(&set.sources, &diagnostics);
        eprintln!("plan not made: {}", output::counts(summary));
        return Ok(Err(exit::ERROR));
    }
    // Refresh reads the recorded objects and looks for existing objects the plan would
    // create (shown as adopts). Against an empty state with no opt-in, it looks only where
    // the provider's credentials are at hand (a token, a key, a server password variable):
    // a first plan of manifests nobody has credentials for yet needs none, and apply still
    // refuses to take over an object without an opt-in.
    let env = |name: &str| std::env::var(name).ok();
    let opted_in =
        !options.adopt.is_empty() || set.resources.iter().any(dbplan_plan::files::adopts);
    let first_plan = snapshot.resources.is_empty() && !opted_in;
    let refreshed = if options.offline {
        None
    } else {
        let desired = dbplan_plan::desired::desired(&set, &graph, &env, key).objects;
        let scope = if first_plan {
            LookupScope::WithCredentialsAtHand
        } else {
            LookupScope::All
        };
        let (refreshed, looked_up) = runtime.block_on(async {
            let mut refreshed = dbplan_plan::refresh::refresh(snapshot, providers, 16).await;
            let looked_up = dbplan_plan::refresh::find_unrecorded(
                &mut refreshed,
                &desired,
                snapshot,
                providers,
                16,
                scope,
            )
            .await;
            (refreshed, looked_up)
        });
        // A first plan that looked nothing up read nothing: it is planned as offline.
        (!first_plan || looked_up > 0).then_some(refreshed)
    };
    if let Some(refreshed) = &refreshed
        && !refreshed.errors.is_empty()
    {
        for error in &refreshed.errors {
            eprintln!("error: refresh failed: {}", Escaped(error));
        }
        eprintln!(
            "plan not made: {} of the recorded objects could not be read; fix the access, or plan with --offline to compare against the recorded state",
            refreshed.errors.len()
        );
        return Ok(Err(exit::ERROR));
    }

    let options_snapshot = dbplan_policy::options::Snapshot::digitalocean();
    let Planned {
        mut plan,
        report,
        diagnostics: plan_diagnostics,
    } = match dbplan_plan::make_plan(&PlanRequest {
        set: &set,
        graph: &graph,
        state: snapshot,
        refreshed: refreshed.as_ref(),
        pack: &pack,
        options: options_snapshot,
        destroy: options.destroy,
        targets: options.targets,
        adopt: options.adopt,
        env: &env,
        key,
    }) {
        Ok(planned) => planned,
        Err(error) => {
            eprintln!("error: {}", Escaped(&error));
            return Ok(Err(exit::ERROR));
        }
    };
    if let Some(notice) = options_snapshot.staleness_notice(super::lint::today()?) {
        plan.notices.push(notice);
    }
    // The files on disk, read locally (offline too): what apply would overwrite or leave.
    let (file_diagnostics, file_notices) =
        dbplan_plan::files::existing_files(&plan, snapshot, Some(&set));
    plan.notices.extend(file_notices);
    if options.offline && !snapshot.resources.is_empty() {
        plan.notices.push(
            "offline: the recorded objects were not refreshed; changes made outside dbplan are not shown".to_owned(),
        );
    }

    let mut all = diagnostics;
    all.extend(plan_diagnostics);
    all.extend(file_diagnostics);
    if options.format == Format::Text {
        all.extend(
            report
                .findings
                .iter()
                .map(|finding| finding.to_diagnostic()),
        );
    }
    dbplan_diagnostics::sort_diagnostics(&mut all);
    output::report(&set.sources, &all);

    let rendered = match options.format {
        Format::Text => render::text(
            &plan,
            TextOptions {
                color: output::stdout_color(),
                findings: false,
            },
        ),
        Format::Json => render::json(&plan),
        Format::Markdown => render::markdown(&plan, &render::Review { diagnostics: &all }),
    };
    std::io::stdout().lock().write_all(rendered.as_bytes())?;

    let counts = report.counts();
    let blocked = plan.blocked();
    if !blocked.is_empty() {
        for change in &blocked {
            eprintln!(
                "error: {}",
                Escaped(change.blocked.as_deref().unwrap_or_default())
            );
        }
        let adopts = blocked
            .iter()
            .filter(|change| change.action == dbplan_core::Action::Adopt)
            .count();
        let protected = blocked.len() - adopts;
        let mut reasons = Vec::new();
        if protected > 0 {
            reasons.push(format!(
                "{} would destroy a protected object",
                output::plural(protected, "change")
            ));
        }
        if adopts > 0 {
            reasons.push(format!(
                "{} that dbplan did not create would be taken over without an opt-in",
                output::plural(adopts, "existing object")
            ));
        }
        eprintln!(
            "plan blocked: {}{}",
            reasons.join("; "),
            if options.out.is_some() {
                "; no plan file written"
            } else {
                ""
            }
        );
        return Ok(Err(exit::ERROR));
    }
    if counts.error > 0 {
        eprintln!(
            "plan refused by policy: {}{}",
            output::plural(counts.error, "blocking finding"),
            if options.out.is_some() {
                "; no plan file written"
            } else {
                ""
            }
        );
        return Ok(Err(exit::POLICY));
    }
    Ok(Ok(plan))
}
