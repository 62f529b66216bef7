//! The validated, typed model of a scenario. Every value here is within the range AWS accepts.

use std::path::PathBuf;
use std::time::Duration;

use vocabulary::{
    ErrorOutputType, FaultPlan, IndexRotation, PrefixTemplate, SearchBackupMode, SearchService,
};

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
    /// Faults the backend is to inject (`[faults]`); only a backend with fault injection runs them.
    pub faults: Option<FaultPlan>,
    /// Settings of the embedded emulator (`[emulator]`); only the embedded backend accepts them.
    pub emulator: Option<EmulatorSettings>,
}

/// The `[emulator]` section: how the embedded emulator runs the pipeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmulatorSettings {
    /// How many times faster than the wall clock emulator time runs (finite, positive, at most
    /// [`MAX_TIME_SCALE`]); 1 is real time. Latencies are then measured in emulator time.
    pub time_scale: f64,
}

/// The largest `[emulator] time_scale`: one wall second is then one emulated day.
pub const MAX_TIME_SCALE: f64 = 86_400.0;

/// The pipeline under test: a Kinesis stream (unless Direct PUT), a Firehose delivery stream and a bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Provisioned shard count of the Kinesis stream (1..=500).
    pub shards: u32,
    pub source: Source,
    pub buffering: BufferingHints,
    /// Destination bucket name (3..=63 characters, S3 naming rules).
    pub bucket: String,
    /// The S3 `Prefix`; its [`PrefixTemplate::configured`] text is `None` for Firehose's default
    /// `YYYY/MM/dd/HH/` in UTC.
    pub prefix: PrefixTemplate,
    /// `ErrorOutputPrefix`, where Firehose writes records it could not process; its configured
    /// text is `None` for Firehose's default under the prefix, which is not allowed when `prefix`
    /// uses `!{...}` expressions.
    pub error_output_prefix: PrefixTemplate,
    /// `CompressionFormat` of delivered objects.
    pub compression: Compression,
    /// Whether the `AppendDelimiterToRecord` processor adds a newline after every record.
    pub delimiter: Delimiter,
    /// The data transformation (`[pipeline.transform]`): a `Lambda` processor running the user's
    /// handler; only a backend that runs local handlers accepts it.
    pub transform: Option<Transform>,
    /// An Amazon OpenSearch Service or Elasticsearch destination (`[pipeline.opensearch]` or
    /// `[pipeline.elasticsearch]`) instead of the S3 destination; the bucket and prefix are then its
    /// S3 backup (`S3Configuration`). Only a backend with a search domain accepts it.
    pub search: Option<SearchDestination>,
}

/// A search destination: Firehose indexes every record as a document through the `_bulk` API and
/// backs up failed documents (or all of them) to S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDestination {
    pub service: SearchService,
    /// `IndexName` as the scenario gives it; each run indexes into [`SearchDestination::run_index`].
    pub index: String,
    /// `TypeName` (Elasticsearch only).
    pub type_name: Option<String>,
    /// `IndexRotationPeriod`.
    pub rotation: IndexRotation,
    /// `S3BackupMode`.
    pub backup_mode: SearchBackupMode,
    /// `RetryOptions.DurationInSeconds`, 0..=7200 (default 300): how long Firehose retries a failed
    /// document after the first attempt before backing it up to S3.
    pub retry_seconds: u32,
    /// The embedded emulator's in-process domain (`DomainARN`), used unless `endpoint` is given.
    pub domain: String,
    /// An existing cluster's REST URL (`ClusterEndpoint`), `http://` only: neither the emulator's
    /// Firehose nor the verifier has a TLS client or request signing for a cluster.
    pub endpoint: Option<String>,
}

/// The longest `IndexName` AWS accepts.
pub const MAX_INDEX_NAME_LEN: usize = 80;

/// What a run adds to an index name: `-` and a run id such as `20261123t193000-3fa2c1`.
pub const RUN_INDEX_SUFFIX_LEN: usize = 23;

/// The default in-process domain of the embedded emulator.
pub const DEFAULT_SEARCH_DOMAIN: &str = "streamproof";

