//! The `s3s::S3` implementation over the in-memory store; s3s does the HTTP, XML and protocol work.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use s3s::dto::*;
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use crate::clock::Clock;
use crate::s3::store::{ListQuery, Object, S3Store, StoreError, md5_of};

/// Serves the S3 operations the emulator supports; every other operation answers `NotImplemented`.
#[derive(Debug, Clone)]
pub(crate) struct S3Backend {
    pub(crate) store: Arc<S3Store>,
    pub(crate) clock: Clock,
    pub(crate) region: String,
}

/// Default and largest page size of ListObjectsV2.
const MAX_KEYS: i32 = 1000;

impl From<StoreError> for S3Error {
    fn from(err: StoreError) -> S3Error {
        let code = match err {
            StoreError::NoSuchBucket => S3ErrorCode::NoSuchBucket,
            StoreError::NoSuchKey => S3ErrorCode::NoSuchKey,
            StoreError::BucketAlreadyOwnedByYou => S3ErrorCode::BucketAlreadyOwnedByYou,
            StoreError::BucketNotEmpty => S3ErrorCode::BucketNotEmpty,
            StoreError::InvalidContinuationToken => S3ErrorCode::InvalidArgument,
            StoreError::Disk => S3ErrorCode::InternalError,
        };
        S3Error::with_message(code, err.to_string())
    }
}

fn quoted_etag(object: &Object) -> ETag {
    ETag::Strong(object.etag.clone())
}

/// Reads a streaming body into one buffer, without copying when it arrived in one piece.
async fn collect_body(body: Option<StreamingBlob>, size_hint: usize) -> S3Result<Bytes> {
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

#[async_trait::async_trait]
impl S3 for S3Backend {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket;
        match self.store.create_bucket(&bucket, self.clock.now()) {
            Ok(()) => {}
            // In us-east-1, S3 answers 200 OK when the caller re-creates a bucket it owns.
            Err(StoreError::BucketAlreadyOwnedByYou) if self.region == "us-east-1" => {}
            Err(err) => return Err(err.into()),
        }
        tracing::debug!(%bucket, "created bucket");
        Ok(S3Response::new(CreateBucketOutput { location: Some(format!("/{bucket}")) }))
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        if !self.store.has_bucket(&req.input.bucket) {
            return Err(StoreError::NoSuchBucket.into());
        }
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(self.region.clone()),
            ..Default::default()
        }))
    }

    async fn list_buckets(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let buckets = self
            .store
            .list_buckets()
            .into_iter()
            .map(|(name, created)| Bucket {
                name: Some(name),
                creation_date: Some(Timestamp::from(created)),
                bucket_region: Some(self.region.clone()),
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput { buckets: Some(buckets), ..Default::default() }))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.store.delete_bucket(&req.input.bucket)?;
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let input = req.input;
        let size_hint = input.content_length.and_then(|len| usize::try_from(len).ok()).unwrap_or(0);
        let data = collect_body(input.body, size_hint).await?;
        if let Some(expected) = input.content_md5.as_deref() {
            let actual = STANDARD.encode(md5_of(&data));
            if actual != expected {
                return Err(s3_error!(
                    BadDigest,
                    "The Content-MD5 you specified did not match what we received."
                ));
            }
        }
        let size = data.len();
        let object =
            self.store.put_object(&input.bucket, &input.key, data, input.content_type, self.clock.now())?;
        tracing::debug!(bucket = %input.bucket, key = %input.key, size, "put object");
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(quoted_etag(&object)),
            size: i64::try_from(size).ok(),
            ..Default::default()
        }))
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let object = self.store.get_object(&input.bucket, &input.key)?;
        let full_length = object.data.len() as u64;
        let (data, content_range) = match &input.range {
            None => (object.data.clone(), None),
            Some(range) => {
                let span = range.check(full_length).map_err(|_| s3_error!(InvalidRange))?;
                let content_range = format!("bytes {}-{}/{full_length}", span.start, span.end - 1);
                (object.data.slice(span.start as usize..span.end as usize), Some(content_range))
            }
        };
        let content_length = data.len() as i64;
        Ok(S3Response::new(GetObjectOutput {
            body: Some(StreamingBlob::from(s3s::Body::from(data))),
            content_length: Some(content_length),
            content_range,
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(quoted_etag(&object)),
            last_modified: Some(Timestamp::from(object.last_modified)),
            content_type: object.content_type.clone(),
            ..Default::default()
        }))
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        let object = self.store.get_object(&req.input.bucket, &req.input.key)?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(object.data.len() as i64),
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(quoted_etag(&object)),
            last_modified: Some(Timestamp::from(object.last_modified)),
            content_type: object.content_type.clone(),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.store.delete_object(&req.input.bucket, &req.input.key)?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        for identifier in input.delete.objects {
            self.store.delete_object(&input.bucket, &identifier.key)?;
            if !quiet {
                deleted.push(DeletedObject { key: Some(identifier.key), ..Default::default() });
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput { deleted: Some(deleted), ..Default::default() }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let max_keys = input.max_keys.unwrap_or(MAX_KEYS);
        if max_keys < 0 {
            return Err(s3_error!(InvalidArgument, "max-keys must not be negative"));
        }
        let max_keys = max_keys.min(MAX_KEYS);
        let prefix = input.prefix.as_deref().unwrap_or("");
        let query = ListQuery {
            prefix,
            delimiter: input.delimiter.as_deref(),
            continuation_token: input.continuation_token.as_deref(),
            start_after: input.start_after.as_deref(),
            max_keys: max_keys as usize,
        };
        let page = self.store.list(&input.bucket, &query)?;
        let key_count = page.objects.len() + page.common_prefixes.len();
        let contents = page
            .objects
            .into_iter()
            .map(|(key, object)| s3s::dto::Object {
                e_tag: Some(quoted_etag(&object)),
                key: Some(key),
                last_modified: Some(Timestamp::from(object.last_modified)),
                size: Some(object.data.len() as i64),
                storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
                ..Default::default()
            })
            .collect();
        let common_prefixes =
            page.common_prefixes.into_iter().map(|prefix| CommonPrefix { prefix: Some(prefix) }).collect();
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: input.prefix,
            delimiter: input.delimiter,
            max_keys: Some(max_keys),
            key_count: Some(key_count as i32),
            continuation_token: input.continuation_token,
            start_after: input.start_after,
            is_truncated: Some(page.next_continuation_token.is_some()),
            next_continuation_token: page.next_continuation_token,
            contents: Some(contents),
            common_prefixes: Some(common_prefixes),
            ..Default::default()
        }))
    }
}
