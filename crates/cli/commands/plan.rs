//! `dbplan plan PATH...`: what apply would do, with the policies checked; optionally saved.

use crate::exit::Outcome;
use crate::shared::{self, PlanArgs, PlanFormat, Planning, Session};
use dbplan_diagnostics::escape::Escaped;
use dbplan_plan::Verdict;
use dbplan_state::{Snapshot, StateKey, StateLocation, StateStore};
use std::path::PathBuf;

/// The arguments of `dbplan plan`. Planning words three of the shared options its own way
/// (clap drops a doc comment's final period; these strings are written without it).
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("state", |arg| arg.help(
        "The state: a directory, or a `postgres://` URL; `./state` when neither this nor `DBPLAN_STATE` is set"
    )),
    mut_arg("targets", |arg| arg.help(
        "Plan only this resource (`Kind/name` or `Kind/name/part`) and what it depends on"
    )),
    mut_arg("policies", |arg| arg.help(
        "A policy pack file or a directory of packs; `./policies/` when it exists"
    )),
)]
pub struct Args {
    /// Manifest files or directories (read recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    plan: PlanArgs,
    /// Save the plan to this file, for `dbplan apply FILE` (not written when the plan is
    /// blocked or refused by policy).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    format: PlanFormat,
    /// Exit 0 when nothing would change, 2 when something would.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Do not ask the providers for the remote objects; compare with the recorded state.
    #[arg(long)]
    offline: bool,
    /// Plan the deletion of every recorded object (in scope of `--target`).
    #[arg(long)]
    destroy: bool,
    /// Let apply take over an existing object dbplan did not create (`Kind/name`: every
    /// part; `Kind/name/part`), as `dbplan.io/adopt: "true"` does; repeatable.
    #[arg(long = "adopt", value_name = "ADDR")]
    adopt: Vec<String>,
}

/// The state and its key for a plan. A plan saved with `--out` is authenticated with the
/// state's key, so the state is created when there is none yet; a plan that is only shown
/// fingerprints secrets with a key of its own, which nothing keeps.
fn state_for_plan(state: &StateLocation, saving: bool) -> anyhow::Result<(Snapshot, StateKey)> {
    let (snapshot, key) = shared::read_state(state, "dbplan plan")?;
    match key {
        Some(key) => Ok((snapshot, key)),
        None if saving => {
            let store = state.open("dbplan plan")?;
            let result = (store.snapshot()?, store.key()?);
            store.close()?;
            Ok(result)
        }
        None => Ok((snapshot, StateKey::generate()?)),
    }
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let location = args.plan.state_location()?;
    let (state, loaded) = shared::load_beside(&args.paths, || {
        state_for_plan(&location, args.out.is_some())
    });
    let (snapshot, key) = state?;
    let session = Session::start()?;
    let planning = Planning {
        adopt: &args.adopt,
        offline: args.offline,
        destroy: args.destroy,
        format: args.format,
        saving: args.out.is_some(),
        exits_after: true,
    };
    let verdict = shared::make_plan(
        &args.paths,
        loaded,
        &args.plan,
        planning,
        &snapshot,
        &key,
        &session,
    )?;
    if let (Verdict::Ready(plan), Some(out)) = (&verdict, &args.out) {
        dbplan_plan::file::save(plan, &key, out)?;
        eprintln!(
            "saved the plan to {}; apply it with `dbplan apply {}`",
            Escaped(out.display()),
            Escaped(out.display())
        );
    }
    // The process exits next: the state is left to the operating system, like the manifests.
    std::mem::forget(snapshot);
    Ok(Outcome::Planned {
        verdict,
        detailed_exitcode: args.detailed_exitcode,
    })
}
