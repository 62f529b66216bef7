//! The verifier: reads what a pipeline delivered to S3 and proves it against what the producer sent.
//!
//! The work splits into pure parts and one thin I/O part:
//!
//! - [`decode`] turns an object's bytes into records and corrupt spans (concatenated JSON, NDJSON,
//!   garbage resync) and extracts each record's envelope without building a tree of the payload.
//! - [`Matcher`] classifies records against the [`producer::Expectation`] (delivered, lost,
//!   duplicated, reordered, corrupt, unexpected, late) in O(N) bits plus per-key state.
//! - [`Report`] holds the findings and the assertions derived from [`scenario::Expect`], and renders
//!   them for a terminal and as `report.json`.
//! - [`verify`] lists and reads a bucket through the AWS SDK, polling until every acknowledged
//!   record has been seen or the timeout has elapsed.

mod bitset;
mod decode;
mod matcher;
mod report;
mod s3;

pub use decode::{Content, CorruptSpan, Decoded, Decoder, Record, decode};
pub use matcher::{Matcher, ReadSummary};
pub use report::{
    Assertion, CorruptExample, Counts, ExpectSummary, LateExample, LatencySummary, MAX_EXAMPLES,
    ReorderedExample, Report, SCHEMA_VERSION, SeqRange, UnexpectedExample, UnexpectedReason,
    UnexpectedSummary, WaitSummary, WriteReportError, compress, render_ranges,
};
pub use s3::{S3_PRECISION, VerifyError, VerifyOptions, verify};
