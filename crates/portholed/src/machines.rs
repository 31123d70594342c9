//! Machines are session templates: the built-in `terminal`, `jupyter` and `comfyui`, and custom
//! commands from the config. A template that cannot run here is still listed, with the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{CommandLine, FileConfig, MachineConfig, DEFAULT_MAX_SESSIONS};
use crate::front::{UPSTREAM_HOST, UPSTREAM_PORT};
use crate::gpu::CPU;

/// The hidden subcommand that serves the terminal template.
pub const TERMINAL_SUBCOMMAND: &str = "__portholed-terminal";

/// The hidden subcommand that puts a token in front of a program that has none (see `front`).
pub const FRONT_SUBCOMMAND: &str = "__portholed-front";

/// A fixed namespace so machine ids are stable UUIDs derived from the names.
const MACHINE_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6f1c_2b0e_8d4a_4c11_9a57_0b3e_54d2_7c19);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    Terminal,
    Jupyter,
    ComfyUi,
    Command,
}

impl TemplateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Terminal => "terminal",
            TemplateKind::Jupyter => "jupyter",
            TemplateKind::ComfyUi => "comfyui",
            TemplateKind::Command => "command",
        }
    }
}

/// What to run for one session; `{host}` (the address to listen on: 127.0.0.1, or a compute
/// node's with Slurm), `{port}` and `{token}` are replaced at launch.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchSpec {
    pub program: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cwd: Option<PathBuf>,
    pub url: String,
    pub probe_path: String,
}

impl LaunchSpec {
    /// The spec with the placeholders filled in, on this machine's loopback.
    pub fn render(&self, port: u16, token: &str) -> LaunchSpec {
        self.render_at(LOOPBACK, port, token)
    }

