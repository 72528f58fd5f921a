//! What several commands share: the options of the commands that make a plan, the providers and
//! runtime of a run, reading the state, loading manifests and policy packs, and making a plan.
//! Commands use this module, never each other.

use crate::output;
use dbplan_core::Action;
use dbplan_diagnostics::escape::{self, Escaped};
use dbplan_diagnostics::{Diagnostic, SourceMap};
use dbplan_graph::Graph;
use dbplan_manifest::ManifestSet;
use dbplan_plan::refresh::LookupScope;
use dbplan_plan::render::{self, TextOptions};
use dbplan_plan::{NotMade, Plan, PlanRequest, Planned, Refreshed, Verdict};
use dbplan_policy::{Pack, Report};
use dbplan_provider::Providers;
use dbplan_provider_aws::AwsProvider;
use dbplan_provider_digitalocean::DigitalOceanProvider;
use dbplan_provider_kubernetes::{CnpgAdmission, KubernetesProvider};
use dbplan_provider_postgres::PostgresProvider;
use dbplan_state::{Snapshot, StateError, StateKey, StateLocation, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The options of every command that makes a plan: `plan`, `apply` and `destroy`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The state: a directory (default `./state`) or a `postgres://` URL.
    #[arg(long, env = "DBPLAN_STATE")]
    pub state: Option<PathBuf>,
    /// Only these resources, with what they depend on (apply) or what depends on them
    /// (destroy).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// A policy pack file or directory.
    #[arg(long)]
    pub policies: Option<PathBuf>,
    /// Allow `file` fields (connection secrets, CA certificates) outside the project (the
    /// directories of the paths named here); never inside the state directory.
    #[arg(long, env = "DBPLAN_ALLOW_FILES_OUTSIDE", value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_files_outside: bool,
}

impl PlanArgs {
    /// Where the state is.
    pub fn state_location(&self) -> Result<StateLocation, StateError> {
        state_location(self.state.as_deref())
    }
}

/// How a plan is printed (`plan` and `show`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// Terraform-like text with `+ ~ -/+ - .` symbols.
    Text,
    /// The plan JSON (GUIDE §4).
    Json,
    /// Markdown for a pull-request comment (at most 65,535 characters).
    Markdown,
}

/// How a command plans, besides the options of [`PlanArgs`].
#[derive(Clone, Copy, Debug)]
pub struct Planning<'a> {
    /// `--adopt ADDR`: existing objects apply may take over.
    pub adopt: &'a [String],
    /// `plan --offline`: compare with the recorded state, without asking the providers.
    pub offline: bool,
    /// `destroy` and `plan --destroy`: the deletion of every recorded object in scope.
    pub destroy: bool,
    pub format: PlanFormat,
    /// `plan --out`: a plan file is to be written (a plan that stops says none was).
    pub saving: bool,
    /// The process exits once the plan is shown (`plan`, unlike `apply`): the manifests, the
    /// graph and the plan's working values are left to the operating system instead of being
    /// freed one allocation at a time (about 90 ms at 10,000 documents; see BENCHMARKS.md).
    pub exits_after: bool,
}

/// Where the state is: `--state`, else `DBPLAN_STATE` (clap reads it), else `./state`; a
/// `postgres://` URL names a PostgreSQL state.
pub fn state_location(state: Option<&Path>) -> Result<StateLocation, StateError> {
    StateLocation::from_arg(state)
}

/// The providers this build has, and the runtime of the commands that talk to them.
pub struct Session {
    pub runtime: tokio::runtime::Runtime,
    /// Refresh reports each kind none of them reads.
    pub providers: Arc<Providers>,
}

impl Session {
    pub fn start() -> anyhow::Result<Session> {
        // One Kubernetes provider (one client per context): for CnpgClusters, for the roles
        // and databases of tenants on them, and for connection secrets that go to Kubernetes.
        let kubernetes = Arc::new(KubernetesProvider::new());
        // One AWS provider (one client per region): for Aurora, and for the logins of tenants
        // on an Aurora cluster (its managed master secret, IAM tokens).
        let aws = Arc::new(AwsProvider::new());
        // One DigitalOcean provider: for its kinds, and for the users and databases of tenants
        // on a DigitalOcean cluster.
        let digitalocean = Arc::new(DigitalOceanProvider::new());
        Ok(Session {
            runtime: tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?,
            providers: Arc::new(
                Providers::new()
                    .with(
                        PostgresProvider::new()
                            .with_kubernetes(kubernetes.clone())
                            .with_cnpg_tenants(kubernetes.clone())
                            .with_aws_login(aws.clone())
                            .with_digitalocean(digitalocean.clone()),
                    )
                    .with(aws)
                    .with(digitalocean)
                    .with(kubernetes),
            ),
        })
    }
}

