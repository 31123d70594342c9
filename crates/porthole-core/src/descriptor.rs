//! What each provider is and offers, defined once, here: its name, the base URL an account starts
//! with, whether accounts of it can be added yet, how long its sessions may be launched for and
//! extended by, and its session-length ceiling. The CLI, the tray and auto-extend read it here;
//! the UI gets the same values in a file generated from it (`make bindings` writes
//! `ui/src/lib/backend/providers.ts` and fails when the committed one differs).

use chrono::Duration;
use serde::Serialize;

use crate::error::Error;
use crate::model::{LaunchRequest, ProviderKind, Session};

/// One provider, as everything that shows or launches its sessions needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ProviderDescriptor {
    pub kind: ProviderKind,
    /// What the app calls it.
    pub label: &'static str,
    /// A few words on what it is (after the label in the Add account form).
    pub hint: &'static str,
    /// The base URL a new account starts with, where there is a usual one.
    pub default_base_url: Option<&'static str>,
    /// An example base URL (a placeholder for the field).
    pub example_base_url: Option<&'static str>,
    /// Whether accounts of this kind can be added in this version.
    pub supported: bool,
    /// What a launch may ask for.
    pub lifetime: Lifetime,
    /// What Extend offers, in minutes (empty: sessions cannot be extended).
    pub extend_steps: Vec<u32>,
    /// What a launch takes besides the lifetime.
    pub launch: LaunchShape,
    /// The account's settings besides its base URL and key (none secret: the key is the only
    /// secret, and it goes to the keychain).
    pub account_fields: Vec<AccountField>,
    /// What can be done to its sessions besides extending them.
    pub actions: Actions,
    /// Its sessions end by themselves once their work is done (runbooks): `sessions launch`
    /// waits for the end and exits by how it went.
    pub runs_to_completion: bool,
    /// Compiled in for tests only (the scripted provider): never offered to people.
    pub test_only: bool,
}

/// What can be done to a provider's sessions, and what they have to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Actions {
    /// The graceful end, as the provider calls it ("Stop", "Close"): the session finishes what
    /// it runs. `None`: it cannot be ended from here.
    pub stop: Option<&'static str>,
    /// Ending it now, abandoning its work ("Cancel"), where the provider has that.
    pub cancel: Option<&'static str>,
    /// Its sessions have a web page of their own, opened in a window.
    pub web_ui: bool,
    /// A start-up and run log.
    pub logs: bool,
    /// Jobs inside the session (QPU sessions).
    pub jobs: bool,
    /// Prompts that wait for a person.
    pub prompts: bool,
}

/// A portholed account's pinned certificate (set by pairing, `porthole_local::pairing`).
pub const TLS_FINGERPRINT_FIELD: &str = "tls_fingerprint";

/// One of an account's settings, as the Add account form and `accounts add --field` take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AccountField {
    /// Its name in the accounts file and on the command line (`--field KEY=VALUE`).
    pub key: &'static str,
    pub label: &'static str,
    /// What to put there.
    pub help: &'static str,
    pub required: bool,
}

/// What a launch takes besides its lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LaunchShape {
    /// Whether a template (a machine) must be chosen.
    pub template_required: bool,
    /// The modes a session may run in (empty: none to choose).
    pub modes: Vec<&'static str>,
    /// Whether the provider takes parameters.
    pub takes_parameters: bool,
    /// The resource is named, not picked (a runbook's slug, id or URL): the resources listed are
    /// only suggestions (those run before), and the parameters follow what is typed.
    pub resource_named: bool,
}

/// How long a session may be launched for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Lifetime {
    /// What a launch gets when the person chose nothing (the provider's own default).
    pub default_minutes: u32,
    /// What the launch dialog offers, within `max_minutes`.
    pub choices: Vec<u32>,
    /// The longest a session may last in all, counted from its creation, where the provider has
    /// such a limit: launches and extensions past it are not offered.
    pub max_minutes: Option<u32>,
}

/// What every kind is, in the order the Add account form lists them (the scripted test provider
/// last, where it is compiled in).
pub fn all() -> Vec<ProviderDescriptor> {
    [
        ProviderKind::ComfyDeploy,
        ProviderKind::Portholed,
        ProviderKind::IbmQuantum,
        ProviderKind::Airplane,
        #[cfg(feature = "scripted")]
        ProviderKind::Scripted,
    ]
    .into_iter()
    .map(ProviderKind::descriptor)
    .collect()
}

/// The kind whose name is `name`: its wire name (`comfy_deploy`) or that name without
/// separators, in any case (`comfydeploy`, `ComfyDeploy`), as the CLI takes it.
pub fn find(name: &str) -> Option<ProviderKind> {
    let squash = |s: &str| s.replace(['_', '-'], "").to_ascii_lowercase();
    all()
        .into_iter()
        .map(|d| d.kind)
        .find(|kind| squash(kind.name()) == squash(name))
}

