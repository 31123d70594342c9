//! Each command: call the provider, print the result. No business logic beyond choosing defaults
//! and saying what happened.

use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use porthole_core::machine_names::MachineNames;
use porthole_core::model::{LaunchRequest, Session};
use porthole_core::provider::{checked_launch, Provider};
use porthole_core::watcher::Tracker;
use porthole_core::{Error, ErrorCode};
use porthole_providers::probe::PageProbe;
use serde_json::json;

use crate::args::{Cli, Command, LaunchArgs, SessionsCommand};
use crate::output::{self, print, print_json, print_json_line};
use crate::target::Connected;
use crate::{browser, resolve, table, target, wait};

/// How long `list` and `show` give a session's URL to answer before calling it "connecting".
const READY_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn run(cli: Cli) -> Result<(), Error> {
    let json = cli.global.json;
    let command = match cli.command {
        Command::Accounts(command) => return crate::accounts::run(command, json).await,
        Command::Completions { shell } => return completions(shell),
        command => command,
    };
    let connected = target::connect(&cli.global)?;
    let provider = connected.provider.as_ref();
    match command {
        Command::Accounts(_) | Command::Completions { .. } => Ok(()),
        Command::Machines => {
            let machines = provider.machines().await?;
            if json {
                print_json(&machines)
            } else {
                print(&output::machines_table(&machines))
            }
        }
        Command::Resources => {
            let resources = provider.resources().await?;
            if json {
                print_json(&resources)
            } else {
                print(&output::resources_table(&resources))
            }
        }
        Command::Sessions(command) => sessions(&connected, command, json).await,
    }
}

/// `porthole completions SHELL`: the shell's completion script, on stdout.
fn completions(shell: clap_complete::Shell) -> Result<(), Error> {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "porthole", &mut out);
    print(&String::from_utf8_lossy(&out))
}

async fn sessions(
    connected: &Connected,
    mut command: SessionsCommand,
    json: bool,
) -> Result<(), Error> {
    let provider = connected.provider.as_ref();
    let probe = PageProbe::new(connected.tunnel.clone());
    // An id may be shortened to any unique prefix of a live session's.
    if let Some(id) = command.id_mut() {
        *id = resolve::session_id(provider, id).await?;
    }
    match command {
        SessionsCommand::List { all } => {
            let (sessions, names) = tokio::join!(provider.list(), MachineNames::fetch(provider));
            let mut sessions = sessions?;
            names.apply(&mut sessions);
            mark_answering(&mut sessions, &probe).await;
            if all {
                sessions.extend(provider.finished().await?);
            }
            if json {
                let shown: Vec<_> = sessions.iter().map(Session::with_url).collect();
                return print_json(&shown);
            }
            print(&output::sessions_table(&sessions, Utc::now()))
        }
        SessionsCommand::Show { id } => {
            let mut session = known(connected, &id).await?;
            mark_answering(std::slice::from_mut(&mut session), &probe).await;
            show(provider, session, json).await
        }
        SessionsCommand::Launch(args) => launch(provider, &probe, args, json).await,
        SessionsCommand::Extend { id, minutes } => {
            if let Err(e) = provider.extend(&id, minutes).await {
                // Gone: say why it ended, where the provider says.
                if e.code == ErrorCode::SessionGone {
                    live(connected, &id).await?;
                }
                return Err(e);
            }
            let session = live(connected, &id).await?;
            if json {
                return print_json(&session.with_url());
            }
            let ends = match session.deadline {
                Some(deadline) => format!(
                    "; it ends at {} ({} left)",
                    deadline
                        .with_timezone(&chrono::Local)
                        .format("%Y-%m-%d %H:%M:%S"),
                    table::remaining(session.remaining(Utc::now()))
                ),
                None => String::new(),
            };
            let unit = if minutes == 1 { "minute" } else { "minutes" };
            print(&format!("Extended {id} by {minutes} {unit}{ends}.\n"))
        }
        SessionsCommand::Stop { id, cancel } => {
            if cancel {
                provider.cancel(&id).await?;
            } else {
                provider.stop(&id).await?;
            }
            let done = if cancel { "Cancelled" } else { "Stopped" };
            if json {
                print_json(&json!({ "id": id, "stopped": !cancel, "cancelled": cancel }))
            } else {
                print(&format!("{done} {id}.\n"))
            }
        }
        SessionsCommand::Prompts { id } => {
            let prompts = provider.prompts(&id).await?;
            if json {
                print_json(&prompts)
            } else {
                print(&output::prompts(&id, &prompts))
            }
        }
        SessionsCommand::Jobs { id } => {
            let jobs = provider.jobs(&id).await?;
            if json {
                print_json(&jobs)
            } else {
                print(&output::jobs_table(&id, &jobs))
            }
        }
        SessionsCommand::Answer {
            id,
            prompt,
            params,
            cancel,
        } => answer(provider, &id, prompt, params, cancel, json).await,
        SessionsCommand::Logs { id } => logs(provider, &id, json).await,
        SessionsCommand::Open {
            id,
            print: only_print,
        } => open(connected, &id, only_print, json).await,
        SessionsCommand::Forward { id, port } => {
            let session = live(connected, &id).await?;
            crate::forward::run(connected, session, port, json).await
        }
    }
}

