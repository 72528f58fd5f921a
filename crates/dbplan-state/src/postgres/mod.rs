//! The PostgreSQL state backend: a team's shared state and lock in a database it already
//! runs and backs up (`--state postgres://…`; see [`location`] for the URL).
//!
//! **Lock: a lease row with a fencing token**, not a session advisory lock. A session lock
//! lives and dies with one connection: it is silently lost behind a transaction-mode pooler
//! (PgBouncer hands each transaction to any server connection), and a writer whose connection
//! dropped cannot tell whether it still holds it. The lease is a row: taking it bumps the
//! state's `lock_token` and records the holder (user, host, pid, command, since) and an expiry
//! (`DBPLAN_STATE_LEASE`, 30 s by default); a heartbeat renews it every third of that. A
//! holder that dies stops renewing, and its lock is free once the lease expires; `state
//! unlock --force` frees it at once and bumps the token. Every write is one transaction that
//! first locks the state's row and commits only if the token is still the writer's, the lease
//! has not expired and the serial is the one the writer last wrote; otherwise nothing is
//! written and the error says why. Every statement runs inside an explicit transaction with
//! unnamed statements (`query_typed`), so the backend works unchanged through a
//! transaction-mode pooler.
//!
//! **Integrity**: records are stored in the local state's checksummed form, and the state's
//! row holds the record count and the XOR digest of their hashes; every read verifies both.
//! A write whose commit was cut off (connection lost) is checked against the history row it
//! would have written (serial and lock token) before it is tried again, so a change is never
//! applied twice or lost.
//!
//! tokio-postgres is async and the [`StateStore`] interface is not: each store runs its own
//! one-thread runtime, and a call hands its future to it and waits on a channel, which works
//! from plain threads and from inside the commands' runtime alike.

mod connect;
pub mod location;
mod schema;

use crate::crypt::{self, Header, Passphrase, Sealed, StateCipher};
use crate::export::Exported;
use crate::integrity::{self, Digest};
use crate::lock::{LockInfo, LockStatus};
use crate::sled_store::{
    EncryptionChange, ReadState, Reencrypted, Replaced, SerialChoice, Unlock, crypt_error,
    stored_json, stored_key,
};
use crate::{HistoryEntry, ResourceState, Snapshot, StateChange, StateError, StateKey, StateStore};
use connect::Bounds;
use dbplan_core::ResourceAddress;
pub use location::{PgLocation, is_postgres_url};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres::Client;
use tokio_postgres::types::Type;

/// The variable that sets the lease, in seconds.
pub const LEASE_VARIABLE: &str = "DBPLAN_STATE_LEASE";
/// The lease when [`LEASE_VARIABLE`] is not set: a holder that died releases the lock within
/// this long.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// The runtime a store's futures run on, and the connection they share.
struct Backend {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
}

struct Shared {
    location: PgLocation,
    bounds: Bounds,
    lease: Duration,
    client: tokio::sync::Mutex<Option<Client>>,
    /// Why this writer no longer holds the lock, once it does not.
    lost: Mutex<Option<String>>,
    /// Whether a connection was made once: a later one is a reconnection, tried patiently.
    connected: AtomicBool,
}

fn store_error(location: &PgLocation, message: impl std::fmt::Display) -> StateError {
    StateError::Query {
        location: location.to_string(),
        message: message.to_string(),
    }
}

/// A failed statement; the connection going away (closed, reset, the server shutting down)
/// is [`StateError::ConnectionLost`], which a write tries again over a new connection.
fn query_error(location: &PgLocation, what: &str, error: &tokio_postgres::Error) -> StateError {
    if connect::is_transient(error) {
        StateError::ConnectionLost {
            location: location.to_string(),
            message: format!("{what}: {}", connect::describe(error)),
        }
    } else {
        store_error(location, format!("{what}: {}", connect::describe(error)))
    }
}

fn corrupted(location: &PgLocation, what: impl Into<String>) -> StateError {
    StateError::Corrupted {
        path: location.as_path(),
        what: what.into(),
    }
}

impl Backend {
    fn new(location: &PgLocation) -> Result<Backend, StateError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("dbplan-state-pg")
            .enable_all()
            .build()
            .map_err(|error| store_error(location, format!("cannot start its runtime: {error}")))?;
        Ok(Backend {
            runtime: Some(runtime),
            shared: Arc::new(Shared {
                bounds: Bounds::of(location),
                lease: location.lease,
                location: location.clone(),
                client: tokio::sync::Mutex::new(None),
                lost: Mutex::new(None),
                connected: AtomicBool::new(false),
            }),
        })
    }

    /// Runs `work` on the backend's runtime and waits for it.
    fn block<T, F>(&self, work: impl FnOnce(Arc<Shared>) -> F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StateError>> + Send + 'static,
    {
        let Some(runtime) = self.runtime.as_ref() else {
            return Err(store_error(
                &self.shared.location,
                "its runtime has stopped",
            ));
        };
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let future = work(Arc::clone(&self.shared));
        runtime.spawn(async move {
            // The receiver waits below; a send fails only when it is gone, and then nobody
            // is left to tell.
            let _ = sender.send(future.await);
        });
        receiver.recv().unwrap_or_else(|_| {
            Err(store_error(
                &self.shared.location,
                "its connection task ended without an answer",
            ))
        })
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Never blocks, so a store may be dropped inside another runtime.
            runtime.shutdown_background();
        }
    }
}

