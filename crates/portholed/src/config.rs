//! portholed's settings: the TOML file (machines, prices, limits, time scale) and the embedding
//! options ([`ServerConfig`]) the desktop app and the binary fill in.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use porthole_core::error::Result;
use porthole_core::Error;
use porthole_secrets::Sensitive;
use serde::Deserialize;

/// Upstream's per-machine concurrency limit (docs/providers/comfydeploy.md §4.2 step 3).
pub const DEFAULT_MAX_SESSIONS: u32 = 5;
/// Seconds between SIGTERM and SIGKILL when a session is stopped (before time scaling).
pub const DEFAULT_GRACE_SECONDS: f64 = 5.0;

/// The TOML file. Every key is optional; an empty file gives the defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Sessions allowed at once on each machine, unless the machine sets its own.
    pub max_sessions_per_machine: Option<u32>,
    /// Seconds between SIGTERM and SIGKILL.
    pub grace_seconds: Option<f64>,
    /// Time scale for tests and demos: how many real seconds one API minute lasts (60 = real time).
    pub minute_seconds: Option<f64>,
    /// The nvidia-smi program to ask about GPUs ("" turns discovery off).
    pub nvidia_smi: Option<String>,
    /// A ComfyUI checkout; enables the `comfyui` machine.
    pub comfyui_dir: Option<PathBuf>,
    /// The Python that runs ComfyUI (default: the checkout's venv, else python3).
    pub comfyui_python: Option<PathBuf>,
    /// Price in USD per second, keyed by GPU name (`CPU`, `H100`…). Missing GPUs cost 0.
    #[serde(default)]
    pub prices: BTreeMap<String, f64>,
    /// Session templates, keyed by name. `terminal`, `jupyter` and `comfyui` are built in; a
    /// table with one of those names adjusts the built-in, any other name needs a `command`.
    #[serde(default)]
    pub machines: BTreeMap<String, MachineConfig>,
    /// Where sessions run: `local` (processes on this machine, the default) or `slurm` (batch
    /// jobs on a Slurm cluster, see `[slurm]` and `crate::slurm`).
    pub backend: Option<BackendKind>,
    /// The Slurm backend's settings (`backend = "slurm"`).
    pub slurm: Option<SlurmSettings>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    #[default]
    Local,
    Slurm,
}

/// The `[slurm]` table. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmSettings {
    /// The partition of a launch that names none ("CPU"): default Slurm's own default partition.
    pub partition: Option<String>,
    /// Where each session's job folder lives (its script, its port once it listens, its log).
    /// The compute nodes must see it at the same path: a shared filesystem. Default
    /// DATA_DIR/slurm.
    pub shared_dir: Option<PathBuf>,
    /// The portholed executable as the compute nodes see it (it starts each session there and
    /// serves the terminal template). Default: this executable's path.
    pub helper: Option<PathBuf>,
    /// The folder of sbatch, squeue, scontrol, scancel, sinfo and srun. Default: PATH.
    pub bin_dir: Option<PathBuf>,
    /// Seconds between two looks at the queue (one squeue for every session). Default 2.
    pub poll_seconds: Option<f64>,
    /// `--account` for every job.
    pub account: Option<String>,
    /// `--qos` for every job.
    pub qos: Option<String>,
    /// More sbatch options for every job (`["--constraint=a100"]`).
    #[serde(default)]
    pub sbatch_args: Vec<String>,
}

