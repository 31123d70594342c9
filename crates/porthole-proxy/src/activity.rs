//! Traffic accounting: requests, bytes each way, open WebSockets, and when anything last moved.
//!
//! Counting is a few atomic adds on the hot path, each worker thread in counters of its own; the
//! first change after a publish wakes a small task per proxy, which sums the counters into an
//! [`Activity`] snapshot on a `watch` channel, at most every [`PUBLISH_INTERVAL`], so keep-alive
//! logic and the UI can watch it without slowing traffic.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{watch, Notify};

/// How often, at most, a changed [`Activity`] is published.
pub const PUBLISH_INTERVAL: Duration = Duration::from_millis(100);

/// What went through one proxy since it started. Published on [`crate::ProxyHandle::activity`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// HTTP requests received from the window (WebSocket handshakes included), allowed or not.
    pub requests: u64,
    /// Body and WebSocket bytes sent from the window to the upstream.
    pub bytes_up: u64,
    /// Body and WebSocket bytes sent from the upstream to the window.
    pub bytes_down: u64,
    /// When a request, a byte or a WebSocket change was last seen (to within [`PUBLISH_INTERVAL`]).
    pub last_activity: Option<DateTime<Utc>>,
    /// WebSockets spliced right now.
    pub websockets_open: u32,
}

/// Which way bytes go.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    Up,
    Down,
}

/// One worker thread's counters, on a cache line of their own: a thread never writes to a line
/// another thread writes to, so counting costs no cross-core traffic.
#[derive(Default)]
#[repr(align(128))]
struct Shard {
    requests: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    websockets: AtomicU32,
    /// Set with the first change after a publish; only that change wakes the publisher.
    dirty: AtomicBool,
}

/// The live counters of one proxy: a [`Shard`] per worker thread, summed when published.
pub(crate) struct Meter {
    shards: Box<[Shard]>,
    changed: Notify,
}

impl Meter {
    /// Counters for `threads` worker threads (at least one).
    pub(crate) fn new(threads: usize) -> Arc<Self> {
        Arc::new(Self {
            shards: (0..threads.max(1)).map(|_| Shard::default()).collect(),
            changed: Notify::new(),
        })
    }

    /// What worker thread `index` counts with.
    pub(crate) fn tally(self: &Arc<Self>, index: usize) -> Tally {
        Tally {
            meter: self.clone(),
            shard: index % self.shards.len(),
        }
    }

    fn snapshot(&self, last_activity: Option<DateTime<Utc>>) -> Activity {
        let mut activity = Activity {
            last_activity,
            ..Activity::default()
        };
        for shard in self.shards.iter() {
            // Cleared before reading, so a change made after the read sets it again and wakes
            // the publisher (SeqCst orders the clear before the reads of the counters).
            shard.dirty.store(false, Ordering::SeqCst);
            activity.requests += shard.requests.load(Ordering::SeqCst);
            activity.bytes_up += shard.bytes_up.load(Ordering::SeqCst);
            activity.bytes_down += shard.bytes_down.load(Ordering::SeqCst);
            activity.websockets_open += shard.websockets.load(Ordering::SeqCst);
        }
        activity
    }
}

/// One worker thread's handle on a [`Meter`]: it counts in the thread's own shard.
#[derive(Clone)]
pub(crate) struct Tally {
    meter: Arc<Meter>,
    shard: usize,
}

impl Tally {
    fn shard(&self) -> &Shard {
        &self.meter.shards[self.shard]
    }

    /// Wakes the publisher if nothing changed since it last published.
    fn changed(&self) {
        let shard = self.shard();
        if !shard.dirty.load(Ordering::SeqCst) {
            shard.dirty.store(true, Ordering::SeqCst);
            self.meter.changed.notify_one();
        }
    }

    pub(crate) fn request(&self) {
        self.shard().requests.fetch_add(1, Ordering::SeqCst);
        self.changed();
    }

    pub(crate) fn bytes(&self, direction: Direction, n: usize) {
        if n == 0 {
            return;
        }
        let shard = self.shard();
        let counter = match direction {
            Direction::Up => &shard.bytes_up,
            Direction::Down => &shard.bytes_down,
        };
        counter.fetch_add(n as u64, Ordering::SeqCst);
        self.changed();
    }

