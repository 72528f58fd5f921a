//! The embedded store: a sled database in `<directory>/db`, under dbplan's integrity layer.
//!
//! Layout of a state directory (format 2):
//!
//! - `db/`: sled. Tree `meta` holds `format_version`, `lineage`, `serial`, the state's `key`
//!   and the checksummed `head`; tree `resources` one checksummed record per address (see
//!   [`crate::integrity`]). Every change is one transaction over both trees (records, serial
//!   and head move together), followed by a flush.
//! - `head.json`: the head mirrored, written atomically after every commit.
//! - `backups/`: a checksummed copy of the whole state after every command that changed it
//!   (the newest ten by default).
//! - `dbplan.lock`: the lock.
//!
//! Opening never trusts sled and never lets it repair damaged files: the database is first
//! copied into a private scratch directory, sled opens the copy, and every record, the head,
//! `head.json` and the newest backup must agree before the real database is opened (by a
//! writer) or the snapshot is returned (by a reader). sled rewrites a torn log tail when it
//! opens, which would destroy the evidence and the records after the damage; on the copy, it
//! destroys nothing. A state written by format 1 (no checksums) is converted by the first
//! writer that opens it.

use crate::crypt::{self, Header, Passphrase, Sealed, StateCipher};
use crate::export::{self, Exported};
use crate::files;
use crate::integrity::{self, Digest, Head};
use crate::lock::{LockInfo, StateLock};
use crate::{HistoryEntry, ResourceState, Snapshot, StateChange, StateError, StateKey, StateStore};
use dbplan_core::ResourceAddress;
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The newest on-disk format this dbplan reads and writes: 2 for a plain state, 3 for an
/// encrypted one (so that a dbplan that cannot open sealed values refuses it as newer, rather
/// than reading its sealed key as damage).
pub const FORMAT_VERSION: u32 = ENCRYPTED_FORMAT;
/// The format of a plain state.
const PLAIN_FORMAT: u32 = 2;
/// The format of an encrypted state.
const ENCRYPTED_FORMAT: u32 = 3;

/// The format a state is written in.
fn format_of(cipher: Option<&StateCipher>) -> u32 {
    if cipher.is_some() {
        ENCRYPTED_FORMAT
    } else {
        PLAIN_FORMAT
    }
}

const FORMAT_KEY: &[u8] = b"format_version";
const LINEAGE_KEY: &[u8] = b"lineage";
const SERIAL_KEY: &[u8] = b"serial";
const KEY_KEY: &[u8] = b"key";
const HEAD_KEY: &[u8] = b"head";
/// Present only in an encrypted state: its [`Header`] (algorithm, iterations, salt, check).
const ENCRYPTION_KEY: &[u8] = b"encryption";

const DATABASE: &str = "db";
const HISTORY_TREE: &str = "history";
const HEAD_FILE: &str = "head.json";
const SCRATCH_PREFIX: &str = ".verify-";

/// A state as a reader sees it, verified.
#[derive(Debug)]
pub struct ReadState {
    pub snapshot: Snapshot,
    /// `None` only for a state whose creation was interrupted before its database was written
    /// (it is empty, and the first writer gives it a key).
    pub key: Option<StateKey>,
    /// The state's encryption, when it is on: what an export seals its values with.
    pub cipher: Option<StateCipher>,
}

/// What `dbplan state check` found.
#[derive(Debug)]
pub struct CheckReport {
    /// The resolved state directory.
    pub directory: PathBuf,
    /// The state, or why it is damaged.
    pub state: Result<ReadState, StateError>,
    /// Every backup, oldest first, with what is wrong with it.
    pub backups: Vec<(export::Backup, Result<(), String>)>,
}

/// How a replaced state ([`SledStore::replace`]) gets its serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SerialChoice {
    /// Keep the document's serial (`state import`).
    Keep,
    /// One more than any serial the directory has seen (`state restore`), so that every plan
    /// made before is stale.
    AboveCurrent,
}

/// What [`SledStore::replace`] did.
#[derive(Debug)]
pub struct Replaced {
    pub serial: u64,
    /// Where the database that was there before now is (it is never deleted).
    pub moved_aside: Option<PathBuf>,
}

/// What `dbplan state encrypt`, `decrypt` or `rekey` does ([`SledStore::change_encryption`]).
#[derive(Debug)]
pub enum EncryptionChange {
    /// Turns encryption on, with this passphrase (the state must be plain).
    Encrypt(Passphrase),
    /// Turns it off (the state must be encrypted).
    Decrypt,
    /// A new key from this passphrase, with a new salt (the state must be encrypted).
    Rekey(Passphrase),
    /// Turns encryption on, with a data key from the AWS KMS key of this id, ARN or alias
    /// (the state must be plain).
    EncryptKms(String),
    /// A new data key from the AWS KMS key of this id, ARN or alias (the state must be
    /// encrypted).
    RekeyKms(String),
}

impl EncryptionChange {
    /// The key of the state after the change (`None`: plain), for a state of `lineage`;
    /// `encrypted` says whether it is encrypted now. An error names what is refused.
    pub(crate) fn new_cipher(
        &self,
        encrypted: bool,
        lineage: &str,
    ) -> Result<Option<StateCipher>, Result<&'static str, crypt::CryptError>> {
        use EncryptionChange::{Decrypt, Encrypt, EncryptKms, Rekey, RekeyKms};
        match (self, encrypted) {
            (Encrypt(_) | EncryptKms(_), true) => Err(Ok(
                "is already encrypted; `dbplan state rekey` changes its key",
            )),
            (Decrypt | Rekey(_) | RekeyKms(_), false) => Err(Ok(
                "is not encrypted; `dbplan state encrypt` turns encryption on",
            )),
            (Encrypt(passphrase) | Rekey(passphrase), _) => {
                StateCipher::create(passphrase).map(Some).map_err(Err)
            }
            (EncryptKms(key) | RekeyKms(key), _) => {
                StateCipher::create_kms(crypt::key_service().as_deref(), key, lineage)
                    .map(Some)
                    .map_err(Err)
            }
            (Decrypt, true) => Ok(None),
        }
    }
}

/// What [`SledStore::change_encryption`] did.
#[derive(Debug)]
pub struct Reencrypted {
    /// The serial of the rewritten state.
    pub serial: u64,
    /// How many backups were rewritten in the new form.
    pub backups_rewritten: usize,
    /// Backups that could not be read, left as they are, and why.
    pub backups_left: Vec<(PathBuf, String)>,
    /// Databases an earlier `state restore` or `state import` moved aside: they are kept, in
    /// the form they had.
    pub kept_aside: Vec<PathBuf>,
}

/// The state of the sled database as it was read and verified.
struct Loaded {
    format: u32,
    lineage: String,
    serial: u64,
    key: Option<StateKey>,
    cipher: Option<StateCipher>,
    resources: BTreeMap<ResourceAddress, ResourceState>,
    /// By the address's text, the record's key.
    hashes: HashMap<String, [u8; 32]>,
    digest: Digest,
}

impl Loaded {
    fn head(&self, key: &StateKey) -> Head {
        Head {
            lineage: self.lineage.clone(),
            serial: self.serial,
            resources: self.resources.len() as u64,
            digest: self.digest.render(),
            key: key.fingerprint(),
        }
    }
}

/// What the writer keeps in memory to update the head without reading the whole state.
struct Tracked {
    serial: u64,
    hashes: HashMap<String, [u8; 32]>,
    digest: Digest,
    /// The serial of the newest backup.
    backed_up: u64,
}

/// The sled state store; holds the state lock while open.
pub struct SledStore {
    directory: PathBuf,
    db: sled::Db,
    meta: sled::Tree,
    resources: sled::Tree,
    /// One entry per commit (`dbplan state history`), keyed by a sequence number.
    history: sled::Tree,
    /// The saved plan this session applies, for the history.
    plan: Option<String>,
    lineage: String,
    key: StateKey,
    /// `Some` when the state is encrypted: records and key are sealed with it on the way out.
    cipher: Option<StateCipher>,
    tracked: Mutex<Tracked>,
    backups_kept: usize,
    /// After the sled handles above and before the lock: see [`SledClosed`].
    closed: SledClosed,
    lock: StateLock,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

fn corrupted(directory: &Path, what: impl Into<String>) -> StateError {
    StateError::Corrupted {
        path: directory.to_path_buf(),
        what: what.into(),
    }
}

fn store_error(directory: &Path, message: impl std::fmt::Display) -> StateError {
    StateError::Store {
        path: directory.to_path_buf(),
        message: message.to_string(),
    }
}

/// What a reader or writer was given to open an encrypted state (the passphrase, the new one
/// of a rotation under way, the key service), and the key it opened (once per header:
/// verifying a copy and opening the real database use the same).
pub(crate) struct Unlock {
    passphrase: Option<Passphrase>,
    new_passphrase: Option<Passphrase>,
    service: Option<std::sync::Arc<dyn crypt::KeyService>>,
    derived: Mutex<Option<StateCipher>>,
}

impl Unlock {
    /// `passphrase` alone, with the registered key service.
    pub(crate) fn new(passphrase: Option<Passphrase>) -> Unlock {
        Unlock {
            passphrase,
            new_passphrase: None,
            service: crypt::key_service(),
            derived: Mutex::new(None),
        }
    }

