//! The one interface every provider implements. Providers map their wire models into the neutral
//! [`Session`]; quirks are handled at that boundary and nowhere else.

use futures::stream::BoxStream;

use crate::error::Result;
use crate::model::{LaunchRequest, LogLine, Machine, ProviderKind, Resource, Session};

/// A stream of log lines; it ends when the provider says the log is complete.
pub type LogStream = BoxStream<'static, Result<LogLine>>;

#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// The account's live sessions.
    async fn list(&self) -> Result<Vec<Session>>;

    /// One session; `Ok(None)` once it has ended (the provider no longer knows it as live).
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
}
