//! Keys live in the OS keychain and nowhere else. This crate is the only place that touches it.

mod keychain;
mod sensitive;

pub use keychain::{self_test, Keychain, SERVICE};
pub use sensitive::Sensitive;
