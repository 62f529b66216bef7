//! Record-for-record matching of delivered objects against the expectation, in bounded memory.
//!
//! The matcher keeps one bit per generated record for "seen" and one for "seen more than once",
//! per-key ordering state (see `ordering.rs`), a latency histogram, one summary per object (for the
//! timeline and the buffering analysis) and a bounded number of examples per finding. It never keeps
//! payloads. Objects are fed in listing order; inside an object, records are in byte order.

use std::time::Duration;

use hdrhistogram::Histogram;
use producer::{Envelope, Expectation};
use scenario::Expect;

use crate::bitset::Bitset;
use crate::buffering::BufferingCheck;
use crate::decode::{Content, Decoded, Decoder};
use crate::findings::{
    CorruptExample, Counts, ExpectSummary, FailedSend, HistogramBucket, LATENCY_BUCKETS_MS, LateExample,
    LatencySummary, MAX_EXAMPLES, MAX_OBJECTS, ObjectSummary, RangeCollector, UnexpectedExample,
    UnexpectedReason, UnexpectedSummary, WaitSummary, millis,
};
use crate::format::{FormatState, Layout};
use crate::ordering::OrderChecker;
use crate::report::{Report, SCHEMA_VERSION};
use crate::resharding::{PhaseMeasures, ReshardingSummary, SeqFacts, Transition, phase_of};
use crate::transform::{TransformCheck, TransformState};
use crate::unpack::unpack;

const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// Where the objects came from and how reading them went, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    pub bucket: String,
    /// The key prefix listed; empty for the whole bucket.
    pub prefix: String,
    /// Objects not read because they are older than the run.
    pub objects_skipped: u64,
    /// Time spent waiting for and reading objects.
    pub elapsed: Duration,
}

/// How a backend's clock relates to the wall clock when it runs faster than it (the embedded
/// emulator's `time_scale`): backend time = origin + (wall − origin) × scale, in Unix nanoseconds.
///
/// Send times are stamped from the wall clock and visibility (S3 LastModified) from the backend's
/// clock, so a matcher given a time scale turns each send time into backend time before it
/// subtracts: latencies are then in backend (emulated) time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale {
    /// The instant both clocks agree on, in Unix nanoseconds.
    pub origin_ns: u64,
    /// How many times faster than the wall clock the backend's clock runs.
    pub scale: f64,
}

impl TimeScale {
    /// The backend time at which the wall clock showed `wall_ns`.
    pub fn backend_ns(&self, wall_ns: u64) -> u64 {
        let since = wall_ns as f64 - self.origin_ns as f64;
        (self.origin_ns as f64 + since * self.scale).max(0.0) as u64
    }

    /// How the report names the clock latencies are measured in.
    pub fn describe(&self) -> String {
        format!("emulator time, running {}x faster than wall time", self.scale)
    }
}

/// Matches delivered records against an [`Expectation`] and classifies them.
#[derive(Debug)]
pub struct Matcher {
    config: Config,
    state: State,
}

/// What the matcher compares against; fixed for its lifetime.
#[derive(Debug)]
struct Config {
    expectation: Expectation,
    expect: Expect,
    max_latency_ns: u64,
    precision: String,
    /// Resolution of the visibility clock: a visible time is floored to it, so the record really
    /// became visible somewhere in `[visible, visible + resolution)`.
    resolution_ns: u64,
    buffering: Option<BufferingCheck>,
    /// Set when the visibility clock runs faster than the wall clock the send times come from.
    time_scale: Option<TimeScale>,
    /// Set for a source that has neither an order nor arrival times (a search index): why ordering
    /// and latency do not apply to it.
    unordered: Option<String>,
    /// The run's resharding transitions, whose phases the report counts apart.
    transitions: Vec<Transition>,
}

impl Config {
    /// The producer's longest wait before an acknowledgement, in the clock latencies are measured in.
    fn producer_wait_ns(&self) -> u64 {
        let wall = self.expectation.max_ack_wait_ns;
        match self.time_scale {
            Some(scale) => (wall as f64 * scale.scale) as u64,
            None => wall,
        }
    }
}

