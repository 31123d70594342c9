//! Request-smuggling guard on the window's side of each connection.
//!
//! hyper follows RFC 9112 for a request that has both `Content-Length` and `Transfer-Encoding`: it
//! drops the length, reads the body as chunked and closes the connection afterwards. That is safe,
//! but it still forwards the request, and the proxy's handler can no longer see that the request
//! was ambiguous. This wrapper watches the bytes hyper reads, follows request framing (heads,
//! fixed-length and chunked bodies) and, when a head carries both headers, corrupts the head's last
//! byte before hyper sees it. hyper then fails to parse it and answers `400 Bad Request` and closes
//! the connection: the request is refused and never reaches the upstream.
//!
//! Heads are parsed with `httparse`, the parser hyper uses, so both agree on where a head ends.
//! Anything the guard cannot follow (a WebSocket upgrade, `CONNECT`, a malformed body that hyper
//! will reject anyway) turns it off for the rest of the connection; the handler answers upgrade
//! attempts that do not become WebSockets with `Connection: close`, so no unguarded request can
//! follow them on the same connection.

use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A head longer than this is hyper's problem (it rejects it); the guard stops following.
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading the hex size; `(size, digits seen, in extension)`.
    Size(u64, bool, bool),
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// Trailer lines after the last chunk; `true` while the current line is empty so far.
    Trailer(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Fixed(u64),
    Chunked(Chunk),
    Off,
}

/// The framing state of one connection's request stream.
pub(crate) struct Scanner {
    state: State,
    head: Vec<u8>,
}

enum Verdict {
    Next(State),
    Refuse,
}

impl Default for Scanner {
    fn default() -> Self {
        Self {
            state: State::Head,
            head: Vec::new(),
        }
    }
}

impl Scanner {
    /// Follows `buf` (bytes just read, in order) and corrupts it where a request must be refused.
    pub(crate) fn feed(&mut self, buf: &mut [u8]) {
        let mut i = 0;
        while i < buf.len() {
            match self.state {
                State::Off => return,
                State::Head => match self.head_end(&buf[i..]) {
                    Some((end, Verdict::Next(next))) => {
                        self.state = next;
                        i += end;
                    }
                    Some((end, Verdict::Refuse)) => {
                        // The last byte of the blank line: without it the head is malformed.
                        buf[i + end - 1] = 0;
                        self.state = State::Off;
                        return;
                    }
                    None => return,
                },
                State::Fixed(left) => {
                    let take = left.min((buf.len() - i) as u64);
                    i += take as usize;
                    self.state = if left == take {
                        State::Head
                    } else {
                        State::Fixed(left - take)
                    };
                }
                State::Chunked(Chunk::Data(left)) => {
                    let take = left.min((buf.len() - i) as u64);
                    i += take as usize;
                    self.state = State::Chunked(if left == take {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left - take)
                    });
                }
                State::Chunked(chunk) => {
                    self.state = step_chunk(chunk, buf[i]);
                    i += 1;
                }
            }
        }
    }

    /// Where the head that starts (or continues) at `bytes` ends, if it ends within them.
    fn head_end(&mut self, bytes: &[u8]) -> Option<(usize, Verdict)> {
        if self.head.is_empty() {
            match judge(bytes) {
                Parsed::Complete(n, verdict) => return Some((n, verdict)),
                Parsed::Invalid => {
                    self.state = State::Off;
                    return None;
                }
                Parsed::Partial => {}
            }
        }
        let before = self.head.len();
        self.head.extend_from_slice(bytes);
        match judge(&self.head) {
            Parsed::Complete(n, verdict) => {
                self.head.clear();
                Some((n - before, verdict))
            }
            Parsed::Partial if self.head.len() <= MAX_HEAD => None,
            _ => {
                self.head = Vec::new();
                self.state = State::Off;
                None
            }
        }
    }
}

