//! Provider clients. Each maps its provider's wire models into porthole-core's neutral model at
//! the boundary, so quirks live here and nowhere else.

pub mod accounts;
pub mod airplane;
pub mod comfydeploy;
mod error_body;
pub mod http;
pub mod ibm_quantum;
pub mod pair;
pub mod probe;
mod redirects;
#[cfg(feature = "scripted")]
pub mod scripted;
mod secure;
mod sse;

pub use airplane::{Airplane, AirplaneConfig};
pub use comfydeploy::{ComfyDeploy, ComfyDeployConfig};
pub use ibm_quantum::{IbmQuantum, IbmQuantumConfig};
