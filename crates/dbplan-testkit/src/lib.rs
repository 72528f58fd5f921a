//! Test support: real components the tests start themselves.
//!
//! [`PgServer`] is a throwaway PostgreSQL server: `initdb` in a temporary directory, started
//! with `pg_ctl` on a free loopback port, stopped and removed when dropped. The binaries come
//! from `DBPLAN_PG_BIN` (the test script sets it), else from the newest
//! `/usr/lib/postgresql/*/bin`, else from `PATH`; the test script installs Debian's
//! `postgresql` package when they are missing.

pub mod digitalocean;
pub mod silent;
pub mod yaml;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Why a server could not be started.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// The superuser `initdb` creates; the server trusts it on loopback (`--auth=trust` for it
/// only through the Unix socket; TCP asks for a password, so password checks are real).
pub const SUPERUSER: &str = "dbplan_admin";
/// Its password, for the TCP connections the tests make.
pub const SUPERUSER_PASSWORD: &str = "admin-password-for-tests";

/// A running throwaway PostgreSQL server.
#[derive(Debug)]
pub struct PgServer {
    /// Stops the server when dropped, or when this process ends without dropping it.
    stop: Option<Reaper>,
    directory: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

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

/// A free loopback TCP port (the OS picks one; it is free again when this returns).
pub fn free_port() -> Result<u16, StartError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| StartError(format!("no free loopback port: {error}")))
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
        Self::start_with(false)
    }

    /// A server that also accepts TLS, with a certificate for `localhost` and `127.0.0.1`
    /// signed by a throwaway CA (made with the `openssl` command); [`PgServer::ca_file`] is
    /// the CA to verify it with.
    pub fn start_with_tls() -> Result<PgServer, StartError> {
        Self::start_with(true)
    }

    /// The CA certificate of a TLS server.
    pub fn ca_file(&self) -> PathBuf {
        self.directory.path().join("ca.pem")
    }

    // Long: initdb, the TLS and root set-up, then the start attempts on a free port, in the order a
    // throwaway server is prepared; the retry loop needs everything prepared before it.
    fn start_with(tls: bool) -> Result<PgServer, StartError> {
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
                "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} -c fsync=off -c max_connections=400 -c shared_buffers=32MB -c log_statement=all -c log_line_prefix=%a:",
                directory.path().display()
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
        let output = Command::new(self.bin.join("psql"))
            .args(["-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"])
            .arg("-h")
            .arg(self.directory.path())
            .args([
                "-p",
                &self.port.to_string(),
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
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
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

/// A moto server (AWS API emulator) on a free loopback port, stopped when dropped. The binary
/// comes from `DBPLAN_MOTO_SERVER` (the test script sets it), else `.venv/bin/moto_server`
/// under the workspace root; the test script installs it (pinned) in that virtualenv.
#[derive(Debug)]
pub struct MotoServer {
    child: std::process::Child,
    pub port: u16,
}

/// The moto_server binary, if installed.
pub fn moto_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DBPLAN_MOTO_SERVER") {
        let path = PathBuf::from(path);
        if path.exists() {
            return Some(path);
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server");
    root.exists().then_some(root)
}

/// Sends one HTTP/1.1 request to a loopback port and returns the status code.
fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    // The status line is enough (the server may keep the connection open after the body).
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n") && answer.len() < 1024 {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        answer.push(byte[0]);
    }
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))
}

impl MotoServer {
    /// Starts moto and waits until it answers.
    pub fn start() -> Result<MotoServer, StartError> {
        Self::start_logging(None)
    }

    /// Starts moto with its request log (one line per API call) written to `log`.
    pub fn start_logging(log: Option<&Path>) -> Result<MotoServer, StartError> {
        let bin = moto_bin().ok_or_else(|| {
            StartError(
                "moto_server not found; run `bash scripts/test.sh`, which installs it in .venv, or set DBPLAN_MOTO_SERVER".to_owned(),
            )
        })?;
        let port = free_port()?;
        let stderr = match log {
            Some(path) => std::process::Stdio::from(
                std::fs::File::create(path)
                    .map_err(|error| StartError(format!("moto log {}: {error}", path.display())))?,
            ),
            None => std::process::Stdio::null(),
        };
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|error| StartError(format!("moto_server: {error}")))?;
        let server = MotoServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http(port, "GET", "/moto-api/", "").is_ok() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(StartError(
            "moto_server did not answer within 30 s".to_owned(),
        ))
    }

    /// The endpoint URL (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Wipes every object (`POST /moto-api/reset`).
    pub fn reset(&self) -> Result<(), StartError> {
        match http(self.port, "POST", "/moto-api/reset", "{}") {
            Ok(200) => Ok(()),
            Ok(code) => Err(StartError(format!("moto reset answered {code}"))),
            Err(error) => Err(StartError(format!("moto reset: {error}"))),
        }
    }

    /// The environment a client needs to reach it: endpoint, dummy credentials, region, and no
    /// profile files or instance metadata from the machine.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ]
    }
}

