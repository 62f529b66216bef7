//! The verification report: counts, specifics of every finding, assertions, and its two renderings.
//!
//! A [`Report`] is data. It renders as a short terminal summary ([`Report::summary`]) and as
//! `report.json` ([`Report::write_json`]) and as JUnit XML for CI systems ([`Report::write_junit`]),
//! one test case per assertion, and as `report.html` with charts ([`Report::write_html`], in
//! `html.rs`); [`Report::write_all`] writes every file.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use quick_junit::{NonSuccessKind, Property, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};
use scenario::{Delivery, Expect, Ordering};
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::assertion::{Assertion, AssertionKind, AssertionStatus};
use crate::distribution::Distribution;
use crate::findings::*;
use crate::format::FormatSummary;
use crate::ground_truth::InjectedFault;
use crate::search_summary::SearchSummary;
use crate::transform::TransformSummary;

/// Version of the JSON layout below; bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 3;

/// How many examples of each kind the terminal summary prints.
const SUMMARY_EXAMPLES: usize = 5;

/// How many lost ranges the terminal summary prints.
const SUMMARY_RANGES: usize = 10;

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
///     "size_bytes": {"count": 3, "min": 100, "p50": 200, "p90": 300, "max": 300, "total": 600},
///     "oversized": 0,        // bigger than SizeInMBs by more than their largest record
///     "flushed_early": 0,    // below SizeInMBs and visible before IntervalInSeconds − slack
///     "held_too_long": 0,    // first deliveries visible after IntervalInSeconds + slack
///     "oversized_objects": [], "flushed_early_objects": [], "held_too_long_examples": []},
///   "format": {                             // null unless [expect] format is set
///     "format": "ndjson", "objects": 3, "concatenated_objects": 1, "records": 300,
///     "joined_records": 99,                 // records with no newline before them
///     "concatenated": [{"object": "2026/…", "records": 100, "joined": 99, "first_join_offset": 212}],
///     "not_applicable": null},              // or why the backend cannot support the check
///   "distribution": {                       // null when the producer's figures were not given
///     "shards": 4,                          // 0 for Direct PUT (no shards)
///     "per_shard": [{"shard": "shardId-000000000000", "records": 1000, "bytes": 250000,
///                    "share": 1.0}, …],     // every shard in id order, idle ones with 0
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
///   "ground_truth": null,                   // or, when the scenario has [faults], what was injected:
///     // [{"kind": "duplicate", "seq": 17, "partition_key": null, "shard": null,
///     //   "object": "2026/…/s-1-…", "what": "Firehose wrote seq 17 twice in …"}]
///   "assertions": [{"name": "delivery", "passed": false, "status": "fail",
///                   "detail": "exactly once: 1 lost, ..."}]
///   // status: "pass" | "fail" | "not_applicable"; passed is true only for "pass".
///   // Names: sending, delivery, ordering, latency, no unexpected records, buffering when analysed, and
///   // "shard balance" (max_shard_share) and "throttling" (max_throttled_fraction) when set; with a
///   // search destination also "indexed or failed", "index count" and "all-documents backup".
/// }
/// ```
///
/// Version 2 added `status` to assertions (a not-applicable assertion has `passed: false` and does
/// not fail the report), `latency.histogram`, `objects`, `objects_truncated` and `buffering`, and
/// later `incomplete` (absent in older files means complete). Version 3 added `format`, `distribution`,
/// `ground_truth`, and `expect.max_shard_share` and `expect.max_throttled_fraction`, and later the
/// `sending` assertion, `failed_to_send` and `expect.max_failed_fraction`.
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
    /// Records per shard and throttled keys, as the producer saw them ([`Report::set_distribution`]).
    pub distribution: Option<Distribution>,
    /// The faults the backend injected, when the run had a fault plan ([`Report::set_ground_truth`]).
    pub ground_truth: Option<Vec<InjectedFault>>,
    /// Records a data transformation dropped or sent to the error output, when the run had one.
    pub transform: Option<TransformSummary>,
    /// The search index and its S3 backup, when the run delivered to OpenSearch or Elasticsearch.
    pub search: Option<SearchSummary>,
    pub assertions: Vec<Assertion>,
}

