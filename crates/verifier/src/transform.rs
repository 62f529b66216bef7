//! Accounting for a Firehose data transformation: records the handler dropped on purpose, records
//! it failed (written to the error output), and transformed records whose envelope was stripped.
//!
//! None of the first two is lost: a record `Dropped` by the handler is expected to be missing, and
//! the harness learns which ones from the backend's transformation log (the verifier cannot see a
//! drop in S3); a `ProcessingFailed` record must appear under the error output prefix, in
//! Firehose's JSON error document, which the verifier reads from S3 ([`crate::decode_error_output`]).
//! Matching relies on the envelope: a transform must keep the envelope field in every record it
//! returns, and a delivered record without one is reported with that explanation.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bitset::Bitset;
use crate::decode::{Content, Decoded, Decoder};
use crate::error_output::{ErrorItem, decode_error_output};
use crate::findings::MAX_EXAMPLES;
use crate::unpack::unpack;

/// Where the verifier learns what a transformation did, for [`crate::Matcher::with_transform`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformCheck {
    /// The key prefix Firehose writes the error output under (`processing-failed/` by default):
    /// objects under it hold error documents, not delivered records.
    pub error_prefix: String,
    /// Where the count of dropped records comes from, for the report (such as "the embedded
    /// emulator's transformation log").
    pub dropped_source: String,
}

/// The transformation's figures in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransformSummary {
    /// Records the handler returned as `Dropped`: expected to be missing, not lost.
    pub dropped_by_transform: u64,
    /// Where `dropped_by_transform` comes from.
    pub dropped_source: String,
    /// Records found in the error output (unsuccessfully processed), by seq.
    pub failed_to_error_output: u64,
    /// `failed_to_error_output` per error code, such as `Lambda.FunctionError`.
    pub error_codes: BTreeMap<String, u64>,
    /// The error output prefix read.
    pub error_prefix: String,
    /// Objects read under the error output prefix.
    pub error_objects: u64,
    /// Error documents whose `rawData` has no envelope of this run.
    pub failed_without_envelope: u64,
    /// Delivered records without the envelope field: the transform stripped it, so they cannot be
    /// matched (they also count as unexpected).
    pub envelope_stripped: u64,
    /// Seqs (a sample) that went to the error output.
    pub failed_seqs: Vec<u64>,
}

/// What the matcher learns about the transformation; O(generated) bits.
#[derive(Debug)]
pub(crate) struct TransformState {
    check: TransformCheck,
    dropped: Bitset,
    failed: Bitset,
    error_codes: BTreeMap<String, u64>,
    error_objects: u64,
    failed_without_envelope: u64,
    envelope_stripped: u64,
}

impl TransformState {
    pub(crate) fn new(check: TransformCheck, generated: u64) -> Self {
        TransformState {
            check,
            dropped: Bitset::new(generated),
            failed: Bitset::new(generated),
            error_codes: BTreeMap::new(),
            error_objects: 0,
            failed_without_envelope: 0,
            envelope_stripped: 0,
        }
    }

    /// Whether `key` is an error output object.
    pub(crate) fn is_error_output(&self, key: &str) -> bool {
        key.starts_with(&self.check.error_prefix)
    }

    /// Whether `seq` is accounted for by the transformation (dropped or in the error output).
    pub(crate) fn accounts_for(&self, seq: u64) -> bool {
        self.dropped.contains(seq) || self.failed.contains(seq)
    }

    /// A record the backend reports as dropped by the handler, as it reached the handler.
    pub(crate) fn observe_dropped(
        &mut self,
        data: &[u8],
        envelope_field: &str,
        run_id: &str,
        generated: u64,
    ) {
        for item in Decoder::new(data, envelope_field) {
            if let Decoded::Record(record) = item
                && let Content::Envelope(envelope) = record.content
                && envelope.run == run_id
                && envelope.seq < generated
            {
                self.dropped.insert(envelope.seq);
            }
        }
    }

    /// One object under the error output prefix; its corrupt spans are returned for the matcher to
    /// count as corrupt.
    pub(crate) fn observe_error_object(
        &mut self,
        key: &str,
        bytes: &[u8],
        envelope_field: &str,
        run_id: &str,
        generated: u64,
    ) -> Vec<crate::CorruptSpan> {
        self.error_objects += 1;
        let unpacked = unpack(key, bytes);
        let mut corrupt = Vec::new();
        for item in decode_error_output(&unpacked.bytes, envelope_field) {
            match item {
                ErrorItem::Corrupt(span) => corrupt.push(span),
                ErrorItem::Failed(failed) => match failed.content {
                    Content::Envelope(envelope) if envelope.run == run_id && envelope.seq < generated => {
                        if self.failed.insert(envelope.seq) {
                            *self.error_codes.entry(failed.error_code).or_default() += 1;
                        }
                    }
                    // Another run's failures in a shared bucket.
                    Content::Envelope(_) => {}
                    Content::NoEnvelope | Content::MalformedEnvelope(_) => self.failed_without_envelope += 1,
                },
            }
        }
        corrupt
    }