impl SearchDestination {
    /// The index a run writes to, so runs never collide: `<index>-<run id>`, lowercased (index names
    /// are lowercase) and cut to [`MAX_INDEX_NAME_LEN`] characters.
    pub fn run_index(&self, run_id: &str) -> String {
        let mut index: String = format!("{}-{run_id}", self.index).to_lowercase();
        if let Some((at, _)) = index.char_indices().nth(MAX_INDEX_NAME_LEN) {
            index.truncate(at);
        }
        index
    }
}

/// A data-transformation handler and the `Lambda` processor's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Transform {
    pub runtime: TransformRuntime,
    /// `module:function` (Python) or `file:export` (Node.js), e.g. `transform:lambda_handler`.
    pub handler: String,
    /// The directory of the handler's code, resolved against the scenario file's directory.
    pub code_dir: PathBuf,
    /// `BufferSizeInMBs` of the processor, 0.2..=3 (default 1).
    pub buffer_size_mb: f64,
    /// `BufferIntervalInSeconds` of the processor, 0..=900 (default 60).
    pub buffer_interval_seconds: u32,
    /// The function timeout, 1..=900 s (default 60 s): a later reply fails the invocation.
    pub timeout: Duration,
    /// `NumberOfRetries` of a failed invocation, 0..=300 (default 3).
    pub retries: u32,
}

/// The language a transformation handler is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformRuntime {
    /// Run with `python3`.
    Python,
    /// Run with `node`.
    Node,
}

impl Pipeline {
    /// The part of every delivered object's key known before Firehose evaluates the prefix: the
    /// prefix up to its first `!{...}` expression (empty without a prefix). Listing it finds every
    /// object the pipeline delivers.
    pub fn listing_prefix(&self) -> String {
        self.prefix.known_start(None)
    }

    /// The part of every error output key known before Firehose evaluates the error output prefix:
    /// `ErrorOutputPrefix` with `!{firehose:error-output-type}` as `processing-failed`, up to its
    /// first other expression, or `<prefix>processing-failed/` without one.
    pub fn error_output_root(&self) -> String {
        self.error_output_prefix.known_start(Some(ErrorOutputType::ProcessingFailed))
    }
}

/// Firehose `CompressionFormat` for an S3 destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// `UNCOMPRESSED` (the AWS default).
    #[default]
    None,
    /// `GZIP`: objects are gzip files with the `.gz` extension.
    Gzip,
}

/// What Firehose puts between records in an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delimiter {
    /// Nothing: records are concatenated (the AWS default).
    #[default]
    None,
    /// A newline after every record (the `AppendDelimiterToRecord` processor).
    Newline,
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
    /// Number of events to send; seqs run over `0..events`.
    pub events: u64,
    /// Stop sending after this long even if fewer than `events` were sent.
    pub duration: Option<Duration>,
    pub schema: Schema,
    /// How each record's partition key is chosen.
    pub partition_key: PartitionKey,
    /// Number of distinct user ids the schema draws from.
    pub users: u32,
    /// Seed for the event generator: the same seed gives byte-identical events.
    pub seed: u64,
    /// Name of the envelope field added to every event.
    pub envelope_field: String,
    /// How records are padded.
    pub payload: Payload,
    /// How fast records are sent.
    pub rate: Rate,
    /// Which put API is called.
    pub api: PutApi,
    /// Senders working in parallel; each owns a disjoint set of partition keys.
    pub concurrency: u32,
    /// How long a record is retried after its first put before it is given up as failed to send
    /// (`retry_seconds`, default 30 s); attempts are bounded in number too.
    pub retry_budget: Duration,
    /// Resharding calls the harness makes while the workload runs (`[[workload.reshard]]`), in
    /// time order.
    pub reshard: Vec<ReshardStep>,
}

/// One `[[workload.reshard]]` step: a resharding call made while the workload is being sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ReshardStep {
    /// How long after the workload starts the call is made (`at_seconds`), in wall time.
    pub at: Duration,
    pub action: ReshardAction,
}

