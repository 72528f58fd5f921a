//! `dbplan state list | show ADDR | rm ADDR | unlock [--force] | check | restore [SERIAL]
//! | export | import FILE`.

use crate::exit;
use dbplan_diagnostics::escape::Escaped;
use dbplan_state::{LockStatus, SerialChoice, SledStore, Snapshot, StateLock, StateStore};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The state directory: `--state`, else `DBPLAN_STATE` (clap reads it), else `./state`.
pub fn directory(state: Option<PathBuf>) -> PathBuf {
    state.unwrap_or_else(|| PathBuf::from("state"))
}

/// Opens an existing state for `holder`; `None` (after saying so) when there is none.
fn open_existing(directory: &Path, holder: &str) -> anyhow::Result<Option<SledStore>> {
    if !SledStore::exists(directory) {
        eprintln!("error: no state at {}", Escaped(directory.display()));
        return Ok(None);
    }
    // A bad setting is refused before the state is opened.
    let keep = backups_kept()?;
    let mut store = SledStore::open(directory, holder)?;
    store.keep_backups(keep);
    Ok(Some(store))
}

/// Reads an existing state, verified, without changing it; `None` (after saying so) when
/// there is none.
fn read_existing(directory: &Path, holder: &str) -> anyhow::Result<Option<Snapshot>> {
    match SledStore::read(directory, holder)? {
        Some(read) => Ok(Some(read.snapshot)),
        None => {
            eprintln!("error: no state at {}", Escaped(directory.display()));
            Ok(None)
        }
    }
}

/// `DBPLAN_STATE_BACKUPS`: how many backups a state keeps (default 10, at least 1).
pub fn backups_kept() -> anyhow::Result<usize> {
    match std::env::var("DBPLAN_STATE_BACKUPS") {
        Err(_) => Ok(dbplan_state::DEFAULT_BACKUPS_KEPT),
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(count) if count >= 1 => Ok(count),
            _ => anyhow::bail!(
                "DBPLAN_STATE_BACKUPS is {:?}; set it to a whole number of backups to keep, at least 1",
                Escaped(&text)
            ),
        },
    }
}

fn not_found(directory: &Path, address: &str) -> u8 {
    eprintln!(
        "error: no resource {} in the state at {}; `dbplan state list` shows what it holds",
        Escaped(address),
        Escaped(directory.display())
    );
    exit::ERROR
}

fn print(text: &str) -> anyhow::Result<()> {
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// Every address in state, with its status.
pub fn list(directory: &Path) -> anyhow::Result<u8> {
    let Some(read) = SledStore::read(directory, "dbplan state list")? else {
        eprintln!("no state at {} yet", Escaped(directory.display()));
        return Ok(exit::SUCCESS);
    };
    let snapshot = read.snapshot;
    let mut out = String::new();
    for (address, resource) in &snapshot.resources {
        match resource.status {
            dbplan_state::Status::Ready => out.push_str(&format!("{}\n", Escaped(address))),
            status => out.push_str(&format!("{} ({})\n", Escaped(address), status.as_str())),
        }
    }
    print(&out)?;
    eprintln!(
        "{} resources in {} (lineage {}, serial {})",
        snapshot.resources.len(),
        Escaped(directory.display()),
        Escaped(&snapshot.lineage),
        snapshot.serial
    );
    Ok(exit::SUCCESS)
}

/// One resource: provider id, status, lifecycle, attributes and outputs (secrets shown as
/// `(sensitive)`).
pub fn show(directory: &Path, address: &str) -> anyhow::Result<u8> {
    let Some(snapshot) = read_existing(directory, "dbplan state show")? else {
        return Ok(exit::ERROR);
    };
    let Some(resource) = snapshot.resources.get(address) else {
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
            Escaped(resource.dependencies.join(", "))
        ));
    }
    print(&out)?;
    Ok(exit::SUCCESS)
}

/// Forgets a resource: removes it from state and leaves the object where it is.
pub fn rm(directory: &Path, address: &str) -> anyhow::Result<u8> {
    let Some(store) = open_existing(directory, "dbplan state rm")? else {
        return Ok(exit::ERROR);
    };
    match store.remove(address) {
        Ok(serial) => {
            store.close()?;
            eprintln!(
                "removed {} from the state (serial {serial}); the object itself was not touched",
                Escaped(address)
            );
            Ok(exit::SUCCESS)
        }
        Err(dbplan_state::StateError::NotFound { .. }) => Ok(not_found(directory, address)),
        Err(error) => Err(error.into()),
    }
}

