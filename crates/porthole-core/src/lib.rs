//! Porthole's domain model and rules. Nothing here knows about Tauri: the desktop shell and the
//! `porthole` CLI are both thin layers over this crate.

pub mod accounts;
pub mod alerts;
pub mod app_info;
mod auto_extend;
pub mod clock;
pub mod descriptor;
pub mod ended;
pub mod error;
pub mod history;
pub mod inputs;
pub mod links;
pub mod machine_names;
pub mod model;
pub mod paths;
pub mod provider;
pub mod states;
pub mod tray;
pub mod watcher;

pub use error::{Error, ErrorCode};
