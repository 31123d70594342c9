//! The terminal page. xterm.js and its CSS are embedded by build.rs from the UI's npm
//! dependencies when present; without them the page says what to run.

pub const XTERM_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/xterm.js"));
pub const XTERM_CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/xterm.css"));

pub fn assets_present() -> bool {
    !XTERM_JS.is_empty() && !XTERM_CSS.is_empty()
}

pub fn html() -> &'static str {
    if assets_present() {
        PAGE
    } else {
        MISSING
    }
}

const MISSING: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Terminal</title></head>
<body style="font-family: sans-serif; margin: 2em">
<h1>Terminal assets are missing</h1>
<p>This portholed was built without xterm.js. Run <code>make</code> (or <code>npm ci</code> in
<code>ui/</code>) and rebuild portholed.</p>
</body></html>
"#;

const PAGE: &str = r##"<!doctype html>
<html><head><meta charset="utf-8"><title>Terminal</title>
<link rel="stylesheet" href="/xterm.css">
<style>
  html, body { margin: 0; height: 100%; background: #1e1e1e; }
  #term { position: absolute; inset: 4px; }
  #status { position: fixed; right: 8px; bottom: 4px; color: #aaa; font: 12px sans-serif; }
</style>
<script src="/xterm.js"></script>
</head>
<body><div id="term"></div><div id="status"></div>
<script>
(function () {
  const term = new Terminal({ cursorBlink: true, fontFamily: "monospace", fontSize: 14,
                              scrollback: 5000, theme: { background: "#1e1e1e" } });
  const box = document.getElementById("term");
  const status = document.getElementById("status");
  term.open(box);
  term.focus();
  const enc = new TextEncoder();
  let ws = null;
  function cell() {
    const span = document.createElement("span");
    span.style.cssText = "font: 14px monospace; position: absolute; visibility: hidden";
    span.textContent = "WWWWWWWWWW";
    document.body.appendChild(span);
    const r = span.getBoundingClientRect();
    span.remove();
    return { w: r.width / 10 || 8, h: r.height || 17 };
  }
  function fit() {
    const c = cell();
    const cols = Math.max(10, Math.floor(box.clientWidth / c.w));
    const rows = Math.max(5, Math.floor(box.clientHeight / c.h));
    term.resize(cols, rows);
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "resize", cols, rows }));
  }
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + "/ws");
    ws.binaryType = "arraybuffer";
    ws.onopen = function () { status.textContent = ""; fit(); };
    ws.onmessage = function (e) { term.write(new Uint8Array(e.data)); };
    ws.onclose = function () { status.textContent = "disconnected, retrying…"; setTimeout(connect, 1000); };
  }
  term.onData(function (d) { if (ws && ws.readyState === 1) ws.send(enc.encode(d)); });
  window.addEventListener("resize", fit);
  fit();
  connect();
})();
</script>
</body></html>
"##;