/// `report.json`: the fields in the order above, with `passed` read from [`Report::passed`] (never
/// stored, so no change to the assertions can leave it stale), and `transform` and `search` only
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
            assertions,
        } = self;
        let mut out = serializer.serialize_struct("Report", 27)?;
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
        out.serialize_field("assertions", assertions)?;
        out.end()
    }
}

/// Writing a rendering of the report failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteReportError {
    #[error("cannot serialise the report")]
    Serialize(#[source] serde_json::Error),
    #[error("cannot serialise the report as JUnit XML")]
    Junit(#[source] quick_junit::SerializeError),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Report {
    /// Whether the run was complete and no assertion failed (assertions that do not apply neither
    /// pass nor fail).
    pub fn passed(&self) -> bool {
        self.incomplete.is_none() && !self.assertions.iter().any(Assertion::failed)
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

    /// The report's assertion of `kind`, if it has one.
    pub fn assertion(&self, kind: AssertionKind) -> Option<&Assertion> {
        self.assertions.iter().find(|assertion| assertion.kind == kind)
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

    /// A summary a person reads in five seconds: verdicts with failure specifics, counts, latency.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}: run {} in {}", self.verdict(), self.run_id, self.location());
        if let Some(reason) = &self.incomplete {
            let _ = writeln!(
                out,
                "  incomplete: {reason}; counts are what was read by then (unread records count as lost)"
            );
        }
        let width = self.assertions.iter().map(|assertion| assertion.name().len()).max().unwrap_or(0);
        for assertion in &self.assertions {
            let verdict = match assertion.status {
                AssertionStatus::Pass => "PASS",
                AssertionStatus::Fail => "FAIL",
                AssertionStatus::NotApplicable => "N/A ",
            };
            let _ = writeln!(out, "  {verdict}  {:width$}  {}", assertion.name(), assertion.detail);
            if assertion.failed() {
                for line in self.specifics(assertion.kind) {
                    let _ = writeln!(out, "        {line}");
                }
            }
        }
        let counts = &self.counts;
        let _ = writeln!(
            out,
            "records  {} generated, {} acknowledged, {} failed to send, {} delivered, {} lost, \
             {} duplicated, {} reordered, {} corrupt, {} unexpected, {} late",
            counts.generated,
            counts.acknowledged,
            counts.failed_to_send,
            counts.delivered,
            counts.lost,
            counts.duplicated,
            counts.reordered,
            counts.corrupt,
            counts.unexpected,
            counts.late,
        );
        if counts.delivered_unacknowledged > 0 {
            let _ = writeln!(
                out,
                "         {} delivered although not acknowledged: seq {}",
                counts.delivered_unacknowledged,
                render_seqs(&self.delivered_unacknowledged_seqs, counts.delivered_unacknowledged),
            );
        }
        if counts.other_runs > 0 {
            let _ =
                writeln!(out, "         {} records of other runs in the bucket ignored", counts.other_runs);
        }
        let timed_out = if self.wait.complete || self.incomplete.is_some() {
            ""
        } else {
            "; timed out waiting for records"
        };
        let latency = &self.latency;
        if let Some(search) = &self.search {
            // The index's documents and the failed-documents objects went through the matcher; an
            // index has no arrival times.
            let _ = writeln!(
                out,
                "index    {} documents and {} failed-documents objects read ({} bytes){timed_out}",
                search.documents_read, search.failed_objects, counts.bytes
            );
            let _ = writeln!(out, "latency  {}", latency.precision);
        } else {
            let _ = writeln!(
                out,
                "objects  {} read ({} bytes), {} skipped as older than the run{timed_out}",
                counts.objects, counts.bytes, counts.objects_skipped,
            );
        }
        match (latency.p50_ms, latency.p90_ms, latency.p99_ms, latency.max_ms) {
            _ if self.search.is_some() => {}
            (Some(p50), Some(p90), Some(p99), Some(max)) => {
                let _ = write!(
                    out,
                    "latency  p50 {p50} ms, p90 {p90} ms, p99 {p99} ms, max {max} ms ({})",
                    latency.precision
                );
                if latency.clock_skew > 0 {
                    let _ = write!(out, "; {} visible before sent (clock skew)", latency.clock_skew);
                }
                out.push('\n');
            }
            _ => {
                let _ = writeln!(out, "latency  no records delivered ({})", latency.precision);
            }
        }
        if let Some(transform) = &self.transform {
            for line in transform.summary_lines() {
                let _ = writeln!(out, "{line}");
            }
        }
        if let Some(search) = &self.search {
            for line in search.summary_lines(&self.bucket) {
                let _ = writeln!(out, "{line}");
            }
        }
        if let Some(distribution) = &self.distribution {
            let _ = writeln!(out, "{}", distribution.summary_line());
            if !distribution.throttled_keys.is_empty() {
                let _ = writeln!(
                    out,
                    "         most throttled keys: {}",
                    distribution.hot_keys(SUMMARY_EXAMPLES)
                );
            }
        }
        out
    }

    /// The lines that explain a failed assertion.
    fn specifics(&self, assertion: AssertionKind) -> Vec<String> {
        let mut lines = Vec::new();
        let counts = &self.counts;
        match assertion {
            AssertionKind::Sending => {
                if counts.failed_to_send > 0 {
                    let seqs: Vec<u64> = self.failed_to_send.iter().map(|failed| failed.seq).collect();
                    lines.push(format!(
                        "failed to send {} {}: seq {}",
                        counts.failed_to_send,
                        plural(counts.failed_to_send, "record", "records"),
                        render_seqs(&seqs, counts.failed_to_send),
                    ));
                    // The last error of each, grouped: one line per distinct reason.
                    let mut reasons: Vec<(&str, Vec<u64>)> = Vec::new();
                    for failed in &self.failed_to_send {
                        match reasons.iter_mut().find(|(reason, _)| *reason == failed.reason) {
                            Some((_, seqs)) => seqs.push(failed.seq),
                            None => reasons.push((&failed.reason, vec![failed.seq])),
                        }
                    }
                    for (reason, seqs) in reasons.iter().take(SUMMARY_EXAMPLES) {
                        lines.push(format!(
                            "seq {}: {reason}",
                            render_ranges(&compress(seqs.iter().copied()))
                        ));
                    }
                    more(&mut lines, reasons.len() as u64, SUMMARY_EXAMPLES, "distinct errors");
                }
            }
            AssertionKind::Delivery => {
                if counts.lost > 0 {
                    let shown = self.lost_ranges.len().min(SUMMARY_RANGES);
                    let mut line = format!(
                        "lost {} {}: seq {}",
                        counts.lost,
                        plural(counts.lost, "record", "records"),
                        render_ranges(&self.lost_ranges[..shown])
                    );
                    if shown < self.lost_ranges.len() || self.lost_ranges_truncated {
                        line.push_str(", … (all ranges in report.json)");
                    }
                    lines.push(line);
                }
                if counts.duplicated > 0 && self.expect.delivery == Delivery::ExactlyOnce {
                    lines.push(format!(
                        "duplicated {} extra {} of {} {}: seq {}",
                        counts.duplicated,
                        plural(counts.duplicated, "copy", "copies"),
                        counts.duplicated_records,
                        plural(counts.duplicated_records, "record", "records"),
                        render_seqs(&self.duplicated_seqs, counts.duplicated_records),
                    ));
                }
                for span in self.corrupt.iter().take(SUMMARY_EXAMPLES) {
                    lines.push(format!(
                        "corrupt {} {} in {} at offset {}: {:?}",
                        span.length,
                        plural(span.length, "byte", "bytes"),
                        span.object,
                        span.offset,
                        span.excerpt
                    ));
                }
                more(&mut lines, counts.corrupt, SUMMARY_EXAMPLES, "corrupt spans");
            }
            AssertionKind::Ordering => {
                for example in self.reordered.iter().take(SUMMARY_EXAMPLES) {
                    lines.push(format!(
                        "key {:?}: kseq {} first delivered after kseq {} (in {})",
                        example.key, example.kseq, example.after_kseq, example.object
                    ));
                }
                more(&mut lines, counts.reordered, SUMMARY_EXAMPLES, "reordered records");
            }
            AssertionKind::Latency => {
                for example in self.late.iter().take(SUMMARY_EXAMPLES) {
                    lines.push(format!(
                        "seq {} (key {:?}) took {} ms (in {})",
                        example.seq, example.key, example.latency_ms, example.object
                    ));
                }
                more(&mut lines, counts.late, SUMMARY_EXAMPLES, "late records");
            }
            AssertionKind::ObjectFormat => {
                if let Some(format) = &self.format {
                    lines.extend(format.specifics(SUMMARY_EXAMPLES));
                }
            }
            AssertionKind::IndexedOrFailed
            | AssertionKind::IndexCount
            | AssertionKind::AllDocumentsBackup => {
                if let Some(search) = &self.search {
                    lines.extend(search.specifics(assertion));
                }
            }
            AssertionKind::ShardBalance | AssertionKind::Throttling => {
                if let Some(distribution) = &self.distribution {
                    lines.extend(distribution.specifics(assertion));
                }
            }
            AssertionKind::Buffering => {
                if let Some(buffering) = &self.buffering {
                    for key in buffering.oversized_objects.iter().take(SUMMARY_EXAMPLES) {
                        lines.push(format!("oversized: {key}"));
                    }
                    for key in buffering.flushed_early_objects.iter().take(SUMMARY_EXAMPLES) {
                        lines.push(format!("flushed before either threshold: {key}"));
                    }
                    for example in buffering.held_too_long_examples.iter().take(SUMMARY_EXAMPLES) {
                        lines.push(format!(
                            "held too long: seq {} (key {:?}) visible after {} ms (in {})",
                            example.seq, example.key, example.latency_ms, example.object
                        ));
                    }
                }
            }
            AssertionKind::NoUnexpectedRecords => {
                for example in self.unexpected.examples.iter().take(SUMMARY_EXAMPLES) {
                    let mut line = format!(
                        "{}: {} at offset {}",
                        example.reason.describe(),
                        example.object,
                        example.offset
                    );
                    if !example.detail.is_empty() {
                        line.push_str(": ");
                        line.push_str(&example.detail);
                    }
                    lines.push(line);
                }
                more(&mut lines, counts.unexpected, SUMMARY_EXAMPLES, "unexpected records");
            }
        }
        lines
    }

    /// Writes `report.json` (pretty-printed) into `dir` atomically and returns its path.
    ///
    /// The report is written to a temporary file in `dir` first and then renamed over
    /// `report.json`, so a reader never sees a half-written report.
    pub fn write_json(&self, dir: &Path) -> Result<PathBuf, WriteReportError> {
        let mut json = serde_json::to_vec_pretty(self).map_err(WriteReportError::Serialize)?;
        json.push(b'\n');
        write_atomically(dir, "report.json", &json)
    }

    /// The report as JUnit XML: one test suite for the run, one test case per assertion.
    ///
    /// A failed assertion is a `<failure>` whose message is the assertion's detail and whose text
    /// lists the specifics the terminal summary shows; the whole summary is the suite's system-out.
    pub fn junit(&self) -> Result<String, WriteReportError> {
        let mut suite = TestSuite::new(format!("streamproof run {}", self.run_id));
        suite.add_property(Property::new("bucket", self.bucket.as_str()));
        suite.add_property(Property::new("prefix", self.prefix.as_str()));
        if let Some(search) = &self.search {
            suite.add_property(Property::new("search_service", search.service.as_str()));
            suite.add_property(Property::new("search_endpoint", search.endpoint.as_str()));
            suite.add_property(Property::new("search_index", search.index.as_str()));
        }
        if let Some(distribution) = &self.distribution {
            for (name, value) in distribution.properties() {
                suite.add_property(Property::new(name, value));
            }
        }
        suite.set_time(std::time::Duration::from_millis(self.wait.elapsed_ms));
        if let Some(reason) = &self.incomplete {
            // An incomplete run is an error of its own, so CI never reads it as a pass.
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(reason.as_str());
            status.set_type("incomplete");
            let mut case = TestCase::new("run completed", status);
            case.set_classname(format!("streamproof.{}", self.bucket));
            suite.add_test_case(case);
        }
        for assertion in &self.assertions {
            let status = if assertion.status == AssertionStatus::NotApplicable {
                let mut status = TestCaseStatus::skipped();
                status.set_message(assertion.detail.as_str());
                status
            } else if assertion.passed() {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(assertion.detail.as_str());
                status.set_type(assertion.name());
                let specifics = self.specifics(assertion.kind);
                if !specifics.is_empty() {
                    status.set_description(specifics.join("\n"));
                }
                status
            };
            let mut case = TestCase::new(assertion.name(), status);
            case.set_classname(format!("streamproof.{}", self.bucket));
            if assertion.passed() {
                case.set_system_out(assertion.detail.as_str());
            }
            suite.add_test_case(case);
        }
        suite.set_system_out(self.summary());
        let mut junit = JunitReport::new("streamproof");
        junit.add_test_suite(suite);
        junit.to_string().map_err(WriteReportError::Junit)
    }

    /// Writes `junit.xml` into `dir` atomically and returns its path.
    pub fn write_junit(&self, dir: &Path) -> Result<PathBuf, WriteReportError> {
        write_atomically(dir, "junit.xml", self.junit()?.as_bytes())
    }

    /// Writes `report.html` (see [`Report::html`]) into `dir` atomically and returns its path.
    pub fn write_html(&self, dir: &Path) -> Result<PathBuf, WriteReportError> {
        write_atomically(dir, "report.html", self.html().as_bytes())
    }

    /// Writes every rendering into `dir`: `report.json`, `junit.xml` and `report.html`.
    pub fn write_all(&self, dir: &Path) -> Result<ReportPaths, WriteReportError> {
        Ok(ReportPaths {
            json: self.write_json(dir)?,
            junit: self.write_junit(dir)?,
            html: self.write_html(dir)?,
        })
    }

    /// Adds the run's load distribution, and the assertions the expectations ask of it
    /// (`max_shard_share`, `max_throttled_fraction`); unset bounds leave the figures informational.
    pub fn set_distribution(&mut self, distribution: Distribution) {
        self.assertions
            .retain(|a| !matches!(a.kind, AssertionKind::ShardBalance | AssertionKind::Throttling));
        if let Some(max_share) = self.expect.max_shard_share {
            self.assertions.push(distribution.shard_assertion(max_share));
        }
        if let Some(max_fraction) = self.expect.max_throttled_fraction {
            self.assertions.push(distribution.throttle_assertion(max_fraction));
        }
        self.distribution = Some(distribution);
    }

    /// Marks the object-format assertion as not applicable (a backend that ignores the
    /// `AppendDelimiterToRecord` processor decides the layout itself); `why` says so.
    pub fn object_format_not_applicable(&mut self, why: impl Into<String>) {
        let Some(format) = self.format.as_mut() else { return };
        format.not_applicable = Some(why.into());
        let assertion = format.assertion();
        for existing in self.assertions.iter_mut().filter(|a| a.kind == AssertionKind::ObjectFormat) {
            *existing = assertion.clone();
        }
    }

    /// Adds the faults the backend injected, as ground truth (`ground_truth` in `report.json`).
    pub fn set_ground_truth(&mut self, faults: Vec<InjectedFault>) {
        self.ground_truth = Some(faults);
    }

    /// The transformation's figures, when the run had a data transformation.
    pub fn transform_summary(&self) -> Option<&TransformSummary> {
        self.transform.as_ref()
    }
}

/// Where [`Report::write_all`] put each rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    pub json: PathBuf,
    pub junit: PathBuf,
    pub html: PathBuf,
}

/// Writes `bytes` to `dir/name` through a temporary file and a rename, so readers never see half a file.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, WriteReportError> {
    let path = dir.join(name);
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    if let Err(source) = write() {
        let _ = fs::remove_file(&temporary);
        return Err(WriteReportError::Write { path: temporary, source });
    }
    fs::rename(&temporary, &path).map_err(|source| {
        let _ = fs::remove_file(&temporary);
        WriteReportError::Write { path: path.clone(), source }
    })?;
    Ok(path)
}