/// The session as the provider knows it, ended ones included (`sessions show`), or
/// `session_gone` (exit 4) saying where it was looked for.
async fn known(connected: &Connected, id: &str) -> Result<Session, Error> {
    connected.provider.get(id).await?.ok_or_else(|| {
        Error::new(
            ErrorCode::SessionGone,
            format!(
                "Session {id} is not live: it has ended, or there is no such session {}.",
                connected.looked_in()
            ),
        )
    })
}

/// The session while it is live; an ended one is `session_gone` (exit 4) with why it ended,
/// where the provider says ("it failed: exited with code 1").
async fn live(connected: &Connected, id: &str) -> Result<Session, Error> {
    let session = known(connected, id).await?;
    match &session.state {
        porthole_core::model::SessionState::Ended(reason) => Err(Error::new(
            ErrorCode::SessionGone,
            format!("Session {id} has ended: it {}.", reason.describe()),
        )),
        _ => Ok(session),
    }
}

/// Prints one session, its machine named (providers report it by id, often a UUID).
async fn show(provider: &dyn Provider, mut session: Session, json: bool) -> Result<(), Error> {
    MachineNames::fetch(provider)
        .await
        .apply(std::slice::from_mut(&mut session));
    if json {
        return print_json(&session.with_url());
    }
    print(&output::session_fields(&session, Utc::now()))
}

/// The sessions as the watcher's tracker sees them now: a URL that answers is ready, and each
/// clock inside a warning window carries its warning (the same rules and saved thresholds as the
/// app's).
async fn mark_answering(sessions: &mut [Session], probe: &PageProbe) {
    let now = Utc::now();
    let Some(account) = sessions.first().map(|s| s.account_id.clone()) else {
        return;
    };
    let mut tracker = Tracker::new(account, crate::target::watch_config());
    tracker.apply_list(now, sessions.to_vec());
    let checks = tracker
        .needs_probe()
        .into_iter()
        .map(|(id, url)| async move {
            let answered = probe.answers(&id, &url, READY_PROBE_TIMEOUT).await;
            (id, url, answered)
        });
    for (id, url, answered) in futures::future::join_all(checks).await {
        tracker.apply_probe(now, &id, &url, answered);
    }
    tracker.tick(now);
    let seen = tracker.sessions();
    for session in sessions.iter_mut() {
        if let Some(s) = seen.iter().find(|s| s.id == session.id) {
            session.state = s.state.clone();
            session.warning = s.warning;
        }
    }
}