/// GPU sessions: stopped, with a web page and a log (ComfyDeploy's, which portholed follows).
fn gpu_actions() -> Actions {
    Actions {
        stop: Some("Stop"),
        cancel: None,
        web_ui: true,
        logs: true,
        jobs: false,
        prompts: false,
    }
}

/// Sessions that run on a GPU until their deadline, extendable (ComfyDeploy's rules, which
/// portholed follows): 15 minutes unless asked, up to about 24 hours in all.
fn gpu_lifetime() -> Lifetime {
    let max = 24 * 60;
    Lifetime {
        default_minutes: 15,
        choices: [5, 15, 30, 60, 120, 240]
            .into_iter()
            .filter(|m| *m <= max)
            .collect(),
        max_minutes: Some(max),
    }
}

impl ProviderKind {
    /// This provider's descriptor.
    pub fn descriptor(self) -> ProviderDescriptor {
        match self {
            ProviderKind::ComfyDeploy => ProviderDescriptor {
                kind: self,
                label: "ComfyDeploy",
                hint: "cloud GPUs",
                default_base_url: Some("https://api.comfydeploy.com/api"),
                example_base_url: Some("https://api.comfydeploy.com/api"),
                supported: true,
                lifetime: gpu_lifetime(),
                extend_steps: vec![5, 15, 30, 60],
                launch: template_launch(),
                account_fields: Vec::new(),
                actions: gpu_actions(),
                runs_to_completion: false,
                test_only: false,
            },
            ProviderKind::Portholed => ProviderDescriptor {
                kind: self,
                label: "portholed",
                hint: "your own server",
                default_base_url: None,
                example_base_url: Some("http://gpu-box:7788/api"),
                supported: true,
                lifetime: gpu_lifetime(),
                extend_steps: vec![5, 15, 30, 60],
                launch: template_launch(),
                account_fields: vec![AccountField {
                    key: TLS_FINGERPRINT_FIELD,
                    label: "Certificate fingerprint",
                    help: "Set by pairing (a string from `portholed pair`): the server must \
                           present this certificate (sha256:…), whatever the system trusts.",
                    required: false,
                }],
                actions: gpu_actions(),
                runs_to_completion: false,
                test_only: false,
            },
            ProviderKind::IbmQuantum => ProviderDescriptor {
                kind: self,
                label: "IBM Quantum",
                hint: "QPU sessions",
                // us-east's; the provider uses the CRN's region when this one is kept.
                default_base_url: Some("https://quantum.cloud.ibm.com/api/v1"),
                example_base_url: Some("https://quantum.cloud.ibm.com/api/v1"),
                supported: true,
                // IBM's default max_ttl (8 h); the plan may clamp it, and IBM says so.
                lifetime: Lifetime {
                    default_minutes: 8 * 60,
                    choices: vec![30, 60, 120, 240, 480],
                    max_minutes: None,
                },
                extend_steps: Vec::new(),
                launch: LaunchShape {
                    template_required: false,
                    modes: vec!["dedicated", "batch"],
                    takes_parameters: false,
                    resource_named: false,
                },
                actions: Actions {
                    stop: Some("Close"),
                    cancel: Some("Cancel"),
                    web_ui: false,
                    logs: false,
                    jobs: true,
                    prompts: false,
                },
                runs_to_completion: false,
                test_only: false,
                account_fields: vec![
                    AccountField {
                        key: "instance",
                        label: "Instance CRN",
                        help: "The CRN of your Quantum instance (crn:v1:bluemix:…); its region \
                               picks the API.",
                        required: true,
                    },
                    AccountField {
                        key: "iam_url",
                        label: "IAM URL",
                        help: "Only for a private deployment: where API keys are exchanged.",
                        required: false,
                    },
                ],
            },
            ProviderKind::Airplane => ProviderDescriptor {
                kind: self,
                label: "Airplane",
                hint: "runbook sessions",
                // The hosted service has closed: the account names its own server.
                default_base_url: None,
                example_base_url: Some("https://api.airplane.example/v0"),
                supported: true,
                // A runbook session has no deadline: nothing to choose, nothing to count down.
                lifetime: Lifetime {
                    default_minutes: 0,
                    choices: Vec::new(),
                    max_minutes: None,
                },
                extend_steps: Vec::new(),
                // The runbook (a slug or an rbk… id) is the resource; its parameters are asked.
                launch: LaunchShape {
                    template_required: false,
                    modes: Vec::new(),
                    takes_parameters: true,
                    resource_named: true,
                },
                account_fields: vec![
                    AccountField {
                        key: "team_id",
                        label: "Team ID",
                        help: "Only when the key can reach more than one team (tea…).",
                        required: false,
                    },
                    AccountField {
                        key: "env",
                        label: "Environment",
                        help: "The environment's slug; empty for the default one.",
                        required: false,
                    },
                ],
                // No stop and no cancel in its API; blocks and runs show as jobs.
                actions: Actions {
                    stop: None,
                    cancel: None,
                    web_ui: false,
                    logs: false,
                    jobs: true,
                    prompts: true,
                },
                // A runbook session ends by itself once its work is done.
                runs_to_completion: true,
                test_only: false,
            },
            #[cfg(feature = "scripted")]
            ProviderKind::Scripted => scripted(),
        }
    }

