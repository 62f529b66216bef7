//! S3: path-style REST served by s3s over an in-memory store that Firehose also writes to.

pub(crate) mod backend;
pub(crate) mod request;
pub(crate) mod store;

use std::sync::Arc;

use s3s::service::{S3Service, S3ServiceBuilder};

use crate::clock::Clock;
use backend::S3Backend;
use store::S3Store;

/// Builds the s3s service over `store`.
///
/// No `S3Auth` is configured: [`request::prepare`] strips signatures first, so s3s sees anonymous
/// requests and allows them.
pub(crate) fn service(store: Arc<S3Store>, clock: Clock, region: &str) -> S3Service {
    S3ServiceBuilder::new(S3Backend { store, clock, region: region.to_owned() }).build()
}