/// The `sending` assertion: no record exhausted its retries, or no more than
/// `expect.max_failed_fraction` of those sent; a run that had nothing acknowledged fails whatever
/// the scenario allows, since nothing about the pipeline can then be concluded.
fn sending(expect: &Expect, counts: &Counts) -> Assertion {
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

/// The assertions the expectations ask for, in a fixed order.
pub(crate) fn assertions(
    expect: &Expect,
    counts: &Counts,
    unexpected: &UnexpectedSummary,
    buffering: Option<&BufferingSummary>,
) -> Vec<Assertion> {
    let delivery = match expect.delivery {
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
    };
    let ordering = match expect.ordering {
        Ordering::PerKey => Assertion::verdict(
            AssertionKind::Ordering,
            counts.reordered == 0,
            format!("per key: {} reordered", counts.reordered),
        ),
        Ordering::None => Assertion::verdict(AssertionKind::Ordering, true, "not asserted".into()),
    };
    let latency = Assertion::verdict(
        AssertionKind::Latency,
        counts.late == 0,
        format!("{} late (bound {} ms)", counts.late, millis(expect.max_latency)),
    );
    let unexpected = Assertion::verdict(
        AssertionKind::NoUnexpectedRecords,
        counts.unexpected == 0,
        if counts.unexpected == 0 {
            "0 unexpected".into()
        } else {
            format!("{} unexpected: {}", counts.unexpected, unexpected.by_reason())
        },
    );
    let mut assertions = vec![sending(expect, counts), delivery, ordering, latency, unexpected];
    if let Some(buffering) = buffering {
        assertions.push(match &buffering.not_applicable {
            Some(why) => Assertion::not_applicable(AssertionKind::Buffering, why.clone()),
            None => Assertion::verdict(
                AssertionKind::Buffering,
                buffering.oversized + buffering.flushed_early + buffering.held_too_long == 0,
                format!(
                    "{} MiB / {} s: {} oversized, {} flushed early, {} held too long",
                    buffering.size_mb,
                    buffering.interval_seconds,
                    buffering.oversized,
                    buffering.flushed_early,
                    buffering.held_too_long
                ),
            ),
        });
    }
    assertions
}

/// Renders example seqs compressed, noting when `total` is more than the examples show.
fn render_seqs(seqs: &[u64], total: u64) -> String {
    let mut rendered = render_ranges(&compress(seqs.iter().copied()));
    if (seqs.len() as u64) < total {
        rendered.push_str(", …");
    }
    rendered
}

fn more(lines: &mut Vec<String>, total: u64, shown: usize, what: &str) {
    if total > shown as u64 {
        lines.push(format!("… and {} more {what} (see report.json)", total - shown as u64));
    }
}

fn plural<'a>(count: u64, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
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
