//! What each provider is and offers, defined once, here: its name, the base URL an account starts
//! with, whether accounts of it can be added yet, how long its sessions may be launched for and
//! extended by, and its session-length ceiling. The CLI, the tray and auto-extend read it here;
//! the UI gets the same values in a file generated from it (`make bindings` writes
//! `ui/src/lib/backend/providers.ts` and fails when the committed one differs).

use chrono::Duration;
use serde::Serialize;

use crate::model::{ProviderKind, Session};

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

/// What every kind is, in the order the Add account form lists them.
pub fn all() -> Vec<ProviderDescriptor> {
    [
        ProviderKind::ComfyDeploy,
        ProviderKind::Portholed,
        ProviderKind::IbmQuantum,
        ProviderKind::Airplane,
    ]
    .into_iter()
    .map(ProviderKind::descriptor)
    .collect()
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
            },
            ProviderKind::IbmQuantum => coming(self, "IBM Quantum"),
            ProviderKind::Airplane => coming(self, "Airplane"),
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

/// A provider the model knows but this version cannot connect to yet.
fn coming(kind: ProviderKind, label: &'static str) -> ProviderDescriptor {
    ProviderDescriptor {
        kind,
        label,
        hint: "coming soon",
        default_base_url: None,
        example_base_url: None,
        supported: false,
        lifetime: Lifetime {
            default_minutes: 15,
            choices: Vec::new(),
            max_minutes: None,
        },
        extend_steps: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_described_once_in_order() {
        let kinds: Vec<ProviderKind> = all().iter().map(|d| d.kind).collect();
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
            assert!(!d.supported || d.lifetime.choices.contains(&d.lifetime.default_minutes));
        }
        assert_eq!(ProviderKind::Portholed.max_session_minutes(), Some(24 * 60));
        assert_eq!(ProviderKind::Airplane.max_session_minutes(), None);
        assert_eq!(ProviderKind::ComfyDeploy.label(), "ComfyDeploy");
    }
}