/// The recorded state, verified, with its key; an empty state without a key when there is
/// none (reading never creates a state).
pub fn read_state(
    location: &StateLocation,
    holder: &str,
) -> Result<(Snapshot, Option<StateKey>), StateError> {
    Ok(match location.read(holder)? {
        Some(read) => (read.snapshot, read.key),
        None => (Snapshot::default(), None),
    })
}

/// Opens the state for writing (creating it when there is none), keeping as many backups as
/// `DBPLAN_STATE_BACKUPS` says; a bad setting is refused before the state is opened.
pub fn open_state(location: &StateLocation, holder: &str) -> anyhow::Result<Store> {
    let keep = backups_kept()?;
    let (mut store, rotated) = location.open_rotating(holder)?;
    if let Some(rotated) = rotated {
        eprintln!("{}", Escaped(&rotated));
    }
    store.keep_backups(keep);
    Ok(store)
}

/// `DBPLAN_STATE_BACKUPS`: how many backups a state keeps (default 10, at least 1).
fn backups_kept() -> anyhow::Result<usize> {
    match std::env::var("DBPLAN_STATE_BACKUPS") {
        Err(_) => Ok(dbplan_state::DEFAULT_BACKUPS_KEPT),
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(count) if count >= 1 => Ok(count),
            _ => anyhow::bail!(
                "DBPLAN_STATE_BACKUPS is {:?}; set it to a whole number of backups to keep, at least 1",
                Escaped(&text)
            ),
        },
    }
}

/// Runs `beside` while the manifests load (and their graph is built) on a thread of their own:
/// reading and verifying a state is independent of the manifests, and on two cores the two
/// overlap instead of adding up. Both finish before either result is used.
///
/// `beside` (the state read) stays on this thread: what it allocates and frees (the database
/// engine's pages, the records' scratch) is then in this thread's allocator arena, where the
/// plan made next on this thread reuses it; on a thread of its own it stayed in that thread's
/// arena, about 20 MiB more at the peak.
pub fn load_beside<T: Send>(
    paths: &[PathBuf],
    beside: impl FnOnce() -> T + Send,
) -> (T, (ManifestSet, Graph, Vec<Diagnostic>)) {
    std::thread::scope(|scope| {
        let loading = scope.spawn(|| load(paths));
        let result = beside();
        let loaded = match loading.join() {
            Ok(loaded) => loaded,
            // A panic is a bug; it goes on as it would have on this thread.
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (result, loaded)
    })
}

/// Loads manifests and builds the graph; diagnostics of both stages, sorted.
pub fn load(paths: &[PathBuf]) -> (ManifestSet, Graph, Vec<Diagnostic>) {
    let (set, mut diagnostics) = dbplan_manifest::load_paths(paths);
    let (graph, graph_diagnostics) = dbplan_graph::build(&set);
    diagnostics.extend(graph_diagnostics);
    dbplan_diagnostics::sort_diagnostics(&mut diagnostics);
    (set, graph, diagnostics)
}

/// The packs of a run: `--policies PATH`, else `./policies/` when it exists, else the defaults.
pub fn load_pack(policies: Option<&Path>, sources: &mut SourceMap) -> (Pack, Vec<Diagnostic>) {
    match policies {
        Some(path) => Pack::load(path, sources),
        None if Path::new("policies").is_dir() => Pack::load(Path::new("policies"), sources),
        None => (Pack::builtin(), Vec::new()),
    }
}

/// Today as days since 1970-01-01: `DBPLAN_TODAY` (YYYY-MM-DD, for reproducible output) or the
/// clock. A `DBPLAN_TODAY` that is not such a date is an error, not a silent fallback.
pub fn today() -> anyhow::Result<i64> {
    if let Ok(text) = std::env::var("DBPLAN_TODAY") {
        return dbplan_policy::options::parse_date(&text).ok_or_else(|| {
            anyhow::anyhow!(
                "DBPLAN_TODAY is {}, which is not a date: write YYYY-MM-DD (e.g. 2026-12-02), or unset it to count to today",
                escape::for_terminal(&format!("`{text}`"))
            )
        });
    }
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| (elapsed.as_secs() / 86_400) as i64))
}

