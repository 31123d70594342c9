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

use crate::forward::{handle, Shared};
use crate::guard::Guarded;

/// Hands an accepted connection to another worker thread.
pub(crate) type Handoff = mpsc::UnboundedSender<std::net::TcpStream>;

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
/// `others`.
pub(crate) async fn accept(
    listener: TcpListener,
    shared: Arc<Shared>,
    header_timeout: Duration,
    others: Vec<Handoff>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut turn = 0usize;
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %err, "proxy accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        turn = turn.wrapping_add(1);
        let stream = match others.get(turn % (others.len() + 1)) {
            Some(other) => match hand_off(stream, other) {
                Some(back) => back,
                None => continue,
            },
            None => stream,
        };
        connection(stream, shared.clone(), header_timeout, shutdown.clone());
    }
}

/// Gives `stream` to another thread; returns it when that thread is gone.
fn hand_off(stream: TcpStream, other: &Handoff) -> Option<TcpStream> {
    let std_stream = stream.into_std().ok()?;
    match other.send(std_stream) {
        Ok(()) => None,
        Err(returned) => TcpStream::from_std(returned.0).ok(),
    }
}

/// The other threads: serve what the acceptor hands over.
pub(crate) async fn receive(
    shared: Arc<Shared>,
    header_timeout: Duration,
    mut incoming: mpsc::UnboundedReceiver<std::net::TcpStream>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            stream = incoming.recv() => stream,
        };
        let Some(stream) = stream else { return };
        match TcpStream::from_std(stream) {
            Ok(stream) => connection(stream, shared.clone(), header_timeout, shutdown.clone()),
            Err(err) => tracing::debug!(error = %err, "cannot adopt a connection"),
        }
    }
}

fn connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    header_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let service = service_fn(move |request| handle(shared.clone(), request));
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
        }
    });
}
