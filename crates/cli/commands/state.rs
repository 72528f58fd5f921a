//! `dbplan state list | show ADDR | rm ADDR | unlock [--force] | check | restore [SERIAL]
//! | export | import FILE | migrate --to STATE | history | encrypt | decrypt | rekey`.

use crate::exit::Outcome;
use crate::shared;
use dbplan_core::ResourceAddress;
use dbplan_diagnostics::escape::Escaped;
use dbplan_state::{
    EncryptionChange, Exported, KMS_KEY_VARIABLE, LockStatus, NEW_KMS_KEY_VARIABLE,
    NEW_PASSPHRASE_VARIABLE, PASSPHRASE_VARIABLE, Passphrase, ReadState, SerialChoice, SledStore,
    Snapshot, StateError, StateLocation, StateStore, Store,
};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The arguments of `dbplan state`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The state: a directory (an embedded sled database) or a `postgres://` URL; `./state`
    /// when neither this nor `DBPLAN_STATE` is set.
    #[arg(long, env = "DBPLAN_STATE", global = true)]
    state: Option<PathBuf>,
    #[command(subcommand)]
    command: StateCommand,
}

#[derive(Debug, clap::Subcommand)]
enum StateCommand {
    /// Every resource address in the state.
    List,
    /// One resource as recorded (secrets shown as `(sensitive)`).
    Show {
        /// The address, e.g. `TenantDatabase/billing/database`.
        address: String,
    },
    /// Forget a resource: remove it from the state, leave the object where it is.
    Rm {
        /// The address.
        address: String,
    },
    /// Remove the state lock: a stale one (its process is gone), or any with `--force`.
    Unlock {
        /// Remove the lock even though its holder may still run.
        #[arg(long)]
        force: bool,
    },
    /// Verify the state, its head and its backups; change nothing (exit 1 on damage).
    Check,
    /// Bring back a backup: the newest good one, or the one of SERIAL.
    Restore {
        /// The serial of the backup (`dbplan state check` lists them).
        serial: Option<u64>,
        /// Restore even a backup of another state (another lineage).
        #[arg(long)]
        force: bool,
        /// Take the database itself as the state, checked against the head record it holds:
        /// the way back when head.json and every backup are gone or damaged.
        #[arg(long)]
        from_database: bool,
    },
    /// Write the whole state as JSON, keeping lineage and serial.
    Export {
        /// Write to this file (mode 0600, with secrets and key, importable; an encrypted
        /// state's stay encrypted); without it the JSON goes to stdout with secrets shown as
        /// `(sensitive)`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Include the secrets and the key in plaintext (with stdout, or decrypted with --out).
        #[arg(long)]
        show_sensitive: bool,
    },
    /// Replace the state with an export, keeping its lineage and serial.
    Import {
        /// A file `dbplan state export --out` wrote.
        file: PathBuf,
        /// Import even an export of another state, or one that is not newer.
        #[arg(long)]
        force: bool,
    },
    /// Copy the whole state to another location (a directory or a `postgres://` URL),
    /// keeping its lineage, serial, key, encryption and history; the state here is left as it
    /// is.
    Migrate {
        /// Where the state goes: a directory, or a `postgres://` URL.
        #[arg(long, value_name = "STATE")]
        to: PathBuf,
        /// Replace a state already there even when it is another one (another lineage) or
        /// not older.
        #[arg(long)]
        force: bool,
    },
    /// The committed changes of the state, newest first: serial, when, who, where, which
    /// command and plan, and what it wrote.
    History {
        /// How many to show.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// As JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Encrypt the state's secrets and key at rest with the passphrase in
    /// DBPLAN_STATE_PASSPHRASE, or under a data key of the AWS KMS key DBPLAN_STATE_KMS_KEY
    /// names (every record and backup is rewritten).
    Encrypt,
    /// Turn encryption off: write the secrets in plaintext again (DBPLAN_STATE_PASSPHRASE, or
    /// AWS KMS, opens the state).
    Decrypt,
    /// Encrypt under a new passphrase, DBPLAN_STATE_NEW_PASSPHRASE, with a new salt, or under
    /// a new data key of the AWS KMS key DBPLAN_STATE_NEW_KMS_KEY names
    /// (DBPLAN_STATE_PASSPHRASE, or AWS KMS, opens the state).
    Rekey,
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let location = shared::state_location(args.state.as_deref())?;
    let directory = &location;
    match args.command {
        StateCommand::List => list(directory),
        StateCommand::Show { address } => show(directory, &address),
        StateCommand::Rm { address } => rm(directory, &address),
        StateCommand::Unlock { force } => unlock(directory, force),
        StateCommand::Check => check(directory),
        StateCommand::Restore {
            serial,
            force,
            from_database,
        } => restore(directory, serial, force, from_database),
        StateCommand::Export {
            out,
            show_sensitive,
        } => export(directory, out.as_deref(), show_sensitive),
        StateCommand::Import { file, force } => import(directory, &file, force),
        StateCommand::Migrate { to, force } => migrate(directory, &to, force),
        StateCommand::History { limit, json } => history(directory, limit, json),
        StateCommand::Encrypt => change_encryption(directory, Change::Encrypt),
        StateCommand::Decrypt => change_encryption(directory, Change::Decrypt),
        StateCommand::Rekey => change_encryption(directory, Change::Rekey),
    }
}

/// Opens an existing state for `holder`; `None` (after saying so) when there is none.
fn open_existing(directory: &StateLocation, holder: &str) -> anyhow::Result<Option<Store>> {
    if !directory.exists()? {
        eprintln!("error: no state at {}", Escaped(directory));
        return Ok(None);
    }
    Ok(Some(shared::open_state(directory, holder)?))
}

/// Reads an existing state, verified, without changing it; `None` (after saying so) when
/// there is none.
fn read_existing(directory: &StateLocation, holder: &str) -> anyhow::Result<Option<Snapshot>> {
    match directory.read(holder)? {
        Some(read) => Ok(Some(read.snapshot)),
        None => {
            eprintln!("error: no state at {}", Escaped(directory));
            Ok(None)
        }
    }
}

/// The address `text` names in state, which records each address under its text exactly: so
/// only that spelling finds it (not another spelling of the kind, nor text that is no address).
fn recorded_address(text: &str) -> Option<ResourceAddress> {
    text.parse::<ResourceAddress>()
        .ok()
        .filter(|address| address.to_string() == text)
}

fn not_found(directory: &StateLocation, address: &str) -> Outcome {
    eprintln!(
        "error: no resource {} in the state at {}; `dbplan state list` shows what it holds",
        Escaped(address),
        Escaped(directory)
    );
    Outcome::Failure
}

fn print(text: &str) -> anyhow::Result<()> {
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// Every address in state, with its status.
fn list(directory: &StateLocation) -> anyhow::Result<Outcome> {
    let Some(read) = directory.read("dbplan state list")? else {
        eprintln!("no state at {} yet", Escaped(directory));
        return Ok(Outcome::Success);
    };
    let snapshot = read.snapshot;
    // Listed in the order of the addresses' text, as state stores them (the map's own order
    // is the kind's, then the name's).
    let mut listed: Vec<(String, &dbplan_state::ResourceState)> = snapshot
        .resources
        .iter()
        .map(|(address, resource)| (address.to_string(), resource))
        .collect();
    listed.sort_by(|(a, _), (b, _)| a.cmp(b));
    let mut out = String::new();
    for (address, resource) in &listed {
        match resource.status {
            dbplan_state::Status::Ready => out.push_str(&format!("{}\n", Escaped(address))),
            status => out.push_str(&format!("{} ({})\n", Escaped(address), status.as_str())),
        }
    }
    print(&out)?;
    eprintln!(
        "{} resources in {} (lineage {}, serial {})",
        snapshot.resources.len(),
        Escaped(directory),
        Escaped(&snapshot.lineage),
        snapshot.serial
    );
    Ok(Outcome::Success)
}

/// One resource: provider id, status, lifecycle, attributes and outputs (secrets shown as
/// `(sensitive)`).
fn show(directory: &StateLocation, address: &str) -> anyhow::Result<Outcome> {
    let Some(snapshot) = read_existing(directory, "dbplan state show")? else {
        return Ok(Outcome::Failure);
    };
    let Some(resource) = recorded_address(address).and_then(|key| snapshot.resources.get(&key))
    else {
        return Ok(not_found(directory, address));
    };
    let mut out = format!("# {}\n", Escaped(&resource.address));
    out.push_str(&format!("kind        = {}\n", resource.kind));
    if let Some(id) = &resource.provider_id {
        out.push_str(&format!("provider_id = {}\n", Escaped(id)));
    }
    out.push_str(&format!("status      = {}\n", resource.status.as_str()));
    if resource.lifecycle.prevent_destroy {
        out.push_str("prevent_destroy = true\n");
    }
    if resource.lifecycle.deletion_protection {
        out.push_str("deletion_protection = true\n");
    }
    for (title, values) in [
        ("attributes", &resource.attributes),
        ("outputs", &resource.outputs),
    ] {
        if values.is_empty() {
            continue;
        }
        out.push_str(&format!("{title}:\n"));
        for (name, value) in values {
            out.push_str(&format!(
                "  {} = {}\n",
                Escaped(name),
                Escaped(value.display())
            ));
        }
    }
    if !resource.dependencies.is_empty() {
        out.push_str(&format!(
            "depends on: {}\n",
            Escaped(
                resource
                    .dependencies
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        ));
    }
    print(&out)?;
    Ok(Outcome::Success)
}

/// Forgets a resource: removes it from state and leaves the object where it is.
fn rm(directory: &StateLocation, address: &str) -> anyhow::Result<Outcome> {
    let Some(store) = open_existing(directory, "dbplan state rm")? else {
        return Ok(Outcome::Failure);
    };
    let Some(key) = recorded_address(address) else {
        return Ok(not_found(directory, address));
    };
    match store.remove(&key) {
        Ok(serial) => {
            store.close()?;
            eprintln!(
                "removed {} from the state (serial {serial}); the object itself was not touched",
                Escaped(address)
            );
            Ok(Outcome::Success)
        }
        Err(dbplan_state::StateError::NotFound { .. }) => Ok(not_found(directory, address)),
        Err(error) => Err(error.into()),
    }
}

/// Removes the lock after saying what it removes: a stale lock always, a live one only with
/// `--force`. A PostgreSQL state's lock is stale once its lease expired; removing it bumps its
/// fencing token, so a holder that still runs can write nothing more.
fn unlock(directory: &StateLocation, force: bool) -> anyhow::Result<Outcome> {
    match directory.lock_status()? {
        LockStatus::Unlocked => {
            eprintln!("the state at {} is not locked", Escaped(directory));
            Ok(Outcome::Success)
        }
        LockStatus::Stale(holder) => {
            eprintln!(
                "removing the stale lock of {}: {}",
                Escaped(holder.describe()),
                match directory {
                    StateLocation::Local(_) => "that process no longer runs",
                    StateLocation::Postgres(_) => "its lease expired without being renewed",
                }
            );
            directory.force_unlock()?;
            Ok(Outcome::Success)
        }
        LockStatus::Unreadable(reason) => {
            eprintln!("removing an unreadable lock ({})", Escaped(reason));
            directory.force_unlock()?;
            Ok(Outcome::Success)
        }
        LockStatus::Held(holder) if force => {
            eprintln!(
                "removing the lock of {}, which may still be running{}",
                Escaped(holder.describe()),
                match directory {
                    StateLocation::Local(_) => ": two writers can now change the state at once",
                    StateLocation::Postgres(_) =>
                        " (it can write nothing more: its next write is refused)",
                }
            );
            directory.force_unlock()?;
            Ok(Outcome::Success)
        }
        LockStatus::Held(holder) => {
            eprintln!(
                "error: the state is locked by {}, which is still running (or runs on another host); wait for it, or use --force if you are sure it is gone",
                Escaped(holder.describe())
            );
            Ok(Outcome::Failure)
        }
    }
}

/// Verifies the state, its head and every backup without changing anything; exit 1 when any
/// of them is damaged.
fn check(location: &StateLocation) -> anyhow::Result<Outcome> {
    if !location.exists()? {
        eprintln!("error: no state at {}", Escaped(location));
        return Ok(Outcome::Failure);
    }
    let directory = match location {
        StateLocation::Local(directory) => directory.as_path(),
        StateLocation::Postgres(_) => return check_postgres(location),
    };
    let report = SledStore::check(directory)?;
    let mut damaged = false;
    match &report.state {
        Ok(read) => println!(
            "state: good (lineage {}, serial {}, {} resources)",
            Escaped(&read.snapshot.lineage),
            read.snapshot.serial,
            read.snapshot.resources.len()
        ),
        Err(
            error @ (StateError::PassphraseMissing { .. } | StateError::WrongPassphrase { .. }),
        ) => {
            println!("state: cannot be opened: {}", Escaped(error));
            return Ok(Outcome::Failure);
        }
        Err(error) => {
            damaged = true;
            println!("state: DAMAGED: {}", Escaped(error));
        }
    }
    if report.backups.is_empty() {
        println!("backups: none");
    }
    for (backup, verdict) in &report.backups {
        match verdict {
            Ok(()) => println!("backup serial {}: good", backup.serial),
            Err(what) => {
                damaged = true;
                println!(
                    "backup serial {}: DAMAGED ({}): {}",
                    backup.serial,
                    Escaped(backup.path.display()),
                    Escaped(what)
                );
            }
        }
    }
    if damaged {
        eprintln!(
            "error: damage found in {}; `dbplan state restore [SERIAL]` brings back a good backup (the damaged database is kept aside)",
            Escaped(report.directory.display())
        );
        return Ok(Outcome::Failure);
    }
    Ok(Outcome::Success)
}

/// `state check` of a PostgreSQL state: every record against its checksum and the state's
/// head (count and digest); its backups are the database server's.
fn check_postgres(location: &StateLocation) -> anyhow::Result<Outcome> {
    match location.read("dbplan state check") {
        Ok(Some(read)) => {
            println!(
                "state: good (lineage {}, serial {}, {} resources)",
                Escaped(&read.snapshot.lineage),
                read.snapshot.serial,
                read.snapshot.resources.len()
            );
            println!(
                "backups: kept by the database server (its own backups); `dbplan state history` lists the committed changes"
            );
            Ok(Outcome::Success)
        }
        Ok(None) => {
            eprintln!("error: no state at {}", Escaped(location));
            Ok(Outcome::Failure)
        }
        Err(
            error @ (StateError::PassphraseMissing { .. } | StateError::WrongPassphrase { .. }),
        ) => {
            println!("state: cannot be opened: {}", Escaped(&error));
            Ok(Outcome::Failure)
        }
        Err(error @ StateError::Corrupted { .. }) => {
            println!("state: DAMAGED: {}", Escaped(&error));
            eprintln!(
                "error: damage found in {}; bring the tables back from the server's backups, or `dbplan state import` an export",
                Escaped(location)
            );
            Ok(Outcome::Failure)
        }
        Err(error) => Err(error.into()),
    }
}

/// Brings back a backup: the newest good one, or the one of `serial`; or, with
/// `from_database`, the database itself as it verifies against its own head record.
fn restore(
    location: &StateLocation,
    serial: Option<u64>,
    force: bool,
    from_database: bool,
) -> anyhow::Result<Outcome> {
    let directory = match location {
        StateLocation::Local(directory) => directory.as_path(),
        StateLocation::Postgres(_) => {
            eprintln!(
                "error: a PostgreSQL state keeps no backups of its own: bring its tables back from the database server's backups, or `dbplan state import` an export (`dbplan state history` shows its committed changes)"
            );
            return Ok(Outcome::Failure);
        }
    };
    if from_database {
        return restore_from_database(directory, serial, force);
    }
    let backups = SledStore::backups(directory)?;
    let mut skipped = Vec::new();
    let mut chosen = None;
    for backup in backups.iter().rev() {
        if serial.is_some_and(|wanted| wanted != backup.serial) {
            continue;
        }
        match dbplan_state::export::read_backup(backup) {
            Ok(exported) => {
                chosen = Some((backup, exported));
                break;
            }
            Err(what) => skipped.push((backup, what)),
        }
    }
    for (backup, what) in &skipped {
        eprintln!(
            "warning: backup serial {} is damaged ({}), skipped",
            backup.serial,
            Escaped(what)
        );
    }
    let Some((backup, exported)) = chosen else {
        let available: Vec<String> = backups.iter().map(|b| b.serial.to_string()).collect();
        eprintln!(
            "error: no good backup{} in {}; backups there: {}",
            serial
                .map(|s| format!(" of serial {s}"))
                .unwrap_or_default(),
            Escaped(directory.display()),
            if available.is_empty() {
                "none".to_owned()
            } else {
                available.join(", ")
            }
        );
        // With no backup to go back to, the database may still vouch for itself.
        if serial.is_none()
            && let Ok(Some(alone)) = SledStore::database_alone(directory, "dbplan state restore")
        {
            eprintln!(
                "help: the database itself verifies against its own head record (serial {}, {} resources); `dbplan state restore --from-database` takes it as the state",
                alone.snapshot.serial,
                alone.snapshot.resources.len()
            );
        }
        return Ok(Outcome::Failure);
    };
    let replaced = SledStore::replace(
        directory,
        "dbplan state restore",
        &exported,
        SerialChoice::AboveCurrent,
        force,
    )?;
    eprintln!(
        "restored the backup of serial {} ({} resources); the state is now at serial {}{}",
        backup.serial,
        exported.snapshot.resources.len(),
        replaced.serial,
        kept_aside(&replaced)
    );
    Ok(Outcome::Success)
}

/// `state restore --from-database`: the way back when `head.json` and every backup are gone
/// or damaged but the database is intact. The database's records are checked against the head
/// record stored with them; what was written after that head cannot be checked without the
/// mirror, so the message says to compare with `dbplan plan`.
fn restore_from_database(
    directory: &Path,
    serial: Option<u64>,
    force: bool,
) -> anyhow::Result<Outcome> {
    if serial.is_some() {
        eprintln!(
            "error: --from-database takes the database as it stands; it has no SERIAL to choose (leave it out, or restore a backup without --from-database)"
        );
        return Ok(Outcome::Failure);
    }
    let Some(alone) = SledStore::database_alone(directory, "dbplan state restore")? else {
        eprintln!(
            "error: the database in {} is missing or empty; there is nothing to restore from it (`dbplan state restore` without --from-database uses a backup)",
            Escaped(directory.display())
        );
        return Ok(Outcome::Failure);
    };
    let replaced = SledStore::replace(
        directory,
        "dbplan state restore",
        &alone,
        SerialChoice::AboveCurrent,
        force,
    )?;
    eprintln!(
        "restored the state from its own database (serial {}, {} resources, every record agreeing with the head record it holds); the state is now at serial {}{}",
        alone.snapshot.serial,
        alone.snapshot.resources.len(),
        replaced.serial,
        kept_aside(&replaced)
    );
    eprintln!(
        "warning: without head.json or a backup, changes written after serial {} cannot be ruled out lost; run `dbplan plan` to compare the state with what exists",
        alone.snapshot.serial
    );
    Ok(Outcome::Success)
}

/// Writes the whole state as JSON: to `out` (0600, with its secrets and key), or to stdout,
/// where secrets read `(sensitive)` unless `show_sensitive`.
fn export(
    directory: &StateLocation,
    out: Option<&Path>,
    show_sensitive: bool,
) -> anyhow::Result<Outcome> {
    let Some(read) = directory.read("dbplan state export")? else {
        eprintln!("error: no state at {}", Escaped(directory));
        return Ok(Outcome::Failure);
    };
    let full = out.is_some() || show_sensitive;
    let key = match (&read.key, full) {
        (Some(key), true) => Some(key),
        (None, true) => anyhow::bail!(
            "the state at {} has no key yet (its creation was interrupted); run `dbplan apply` or `dbplan plan --out` once, then export",
            Escaped(directory)
        ),
        (_, false) => None,
    };
    // An encrypted state's export keeps its secrets encrypted unless they are asked for.
    let cipher = read.cipher.as_ref().filter(|_| !show_sensitive);
    let text = match (key, cipher) {
        (Some(key), Some(cipher)) => {
            dbplan_state::export::to_sealed_text(&read.snapshot, key, cipher)?
        }
        _ => dbplan_state::export::to_text(&read.snapshot, key)?,
    };
    match out {
        Some(out) => {
            dbplan_state::write_private_file(out, text.as_bytes()).map_err(|error| {
                anyhow::anyhow!("cannot write {}: {error}", Escaped(out.display()))
            })?;
            eprintln!(
                "exported serial {} ({} resources) to {} (mode 0600: it holds the state's secrets{})",
                read.snapshot.serial,
                read.snapshot.resources.len(),
                Escaped(out.display()),
                if cipher.is_some() {
                    ", encrypted: importing it needs DBPLAN_STATE_PASSPHRASE"
                } else {
                    ""
                }
            );
        }
        None => {
            print(&text)?;
            if !full {
                eprintln!(
                    "secrets are shown as (sensitive): this export cannot be imported; use --out FILE for one that can"
                );
            }
        }
    }
    Ok(Outcome::Success)
}

/// Replaces the state with an export, keeping its lineage and serial.
fn import(directory: &StateLocation, file: &Path, force: bool) -> anyhow::Result<Outcome> {
    // The same rules as every input: no FIFO or device, nothing over the input cap.
    let cap = dbplan_manifest::input::max_input_bytes()?;
    let text = dbplan_manifest::input::read_bounded_text(file, cap)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", Escaped(file.display())))?;
    let exported = match dbplan_state::export::from_text(&text) {
        Ok(exported) => exported,
        Err(what) => {
            eprintln!(
                "error: {} is not a usable state export: {}",
                Escaped(file.display()),
                Escaped(&what)
            );
            return Ok(Outcome::Failure);
        }
    };
    if exported.is_sealed() && Passphrase::from_env(PASSPHRASE_VARIABLE).is_none() {
        eprintln!(
            "error: {} is the export of an encrypted state; set {PASSPHRASE_VARIABLE} to its passphrase",
            Escaped(file.display())
        );
        return Ok(Outcome::Failure);
    }
    let replaced =
        directory.replace("dbplan state import", &exported, SerialChoice::Keep, force)?;
    eprintln!(
        "imported lineage {} at serial {} ({} resources{}){}",
        Escaped(&exported.snapshot.lineage),
        replaced.serial,
        exported.snapshot.resources.len(),
        if exported.is_encrypted() {
            ", encrypted"
        } else {
            ", not encrypted"
        },
        kept_aside(&replaced)
    );
    Ok(Outcome::Success)
}

/// "; the database it replaced is kept at …" when there was one.
fn kept_aside(replaced: &dbplan_state::Replaced) -> String {
    replaced
        .moved_aside
        .as_ref()
        .map(|aside| {
            format!(
                "; the database it replaced is kept at {}",
                Escaped(aside.display())
            )
        })
        .unwrap_or_default()
}

/// Which of `state encrypt`, `decrypt`, `rekey`.
#[derive(Clone, Copy)]
enum Change {
    Encrypt,
    Decrypt,
    Rekey,
}

/// A variable's value; `None` when it is unset or empty.
fn env_value(variable: &str) -> Option<String> {
    std::env::var(variable)
        .ok()
        .filter(|value| !value.is_empty())
}

/// A passphrase from `variable`, or `None` after saying that it must be set.
fn required_passphrase(variable: &str, purpose: &str) -> Option<Passphrase> {
    let passphrase = Passphrase::from_env(variable);
    if passphrase.is_none() {
        eprintln!("error: set {variable} to {purpose}");
    }
    passphrase
}

/// `state encrypt`, `decrypt`, `rekey`: rewrites the state, its key and its backups in the new
/// form, under the lock, and says what it left as it was. No passphrase is ever printed.
fn change_encryption(directory: &StateLocation, change: Change) -> anyhow::Result<Outcome> {
    if !directory.exists()? {
        eprintln!("error: no state at {}", Escaped(directory));
        return Ok(Outcome::Failure);
    }
    let Some((holder, current, change)) = requested_change(change) else {
        return Ok(Outcome::Failure);
    };
    let done = done_message(&change);
    let result = directory.change_encryption(holder, current, change)?;
    eprintln!(
        "{done} (serial {}, {} backups rewritten)",
        result.serial, result.backups_rewritten
    );
    for (path, why) in &result.backups_left {
        eprintln!(
            "warning: the backup {} could not be read ({}), so it was left in its old form",
            Escaped(path.display()),
            Escaped(why)
        );
    }
    for path in &result.kept_aside {
        eprintln!(
            "warning: {} is a database an earlier restore or import kept aside, left in its old form; remove it when it is no longer needed",
            Escaped(path.display())
        );
    }
    Ok(Outcome::Success)
}

/// What `state encrypt`, `decrypt` or `rekey` is asked to do, from the variables: the holder,
/// the current passphrase and the change; `None` after saying what to set.
fn requested_change(
    change: Change,
) -> Option<(&'static str, Option<Passphrase>, EncryptionChange)> {
    let kms_key = env_value(KMS_KEY_VARIABLE);
    let new_kms_key = env_value(NEW_KMS_KEY_VARIABLE);
    let chosen = match change {
        Change::Encrypt => {
            let change = if let Some(key) = kms_key {
                EncryptionChange::EncryptKms(key)
            } else {
                EncryptionChange::Encrypt(required_passphrase(
                    PASSPHRASE_VARIABLE,
                    &format!(
                        "the passphrase to encrypt the state with (or {KMS_KEY_VARIABLE} to the AWS KMS key to encrypt it under)"
                    ),
                )?)
            };
            ("dbplan state encrypt", None, change)
        }
        Change::Decrypt => (
            "dbplan state decrypt",
            Passphrase::from_env(PASSPHRASE_VARIABLE),
            EncryptionChange::Decrypt,
        ),
        Change::Rekey => {
            let new_passphrase = Passphrase::from_env(NEW_PASSPHRASE_VARIABLE);
            let change = match (new_kms_key, new_passphrase) {
                (Some(_), Some(_)) => {
                    eprintln!(
                        "error: both {NEW_KMS_KEY_VARIABLE} and {NEW_PASSPHRASE_VARIABLE} are set; set only the one to move the state to"
                    );
                    return None;
                }
                (Some(key), None) => EncryptionChange::RekeyKms(key),
                (None, Some(passphrase)) => EncryptionChange::Rekey(passphrase),
                (None, None) => {
                    eprintln!(
                        "error: set {NEW_PASSPHRASE_VARIABLE} to the new passphrase, or {NEW_KMS_KEY_VARIABLE} to the new AWS KMS key (and {PASSPHRASE_VARIABLE} to the current passphrase, if it has one)"
                    );
                    return None;
                }
            };
            (
                "dbplan state rekey",
                Passphrase::from_env(PASSPHRASE_VARIABLE),
                change,
            )
        }
    };
    Some(chosen)
}

/// What a change of encryption says when it is done.
fn done_message(change: &EncryptionChange) -> String {
    match change {
        EncryptionChange::Encrypt(_) => format!(
            "encrypted the state's secrets and key; every command that reads or writes it now needs {PASSPHRASE_VARIABLE}"
        ),
        EncryptionChange::EncryptKms(key) => format!(
            "encrypted the state's secrets and key under a data key of the AWS KMS key {}; every command that reads or writes it now needs AWS credentials allowed to decrypt with it",
            Escaped(key)
        ),
        EncryptionChange::Decrypt => {
            "decrypted the state: its secrets and key are stored in plaintext again".to_owned()
        }
        EncryptionChange::Rekey(_) => format!(
            "encrypted the state under the new passphrase (a new salt); set {PASSPHRASE_VARIABLE} to it from now on"
        ),
        EncryptionChange::RekeyKms(key) => format!(
            "encrypted the state under a new data key of the AWS KMS key {}",
            Escaped(key)
        ),
    }
}

/// `state migrate --to STATE`: the whole state copied, under the source's lock (nothing
/// changes it meanwhile), with its lineage, serial, key and encryption; the source is left as
/// it is.
fn migrate(from: &StateLocation, to: &Path, force: bool) -> anyhow::Result<Outcome> {
    let to = shared::state_location(Some(to))?;
    let same = match (from, &to) {
        (StateLocation::Local(a), StateLocation::Local(b)) => {
            a == b
                || a.canonicalize()
                    .ok()
                    .is_some_and(|a| b.canonicalize().ok() == Some(a))
        }
        (StateLocation::Postgres(a), StateLocation::Postgres(b)) => a.to_string() == b.to_string(),
        _ => false,
    };
    if same {
        eprintln!("error: --to names the state being migrated; give another location");
        return Ok(Outcome::Failure);
    }
    let Some(source) = open_existing(from, "dbplan state migrate")? else {
        return Ok(Outcome::Failure);
    };
    let read = ReadState {
        snapshot: source.snapshot()?,
        key: Some(source.key()?),
        cipher: source.cipher(),
    };
    let mut exported = Exported::from_read(&read)?;
    // The history comes along, oldest first.
    exported.history = source.history_entries()?;
    // The history of a PostgreSQL target names where the state came from.
    let holder = format!("dbplan state migrate (from {from})");
    let replaced = to.replace(&holder, &exported, SerialChoice::Keep, force)?;
    source.close()?;
    eprintln!(
        "migrated lineage {} at serial {} ({} resources{}) from {} to {}{}; point --state or DBPLAN_STATE at the new location. The state at {} was left as it is: remove it once the new one is in use",
        Escaped(&read.snapshot.lineage),
        replaced.serial,
        read.snapshot.resources.len(),
        if read.cipher.is_some() {
            ", encrypted"
        } else {
            ""
        },
        Escaped(from),
        Escaped(&to),
        kept_aside(&replaced),
        Escaped(from),
    );
    Ok(Outcome::Success)
}

/// `state history`: the state's committed changes, newest first.
fn history(location: &StateLocation, limit: u32, json: bool) -> anyhow::Result<Outcome> {
    if !location.exists()? {
        eprintln!("error: no state at {}", Escaped(location));
        return Ok(Outcome::Failure);
    }
    let entries = location.history(limit)?;
    let mut out = String::new();
    for entry in &entries {
        if json {
            out.push_str(&serde_json::to_string(entry)?);
            out.push('\n');
            continue;
        }
        out.push_str(&format!(
            "serial {}  {}  {}{} on {} pid {}  `{}`{}\n",
            entry.serial,
            Escaped(&entry.at),
            Escaped(&entry.os_user),
            entry
                .db_user
                .as_ref()
                .map(|role| format!(" (role {})", Escaped(role)))
                .unwrap_or_default(),
            Escaped(&entry.host),
            entry.pid,
            Escaped(&entry.command),
            entry
                .plan
                .as_ref()
                .map(|plan| format!("  plan {}", Escaped(plan)))
                .unwrap_or_default()
        ));
        for change in &entry.changes {
            out.push_str(&format!("    {}\n", Escaped(change)));
        }
    }
    print(&out)?;
    if entries.is_empty() {
        eprintln!("no changes recorded at {}", Escaped(location));
    }
    Ok(Outcome::Success)
}