impl Drop for MotoServer {
    // A test terminated by nextest runs no `Drop`: moto, a child in the test's process group,
    // gets the SIGTERM and SIGKILL nextest sends to that group.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP proxy on a free loopback port in front of a server (moto), which answers every
/// `every`-th request itself with a fault instead of forwarding it: alternately AWS's
/// `Throttling` error (HTTP 400) and an HTTP 503. Requests are handled one per connection
/// (`Connection: close`).
#[derive(Debug)]
pub struct FaultProxy {
    pub port: u16,
    injected: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FaultProxy {
    pub fn start(upstream: u16, every: usize) -> Result<FaultProxy, StartError> {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|error| StartError(format!("fault proxy: {error}")))?;
        let port = listener
            .local_addr()
            .map_err(|error| StartError(format!("fault proxy: {error}")))?
            .port();
        let injected = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicUsize::new(0));
        let faulted = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        let (thread_injected, thread_stop) = (Arc::clone(&injected), Arc::clone(&stop));
        // Accepts until dropped: the drop sets `stop` and connects once to wake the `accept`.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = Faults {
                    counter: Arc::clone(&counter),
                    injected: Arc::clone(&thread_injected),
                    faulted: Arc::clone(&faulted),
                    every,
                };
                std::thread::spawn(move || {
                    let _ = proxy_one(stream, upstream, &state);
                });
            }
        });
        Ok(FaultProxy {
            port,
            injected,
            stop,
        })
    }

    /// How many faults were answered so far.
    pub fn injected(&self) -> usize {
        self.injected.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accepting thread, which sees `stop` and ends (closing the listener).
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// What decides which requests get a fault: every `every`-th request, but never a retry of a
/// call that already got one (the SDK's `amz-sdk-invocation-id` stays the same across the
/// attempts of one call), so that no call can exhaust its retries on injected faults.
struct Faults {
    counter: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    injected: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    faulted: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    every: usize,
}

impl Faults {
    /// Whether this request gets a fault, and which (throttling or 503).
    fn decide(&self, request: &[u8]) -> Option<bool> {
        use std::sync::atomic::Ordering;
        let seen = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        if self.every == 0 || !seen.is_multiple_of(self.every) {
            return None;
        }
        let head = String::from_utf8_lossy(request).to_ascii_lowercase();
        let invocation = head
            .lines()
            .find_map(|line| line.strip_prefix("amz-sdk-invocation-id:"))
            .map(|id| id.trim().to_owned())
            .unwrap_or_default();
        let first = self
            .faulted
            .lock()
            .map(|mut faulted| faulted.insert(invocation))
            .unwrap_or(false);
        if !first {
            return None;
        }
        self.injected.fetch_add(1, Ordering::SeqCst);
        Some((seen / self.every).is_multiple_of(2))
    }
}

/// Reads one HTTP request (headers and a `Content-Length` body).
fn read_request(stream: &mut std::net::TcpStream) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut request = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Ok(request);
        }
        request.extend_from_slice(&buffer[..read]);
        if let Some(end) = request.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            while request.len() < end + 4 + length {
                let read = stream.read(&mut buffer)?;
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..read]);
            }
            return Ok(request);
        }
    }
}

fn proxy_one(
    mut client: std::net::TcpStream,
    upstream: u16,
    faults: &Faults,
) -> std::io::Result<()> {
    use std::io::{Read, Write};
    client.set_nonblocking(false)?;
    let request = read_request(&mut client)?;
    if let Some(throttle) = faults.decide(&request) {
        // EC2 and RDS write errors differently (ec2Query and awsQuery), and name throttling
        // differently; the service is in the signature's credential scope.
        let ec2 = String::from_utf8_lossy(&request).contains("/ec2/aws4_request");
        let error = |code: &str, message: &str| {
            if ec2 {
                format!(
                    "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault</RequestID></Response>"
                )
            } else {
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
                )
            }
        };
        let (status, body) = if throttle {
            let code = if ec2 {
                "RequestLimitExceeded"
            } else {
                "Throttling"
            };
            ("400 Bad Request", error(code, "Rate exceeded"))
        } else {
            (
                "503 Service Unavailable",
                error("ServiceUnavailable", "injected"),
            )
        };
        write!(
            client,
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        return Ok(());
    }
    // Forwarded with `Connection: close`, so the answer ends with the connection.
    let head_end = request
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or(request.len());
    let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
    let mut lines: Vec<&str> = head
        .split("\r\n")
        .filter(|header| !header.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    let mut rewritten = lines.join("\r\n").into_bytes();
    rewritten.extend_from_slice(b"\r\n\r\n");
    rewritten.extend_from_slice(request.get(head_end + 4..).unwrap_or_default());
    let mut server = std::net::TcpStream::connect(("127.0.0.1", upstream))?;
    server.write_all(&rewritten)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    client.write_all(&answer)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

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
