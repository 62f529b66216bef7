//! An embedded Kinesis Data Streams + Kinesis Data Firehose + S3 emulator served over HTTP on loopback.
//!
//! One port serves all three services: awsJson1_1 requests whose `X-Amz-Target` starts with
//! `Kinesis_20131202.` or `Firehose_20150804.` go to Kinesis or Firehose, requests under
//! `/_opensearch/<domain>/` go to an in-process search domain ([`Emulator::search_endpoint`]), and
//! everything else is S3 REST (path style, or virtual-host style as `<bucket>.localhost:<port>`).
//! The official AWS SDK clients, the AWS CLI and boto3 talk to it through an endpoint URL, with any
//! credentials.
//!
//! The emulator models the delivery semantics a pipeline test cares about: partition-key routing to
//! shards, per-shard ordering and write limits, Firehose buffering by size and interval, GZIP, the
//! newline-delimiter processor, data transformation by the user's own handler run as a local
//! process (a `Lambda` processor, [`Transformer`], with its [`TransformEvent`] log), prefix
//! expressions and the S3 object key layout. Firehose's OpenSearch and Elasticsearch destinations
//! deliver by `_bulk` to an in-process domain (an OpenSearch-compatible document store with `_count`,
//! `_doc`, `_search` and scroll) or to an external cluster over plain HTTP, retry failed documents for
//! the configured duration and write them to the S3 backup in AWS's failed-document envelope (every
//! document too with `AllDocuments`). A [`Clock`] with a time scale makes long buffering intervals
//! pass quickly, and a [`FaultPlan`] loses, duplicates, reorders, corrupts, truncates or delays records on
//! purpose, or makes the in-process domain reject documents, seeded and reproducible, with a
//! ground-truth log ([`FaultEvent`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), emulator::StartError> {
//! let emulator = emulator::Emulator::start(emulator::EmulatorConfig::default()).await?;
//! println!("serving on {}", emulator.endpoint());
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod clock;
mod error;
mod faults;
mod firehose;
mod json;
mod kinesis;
mod logs;
mod s3;
mod search;
mod server;
mod state;
mod sync;
mod tags;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use clock::Clock;
pub use faults::{
    FaultEvent, FaultKind, FaultName, FaultPlan, FaultedObject, ObjectFaults, Piece, PieceState, ShardStall,
    apply_object_faults,
};
pub use firehose::processor::{TransformEvent, TransformEventKind};
pub use firehose::transform::{
    Runtime as TransformRuntime, TransformConfig, TransformInput, TransformOutcome, Transformer,
    error_document,
};

use faults::FaultInjector;
use firehose::registry::FirehoseRegistry;
use kinesis::store::{KinesisStore, ShardLimits};
use s3::store::S3Store;
use search::SearchRegistry;
use state::State;

/// One operation the emulator serves, as the coverage table lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedOperation {
    /// `Kinesis`, `Firehose`, `CloudWatch Logs` or `S3`.
    pub service: &'static str,
    /// The operation's name in the service's API reference, such as `PutRecords`.
    pub operation: &'static str,
    /// What the emulator leaves out of AWS's behaviour for it; `None` when nothing.
    pub partial: Option<&'static str>,
}

/// Every operation the emulator serves, read from its routing tables; any other operation is refused
/// with the service's own error (`UnknownOperationException` for Kinesis and Firehose, S3's
/// `NotImplemented`).
pub fn coverage() -> Vec<ServedOperation> {
    let json = |service, tables: &[&[json::Route<State>]]| {
        tables
            .iter()
            .flat_map(|table| table.iter())
            .map(move |route| ServedOperation { service, operation: route.operation, partial: route.partial })
            .collect::<Vec<_>>()
    };
    let mut served = json("Kinesis", kinesis::TABLES);
    served.extend(json("Firehose", firehose::TABLES));
    served.extend(json("CloudWatch Logs", &[logs::ROUTES]));
    served.extend(s3::OPERATIONS.iter().map(|&(operation, partial)| ServedOperation {
        service: "S3",
        operation,
        partial,
    }));
    served
}

/// How to run an [`Emulator`].
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where to listen; port 0 picks a free port. Defaults to `127.0.0.1:0`.
    pub bind: SocketAddr,
    /// The region in ARNs and responses. Defaults to `us-east-1`.
    pub region: String,
    /// The account id in ARNs. Defaults to `000000000000`.
    pub account_id: String,
    /// How many times faster than the wall clock emulator time runs; must be finite and positive.
    /// Defaults to 1.0 (real time).
    pub time_scale: f64,
    /// Faults to inject. Defaults to none.
    pub faults: FaultPlan,
    /// Whether Kinesis enforces the per-shard write limits of AWS: 1 MiB (data plus partition key)
    /// and 1,000 records per second of emulator time. Entries beyond them fail with
    /// `ProvisionedThroughputExceededException`. Defaults to true; benchmarks turn it off.
    pub shard_write_limits: bool,
    /// Whether Kinesis enforces the per-shard read limits of AWS: 5 GetRecords calls and 2 MiB
    /// returned per second of emulator time. Calls beyond them fail with
    /// `ProvisionedThroughputExceededException`. Defaults to true. Firehose's own reading of its
    /// source stream is not counted.
    pub shard_read_limits: bool,
    /// Where S3 buckets and objects persist across runs; `None` keeps them in memory only.
    /// Defaults to `None`. Kinesis records and Firehose buffers are always in memory.
    pub data_dir: Option<PathBuf>,
    /// Data-transformation handlers by Lambda function name: a delivery stream whose `Lambda`
    /// processor names `arn:aws:lambda:<region>:<account>:function:<name>` runs `lambdas[name]` as a
    /// local process. Defaults to none; a processor naming an unregistered function is refused.
    pub lambdas: BTreeMap<String, TransformConfig>,
}

