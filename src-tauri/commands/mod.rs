//! Commands, grouped by area. Each one is thin: parse, call `crates/`, map the error.

pub mod accounts;
pub mod app;
pub mod sessions;
pub mod settings;
pub mod tray;
