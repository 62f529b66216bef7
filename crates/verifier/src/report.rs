//! The verification report: counts, specifics of every finding, its `report.json` layout, and the
//! assertions derived from them.
//!
//! A [`Report`] is data: sections of findings. Its assertions are never stored; [`Report::assertions`]
//! derives every one of them from the sections, in one place, each time they are read, so adding a
//! section (the load distribution, the ground truth) cannot leave a verdict stale. Its renderings only read it, each in a file of its own: the terminal
//! summary ([`Report::summary`], `terminal.rs`), JUnit XML for CI systems ([`Report::junit`],
//! `junit.rs`), `report.html` with charts ([`Report::html`], `html.rs`); `files.rs` writes them
//! ([`Report::write_all`]).

use scenario::{Delivery, Ordering};
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::assertion::{Assertion, AssertionKind};
use crate::distribution::Distribution;
use crate::findings::*;
use crate::format::FormatSummary;
use crate::ground_truth::InjectedFault;
use crate::resharding::ReshardingSummary;
use crate::search_summary::SearchSummary;
use crate::transform::TransformSummary;

/// Version of the JSON layout below; bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 3;

/// The outcome of verifying one run.
///
/// Serialised as `report.json`; field names are stable within a [`SCHEMA_VERSION`]:
///
/// ```text
/// {
///   "schema_version": 3,
///   "run_id": "r1",                  // the run verified
///   "bucket": "logs", "prefix": "",  // where it was read ("" = whole bucket)
///   "passed": false,                 // no assertion failed, and the run was complete
///   "incomplete": null,              // or why the run stopped early, e.g. "interrupted by SIGINT while
///                                    // producing"; such a report never passes
///   "expect": {"delivery": "exactly_once" | "at_least_once", "ordering": "per_key" | "none",
///              "max_latency_ms": 5000, "timeout_ms": 60000,
///              "max_shard_share": 0.5, "max_throttled_fraction": null,    // null: reported, not asserted
///              "max_failed_fraction": 0.0},     // share of sent records allowed to fail to send
///   "wait": {"complete": true,       // every acknowledged record was seen before the timeout
///            "elapsed_ms": 1234},    // time spent reading
///   "counts": {
///     "generated": 100,              // seqs 0..generated were produced
///     "acknowledged": 99,            // acknowledged by the backend, so they must be delivered
///     "failed_to_send": 1,           // never acknowledged
///     "delivered": 97,               // distinct seqs seen exactly once
///     "delivered_unacknowledged": 1, // distinct seqs seen although never acknowledged
///     "lost": 1,                     // acknowledged seqs never seen
///     "duplicated": 2,               // extra copies beyond the first
///     "duplicated_records": 1,       // distinct seqs seen more than once
///     "reordered": 0,                // first deliveries after a higher kseq of the same key
///     "corrupt": 0,                  // byte spans that did not decode
///     "corrupt_bytes": 0,
///     "unexpected": 0,               // records of this run out of range, or without/with a broken envelope
///     "other_runs": 0,               // records of other runs in the same bucket: ignored, only counted
///     "late": 0,                     // first deliveries with latency above max_latency_ms
///     "records": 100,                // JSON values decoded, whatever they were
///     "objects": 3, "bytes": 20480,  // objects read and their total size
///     "objects_skipped": 0           // objects older than the run, not read
///   },
///   "lost_ranges": [{"start": 10, "end": 10}],   // inclusive, ascending
///   "lost_ranges_truncated": false,              // true when more than 100 ranges exist
///   "duplicated_seqs": [5],                      // ascending, at most 100
///   "delivered_unacknowledged_seqs": [7],        // ascending, at most 100
///   "failed_to_send": [{"seq": 7, "reason": "InternalFailure after 20 attempts over 38.2 s"}],
///                                                // ascending, at most 100
///   "reordered": [{"key": "u1", "kseq": 3, "after_kseq": 4, "object": "a.json"}],
///   "corrupt": [{"object": "a.json", "offset": 120, "length": 17, "excerpt": "{\"a\":"}],
///   "unexpected": {"seq_out_of_range": 0, "no_envelope": 0, "malformed_envelope": 0,
///                  "examples": [{"object": "a.json", "offset": 0, "reason": "seq_out_of_range",
///                                "detail": "seq 120 but only 100 generated"}]},
///   "late": [{"seq": 5, "key": "u1", "latency_ms": 7000, "object": "a.json"}],
///   "latency": {"precision": "S3 LastModified, millisecond precision", "samples": 98,
///               "p50_ms": 12, "p90_ms": 40, "p99_ms": 80, "max_ms": 95,  // null without samples
///               "clock_skew": 0,   // records visible before they were sent, counted as 0 ms
///               "histogram": [{"upper_ms": 10, "count": 3}, …, {"upper_ms": null, "count": 0}]},
///               // first deliveries per latency bucket (LATENCY_BUCKETS_MS, then unbounded)
///   "objects": [{"key": "2026/11/23/20/s-1-…", "visible_ms": 1795464600123,   // listing order
///                "bytes": 20480, "decoded_bytes": 20480, "gzip": false,
///                "records": 100,            // records of this run
///                "max_record_bytes": 210,
///                "held_ms": 2100}],         // oldest record of this run: send → visible; null without
///   "objects_truncated": false,             // true beyond 10000 objects
///   "buffering": {                          // null when no buffering hints were given
///     "applicable": true, "not_applicable": null,   // or false, "not applicable on <backend>: <why>"
///     "size_mb": 1, "interval_seconds": 60, "slack_ms": 15000,
///     "producer_wait_ms": 0,  // the producer's longest wait before an acknowledgement, added to the bound
///     "size_bytes": {"count": 3, "min": 100, "p50": 200, "p90": 300, "max": 300, "total": 600},
///     "oversized": 0,        // bigger than SizeInMBs by more than their largest record
///     "flushed_early": 0,    // below SizeInMBs and visible before IntervalInSeconds − slack
///     "held_too_long": 0,    // first deliveries visible after IntervalInSeconds + slack + producer_wait
///     "oversized_objects": [], "flushed_early_objects": [], "held_too_long_examples": []},
///   "format": {                             // null unless [expect] format is set
///     "format": "ndjson", "objects": 3, "concatenated_objects": 1, "records": 300,
///     "joined_records": 99,                 // records with no newline before them
///     "concatenated": [{"object": "2026/…", "records": 100, "joined": 99, "first_join_offset": 212}],
///     "not_applicable": null},              // or why the backend cannot support the check
///   "distribution": {                       // null when the producer's figures were not given
///     "shards": 4,                          // 0 for Direct PUT (no shards)
///     "per_shard": [{"shard": "shardId-000000000000", "records": 1000, "bytes": 250000,
///                    "share": 1.0}, …],     // every shard in id order, idle ones with 0; after a
///                                           // reshard also "parents": [ids] and "open": bool
///     "hottest_shard": "shardId-000000000000", "hottest_share": 1.0,   // null without records
///     "idle_shards": 3,
///     "put_attempts": 1200, "throttled": 200, "throttled_fraction": 0.1667,   // retries included
///     "throttled_keys": [{"key": "hot", "throttled": 180, "overcount": 0,
///                         "shard": "shardId-000000000001"}],   // top 10; throttled is an upper
///                                                              // bound when overcount > 0
///     "backend": "embedded", "throttling_modelled": true},
///   "transform": {…},                       // only with a data transformation (TransformSummary)
///   "search": {                             // only with an OpenSearch/Elasticsearch destination
///     "service": "OpenSearch", "endpoint": "http://…", "index": "clicks-r1",   // index read, or `<index>-*`
///     "backup_mode": "FailedDocumentsOnly",
///     "indexed": 97,                        // distinct records of this run found in the index
///     "index_count": 97, "documents_read": 97,   // `_count`, and hits the scroll returned
///     "failed_documents": 3, "error_codes": {"400": 3},   // records in the failed-documents backup
///     "failed_prefix": "backup/AmazonOpenSearchService-failed/", "failed_objects": 1,
///     "failed_without_envelope": 0, "in_both": 0,         // indexed and failed
///     "missing": [12],                      // seqs neither indexed nor failed (a sample)
///     "backup_prefix": "backup/", "backup_records": null, // AllDocuments: records in the backup,
///     "backup_objects": null, "backup_missing": []},      // its objects and the seqs it lacks
///   "resharding": {                         // only when the run resharded ([[workload.reshard]])
///     "transitions": [{"step": "shards = 4", "open_before": 2, "open_after": 4, "updating_ms": 1050,
///                      "first_seq": 3609, "end_seq": 5501}],   // seqs sent while UPDATING
///     "phases": [{"phase": "before shards = 4", "first_seq": 0, "end_seq": 3609, "expected": 3609,
///                 "delivered": 3609, "lost": 0, "duplicated": 0, "reordered": 0}, …]},
///                 // before, during, after each step (a phase between two steps names both)
///   "ground_truth": null,                   // or, when the scenario has [faults], what was injected:
///     // [{"kind": "duplicate", "seq": 17, "partition_key": null, "shard": null,
///     //   "object": "2026/…/s-1-…", "what": "Firehose wrote seq 17 twice in …"}]
///   "assertions": [{"name": "delivery", "passed": false, "status": "fail",
///                   "detail": "exactly once: 1 lost, ..."}]
///   // status: "pass" | "fail" | "not_applicable"; passed is true only for "pass".
///   // Names, in this order: sending, delivery, ordering, latency, no unexpected records, buffering
///   // when analysed, "object format" when [expect] format is set, "shard balance" (max_shard_share)
///   // and "throttling" (max_throttled_fraction) when set; with a search destination also "indexed or
///   // failed", "index count" and "all-documents backup". With a search destination backed up
///   // FailedDocumentsOnly, `buffering` and `format` (when asked for) say why they are not applicable.
/// }
/// ```
///
/// Version 2 added `status` to assertions (a not-applicable assertion has `passed: false` and does
/// not fail the report), `latency.histogram`, `objects`, `objects_truncated` and `buffering`, and
/// later `incomplete` (absent in older files means complete). Version 3 added `format`, `distribution`,
/// `ground_truth`, and `expect.max_shard_share` and `expect.max_throttled_fraction`, and later the
/// `sending` assertion, `failed_to_send` and `expect.max_failed_fraction`. Still within version 3, the
/// assertions come in one fixed order (above; before, the search and distribution ones came last), and a
/// search destination backed up FailedDocumentsOnly gives `buffering` and `format` sections that say
/// why they are not applicable instead of `null`: no field changed its name or meaning. Later still,
/// `resharding`, the shards' `parents` and `open` after a reshard, and `buffering.producer_wait_ms`
/// were added; `held_too_long` no longer counts the time a record spent in the producer's queue
/// and retries against the destination.
///
/// An incomplete report ([`Report::mark_incomplete`]) holds what was seen when the run stopped:
/// acknowledged records not read yet count as lost, and the report does not pass.
///
/// Invariant: `delivered + duplicated_records + lost = acknowledged + delivered_unacknowledged`, and
/// with a data transformation the acknowledged records it dropped or failed are not lost either.
/// Example lists keep the first [`MAX_EXAMPLES`] findings in delivery order unless noted otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub schema_version: u32,
    pub run_id: String,
    pub bucket: String,
    pub prefix: String,
    /// Why the run stopped before it could be fully verified; `None` for a complete run.
    pub incomplete: Option<String>,
    pub expect: ExpectSummary,
    pub wait: WaitSummary,
    pub counts: Counts,
    pub lost_ranges: Vec<SeqRange>,
    pub lost_ranges_truncated: bool,
    pub duplicated_seqs: Vec<u64>,
    pub delivered_unacknowledged_seqs: Vec<u64>,
    /// Records that exhausted their retries, ascending by seq, with the producer's last error.
    pub failed_to_send: Vec<FailedSend>,
    pub reordered: Vec<ReorderedExample>,
    pub corrupt: Vec<CorruptExample>,
    pub unexpected: UnexpectedSummary,
    pub late: Vec<LateExample>,
    pub latency: LatencySummary,
    /// Objects in listing order: when each became visible, its size and what it held.
    pub objects: Vec<ObjectSummary>,
    /// True when there were more than [`MAX_OBJECTS`] objects and only the first are listed.
    pub objects_truncated: bool,
    /// The buffering analysis, when the run's buffering hints were given.
    pub buffering: Option<BufferingSummary>,
    /// The object-format check, when the expectations name a format (`[expect] format`).
    pub format: Option<FormatSummary>,
    /// Records per shard and throttled keys, as the producer saw them (set by the run, which has its figures).
    pub distribution: Option<Distribution>,
    /// The faults the backend injected, when the run had a fault plan (set by the run, from the backend).
    pub ground_truth: Option<Vec<InjectedFault>>,
    /// Records a data transformation dropped or sent to the error output, when the run had one.
    pub transform: Option<TransformSummary>,
    /// The search index and its S3 backup, when the run delivered to OpenSearch or Elasticsearch.
    pub search: Option<SearchSummary>,
    /// The run's resharding transitions and the records of each phase around them, when it
    /// resharded its stream (`[[workload.reshard]]`).
    pub resharding: Option<ReshardingSummary>,
    /// Why ordering and latency do not apply (a source with no order and no arrival time, such as a
    /// search index); `None` when they do. Not a field of `report.json`: the assertions say it.
    pub unordered: Option<String>,
}

