//! Environments: where a scenario's pipeline runs, how to reach it, and what it really models.
//!
//! A backend yields an [`Endpoint`] (URL, region, credentials) and declares its [`Capabilities`];
//! [`provision`] then creates the scenario's bucket, stream and delivery stream through the AWS
//! SDK, the same way on every backend, and waits until each is really usable.

mod backend;
mod cache;
mod canary;
mod endpoint;
mod error;
mod localstack_container;
mod localstack_host;
mod provision;
mod registry;
mod search;

pub use backend::{Backend, BackendKind, Capabilities, EmbeddedOptions, Environment};
pub use canary::prove_ready;
pub use endpoint::{Clients, Endpoint};
pub use error::EnvError;
pub use localstack_container::ContainerOptions;
pub use localstack_host::default_home as default_localstack_home;
pub use provision::{
    Provisioned, ProvisionedSearch, provision, resource_name, search_domain_arn, teardown, transform_function,
};
pub use registry::{
    HeldEnvironment, HeldResources, HeldSearch, Registry, process_alive, stop_holder, valid_name,
};

/// A fault the embedded emulator injected, as ground truth for the verifier's findings.
pub use emulator::FaultEvent;
pub use emulator::{TransformEvent, TransformEventKind};