/// Reads a `secretEnv` variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Checks the manifests `loaded` from `paths`, refreshes and plans against `snapshot`; prints
/// the diagnostics, the plan (in `planning.format`) and why it may not be applied, if it may
/// not. The verdict decides what the command does next.
pub fn make_plan(
    paths: &[PathBuf],
    loaded: (ManifestSet, Graph, Vec<Diagnostic>),
    args: &PlanArgs,
    planning: Planning<'_>,
    snapshot: &Snapshot,
    key: &StateKey,
    session: &Session,
) -> anyhow::Result<Verdict> {
    let (mut set, graph, mut diagnostics) = loaded;
    let (pack, pack_diagnostics) = load_pack(args.policies.as_deref(), &mut set.sources);
    diagnostics.extend(pack_diagnostics);
    let state = args.state_location()?;
    let project =
        dbplan_plan::files::Project::new(paths, state.directory(), args.allow_files_outside);
    diagnostics.extend(dbplan_plan::files::check_manifests(&set, &project));
    if let Some(verdict) = Verdict::of_input(&diagnostics) {
        // Every mistake in one run: the policies still check what the manifests settle.
        let report = dbplan_policy::lint(
            &set,
            &graph,
            &pack,
            dbplan_policy::options::Snapshot::digitalocean(),
        );
        return Ok(not_made(&set, diagnostics, &report, verdict));
    }
    let mut refreshed = refresh(&set, &graph, planning, snapshot, key, session);
    if let Some(verdict) = refreshed.as_mut().and_then(Verdict::of_refresh) {
        tell(&verdict, planning.saving);
        return Ok(verdict);
    }

    let options = dbplan_policy::options::Snapshot::digitalocean();
    let planned = dbplan_plan::make_plan(&PlanRequest {
        set: &set,
        graph: &graph,
        state: snapshot,
        refreshed: refreshed.as_ref(),
        pack: &pack,
        options,
        destroy: planning.destroy,
        targets: &args.targets,
        adopt: planning.adopt,
        env: &env,
        key,
        admission: Some(&CnpgAdmission),
    });
    let Planned {
        mut plan,
        report,
        diagnostics: plan_diagnostics,
    } = match planned {
        Ok(planned) => planned,
        Err(error) => {
            let verdict = Verdict::from(error);
            tell(&verdict, planning.saving);
            return Ok(verdict);
        }
    };
    // An object its API server would refuse (checked against the CRDs) stops the plan as a
    // mistake in the manifests does, with the policies' findings beside it.
    if let Some(verdict) = Verdict::of_input(&plan_diagnostics) {
        diagnostics.extend(plan_diagnostics);
        return Ok(not_made(&set, diagnostics, &report, verdict));
    }
    limitations(&mut plan, &session.providers);
    if let Some(notice) = options.staleness_notice(today()?) {
        plan.notices.push(notice);
    }
    // The files on disk, read locally (offline too): what apply would overwrite or leave.
    let (file_diagnostics, file_notices) =
        dbplan_plan::files::existing_files(&plan, snapshot, Some(&set));
    plan.notices.extend(file_notices);
    if planning.offline && !snapshot.resources.is_empty() {
        plan.notices.push(
            "offline: the recorded objects were not refreshed; changes made outside dbplan are not shown".to_owned(),
        );
    }
    diagnostics.extend(plan_diagnostics);
    diagnostics.extend(file_diagnostics);
    print_plan(&plan, &report, diagnostics, &set.sources, planning.format)?;
    if planning.exits_after {
        std::mem::forget((set, graph, report, refreshed));
    }
    let verdict = Verdict::of(plan);
    tell(&verdict, planning.saving);
    Ok(verdict)
}

/// Adds to the plan's notices what this build's providers say they cannot carry out: a warning
/// now, not a failure at apply.
fn limitations(plan: &mut Plan, providers: &Providers) {
    let mut notices = Vec::new();
    for change in &plan.changes {
        if matches!(
            change.action,
            Action::Create | Action::Adopt | Action::Update | Action::Replace
        ) && let Some(why) = providers
            .for_kind(change.address.kind)
            .and_then(|provider| provider.limitation(change))
        {
            notices.push(format!("{}: {why}", change.address));
        }
    }
    plan.notices.extend(notices);
}