/// What the matcher has learned so far.
#[derive(Debug)]
struct State {
    seen: Bitset,
    duplicated: Bitset,
    extra_copies: u64,
    seen_acknowledged: u64,
    /// Per-key ordering of first deliveries, with same-second objects ordered by their constraints.
    order: OrderChecker,
    corrupt: u64,
    corrupt_bytes: u64,
    corrupt_examples: Vec<CorruptExample>,
    unexpected: UnexpectedSummary,
    /// Records of other runs sharing the bucket: ignored, only counted.
    other_runs: u64,
    late: u64,
    late_examples: Vec<LateExample>,
    latency_ms: Histogram<u64>,
    /// First-delivery latency per resharding phase, when the run resharded.
    phase_latency_ms: Vec<Histogram<u64>>,
    clock_skew: u64,
    /// Every object read, in listing order; O(objects), never O(records).
    objects_read: Vec<ObjectSummary>,
    held_too_long: u64,
    held_too_long_examples: Vec<LateExample>,
    /// Whether records start lines, for the object-format assertion.
    format: FormatState,
    /// Records a data transformation dropped or failed, when the run has one.
    transform: Option<TransformState>,
    records: u64,
    objects: u64,
    bytes: u64,
}

impl Matcher {
    /// A matcher for the run `expectation` describes, held to `expect`.
    ///
    /// `precision` names the clock that marks a record visible and its precision, for example
    /// `"S3 LastModified, millisecond precision"`; the report repeats it next to the latencies.
    pub fn new(expectation: &Expectation, expect: &Expect, precision: impl Into<String>) -> Self {
        let generated = expectation.generated;
        Matcher {
            config: Config {
                expectation: expectation.clone(),
                expect: expect.clone(),
                max_latency_ns: u64::try_from(expect.max_latency.as_nanos()).unwrap_or(u64::MAX),
                precision: precision.into(),
                resolution_ns: NANOS_PER_MILLI,
                buffering: None,
                time_scale: None,
                unordered: None,
                transitions: Vec::new(),
            },
            state: State {
                seen: Bitset::new(generated),
                duplicated: Bitset::new(generated),
                extra_copies: 0,
                seen_acknowledged: 0,
                order: OrderChecker::default(),
                corrupt: 0,
                corrupt_bytes: 0,
                corrupt_examples: Vec::new(),
                unexpected: UnexpectedSummary::default(),
                other_runs: 0,
                late: 0,
                late_examples: Vec::new(),
                latency_ms: Histogram::new(3).expect("3 significant figures is a valid precision"),
                phase_latency_ms: Vec::new(),
                clock_skew: 0,
                objects_read: Vec::new(),
                held_too_long: 0,
                held_too_long_examples: Vec::new(),
                format: FormatState::default(),
                transform: None,
                records: 0,
                objects: 0,
                bytes: 0,
            },
        }
    }

    /// Sets the resolution of the visibility clock (default one millisecond, as S3's LastModified
    /// here). A record sent less than one resolution after its visible time is not clock skew: the
    /// visible time was floored.
    pub fn with_resolution(mut self, resolution: std::time::Duration) -> Self {
        self.config.resolution_ns = u64::try_from(resolution.as_nanos()).unwrap_or(u64::MAX).max(1);
        self
    }

    /// Counts the records of each phase around these resharding transitions apart.
    pub fn with_transitions(mut self, transitions: Vec<Transition>) -> Self {
        self.config.transitions = transitions;
        self
    }

    /// Measures latencies in the backend's time (see [`TimeScale`]); the report's latency
    /// precision says so.
    pub fn with_time_scale(mut self, time_scale: TimeScale) -> Self {
        self.config.precision = format!("{}; {}", self.config.precision, time_scale.describe());
        self.config.time_scale = Some(time_scale);
        self
    }

    /// Accounts for a data transformation (see [`TransformCheck`]): objects under its error prefix
    /// are read as error output, and records dropped or failed by the transform are not lost.
    pub fn with_transform(mut self, check: TransformCheck) -> Self {
        self.state.transform = Some(TransformState::new(check, self.config.expectation.generated));
        self
    }

    /// A record the backend's transformation dropped, as it reached the handler (its envelope
    /// names the seq); seen more than once counts once. Ignored without [`Matcher::with_transform`].
    pub fn observe_dropped(&mut self, data: &[u8]) {
        let expectation = &self.config.expectation;
        if let Some(transform) = self.state.transform.as_mut() {
            transform.observe_dropped(
                data,
                &expectation.envelope_field,
                &expectation.run_id,
                expectation.generated,
            );
        }
    }

    /// Reads a source with no order and no arrival times, such as a search index: records are
    /// matched for delivery only, and the ordering and latency assertions are not applicable for
    /// `reason` (which the report repeats). Objects are counted, not listed.
    pub fn without_order_or_arrival(mut self, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        self.config.precision = reason.clone();
        self.config.unordered = Some(reason);
        self
    }

