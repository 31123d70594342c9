//! Opening a session's page in the browser without its URL on any command line: a session's URL
//! carries its token (portholed's `?token=`), and every local user can read a process's argv
//! (the opener's, and the browser's for as long as it runs). The URL goes into a small redirect
//! page in a private folder (`<data>/open/`, 0700; the page 0600), and the opener gets the page's
//! path. Pages older than ten minutes are removed by the next `open`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use porthole_core::paths::{create_private_dir, write_private, Dirs};
use porthole_core::{Error, ErrorCode};

/// How long a redirect page is kept (the browser reads it at once).
const KEEP: Duration = Duration::from_secs(600);

/// Opens `url` in the system's browser.
pub fn open(url: &str) -> Result<(), Error> {
    let page = redirect_page(&Dirs::from_env()?.data.join("open"), url)?;
    run_opener(&page)
}

/// Writes a page that sends the browser to `url`, in `dir`; returns its path.
fn redirect_page(dir: &Path, url: &str) -> Result<PathBuf, Error> {
    create_private_dir(dir)?;
    forget_old_pages(dir);
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let path = dir.join(format!("session-{}-{stamp}.html", std::process::id()));
    let attr = html_escape(url);
    let js = serde_json::to_string(url)
        .map_err(|e| Error::new(ErrorCode::Internal, format!("URL: {e}")))?
        .replace('<', "\\u003c");
    let html = format!(
        "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
         <meta http-equiv=\"refresh\" content=\"0;url={attr}\"><title>Opening the session…</title>\
         <script>location.replace({js})</script>\n"
    );
    write_private(&path, html.as_bytes())?;
    Ok(path)
}

fn forget_old_pages(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > KEEP);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Hands `target` (a file) to the system's opener and waits for it to accept it.
fn run_opener(target: &std::path::Path) -> Result<(), Error> {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    let program = format!("{:?}", command.get_program());
    let status = command
        .arg(target)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| {
            Error::new(
                ErrorCode::Io,
                format!(
                    "Cannot run {program} to open a browser ({e}); use --print to see the URL."
                ),
            )
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::Io,
            format!("{program} could not open the URL ({status}); use --print to see it."),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_sends_the_browser_to_the_url_and_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("porthole-open-{}", std::process::id()));
        let url = "http://127.0.0.1:4000/?token=abc&x=\"<b>";
        let page = redirect_page(&dir, url).expect("page");
        let html = std::fs::read_to_string(&page).expect("read");
        assert!(
            html.contains("url=http://127.0.0.1:4000/?token=abc&amp;x=&quot;&lt;b&gt;"),
            "{html}"
        );
        assert!(
            html.contains(r#"location.replace("http://127.0.0.1:4000/?token=abc&x=\"\u003cb>")"#),
            "{html}"
        );
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&page), 0o600);
        assert_eq!(mode(&dir), 0o700);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
