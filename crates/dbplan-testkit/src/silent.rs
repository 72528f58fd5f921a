//! A server that never answers: [`SilentListener`] accepts TCP connections on a free loopback
//! port and holds them open, reading whatever clients send and never writing a byte. It is the
//! shape of a hung database server, a stalled load balancer or a black-holed API, for tests of
//! dbplan's timeouts.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::StartError;

/// What the accepting thread and the connections' threads share.
#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    /// The bytes received on each connection, in the order they were accepted.
    received: Mutex<Vec<Vec<u8>>>,
}

/// A listener that accepts connections and never answers; stopped when dropped.
#[derive(Debug)]
pub struct SilentListener {
    address: SocketAddr,
    shared: Arc<Shared>,
    accepting: Option<JoinHandle<()>>,
}

impl SilentListener {
    /// Listens on a free port of 127.0.0.1.
    pub fn start() -> Result<SilentListener, StartError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|error| StartError(format!("silent listener: {error}")))?;
        let address = listener
            .local_addr()
            .map_err(|error| StartError(format!("silent listener: {error}")))?;
        let shared = Arc::new(Shared::default());
        let accepting = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept(&listener, &shared))
        };
        Ok(SilentListener {
            address,
            shared,
            accepting: Some(accepting),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// `127.0.0.1:port`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:port`, for HTTP clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// How many connections it has accepted.
    pub fn connections(&self) -> usize {
        self.shared
            .received
            .lock()
            .map(|received| received.len())
            .unwrap_or_default()
    }

    /// The bytes each accepted connection sent, in the order they were accepted.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.shared
            .received
            .lock()
            .map(|received| received.clone())
            .unwrap_or_default()
    }

    /// The HTTP request lines (`POST /v2/vpcs HTTP/1.1`) received, one per connection that
    /// sent one.
    pub fn request_lines(&self) -> Vec<String> {
        self.received()
            .iter()
            .filter_map(|bytes| {
                let text = String::from_utf8_lossy(bytes);
                text.lines()
                    .next()
                    .filter(|line| line.contains(" HTTP/"))
                    .map(str::to_owned)
            })
            .collect()
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees the stop flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.join();
        }
    }
}

fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            continue;
        };
        let index = match shared.received.lock() {
            Ok(mut received) => {
                received.push(Vec::new());
                received.len() - 1
            }
            Err(_) => return,
        };
        let shared = Arc::clone(shared);
        std::thread::spawn(move || hold(stream, index, &shared));
    }
}

/// Reads what the client sends, never writes, and keeps the connection open until the client
/// closes it or the listener stops.
fn hold(mut stream: TcpStream, index: usize, shared: &Shared) {
    // Short reads, so that the stop flag is seen soon after the listener is dropped.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buffer = [0u8; 4096];
    while !shared.stop.load(Ordering::SeqCst) {
        match stream.read(&mut buffer) {
            Ok(0) => return,
            Ok(count) => {
                if let Ok(mut received) = shared.received.lock()
                    && let Some(bytes) = received.get_mut(index)
                    && bytes.len() < 64 * 1024
                {
                    bytes.extend_from_slice(&buffer[..count]);
                }
            }
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}

/// Set in the child process that [`run_in_child`] starts.
pub const CHILD: &str = "DBPLAN_TIMEOUT_TEST_CHILD";

/// Whether this process is the child [`run_in_child`] started.
pub fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs the test `name` of the current test binary again in a child process, with `removed`
/// taken out of its environment and `vars` set, and returns its output; the child failing (or
/// running no test) fails the caller. For tests of code that reads its configuration from the
/// process environment, which a test cannot set in its own process (the workspace forbids
/// unsafe code).
// A test helper: failing the calling test loudly is its job.
#[allow(clippy::expect_used)]
pub fn run_in_child(name: &str, removed: &[&str], vars: &[(&str, String)]) -> String {
    let exe = std::env::current_exe().expect("a test binary knows its own path");
    let mut command = std::process::Command::new(exe);
    command
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1");
    for variable in removed {
        command.env_remove(variable);
    }
    for (variable, value) in vars {
        command.env(variable, value);
    }
    let output = command
        .output()
        .expect("the test binary can run itself as a child process");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the child failed:\n{text}");
    assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
    text
}