    /// Records both seen and in a data transformation's error output (or a search destination's
    /// failed-documents backup, read the same way), and the acknowledged records in that output.
    pub(crate) fn seen_and_failed(&self) -> (u64, u64) {
        let Some(transform) = &self.state.transform else { return (0, 0) };
        let expectation = &self.config.expectation;
        let failed = transform.failed();
        let in_both = failed.ones().filter(|seq| self.state.seen.contains(*seq)).count() as u64;
        let acknowledged = failed.ones().filter(|seq| expectation.expects(*seq)).count() as u64;
        (in_both, acknowledged)
    }

    /// Also judges objects and records against `check` (see [`BufferingCheck`]).
    pub fn with_buffering(mut self, check: BufferingCheck) -> Self {
        self.config.buffering = Some(check);
        self
    }

    /// Decompresses and decodes one object and matches its records; objects must come in listing
    /// order, that is by visibility time.
    ///
    /// `object` names the object in examples; `visible_ns` is when it became visible (for S3,
    /// LastModified) in Unix nanoseconds. Objects visible in the same second may come in any order
    /// among themselves: ordering is judged on the order their records allow (see `ordering.rs`).
    pub fn observe_object(&mut self, object: &str, visible_ns: u64, bytes: &[u8]) {
        let state = &mut self.state;
        if let Some(transform) = state.transform.as_mut()
            && transform.is_error_output(object)
        {
            let expectation = &self.config.expectation;
            let (field, run, generated) =
                (&expectation.envelope_field, &expectation.run_id, expectation.generated);
            for span in transform.observe_error_object(object, bytes, field, run, generated) {
                state.count_corrupt(object, span.offset as u64, span.len as u64, span.excerpt);
            }
            return;
        }
        state.objects += 1;
        state.bytes += bytes.len() as u64;
        let unordered = self.config.unordered.is_some();
        if !unordered {
            state.order.begin_object(object, visible_ns / NANOS_PER_SECOND);
        }
        let unpacked = unpack(object, bytes);
        let mut summary = ObjectSummary {
            key: object.to_owned(),
            visible_ms: visible_ns / NANOS_PER_MILLI,
            bytes: bytes.len() as u64,
            decoded_bytes: unpacked.bytes.len() as u64,
            gzip: unpacked.gzip,
            records: 0,
            max_record_bytes: 0,
            held_ms: None,
        };
        let mut oldest_sent_ns = u64::MAX;
        let mut layout = Layout::new(&unpacked.bytes);
        for item in Decoder::new(&unpacked.bytes, &self.config.expectation.envelope_field) {
            match item {
                Decoded::Corrupt(span) => {
                    layout.corrupt();
                    state.count_corrupt(object, span.offset as u64, span.len as u64, span.excerpt);
                }
                Decoded::Record(record) => {
                    layout.record(record.offset, record.len);
                    state.records += 1;
                    summary.max_record_bytes = summary.max_record_bytes.max(record.len as u64);
                    let offset = record.offset as u64;
                    match record.content {
                        Content::Envelope(mut envelope) => {
                            if let Some(time_scale) = self.config.time_scale {
                                envelope.sent_ns = time_scale.backend_ns(envelope.sent_ns);
                            }
                            if envelope.run == self.config.expectation.run_id {
                                summary.records += 1;
                                oldest_sent_ns = oldest_sent_ns.min(envelope.sent_ns);
                            }
                            state.observe_record(&self.config, object, offset, visible_ns, envelope);
                        }
                        Content::NoEnvelope => {
                            if let Some(transform) = state.transform.as_mut() {
                                transform.observe_stripped();
                            }
                            state.unexpected(object, offset, UnexpectedReason::NoEnvelope, String::new());
                        }
                        Content::MalformedEnvelope(why) => {
                            state.unexpected(object, offset, UnexpectedReason::MalformedEnvelope, why);
                        }
                    }
                }
            }
        }
        if let Some(damage) = unpacked.damage {
            // The compressed stream broke off: what follows the decompressed bytes is lost to us.
            state.count_corrupt(object, unpacked.bytes.len() as u64, 0, damage);
        }
        state.format.observe(object, &layout);
        if summary.records > 0 {
            summary.held_ms = Some(visible_ns.saturating_sub(oldest_sent_ns) / NANOS_PER_MILLI);
        }
        if !unordered {
            state.objects_read.push(summary);
        }
    }

    /// Whether every acknowledged record has been seen at least once.
    pub fn complete(&self) -> bool {
        let expectation = &self.config.expectation;
        match &self.state.transform {
            // Records the transformation dropped or failed are accounted for, not awaited.
            Some(transform) => self
                .state
                .seen
                .zeros()
                .filter(|seq| expectation.expects(*seq))
                .all(|seq| transform.accounts_for(seq)),
            None => self.state.seen_acknowledged == expectation.acknowledged(),
        }
    }

