//! A blocking HTTP/1.1 client for the fake's loopback port. Written by hand: it sends one
//! request with `Connection: close` to a server this crate runs, and a general HTTP client
//! (with its own TLS stack) would be a heavy dependency for that.

use crate::StartError;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub(crate) fn call(
    address: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<(u16, serde_json::Value), StartError> {
    let failed = |error: std::io::Error| StartError(format!("{method} {path}: {error}"));
    let mut stream = TcpStream::connect(address).map_err(failed)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(failed)?;
    let payload = body.map(ToString::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
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
    let chunked = head.lines().any(|line| {
        line.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let content = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    let json = if content.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&content)
            .map_err(|error| StartError(format!("{method} {path}: {error}: {content}")))?
    };
    Ok((status, json))
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
