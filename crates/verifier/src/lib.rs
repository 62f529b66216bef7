//! The verifier: reads what a pipeline delivered to S3 and proves it against what the producer sent.
//!
//! The work splits into pure parts and one thin I/O part:
//!
//! - [`unpack`] undoes GZIP compression, recognised by magic bytes or a `.gz` key, every member.
//! - [`decode`] turns an object's bytes into records and corrupt spans (concatenated JSON, NDJSON,
//!   garbage resync) and extracts each record's envelope without building a tree of the payload.
//! - [`Matcher`] classifies records against the [`producer::Expectation`] (delivered, lost,
//!   duplicated, reordered, corrupt, unexpected, late) in O(N) bits plus per-key state, and with a
//!   [`BufferingCheck`] holds objects to the scenario's Firehose buffering hints.
//! - [`Report`] holds the findings and the assertions derived from [`scenario::Expect`], and renders
//!   them for a terminal, as `report.json`, as `junit.xml` and as `report.html` with charts. Its
//!   first assertion, `sending`, fails on records that exhausted their retries ([`FailedSend`])
//!   beyond `max_failed_fraction`, and always when nothing was acknowledged.
//! - [`Distribution`] is the run's records per shard and most throttled keys, as the producer saw
//!   them, with the `max_shard_share` and `max_throttled_fraction` assertions; [`InjectedFault`] is
//!   the ground truth of a fault plan, carried in the report.
//! - [`FormatSummary`] is the `[expect] format = "ndjson"` check: objects whose records run
//!   together with no newline (`{..}{..}`), which line-oriented readers see as their first record.
//! - [`TransformCheck`] accounts for a Firehose data transformation: records the handler dropped
//!   (from the backend's log) and records in the error output are not lost; [`TransformSummary`]
//!   reports them, and delivered records whose envelope the transform stripped.
//! - A search destination ([`Destination::Search`] with a [`SearchCheck`]) is verified from its index:
//!   it reads the index over its REST API (`_refresh`, `_count`, a scroll over `match_all`) and
//!   matches every document's `_source`; records in the failed-documents backup (Firehose's error
//!   documents, `rawData` base64) are failed, not lost; with `AllDocuments` the S3 backup alone must
//!   hold every record. [`SearchSummary`] reports the index, the failures per `errorCode` and the
//!   backup; ordering and latency are not applicable to an index, which has neither.
//! - [`export_ndjson`] writes an object's records as NDJSON, for `streamproof decode`; with
//!   [`ExportOptions::raw_data`], the original records inside error output and failed documents.
//! - [`verify`] is the one entry point: it reads an [`ObjectSource`] (a bucket through the AWS SDK,
//!   polling until every acknowledged record has been seen or the timeout has elapsed, or objects
//!   kept as local files) as [`VerifyOptions::destination`] says: S3, S3 behind a data
//!   transformation, or a search index.

mod assertion;
mod bitset;
mod buffering;
mod decode;
mod distribution;
mod entry;
mod error;
mod error_output;
mod export;
mod files;
mod findings;
mod format;
mod ground_truth;
mod html;
mod junit;
mod local;
mod matcher;
mod options;
mod ordering;
mod report;
mod resharding;
mod s3;
mod search;
mod search_summary;
mod terminal;
mod transform;
mod unpack;

pub use assertion::{Assertion, AssertionKind, AssertionStatus};
pub use buffering::BufferingCheck;
pub use decode::{Content, CorruptSpan, Decoded, Decoder, Record, decode};
pub use distribution::{Distribution, ShardLineage, ShardRecords, ThrottledKeySummary};
pub use entry::{ObjectSource, verify};
pub use error::{LocalReadError, VerifyError};
pub use error_output::{ErrorItem, FailedRecord, decode_error_output};
pub use export::{
    ExportError, ExportOptions, ExportSummary, Exported, export_ndjson, export_path, export_s3,
};
pub use files::{ReportPaths, WriteReportError};
pub use findings::{
    BufferingSummary, CorruptExample, Counts, ExpectSummary, FailedSend, HistogramBucket, LATENCY_BUCKETS_MS,
    LateExample, LatencySummary, MAX_EXAMPLES, MAX_OBJECTS, ObjectSummary, ReorderedExample, SeqRange,
    SizeDistribution, UnexpectedExample, UnexpectedReason, UnexpectedSummary, WaitSummary, compress,
    render_ranges,
};
pub use format::{ConcatenatedObject, FormatSummary};
pub use ground_truth::InjectedFault;
pub use html::escape as escape_html;
pub use local::FILE_PRECISION;
pub use matcher::{Matcher, ReadSummary, TimeScale};
pub use options::{Destination, DroppedLog, SearchCheck, VerifyOptions};
pub use report::{Report, SCHEMA_VERSION};
pub use resharding::{PhaseCounts, ReshardingSummary, Transition};
pub use s3::{
    FETCH_IN_FLIGHT, ListedObject, S3_PRECISION, TimeWindow, fetch_objects, get_object, hour_prefixes,
    list_objects,
};
pub use search_summary::SearchSummary;
pub use transform::{TransformCheck, TransformSummary};
pub use unpack::{Unpacked, is_gzip, unpack};