/// One `[machines.NAME]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineConfig {
    /// `false` hides the machine (also for built-ins).
    pub enabled: Option<bool>,
    /// The command: a list (program and arguments) or a string run by `/bin/sh -c`. `{host}`
    /// (the address to listen on), `{port}` and `{token}` are replaced; `{port}` is required.
    pub command: Option<CommandLine>,
    /// The URL sessions report once the port answers (default `http://{host}:{port}/?token={token}`).
    pub url: Option<String>,
    /// The path probed to decide the process answers (default: the URL's path and query).
    pub probe_path: Option<String>,
    /// The GPU a session gets when the request names none (default `CPU`).
    pub gpu: Option<String>,
    /// This machine's concurrency limit.
    pub max_sessions: Option<u32>,
    /// Working directory of the process.
    pub cwd: Option<PathBuf>,
    /// Extra environment for the process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// For `terminal`: the shell (default `$SHELL`, else `/bin/sh`).
    pub shell: Option<String>,
    /// Run when a session's deadline comes or a stop is asked, before the session is stopped:
    /// in the session's environment and folder, its output in the session's log (copy outputs
    /// or save a notebook to a folder that outlives the session). A list or a `/bin/sh -c` line.
    pub before_end: Option<CommandLine>,
    /// How long `before_end` may run before it is stopped (default 60 s).
    pub before_end_seconds: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum CommandLine {
    Argv(Vec<String>),
    Shell(String),
}

impl FileConfig {
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text)
            .map_err(|e| Error::invalid_input(format!("portholed config is not valid: {e}")))
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(&format!("cannot read {}", path.display()), &e))?;
        Self::parse(&text)
    }

    /// Checks the values that would make the server misbehave.
    pub fn validate(&self) -> Result<()> {
        if let Some(s) = self.minute_seconds {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::invalid_input(
                    "minute_seconds must be a positive number",
                ));
            }
        }
        if let Some(g) = self.grace_seconds {
            if !(g.is_finite() && g >= 0.0) {
                return Err(Error::invalid_input("grace_seconds must be 0 or more"));
            }
        }
        for (name, machine) in &self.machines {
            if let Some(s) = machine.before_end_seconds {
                if !(s.is_finite() && (0.0..=3600.0).contains(&s)) {
                    return Err(Error::invalid_input(format!(
                        "machines.{name}.before_end_seconds must be between 0 and 3600"
                    )));
                }
            }
        }
        if let Some(p) = self.slurm.as_ref().and_then(|s| s.poll_seconds) {
            if !(p.is_finite() && (0.05..=300.0).contains(&p)) {
                return Err(Error::invalid_input(
                    "slurm.poll_seconds must be between 0.05 and 300",
                ));
            }
        }
        if self.slurm.is_some() && self.backend != Some(BackendKind::Slurm) {
            return Err(Error::invalid_input(
                "a [slurm] table needs backend = \"slurm\"",
            ));
        }
        for (gpu, price) in &self.prices {
            if !(price.is_finite() && *price >= 0.0) {
                return Err(Error::invalid_input(format!(
                    "the price of {gpu} must be 0 or more"
                )));
            }
        }
        Ok(())
    }
}

/// Where the TOML settings come from.
#[derive(Debug, Clone, Default)]
pub enum ConfigSource {
    /// The defaults: a terminal, jupyter when installed, CPU and discovered GPUs, price 0.
    #[default]
    Defaults,
    File(PathBuf),
    /// TOML text (tests, or an app that keeps the settings itself).
    Inline(String),
}

impl ConfigSource {
    /// `portholed.toml` in Porthole's config folder when there is one, else the defaults: what
    /// both the binary and the desktop app read.
    pub fn from_config_dir(dir: &Path) -> Self {
        let file = dir.join("portholed.toml");
        if file.is_file() {
            ConfigSource::File(file)
        } else {
            ConfigSource::Defaults
        }
    }

    pub fn load(&self) -> Result<FileConfig> {
        let config = match self {
            ConfigSource::Defaults => FileConfig::default(),
            ConfigSource::File(path) => FileConfig::load(path)?,
            ConfigSource::Inline(text) => FileConfig::parse(text)?,
        };
        config.validate()?;
        Ok(config)
    }
}

/// Where the API key lives.
#[derive(Debug, Clone)]
pub enum KeyStorage {
    /// The OS keychain when it works, otherwise a 0600 file `api-key` in the data folder.
    KeychainOrFile,
    /// Only the 0600 file in the data folder.
    File,
    /// This key (tests, or an app that manages the key itself). Never written anywhere.
    Explicit(Sensitive<String>),
}

