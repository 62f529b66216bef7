//! The verifier's one entry point: [`verify`] reads a run's records from an [`ObjectSource`] (a
//! bucket, or objects kept as local files) as the options' [`Destination`] says (S3, S3 behind a
//! data transformation, or a search index with its backup), so `streamproof run` and
//! `streamproof verify` check a run the same way.

use std::path::Path;

use producer::Expectation;
use tokio::time::Instant;

use crate::error::VerifyError;
use crate::local::verify_files;
use crate::options::{Destination, VerifyOptions};
use crate::report::Report;
use crate::s3::verify_objects;
use crate::search::verify_search;

/// Where the delivered objects are read.
#[derive(Debug, Clone, Copy)]
pub enum ObjectSource<'a> {
    /// The bucket `options.bucket`, through the AWS SDK, polled until every acknowledged record is
    /// seen or `options.expect.timeout` has passed.
    S3(&'a aws_sdk_s3::Client),
    /// A file, or every file under a directory (a bucket copied with `aws s3 sync`), read once: a
    /// file's path relative to the directory is its key, its modification time its LastModified.
    Files(&'a Path),
}

/// Verifies a run against `expectation`: reads what the destination delivered and reports every
/// finding and assertion. Errors are the harness's (a bucket or cluster that cannot be read);
/// findings about the pipeline are in the report.
pub async fn verify(
    source: ObjectSource<'_>,
    expectation: &Expectation,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    match (source, &options.destination) {
        (ObjectSource::S3(s3), Destination::Search(check)) => {
            verify_search(s3, expectation, options, check).await
        }
        (ObjectSource::S3(s3), Destination::S3 | Destination::Transformed { .. }) => {
            let deadline = Instant::now() + options.expect.timeout;
            verify_objects(s3, expectation, options, None, deadline).await
        }
        (ObjectSource::Files(_), Destination::Search(check)) => Err(VerifyError::Unsupported(format!(
            "a search destination's records are in its index ({}): read it with --index, not from files",
            check.index_pattern()
        ))),
        (ObjectSource::Files(path), _) => Ok(verify_files(path, expectation, options)?),
    }
}
