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
//!
//! The document of an encrypted state (its backups, and `state export --out` without
//! `--show-sensitive`) holds what the database holds: the sensitive values and the key sealed
//! (see `crypt`), and the state's `encryption` header, so the passphrase opens it again.

use crate::crypt::{Header, Sealed, StateCipher};
use crate::files;
use crate::sled_store::{Unlock, crypt_error};
use crate::{ResourceState, Snapshot, StateError, StateKey, StateValue};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FORMAT: &str = "dbplan-state";
const VERSION: u64 = 1;
/// The version of an encrypted state's document (a dbplan that reads only version 1 refuses it
/// and says to upgrade).
const SEALED_VERSION: u64 = 2;

/// The directory of the backups, inside the state directory.
pub const BACKUPS_DIRECTORY: &str = "backups";

/// How many backups are kept unless told otherwise.
pub const DEFAULT_BACKUPS_KEPT: usize = 10;

#[derive(Serialize, Deserialize)]
struct Body {
    lineage: String,
    serial: u64,
    /// Base64 of the key, or (encrypted) its sealed form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<serde_json::Value>,
    #[serde(default)]
    redacted: bool,
    /// Present only in the document of an encrypted state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encryption: Option<Header>,
    resources: BTreeMap<String, ResourceState>,
}

/// A state read back from a document.
#[derive(Clone, Debug)]
pub struct Exported {
    /// In an encrypted document not opened yet ([`Exported::is_sealed`]), the sensitive values
    /// are still sealed; importing or restoring it opens them.
    pub snapshot: Snapshot,
    /// `None` in a redacted document, and in an encrypted one not opened yet.
    pub key: Option<StateKey>,
    pub redacted: bool,
    /// The encryption of an opened encrypted document, which the state it replaces keeps.
    pub(crate) cipher: Option<StateCipher>,
    /// The header and sealed key of an encrypted document not opened yet.
    pub(crate) sealed: Option<(Header, Sealed)>,
    /// The committed changes of the state, oldest first, that a migration brings along (a
    /// document carries none).
    pub history: Vec<crate::HistoryEntry>,
}

impl Exported {
    /// A state as read, ready to replace another (`state migrate`): its values in the clear
    /// here, sealed again by the state it goes to when this one is encrypted.
    pub fn from_read(read: &crate::ReadState) -> Result<Exported, StateError> {
        let key = read.key.clone().ok_or_else(|| StateError::Encryption {
            message: "the state has no key yet (its creation was interrupted); run `dbplan apply` once, or `state import` into it".to_owned(),
        })?;
        Ok(Exported {
            snapshot: read.snapshot.clone(),
            key: Some(key),
            redacted: false,
            cipher: read.cipher.clone(),
            sealed: None,
            history: Vec::new(),
        })
    }

    /// Whether the document is encrypted and not opened yet.
    pub fn is_sealed(&self) -> bool {
        self.sealed.is_some()
    }

    /// Whether the document is of an encrypted state.
    pub fn is_encrypted(&self) -> bool {
        self.sealed.is_some() || self.cipher.is_some()
    }

