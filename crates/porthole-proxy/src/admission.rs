//! Slow and flooding clients: every listener we own admits at most so many connections that have
//! not yet shown a credential. A connection holds one of those places from its accept until a
//! request on it is authorized (or it closes: the header timeout closes one that never finishes a
//! request). When all places are taken, a new connection is closed at once, before it is read, so
//! a flood of half-open connections holds a bounded amount of memory and nothing else; connections
//! that did authenticate are never counted, so a flood does not cut off a window already open.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The default number of unauthenticated connections a listener holds at once.
pub const DEFAULT_MAX_UNVERIFIED: usize = 64;

/// The default time a client has to send a request's headers; the same timer closes a keep-alive
/// connection left idle that long.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(15);

/// The places of one listener.
#[derive(Debug, Clone)]
pub struct Admission(Arc<Semaphore>);

impl Admission {
    pub fn new(max_unverified: usize) -> Self {
        Self(Arc::new(Semaphore::new(max_unverified.max(1))))
    }

    /// A place for a new connection, or `None` when all are taken (close the connection).
    pub fn admit(&self) -> Option<Unverified> {
        let permit = self.0.clone().try_acquire_owned().ok()?;
        Some(Unverified(Arc::new(Mutex::new(Some(permit)))))
    }

    /// Places free now.
    pub fn available(&self) -> usize {
        self.0.available_permits()
    }
}

/// The next connection on `listener` that finds a place, with its place. A failed accept (out of
/// file descriptors and the like) backs off instead of spinning; a connection that finds no
/// place is closed at once.
pub(crate) async fn admit_next(
    listener: &tokio::net::TcpListener,
    admission: &Admission,
) -> (tokio::net::TcpStream, Unverified) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => match admission.admit() {
                Some(place) => {
                    let _ = stream.set_nodelay(true);
                    return (stream, place);
                }
                None => tracing::debug!("too many unauthenticated connections: one closed"),
            },
            Err(err) => {
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One connection's place, until [`Unverified::verified`]. Listeners built on
/// [`crate::listen::serve`] find it in each request's extensions.
#[derive(Debug, Clone)]
pub struct Unverified(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl Unverified {
    /// The connection showed a valid credential: it no longer counts.
    pub fn verified(&self) {
        let permit = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(permit);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn places_are_held_until_verified_or_closed() {
        let admission = Admission::new(2);
        let a = admission.admit().unwrap();
        let b = admission.admit().unwrap();
        assert!(admission.admit().is_none(), "a third place was given");
        a.verified();
        a.verified();
        let c = admission.admit().unwrap();
        assert!(admission.admit().is_none());
        drop(b);
        assert_eq!(admission.available(), 1);
        drop(c);
        assert_eq!(admission.available(), 2);
    }
}
