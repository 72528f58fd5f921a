//! Where a state lives, chosen by `--state` (or `DBPLAN_STATE`): a directory holding the
//! embedded sled store, or a `postgres://` URL (see [`crate::postgres`]). [`Store`] is either,
//! open for writing.

use crate::crypt::{NEW_KMS_KEY_VARIABLE, NEW_PASSPHRASE_VARIABLE, PASSPHRASE_VARIABLE};
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

    /// [`StateLocation::open`], then, when a new key is configured next to the current one
    /// (`DBPLAN_STATE_NEW_PASSPHRASE` or `DBPLAN_STATE_NEW_KMS_KEY`) and the state is
    /// encrypted and not yet under it, re-encrypts it under the new key before anything else
    /// is written (as `state rekey` does), and opens it again. Returns the store and, after a
    /// rotation, a sentence that says so.
    pub fn open_rotating(&self, holder: &str) -> Result<(Store, Option<String>), StateError> {
        let store = self.open(holder)?;
        let Some(change) = rotation(store.cipher().as_ref())? else {
            return Ok((store, None));
        };
        let target = match &change {
            EncryptionChange::RekeyKms(key) => {
                format!("a new data key of the AWS KMS key {key} ({NEW_KMS_KEY_VARIABLE})")
            }
            _ => format!("the new passphrase ({NEW_PASSPHRASE_VARIABLE})"),
        };
        store.close()?;
        let done =
            self.change_encryption(holder, Passphrase::from_env(PASSPHRASE_VARIABLE), change)?;
        let store = self.open(holder)?;
        Ok((
            store,
            Some(format!(
                "re-encrypted the state under {target} before writing (serial {}, {} backups rewritten); readers accept the old key and the new one while both are set",
                done.serial, done.backups_rewritten
            )),
        ))
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

/// The rotation a writer owes an encrypted state whose `cipher` opened it: to the new AWS KMS
/// key or the new passphrase the environment names, unless the state is already under it. A
/// plain state is never encrypted by a rotation.
fn rotation(cipher: Option<&crate::StateCipher>) -> Result<Option<EncryptionChange>, StateError> {
    let Some(cipher) = cipher else {
        return Ok(None);
    };
    let new_kms = std::env::var(NEW_KMS_KEY_VARIABLE)
        .ok()
        .filter(|value| !value.is_empty());
    let new_passphrase = Passphrase::from_env(NEW_PASSPHRASE_VARIABLE);
    let current_kms = cipher.header().kms_key();
    match (new_kms, new_passphrase) {
        (Some(_), Some(_)) => Err(StateError::Encryption {
            message: format!(
                "both {NEW_KMS_KEY_VARIABLE} and {NEW_PASSPHRASE_VARIABLE} are set; set only the one to move the state to"
            ),
        }),
        (Some(key), None) => {
            let Some(current) = current_kms else {
                return Ok(Some(EncryptionChange::RekeyKms(key)));
            };
            let service = crate::crypt::key_service().ok_or_else(|| StateError::Encryption {
                message: format!(
                    "{NEW_KMS_KEY_VARIABLE} names an AWS KMS key, and this program cannot reach AWS KMS"
                ),
            })?;
            let arn = service
                .key_arn(&key)
                .map_err(|why| StateError::Encryption {
                    message: format!(
                        "AWS KMS did not describe {key} ({NEW_KMS_KEY_VARIABLE}): {why}"
                    ),
                })?;
            Ok((arn != current).then_some(EncryptionChange::RekeyKms(key)))
        }
        (None, Some(new)) => {
            let current = Passphrase::from_env(PASSPHRASE_VARIABLE);
            let already = current_kms.is_none()
                && (cipher.opened_with_new || current.is_some_and(|current| current.same_as(&new)));
            Ok((!already).then_some(EncryptionChange::Rekey(new)))
        }
        (None, None) => Ok(None),
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