/// How to start a server: what the desktop app and the binary fill in.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen; `127.0.0.1:0` (any free port) for the embedded server.
    pub listen: SocketAddr,
    pub config: ConfigSource,
    /// The SQLite database, the session logs and the key file live here.
    pub data_dir: PathBuf,
    pub key: KeyStorage,
    /// Overrides the file's `minute_seconds`.
    pub minute_seconds: Option<f64>,
    /// The program that serves the terminal template when run as
    /// `PROGRAM __portholed-terminal --port P` with the token in `PORTHOLE_TOKEN` (default: this
    /// executable).
    pub helper_exe: Option<PathBuf>,
    /// Stop every session process on shutdown (the embedded default). When false the sessions
    /// keep running and the next start re-adopts them.
    pub stop_sessions_on_shutdown: bool,
    /// TLS: off loopback by default (`crate::tls`).
    pub tls: crate::tls::Tls,
}

impl ServerConfig {
    /// The embedded defaults: loopback, any free port, default machines, keychain-or-file key,
    /// sessions stopped with the server.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            config: ConfigSource::Defaults,
            data_dir: data_dir.into(),
            key: KeyStorage::KeychainOrFile,
            minute_seconds: None,
            helper_exe: None,
            stop_sessions_on_shutdown: true,
            tls: crate::tls::Tls::Auto,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_defaults() {
        let c = FileConfig::parse("").expect("parse");
        assert!(c.machines.is_empty());
        assert!(c.prices.is_empty());
        c.validate().expect("valid");
    }

    #[test]
    fn full_file_parses() {
        let c = FileConfig::parse(
            r#"
            max_sessions_per_machine = 3
            minute_seconds = 0.5
            [prices]
            CPU = 0.00001
            H100 = 0.002
            [machines.web]
            command = ["python3", "-m", "http.server", "{port}"]
            gpu = "H100"
            env = { A = "b" }
            [machines.sh]
            command = "exec server --port {port}"
            [machines.jupyter]
            enabled = false
            "#,
        )
        .expect("parse");
        assert_eq!(c.max_sessions_per_machine, Some(3));
        assert_eq!(c.prices.get("H100"), Some(&0.002));
        let web = c.machines.get("web").expect("web");
        assert!(matches!(web.command, Some(CommandLine::Argv(ref v)) if v.len() == 4));
        assert!(matches!(
            c.machines.get("sh").and_then(|m| m.command.clone()),
            Some(CommandLine::Shell(_))
        ));
        assert_eq!(
            c.machines.get("jupyter").and_then(|m| m.enabled),
            Some(false)
        );
    }

    #[test]
    fn the_slurm_backend_and_its_table_are_read_and_checked() {
        let c = FileConfig::parse(
            "backend = \"slurm\"\n[slurm]\npartition = \"gpu\"\npoll_seconds = 1.5\n\
             sbatch_args = [\"--constraint=a100\"]\n",
        )
        .expect("parse");
        c.validate().expect("valid");
        assert_eq!(c.backend, Some(BackendKind::Slurm));
        let slurm = c.slurm.expect("slurm");
        assert_eq!(slurm.partition.as_deref(), Some("gpu"));
        assert_eq!(slurm.sbatch_args, ["--constraint=a100"]);
        for bad in [
            "backend = \"kubernetes\"",
            "backend = \"slurm\"\n[slurm]\npartiton = \"gpu\"",
        ] {
            assert!(FileConfig::parse(bad).is_err(), "{bad}");
        }
        for invalid in [
            "[slurm]\npartition = \"gpu\"",
            "backend = \"slurm\"\n[slurm]\npoll_seconds = 0",
        ] {
            let c = FileConfig::parse(invalid).expect("parse");
            assert!(c.validate().is_err(), "{invalid}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let err = FileConfig::parse("max_sesions = 3").expect_err("typo");
        assert!(err.message.contains("max_sesions"), "{}", err.message);
        let c = FileConfig::parse("minute_seconds = -1").expect("parse");
        assert!(c.validate().is_err());
        let c = FileConfig::parse("[prices]\nT4 = -0.1").expect("parse");
        assert!(c.validate().is_err());
    }
}
