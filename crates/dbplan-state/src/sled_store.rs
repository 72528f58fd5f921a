//! The embedded store: a sled database in `<directory>/db`, next to the lock file.
//!
//! Layout (format 1): tree `meta` with `format_version`, `lineage` and `serial`; tree
//! `resources` with one JSON [`ResourceState`] per address. Every change is one sled
//! transaction over both trees (the serial moves with the resource), followed by a flush, so a
//! crash or SIGKILL right after a call returns loses nothing. The directory is 0700 and its files
//! 0600. A store written in a newer format is refused; older formats are converted explicitly
//! on open (see [`migrate`]).

use crate::lock::{LockInfo, StateLock};
use crate::{ResourceState, Snapshot, StateChange, StateError, StateStore};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The on-disk format this dbplan writes.
pub const FORMAT_VERSION: u32 = 1;

const FORMAT_KEY: &[u8] = b"format_version";
const LINEAGE_KEY: &[u8] = b"lineage";
const SERIAL_KEY: &[u8] = b"serial";

/// The sled state store; holds the state lock while open.
pub struct SledStore {
    directory: PathBuf,
    db: sled::Db,
    meta: sled::Tree,
    resources: sled::Tree,
    lock: StateLock,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

impl SledStore {
    /// Whether a state exists at `directory` (nothing is created).
    pub fn exists(directory: &Path) -> bool {
        directory.join("db").exists()
    }