    /// The document with its values and key opened by `unlock`'s passphrase (itself when it
    /// is not sealed); errors name `directory`, the state it is for.
    pub(crate) fn unlocked(
        &self,
        unlock: &Unlock,
        directory: &Path,
    ) -> Result<Exported, StateError> {
        let Some((header, sealed_key)) = &self.sealed else {
            return Ok(self.clone());
        };
        let cipher = unlock.cipher(header, &self.snapshot.lineage, directory)?;
        let key = cipher
            .open_key(sealed_key)
            .map_err(|error| crypt_error(directory, error))?;
        let resources = self
            .snapshot
            .resources
            .iter()
            .map(|(address, resource)| {
                cipher
                    .open_resource(resource.clone())
                    .map(|resource| (address.clone(), resource))
                    .map_err(|what| StateError::Encryption {
                        message: format!("the document cannot be opened: {what}"),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Exported {
            snapshot: Snapshot {
                resources,
                ..self.snapshot.clone()
            },
            key: Some(key),
            redacted: false,
            cipher: Some(cipher),
            sealed: None,
            history: self.history.clone(),
        })
    }
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
    envelope(
        VERSION,
        Body {
            lineage: snapshot.lineage.clone(),
            serial: snapshot.serial,
            key: key.map(|key| {
                serde_json::Value::String(
                    base64::engine::general_purpose::STANDARD.encode(key.bytes()),
                )
            }),
            redacted,
            encryption: None,
            resources,
        },
    )
}

/// The document of an encrypted state: its sensitive values and key sealed with `cipher`, and
/// its encryption header, so that its passphrase opens it again.
pub fn to_sealed_text(
    snapshot: &Snapshot,
    key: &StateKey,
    cipher: &StateCipher,
) -> Result<String, StateError> {
    let encode = |error: &dyn std::fmt::Display| StateError::Encryption {
        message: format!("the state cannot be encoded: {error}"),
    };
    let resources = snapshot
        .resources
        .iter()
        .map(|(address, resource)| {
            cipher
                .seal_resource(resource)
                .map(|resource| (address.to_string(), resource))
                .map_err(|error| encode(&error))
        })
        .collect::<Result<_, StateError>>()?;
    let key = serde_json::to_value(cipher.seal_key(key).map_err(|error| encode(&error))?)
        .map_err(|error| encode(&error))?;
    envelope(
        SEALED_VERSION,
        Body {
            lineage: snapshot.lineage.clone(),
            serial: snapshot.serial,
            key: Some(key),
            redacted: false,
            encryption: Some(cipher.header().clone()),
            resources,
        },
    )
    .map_err(|error| encode(&error))
}

/// The full document of a state in the form the state has: sealed with `cipher` when there is
/// one, plain otherwise.
pub fn to_state_text(
    snapshot: &Snapshot,
    key: &StateKey,
    cipher: Option<&StateCipher>,
) -> Result<String, StateError> {
    match cipher {
        Some(cipher) => to_sealed_text(snapshot, key, cipher),
        None => to_text(snapshot, Some(key)).map_err(|error| StateError::Encryption {
            message: format!("the state cannot be encoded: {error}"),
        }),
    }
}

/// `body` in its checksummed envelope.
fn envelope(version: u64, body: Body) -> Result<String, serde_json::Error> {
    let body = serde_json::to_value(&body)?;
    let envelope = serde_json::json!({
        "format": FORMAT,
        "version": version,
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
    let version = match envelope.get("version").and_then(serde_json::Value::as_u64) {
        Some(version @ (VERSION | SEALED_VERSION)) => version,
        Some(other) => {
            return Err(format!(
                "it is version {other}, and this dbplan reads up to version {SEALED_VERSION}; upgrade dbplan"
            ));
        }
        None => return Err("it has no version".to_owned()),
    };
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
    let (key, sealed) = document_key(version, &body)?;
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
        cipher: None,
        sealed,
        history: Vec::new(),
    })
}

/// The key of a document: plain (base64), or sealed with the document's encryption header
/// (version 2 only); none in a redacted one. A sealed value in a document without encryption is
/// refused.
fn document_key(version: u64, body: &Body) -> Result<DocumentKey, String> {
    if (version == SEALED_VERSION) != body.encryption.is_some() {
        return Err(format!(
            "it is version {version} but {} an encryption header",
            if body.encryption.is_some() {
                "has"
            } else {
                "lacks"
            }
        ));
    }
    let (key, sealed) = match (&body.key, body.encryption.clone()) {
        (None, _) if body.redacted => (None, None),
        (None, _) => return Err("it has no key".to_owned()),
        (Some(text), None) => (
            Some(
                text.as_str()
                    .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok())
                    .and_then(|bytes| StateKey::from_bytes(&bytes))
                    .ok_or("its key is not 32 bytes of base64")?,
            ),
            None,
        ),
        (Some(sealed), Some(header)) => {
            let sealed: Sealed = serde_json::from_value(sealed.clone())
                .map_err(|_| "its encrypted key is damaged".to_owned())?;
            (None, Some((header, sealed)))
        }
    };
    if sealed.is_none()
        && let Some(resource) = body
            .resources
            .values()
            .find(|r| crate::crypt::has_sealed_value(r))
    {
        return Err(format!(
            "{} holds encrypted values, but it records no encryption",
            resource.address
        ));
    }
    Ok((key, sealed))
}

/// A document's plain key, or its encryption header and sealed key.
type DocumentKey = (Option<StateKey>, Option<(Header, Sealed)>);

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
    cipher: Option<&StateCipher>,
    keep: usize,
) -> Result<(), crate::StateError> {
    let folder = directory.join(BACKUPS_DIRECTORY);
    files::create_private_directory(&folder)?;
    let text = to_state_text(snapshot, key, cipher)?;
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
