//! The neutral model every provider maps into. It has room for all three seed systems: GPU
//! sessions with a deadline (ComfyDeploy, portholed), QPU sessions with TTLs and no extension
//! (IBM Quantum), and runbook sessions with no deadline and no stop (Airplane).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which API an account speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// ComfyDeploy's sessions API (cloud GPUs).
    ComfyDeploy,
    /// A portholed server (the embedded Local account, or one on your own box). Same dialect as
    /// ComfyDeploy.
    Portholed,
    IbmQuantum,
    Airplane,
    /// The scripted test provider (`porthole_providers::scripted`): compiled in for tests only,
    /// and never in the UI's bindings.
    #[cfg(feature = "scripted")]
    #[specta(skip)]
    Scripted,
}

/// What a session runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Gpu,
    Cpu,
    QpuBackend,
    Runbook,
}

/// Whether a resource can take a launch now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Availability {
    Available,
    /// Usable, with a queue in front (QPU backends).
    Busy {
        queue_length: u32,
    },
    Unavailable {
        reason: String,
    },
    /// The provider does not say.
    Unknown,
}

/// A thing a session can be launched on: a GPU type, a QPU backend, a runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Resource {
    /// The provider's name for it (`"A10G"`, `"ibm_torino"`, a runbook id).
    pub id: String,
    pub kind: ResourceKind,
    /// What to show a person (`"NVIDIA A10G"`, `"ibm_torino (133 qubits)"`).
    pub label: String,
    /// Memory in MiB, where it means something (GPUs).
    pub memory_mib: Option<u32>,
    /// USD per hour, where the provider prices it.
    pub price_per_hour: Option<f64>,
    pub availability: Availability,
    /// The longest session it allows, in minutes, where it bounds one (a Slurm partition's
    /// time limit): the launch form offers no longer timeout.
    #[serde(default)]
    pub max_minutes: Option<u32>,
}

impl Resource {
    /// A runbook to launch: nothing to price or measure, always launchable (the server refuses
    /// one it does not know).
    pub fn runbook(id: String, label: String) -> Self {
        Self {
            id,
            kind: ResourceKind::Runbook,
            label,
            memory_mib: None,
            price_per_hour: None,
            availability: Availability::Available,
            max_minutes: None,
        }
    }
}

/// A session template (ComfyDeploy machine, portholed template, runbook).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Machine {
    pub id: String,
    pub name: String,
    /// Whether a session can be launched on it now; `unavailable_reason` says why not.
    pub can_launch: bool,
    pub unavailable_reason: Option<String>,
    /// The resource a launch uses when none is chosen.
    pub default_resource: Option<String>,
}

pub use crate::states::{Clock, ClockKind, ClockWarning, EndReason, SessionState};

/// What the UI may offer for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Capabilities {
    pub can_extend: bool,
    pub can_stop: bool,
    /// The session has a web UI to open through the proxy.
    pub has_ui: bool,
    /// It can be cancelled (its work abandoned), besides stopped.
    #[serde(default)]
    pub can_cancel: bool,
}

/// A session serialized with its URL and raw fields: see [`Session::with_url`].
#[derive(Serialize)]
pub struct SessionWithUrl<'a> {
    #[serde(flatten)]
    session: &'a Session,
    url: &'a Option<String>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    raw: &'a serde_json::Value,
}

/// One session, provider-neutral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Session {
    pub id: String,
    pub account_id: String,
    pub provider: ProviderKind,
    pub name: String,
    pub machine_id: Option<String>,
    /// The machine's name, where Porthole knows it (providers report only the id; the watcher
    /// and the CLI name it, see `machine_names`).
    #[serde(default)]
    pub machine_name: Option<String>,
    pub resource: Option<String>,
    pub state: SessionState,
    /// The provider's own words for the state, where they add something ("Waiting for first job").
    pub status_label: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the provider will end it.
    pub deadline: Option<DateTime<Utc>>,
    /// When it ends if left idle (QPU sessions).
    pub idle_deadline: Option<DateTime<Utc>>,
    /// When it ends if it never gets any work (QPU sessions before their first job).
    #[serde(default)]
    pub unused_deadline: Option<DateTime<Utc>>,
    /// The most urgent warning the watcher has given for one of its clocks (the watcher sets
    /// it; a provider leaves it `None`).
    #[serde(default)]
    pub warning: Option<ClockWarning>,
    /// The session's own URL (a tunnel). A bearer secret for some providers (with a token in it
    /// for portholed's): never logged, and never serialized with the session, so it cannot reach
    /// a webview (the shell's proxy is the only way a window reaches it) or a file by accident.
    /// Only [`Session::with_url`] writes it, for a person who asked (the CLI's `--json`).
    #[specta(skip)]
    #[serde(skip_serializing, default)]
    pub url: Option<String>,
    pub price_per_hour: Option<f64>,
    pub capabilities: Capabilities,
    /// What the provider does before it ends the session, in one sentence, where it does
    /// something (portholed's `before_end`: "Its before_end step runs first, for up to 60 s.").
    /// Shown on its row and in its final warning.
    #[serde(default)]
    pub before_end: Option<String>,
    /// What its provider tells about it besides the above (a QPU session's mode, its limit as
    /// the plan clamped it, its own timeline…), shown in the detail view and by `sessions show`.
    #[serde(default)]
    pub details: Vec<Detail>,
    /// The provider's fields as it sent them, for `--json` and debugging. They hold the URL too,
    /// so they are never serialized with the session either (see `url`).
    #[specta(skip)]
    #[serde(skip_serializing, default)]
    pub raw: serde_json::Value,
}

