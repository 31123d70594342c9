//! Answering and refusing a session's prompt: the prompt read first (open, and raised by one of
//! this session's runs), the answer checked against its fields, Airplane's refusals in plain
//! words (a second answer is refused with 409).

use std::collections::BTreeMap;

use porthole_core::{Error, ErrorCode};

use super::wire::{PromptGot, Submit, WirePrompt, WireRun};
use super::{api_error, map, Airplane};

impl Airplane {
    /// The prompt, if it is open and this session's.
    async fn open_prompt_of(&self, id: &str, prompt_id: &str) -> Result<WirePrompt, Error> {
        let got: PromptGot = self
            .api
            .get_json("prompts/get", &[("id", prompt_id)], false)
            .await
            .map_err(|e| match e.status() {
                Some(404) => no_prompt(id, prompt_id),
                _ => api_error(e, ErrorCode::SessionGone),
            })?;
        let prompt = got.prompt.ok_or_else(|| no_prompt(id, prompt_id))?;
        let run_id = prompt.run_id.clone().unwrap_or_default();
        let run: WireRun = self
            .api
            .get_json("runs/get", &[("id", run_id.as_str())], false)
            .await
            .map_err(|e| match e.status() {
                Some(400 | 404) => no_prompt(id, prompt_id),
                _ => api_error(e, ErrorCode::SessionGone),
            })?;
        if run.session_id.as_deref() != Some(id) {
            return Err(no_prompt(id, prompt_id));
        }
        if !prompt.is_open() {
            return Err(Error::invalid_input(format!(
                "Prompt {prompt_id} of {id} was already answered or refused."
            )));
        }
        Ok(prompt)
    }

    pub(super) async fn submit(
        &self,
        id: &str,
        prompt_id: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let prompt = self.open_prompt_of(id, prompt_id).await?;
        let values = porthole_core::inputs::check_values(&map::prompt(&prompt).parameters, values)?;
        let body = serde_json::to_value(Submit {
            id: prompt_id,
            values: &values,
        })
        .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
        self.answer_prompt("prompts/submit", &body).await
    }

    pub(super) async fn refuse(&self, id: &str, prompt_id: &str) -> Result<(), Error> {
        self.open_prompt_of(id, prompt_id).await?;
        self.answer_prompt("prompts/cancel", &serde_json::json!({ "id": prompt_id }))
            .await
    }

    async fn answer_prompt(&self, path: &str, body: &serde_json::Value) -> Result<(), Error> {
        self.api
            .send_json::<_, serde_json::Value>(reqwest::Method::POST, path, Some(body), None)
            .await
            .map(|_| ())
            .map_err(|e| match e.status() {
                Some(409) => Error::invalid_input(format!(
                    "This prompt was already answered or refused: {}",
                    e.into_error(ErrorCode::InvalidInput).message
                )),
                _ => api_error(e, ErrorCode::SessionGone),
            })
    }
}

fn no_prompt(id: &str, prompt_id: &str) -> Error {
    Error::new(
        ErrorCode::SessionGone,
        format!("Session {id} has no prompt {prompt_id}."),
    )
}