    /// Its wire name (`"comfy_deploy"`), as accounts.json and the bindings write it.
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::ComfyDeploy => "comfy_deploy",
            ProviderKind::Portholed => "portholed",
            ProviderKind::IbmQuantum => "ibm_quantum",
            ProviderKind::Airplane => "airplane",
            #[cfg(feature = "scripted")]
            ProviderKind::Scripted => "scripted",
        }
    }

    /// What the app calls it.
    pub fn label(self) -> &'static str {
        self.descriptor().label
    }

    /// The longest a session may last in all, where the provider has such a limit.
    pub fn max_session_minutes(self) -> Option<u32> {
        self.descriptor().lifetime.max_minutes
    }
}

/// Whether extending `session` by `minutes` keeps it within `max_minutes` of its creation: the
/// session-length ceiling, measured as the providers measure it (ComfyDeploy's sessions run in a
/// function created with a 24-hour limit), in this one place for the tray, the window menus and
/// auto-extend. No limit, or no deadline: it fits.
pub fn extension_fits(session: &Session, minutes: u32, max_minutes: Option<u32>) -> bool {
    match (max_minutes, session.deadline) {
        (Some(max), Some(deadline)) => {
            deadline + Duration::minutes(i64::from(minutes)) - session.created_at
                <= Duration::minutes(i64::from(max))
        }
        _ => true,
    }
}

/// The scripted test provider (`porthole_providers::scripted`): no templates, no web page,
/// parameters, an idle and an unused clock, prompts, close and cancel, no extension.
#[cfg(feature = "scripted")]
fn scripted() -> ProviderDescriptor {
    ProviderDescriptor {
        kind: ProviderKind::Scripted,
        label: "Scripted",
        hint: "tests only",
        default_base_url: None,
        example_base_url: Some("file:///tmp/scripted"),
        supported: true,
        lifetime: Lifetime {
            default_minutes: 60,
            choices: vec![30, 60, 120],
            max_minutes: Some(8 * 60),
        },
        extend_steps: Vec::new(),
        launch: LaunchShape {
            template_required: false,
            modes: Vec::new(),
            takes_parameters: true,
            resource_named: false,
        },
        account_fields: Vec::new(),
        actions: Actions {
            stop: Some("Close"),
            cancel: Some("Cancel"),
            web_ui: false,
            logs: true,
            jobs: false,
            prompts: true,
        },
        runs_to_completion: false,
        test_only: true,
    }
}

/// A launch from a template (a machine), with no modes and no parameters (ComfyDeploy's).
fn template_launch() -> LaunchShape {
    LaunchShape {
        template_required: true,
        modes: Vec::new(),
        takes_parameters: false,
        resource_named: false,
    }
}

impl ProviderDescriptor {
    /// Refuses, with a coded `invalid_input` that names the field, account settings this
    /// provider does not have, or a required one left out: before any key is checked.
    pub fn check_account_fields(
        &self,
        fields: &std::collections::BTreeMap<String, String>,
    ) -> crate::error::Result<()> {
        let label = self.label;
        if let Some(unknown) = fields
            .keys()
            .find(|k| !self.account_fields.iter().any(|f| f.key == k.as_str()))
        {
            let known: Vec<&str> = self.account_fields.iter().map(|f| f.key).collect();
            return Err(Error::invalid_input(if known.is_empty() {
                format!("{label} accounts have no setting \"{unknown}\".")
            } else {
                format!(
                    "{label} accounts have no setting \"{unknown}\" (they have: {}).",
                    known.join(", ")
                )
            }));
        }
        if let Some(missing) = self
            .account_fields
            .iter()
            .find(|f| f.required && fields.get(f.key).is_none_or(|v| v.trim().is_empty()))
        {
            return Err(Error::invalid_input(format!(
                "{label} accounts need their {} (--field {}=…).",
                missing.label, missing.key
            )));
        }
        Ok(())
    }

