//! [`MotoServer`]: moto (the AWS API emulator) in server mode on a free loopback port.

use crate::{StartError, free_port};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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
