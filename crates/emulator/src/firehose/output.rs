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
}

/// One stream's view of its bucket: what a sink needs to name and write objects, and nothing that
/// would let it reach back into the stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output<'a> {
    pub(crate) name: &'a str,
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