    /// Refuses, with a coded `invalid_input` that names what is wrong, a launch this provider
    /// cannot take: before anything is sent, for the app and the CLI alike.
    pub fn check_launch(&self, request: &LaunchRequest) -> crate::error::Result<()> {
        let label = self.label;
        if self.launch.template_required && request.machine_id.trim().is_empty() {
            return Err(Error::invalid_input(format!(
                "{label} sessions are launched from a template: choose a machine."
            )));
        }
        if let Some(mode) = &request.mode {
            if !self.launch.modes.contains(&mode.as_str()) {
                return Err(Error::invalid_input(if self.launch.modes.is_empty() {
                    format!("{label} sessions have no modes to choose (asked for \"{mode}\").")
                } else {
                    format!(
                        "{label} sessions run in one of these modes: {} (not \"{mode}\").",
                        self.launch.modes.join(", ")
                    )
                }));
            }
        }
        if !request.params.is_empty() && !self.launch.takes_parameters {
            let names: Vec<&str> = request.params.keys().map(String::as_str).collect();
            return Err(Error::invalid_input(format!(
                "{label} sessions take no parameters (given: {}).",
                names.join(", ")
            )));
        }
        if request.timeout_minutes.is_some() && self.lifetime.choices.is_empty() {
            return Err(Error::invalid_input(format!(
                "{label} sessions have no time limit to choose."
            )));
        }
        if let (Some(minutes), Some(max)) = (request.timeout_minutes, self.lifetime.max_minutes) {
            if minutes == 0 || minutes > max {
                return Err(Error::invalid_input(format!(
                    "A {label} session lasts 1 to {max} minutes (asked for {minutes})."
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_described_once_in_order() {
        let kinds: Vec<ProviderKind> = all()
            .iter()
            .filter(|d| !d.test_only)
            .map(|d| d.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                ProviderKind::ComfyDeploy,
                ProviderKind::Portholed,
                ProviderKind::IbmQuantum,
                ProviderKind::Airplane
            ]
        );
        for d in all() {
            assert_eq!(d.kind.descriptor(), d);
            assert!(d
                .lifetime
                .choices
                .iter()
                .all(|m| d.lifetime.max_minutes.is_none_or(|max| *m <= max)));
            assert!(
                d.lifetime.choices.is_empty()
                    || d.lifetime.choices.contains(&d.lifetime.default_minutes)
            );
        }
        assert_eq!(ProviderKind::Portholed.max_session_minutes(), Some(24 * 60));
        assert_eq!(ProviderKind::Airplane.max_session_minutes(), None);
        assert_eq!(ProviderKind::ComfyDeploy.label(), "ComfyDeploy");
        for d in all() {
            let wire = serde_json::to_value(d.kind).expect("json");
            assert_eq!(wire, d.kind.name(), "the name is the wire name");
            assert_eq!(find(d.kind.name()), Some(d.kind));
        }
        assert_eq!(find("comfydeploy"), Some(ProviderKind::ComfyDeploy));
        assert_eq!(find("IBM-Quantum"), Some(ProviderKind::IbmQuantum));
        assert_eq!(find("nope"), None);
    }

    #[test]
    fn account_settings_are_checked_against_the_provider() {
        let none = std::collections::BTreeMap::new();
        assert!(ProviderKind::ComfyDeploy
            .descriptor()
            .check_account_fields(&none)
            .is_ok());
        let bogus = [("region".to_owned(), "x".to_owned())].into();
        let err = ProviderKind::ComfyDeploy
            .descriptor()
            .check_account_fields(&bogus)
            .expect_err("unknown");
        assert!(err.message.contains("\"region\""), "{}", err.message);
        let ibm = ProviderKind::IbmQuantum.descriptor();
        let err = ibm.check_account_fields(&none).expect_err("required");
        assert!(err.message.contains("instance"), "{}", err.message);
        let crn = [("instance".to_owned(), "crn:v1:x".to_owned())].into();
        assert!(ibm.check_account_fields(&crn).is_ok());
    }

    #[test]
    fn launches_a_provider_cannot_take_are_refused_by_name() {
        let d = ProviderKind::Portholed.descriptor();
        let ok = LaunchRequest {
            machine_id: "terminal".into(),
            resource: None,
            timeout_minutes: Some(30),
            mode: None,
            params: Default::default(),
        };
        assert!(d.check_launch(&ok).is_ok());
        let refused = |request: LaunchRequest, words: &str| {
            let err = d.check_launch(&request).expect_err(words);
            assert_eq!(err.code, crate::ErrorCode::InvalidInput);
            assert!(err.message.contains(words), "{}", err.message);
        };
        refused(
            LaunchRequest {
                machine_id: " ".into(),
                ..ok.clone()
            },
            "template",
        );
        refused(
            LaunchRequest {
                mode: Some("batch".into()),
                ..ok.clone()
            },
            "\"batch\"",
        );
        refused(
            LaunchRequest {
                params: [("shots".to_owned(), "100".to_owned())].into(),
                ..ok.clone()
            },
            "shots",
        );
        refused(
            LaunchRequest {
                timeout_minutes: Some(24 * 60 + 1),
                ..ok.clone()
            },
            "1 to 1440",
        );
    }
}
