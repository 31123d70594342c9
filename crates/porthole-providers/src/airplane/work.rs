//! What a session did and waits for: its runs (`runs/list` cannot filter by session, so the runs
//! updated since it began are read and those carrying its `sessionID` kept), their outputs, its
//! open prompts (`prompts/list` of each live run), and its blocks where the server has the CLI's
//! internal `sessions/listBlocks`. Blocks and runs show as the session's jobs.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use porthole_core::inputs::Prompt;
use porthole_core::model::Job;
use porthole_core::{Error, ErrorCode};

use super::wire::{BlockList, Outputs, PromptList, WireRun};
use super::{api_error, map, paging, Airplane};

/// Runs are read from a little before the session began (clocks differ).
const RUNS_SLACK: Duration = Duration::minutes(5);

/// At most this many output lines in a notification or a status.
const OUTCOME_LINES: usize = 3;

impl Airplane {
    /// The session's runs, oldest first.
    pub(super) async fn runs(&self, id: &str, since: DateTime<Utc>) -> Result<Vec<WireRun>, Error> {
        let since = (since - RUNS_SLACK).to_rfc3339_opts(SecondsFormat::Secs, true);
        let rows = paging::read_all(&self.api, "runs/list", "runs", &[("since", &since)]).await?;
        let mut runs: Vec<WireRun> = rows
            .into_iter()
            .filter_map(|row| serde_json::from_value::<WireRun>(row).ok())
            .filter(|run| run.session_id.as_deref() == Some(id))
            .collect();
        runs.sort_by_key(|r| r.created_at);
        Ok(runs)
    }

    /// A run's outputs, once it has ended (kept: they no longer change); none before.
    pub(super) async fn outputs(&self, run: &WireRun) -> Result<BTreeMap<String, String>, Error> {
        if run.is_live() {
            return Ok(BTreeMap::new());
        }
        if let Some(known) = self.outputs.lock().await.get(&run.id) {
            return Ok(known.clone());
        }
        let got: Outputs = self
            .api
            .get_json("runs/getOutputs", &[("id", run.id.as_str())], false)
            .await
            .map_err(|e| api_error(e, ErrorCode::InvalidResponse))?;
        let outputs: BTreeMap<String, String> = got
            .output
            .into_iter()
            .map(|(k, v)| (k, map::text_of(&v)))
            .collect();
        self.outputs
            .lock()
            .await
            .insert(run.id.clone(), outputs.clone());
        Ok(outputs)
    }

    /// The session's open prompts: those of its live runs not answered or refused yet.
    pub(super) async fn open_prompts(
        &self,
        id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<Prompt>, Error> {
        let mut prompts = Vec::new();
        for run in self.runs(id, since).await?.iter().filter(|r| r.is_live()) {
            let list: PromptList = self
                .api
                .get_json("prompts/list", &[("runID", run.id.as_str())], false)
                .await
                .map_err(|e| api_error(e, ErrorCode::InvalidResponse))?;
            prompts.extend(list.prompts.iter().filter(|p| p.is_open()).map(map::prompt));
        }
        Ok(prompts)
    }

    /// The blocks (where the server lists them) with the state of what each started, then any
    /// run no block names; each with its outputs once it has some.
    pub(super) async fn work(&self, id: &str, since: DateTime<Utc>) -> Result<Vec<Job>, Error> {
        let runs = self.runs(id, since).await?;
        let blocks = match self
            .api
            .get_json::<BlockList>("sessions/listBlocks", &[("sessionID", id)], false)
            .await
        {
            Ok(list) => list.blocks,
            // An internal call: a server without it lists the runs alone.
            Err(e) if matches!(e.status(), Some(404 | 405 | 501)) => Vec::new(),
            Err(e) => return Err(api_error(e, ErrorCode::InvalidResponse)),
        };
        let mut jobs = Vec::new();
        let mut named = Vec::new();
        for block in &blocks {
            let run = block
                .run_id()
                .and_then(|r| runs.iter().find(|run| run.id == r));
            let mut job = map::block_job(block, run);
            if let Some(run) = run {
                named.push(run.id.clone());
                job.outputs = self.shown_outputs(run).await;
            }
            jobs.push(job);
        }
        for run in runs.iter().filter(|r| !named.contains(&r.id)) {
            let mut job = map::run_job(run);
            job.outputs = self.shown_outputs(run).await;
            jobs.push(job);
        }
        Ok(jobs)
    }

    /// A run's outputs for the jobs table: one that cannot be read is shown without them.
    async fn shown_outputs(&self, run: &WireRun) -> BTreeMap<String, String> {
        self.outputs(run).await.unwrap_or_else(|e| {
            tracing::debug!("the outputs of {} cannot be read: {}", run.id, e.message);
            BTreeMap::new()
        })
    }

    /// How an ended session came out, for its end notification: its last run's first output
    /// lines (`None` when it left none).
    pub(super) async fn outcome(
        &self,
        id: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, Error> {
        let runs = self.runs(id, since).await?;
        let Some(last) = runs.last() else {
            return Ok(None);
        };
        let outputs = self.outputs(last).await?;
        let lines: Vec<String> = outputs
            .iter()
            .take(OUTCOME_LINES)
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        Ok((!lines.is_empty()).then(|| lines.join("\n")))
    }
}
