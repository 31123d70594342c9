//! Slow and flooding clients: every listener we own holds at most so many connections that have
//! not yet shown a credential. A connection holds one of those places from its accept until a
//! request on it is authorized (or it closes: the header timeout closes one that never finishes a
//! request). When all places are taken, the oldest connection that is still unauthenticated is
//! closed to make room: a flood of half-open connections holds a bounded amount of memory and
//! cannot keep a legitimate client out (its new connection gets a place, and it authenticates on
//! its first request). Connections that did authenticate are never counted or closed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;

/// The default number of unauthenticated connections a listener holds at once.
pub const DEFAULT_MAX_UNVERIFIED: usize = 64;

/// The default time a client has to send a request's headers; the same timer closes a keep-alive
/// connection left idle that long.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(15);

/// The places of one listener.
#[derive(Debug, Clone)]
pub struct Admission {
    max: usize,
    /// The unauthenticated connections, oldest first (weak: a closed connection frees its place).
    waiting: Arc<Mutex<VecDeque<Weak<Place>>>>,
}

#[derive(Debug, Default)]
struct Place {
    verified: AtomicBool,
    evict: Notify,
}

impl Admission {
    pub fn new(max_unverified: usize) -> Self {
        Self {
            max: max_unverified.max(1),
            waiting: Arc::default(),
        }
    }

    /// A place for a new connection. When all are taken, the oldest unauthenticated connection
    /// is told to close ([`Unverified::evicted`]) and its place goes to this one.
    pub fn admit(&self) -> Unverified {
        let place = Arc::new(Place::default());
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        waiting.retain(|w| {
            w.upgrade()
                .is_some_and(|p| !p.verified.load(Ordering::Acquire))
        });
        while waiting.len() >= self.max {
            if let Some(oldest) = waiting.pop_front().and_then(|w| w.upgrade()) {
                tracing::debug!("too many unauthenticated connections: the oldest is closed");
                oldest.evict.notify_one();
            }
        }
        waiting.push_back(Arc::downgrade(&place));
        Unverified(place)
    }

    /// Unauthenticated connections held now.
    pub fn waiting(&self) -> usize {
        let waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        waiting
            .iter()
            .filter(|w| {
                w.upgrade()
                    .is_some_and(|p| !p.verified.load(Ordering::Acquire))
            })
            .count()
    }
}

/// The next connection on `listener`, with its place. A failed accept (out of file descriptors and
/// the like) backs off instead of spinning.
pub(crate) async fn admit_next(
    listener: &tokio::net::TcpListener,
    admission: &Admission,
) -> (tokio::net::TcpStream, Unverified) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                let _ = stream.set_nodelay(true);
                return (stream, admission.admit());
            }
            Err(err) => {
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One connection's place, until [`Unverified::verified`]. Listeners built on
/// [`crate::listen::serve`] find it in each request's extensions; the connection's task closes
/// the connection when [`Unverified::evicted`] completes.
#[derive(Debug, Clone)]
pub struct Unverified(Arc<Place>);

impl Unverified {
    /// The connection showed a valid credential: it no longer counts, and is never evicted.
    pub fn verified(&self) {
        self.0.verified.store(true, Ordering::Release);
    }

    /// Completes when the connection must close to make room (it never does once verified).
    pub async fn evicted(&self) {
        loop {
            self.0.evict.notified().await;
            if !self.0.verified.load(Ordering::Acquire) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evicted_now(place: &Unverified) -> bool {
        use std::future::Future;
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut fut = std::pin::pin!(place.evicted());
        fut.as_mut().poll(&mut cx).is_ready()
    }

    #[test]
    fn the_oldest_unverified_connection_makes_room() {
        let admission = Admission::new(2);
        let a = admission.admit();
        let b = admission.admit();
        assert_eq!(admission.waiting(), 2);
        assert!(!evicted_now(&a) && !evicted_now(&b));
        let c = admission.admit();
        assert!(evicted_now(&a), "the oldest was not told to close");
        assert!(!evicted_now(&b) && !evicted_now(&c));
        drop(a);
        // A verified connection is neither counted nor evicted.
        b.verified();
        let d = admission.admit();
        let e = admission.admit();
        assert!(!evicted_now(&b), "a verified connection was evicted");
        assert!(evicted_now(&c));
        assert!(!evicted_now(&d) && !evicted_now(&e));
        drop((c, d));
        assert_eq!(admission.waiting(), 1);
    }
}
