//! The fake Airplane team's state and its lifecycle, on the wall clock in steps of `step_ms`: a
//! session waits `Pending` one step, turns `Active`, and walks its runbook's blocks in order. A
//! task runs one step, then succeeds with its outputs (or fails, and the session with it); a
//! form opens a prompt and leaves the session `Waiting` until the prompt is submitted (the
//! session goes on) or cancelled (`Cancelling` one step, then `Cancelled`); a note takes no
//! time. After the last block the session has `Succeeded`. Every status change stamps
//! `updatedAt` with the moment it was due, not the moment a request noticed it, and every moment
//! is kept to the microsecond, as Postgres keeps it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::Value;

pub use super::records::{BlockState, Phase, Prompt, Run, Session};
use super::runbooks::{self, is_required, missing, strings, Block, Runbook};

/// The team every session and run belongs to.
pub const TEAM_ID: &str = "tea20220101fake01";
/// The service account's user, who creates everything through the API.
pub const API_USER: &str = "usr20220101apiuser";

/// What the fake team is like.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct Config {
    pub api_key: String,
    /// A key that reads but cannot write: every POST answers 403.
    pub read_only_key: String,
    /// When set, a request whose `X-Team-ID` names another team is refused (403). Never required.
    pub team_id: Option<String>,
    /// What `page` means.
    pub paging: Paging,
    pub timestamps: Timestamps,
    /// How long each lifecycle step lasts, in milliseconds.
    pub step_ms: u64,
    pub runbooks: Vec<Runbook>,
    /// Raw rows appended, as written, to every first page of `sessions/list` (a bare
    /// `{"id": …}`, an unknown status); `sessions/get` answers them too.
    pub extra_rows: Vec<Value>,
    /// Whether the CLI's internal calls (`sessions/listBlocks`, `runbooks/get`) are served; a
    /// server without them answers 404.
    pub internal_calls: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            api_key: "tkn_fake_airplane_key".into(),
            read_only_key: "tkn_fake_airplane_readonly".into(),
            team_id: None,
            paging: Paging::Index,
            timestamps: Timestamps::Postgres,
            step_ms: 400,
            runbooks: runbooks::defaults(),
            extra_rows: Vec::new(),
            internal_calls: true,
        }
    }
}

/// Whether `page` counts pages or items (the spec leaves it open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Paging {
    /// Page N skips N × limit items.
    #[default]
    Index,
    /// Page N skips N items.
    Offset,
}

/// How timestamps are written in answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timestamps {
    /// `2022-01-11 22:32:45.601486+00`, as the spec's examples.
    #[default]
    Postgres,
    /// `2022-01-11T22:32:45.601486Z`.
    Rfc3339,
    /// `updatedAt` in RFC 3339, every other timestamp in Postgres' format.
    Mixed,
}

impl Timestamps {
    /// Any timestamp but a session's `updatedAt`.
    pub fn at(self, t: DateTime<Utc>) -> String {
        match self {
            Timestamps::Rfc3339 => rfc3339(t),
            Timestamps::Postgres | Timestamps::Mixed => postgres(t),
        }
    }

    /// A session's `updatedAt`.
    pub fn updated(self, t: DateTime<Utc>) -> String {
        match self {
            Timestamps::Postgres => postgres(t),
            Timestamps::Rfc3339 | Timestamps::Mixed => rfc3339(t),
        }
    }
}

