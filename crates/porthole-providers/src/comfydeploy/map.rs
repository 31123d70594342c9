//! Wire → neutral model, with every quirk of §8 handled here.

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use porthole_core::model::{
    unnamed_session_name, Availability, Capabilities, EndReason, LaunchRequest, Machine,
    ProviderKind, Resource, ResourceKind, Session, SessionState,
};

use super::wire::{self, CreateSessionResponse, GpuItem, MachineListItem, SessionResponse};

/// `timeout` null or 0 means 15 minutes (§5.1).
pub const DEFAULT_TIMEOUT_MINUTES: i64 = 15;

/// Memory of the GPUs ComfyDeploy names (§5.6), in MiB.
fn known_gpu_memory(name: &str) -> Option<u32> {
    Some(match name {
        "T4" => 16 * 1024,
        "L4" | "A10G" => 24 * 1024,
        "L40S" => 48 * 1024,
        "A100" => 40 * 1024,
        "A100-80GB" | "H100" => 80 * 1024,
        "H200" => 141 * 1024,
        "B200" => 192 * 1024,
        _ => return None,
    })
}

/// Percent-encodes an id for use as one path segment, so an odd id cannot change the route.
pub fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A ComfyDeploy key is an HS256 JWT `{user_id, org_id?, iat}`; decode (without verifying) to
/// learn whose sessions are ours. Non-JWT keys (portholed) give `None`.
pub fn jwt_user_id(key: &str) -> Option<String> {
    let payload = key.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    json.get("user_id")?.as_str().map(str::to_owned)
}

fn price_per_hour(prices: &BTreeMap<String, f64>, gpu: Option<&str>) -> Option<f64> {
    gpu.and_then(|g| prices.get(g))
        .map(|per_second| per_second * 3600.0)
}

pub fn session(
    account_id: &str,
    kind: ProviderKind,
    wire: SessionResponse,
    prices: &BTreeMap<String, f64>,
    now: DateTime<Utc>,
) -> Session {
    let timeout_minutes = wire
        .timeout
        .filter(|t| *t > 0)
        .unwrap_or(DEFAULT_TIMEOUT_MINUTES);
    let server_deadline = wire.timeout_end.as_deref().and_then(wire::parse_time);
    let created_at = wire
        .created_at
        .as_deref()
        .and_then(wire::parse_time)
        .or_else(|| server_deadline.map(|d| d - Duration::minutes(timeout_minutes)))
        .unwrap_or(now);
    // Legacy runners have no timeout_end: created_at + timeout is the best estimate.
    let deadline = server_deadline.unwrap_or(created_at + Duration::minutes(timeout_minutes));
    let state = if wire.url.is_some() {
        SessionState::Connecting
    } else {
        SessionState::Starting
    };
    let name = unnamed_session_name(wire.gpu.as_deref(), &wire.id);
    Session {
        account_id: account_id.to_owned(),
        provider: kind,
        name,
        machine_id: wire.machine_id.clone(),
        machine_name: None,
        resource: wire.gpu.clone(),
        state,
        status_label: wire.status_label.clone(),
        created_at,
        deadline: Some(deadline),
        idle_deadline: None,
        unused_deadline: None,
        warning: None,
        url: wire.url.clone(),
        price_per_hour: price_per_hour(prices, wire.gpu.as_deref()),
        before_end: wire.before_end_seconds.map(before_end_sentence),
        capabilities: Capabilities {
            // Only sessions with a server deadline can be extended through S5.
            can_extend: server_deadline.is_some(),
            can_stop: true,
            has_ui: true,
            can_cancel: false,
        },
        details: Vec::new(),
        raw: serde_json::to_value(&wire).unwrap_or(serde_json::Value::Null),
        id: wire.id,
    }
}

/// portholed's `before_end` step, for a person.
fn before_end_sentence(seconds: u64) -> String {
    format!("Its before_end step runs first, for up to {seconds} s.")
}

