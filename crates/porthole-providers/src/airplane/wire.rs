//! Airplane's JSON (docs/providers/airplane.md), read as leniently as its SDK: every field
//! optional (a session with only its `id` is a session), statuses an open enum, timestamps in
//! Postgres' text format or RFC 3339, parameter values as strings.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// A session's status: the seven the spec names, and anything else as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pending,
    Active,
    Waiting,
    Succeeded,
    Failed,
    Cancelling,
    Cancelled,
    Other(String),
}

impl Status {
    /// Still running (the spec's live ones, and any it does not name).
    pub fn is_live(&self) -> bool {
        !matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "Pending" => Status::Pending,
            "Active" => Status::Active,
            "Waiting" => Status::Waiting,
            "Succeeded" => Status::Succeeded,
            "Failed" => Status::Failed,
            "Cancelling" => Status::Cancelling,
            "Cancelled" => Status::Cancelled,
            _ => Status::Other(s),
        })
    }
}

/// A timestamp in either of Airplane's formats: Postgres' text (`2022-01-11 22:32:45.601486+00`)
/// or RFC 3339. One that reads as neither is dropped, not fatal.
pub fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    Ok(parse_time(&text))
}

pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    // Postgres: a space, optional fractions, and an offset of hours only (`+00`) or `+00:00`.
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// A list or map that may be written `null` (a Go server's empty slice): empty.
fn or_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A session (`sessions/get`'s answer, an element of `sessions/list`'s).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSession {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "runbookID")]
    pub runbook_id: Option<String>,
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub param_values: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub params: Option<Vec<WireParameter>>,
    #[serde(default, rename = "teamID")]
    pub team_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub updated_by: Option<String>,
}

/// A parameter of a runbook or a prompt. Runbooks nest children in `params`, prompts in
/// `parameters`; lists and maps describe their elements in `values`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WireParameter {
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub desc: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub constraints: Option<Constraints>,
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    #[serde(default, alias = "parameters")]
    pub params: Option<Vec<WireParameter>>,
    #[serde(default)]
    pub values: Option<Box<WireParameter>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Constraints {
    #[serde(default)]
    pub optional: Option<bool>,
}

/// `sessions/list`'s answer: no total, no cursor.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SessionList {
    #[serde(default, deserialize_with = "or_empty")]
    pub sessions: Vec<serde_json::Value>,
}

/// `runbooks/execute`'s body: the runbook by id or slug, its values as strings.
#[derive(Debug, Clone, Serialize)]
pub struct Execute {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(rename = "paramValues")]
    pub param_values: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Executed {
    #[serde(default, rename = "sessionID")]
    pub session_id: Option<String>,
}

/// A run (`runs/get`, an element of `runs/list`): a task the session started.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRun {
    pub id: String,
    #[serde(default, rename = "taskID")]
    pub task_id: Option<String>,
    #[serde(default, rename = "sessionID")]
    pub session_id: Option<String>,
    /// `NotStarted`, `Queued`, `Active`, `Succeeded`, `Failed`, `Cancelled`, or anything else.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
}

impl WireRun {
    /// Still to run or running (a status not known counts as running).
    pub fn is_live(&self) -> bool {
        !matches!(
            self.status.as_deref(),
            Some("Succeeded" | "Failed" | "Cancelled")
        )
    }
}

/// `runs/getOutputs`' answer: values as strings (a value that is not is shown as JSON).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Outputs {
    #[serde(default, deserialize_with = "or_empty")]
    pub output: BTreeMap<String, serde_json::Value>,
}

/// A prompt (`prompts/list`, `prompts/get`): a question a run waits on a person for.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePrompt {
    pub id: String,
    #[serde(default, rename = "runID")]
    pub run_id: Option<String>,
    #[serde(default)]
    pub schema: Option<PromptSchema>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub confirm_text: Option<String>,
    #[serde(default)]
    pub cancel_text: Option<String>,
    /// Set (non-empty) once answered or refused.
    #[serde(default)]
    pub submitted_at: Option<String>,
    #[serde(default)]
    pub cancelled_at: Option<String>,
}

impl WirePrompt {
    /// Neither answered nor refused yet.
    pub fn is_open(&self) -> bool {
        let unset = |v: &Option<String>| v.as_deref().is_none_or(|t| t.trim().is_empty());
        unset(&self.submitted_at) && unset(&self.cancelled_at)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PromptSchema {
    #[serde(default, deserialize_with = "or_empty")]
    pub parameters: Vec<WireParameter>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PromptList {
    #[serde(default, deserialize_with = "or_empty")]
    pub prompts: Vec<WirePrompt>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PromptGot {
    #[serde(default)]
    pub prompt: Option<WirePrompt>,
}

/// `prompts/submit`'s body: the values as strings.
#[derive(Debug, Clone, Serialize)]
pub struct Submit<'a> {
    pub id: &'a str,
    pub values: &'a BTreeMap<String, String>,
}

/// A block of a session (`sessions/listBlocks`, an internal call of Airplane's CLI that a server
/// may not have).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireBlock {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub kind_config: Option<serde_json::Value>,
}

impl WireBlock {
    /// The run it started, where it says (`kindConfig.<kind>.runID`).
    pub fn run_id(&self) -> Option<String> {
        let config = self.kind_config.as_ref()?;
        let inner = config.get(self.kind.as_deref()?)?;
        inner.get("runID")?.as_str().map(str::to_owned)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BlockList {
    #[serde(default, deserialize_with = "or_empty")]
    pub blocks: Vec<WireBlock>,
}

/// A runbook (`runbooks/get`, internal like the blocks): its parameters, wrapped in `runbook`
/// or not.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WireRunbook {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub params: Option<Vec<WireParameter>>,
    #[serde(default)]
    pub runbook: Option<Box<WireRunbook>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_written_null_are_empty() {
        let list: SessionList = serde_json::from_str(r#"{"sessions": null}"#).unwrap();
        assert!(list.sessions.is_empty());
        let outputs: Outputs = serde_json::from_str(r#"{"output": null}"#).unwrap();
        assert!(outputs.output.is_empty());
        let prompts: PromptList = serde_json::from_str(r#"{"prompts": null}"#).unwrap();
        assert!(prompts.prompts.is_empty());
        let blocks: BlockList = serde_json::from_str(r#"{"blocks": null}"#).unwrap();
        assert!(blocks.blocks.is_empty());
        let prompt: WirePrompt =
            serde_json::from_str(r#"{"id": "pmt1", "schema": {"parameters": null}}"#).unwrap();
        assert!(prompt.schema.unwrap().parameters.is_empty());
    }
}
