//! The verifier's errors: the harness could not read what the pipeline delivered. Findings about
//! the pipeline are never errors; they are in the report.

use std::path::PathBuf;

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error;
use aws_sdk_s3::primitives::ByteStreamError;

/// The harness could not read S3; findings about the pipeline are never errors.
///
/// Each message is one line: what was read, then the error code, message, HTTP status and request id
/// of AWS's answer, or the transport failure's cause chain.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("listing s3://{bucket}/{prefix} failed: {}", aws_error::describe(.error))]
    List { bucket: String, prefix: String, error: Box<SdkError<ListObjectsV2Error>> },
    #[error("reading s3://{bucket}/{key} failed: {}", aws_error::describe(.error))]
    Get { bucket: String, key: String, error: Box<SdkError<GetObjectError>> },
    #[error("reading the body of s3://{bucket}/{key} failed: {}", aws_error::chain(.error))]
    Body { bucket: String, key: String, error: ByteStreamError },
    /// The search cluster of an OpenSearch/Elasticsearch destination could not be read: `reason` is
    /// the HTTP status and the start of the body, or the transport error with its sources.
    #[error("{method} {url} failed: {reason}")]
    Search { method: &'static str, url: String, reason: String },
    /// Local objects could not be read.
    #[error(transparent)]
    Local(#[from] LocalReadError),
    /// The source cannot hold the destination's records.
    #[error("{0}")]
    Unsupported(String),
}

/// Reading local objects failed; findings about the pipeline are never errors.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}", path.display())]
pub struct LocalReadError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}
