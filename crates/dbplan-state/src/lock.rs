//! The state lock: a file next to the database, created exclusively, naming its holder.
//!
//! sled itself refuses a second process on the same database, but says nothing about who holds
//! it, and a killed process leaves no trace. The lock file names the holder (command, host,
//! pid, start time), is removed when the holder ends normally, and is recognised as stale when
//! it names a process of this host that no longer runs.

use crate::StateError;
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Who holds the lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// What the holder is doing, e.g. `dbplan apply`.
    pub holder: String,
    pub host: String,
    pub pid: u32,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub started: String,
}

impl LockInfo {
    /// A lock for this process.
    pub fn current(holder: impl Into<String>) -> Self {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        LockInfo {
            holder: holder.into(),
            host: hostname(),
            pid: std::process::id(),
            started: crate::time::format_utc(seconds),
        }
    }

    /// "`dbplan apply` (pid 4242 on build-7, since 2026-11-24T10:00:00Z)".
    pub fn describe(&self) -> String {
        format!(
            "`{}` (pid {} on {}, since {})",
            self.holder, self.pid, self.host, self.started
        )
    }

    /// Whether the holder is known to be gone: a process of this host that no longer runs.
    /// A lock held on another host cannot be checked and is never called stale.
    pub fn is_stale(&self) -> bool {
        self.host == hostname() && !process_runs(self.pid)
    }
}

/// What `dbplan state unlock` finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockStatus {
    Unlocked,
    Held(LockInfo),
    Stale(LockInfo),
    /// A lock file that cannot be read (written by a crash mid-write).
    Unreadable(String),
}

/// The operating-system user running dbplan: `USER` or `LOGNAME`, else the name of this
/// process's user id in `/etc/passwd`, else `uid N`.
pub(crate) fn os_user() -> String {
    if let Some(user) = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|user| !user.is_empty())
    {
        return user;
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next().map(str::to_owned))
        });
    let Some(uid) = uid else {
        return "unknown user".to_owned();
    };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.get(2) == Some(&uid.as_str())).then(|| fields[0].to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// The name of this host, from the kernel.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// Whether a process runs on this host (Linux: `/proc/<pid>` exists and is not a zombie).
fn process_runs(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the field after the parenthesised command name; `Z` is a zombie, which
        // holds no lock any more.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z"),
        Err(_) => false,
    }
}

/// Creates the lock file exclusively (mode 0600) and writes the holder durably.
fn create(path: &Path, info: &LockInfo) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let text = serde_json::to_string_pretty(info).map_err(std::io::Error::other)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// A held lock; dropping it removes the lock file.
#[derive(Debug)]
pub struct StateLock {
    path: PathBuf,
    info: LockInfo,
}

impl StateLock {
    /// The lock file of a state directory.
    pub fn path_in(directory: &Path) -> PathBuf {
        directory.join("dbplan.lock")
    }

    /// Takes the lock, or says who holds it (and whether that holder is gone).
    pub fn acquire(directory: &Path, info: LockInfo) -> Result<StateLock, StateError> {
        let path = Self::path_in(directory);
        // A lock released between a failed attempt and the look at its holder gets a second
        // attempt.
        for _ in 0..2 {
            match create(&path, &info) {
                Ok(()) => return Ok(StateLock { path, info }),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    match Self::status(directory) {
                        LockStatus::Unlocked => continue,
                        LockStatus::Held(holder) => {
                            return Err(StateError::Locked {
                                path: directory.to_path_buf(),
                                holder: holder.describe(),
                            });
                        }
                        LockStatus::Stale(holder) => {
                            return Err(StateError::StaleLock {
                                path: directory.to_path_buf(),
                                holder: holder.describe(),
                            });
                        }
                        LockStatus::Unreadable(reason) => {
                            return Err(StateError::StaleLock {
                                path: directory.to_path_buf(),
                                holder: format!("an unreadable lock file ({reason})"),
                            });
                        }
                    }
                }
                Err(source) => return Err(StateError::LockFile { path, source }),
            }
        }
        Err(StateError::LockFile {
            path,
            source: std::io::Error::other("the lock file keeps appearing and disappearing"),
        })
    }

    /// Who holds the lock of a state directory, if anyone.
    pub fn status(directory: &Path) -> LockStatus {
        let path = Self::path_in(directory);
        match std::fs::read_to_string(&path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => LockStatus::Unlocked,
            Err(error) => LockStatus::Unreadable(error.to_string()),
            Ok(text) => match serde_json::from_str::<LockInfo>(&text) {
                Ok(info) if info.is_stale() => LockStatus::Stale(info),
                Ok(info) => LockStatus::Held(info),
                Err(error) => LockStatus::Unreadable(error.to_string()),
            },
        }
    }

    /// Removes the lock file whoever holds it (`dbplan state unlock`); the caller has said what
    /// it removes.
    pub fn force_remove(directory: &Path) -> Result<(), StateError> {
        let path = Self::path_in(directory);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::LockFile { path, source }),
        }
    }

    pub fn info(&self) -> &LockInfo {
        &self.info
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Only our own lock is removed: a forced unlock may have handed it to someone else.
        if let Ok(text) = std::fs::read_to_string(&self.path)
            && serde_json::from_str::<LockInfo>(&text).is_ok_and(|info| info == self.info)
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
