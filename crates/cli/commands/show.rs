//! `dbplan show FILE`: a saved plan, rendered; a stale one with a warning.

use crate::exit;
use crate::output;
use dbplan_diagnostics::escape::Escaped;
use dbplan_plan::render::{self, TextOptions};
use dbplan_plan::{StateRef, check_fresh};
use std::io::Write;
use std::path::Path;

pub fn run(file: &Path, state: &Path, format: super::plan::Format) -> anyhow::Result<u8> {
    let plan = match dbplan_plan::file::load(file) {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("error: {}", Escaped(&error));
            return Ok(exit::ERROR);
        }
    };
    // Showing a plan does not need the state: when it cannot be read (e.g. an apply holds
    // it), the plan is still shown, with the staleness left unchecked.
    match super::plan::read_state(state, "dbplan show") {
        Ok(snapshot) => {
            let current = StateRef {
                lineage: snapshot.lineage.clone(),
                serial: snapshot.serial,
            };
            if let Err(stale) = check_fresh(&plan, &current) {
                eprintln!(
                    "warning: {} (shown anyway; `dbplan apply` will refuse it)",
                    Escaped(&stale)
                );
            }
        }
        Err(error) => {
            eprintln!(
                "warning: cannot tell whether the plan is stale: {:#} (shown anyway)",
                Escaped(&error)
            )
        }
    }
    let rendered = match format {
        super::plan::Format::Text => render::text(
            &plan,
            TextOptions {
                color: output::stdout_color(),
                findings: true,
            },
        ),
        super::plan::Format::Json => render::json(&plan),
        super::plan::Format::Markdown => render::markdown(&plan),
    };
    std::io::stdout().lock().write_all(rendered.as_bytes())?;
    Ok(exit::SUCCESS)
}
