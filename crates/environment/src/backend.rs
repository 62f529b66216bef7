//! Backends and the capabilities each one declares.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::endpoint::Endpoint;
use crate::error::EnvError;
use crate::localstack_container::{ContainerOptions, LocalStackContainer};

/// Which backend to run a scenario on.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The in-process emulator on a random loopback port.
    Embedded(EmbeddedOptions),
    /// LocalStack as a host process, installed by `cargo xtask localstack setup` into `home`
    /// (default: [`crate::default_localstack_home`]).
    LocalStackHost { home: Option<PathBuf> },
    /// LocalStack as a container through testcontainers; needs a Docker daemon.
    LocalStack(ContainerOptions),
    /// An endpoint someone already runs (LocalStack, another emulator). A non-loopback URL is
    /// refused unless `allow_remote`, and then uses the default AWS credential chain.
    Endpoint { url: String, allow_remote: bool },
}

/// Which kind of backend a [`Backend`] is, without its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Embedded,
    LocalStack,
    LocalStackHost,
    Endpoint,
}

impl BackendKind {
    /// Every kind, in the order the command line lists them.
    pub const ALL: [BackendKind; 4] =
        [BackendKind::Embedded, BackendKind::LocalStack, BackendKind::LocalStackHost, BackendKind::Endpoint];

    /// The name as users write it (`embedded`, `localstack`, `localstack-host`, `endpoint`).
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Embedded => "embedded",
            BackendKind::LocalStack => "localstack",
            BackendKind::LocalStackHost => "localstack-host",
            BackendKind::Endpoint => "endpoint",
        }
    }

    /// One line on what the kind is, for `--help`.
    pub fn about(self) -> &'static str {
        match self {
            BackendKind::Embedded => "The in-process emulator (Kinesis + Firehose + S3 on one loopback port)",
            BackendKind::LocalStack => "LocalStack as a container (testcontainers); needs a Docker daemon",
            BackendKind::LocalStackHost => {
                "LocalStack as a host process, installed by `cargo xtask localstack setup`"
            }
            BackendKind::Endpoint => "An endpoint that already runs (`--endpoint URL`)",
        }
    }
}

impl Backend {
    pub fn kind(&self) -> BackendKind {
        match self {
            Backend::Embedded(_) => BackendKind::Embedded,
            Backend::LocalStack(_) => BackendKind::LocalStack,
            Backend::LocalStackHost { .. } => BackendKind::LocalStackHost,
            Backend::Endpoint { .. } => BackendKind::Endpoint,
        }
    }

    /// The backend's name as users write it (`embedded`, `localstack`, `localstack-host`, `endpoint`).
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
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
    /// Faults the emulator injects, such as a scenario's `[faults]` section describes; the entries
    /// of `drop_kinesis_records` are added to its own.
    pub faults: emulator::FaultPlan,
    /// How many times faster than the wall clock emulator time runs (a scenario's
    /// `[emulator] time_scale`); `None` is real time.
    pub time_scale: Option<f64>,
    /// Data-transformation handlers by Lambda function name (see [`crate::transform_function`]),
    /// run as local processes by the delivery streams whose `Lambda` processor names them.
    pub lambdas: std::collections::BTreeMap<String, emulator::TransformConfig>,
}

/// What a backend really models. An assertion that needs a missing capability is reported as
/// "not applicable on `<backend>`: `<why>`", never as a pass.
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
    /// A Kinesis-source delivery stream may lose records put before it really reads the stream,
    /// so readiness is proven with a canary record per shard.
    pub needs_canary: bool,
}

impl Capabilities {
    /// What LocalStack (container or host process) models: delivery and per-shard order, not the rest.
    pub const LOCALSTACK: Capabilities = Capabilities {
        buffering: false,
        compression_and_prefixes: false,
        throttling: false,
        fault_injection: false,
        needs_canary: true,
    };
}

