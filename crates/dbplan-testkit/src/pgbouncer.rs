//! [`PgBouncer`]: Debian's `pgbouncer` in front of a [`crate::PgServer`], in transaction
//! pooling mode (each transaction may run on any server connection), as teams run it.

use crate::{PgServer, SUPERUSER, SUPERUSER_PASSWORD, StartError, free_port};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running pgbouncer; stopped when dropped.
#[derive(Debug)]
pub struct PgBouncer {
    child: Child,
    directory: tempfile::TempDir,
    pub port: u16,
}

/// The `pgbouncer` binary (Debian's package installs it in `/usr/sbin`).
pub fn pgbouncer_bin() -> Option<PathBuf> {
    ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

impl PgBouncer {
    /// Starts pgbouncer on a free loopback port in transaction mode, with two server
    /// connections at most, in front of database `postgres` of `server` (as its superuser).
    /// Clients connect without a password (`auth_type = any`); pgbouncer logs in to the server
    /// with the superuser's. Run as root, it runs as the `postgres` user (it refuses root).
    pub fn start_in_transaction_mode(server: &PgServer) -> Result<PgBouncer, StartError> {
        let bin = pgbouncer_bin().ok_or_else(|| {
            StartError(
                "pgbouncer not found; run `bash scripts/test.sh`, which installs Debian's pgbouncer package".to_owned(),
            )
        })?;
        let directory = tempfile::Builder::new()
            .prefix("dbplan-pgbouncer-")
            .tempdir()
            .map_err(|error| StartError(format!("temporary directory: {error}")))?;
        let port = free_port()?;
        let config = format!(
            "[databases]\npostgres = host=127.0.0.1 port={} dbname=postgres user={SUPERUSER} password={SUPERUSER_PASSWORD}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = any\npool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 100\nignore_startup_parameters = extra_float_digits\nlogfile = {log}\n",
            server.port,
            log = directory.path().join("pgbouncer.log").display()
        );
        let file = directory.path().join("pgbouncer.ini");
        std::fs::write(&file, config)
            .map_err(|error| StartError(format!("pgbouncer.ini: {error}")))?;
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0");
        let mut command = if root {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(directory.path())
                .status()
                .map_err(|error| StartError(format!("chown: {error}")))?;
            if !chown.success() {
                return Err(StartError(
                    "chown of pgbouncer's directory failed".to_owned(),
                ));
            }
            // setpriv executes pgbouncer in its place (no process in between to outlive).
            let mut command = Command::new("setpriv");
            command.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]);
            command.arg(&bin);
            command
        } else {
            Command::new(&bin)
        };
        let child = command
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| StartError(format!("pgbouncer: {error}")))?;
        let mut bouncer = PgBouncer {
            child,
            directory,
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = bouncer.child.try_wait() {
                return Err(StartError(format!(
                    "pgbouncer ended ({status}): {}",
                    bouncer.log()
                )));
            }
            if Instant::now() > deadline {
                return Err(StartError(format!(
                    "pgbouncer did not listen within 30 s: {}",
                    bouncer.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(bouncer)
    }

    /// pgbouncer's log, for a failing test to print.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.directory.path().join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
