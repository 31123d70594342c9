//! The fake Airplane's records as its API shows them: sessions (`GetSessionResponse`, and the
//! CLI's `listBlocks`), runs (`GetRunResponse`, end times an empty string until reached) and
//! prompts (`promptsiface.Prompt`, null until submitted or cancelled).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::model::{Timestamps, API_USER, TEAM_ID};
use super::runbooks::{fill, value_of, Block, Runbook};

/// Where a session stands in its runbook.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Pending {
        until: DateTime<Utc>,
    },
    /// A task block's run, started at `since`.
    Task {
        block: usize,
        run: String,
        since: DateTime<Utc>,
    },
    /// A form block's prompt, open.
    Waiting {
        block: usize,
        prompt: String,
    },
    Cancelling {
        since: DateTime<Utc>,
    },
    Done,
    /// Held in its status by the test.
    Frozen,
}

/// A block of a session: its id, and its run and prompt once it has started.
#[derive(Debug, Clone)]
pub struct BlockState {
    pub id: String,
    pub run_id: Option<String>,
    pub prompt_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub name: String,
    /// The runbook as it was at launch.
    pub runbook: Runbook,
    pub param_values: BTreeMap<String, String>,
    pub env_slug: Option<String>,
    pub status: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub phase: Phase,
    pub blocks: Vec<BlockState>,
}

impl Session {
    pub(super) fn set_status(&mut self, status: &str, at: DateTime<Utc>) {
        if self.status != status {
            self.status = status.to_owned();
            self.updated = at;
        }
    }

    pub fn value(&self, slug: &str) -> String {
        value_of(slug, &self.param_values, &self.runbook.params)
    }

    pub fn fill(&self, template: &str) -> String {
        fill(template, &self.param_values, &self.runbook.params)
    }

    /// `GetSessionResponse`.
    pub fn json(&self, ts: Timestamps) -> Value {
        json!({
            "id": self.id, "name": self.name, "runbookID": self.runbook.id,
            "status": self.status, "paramValues": self.param_values,
            "params": self.runbook.params, "permissions": [], "isPrivate": false,
            "teamID": TEAM_ID, "createdAt": ts.at(self.created),
            "updatedAt": ts.updated(self.updated), "createdBy": API_USER,
            // The spec's example is a session id (sic).
            "updatedBy": self.id,
        })
    }

    /// `sessions/listBlocks` (the CLI's internal call).
    pub fn blocks_json(&self) -> Value {
        let blocks: Vec<Value> = self
            .runbook
            .blocks
            .iter()
            .zip(&self.blocks)
            .enumerate()
            .map(|(i, (block, state))| {
                let (kind, slug, config) = match block {
                    Block::Task { slug, task_id, .. } => {
                        let mut c = json!({ "taskID": task_id });
                        if let Some(run) = &state.run_id {
                            c["runID"] = json!(run);
                        }
                        ("task", slug, json!({ "task": c }))
                    }
                    Block::Form { slug, .. } => {
                        let mut c = json!({});
                        if let Some(prompt) = &state.prompt_id {
                            c["promptID"] = json!(prompt);
                        }
                        if let Some(run) = &state.run_id {
                            c["runID"] = json!(run);
                        }
                        ("form", slug, json!({ "form": c }))
                    }
                    Block::Note { slug, content } => (
                        "note",
                        slug,
                        json!({ "note": { "content": self.fill(content) } }),
                    ),
                };
                let start = if i == 0 { "" } else { "prev.succeeded" };
                json!({ "id": state.id, "kind": kind, "slug": slug, "kindConfig": config,
                        "startCondition": start })
            })
            .collect();
        json!({ "blocks": blocks })
    }
}

#[derive(Debug, Clone)]
pub struct Run {
    pub id: String,
    /// None for a form's run.
    pub task_id: Option<String>,
    /// The block's slug.
    pub task_slug: String,
    pub session_id: String,
    pub status: &'static str,
    pub param_values: BTreeMap<String, String>,
    pub created: DateTime<Utc>,
    /// When it succeeded, failed or was cancelled.
    pub ended: Option<DateTime<Utc>>,
    pub outputs: BTreeMap<String, String>,
}

impl Run {
    pub fn updated(&self) -> DateTime<Utc> {
        self.ended.unwrap_or(self.created)
    }

    /// `GetRunResponse`: the end times not reached are empty strings ("Empty if…").
    pub fn json(&self, ts: Timestamps) -> Value {
        let ended = |status: &str| match self.ended {
            Some(t) if self.status == status => ts.at(t),
            _ => String::new(),
        };
        let mut run = json!({
            "id": self.id, "sessionID": self.session_id, "teamID": TEAM_ID,
            "status": self.status, "runtime": "standard", "timeout": 3600,
            "createdAt": ts.at(self.created), "activeAt": ts.at(self.created),
            "succeededAt": ended("Succeeded"), "failedAt": ended("Failed"),
            "cancelledAt": ended("Cancelled"), "createdBy": API_USER,
            "paramValues": self.param_values, "params": [], "permissions": [], "isPrivate": false,
        });
        if let Some(task) = &self.task_id {
            run["taskID"] = json!(task);
        }
        if self.status == "Cancelled" {
            run["cancelledBy"] = json!(API_USER);
        }
        run
    }
}

#[derive(Debug, Clone)]
pub struct Prompt {
    pub id: String,
    pub run_id: String,
    pub session_id: String,
    pub parameters: Vec<Value>,
    pub description: String,
    pub created: DateTime<Utc>,
    pub values: BTreeMap<String, String>,
    pub submitted: Option<DateTime<Utc>>,
    pub cancelled: Option<DateTime<Utc>>,
}

impl Prompt {
    pub fn is_open(&self) -> bool {
        self.submitted.is_none() && self.cancelled.is_none()
    }

    /// `promptsiface.Prompt`.
    pub fn json(&self, ts: Timestamps) -> Value {
        let by = |t: Option<DateTime<Utc>>| t.map(|_| API_USER);
        json!({
            "id": self.id, "runID": self.run_id,
            "schema": { "parameters": self.parameters }, "values": self.values,
            "reviewers": { "allowSelfApprovals": true, "groups": [], "users": [] },
            "confirmText": "Approve", "cancelText": "Reject", "description": self.description,
            "createdAt": ts.at(self.created),
            "submittedAt": self.submitted.map(|t| ts.at(t)), "submittedBy": by(self.submitted),
            "cancelledAt": self.cancelled.map(|t| ts.at(t)), "cancelledBy": by(self.cancelled),
        })
    }

    /// Refused when no longer open: 409.
    pub(super) fn check_open(&self) -> Result<(), (u16, String)> {
        if self.submitted.is_some() {
            return Err((409, "prompt has already been submitted".into()));
        }
        if self.cancelled.is_some() {
            return Err((409, "prompt has already been cancelled".into()));
        }
        Ok(())
    }
}
