//! `dbplan policy list` and `dbplan policy explain CODE`.

use crate::exit::Outcome;
use crate::output;
use crate::shared;
use dbplan_diagnostics::SourceMap;
use dbplan_diagnostics::escape::Escaped;
use dbplan_policy::{RULES, rule};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The arguments of `dbplan policy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Debug, clap::Subcommand)]
enum PolicyCommand {
    /// Every policy with its code, id, enforcement and summary.
    List {
        /// A policy pack file or a directory of packs; `./policies/` when it exists.
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// A policy's documentation: what it checks, why, an example and the rule it enforces.
    Explain {
        /// The code, e.g. `DB101`.
        code: String,
    },
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        PolicyCommand::List { policies } => list(policies.as_deref()),
        PolicyCommand::Explain { code } => explain(&code),
    }
}

/// Every rule with its enforcement under the packs in effect.
fn list(policies: Option<&Path>) -> anyhow::Result<Outcome> {
    let mut sources = SourceMap::new();
    let (pack, diagnostics) = shared::load_pack(policies, &mut sources);
    let summary = output::report(&sources, &diagnostics);
    let mut out = String::new();
    for rule in RULES {
        out.push_str(&format!(
            "{:<6} {:<28} {:<10} {}\n",
            rule.code,
            rule.id,
            pack.enforcement(rule).as_str(),
            rule.code.summary()
        ));
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(if summary.error > 0 {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}

/// One rule's documentation.
fn explain(code: &str) -> anyhow::Result<Outcome> {
    let Some(rule) = rule(code) else {
        let codes: Vec<String> = RULES.iter().map(|rule| rule.code.to_string()).collect();
        let hint = match dbplan_manifest::schema::suggest(code, &codes) {
            Some(suggestion) => format!("did you mean {suggestion}? "),
            None => String::new(),
        };
        eprintln!(
            "error: `{}` is not a policy code; {}`dbplan policy list` shows every code",
            Escaped(code),
            Escaped(&hint)
        );
        return Ok(Outcome::Failure);
    };
    std::io::stdout()
        .lock()
        .write_all(dbplan_policy::explain(rule).as_bytes())?;
    Ok(Outcome::Success)
}