impl Shared {
    /// The connection in `slot` (the locked [`Shared::client`]), opened (again) when there
    /// is none or it was closed.
    async fn connected<'slot>(
        &self,
        slot: &'slot mut Option<Client>,
    ) -> Result<&'slot mut Client, StateError> {
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = None;
            let patient = self.connected.load(Ordering::SeqCst);
            let client = connect::connect(&self.location, &self.bounds, patient).await?;
            self.connected.store(true, Ordering::SeqCst);
            return Ok(slot.insert(client));
        }
        slot.as_mut()
            .ok_or_else(|| store_error(&self.location, "its connection is gone"))
    }

    /// `statement_timeout` for the transaction that runs this.
    fn statement_timeout(&self) -> String {
        format!(
            "SET LOCAL statement_timeout = {}",
            self.bounds.statement.as_millis().max(1)
        )
    }

    /// Runs `work` in a transaction, bounded on the client side as well (a server that
    /// stopped answering never applies `statement_timeout`); the connection is dropped when
    /// the bound runs out, so that it is never reused with an answer still owed.
    async fn transaction<T>(
        &self,
        what: &str,
        work: impl AsyncFnOnce(&tokio_postgres::Transaction<'_>) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let mut guard = self.client.lock().await;
        let client = self.connected(&mut guard).await?;
        let bound = self.bounds.statement + Duration::from_secs(5);
        let result = tokio::time::timeout(bound, async {
            let transaction = client
                .transaction()
                .await
                .map_err(|error| query_error(&self.location, what, &error))?;
            transaction
                .batch_execute(&self.statement_timeout())
                .await
                .map_err(|error| query_error(&self.location, what, &error))?;
            let value = work(&transaction).await?;
            transaction
                .commit()
                .await
                .map_err(|error| query_error(&self.location, what, &error))?;
            Ok(value)
        })
        .await;
        match result {
            Ok(result) => {
                if result.is_err() && guard.as_ref().is_some_and(Client::is_closed) {
                    *guard = None;
                }
                result
            }
            Err(_) => {
                *guard = None;
                Err(StateError::ConnectionLost {
                    location: self.location.to_string(),
                    message: format!(
                        "{what}: no answer within {} s ({}); check the server, or raise {}",
                        bound.as_secs(),
                        dbplan_core::timeouts::READ_VARIABLE,
                        dbplan_core::timeouts::READ_VARIABLE
                    ),
                })
            }
        }
    }

    fn table(&self, name: &str) -> String {
        format!("{}.{name}", self.location.quoted_schema())
    }

    fn lost(&self) -> Option<String> {
        self.lost.lock().map_or_else(
            |_| Some("its heartbeat panicked".to_owned()),
            |lost| lost.clone(),
        )
    }

    fn lose(&self, why: String) {
        if let Ok(mut lost) = self.lost.lock()
            && lost.is_none()
        {
            *lost = Some(why);
        }
    }
}

/// The state's row as read.
struct StateRow {
    lineage: String,
    serial: u64,
    key: String,
    encryption: Option<String>,
    resources: u64,
    digest: String,
}

fn column<'a, T: tokio_postgres::types::FromSql<'a>>(
    location: &PgLocation,
    row: &'a tokio_postgres::Row,
    index: usize,
) -> Result<T, StateError> {
    row.try_get(index).map_err(|error| {
        corrupted(
            location,
            format!("a column of the state's row cannot be read: {error}"),
        )
    })
}

fn serial_of(location: &PgLocation, value: i64) -> Result<u64, StateError> {
    u64::try_from(value).map_err(|_| corrupted(location, format!("its serial is {value}")))
}

const STATE_COLUMNS: &str = "lineage, serial, key, encryption, resources, digest";

fn state_row(location: &PgLocation, row: &tokio_postgres::Row) -> Result<StateRow, StateError> {
    Ok(StateRow {
        lineage: column(location, row, 0)?,
        serial: serial_of(location, column(location, row, 1)?)?,
        key: column(location, row, 2)?,
        encryption: column(location, row, 3)?,
        resources: serial_of(location, column(location, row, 4)?)?,
        digest: column(location, row, 5)?,
    })
}

/// A state as read and verified, with the record hashes a writer keeps.
struct Loaded {
    row: StateRow,
    key: StateKey,
    cipher: Option<StateCipher>,
    resources: BTreeMap<ResourceAddress, ResourceState>,
    hashes: HashMap<String, [u8; 32]>,
    digest: Digest,
}

/// The state's key and encryption from its row.
fn open_key(
    location: &PgLocation,
    row: &StateRow,
    unlock: &Unlock,
) -> Result<(StateKey, Option<StateCipher>), StateError> {
    let path = location.as_path();
    match &row.encryption {
        None => {
            let bytes = hex::decode(&row.key)
                .map_err(|_| corrupted(location, "its key is not hexadecimal"))?;
            let key = StateKey::from_bytes(&bytes)
                .ok_or_else(|| corrupted(location, "its key is not 32 bytes"))?;
            Ok((key, None))
        }
        Some(header) => {
            let header: Header = serde_json::from_str(header)
                .map_err(|error| corrupted(location, format!("its encryption header: {error}")))?;
            let cipher = unlock.cipher(&header, &row.lineage, &path)?;
            let sealed: Sealed = serde_json::from_str(&row.key)
                .map_err(|error| corrupted(location, format!("its sealed key: {error}")))?;
            let key = cipher
                .open_key(&sealed)
                .map_err(|error| crypt_error(&path, error))?;
            Ok((key, Some(cipher)))
        }
    }
}

/// The key as the row stores it: hexadecimal, or its sealed form's JSON.
fn key_text(
    location: &PgLocation,
    key: &StateKey,
    cipher: Option<&StateCipher>,
) -> Result<String, StateError> {
    let stored = stored_key(key, cipher, &location.as_path())?;
    Ok(match cipher {
        None => hex::encode(stored),
        Some(_) => String::from_utf8(stored)
            .map_err(|_| store_error(location, "the sealed key is not text"))?,
    })
}

fn header_text(
    location: &PgLocation,
    cipher: Option<&StateCipher>,
) -> Result<Option<String>, StateError> {
    cipher
        .map(|cipher| {
            serde_json::to_string(cipher.header())
                .map_err(|error| store_error(location, format!("the encryption header: {error}")))
        })
        .transpose()
}

/// The records as stored, each against its checksum and its address, opened with the state's
/// cipher, and all of them against the state's row (count and digest).
#[expect(
    clippy::type_complexity,
    reason = "the three results of one pass over the records"
)]
fn verify_records(
    location: &PgLocation,
    row: &StateRow,
    cipher: Option<&StateCipher>,
    records: &[tokio_postgres::Row],
) -> Result<
    (
        BTreeMap<ResourceAddress, ResourceState>,
        HashMap<String, [u8; 32]>,
        Digest,
    ),
    StateError,