/// The first characters of a session id, as names show it (and the CLI takes it).
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The name of a session its provider does not name: what it runs on and the start of its id
/// ("A10G 3f2a91c0"). Once its machine's name is known it becomes "terminal on CPU 3f2a91c0"
/// ([`Session::name_after_machine`]).
pub fn unnamed_session_name(resource: Option<&str>, id: &str) -> String {
    format!("{} {}", resource.unwrap_or("session"), short_id(id))
}

impl Session {
    /// Names a session its provider did not name (see [`unnamed_session_name`]) after what a
    /// person chose: its machine, and what it runs on. A provider's own names are kept.
    pub fn name_after_machine(&mut self) {
        let Some(machine) = &self.machine_name else {
            return;
        };
        if self.name != unnamed_session_name(self.resource.as_deref(), &self.id) {
            return;
        }
        let short = short_id(&self.id);
        self.name = match &self.resource {
            Some(resource) => format!("{machine} on {resource} {short}"),
            None => format!("{machine} {short}"),
        };
    }

    /// The session with its URL and the provider's raw fields, which its own serialization
    /// leaves out: for a person who asked for them (the CLI's `--json`), never for a webview, a
    /// log or a file.
    pub fn with_url(&self) -> SessionWithUrl<'_> {
        SessionWithUrl {
            session: self,
            url: &self.url,
            raw: &self.raw,
        }
    }

    /// Whether its window can be opened now: it has a web UI and it answers (ready, or ready and
    /// about to end). The tray, the window menus and the shell's `open_session` ask this.
    pub fn can_open(&self) -> bool {
        self.capabilities.has_ui && self.state.is_up()
    }

    /// It has no web page of its own: "Open" shows it in the app (its detail view), while it
    /// lives. The tray, the window menus and `open_session` ask this beside [`Session::can_open`].
    pub fn opens_in_app(&self) -> bool {
        !self.capabilities.has_ui && self.state.is_live()
    }

    /// Ready for the kind of session it is: a session with a web page once it answers, one
    /// without once the provider has accepted it (waiting for first work, running, idle or
    /// waiting for a person). `sessions launch` waits for this.
    pub fn is_ready_for_work(&self) -> bool {
        if self.capabilities.has_ui {
            self.state.is_up()
        } else {
            self.state.is_accepted()
        }
    }

    /// The clocks that can end it, soonest first: the hard deadline, the idle and the unused
    /// deadline, where the provider has them.
    pub fn clocks(&self) -> Vec<Clock> {
        let mut clocks: Vec<Clock> = [
            (ClockKind::Hard, self.deadline),
            (ClockKind::Idle, self.idle_deadline),
            (ClockKind::Unused, self.unused_deadline),
        ]
        .into_iter()
        .filter_map(|(kind, at)| at.map(|at| Clock { kind, at }))
        .collect();
        clocks.sort_by_key(|c| (c.at, c.kind));
        clocks
    }

    /// Time left before the deadline, negative once past; `None` without a deadline.
    pub fn remaining(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        self.deadline.map(|d| d - now)
    }

    /// Cost so far at the session's price, from creation to `now` (or to the deadline if passed).
    pub fn cost_so_far(&self, now: DateTime<Utc>) -> Option<f64> {
        let price = self.price_per_hour?;
        let end = match self.deadline {
            Some(d) if d < now => d,
            _ => now,
        };
        let seconds = (end - self.created_at).num_seconds().max(0) as f64;
        Some(price * seconds / 3600.0)
    }
}

/// Where sessions come from: a provider and the profile to reach it. Never holds the key, which
/// lives only in the OS keychain under the account's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub provider: ProviderKind,
    pub base_url: String,
    /// The provider's other non-secret settings (IBM's instance CRN, Airplane's team…).
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, String>,
}