/// Reports the mistakes that stop a plan, with the policies' findings beside them (every
/// mistake in one run), and says that no plan was made.
fn not_made(
    set: &ManifestSet,
    mut diagnostics: Vec<Diagnostic>,
    report: &Report,
    verdict: Verdict,
) -> Verdict {
    diagnostics.extend(
        report
            .findings
            .iter()
            .map(|finding| finding.to_diagnostic()),
    );
    dbplan_diagnostics::sort_diagnostics(&mut diagnostics);
    let summary = output::report(&set.sources, &diagnostics);
    eprintln!("plan not made: {}", output::counts(summary));
    verdict
}

/// Reads the recorded objects and the clusters referenced, and looks for existing objects the
/// plan would create (shown as adopts); `None` when the plan is made without asking the
/// providers. Against an empty state
/// with no opt-in, it looks only where the provider's credentials are at hand (a token, a key,
/// a server password variable): a first plan of manifests nobody has credentials for yet needs
/// none, and apply still refuses to take over an object without an opt-in.
fn refresh(
    set: &ManifestSet,
    graph: &Graph,
    planning: Planning<'_>,
    snapshot: &Snapshot,
    key: &StateKey,
    session: &Session,
) -> Option<Refreshed> {
    if planning.offline {
        return None;
    }
    let opted_in =
        !planning.adopt.is_empty() || set.resources.iter().any(dbplan_plan::files::adopts);
    let first_plan = snapshot.resources.is_empty() && !opted_in;
    let desired = dbplan_plan::desired::desired(set, graph, &env, key).objects;
    let scope = if first_plan {
        LookupScope::WithCredentialsAtHand
    } else {
        LookupScope::All
    };
    let providers = &*session.providers;
    let (refreshed, looked_up) = session.runtime.block_on(async {
        let mut refreshed = dbplan_plan::refresh::refresh(snapshot, providers, 16, &desired).await;
        // A destroy creates nothing: there is nothing to look up, and a referenced cluster
        // that is gone must not stop it.
        if planning.destroy {
            return (refreshed, 0);
        }
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
}

/// Prints the diagnostics (with the policy findings, in text) to stderr and the plan to stdout.
fn print_plan(
    plan: &Plan,
    report: &Report,
    mut diagnostics: Vec<Diagnostic>,
    sources: &SourceMap,
    format: PlanFormat,
) -> anyhow::Result<()> {
    if format == PlanFormat::Text {
        diagnostics.extend(
            report
                .findings
                .iter()
                .map(|finding| finding.to_diagnostic()),
        );
    }
    dbplan_diagnostics::sort_diagnostics(&mut diagnostics);
    output::report(sources, &diagnostics);
    let rendered = match format {
        PlanFormat::Text => render::text(
            plan,
            TextOptions {
                color: output::stdout_color(),
                findings: false,
            },
        ),
        PlanFormat::Json => render::json(plan),
        PlanFormat::Markdown => render::markdown(
            plan,
            &render::Review {
                diagnostics: &diagnostics,
            },
        ),
    };
    std::io::stdout().lock().write_all(rendered.as_bytes())?;
    Ok(())
}

/// Says on stderr why a verdict stops the command: nothing for a ready plan, nor for mistakes
/// in the input, which their diagnostics have said.
fn tell(verdict: &Verdict, saving: bool) {
    let unsaved = if saving { "; no plan file written" } else { "" };
    match verdict {
        Verdict::Ready(_) | Verdict::NotMade(NotMade::Input(_)) => {}
        Verdict::NotMade(NotMade::Refresh(errors)) => {
            for error in errors {
                eprintln!("error: refresh failed: {}", Escaped(error));
            }
            eprintln!(
                "plan not made: {} of the objects the plan compares with (those recorded, and the clusters referenced) could not be read; fix the access or the reference, or plan with --offline to compare against the recorded state",
                errors.len()
            );
        }
        Verdict::NotMade(NotMade::Request(error)) => eprintln!("error: {}", Escaped(error)),
        Verdict::Blocked(blocked) => {
            for reason in &blocked.reasons {
                eprintln!("error: {}", Escaped(reason));
            }
            let mut reasons = Vec::new();
            if blocked.protected > 0 {
                reasons.push(format!(
                    "{} would destroy a protected object",
                    output::plural(blocked.protected, "change")
                ));
            }
            if blocked.adoptions > 0 {
                reasons.push(format!(
                    "{} that dbplan did not create would be taken over without an opt-in",
                    output::plural(blocked.adoptions, "existing object")
                ));
            }
            eprintln!("plan blocked: {}{unsaved}", reasons.join("; "));
        }
        Verdict::Refused { blocking_findings } => eprintln!(
            "plan refused by policy: {}{unsaved}",
            output::plural(*blocking_findings, "blocking finding")
        ),
    }
}