impl Default for EmulatorConfig {
    fn default() -> EmulatorConfig {
        EmulatorConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            time_scale: 1.0,
            faults: FaultPlan::default(),
            shard_write_limits: true,
            shard_read_limits: true,
            data_dir: None,
            lambdas: BTreeMap::new(),
        }
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listening socket could not be bound.
    #[error("failed to bind the emulator to {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The bound socket did not report its address.
    #[error("failed to read the emulator's bound address")]
    LocalAddr(#[source] std::io::Error),
    /// The data directory could not be created or read.
    #[error("failed to open the data directory {}", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The time scale is zero, negative or not a number.
    #[error("time_scale must be finite and positive, got {0}")]
    InvalidTimeScale(f64),
}

/// A running emulator.
///
/// Dropping it stops the server and the Firehose tasks without waiting for them; call
/// [`Emulator::shutdown`] to wait until they are done.
pub struct Emulator {
    local_addr: SocketAddr,
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

impl Emulator {
    /// Binds the listener, spawns the server on the current Tokio runtime and returns once
    /// connections are accepted.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, StartError> {
        if !(config.time_scale.is_finite() && config.time_scale > 0.0) {
            return Err(StartError::InvalidTimeScale(config.time_scale));
        }
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|source| StartError::Bind { addr: config.bind, source })?;
        let local_addr = listener.local_addr().map_err(StartError::LocalAddr)?;
        let clock = Clock::new(config.time_scale);
        let s3_store = match &config.data_dir {
            None => S3Store::default(),
            Some(dir) => {
                S3Store::open(dir).map_err(|source| StartError::DataDir { path: dir.clone(), source })?
            }
        };
        let s3_store = Arc::new(s3_store);
        let faults = Arc::new(FaultInjector::new(config.faults));
        let state = Arc::new(State {
            clock,
            kinesis: KinesisStore::new(
                &config.region,
                &config.account_id,
                ShardLimits { writes: config.shard_write_limits, reads: config.shard_read_limits },
            ),
            firehose: FirehoseRegistry::default(),
            s3: Arc::clone(&s3_store),
            search: Arc::new(SearchRegistry::new(Arc::clone(&faults))),
            logs: Arc::default(),
            faults,
            lambdas: config.lambdas,
            transforms: Arc::default(),
            region: config.region,
            account_id: config.account_id,
        });
        let s3_service = s3::service(s3_store, clock, &state.region);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let server = tokio::spawn(server::serve(listener, Arc::clone(&state), s3_service, shutdown_rx));
        tracing::info!(%local_addr, time_scale = config.time_scale, "emulator started");
        Ok(Emulator { local_addr, state, shutdown, server: Some(server) })
    }

    /// The endpoint URL to give SDK clients, such as `http://127.0.0.1:4566`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The REST base URL of the in-process search domain `domain`, such as
    /// `http://127.0.0.1:4566/_opensearch/streamproof`: what a delivery stream's
    /// `DomainARN = arn:aws:es:<region>:<account>:domain/<domain>` delivers to. The domain is created
    /// on first reference; it answers `_bulk`, `_count`, `_doc`, `_search` (with scroll), `_refresh`
    /// and index deletion as OpenSearch does.
    pub fn search_endpoint(&self, domain: &str) -> String {
        format!("{}{}{domain}", self.endpoint(), search::PATH_PREFIX)
    }

    /// The address the emulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Every fault injected so far, in the order they happened.
    pub fn fault_log(&self) -> Vec<FaultEvent> {
        self.state.faults.events()
    }

    /// Every record a data transformation dropped or failed so far, in order: ground truth for
    /// records that are, by design, not in the delivered objects.
    pub fn transform_log(&self) -> Vec<TransformEvent> {
        self.state.transforms.events()
    }

    /// A reader of [`Emulator::transform_log`] that outlives this handle's borrow, for a verifier
    /// that reads the log before every pass.
    pub fn transform_log_reader(&self) -> impl Fn() -> Vec<TransformEvent> + Send + Sync + 'static {
        let log = Arc::clone(&self.state.transforms);
        move || log.events()
    }

    /// The emulator's clock, which stamps every time the emulator exposes.
    pub fn clock(&self) -> Clock {
        self.state.clock
    }

    /// Stops accepting connections, lets open requests finish, stops the Firehose tasks and
    /// returns when all of it is done. Records still buffered in Firehose are discarded.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(server) = self.server.take()
            && let Err(err) = server.await
        {
            tracing::error!(%err, "the emulator server task failed");
        }
        self.state.firehose.shutdown().await;
        tracing::info!(local_addr = %self.local_addr, "emulator stopped");
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        // Signal the delivery tasks too; they finish on their own.
        drop(self.state.firehose.close());
    }
}