/// A running backend.
#[derive(Debug)]
pub struct Environment {
    kind: BackendKind,
    endpoint: Endpoint,
    capabilities: Capabilities,
    running: Running,
}

#[derive(Debug)]
enum Running {
    Embedded(emulator::Emulator),
    LocalStackHost(crate::localstack_host::LocalStackHost),
    Container(Box<LocalStackContainer>),
    External,
}

impl Environment {
    /// Starts `backend` and returns once its endpoint accepts requests.
    pub async fn start(backend: &Backend) -> Result<Environment, EnvError> {
        match backend {
            Backend::Embedded(options) => {
                let mut faults = options.faults.clone();
                faults.drop_kinesis_records.extend(options.drop_kinesis_records.iter().copied());
                let config = emulator::EmulatorConfig {
                    faults,
                    lambdas: options.lambdas.clone(),
                    time_scale: options.time_scale.unwrap_or(1.0),
                    ..emulator::EmulatorConfig::default()
                };
                let emulator = emulator::Emulator::start(config).await.map_err(EnvError::EmbeddedStart)?;
                tracing::info!(endpoint = %emulator.endpoint(), "embedded emulator started");
                Ok(Environment {
                    kind: backend.kind(),
                    endpoint: Endpoint::local(emulator.endpoint()),
                    capabilities: Capabilities {
                        buffering: true,
                        compression_and_prefixes: true,
                        throttling: true,
                        fault_injection: true,
                        needs_canary: false,
                    },
                    running: Running::Embedded(emulator),
                })
            }
            Backend::LocalStackHost { home } => {
                let home = match home.clone().or_else(crate::default_localstack_home) {
                    Some(home) => home,
                    None => return Err(EnvError::LocalStackNotInstalled { home: PathBuf::from("~/.cache") }),
                };
                let host = crate::localstack_host::LocalStackHost::start(&home).await?;
                let environment = Environment {
                    kind: backend.kind(),
                    endpoint: Endpoint::local(host.url()),
                    capabilities: Capabilities::LOCALSTACK,
                    running: Running::LocalStackHost(host),
                };
                environment.warm_up().await
            }
            Backend::LocalStack(options) => {
                let container = LocalStackContainer::start(options).await?;
                let environment = Environment {
                    kind: backend.kind(),
                    endpoint: Endpoint::local(container.url().to_owned()),
                    capabilities: Capabilities::LOCALSTACK,
                    running: Running::Container(Box::new(container)),
                };
                environment.warm_up().await
            }
            Backend::Endpoint { url, allow_remote } => {
                let endpoint = Endpoint::resolve(Some(url), *allow_remote)?;
                // Nothing is known about what stands behind an endpoint: assume the least.
                Ok(Environment {
                    kind: backend.kind(),
                    endpoint,
                    capabilities: Capabilities::LOCALSTACK,
                    running: Running::External,
                })
            }
        }
    }

    /// LocalStack is ready before its Kinesis engine is: it starts it on the first Kinesis request.
    /// Until that has answered, the environment is not ready, so concurrent first requests of runs
    /// sharing it cannot fail while the engine starts. An environment that fails here is stopped.
    async fn warm_up(self) -> Result<Environment, EnvError> {
        let clients = self.endpoint.clients().await;
        match crate::provision::warm_up(&clients, crate::provision::WARM_UP_DEADLINE).await {
            Ok(()) => Ok(self),
            Err(error) => {
                self.shutdown().await;
                Err(error)
            }
        }
    }

    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// The backend's name as users write it (`embedded`, …).
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// The process (and process group) id of a backend this environment started as a process.
    pub fn process_id(&self) -> Option<u32> {
        match &self.running {
            Running::LocalStackHost(host) => Some(host.process_id()),
            Running::Embedded(_) | Running::Container(_) | Running::External => None,
        }
    }

