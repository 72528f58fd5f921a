//! `dbplan schema [KIND]`: the JSON Schema editors use to validate manifests as people type.

use crate::exit::Outcome;
use anyhow::bail;
use dbplan_core::Kind;
use std::io::Write;

/// The arguments of `dbplan schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The kind, e.g. `AwsRdsCluster`; all kinds when omitted.
    kind: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let schema = match args.kind.as_deref() {
        Some(name) => {
            let Ok(kind) = name.parse::<Kind>() else {
                let names: Vec<&str> = Kind::ALL.iter().map(|kind| kind.as_str()).collect();
                bail!("unknown kind `{name}`; dbplan knows: {}", names.join(", "));
            };
            dbplan_manifest::schema::export_kind(kind)
        }
        None => dbplan_manifest::schema::export_all(),
    };
    let mut text = serde_json::to_string_pretty(&schema)?;
    text.push('\n');
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(Outcome::Success)
}
