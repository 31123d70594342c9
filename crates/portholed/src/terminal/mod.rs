//! The built-in `terminal` template: `portholed __portholed-terminal --port P` serves a page
//! (xterm.js) and a WebSocket bridged to one PTY, on 127.0.0.1 only, token required. The token
//! comes in the environment (`PORTHOLE_TOKEN`, readable by this user only), never in argv, where
//! every local user could read it.
//!
//! The token arrives once in the URL (`/?token=T`, the way Jupyter does it) and becomes an
//! `HttpOnly; SameSite=Strict` cookie; every later request (assets, the WebSocket) carries the
//! cookie or the query. Every request and every upgrade also passes porthole-proxy's listener
//! rules ([`porthole_proxy::Access`]: one Host, ours; Origin absent or ours): every port of
//! 127.0.0.1 is the same site to a browser, so `SameSite` alone would let a page on another
//! loopback port open the WebSocket with the cookie. Anything else is 403.

mod page;
mod pty;

/// Whether xterm.js was embedded at build time (from the UI's npm dependencies).
pub fn assets_embedded() -> bool {
    !page::XTERM_JS.is_empty() && !page::XTERM_CSS.is_empty()
}

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use nix::sys::signal::Signal;
use porthole_core::error::Result;
use porthole_core::Error;
use porthole_proxy::admission::Unverified;
use porthole_proxy::{listen, Access};
use porthole_secrets::Sensitive;
use serde::Deserialize;

use crate::{key, process};
use pty::{Input, Pty};

#[derive(Debug, Clone)]
pub struct TerminalArgs {
    /// The address to listen on: 127.0.0.1, or a compute node's own address (Slurm).
    pub host: std::net::IpAddr,
    pub port: u16,
    pub token: Sensitive<String>,
    pub shell: Option<String>,
}

/// Parses `--port P [--host ADDR] [--shell S]`; `token` is the session's token, from the
/// environment.
pub fn parse_args(args: &[String], token: Option<String>) -> Result<TerminalArgs> {
    let mut port = None;
    let mut host = std::net::IpAddr::from(std::net::Ipv4Addr::LOCALHOST);
    let mut shell = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| Error::invalid_input(format!("{flag} needs a value")))?;
        match flag.as_str() {
            "--port" => {
                port = Some(
                    value
                        .parse::<u16>()
                        .map_err(|_| Error::invalid_input("--port must be a port number"))?,
                )
            }
            "--host" => {
                host = value
                    .parse()
                    .map_err(|_| Error::invalid_input("--host must be an IP address"))?
            }
            "--shell" => shell = Some(value.clone()),
            other => return Err(Error::invalid_input(format!("unknown flag {other}"))),
        }
    }
    Ok(TerminalArgs {
        host,
        port: port.ok_or_else(|| Error::invalid_input("--port is required"))?,
        token: token
            .filter(|t| !t.is_empty())
            .map(Sensitive::new)
            .ok_or_else(|| Error::invalid_input(format!("{} is not set", process::TOKEN_ENV)))?,
        shell,
    })
}

struct Term {
    pty: Arc<Pty>,
    token: Sensitive<String>,
    cookie: String,
    access: Access,
}

/// Runs the terminal until the shell exits or SIGTERM arrives.
pub async fn serve(args: TerminalArgs) -> Result<()> {
    let shell = args
        .shell
        .clone()
        .or_else(|| std::env::var("SHELL").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "/bin/sh".to_owned());
    let listener = tokio::net::TcpListener::bind((args.host, args.port))
        .await
        .map_err(|e| Error::io(&format!("cannot listen on {}:{}", args.host, args.port), &e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("cannot read the terminal's address", &e))?;
    let (pty, exited) = Pty::start(&shell)?;
    let shell_pid = pty.shell_pid;
    let term = Arc::new(Term {
        pty,
        token: args.token,
        cookie: format!("porthole_terminal_{}", args.port),
        access: Access::for_listener(addr),
    });
    let app = Router::new()
        .route("/", get(index).options(preflight))
        .route("/xterm.js", get(script))
        .route("/xterm.css", get(style))
        .route("/ws", get(socket))
        .layer(middleware::from_fn_with_state(Arc::clone(&term), guard))
        .with_state(term);
    let mut term_signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::io("cannot handle SIGTERM", &e))?;
    let stop = async move {
        tokio::select! {
            _ = exited => {}
            _ = term_signal.recv() => {}
        }
    };
    listen::serve(listener, None, app, listen::Limits::default(), stop).await;
    // The shell leads its own session: hang it up, then make sure.
    crate::process::signal_group(shell_pid, Signal::SIGHUP);
    crate::process::signal_group(shell_pid, Signal::SIGCONT);
    for _ in 0..50 {
        if !crate::process::group_alive(shell_pid) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    crate::process::signal_group(shell_pid, Signal::SIGKILL);
    Ok(())
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

impl Term {
    /// The listener rules (Host, Origin) and the token, from the query or the cookie.
    fn authorized(&self, headers: &HeaderMap, query: &TokenQuery) -> bool {
        self.access.allows(headers)
            && (query
                .token
                .as_deref()
                .is_some_and(|t| key::matches(&self.token, t))
                || self
                    .cookie_token(headers)
                    .is_some_and(|t| key::matches(&self.token, t)))
    }

    fn cookie_token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.cookie)
            .map(|(_, value)| value)
    }
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "This terminal needs its token: open the session's URL from Porthole.",
    )
        .into_response()
}

