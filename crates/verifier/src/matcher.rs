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
        let (reordered, reordered_examples) = state.order.outcome();

        let counts = Counts {
            generated: expectation.generated,
            acknowledged: expectation.acknowledged(),
            failed_to_send: expectation.failed.len() as u64,
            delivered: state.seen.count_ones() - duplicated_records,
            delivered_unacknowledged: delivered_unacknowledged.len() as u64,
            lost,
            duplicated: state.extra_copies,
            duplicated_records,
            reordered,
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
            check.analyse(&state.objects_read, state.held_too_long, state.held_too_long_examples.clone())
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
            reordered: reordered_examples,
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
        self.order.record(&envelope.key, envelope.kseq);

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
        if let Some(bound) = config.buffering.as_ref().and_then(BufferingCheck::held_bound_ns)
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use scenario::{Delivery, Ordering};

    use super::*;
    use crate::assertion::AssertionStatus;
    use crate::findings::ReorderedExample;

    const SECOND: u64 = 1_000_000_000;
    const T0: u64 = 1_700_000_000 * SECOND;

    fn expectation(generated: u64) -> Expectation {
        Expectation {
            run_id: "r1".into(),
            envelope_field: "_streamproof".into(),
            generated,
            failed: BTreeMap::new(),
            first_sent_ns: T0,
            last_ack_ns: T0 + generated,
            ..Expectation::default()
        }
    }

    fn expect() -> Expect {
        Expect {
            delivery: Delivery::ExactlyOnce,
            ordering: Ordering::PerKey,
            max_latency: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_shard_share: None,
            max_throttled_fraction: None,
            max_failed_fraction: 0.0,
            format: None,
        }
    }

    /// Record `seq` of run `run`: two keys alternate, each with its own kseq; sent at T0 + seq ms.
    fn event(run: &str, seq: u64) -> Vec<u8> {
        let envelope = Envelope {
            run: run.into(),
            seq,
            key: format!("k{}", seq % 2),
            kseq: seq / 2,
            sent_ns: T0 + seq * NANOS_PER_MILLI,
        };
        let mut out = Vec::new();
        producer::envelope::append(br#"{"msg":"hello"}"#, "_streamproof", &envelope, &mut out);
        out
    }

    fn object(run: &str, seqs: &[u64]) -> Vec<u8> {
        seqs.iter().flat_map(|&seq| event(run, seq)).collect()
    }

    fn matcher(generated: u64) -> Matcher {
        Matcher::new(&expectation(generated), &expect(), "test clock, nanosecond precision")
    }

    fn report(matcher: &Matcher) -> Report {
        matcher.report(&ReadSummary { bucket: "b".into(), ..ReadSummary::default() })
    }

    fn clean_counts(generated: u64) -> Counts {
        Counts {
            generated,
            acknowledged: generated,
            delivered: generated,
            records: generated,
            ..Counts::default()
        }
    }

    #[test]
    fn clean_run_is_all_delivered_and_nothing_else() {
        let mut matcher = matcher(10);
        matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 2, 3, 4]));
        assert!(!matcher.complete());
        matcher.observe_object("o2", T0 + 2 * SECOND, &object("r1", &[5, 6, 7, 8, 9]));
        assert!(matcher.complete());
        let report = report(&matcher);
        let bytes = report.counts.bytes;
        assert_eq!(report.counts, Counts { objects: 2, bytes, ..clean_counts(10) });
        assert!(report.passed(), "{}", report.summary());
        assert!(report.passed());
        assert!(report.lost_ranges.is_empty() && report.duplicated_seqs.is_empty());
        assert_eq!(report.latency.samples, 10);
        assert_eq!(report.latency.max_ms, Some(2_000 - 5));
        assert_eq!(report.latency.p50_ms, Some(1_000));
        assert_eq!(report.latency.clock_skew, 0);
        assert!(report.summary().starts_with("PASS"), "{}", report.summary());
    }

    #[test]
    fn dropped_record_is_lost_with_exactly_its_seq() {
        let mut matcher = matcher(6);
        matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 2, 4, 5]));
        assert!(!matcher.complete());
        let report = report(&matcher);
        assert_eq!(report.counts.lost, 1);
        assert_eq!(report.counts.delivered, 5);
        assert_eq!(report.lost_ranges, vec![crate::findings::SeqRange { start: 3, end: 3 }]);
        assert!(!report.passed());
        assert!(!report.wait.complete);
        let delivery = report.assertion(crate::AssertionKind::Delivery).unwrap();
        assert_eq!((delivery.name(), delivery.passed()), ("delivery", false));
        let summary = report.summary();
        assert!(summary.contains("lost 1 record: seq 3\n"), "{summary}");
        assert!(summary.starts_with("FAIL"), "{summary}");
    }

    #[test]
    fn duplicates_count_extra_copies_and_fail_only_exactly_once() {
        let mut matcher = matcher(4);
        matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 2, 3]));
        matcher.observe_object("o2", T0 + SECOND, &object("r1", &[2, 3, 2]));
        let report = report(&matcher);
        assert_eq!(report.counts.duplicated, 3);
        assert_eq!(report.counts.duplicated_records, 2);
        assert_eq!(report.counts.delivered, 2);
        assert_eq!(report.counts.lost, 0);
        assert_eq!(report.counts.reordered, 0, "copies are not reorderings");
        assert_eq!(report.duplicated_seqs, vec![2, 3]);
        assert!(!report.assertion(crate::AssertionKind::Delivery).unwrap().passed());
        assert!(
            report.summary().contains("duplicated 3 extra copies of 2 records: seq 2..=3"),
            "{}",
            report.summary()
        );

        let at_least_once = Expect { delivery: Delivery::AtLeastOnce, ..expect() };
        let mut lenient = Matcher::new(&expectation(4), &at_least_once, "test clock");
        lenient.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 2, 3, 3]));
        assert!(lenient.report(&ReadSummary::default()).passed());
    }

    #[test]
    fn swapping_two_records_of_one_key_across_objects_is_one_reordering() {
        // Key k0 holds seqs 0, 2, 4 with kseqs 0, 1, 2; seq 4 arrives before seq 2.
        let mut matcher = matcher(6);
        matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 4, 3]));
        matcher.observe_object("o2", T0 + 2 * SECOND, &object("r1", &[2, 5]));
        let report = report(&matcher);
        assert_eq!(report.counts.reordered, 1);
        assert_eq!(
            report.reordered,
            vec![ReorderedExample { key: "k0".into(), kseq: 1, after_kseq: 2, object: "o2".into() }]
        );
        assert_eq!(report.counts.delivered, 6);
        assert!(!report.assertion(crate::AssertionKind::Ordering).unwrap().passed());

        let unordered = Expect { ordering: Ordering::None, ..expect() };
        let mut relaxed = Matcher::new(&expectation(6), &unordered, "test clock");
        relaxed.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 4, 3, 2, 5]));
        let report = relaxed.report(&ReadSummary::default());
        assert_eq!(report.counts.reordered, 1);
        assert_eq!(
            (
                report.assertion(crate::AssertionKind::Ordering).unwrap().passed(),
                report.assertion(crate::AssertionKind::Ordering).unwrap().detail.as_str()
            ),
            (true, "not asserted")
        );
    }

    #[test]
    fn other_runs_are_ignored_and_out_of_range_or_envelope_less_records_are_unexpected() {
        let mut matcher = matcher(2);
        let mut bytes = object("r1", &[0, 1]);
        bytes.extend(object("r0", &[0]));
        bytes.extend(object("r1", &[2]));
        bytes.extend_from_slice(br#"{"msg":"no envelope"}"#);
        matcher.observe_object("o1", T0 + SECOND, &bytes);
        let report = report(&matcher);
        assert_eq!(report.counts.unexpected, 2);
        assert_eq!(report.counts.other_runs, 1);
        assert_eq!(report.counts.delivered, 2);
        assert_eq!(report.counts.records, 5);
        assert_eq!((report.unexpected.seq_out_of_range, report.unexpected.no_envelope), (1, 1));
        assert_eq!(report.unexpected.examples[0].detail, "seq 2 but only 2 generated");
        let first_out_of_range = object("r1", &[0, 1]).len() + object("r0", &[0]).len();
        assert_eq!(report.unexpected.examples[0].offset, first_out_of_range as u64);
        let verdict = report.assertion(crate::AssertionKind::NoUnexpectedRecords).unwrap();
        assert_eq!((verdict.name(), verdict.passed()), ("no unexpected records", false));
        assert_eq!(verdict.detail, "2 unexpected: 1 seq out of range, 1 no envelope");
        assert!(
            report.assertion(crate::AssertionKind::Delivery).unwrap().passed(),
            "other runs' and unexpected records do not affect delivery"
        );
    }

    #[test]
    fn unacknowledged_records_may_be_missing_and_are_noted_when_delivered() {
        let mut expectation = expectation(4);
        expectation.failed.insert(1, "throttled".into());
        expectation.failed.insert(3, "throttled".into());
        let mut matcher = Matcher::new(&expectation, &expect(), "test clock");
        matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 2]));
        assert!(matcher.complete());
        matcher.observe_object("o2", T0 + SECOND, &object("r1", &[3]));
        let report = matcher.report(&ReadSummary::default());
        assert_eq!(report.counts.lost, 0);
        assert_eq!(report.counts.delivered, 3);
        assert_eq!(report.counts.delivered_unacknowledged, 1);
        assert_eq!(report.delivered_unacknowledged_seqs, vec![3]);
        assert_eq!((report.counts.acknowledged, report.counts.failed_to_send), (2, 2));
        // Delivery holds for what was acknowledged, but two records never reached the pipeline.
        assert!(report.assertion(crate::AssertionKind::Delivery).unwrap().passed());
        let sending = report.assertion(crate::AssertionKind::Sending).unwrap();
        assert!(sending.failed(), "{sending:?}");
        assert_eq!(sending.detail, "2 of 4 failed to send (none allowed)");
        assert!(!report.passed());
        let summary = report.summary();
        assert!(summary.contains("FAIL  sending"), "{summary}");
        assert!(summary.contains("failed to send 2 records: seq 1, 3"), "{summary}");
        assert!(summary.contains("seq 1, 3: throttled"), "{summary}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["failed_to_send"][1], serde_json::json!({"seq": 3, "reason": "throttled"}));
    }

    #[test]
    fn a_scenario_may_allow_a_share_of_records_to_fail_to_send() {
        let mut expectation = expectation(100);
        for seq in [10, 11, 12] {
            expectation.failed.insert(seq, "InternalFailure after 20 attempts over 38.1 s".into());
        }
        let mut lenient = expect();
        lenient.max_failed_fraction = 0.03;
        let verdict = |expect: &Expect| {
            let matcher = Matcher::new(&expectation, expect, "test clock");
            matcher.report(&ReadSummary::default()).assertion(crate::AssertionKind::Sending).unwrap().clone()
        };
        // 3 of 100 is within 3 %, not within 2 %.
        let allowed = verdict(&lenient);
        assert!(allowed.passed(), "{allowed:?}");
        assert_eq!(allowed.detail, "3 of 100 failed to send (3.0 %, at most 3.0 % allowed)");
        lenient.max_failed_fraction = 0.02;
        assert!(verdict(&lenient).failed());
    }

    #[test]
    fn a_run_that_acknowledged_nothing_fails_whatever_the_scenario_allows() {
        let mut expectation = expectation(5);
        for seq in 0..5 {
            expectation.failed.insert(seq, "InternalFailure after 7 attempts over 30.0 s".into());
        }
        let mut anything = expect();
        anything.max_failed_fraction = 1.0;
        let matcher = Matcher::new(&expectation, &anything, "test clock");
        assert!(matcher.complete(), "nothing acknowledged means nothing to wait for");
        let report = matcher.report(&ReadSummary::default());
        // Every other assertion holds vacuously; sending alone tells the truth.
        assert!(report.assertions().iter().filter(|a| a.name() != "sending").all(|a| a.passed()));
        let sending = report.assertion(crate::AssertionKind::Sending).unwrap();
        assert_eq!(
            (sending.failed(), sending.detail.as_str()),
            (true, "nothing acknowledged: all 5 records failed to send")
        );
        assert!(!report.passed());
        let summary = report.summary();
        assert!(summary.contains("seq 0..=4: InternalFailure after 7 attempts over 30.0 s"), "{summary}");
    }

    #[test]
    fn a_send_within_the_visibility_resolution_is_latency_zero_not_skew() {
        let mut fine = matcher(3);
        // S3 floors LastModified to the millisecond: a record sent 0.4 ms after the floored time
        // became visible within that millisecond; one sent 1.5 ms after it is skew.
        fine.observe_object("o1", T0 - 400_000, &object("r1", &[0]));
        fine.observe_object("o2", T0 - 1_500_000, &object("r1", &[1]));
        let fine = report(&fine);
        assert_eq!(fine.latency.clock_skew, 1);
        assert_eq!(fine.latency.max_ms, Some(0));
        // A coarser clock (whole seconds) forgives more.
        let mut coarse = matcher(3).with_resolution(std::time::Duration::from_secs(1));
        coarse.observe_object("o2", T0 - 1_500_000, &object("r1", &[1]));
        assert_eq!(report(&coarse).latency.clock_skew, 0);
    }

    #[test]
    fn late_records_and_clock_skew() {
        let mut matcher = matcher(3);
        // Seq 0 becomes visible before it was sent; seq 1 and 2 after 11 s, beyond the 10 s bound.
        matcher.observe_object("o1", T0 - SECOND, &object("r1", &[0]));
        matcher.observe_object("o2", T0 + 11 * SECOND, &object("r1", &[1, 2]));
        let report = report(&matcher);
        assert_eq!(report.latency.clock_skew, 1);
        assert_eq!(report.counts.late, 2);
        assert_eq!(report.late[0].seq, 1);
        assert_eq!(report.late[0].latency_ms, 11_000 - 1);
        assert_eq!(report.latency.p50_ms.map(|ms| ms / 100), Some(109));
        assert!(!report.assertion(crate::AssertionKind::Latency).unwrap().passed());
        assert!(
            report.summary().contains("seq 1 (key \"k1\") took 10999 ms (in o2)"),
            "{}",
            report.summary()
        );
    }

    #[test]
    fn corrupt_spans_fail_delivery_and_name_object_and_offset() {
        let mut matcher = matcher(2);
        let mut bytes = object("r1", &[0, 1]);
        let offset = bytes.len();
        bytes.extend_from_slice(br#"{"msg":"cut"#);
        matcher.observe_object("2024/01/01/o1", T0 + SECOND, &bytes);
        let report = report(&matcher);
        assert_eq!((report.counts.corrupt, report.counts.corrupt_bytes), (1, 11));
        assert_eq!(report.corrupt[0].object, "2024/01/01/o1");
        assert_eq!(report.corrupt[0].offset, offset as u64);
        assert!(!report.assertion(crate::AssertionKind::Delivery).unwrap().passed());
        let summary = report.summary();
        assert!(
            summary.contains(&format!("corrupt 11 bytes in 2024/01/01/o1 at offset {offset}")),
            "{summary}"
        );
    }

    #[test]
    fn report_json_is_written_atomically_with_stable_field_names() {
        let mut matcher = matcher(3);
        matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 2]));
        let report = report(&matcher);
        let dir = tempfile::tempdir().unwrap();
        let path = report.write_json(dir.path()).unwrap();
        assert_eq!(path, dir.path().join("report.json"));
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(json["schema_version"], 3);
        assert_eq!(json["run_id"], "r1");
        // The producer's distribution and the ground truth are added by the harness; null here.
        assert_eq!(json["distribution"], serde_json::Value::Null);
        assert_eq!(json["ground_truth"], serde_json::Value::Null);
        assert_eq!(json["passed"], false);
        assert_eq!(json["counts"]["lost"], 1);
        assert_eq!(json["lost_ranges"], serde_json::json!([{"start": 1, "end": 1}]));
        assert_eq!(json["expect"]["delivery"], "exactly_once");
        assert_eq!(json["assertions"][0]["name"], "sending");
        assert_eq!(json["assertions"][1]["name"], "delivery");
        assert_eq!(json["latency"]["samples"], 2);
        let leftovers: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("report.json")]);
    }

    #[test]
    fn junit_has_one_test_case_per_assertion_and_failures_carry_the_specifics() {
        let mut matcher = matcher(4);
        matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 3, 3]));
        let report = report(&matcher);
        let dir = tempfile::tempdir().unwrap();
        let paths = report.write_all(dir.path()).unwrap();
        assert_eq!(paths.json, dir.path().join("report.json"));
        assert_eq!(paths.junit, dir.path().join("junit.xml"));
        let xml = std::fs::read_to_string(&paths.junit).unwrap();
        assert_eq!(xml.matches("<testcase ").count(), report.assertions().len(), "{xml}");
        assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
        assert!(xml.contains(r#"tests="5""#) && xml.contains(r#"failures="1""#), "{xml}");
        assert!(xml.contains(r#"<testcase name="delivery" classname="streamproof.b""#), "{xml}");
        assert!(xml.contains("exactly once: 1 lost, 1 duplicated, 0 corrupt"), "{xml}");
        assert!(xml.contains("lost 1 record: seq 2"), "{xml}");
        assert!(xml.contains(r#"<testcase name="no unexpected records""#), "{xml}");
    }

    #[test]
    fn same_second_objects_listed_out_of_order_are_not_reordered_but_a_cycle_is() {
        // Listed by key within one second, "a" holds later records of both keys than "b".
        let mut matcher = matcher(8);
        matcher.observe_object("a", T0 + SECOND + 1, &object("r1", &[4, 5, 6, 7]));
        matcher.observe_object("b", T0 + SECOND + 2, &object("r1", &[0, 1, 2, 3]));
        assert_eq!(report(&matcher).counts.reordered, 0);
        // The same objects a second apart are a reordering of every record of "b".
        let mut matcher = self::matcher(8);
        matcher.observe_object("a", T0 + SECOND, &object("r1", &[4, 5, 6, 7]));
        matcher.observe_object("b", T0 + 2 * SECOND, &object("r1", &[0, 1, 2, 3]));
        assert_eq!(report(&matcher).counts.reordered, 4);
        // Key k0 says "c" before "d"; key k1 says "d" before "c": a cycle within the second.
        let mut matcher = self::matcher(4);
        matcher.observe_object("c", T0 + SECOND, &object("r1", &[0, 3]));
        matcher.observe_object("d", T0 + SECOND, &object("r1", &[2, 1]));
        let report = report(&matcher);
        assert_eq!(report.counts.reordered, 1);
        assert!(!report.assertion(crate::AssertionKind::Ordering).unwrap().passed());
    }

    #[test]
    fn latency_histogram_counts_first_deliveries_per_bucket_and_objects_are_listed() {
        let mut matcher = matcher(4);
        // Seq s is sent at T0 + s ms: latencies 1000, 999 ms, then 2998, 2997 ms; the copy is not counted.
        matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1]));
        matcher.observe_object("o2", T0 + 3 * SECOND, &object("r1", &[2, 3, 3]));
        let report = report(&matcher);
        let histogram = &report.latency.histogram;
        assert_eq!(histogram.len(), LATENCY_BUCKETS_MS.len() + 1);
        assert_eq!(histogram.iter().map(|bucket| bucket.count).sum::<u64>(), 4);
        let count =
            |upper: u64| histogram.iter().find(|bucket| bucket.upper_ms == Some(upper)).unwrap().count;
        assert_eq!((count(1_000), count(2_500), count(5_000)), (2, 0, 2));
        assert_eq!(histogram.last().unwrap().upper_ms, None);
        let keys: Vec<&str> = report.objects.iter().map(|object| object.key.as_str()).collect();
        assert_eq!(keys, vec!["o1", "o2"]);
        assert_eq!((report.objects[1].records, report.objects[1].held_ms), (3, Some(2_998)));
        assert_eq!(report.objects[0].visible_ms, (T0 + SECOND) / NANOS_PER_MILLI);
        assert!(report.buffering.is_none() && report.assertions().len() == 5);
    }

    #[test]
    fn buffering_is_an_assertion_that_fails_or_does_not_apply() {
        let hints = scenario::BufferingHints { size_mb: 1, interval_seconds: 60 };
        // Seq 0 waits 1 s in an object far below 1 MiB: flushed before either threshold.
        // Seq 1 waits 80 s, beyond the 60 s interval plus 15 s of slack.
        let run = |check: BufferingCheck| {
            let mut matcher = matcher(2).with_buffering(check);
            matcher.observe_object("early", T0 + SECOND, &object("r1", &[0]));
            matcher.observe_object("late", T0 + 80 * SECOND + NANOS_PER_MILLI, &object("r1", &[1]));
            report(&matcher)
        };
        let report = run(BufferingCheck::new(hints, "embedded", true));
        let buffering = report.buffering.as_ref().unwrap();
        assert_eq!((buffering.oversized, buffering.flushed_early, buffering.held_too_long), (0, 1, 1));
        assert_eq!(buffering.flushed_early_objects, vec!["early".to_string()]);
        assert_eq!(buffering.held_too_long_examples[0].seq, 1);
        let assertion = report.assertions().pop().unwrap();
        assert_eq!((assertion.name(), assertion.status), ("buffering", AssertionStatus::Fail));
        assert!(!report.passed());
        assert!(report.summary().contains("flushed before either threshold: early"), "{}", report.summary());

        let report = run(BufferingCheck::new(hints, "localstack", false));
        let assertion = report.assertions().pop().unwrap();
        assert_eq!(assertion.status, AssertionStatus::NotApplicable);
        assert!(!assertion.passed(), "not applicable is never a pass");
        assert!(assertion.detail.starts_with("not applicable on localstack: "), "{}", assertion.detail);
        let failed: Vec<&str> = report.assertions().iter().filter(|a| a.failed()).map(|a| a.name()).collect();
        assert_eq!(failed, vec!["latency"], "only the 80 s record's latency fails");
        assert!(report.summary().contains("N/A   buffering"), "{}", report.summary());
        let xml = report.junit().unwrap();
        assert!(xml.contains("<skipped"), "{xml}");
    }

    #[test]
    fn html_report_draws_every_object_and_the_latency_bars_and_escapes_keys() {
        let hints = scenario::BufferingHints { size_mb: 1, interval_seconds: 1 };
        let mut matcher = matcher(6).with_buffering(BufferingCheck::new(hints, "embedded", true));
        matcher.observe_object("2026/11/23/20/<o1>", T0 + SECOND, &object("r1", &[0, 1]));
        matcher.observe_object("2026/11/23/20/o2", T0 + 3 * SECOND, &object("r1", &[2, 3]));
        matcher.observe_object("2026/11/23/20/o3", T0 + 4 * SECOND, &object("r1", &[4, 5]));
        let report = report(&matcher);
        let dir = tempfile::tempdir().unwrap();
        let paths = report.write_all(dir.path()).unwrap();
        assert_eq!(paths.html, dir.path().join("report.html"));
        let html = std::fs::read_to_string(&paths.html).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        assert_eq!(html.matches("<rect class=\"object\"").count(), 3, "{html}");
        let bars = report.latency.histogram.iter().filter(|bucket| bucket.count > 0).count();
        assert_eq!(html.matches("<rect class=\"bar\"").count(), bars, "{html}");
        assert!(html.contains("class=\"threshold\""), "the SizeInMBs line is drawn");
        assert!(html.contains("2026/11/23/20/&lt;o1&gt;") && !html.contains("<o1>"), "keys are escaped");
        assert!(!html.contains("<script"), "no scripts");
        assert!(!html.contains("src=") && !html.contains("href="), "nothing is loaded from elsewhere");
    }

    #[test]
    fn gzip_objects_are_decompressed_and_damage_is_corrupt() {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&object("r1", &[0, 1, 2])).unwrap();
        let mut gzip = encoder.finish().unwrap();
        let mut matcher = matcher(3);
        matcher.observe_object("o1.gz", T0 + SECOND, &gzip);
        assert!(matcher.complete());
        assert!(report(&matcher).passed());
        gzip.extend_from_slice(b"junk");
        let mut matcher = self::matcher(3);
        matcher.observe_object("o1", T0 + SECOND, &gzip);
        let report = report(&matcher);
        assert_eq!((report.counts.delivered, report.counts.corrupt), (3, 1));
        assert_eq!(report.corrupt[0].offset, object("r1", &[0, 1, 2]).len() as u64);
        assert!(report.corrupt[0].excerpt.starts_with("gzip: "), "{:?}", report.corrupt[0]);
    }

    proptest! {
        /// Deliver every record of a run except some, some several times, in random object splits:
        /// the report names exactly the dropped seqs as lost and counts every extra copy.
        #[test]
        fn lost_and_duplicated_match_what_was_withheld_and_repeated(
            copies in proptest::collection::vec(0usize..3, 1..200),
            object_size in 1usize..20,
        ) {
            let generated = copies.len() as u64;
            let deliveries: Vec<u64> = copies
                .iter()
                .enumerate()
                .flat_map(|(seq, &count)| std::iter::repeat_n(seq as u64, count))
                .collect();
            let mut matcher = matcher(generated);
            for (index, chunk) in deliveries.chunks(object_size).enumerate() {
                matcher.observe_object(&format!("o{index}"), T0 + SECOND, &object("r1", chunk));
            }
            let report = report(&matcher);
            let lost: Vec<u64> = (0..generated).filter(|seq| copies[*seq as usize] == 0).collect();
            let extra: usize = copies.iter().map(|count| count.saturating_sub(1)).sum();
            prop_assert_eq!(&report.lost_ranges, &crate::findings::compress(lost.iter().copied()));
            prop_assert_eq!(report.counts.lost, lost.len() as u64);
            prop_assert_eq!(report.counts.duplicated, extra as u64);
            prop_assert_eq!(report.counts.reordered, 0);
            prop_assert_eq!(
                report.counts.delivered + report.counts.duplicated_records + report.counts.lost,
                report.counts.acknowledged
            );
            prop_assert_eq!(matcher.complete(), lost.is_empty());
        }
    }
}
