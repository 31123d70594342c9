//! Running the real `porthole` binary from the CLI tests: a clean environment, a time limit,
//! and every output kept so the last test can check that no key was printed.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const EXE: &str = env!("CARGO_BIN_EXE_porthole");
/// Each run of the binary is killed after this, so a hang fails the test instead of the job.
pub const RUN_LIMIT: Duration = Duration::from_secs(90);

/// Every stdout and stderr the binary wrote, checked at the end for the keys.
pub static OUTPUTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub struct Ctx {
    pub base: String,
    pub key: String,
    /// What PORTHOLE_DATA_DIR must be for the CLI to find this server's key by itself.
    pub porthole_data: PathBuf,
    /// A server whose API minute lasts one second, for sessions that end on their own.
    pub fast_base: String,
    pub fast_key: String,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Runs `porthole ARGS` with exactly the environment given (plus PATH and HOME-less defaults).
pub fn porthole(args: &[&str], env: &[(&str, &str)]) -> Run {
    porthole_with_input(args, env, None)
}

/// The same, with `input` on stdin (a key for `accounts add`).
pub fn porthole_with_input(args: &[&str], env: &[(&str, &str)], input: Option<&str>) -> Run {
    let mut cmd = Command::new(EXE);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn porthole");
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        use std::io::Write;
        stdin.write_all(text.as_bytes()).unwrap();
    }
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("porthole {args:?} still running after {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    };
    OUTPUTS
        .lock()
        .unwrap()
        .push(format!("{}\n{}", run.stdout, run.stderr));
    run
}

impl Ctx {
    /// `porthole ARGS` with no account named and a config folder of its own (`config-NAME`,
    /// emptied): the Local account, found through this server's data folder.
    pub fn run_on_local(&self, name: &str, args: &[&str]) -> Run {
        let config = self.porthole_data.with_file_name(format!("config-{name}"));
        let _ = std::fs::remove_dir_all(&config);
        porthole(
            args,
            &[
                ("PORTHOLE_DATA_DIR", self.porthole_data.to_str().unwrap()),
                ("PORTHOLE_CONFIG_DIR", config.to_str().unwrap()),
            ],
        )
    }

    /// `porthole --base-url BASE ARGS` with the server's key in PORTHOLE_API_KEY.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["--base-url", &self.base];
        all.extend_from_slice(args);
        porthole(&all, &[("PORTHOLE_API_KEY", &self.key)])
    }
}

pub fn session_id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

pub fn deadline_of(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v["deadline"]
        .as_str()
        .expect("deadline")
        .parse()
        .expect("RFC 3339")
}

/// The session bus to reach the real keychain on, when the suite runs with one (make test runs
/// it inside a D-Bus session with `PORTHOLE_REAL_KEYCHAIN=1`); `None`, said on stderr, elsewhere.
pub fn keyring_bus() -> Option<String> {
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .ok()
        .filter(|_| std::env::var_os("PORTHOLE_REAL_KEYCHAIN").is_some());
    if bus.is_none() {
        eprintln!("skipped: needs PORTHOLE_REAL_KEYCHAIN=1 inside a D-Bus session with a keyring");
    }
    bus
}

/// Folders of its own and the real keychain, for a test that adds one account (`account`),
/// removed again when it ends.
pub struct KeyringEnv {
    vars: Vec<(String, String)>,
    dir: std::path::PathBuf,
    account: String,
}

impl KeyringEnv {
    pub fn new(bus: &str, name: &str, account: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("porthole-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let vars = vec![
            (
                "PORTHOLE_CONFIG_DIR".into(),
                dir.join("config").display().to_string(),
            ),
            (
                "PORTHOLE_DATA_DIR".into(),
                dir.join("data").display().to_string(),
            ),
            ("DBUS_SESSION_BUS_ADDRESS".into(), bus.to_owned()),
        ];
        Self {
            vars,
            dir,
            account: account.to_owned(),
        }
    }

    /// Its config folder (accounts.json).
    pub fn config_dir(&self) -> std::path::PathBuf {
        self.dir.join("config")
    }

    pub fn refs(&self) -> Vec<(&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        porthole(args, &self.refs())
    }

    /// `--account ACCOUNT ARGS`.
    pub fn on(&self, args: &[&str]) -> Run {
        let mut all = vec!["--account", self.account.as_str()];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// `--account ACCOUNT ARGS --json`, which must succeed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        self.on(&all).ok().json()
    }

    /// Polls `sessions show ID --json` until `done` holds (20 s at most).
    pub fn show_until(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let shown = self.json(&["sessions", "show", id]);
            if done(&shown) {
                return shown;
            }
            assert!(Instant::now() < deadline, "{what}: {shown}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for KeyringEnv {
    fn drop(&mut self) {
        let _ = porthole(&["accounts", "remove", &self.account], &self.refs());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