/// A session known only by its id (portholed's 404 for an ended one).
pub fn ended_wire(id: &str) -> Option<SessionResponse> {
    serde_json::from_value(serde_json::json!({ "id": id })).ok()
}

/// What portholed's `ended` note says beyond the [`EndReason`]: who stopped it ("Stopped from
/// the CLI"); the watcher passes it on as the end's outcome.
pub fn end_note(ended: &crate::error_body::Ended) -> Option<String> {
    let who = ended.reason.strip_prefix("stopped ")?;
    (ended.kind == "stopped").then(|| format!("Stopped {who}."))
}

/// Why a session ended, from portholed's `ended` note.
pub fn end_reason(ended: &crate::error_body::Ended) -> EndReason {
    match ended.kind.as_str() {
        "timeout" => EndReason::Timeout,
        "stopped" => EndReason::Stopped,
        _ => EndReason::Failed(ended.reason.clone()),
    }
}

/// A session S2 does not know yet, described from the launch request.
pub fn just_launched(
    account_id: &str,
    kind: ProviderKind,
    created: &CreateSessionResponse,
    request: &LaunchRequest,
    prices: &BTreeMap<String, f64>,
    now: DateTime<Utc>,
) -> Session {
    let minutes = request
        .timeout_minutes
        .map(i64::from)
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_TIMEOUT_MINUTES);
    let wire = SessionResponse {
        id: created.session_id.clone(),
        session_id: Some(created.session_id.clone()),
        gpu_event_id: None,
        url: created.url.clone(),
        gpu: request.resource.clone(),
        created_at: None,
        timeout: Some(minutes),
        timeout_end: Some(
            (now + Duration::minutes(minutes))
                .naive_utc()
                .format("%Y-%m-%dT%H:%M:%S%.6f")
                .to_string(),
        ),
        machine_id: Some(request.machine_id.clone()),
        machine_version_id: None,
        status: None,
        user_id: None,
        org_id: None,
        before_end_seconds: None,
        status_label: None,
    };
    session(account_id, kind, wire, prices, now)
}

pub fn machine(item: &MachineListItem) -> Machine {
    let verdict = item.sessionable();
    Machine {
        id: item.id.clone(),
        name: item.name.clone().unwrap_or_else(|| item.id.clone()),
        can_launch: verdict.is_ok(),
        unavailable_reason: verdict.err(),
        default_resource: item.gpu.clone(),
    }
}

/// A cluster partition's offer (portholed on Slurm): free now, or queued behind what waits, or
/// more than its nodes have.
fn cluster_availability(gpu: &GpuItem) -> Availability {
    let wanted = gpu.count.unwrap_or(0);
    match (gpu.free, gpu.total) {
        (_, Some(total)) if wanted > total => Availability::Unavailable {
            reason: format!("the partition has {total} in all"),
        },
        (Some(free), _) if free >= wanted && gpu.queued.unwrap_or(0) == 0 => {
            Availability::Available
        }
        _ => Availability::Busy {
            queue_length: gpu.queued.unwrap_or(0),
        },
    }
}