/// Postgres' text format: a space, six fraction digits, an offset of hours only.
pub fn postgres(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Now, to the microsecond (what a client reads back is what the fake compares with).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Everything the fake team holds.
#[derive(Debug)]
pub struct Instance {
    pub sessions: BTreeMap<String, Session>,
    pub runs: BTreeMap<String, Run>,
    pub prompts: BTreeMap<String, Prompt>,
    /// Idempotency-Key → the session it launched.
    pub idempotency: BTreeMap<String, String>,
    /// Sessions launched by `runbooks/execute`.
    pub executions: usize,
    /// Sessions so far, per runbook id (a session is named "<runbook> #n").
    numbers: BTreeMap<String, usize>,
    day: String,
    counter: u64,
}

impl Default for Instance {
    fn default() -> Self {
        Self {
            sessions: BTreeMap::new(),
            runs: BTreeMap::new(),
            prompts: BTreeMap::new(),
            idempotency: BTreeMap::new(),
            executions: 0,
            numbers: BTreeMap::new(),
            day: Utc::now().format("%Y%m%d").to_string(),
            counter: 0,
        }
    }
}

fn step_of(config: &Config) -> Duration {
    Duration::milliseconds(i64::try_from(config.step_ms.min(1 << 40)).unwrap_or(0))
}

impl Instance {
    /// A type-prefixed id, as Airplane's: `ses20260101z000007`.
    pub fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}z{:06}", self.day, self.counter)
    }

    fn new_session(
        &mut self,
        runbook: &Runbook,
        param_values: BTreeMap<String, String>,
        env_slug: Option<String>,
        status: &str,
        phase: Phase,
        (created, updated): (DateTime<Utc>, DateTime<Utc>),
    ) -> String {
        let id = self.next_id("ses");
        let number = self.numbers.entry(runbook.id.clone()).or_insert(0);
        *number += 1;
        let name = format!("{} #{number}", runbook.name);
        let blocks = runbook
            .blocks
            .iter()
            .map(|_| BlockState {
                id: self.next_id("blk"),
                run_id: None,
                prompt_id: None,
            })
            .collect();
        let session = Session {
            id: id.clone(),
            name,
            runbook: runbook.clone(),
            param_values,
            env_slug,
            status: status.to_owned(),
            created,
            updated,
            phase,
            blocks,
        };
        self.sessions.insert(id.clone(), session);
        id
    }

    /// A session of `runbook`, `Pending` from `now` for one step.
    pub fn launch(
        &mut self,
        config: &Config,
        runbook: &Runbook,
        param_values: BTreeMap<String, String>,
        env_slug: Option<String>,
        now: DateTime<Utc>,
    ) -> String {
        self.executions += 1;
        let until = now + step_of(config);
        let phase = Phase::Pending { until };
        self.new_session(
            runbook,
            param_values,
            env_slug,
            "Pending",
            phase,
            (now, now),
        )
    }

    /// `n` sessions of the first runbook that succeeded long ago, one second apart, older than
    /// any there is; newest first.
    pub fn seed(&mut self, config: &Config, n: usize, now: DateTime<Utc>) -> Vec<String> {
        let Some(runbook) = config.runbooks.first() else {
            return Vec::new();
        };
        let floor = self
            .sessions
            .values()
            .map(|s| s.created)
            .min()
            .map_or(now, |oldest| oldest.min(now));
        let values: BTreeMap<String, String> = runbook
            .params
            .iter()
            .filter(|p| is_required(p))
            .filter_map(|p| p["slug"].as_str())
            .map(|slug| (slug.to_owned(), "seed".to_owned()))
            .collect();
        (0..n)
            .map(|i| {
                let created = floor - Duration::seconds(60 + i as i64);
                let updated = created + Duration::milliseconds(500);
                let times = (created, updated);
                self.new_session(
                    runbook,
                    values.clone(),
                    None,
                    "Succeeded",
                    Phase::Done,
                    times,
                )
            })
            .collect()
    }

    /// Brings every session to `now`.
    pub fn advance(&mut self, config: &Config, now: DateTime<Utc>) {
        let step = step_of(config);
        let ids: Vec<String> = self.sessions.keys().cloned().collect();
        for id in ids {
            let Some(mut s) = self.sessions.remove(&id) else {
                continue;
            };
            loop {
                match s.phase.clone() {
                    Phase::Pending { until } if until <= now => {
                        s.set_status("Active", until);
                        self.start_block(&mut s, 0, until);
                    }
                    Phase::Task { block, run, since } if since + step <= now => {
                        let end = since + step;
                        if self.finish_task(&s, block, &run, end) {
                            self.start_block(&mut s, block + 1, end);
                        } else {
                            s.set_status("Failed", end);
                            s.phase = Phase::Done;
                        }
                    }
                    Phase::Cancelling { since } if since + step <= now => {
                        s.set_status("Cancelled", since + step);
                        s.phase = Phase::Done;
                    }
                    _ => break,
                }
            }
            self.sessions.insert(id, s);
        }
    }

    fn new_run(
        &mut self,
        s: &Session,
        task: Option<&str>,
        slug: &str,
        at: DateTime<Utc>,
    ) -> String {
        let id = self.next_id("run");
        let param_values = if task.is_some() {
            s.param_values.clone()
        } else {
            BTreeMap::new()
        };
        let run = Run {
            id: id.clone(),
            task_id: task.map(str::to_owned),
            task_slug: slug.to_owned(),
            session_id: s.id.clone(),
            status: "Active",
            param_values,
            created: at,
            ended: None,
            outputs: BTreeMap::new(),
        };
        self.runs.insert(id.clone(), run);
        id
    }

    /// Starts block `index` (or the next that takes time) at `at`; past the last, the session
    /// has succeeded.
    fn start_block(&mut self, s: &mut Session, mut index: usize, at: DateTime<Utc>) {
        loop {
            let Some(block) = s.runbook.blocks.get(index).cloned() else {
                s.set_status("Succeeded", at);
                s.phase = Phase::Done;
                return;
            };
            match block {
                Block::Note { .. } => index += 1,
                Block::Task { slug, task_id, .. } => {
                    let run = self.new_run(s, Some(task_id.as_str()), &slug, at);
                    if let Some(state) = s.blocks.get_mut(index) {
                        state.run_id = Some(run.clone());
                    }
                    s.set_status("Active", at);
                    s.phase = Phase::Task {
                        block: index,
                        run,
                        since: at,
                    };
                    return;
                }
                Block::Form {
                    slug,
                    description,
                    parameters,
                } => {
                    let run = self.new_run(s, None, &slug, at);
                    let prompt = self.next_id("pmt");
                    self.prompts.insert(
                        prompt.clone(),
                        Prompt {
                            id: prompt.clone(),
                            run_id: run.clone(),
                            session_id: s.id.clone(),
                            parameters,
                            description: s.fill(&description),
                            created: at,
                            values: BTreeMap::new(),
                            submitted: None,
                            cancelled: None,
                        },
                    );
                    if let Some(state) = s.blocks.get_mut(index) {
                        state.run_id = Some(run);
                        state.prompt_id = Some(prompt.clone());
                    }
                    s.set_status("Waiting", at);
                    s.phase = Phase::Waiting {
                        block: index,
                        prompt,
                    };
                    return;
                }
            }
        }
    }

    /// Ends a task's run at `end`: false when it failed.
    fn finish_task(&mut self, s: &Session, block: usize, run: &str, end: DateTime<Utc>) -> bool {
        let Some(Block::Task {
            outputs, fail_when, ..
        }) = s.runbook.blocks.get(block)
        else {
            return true;
        };
        let failed = fail_when
            .as_ref()
            .is_some_and(|(slug, value)| s.value(slug) == *value);
        if let Some(r) = self.runs.get_mut(run) {
            r.ended = Some(end);
            if failed {
                r.status = "Failed";
            } else {
                r.status = "Succeeded";
                r.outputs = outputs
                    .iter()
                    .map(|(k, v)| (k.clone(), s.fill(v)))
                    .collect();
            }
        }
        !failed
    }

    /// `prompts/submit`: the form's run succeeds with the values as outputs, and the session
    /// goes on. Errors are (status, message).
    pub fn submit(
        &mut self,
        id: &str,
        values: &Value,
        now: DateTime<Utc>,
    ) -> Result<(), (u16, String)> {
        let prompt = self
            .prompts
            .get(id)
            .ok_or_else(|| (404_u16, "prompt not found".to_owned()))?;
        prompt.check_open()?;
        let values = strings("values", values).map_err(|e| (400_u16, e))?;
        if let Some(slug) = missing(&prompt.parameters, &values) {
            return Err((400, format!("values.{slug} is required")));
        }
        let (run_id, session_id) = (prompt.run_id.clone(), prompt.session_id.clone());
        if let Some(p) = self.prompts.get_mut(id) {
            p.values = values.clone();
            p.submitted = Some(now);
        }
        if let Some(r) = self.runs.get_mut(&run_id) {
            r.status = "Succeeded";
            r.ended = Some(now);
            r.outputs = values;
        }
        if let Some(mut s) = self.sessions.remove(&session_id) {
            if let Phase::Waiting { block, prompt } = s.phase.clone() {
                if prompt == id {
                    s.set_status("Active", now);
                    self.start_block(&mut s, block + 1, now);
                }
            }
            self.sessions.insert(session_id, s);
        }
        Ok(())
    }

    /// `prompts/cancel`: the form's run is cancelled, and the session with it (one step of
    /// `Cancelling` first).
    pub fn cancel(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), (u16, String)> {
        let prompt = self
            .prompts
            .get(id)
            .ok_or_else(|| (404_u16, "prompt not found".to_owned()))?;
        prompt.check_open()?;
        let (run_id, session_id) = (prompt.run_id.clone(), prompt.session_id.clone());
        if let Some(p) = self.prompts.get_mut(id) {
            p.cancelled = Some(now);
        }
        if let Some(r) = self.runs.get_mut(&run_id) {
            r.status = "Cancelled";
            r.ended = Some(now);
        }
        if let Some(s) = self.sessions.get_mut(&session_id) {
            if matches!(&s.phase, Phase::Waiting { prompt, .. } if prompt == id) {
                s.set_status("Cancelling", now);
                s.phase = Phase::Cancelling { since: now };
            }
        }
        Ok(())
    }

    /// Holds a session in `status` from now on, last updated at `updated`.
    pub fn freeze(&mut self, id: &str, status: &str, updated: DateTime<Utc>) {
        if let Some(s) = self.sessions.get_mut(id) {
            s.status = status.to_owned();
            s.updated = updated.trunc_subsecs(6);
            s.phase = Phase::Frozen;
        }
    }

    /// The open prompt of a session, if it has one.
    pub fn open_prompt(&self, session_id: &str) -> Option<String> {
        self.prompts
            .values()
            .find(|p| p.session_id == session_id && p.is_open())
            .map(|p| p.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::runbooks::fill;
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2022-01-11T22:32:45.601486Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn timestamps_are_written_in_each_format() {
        assert_eq!(postgres(at()), "2022-01-11 22:32:45.601486+00");
        assert_eq!(rfc3339(at()), "2022-01-11T22:32:45.601486Z");
        let whole = at().trunc_subsecs(0);
        assert_eq!(postgres(whole), "2022-01-11 22:32:45.000000+00");
        assert_eq!(Timestamps::Mixed.at(at()), postgres(at()));
        assert_eq!(Timestamps::Mixed.updated(at()), rfc3339(at()));
        assert_eq!(Timestamps::Rfc3339.at(at()), rfc3339(at()));
        assert_eq!(Timestamps::Postgres.updated(at()), postgres(at()));
    }

    #[test]
    fn placeholders_take_the_value_then_the_default_then_nothing() {
        let params = vec![
            json!({ "slug": "service", "type": "string" }),
            json!({ "slug": "replicas", "type": "integer", "default": 2 }),
            json!({ "slug": "name", "type": "string", "default": "world" }),
        ];
        let values = BTreeMap::from([("service".to_owned(), "api".to_owned())]);
        assert_eq!(
            fill("registry/{service}:1", &values, &params),
            "registry/api:1"
        );
        assert_eq!(
            fill("{replicas} of {service}", &values, &params),
            "2 of api"
        );
        assert_eq!(fill("hello, {name}", &values, &params), "hello, world");
        assert_eq!(fill("[{unknown}]", &values, &params), "[]");
        assert_eq!(fill("open {brace", &values, &params), "open {brace");
        assert_eq!(
            fill("no placeholders", &BTreeMap::new(), &params),
            "no placeholders"
        );
    }

    #[test]
    fn launch_values_are_strings_of_known_parameters_with_the_required_ones() {
        use super::runbooks::param_values;
        let deploy = runbooks::defaults().remove(0);
        let ok = param_values(&deploy, &json!({ "service": "api", "replicas": "3" })).unwrap();
        assert_eq!(ok.get("replicas").map(String::as_str), Some("3"));
        let number = param_values(&deploy, &json!({ "service": "api", "replicas": 3 }));
        assert_eq!(number.unwrap_err(), "paramValues.replicas must be a string");
        let unknown = param_values(&deploy, &json!({ "service": "api", "colour": "red" }));
        assert!(unknown.unwrap_err().contains("colour"));
        let lacking = param_values(&deploy, &json!({ "replicas": "3" }));
        assert!(lacking.unwrap_err().contains("service"));
        assert!(param_values(&deploy, &Value::Null).is_err());
    }
}
