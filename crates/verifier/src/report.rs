//! The verification report: counts, specifics of every finding, assertions, and its two renderings.
//!
//! A [`Report`] is data. It renders as a short terminal summary ([`Report::summary`]) and as
//! `report.json` ([`Report::write_json`]); other renderings (JUnit XML, HTML) build on the same fields.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use scenario::{Delivery, Expect, Ordering};
use serde::Serialize;

/// Version of the JSON layout below; bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// How many examples of each kind of finding a report keeps.
pub const MAX_EXAMPLES: usize = 100;

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
///   "schema_version": 1,
///   "run_id": "r1",                  // the run verified
///   "bucket": "logs", "prefix": "",  // where it was read ("" = whole bucket)
///   "passed": false,                 // every assertion passed
///   "expect": {"delivery": "exactly_once" | "at_least_once", "ordering": "per_key" | "none",
///              "max_latency_ms": 5000, "timeout_ms": 60000},
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
///   "reordered": [{"key": "u1", "kseq": 3, "after_kseq": 4, "object": "a.json"}],
///   "corrupt": [{"object": "a.json", "offset": 120, "length": 17, "excerpt": "{\"a\":"}],
///   "unexpected": {"seq_out_of_range": 0, "no_envelope": 0, "malformed_envelope": 0,
///                  "examples": [{"object": "a.json", "offset": 0, "reason": "seq_out_of_range",
///                                "detail": "seq 120 but only 100 generated"}]},
///   "late": [{"seq": 5, "key": "u1", "latency_ms": 7000, "object": "a.json"}],
///   "latency": {"precision": "S3 LastModified, millisecond precision", "samples": 98,
///               "p50_ms": 12, "p90_ms": 40, "p99_ms": 80, "max_ms": 95,  // null without samples
///               "clock_skew": 0},  // records visible before they were sent, counted as 0 ms
///   "assertions": [{"name": "delivery", "passed": false, "detail": "exactly once: 1 lost, ..."}]
/// }
/// ```
///
/// Invariant: `delivered + duplicated_records + lost = acknowledged + delivered_unacknowledged`.
/// Example lists keep the first [`MAX_EXAMPLES`] findings in delivery order unless noted otherwise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub run_id: String,
    pub bucket: String,
    pub prefix: String,
    pub passed: bool,
    pub expect: ExpectSummary,
    pub wait: WaitSummary,
    pub counts: Counts,
    pub lost_ranges: Vec<SeqRange>,
    pub lost_ranges_truncated: bool,
    pub duplicated_seqs: Vec<u64>,
    pub delivered_unacknowledged_seqs: Vec<u64>,
    pub reordered: Vec<ReorderedExample>,
    pub corrupt: Vec<CorruptExample>,
    pub unexpected: UnexpectedSummary,
    pub late: Vec<LateExample>,
    pub latency: LatencySummary,
    pub assertions: Vec<Assertion>,
}

/// The expectations the run was held to, as plain values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectSummary {
    /// `exactly_once` or `at_least_once`.
    pub delivery: &'static str,
    /// `per_key` or `none`.
    pub ordering: &'static str,
    pub max_latency_ms: u64,
    pub timeout_ms: u64,
}

impl ExpectSummary {
    pub(crate) fn new(expect: &Expect) -> Self {
        ExpectSummary {
            delivery: match expect.delivery {
                Delivery::ExactlyOnce => "exactly_once",
                Delivery::AtLeastOnce => "at_least_once",
            },
            ordering: match expect.ordering {
                Ordering::PerKey => "per_key",
                Ordering::None => "none",
            },
            max_latency_ms: millis(expect.max_latency),
            timeout_ms: millis(expect.timeout),
        }
    }
}

/// How the wait for records ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitSummary {
    /// Every acknowledged record was seen; false means the timeout ended the wait.
    pub complete: bool,
    pub elapsed_ms: u64,
}

/// The counts of a report; see [`Report`] for their meaning.
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
    fn describe(self) -> &'static str {
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

    fn by_reason(&self) -> String {
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
}

