//! A blocking HTTP/1.1 client for the fakes' loopback ports (one request, `Connection: close`),
//! for tests that act as another client of a fake. Written by hand: it talks only to servers
//! this crate runs, and a general HTTP client (with its own TLS stack) would be a heavy
//! dependency for that.

use crate::StartError;
use serde_json::Value as Json;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One request.
pub(crate) struct Call<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) content_type: &'a str,
    pub(crate) body: Option<&'a str>,
    pub(crate) timeout: Duration,
}

/// An answer: status, headers (names in lower case), the body as text and as JSON (`null`
/// when it is empty or not JSON).
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub json: Json,
}

impl Reply {
    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

pub(crate) fn call(
    address: SocketAddr,
    token: Option<&str>,
    call: &Call<'_>,
) -> Result<Reply, StartError> {
    let (method, path) = (call.method, call.path);
    let failed = |error: std::io::Error| StartError(format!("{method} {path}: {error}"));
    let mut stream = TcpStream::connect(address).map_err(failed)?;
    stream
        .set_read_timeout(Some(call.timeout))
        .map_err(failed)?;
    let payload = call.body.unwrap_or_default();
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}User-Agent: dbplan-testkit/1.0\r\nAccept: application/json\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        call.content_type,
        payload.len(),
    );
    stream.write_all(request.as_bytes()).map_err(failed)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(failed)?;
    let text = String::from_utf8_lossy(&answer);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| StartError(format!("{method} {path}: no HTTP answer")))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| StartError(format!("{method} {path}: no status in {head:?}")))?;
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    let content = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    let json = serde_json::from_str(&content).unwrap_or(Json::Null);
    Ok(Reply {
        status,
        headers,
        text: content,
        json,
    })
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        let (Some(chunk), Some(after)) = (tail.get(..size), tail.get(size..)) else {
            break;
        };
        if size == 0 {
            break;
        }
        out.push_str(chunk);
        rest = after.trim_start_matches("\r\n");
    }
    out
}