/// Removes the lock after saying what it removes: a stale lock always, a live one only with
/// `--force`.
pub fn unlock(directory: &Path, force: bool) -> anyhow::Result<u8> {
    match StateLock::status(directory) {
        LockStatus::Unlocked => {
            eprintln!(
                "the state at {} is not locked",
                Escaped(directory.display())
            );
            Ok(exit::SUCCESS)
        }
        LockStatus::Stale(holder) => {
            eprintln!(
                "removing the stale lock of {}: that process no longer runs",
                Escaped(holder.describe())
            );
            StateLock::force_remove(directory)?;
            Ok(exit::SUCCESS)
        }
        LockStatus::Unreadable(reason) => {
            eprintln!("removing an unreadable lock file ({})", Escaped(reason));
            StateLock::force_remove(directory)?;
            Ok(exit::SUCCESS)
        }
        LockStatus::Held(holder) if force => {
            eprintln!(
                "removing the lock of {}, which may still be running: two writers can now change the state at once",
                Escaped(holder.describe())
            );
            StateLock::force_remove(directory)?;
            Ok(exit::SUCCESS)
        }
        LockStatus::Held(holder) => {
            eprintln!(
                "error: the state is locked by {}, which is still running (or runs on another host); wait for it, or use --force if you are sure it is gone",
                Escaped(holder.describe())
            );
            Ok(exit::ERROR)
        }
    }
}

/// Verifies the state, its head and every backup without changing anything; exit 1 when any
/// of them is damaged.
pub fn check(directory: &Path) -> anyhow::Result<u8> {
    if !SledStore::exists(directory) {
        eprintln!("error: no state at {}", Escaped(directory.display()));
        return Ok(exit::ERROR);
    }
    let report = SledStore::check(directory)?;
    let mut damaged = false;
    match &report.state {
        Ok(read) => println!(
            "state: good (lineage {}, serial {}, {} resources)",
            Escaped(&read.snapshot.lineage),
            read.snapshot.serial,
            read.snapshot.resources.len()
        ),
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
        return Ok(exit::ERROR);
    }
    Ok(exit::SUCCESS)
}

/// Brings back a backup: the newest good one, or the one of `serial`; or, with
/// `from_database`, the database itself as it verifies against its own head record.
pub fn restore(
    directory: &Path,
    serial: Option<u64>,
    force: bool,
    from_database: bool,
) -> anyhow::Result<u8> {
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
        return Ok(exit::ERROR);
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
    Ok(exit::SUCCESS)
}

/// `state restore --from-database`: the way back when `head.json` and every backup are gone
/// or damaged but the database is intact. The database's records are checked against the head
/// record stored with them; what was written after that head cannot be checked without the
/// mirror, so the message says to compare with `dbplan plan`.
fn restore_from_database(directory: &Path, serial: Option<u64>, force: bool) -> anyhow::Result<u8> {
    if serial.is_some() {
        eprintln!(
            "error: --from-database takes the database as it stands; it has no SERIAL to choose (leave it out, or restore a backup without --from-database)"
        );
        return Ok(exit::ERROR);
    }
    let Some(alone) = SledStore::database_alone(directory, "dbplan state restore")? else {
        eprintln!(
            "error: the database in {} is missing or empty; there is nothing to restore from it (`dbplan state restore` without --from-database uses a backup)",
            Escaped(directory.display())
        );
        return Ok(exit::ERROR);
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
    Ok(exit::SUCCESS)
}

/// Writes the whole state as JSON: to `out` (0600, with its secrets and key), or to stdout,
/// where secrets read `(sensitive)` unless `show_sensitive`.
pub fn export(directory: &Path, out: Option<&Path>, show_sensitive: bool) -> anyhow::Result<u8> {
    let Some(read) = SledStore::read(directory, "dbplan state export")? else {
        eprintln!("error: no state at {}", Escaped(directory.display()));
        return Ok(exit::ERROR);
    };
    let full = out.is_some() || show_sensitive;
    let key = match (&read.key, full) {
        (Some(key), true) => Some(key),
        (None, true) => anyhow::bail!(
            "the state at {} has no key yet (its creation was interrupted); run `dbplan apply` or `dbplan plan --out` once, then export",
            Escaped(directory.display())
        ),
        (_, false) => None,
    };
    let text = dbplan_state::export::to_text(&read.snapshot, key)?;
    match out {
        Some(out) => {
            dbplan_state::write_private_file(out, text.as_bytes()).map_err(|error| {
                anyhow::anyhow!("cannot write {}: {error}", Escaped(out.display()))
            })?;
            eprintln!(
                "exported serial {} ({} resources) to {} (mode 0600: it holds the state's secrets)",
                read.snapshot.serial,
                read.snapshot.resources.len(),
                Escaped(out.display())
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
    Ok(exit::SUCCESS)
}

/// Replaces the state with an export, keeping its lineage and serial.
pub fn import(directory: &Path, file: &Path, force: bool) -> anyhow::Result<u8> {
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
            return Ok(exit::ERROR);
        }
    };
    let replaced = SledStore::replace(
        directory,
        "dbplan state import",
        &exported,
        SerialChoice::Keep,
        force,
    )?;
    eprintln!(
        "imported lineage {} at serial {} ({} resources){}",
        Escaped(&exported.snapshot.lineage),
        replaced.serial,
        exported.snapshot.resources.len(),
        kept_aside(&replaced)
    );
    Ok(exit::SUCCESS)
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
