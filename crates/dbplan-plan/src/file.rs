//! The saved plan file: `plan --out FILE` writes it, `show` and `apply` read it.
//!
//! ```text
//! {"format": "dbplan-plan", "file_version": 1, "checksum": "sha256:…", "plan": {…}}
//! ```
//!
//! `plan` is the plan JSON with what apply needs besides (secret references with salted
//! hashes, output references, fingerprints, the manifests' and packs' digests), so the file is
//! self-contained. `checksum` is the SHA-256 of `plan` as written: a file edited by hand or
//! damaged in transit is refused. It protects integrity, not authenticity: whoever can write the
//! file can also recompute it, so plan files belong where reviewers can see them (CI artifacts).

use crate::model::{Plan, StateRef};
use crate::wire::{self, Audience, FORMAT_VERSION};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The version of the file envelope; a newer one is refused.
pub const FILE_VERSION: u64 = 1;
const FORMAT: &str = "dbplan-plan";

/// Why a plan file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read the plan file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "cannot write the plan file {path}: {source}; check the directory exists and is writable"
    )]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a dbplan plan file ({what}); pass the file `dbplan plan --out` wrote")]
    NotAPlan { path: String, what: String },
    #[error(
        "the plan file {path} was written by a newer dbplan (file version {found}, this dbplan reads up to {supported}); upgrade dbplan, or plan again"
    )]
    NewerVersion {
        path: String,
        found: u64,
        supported: u64,
    },
    #[error(
        "the plan file {path} has been modified since it was written (checksum mismatch); it is refused: plan again and apply the new file"
    )]
    Tampered { path: String },
}

/// Why a saved plan no longer fits the state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Staleness {
    #[error(
        "saved plan is stale: it was made against a different state (lineage {planned}, now {current}); plan again"
    )]
    Lineage { planned: String, current: String },
    #[error(
        "saved plan is stale: it was made against an empty state, which has since been written (lineage {current}, serial {serial}); plan again"
    )]
    StateCreated { current: String, serial: u64 },
    #[error(
        "saved plan is stale: the state has changed since it was made (serial {planned}, now {current}); plan again"
    )]
    Serial { planned: u64, current: u64 },
}

/// Checks that a saved plan still fits the state: same lineage and serial. An empty state has
/// an empty lineage and serial 0.
pub fn check_fresh(plan: &Plan, current: &StateRef) -> Result<(), Staleness> {
    let planned = &plan.state;
    if planned.lineage.is_empty() {
        // A store opened (and so given a lineage) but never written is still empty.
        if current.lineage.is_empty() || current.serial == 0 {
            return Ok(());
        }
        return Err(Staleness::StateCreated {
            current: current.lineage.clone(),
            serial: current.serial,
        });
    }
    if planned.lineage != current.lineage {
        return Err(Staleness::Lineage {
            planned: planned.lineage.clone(),
            current: current.lineage.clone(),
        });
    }
    if planned.serial != current.serial {
        return Err(Staleness::Serial {
            planned: planned.serial,
            current: current.serial,
        });
    }
    Ok(())
}

fn checksum(text: &str) -> String {
    format!("sha256:{:x}", Sha256::digest(text.as_bytes()))
}

/// The plan file's text.
pub fn to_file_text(plan: &Plan) -> Result<String, serde_json::Error> {
    let body = serde_json::to_value(wire::encode(plan, Audience::File))?;
    let body_text = body.to_string();
    let envelope = serde_json::json!({
        "format": FORMAT,
        "file_version": FILE_VERSION,
        "checksum": checksum(&body_text),
        "plan": body,
    });
    let mut text = serde_json::to_string_pretty(&envelope)?;
    text.push('\n');
    Ok(text)
}

/// Writes a plan file (mode 0600: it names the objects and the environment variables that
/// hold their secrets).
pub fn save(plan: &Plan, path: &Path) -> Result<(), PlanFileError> {
    let error = |source| PlanFileError::Write {
        path: path.display().to_string(),
        source,
    };
    let text = to_file_text(plan).map_err(|serialise| error(std::io::Error::other(serialise)))?;
    let temporary = path.with_extension("tmp-dbplan");
    write_private(&temporary, text.as_bytes()).map_err(error)?;
    std::fs::rename(&temporary, path).map_err(error)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Reads a plan file back, refusing a damaged, modified or newer one.
pub fn load(path: &Path) -> Result<Plan, PlanFileError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::Read {
        path: display.clone(),
        source,
    })?;
    from_file_text(&text, &display)
}

/// Parses a plan file's text; `path` is for messages.
pub fn from_file_text(text: &str, path: &str) -> Result<Plan, PlanFileError> {
    let not_a_plan = |what: String| PlanFileError::NotAPlan {
        path: path.to_owned(),
        what,
    };
    let envelope: Json =
        serde_json::from_str(text).map_err(|error| not_a_plan(format!("not JSON: {error}")))?;
    if envelope.get("format").and_then(Json::as_str) != Some(FORMAT) {
        return Err(not_a_plan("no `format: dbplan-plan`".to_owned()));
    }
    let version = envelope
        .get("file_version")
        .and_then(Json::as_u64)
        .ok_or_else(|| not_a_plan("no file_version".to_owned()))?;
    if version > FILE_VERSION {
        return Err(PlanFileError::NewerVersion {
            path: path.to_owned(),
            found: version,
            supported: FILE_VERSION,
        });
    }
    let body = envelope
        .get("plan")
        .ok_or_else(|| not_a_plan("no plan".to_owned()))?;
    let recorded = envelope.get("checksum").and_then(Json::as_str);
    if recorded != Some(checksum(&body.to_string()).as_str()) {
        return Err(PlanFileError::Tampered {
            path: path.to_owned(),
        });
    }
    let wire: wire::PlanWire = serde_json::from_value(body.clone())
        .map_err(|error| not_a_plan(format!("unreadable plan: {error}")))?;
    if wire.format_version != FORMAT_VERSION {
        return Err(not_a_plan(format!(
            "plan format {} (this dbplan reads {FORMAT_VERSION})",
            wire.format_version
        )));
    }
    wire::decode(wire).map_err(|error| not_a_plan(error.to_string()))
}