    /// The report of everything observed so far.
    pub fn report(&self, read: &ReadSummary) -> Report {
        let (config, state) = (&self.config, &self.state);
        let expectation = &config.expectation;

        let mut lost = 0;
        let mut lost_ranges = RangeCollector::new(MAX_EXAMPLES);
        let accounted =
            |seq: u64| state.transform.as_ref().is_some_and(|transform| transform.accounts_for(seq));
        for seq in state.seen.zeros().filter(|seq| expectation.expects(*seq) && !accounted(*seq)) {
            lost += 1;
            lost_ranges.push(seq);
        }
        let (lost_ranges, lost_ranges_truncated) = lost_ranges.finish();
        let delivered_unacknowledged: Vec<u64> =
            expectation.failed.keys().copied().filter(|seq| state.seen.contains(*seq)).collect();
        let duplicated_records = state.duplicated.count_ones();
        let order = state.order.outcome();

        let counts = Counts {
            generated: expectation.generated,
            acknowledged: expectation.acknowledged(),
            failed_to_send: expectation.failed.len() as u64,
            delivered: state.seen.count_ones() - duplicated_records,
            delivered_unacknowledged: delivered_unacknowledged.len() as u64,
            lost,
            duplicated: state.extra_copies,
            duplicated_records,
            reordered: order.reordered,
            corrupt: state.corrupt,
            corrupt_bytes: state.corrupt_bytes,
            unexpected: state.unexpected.total(),
            other_runs: state.other_runs,
            late: state.late,
            records: state.records,
            objects: state.objects,
            bytes: state.bytes,
            objects_skipped: read.objects_skipped,
        };
        let buffering = config.buffering.as_ref().map(|check| {
            check.analyse(
                &state.objects_read,
                state.held_too_long,
                state.held_too_long_examples.clone(),
                config.producer_wait_ns(),
            )
        });
        let format = state.format.summary(config.expect.format);
        Report {
            schema_version: SCHEMA_VERSION,
            run_id: expectation.run_id.clone(),
            bucket: read.bucket.clone(),
            prefix: read.prefix.clone(),
            incomplete: None,
            expect: ExpectSummary::new(&config.expect),
            wait: WaitSummary { complete: self.complete(), elapsed_ms: millis(read.elapsed) },
            counts,
            lost_ranges,
            lost_ranges_truncated,
            duplicated_seqs: state.duplicated.ones().take(MAX_EXAMPLES).collect(),
            delivered_unacknowledged_seqs: delivered_unacknowledged.into_iter().take(MAX_EXAMPLES).collect(),
            failed_to_send: expectation
                .failed
                .iter()
                .take(MAX_EXAMPLES)
                .map(|(seq, reason)| FailedSend { seq: *seq, reason: reason.clone() })
                .collect(),
            reordered: order.examples,
            corrupt: state.corrupt_examples.clone(),
            unexpected: state.unexpected.clone(),
            late: state.late_examples.clone(),
            latency: state.latency_summary(&config.precision),
            objects: state.objects_read.iter().take(MAX_OBJECTS).cloned().collect(),
            objects_truncated: state.objects_read.len() > MAX_OBJECTS,
            buffering,
            format,
            distribution: None,
            ground_truth: None,
            transform: state.transform.as_ref().map(TransformState::summary),
            search: None,
            resharding: (!config.transitions.is_empty()).then(|| {
                let facts = SeqFacts {
                    expected: &|seq| expectation.expects(seq) && !accounted(seq),
                    delivered: &|seq| state.seen.contains(seq),
                    duplicated: &|seq| state.duplicated.contains(seq),
                };
                let measures = PhaseMeasures {
                    reordered: order.by_phase,
                    latency_ms: state
                        .phase_latency_ms
                        .iter()
                        .map(|h| {
                            (!h.is_empty()).then(|| (h.value_at_quantile(0.5), h.value_at_quantile(0.99)))
                        })
                        .collect(),
                };
                ReshardingSummary::new(&config.transitions, expectation.generated, &facts, &measures)
            }),
            unordered: config.unordered.clone(),
        }
    }
}

impl State {
    /// Counts `length` bytes at `offset` of `object` that do not decode, keeping the first few as examples.
    fn count_corrupt(&mut self, object: &str, offset: u64, length: u64, excerpt: String) {
        self.corrupt += 1;
        self.corrupt_bytes += length;
        if self.corrupt_examples.len() < MAX_EXAMPLES {
            self.corrupt_examples.push(CorruptExample { object: object.to_owned(), offset, length, excerpt });
        }
    }

