//! What the checks find, as data: counts, example lists, seq ranges and per-object figures.
//! Every check and the report share these types; none of them knows the report.

use scenario::{Delivery, Expect, Ordering};
use serde::Serialize;

/// How many examples of each kind of finding a report keeps.
pub const MAX_EXAMPLES: usize = 100;

/// How many objects a report lists individually.
pub const MAX_OBJECTS: usize = 10_000;

/// One object as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectSummary {
    pub key: String,
    /// LastModified, in Unix milliseconds.
    pub visible_ms: u64,
    /// Size as stored.
    pub bytes: u64,
    /// Size after decompression (equal to `bytes` for plain objects).
    pub decoded_bytes: u64,
    pub gzip: bool,
    /// Records of this run in the object.
    pub records: u64,
    /// The largest record, in bytes.
    pub max_record_bytes: u64,
    /// How long the object's oldest record of this run waited from send to visibility; null without records.
    pub held_ms: Option<u64>,
}

/// Objects held to the Firehose buffering hints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BufferingSummary {
    /// False when the backend does not model buffering; `not_applicable` then says why.
    pub applicable: bool,
    pub not_applicable: Option<String>,
    pub size_mb: u32,
    pub interval_seconds: u32,
    /// How much later than the interval a record may still be delivered.
    pub slack_ms: u64,
    /// The longest any record waited in the producer before its acknowledgement, added to the
    /// bound: the destination is not blamed for the producer's queueing and retries.
    pub producer_wait_ms: u64,
    /// Decompressed object sizes over all objects.
    pub size_bytes: SizeDistribution,
    /// Objects bigger than SizeInMBs by more than their largest record.
    pub oversized: u64,
    /// Objects flushed before either threshold: smaller than SizeInMBs minus their largest record,
    /// and visible sooner than IntervalInSeconds minus the slack after their oldest record was sent.
    pub flushed_early: u64,
    /// First deliveries visible later than IntervalInSeconds plus the slack plus the producer's
    /// longest wait after they were sent.
    pub held_too_long: u64,
    /// Up to [`MAX_EXAMPLES`] objects of each kind.
    pub oversized_objects: Vec<String>,
    pub flushed_early_objects: Vec<String>,
    pub held_too_long_examples: Vec<LateExample>,
}

/// Minimum, median, 90th percentile and maximum of a set of sizes, in bytes; all 0 when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SizeDistribution {
    pub count: u64,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub max: u64,
    pub total: u64,
}

impl SizeDistribution {
    pub(crate) fn of(mut sizes: Vec<u64>) -> Self {
        if sizes.is_empty() {
            return SizeDistribution::default();
        }
        sizes.sort_unstable();
        let at = |q: f64| sizes[((sizes.len() - 1) as f64 * q).round() as usize];
        SizeDistribution {
            count: sizes.len() as u64,
            min: sizes[0],
            p50: at(0.5),
            p90: at(0.9),
            max: sizes[sizes.len() - 1],
            total: sizes.iter().sum(),
        }
    }
}

/// One bar of a histogram: values above the previous bucket's bound up to `upper_ms` (null: no bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HistogramBucket {
    pub upper_ms: Option<u64>,
    pub count: u64,
}

/// The latency histogram's bucket bounds in milliseconds; fixed so that runs compare bar for bar.
pub const LATENCY_BUCKETS_MS: [u64; 16] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000,
    900_000,
];

/// The expectations the run was held to, as plain values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectSummary {
    /// `exactly_once` or `at_least_once` in the report.
    #[serde(serialize_with = "delivery_name")]
    pub delivery: Delivery,
    /// `per_key` or `none` in the report.
    #[serde(serialize_with = "ordering_name")]
    pub ordering: Ordering,
    pub max_latency_ms: u64,
    pub timeout_ms: u64,
    /// The largest share of records one shard may receive; `None`: not asserted.
    pub max_shard_share: Option<f64>,
    /// The largest fraction of put attempts that may be throttled; `None`: not asserted.
    pub max_throttled_fraction: Option<f64>,
    /// The largest fraction of sent records that may fail to send (exhaust their retries).
    pub max_failed_fraction: f64,
}

impl ExpectSummary {
    pub(crate) fn new(expect: &Expect) -> Self {
        ExpectSummary {
            delivery: expect.delivery,
            ordering: expect.ordering,
            max_latency_ms: millis(expect.max_latency),
            timeout_ms: millis(expect.timeout),
            max_shard_share: expect.max_shard_share,
            max_throttled_fraction: expect.max_throttled_fraction,
            max_failed_fraction: expect.max_failed_fraction,
        }
    }
}

fn delivery_name<S: serde::Serializer>(delivery: &Delivery, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(match delivery {
        Delivery::ExactlyOnce => "exactly_once",
        Delivery::AtLeastOnce => "at_least_once",
    })
}

fn ordering_name<S: serde::Serializer>(ordering: &Ordering, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(match ordering {
        Ordering::PerKey => "per_key",
        Ordering::None => "none",
    })
}

/// How the wait for records ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitSummary {
    /// Every acknowledged record was seen; false means the timeout ended the wait.
    pub complete: bool,
    pub elapsed_ms: u64,
}