/// One pass/fail verdict derived from the scenario's expectations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assertion {
    /// `delivery`, `ordering`, `latency` or `no unexpected records`.
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// Writing `report.json` failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteReportError {
    #[error("cannot serialise the report")]
    Serialize(#[source] serde_json::Error),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Report {
    /// Whether every assertion passed.
    pub fn passed(&self) -> bool {
        self.assertions.iter().all(|assertion| assertion.passed)
    }

    /// A summary a person reads in five seconds: verdicts with failure specifics, counts, latency.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let location = if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        };
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        let _ = writeln!(out, "{verdict}: run {} in {location}", self.run_id);
        let width = self.assertions.iter().map(|assertion| assertion.name.len()).max().unwrap_or(0);
        for assertion in &self.assertions {
            let verdict = if assertion.passed { "PASS" } else { "FAIL" };
            let _ = writeln!(out, "  {verdict}  {:width$}  {}", assertion.name, assertion.detail);
            if !assertion.passed {
                for line in self.specifics(&assertion.name) {
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
        let _ = writeln!(
            out,
            "objects  {} read ({} bytes), {} skipped as older than the run{}",
            counts.objects,
            counts.bytes,
            counts.objects_skipped,
            if self.wait.complete { "" } else { "; timed out waiting for records" },
        );
        let latency = &self.latency;
        match (latency.p50_ms, latency.p90_ms, latency.p99_ms, latency.max_ms) {
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
        out
    }

    /// The lines that explain a failed assertion.
    fn specifics(&self, assertion: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let counts = &self.counts;
        match assertion {
            "delivery" => {
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
                if counts.duplicated > 0 && self.expect.delivery == "exactly_once" {
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
            "ordering" => {
                for example in self.reordered.iter().take(SUMMARY_EXAMPLES) {
                    lines.push(format!(
                        "key {:?}: kseq {} first delivered after kseq {} (in {})",
                        example.key, example.kseq, example.after_kseq, example.object
                    ));
                }
                more(&mut lines, counts.reordered, SUMMARY_EXAMPLES, "reordered records");
            }
            "latency" => {
                for example in self.late.iter().take(SUMMARY_EXAMPLES) {
                    lines.push(format!(
                        "seq {} (key {:?}) took {} ms (in {})",
                        example.seq, example.key, example.latency_ms, example.object
                    ));
                }
                more(&mut lines, counts.late, SUMMARY_EXAMPLES, "late records");
            }
            _ => {
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
        let path = dir.join("report.json");
        let temporary = dir.join(format!(".report.json.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(&temporary)?;
            file.write_all(&json)?;
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
}

/// The assertions the expectations ask for, in a fixed order.
pub(crate) fn assertions(expect: &Expect, counts: &Counts, unexpected: &UnexpectedSummary) -> Vec<Assertion> {
    let delivery = match expect.delivery {
        Delivery::ExactlyOnce => Assertion {
            name: "delivery".into(),
            passed: counts.lost == 0 && counts.duplicated == 0 && counts.corrupt == 0,
            detail: format!(
                "exactly once: {} lost, {} duplicated, {} corrupt",
                counts.lost, counts.duplicated, counts.corrupt
            ),
        },
        Delivery::AtLeastOnce => Assertion {
            name: "delivery".into(),
            passed: counts.lost == 0 && counts.corrupt == 0,
            detail: format!(
                "at least once: {} lost, {} corrupt ({} duplicated, allowed)",
                counts.lost, counts.corrupt, counts.duplicated
            ),
        },
    };
    let ordering = match expect.ordering {
        Ordering::PerKey => Assertion {
            name: "ordering".into(),
            passed: counts.reordered == 0,
            detail: format!("per key: {} reordered", counts.reordered),
        },
        Ordering::None => Assertion { name: "ordering".into(), passed: true, detail: "not asserted".into() },
    };
    let latency = Assertion {
        name: "latency".into(),
        passed: counts.late == 0,
        detail: format!("{} late (bound {} ms)", counts.late, millis(expect.max_latency)),
    };
    let unexpected = Assertion {
        name: "no unexpected records".into(),
        passed: counts.unexpected == 0,
        detail: if counts.unexpected == 0 {
            "0 unexpected".into()
        } else {
            format!("{} unexpected: {}", counts.unexpected, unexpected.by_reason())
        },
    };
    vec![delivery, ordering, latency, unexpected]
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

pub(crate) fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

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