    /// The seqs found in the error output.
    pub(crate) fn failed(&self) -> &Bitset {
        &self.failed
    }

    /// A delivered record without an envelope.
    pub(crate) fn observe_stripped(&mut self) {
        self.envelope_stripped += 1;
    }

    pub(crate) fn summary(&self) -> TransformSummary {
        TransformSummary {
            dropped_by_transform: self.dropped.count_ones(),
            dropped_source: self.check.dropped_source.clone(),
            failed_to_error_output: self.failed.count_ones(),
            error_codes: self.error_codes.clone(),
            error_prefix: self.check.error_prefix.clone(),
            error_objects: self.error_objects,
            failed_without_envelope: self.failed_without_envelope,
            envelope_stripped: self.envelope_stripped,
            failed_seqs: self.failed.ones().take(MAX_EXAMPLES).collect(),
        }
    }
}

impl TransformSummary {
    /// One line for the terminal summary, and one more when envelopes were stripped.
    pub(crate) fn summary_lines(&self) -> Vec<String> {
        let codes = if self.error_codes.is_empty() {
            String::new()
        } else {
            let codes: Vec<String> = self.error_codes.iter().map(|(code, n)| format!("{code} {n}")).collect();
            format!(" ({})", codes.join(", "))
        };
        let mut lines = vec![format!(
            "transform {} dropped by the transform (from {}), {} failed to the error output under {:?}{codes}; \
             neither counts as lost",
            self.dropped_by_transform, self.dropped_source, self.failed_to_error_output, self.error_prefix,
        )];
        if self.envelope_stripped > 0 {
            lines.push(format!(
                "         {} delivered records have no envelope: the transform stripped it. A transform must \
                 keep the envelope field in every record it returns, or records cannot be matched",
                self.envelope_stripped
            ));
        }
        if self.failed_without_envelope > 0 {
            lines.push(format!(
                "         {} error documents hold records without an envelope of this run",
                self.failed_without_envelope
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    fn record(seq: u64) -> String {
        format!(r#"{{"a":1,"_streamproof":{{"run":"r1","seq":{seq},"key":"k","kseq":{seq},"sent_ns":5}}}}"#)
    }

    fn document(code: &str, raw: &str) -> String {
        format!(
            "{{\"attemptsMade\":1,\"arrivalTimestamp\":1,\"errorCode\":\"{code}\",\"errorMessage\":\"m\",\
             \"attemptEndingTimestamp\":2,\"rawData\":\"{}\",\"lambdaArn\":\"arn\"}}\n",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    #[test]
    fn dropped_and_failed_records_are_accounted_by_seq_and_error_code() {
        let check =
            TransformCheck { error_prefix: "processing-failed/".into(), dropped_source: "a log".into() };
        let mut state = TransformState::new(check, 10);
        assert!(state.is_error_output("processing-failed/2026/x") && !state.is_error_output("2026/x"));
        state.observe_dropped(record(3).as_bytes(), "_streamproof", "r1", 10);
        state.observe_dropped(record(3).as_bytes(), "_streamproof", "r1", 10);
        state.observe_dropped(record(12).as_bytes(), "_streamproof", "r1", 10);
        let object = format!(
            "{}{}{}not json\n",
            document("Lambda.FunctionError", &record(5)),
            document("Lambda.FunctionTimedOut", &record(6)),
            document("Lambda.FunctionError", "no envelope")
        );
        let corrupt =
            state.observe_error_object("processing-failed/o", object.as_bytes(), "_streamproof", "r1", 10);
        assert_eq!(corrupt.len(), 1);
        assert!(state.accounts_for(3) && state.accounts_for(5) && state.accounts_for(6));
        assert!(!state.accounts_for(4));
        let summary = state.summary();
        assert_eq!((summary.dropped_by_transform, summary.failed_to_error_output), (1, 2));
        assert_eq!(summary.failed_seqs, vec![5, 6]);
        assert_eq!(summary.failed_without_envelope, 1);
        assert_eq!(
            summary.error_codes,
            BTreeMap::from([("Lambda.FunctionError".into(), 1), ("Lambda.FunctionTimedOut".into(), 1)])
        );
        assert!(summary.summary_lines()[0].contains("1 dropped by the transform (from a log)"));
    }
}
