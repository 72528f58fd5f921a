//! dbplan's state: what was applied, where, with which outputs.
//!
//! A [`Snapshot`] has a lineage (set once, when the state is created), a serial (+1 on every
//! write) and one [`ResourceState`] per address. A [`StateStore`] keeps it: [`SledStore`], an
//! embedded sled database in a directory (`./state` by default), or [`PgStore`], a team's state
//! in PostgreSQL (`--state postgres://…`, see [`postgres`]); [`StateLocation`] tells them apart
//! and [`Store`] is either. One writer at a time: for a directory, [`StateLock`] is a lock file
//! next to the database that names its holder, and a lock whose process is gone is reported as
//! stale; in PostgreSQL, a lease with a fencing token. Both keep a [`HistoryEntry`] per commit.
//!
//! Damage is never read as an older or empty state: an integrity layer of dbplan's own
//! (checksummed records, a checksummed head mirrored in `head.json`, backups) sits between
//! sled and everything else, and sled only ever recovers a copy (see [`SledStore`]).
//!
//! Sensitive values and the state's key can be encrypted at rest with a passphrase
//! (`DBPLAN_STATE_PASSPHRASE`) or a data key wrapped by AWS KMS, through a [`KeyService`] the
//! program registers (see `crypt`): only what is stored is sealed, a [`Snapshot`] always holds
//! the plain values.
//!
//! This crate is the only user of sled.

mod backend;
mod crypt;
pub mod export;
mod files;
mod integrity;
mod key;
mod lock;
pub mod postgres;
mod sled_store;
mod time;

pub use backend::{StateLocation, Store};
pub use crypt::{
    DataKey, GeneratedKey, KMS_KEY_VARIABLE, KeyService, LINEAGE_CONTEXT, NEW_KMS_KEY_VARIABLE,
    NEW_PASSPHRASE_VARIABLE, PASSPHRASE_VARIABLE, Passphrase, StateCipher, set_key_service,
};
pub use export::{Backup, DEFAULT_BACKUPS_KEPT, Exported};
pub use files::write_private_file;
pub use key::{MAC_PREFIX, StateKey};
pub use lock::{LockInfo, LockStatus, StateLock};
pub use postgres::{PgLocation, PgStore};
pub use sled_store::{
    CheckReport, EncryptionChange, FORMAT_VERSION, ReadState, Reencrypted, Replaced, SerialChoice,
    SledStore, panic_is_recovered,
};
pub use time::format_utc;

use dbplan_core::{Kind, ResourceAddress};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "cannot create the state directory {path}: {source}; check its permissions, or choose another location with --state or DBPLAN_STATE"
    )]
    CreateDirectory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot make the state at {path} private (mode 0700, files 0600): {source}; make the directory yours, or choose another location with --state"
    )]
    Permissions {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot use {path} as the state directory: {why}")]
    Location { path: PathBuf, why: String },
    #[error("cannot use {url} as the state: {why}")]
    Url { url: String, why: String },
    #[error("there is no state at {path}; `dbplan apply` creates one")]
    NoState { path: PathBuf },
    #[error(
        "cannot open the state store at {path}: {message}; run `dbplan state check` to see whether it is damaged"
    )]
    Open { path: PathBuf, message: String },
    #[error(
        "the state at {path} was written by a newer dbplan (format {found}; this dbplan reads up to {supported}); upgrade dbplan"
    )]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(
        "the state at {path} is damaged: {what}. Nothing was changed. `dbplan state check` shows what is damaged and which backups are good; `dbplan state restore` brings back the newest good backup (the damaged database is kept aside)"
    )]
    Corrupted { path: PathBuf, what: String },
    #[error(
        "the state at {path} has lineage {current}, and the one to bring in has lineage {incoming}: it belongs to another state; pass --force to replace it anyway"
    )]
    LineageMismatch {
        path: PathBuf,
        current: String,
        incoming: String,
    },
    #[error(
        "the state at {path} is at serial {current}, and the one to bring in at serial {incoming}, which is not newer; pass --force to replace it anyway"
    )]
    NotNewer {
        path: PathBuf,
        current: u64,
        incoming: u64,
    },
    #[error(
        "this export is redacted (its secrets read `(sensitive)`), so it cannot be imported; export again with `dbplan state export --out FILE`"
    )]
    Redacted,
    #[error(
        "state store error at {path}: {message}; check the disk (space, permissions) and run the command again"
    )]
    Store { path: PathBuf, message: String },
    #[error(
        "the state at {path} is locked by {holder}; wait for it to finish, or run `dbplan state unlock` if it is gone"
    )]
    Locked { path: PathBuf, holder: String },
    #[error(
        "the state at {path} has a stale lock: {holder} no longer runs; run `dbplan state unlock` to remove it"
    )]
    StaleLock { path: PathBuf, holder: String },
    #[error(
        "cannot write the lock file {path}: {source}; check the permissions of the state directory"
    )]
    LockFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the state at {path} is encrypted; set DBPLAN_STATE_PASSPHRASE to its passphrase")]
    PassphraseMissing { path: PathBuf },
    #[error(
        "DBPLAN_STATE_PASSPHRASE is not the passphrase of the state at {path} (it does not open the state's key check); set it to the passphrase the state was encrypted with"
    )]
    WrongPassphrase { path: PathBuf },
    #[error("{message}")]
    Encryption { message: String },
    #[error("no resource {address} in the state")]
    NotFound { address: ResourceAddress },
    #[error(
        "cannot connect to the state at {location}: {message}; check the URL, the server and PGPASSWORD (or the variable password_env names)"
    )]
    Connect { location: String, message: String },
    #[error("the state at {location}: {message}")]
    Query { location: String, message: String },
    #[error(
        "lost the connection to the state at {location}: {message}; nothing more was written. Check the server, then run `dbplan plan` to see where things stand"
    )]
    ConnectionLost { location: String, message: String },
    #[error(
        "the state at {location} is locked by {holder}, whose lease runs until {until} unless renewed; wait for it to finish, or run `dbplan state unlock` (a holder that died releases it when its lease expires)"
    )]
    PgLocked {
        location: String,
        holder: String,
        until: String,
    },
    #[error(
        "this process no longer holds the lock of the state at {location}: {why}; it wrote nothing more. Run `dbplan plan` again to see where things stand"
    )]
    LockLost { location: String, why: String },
    #[error(
        "the tables of the state at {location} were made by a newer dbplan (schema version {found}; this dbplan knows up to {supported}); upgrade dbplan"
    )]
    NewerSchema {
        location: String,
        found: i32,
        supported: i32,
    },
}