    /// A key already derived (a store's own, checked when it opened).
    pub(crate) fn with_cipher(cipher: StateCipher) -> Unlock {
        Unlock {
            passphrase: None,
            new_passphrase: None,
            service: None,
            derived: Mutex::new(Some(cipher)),
        }
    }

    /// The passphrase in `DBPLAN_STATE_PASSPHRASE`, and the one in
    /// `DBPLAN_STATE_NEW_PASSPHRASE` for a state a rotation already moved to it.
    pub(crate) fn from_env() -> Unlock {
        Unlock {
            new_passphrase: Passphrase::from_env(crypt::NEW_PASSPHRASE_VARIABLE),
            ..Unlock::new(Passphrase::from_env(crypt::PASSPHRASE_VARIABLE))
        }
    }

    /// The key of a state whose encryption header is `header` and whose lineage is `lineage`.
    pub(crate) fn cipher(
        &self,
        header: &Header,
        lineage: &str,
        directory: &Path,
    ) -> Result<StateCipher, StateError> {
        let mut derived = self
            .derived
            .lock()
            .map_err(|_| store_error(directory, "a reader panicked while it derived the key"))?;
        if let Some(cipher) = derived.as_ref()
            && cipher.header() == header
        {
            return Ok(cipher.clone());
        }
        let cipher = StateCipher::unlock_any(
            header,
            self.passphrase.as_ref(),
            self.new_passphrase.as_ref(),
            self.service.as_deref(),
            lineage,
        )
        .map_err(|error| crypt_error(directory, error))?;
        *derived = Some(cipher.clone());
        Ok(cipher)
    }
}

/// A [`crypt::CryptError`] about the state at `directory`.
pub(crate) fn crypt_error(directory: &Path, error: crypt::CryptError) -> StateError {
    match error {
        crypt::CryptError::Missing => StateError::PassphraseMissing {
            path: directory.to_path_buf(),
        },
        crypt::CryptError::Wrong => StateError::WrongPassphrase {
            path: directory.to_path_buf(),
        },
        crypt::CryptError::Damaged(what) => corrupted(directory, what),
        crypt::CryptError::Random => store_error(directory, "the random source failed"),
        crypt::CryptError::Service(what) => StateError::Encryption {
            message: format!("the state at {} is encrypted: {what}", directory.display()),
        },
    }
}

/// A record's JSON as stored: its sensitive values sealed when the state is encrypted.
pub(crate) fn stored_json(
    resource: &ResourceState,
    cipher: Option<&StateCipher>,
    directory: &Path,
) -> Result<Vec<u8>, StateError> {
    let json = match cipher {
        Some(cipher) => serde_json::to_vec(
            &cipher
                .seal_resource(resource)
                .map_err(|error| crypt_error(directory, error))?,
        ),
        None => serde_json::to_vec(resource),
    };
    json.map_err(|error| store_error(directory, error))
}

/// The state's key as stored: its bytes, or its sealed form as JSON.
pub(crate) fn stored_key(
    key: &StateKey,
    cipher: Option<&StateCipher>,
    directory: &Path,
) -> Result<Vec<u8>, StateError> {
    match cipher {
        None => Ok(key.bytes().to_vec()),
        Some(cipher) => {
            let sealed = cipher
                .seal_key(key)
                .map_err(|error| crypt_error(directory, error))?;
            serde_json::to_vec(&sealed).map_err(|error| store_error(directory, error))
        }
    }
}

/// The encryption header as stored, when there is one.
fn stored_header(
    cipher: Option<&StateCipher>,
    directory: &Path,
) -> Result<Option<Vec<u8>>, StateError> {
    cipher
        .map(|cipher| serde_json::to_vec(cipher.header()))
        .transpose()
        .map_err(|error| store_error(directory, error))
}

/// Whether `db/` is missing or has nothing in it.
fn database_is_empty(directory: &Path) -> Result<bool, StateError> {
    match std::fs::read_dir(directory.join(DATABASE)) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(error) => Err(store_error(&directory.join(DATABASE), error)),
    }
}