    /// Classifies one record that carries an envelope.
    fn observe_record(
        &mut self,
        config: &Config,
        object: &str,
        offset: u64,
        visible_ns: u64,
        envelope: Envelope,
    ) {
        let expectation = &config.expectation;
        if envelope.run != expectation.run_id {
            self.other_runs += 1;
            return;
        }
        if envelope.seq >= expectation.generated {
            let detail = format!("seq {} but only {} generated", envelope.seq, expectation.generated);
            self.unexpected(object, offset, UnexpectedReason::SeqOutOfRange, detail);
            return;
        }
        if !self.seen.insert(envelope.seq) {
            self.extra_copies += 1;
            self.duplicated.insert(envelope.seq);
            return;
        }
        if expectation.expects(envelope.seq) {
            self.seen_acknowledged += 1;
        }
        if config.unordered.is_some() {
            return;
        }

        // Ordering: judged on first deliveries only.
        let phase = phase_of(&config.transitions, envelope.seq);
        self.order.record(&envelope.key, envelope.kseq, phase);

        // Latency: visibility minus send time. A send time within the visibility clock's resolution
        // after the floored visible time is latency 0; beyond it, the clocks disagree (skew).
        let latency_ns = visible_ns.checked_sub(envelope.sent_ns).unwrap_or_else(|| {
            if envelope.sent_ns - visible_ns >= config.resolution_ns {
                self.clock_skew += 1;
            }
            0
        });
        let latency_ms = latency_ns / NANOS_PER_MILLI;
        if self.latency_ms.record(latency_ms).is_err() {
            self.latency_ms.saturating_record(latency_ms);
        }
        if !config.transitions.is_empty() {
            while self.phase_latency_ms.len() <= phase {
                self.phase_latency_ms
                    .push(Histogram::new(3).expect("3 significant figures is a valid precision"));
            }
            self.phase_latency_ms[phase].saturating_record(latency_ms);
        }
        if let Some(bound) =
            config.buffering.as_ref().and_then(|check| check.held_bound_ns(config.producer_wait_ns()))
            && latency_ns > bound
        {
            self.held_too_long += 1;
            if self.held_too_long_examples.len() < MAX_EXAMPLES {
                self.held_too_long_examples.push(LateExample {
                    seq: envelope.seq,
                    key: envelope.key.clone(),
                    latency_ms,
                    object: object.to_owned(),
                });
            }
        }
        if latency_ns > config.max_latency_ns {
            self.late += 1;
            if self.late_examples.len() < MAX_EXAMPLES {
                self.late_examples.push(LateExample {
                    seq: envelope.seq,
                    key: envelope.key,
                    latency_ms,
                    object: object.to_owned(),
                });
            }
        }
    }

    fn unexpected(&mut self, object: &str, offset: u64, reason: UnexpectedReason, detail: String) {
        self.unexpected.count(reason);
        if self.unexpected.examples.len() < MAX_EXAMPLES {
            self.unexpected.examples.push(UnexpectedExample {
                object: object.to_owned(),
                offset,
                reason,
                detail,
            });
        }
    }

    fn latency_summary(&self, precision: &str) -> LatencySummary {
        let histogram = &self.latency_ms;
        let quantile = |q: f64| (!histogram.is_empty()).then(|| histogram.value_at_quantile(q));
        LatencySummary {
            precision: precision.to_owned(),
            samples: histogram.len(),
            p50_ms: quantile(0.5),
            p90_ms: quantile(0.9),
            p99_ms: quantile(0.99),
            max_ms: (!histogram.is_empty()).then(|| histogram.max()),
            clock_skew: self.clock_skew,
            histogram: latency_buckets(histogram),
        }
    }
}

/// Counts of the latency histogram per bucket of [`LATENCY_BUCKETS_MS`], then one unbounded bucket.
fn latency_buckets(histogram: &Histogram<u64>) -> Vec<HistogramBucket> {
    let mut buckets: Vec<HistogramBucket> = LATENCY_BUCKETS_MS
        .iter()
        .map(|&upper| HistogramBucket { upper_ms: Some(upper), count: 0 })
        .chain([HistogramBucket { upper_ms: None, count: 0 }])
        .collect();
    for value in histogram.iter_recorded() {
        // The histogram stores equivalent values together; its highest equivalent value is the one reported.
        let ms = histogram.highest_equivalent(value.value_iterated_to());
        let index = LATENCY_BUCKETS_MS.partition_point(|&upper| upper < ms);
        buckets[index].count += value.count_at_value();
    }
    buckets
}