> {
    let mut resources = BTreeMap::new();
    let mut hashes = HashMap::with_capacity(records.len());
    let mut digest = Digest::default();
    for record in records {
        let address: String = column(location, record, 0)?;
        let bytes: &[u8] = column(location, record, 1)?;
        let (json, hash) =
            integrity::decode_record(&address, bytes).map_err(|what| corrupted(location, what))?;
        let resource: ResourceState = serde_json::from_slice(json).map_err(|error| {
            corrupted(
                location,
                format!("the record of {address} cannot be read: {error}"),
            )
        })?;
        if resource.address.to_string() != address {
            return Err(corrupted(
                location,
                format!(
                    "the record stored under {address} is of {}",
                    resource.address
                ),
            ));
        }
        let resource = match cipher {
            Some(cipher) => cipher
                .open_resource(resource)
                .map_err(|what| corrupted(location, what))?,
            None => {
                if crypt::has_sealed_value(&resource) {
                    return Err(corrupted(
                        location,
                        format!(
                            "the record of {address} holds an encrypted value, and the state is not encrypted"
                        ),
                    ));
                }
                resource
            }
        };
        digest.toggle(&hash);
        hashes.insert(address, hash);
        resources.insert(resource.address.clone(), resource);
    }
    if hashes.len() as u64 != row.resources || digest.render() != row.digest {
        return Err(corrupted(
            location,
            format!(
                "its row records {} resources with digest {}, and the table holds {} with digest {}",
                row.resources,
                row.digest,
                hashes.len(),
                digest.render()
            ),
        ));
    }
    Ok((resources, hashes, digest))
}

/// Reads the state's row and every record, in one snapshot of the database, and verifies
/// them; `None` when there is no such state (or no tables at all).
async fn load(
    shared: &Shared,
    unlock: &Unlock,
    for_update: bool,
) -> Result<Option<Loaded>, StateError> {
    let location = &shared.location;
    let states = shared.table("states");
    let resources_table = shared.table("resources");
    let rows = shared
        .transaction("cannot read the state", async |transaction| {
            transaction
                .batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .await
                .map_err(|error| query_error(location, "cannot read the state", &error))?;
            let state = transaction
                .query_typed(
                    &format!(
                        "SELECT {STATE_COLUMNS} FROM {states} WHERE name = $1{}",
                        if for_update { " FOR UPDATE" } else { "" }
                    ),
                    &[(&location.state, Type::TEXT)],
                )
                .await
                .map_err(|error| query_error(location, "cannot read the state", &error))?;
            let Some(state) = state.first() else {
                return Ok(None);
            };
            let state = state_row(location, state)?;
            let records = transaction
                .query_typed(
                    &format!("SELECT address, record FROM {resources_table} WHERE state = $1"),
                    &[(&location.state, Type::TEXT)],
                )
                .await
                .map_err(|error| {
                    query_error(location, "cannot read the state's records", &error)
                })?;
            Ok(Some((state, records)))
        })
        .await?;
    let Some((row, records)) = rows else {
        return Ok(None);
    };
    let (key, cipher) = open_key(location, &row, unlock)?;
    let (resources, hashes, digest) = verify_records(location, &row, cipher.as_ref(), &records)?;
    Ok(Some(Loaded {
        row,
        key,
        cipher,
        resources,
        hashes,
        digest,
    }))
}

/// Connects and checks the tables' version; `false` when there are none.
async fn tables_exist(shared: &Shared) -> Result<bool, StateError> {
    let mut guard = shared.client.lock().await;
    let client = shared.connected(&mut guard).await?;
    match schema::find(client, &shared.location).await? {
        schema::Found::Nothing => Ok(false),
        schema::Found::Version(version) => {
            schema::check_version(&shared.location, version)?;
            Ok(true)
        }
    }
}

/// Who writes, for the lock and the history.
#[derive(Clone, Debug)]
struct Writer {
    lock: LockInfo,
    user: String,
    plan: Option<String>,
}

/// The lock holder as recorded in the state's row.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Holder {
    #[serde(flatten)]
    lock: LockInfo,
    user: String,
}

impl Holder {
    fn describe(&self) -> String {
        format!(
            "`{}` (user {}, pid {} on {}, since {})",
            self.lock.holder, self.user, self.lock.pid, self.lock.host, self.lock.started
        )
    }
}

/// What the tracked state of a writer is, updated after every commit.
struct Tracked {
    serial: u64,
    hashes: HashMap<String, [u8; 32]>,
    digest: Digest,
}

