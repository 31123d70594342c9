//! Embeds xterm.js from the UI's npm dependencies (`ui/node_modules/@xterm/xterm`) when they are
//! installed. xterm.js is never copied into the repository: without it the terminal page says the
//! assets are missing, and the WebSocket still works.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let xterm = manifest.join("../../ui/node_modules/@xterm/xterm");
    for (src, dest) in [("lib/xterm.js", "xterm.js"), ("css/xterm.css", "xterm.css")] {
        let from = xterm.join(src);
        let bytes = std::fs::read(&from).unwrap_or_default();
        if let Err(e) = std::fs::write(out.join(dest), bytes) {
            println!("cargo:warning=cannot write {dest}: {e}");
        }
        watch(&from);
    }
}

/// Watches the file, or the nearest folder above it that exists (so installing the package
/// later triggers a rebuild without making every build rerun this script).
fn watch(path: &Path) {
    let mut p = path;
    loop {
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
            return;
        }
        match p.parent() {
            Some(parent) => p = parent,
            None => return,
        }
    }
}
