//! A real portholed on 127.0.0.1:0 with an explicit key, a scratch data folder, and helpers to
//! poll with deadlines (never sleeping for luck).
#![allow(dead_code, clippy::unwrap_used)]

pub mod netns;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use porthole_secrets::Sensitive;
use portholed::{ConfigSource, KeyStorage, RunningServer, Server, ServerConfig};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const KEY: &str = "test-key-0123456789";
pub const EXE: &str = env!("CARGO_BIN_EXE_portholed");

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("portholed-it-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A custom machine running the terminal helper: a real process with a token and a port.
pub fn helper_machine(name: &str) -> String {
    format!(
        "[machines.{name}]\ncommand = [\"{EXE}\", \"__portholed-terminal\", \"--port\", \"{{port}}\", \"--shell\", \"/bin/sh\"]\n"
    )
}

/// Answers `GET /` with its own pid once 0.3 s have passed (ComfyUI takes a while to start), and
/// 403 when Origin and Host disagree (ComfyUI's check).
pub const FAKE_COMFYUI: &str = r#"
import http.server, os, sys, time
args = sys.argv[1:]
host = args[args.index("--listen") + 1]
port = int(args[args.index("--port") + 1])
time.sleep(0.3)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        origin = self.headers.get("Origin")
        if origin and origin.split("://", 1)[-1] != self.headers.get("Host"):
            self.send_response(403); self.end_headers(); return
        body = ("fake comfyui pid=%d path=%s cookie=%s" % (os.getpid(), self.path, self.headers.get("Cookie"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer((host, port), Handler).serve_forever()
"#;

/// A config whose `comfyui` template runs [`FAKE_COMFYUI`] from a folder under `dir`.
pub fn comfy_config(dir: &std::path::Path) -> String {
    let comfy = dir.join("ComfyUI");
    std::fs::create_dir_all(&comfy).unwrap();
    std::fs::write(comfy.join("main.py"), FAKE_COMFYUI).unwrap();
    format!(
        "comfyui_dir = \"{}\"\ncomfyui_python = \"/usr/bin/python3\"\n[machines.comfyui]\nenabled = true\n",
        comfy.display()
    )
}

pub fn config(dir: &Path, toml: &str, minute_seconds: f64) -> ServerConfig {
    let mut c = ServerConfig::new(dir);
    c.config = ConfigSource::Inline(format!("nvidia_smi = \"\"\n{toml}"));
    c.key = KeyStorage::Explicit(Sensitive::new(KEY.to_owned()));
    c.minute_seconds = Some(minute_seconds);
    c.helper_exe = Some(PathBuf::from(EXE));
    c
}

pub struct Harness {
    pub server: Option<RunningServer>,
    pub base: String,
    pub dir: PathBuf,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start(name: &str, toml: &str, minute_seconds: f64) -> Harness {
        let dir = scratch(name);
        Self::start_with(config(&dir, toml, minute_seconds)).await
    }

    pub async fn start_with(config: ServerConfig) -> Harness {
        let dir = config.data_dir.clone();
        let server = Server::start(config).await.unwrap();
        Harness {
            base: server.base_url(),
            server: Some(server),
            dir,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY)
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.req(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.req(Method::POST, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.req(Method::DELETE, path)).await
    }

    /// Launches and returns the session id.
    pub async fn launch(&self, machine: &str, extra: Value) -> String {
        let mut body = serde_json::json!({ "machine_id": machine });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (status, v) = self.post("/session", body).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v["session_id"].as_str().unwrap().to_owned()
    }

    /// Polls S2 until `url` is set; returns it.
    pub async fn wait_url(&self, id: &str, limit: Duration) -> String {
        let id = id.to_owned();
        poll(limit, || async {
            let (s, v) = self.get(&format!("/session/{id}")).await;
            assert_eq!(s, StatusCode::OK, "session ended before its url: {v}");
            v["url"].as_str().map(str::to_owned)
        })
        .await
        .unwrap_or_else(|| panic!("no url within {limit:?}"))
    }

    /// Polls S2 until it answers 404.
    pub async fn wait_gone(&self, id: &str, limit: Duration) {
        let id = id.to_owned();
        poll(limit, || async {
            let (s, _) = self.get(&format!("/session/{id}")).await;
            (s == StatusCode::NOT_FOUND).then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("session {id} still there after {limit:?}"));
    }

    pub async fn shutdown(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Calls `f` every 20 ms until it returns `Some`, or `limit` passes.
pub async fn poll<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Pids of live (non-zombie) processes whose environment names this session: the session's
/// process and everything it started.
pub fn session_processes(id: &str) -> Vec<i32> {
    let needle = format!("PORTHOLE_SESSION_ID={id}");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if !env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
            continue;
        }
        if portholed::process::start_time(pid).is_some() {
            out.push(pid);
        }
    }
    out
}

/// Waits until no process of the session is left.
pub async fn wait_no_processes(id: &str, limit: Duration) {
    let id = id.to_owned();
    let left = poll(limit, || async {
        session_processes(&id).is_empty().then_some(())
    })
    .await;
    assert!(
        left.is_some(),
        "processes of {id} outlived it: {:?}",
        session_processes(&id)
    );
}

/// Reads an S10 stream to its end; the `data:` payloads.
pub async fn read_stream(h: &Harness, id: &str, query: &str) -> Vec<Value> {
    let resp = h
        .req(
            reqwest::Method::GET,
            &format!("/v2/stream-logs?session_id={id}{query}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let body = tokio::time::timeout(Duration::from_secs(20), resp.text())
        .await
        .unwrap()
        .unwrap();
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

pub fn messages(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e["message"].as_str().map(str::to_owned))
        .collect()
}

/// Types `command` into a terminal session's WebSocket and waits (10 s at most) for `answer` in
/// what the shell prints; panics with what it saw otherwise.
pub async fn shell_answers<S>(ws: &mut S, command: &str, answer: &str)
where
    S: futures_util::Sink<tokio_tungstenite::tungstenite::Message>
        + futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
    <S as futures_util::Sink<tokio_tungstenite::tungstenite::Message>>::Error: std::fmt::Debug,
{
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Binary(format!("{command}\r").into_bytes().into()))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let answered = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Binary(b) = msg {
                seen.extend_from_slice(&b);
                if String::from_utf8_lossy(&seen).contains(answer) {
                    return;
                }
            }
        }
    })
    .await;
    assert!(
        answered.is_ok(),
        "no {answer:?} from the shell: {:?}",
        String::from_utf8_lossy(&seen)
    );
}