    /// The embedded emulator's clock when it runs faster or slower than the wall clock: Unix
    /// nanoseconds of the instant both clocks agree on, and the scale. `None` for real time and for
    /// every other backend.
    pub fn time_scale(&self) -> Option<(u64, f64)> {
        match &self.running {
            Running::Embedded(emulator) => {
                let clock = emulator.clock();
                let origin_ns = u64::try_from(clock.origin().unix_timestamp_nanos()).unwrap_or_default();
                (clock.time_scale() != 1.0).then_some((origin_ns, clock.time_scale()))
            }
            Running::LocalStackHost(_) | Running::Container(_) | Running::External => None,
        }
    }

    /// The REST URL of the embedded emulator's in-process search domain `domain`; `None` on every
    /// other backend, which has no search domain of its own.
    pub fn search_endpoint(&self, domain: &str) -> Option<String> {
        match &self.running {
            Running::Embedded(emulator) => Some(emulator.search_endpoint(domain)),
            Running::LocalStackHost(_) | Running::Container(_) | Running::External => None,
        }
    }

    /// Provisions `scenario` on this backend, as [`crate::provision`] does; a search destination
    /// without an `endpoint` indexes into the in-process domain of the embedded emulator.
    pub async fn provision(
        &self,
        clients: &crate::Clients,
        scenario: &scenario::Scenario,
        run_id: &str,
        deadline: std::time::Duration,
    ) -> Result<crate::Provisioned, EnvError> {
        let domain =
            scenario.pipeline.search.as_ref().and_then(|search| self.search_endpoint(&search.domain));
        crate::provision::provision_with(clients, scenario, run_id, deadline, domain).await
    }

    /// Faults the backend injected so far (empty where it cannot inject any).
    pub fn fault_log(&self) -> Vec<emulator::FaultEvent> {
        match &self.running {
            Running::Embedded(emulator) => emulator.fault_log(),
            Running::LocalStackHost(_) | Running::Container(_) | Running::External => Vec::new(),
        }
    }

    /// Records the backend's data transformations dropped or failed so far (empty where it runs
    /// no local handlers).
    pub fn transform_log(&self) -> Vec<emulator::TransformEvent> {
        self.transform_log_reader()()
    }

    /// A reader of [`Environment::transform_log`] that outlives this borrow; it reads nothing
    /// where the backend has no log.
    pub fn transform_log_reader(&self) -> Arc<dyn Fn() -> Vec<emulator::TransformEvent> + Send + Sync> {
        match &self.running {
            Running::Embedded(emulator) => Arc::new(emulator.transform_log_reader()),
            Running::LocalStackHost(_) | Running::Container(_) | Running::External => Arc::new(Vec::new),
        }
    }

    /// Stops the backend and releases what it holds.
    pub async fn shutdown(self) {
        match self.running {
            Running::Embedded(emulator) => emulator.shutdown().await,
            Running::LocalStackHost(mut host) => tokio::task::spawn_blocking(move || host.stop())
                .await
                .expect("stopping LocalStack does not panic"),
            Running::Container(container) => container.remove().await,
            Running::External => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_recognised_and_others_are_not() {
        for url in
            ["http://127.0.0.1:4566", "http://localhost:4566/", "http://[::1]:4566", "http://127.1.2.3"]
        {
            assert!(crate::endpoint::is_loopback(url), "{url}");
        }
        for url in
            ["https://kinesis.us-east-1.amazonaws.com", "http://10.0.0.5:4566", "http://localhost.evil.com"]
        {
            assert!(!crate::endpoint::is_loopback(url), "{url}");
        }
    }

    #[tokio::test]
    async fn a_remote_endpoint_is_refused_without_allow_remote() {
        let backend = Backend::Endpoint { url: "https://s3.amazonaws.com".into(), allow_remote: false };
        let error = Environment::start(&backend).await.unwrap_err();
        assert!(matches!(error, EnvError::RemoteRefused { .. }), "{error}");
        assert!(error.to_string().contains("--allow-remote"));
    }
}