/// `head.json`: `None` when it is not there; an error when it is there and damaged.
fn read_head_file(directory: &Path) -> Result<Option<Head>, StateError> {
    match std::fs::read(directory.join(HEAD_FILE)) {
        Ok(bytes) => Head::from_bytes(&bytes)
            .map(Some)
            .map_err(|what| corrupted(directory, format!("{HEAD_FILE} is damaged: {what}"))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(store_error(&directory.join(HEAD_FILE), error)),
    }
}

fn write_head_file(directory: &Path, head: &Head) -> Result<(), StateError> {
    files::write_private(directory, HEAD_FILE, &head.to_bytes())
}

/// How long opening waits for a sled that is closing to let go of its database file (see
/// [`wait_until_sled_closed`]).
const SLED_CLOSE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Waits until no sled holds the database in `path` (`path/db`, sled's log file).
///
/// sled 0.34.7 takes an exclusive `flock` on that file when it opens (`Config::try_lock`:
/// `try_lock_exclusive`, which fails at once with an `Other` I/O error "could not acquire lock")
/// and the kernel releases it when the last descriptor of the file closes. sled shares the
/// descriptor with its background threads: the flusher is joined when the last `Db`/`Tree`
/// handle drops, but log writes and file truncations handed to sled's thread pool hold the file
/// until they finish, after the handles are gone. So a database this process (or one that is
/// ending) just closed can be locked for a moment longer.
///
/// Instead of retrying sled's open on its error text, this waits for the event itself: a
/// `flock` on another descriptor of the same file blocks until sled's is released (`flock`
/// locks belong to the open file description, so they exclude each other within one process
/// too). The lock is given back before returning, and sled takes it. Every writer opens the real
/// database under the state lock, and [`SledStore`] waits here before it releases the state lock
/// (see [`SledClosed`]), so nobody else can take sled's lock in between. `Ok(false)`: still held
/// after `deadline`, by a process that uses the database without the state lock.
fn wait_until_sled_closed(
    path: &Path,
    deadline: std::time::Duration,
) -> Result<bool, std::io::Error> {
    let file = match std::fs::File::open(path.join(DATABASE)) {
        Ok(file) => file,
        // No log file yet: nothing can hold it.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(error) => return Err(error),
    };
    match file.try_lock() {
        // Free; dropping `file` gives the lock back.
        Ok(()) => return Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => {}
        Err(std::fs::TryLockError::Error(error)) => return Err(error),
    }
    // `flock` has no timeout: a helper thread blocks on it, this one waits for its answer up to
    // the deadline. A helper left blocked by a holder that never lets go ends when it does.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("dbplan-sled-close".to_owned())
        .spawn(move || {
            let locked = file.lock();
            // Closed before answering, so the lock is free when the waiter goes on.
            drop(file);
            let _ = sender.send(locked);
        })?;
    match receiver.recv_timeout(deadline) {
        Ok(locked) => locked.map(|()| true),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Ok(false),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(std::io::Error::other(
            "the thread waiting for the database file ended without an answer",
        )),
    }
}

/// Held by a [`SledStore`] between its sled handles and its state lock (fields drop in the
/// order they are declared): when a store is dropped, its sled handles go first, then this
/// waits until sled's threads have closed the database file, and only then is the state lock
/// released. So whoever takes the state lock next finds the database free, in this process or
/// another.
struct SledClosed {
    database: PathBuf,
}

impl Drop for SledClosed {
    fn drop(&mut self) {
        // A drop cannot report anything: a file that is still held (by a process that uses the
        // database without the state lock) or cannot be opened is reported by the next open,
        // which waits the same way and says what it found.
        let _ = wait_until_sled_closed(&self.database, SLED_CLOSE_DEADLINE);
    }
}

thread_local! {
    /// Whether this thread is inside sled's open in [`open_sled`], where a panic is caught and
    /// reported as damage.
    static OPENING_SLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How many threads are inside sled's open in [`open_sled`].
static SLED_OPENS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether the panic being reported on this thread is one [`SledStore`] recovers from: sled
/// panicking while it opens a damaged database, which is turned into a "damaged" error (on the
/// opening thread, or on one of sled's own threads while an open is under way). A panic hook
/// uses it to stay quiet about those and only those; the CLI installs such a hook once, at
/// start. The library itself never touches the process-wide panic hook, which other threads
/// (and tests running in parallel) share.
pub fn panic_is_recovered() -> bool {
    OPENING_SLED.with(std::cell::Cell::get)
        || (SLED_OPENS.load(std::sync::atomic::Ordering::SeqCst) > 0
            && std::thread::current()
                .name()
                .is_some_and(|name| name.starts_with("sled-io") || name == "log flusher"))
}

/// Marks the current thread as opening sled for as long as it lives.
struct OpeningSled;

impl OpeningSled {
    fn start() -> OpeningSled {
        SLED_OPENS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        OPENING_SLED.with(|opening| opening.set(true));
        OpeningSled
    }
}

impl Drop for OpeningSled {
    fn drop(&mut self) {
        OPENING_SLED.with(|opening| opening.set(false));
        SLED_OPENS.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Opens a sled database. sled reports damage as errors, but a database left half-written by
/// a killed process has been seen to make it panic (sled #1509, #1527): such a panic is caught
/// and turned into an error, so a broken store never crashes dbplan. The panic hook is not
/// touched here (it is process-wide, and swapping it would race with every other thread): the
/// hook prints the panic's message unless it asks [`panic_is_recovered`], as the CLI's does.
fn open_sled(directory: &Path, path: &Path) -> Result<sled::Db, StateError> {
    match wait_until_sled_closed(path, SLED_CLOSE_DEADLINE) {
        Ok(true) => {}
        Ok(false) => {
            return Err(StateError::Open {
                path: directory.to_path_buf(),
                message: format!(
                    "another process has held its database ({}) for {} s, although the state lock is this process's; stop the other process (a second dbplan whose lock was removed by hand, or a tool that opened the database itself) and try again",
                    path.join(DATABASE).display(),
                    SLED_CLOSE_DEADLINE.as_secs()
                ),
            });
        }
        Err(error) => {
            return Err(store_error(
                directory,
                format!(
                    "cannot wait for the database file {} to be free: {error}",
                    path.join(DATABASE).display()
                ),
            ));
        }
    }
    let config = sled::Config::new().path(path);
    let opened = {
        let _opening = OpeningSled::start();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()))
    };
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(sled::Error::Corruption { .. })) => Err(corrupted(
            directory,
            "sled reports corruption in the database",
        )),
        Ok(Err(sled::Error::Io(error))) if error.kind() != std::io::ErrorKind::WouldBlock => Err(
            corrupted(directory, format!("sled cannot read the database: {error}")),
        ),
        Ok(Err(error)) => Err(StateError::Open {
            path: directory.to_path_buf(),
            message: error.to_string(),
        }),
        Err(_) => Err(corrupted(directory, "sled could not read the database")),
    }
}

fn read_u64(tree: &sled::Tree, key: &[u8], directory: &Path) -> Result<Option<u64>, StateError> {
    match tree
        .get(key)
        .map_err(|error| store_error(directory, error))?
    {
        None => Ok(None),
        Some(bytes) => match <[u8; 8]>::try_from(bytes.as_ref()) {
            Ok(bytes) => Ok(Some(u64::from_be_bytes(bytes))),
            Err(_) => Err(corrupted(
                directory,
                format!("`{}` is not a number", String::from_utf8_lossy(key)),
            )),
        },
    }
}

/// A sled error while reading `directory`'s database.
fn read_error(directory: &Path, error: sled::Error) -> StateError {
    match error {
        sled::Error::Corruption { .. } => corrupted(directory, "sled reports corruption"),
        other => store_error(directory, other),
    }
}

/// Reads and verifies everything in a sled database, opening sealed values with the key
/// `unlock` derives. `None`: the database is empty (never written).
// Long: reads and verifies the meta tree, the encryption header and every record in one pass
// over the open trees; each check's error names what to repair.
fn load(db: &sled::Db, directory: &Path, unlock: &Unlock) -> Result<Option<Loaded>, StateError> {
    let sled_error = |error| read_error(directory, error);
    let meta = db.open_tree("meta").map_err(sled_error)?;
    let resources = db.open_tree("resources").map_err(sled_error)?;
    let Some(format) = read_u64(&meta, FORMAT_KEY, directory)? else {
        if meta.is_empty() && resources.is_empty() {
            return Ok(None);
        }
        return Err(corrupted(
            directory,
            "the database has records but no format version",
        ));
    };
    let format = match u32::try_from(format) {
        Ok(format) if format <= FORMAT_VERSION => format,
        _ => {
            return Err(StateError::NewerFormat {
                path: directory.to_path_buf(),
                found: u32::try_from(format).unwrap_or(u32::MAX),
                supported: FORMAT_VERSION,
            });
        }
    };
    if format == 0 {
        return Err(corrupted(
            directory,
            "format 0 is not a dbplan state format",
        ));
    }
    let lineage = match meta.get(LINEAGE_KEY).map_err(sled_error)? {
        Some(bytes) => String::from_utf8(bytes.to_vec())
            .map_err(|_| corrupted(directory, "the lineage is not text"))?,
        None => return Err(corrupted(directory, "the lineage is missing")),
    };
    let serial = read_u64(&meta, SERIAL_KEY, directory)?
        .ok_or_else(|| corrupted(directory, "the serial is missing"))?;
    let cipher = match meta.get(ENCRYPTION_KEY).map_err(sled_error)? {
        None => None,
        Some(bytes) => {
            let header: Header = serde_json::from_slice(&bytes).map_err(|error| {
                corrupted(
                    directory,
                    format!("the encryption record is unreadable: {error}"),
                )
            })?;
            Some(unlock.cipher(&header, &lineage, directory)?)
        }
    };
    if format_of(cipher.as_ref()) != format && format != 1 {
        return Err(corrupted(
            directory,
            format!(
                "the database is in format {format} but {} an encryption record",
                if cipher.is_some() { "has" } else { "lacks" }
            ),
        ));
    }
    let mut loaded = Loaded {
        format,
        lineage,
        serial,
        key: None,
        cipher,
        resources: BTreeMap::new(),
        hashes: HashMap::new(),
        digest: Digest::default(),
    };
    for part in decode_records(&resources, format, directory, loaded.cipher.as_ref())? {
        for (address, resource, hash) in part? {
            loaded.digest.toggle(&hash);
            loaded.hashes.insert(address, hash);
            loaded.resources.insert(resource.address.clone(), resource);
        }
    }
    if format == 1 {
        return Ok(Some(loaded));
    }
    let key = match (meta.get(KEY_KEY).map_err(sled_error)?, &loaded.cipher) {
        (Some(bytes), None) => StateKey::from_bytes(&bytes)
            .ok_or_else(|| corrupted(directory, "the state's key is damaged"))?,
        (Some(bytes), Some(cipher)) => {
            let sealed: Sealed = serde_json::from_slice(&bytes)
                .map_err(|_| corrupted(directory, "the state's encrypted key is damaged"))?;
            cipher
                .open_key(&sealed)
                .map_err(|error| crypt_error(directory, error))?
        }
        (None, _) => return Err(corrupted(directory, "the state's key is missing")),
    };
    let head = match meta.get(HEAD_KEY).map_err(sled_error)? {
        Some(bytes) => Head::from_bytes(&bytes)
            .map_err(|what| corrupted(directory, format!("the head record: {what}")))?,
        None => return Err(corrupted(directory, "the head record is missing")),
    };
    let found = loaded.head(&key);
    if head != found {
        return Err(corrupted(
            directory,
            describe_mismatch("the head record inside the database", &head, &found),
        ));
    }
    loaded.key = Some(key);
    Ok(Some(loaded))
}

/// One record as read back: its address, the resource and the record's hash.
type Record = (String, ResourceState, [u8; 32]);

/// Reads and checks every record, on all cores: a state of thousands of records is mostly
/// JSON to parse, and each record stands alone. The records are split by key range (no
/// record is copied twice) and returned in key order, one part per range; the first damaged
/// record in key order is the error, whatever the number of threads.
fn decode_records(
    resources: &sled::Tree,
    format: u32,
    directory: &Path,
    cipher: Option<&StateCipher>,
) -> Result<Vec<Result<Vec<Record>, StateError>>, StateError> {
    let sled_error = |error| read_error(directory, error);
    let keys: Vec<sled::IVec> = resources
        .iter()
        .keys()
        .collect::<Result<_, _>>()
        .map_err(sled_error)?;
    // Below a few hundred records a thread costs more than it saves.
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(keys.len().div_ceil(512))
        .max(1);
    let per_thread = keys.len().div_ceil(threads).max(1);
    let ranges: Vec<(&sled::IVec, Option<&sled::IVec>)> = keys
        .chunks(per_thread)
        .enumerate()
        .map(|(index, chunk)| (&chunk[0], keys.get((index + 1) * per_thread)))
        .collect();
    let decode =
        |(from, to): (&sled::IVec, Option<&sled::IVec>)| -> Result<Vec<Record>, StateError> {
            let entries = match to {
                Some(to) => resources.range(from.clone()..to.clone()),
                None => resources.range(from.clone()..),
            };
            let mut records = Vec::new();
            for entry in entries {
                let (address, bytes) = entry.map_err(sled_error)?;
                records.push(decode_record(&address, &bytes, format, directory, cipher)?);
            }
            Ok(records)
        };
    if ranges.len() <= 1 {
        return Ok(ranges.into_iter().map(decode).collect());
    }
    Ok(std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .into_iter()
            .map(|range| scope.spawn(move || decode(range)))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    }))
}