/// `report.json`: the fields in the order above, with `passed` and `assertions` derived
/// ([`Report::passed`], [`Report::assertions`]), and `transform`, `search` and `resharding` only
/// when the run had them.
impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Every field, by name: a field added to `Report` and not written here does not compile.
        let Report {
            schema_version,
            run_id,
            bucket,
            prefix,
            incomplete,
            expect,
            wait,
            counts,
            lost_ranges,
            lost_ranges_truncated,
            duplicated_seqs,
            delivered_unacknowledged_seqs,
            failed_to_send,
            reordered,
            corrupt,
            unexpected,
            late,
            latency,
            objects,
            objects_truncated,
            buffering,
            format,
            distribution,
            ground_truth,
            transform,
            search,
            resharding,
            unordered: _,
        } = self;
        let mut out = serializer.serialize_struct("Report", 28)?;
        out.serialize_field("schema_version", schema_version)?;
        out.serialize_field("run_id", run_id)?;
        out.serialize_field("bucket", bucket)?;
        out.serialize_field("prefix", prefix)?;
        out.serialize_field("passed", &self.passed())?;
        out.serialize_field("incomplete", incomplete)?;
        out.serialize_field("expect", expect)?;
        out.serialize_field("wait", wait)?;
        out.serialize_field("counts", counts)?;
        out.serialize_field("lost_ranges", lost_ranges)?;
        out.serialize_field("lost_ranges_truncated", lost_ranges_truncated)?;
        out.serialize_field("duplicated_seqs", duplicated_seqs)?;
        out.serialize_field("delivered_unacknowledged_seqs", delivered_unacknowledged_seqs)?;
        out.serialize_field("failed_to_send", failed_to_send)?;
        out.serialize_field("reordered", reordered)?;
        out.serialize_field("corrupt", corrupt)?;
        out.serialize_field("unexpected", unexpected)?;
        out.serialize_field("late", late)?;
        out.serialize_field("latency", latency)?;
        out.serialize_field("objects", objects)?;
        out.serialize_field("objects_truncated", objects_truncated)?;
        out.serialize_field("buffering", buffering)?;
        out.serialize_field("format", format)?;
        out.serialize_field("distribution", distribution)?;
        out.serialize_field("ground_truth", ground_truth)?;
        match transform {
            Some(transform) => out.serialize_field("transform", transform)?,
            None => out.skip_field("transform")?,
        }
        match search {
            Some(search) => out.serialize_field("search", search)?,
            None => out.skip_field("search")?,
        }
        match resharding {
            Some(resharding) => out.serialize_field("resharding", resharding)?,
            None => out.skip_field("resharding")?,
        }
        out.serialize_field("assertions", &self.assertions())?;
        out.end()
    }
}

