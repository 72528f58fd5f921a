//! Refuses to send a password in clear text or as an MD5 hash to a server dbplan has not
//! verified.
//!
//! tokio-postgres answers the server's authentication request itself and has no setting like
//! libpq's `require_auth`: a server (or whoever stands between dbplan and it) that asks for
//! `AuthenticationCleartextPassword` gets the administrator's password as it is, and one that
//! asks for `AuthenticationMD5Password` gets a salted hash that can be guessed offline. So the
//! stream tokio-postgres reads from is wrapped ([`AuthGuard`]): it follows the backend messages
//! until authentication succeeds, and when the server asks for either method it fails the read
//! with [`Refused`] instead of handing the request on, so the password is never written.
//!
//! The guard sits where the messages are plaintext: on the TCP stream when the connection is
//! not encrypted (`sslmode: disable`, or `prefer` with a server without TLS), and on the
//! decrypted TLS stream otherwise (the TCP-level guard stops at the server's `S` answer to the
//! TLS request). It is left out with `sslmode: verify-full`, where the server is the one the
//! manifest names and sending it the password it asks for is safe.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, TlsStream};

/// A password authentication method dbplan does not use over an unverified connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// `AuthenticationCleartextPassword` (`password` in `pg_hba.conf`).
    Cleartext,
    /// `AuthenticationMD5Password` (`md5`, with a password stored as an MD5 hash).
    Md5,
}

/// Why the guard ended the connection; carried inside the `io::Error` of the read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) method: Method,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let method = match self.method {
            Method::Cleartext => "cleartext",
            Method::Md5 => "MD5",
        };
        write!(
            f,
            "the server asked for {method} password authentication; the password was not sent"
        )
    }
}

impl std::error::Error for Refused {}

/// What the guard expects next from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Watch {
    /// The one-byte answer to the TLS request: `S` (TLS follows: the guard on the decrypted
    /// stream takes over) or `N` (plaintext messages follow).
    TlsAnswer,
    /// Backend messages, from the start of one.
    Messages,
    /// Nothing more: authentication succeeded, TLS took over, or the server is verified.
    Off,
}

/// Where the guard is inside a backend message: the 5-byte header (type and length), then
/// the first 4 bytes of an `R` message's body (the authentication code), then the rest.
#[derive(Clone, Copy, Debug)]
struct Parser {
    watch: Watch,
    header: [u8; 5],
    header_read: usize,
    code: [u8; 4],
    code_read: usize,
    /// Body bytes of the current message still to skip.
    remaining: usize,
}

impl Parser {
    fn new(watch: Watch) -> Parser {
        Parser {
            watch,
            header: [0; 5],
            header_read: 0,
            code: [0; 4],
            code_read: 0,
            remaining: 0,
        }
    }

    /// Feeds bytes read from the server; an error when they ask for a refused method.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Refused> {
        while !bytes.is_empty() {
            match self.watch {
                Watch::Off => return Ok(()),
                Watch::TlsAnswer => {
                    self.watch = if bytes[0] == b'S' {
                        Watch::Off
                    } else {
                        Watch::Messages
                    };
                    bytes = &bytes[1..];
                }
                Watch::Messages => bytes = self.message_bytes(bytes)?,
            }
        }
        Ok(())
    }

    fn message_bytes<'a>(&mut self, bytes: &'a [u8]) -> Result<&'a [u8], Refused> {
        if self.header_read < self.header.len() {
            let take = (self.header.len() - self.header_read).min(bytes.len());
            self.header[self.header_read..self.header_read + take].copy_from_slice(&bytes[..take]);
            self.header_read += take;
            if self.header_read == self.header.len() {
                let length = u32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]);
                // The length counts itself; a shorter one is a broken stream, which
                // tokio-postgres reports on its own.
                self.remaining = usize::try_from(length)
                    .unwrap_or(usize::MAX)
                    .saturating_sub(4);
                self.code_read = 0;
            }
            return Ok(&bytes[take..]);
        }
        let is_authentication = self.header[0] == b'R';
        if is_authentication && self.code_read < self.code.len() && self.remaining > 0 {
            let take = (self.code.len() - self.code_read)
                .min(bytes.len())
                .min(self.remaining);
            self.code[self.code_read..self.code_read + take].copy_from_slice(&bytes[..take]);
            self.code_read += take;
            self.remaining -= take;
            if self.code_read == self.code.len() {
                match u32::from_be_bytes(self.code) {
                    3 => {
                        return Err(Refused {
                            method: Method::Cleartext,
                        });
                    }
                    5 => {
                        return Err(Refused {
                            method: Method::Md5,
                        });
                    }
                    // AuthenticationOk: nothing more to watch.
                    0 => self.watch = Watch::Off,
                    _ => {}
                }
            }
            if self.remaining == 0 {
                self.header_read = 0;
            }
            return Ok(&bytes[take..]);
        }
        let take = self.remaining.min(bytes.len());
        self.remaining -= take;
        if self.remaining == 0 {
            self.header_read = 0;
        }
        Ok(&bytes[take..])
    }
}

