//! The validated, typed model of a scenario. Every value here is within the range AWS accepts.

use std::path::PathBuf;
use std::time::Duration;

/// The envelope field added to every produced event unless the scenario names another.
pub const DEFAULT_ENVELOPE_FIELD: &str = "_streamproof";

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Short name, used in resource names and reports (defaults to the file stem).
    pub name: String,
    /// Where the scenario was read from.
    pub path: PathBuf,
    pub pipeline: Pipeline,
    pub workload: Workload,
    pub expect: Expect,
}

/// The pipeline under test: a Kinesis stream (unless Direct PUT), a Firehose delivery stream and a bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Provisioned shard count of the Kinesis stream (1..=500).
    pub shards: u32,
    pub source: Source,
    pub buffering: BufferingHints,
    /// Destination bucket name (3..=63 characters, S3 naming rules).
    pub bucket: String,
    /// Custom S3 prefix; `None` means Firehose's default `YYYY/MM/dd/HH/` in UTC.
    pub prefix: Option<String>,
}

/// Where Firehose takes its records from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `KinesisStreamAsSource`: the producer writes to Kinesis, Firehose reads the stream.
    KinesisStream,
    /// `DirectPut`: the producer calls Firehose's PutRecordBatch; there is no stream.
    DirectPut,
}

/// Firehose `BufferingHints`: an object is written when either threshold is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferingHints {
    /// `SizeInMBs`, 1..=128, AWS default 5.
    pub size_mb: u32,
    /// `IntervalInSeconds`, 0..=900, AWS default 300.
    pub interval_seconds: u32,
}

impl BufferingHints {
    /// The AWS defaults: 5 MiB or 300 s.
    pub const AWS_DEFAULT: BufferingHints = BufferingHints { size_mb: 5, interval_seconds: 300 };

    /// `IntervalInSeconds` as a duration.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.interval_seconds))
    }
}

/// What the producer sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Number of events to send.
    pub events: u64,
    pub schema: Schema,
    /// Name of the event field whose value becomes the partition key.
    pub partition_key: String,
    /// Number of distinct user ids the schema draws from.
    pub users: u32,
    /// Seed for the event generator: the same seed gives byte-identical events.
    pub seed: u64,
    /// Name of the envelope field added to every event.
    pub envelope_field: String,
}

/// A built-in event schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Web/API action logs: timestamp, user_id, device, action, category, region, keyword.
    Clickstream,
}

impl Schema {
    /// The schema's name as written in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Schema::Clickstream => "clickstream",
        }
    }

    /// The fields every event of this schema has.
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            Schema::Clickstream => {
                &["timestamp", "user_id", "device", "action", "category", "region", "keyword"]
            }
        }
    }
}

/// What a run must show to pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub delivery: Delivery,
    pub ordering: Ordering,
    /// A record visible in S3 later than this after it was sent is late.
    pub max_latency: Duration,
    /// How long the verifier waits for records to appear before calling the missing ones lost.
    pub timeout: Duration,
}

/// The delivery guarantee asserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Every acknowledged record appears exactly once.
    ExactlyOnce,
    /// Every acknowledged record appears at least once; duplicates are reported but allowed.
    AtLeastOnce,
}

/// The ordering guarantee asserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    /// Records of one partition key are delivered in the order they were sent.
    PerKey,
    /// Ordering is reported but not asserted.
    None,
}
