//! Between s3s's request and response types and the store's: tag sets, metadata, listings, copy
//! sources and ranges, bodies, and the error codes of the store's and multipart's errors, with the
//! request values S3 refuses (location constraints, tag limits, page sizes).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

use crate::s3::multipart::MultipartError;
use crate::s3::store::{BucketConfig, Object, StoreError, VersionEntry, md5_of};

/// The values CreateBucketConfiguration's `LocationConstraint` takes (S3 API reference,
/// CreateBucketConfiguration); `EU` is the legacy name of eu-west-1. us-east-1 is not one of them:
/// a bucket there is created without a constraint.
pub(crate) const LOCATION_CONSTRAINTS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "EU",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

impl From<MultipartError> for S3Error {
    fn from(err: MultipartError) -> S3Error {
        let code = match err {
            MultipartError::NoSuchUpload => S3ErrorCode::NoSuchUpload,
            MultipartError::InvalidPartNumber => S3ErrorCode::InvalidArgument,
            MultipartError::InvalidPartOrder => S3ErrorCode::InvalidPartOrder,
            MultipartError::InvalidPart(_) => S3ErrorCode::InvalidPart,
            MultipartError::EntityTooSmall { .. } => S3ErrorCode::EntityTooSmall,
            MultipartError::MalformedXml => S3ErrorCode::MalformedXML,
        };
        S3Error::with_message(code, err.to_string())
    }
}

/// The region a bucket created with `constraint` is in: us-east-1 without one, eu-west-1 for the
/// legacy `EU`.
pub(crate) fn constraint_region(constraint: Option<&str>) -> &str {
    match constraint {
        None => "us-east-1",
        Some("EU") => "eu-west-1",
        Some(region) => region,
    }
}

/// The region a bucket with `config` is in, as HeadBucket and ListBuckets report it.
pub(crate) fn bucket_region(config: &BucketConfig) -> String {
    constraint_region(config.location.as_deref()).to_owned()
}

/// Tags from an `x-amz-tagging` header: a URL-encoded query string, `k1=v1&k2=v2`.
pub(crate) fn header_tags(header: Option<&str>) -> Vec<(String, String)> {
    header.map_or_else(Vec::new, |header| {
        form_urlencoded::parse(header.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    })
}

/// A tag set as the store keeps it.
pub(crate) fn tag_pairs(tag_set: TagSet) -> Vec<(String, String)> {
    tag_set.into_iter().map(|tag| (tag.key.unwrap_or_default(), tag.value.unwrap_or_default())).collect()
}

/// `pairs`, unless S3 refuses them: more than `limit` tags (10 on an object, 50 on a bucket), or a
/// key given twice.
pub(crate) fn checked_tags(pairs: Vec<(String, String)>, limit: usize) -> S3Result<Vec<(String, String)>> {
    if pairs.len() > limit {
        return Err(s3_error!(InvalidTag, "Object tags cannot be greater than {limit}"));
    }
    let mut keys: Vec<&str> = pairs.iter().map(|(key, _)| key.as_str()).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(s3_error!(InvalidTag, "Cannot provide multiple Tags with the same key"));
    }
    Ok(pairs)
}

/// Refuses `data` whose MD5 is not the request's `Content-MD5` (base64), as PutObject and UploadPart do.
pub(crate) fn check_content_md5(data: &[u8], expected: Option<&str>) -> S3Result<()> {
    match expected {
        Some(expected) if STANDARD.encode(md5_of(data)) != expected => {
            Err(s3_error!(BadDigest, "The Content-MD5 you specified did not match what we received."))
        }
        _ => Ok(()),
    }
}

/// An object's user metadata for a response, `None` when it has none.
pub(crate) fn user_metadata(object: &Object) -> Option<Metadata> {
    (!object.metadata.is_empty()).then(|| object.metadata.clone().into_iter().collect())
}

/// `x-amz-tagging-count` of GetObject: the number of tags, when there are any.
pub(crate) fn tag_count(object: &Object) -> Option<i32> {
    (!object.tags.is_empty()).then(|| i32::try_from(object.tags.len()).unwrap_or(i32::MAX))
}

/// A stored tag set as S3 answers it.
pub(crate) fn tag_set(pairs: &[(String, String)]) -> TagSet {
    pairs.iter().map(|(key, value)| Tag { key: Some(key.clone()), value: Some(value.clone()) }).collect()
}

/// The source bucket and key of a copy; access points and outposts are not emulated.
pub(crate) fn copy_source(source: &CopySource) -> S3Result<(&str, &str)> {
    match source {
        CopySource::Bucket { bucket, key, .. } => Ok((bucket, key)),
        _ => Err(s3_error!(NotImplemented, "copying from an access point or an outpost is not implemented")),
    }
}