/// A PostgreSQL state, open for writing: holds the state's lease until dropped.
pub struct PgStore {
    backend: Backend,
    lineage: String,
    key: StateKey,
    cipher: Option<StateCipher>,
    token: i64,
    writer: Writer,
    tracked: Mutex<Tracked>,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.backend.shared.location)
            .field("lineage", &self.lineage)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Whether the state exists (its row is there), without reading it: no passphrase needed.
    pub fn exists(location: &PgLocation) -> Result<bool, StateError> {
        let backend = Backend::new(location)?;
        backend.block(|shared| async move {
            if !tables_exist(&shared).await? {
                return Ok(false);
            }
            let states = shared.table("states");
            let location = &shared.location;
            shared
                .transaction("cannot look for the state", async |transaction| {
                    let rows = transaction
                        .query_typed(
                            &format!("SELECT 1 FROM {states} WHERE name = $1"),
                            &[(&location.state, Type::TEXT)],
                        )
                        .await
                        .map_err(|error| {
                            query_error(location, "cannot look for the state", &error)
                        })?;
                    Ok(!rows.is_empty())
                })
                .await
        })
    }

    /// The state, verified, for a reader (no lock; one consistent snapshot of the database):
    /// `None` when there is none. Never creates anything.
    pub fn read(location: &PgLocation, _holder: &str) -> Result<Option<ReadState>, StateError> {
        Self::read_unlocking(location, Unlock::from_env())
    }

    /// [`PgStore::read`] with the passphrase given.
    pub fn read_with(
        location: &PgLocation,
        passphrase: Option<Passphrase>,
    ) -> Result<Option<ReadState>, StateError> {
        Self::read_unlocking(location, Unlock::new(passphrase))
    }

    fn read_unlocking(
        location: &PgLocation,
        unlock: Unlock,
    ) -> Result<Option<ReadState>, StateError> {
        let backend = Backend::new(location)?;
        let unlock = Arc::new(unlock);
        backend.block(|shared| async move {
            if !tables_exist(&shared).await? {
                return Ok(None);
            }
            Ok(load(&shared, &unlock, false)
                .await?
                .map(|loaded| ReadState {
                    snapshot: Snapshot {
                        lineage: loaded.row.lineage,
                        serial: loaded.row.serial,
                        resources: loaded.resources,
                    },
                    key: Some(loaded.key),
                    cipher: loaded.cipher,
                }))
        })
    }

    /// Opens the state for writing, creating the tables and the state when missing, and
    /// takes its lease (refused, naming the holder, while another process holds it).
    pub fn open(location: &PgLocation, holder: &str) -> Result<PgStore, StateError> {
        Self::open_unlocking(location, holder, Unlock::from_env())
    }

    /// [`PgStore::open`] with the passphrase given.
    pub fn open_with(
        location: &PgLocation,
        holder: &str,
        passphrase: Option<Passphrase>,
    ) -> Result<PgStore, StateError> {
        Self::open_unlocking(location, holder, Unlock::new(passphrase))
    }

    fn open_unlocking(
        location: &PgLocation,
        holder: &str,
        unlock: Unlock,
    ) -> Result<PgStore, StateError> {
        let backend = Backend::new(location)?;
        let writer = Writer {
            lock: LockInfo::current(holder),
            user: crate::lock::os_user(),
            plan: None,
        };
        let unlock = Arc::new(unlock);
        let acquiring = writer.clone();
        let (token, loaded) = backend.block(|shared| async move {
            {
                let mut guard = shared.client.lock().await;
                let client = shared.connected(&mut guard).await?;
                schema::ensure(client, &shared.location).await?;
            }
            let token = acquire(&shared, &acquiring).await?;
            let loaded = load(&shared, &unlock, false).await.and_then(|loaded| {
                loaded.ok_or_else(|| {
                    corrupted(&shared.location, "its row vanished while it was locked")
                })
            });
            if loaded.is_err() {
                release(&shared, token).await;
            }
            Ok((token, loaded?))
        })?;
        let mut store = PgStore {
            lineage: loaded.row.lineage.clone(),
            key: loaded.key,
            cipher: loaded.cipher,
            token,
            writer,
            tracked: Mutex::new(Tracked {
                serial: loaded.row.serial,
                hashes: loaded.hashes,
                digest: loaded.digest,
            }),
            heartbeat: None,
            backend,
        };
        store.heartbeat = store.start_heartbeat();
        Ok(store)
    }

    /// Records which saved plan this session applies, for the history.
    pub fn set_plan(&mut self, plan: impl Into<String>) {
        self.writer.plan = Some(plan.into());
    }

    /// The open state's committed changes, oldest first.
    pub fn history_entries(&self) -> Result<Vec<HistoryEntry>, StateError> {
        let mut entries = history(self.location(), u32::MAX)?;
        entries.reverse();
        Ok(entries)
    }

    pub fn location(&self) -> &PgLocation {
        &self.backend.shared.location
    }

    /// The state's encryption, when it is on.
    pub fn cipher(&self) -> Option<StateCipher> {
        self.cipher.clone()
    }

    pub fn is_encrypted(&self) -> bool {
        self.cipher.is_some()
    }

    /// Releases the lease now (dropping the store does the same).
    pub fn close(self) -> Result<(), StateError> {
        drop(self);
        Ok(())
    }

    fn start_heartbeat(&self) -> Option<tokio::task::JoinHandle<()>> {
        let shared = Arc::clone(&self.backend.shared);
        let token = self.token;
        let runtime = self.backend.runtime.as_ref()?;
        Some(runtime.spawn(heartbeat(shared, token)))
    }

    fn tracked(&self) -> Result<std::sync::MutexGuard<'_, Tracked>, StateError> {
        self.tracked
            .lock()
            .map_err(|_| store_error(self.location(), "a writer panicked while it wrote"))
    }

    /// The whole state replaced by `snapshot` (import, migrate, encryption changes): records,
    /// serial, key and encryption in one fenced transaction.
    pub(crate) fn replace_all(
        &self,
        snapshot: &Snapshot,
        key: &StateKey,
        cipher: Option<&StateCipher>,
        lineage: &str,
        command: &str,
        carried: &[HistoryEntry],
    ) -> Result<u64, StateError> {
        let location = self.location().clone();
        let mut hashes = HashMap::new();
        let mut digest = Digest::default();
        let mut records = Vec::with_capacity(snapshot.resources.len());
        for resource in snapshot.resources.values() {
            let json = stored_json(resource, cipher, &location.as_path())?;
            let address = resource.address.to_string();
            let (bytes, hash) = integrity::encode_record(&address, &json);
            digest.toggle(&hash);
            hashes.insert(address.clone(), hash);
            records.push((address, Some(bytes)));
        }
        let mut tracked = self.tracked()?;
        let write = Write {
            expected: tracked.serial,
            serial: snapshot.serial.max(tracked.serial + 1),
            records,
            replace_all: true,
            resources: hashes.len() as u64,
            digest: digest.render(),
            key: Some(key_text(&location, key, cipher)?),
            encryption: Some(header_text(&location, cipher)?),
            lineage: Some(lineage.to_owned()),
            changes: snapshot
                .resources
                .keys()
                .map(|address| format!("+ {address}"))
                .collect(),
            command: command.to_owned(),
            carried: carried.to_vec(),
        };
        let serial = self.commit(write)?;
        tracked.serial = serial;
        tracked.hashes = hashes;
        tracked.digest = digest;
        Ok(serial)
    }

    /// Replaces the state with `incoming` (`state import`, `state migrate`): refused when it
    /// is of another lineage than a state already written, or (with [`SerialChoice::Keep`])
    /// not newer, unless `force`. The replaced records stay in the history's account (a history
    /// row names the command), not in the table.
    pub fn replace(
        location: &PgLocation,
        holder: &str,
        incoming: &Exported,
        serial: SerialChoice,
        force: bool,
    ) -> Result<Replaced, StateError> {
        if incoming.redacted {
            return Err(StateError::Redacted);
        }
        let passphrase = Passphrase::from_env(crypt::PASSPHRASE_VARIABLE);
        let unlock = Unlock::new(passphrase.clone());
        let incoming = incoming.unlocked(&unlock, &location.as_path())?;
        let Some(key) = incoming.key.clone() else {
            return Err(StateError::Redacted);
        };
        let store = Self::open_with(location, holder, passphrase)?;
        let current_serial = store.tracked()?.serial;
        // A state never written (serial 0) was made by this open: nothing to protect.
        if current_serial > 0 {
            if store.lineage != incoming.snapshot.lineage && !force {
                return Err(StateError::LineageMismatch {
                    path: location.as_path(),
                    current: store.lineage.clone(),
                    incoming: incoming.snapshot.lineage.clone(),
                });
            }
            if serial == SerialChoice::Keep
                && store.lineage == incoming.snapshot.lineage
                && incoming.snapshot.serial <= current_serial
                && !force
            {
                return Err(StateError::NotNewer {
                    path: location.as_path(),
                    current: current_serial,
                    incoming: incoming.snapshot.serial,
                });
            }
        }
        let new_serial = match serial {
            SerialChoice::Keep => incoming.snapshot.serial,
            SerialChoice::AboveCurrent => current_serial.max(incoming.snapshot.serial) + 1,
        };
        let snapshot = Snapshot {
            serial: new_serial,
            ..incoming.snapshot.clone()
        };
        let serial = store.replace_all(
            &snapshot,
            &key,
            incoming.cipher.as_ref(),
            &incoming.snapshot.lineage,
            holder,
            &incoming.history,
        )?;
        store.close()?;
        Ok(Replaced {
            serial,
            moved_aside: None,
        })
    }

    /// Turns the state's encryption on or off, or gives it a new key: every record and the
    /// key written again in one fenced transaction, then the tables rewritten (`VACUUM FULL`)
    /// so that the old row versions leave the server's files too.
    pub fn change_encryption(
        location: &PgLocation,
        holder: &str,
        current: Option<Passphrase>,
        change: EncryptionChange,
    ) -> Result<Reencrypted, StateError> {
        if Self::read_with(location, current.clone())?.is_none() {
            return Err(StateError::NoState {
                path: location.as_path(),
            });
        }
        let store = Self::open_with(location, holder, current)?;
        let refuse = |message: &str| {
            Err(StateError::Encryption {
                message: format!("the state at {location} {message}"),
            })
        };
        let cipher = match change.new_cipher(store.cipher.is_some(), &store.lineage) {
            Ok(cipher) => cipher,
            Err(Ok(refusal)) => return refuse(refusal),
            Err(Err(error)) => return Err(crypt_error(&location.as_path(), error)),
        };
        let mut snapshot = store.snapshot()?;
        snapshot.serial += 1;
        let key = store.key.clone();
        let lineage = store.lineage.clone();
        let serial = store.replace_all(&snapshot, &key, cipher.as_ref(), &lineage, holder, &[])?;
        store.vacuum()?;
        store.close()?;
        Ok(Reencrypted {
            serial,
            backups_rewritten: 0,
            backups_left: Vec::new(),
            kept_aside: Vec::new(),
        })
    }

    /// Rewrites the state's tables, so that row versions a change left behind (old values,
    /// in the clear before `state encrypt`) are gone from the server's files.
    fn vacuum(&self) -> Result<(), StateError> {
        self.backend.block(|shared| async move {
            let mut guard = shared.client.lock().await;
            let client = shared.connected(&mut guard).await?;
            for table in ["resources", "states"] {
                // VACUUM runs outside a transaction block, as one simple statement.
                client
                    .batch_execute(&format!("VACUUM FULL {}", shared.table(table)))
                    .await
                    .map_err(|error| {
                        query_error(
                            &shared.location,
                            &format!("cannot rewrite the table {table} (VACUUM FULL; the old row versions stay on disk until the table is vacuumed)"),
                            &error,
                        )
                    })?;
            }
            Ok(())
        })
    }

    fn commit(&self, write: Write) -> Result<u64, StateError> {
        if let Some(why) = self.backend.shared.lost() {
            return Err(StateError::LockLost {
                location: self.location().to_string(),
                why,
            });
        }
        let token = self.token;
        let writer = self.writer.clone();
        self.backend
            .block(|shared| async move { commit(&shared, token, &writer, &write).await })
    }
}

