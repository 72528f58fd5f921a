//! `dbplan state list | show ADDR | rm ADDR | unlock [--force]`.

use crate::exit;
use dbplan_diagnostics::escape::Escaped;
use dbplan_state::{LockStatus, SledStore, StateLock, StateStore};
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
    Ok(Some(SledStore::open(directory, holder)?))
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
    if !SledStore::exists(directory) {
        eprintln!("no state at {} yet", Escaped(directory.display()));
        return Ok(exit::SUCCESS);
    }
    let store = SledStore::open(directory, "dbplan state list")?;
    let snapshot = store.snapshot()?;
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
    let Some(store) = open_existing(directory, "dbplan state show")? else {
        return Ok(exit::ERROR);
    };
    let snapshot = store.snapshot()?;
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
