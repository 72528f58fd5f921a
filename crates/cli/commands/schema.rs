//! `dbplan schema [KIND]`: the JSON Schema editors use to validate manifests as people type.

use crate::exit;
use anyhow::bail;
use dbplan_core::Kind;
use std::io::Write;

pub fn run(kind: Option<&str>) -> anyhow::Result<u8> {
    let schema = match kind {
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
    Ok(exit::SUCCESS)
}
