//! The command line, as clap sees it. Parsing only: what each command does is in `commands`.

use clap::{Args, Parser, Subcommand};
use porthole_core::model::ProviderKind;

/// The exit codes, for `porthole --help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Environment:
  PORTHOLE_ACCOUNT    the account to use (default: the one chosen with `accounts use`, else Local)
  PORTHOLE_API_KEY    with --base-url: the API key (Bearer). When unset and the target is a
                      portholed on this computer, its key is read from portholed's key file or
                      keychain entry.
  PORTHOLE_BASE_URL   talk to this API base URL instead of an account
  PORTHOLE_PROVIDER   comfydeploy, portholed, ibmquantum or airplane (default: from the base
                      URL's host)
  PORTHOLE_DATA_DIR   Porthole's data folder; a local portholed keeps its key in portholed/ there
  PORTHOLE_CONFIG_DIR Porthole's config folder (accounts.json)
  PORTHOLE_LOG        log on stderr: warn (default), info, debug (retries, redirects), or a filter
                      such as porthole_providers=debug

Exit codes:
  0  ok
  1  anything else (local files, keychain, a bug)
  2  usage error
  3  unauthorized: the key is missing or was rejected
  4  not found: the session does not exist or has ended
  5  the server could not be reached, failed, or asked to slow down
  6  the server refused the request (invalid input, unknown machine or GPU, quota)
  7  the server answered something porthole cannot read
  8  a session that runs to completion (a runbook) ended without completing
  9  a paired server presented another certificate than the one paired (nothing was sent)";

#[derive(Debug, Parser)]
#[command(
    name = "porthole",
    version,
    about = "Launch, watch and open remote compute sessions (ComfyDeploy, portholed)",
    after_help = EXIT_CODES_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The account to use [default: the default account, else Local]
    #[arg(
        long,
        short = 'a',
        global = true,
        env = "PORTHOLE_ACCOUNT",
        value_name = "NAME"
    )]
    pub account: Option<String>,

    /// Talk to this API base URL directly, with PORTHOLE_API_KEY, instead of an account
    #[arg(long, global = true, env = "PORTHOLE_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,

    /// Which API the server speaks [default: comfydeploy for *.comfydeploy.com, else portholed]
    #[arg(long, global = true, env = "PORTHOLE_PROVIDER", value_parser = provider_kind, value_name = "PROVIDER")]
    pub provider: Option<ProviderKind>,

    /// Print one JSON document on stdout instead of a table (logs: one JSON object per line)
    #[arg(long, global = true)]
    pub json: bool,
}

