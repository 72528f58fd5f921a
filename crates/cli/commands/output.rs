//! `dbplan output [ADDR [NAME]] [--json] [--show-sensitive]`: the outputs recorded in state.
//!
//! Sensitive outputs print as `(sensitive)` unless `--show-sensitive` is given; one output
//! asked for by name prints raw (for scripts), and a sensitive one only with the flag.
//! Control characters in addresses, names and values are escaped (`dbplan_diagnostics::escape`),
//! except in that one raw value when stdout is not a terminal: a script gets the value itself.

use crate::exit::Outcome;
use crate::shared;
use dbplan_diagnostics::escape::{self, Escaped};
use dbplan_state::{ResourceState, StateValue};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

/// The arguments of `dbplan output`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A resource (`Kind/name`: every part) or one object (`Kind/name/part`).
    address: Option<String>,
    /// One output, printed raw for scripts.
    name: Option<String>,
    /// The state: a directory (default `./state`) or a `postgres://` URL.
    #[arg(long, env = "DBPLAN_STATE")]
    state: Option<PathBuf>,
    /// JSON instead of `address.name = value` lines.
    #[arg(long)]
    json: bool,
    /// Print sensitive values instead of `(sensitive)`.
    #[arg(long)]
    show_sensitive: bool,
}

fn shown(value: &StateValue, show_sensitive: bool) -> serde_json::Value {
    if value.sensitive && !show_sensitive {
        serde_json::Value::String("(sensitive)".to_owned())
    } else {
        value.value.clone()
    }
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

// Long: the selection by address, one named output (sensitive or not; JSON, terminal or pipe) and
// the whole map, each as `dbplan output` documents it; one function keeps these output rules in one
// place.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let location = shared::state_location(args.state.as_deref())?;
    let (address, name) = (args.address.as_deref(), args.name.as_deref());
    let (json, show_sensitive) = (args.json, args.show_sensitive);
    let Some(read) = location.read("dbplan output")? else {
        eprintln!(
            "error: no state at {}; apply something first, or point --state at the state",
            Escaped(&location)
        );
        return Ok(Outcome::Failure);
    };
    let snapshot = read.snapshot;
    // An address names one object, or every part of a component (`TenantDatabase/billing`).
    let mut selected: Vec<&ResourceState> = snapshot
        .resources
        .values()
        .filter(|resource| match address {
            None => true,
            Some(address) => {
                let recorded = resource.address.to_string();
                recorded == address
                    || recorded
                        .strip_prefix(address)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        })
        .filter(|resource| !resource.outputs.is_empty() || address.is_some())
        .collect();
    // Listed in the order of the addresses' text, as state stores them (the map's own order
    // is the kind's, then the name's).
    selected.sort_by_cached_key(|resource| resource.address.to_string());
    if let Some(address) = address
        && selected.is_empty()
    {
        eprintln!(
            "error: no resource {} in the state; `dbplan state list` lists them",
            Escaped(address)
        );
        return Ok(Outcome::Failure);
    }

    if let Some(name) = name {
        let found: Vec<&StateValue> = selected
            .iter()
            .filter_map(|resource| resource.outputs.get(name))
            .collect();
        let [value] = found.as_slice() else {
            eprintln!(
                "error: {} has {} output named {name:?}; `dbplan output {}` lists them",
                Escaped(address.unwrap_or_default()),
                if found.is_empty() {
                    "no"
                } else {
                    "more than one"
                },
                Escaped(address.unwrap_or_default())
            );
            return Ok(Outcome::Failure);
        };
        if value.sensitive && !show_sensitive {
            eprintln!(
                "error: {} is sensitive; add --show-sensitive to print it",
                Escaped(name)
            );
            return Ok(Outcome::Failure);
        }
        if json {
            println!("{}", escape::to_json_string(&value.value)?);
        } else if std::io::stdout().is_terminal() {
            println!("{}", escape::for_terminal_lines(&text(&value.value)));
        } else {
            println!("{}", text(&value.value));
        }
        return Ok(Outcome::Success);
    }

    if json {
        let map: BTreeMap<String, BTreeMap<&str, serde_json::Value>> = selected
            .iter()
            .map(|resource| {
                (
                    resource.address.to_string(),
                    resource
                        .outputs
                        .iter()
                        .map(|(name, value)| (name.as_str(), shown(value, show_sensitive)))
                        .collect(),
                )
            })
            .collect();
        println!("{}", escape::to_json_string_pretty(&map)?);
        return Ok(Outcome::Success);
    }
    for resource in selected {
        for (name, value) in &resource.outputs {
            println!(
                "{}.{} = {}",
                Escaped(&resource.address),
                Escaped(name),
                Escaped(text(&shown(value, show_sensitive)))
            );
        }
    }
    Ok(Outcome::Success)
}
