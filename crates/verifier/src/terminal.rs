//! The terminal rendering of a report: a summary a person reads in five seconds, with the
//! specifics of every failed assertion (also the JUnit failure text). It only reads the report.

use std::fmt::Write as _;

use scenario::Delivery;

use crate::assertion::{AssertionKind, AssertionStatus};
use crate::findings::{compress, plural, render_ranges};
use crate::report::Report;

/// How many examples of each kind the terminal summary prints.
const SUMMARY_EXAMPLES: usize = 5;

/// How many lost ranges the terminal summary prints.
const SUMMARY_RANGES: usize = 10;

impl Report {
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
        let assertions = self.assertions();
        let width = assertions.iter().map(|assertion| assertion.name().len()).max().unwrap_or(0);
        for assertion in &assertions {
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
            if let Some(lineage) = distribution.lineage_line() {
                let _ = writeln!(out, "{lineage}");
            }
            if !distribution.throttled_keys.is_empty() {
                let _ = writeln!(
                    out,
                    "         most throttled keys: {}",
                    distribution.hot_keys(SUMMARY_EXAMPLES)
                );
            }
        }
        if let Some(resharding) = &self.resharding {
            for line in resharding.lines() {
                let _ = writeln!(out, "{line}");
            }
        }
        out
    }

    /// The lines that explain a failed assertion.
    pub(crate) fn specifics(&self, assertion: AssertionKind) -> Vec<String> {
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