/// A provider by name, as its descriptor names it (`comfydeploy`, `portholed`…); one this
/// version cannot connect to yet is refused here, before any key is asked for.
fn provider_kind(text: &str) -> Result<ProviderKind, String> {
    let kind = porthole_core::descriptor::find(text).ok_or_else(|| {
        let names: Vec<String> = porthole_core::descriptor::all()
            .iter()
            .filter(|d| d.supported && !d.test_only)
            .map(|d| d.kind.name().replace('_', ""))
            .collect();
        format!("no provider {text:?}; one of: {}", names.join(", "))
    })?;
    let descriptor = kind.descriptor();
    if !descriptor.supported {
        return Err(format!(
            "{} accounts are not supported by this version of Porthole yet",
            descriptor.label
        ));
    }
    Ok(kind)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, launch, extend, stop and open sessions
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// What sessions can run on: GPUs and CPU, with prices and availability
    Resources,
    /// Session templates (machines), including those that cannot launch now
    Machines,
    /// Add, list, test and remove accounts (their keys live in the OS keychain)
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Print shell completions (`porthole completions bash > ~/.local/share/bash-completion/completions/porthole`)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// The accounts, with the state of their keys
    #[command(visible_alias = "ls")]
    List,
    /// Add an account; the key is read from a hidden prompt (or stdin) and checked first.
    /// `--pair` adds a portholed on another computer from the string `portholed pair` printed.
    Add {
        /// A name for the account
        name: String,
        /// Which API it speaks: comfydeploy, portholed
        #[arg(long, value_parser = provider_kind, value_name = "PROVIDER", required_unless_present = "pair")]
        provider: Option<ProviderKind>,
        /// Pair with a portholed: its pairing string (read from a hidden prompt or stdin when
        /// given no value). It works once, so it is no lasting secret.
        #[arg(long, value_name = "STRING", num_args = 0..=1, default_missing_value = "",
              conflicts_with_all = ["provider", "url", "fields"])]
        pair: Option<String>,
        /// Its API base URL [default: ComfyDeploy's for comfydeploy; required for portholed]
        #[arg(long = "url", value_name = "URL")]
        url: Option<String>,
        /// One of the provider's account settings (repeatable)
        #[arg(long = "field", value_name = "KEY=VALUE", value_parser = key_value)]
        fields: Vec<(String, String)>,
    },
    /// Replace an account's key (read from a hidden prompt or stdin, checked first)
    SetKey { name: String },
    /// Try the account's stored key against its provider
    Test { name: String },
    /// Make this the account commands use by default
    Use { name: String },
    /// Remove an account and delete its key from the keychain
    #[command(visible_alias = "rm")]
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// The live sessions
    #[command(visible_alias = "ls")]
    List {
        /// Ended sessions too, for providers that keep them (Airplane), newest first
        #[arg(long)]
        all: bool,
    },
    /// One session in detail
    Show { id: String },
    /// Launch a session and wait until it is ready (its URL answers, or it has accepted work)
    Launch(LaunchArgs),
    /// Move a session's deadline later
    Extend {
        id: String,
        /// Minutes to add to the deadline
        #[arg(long, short = 'm', value_parser = clap::value_parser!(u32).range(1..))]
        minutes: u32,
    },
    /// Stop (or close) a session; an already-ended session counts as stopped
    Stop {
        id: String,
        /// Cancel it instead: abandon the work it runs, for providers that can
        #[arg(long)]
        cancel: bool,
    },
    /// What a session waits on you for
    Prompts { id: String },
    /// A session's jobs, newest first (QPU sessions)
    Jobs { id: String },
    /// Answer (or refuse) what a session waits on you for
    #[command(visible_alias = "respond")]
    Answer {
        id: String,
        /// The prompt's id (from `sessions prompts`) [default: the session's only open one]
        #[arg(long)]
        prompt: Option<String>,
        /// One value of the answer (repeatable)
        #[arg(long = "param", visible_alias = "value", value_name = "KEY=VALUE", value_parser = key_value)]
        params: Vec<(String, String)>,
        /// Refuse the prompt instead of answering it
        #[arg(long, conflicts_with = "params")]
        cancel: bool,
    },
    /// Print a session's start-up and run log, following it until the session ends
    Logs { id: String },
    /// Open a session's URL in the system browser
    Open {
        id: String,
        /// Print the URL instead of opening it
        #[arg(long)]
        print: bool,
    },
    /// Expose a session on this computer's loopback (through the server's tunnel for a paired
    /// portholed) until Ctrl-C; prints the local address and a one-time URL to open it with
    Forward {
        id: String,
        /// The local port [default: any free one]
        #[arg(long, value_name = "LOCAL")]
        port: Option<u16>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct LaunchArgs {
    /// The machine (template) to launch [default: the first one that can launch]
    #[arg(long)]
    pub machine: Option<String>,

    /// The resource to run on: a GPU, a QPU backend, a runbook (its slug, id or URL)…
    /// [default: the machine's]
    #[arg(long, visible_aliases = ["gpu", "runbook"])]
    pub resource: Option<String>,

    /// How the session runs, for providers that have modes
    #[arg(long)]
    pub mode: Option<String>,

    /// A parameter, for providers that take them (repeatable)
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = key_value)]
    pub params: Vec<(String, String)>,

    /// Minutes before the server ends the session [default: the server's]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub minutes: Option<u32>,

    /// Return as soon as the server has accepted the launch
    #[arg(long)]
    pub no_wait: bool,

    /// How long to wait for the session's URL to answer [default: 600; a runbook's session is
    /// waited for until it ends]
    #[arg(long, value_name = "SECS")]
    pub timeout_secs: Option<u64>,
}

impl SessionsCommand {
    /// The session the command is about, where it names one (to be resolved from a prefix).
    pub fn id_mut(&mut self) -> Option<&mut String> {
        match self {
            SessionsCommand::Show { id }
            | SessionsCommand::Extend { id, .. }
            | SessionsCommand::Stop { id, .. }
            | SessionsCommand::Prompts { id }
            | SessionsCommand::Jobs { id }
            | SessionsCommand::Answer { id, .. }
            | SessionsCommand::Logs { id }
            | SessionsCommand::Open { id, .. }
            | SessionsCommand::Forward { id, .. } => Some(id),
            SessionsCommand::List { .. } | SessionsCommand::Launch(_) => None,
        }
    }
}