/// One committed change, as `dbplan state history` shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryEntry {
    pub serial: u64,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub at: String,
    /// The database role that wrote it (a PostgreSQL state's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_user: Option<String>,
    /// The operating-system user that ran dbplan.
    pub os_user: String,
    pub host: String,
    pub pid: u32,
    /// e.g. `dbplan apply`.
    pub command: String,
    /// The saved plan applied, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// What it wrote (`+ address`) and removed (`- address`).
    pub changes: Vec<String>,
}

/// Where a resource stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created or read, and up to date.
    #[default]
    Ready,
    /// An apply failed half-way through it: it must be replaced.
    Tainted,
    /// Recorded before its API call: it may or may not exist; the next run adopts or cleans it.
    Pending,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "ready",
            Status::Tainted => "tainted",
            Status::Pending => "pending",
        }
    }
}

pub use dbplan_core::{DeletionPolicy, Lifecycle};

/// A value recorded in state: [`dbplan_core::Field`], the type providers take and return.
/// Sensitive values are stored (the provider needs them) but marked, and never shown: `Debug`
/// and every rendering print `(sensitive)`.
pub use dbplan_core::Field as StateValue;

/// One resource as last applied or read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// `Kind/name[/part]`, as a string in the record.
    pub address: ResourceAddress,
    /// The address's kind, as a string in the record (a kind this dbplan does not know makes
    /// the record unreadable, with an error that names it).
    pub kind: Kind,
    /// The provider's id of the object (cluster identifier, UUID, …), once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    /// Attributes as last applied or read.
    #[serde(default)]
    pub attributes: BTreeMap<String, StateValue>,
    /// Outputs other resources may reference.
    #[serde(default)]
    pub outputs: BTreeMap<String, StateValue>,
    /// Addresses this resource depends on (written as their strings).
    #[serde(default)]
    pub dependencies: Vec<ResourceAddress>,
    #[serde(default)]
    pub status: Status,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// `dbplan.io/waive.<CODE>` reasons of the resource at its last apply, so that a plan rule
    /// (e.g. deleting a stateful object) can be waived for a resource no longer in the
    /// manifests.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub waivers: BTreeMap<String, String>,
}

impl ResourceState {
    pub fn new(address: ResourceAddress) -> Self {
        ResourceState {
            kind: address.kind,
            address,
            provider_id: None,
            attributes: BTreeMap::new(),
            outputs: BTreeMap::new(),
            dependencies: Vec::new(),
            status: Status::Ready,
            lifecycle: Lifecycle::default(),
            waivers: BTreeMap::new(),
        }
    }
}

/// The whole state at one serial.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Set once, when the state is created; a plan binds to it.
    pub lineage: String,
    /// +1 on every write.
    pub serial: u64,
    /// By address. The map's order is `ResourceAddress`'s (kind, then name, then part), not
    /// the text's; the records are stored and exported by the address's text.
    pub resources: BTreeMap<ResourceAddress, ResourceState>,
}

/// One change of a batch written with [`StateStore::write_batch`].
#[derive(Clone, Debug, PartialEq)]
pub enum StateChange {
    /// Records (or replaces) a resource.
    Put(ResourceState),
    /// Removes a resource from state; one that is not there is left alone.
    Remove(ResourceAddress),
}

/// A store of state. Every write is durable when the call returns (a crash right after loses
/// nothing) and bumps the serial.
pub trait StateStore {
    /// The current snapshot.
    fn snapshot(&self) -> Result<Snapshot, StateError>;
    /// The state's secret key (plan authentication, secret fingerprints).
    fn key(&self) -> Result<StateKey, StateError>;
    /// Ends a session that changed the state: the store leaves a backup of the whole state
    /// (stores without backups do nothing).
    fn finish(&self) -> Result<(), StateError> {
        Ok(())
    }
    /// Records (or replaces) one resource; returns the new serial.
    fn put(&self, resource: &ResourceState) -> Result<u64, StateError>;
    /// Removes one resource from state (the object itself is left alone); returns the new
    /// serial.
    fn remove(&self, address: &ResourceAddress) -> Result<u64, StateError>;

    /// Writes several changes, durable together when the call returns (group commit: one
    /// flush for all); the serial goes up by one per change. Returns the new serial.
    fn write_batch(&self, changes: &[StateChange]) -> Result<u64, StateError> {
        let mut serial = self.snapshot()?.serial;
        for change in changes {
            serial = match change {
                StateChange::Put(resource) => self.put(resource)?,
                StateChange::Remove(address) => match self.remove(address) {
                    Err(StateError::NotFound { .. }) => serial,
                    other => other?,
                },
            };
        }
        Ok(serial)
    }
}