/// What a resharding step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReshardAction {
    /// `shards = N`: UpdateShardCount with UNIFORM_SCALING to `N` open shards.
    Shards(u32),
    /// `split = "shardId-…"`: SplitShard at the middle of the shard's hash-key range.
    Split(String),
    /// `merge = ["shardId-…", "shardId-…"]`: MergeShards of the first with the adjacent second.
    Merge(String, String),
}

impl ReshardAction {
    /// The step as a scenario file writes it.
    pub fn describe(&self) -> String {
        match self {
            ReshardAction::Shards(count) => format!("shards = {count}"),
            ReshardAction::Split(shard) => format!("split = {shard:?}"),
            ReshardAction::Merge(shard, adjacent) => format!("merge = [{shard:?}, {adjacent:?}]"),
        }
    }
}

/// The most events one run (or one expectation file) may hold: the verifier keeps a few bits per
/// event, 512 MiB each at this size, and refuses more before allocating anything.
pub const MAX_EVENTS: u64 = 1 << 32;

/// Name of the padding field added to events when a payload size is set.
pub const PAD_FIELD: &str = "_pad";

/// Largest record Kinesis accepts (data, without the partition key): 1 MiB.
pub const MAX_KINESIS_RECORD_BYTES: u64 = 1 << 20;
/// Largest record Firehose accepts: 1,000 KiB.
pub const MAX_FIREHOSE_RECORD_BYTES: u64 = 1000 * 1024;

/// How a record's partition key is chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum PartitionKey {
    /// The value of this event field (`partition_key = "user_id"`).
    Field(String),
    /// The same key for every record: everything lands on one shard.
    Constant(String),
    /// A fresh random key per record.
    Random,
    /// Uniform over `keys` keys.
    Uniform { keys: u32 },
    /// Zipf over `keys` keys: key rank k is drawn with probability proportional to 1 / k^exponent.
    Zipf { keys: u32, exponent: f64 },
    /// A share `fraction` of records go to one hot key, the rest uniformly over the other `keys - 1`.
    HotKey { keys: u32, fraction: f64 },
}

/// How records are padded before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// Events as the schema makes them.
    Natural,
    /// Every record padded to exactly this many bytes (or left as is when already larger).
    Fixed(u64),
    /// Each record padded to a size drawn uniformly from `min..=max` bytes.
    Uniform { min: u64, max: u64 },
}

/// How fast records are generated and handed to the senders.
#[derive(Debug, Clone, PartialEq)]
pub enum Rate {
    /// As fast as the backend acknowledges.
    Unlimited,
    /// A constant number of records per second.
    Fixed(f64),
    /// From `from` to `to` records per second linearly over `over`, then `to`.
    Ramp { from: f64, to: f64, over: Duration },
    /// Each step holds its rate for its duration; after the last step its rate holds.
    Steps(Vec<RateStep>),
}

/// One step of a step profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStep {
    pub per_second: f64,
    pub duration: Duration,
}

/// The put API the producer calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutApi {
    /// Kinesis `PutRecords`, up to 500 entries and 5 MiB per call.
    PutRecords,
    /// Kinesis `PutRecord`, one record per call, chained per key with `SequenceNumberForOrdering`.
    PutRecord,
    /// Firehose `PutRecordBatch`, up to 500 records and 4 MiB per call (Direct PUT only).
    PutRecordBatch,
}

/// An event schema: a built-in one modelled on a real log pipeline, or one declared in the scenario.
#[derive(Debug, Clone, PartialEq)]
pub enum Schema {
    /// Web/API action logs: timestamp, user_id, device, action, category, region, keyword.
    Clickstream,
    /// Mobile analytics events with device details, nullable fields and an ISO timestamp.
    AppEvent,
    /// Segment-style `track` calls with nested `context` and `properties` objects.
    SegmentTrack,
    /// Small personId/itemId pairs, as recommendation interaction logs.
    PersonItem,
    /// Fields declared in `[workload.fields]`, in file order.
    Custom(Vec<CustomField>),
}

/// One field of a custom schema.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomField {
    pub name: String,
    pub kind: FieldKind,
}