/// What the user asks for when launching, for any provider: a template where the provider has
/// them (`machine_id`, empty for none), a resource, a lifetime, a mode and parameters. What a
/// provider accepts is in its descriptor ([`crate::descriptor::ProviderDescriptor::check_launch`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct LaunchRequest {
    /// The template (a machine); empty for a provider without templates.
    pub machine_id: String,
    /// The resource (GPU name, backend); `None` takes the machine's default.
    pub resource: Option<String>,
    /// Minutes before the provider ends it; `None` takes the provider's default.
    pub timeout_minutes: Option<u32>,
    /// How the session runs, for providers that have modes; `None` takes the default.
    #[serde(default)]
    pub mode: Option<String>,
    /// Parameters, by name, as text (the provider reads them as its schema says).
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, String>,
}

/// One fact a provider tells about a session: a label with a value, a moment, or both, and a
/// link to the provider's own page where it has one (opened in the system browser).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Detail {
    pub label: String,
    pub value: Option<String>,
    pub at: Option<DateTime<Utc>>,
    pub link: Option<String>,
}

impl Detail {
    pub fn text(label: &str, value: impl Into<String>) -> Self {
        Self {
            label: label.to_owned(),
            value: Some(value.into()),
            at: None,
            link: None,
        }
    }
}

/// One unit of work inside a session (a QPU session's job), as its provider reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Job {
    pub id: String,
    /// The provider's own status, as written (IBM: `Queued`, `Running`, `Completed`,
    /// `Cancelled`, `Cancelled - Ran too long`, `Failed`).
    pub status: String,
    /// Still waiting or running.
    pub pending: bool,
    /// Why it is in that status, where the provider says.
    pub reason: Option<String>,
    /// What it runs (IBM: the primitive, `sampler` or `estimator`; Airplane: the block).
    pub program: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    /// What it produced, by name (Airplane's run outputs), once it has.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
}

/// One line of a session's start-up or run log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct LogLine {
    pub message: String,
    pub level: String,
    pub timestamp: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
            .single()
            .expect("time")
    }

    fn session(created: DateTime<Utc>, deadline: Option<DateTime<Utc>>) -> Session {
        Session {
            id: "s1".into(),
            account_id: "local".into(),
            provider: ProviderKind::Portholed,
            name: "s1".into(),
            machine_id: None,
            machine_name: None,
            resource: Some("CPU".into()),
            state: SessionState::Ready,
            status_label: None,
            created_at: created,
            deadline,
            idle_deadline: None,
            unused_deadline: None,
            warning: None,
            url: None,
            price_per_hour: Some(3.6),
            before_end: None,
            capabilities: Capabilities {
                can_extend: true,
                can_stop: true,
                has_ui: true,
                can_cancel: false,
            },
            details: Vec::new(),
            raw: serde_json::Value::Null,
        }
    }

    #[test]
    fn a_serialized_session_carries_neither_its_url_nor_the_raw_fields() {
        let t0 = noon();
        let secret = "http://127.0.0.1:4000/?token=0123456789abcdef";
        let mut s = session(t0, None);
        s.url = Some(secret.into());
        s.raw = serde_json::json!({ "url": secret, "tunnel_url": secret });
        let event = crate::watcher::WatchEvent::Ready { session: s.clone() };
        for json in [
            serde_json::to_string(&s).expect("json"),
            serde_json::to_string(&event).expect("json"),
            serde_json::to_string(&vec![s.clone()]).expect("json"),
        ] {
            assert!(!json.contains("token="), "{json}");
            assert!(!json.contains(r#""url""#), "{json}");
            assert!(json.contains(r#""name":"s1""#), "{json}");
        }
        // What the CLI prints for a person who asked keeps both, after the session's own fields
        // in their order.
        let shown = serde_json::to_string(&s.with_url()).expect("json");
        assert!(shown.starts_with(r#"{"id":"s1","account_id""#), "{shown}");
        let shown: serde_json::Value = serde_json::from_str(&shown).expect("json");
        assert_eq!(shown["url"], secret);
        assert_eq!(shown["raw"]["tunnel_url"], secret);
        assert_eq!(shown["name"], "s1");
        // And reading a session back (no URL in it) works.
        let back: Session = serde_json::from_str(&serde_json::to_string(&s).expect("json"))
            .expect("a session reads back");
        assert_eq!(back.url, None);
        assert_eq!(back.name, s.name);
    }

    #[test]
    fn remaining_and_cost_follow_the_clock() {
        let t0 = noon();
        let s = session(t0, Some(t0 + chrono::Duration::minutes(30)));
        let now = t0 + chrono::Duration::minutes(10);
        assert_eq!(s.remaining(now), Some(chrono::Duration::minutes(20)));
        let cost = s.cost_so_far(now).expect("priced");
        assert!((cost - 0.6).abs() < 1e-9, "{cost}");
        // Past the deadline, cost stops growing.
        let late = t0 + chrono::Duration::hours(2);
        let capped = s.cost_so_far(late).expect("priced");
        assert!((capped - 1.8).abs() < 1e-9, "{capped}");
    }
}
