//! Backends and the capabilities each one declares.

use std::collections::BTreeSet;

use crate::endpoint::Endpoint;
use crate::error::EnvError;

/// Which backend to run a scenario on.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The in-process emulator on a random loopback port.
    Embedded(EmbeddedOptions),
}

impl Default for Backend {
    fn default() -> Self {
        Backend::Embedded(EmbeddedOptions::default())
    }
}

/// Options of the embedded emulator.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedOptions {
    /// Test knob: 0-based ordinals of Kinesis entries the emulator acknowledges but never stores.
    pub drop_kinesis_records: BTreeSet<u64>,
}

/// What a backend really models. An assertion that needs a missing capability is reported as
/// "not applicable on <backend>: <why>", never as a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Firehose honours BufferingHints (size and interval).
    pub buffering: bool,
    /// Firehose applies CompressionFormat, prefix expressions and AppendDelimiterToRecord.
    pub compression_and_prefixes: bool,
    /// Kinesis enforces per-shard write limits.
    pub throttling: bool,
    /// Faults can be injected, with ground truth.
    pub fault_injection: bool,
}

/// A running backend.
#[derive(Debug)]
pub struct Environment {
    name: &'static str,
    endpoint: Endpoint,
    capabilities: Capabilities,
    running: Running,
}

#[derive(Debug)]
enum Running {
    Embedded(emulator::Emulator),
}

impl Environment {
    /// Starts `backend` and returns once its endpoint accepts requests.
    pub async fn start(backend: &Backend) -> Result<Environment, EnvError> {
        let Backend::Embedded(options) = backend;
        let faults = emulator::Faults { drop_kinesis_records: options.drop_kinesis_records.clone() };
        let config = emulator::EmulatorConfig { faults, ..emulator::EmulatorConfig::default() };
        let emulator = emulator::Emulator::start(config).await.map_err(EnvError::EmbeddedStart)?;
        tracing::info!(endpoint = %emulator.endpoint(), "embedded emulator started");
        Ok(Environment {
            name: "embedded",
            endpoint: Endpoint::local(emulator.endpoint()),
            // The embedded emulator does not model compression, prefix expressions or throttling yet.
            capabilities: Capabilities {
                buffering: true,
                compression_and_prefixes: false,
                throttling: false,
                fault_injection: true,
            },
            running: Running::Embedded(emulator),
        })
    }

    /// The backend's name as users write it (`embedded`, …).
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// Faults the backend injected so far (empty where it cannot inject any).
    pub fn fault_log(&self) -> Vec<emulator::FaultEvent> {
        match &self.running {
            Running::Embedded(emulator) => emulator.fault_log(),
        }
    }

    /// Stops the backend and releases what it holds.
    pub async fn shutdown(self) {
        match self.running {
            Running::Embedded(emulator) => emulator.shutdown().await,
        }
    }
}