    /// Opens the state at `directory`, creating it (with a new lineage) when there is none, and
    /// takes the lock for `holder` (e.g. `dbplan apply`).
    pub fn open(directory: &Path, holder: &str) -> Result<SledStore, StateError> {
        create_private_directory(directory)?;
        let lock = StateLock::acquire(directory, LockInfo::current(holder))?;
        let db_path = directory.join("db");
        let config = sled::Config::new().path(&db_path);
        // sled reports damage as errors, but a database left half-written by a killed process
        // has been seen to make it panic (sled #1509, #1527): such a panic is turned into an
        // error, so opening a broken store never crashes dbplan.
        let open = || {
            let previous_hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
            std::panic::set_hook(previous_hook);
            opened
        };
        let mut opened = open();
        // sled's background flusher outlives a dropped `Db` for a moment and holds the file
        // lock until it ends, so reopening a store this process just closed can find it taken.
        // `StateLock` already excludes every other holder, so the wait is short and bounded.
        for _ in 0..100 {
            match &opened {
                Ok(Err(sled::Error::Io(error)))
                    if error.kind() == std::io::ErrorKind::WouldBlock
                        || error.to_string().contains("could not acquire lock") =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    opened = open();
                }
                _ => break,
            }
        }
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(sled::Error::Corruption { .. })) => {
                return Err(StateError::Corrupted {
                    path: directory.to_path_buf(),
                    what: "sled reports corruption".to_owned(),
                });
            }
            Ok(Err(error)) => {
                return Err(StateError::Open {
                    path: directory.to_path_buf(),
                    message: error.to_string(),
                });
            }
            Err(_) => {
                return Err(StateError::Corrupted {
                    path: directory.to_path_buf(),
                    what: "the database could not be read".to_owned(),
                });
            }
        };
        let store_error = |error: sled::Error| StateError::Store {
            path: directory.to_path_buf(),
            message: error.to_string(),
        };
        let meta = db.open_tree("meta").map_err(store_error)?;
        let resources = db.open_tree("resources").map_err(store_error)?;
        let store = SledStore {
            directory: directory.to_path_buf(),
            db,
            meta,
            resources,
            lock,
        };
        store.initialise_or_migrate()?;
        restrict_permissions(directory)?;
        Ok(store)
    }

    /// The directory of the store.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Who holds the lock (this process).
    pub fn lock(&self) -> &LockInfo {
        self.lock.info()
    }

    fn error(&self, error: impl std::fmt::Display) -> StateError {
        StateError::Store {
            path: self.directory.clone(),
            message: error.to_string(),
        }
    }

    fn corrupted(&self, what: impl Into<String>) -> StateError {
        StateError::Corrupted {
            path: self.directory.clone(),
            what: what.into(),
        }
    }

    fn read_u64(&self, key: &[u8]) -> Result<Option<u64>, StateError> {
        match self.meta.get(key).map_err(|error| self.error(error))? {
            None => Ok(None),
            Some(bytes) => match <[u8; 8]>::try_from(bytes.as_ref()) {
                Ok(bytes) => Ok(Some(u64::from_be_bytes(bytes))),
                Err(_) => Err(self.corrupted(format!(
                    "`{}` is not a number",
                    String::from_utf8_lossy(key)
                ))),
            },
        }
    }

    fn initialise_or_migrate(&self) -> Result<(), StateError> {
        match self.read_u64(FORMAT_KEY)? {
            None => {
                if !self.resources.is_empty() || self.meta.get(LINEAGE_KEY).ok().flatten().is_some()
                {
                    return Err(self.corrupted("the format version is missing"));
                }
                let lineage = uuid::Uuid::new_v4().to_string();
                self.meta
                    .transaction(|meta| {
                        meta.insert(FORMAT_KEY, &u64::from(FORMAT_VERSION).to_be_bytes())?;
                        meta.insert(LINEAGE_KEY, lineage.as_bytes())?;
                        meta.insert(SERIAL_KEY, &0u64.to_be_bytes())?;
                        Ok::<(), ConflictableTransactionError<()>>(())
                    })
                    .map_err(|error| self.error(format!("{error:?}")))?;
                self.flush()
            }
            Some(found) if found > u64::from(FORMAT_VERSION) => Err(StateError::NewerFormat {
                path: self.directory.clone(),
                found: u32::try_from(found).unwrap_or(u32::MAX),
                supported: FORMAT_VERSION,
            }),
            Some(found) if found < u64::from(FORMAT_VERSION) => {
                migrate(self, u32::try_from(found).unwrap_or(0))
            }
            Some(_) => Ok(()),
        }
    }

    fn flush(&self) -> Result<(), StateError> {
        self.db.flush().map_err(|error| self.error(error))?;
        Ok(())
    }

    fn lineage(&self) -> Result<String, StateError> {
        match self
            .meta
            .get(LINEAGE_KEY)
            .map_err(|error| self.error(error))?
        {
            Some(bytes) => String::from_utf8(bytes.to_vec())
                .map_err(|_| self.corrupted("the lineage is not text")),
            None => Err(self.corrupted("the lineage is missing")),
        }
    }

    /// One transaction over both trees: the change and the serial bump, then a flush.
    fn change(&self, address: &str, value: Option<Vec<u8>>) -> Result<u64, StateError> {
        let serial = (&self.meta, &self.resources)
            .transaction(|(meta, resources)| {
                let serial = meta
                    .get(SERIAL_KEY)?
                    .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
                    .map_or(0, u64::from_be_bytes)
                    + 1;
                match &value {
                    Some(bytes) => {
                        resources.insert(address.as_bytes(), bytes.as_slice())?;
                    }
                    None => {
                        resources.remove(address.as_bytes())?;
                    }
                }
                meta.insert(SERIAL_KEY, &serial.to_be_bytes())?;
                Ok::<u64, ConflictableTransactionError<()>>(serial)
            })
            .map_err(|error| self.error(format!("{error:?}")))?;
        self.flush()?;
        Ok(serial)
    }
}

impl StateStore for SledStore {
    fn snapshot(&self) -> Result<Snapshot, StateError> {
        let lineage = self.lineage()?;
        let serial = self
            .read_u64(SERIAL_KEY)?
            .ok_or_else(|| self.corrupted("the serial is missing"))?;
        let mut resources = BTreeMap::new();
        for entry in self.resources.iter() {
            let (key, value) = entry.map_err(|error| self.error(error))?;
            let address = String::from_utf8_lossy(&key).into_owned();
            let resource: ResourceState = serde_json::from_slice(&value)
                .map_err(|error| self.corrupted(format!("resource {address}: {error}")))?;
            resources.insert(address, resource);
        }
        Ok(Snapshot {
            lineage,
            serial,
            resources,
        })
    }

