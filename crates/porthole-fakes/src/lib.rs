//! Stand-ins for the remote providers Porthole cannot reach from its tests (IBM Quantum Runtime,
//! and Airplane, whose service is shut down), each reproducing the quirks its page in
//! `docs/providers/` lists: used by the providers' quirk tests (in process), and by the CLI's
//! suite and the app's end-to-end suite (the `porthole-fakes` binary). Never shipped: nothing but
//! tests depends on this crate.

pub mod airplane;
mod common;
pub mod ibm_quantum;
