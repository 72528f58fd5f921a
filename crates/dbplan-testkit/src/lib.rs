//! Test support: real components the tests start themselves.
//!
//! [`PgServer`] (`postgres`) is a throwaway PostgreSQL server: `initdb` in a temporary directory,
//! started with `pg_ctl` on a free loopback port, stopped and removed when dropped. The binaries
//! come from `DBPLAN_PG_BIN` (the test script sets it), else from the newest
//! `/usr/lib/postgresql/*/bin`, else from `PATH`; the test script installs Debian's
//! `postgresql` package when they are missing. [`MotoServer`] (`moto`) runs the AWS emulator,
//! [`FaultProxy`] (`fault_proxy`) injects throttling and 503s in front of it, and
//! [`digitalocean`] is a fake of DigitalOcean's API and [`kubernetes`] one of the Kubernetes
//! API server. This file keeps what they share: the
//! start error, free ports, and the `Reaper` that stops a server whose test was killed.

pub mod digitalocean;
mod fault_proxy;
pub mod kubernetes;
mod loopback;
mod moto;
mod pgbouncer;
mod postgres;
pub mod silent;
pub mod yaml;

pub use fault_proxy::FaultProxy;
pub use moto::{MotoServer, moto_bin};
pub use pgbouncer::{PgBouncer, pgbouncer_bin};
pub use postgres::{PgServer, SUPERUSER, SUPERUSER_PASSWORD, TLS_ONLY_NAME, pg_bin};

use std::net::TcpListener;
use std::process::Command;

/// Why a server could not be started.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// Runs a command when it is dropped, or else when this process ends, however it ends: a test
/// that panics without unwinding, or that nextest terminates when it overruns its slow-timeout
/// (SIGTERM, then SIGKILL), runs no `Drop`, and a server started with `pg_ctl` would run on
/// (`pg_ctl` puts the postmaster in a session of its own, out of reach of the signals sent to
/// the test's process group).
///
/// A `sh` in a process group of its own (so the signals sent to the test's group do not end
/// it) waits on a pipe whose only writer is this process: the pipe closes when this process
/// drops the `Reaper` or dies (the kernel closes its descriptors), and `sh` then runs the
/// command. Rust opens the pipe close-on-exec, so no other child inherits the writing end.
#[derive(Debug)]
struct Reaper {
    child: std::process::Child,
}

impl Reaper {
    fn start(command: &Command) -> Result<Reaper, StartError> {
        use std::os::unix::process::CommandExt;
        let child = Command::new("sh")
            .args(["-c", "read -r _ignored; exec \"$0\" \"$@\""])
            .arg(command.get_program())
            .args(command.get_args())
            .stdin(std::process::Stdio::piped())
            // Nothing of the test's output pipes: nextest waits for those to close.
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|error| StartError(format!("cannot start the clean-up watcher: {error}")))?;
        Ok(Reaper { child })
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        // Closing the pipe runs the command; waiting for it means it is done when this returns.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// A free loopback TCP port (the OS picks one; it is free again when this returns).
pub fn free_port() -> Result<u16, StartError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| StartError(format!("no free loopback port: {error}")))
}

/// Every file under `directory`, recursively (what a test searches for a secret that must not
/// be there).
pub fn files_under(directory: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(files_under(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Set in the child of [`a_reaper_runs_its_command_when_its_process_is_killed`]: the file
    /// its reaper touches.
    const REAPER_FILE: &str = "DBPLAN_TESTKIT_REAPER_FILE";

    /// A process that starts a reaper and is then killed with SIGKILL (no `Drop` runs): the
    /// reaper's command runs all the same, once the process is gone.
    #[test]
    fn a_reaper_runs_its_command_when_its_process_is_killed() {
        if let Some(file) = std::env::var_os(REAPER_FILE) {
            let mut touch = Command::new("touch");
            touch.arg(file);
            let reaper = Reaper::start(&touch).unwrap();
            std::mem::forget(reaper);
            let _ = Command::new("kill")
                .args(["-KILL", &std::process::id().to_string()])
                .status();
            unreachable!("killed");
        }
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("reaped");
        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "tests::a_reaper_runs_its_command_when_its_process_is_killed",
                "--test-threads=1",
            ])
            .env(REAPER_FILE, &file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "the child was to be killed: {status}");
        // The reaper is not this process's child: the file it touches is what can be seen.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !file.exists() {
            assert!(
                Instant::now() < deadline,
                "the reaper did not run its command within 60 s of its process's death"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