impl Report {
    /// Whether the run was complete and no assertion failed (assertions that do not apply neither
    /// pass nor fail).
    pub fn passed(&self) -> bool {
        self.incomplete.is_none() && !self.assertions().iter().any(Assertion::failed)
    }

    /// Marks the report as covering only part of the run, for `reason` (e.g. an interruption): it
    /// then never passes, in any rendering.
    pub fn mark_incomplete(&mut self, reason: impl Into<String>) {
        self.incomplete = Some(reason.into());
    }

    /// `PASS`, `FAIL`, or `INCOMPLETE` for a run that stopped early.
    pub(crate) fn verdict(&self) -> &'static str {
        if self.incomplete.is_some() {
            "INCOMPLETE"
        } else if self.passed() {
            "PASS"
        } else {
            "FAIL"
        }
    }

    /// The report's assertions, in [`AssertionKind::ALL`] order: those the expectations and the
    /// sections present call for.
    pub fn assertions(&self) -> Vec<Assertion> {
        AssertionKind::ALL.into_iter().filter_map(|kind| self.assertion(kind)).collect()
    }

    /// The report's assertion of `kind`, if its expectations and sections call for one: the one
    /// place every verdict is derived.
    pub fn assertion(&self, kind: AssertionKind) -> Option<Assertion> {
        let (expect, counts) = (&self.expect, &self.counts);
        if let (Some(why), AssertionKind::Ordering | AssertionKind::Latency) = (&self.unordered, kind) {
            return Some(Assertion::not_applicable(kind, why.clone()));
        }
        Some(match kind {
            AssertionKind::Sending => sending(expect, counts),
            AssertionKind::Delivery => delivery(expect, counts),
            AssertionKind::Ordering => match expect.ordering {
                Ordering::PerKey => Assertion::verdict(
                    kind,
                    counts.reordered == 0,
                    format!("per key: {} reordered", counts.reordered),
                ),
                Ordering::None => Assertion::verdict(kind, true, "not asserted".into()),
            },
            AssertionKind::Latency => Assertion::verdict(
                kind,
                counts.late == 0,
                format!("{} late (bound {} ms)", counts.late, expect.max_latency_ms),
            ),
            AssertionKind::NoUnexpectedRecords => Assertion::verdict(
                kind,
                counts.unexpected == 0,
                if counts.unexpected == 0 {
                    "0 unexpected".into()
                } else {
                    format!("{} unexpected: {}", counts.unexpected, self.unexpected.by_reason())
                },
            ),
            AssertionKind::Buffering => self.buffering.as_ref()?.assertion(),
            AssertionKind::ObjectFormat => self.format.as_ref()?.assertion(),
            AssertionKind::ShardBalance => {
                self.distribution.as_ref()?.shard_assertion(expect.max_shard_share?)
            }
            AssertionKind::Throttling => {
                self.distribution.as_ref()?.throttle_assertion(expect.max_throttled_fraction?)
            }
            AssertionKind::IndexedOrFailed
            | AssertionKind::IndexCount
            | AssertionKind::AllDocumentsBackup => self.search.as_ref()?.assertion(kind, counts)?,
        })
    }

    /// Where the run's records were read: the bucket and prefix, or a search destination's index.
    pub(crate) fn location(&self) -> String {
        if let Some(search) = &self.search {
            format!("{} index {} at {}", search.service, search.index, search.endpoint)
        } else if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// Marks the object-format check as not applicable (a backend that ignores the
    /// `AppendDelimiterToRecord` processor decides the layout itself); `why` says so.
    pub fn object_format_not_applicable(&mut self, why: impl Into<String>) {
        if let Some(format) = self.format.as_mut() {
            format.not_applicable = Some(why.into());
        }
    }

    /// The transformation's figures, when the run had a data transformation.
    pub fn transform_summary(&self) -> Option<&TransformSummary> {
        self.transform.as_ref()
    }
}