fn step_chunk(chunk: Chunk, byte: u8) -> State {
    match chunk {
        Chunk::Size(size, digits, ext) => {
            if byte == b'\n' {
                return if !digits {
                    State::Off
                } else if size == 0 {
                    State::Chunked(Chunk::Trailer(true))
                } else {
                    State::Chunked(Chunk::Data(size))
                };
            }
            let digit = (byte as char).to_digit(16);
            match digit {
                Some(d) if !ext => match size.checked_mul(16).and_then(|s| s.checked_add(d.into()))
                {
                    Some(next) => State::Chunked(Chunk::Size(next, true, false)),
                    None => State::Off,
                },
                _ if digits => State::Chunked(Chunk::Size(size, true, true)),
                _ => State::Off,
            }
        }
        Chunk::DataEnd => match byte {
            b'\r' => State::Chunked(Chunk::DataEnd),
            b'\n' => State::Chunked(Chunk::Size(0, false, false)),
            _ => State::Off,
        },
        Chunk::Trailer(empty) => match byte {
            b'\n' if empty => State::Head,
            b'\n' => State::Chunked(Chunk::Trailer(true)),
            b'\r' => State::Chunked(Chunk::Trailer(empty)),
            _ => State::Chunked(Chunk::Trailer(false)),
        },
        Chunk::Data(_) => State::Off,
    }
}

enum Parsed {
    Complete(usize, Verdict),
    Partial,
    Invalid,
}

fn judge(bytes: &[u8]) -> Parsed {
    // Left uninitialised, as hyper does: filling 128 empty headers for every request costs more
    // than parsing a small head.
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(bytes, &mut headers) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Invalid,
    };
    let mut content_length = None;
    let mut transfer_encoding = false;
    let mut websocket = false;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let parsed = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok());
            content_length = Some(parsed);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
        } else if h.name.eq_ignore_ascii_case("upgrade") {
            websocket |= contains_ignore_case(h.value, b"websocket");
        }
    }
    let verdict = if transfer_encoding && content_length.is_some() {
        Verdict::Refuse
    } else if websocket || req.method == Some("CONNECT") {
        Verdict::Next(State::Off)
    } else if transfer_encoding {
        Verdict::Next(State::Chunked(Chunk::Size(0, false, false)))
    } else {
        match content_length {
            None | Some(Some(0)) => Verdict::Next(State::Head),
            Some(Some(n)) => Verdict::Next(State::Fixed(n)),
            Some(None) => Verdict::Next(State::Off),
        }
    };
    Parsed::Complete(len, verdict)
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// An accepted connection with its [`Scanner`] on the read side.
pub(crate) struct Guarded<T> {
    inner: T,
    scanner: Scanner,
}

impl<T> Guarded<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self {
            inner,
            scanner: Scanner::default(),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.scanner.feed(&mut buf.filled_mut()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes and returns what hyper would have read.
    fn run(input: &str, step: usize) -> (Vec<u8>, State) {
        let mut scanner = Scanner::default();
        let mut out = input.as_bytes().to_vec();
        for piece in out.chunks_mut(step) {
            scanner.feed(piece);
        }
        (out, scanner.state)
    }

    const SMUGGLE: &str = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\
                           Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";

    #[test]
    fn conflicting_framing_is_corrupted_whatever_the_read_sizes() {
        for step in [1, 2, 7, 1000] {
            let (out, state) = run(SMUGGLE, step);
            let head_end = SMUGGLE.find("\r\n\r\n").map(|i| i + 4);
            assert_eq!(head_end.map(|e| out[e - 1]), Some(0), "step {step}");
            assert_eq!(state, State::Off);
        }
    }

    #[test]
    fn ordinary_pipelines_pass_untouched_and_are_followed() {
        let input = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
                     POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
                     5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n\
                     GET /c HTTP/1.1\r\nHost: a\r\n\r\n";
        for step in [1, 3, 64, 4096] {
            let (out, state) = run(input, step);
            assert_eq!(out, input.as_bytes(), "step {step}");
            assert_eq!(state, State::Head, "step {step}");
        }
        let smuggled_later = format!("{input}{SMUGGLE}");
        let (out, _) = run(&smuggled_later, 5);
        assert!(out.contains(&0));
    }

    #[test]
    fn websocket_upgrades_switch_the_guard_off() {
        let input =
            "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\
                     \x01\x05frames-with-\r\n\r\n-inside";
        let (out, state) = run(input, 9);
        assert_eq!(out, input.as_bytes());
        assert_eq!(state, State::Off);
    }
}