/// Every route: the listener rules and the token, before anything else.
async fn guard(State(term): State<Arc<Term>>, request: Request, next: Next) -> Response {
    let query = Query::<TokenQuery>::try_from_uri(request.uri())
        .map(|q| q.0)
        .unwrap_or(TokenQuery { token: None });
    if !term.authorized(request.headers(), &query) {
        return forbidden();
    }
    if let Some(place) = request.extensions().get::<Unverified>() {
        place.verified();
    }
    next.run(request).await
}

async fn index(State(term): State<Arc<Term>>) -> Response {
    let cookie = format!(
        "{}={}; HttpOnly; SameSite=Strict; Path=/",
        term.cookie,
        term.token.expose()
    );
    (
        [
            (header::SET_COOKIE, cookie),
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        page::html(),
    )
        .into_response()
}

/// Readiness probes (the ComfyDeploy dashboard sends `OPTIONS` to a session's url): 200 with the
/// token, 403 without (from [`guard`]). A browser's CORS preflight from another page carries that
/// page's `Origin` and is refused like any other request from another page.
async fn preflight() -> Response {
    StatusCode::OK.into_response()
}

async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript")], page::XTERM_JS).into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css")], page::XTERM_CSS).into_response()
}

async fn socket(State(term): State<Arc<Term>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| bridge(socket, term))
}

#[derive(Deserialize)]
struct Control {
    #[serde(rename = "type")]
    kind: String,
    cols: Option<u16>,
    rows: Option<u16>,
}

/// Binary frames are keystrokes; a text frame is a control message
/// (`{"type":"resize","cols":C,"rows":R}`) or, if it is not one, keystrokes too.
async fn bridge(socket: WebSocket, term: Arc<Term>) {
    let (mut tx, mut rx) = socket.split();
    let (scrollback, mut output) = term.pty.attach();
    if !scrollback.is_empty() && tx.send(Message::Binary(scrollback.into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            msg = rx.next() => match msg {
                Some(Ok(Message::Binary(b))) => term.pty.send(Input::Bytes(b.to_vec())),
                Some(Ok(Message::Text(t))) => match serde_json::from_str::<Control>(t.as_str()) {
                    Ok(Control { kind, cols: Some(cols), rows: Some(rows) })
                        if kind == "resize" && cols > 0 && rows > 0 =>
                    {
                        term.pty.send(Input::Resize { cols, rows });
                    }
                    _ => term.pty.send(Input::Bytes(t.as_bytes().to_vec())),
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            out = output.recv() => match out {
                Ok(bytes) => {
                    if tx.send(Message::Binary(bytes.to_vec().into())).await.is_err() {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn args_parse_and_fail_clearly() {
        let token = || Some("abc".to_owned());
        let a =
            parse_args(&s(&["--port", "8080", "--shell", "/bin/bash"]), token()).expect("parse");
        assert_eq!(a.port, 8080);
        assert_eq!(a.token.expose(), "abc");
        assert_eq!(a.shell.as_deref(), Some("/bin/bash"));
        assert!(parse_args(&s(&["--port", "x"]), token()).is_err());
        assert!(parse_args(&s(&["--shell", "/bin/sh"]), token()).is_err());
        assert!(parse_args(&s(&["--port"]), token()).is_err());
        // The token never comes from argv.
        assert!(parse_args(&s(&["--port", "1", "--token", "abc"]), token()).is_err());
        let no_token = parse_args(&s(&["--port", "1"]), None).expect_err("no token");
        assert!(
            no_token.message.contains("PORTHOLE_TOKEN"),
            "{}",
            no_token.message
        );
    }
}