/// The `sending` assertion: no record exhausted its retries, or no more than
/// `expect.max_failed_fraction` of those sent; a run that had nothing acknowledged fails whatever
/// the scenario allows, since nothing about the pipeline can then be concluded.
fn sending(expect: &ExpectSummary, counts: &Counts) -> Assertion {
    let (failed, sent) = (counts.failed_to_send, counts.acknowledged + counts.failed_to_send);
    if counts.acknowledged == 0 {
        let detail = if sent == 0 {
            "no record was sent".to_owned()
        } else {
            format!("nothing acknowledged: all {sent} {} failed to send", plural(sent, "record", "records"))
        };
        return Assertion::verdict(AssertionKind::Sending, false, detail);
    }
    let share = failed as f64 / sent as f64;
    let allowed = expect.max_failed_fraction;
    let detail = match (failed, allowed > 0.0) {
        (0, _) => format!("0 of {sent} failed to send"),
        (_, false) => format!("{failed} of {sent} failed to send (none allowed)"),
        (_, true) => format!(
            "{failed} of {sent} failed to send ({}, at most {} allowed)",
            percent(share),
            percent(allowed)
        ),
    };
    Assertion::verdict(AssertionKind::Sending, share <= allowed, detail)
}

/// A share as a percentage with enough digits to tell a small share from zero.
fn percent(share: f64) -> String {
    let value = share * 100.0;
    if value == 0.0 || value >= 1.0 { format!("{value:.1} %") } else { format!("{value:.3} %") }
}

