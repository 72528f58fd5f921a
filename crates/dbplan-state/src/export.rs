//! A whole state as one checksummed JSON document: the backups under `<state>/backups/`,
//! `dbplan state export` and `dbplan state import` share it.
//!
//! ```text
//! {"format": "dbplan-state", "version": 1, "checksum": "sha256:…",
//!  "state": {"lineage": …, "serial": …, "key": "<base64>", "redacted": false, "resources": {…}}}
//! ```
//!
//! A full document carries the sensitive values and the state's key, as the state itself
//! does, and is written 0600. A redacted one (an export printed without `--show-sensitive`)
//! shows `(sensitive)` instead and has no key; it can be read, never imported.

use crate::files;
use crate::{ResourceState, Snapshot, StateKey, StateValue};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FORMAT: &str = "dbplan-state";
const VERSION: u64 = 1;

/// The directory of the backups, inside the state directory.
pub const BACKUPS_DIRECTORY: &str = "backups";

/// How many backups are kept unless told otherwise.
pub const DEFAULT_BACKUPS_KEPT: usize = 10;

#[derive(Serialize, Deserialize)]
struct Body {
    lineage: String,
    serial: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default)]
    redacted: bool,
    resources: BTreeMap<String, ResourceState>,
}

/// A state read back from a document.
#[derive(Debug)]
pub struct Exported {
    pub snapshot: Snapshot,
    /// `None` in a redacted document.
    pub key: Option<StateKey>,
    pub redacted: bool,
}

fn checksum(text: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// The document of a state; with `key: None`, a redacted one (no secret, no key).
pub fn to_text(snapshot: &Snapshot, key: Option<&StateKey>) -> Result<String, serde_json::Error> {
    let redacted = key.is_none();
    // Keyed by the address's text, whose order the document keeps.
    let resources = snapshot
        .resources
        .iter()
        .map(|(address, resource)| {
            let resource = if redacted {
                redact(resource)
            } else {
                resource.clone()
            };
            (address.to_string(), resource)
        })
        .collect();
    let body = Body {
        lineage: snapshot.lineage.clone(),
        serial: snapshot.serial,
        key: key.map(|key| base64::engine::general_purpose::STANDARD.encode(key.bytes())),
        redacted,
        resources,
    };
    let body = serde_json::to_value(&body)?;
    let envelope = serde_json::json!({
        "format": FORMAT,
        "version": VERSION,
        "checksum": checksum(&body.to_string()),
        "state": body,
    });
    let mut text = serde_json::to_string_pretty(&envelope)?;
    text.push('\n');
    Ok(text)
}

fn redact(resource: &ResourceState) -> ResourceState {
    let hide = |values: &BTreeMap<String, StateValue>| {
        values
            .iter()
            .map(|(name, value)| {
                let shown = if value.sensitive {
                    StateValue::sensitive("(sensitive)")
                } else {
                    value.clone()
                };
                (name.clone(), shown)
            })
            .collect()
    };
    ResourceState {
        attributes: hide(&resource.attributes),
        outputs: hide(&resource.outputs),
        ..resource.clone()
    }
}

/// Reads a document, or says what is wrong with it.
pub fn from_text(text: &str) -> Result<Exported, String> {
    let envelope: serde_json::Value =
        serde_json::from_str(text).map_err(|error| format!("it is not JSON ({error})"))?;
    if envelope.get("format").and_then(serde_json::Value::as_str) != Some(FORMAT) {
        return Err("it has no `format: dbplan-state`".to_owned());
    }
    match envelope.get("version").and_then(serde_json::Value::as_u64) {
        Some(VERSION) => {}
        Some(other) => {
            return Err(format!(
                "it is version {other}, and this dbplan reads version {VERSION}; upgrade dbplan"
            ));
        }
        None => return Err("it has no version".to_owned()),
    }
    let body = envelope.get("state").ok_or("it has no state")?;
    if envelope.get("checksum").and_then(serde_json::Value::as_str)
        != Some(checksum(&body.to_string()).as_str())
    {
        return Err("it fails its checksum (damaged or edited)".to_owned());
    }
    let body: Body = serde_json::from_value(body.clone())
        .map_err(|error| format!("its state is unreadable ({error})"))?;
    for (address, resource) in &body.resources {
        if resource.address.to_string() != *address {
            return Err(format!(
                "the resource filed under {address} is {}",
                resource.address
            ));
        }
    }
    let key = match &body.key {
        None => None,
        Some(text) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()
                .and_then(|bytes| StateKey::from_bytes(&bytes))
                .ok_or("its key is not 32 bytes of base64")?,
        ),
    };
    if key.is_none() && !body.redacted {
        return Err("it has no key".to_owned());
    }
    Ok(Exported {
        snapshot: Snapshot {
            lineage: body.lineage,
            serial: body.serial,
            resources: body
                .resources
                .into_values()
                .map(|resource| (resource.address.clone(), resource))
                .collect(),
        },
        key,
        redacted: body.redacted,
    })
}

/// One backup file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backup {
    pub serial: u64,
    pub path: PathBuf,
}

fn backup_name(serial: u64) -> String {
    format!("state-{serial:020}.json")
}

/// The backups of a state directory, oldest first (by the serial in their names).
pub fn list_backups(directory: &Path) -> std::io::Result<Vec<Backup>> {
    let folder = directory.join(BACKUPS_DIRECTORY);
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut backups = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(serial) = name
            .to_str()
            .and_then(|name| name.strip_prefix("state-"))
            .and_then(|name| name.strip_suffix(".json"))
            .and_then(|digits| digits.parse::<u64>().ok())
        else {
            continue;
        };
        backups.push(Backup {
            serial,
            path: entry.path(),
        });
    }
    backups.sort_by_key(|backup| backup.serial);
    Ok(backups)
}

/// Reads one backup.
pub fn read_backup(backup: &Backup) -> Result<Exported, String> {
    let text = std::fs::read_to_string(&backup.path).map_err(|error| error.to_string())?;
    let exported = from_text(&text)?;
    if exported.snapshot.serial != backup.serial {
        return Err(format!(
            "it holds serial {}, not the serial of its name",
            exported.snapshot.serial
        ));
    }
    if exported.redacted {
        return Err("it is redacted".to_owned());
    }
    Ok(exported)
}

/// Writes a backup of `snapshot` (0600, atomically) and keeps the newest `keep`.
pub fn write_backup(
    directory: &Path,
    snapshot: &Snapshot,
    key: &StateKey,
    keep: usize,
) -> Result<(), crate::StateError> {
    let folder = directory.join(BACKUPS_DIRECTORY);
    files::create_private_directory(&folder)?;
    let text = to_text(snapshot, Some(key)).map_err(|error| crate::StateError::Store {
        path: folder.clone(),
        message: format!("cannot encode a backup: {error}"),
    })?;
    files::write_private(&folder, &backup_name(snapshot.serial), text.as_bytes())?;
    let backups = list_backups(directory).map_err(|error| crate::StateError::Store {
        path: folder.clone(),
        message: format!("cannot list the backups: {error}"),
    })?;
    let excess = backups.len().saturating_sub(keep.max(1));
    for old in &backups[..excess] {
        std::fs::remove_file(&old.path).map_err(|error| crate::StateError::Store {
            path: old.path.clone(),
            message: format!("cannot remove an old backup: {error}"),
        })?;
    }
    Ok(())
}
