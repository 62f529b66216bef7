//! The expectation: what the producer generated and what the backend acknowledged, handed to the verifier.

use std::collections::BTreeMap;

/// What a run must find in S3: every seq in `0..generated` that is not in `failed`.
///
/// Kept compact on purpose: the per-record facts the verifier needs (key, per-key sequence, send
/// time) travel inside each record's envelope, so the expectation only lists the exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The run id every envelope of this run carries.
    pub run_id: String,
    /// The name of the envelope field inside each event.
    pub envelope_field: String,
    /// Events were generated with seqs `0..generated`.
    pub generated: u64,
    /// Seqs the backend never acknowledged, with the reason of the last failure.
    pub failed: BTreeMap<u64, String>,
    /// Unix nanoseconds of the first put call.
    pub first_sent_ns: u64,
    /// Unix nanoseconds of the last acknowledgement.
    pub last_ack_ns: u64,
}

impl Expectation {
    /// Number of records the backend acknowledged, which must all be delivered.
    pub fn acknowledged(&self) -> u64 {
        self.generated - self.failed.len() as u64
    }

    /// Whether `seq` was acknowledged and so must be delivered.
    pub fn expects(&self, seq: u64) -> bool {
        seq < self.generated && !self.failed.contains_key(&seq)
    }
}
