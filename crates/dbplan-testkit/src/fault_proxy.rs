//! [`FaultProxy`]: an HTTP proxy in front of moto that answers some requests with AWS's
//! throttling error or a 503 instead of forwarding them.

use crate::StartError;
use std::net::TcpListener;

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
