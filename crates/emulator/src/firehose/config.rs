//! A delivery stream's configuration as the emulator runs it: its source and its S3 destination (the
//! search destination's own settings are in `search.rs`).

use std::io::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use flate2::write::GzEncoder;

use crate::firehose::api::ProcessingConfiguration;
use crate::firehose::processor::LambdaProcessor;
use crate::kinesis::store::Stream;
use vocabulary::PrefixTemplate;

/// Where a delivery stream's records come from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Producers call PutRecord and PutRecordBatch.
    DirectPut,
    /// Firehose reads a Kinesis stream, from LATEST at creation, inside the process.
    Kinesis { stream_arn: String, role_arn: String, stream: Arc<Stream>, start_positions: Vec<u64> },
}

/// The S3 destination as configured, kept for describing it back.
#[derive(Debug)]
pub(crate) struct Destination {
    pub(crate) role_arn: String,
    pub(crate) bucket_arn: String,
    pub(crate) bucket: String,
    pub(crate) prefix: Option<String>,
    pub(crate) prefix_template: PrefixTemplate,
    pub(crate) error_output_prefix: Option<String>,
    /// Where error output goes: `ErrorOutputPrefix`, or its default under `Prefix`.
    pub(crate) error_output_template: PrefixTemplate,
    pub(crate) size_in_mbs: i64,
    pub(crate) interval_in_seconds: i64,
    pub(crate) compression: Compression,
    /// Whether the `AppendDelimiterToRecord` processor adds a newline after every record.
    pub(crate) append_delimiter: bool,
    /// The `Lambda` processor, which transforms records before they reach the destination buffer.
    pub(crate) lambda: Option<LambdaProcessor>,
    /// The processing configuration as given, for describing it back.
    pub(crate) processing: ProcessingConfiguration,
    pub(crate) file_extension: Option<String>,
}

/// How objects are compressed before they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    Uncompressed,
    Gzip,
}

impl Compression {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Compression::Uncompressed => "UNCOMPRESSED",
            Compression::Gzip => "GZIP",
        }
    }

    /// The extension Firehose appends to object keys unless a `FileExtension` is configured.
    pub(crate) fn default_extension(self) -> &'static str {
        match self {
            Compression::Uncompressed => "",
            Compression::Gzip => ".gz",
        }
    }

    /// The object body for a batch.
    pub(crate) fn apply(self, data: &Bytes) -> Bytes {
        match self {
            Compression::Uncompressed => data.clone(),
            Compression::Gzip => {
                let mut encoder =
                    GzEncoder::new(Vec::with_capacity(data.len() / 4), flate2::Compression::default());
                // Writing to a Vec cannot fail.
                let _ = encoder.write_all(data);
                Bytes::from(encoder.finish().unwrap_or_default())
            }
        }
    }
}