/// One fenced write.
#[derive(Clone)]
struct Write {
    /// The serial the writer last saw: the write commits only if it is still the state's.
    expected: u64,
    serial: u64,
    /// By address: the new record, or `None` to remove it.
    records: Vec<(String, Option<Vec<u8>>)>,
    /// Every other record is removed (a replaced state).
    replace_all: bool,
    resources: u64,
    digest: String,
    key: Option<String>,
    /// `Some(None)`: the state is now plain.
    encryption: Option<Option<String>>,
    lineage: Option<String>,
    changes: Vec<String>,
    command: String,
    /// History rows brought along from another state (a migration), written before this
    /// write's own.
    carried: Vec<HistoryEntry>,
}

fn as_i64(location: &PgLocation, value: u64) -> Result<i64, StateError> {
    i64::try_from(value)
        .map_err(|_| store_error(location, format!("the serial {value} is too large")))
}

/// Takes the lease: creates the state's row when there is none, then takes the lock if it is
/// free or its lease expired. Refused with the holder named otherwise.
async fn acquire(shared: &Shared, writer: &Writer) -> Result<i64, StateError> {
    let location = &shared.location;
    let states = shared.table("states");
    let holder = serde_json::to_string(&Holder {
        lock: writer.lock.clone(),
        user: writer.user.clone(),
    })
    .map_err(|error| store_error(location, format!("the lock holder: {error}")))?;
    let key = StateKey::generate()
        .map_err(|error| store_error(location, format!("cannot make the state's key: {error}")))?;
    let key = hex::encode(key.bytes());
    let lineage = uuid::Uuid::new_v4().to_string();
    let lease_ms = as_i64(location, shared.lease.as_millis() as u64)?;
    let empty = Digest::default().render();
    shared
        .transaction("cannot take the state's lock", async |transaction| {
            transaction
                .query_typed(
                    &format!(
                        "INSERT INTO {states} (name, lineage, serial, key, resources, digest) VALUES ($1, $2, 0, $3, 0, $4) ON CONFLICT (name) DO NOTHING"
                    ),
                    &[
                        (&location.state, Type::TEXT),
                        (&lineage, Type::TEXT),
                        (&key, Type::TEXT),
                        (&empty, Type::TEXT),
                    ],
                )
                .await
                .map_err(|error| query_error(location, "cannot create the state", &error))?;
            let taken = transaction
                .query_typed(
                    &format!(
                        "UPDATE {states} SET lock_token = lock_token + 1, lock_holder = $2, lock_expires = now() + $3 * interval '1 millisecond' WHERE name = $1 AND (lock_holder IS NULL OR lock_expires <= now()) RETURNING lock_token"
                    ),
                    &[
                        (&location.state, Type::TEXT),
                        (&holder, Type::TEXT),
                        (&lease_ms, Type::INT8),
                    ],
                )
                .await
                .map_err(|error| query_error(location, "cannot take the state's lock", &error))?;
            if let Some(row) = taken.first() {
                return column::<i64>(location, row, 0);
            }
            let held = transaction
                .query_typed(
                    &format!(
                        "SELECT lock_holder, to_char(lock_expires AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM {states} WHERE name = $1"
                    ),
                    &[(&location.state, Type::TEXT)],
                )
                .await
                .map_err(|error| query_error(location, "cannot read the state's lock", &error))?;
            let (holder, until) = match held.first() {
                Some(row) => (
                    column::<Option<String>>(location, row, 0)?,
                    column::<Option<String>>(location, row, 1)?,
                ),
                None => (None, None),
            };
            Err(StateError::PgLocked {
                location: location.to_string(),
                holder: describe_holder(holder.as_deref()),
                until: until.unwrap_or_else(|| "(unknown)".to_owned()),
            })
        })
        .await
}