/// A stream that watches what the server sends until authentication is over.
#[derive(Debug)]
pub(crate) struct AuthGuard<S> {
    inner: S,
    parser: Parser,
}

impl<S> AuthGuard<S> {
    pub(crate) fn new(inner: S, watch: Watch) -> AuthGuard<S> {
        AuthGuard {
            inner,
            parser: Parser::new(watch),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AuthGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if let Err(refused) = this.parser.feed(&buf.filled()[before..]) {
                    // The request is not handed on: tokio-postgres never answers it.
                    buf.set_filled(before);
                    this.parser.watch = Watch::Off;
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        refused,
                    )));
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AuthGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl<S: TlsStream + Unpin> TlsStream for AuthGuard<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// The refusal inside a connection error, if the guard caused it.
pub(crate) fn refused_in(error: &(dyn std::error::Error + 'static)) -> Option<Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return Some(*refused);
        }
        if let Some(refused) = cause
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<Refused>())
        {
            return Some(*refused);
        }
        source = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut bytes = vec![kind];
        let length = u32::try_from(body.len() + 4).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend_from_slice(body);
        bytes
    }

    fn authentication(code: u32, rest: &[u8]) -> Vec<u8> {
        let mut body = code.to_be_bytes().to_vec();
        body.extend_from_slice(rest);
        message(b'R', &body)
    }

    /// Feeds the stream one byte at a time and all at once: the verdict must not depend on
    /// how the reads split it.
    fn verdicts(watch: Watch, stream: &[u8]) -> [Result<(), Refused>; 2] {
        let mut whole = Parser::new(watch);
        let mut single = Parser::new(watch);
        let bytewise = stream
            .iter()
            .try_for_each(|byte| single.feed(std::slice::from_ref(byte)));
        [whole.feed(stream), bytewise]
    }

    #[test]
    fn cleartext_and_md5_requests_are_refused_whatever_the_reads() {
        let cleartext = authentication(3, &[]);
        let md5 = authentication(5, b"salt");
        for verdict in verdicts(Watch::Messages, &cleartext) {
            assert_eq!(
                verdict,
                Err(Refused {
                    method: Method::Cleartext
                })
            );
        }
        let mut after_no_tls = vec![b'N'];
        after_no_tls.extend_from_slice(&md5);
        for verdict in verdicts(Watch::TlsAnswer, &after_no_tls) {
            assert_eq!(
                verdict,
                Err(Refused {
                    method: Method::Md5
                })
            );
        }
    }

    #[test]
    fn scram_and_what_follows_a_tls_answer_or_a_successful_login_pass() {
        // SASL (10) with its mechanism list, continue (11), final (12), then OK and a
        // parameter status; nothing refused.
        let mut scram = authentication(10, b"SCRAM-SHA-256\0\0");
        scram.extend(authentication(11, b"r=abc,s=def,i=4096"));
        scram.extend(authentication(12, b"v=xyz"));
        scram.extend(authentication(0, &[]));
        scram.extend(message(b'S', b"server_version\x0015\0"));
        for verdict in verdicts(Watch::Messages, &scram) {
            assert_eq!(verdict, Ok(()));
        }
        // After AuthenticationOk, a later `R`-looking byte sequence is data, not a request.
        let mut then = authentication(0, &[]);
        then.extend(authentication(3, &[]));
        for verdict in verdicts(Watch::Messages, &then) {
            assert_eq!(verdict, Ok(()));
        }
        // `S`: TLS follows, and the TCP-level guard sees only ciphertext from here on.
        let mut tls = vec![b'S'];
        tls.extend(authentication(3, &[]));
        for verdict in verdicts(Watch::TlsAnswer, &tls) {
            assert_eq!(verdict, Ok(()));
        }
        // An error message before authentication passes too (the server says why it refuses).
        let error = message(b'E', b"SFATAL\0C28000\0Mno pg_hba.conf entry\0\0");
        for verdict in verdicts(Watch::Messages, &error) {
            assert_eq!(verdict, Ok(()));
        }
    }

    #[test]
    fn the_refusal_is_found_inside_an_io_error() {
        let error = io::Error::new(
            io::ErrorKind::PermissionDenied,
            Refused {
                method: Method::Md5,
            },
        );
        assert_eq!(
            refused_in(&error),
            Some(Refused {
                method: Method::Md5
            })
        );
        let other = io::Error::other("reset");
        assert_eq!(refused_in(&other), None);
    }
}