/// One record: its checksum (format 2 onwards), its JSON, the address inside it, and its
/// sensitive values opened when the state is encrypted (a sealed value in a plain state, or a
/// plain one in an encrypted state, is damage).
fn decode_record(
    address: &[u8],
    bytes: &[u8],
    format: u32,
    directory: &Path,
    cipher: Option<&StateCipher>,
) -> Result<Record, StateError> {
    let address = String::from_utf8(address.to_vec())
        .map_err(|_| corrupted(directory, "an address is not text"))?;
    let (json, hash) = if format == 1 {
        (bytes, integrity::record_hash(&address, bytes))
    } else {
        integrity::decode_record(&address, bytes).map_err(|what| corrupted(directory, what))?
    };
    let resource: ResourceState = serde_json::from_slice(json).map_err(|error| {
        corrupted(
            directory,
            format!("the record of {address} is unreadable: {error}"),
        )
    })?;
    if resource.address.to_string() != address {
        return Err(corrupted(
            directory,
            format!("the record filed under {address} is {}", resource.address),
        ));
    }
    let resource = match cipher {
        Some(cipher) => cipher
            .open_resource(resource)
            .map_err(|what| corrupted(directory, what))?,
        None if crypt::has_sealed_value(&resource) => {
            return Err(corrupted(
                directory,
                format!(
                    "the record of {address} holds encrypted values, but the state records no encryption"
                ),
            ));
        }
        None => resource,
    };
    Ok((address, resource, hash))
}

/// What differs between a recorded head and what the records say.
fn describe_mismatch(recorded_in: &str, recorded: &Head, found: &Head) -> String {
    if recorded.lineage != found.lineage {
        format!(
            "{recorded_in} names lineage {}, the database {}",
            recorded.lineage, found.lineage
        )
    } else if recorded.serial != found.serial {
        format!(
            "{recorded_in} is at serial {} with {} resources, the database at serial {} with {}: records were lost",
            recorded.serial, recorded.resources, found.serial, found.resources
        )
    } else if recorded.resources != found.resources {
        format!(
            "{recorded_in} counts {} resources, the database holds {}",
            recorded.resources, found.resources
        )
    } else if recorded.key != found.key {
        format!("{recorded_in} names another key than the database's")
    } else {
        format!("{recorded_in} and the database's records disagree (digest)")
    }
}

/// Checks the database's content against `head.json` and the newest backup.
fn cross_check(
    directory: &Path,
    loaded: &Loaded,
    head_file: Option<&Head>,
) -> Result<(), StateError> {
    if let Some(head) = head_file {
        if head.lineage != loaded.lineage {
            return Err(corrupted(
                directory,
                format!(
                    "{HEAD_FILE} names lineage {}, the database {}",
                    head.lineage, loaded.lineage
                ),
            ));
        }
        if head.serial > loaded.serial {
            return Err(corrupted(
                directory,
                format!(
                    "{HEAD_FILE} records serial {} with {} resources, but the database reads as serial {} with {}: records were lost",
                    head.serial,
                    head.resources,
                    loaded.serial,
                    loaded.resources.len()
                ),
            ));
        }
        // The database may be ahead of the mirror: a crash between sled's commit and the
        // mirror's rename. Its own head record vouches for it then.
        if head.serial == loaded.serial
            && let Some(key) = &loaded.key
            && *head != loaded.head(key)
        {
            return Err(corrupted(
                directory,
                describe_mismatch(HEAD_FILE, head, &loaded.head(key)),
            ));
        }
    } else if loaded.format >= 2 && loaded.serial > 0 {
        return Err(corrupted(
            directory,
            format!(
                "{HEAD_FILE} is missing (the database is at serial {})",
                loaded.serial
            ),
        ));
    }
    // Backup names carry their serial, so the common case (no newer backup) reads no backup.
    for backup in list_backups(directory)?.into_iter().rev() {
        if backup.serial <= loaded.serial {
            break;
        }
        if let Ok(exported) = export::read_backup(&backup)
            && exported.snapshot.lineage == loaded.lineage
        {
            return Err(corrupted(
                directory,
                format!(
                    "the backup {} is at serial {}, newer than the database (serial {}): records were lost",
                    backup.path.display(),
                    exported.snapshot.serial,
                    loaded.serial
                ),
            ));
        }
    }
    Ok(())
}

fn list_backups(directory: &Path) -> Result<Vec<export::Backup>, StateError> {
    export::list_backups(directory).map_err(|error| {
        store_error(
            &directory.join(export::BACKUPS_DIRECTORY),
            format!("cannot list the backups: {error}"),
        )
    })
}

/// Moves the state's database to `name` in the same directory, durably; the moved path.
fn move_database_aside(directory: &Path, name: &str) -> Result<PathBuf, StateError> {
    let database = directory.join(DATABASE);
    let aside = directory.join(name);
    std::fs::rename(&database, &aside).map_err(|error| {
        store_error(
            &database,
            format!("cannot move the database aside: {error}"),
        )
    })?;
    files::sync_directory(directory)?;
    Ok(aside)
}

/// Removes scratch copies left by a process that was killed while verifying.
fn remove_scratch(directory: &Path) {
    if let Ok(entries) = std::fs::read_dir(directory) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with(SCRATCH_PREFIX))
            {
                // A copy that cannot be removed now is removed by a later run; it is private
                // (0700) and is never read again.
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Verifies the database on a private copy, so that sled's recovery cannot alter the
/// original. `Ok(None)`: the database is empty.
fn verify_copy(directory: &Path, unlock: &Unlock) -> Result<Option<Loaded>, StateError> {
    remove_scratch(directory);
    let scratch = tempfile::Builder::new()
        .prefix(SCRATCH_PREFIX)
        .tempdir_in(directory)
        .map_err(|error| store_error(directory, format!("cannot make a scratch copy: {error}")))?;
    let copy = scratch.path().join(DATABASE);
    std::fs::create_dir(&copy)
        .and_then(
            |()| match files::copy_tree(&directory.join(DATABASE), &copy) {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            },
        )
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::InvalidData => corrupted(directory, error.to_string()),
            _ => store_error(directory, format!("cannot make a scratch copy: {error}")),
        })?;
    let db = open_sled(directory, &copy)?;
    let loaded = load(&db, directory, unlock);
    drop(db);
    loaded
}

/// Verifies a state directory that exists; `None` when its creation was interrupted before
/// the database was written (an empty state).
fn verify(directory: &Path, unlock: &Unlock) -> Result<Option<Loaded>, StateError> {
    let head_file = read_head_file(directory)?;
    let empty = database_is_empty(directory)?;
    let loaded = if empty {
        None
    } else {
        verify_copy(directory, unlock)?
    };
    match (loaded, head_file) {
        (Some(loaded), head_file) => {
            cross_check(directory, &loaded, head_file.as_ref())?;
            Ok(Some(loaded))
        }
        (None, Some(head)) if head.serial == 0 && list_backups(directory)?.is_empty() => Ok(None),
        (None, Some(head)) => Err(corrupted(
            directory,
            format!(
                "the database is {} but {HEAD_FILE} records serial {} with {} resources",
                if empty { "missing or empty" } else { "empty" },
                head.serial,
                head.resources
            ),
        )),
        (None, None) => Err(corrupted(
            directory,
            if !list_backups(directory)?.is_empty() {
                format!(
                    "the database is {} and {HEAD_FILE} is missing, but backups exist",
                    if empty { "missing or empty" } else { "empty" }
                )
            } else {
                format!(
                    "`{DATABASE}/` holds no dbplan database and there is no {HEAD_FILE}; if this directory is not a state, point --state elsewhere"
                )
            },
        )),
    }
}

/// A history entry of a commit made now by this process.
fn history_entry(
    command: &str,
    plan: Option<&str>,
    serial: u64,
    changes: Vec<String>,
) -> HistoryEntry {
    let lock = LockInfo::current(command);
    HistoryEntry {
        serial,
        at: lock.started.clone(),
        db_user: None,
        os_user: crate::lock::os_user(),
        host: lock.host,
        pid: lock.pid,
        command: command.to_owned(),
        plan: plan.map(str::to_owned),
        changes,
    }
}

