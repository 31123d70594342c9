//! The fake Airplane's runbooks: what a runbook is made of (parameters in Airplane's `Parameter`
//! JSON, blocks that run in order) and the two every fake team has unless told otherwise:
//! `deploy` (a task, an approval form, a task that can fail, and parameters of every nesting
//! kind) and `hello` (one task, one optional parameter). Also how values are checked against
//! parameters (strings only, and every required parameter given), and how `{slug}`
//! placeholders in outputs, descriptions and notes are filled.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// A runbook a session can be launched from.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Runbook {
    /// `rbk…`.
    pub id: String,
    pub slug: String,
    pub name: String,
    /// Airplane `Parameter` JSON, as a session's `params` shows it (children of an `object` in
    /// `params`, the element of a `list` or `map` in `values`).
    #[serde(default)]
    pub params: Vec<Value>,
    #[serde(default)]
    pub blocks: Vec<Block>,
}

/// One step of a runbook.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// A task that runs for one step; `outputs` values may use `{slug}` placeholders filled from
    /// the session's paramValues; fails (run Failed, session Failed) when `fail_when` =
    /// (param slug, value) matches.
    Task {
        slug: String,
        /// `tsk…`.
        task_id: String,
        #[serde(default)]
        outputs: BTreeMap<String, String>,
        #[serde(default)]
        fail_when: Option<(String, String)>,
    },
    /// A form: the session turns Waiting with an open prompt (on a run of its own, status
    /// Active) until the prompt is submitted (run Succeeded, its outputs = the submitted values,
    /// the session goes on) or cancelled (run Cancelled; the session goes Cancelling for one
    /// step, then Cancelled). `description` may use placeholders too.
    Form {
        slug: String,
        #[serde(default)]
        description: String,
        /// The prompt schema's `parameters` (the prompt variant: children in `parameters`).
        #[serde(default)]
        parameters: Vec<Value>,
    },
    /// A note: shown, no run, takes no time.
    Note {
        slug: String,
        #[serde(default)]
        content: String,
    },
}

/// A parameter's value as a string: as given, else its default, else empty.
pub fn value_of(slug: &str, values: &BTreeMap<String, String>, params: &[Value]) -> String {
    if let Some(v) = values.get(slug) {
        return v.clone();
    }
    let default = params
        .iter()
        .find(|p| p["slug"] == slug)
        .and_then(|p| p.get("default"));
    match default {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// `template` with each `{slug}` replaced by that parameter's value (see [`value_of`]).
pub fn fill(template: &str, values: &BTreeMap<String, String>, params: &[Value]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push_str(&value_of(&after[..close], values, params));
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A parameter that must be given: not `constraints.optional` and without a default.
pub(super) fn is_required(param: &Value) -> bool {
    param["constraints"]["optional"] != true && param.get("default").is_none_or(Value::is_null)
}

/// The first required parameter `given` lacks.
pub(super) fn missing(params: &[Value], given: &BTreeMap<String, String>) -> Option<String> {
    params
        .iter()
        .filter(|p| is_required(p))
        .filter_map(|p| p["slug"].as_str())
        .find(|slug| !given.contains_key(*slug))
        .map(str::to_owned)
}

/// `{slug: string}` (null or absent: empty); a value that is not a string is refused, naming it.
pub(super) fn strings(field: &str, values: &Value) -> Result<BTreeMap<String, String>, String> {
    match values {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => map
            .iter()
            .map(|(slug, v)| match v {
                Value::String(s) => Ok((slug.clone(), s.clone())),
                _ => Err(format!("{field}.{slug} must be a string")),
            })
            .collect(),
        _ => Err(format!("{field} must be an object of strings")),
    }
}

/// A launch's `paramValues`, checked against the runbook: strings only, its parameters only,
/// every required one given.
pub fn param_values(runbook: &Runbook, values: &Value) -> Result<BTreeMap<String, String>, String> {
    let given = strings("paramValues", values)?;
    if let Some(slug) = given
        .keys()
        .find(|slug| !runbook.params.iter().any(|p| p["slug"] == slug.as_str()))
    {
        return Err(format!(
            "paramValues.{slug} is not a parameter of runbook {}",
            runbook.slug
        ));
    }
    match missing(&runbook.params, &given) {
        Some(slug) => Err(format!("parameter {slug} is required")),
        None => Ok(given),
    }
}

/// `deploy` and `hello`.
pub fn defaults() -> Vec<Runbook> {
    vec![deploy(), hello()]
}

fn deploy() -> Runbook {
    Runbook {
        id: "rbk20220120deploy01".into(),
        slug: "deploy".into(),
        name: "Deploy a service".into(),
        params: vec![
            json!({ "slug": "service", "name": "Service", "desc": "What to deploy",
                    "type": "string", "component": "", "constraints": { "optional": false } }),
            json!({ "slug": "replicas", "name": "Replicas", "desc": "How many copies",
                    "type": "integer", "constraints": { "optional": true }, "default": 2 }),
            json!({ "slug": "dry_run", "name": "Dry run", "type": "boolean",
                    "constraints": { "optional": true }, "default": false }),
            json!({ "slug": "labels", "name": "Labels", "type": "object",
                    "constraints": { "optional": true },
                    "params": [{ "slug": "team", "name": "Team", "type": "string",
                                 "constraints": { "optional": true } }] }),
            json!({ "slug": "regions", "name": "Regions", "type": "list",
                    "constraints": { "optional": true }, "values": { "type": "string" } }),
        ],
        blocks: vec![
            Block::Task {
                slug: "build".into(),
                task_id: "tsk20220120build01".into(),
                outputs: BTreeMap::from([("image".to_owned(), "registry/{service}:1".to_owned())]),
                fail_when: None,
            },
            Block::Form {
                slug: "approve".into(),
                description: "Approve the deploy of {service}?".into(),
                parameters: vec![
                    json!({ "slug": "reason", "name": "Reason", "type": "string",
                            "constraints": { "optional": false } }),
                    json!({ "slug": "notify", "name": "Notify", "type": "boolean",
                            "constraints": { "optional": true } }),
                ],
            },
            Block::Task {
                slug: "ship".into(),
                task_id: "tsk20220120ship001".into(),
                outputs: BTreeMap::from([
                    ("deployed".to_owned(), "{service}".to_owned()),
                    ("replicas".to_owned(), "{replicas}".to_owned()),
                ]),
                fail_when: Some(("service".into(), "broken".into())),
            },
        ],
    }
}

fn hello() -> Runbook {
    Runbook {
        id: "rbk20220120hello01".into(),
        slug: "hello".into(),
        name: "Say hello".into(),
        params: vec![json!({ "slug": "name", "name": "Name", "type": "string",
                             "constraints": { "optional": true }, "default": "world" })],
        blocks: vec![Block::Task {
            slug: "greet".into(),
            task_id: "tsk20220120greet01".into(),
            outputs: BTreeMap::from([("greeting".to_owned(), "hello, {name}".to_owned())]),
            fail_when: None,
        }],
    }
}
