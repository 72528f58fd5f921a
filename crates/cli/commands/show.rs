//! `dbplan show FILE`: a saved plan, rendered; a stale one with a warning.

use crate::exit::Outcome;
use crate::output;
use crate::shared::{self, PlanFormat};
use dbplan_diagnostics::escape::Escaped;
use dbplan_plan::render::{self, TextOptions};
use dbplan_plan::{StateRef, check_fresh};
use std::io::Write;
use std::path::PathBuf;

/// The arguments of `dbplan show`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file `dbplan plan --out` wrote.
    file: PathBuf,
    /// The state the plan is checked against: a directory or a `postgres://` URL.
    #[arg(long, env = "DBPLAN_STATE")]
    state: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    format: PlanFormat,
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let file = &args.file;
    let state = shared::state_location(args.state.as_deref())?;
    let plan_file = match dbplan_plan::file::load(file) {
        Ok(plan_file) => plan_file,
        Err(error) => {
            eprintln!("error: {}", Escaped(&error));
            return Ok(Outcome::Failure);
        }
    };
    // Showing a plan does not need the state: when it cannot be read (e.g. an apply holds
    // it), the plan is still shown, with staleness and authenticity left unchecked; a damaged
    // state is an error, as everywhere. A plan
    // for this state whose tag does not verify was edited, and is refused.
    match shared::read_state(&state, "dbplan show") {
        Ok((snapshot, key)) => {
            let current = StateRef {
                lineage: snapshot.lineage.clone(),
                serial: snapshot.serial,
            };
            let same_state = plan_file.plan.state.lineage == snapshot.lineage;
            match &key {
                Some(key) if same_state && !plan_file.is_authentic(key) => {
                    let path = file.display().to_string();
                    eprintln!(
                        "error: {}",
                        Escaped(&dbplan_plan::file::PlanFileError::Unauthenticated { path })
                    );
                    return Ok(Outcome::Failure);
                }
                Some(_) if same_state => {}
                _ => eprintln!(
                    "warning: the plan cannot be authenticated: the state at {} is not the one it was made for (shown anyway; `dbplan apply` will refuse it there)",
                    Escaped(&state)
                ),
            }
            if let Err(stale) = check_fresh(&plan_file.plan, &current) {
                eprintln!(
                    "warning: {} (shown anyway; `dbplan apply` will refuse it)",
                    Escaped(&stale)
                );
            }
        }
        // A damaged state is never passed over: it needs attention before anything else.
        Err(error @ dbplan_state::StateError::Corrupted { .. }) => {
            eprintln!("error: {:#}", Escaped(anyhow::Error::from(error)));
            return Ok(Outcome::Failure);
        }
        Err(error) => {
            eprintln!(
                "warning: cannot tell whether the plan is stale: {:#} (shown anyway)",
                Escaped(anyhow::Error::from(error))
            )
        }
    }
    let rendered = match args.format {
        PlanFormat::Text => render::text(
            &plan_file.plan,
            TextOptions {
                color: output::stdout_color(),
                findings: true,
            },
        ),
        PlanFormat::Json => render::json(&plan_file.plan),
        PlanFormat::Markdown => render::markdown(&plan_file.plan, &render::Review::default()),
    };
    std::io::stdout().lock().write_all(rendered.as_bytes())?;
    Ok(Outcome::Success)
}