fn describe_holder(holder: Option<&str>) -> String {
    match holder.map(serde_json::from_str::<Holder>) {
        Some(Ok(holder)) => holder.describe(),
        Some(Err(_)) => "a holder whose record cannot be read".to_owned(),
        None => "nobody".to_owned(),
    }
}

/// Releases the lease if it is still this writer's, waiting a few seconds at most; a failure
/// (the server gone) is left to the lease's expiry.
async fn release(shared: &Shared, token: i64) {
    let _released = tokio::time::timeout(Duration::from_secs(5), release_now(shared, token)).await;
}

async fn release_now(shared: &Shared, token: i64) {
    let states = shared.table("states");
    let location = &shared.location;
    let _released = shared
        .transaction("cannot release the state's lock", async |transaction| {
            transaction
                .query_typed(
                    &format!(
                        "UPDATE {states} SET lock_holder = NULL, lock_expires = NULL WHERE name = $1 AND lock_token = $2"
                    ),
                    &[(&location.state, Type::TEXT), (&token, Type::INT8)],
                )
                .await
                .map_err(|error| query_error(location, "cannot release the state's lock", &error))
        })
        .await;
}

/// Renews the lease every third of it. Stops, marking the lock lost, when the lease is no
/// longer this writer's (taken over after expiry, or removed by `state unlock --force`), or
/// when it could not be renewed before it expired.
async fn heartbeat(shared: Arc<Shared>, token: i64) {
    let states = shared.table("states");
    let location = &shared.location;
    let lease_ms = shared.lease.as_millis() as i64;
    let mut renewed = Instant::now();
    loop {
        tokio::time::sleep(shared.lease / 3).await;
        let result = shared
            .transaction("cannot renew the state's lock", async |transaction| {
                let rows = transaction
                    .query_typed(
                        &format!(
                            "UPDATE {states} SET lock_expires = now() + $3 * interval '1 millisecond' WHERE name = $1 AND lock_token = $2 AND lock_holder IS NOT NULL AND lock_expires > now() RETURNING 1"
                        ),
                        &[
                            (&location.state, Type::TEXT),
                            (&token, Type::INT8),
                            (&lease_ms, Type::INT8),
                        ],
                    )
                    .await
                    .map_err(|error| query_error(location, "cannot renew the state's lock", &error))?;
                Ok(!rows.is_empty())
            })
            .await;
        match result {
            Ok(true) => renewed = Instant::now(),
            Ok(false) => {
                shared.lose(
                    "its lock was taken from it (its lease expired and another process took it, or `dbplan state unlock --force` removed it)".to_owned(),
                );
                return;
            }
            Err(error) => {
                if renewed.elapsed() >= shared.lease {
                    shared.lose(format!(
                        "its lease expired while it could not be renewed ({error})"
                    ));
                    return;
                }
            }
        }
    }
}

