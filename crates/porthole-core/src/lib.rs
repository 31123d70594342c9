//! Porthole's domain model and rules. Nothing here knows about Tauri: the desktop shell and the
//! `porthole` CLI are both thin layers over this crate.

pub mod app_info;
pub mod error;
pub mod paths;

pub use error::{Error, ErrorCode};
