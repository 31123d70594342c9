//! The one interface every provider implements. Providers map their wire models into the neutral
//! [`Session`]; quirks are handled at that boundary and nowhere else.

use futures::stream::BoxStream;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::inputs::{Parameter, Prompt};
use crate::model::{Detail, Job, LaunchRequest, LogLine, Machine, ProviderKind, Resource, Session};

/// `request` as the provider will take it, or a coded `invalid_input` that names what is wrong:
/// the descriptor's rules (a template where one is needed, modes, the lifetime's ceiling), then
/// the parameters against the provider's schema for the chosen resource, defaults filled. The
/// app's hub and the CLI both launch through this, before anything is sent.
pub async fn checked_launch(
    provider: &dyn Provider,
    request: &LaunchRequest,
) -> Result<LaunchRequest> {
    let descriptor = provider.kind().descriptor();
    descriptor.check_launch(request)?;
    let mut request = request.clone();
    if descriptor.launch.takes_parameters {
        let schema = provider
            .schema(request.resource.as_deref().unwrap_or_default())
            .await?;
        if let Some(schema) = schema {
            request.params = crate::inputs::check_values(&schema, &request.params)?;
        }
    }
    Ok(request)
}

/// A stream of log lines; it ends when the provider says the log is complete.
pub type LogStream = BoxStream<'static, Result<LogLine>>;

#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// The account's live sessions.
    async fn list(&self) -> Result<Vec<Session>>;

    /// One session; `Ok(None)` once the provider no longer knows it. A provider that keeps ended
    /// sessions may return one with its `Ended` state and reason (the watcher takes the reason;
    /// the CLI shows it).
    async fn get(&self, id: &str) -> Result<Option<Session>>;

    /// Launches a session and returns it as first seen (usually starting, without a URL).
    async fn launch(&self, request: &LaunchRequest) -> Result<Session>;

    /// Moves the deadline later by `minutes`.
    async fn extend(&self, id: &str, minutes: u32) -> Result<()>;

    /// Asks the provider to stop the session. An already-ended session counts as stopped.
    async fn stop(&self, id: &str) -> Result<()>;

    /// What sessions can run on (GPUs, QPU backends, runbooks), with prices and availability.
    async fn resources(&self) -> Result<Vec<Resource>>;

    /// Session templates, including those that cannot launch now (with the reason).
    async fn machines(&self) -> Result<Vec<Machine>>;

    /// The session's start-up and run log, from the beginning.
    async fn logs(&self, id: &str) -> Result<LogStream>;

    /// Cancels the session: the work it runs is abandoned (where `stop` lets it finish). Only
    /// providers whose descriptor offers a cancel have one.
    async fn cancel(&self, id: &str) -> Result<()> {
        let _ = id;
        Err(Error::invalid_input(format!(
            "{} sessions cannot be cancelled; stop them instead.",
            self.kind().label()
        )))
    }

    /// The cheapest call that proves the key (and the account's settings) work, before an
    /// account is saved: listing sessions, unless the provider has a better one.
    async fn check_access(&self) -> Result<()> {
        self.list().await.map(|_| ())
    }

    /// What the provider tells about the account itself (IBM: the instance's QPU usage against
    /// its limit), shown beside it; nothing for most providers.
    async fn account_details(&self) -> Result<Vec<Detail>> {
        Ok(Vec::new())
    }

    /// The session's jobs, newest first (QPU sessions; none for the others).
    async fn jobs(&self, id: &str) -> Result<Vec<Job>> {
        let _ = id;
        Err(Error::invalid_input(format!(
            "{} sessions have no jobs.",
            self.kind().label()
        )))
    }

    /// What a launch on `resource` takes (none for most providers).
    async fn parameters(&self, resource: &str) -> Result<Vec<Parameter>> {
        let _ = resource;
        Ok(Vec::new())
    }

    /// What a launch on `resource` takes, where the provider knows (`None`: it cannot tell, so
    /// values are sent as given and the provider itself checks them: an Airplane runbook never
    /// run before, on a server without a runbook call).
    async fn schema(&self, resource: &str) -> Result<Option<Vec<Parameter>>> {
        self.parameters(resource).await.map(Some)
    }

    /// Ended sessions the provider still knows, for `sessions list --all` (none where the
    /// provider forgets them).
    async fn finished(&self) -> Result<Vec<Session>> {
        Ok(Vec::new())
    }

    /// What the session waits on a person for now (none for most providers).
    async fn prompts(&self, id: &str) -> Result<Vec<Prompt>> {
        let _ = id;
        Ok(Vec::new())
    }

    /// Answers one of the session's prompts.
    async fn respond(
        &self,
        id: &str,
        prompt_id: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<()> {
        let _ = (id, prompt_id, values);
        Err(Error::invalid_input(format!(
            "{} sessions do not ask for input.",
            self.kind().label()
        )))
    }

    /// Refuses one of the session's prompts (its `reject_label` says it can be).
    async fn reject(&self, id: &str, prompt_id: &str) -> Result<()> {
        let _ = (id, prompt_id);
        Err(Error::invalid_input(format!(
            "{} prompts cannot be refused, only answered.",
            self.kind().label()
        )))
    }
}