/// Every entry of a history tree, oldest first.
fn read_history_tree(tree: &sled::Tree) -> Result<Vec<HistoryEntry>, String> {
    tree.iter()
        .values()
        .map(|value| {
            let value = value.map_err(|error| error.to_string())?;
            serde_json::from_slice(&value).map_err(|error| format!("a history entry: {error}"))
        })
        .collect()
}

/// The history of the database at `database` (a directory moved aside), read on a private
/// copy; empty when it cannot be read: the history is an account of changes, and a damaged
/// one must not stand in the way of a restore.
fn read_history_of(database: &Path) -> Vec<HistoryEntry> {
    let Ok(scratch) = tempfile::Builder::new().prefix(SCRATCH_PREFIX).tempdir() else {
        return Vec::new();
    };
    let copy = scratch.path().join(DATABASE);
    if std::fs::create_dir(&copy).is_err() || files::copy_tree(database, &copy).is_err() {
        return Vec::new();
    }
    match open_sled(scratch.path(), &copy) {
        Ok(db) => db
            .open_tree(HISTORY_TREE)
            .ok()
            .and_then(|tree| read_history_tree(&tree).ok())
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

impl SledStore {
    /// The committed changes of the state at `directory`, newest first, at most `limit`; read
    /// on a private copy, like every read.
    pub fn history(directory: &Path, limit: u32) -> Result<Vec<HistoryEntry>, StateError> {
        if !Self::exists(directory) {
            return Ok(Vec::new());
        }
        let directory = files::resolve(directory)?;
        let _lock = StateLock::acquire(&directory, LockInfo::current("dbplan state history"))?;
        let scratch = tempfile::Builder::new()
            .prefix(SCRATCH_PREFIX)
            .tempdir_in(&directory)
            .map_err(|error| {
                store_error(&directory, format!("cannot make a scratch copy: {error}"))
            })?;
        let copy = scratch.path().join(DATABASE);
        std::fs::create_dir(&copy)
            .and_then(|()| files::copy_tree(&directory.join(DATABASE), &copy))
            .map_err(|error| {
                store_error(&directory, format!("cannot make a scratch copy: {error}"))
            })?;
        let db = open_sled(&directory, &copy)?;
        let tree = db
            .open_tree(HISTORY_TREE)
            .map_err(|error| store_error(&directory, error))?;
        let mut entries = read_history_tree(&tree).map_err(|what| corrupted(&directory, what))?;
        entries.reverse();
        entries.truncate(limit as usize);
        Ok(entries)
    }

    /// Records which saved plan this session applies, for the history.
    pub fn set_plan(&mut self, plan: impl Into<String>) {
        self.plan = Some(plan.into());
    }

    /// The key and value of the history entry of a commit of `changes` at `serial`.
    fn history_record(
        &self,
        serial: u64,
        changes: &[StateChange],
    ) -> Result<(u64, Vec<u8>), StateError> {
        let sequence = match self.history.last().map_err(|error| self.error(error))? {
            Some((key, _)) => <[u8; 8]>::try_from(key.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| corrupted(&self.directory, "a history key is not a number"))?,
            None => 0,
        } + 1;
        let entry = serde_json::to_vec(&history_entry(
            &self.lock.info().holder,
            self.plan.as_deref(),
            serial,
            changes
                .iter()
                .map(|change| match change {
                    StateChange::Put(resource) => format!("+ {}", resource.address),
                    StateChange::Remove(address) => format!("- {address}"),
                })
                .collect(),
        ))
        .map_err(|error| self.error(format!("the history: {error}")))?;
        Ok((sequence, entry))
    }

    /// The open state's committed changes, oldest first.
    pub fn history_entries(&self) -> Result<Vec<HistoryEntry>, StateError> {
        read_history_tree(&self.history).map_err(|what| corrupted(&self.directory, what))
    }

    /// Whether a state exists at `directory` (nothing is created): its database, its head or
    /// its backups. Any of them alone is a damaged state, which opening reports.
    pub fn exists(directory: &Path) -> bool {
        [DATABASE, HEAD_FILE, export::BACKUPS_DIRECTORY]
            .iter()
            .any(|name| std::fs::symlink_metadata(directory.join(name)).is_ok())
    }

    /// Reads the state at `directory` for `holder` (e.g. `dbplan plan`), verified, without
    /// writing anything but the lock; `None` when there is none. An encrypted state is opened
    /// with the passphrase in `DBPLAN_STATE_PASSPHRASE`.
    pub fn read(directory: &Path, holder: &str) -> Result<Option<ReadState>, StateError> {
        Self::read_unlocking(directory, holder, &Unlock::from_env())
    }

    /// [`SledStore::read`] with the passphrase given (`None`: none).
    pub fn read_with(
        directory: &Path,
        holder: &str,
        passphrase: Option<Passphrase>,
    ) -> Result<Option<ReadState>, StateError> {
        Self::read_unlocking(directory, holder, &Unlock::new(passphrase))
    }

    fn read_unlocking(
        directory: &Path,
        holder: &str,
        unlock: &Unlock,
    ) -> Result<Option<ReadState>, StateError> {
        // A link that leads nowhere (a volume not mounted) is not "no state": it is refused.
        if std::fs::symlink_metadata(directory).is_ok_and(|metadata| metadata.is_symlink()) {
            files::resolve(directory)?;
        }
        if !Self::exists(directory) {
            return Ok(None);
        }
        let directory = files::resolve(directory)?;
        let _lock = StateLock::acquire(&directory, LockInfo::current(holder))?;
        Ok(Some(read_verified(&directory, unlock)?))
    }

    /// Opens the state at `directory`, creating it (with a new lineage and key) when there is
    /// none, and takes the lock for `holder` (e.g. `dbplan apply`). A damaged state is an
    /// error that says what is damaged; nothing is changed then. An encrypted state is opened
    /// with the passphrase in `DBPLAN_STATE_PASSPHRASE`, and stays encrypted; a new state is
    /// never encrypted (`dbplan state encrypt` turns it on).
    pub fn open(directory: &Path, holder: &str) -> Result<SledStore, StateError> {
        Self::open_unlocking(directory, holder, &Unlock::from_env())
    }

    /// [`SledStore::open`] with the passphrase given (`None`: none).
    pub fn open_with(
        directory: &Path,
        holder: &str,
        passphrase: Option<Passphrase>,
    ) -> Result<SledStore, StateError> {
        Self::open_unlocking(directory, holder, &Unlock::new(passphrase))
    }

    fn open_unlocking(
        directory: &Path,
        holder: &str,
        unlock: &Unlock,
    ) -> Result<SledStore, StateError> {
        let directory = files::resolve(directory)?;
        files::create_private_directory(&directory)?;
        let lock = StateLock::acquire(&directory, LockInfo::current(holder))?;
        let fresh = !Self::exists(&directory);
        let verified = if fresh {
            None
        } else {
            verify(&directory, unlock)?
        };
        let store = match verified {
            None => Self::create(directory, lock, None, None, &[])?,
            Some(loaded) => Self::open_verified(directory, lock, &loaded, unlock)?,
        };
        files::restrict_tree(&store.directory)?;
        Ok(store)
    }

    /// Makes a new state (or the state of `from`): the head mirror first, so that a crash
    /// before the database is written leaves an empty state rather than a directory nobody
    /// recognises, then the database.
    // Long: the new database's records, key, encryption and head in one transaction, after the
    // head mirror, in the order a crash must find them; split, each part would take them all.
    fn create(
        directory: PathBuf,
        lock: StateLock,
        from: Option<(&Snapshot, &StateKey)>,
        cipher: Option<StateCipher>,
        history: &[HistoryEntry],
    ) -> Result<SledStore, StateError> {
        let (lineage, key, serial, resources) = match from {
            Some((snapshot, key)) => (
                snapshot.lineage.clone(),
                key.clone(),
                snapshot.serial,
                snapshot.resources.clone(),
            ),
            None => (
                match read_head_file(&directory)? {
                    Some(head) => head.lineage,
                    None => uuid::Uuid::new_v4().to_string(),
                },
                StateKey::generate().map_err(|error| {
                    store_error(&directory, format!("cannot make the state's key: {error}"))
                })?,
                0,
                BTreeMap::new(),
            ),
        };
        let mut hashes = HashMap::new();
        let mut digest = Digest::default();
        let mut records = Vec::with_capacity(resources.len());
        for (address, resource) in &resources {
            let json = stored_json(resource, cipher.as_ref(), &directory)?;
            let address = address.to_string();
            let (bytes, hash) = integrity::encode_record(&address, &json);
            digest.toggle(&hash);
            hashes.insert(address.clone(), hash);
            records.push((address, bytes));
        }
        let head = Head {
            lineage: lineage.clone(),
            serial,
            resources: resources.len() as u64,
            digest: digest.render(),
            key: key.fingerprint(),
        };
        let key_bytes = stored_key(&key, cipher.as_ref(), &directory)?;
        let format = format_of(cipher.as_ref());
        let header_bytes = stored_header(cipher.as_ref(), &directory)?;
        write_head_file(&directory, &head)?;
        let db = open_sled(&directory, &directory.join(DATABASE))?;
        let error = |error: sled::Error| store_error(&directory, error);
        let meta = db.open_tree("meta").map_err(error)?;
        let resources_tree = db.open_tree("resources").map_err(error)?;
        let history_tree = db.open_tree(HISTORY_TREE).map_err(error)?;
        let history_entries = history
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| store_error(&directory, format!("the history: {error}")))?;
        (&meta, &resources_tree, &history_tree)
            .transaction(|(meta, tree, history_tree)| {
                for (address, bytes) in &records {
                    tree.insert(address.as_bytes(), bytes.as_slice())?;
                }
                for (sequence, entry) in history_entries.iter().enumerate() {
                    history_tree.insert(&(sequence as u64 + 1).to_be_bytes(), entry.as_slice())?;
                }
                meta.insert(FORMAT_KEY, &u64::from(format).to_be_bytes())?;
                meta.insert(LINEAGE_KEY, lineage.as_bytes())?;
                meta.insert(KEY_KEY, key_bytes.as_slice())?;
                match &header_bytes {
                    Some(header) => meta.insert(ENCRYPTION_KEY, header.as_slice())?,
                    None => meta.remove(ENCRYPTION_KEY)?,
                };
                meta.insert(SERIAL_KEY, &serial.to_be_bytes())?;
                meta.insert(HEAD_KEY, head.to_bytes())?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|failure| store_error(&directory, format!("{failure:?}")))?;
        db.flush().map_err(error)?;
        let closed = SledClosed {
            database: directory.join(DATABASE),
        };
        Ok(SledStore {
            directory,
            db,
            meta,
            resources: resources_tree,
            history: history_tree,
            plan: None,
            lineage,
            key,
            cipher,
            tracked: Mutex::new(Tracked {
                serial,
                hashes,
                digest,
                backed_up: 0,
            }),
            backups_kept: export::DEFAULT_BACKUPS_KEPT,
            closed,
            lock,
        })
    }

    /// Opens the real database after its copy verified, converts a format-1 state, brings the
    /// head mirror up to date after a crash between commit and mirror, and backs up a state
    /// that a killed command changed after its last backup.
    fn open_verified(
        directory: PathBuf,
        lock: StateLock,
        verified: &Loaded,
        unlock: &Unlock,
    ) -> Result<SledStore, StateError> {
        let db = open_sled(&directory, &directory.join(DATABASE))?;
        let loaded = load(&db, &directory, unlock)?
            .ok_or_else(|| corrupted(&directory, "the database changed while it was opened"))?;
        if loaded.digest != verified.digest || loaded.serial != verified.serial {
            return Err(corrupted(
                &directory,
                "the database changed while it was opened",
            ));
        }
        let error = |error: sled::Error| store_error(&directory, error);
        let meta = db.open_tree("meta").map_err(error)?;
        let resources = db.open_tree("resources").map_err(error)?;
        let history = db.open_tree(HISTORY_TREE).map_err(error)?;
        let (key, converted) = match &loaded.key {
            Some(key) => (key.clone(), false),
            None => {
                let key = StateKey::generate().map_err(|error| {
                    store_error(&directory, format!("cannot make the state's key: {error}"))
                })?;
                (key, true)
            }
        };
        // A backup of this serial already exists unless a session ended without closing (a
        // crash); the lineage was checked with the newer backups in `cross_check`.
        let newest_backup = list_backups(&directory)?
            .last()
            .map_or(0, |backup| backup.serial);
        let store = SledStore {
            directory: directory.clone(),
            db,
            meta,
            resources,
            history,
            plan: None,
            lineage: loaded.lineage.clone(),
            key,
            cipher: loaded.cipher.clone(),
            tracked: Mutex::new(Tracked {
                serial: loaded.serial,
                hashes: loaded.hashes.clone(),
                digest: loaded.digest,
                backed_up: newest_backup,
            }),
            backups_kept: export::DEFAULT_BACKUPS_KEPT,
            closed: SledClosed {
                database: directory.join(DATABASE),
            },
            lock,
        };
        if converted {
            store.convert_format_1(&loaded)?;
        }
        let head = loaded.head(&store.key);
        if read_head_file(&directory)?.as_ref() != Some(&head) {
            write_head_file(&directory, &head)?;
        }
        if loaded.serial != newest_backup {
            store.backup()?;
        }
        Ok(store)
    }

    /// Rewrites a format-1 state (records without checksums, no key, no head) in format 2, in
    /// one transaction.
    fn convert_format_1(&self, loaded: &Loaded) -> Result<(), StateError> {
        let mut records = Vec::with_capacity(loaded.resources.len());
        for (address, resource) in &loaded.resources {
            let json = serde_json::to_vec(resource).map_err(|error| self.error(error))?;
            let address = address.to_string();
            let bytes = integrity::encode_record(&address, &json).0;
            records.push((address, bytes));
        }
        let head = loaded.head(&self.key);
        (&self.meta, &self.resources)
            .transaction(|(meta, tree)| {
                for (address, bytes) in &records {
                    tree.insert(address.as_bytes(), bytes.as_slice())?;
                }
                meta.insert(FORMAT_KEY, &u64::from(PLAIN_FORMAT).to_be_bytes())?;
                meta.insert(KEY_KEY, self.key.bytes().as_slice())?;
                meta.insert(HEAD_KEY, head.to_bytes())?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|failure| self.error(format!("{failure:?}")))?;
        self.flush()
    }

    /// Checks a state without changing anything: the database (on a copy), its head mirror
    /// and every backup.
    pub fn check(directory: &Path) -> Result<CheckReport, StateError> {
        let directory = files::resolve(directory)?;
        if !Self::exists(&directory) {
            return Err(StateError::NoState { path: directory });
        }
        let _lock = StateLock::acquire(&directory, LockInfo::current("dbplan state check"))?;
        let state = read_verified(&directory, &Unlock::from_env());
        let backups = export::list_backups(&directory)
            .map_err(|error| store_error(&directory, format!("cannot list the backups: {error}")))?
            .into_iter()
            .map(|backup| {
                let verdict = export::read_backup(&backup).map(|_| ());
                (backup, verdict)
            })
            .collect();
        Ok(CheckReport {
            directory,
            state,
            backups,
        })
    }

    /// The database of the state at `directory` on its own, verified against the head record
    /// it holds (every record checksummed, counted and digested), but not against `head.json`
    /// or the backups: the way back when those are gone or damaged and the database is the
    /// only copy left. Whether records written after its serial were lost cannot be told
    /// without them; the caller says so. `None` when the database is missing or empty.
    pub fn database_alone(directory: &Path, holder: &str) -> Result<Option<Exported>, StateError> {
        let directory = files::resolve(directory)?;
        if !Self::exists(&directory) {
            return Err(StateError::NoState { path: directory });
        }
        let _lock = StateLock::acquire(&directory, LockInfo::current(holder))?;
        if database_is_empty(&directory)? {
            return Ok(None);
        }
        let Some(loaded) = verify_copy(&directory, &Unlock::from_env())? else {
            // sled reads garbage as an empty database; files that hold no record are damage.
            return Err(corrupted(
                &directory,
                format!("`{DATABASE}/` has files but no dbplan records can be read from them"),
            ));
        };
        let Some(key) = loaded.key else {
            // Format 1 kept no head and no key: nothing inside it vouches for it.
            return Err(corrupted(
                &directory,
                "the database is in format 1, which holds no head record to verify it by",
            ));
        };
        Ok(Some(Exported {
            snapshot: Snapshot {
                lineage: loaded.lineage,
                serial: loaded.serial,
                resources: loaded.resources,
            },
            key: Some(key),
            redacted: false,
            cipher: loaded.cipher,
            sealed: None,
            history: Vec::new(),
        }))
    }

    /// The backups of the state at `directory`, oldest first.
    pub fn backups(directory: &Path) -> Result<Vec<export::Backup>, StateError> {
        let directory = files::resolve(directory)?;
        export::list_backups(&directory)
            .map_err(|error| store_error(&directory, format!("cannot list the backups: {error}")))
    }

    /// Replaces the state at `directory` with `incoming` (a backup for `state restore`, an
    /// export for `state import`). Refused when `incoming` has another lineage than the state
    /// there, or (with [`SerialChoice::Keep`]) a serial that is not newer, unless `force`.
    /// The database that was there is moved aside, never deleted, even when it is damaged.
    ///
    /// An encrypted document is opened with the passphrase in `DBPLAN_STATE_PASSPHRASE`, and
    /// the state it makes is encrypted as the document was (a plain document makes a plain
    /// state).
    pub fn replace(
        directory: &Path,
        holder: &str,
        incoming: &Exported,
        serial: SerialChoice,
        force: bool,
    ) -> Result<Replaced, StateError> {
        Self::replace_with(
            directory,
            holder,
            incoming,
            serial,
            force,
            Passphrase::from_env(crypt::PASSPHRASE_VARIABLE),
        )
    }

    /// [`SledStore::replace`] with the passphrase given (`None`: none).
    // Long: the refusals (lineage, serial, force) and the move-aside-then-write of a restore or
    // import, under one lock and in the order they must happen; split, the lock and the database
    // moved aside would be passed from part to part.
    pub fn replace_with(
        directory: &Path,
        holder: &str,
        incoming: &Exported,
        serial: SerialChoice,
        force: bool,
        passphrase: Option<Passphrase>,
    ) -> Result<Replaced, StateError> {
        if incoming.redacted {
            return Err(StateError::Redacted);
        }
        let directory = files::resolve(directory)?;
        let unlock = Unlock::new(passphrase);
        let incoming = incoming.unlocked(&unlock, &directory)?;
        let Some(key) = incoming.key.clone() else {
            return Err(StateError::Redacted);
        };
        files::create_private_directory(&directory)?;
        let lock = StateLock::acquire(&directory, LockInfo::current(holder))?;
        // What the directory holds now, as far as it can still be read.
        let head_file = read_head_file(&directory).ok().flatten();
        // An encrypted state is replaced only by whoever can open it: a missing or wrong
        // passphrase is refused here, as everywhere; damage is what a restore is for.
        let current = if Self::exists(&directory) {
            match verify(&directory, &unlock) {
                Ok(loaded) => loaded,
                Err(
                    error @ (StateError::PassphraseMissing { .. }
                    | StateError::WrongPassphrase { .. }),
                ) => return Err(error),
                Err(_) => None,
            }
        } else {
            None
        };
        let current_lineage = current
            .as_ref()
            .map(|loaded| loaded.lineage.clone())
            .or_else(|| head_file.as_ref().map(|head| head.lineage.clone()));
        // A database that does not verify with its mirror may still read on its own (the
        // mirror is gone): its serial counts as seen too, so plans made against it are stale.
        let database_serial = match &current {
            Some(loaded) => Some(loaded.serial),
            None if Self::exists(&directory) => verify_copy(&directory, &unlock)
                .ok()
                .flatten()
                .map(|loaded| loaded.serial),
            None => None,
        };
        let highest_seen = [
            database_serial,
            head_file.as_ref().map(|head| head.serial),
            export::list_backups(&directory)
                .ok()
                .and_then(|backups| backups.last().map(|backup| backup.serial)),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(lineage) = &current_lineage
            && *lineage != incoming.snapshot.lineage
            && !force
        {
            return Err(StateError::LineageMismatch {
                path: directory,
                current: lineage.clone(),
                incoming: incoming.snapshot.lineage.clone(),
            });
        }
        let new_serial = match serial {
            SerialChoice::AboveCurrent => highest_seen.map_or(incoming.snapshot.serial, |seen| {
                seen.max(incoming.snapshot.serial) + 1
            }),
            SerialChoice::Keep => {
                if let Some(current) = &current
                    && current.lineage == incoming.snapshot.lineage
                    && incoming.snapshot.serial <= current.serial
                    && !force
                {
                    return Err(StateError::NotNewer {
                        path: directory,
                        current: current.serial,
                        incoming: incoming.snapshot.serial,
                    });
                }
                incoming.snapshot.serial
            }
        };
        let database = directory.join(DATABASE);
        let moved_aside = if std::fs::symlink_metadata(&database).is_ok() {
            let seconds = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs());
            let aside = format!(
                "{DATABASE}.replaced-{}-{seconds}",
                highest_seen.unwrap_or(0)
            );
            Some(move_database_aside(&directory, &aside)?)
        } else {
            None
        };
        let snapshot = Snapshot {
            lineage: incoming.snapshot.lineage.clone(),
            serial: new_serial,
            resources: incoming.snapshot.resources.clone(),
        };
        // The history goes on: what the replaced database recorded (as far as it can still be
        // read), what the incoming state brings (a migration), then this replacement.
        let mut history = moved_aside
            .as_deref()
            .map(read_history_of)
            .unwrap_or_default();
        history.extend(incoming.history.iter().cloned());
        history.push(history_entry(
            holder,
            None,
            new_serial,
            snapshot
                .resources
                .keys()
                .map(|address| format!("+ {address}"))
                .collect(),
        ));
        let store = Self::create(
            directory,
            lock,
            Some((&snapshot, &key)),
            incoming.cipher.clone(),
            &history,
        )?;
        store.backup()?;
        files::restrict_tree(&store.directory)?;
        Ok(Replaced {
            serial: new_serial,
            moved_aside,
        })
    }

    /// Turns the state's encryption on or off, or gives it a new key: under the state lock,
    /// every record, the key and every backup are written again in the new form, into a new
    /// database (sled keeps old values in its log, so the old database is not rewritten in
    /// place but deleted once the new one is written). The serial goes up by one. `current`
    /// opens the state as it is (an encrypted state's passphrase).
    // Long: the checks, the move-aside, the new database and the backups, in the order a crash
    // must find them (the old database is deleted last).
    pub fn change_encryption(
        directory: &Path,
        holder: &str,
        current: Option<Passphrase>,
        change: EncryptionChange,
    ) -> Result<Reencrypted, StateError> {
        let directory = files::resolve(directory)?;
        if !Self::exists(&directory) {
            return Err(StateError::NoState { path: directory });
        }
        let store = Self::open_with(&directory, holder, current.clone())?;
        let refuse = |message: &str| {
            Err(StateError::Encryption {
                message: format!("the state at {} {message}", directory.display()),
            })
        };
        let cipher = match change.new_cipher(store.cipher.is_some(), &store.lineage) {
            Ok(cipher) => cipher,
            Err(Ok(refusal)) => return refuse(refusal),
            Err(Err(error)) => return Err(crypt_error(&directory, error)),
        };
        // Whatever this state's last session left unsaved is backed up first.
        store.backup()?;
        let mut snapshot = store.snapshot()?;
        snapshot.serial += 1;
        let key = store.key.clone();
        let mut history = read_history_tree(&store.history).unwrap_or_default();
        history.push(history_entry(holder, None, snapshot.serial, Vec::new()));
        // The backups are opened with the key already derived (most are of this header).
        let unlock = Unlock {
            derived: Mutex::new(store.cipher.clone()),
            ..Unlock::new(current)
        };
        let SledStore {
            db,
            meta,
            resources,
            closed,
            lock,
            ..
        } = store;
        drop((meta, resources, db));
        // Waits for sled to let go of the database before it is moved.
        drop(closed);
        let aside = move_database_aside(
            &directory,
            &format!("{DATABASE}.rewriting-{}", snapshot.serial.saturating_sub(1)),
        )?;
        let store = Self::create(
            directory.clone(),
            lock,
            Some((&snapshot, &key)),
            cipher,
            &history,
        )?;
        files::restrict_tree(&store.directory)?;
        let (backups_rewritten, backups_left) = store.rewrite_backups(&unlock)?;
        store.backup()?;
        std::fs::remove_dir_all(&aside).map_err(|error| {
            store_error(
                &aside,
                format!("cannot remove the database in its old form: {error}"),
            )
        })?;
        files::sync_directory(&directory)?;
        let kept_aside = std::fs::read_dir(&directory)
            .map_err(|error| store_error(&directory, error))?
            .flatten()
            .filter(|entry| {
                entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| name.starts_with(&format!("{DATABASE}.")))
            })
            .map(|entry| entry.path())
            .collect();
        Ok(Reencrypted {
            serial: snapshot.serial,
            backups_rewritten,
            backups_left,
            kept_aside,
        })
    }

    /// Writes every readable backup again in this store's form (its cipher, or plain), with
    /// the same serial; `unlock` opens the ones that are encrypted. Returns how many were
    /// rewritten and the ones left as they are, with why.
    fn rewrite_backups(
        &self,
        unlock: &Unlock,
    ) -> Result<(usize, Vec<(PathBuf, String)>), StateError> {
        let folder = self.directory.join(export::BACKUPS_DIRECTORY);
        let mut rewritten = 0;
        let mut left = Vec::new();
        for backup in list_backups(&self.directory)? {
            let opened = export::read_backup(&backup).and_then(|exported| {
                exported
                    .unlocked(unlock, &self.directory)
                    .map_err(|error| error.to_string())
            });
            let exported = match opened {
                Ok(exported) => exported,
                Err(what) => {
                    left.push((backup.path, what));
                    continue;
                }
            };
            let Some(key) = &exported.key else {
                left.push((backup.path, "it has no key".to_owned()));
                continue;
            };
            let text = export::to_state_text(&exported.snapshot, key, self.cipher.as_ref())?;
            let name = backup
                .path
                .file_name()
                .and_then(|name| name.to_str())
                .ok_or_else(|| self.error("a backup's name is not text"))?;
            files::write_private(&folder, name, text.as_bytes())?;
            rewritten += 1;
        }
        Ok((rewritten, left))
    }

    /// Whether the state is encrypted.
    /// The state's encryption, when it is on.
    pub fn cipher(&self) -> Option<StateCipher> {
        self.cipher.clone()
    }

    pub fn is_encrypted(&self) -> bool {
        self.cipher.is_some()
    }

    /// How many backups to keep (at least one).
    pub fn keep_backups(&mut self, count: usize) {
        self.backups_kept = count.max(1);
    }

    /// The directory of the store (resolved).
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Who holds the lock (this process).
    pub fn lock(&self) -> &LockInfo {
        self.lock.info()
    }

    /// Ends a writing session: backs up the state when it changed since the last backup, then
    /// releases the lock. A session that ends without it (a crash) is backed up by the next
    /// writer that opens the state.
    pub fn close(self) -> Result<(), StateError> {
        self.finish()
    }

    /// Writes a backup of the current state unless the newest one already has its serial.
    fn backup(&self) -> Result<(), StateError> {
        let (serial, backed_up) = {
            let tracked = self.tracked()?;
            (tracked.serial, tracked.backed_up)
        };
        if serial == 0 || serial == backed_up {
            return Ok(());
        }
        let snapshot = self.snapshot()?;
        export::write_backup(
            &self.directory,
            &snapshot,
            &self.key,
            self.cipher.as_ref(),
            self.backups_kept,
        )?;
        self.tracked()?.backed_up = snapshot.serial;
        Ok(())
    }

    fn tracked(&self) -> Result<std::sync::MutexGuard<'_, Tracked>, StateError> {
        self.tracked
            .lock()
            .map_err(|_| self.error("a writer panicked while it held the state"))
    }

    fn error(&self, error: impl std::fmt::Display) -> StateError {
        store_error(&self.directory, error)
    }

    fn flush(&self) -> Result<(), StateError> {
        self.db.flush().map_err(|error| self.error(error))?;
        Ok(())
    }
}

/// Verifies a resolved, locked state directory for reading.
fn read_verified(directory: &Path, unlock: &Unlock) -> Result<ReadState, StateError> {
    match verify(directory, unlock)? {
        Some(loaded) => Ok(ReadState {
            snapshot: Snapshot {
                lineage: loaded.lineage,
                serial: loaded.serial,
                resources: loaded.resources,
            },
            key: loaded.key,
            cipher: loaded.cipher,
        }),
        None => Ok(ReadState {
            snapshot: Snapshot {
                lineage: read_head_file(directory)?
                    .map(|head| head.lineage)
                    .unwrap_or_default(),
                serial: 0,
                resources: BTreeMap::new(),
            },
            key: None,
            cipher: None,
        }),
    }
}

impl StateStore for SledStore {
    fn snapshot(&self) -> Result<Snapshot, StateError> {
        let tracked = self.tracked()?;
        let mut resources = BTreeMap::new();
        let mut digest = Digest::default();
        for entry in self.resources.iter() {
            let (key, bytes) = entry.map_err(|error| self.error(error))?;
            let (_, resource, hash) = decode_record(
                &key,
                &bytes,
                FORMAT_VERSION,
                &self.directory,
                self.cipher.as_ref(),
            )?;
            digest.toggle(&hash);
            resources.insert(resource.address.clone(), resource);
        }
        if digest != tracked.digest {
            return Err(corrupted(
                &self.directory,
                "the records changed behind this process's back",
            ));
        }
        Ok(Snapshot {
            lineage: self.lineage.clone(),
            serial: tracked.serial,
            resources,
        })
    }

    fn key(&self) -> Result<StateKey, StateError> {
        Ok(self.key.clone())
    }

    fn finish(&self) -> Result<(), StateError> {
        self.backup()
    }

    fn put(&self, resource: &ResourceState) -> Result<u64, StateError> {
        self.write_batch(&[StateChange::Put(resource.clone())])
    }

    fn remove(&self, address: &ResourceAddress) -> Result<u64, StateError> {
        if !self
            .resources
            .contains_key(address.to_string().as_bytes())
            .map_err(|error| self.error(error))?
        {
            return Err(StateError::NotFound {
                address: address.clone(),
            });
        }
        self.write_batch(&[StateChange::Remove(address.clone())])
    }

    fn write_batch(&self, changes: &[StateChange]) -> Result<u64, StateError> {
        let mut tracked = self.tracked()?;
        let mut hashes = tracked.hashes.clone();
        let mut digest = tracked.digest;
        let mut encoded: Vec<(String, Option<Vec<u8>>)> = Vec::with_capacity(changes.len());
        for change in changes {
            match change {
                StateChange::Put(resource) => {
                    let json = stored_json(resource, self.cipher.as_ref(), &self.directory)?;
                    let address = resource.address.to_string();
                    let (bytes, hash) = integrity::encode_record(&address, &json);
                    if let Some(old) = hashes.insert(address.clone(), hash) {
                        digest.toggle(&old);
                    }
                    digest.toggle(&hash);
                    encoded.push((address, Some(bytes)));
                }
                StateChange::Remove(address) => {
                    let address = address.to_string();
                    if let Some(old) = hashes.remove(&address) {
                        digest.toggle(&old);
                    }
                    encoded.push((address, None));
                }
            }
        }
        let serial = tracked.serial + changes.len() as u64;
        let head = Head {
            lineage: self.lineage.clone(),
            serial,
            resources: hashes.len() as u64,
            digest: digest.render(),
            key: self.key.fingerprint(),
        };
        let head_bytes = head.to_bytes();
        let (sequence, entry) = self.history_record(serial, changes)?;
        (&self.meta, &self.resources, &self.history)
            .transaction(|(meta, resources, history)| {
                history.insert(&sequence.to_be_bytes(), entry.as_slice())?;
                for (address, value) in &encoded {
                    match value {
                        Some(bytes) => {
                            resources.insert(address.as_bytes(), bytes.as_slice())?;
                        }
                        None => {
                            resources.remove(address.as_bytes())?;
                        }
                    }
                }
                meta.insert(SERIAL_KEY, &serial.to_be_bytes())?;
                meta.insert(HEAD_KEY, head_bytes.as_slice())?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|failure| self.error(format!("{failure:?}")))?;
        self.flush()?;
        // The records are committed: what this process knows follows them before the mirror
        // is written, so a failure to write the mirror (a database ahead of its mirror, which
        // the next open accepts) never leaves the next write with a stale serial.
        tracked.serial = serial;
        tracked.hashes = hashes;
        tracked.digest = digest;
        drop(tracked);
        write_head_file(&self.directory, &head)?;
        files::restrict_tree(&self.directory.join(DATABASE))?;
        Ok(serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database file locked the way sled locks it, held by the returned handle.
    fn held_database(directory: &Path) -> std::fs::File {
        std::fs::create_dir_all(directory).unwrap();
        let file = std::fs::File::create(directory.join(DATABASE)).unwrap();
        file.try_lock().unwrap();
        file
    }

    #[test]
    fn waiting_for_sled_ends_when_the_holder_lets_go_not_after_a_delay() {
        let directory = tempfile::tempdir().unwrap();
        let held = held_database(directory.path());
        let path = directory.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            wait_until_sled_closed(&path, std::time::Duration::from_secs(600))
        });
        drop(held);
        // Released: the wait ends with the file free (the release, not its 600 s, ended it).
        assert!(matches!(waiter.join(), Ok(Ok(true))));
    }

    #[test]
    fn a_holder_that_never_lets_go_is_reported_after_the_deadline() {
        let directory = tempfile::tempdir().unwrap();
        let _held = held_database(directory.path());
        assert!(matches!(
            wait_until_sled_closed(directory.path(), std::time::Duration::from_millis(50)),
            Ok(false)
        ));
    }

    #[test]
    fn no_database_file_is_free() {
        let directory = tempfile::tempdir().unwrap();
        assert!(matches!(
            wait_until_sled_closed(directory.path(), std::time::Duration::ZERO),
            Ok(true)
        ));
    }

    #[test]
    fn a_dropped_store_has_let_go_of_its_database() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("state");
        let store = SledStore::open(&path, "test").unwrap();
        let resource: ResourceState = serde_json::from_value(
            serde_json::json!({"address": "TenantDatabase/a/role", "kind": "TenantDatabase"}),
        )
        .unwrap();
        store.put(&resource).unwrap();
        drop(store);
        // Nothing holds sled's lock once the store is dropped: sled itself, which never
        // waits, opens the database.
        let database = path.join(DATABASE).join(DATABASE);
        std::fs::File::open(&database).unwrap().try_lock().unwrap();
        drop(sled::open(path.join(DATABASE)).unwrap());
    }
}