/// The counts of a report; see [`crate::Report`] for their meaning.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub generated: u64,
    pub acknowledged: u64,
    pub failed_to_send: u64,
    pub delivered: u64,
    pub delivered_unacknowledged: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub duplicated_records: u64,
    pub reordered: u64,
    pub corrupt: u64,
    pub corrupt_bytes: u64,
    pub unexpected: u64,
    pub other_runs: u64,
    pub late: u64,
    pub records: u64,
    pub objects: u64,
    pub bytes: u64,
    pub objects_skipped: u64,
}

/// A record the backend never acknowledged, and why: its last error code and how many attempts it
/// had (`InternalFailure after 7 attempts over 30.0 s`), or that production stopped before it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedSend {
    pub seq: u64,
    pub reason: String,
}

/// An inclusive range of seqs, `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeqRange {
    pub start: u64,
    pub end: u64,
}

/// A record first delivered after a record of the same key with a higher kseq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReorderedExample {
    pub key: String,
    pub kseq: u64,
    /// The highest kseq of the key first-delivered before this record.
    pub after_kseq: u64,
    /// The object the reordered record was found in.
    pub object: String,
}

/// Bytes of an object that did not decode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorruptExample {
    pub object: String,
    pub offset: u64,
    pub length: u64,
    /// The first bytes of the span (at most 64), as lossy UTF-8.
    pub excerpt: String,
}

/// Why a record did not belong to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnexpectedReason {
    /// The envelope's seq is not below the number of generated records.
    SeqOutOfRange,
    /// The record is not an object or has no envelope field.
    NoEnvelope,
    /// The envelope field does not hold a valid envelope.
    MalformedEnvelope,
}

impl UnexpectedReason {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            UnexpectedReason::SeqOutOfRange => "seq out of range",
            UnexpectedReason::NoEnvelope => "no envelope",
            UnexpectedReason::MalformedEnvelope => "malformed envelope",
        }
    }
}

/// Unexpected records by reason, with examples.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnexpectedSummary {
    pub seq_out_of_range: u64,
    pub no_envelope: u64,
    pub malformed_envelope: u64,
    pub examples: Vec<UnexpectedExample>,
}

impl UnexpectedSummary {
    pub(crate) fn count(&mut self, reason: UnexpectedReason) {
        *match reason {
            UnexpectedReason::SeqOutOfRange => &mut self.seq_out_of_range,
            UnexpectedReason::NoEnvelope => &mut self.no_envelope,
            UnexpectedReason::MalformedEnvelope => &mut self.malformed_envelope,
        } += 1;
    }

    /// All unexpected records.
    pub fn total(&self) -> u64 {
        self.seq_out_of_range + self.no_envelope + self.malformed_envelope
    }

    pub(crate) fn by_reason(&self) -> String {
        [
            (self.seq_out_of_range, UnexpectedReason::SeqOutOfRange),
            (self.no_envelope, UnexpectedReason::NoEnvelope),
            (self.malformed_envelope, UnexpectedReason::MalformedEnvelope),
        ]
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, reason)| format!("{count} {}", reason.describe()))
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// One unexpected record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnexpectedExample {
    pub object: String,
    pub offset: u64,
    pub reason: UnexpectedReason,
    /// Specifics, such as the out-of-range seq.
    pub detail: String,
}

/// A record whose first delivery took longer than the bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LateExample {
    pub seq: u64,
    pub key: String,
    pub latency_ms: u64,
    pub object: String,
}

/// Latency from send to visibility of first deliveries, in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LatencySummary {
    /// Which clock marks visibility and how precise it is.
    pub precision: String,
    pub samples: u64,
    pub p50_ms: Option<u64>,
    pub p90_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    pub max_ms: Option<u64>,
    /// Records visible before they were sent (clocks disagree); counted with latency 0.
    pub clock_skew: u64,
    /// Counts per bucket of [`LATENCY_BUCKETS_MS`], then one unbounded bucket.
    pub histogram: Vec<HistogramBucket>,
}

/// Collects ascending seqs into inclusive ranges, keeping at most `cap` ranges.
#[derive(Debug)]
pub(crate) struct RangeCollector {
    ranges: Vec<SeqRange>,
    cap: usize,
    truncated: bool,
}

impl RangeCollector {
    pub(crate) fn new(cap: usize) -> Self {
        RangeCollector { ranges: Vec::new(), cap, truncated: false }
    }

    /// Adds `seq`, which must be greater than every seq added before.
    pub(crate) fn push(&mut self, seq: u64) {
        let full = self.ranges.len() == self.cap;
        match self.ranges.last_mut() {
            Some(last) if last.end + 1 == seq => last.end = seq,
            _ if full => self.truncated = true,
            _ => self.ranges.push(SeqRange { start: seq, end: seq }),
        }
    }

    /// The ranges, and whether some seqs did not fit.
    pub(crate) fn finish(self) -> (Vec<SeqRange>, bool) {
        (self.ranges, self.truncated)
    }
}

/// Compresses ascending seqs into inclusive ranges.
pub fn compress(seqs: impl IntoIterator<Item = u64>) -> Vec<SeqRange> {
    let mut collector = RangeCollector::new(usize::MAX);
    seqs.into_iter().for_each(|seq| collector.push(seq));
    collector.finish().0
}

/// Renders ranges as `100..=139, 500`.
pub fn render_ranges(ranges: &[SeqRange]) -> String {
    ranges
        .iter()
        .map(|range| {
            if range.start == range.end {
                range.start.to_string()
            } else {
                format!("{}..={}", range.start, range.end)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `one` or `many`, as `count` asks.
pub(crate) fn plural<'a>(count: u64, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}
