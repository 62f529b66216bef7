//! Ground truth: the faults a backend injected on purpose (a scenario's `[faults]`), as the report
//! carries them beside the findings, so a reader (or `cargo xtask repro`) compares the two from one file.
//!
//! The verifier does not produce these: the harness hands them over from the backend's fault log.

use serde::Serialize;
use vocabulary::FaultName;

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InjectedFault {
    /// What was done, in snake case in the report: `drop_kinesis`, `drop_firehose`, `duplicate`,
    /// `reorder`, `corrupt`, `truncate`, `delay`, `s3_put_failure`, `throttle_burst`,
    /// `internal_failure`, `stall_shard`, `index_failure`.
    pub kind: FaultName,
    /// The seq of the record it hit, when the record carried an envelope.
    pub seq: Option<u64>,
    /// The partition key and shard of the record, when known.
    pub partition_key: Option<String>,
    pub shard: Option<String>,
    /// The S3 object it affected, when one was written.
    pub object: Option<String>,
    /// What happened, in one sentence.
    pub what: String,
}
