//! A minimal server-sent-events reader: yields the `data:` payload of each event.

use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};

/// The longest a log stream may stay silent before we call the connection dead.
const IDLE_LIMIT: Duration = Duration::from_secs(120);

/// Splits a byte stream into SSE events and yields each event's data (lines joined with `\n`).
pub fn data_events(response: reqwest::Response) -> BoxStream<'static, Result<String, String>> {
    struct State {
        body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
        buffer: String,
        /// The start of a character split between two reads.
        partial: Vec<u8>,
        done: bool,
    }
    let state = State {
        body: response.bytes_stream().boxed(),
        buffer: String::new(),
        partial: Vec::new(),
        done: false,
    };
    stream::unfold(state, |mut st| async move {
        loop {
            if let Some(event) = take_event(&mut st.buffer) {
                if let Some(data) = event {
                    return Some((Ok(data), st));
                }
                continue;
            }
            if st.done {
                return None;
            }
            match tokio::time::timeout(IDLE_LIMIT, st.body.next()).await {
                Ok(Some(Ok(chunk))) => decode_utf8(&mut st.partial, &chunk, &mut st.buffer),
                Ok(Some(Err(e))) => {
                    st.done = true;
                    return Some((Err(format!("the log stream broke off: {e}")), st));
                }
                Ok(None) => {
                    st.done = true;
                    st.buffer.push_str(&String::from_utf8_lossy(&st.partial));
                    // A final event without its blank line still counts.
                    st.buffer.push_str("\n\n");
                }
                Err(_) => {
                    st.done = true;
                    st.buffer.clear();
                    return Some((Err("the log stream went silent".to_owned()), st));
                }
            }
        }
    })
    .boxed()
}

/// Appends `chunk` to `out` as UTF-8. A character split between two reads waits in `partial` for
/// the rest of its bytes instead of becoming two replacement characters; bytes that can never be
/// UTF-8 become one each.
fn decode_utf8(partial: &mut Vec<u8>, chunk: &[u8], out: &mut String) {
    partial.extend_from_slice(chunk);
    let mut rest: &[u8] = partial;
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                out.push_str(text);
                rest = &[];
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                match e.error_len() {
                    // Incomplete at the end: wait for the next read.
                    None => {
                        rest = after;
                        break;
                    }
                    Some(bad) => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        rest = &after[bad..];
                    }
                }
            }
        }
    }
    let keep = rest.len();
    let start = partial.len() - keep;
    partial.drain(..start);
}

/// Removes one complete event from the front of `buffer`. `Some(None)` is an event without data
/// (a comment or keep-alive); `None` means no complete event yet.
fn take_event(buffer: &mut String) -> Option<Option<String>> {
    let normalized_end = buffer.find("\n\n").or_else(|| buffer.find("\r\n\r\n"))?;
    let sep_len = if buffer[normalized_end..].starts_with("\r\n\r\n") {
        4
    } else {
        2
    };
    let block: String = buffer.drain(..normalized_end + sep_len).collect();
    let data: Vec<&str> = block
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    Some(if data.is_empty() {
        None
    } else {
        Some(data.join("\n"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_split_between_reads_survive() {
        let text = "data: héllo → 世界 🚀\n\n";
        let bytes = text.as_bytes();
        for step in 1..=4 {
            let (mut partial, mut out) = (Vec::new(), String::new());
            for chunk in bytes.chunks(step) {
                decode_utf8(&mut partial, chunk, &mut out);
            }
            assert_eq!(out, text, "reads of {step} bytes");
            assert!(partial.is_empty());
        }
        // Bytes that can never be UTF-8 still become one replacement character each.
        let (mut partial, mut out) = (Vec::new(), String::new());
        decode_utf8(&mut partial, b"a\xffb\xe4", &mut out);
        assert_eq!(out, "a\u{fffd}b");
        decode_utf8(&mut partial, b"\xb8\x96", &mut out);
        assert_eq!(out, "a\u{fffd}b世");
    }

    #[test]
    fn events_are_split_on_blank_lines() {
        let mut buf =
            String::from(": keep-alive\n\ndata: {\"a\":1}\n\ndata: x\ndata: y\n\ndata: partial");
        assert_eq!(take_event(&mut buf), Some(None));
        assert_eq!(take_event(&mut buf), Some(Some("{\"a\":1}".to_owned())));
        assert_eq!(take_event(&mut buf), Some(Some("x\ny".to_owned())));
        assert_eq!(take_event(&mut buf), None);
        assert_eq!(buf, "data: partial");
    }
}