    /// The spec with the placeholders filled in, listening on `host`.
    pub fn render_at(&self, host: &str, port: u16, token: &str) -> LaunchSpec {
        let fill = |s: &str| {
            s.replace("{host}", host)
                .replace("{port}", &port.to_string())
                .replace("{token}", token)
        };
        LaunchSpec {
            program: fill(&self.program),
            args: self.args.iter().map(|a| fill(a)).collect(),
            env: self.env.iter().map(|(k, v)| (k.clone(), fill(v))).collect(),
            cwd: self.cwd.clone(),
            url: fill(&self.url),
            probe_path: fill(&self.probe_path),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Machine {
    pub id: String,
    pub name: String,
    pub kind: TemplateKind,
    /// `Err(reason)` when it cannot run on this host.
    pub available: Result<LaunchSpec, String>,
    pub default_gpu: String,
    pub max_sessions: u32,
    /// What runs before a session of it ends (see [`crate::before_end`]).
    pub before_end: Option<BeforeEnd>,
}

/// A template's `before_end` step: the program and its arguments (run in the session's
/// environment and folder), and how long it may take.
#[derive(Debug, Clone, PartialEq)]
pub struct BeforeEnd {
    pub program: String,
    pub args: Vec<String>,
    pub grace: std::time::Duration,
}

/// How long `before_end` may run when the template does not say.
pub const BEFORE_END_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

pub fn machine_id(name: &str) -> String {
    uuid::Uuid::new_v5(&MACHINE_NAMESPACE, name.as_bytes()).to_string()
}

/// Builds the machine list from the config. `helper_exe` runs the terminal; `path_var` is the
/// PATH used to look for jupyter and custom programs.
pub fn resolve(config: &FileConfig, helper_exe: Option<&Path>, path_var: &str) -> Vec<Machine> {
    let default_max = config
        .max_sessions_per_machine
        .unwrap_or(DEFAULT_MAX_SESSIONS);
    let empty = MachineConfig::default();
    let mut out = Vec::new();
    let builtins = [
        ("terminal", TemplateKind::Terminal),
        ("jupyter", TemplateKind::Jupyter),
        ("comfyui", TemplateKind::ComfyUi),
    ];
    for (name, kind) in builtins {
        let mc = config.machines.get(name).unwrap_or(&empty);
        if mc.enabled == Some(false) {
            continue;
        }
        // A built-in name with a command is a custom machine that replaces the built-in.
        let (kind, available) = if mc.command.is_some() {
            (TemplateKind::Command, custom(mc, path_var))
        } else {
            let spec = match kind {
                TemplateKind::Terminal => terminal(mc, helper_exe),
                TemplateKind::Jupyter => jupyter(mc, path_var),
                _ => comfyui(config, mc, helper_exe),
            };
            (kind, spec)
        };
        out.push(machine(name, kind, available, mc, default_max));
    }
    for (name, mc) in &config.machines {
        if builtins.iter().any(|(b, _)| b == name) || mc.enabled == Some(false) {
            continue;
        }
        let available = match mc.command {
            Some(_) => custom(mc, path_var),
            None => Err(format!("machine {name} has no command")),
        };
        out.push(machine(
            name,
            TemplateKind::Command,
            available,
            mc,
            default_max,
        ));
    }
    out
}

fn machine(
    name: &str,
    kind: TemplateKind,
    available: Result<LaunchSpec, String>,
    mc: &MachineConfig,
    default_max: u32,
) -> Machine {
    Machine {
        id: machine_id(name),
        name: name.to_owned(),
        kind,
        available: available.map(|mut spec| {
            spec.env.extend(mc.env.clone());
            if mc.cwd.is_some() {
                spec.cwd.clone_from(&mc.cwd);
            }
            spec
        }),
        default_gpu: mc.gpu.clone().unwrap_or_else(|| CPU.to_owned()),
        max_sessions: mc.max_sessions.unwrap_or(default_max),
        before_end: mc.before_end.as_ref().and_then(|command| {
            let (program, args) = argv(command).ok()?;
            Some(BeforeEnd {
                program,
                args,
                grace: mc
                    .before_end_seconds
                    .map_or(BEFORE_END_GRACE, std::time::Duration::from_secs_f64),
            })
        }),
    }
}

/// A command's program and arguments: a list as given, a string through `/bin/sh -c`.
fn argv(command: &CommandLine) -> Result<(String, Vec<String>), String> {
    match command {
        CommandLine::Argv(argv) => {
            let (first, rest) = argv.split_first().ok_or("the command is empty")?;
            Ok((first.clone(), rest.to_vec()))
        }
        CommandLine::Shell(line) => Ok(("/bin/sh".to_owned(), vec!["-c".to_owned(), line.clone()])),
    }
}

/// Where sessions listen with the local backend.
pub const LOOPBACK: &str = "127.0.0.1";

const TOKEN_URL: &str = "http://{host}:{port}/?token={token}";

fn url_and_probe(mc: &MachineConfig, default_url: &str) -> (String, String) {
    let url = mc.url.clone().unwrap_or_else(|| default_url.to_owned());
    let probe = mc.probe_path.clone().unwrap_or_else(|| path_of(&url));
    (url, probe)
}

/// The path and query of an `http://host:port/...` URL template.
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest[i..].to_owned(),
        None => "/".to_owned(),
    }
}

/// The portholed executable, which runs the terminal and the token front.
fn helper(helper_exe: Option<&Path>) -> Result<&Path, String> {
    let exe = helper_exe.ok_or("the portholed executable could not be located")?;
    if !exe.is_file() {
        return Err(format!(
            "the session helper {} does not exist",
            exe.display()
        ));
    }
    Ok(exe)
}

fn terminal(mc: &MachineConfig, helper_exe: Option<&Path>) -> Result<LaunchSpec, String> {
    let exe = helper(helper_exe)?;
    // The token reaches the terminal in its environment (`PORTHOLE_TOKEN`), never in argv.
    let mut args = vec![
        TERMINAL_SUBCOMMAND.to_owned(),
        "--host".to_owned(),
        "{host}".to_owned(),
        "--port".to_owned(),
        "{port}".to_owned(),
    ];
    if let Some(shell) = &mc.shell {
        args.extend(["--shell".to_owned(), shell.clone()]);
    }
    let (url, probe_path) = url_and_probe(mc, TOKEN_URL);
    Ok(LaunchSpec {
        program: exe.display().to_string(),
        args,
        env: BTreeMap::new(),
        cwd: None,
        url,
        probe_path,
    })
}

fn jupyter(mc: &MachineConfig, path_var: &str) -> Result<LaunchSpec, String> {
    let jupyter = which("jupyter", path_var).ok_or("jupyter is not on PATH")?;
    let (sub, page) = if which("jupyter-lab", path_var).is_some() {
        ("lab", "lab")
    } else if which("jupyter-notebook", path_var).is_some() {
        ("notebook", "tree")
    } else {
        return Err(
            "jupyter is on PATH but neither jupyter-lab nor jupyter-notebook is".to_owned(),
        );
    };
    let default_url = format!("http://{{host}}:{{port}}/{page}?token={{token}}");
    let (url, probe_path) = url_and_probe(mc, &default_url);
    Ok(LaunchSpec {
        program: jupyter.display().to_string(),
        args: [
            sub,
            "--no-browser",
            "--ip={host}",
            "--port={port}",
            "--ServerApp.port_retries=0",
        ]
        .map(str::to_owned)
        .to_vec(),
        // Jupyter reads its token from the environment: never on the command line.
        env: BTreeMap::from([("JUPYTER_TOKEN".to_owned(), "{token}".to_owned())]),
        cwd: None,
        url,
        probe_path,
    })
}

fn comfyui(
    config: &FileConfig,
    mc: &MachineConfig,
    helper_exe: Option<&Path>,
) -> Result<LaunchSpec, String> {
    let dir = config
        .comfyui_dir
        .as_ref()
        .ok_or("no comfyui_dir is configured")?;
    if !dir.join("main.py").is_file() {
        return Err(format!("{} has no main.py", dir.display()));
    }
    let python = config.comfyui_python.clone().unwrap_or_else(|| {
        [dir.join("venv/bin/python"), dir.join(".venv/bin/python")]
            .into_iter()
            .find(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("python3"))
    });
    // ComfyUI has no token of its own: the front gives it one (and listens only once it answers).
    let exe = helper(helper_exe)?;
    let front = [FRONT_SUBCOMMAND, "--port", "{port}", "--"];
    let comfy = [
        "main.py",
        "--listen",
        UPSTREAM_HOST,
        "--port",
        UPSTREAM_PORT,
    ];
    let python = python.display().to_string();
    let (url, probe_path) = url_and_probe(mc, TOKEN_URL);
    Ok(LaunchSpec {
        program: exe.display().to_string(),
        args: front
            .into_iter()
            .chain(std::iter::once(python.as_str()))
            .chain(comfy)
            .map(str::to_owned)
            .collect(),
        env: BTreeMap::new(),
        cwd: Some(dir.clone()),
        url,
        probe_path,
    })
}

fn custom(mc: &MachineConfig, path_var: &str) -> Result<LaunchSpec, String> {
    let (program, args) = argv(mc.command.as_ref().ok_or("no command")?)?;
    let mentions_port = std::iter::once(&program)
        .chain(&args)
        .chain(mc.env.values())
        .any(|s| s.contains("{port}"));
    if !mentions_port {
        return Err("the command has no {port} placeholder".to_owned());
    }
    // Every local user can read a process's argv (`ps`): a token must not be there, whether
    // portholed puts it there or a shell expands it there.
    let exposes = |s: &String| {
        s.contains("{token}") || s.contains("$PORTHOLE_TOKEN") || s.contains("${PORTHOLE_TOKEN}")
    };
    if std::iter::once(&program).chain(&args).any(exposes) {
        return Err(
            "the command puts the session's token on a command line, where every local user \
             can read it: the program must read PORTHOLE_TOKEN from its environment itself (or \
             take {token} in an env entry)"
                .to_owned(),
        );
    }
    let resolved = if program.contains('/') {
        let p = PathBuf::from(&program);
        p.is_file()
            .then_some(p)
            .ok_or_else(|| format!("{program} does not exist"))?
    } else {
        which(&program, path_var).ok_or_else(|| format!("{program} is not on PATH"))?
    };
    let (url, probe_path) = url_and_probe(mc, TOKEN_URL);
    Ok(LaunchSpec {
        program: resolved.display().to_string(),
        args,
        env: BTreeMap::new(),
        cwd: None,
        url,
        probe_path,
    })
}

/// Finds an executable file named `name` on `path_var`.
pub fn which(name: &str, path_var: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path_var)
        .map(|dir| dir.join(name))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ms: &[Machine]) -> Vec<(&str, bool)> {
        ms.iter()
            .map(|m| (m.name.as_str(), m.available.is_ok()))
            .collect()
    }

    #[test]
    fn defaults_list_all_builtins_with_reasons() {
        let exe = std::env::current_exe().expect("exe");
        let ms = resolve(&FileConfig::default(), Some(&exe), "/nonexistent");
        assert_eq!(
            names(&ms),
            [("terminal", true), ("jupyter", false), ("comfyui", false)]
        );
        assert_eq!(
            ms[1].available.as_ref().expect_err("no jupyter"),
            "jupyter is not on PATH"
        );
        assert!(ms[2]
            .available
            .as_ref()
            .expect_err("no dir")
            .contains("comfyui_dir"));
        assert_eq!(ms[0].max_sessions, 5);
        assert_eq!(ms[0].default_gpu, "CPU");
        assert_eq!(ms[0].id, machine_id("terminal"));
        assert_ne!(ms[0].id, ms[1].id);
    }

    #[test]
    fn custom_commands_need_a_port_and_a_program() {
        let config = FileConfig::parse(
            r#"
            [machines.ok]
            command = ["sh", "-c", "serve {port}"]
            max_sessions = 2
            [machines.noport]
            command = ["sh", "-c", "serve"]
            [machines.missing]
            command = ["no-such-program-xyz", "{port}"]
            [machines.shell]
            command = "serve --port {port}"
            url = "http://127.0.0.1:{port}/app?t={token}"
            env = { SERVE_TOKEN = "{token}" }
            [machines.argv_token]
            command = ["sh", "-c", "serve {port}", "--token", "{token}"]
            [machines.expanded_token]
            command = "serve --port {port} --token \"$PORTHOLE_TOKEN\""
            [machines.terminal]
            enabled = false
            "#,
        )
        .expect("parse");
        let ms = resolve(&config, None, "/bin:/usr/bin");
        let by = |n: &str| ms.iter().find(|m| m.name == n).expect(n);
        assert!(ms.iter().all(|m| m.name != "terminal"));
        assert_eq!(by("ok").max_sessions, 2);
        assert!(by("noport")
            .available
            .as_ref()
            .expect_err("x")
            .contains("{port}"));
        assert!(by("missing")
            .available
            .as_ref()
            .expect_err("x")
            .contains("not on PATH"));
        let spec = by("shell")
            .available
            .clone()
            .expect("shell ok")
            .render(4242, "tok");
        assert_eq!(spec.program, "/bin/sh");
        assert_eq!(spec.args, ["-c", "serve --port 4242"]);
        assert_eq!(spec.env["SERVE_TOKEN"], "tok");
        for exposed in ["argv_token", "expanded_token"] {
            assert!(by(exposed)
                .available
                .as_ref()
                .expect_err("a token in argv")
                .contains("PORTHOLE_TOKEN"));
        }
        assert_eq!(spec.url, "http://127.0.0.1:4242/app?t=tok");
        assert_eq!(spec.probe_path, "/app?t=tok");
    }
}
