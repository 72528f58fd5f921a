//! The saved plan file: `plan --out FILE` writes it, `show` and `apply` read it.
//!
//! ```text
//! {"format": "dbplan-plan", "file_version": 2, "checksum": "sha256:…",
//!  "mac": "hmac-sha256:…", "plan": {…}}
//! ```
//!
//! `plan` is the plan JSON with what apply needs besides (secret references with keyed
//! fingerprints, output references, fingerprints, the manifests' and packs' digests), so the
//! file is self-contained. `checksum` is the SHA-256 of `plan` as written: damage in transit
//! is found without the state. `mac` is an HMAC-SHA-256 of the same text keyed with the state's
//! key, which lives only in the state: whoever edits the file and recomputes the checksum
//! still cannot make a tag the state accepts. Files of version 1 (checksum only) are refused.
use crate::model::{Plan, StateRef};
use crate::wire::{self, Audience, FORMAT_VERSION};
use dbplan_state::StateKey;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The version of the file envelope; a newer one is refused, and so is an older one.
pub const FILE_VERSION: u64 = 2;
const FORMAT: &str = "dbplan-plan";
/// Keeps plan tags apart from every other use of the state's key.
const MAC_DOMAIN: &str = "dbplan-plan-file-v2";

/// Why a plan file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read the plan file {path}: {message}")]
    Input { path: String, message: String },
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
        "the plan file {path} was written by an older dbplan (file version {found}), whose plans are not authenticated; it is refused: plan again and apply the new file"
    )]
    OlderVersion { path: String, found: u64 },
    #[error(
        "the plan file {path} has been modified since it was written (checksum mismatch); it is refused: plan again and apply the new file"
    )]
    Tampered { path: String },
    #[error(
        "the plan file {path} is not authenticated by the state's key: it was edited after `dbplan plan` wrote it, or made for another state; it is refused: plan again and apply the new file"
    )]
    Unauthenticated { path: String },
}

/// A plan file as read: its plan, and what authenticates it.
#[derive(Debug)]
pub struct PlanFile {
    pub plan: Plan,
    path: String,
    body: String,
    mac: String,
}

impl PlanFile {
    /// The SHA-256 of the plan as saved (`sha256:…`), which names it in a state's history.
    pub fn digest(&self) -> String {
        checksum(&self.body)
    }

    /// Whether the state whose key this is wrote the file's tag.
    pub fn is_authentic(&self, key: &StateKey) -> bool {
        key.verify(MAC_DOMAIN, &[self.body.as_bytes()], &self.mac)
    }

    /// The plan, when the tag verifies with `key`.
    pub fn authenticate(self, key: &StateKey) -> Result<Plan, PlanFileError> {
        if self.is_authentic(key) {
            Ok(self.plan)
        } else {
            Err(PlanFileError::Unauthenticated { path: self.path })
        }
    }
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
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// The plan file's text, tagged with the state's key.
pub fn to_file_text(plan: &Plan, key: &StateKey) -> Result<String, serde_json::Error> {
    let body = serde_json::to_value(wire::encode(plan, Audience::File))?;
    let body_text = body.to_string();
    let envelope = serde_json::json!({
        "format": FORMAT,
        "file_version": FILE_VERSION,
        "checksum": checksum(&body_text),
        "mac": key.mac(MAC_DOMAIN, &[body_text.as_bytes()]),
        "plan": body,
    });
    let mut text = serde_json::to_string_pretty(&envelope)?;
    text.push('\n');
    Ok(text)
}

/// Writes a plan file (mode 0600: it names the objects and the environment variables that
/// hold their secrets) through an exclusively created temporary file renamed over `path`, so a
/// link planted at `path` or next to it is never followed.
pub fn save(plan: &Plan, key: &StateKey, path: &Path) -> Result<(), PlanFileError> {
    let error = |source| PlanFileError::Write {
        path: path.display().to_string(),
        source,
    };
    let text =
        to_file_text(plan, key).map_err(|serialise| error(std::io::Error::other(serialise)))?;
    dbplan_state::write_private_file(path, text.as_bytes()).map_err(error)
}

/// Reads a plan file back, refusing a damaged, older or newer one; [`PlanFile::authenticate`]
/// then checks its tag.
pub fn load(path: &Path) -> Result<PlanFile, PlanFileError> {
    let display = path.display().to_string();
    // The same rules as manifests: no FIFO or device is read, nothing over the input cap.
    let read = || -> Result<String, dbplan_manifest::input::InputError> {
        let cap = dbplan_manifest::input::max_input_bytes()?;
        dbplan_manifest::input::read_bounded_text(path, cap)
    };
    let text = read().map_err(|error| PlanFileError::Input {
        path: display.clone(),
        message: error.to_string(),
    })?;
    from_file_text(&text, &display)
}

/// Parses a plan file's text; `path` is for messages.
pub fn from_file_text(text: &str, path: &str) -> Result<PlanFile, PlanFileError> {
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
    if version < FILE_VERSION {
        return Err(PlanFileError::OlderVersion {
            path: path.to_owned(),
            found: version,
        });
    }
    let body = envelope
        .get("plan")
        .ok_or_else(|| not_a_plan("no plan".to_owned()))?;
    let body_text = body.to_string();
    let recorded = envelope.get("checksum").and_then(Json::as_str);
    if recorded != Some(checksum(&body_text).as_str()) {
        return Err(PlanFileError::Tampered {
            path: path.to_owned(),
        });
    }
    let mac = envelope
        .get("mac")
        .and_then(Json::as_str)
        .ok_or_else(|| PlanFileError::Unauthenticated {
            path: path.to_owned(),
        })?
        .to_owned();
    let wire: wire::PlanWire = serde_json::from_value(body.clone())
        .map_err(|error| not_a_plan(format!("unreadable plan: {error}")))?;
    if wire.format_version != FORMAT_VERSION {
        return Err(not_a_plan(format!(
            "plan format {} (this dbplan reads {FORMAT_VERSION})",
            wire.format_version
        )));
    }
    let plan = wire::decode(wire).map_err(|error| not_a_plan(error.to_string()))?;
    Ok(PlanFile {
        plan,
        path: path.to_owned(),
        body: body_text,
        mac,
    })
}
