//! Environments: where a scenario's pipeline runs, how to reach it, and what it really models.
//!
//! A backend yields an [`Endpoint`] (URL, region, credentials) and declares its [`Capabilities`];
//! [`provision`] then creates the scenario's bucket, stream and delivery stream through the AWS
//! SDK, the same way on every backend, and waits until each is really usable.

mod backend;
mod endpoint;
mod error;
mod provision;

pub use backend::{Backend, Capabilities, EmbeddedOptions, Environment};
pub use endpoint::{Clients, Endpoint};
pub use error::EnvError;
pub use provision::{Provisioned, provision, resource_name, teardown};

/// A fault the embedded emulator injected, as ground truth for the verifier's findings.
pub use emulator::FaultEvent;