    fn put(&self, resource: &ResourceState) -> Result<u64, StateError> {
        let bytes = serde_json::to_vec(resource).map_err(|error| self.error(error))?;
        let serial = self.change(&resource.address, Some(bytes))?;
        restrict_permissions(&self.directory)?;
        Ok(serial)
    }

    fn write_batch(&self, changes: &[StateChange]) -> Result<u64, StateError> {
        let mut encoded: Vec<(&str, Option<Vec<u8>>)> = Vec::with_capacity(changes.len());
        for change in changes {
            encoded.push(match change {
                StateChange::Put(resource) => (
                    resource.address.as_str(),
                    Some(serde_json::to_vec(resource).map_err(|error| self.error(error))?),
                ),
                StateChange::Remove(address) => (address.as_str(), None),
            });
        }
        let serial = (&self.meta, &self.resources)
            .transaction(|(meta, resources)| {
                let mut serial = meta
                    .get(SERIAL_KEY)?
                    .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
                    .map_or(0, u64::from_be_bytes);
                for (address, value) in &encoded {
                    match value {
                        Some(bytes) => {
                            resources.insert(address.as_bytes(), bytes.as_slice())?;
                        }
                        None => {
                            resources.remove(address.as_bytes())?;
                        }
                    }
                    serial += 1;
                }
                meta.insert(SERIAL_KEY, &serial.to_be_bytes())?;
                Ok::<u64, ConflictableTransactionError<()>>(serial)
            })
            .map_err(|error| self.error(format!("{error:?}")))?;
        self.flush()?;
        restrict_permissions(&self.directory)?;
        Ok(serial)
    }

    fn remove(&self, address: &str) -> Result<u64, StateError> {
        if !self
            .resources
            .contains_key(address.as_bytes())
            .map_err(|error| self.error(error))?
        {
            return Err(StateError::NotFound {
                address: address.to_owned(),
            });
        }
        self.change(address, None)
    }
}

/// Converts a store of an older format to [`FORMAT_VERSION`], one step at a time. Format 1 is
/// the first; a store claiming an older one was not written by dbplan.
fn migrate(store: &SledStore, found: u32) -> Result<(), StateError> {
    Err(store.corrupted(format!(
        "format {found} is not a dbplan state format (the first is 1)"
    )))
}

/// Creates the state directory with mode 0700 (and makes an existing one 0700).
fn create_private_directory(directory: &Path) -> Result<(), StateError> {
    std::fs::create_dir_all(directory).map_err(|source| StateError::CreateDirectory {
        path: directory.to_path_buf(),
        source,
    })?;
    restrict_permissions(directory)
}

/// Directories 0700, files 0600, under the state directory: sled creates its files with the
/// process umask, and the state holds secrets. A file sled removes while we walk is skipped;
/// any other failure is an error, so the state is never left readable without saying so.
fn restrict_permissions(directory: &Path) -> Result<(), StateError> {
    #[cfg(unix)]
    {
        use std::io::ErrorKind;
        use std::os::unix::fs::PermissionsExt;
        fn walk(path: &Path) -> std::io::Result<()> {
            let metadata = match std::fs::symlink_metadata(path) {
                Ok(metadata) => metadata,
                Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
                Err(error) => return Err(error),
            };
            let wanted = if metadata.is_dir() {
                0o700
            } else if metadata.is_file() {
                0o600
            } else {
                return Ok(());
            };
            if metadata.permissions().mode() & 0o777 != wanted {
                match std::fs::set_permissions(path, std::fs::Permissions::from_mode(wanted)) {
                    Err(error) if error.kind() != ErrorKind::NotFound => return Err(error),
                    _ => {}
                }
            }
            if metadata.is_dir() {
                for entry in std::fs::read_dir(path)? {
                    walk(&entry?.path())?;
                }
            }
            Ok(())
        }
        walk(directory).map_err(|source| StateError::Permissions {
            path: directory.to_path_buf(),
            source,
        })
    }
    #[cfg(not(unix))]
    {
        let _ = directory;
        Ok(())
    }
}