/// What a custom field holds.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Uuid,
    Name,
    Email,
    Ipv4,
    UserAgent,
    Word,
    Sentence,
    /// RFC 3339 timestamp with milliseconds, advancing with seq.
    Timestamp,
    /// An integer drawn uniformly from `min..=max`.
    Integer {
        min: i64,
        max: i64,
    },
    /// A float drawn uniformly from `min..max`.
    Float {
        min: f64,
        max: f64,
    },
    /// One of these strings, uniformly.
    Enum(Vec<String>),
    /// Always this string.
    Constant(String),
    /// A nested object.
    Object(Vec<CustomField>),
}

impl FieldKind {
    /// The kinds written as a bare string in a scenario file.
    pub const SIMPLE: &'static [(&'static str, FieldKind)] = &[
        ("uuid", FieldKind::Uuid),
        ("name", FieldKind::Name),
        ("email", FieldKind::Email),
        ("ipv4", FieldKind::Ipv4),
        ("user_agent", FieldKind::UserAgent),
        ("word", FieldKind::Word),
        ("sentence", FieldKind::Sentence),
        ("timestamp", FieldKind::Timestamp),
    ];
}

/// Names of the built-in schemas as written in scenario files.
pub const BUILT_IN_SCHEMAS: &[&str] = &["clickstream", "app-event", "segment-track", "person-item", "custom"];

impl Schema {
    /// The schema's name as written in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Schema::Clickstream => "clickstream",
            Schema::AppEvent => "app-event",
            Schema::SegmentTrack => "segment-track",
            Schema::PersonItem => "person-item",
            Schema::Custom(_) => "custom",
        }
    }

    /// The top-level fields every event of this schema has, in order.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Schema::Clickstream => {
                vec!["timestamp", "user_id", "device", "action", "category", "region", "keyword"]
            }
            Schema::AppEvent => vec![
                "timestamp",
                "user_id",
                "app_version",
                "device_id",
                "device_manufacturer",
                "device_name",
                "device_model",
                "device_os",
                "device_os_number",
                "event",
                "interest_id",
                "index",
                "referrer",
                "locale",
            ],
            Schema::SegmentTrack => {
                vec![
                    "type",
                    "event",
                    "userId",
                    "anonymousId",
                    "messageId",
                    "timestamp",
                    "context",
                    "properties",
                ]
            }
            Schema::PersonItem => vec!["personId", "itemId"],
            Schema::Custom(fields) => fields.iter().map(|f| f.name.as_str()).collect(),
        }
    }

    /// The top-level fields whose values are strings, so they can serve as partition keys.
    pub fn key_fields(&self) -> Vec<&str> {
        match self {
            Schema::AppEvent => self
                .fields()
                .into_iter()
                .filter(|f| !matches!(*f, "index" | "referrer" | "interest_id"))
                .collect(),
            Schema::SegmentTrack => vec!["type", "event", "userId", "anonymousId", "messageId", "timestamp"],
            Schema::Custom(fields) => fields
                .iter()
                .filter(|f| {
                    !matches!(
                        f.kind,
                        FieldKind::Object(_) | FieldKind::Integer { .. } | FieldKind::Float { .. }
                    )
                })
                .map(|f| f.name.as_str())
                .collect(),
            _ => self.fields(),
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
    /// The largest share (0–1] of acknowledged records one shard may receive; `None` reports the
    /// distribution without asserting it. A constant or low-cardinality partition key breaks it.
    pub max_shard_share: Option<f64>,
    /// The largest fraction [0–1] of put attempts that may be throttled; `None` reports it without
    /// asserting it. A hot partition key beyond one shard's write limits breaks it.
    pub max_throttled_fraction: Option<f64>,
    /// The largest fraction [0–1] of sent records that may exhaust their retries without being
    /// acknowledged (default 0: any such record fails the run). A run that acknowledged nothing
    /// fails whatever this says.
    pub max_failed_fraction: f64,
    /// The layout every delivered object must have; `None` asserts nothing about it.
    pub format: Option<ObjectFormat>,
}

/// A layout of delivered objects that downstream readers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectFormat {
    /// Newline-delimited records (NDJSON), as Athena, Presto and Hive read them: records
    /// concatenated without a delimiter read as the first record of each object only.
    Ndjson,
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
