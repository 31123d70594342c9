//! The bare relay: the floor under any reverse proxy on this machine. It accepts a connection,
//! opens one to the upstream and copies bytes both ways without reading them (no HTTP, no checks),
//! on as many threads as each proxy under test gets. Whatever it loses against a direct
//! connection is what one more process copying every byte costs here; a proxy cannot do better.

use tokio::net::{TcpListener, TcpStream};

/// Copy buffer each way: large, so bulk transfers take few system calls.
const BUFFER: usize = 256 * 1024;

/// Listens on a loopback port, relays every connection to `upstream`; returns the port.
pub async fn start(upstream: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional_with_sizes(
                    &mut client,
                    &mut server,
                    BUFFER,
                    BUFFER,
                )
                .await;
            });
        }
    });
    port
}