/// One fenced write, tried again over a new connection when the old one was lost; a write
/// whose commit may have happened is looked up in the history first.
async fn commit(
    shared: &Shared,
    token: i64,
    writer: &Writer,
    write: &Write,
) -> Result<u64, StateError> {
    let started = Instant::now();
    loop {
        match commit_once(shared, token, writer, write).await {
            Ok(serial) => return Ok(serial),
            Err(error)
                if is_connection_loss(&error) && started.elapsed() < shared.bounds.reconnect =>
            {
                if let Some(why) = shared.lost() {
                    return Err(StateError::LockLost {
                        location: shared.location.to_string(),
                        why,
                    });
                }
                match committed(shared, token, write.serial).await {
                    Ok(true) => return Ok(write.serial),
                    Ok(false) | Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
            Err(error) => return Err(error),
        }
    }
}

/// Whether an error is the connection going away (worth a new connection and a retry).
fn is_connection_loss(error: &StateError) -> bool {
    matches!(
        error,
        StateError::Connect { .. } | StateError::ConnectionLost { .. }
    )
}

/// Whether the write of `serial` under `token` committed (its history row is there).
async fn committed(shared: &Shared, token: i64, serial: u64) -> Result<bool, StateError> {
    let history = shared.table("history");
    let location = &shared.location;
    let serial = as_i64(location, serial)?;
    shared
        .transaction("cannot look up the last write", async |transaction| {
            let rows = transaction
                .query_typed(
                    &format!("SELECT 1 FROM {history} WHERE state = $1 AND serial = $2 AND lock_token = $3"),
                    &[(&location.state, Type::TEXT), (&serial, Type::INT8), (&token, Type::INT8)],
                )
                .await
                .map_err(|error| query_error(location, "cannot look up the last write", &error))?;
            Ok(!rows.is_empty())
        })
        .await
}

// Long: the fence, then the records, the state's row and the history row of one write, in the
// one transaction that makes them atomic.
async fn commit_once(
    shared: &Shared,
    token: i64,
    writer: &Writer,
    write: &Write,
) -> Result<u64, StateError> {
    let location = &shared.location;
    let states = shared.table("states");
    let resources = shared.table("resources");
    let history = shared.table("history");
    let serial = as_i64(location, write.serial)?;
    let lease_ms = shared.lease.as_millis() as i64;
    let (upserts, removes): (Vec<_>, Vec<_>) = write
        .records
        .iter()
        .partition(|(_, record)| record.is_some());
    let put_addresses: Vec<&str> = upserts
        .iter()
        .map(|(address, _)| address.as_str())
        .collect();
    let put_records: Vec<&[u8]> = upserts
        .iter()
        .filter_map(|(_, record)| record.as_deref())
        .collect();
    let removed: Vec<&str> = removes
        .iter()
        .map(|(address, _)| address.as_str())
        .collect();
    let changes = serde_json::to_string(&write.changes)
        .map_err(|error| store_error(location, format!("the history row: {error}")))?;
    let resources_count = as_i64(location, write.resources)?;
    let pid = i64::from(writer.lock.pid);
    shared
        .transaction("cannot write the state", async |transaction| {
            let fence = transaction
                .query_typed(
                    &format!(
                        "SELECT serial, lock_token, lock_holder IS NOT NULL AND lock_expires > now() FROM {states} WHERE name = $1 FOR UPDATE"
                    ),
                    &[(&location.state, Type::TEXT)],
                )
                .await
                .map_err(|error| query_error(location, "cannot write the state", &error))?;
            let Some(fence) = fence.first() else {
                return Err(corrupted(location, "its row is gone"));
            };
            let current = serial_of(location, column(location, fence, 0)?)?;
            let holder_token: i64 = column(location, fence, 1)?;
            let live: Option<bool> = column(location, fence, 2)?;
            if holder_token != token || live != Some(true) {
                let why = if holder_token == token {
                    "its lease expired before the write".to_owned()
                } else {
                    "its lock was taken from it (its lease expired and another process took it, or `dbplan state unlock --force` removed it)".to_owned()
                };
                shared.lose(why.clone());
                return Err(StateError::LockLost {
                    location: location.to_string(),
                    why,
                });
            }
            if current != write.expected {
                return Err(StateError::LockLost {
                    location: location.to_string(),
                    why: format!(
                        "the state's serial is {current}, and this writer last wrote {}",
                        write.expected
                    ),
                });
            }
            if write.replace_all {
                transaction
                    .query_typed(
                        &format!("DELETE FROM {resources} WHERE state = $1"),
                        &[(&location.state, Type::TEXT)],
                    )
                    .await
                    .map_err(|error| query_error(location, "cannot write the state", &error))?;
            }
            if !put_addresses.is_empty() {
                transaction
                    .query_typed(
                        &format!(
                            "INSERT INTO {resources} (state, address, generation, record) SELECT $1, address, $2, record FROM unnest($3::text[], $4::bytea[]) AS incoming (address, record) ON CONFLICT (state, address) DO UPDATE SET generation = excluded.generation, record = excluded.record"
                        ),
                        &[
                            (&location.state, Type::TEXT),
                            (&serial, Type::INT8),
                            (&put_addresses, Type::TEXT_ARRAY),
                            (&put_records, Type::BYTEA_ARRAY),
                        ],
                    )
                    .await
                    .map_err(|error| query_error(location, "cannot write the state's records", &error))?;
            }
            if !removed.is_empty() {
                transaction
                    .query_typed(
                        &format!("DELETE FROM {resources} WHERE state = $1 AND address = ANY($2)"),
                        &[(&location.state, Type::TEXT), (&removed, Type::TEXT_ARRAY)],
                    )
                    .await
                    .map_err(|error| query_error(location, "cannot remove records", &error))?;
            }
            transaction
                .query_typed(
                    &format!(
                        "UPDATE {states} SET serial = $2, resources = $3, digest = $4, lock_expires = now() + $5 * interval '1 millisecond', key = coalesce($6, key), encryption = CASE WHEN $7 THEN $8 ELSE encryption END, lineage = coalesce($9, lineage) WHERE name = $1"
                    ),
                    &[
                        (&location.state, Type::TEXT),
                        (&serial, Type::INT8),
                        (&resources_count, Type::INT8),
                        (&write.digest, Type::TEXT),
                        (&lease_ms, Type::INT8),
                        (&write.key, Type::TEXT),
                        (&write.encryption.is_some(), Type::BOOL),
                        (&write.encryption.clone().flatten(), Type::TEXT),
                        (&write.lineage, Type::TEXT),
                    ],
                )
                .await
                .map_err(|error| query_error(location, "cannot write the state's row", &error))?;
            for entry in &write.carried {
                let carried_serial = as_i64(location, entry.serial)?;
                let carried_pid = i64::from(entry.pid);
                let carried_changes = serde_json::to_string(&entry.changes)
                    .map_err(|error| store_error(location, format!("a history row: {error}")))?;
                transaction
                    .query_typed(
                        &format!(
                            "INSERT INTO {history} (state, serial, lock_token, at, db_user, os_user, host, pid, command, plan, changes) VALUES ($1, $2, 0, $3::timestamptz, $4, $5, $6, $7, $8, $9, $10)"
                        ),
                        &[
                            (&location.state, Type::TEXT),
                            (&carried_serial, Type::INT8),
                            (&entry.at, Type::TEXT),
                            (&entry.db_user, Type::TEXT),
                            (&entry.os_user, Type::TEXT),
                            (&entry.host, Type::TEXT),
                            (&carried_pid, Type::INT8),
                            (&entry.command, Type::TEXT),
                            (&entry.plan, Type::TEXT),
                            (&carried_changes, Type::TEXT),
                        ],
                    )
                    .await
                    .map_err(|error| query_error(location, "cannot copy the history", &error))?;
            }
            transaction
                .query_typed(
                    &format!(
                        "INSERT INTO {history} (state, serial, lock_token, db_user, os_user, host, pid, command, plan, changes) VALUES ($1, $2, $3, current_user, $4, $5, $6, $7, $8, $9)"
                    ),
                    &[
                        (&location.state, Type::TEXT),
                        (&serial, Type::INT8),
                        (&token, Type::INT8),
                        (&writer.user, Type::TEXT),
                        (&writer.lock.host, Type::TEXT),
                        (&pid, Type::INT8),
                        (&write.command, Type::TEXT),
                        (&writer.plan, Type::TEXT),
                        (&changes, Type::TEXT),
                    ],
                )
                .await
                .map_err(|error| query_error(location, "cannot write the state's history", &error))?;
            Ok(write.serial)
        })
        .await
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
        let token = self.token;
        let _released = self.backend.block(|shared| async move {
            release(&shared, token).await;
            Ok(())
        });
    }
}

impl StateStore for PgStore {
    fn snapshot(&self) -> Result<Snapshot, StateError> {
        let tracked_serial = self.tracked()?.serial;
        let unlock = Arc::new(Unlock::new(None));
        let cipher = self.cipher.clone();
        let location = self.location().clone();
        let loaded = self.backend.block(|shared| async move {
            // The state's own cipher opens its values: the passphrase was checked at open.
            let unlock = match cipher {
                Some(cipher) => Arc::new(Unlock::with_cipher(cipher)),
                None => unlock,
            };
            load(&shared, &unlock, false).await
        })?;
        let Some(loaded) = loaded else {
            return Err(corrupted(&location, "its row vanished while it was locked"));
        };
        if loaded.row.serial != tracked_serial {
            return Err(StateError::LockLost {
                location: location.to_string(),
                why: format!(
                    "the state's serial is {}, and this writer last wrote {tracked_serial}",
                    loaded.row.serial
                ),
            });
        }
        Ok(Snapshot {
            lineage: loaded.row.lineage,
            serial: loaded.row.serial,
            resources: loaded.resources,
        })
    }

    fn key(&self) -> Result<StateKey, StateError> {
        Ok(self.key.clone())
    }

    fn put(&self, resource: &ResourceState) -> Result<u64, StateError> {
        self.write_batch(&[StateChange::Put(resource.clone())])
    }

    fn remove(&self, address: &ResourceAddress) -> Result<u64, StateError> {
        if !self.tracked()?.hashes.contains_key(&address.to_string()) {
            return Err(StateError::NotFound {
                address: address.clone(),
            });
        }
        self.write_batch(&[StateChange::Remove(address.clone())])
    }

    fn write_batch(&self, changes: &[StateChange]) -> Result<u64, StateError> {
        let location = self.location().clone();
        let mut tracked = self.tracked()?;
        let mut hashes = tracked.hashes.clone();
        let mut digest = tracked.digest;
        // The last change of an address wins: one row per address in the statement.
        let mut records: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
        let mut shown = Vec::with_capacity(changes.len());
        for change in changes {
            match change {
                StateChange::Put(resource) => {
                    let json = stored_json(resource, self.cipher.as_ref(), &location.as_path())?;
                    let address = resource.address.to_string();
                    let (bytes, hash) = integrity::encode_record(&address, &json);
                    if let Some(old) = hashes.insert(address.clone(), hash) {
                        digest.toggle(&old);
                    }
                    digest.toggle(&hash);
                    shown.push(format!("+ {address}"));
                    records.insert(address, Some(bytes));
                }
                StateChange::Remove(address) => {
                    let address = address.to_string();
                    if let Some(old) = hashes.remove(&address) {
                        digest.toggle(&old);
                    }
                    shown.push(format!("- {address}"));
                    records.insert(address, None);
                }
            }
        }
        let write = Write {
            expected: tracked.serial,
            serial: tracked.serial + changes.len() as u64,
            records: records.into_iter().collect(),
            replace_all: false,
            resources: hashes.len() as u64,
            digest: digest.render(),
            key: None,
            encryption: None,
            lineage: None,
            changes: shown,
            command: self.writer.lock.holder.clone(),
            carried: Vec::new(),
        };
        let serial = self.commit(write)?;
        tracked.serial = serial;
        tracked.hashes = hashes;
        tracked.digest = digest;
        Ok(serial)
    }
}

/// The lock as `dbplan state unlock` finds it.
pub fn lock_status(location: &PgLocation) -> Result<LockStatus, StateError> {
    let backend = Backend::new(location)?;
    backend.block(|shared| async move {
        if !tables_exist(&shared).await? {
            return Ok(LockStatus::Unlocked);
        }
        let states = shared.table("states");
        let location = &shared.location;
        shared
            .transaction("cannot read the state's lock", async |transaction| {
                let rows = transaction
                    .query_typed(
                        &format!(
                            "SELECT lock_holder, lock_expires > now() FROM {states} WHERE name = $1"
                        ),
                        &[(&location.state, Type::TEXT)],
                    )
                    .await
                    .map_err(|error| {
                        query_error(location, "cannot read the state's lock", &error)
                    })?;
                let Some(row) = rows.first() else {
                    return Ok(LockStatus::Unlocked);
                };
                let holder: Option<String> = column(location, row, 0)?;
                let live: Option<bool> = column(location, row, 1)?;
                let Some(holder) = holder else {
                    return Ok(LockStatus::Unlocked);
                };
                let Ok(parsed) = serde_json::from_str::<Holder>(&holder) else {
                    return Ok(LockStatus::Unreadable(holder));
                };
                let mut info = parsed.lock.clone();
                info.holder = format!("{} (user {})", info.holder, parsed.user);
                Ok(if live == Some(true) {
                    LockStatus::Held(info)
                } else {
                    LockStatus::Stale(info)
                })
            })
            .await
    })
}

/// Removes the lock whoever holds it, and bumps the fencing token so that its holder, if it
/// still runs, can write nothing more.
pub fn force_unlock(location: &PgLocation) -> Result<(), StateError> {
    let backend = Backend::new(location)?;
    backend.block(|shared| async move {
        let states = shared.table("states");
        let location = &shared.location;
        shared
            .transaction("cannot remove the state's lock", async |transaction| {
                transaction
                    .query_typed(
                        &format!(
                            "UPDATE {states} SET lock_holder = NULL, lock_expires = NULL, lock_token = lock_token + 1 WHERE name = $1"
                        ),
                        &[(&location.state, Type::TEXT)],
                    )
                    .await
                    .map_err(|error| query_error(location, "cannot remove the state's lock", &error))?;
                Ok(())
            })
            .await
    })
}

/// The newest `limit` committed changes, newest first.
pub fn history(location: &PgLocation, limit: u32) -> Result<Vec<HistoryEntry>, StateError> {
    let backend = Backend::new(location)?;
    backend.block(|shared| async move {
        if !tables_exist(&shared).await? {
            return Ok(Vec::new());
        }
        let history = shared.table("history");
        let location = &shared.location;
        let limit = i64::from(limit);
        let rows = shared
            .transaction("cannot read the state's history", async |transaction| {
                transaction
                    .query_typed(
                        &format!(
                            "SELECT serial, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), db_user, os_user, host, pid, command, plan, changes FROM {history} WHERE state = $1 ORDER BY id DESC LIMIT $2"
                        ),
                        &[(&location.state, Type::TEXT), (&limit, Type::INT8)],
                    )
                    .await
                    .map_err(|error| query_error(location, "cannot read the state's history", &error))
            })
            .await?;
        rows.iter()
            .map(|row| {
                let changes: String = column(location, row, 8)?;
                Ok(HistoryEntry {
                    serial: serial_of(location, column(location, row, 0)?)?,
                    at: column(location, row, 1)?,
                    db_user: column(location, row, 2)?,
                    os_user: column(location, row, 3)?,
                    host: column(location, row, 4)?,
                    pid: u32::try_from(column::<i64>(location, row, 5)?).map_err(|_| {
                        corrupted(location, "a history row's pid is not a process id")
                    })?,
                    command: column(location, row, 6)?,
                    plan: column(location, row, 7)?,
                    changes: serde_json::from_str(&changes).map_err(|error| {
                        corrupted(location, format!("a history row's changes: {error}"))
                    })?,
                })
            })
            .collect()
    })
}