/// Resources from the price list. `host_gpus` is portholed's inventory: there a GPU the host lacks
/// is listed as unavailable; for ComfyDeploy availability is unknown (the cloud decides).
pub fn resources(prices: &BTreeMap<String, f64>, host_gpus: Option<&[GpuItem]>) -> Vec<Resource> {
    let mut out: Vec<Resource> = prices
        .iter()
        .map(|(name, per_second)| {
            let host = host_gpus.and_then(|gpus| gpus.iter().find(|g| &g.name == name));
            // A cluster partition asked for without a GPU is a CPU resource too.
            let is_cpu = name.eq_ignore_ascii_case("CPU")
                || host.is_some_and(|g| g.queued.is_some() && g.count.is_none());
            let availability = match host_gpus {
                None => Availability::Unknown,
                Some(_) if host.is_some_and(|g| g.free.is_some()) => host
                    .map(cluster_availability)
                    .unwrap_or(Availability::Unknown),
                Some(_) if is_cpu || host.is_some() => Availability::Available,
                Some(_) => Availability::Unavailable {
                    reason: "this machine has no such GPU".to_owned(),
                },
            };
            let memory_mib = host
                .and_then(|g| g.memory_mib)
                .filter(|m| *m > 0)
                .and_then(|m| u32::try_from(m).ok())
                .or_else(|| known_gpu_memory(name));
            let label = match host.and_then(|g| g.model.as_deref()) {
                Some(model) if host.is_some_and(|g| g.free.is_some()) => {
                    let free = host.and_then(|g| Some((g.free?, g.total?)));
                    match free {
                        Some((free, total)) => format!("{model} ({free} of {total} free)"),
                        None => model.to_owned(),
                    }
                }
                Some(model) if !model.is_empty() && model != name => format!("{name} ({model})"),
                _ => name.clone(),
            };
            Resource {
                id: name.clone(),
                kind: if is_cpu {
                    ResourceKind::Cpu
                } else {
                    ResourceKind::Gpu
                },
                label,
                memory_mib,
                price_per_hour: Some(per_second * 3600.0),
                availability,
                max_minutes: host.and_then(|g| g.max_minutes),
            }
        })
        .collect();
    // Available first, then by price.
    out.sort_by(|a, b| {
        let rank = |r: &Resource| !matches!(r.availability, Availability::Available);
        rank(a).cmp(&rank(b)).then(
            a.price_per_hour
                .partial_cmp(&b.price_per_hour)
                .unwrap_or(std::cmp::Ordering::Equal),
        )
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
            .single()
            .expect("time")
    }

    fn wire(json: serde_json::Value) -> SessionResponse {
        serde_json::from_value(json).expect("wire")
    }

    #[test]
    fn a_session_without_url_is_starting_with_the_server_deadline() {
        let prices = BTreeMap::from([("A10G".to_owned(), 0.000337)]);
        let s = session(
            "acct",
            ProviderKind::ComfyDeploy,
            wire(serde_json::json!({
                "id": "0123456789abcdef", "session_id": "0123456789abcdef", "url": null,
                "gpu": "A10G", "created_at": "2025-06-01T11:55:00Z", "timeout": 15,
                "timeout_end": "2025-06-01T12:10:00.000000", "status": "running", "org_id": "None"
            })),
            &prices,
            now(),
        );
        assert_eq!(s.state, SessionState::Starting);
        assert_eq!(s.id, "0123456789abcdef");
        assert_eq!(
            s.deadline.expect("deadline").to_rfc3339(),
            "2025-06-01T12:10:00+00:00"
        );
        assert!(s.capabilities.can_extend);
        let price = s.price_per_hour.expect("price");
        assert!((price - 1.2132).abs() < 1e-9, "{price}");
        assert_eq!(s.name, "A10G 01234567");
    }

    #[test]
    fn portholed_s_before_end_step_is_said_in_a_sentence() {
        let with = |extra: serde_json::Value| {
            let mut json = serde_json::json!({"id": "s", "gpu": "CPU", "timeout": 15});
            json.as_object_mut()
                .expect("object")
                .extend(extra.as_object().expect("object").clone());
            session(
                "acct",
                ProviderKind::Portholed,
                wire(json),
                &BTreeMap::new(),
                now(),
            )
        };
        assert_eq!(with(serde_json::json!({})).before_end, None);
        assert_eq!(
            with(serde_json::json!({"before_end_seconds": 60}))
                .before_end
                .as_deref(),
            Some("Its before_end step runs first, for up to 60 s.")
        );
    }

    #[test]
    fn legacy_sessions_get_created_at_plus_timeout_and_cannot_extend() {
        let s = session(
            "acct",
            ProviderKind::ComfyDeploy,
            wire(serde_json::json!({
                "id": "abc", "url": "https://x.modal.host", "created_at": "2025-06-01T11:00:00Z",
                "timeout": 0, "timeout_end": null
            })),
            &BTreeMap::new(),
            now(),
        );
        assert_eq!(s.state, SessionState::Connecting);
        assert_eq!(
            s.deadline.expect("deadline").to_rfc3339(),
            "2025-06-01T11:15:00+00:00"
        );
        assert!(!s.capabilities.can_extend);
        assert_eq!(s.price_per_hour, None);
    }

    #[test]
    fn jwt_keys_reveal_their_user() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"user_id":"user_42","org_id":"org_1","iat":1}"#);
        let key = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig");
        assert_eq!(jwt_user_id(&key).as_deref(), Some("user_42"));
        assert_eq!(jwt_user_id("plain-portholed-key"), None);
    }

    #[test]
    fn path_segments_cannot_escape_the_route() {
        assert_eq!(path_segment("a/../b c"), "a%2F..%2Fb%20c");
    }

    #[test]
    fn a_cluster_s_offer_says_what_is_free_queued_or_too_big_and_bounds_the_timeout() {
        let item = |v: serde_json::Value| serde_json::from_value::<GpuItem>(v).unwrap();
        let gpus = vec![
            item(
                serde_json::json!({"name": "gpu", "index": 0, "memory_mib": 0, "model": "no GPU on gpu", "queued": 0, "max_minutes": 10}),
            ),
            item(
                serde_json::json!({"name": "gpu/fake:1", "index": 0, "memory_mib": 0, "model": "1 × fake on gpu", "count": 1, "free": 1, "total": 2, "queued": 0, "max_minutes": 10}),
            ),
            item(
                serde_json::json!({"name": "gpu/fake:2", "index": 0, "memory_mib": 0, "model": "2 × fake on gpu", "count": 2, "free": 1, "total": 2, "queued": 3, "max_minutes": 10}),
            ),
            item(
                serde_json::json!({"name": "gpu/fake:4", "count": 4, "free": 2, "total": 2, "queued": 0}),
            ),
        ];
        let prices: BTreeMap<String, f64> = gpus.iter().map(|g| (g.name.clone(), 0.0)).collect();
        let list = resources(&prices, Some(&gpus));
        let get = |id: &str| list.iter().find(|r| r.id == id).unwrap();
        assert_eq!(get("gpu").kind, ResourceKind::Cpu);
        assert_eq!(get("gpu").availability, Availability::Available);
        let one = get("gpu/fake:1");
        assert_eq!(
            (
                one.kind,
                one.label.as_str(),
                one.memory_mib,
                one.max_minutes
            ),
            (
                ResourceKind::Gpu,
                "1 × fake on gpu (1 of 2 free)",
                None,
                Some(10)
            )
        );
        assert_eq!(one.availability, Availability::Available);
        assert_eq!(
            get("gpu/fake:2").availability,
            Availability::Busy { queue_length: 3 }
        );
        assert!(matches!(
            &get("gpu/fake:4").availability,
            Availability::Unavailable { reason } if reason == "the partition has 2 in all"
        ));
    }

    #[test]
    fn portholed_resources_mark_missing_gpus() {
        let prices = BTreeMap::from([("CPU".to_owned(), 0.0), ("H100".to_owned(), 0.0)]);
        let none: Vec<GpuItem> = Vec::new();
        let list = resources(&prices, Some(&none));
        assert_eq!(list[0].id, "CPU");
        assert_eq!(list[0].availability, Availability::Available);
        assert!(matches!(
            list[1].availability,
            Availability::Unavailable { .. }
        ));
        assert_eq!(list[1].memory_mib, Some(80 * 1024));
        let cloud = resources(&prices, None);
        assert!(cloud
            .iter()
            .all(|r| r.availability == Availability::Unknown));
    }
}