    /// Counts a WebSocket as open until the returned guard is dropped.
    pub(crate) fn websocket_opened(&self) -> OpenWebSocket {
        self.shard().websockets.fetch_add(1, Ordering::SeqCst);
        self.changed();
        OpenWebSocket(self.clone())
    }
}

/// Holds one WebSocket in [`Activity::websockets_open`].
pub(crate) struct OpenWebSocket(Tally);

impl Drop for OpenWebSocket {
    fn drop(&mut self) {
        self.0.shard().websockets.fetch_sub(1, Ordering::SeqCst);
        self.0.changed();
    }
}

/// Publishes snapshots until the proxy shuts down (its shutdown sender is dropped or set).
pub(crate) async fn publish(
    meter: Arc<Meter>,
    tx: watch::Sender<Activity>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = meter.changed.notified() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        tx.send_if_modified(|current| {
            let next = meter.snapshot(current.last_activity);
            let moved = next.requests != current.requests
                || next.bytes_up != current.bytes_up
                || next.bytes_down != current.bytes_down
                || next.websockets_open != current.websockets_open;
            if moved {
                *current = Activity {
                    last_activity: Some(Utc::now()),
                    ..next
                };
            }
            moved
        });
        tokio::select! {
            _ = tokio::time::sleep(PUBLISH_INTERVAL) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

/// A body that counts its data frames as they stream through; it never buffers.
pub(crate) struct Counted<B> {
    inner: B,
    tally: Tally,
    direction: Direction,
}

impl<B> Counted<B> {
    pub(crate) fn new(inner: B, tally: Tally, direction: Direction) -> Self {
        Self {
            inner,
            tally,
            direction,
        }
    }
}

impl<B> Body for Counted<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.tally.bytes(self.direction, data.len());
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The window's side of a spliced connection: what is read from it went up, what is written to it
/// went down.
pub(crate) struct CountedIo<T> {
    inner: T,
    tally: Tally,
}

impl<T> CountedIo<T> {
    pub(crate) fn new(inner: T, tally: Tally) -> Self {
        Self { inner, tally }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for CountedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let n = buf.filled().len() - before;
            self.tally.bytes(Direction::Up, n);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for CountedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.tally.bytes(Direction::Down, n);
        }
        polled
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
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn changes_are_published_with_a_timestamp() {
        let meter = Meter::new(2);
        let (first, second) = (meter.tally(0), meter.tally(1));
        let (tx, mut rx) = watch::channel(Activity::default());
        let (_stop, stop_rx) = watch::channel(false);
        tokio::spawn(publish(meter.clone(), tx, stop_rx));
        first.request();
        second.request();
        first.bytes(Direction::Up, 10);
        second.bytes(Direction::Down, 32);
        let ws = second.websocket_opened();
        let seen = published(&mut rx, |a| {
            a.requests == 2 && a.bytes_down == 32 && a.websockets_open == 1
        })
        .await;
        assert_eq!(seen.bytes_up, 10);
        assert!(seen.last_activity.is_some());
        drop(ws);
        published(&mut rx, |a| a.websockets_open == 0).await;
    }

    /// The first published activity that `done` accepts, within 5 s.
    async fn published(
        rx: &mut watch::Receiver<Activity>,
        done: impl FnMut(&Activity) -> bool,
    ) -> Activity {
        tokio::time::timeout(Duration::from_secs(5), rx.wait_for(done))
            .await
            .expect("never published")
            .expect("the publisher is running")
            .clone()
    }

    #[tokio::test]
    async fn a_change_after_a_publish_is_published_too() {
        let meter = Meter::new(1);
        let tally = meter.tally(0);
        let (tx, mut rx) = watch::channel(Activity::default());
        let (_stop, stop_rx) = watch::channel(false);
        tokio::spawn(publish(meter.clone(), tx, stop_rx));
        for n in 1..=5 {
            tally.request();
            published(&mut rx, |a| a.requests == n).await;
        }
    }

    #[tokio::test]
    async fn the_publisher_stops_with_the_proxy() {
        let meter = Meter::new(1);
        let (tx, _rx) = watch::channel(Activity::default());
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(publish(meter, tx, stop_rx));
        drop(stop);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