/// `KEY=VALUE`, the key not empty.
fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn providers_are_named_by_their_descriptor() {
        let add = |provider: &str| {
            Cli::try_parse_from(["porthole", "accounts", "add", "x", "--provider", provider])
        };
        assert!(add("comfydeploy").is_ok() && add("comfy_deploy").is_ok());
        assert!(add("airplane").is_ok() && add("IBM-Quantum").is_ok());
        let unknown = add("nimbus").expect_err("unknown").to_string();
        assert!(
            unknown.contains("comfydeploy, portholed, ibmquantum, airplane"),
            "{unknown}"
        );
    }

    #[test]
    fn flags_parse_anywhere() {
        let cli = Cli::try_parse_from([
            "porthole",
            "sessions",
            "launch",
            "--gpu",
            "CPU",
            "--minutes",
            "5",
            "--json",
            "--base-url",
            "http://x/api",
        ])
        .map_err(|e| e.to_string());
        let Ok(cli) = cli else {
            panic!("{cli:?}");
        };
        assert!(cli.global.json);
        assert_eq!(cli.global.base_url.as_deref(), Some("http://x/api"));
        match cli.command {
            Command::Sessions(SessionsCommand::Launch(a)) => {
                assert_eq!(a.resource.as_deref(), Some("CPU"));
                assert_eq!(a.minutes, Some(5));
                assert!(!a.no_wait);
                assert_eq!(a.timeout_secs, None, "the default depends on the provider");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn launches_take_a_resource_parameters_and_a_mode() {
        let parsed = |args: &[&str]| {
            let mut all = vec!["porthole", "sessions", "launch"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all)
        };
        let Ok(cli) = parsed(&[
            "--resource",
            "ibm_torino",
            "--mode",
            "batch",
            "--param",
            "shots=100",
            "--param",
            "note=a=b",
        ]) else {
            panic!("did not parse");
        };
        let Command::Sessions(SessionsCommand::Launch(a)) = cli.command else {
            panic!("not a launch");
        };
        assert_eq!(a.resource.as_deref(), Some("ibm_torino"));
        assert_eq!(a.mode.as_deref(), Some("batch"));
        assert_eq!(
            a.params,
            [
                ("shots".to_owned(), "100".to_owned()),
                ("note".to_owned(), "a=b".to_owned())
            ]
        );
        let err = parsed(&["--param", "novalue"])
            .map(|_| ())
            .expect_err("KEY=VALUE");
        assert_eq!(err.exit_code(), 2);
        let Ok(fields) = Cli::try_parse_from([
            "porthole",
            "accounts",
            "add",
            "Q",
            "--provider",
            "portholed",
            "--url",
            "http://x/api",
            "--field",
            "instance=crn:v1",
        ]) else {
            panic!("did not parse");
        };
        let Command::Accounts(AccountsCommand::Add { fields, .. }) = fields.command else {
            panic!("not accounts add");
        };
        assert_eq!(fields, [("instance".to_owned(), "crn:v1".to_owned())]);
    }

    #[test]
    fn pairing_needs_no_provider_and_takes_its_string_or_asks_for_it() {
        let pair = |args: &[&str]| {
            let mut all = vec!["porthole", "accounts", "add", "gpu-box"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).map(|cli| match cli.command {
                Command::Accounts(AccountsCommand::Add { pair, provider, .. }) => (pair, provider),
                other => panic!("{other:?}"),
            })
        };
        assert_eq!(
            pair(&["--pair", "porthole-pair:v1:x"])
                .unwrap()
                .0
                .as_deref(),
            Some("porthole-pair:v1:x")
        );
        assert_eq!(pair(&["--pair"]).unwrap(), (Some(String::new()), None));
        assert!(pair(&[]).is_err(), "a provider or --pair is needed");
        assert!(pair(&["--pair", "--provider", "portholed"]).is_err());
    }

    #[test]
    fn zero_minutes_is_a_usage_error() {
        let err = Cli::try_parse_from(["porthole", "sessions", "extend", "x", "--minutes", "0"])
            .map(|_| ())
            .expect_err("must refuse");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn help_lists_the_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit codes:"), "{help}");
        assert!(help.contains("3  unauthorized"), "{help}");
    }
}
