//! S3: path-style and virtual-host-style REST served by s3s over the store that Firehose also writes to.

pub(crate) mod backend;
pub(crate) mod cors;
pub(crate) mod dto;
pub(crate) mod http;
pub(crate) mod metrics;
pub(crate) mod multipart;
pub(crate) mod request;
pub(crate) mod store;
pub(crate) mod versions;

use std::sync::Arc;

use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};
use s3s::service::{S3Service, S3ServiceBuilder};

use crate::clock::Clock;
use backend::S3Backend;
use store::S3Store;

/// The S3 operations `backend` implements, with what each leaves out of AWS's behaviour; every
/// other operation answers S3's `NotImplemented` naming it. A test holds this list to the `S3`
/// trait methods `backend.rs` implements, so the coverage table cannot drift from the code.
pub(crate) const OPERATIONS: &[(&str, Option<&str>)] = &[
    ("CreateBucket", None),
    ("HeadBucket", None),
    ("GetBucketLocation", None),
    ("ListBuckets", None),
    ("DeleteBucket", None),
    ("PutObject", Some("checksums other than Content-MD5 are not verified")),
    ("GetObject", Some("no Range requests over parts (PartNumber)")),
    ("HeadObject", None),
    ("DeleteObject", None),
    ("DeleteObjects", None),
    ("ListObjectsV2", None),
    ("ListObjects", None),
    ("CopyObject", None),
    ("CreateMultipartUpload", None),
    ("UploadPart", None),
    ("UploadPartCopy", None),
    ("CompleteMultipartUpload", None),
    ("AbortMultipartUpload", None),
    ("ListParts", None),
    ("ListMultipartUploads", None),
    ("PutBucketTagging", None),
    ("GetBucketTagging", None),
    ("DeleteBucketTagging", None),
    ("PutObjectTagging", None),
    ("GetObjectTagging", None),
    ("DeleteObjectTagging", None),
    ("GetBucketEncryption", Some("always the SSE-S3 default; PutBucketEncryption is refused")),
    ("GetBucketPolicy", Some("always NoSuchBucketPolicy; PutBucketPolicy is refused")),
    ("PutBucketCors", None),
    ("GetBucketCors", None),
    ("DeleteBucketCors", None),
    ("PutBucketVersioning", Some("MFA delete is not modelled")),
    (
        "ListObjectVersions",
        Some("noncurrent versions live in memory: a data directory keeps current objects only"),
    ),
    ("GetBucketVersioning", None),
    (
        "PutBucketMetricsConfiguration",
        Some("kept and described back; no CloudWatch request metrics are published"),
    ),
    ("GetBucketMetricsConfiguration", None),
    ("ListBucketMetricsConfigurations", None),
    ("DeleteBucketMetricsConfiguration", None),
];

/// Builds the s3s service over `store`.
///
/// No `S3Auth` is configured: [`request::prepare`] strips signatures first, so s3s sees anonymous
/// requests and allows them.
pub(crate) fn service(store: Arc<S3Store>, clock: Clock, region: &str) -> S3Service {
    let mut builder =
        S3ServiceBuilder::new(S3Backend { store, uploads: Arc::default(), clock, region: region.to_owned() });
    builder.set_host(LocalHost);
    builder.build()
}

/// The domain under which `<bucket>.localhost` names a bucket, as `<bucket>.s3.amazonaws.com` does.
const BASE_DOMAIN: &str = "localhost";

/// Reads the bucket from `Host: <bucket>.localhost[:port]` (virtual-host style); any other host,
/// including `localhost` and IP addresses, means path style.
#[derive(Debug)]
struct LocalHost;

impl S3Host for LocalHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        Ok(match bucket_of_host(host) {
            Some(bucket) => VirtualHost::new(host).with_bucket(bucket),
            None => VirtualHost::new(host),
        })
    }
}

/// The bucket of a virtual-host-style `Host` header, `<bucket>.localhost[:port]`.
pub(crate) fn bucket_of_host(host: &str) -> Option<&str> {
    let name =
        host.rsplit_once(':').filter(|(_, port)| port.parse::<u16>().is_ok()).map_or(host, |(name, _)| name);
    name.strip_suffix(BASE_DOMAIN)?.strip_suffix('.').filter(|bucket| !bucket.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_list_is_what_the_backend_implements() {
        let implemented: std::collections::BTreeSet<String> = include_str!("backend.rs")
            .split("async fn ")
            .skip(1)
            .map(|rest| {
                let name = rest.split('(').next().unwrap_or_default();
                name.split('_').map(|word| word[..1].to_uppercase() + &word[1..]).collect::<String>()
            })
            .collect();
        let listed: std::collections::BTreeSet<String> =
            OPERATIONS.iter().map(|(op, _)| (*op).to_owned()).collect();
        assert_eq!(listed, implemented);
    }

    #[test]
    fn buckets_come_from_localhost_subdomains_only() {
        assert_eq!(bucket_of_host("logs.localhost:4566"), Some("logs"));
        assert_eq!(bucket_of_host("my.dotted.bucket.localhost"), Some("my.dotted.bucket"));
        assert_eq!(bucket_of_host("localhost:4566"), None);
        assert_eq!(bucket_of_host("127.0.0.1:4566"), None);
        assert_eq!(bucket_of_host("emulator.internal:4566"), None);
    }
}