/// The `delivery` assertion: nothing lost or corrupt, and with exactly-once nothing duplicated.
fn delivery(expect: &ExpectSummary, counts: &Counts) -> Assertion {
    match expect.delivery {
        Delivery::ExactlyOnce => Assertion::verdict(
            AssertionKind::Delivery,
            counts.lost == 0 && counts.duplicated == 0 && counts.corrupt == 0,
            format!(
                "exactly once: {} lost, {} duplicated, {} corrupt",
                counts.lost, counts.duplicated, counts.corrupt
            ),
        ),
        Delivery::AtLeastOnce => Assertion::verdict(
            AssertionKind::Delivery,
            counts.lost == 0 && counts.corrupt == 0,
            format!(
                "at least once: {} lost, {} corrupt ({} duplicated, allowed)",
                counts.lost, counts.corrupt, counts.duplicated
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use scenario::Expect;

    use super::*;

    /// A passing report of three records delivered in one object.
    fn passing_report() -> Report {
        let expectation = producer::Expectation {
            run_id: "r1".into(),
            envelope_field: "_streamproof".into(),
            generated: 3,
            first_sent_ns: 1,
            last_ack_ns: 2,
            ..producer::Expectation::default()
        };
        let expect = Expect {
            delivery: Delivery::ExactlyOnce,
            ordering: Ordering::PerKey,
            max_latency: std::time::Duration::from_secs(10),
            timeout: std::time::Duration::from_secs(60),
            max_shard_share: None,
            max_throttled_fraction: None,
            max_failed_fraction: 0.0,
            format: None,
        };
        let mut matcher = crate::Matcher::new(&expectation, &expect, "test clock");
        let mut object = Vec::new();
        for seq in 0..3 {
            let envelope =
                producer::Envelope { run: "r1".into(), seq, key: "k".into(), kseq: seq, sent_ns: 1 };
            producer::envelope::append(b"{}", "_streamproof", &envelope, &mut object);
        }
        matcher.observe_object("a.json", 2, &object);
        matcher.report(&crate::ReadSummary { bucket: "b".into(), ..crate::ReadSummary::default() })
    }

    #[test]
    fn an_incomplete_report_never_passes_in_any_rendering() {
        let mut report = passing_report();
        assert!(report.passed() && report.incomplete.is_none());
        report.mark_incomplete("interrupted by SIGINT while producing");
        assert!(!report.passed());
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["incomplete"], "interrupted by SIGINT while producing");
        assert_eq!(json["passed"], false);
        let summary = report.summary();
        assert!(summary.starts_with("INCOMPLETE: run r1"), "{summary}");
        assert!(summary.contains("incomplete: interrupted by SIGINT while producing"), "{summary}");
        let junit = report.junit().unwrap();
        assert!(junit.contains(r#"errors="1""#), "{junit}");
        assert!(junit.contains(r#"<testcase name="run completed""#), "{junit}");
        assert!(report.html().contains("INCOMPLETE"));
        // A complete report has no such test case and says null.
        let complete = passing_report();
        assert!(!complete.junit().unwrap().contains("run completed"));
        assert_eq!(serde_json::to_value(&complete).unwrap()["incomplete"], serde_json::Value::Null);
    }

    #[test]
    fn compresses_runs_into_inclusive_ranges() {
        assert_eq!(render_ranges(&compress([3, 4, 5, 9])), "3..=5, 9");
        assert_eq!(render_ranges(&compress([1234])), "1234");
        assert_eq!(render_ranges(&compress((100..140).chain([500]))), "100..=139, 500");
        assert_eq!(render_ranges(&compress([0, 2, 4])), "0, 2, 4");
        assert_eq!(render_ranges(&compress([])), "");
        assert_eq!(compress([7, 8]), vec![SeqRange { start: 7, end: 8 }]);
    }

    #[test]
    fn range_collector_caps_the_number_of_ranges_but_extends_the_last() {
        let mut collector = RangeCollector::new(2);
        for seq in [1, 2, 5, 6, 9, 11] {
            collector.push(seq);
        }
        let (ranges, truncated) = collector.finish();
        assert_eq!(ranges, vec![SeqRange { start: 1, end: 2 }, SeqRange { start: 5, end: 6 }]);
        assert!(truncated);
    }
}
