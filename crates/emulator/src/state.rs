//! The state every request handler and delivery task shares.

use std::sync::Arc;

use crate::clock::Clock;
use crate::faults::FaultInjector;
use crate::firehose::processor::TransformLog;
use crate::firehose::registry::FirehoseRegistry;
use crate::firehose::transform::TransformConfig;
use crate::kinesis::store::KinesisStore;
use crate::logs::store::LogsStore;
use crate::s3::store::S3Store;
use crate::search::SearchRegistry;

/// The emulated account: its services' data, the clock and the fault injector.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) clock: Clock,
    pub(crate) region: String,
    pub(crate) account_id: String,
    pub(crate) kinesis: KinesisStore,
    pub(crate) firehose: FirehoseRegistry,
    pub(crate) s3: Arc<S3Store>,
    pub(crate) faults: Arc<FaultInjector>,
    /// Data-transformation handlers by Lambda function name.
    pub(crate) lambdas: std::collections::BTreeMap<String, TransformConfig>,
    /// Records the data transformations dropped or failed.
    pub(crate) transforms: Arc<TransformLog>,
    /// The in-process search domains (OpenSearch and Elasticsearch destinations).
    pub(crate) search: Arc<SearchRegistry>,
    /// CloudWatch Logs: the users' own log groups and the delivery-error logs of delivery streams.
    pub(crate) logs: Arc<LogsStore>,
}
