//! Where a state lives, chosen by `--state` (or `DBPLAN_STATE`): a directory holding the
//! embedded sled store, or a `postgres://` URL (see [`crate::postgres`]). [`Store`] is either,
//! open for writing.

use crate::postgres::{PgLocation, PgStore, is_postgres_url};
use crate::{
    EncryptionChange, Exported, HistoryEntry, LockStatus, Passphrase, ReadState, Reencrypted,
    Replaced, ResourceState, SerialChoice, SledStore, Snapshot, StateChange, StateError, StateKey,
    StateLock, StateStore,
};
use dbplan_core::ResourceAddress;
use std::path::{Path, PathBuf};

/// A state's location.
#[derive(Clone, Debug)]
pub enum StateLocation {
    /// A directory (created on first write).
    Local(PathBuf),
    /// A state in a PostgreSQL database.
    Postgres(Box<PgLocation>),
}

impl std::fmt::Display for StateLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateLocation::Local(directory) => write!(f, "{}", directory.display()),
            StateLocation::Postgres(location) => write!(f, "{location}"),
        }
    }
}

impl StateLocation {
    /// `--state`'s value: a `postgres://` or `postgresql://` URL, else a directory; `./state`
    /// when none is given.
    pub fn from_arg(state: Option<&Path>) -> Result<StateLocation, StateError> {
        let Some(state) = state else {
            return Ok(StateLocation::Local(PathBuf::from("state")));
        };
        match state.to_str() {
            Some(text) if is_postgres_url(text) => Ok(StateLocation::Postgres(Box::new(
                PgLocation::from_text(text)?,
            ))),
            _ => Ok(StateLocation::Local(state.to_path_buf())),
        }
    }

    /// The directory of a local state (what dbplan's own files must stay out of).
    pub fn directory(&self) -> Option<&Path> {
        match self {
            StateLocation::Local(directory) => Some(directory),
            StateLocation::Postgres(_) => None,
        }
    }

    /// Whether a state is there. A local one is looked for without being read; a PostgreSQL
    /// one is read (without a passphrase, which only a reader of its values needs).
    pub fn exists(&self) -> Result<bool, StateError> {
        match self {
            StateLocation::Local(directory) => Ok(SledStore::exists(directory)),
            StateLocation::Postgres(location) => PgStore::exists(location),
        }
    }

    /// The state, verified, for a reader; `None` when there is none (never creates one).
    pub fn read(&self, holder: &str) -> Result<Option<ReadState>, StateError> {
        match self {
            StateLocation::Local(directory) => SledStore::read(directory, holder),
            StateLocation::Postgres(location) => PgStore::read(location, holder),
        }
    }

    /// Opens the state for writing, creating it when there is none, and takes its lock.
    pub fn open(&self, holder: &str) -> Result<Store, StateError> {
        match self {
            StateLocation::Local(directory) => SledStore::open(directory, holder).map(Store::Local),
            StateLocation::Postgres(location) => {
                PgStore::open(location, holder).map(Store::Postgres)
            }
        }
    }

    /// Replaces the state with an export (`state import`, `state migrate`).
    pub fn replace(
        &self,
        holder: &str,
        incoming: &Exported,
        serial: SerialChoice,
        force: bool,
    ) -> Result<Replaced, StateError> {
        match self {
            StateLocation::Local(directory) => {
                SledStore::replace(directory, holder, incoming, serial, force)
            }
            StateLocation::Postgres(location) => {
                PgStore::replace(location, holder, incoming, serial, force)
            }
        }
    }

    /// `state encrypt`, `decrypt` and `rekey`.
    pub fn change_encryption(
        &self,
        holder: &str,
        current: Option<Passphrase>,
        change: EncryptionChange,
    ) -> Result<Reencrypted, StateError> {
        match self {
            StateLocation::Local(directory) => {
                SledStore::change_encryption(directory, holder, current, change)
            }
            StateLocation::Postgres(location) => {
                PgStore::change_encryption(location, holder, current, change)
            }
        }
    }

    /// The lock, as `state unlock` finds it.
    pub fn lock_status(&self) -> Result<LockStatus, StateError> {
        match self {
            StateLocation::Local(directory) => Ok(StateLock::status(directory)),
            StateLocation::Postgres(location) => crate::postgres::lock_status(location),
        }
    }

    /// The committed changes, newest first, at most `limit`.
    pub fn history(&self, limit: u32) -> Result<Vec<HistoryEntry>, StateError> {
        match self {
            StateLocation::Local(directory) => SledStore::history(directory, limit),
            StateLocation::Postgres(location) => crate::postgres::history(location, limit),
        }
    }

    /// Removes the lock whoever holds it.
    pub fn force_unlock(&self) -> Result<(), StateError> {
        match self {
            StateLocation::Local(directory) => StateLock::force_remove(directory),
            StateLocation::Postgres(location) => crate::postgres::force_unlock(location),
        }
    }
}

/// A state open for writing, holding its lock.
#[derive(Debug)]
pub enum Store {
    Local(SledStore),
    Postgres(PgStore),
}

impl Store {
    /// How many backups a local state keeps (a PostgreSQL state's backups are the
    /// database's own).
    pub fn keep_backups(&mut self, count: usize) {
        if let Store::Local(store) = self {
            store.keep_backups(count);
        }
    }

    /// Records which saved plan this session applies, for the state's history.
    pub fn set_plan(&mut self, plan: impl Into<String>) {
        match self {
            Store::Local(store) => store.set_plan(plan),
            Store::Postgres(store) => store.set_plan(plan),
        }
    }

    /// The open state's committed changes, oldest first.
    pub fn history_entries(&self) -> Result<Vec<HistoryEntry>, StateError> {
        match self {
            Store::Local(store) => store.history_entries(),
            Store::Postgres(store) => store.history_entries(),
        }
    }

    /// The state's encryption, when it is on.
    pub fn cipher(&self) -> Option<crate::StateCipher> {
        match self {
            Store::Local(store) => store.cipher(),
            Store::Postgres(store) => store.cipher(),
        }
    }

    /// Closes the store and releases its lock.
    pub fn close(self) -> Result<(), StateError> {
        match self {
            Store::Local(store) => store.close(),
            Store::Postgres(store) => store.close(),
        }
    }
}

impl StateStore for Store {
    fn snapshot(&self) -> Result<Snapshot, StateError> {
        match self {
            Store::Local(store) => store.snapshot(),
            Store::Postgres(store) => store.snapshot(),
        }
    }

    fn key(&self) -> Result<StateKey, StateError> {
        match self {
            Store::Local(store) => store.key(),
            Store::Postgres(store) => store.key(),
        }
    }

    fn finish(&self) -> Result<(), StateError> {
        match self {
            Store::Local(store) => store.finish(),
            Store::Postgres(store) => store.finish(),
        }
    }

    fn put(&self, resource: &ResourceState) -> Result<u64, StateError> {
        match self {
            Store::Local(store) => store.put(resource),
            Store::Postgres(store) => store.put(resource),
        }
    }

    fn remove(&self, address: &ResourceAddress) -> Result<u64, StateError> {
        match self {
            Store::Local(store) => store.remove(address),
            Store::Postgres(store) => store.remove(address),
        }
    }

    fn write_batch(&self, changes: &[StateChange]) -> Result<u64, StateError> {
        match self {
            Store::Local(store) => store.write_batch(changes),
            Store::Postgres(store) => store.write_batch(changes),
        }
    }
}