async fn launch(
    provider: &dyn Provider,
    probe: &PageProbe,
    args: LaunchArgs,
    json: bool,
) -> Result<(), Error> {
    let descriptor = provider.kind().descriptor();
    let (machine_id, machine_name) = match args.machine {
        // By its id or its name; a miss names the choices.
        Some(m) => {
            let machines = provider.machines().await?;
            let found = resolve::machine(&machines, &m)?;
            (found.id.clone(), found.name.clone())
        }
        None if descriptor.launch.template_required => default_machine(provider).await?,
        None => (String::new(), descriptor.label.to_owned()),
    };
    let request = LaunchRequest {
        machine_id,
        resource: args.resource,
        timeout_minutes: args.minutes,
        mode: args.mode,
        params: args.params.into_iter().collect(),
    };
    let request = checked_launch(provider, &request).await?;
    let session = provider.launch(&request).await?;
    eprintln!(
        "launched {} on {machine_name} ({})",
        session.id,
        session
            .resource
            .as_deref()
            .unwrap_or("its default resource")
    );
    let session = if args.no_wait {
        session
    } else {
        let limit = match args.timeout_secs {
            Some(secs) => Duration::from_secs(secs),
            // A runbook waits on people: as long as it takes.
            None if descriptor.runs_to_completion => wait::UNTIL_IT_ENDS,
            None => Duration::from_secs(600),
        };
        wait::until_ready(provider, probe, session, limit).await?
    };
    show(provider, session, json).await
}

/// Answers or refuses a prompt: the one named, else the session's only open one.
async fn answer(
    provider: &dyn Provider,
    id: &str,
    prompt: Option<String>,
    params: Vec<(String, String)>,
    cancel: bool,
    json: bool,
) -> Result<(), Error> {
    let prompt = match prompt {
        Some(prompt) => prompt,
        None => {
            let open = provider.prompts(id).await?;
            match open.as_slice() {
                [only] => only.id.clone(),
                [] => {
                    return Err(Error::invalid_input(format!(
                        "Session {id} waits for no answer now."
                    )))
                }
                several => {
                    let ids: Vec<&str> = several.iter().map(|p| p.id.as_str()).collect();
                    return Err(Error::invalid_input(format!(
                        "Session {id} waits on several prompts: name one with --prompt ({}).",
                        ids.join(", ")
                    )));
                }
            }
        }
    };
    if cancel {
        provider.reject(id, &prompt).await?;
    } else {
        provider
            .respond(id, &prompt, &params.into_iter().collect())
            .await?;
    }
    let done = if cancel { "Refused" } else { "Answered" };
    if json {
        print_json(&json!({ "id": id, "prompt": prompt, "answered": !cancel, "refused": cancel }))
    } else {
        print(&format!("{done} {prompt} of {id}.\n"))
    }
}

/// The first machine that can launch now: its id and name.
async fn default_machine(provider: &dyn Provider) -> Result<(String, String), Error> {
    let machines = provider.machines().await?;
    if let Some(m) = machines.iter().find(|m| m.can_launch) {
        return Ok((m.id.clone(), m.name.clone()));
    }
    let why: Vec<String> = machines
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                m.id,
                m.unavailable_reason.as_deref().unwrap_or("cannot launch")
            )
        })
        .collect();
    Err(Error::invalid_input(if why.is_empty() {
        "There is no machine to launch on.".to_owned()
    } else {
        format!("No machine can launch now ({}).", why.join("; "))
    }))
}

async fn logs(provider: &dyn Provider, id: &str, json: bool) -> Result<(), Error> {
    let mut lines = provider.logs(id).await?;
    while let Some(line) = lines.next().await {
        let line = line?;
        if json {
            print_json_line(&line)?;
        } else {
            print(&output::log_line(&line))?;
        }
    }
    Ok(())
}

async fn open(connected: &Connected, id: &str, only_print: bool, json: bool) -> Result<(), Error> {
    let session = live(connected, id).await?;
    let Some(url) = session.url.filter(|u| !u.is_empty()) else {
        return Err(Error::invalid_input(format!(
            "Session {id} has no URL yet ({}); try again when it is ready.",
            output::state(&session.state)
        )));
    };
    if !only_print {
        browser::open(&url)?;
    }
    if json {
        print_json(&json!({ "id": id, "url": url, "opened": !only_print }))
    } else if only_print {
        print(&format!("{url}\n"))
    } else {
        print(&format!("Opened {id} in the browser.\n"))
    }
}
