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
        done: bool,
    }
    let state = State {
        body: response.bytes_stream().boxed(),
        buffer: String::new(),
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
                Ok(Some(Ok(chunk))) => st.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Some(Err(e))) => {
                    st.done = true;
                    return Some((Err(format!("the log stream broke off: {e}")), st));
                }
                Ok(None) => {
                    st.done = true;
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
