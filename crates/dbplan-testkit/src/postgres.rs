//! [`PgServer`]: a throwaway PostgreSQL server (`initdb` in a temporary directory, `pg_ctl` on
//! a free loopback port, optionally with TLS), and the binaries it needs.

use crate::{Reaper, StartError, free_port};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The superuser `initdb` creates; the server trusts it on loopback (`--auth=trust` for it
/// only through the Unix socket; TCP asks for a password, so password checks are real).
pub const SUPERUSER: &str = "dbplan_admin";

/// Its password, for the TCP connections the tests make.
pub const SUPERUSER_PASSWORD: &str = "admin-password-for-tests";

/// A name the TLS server's certificate holds that resolves nowhere (`.test` is reserved for
/// testing): a client reaches the server under that name only through a tunnel to its port.
pub const TLS_ONLY_NAME: &str = "postgres.dbplan.test";

/// A running throwaway PostgreSQL server.
#[derive(Debug)]
pub struct PgServer {
    /// Stops the server when dropped, or when this process ends without dropping it.
    stop: Option<Reaper>,
    directory: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

/// The directory holding `initdb` and `pg_ctl`.
pub fn pg_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("DBPLAN_PG_BIN") {
        let bin = PathBuf::from(bin);
        if bin.join("initdb").exists() {
            return Some(bin);
        }
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    candidates.sort_by_key(|bin| {
        bin.parent()
            .and_then(Path::file_name)
            .and_then(|name| name.to_str())
            .and_then(|name| name.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(bin) = candidates.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find(|dir| dir.join("initdb").exists()))
}

/// Whether this process runs as root (`initdb` and `postgres` refuse to).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// A command for a server binary: as root, it runs as the `postgres` system user that Debian's
/// package creates (the server refuses to run as root), through `runuser`.
fn server_command(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command, what: &str) -> Result<(), StartError> {
    let output = command
        .output()
        .map_err(|error| StartError(format!("{what}: {error}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(StartError(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}

impl PgServer {
    /// Creates and starts a server. Run as root, the server runs as the `postgres` user.
    pub fn start() -> Result<PgServer, StartError> {
        Self::start_with(false, false)
    }

    /// A server that syncs its writes to disk (`fsync` on, as in production), for benchmarks
    /// that time commits; the others run with `fsync=off`.
    pub fn start_durable() -> Result<PgServer, StartError> {
        Self::start_with(false, true)
    }

    /// A server that also accepts TLS, with a certificate for `localhost`, `127.0.0.1` and
    /// [`TLS_ONLY_NAME`] signed by a throwaway CA (made with the `openssl` command);
    /// [`PgServer::ca_file`] is the CA to verify it with.
    pub fn start_with_tls() -> Result<PgServer, StartError> {
        Self::start_with(true, false)
    }

    /// The CA certificate of a TLS server.
    pub fn ca_file(&self) -> PathBuf {
        self.directory.path().join("ca.pem")
    }

    // Long: initdb, the TLS and root set-up, then the start attempts on a free port, in the order a
    // throwaway server is prepared; the retry loop needs everything prepared before it.
    fn start_with(tls: bool, durable: bool) -> Result<PgServer, StartError> {
        let bin = pg_bin().ok_or_else(|| {
            StartError(
                "PostgreSQL server binaries (initdb, pg_ctl) not found; run `bash scripts/test.sh`, which installs Debian's postgresql package, or set DBPLAN_PG_BIN".to_owned(),
            )
        })?;
        let directory = tempfile::Builder::new()
            .prefix("dbplan-pg-")
            .tempdir()
            .map_err(|error| StartError(format!("temporary directory: {error}")))?;
        let data = directory.path().join("data");
        let password_file = directory.path().join("pwfile");
        std::fs::write(&password_file, SUPERUSER_PASSWORD)
            .map_err(|error| StartError(format!("password file: {error}")))?;
        if tls {
            make_certificates(directory.path())?;
        }
        if is_root() {
            run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(directory.path()),
                "chown to the postgres user",
            )?;
        }
        run(
            server_command(&bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    SUPERUSER,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ])
                .arg(format!("--pwfile={}", password_file.display()))
                .args(["-E", "UTF8", "--locale=C", "--no-sync"]),
            "initdb",
        )?;
        // A few attempts: another process may take the free port between the check and the
        // start.
        let mut last = StartError("not started".to_owned());
        for _ in 0..5 {
            let port = free_port()?;
            let mut options = format!(
                "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} -c fsync={} -c max_connections=400 -c shared_buffers=32MB -c log_statement={} -c log_line_prefix=%a:",
                directory.path().display(),
                if durable { "on" } else { "off" },
                if durable { "none" } else { "all" },
            );
            if tls {
                options.push_str(&format!(
                    " -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
                    directory.path().display()
                ));
            }
            let started = run(
                server_command(&bin.join("pg_ctl"))
                    .arg("-D")
                    .arg(&data)
                    .args(["-o", &options, "-w", "-t", "60", "-l"])
                    .arg(directory.path().join("server.log"))
                    .arg("start"),
                "pg_ctl start",
            );
            match started {
                Ok(()) => {
                    let mut stop = server_command(&bin.join("pg_ctl"));
                    stop.arg("-D")
                        .arg(&data)
                        .args(["-m", "immediate", "-w", "stop"]);
                    let stop = match Reaper::start(&stop) {
                        Ok(reaper) => reaper,
                        Err(error) => {
                            let _ = stop.output();
                            return Err(error);
                        }
                    };
                    return Ok(PgServer {
                        stop: Some(stop),
                        directory,
                        bin,
                        port,
                    });
                }
                Err(error) => last = error,
            }
        }
        Err(last)
    }

    /// The directory of the server's Unix socket (where `psql -h` finds it).
    pub fn socket_directory(&self) -> &Path {
        self.directory.path()
    }

    /// The server log, for a failing test to print.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.directory.path().join("server.log")).unwrap_or_default()
    }

    /// Runs SQL as the superuser through `psql` on the Unix socket and returns its output
    /// (tab-separated, unaligned, no headers).
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, StartError> {
        psql(&self.bin, self.directory.path(), self.port, database, sql)
    }

    /// [`PgServer::psql`] as a function of `(database, sql)` that another thread can keep (a
    /// fake service standing in front of this server); it fails once the server is gone.
    pub fn runner(&self) -> impl Fn(&str, &str) -> Result<String, String> + Send + Sync + 'static {
        let bin = self.bin.clone();
        let socket = self.directory.path().to_path_buf();
        let port = self.port;
        move |database: &str, sql: &str| {
            psql(&bin, &socket, port, database, sql).map_err(|StartError(message)| message)
        }
    }

    /// Sets the authentication method of every TCP (`host`) line of `pg_hba.conf`, e.g.
    /// `password` (cleartext) or `md5`, and reloads the configuration. The superuser's
    /// password keeps its SCRAM verifier: under `md5`, the server still uses SCRAM for it
    /// unless the password is set again with `password_encryption = md5`.
    pub fn set_host_auth(&self, method: &str) -> Result<(), StartError> {
        let file = self.directory.path().join("data/pg_hba.conf");
        let text = std::fs::read_to_string(&file)
            .map_err(|error| StartError(format!("read {}: {error}", file.display())))?;
        let rewritten: String = text
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.first() == Some(&"host") && fields.len() >= 5 {
                    format!("{} {method}\n", fields[..fields.len() - 1].join(" "))
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        std::fs::write(&file, rewritten)
            .map_err(|error| StartError(format!("write {}: {error}", file.display())))?;
        self.psql("postgres", "SELECT pg_reload_conf()").map(drop)
    }

    /// Restarts the server (`pg_ctl restart -m immediate`: every connection is cut, as in a
    /// crash), on the same port with the same settings, and waits until it accepts
    /// connections again.
    pub fn restart(&self) -> Result<(), StartError> {
        run(
            server_command(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.directory.path().join("data"))
                .args(["-m", "immediate", "-w", "-t", "60", "-l"])
                .arg(self.directory.path().join("server.log"))
                .arg("restart"),
            "pg_ctl restart",
        )?;
        if self.wait_ready(Duration::from_secs(60)) {
            Ok(())
        } else {
            Err(StartError(
                "the server did not come back after its restart".to_owned(),
            ))
        }
    }

    /// Waits until the server accepts connections again (after a restart, say).
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.psql("postgres", "select 1").is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

/// A CA and a server certificate for `localhost`/`127.0.0.1` signed by it, in `directory`.
fn make_certificates(directory: &Path) -> Result<(), StartError> {
    let openssl = |args: &[&str], what: &str| {
        run(
            Command::new("openssl").current_dir(directory).args(args),
            what,
        )
    };
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=dbplan test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        "openssl: the test CA",
    )?;
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
        "openssl: the server key",
    )?;
    std::fs::write(
        directory.join("server.ext"),
        "subjectAltName=DNS:localhost,DNS:postgres.dbplan.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
    )
    .map_err(|error| StartError(format!("certificate extensions: {error}")))?;
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.crt",
            "-extfile",
            "server.ext",
        ],
        "openssl: the server certificate",
    )?;
    // The server refuses a key file that others can read.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        directory.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .map_err(|error| StartError(format!("server key permissions: {error}")))
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Stops the server (`pg_ctl stop -m immediate`) and waits for it, before the data
        // directory is removed.
        drop(self.stop.take());
    }
}

/// `psql` as the superuser on the Unix socket in `socket`; its output, or its error.
fn psql(
    bin: &Path,
    socket: &Path,
    port: u16,
    database: &str,
    sql: &str,
) -> Result<String, StartError> {
    let output = Command::new(bin.join("psql"))
        .args(["-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"])
        .arg("-h")
        .arg(socket)
        .args([
            "-p",
            &port.to_string(),
            "-U",
            SUPERUSER,
            "-d",
            database,
            "-c",
            sql,
        ])
        .output()
        .map_err(|error| StartError(format!("psql: {error}")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(StartError(format!(
            "psql failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}