/// A `bytes=first-last` copy range of an object of `len` bytes, as UploadPartCopy takes it.
pub(crate) fn copy_range(range: &str, len: usize) -> S3Result<std::ops::Range<usize>> {
    let invalid = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )
    };
    let (first, last) =
        range.strip_prefix("bytes=").and_then(|span| span.split_once('-')).ok_or_else(invalid)?;
    let (first, last): (usize, usize) =
        (first.parse().map_err(|_| invalid())?, last.parse().map_err(|_| invalid())?);
    if first > last || last >= len {
        return Err(s3_error!(
            InvalidRange,
            "The requested range {range} is not satisfiable for an object of {len} bytes"
        ));
    }
    Ok(first..last + 1)
}

/// The listing entry of `object` under `key`.
pub(crate) fn listed(key: String, object: &Object) -> s3s::dto::Object {
    s3s::dto::Object {
        e_tag: Some(quoted_etag(object)),
        key: Some(key),
        last_modified: Some(Timestamp::from(object.last_modified)),
        size: Some(object.data.len() as i64),
        storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
        ..Default::default()
    }
}

/// The version id a response names for `object`: its id, or `null` for the null version of a
/// bucket that has versioning configured; `None` in a bucket that never had it.
pub(crate) fn response_version_id(object: &Object, versioned: bool) -> Option<String> {
    match &object.version_id {
        Some(id) => Some(id.clone()),
        None => versioned.then(|| crate::s3::versions::NULL_VERSION.to_owned()),
    }
}

/// The ListObjectVersions entry of one version: an `ObjectVersion`, or a `DeleteMarkerEntry`.
pub(crate) fn listed_version(version: VersionEntry) -> Result<ObjectVersion, DeleteMarkerEntry> {
    let version_id = Some(version.version_id.unwrap_or_else(|| crate::s3::versions::NULL_VERSION.to_owned()));
    let last_modified = Some(Timestamp::from(version.last_modified));
    match version.object {
        Some(object) => Ok(ObjectVersion {
            e_tag: Some(quoted_etag(&object)),
            is_latest: Some(version.is_latest),
            key: Some(version.key),
            last_modified,
            size: Some(object.data.len() as i64),
            storage_class: Some(ObjectVersionStorageClass::from_static(ObjectVersionStorageClass::STANDARD)),
            version_id,
            ..Default::default()
        }),
        None => Err(DeleteMarkerEntry {
            is_latest: Some(version.is_latest),
            key: Some(version.key),
            last_modified,
            version_id,
            ..Default::default()
        }),
    }
}

/// A page size as S3 takes it: at most 1000, never negative.
pub(crate) fn page_size(max_keys: Option<i32>) -> S3Result<i32> {
    let max_keys = max_keys.unwrap_or(MAX_KEYS);
    if max_keys < 0 {
        return Err(s3_error!(InvalidArgument, "max-keys must not be negative"));
    }
    Ok(max_keys.min(MAX_KEYS))
}

/// Default and largest page size of ListObjects and ListObjectsV2.
pub(crate) const MAX_KEYS: i32 = 1000;
/// The most tags an object and a bucket may have (S3 user guide, "Categorizing your storage using
/// tags"; "Using cost allocation S3 bucket tags").
pub(crate) const OBJECT_TAGS: usize = 10;
pub(crate) const BUCKET_TAGS: usize = 50;

impl From<StoreError> for S3Error {
    fn from(err: StoreError) -> S3Error {
        let code = match err {
            StoreError::NoSuchBucket => S3ErrorCode::NoSuchBucket,
            StoreError::NoSuchKey => S3ErrorCode::NoSuchKey,
            StoreError::BucketAlreadyOwnedByYou => S3ErrorCode::BucketAlreadyOwnedByYou,
            StoreError::BucketNotEmpty => S3ErrorCode::BucketNotEmpty,
            StoreError::InvalidContinuationToken => S3ErrorCode::InvalidArgument,
            StoreError::Disk => S3ErrorCode::InternalError,
            StoreError::NoSuchVersion => S3ErrorCode::NoSuchVersion,
            StoreError::DeleteMarker => S3ErrorCode::MethodNotAllowed,
        };
        S3Error::with_message(code, err.to_string())
    }
}

pub(crate) fn quoted_etag(object: &Object) -> ETag {
    ETag::Strong(object.etag.clone())
}

/// Reads a streaming body into one buffer, without copying when it arrived in one piece.
pub(crate) async fn collect_body(body: Option<StreamingBlob>, size_hint: usize) -> S3Result<Bytes> {
    let Some(mut body) = body else { return Ok(Bytes::new()) };
    let mut first: Option<Bytes> = None;
    let mut buffer: Option<BytesMut> = None;
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|err| s3_error!(IncompleteBody, "failed to read the request body: {err}"))?;
        match (&mut first, &mut buffer) {
            (None, None) => first = Some(chunk),
            (Some(head), None) => {
                let mut joined = BytesMut::with_capacity(size_hint.max(head.len() + chunk.len()));
                joined.extend_from_slice(head);
                joined.extend_from_slice(&chunk);
                buffer = Some(joined);
            }
            (_, Some(joined)) => joined.extend_from_slice(&chunk),
        }
    }
    Ok(match (first, buffer) {
        (_, Some(joined)) => joined.freeze(),
        (Some(single), None) => single,
        (None, None) => Bytes::new(),
    })
}
