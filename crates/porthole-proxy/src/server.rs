//! Threads and connections. A proxy runs on a few threads of its own, each with a single-threaded
//! tokio runtime (nginx's worker model): the first accepts and deals connections round-robin, and
//! every connection then lives on one thread with that thread's upstream pool, so a request never
//! wakes another thread. Each connection is one hyper HTTP/1.1 connection behind the smuggling
//! guard. When the proxy shuts down each thread's runtime is dropped, which closes everything it
//! owned.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::admission::{admit_next, Admission, Unverified};
use crate::forward::{handle, Shared};
use crate::guard::Guarded;

/// An accepted connection, with its place among the unauthenticated ones.
pub(crate) type Accepted = (std::net::TcpStream, Unverified);

/// Hands an accepted connection to another worker thread.
pub(crate) type Handoff = mpsc::UnboundedSender<Accepted>;

/// Runs `main` on a new thread with its own single-threaded runtime; when `main` returns, the
/// runtime and every task still on it are dropped.
pub(crate) fn thread<F, Fut>(index: usize, main: F) -> std::io::Result<()>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    std::thread::Builder::new()
        .name(format!("porthole-proxy-{index}"))
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(main()),
                Err(err) => tracing::error!(error = %err, "cannot start a proxy thread"),
            }
        })
        .map(drop)
}

/// The accept loop, on the first thread: connections are dealt in turn to this thread and to
/// `others`. A connection that finds no place in `admission` is closed at once.
pub(crate) async fn accept(
    listener: TcpListener,
    shared: Arc<Shared>,
    header_timeout: Duration,
    admission: Admission,
    others: Vec<Handoff>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut turn = 0usize;
    loop {
        let (stream, place) = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            admitted = admit_next(&listener, &admission) => admitted,
        };
        turn = turn.wrapping_add(1);
        let (stream, place) = match others.get(turn % (others.len() + 1)) {
            Some(other) => match hand_off(stream, place, other) {
                Some(back) => back,
                None => continue,
            },
            None => (stream, place),
        };
        connection(
            stream,
            place,
            shared.clone(),
            header_timeout,
            shutdown.clone(),
        );
    }
}

/// Gives `stream` to another thread; returns it when that thread is gone.
fn hand_off(
    stream: TcpStream,
    place: Unverified,
    other: &Handoff,
) -> Option<(TcpStream, Unverified)> {
    let std_stream = stream.into_std().ok()?;
    match other.send((std_stream, place)) {
        Ok(()) => None,
        Err(returned) => {
            let (stream, place) = returned.0;
            Some((TcpStream::from_std(stream).ok()?, place))
        }
    }
}

/// The other threads: serve what the acceptor hands over.
pub(crate) async fn receive(
    shared: Arc<Shared>,
    header_timeout: Duration,
    mut incoming: mpsc::UnboundedReceiver<Accepted>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            stream = incoming.recv() => stream,
        };
        let Some((stream, place)) = stream else {
            return;
        };
        match TcpStream::from_std(stream) {
            Ok(stream) => connection(
                stream,
                place,
                shared.clone(),
                header_timeout,
                shutdown.clone(),
            ),
            Err(err) => tracing::debug!(error = %err, "cannot adopt a connection"),
        }
    }
}

fn connection(
    stream: TcpStream,
    place: Unverified,
    shared: Arc<Shared>,
    header_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let watch_place = place.clone();
        let service = service_fn(move |request| handle(shared.clone(), place.clone(), request));
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(Guarded::new(stream)), service)
            .with_upgrades();
        tokio::select! {
            result = connection => {
                if let Err(err) = result {
                    tracing::debug!(error = %err, "proxy connection ended");
                }
            }
            _ = shutdown.wait_for(|stop| *stop) => {}
            // Closed to make room for a newer connection (see `admission`).
            () = watch_place.evicted() => {}
        }
    });
}
