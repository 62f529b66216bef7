//! Writing objects to a delivery stream's bucket as Firehose does: keys, bodies stamped with emulator
//! time, and the retry rules of S3 delivery. Both sinks (S3, and a search destination's backup)
//! write through [`Output`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::faults::FaultInjector;
use crate::firehose::config::Destination;
use crate::firehose::key;
use crate::logs::store::{LogEvent, LogsStore};
use crate::s3::store::{S3Store, StoreError};
use crate::search::SearchRegistry;
use vocabulary::PrefixTemplate;

/// How often Firehose retries a failed delivery to the S3 destination (emulator time): AWS documents
/// a retry every 5 seconds.
const S3_RETRY_INTERVAL: Duration = Duration::from_secs(5);
/// How long Firehose keeps retrying delivery to an S3 destination (emulator time, counted from the
/// arrival of the batch's oldest record) before it discards the data: the 24-hour retention of a
/// Direct PUT stream, and the default retention of a Kinesis source. An S3 destination has no
/// error output for delivery failures: ErrorOutputPrefix receives records that fail processing.
const S3_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// The content type Firehose gives the objects it writes.
const OBJECT_CONTENT_TYPE: &str = "application/octet-stream";

/// Everything the delivery task needs besides the stream itself.
#[derive(Debug, Clone)]
pub(crate) struct TaskContext {
    pub(crate) s3: Arc<S3Store>,
    pub(crate) clock: Clock,
    /// Faults to apply to flushed batches, and the log of those applied.
    pub(crate) faults: Arc<FaultInjector>,
    /// The in-process search domains a search destination may deliver to.
    pub(crate) search: Arc<SearchRegistry>,
    /// Where delivery errors go when the destination's `CloudWatchLoggingOptions` enable them.
    pub(crate) logs: Arc<LogsStore>,
}

/// One stream's view of its bucket: what a sink needs to name and write objects, and nothing that
/// would let it reach back into the stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output<'a> {
    pub(crate) name: &'a str,
    pub(crate) arn: &'a str,
    pub(crate) destination: &'a Destination,
    pub(crate) context: &'a TaskContext,
}

impl Output<'_> {
    /// Writes one object to the destination (or backup) bucket, stamped with emulator time.
    pub(crate) fn write(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        self.context
            .s3
            .put_object(
                &self.destination.bucket,
                key,
                body,
                Some(OBJECT_CONTENT_TYPE.to_owned()),
                self.context.clock.now(),
            )
            .map(drop)
    }

    /// Records a delivery error in the log group and stream the destination's
    /// `CloudWatchLoggingOptions` name, when they enable logging, as Firehose's error logs hold them:
    /// one JSON event naming the delivery stream, the destination, the version, the error code
    /// (`S3.NoSuchBucket`, `Lambda.FunctionError`…), the message and, for a processor, its ARN
    /// ("Monitoring Amazon Data Firehose using CloudWatch Logs", Firehose Developer Guide). The group
    /// and stream are created when they do not exist yet; they are always logged to the emulator's
    /// own log too.
    pub(crate) fn log_error(&self, error_code: &str, message: &str, processor: Option<&str>) {
        tracing::warn!(delivery_stream = %self.name, error_code, message, "delivery error");
        let logging = &self.destination.logging;
        let (true, Some(group), Some(stream)) =
            (logging.enabled, logging.log_group_name.as_deref(), logging.log_stream_name.as_deref())
        else {
            return;
        };
        let mut event = serde_json::json!({
            "deliveryStreamARN": self.arn,
            "destination": format!("arn:aws:s3:::{}", self.destination.bucket),
            "deliveryStreamVersionId": self.destination.version,
            "message": message,
            "errorCode": error_code,
        });
        if let Some(processor) = processor {
            event["processor"] = serde_json::Value::from(processor);
        }
        let now = crate::clock::unix_millis(self.context.clock.now());
        self.context.logs.append(
            group,
            stream,
            LogEvent { timestamp: now, ingestion_time: now, message: event.to_string() },
        );
    }

    /// After a failed write of an object whose oldest record arrived at `oldest`: when to write it
    /// again, every 5 s of emulator time, or `None` once the 24-hour retention period is over and
    /// the object is discarded.
    pub(crate) fn retry_at(&self, oldest: Instant) -> Option<Instant> {
        let clock = &self.context.clock;
        let now = Instant::now();
        (now.saturating_duration_since(oldest) < clock.to_wall(S3_RETENTION))
            .then(|| now + clock.to_wall(S3_RETRY_INTERVAL))
    }

    /// A fresh key under the destination's prefix for an object whose oldest record arrived at
    /// `oldest`.
    pub(crate) fn object_key(&self, oldest: Instant) -> String {
        self.key_under(&self.destination.prefix_template, oldest)
    }

    /// A fresh key under `template`, with the destination's file extension.
    pub(crate) fn key_under(&self, template: &PrefixTemplate, oldest: Instant) -> String {
        let destination = self.destination;
        key::object_key(
            template,
            (self.name, destination.version),
            self.context.clock.at(oldest),
            uuid::Uuid::new_v4(),
            destination.file_extension.as_deref().unwrap_or(destination.compression.default_extension()),
        )
    }
}
