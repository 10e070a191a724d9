//! One admin connection. actix-http answers some requests itself, before any
//! handler runs and with an empty body: one it cannot parse (400), one whose
//! head is too large (431) and one whose head is too slow (408). Every answer of
//! this API is JSON with a stable code, so the connection gives those answers the
//! same JSON error body on their way out. They are logged here at debug: a
//! malformed request is the client's problem, not the server's.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf as _, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::error::{ErrorBody, ErrorDetail};

/// Bytes taken from the HTTP layer and not yet on the socket; past this the
/// connection pushes back.
const OUT_LIMIT: usize = 256 * 1024;

/// The empty answers actix-http writes itself (after `HTTP/1.x`), and what
/// this API says instead.
const BARE: [(&[u8], &str, &str); 4] = [
    (
        b" 400 Bad Request\r\ncontent-length: 0\r\n",
        "malformed_request",
        "the request is not valid HTTP/1.1 (request line, headers or body framing)",
    ),
    (
        b" 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n",
        "headers_too_large",
        "the request head is larger than 128 KiB or has more than 96 headers",
    ),
    (
        b" 408 Request Timeout\r\ncontent-length: 0\r\n",
        "request_timeout",
        "the request head did not arrive in time",
    ),
    (
        b" 500 Internal Server Error\r\ncontent-length: 0\r\n",
        "internal",
        "the request ended before its body did",
    ),
];

/// A connection whose bare HTTP-layer error answers get the JSON error body.
pub struct JsonErrors<T> {
    io: T,
    out: BytesMut,
    peer: Option<SocketAddr>,
}

impl<T> JsonErrors<T> {
    pub fn new(io: T, peer: Option<SocketAddr>) -> Self {
        JsonErrors {
            io,
            out: BytesMut::new(),
            peer,
        }
    }
}

impl<T: AsyncWrite + Unpin> JsonErrors<T> {
    /// Writes out what is buffered; `Ready` once all of it is on the socket.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.out))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out.advance(n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrors<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrors<T> {
    /// Takes the whole buffer at once (so a response head is never split
    /// between two calls), rewriting bare error answers as it goes.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.out.len() >= OUT_LIMIT {
            ready!(this.drain(cx))?;
        }
        rewrite(buf, &mut this.out, this.peer);
        // Start writing now; what the socket does not take waits for poll_flush.
        if let Poll::Ready(Err(e)) = this.drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// Appends `buf` to `out`, with every bare error answer given its JSON body.
fn rewrite(buf: &[u8], out: &mut BytesMut, peer: Option<SocketAddr>) {
    let mut rest = buf;
    while let Some((start, end, code, message)) = find_bare(rest) {
        out.extend_from_slice(&rest[..start]);
        let head = &rest[start..end];
        let body = serde_json::to_vec(&ErrorBody {
            error: ErrorDetail {
                code,
                message: message.to_string(),
                field: None,
            },
        })
        .unwrap_or_default();
        let mut closes = false;
        for (i, line) in head.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() || line.eq_ignore_ascii_case(b"content-length: 0") {
                continue;
            }
            closes |= line.eq_ignore_ascii_case(b"connection: close");
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
            if i == 0 {
                out.extend_from_slice(b"content-type: application/json\r\n");
                out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
            }
        }
        if !closes {
            // actix-http closes the connection after such an answer anyway.
            out.extend_from_slice(b"connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&body);
        let status = String::from_utf8_lossy(&head[9..12]).into_owned();
        tracing::debug!(peer = ?peer, status, code, "refused a request the HTTP layer could not take");
        rest = &rest[end..];
    }
    out.extend_from_slice(rest);
}

/// The first bare error answer in `buf`: its head's range, code and message.
fn find_bare(buf: &[u8]) -> Option<(usize, usize, &'static str, &'static str)> {
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&buf[from..], b"HTTP/1.") {
        let start = from + at;
        let after = buf.get(start + 8..).unwrap_or_default();
        if let Some((_, code, message)) = BARE.iter().find(|(sig, _, _)| after.starts_with(sig)) {
            if let Some(len) = memchr::memmem::find(&buf[start..], b"\r\n\r\n") {
                return Some((start, start + len + 4, code, message));
            }
        }
        from = start + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(buf: &[u8]) -> String {
        let mut out = BytesMut::new();
        rewrite(buf, &mut out, None);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn bare_error_answers_get_the_json_body() {
        let ok = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}";
        let bare = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Wed, 25 Nov 2026 23:08:51 GMT\r\n\r\n";
        let out = rewritten(format!("{ok}{bare}").as_bytes());
        let body = r#"{"error":{"code":"malformed_request","message":"the request is not valid HTTP/1.1 (request line, headers or body framing)"}}"#;
        assert_eq!(
            out,
            format!(
                "{ok}HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 date: Wed, 25 Nov 2026 23:08:51 GMT\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
        );
        let too_large = "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        let out = rewritten(too_large.as_bytes());
        assert!(out.contains("\"code\":\"headers_too_large\""), "{out}");
        assert_eq!(out.matches("connection: close").count(), 1, "{out}");
        // An answer of the API itself is left alone, even a 400 with a body.
        let api = "HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n{\"error\":{}}";
        assert_eq!(rewritten(api.as_bytes()), api);
    }
}
