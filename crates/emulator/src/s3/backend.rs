//! The `s3s::S3` implementation over the in-memory store; s3s does the HTTP, XML and protocol work,
//! and `dto.rs` the conversions.

use std::sync::Arc;

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

use crate::clock::Clock;
use crate::s3::dto::{
    BUCKET_TAGS, LOCATION_CONSTRAINTS, MAX_KEYS, OBJECT_TAGS, bucket_region, check_content_md5, checked_tags,
    collect_body, constraint_region, copy_range, copy_source, header_tags, listed, listed_version, page_size,
    quoted_etag, response_version_id, tag_count, tag_pairs, tag_set, user_metadata,
};
use crate::s3::metrics;
use crate::s3::multipart::Uploads;
use crate::s3::request::SignedRegion;
use crate::s3::store::{BucketConfig, CorsRule, ListQuery, NewObject, Object, S3Store, StoreError};

/// Serves the S3 operations the emulator supports; every other operation answers `NotImplemented`.
#[derive(Debug, Clone)]
pub(crate) struct S3Backend {
    pub(crate) store: Arc<S3Store>,
    pub(crate) uploads: Arc<Uploads>,
    pub(crate) clock: Clock,
    pub(crate) region: String,
}

impl S3Backend {
    /// Whether `bucket` has versioning configured (enabled or suspended).
    fn versioned(&self, bucket: &str) -> bool {
        self.store.bucket_config(bucket).is_ok_and(|config| config.versioning.is_some())
    }

    /// The current object of `key`, or its version `version_id`.
    fn object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> S3Result<Object> {
        Ok(match version_id {
            None => self.store.get_object(bucket, key)?,
            Some(id) => self.store.get_version(bucket, key, id)?,
        })
    }

    /// DeleteObject of `key`, or of its version `version_id`, as DeleteObjects reports each entry.
    fn delete(&self, bucket: &str, key: String, version_id: Option<String>) -> S3Result<DeletedObject> {
        Ok(match version_id {
            Some(id) => {
                let marker = self.store.delete_version(bucket, &key, &id)?;
                DeletedObject {
                    key: Some(key),
                    delete_marker: marker.then_some(true),
                    version_id: Some(id),
                    ..Default::default()
                }
            }
            None => {
                let marker = self.store.delete_object(bucket, &key, self.clock.now())?;
                DeletedObject {
                    key: Some(key),
                    delete_marker: marker.is_some().then_some(true),
                    delete_marker_version_id: marker
                        .map(|id| id.unwrap_or_else(|| crate::s3::versions::NULL_VERSION.to_owned())),
                    ..Default::default()
                }
            }
        })
    }
}

#[async_trait::async_trait]
impl S3 for S3Backend {
    async fn put_bucket_metrics_configuration(
        &self,
        req: S3Request<PutBucketMetricsConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketMetricsConfigurationOutput>> {
        let input = req.input;
        metrics::put(&self.store, &input.bucket, &input.id, input.metrics_configuration)?;
        Ok(S3Response::new(PutBucketMetricsConfigurationOutput::default()))
    }

    async fn get_bucket_metrics_configuration(
        &self,
        req: S3Request<GetBucketMetricsConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketMetricsConfigurationOutput>> {
        let configuration = metrics::get(&self.store, &req.input.bucket, &req.input.id)?;
        Ok(S3Response::new(GetBucketMetricsConfigurationOutput {
            metrics_configuration: Some(configuration),
        }))
    }

    async fn list_bucket_metrics_configurations(
        &self,
        req: S3Request<ListBucketMetricsConfigurationsInput>,
    ) -> S3Result<S3Response<ListBucketMetricsConfigurationsOutput>> {
        let input = req.input;
        let (page, next) = metrics::list(&self.store, &input.bucket, input.continuation_token.as_deref())?;
        Ok(S3Response::new(ListBucketMetricsConfigurationsOutput {
            continuation_token: input.continuation_token,
            is_truncated: Some(next.is_some()),
            metrics_configuration_list: Some(page),
            next_continuation_token: next,
        }))
    }

    async fn delete_bucket_metrics_configuration(
        &self,
        req: S3Request<DeleteBucketMetricsConfigurationInput>,
    ) -> S3Result<S3Response<DeleteBucketMetricsConfigurationOutput>> {
        metrics::delete(&self.store, &req.input.bucket, &req.input.id)?;
        Ok(S3Response::new(DeleteBucketMetricsConfigurationOutput::default()))
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let input = req.input;
        let max_keys = page_size(input.max_keys)?;
        let query = ListQuery {
            prefix: input.prefix.as_deref().unwrap_or(""),
            delimiter: input.delimiter.as_deref(),
            continuation_token: None,
            start_after: None,
            marker: input.key_marker.as_deref(),
            max_keys: max_keys as usize,
        };
        let page = self.store.list_versions(&input.bucket, &query, input.version_id_marker.as_deref())?;
        let (mut versions, mut delete_markers) = (Vec::new(), Vec::new());
        for entry in page.entries {
            match listed_version(entry) {
                Ok(version) => versions.push(version),
                Err(marker) => delete_markers.push(marker),
            }
        }
        let (next_key_marker, next_version_id_marker) = page.next.unzip();
        Ok(S3Response::new(ListObjectVersionsOutput {
            name: Some(input.bucket),
            prefix: input.prefix,
            delimiter: input.delimiter,
            max_keys: Some(max_keys),
            key_marker: input.key_marker,
            version_id_marker: input.version_id_marker,
            is_truncated: Some(next_key_marker.is_some()),
            next_key_marker,
            next_version_id_marker,
            versions: Some(versions),
            delete_markers: Some(delete_markers),
            common_prefixes: Some(
                page.common_prefixes
                    .into_iter()
                    .map(|prefix| CommonPrefix { prefix: Some(prefix) })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        // Regional endpoints (CreateBucket, "LocationConstraint"): the request's region must match
        // the constraint, and us-east-1 takes no constraint, or any other valid one.
        let sent_to = req.extensions.get::<SignedRegion>().map_or(self.region.as_str(), |region| &region.0);
        let input = req.input;
        let bucket = input.bucket;
        let constraint = input
            .create_bucket_configuration
            .and_then(|config| config.location_constraint)
            .map(|constraint| constraint.as_str().to_owned())
            .filter(|constraint| !constraint.is_empty());
        match constraint.as_deref() {
            Some(name) if !LOCATION_CONSTRAINTS.contains(&name) => {
                return Err(s3_error!(
                    InvalidLocationConstraint,
                    "The specified location-constraint is not valid"
                ));
            }
            Some(name) if sent_to != "us-east-1" && constraint_region(Some(name)) != sent_to => {
                return Err(s3_error!(
                    IllegalLocationConstraintException,
                    "The {name} location constraint is incompatible for the region specific endpoint this request was sent to."
                ));
            }
            None if sent_to != "us-east-1" => {
                return Err(s3_error!(
                    IllegalLocationConstraintException,
                    "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."
                ));
            }
            _ => {}
        }
        let config = BucketConfig { location: constraint, ..BucketConfig::default() };
        match self.store.create_bucket_with(&bucket, config, self.clock.now()) {
            Ok(()) => {}
            // In us-east-1, S3 answers 200 OK when the caller re-creates a bucket it owns.
            Err(StoreError::BucketAlreadyOwnedByYou) if sent_to == "us-east-1" => {}
            Err(err) => return Err(err.into()),
        }
        tracing::debug!(%bucket, "created bucket");
        Ok(S3Response::new(CreateBucketOutput { location: Some(format!("/{bucket}")) }))
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        let config = self.store.bucket_config(&req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(bucket_region(&config)),
            ..Default::default()
        }))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        // A us-east-1 bucket answers an empty LocationConstraint (GetBucketLocation).
        let config = self.store.bucket_config(&req.input.bucket)?;
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint: config.location.map(BucketLocationConstraint::from),
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
            .map(|(name, created, config)| Bucket {
                name: Some(name),
                creation_date: Some(Timestamp::from(created)),
                bucket_region: Some(bucket_region(&config)),
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
        check_content_md5(&data, input.content_md5.as_deref())?;
        let size = data.len();
        let new = NewObject {
            data,
            content_type: input.content_type,
            metadata: input.metadata.unwrap_or_default().into_iter().collect(),
            tags: checked_tags(header_tags(input.tagging.as_deref()), OBJECT_TAGS)?,
            etag: None,
        };
        let object = self.store.put(&input.bucket, &input.key, new, self.clock.now())?;
        tracing::debug!(bucket = %input.bucket, key = %input.key, size, "put object");
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(quoted_etag(&object)),
            size: i64::try_from(size).ok(),
            version_id: response_version_id(&object, self.versioned(&input.bucket)),
            ..Default::default()
        }))
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let object = self.object(&input.bucket, &input.key, input.version_id.as_deref())?;
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
            metadata: user_metadata(&object),
            tag_count: tag_count(&object),
            version_id: response_version_id(&object, self.versioned(&input.bucket)),
            ..Default::default()
        }))
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = &req.input;
        let object = self.object(&input.bucket, &input.key, input.version_id.as_deref())?;
        Ok(S3Response::new(HeadObjectOutput {
            version_id: response_version_id(&object, self.versioned(&input.bucket)),
            content_length: Some(object.data.len() as i64),
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(quoted_etag(&object)),
            last_modified: Some(Timestamp::from(object.last_modified)),
            content_type: object.content_type.clone(),
            metadata: user_metadata(&object),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        let deleted = self.delete(&input.bucket, input.key, input.version_id)?;
        Ok(S3Response::new(DeleteObjectOutput {
            delete_marker: deleted.delete_marker,
            version_id: deleted.delete_marker_version_id.or(deleted.version_id),
            ..Default::default()
        }))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        for identifier in input.delete.objects {
            let entry = self.delete(&input.bucket, identifier.key, identifier.version_id)?;
            if !quiet {
                deleted.push(entry);
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput { deleted: Some(deleted), ..Default::default() }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let max_keys = page_size(input.max_keys)?;
        let prefix = input.prefix.as_deref().unwrap_or("");
        let query = ListQuery {
            prefix,
            delimiter: input.delimiter.as_deref(),
            continuation_token: input.continuation_token.as_deref(),
            start_after: input.start_after.as_deref(),
            marker: None,
            max_keys: max_keys as usize,
        };
        let page = self.store.list(&input.bucket, &query)?;
        let key_count = page.objects.len() + page.common_prefixes.len();
        let contents = page.objects.into_iter().map(|(key, object)| listed(key, &object)).collect();
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

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        // ListObjects (v1): pages resume after `Marker`; `NextMarker` is returned only with a
        // delimiter, otherwise the last key of a truncated page is the next marker.
        let input = req.input;
        let max_keys = page_size(input.max_keys)?;
        let query = ListQuery {
            prefix: input.prefix.as_deref().unwrap_or(""),
            delimiter: input.delimiter.as_deref(),
            marker: input.marker.as_deref().filter(|marker| !marker.is_empty()),
            max_keys: max_keys as usize,
            ..ListQuery::default()
        };
        let page = self.store.list(&input.bucket, &query)?;
        let is_truncated = page.next_marker.is_some();
        let next_marker = page.next_marker.filter(|_| input.delimiter.is_some());
        let contents = page.objects.into_iter().map(|(key, object)| listed(key, &object)).collect();
        let common_prefixes =
            page.common_prefixes.into_iter().map(|prefix| CommonPrefix { prefix: Some(prefix) }).collect();
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket),
            prefix: Some(input.prefix.unwrap_or_default()),
            marker: Some(input.marker.unwrap_or_default()),
            delimiter: input.delimiter,
            max_keys: Some(max_keys),
            is_truncated: Some(is_truncated),
            next_marker,
            contents: Some(contents),
            common_prefixes: Some(common_prefixes),
            ..Default::default()
        }))
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = req.input;
        let (source_bucket, source_key) = copy_source(&input.copy_source)?;
        let source = self.store.get_object(source_bucket, source_key)?;
        let replace_metadata = input.metadata_directive.as_ref().is_some_and(|d| d.as_str() == "REPLACE");
        let replace_tags = input.tagging_directive.as_ref().is_some_and(|d| d.as_str() == "REPLACE");
        // CopyObject: copying an object onto itself must change something.
        if (source_bucket, source_key) == (input.bucket.as_str(), input.key.as_str())
            && !replace_metadata
            && !replace_tags
            && input.storage_class.is_none()
            && input.server_side_encryption.is_none()
        {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without \
                 changing the object's metadata, storage class, website redirect location or encryption \
                 attributes."
            ));
        }
        let new = NewObject {
            // The same data, so the same ETag (a multipart source's included).
            etag: Some(source.etag.clone()),
            content_type: if replace_metadata { input.content_type } else { source.content_type.clone() },
            metadata: if replace_metadata {
                input.metadata.unwrap_or_default().into_iter().collect()
            } else {
                source.metadata.clone()
            },
            tags: if replace_tags {
                checked_tags(header_tags(input.tagging.as_deref()), OBJECT_TAGS)?
            } else {
                source.tags.clone()
            },
            data: source.data,
        };
        let object = self.store.put(&input.bucket, &input.key, new, self.clock.now())?;
        tracing::debug!(from = %format!("{source_bucket}/{source_key}"), bucket = %input.bucket, key = %input.key, "copied object");
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(quoted_etag(&object)),
                last_modified: Some(Timestamp::from(object.last_modified)),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        if !self.store.has_bucket(&input.bucket) {
            return Err(StoreError::NoSuchBucket.into());
        }
        let template = NewObject {
            content_type: input.content_type,
            metadata: input.metadata.unwrap_or_default().into_iter().collect(),
            tags: checked_tags(header_tags(input.tagging.as_deref()), OBJECT_TAGS)?,
            ..NewObject::default()
        };
        let upload_id = self.uploads.create(&input.bucket, &input.key, template, self.clock.now());
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload_id),
            ..Default::default()
        }))
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        let input = req.input;
        let size_hint = input.content_length.and_then(|len| usize::try_from(len).ok()).unwrap_or(0);
        let data = collect_body(input.body, size_hint).await?;
        check_content_md5(&data, input.content_md5.as_deref())?;
        let at = (input.bucket.as_str(), input.key.as_str(), input.upload_id.as_str());
        let etag = self.uploads.upload_part(at, input.part_number, data, self.clock.now())?;
        Ok(S3Response::new(UploadPartOutput { e_tag: Some(ETag::Strong(etag)), ..Default::default() }))
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let input = req.input;
        let (source_bucket, source_key) = copy_source(&input.copy_source)?;
        let source = self.store.get_object(source_bucket, source_key)?;
        let data = match input.copy_source_range.as_deref() {
            Some(range) => source.data.slice(copy_range(range, source.data.len())?),
            None => source.data,
        };
        let at = (input.bucket.as_str(), input.key.as_str(), input.upload_id.as_str());
        let now = self.clock.now();
        let etag = self.uploads.upload_part(at, input.part_number, data, now)?;
        Ok(S3Response::new(UploadPartCopyOutput {
            copy_part_result: Some(CopyPartResult {
                e_tag: Some(ETag::Strong(etag)),
                last_modified: Some(Timestamp::from(crate::clock::truncate_to_millis(now))),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = req.input;
        let parts: Vec<(i32, String)> = input
            .multipart_upload
            .and_then(|upload| upload.parts)
            .unwrap_or_default()
            .into_iter()
            .map(|part| {
                let etag = part.e_tag.map(|etag| match etag {
                    ETag::Strong(value) | ETag::Weak(value) => value,
                });
                (part.part_number.unwrap_or(0), etag.unwrap_or_default())
            })
            .collect();
        let at = (input.bucket.as_str(), input.key.as_str(), input.upload_id.as_str());
        let new = self.uploads.complete(at, &parts)?;
        let size = new.data.len();
        let object = self.store.put(&input.bucket, &input.key, new, self.clock.now())?;
        tracing::debug!(bucket = %input.bucket, key = %input.key, size, parts = parts.len(), "completed multipart upload");
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            location: Some(format!("/{}/{}", input.bucket, input.key)),
            bucket: Some(input.bucket),
            key: Some(input.key),
            e_tag: Some(quoted_etag(&object)),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = req.input;
        self.uploads.abort(&input.bucket, &input.key, &input.upload_id)?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        let upload = self.uploads.get(&input.bucket, &input.key, &input.upload_id)?;
        let max_parts = input.max_parts.unwrap_or(MAX_KEYS).clamp(0, MAX_KEYS);
        let after = input.part_number_marker.unwrap_or(0).max(0);
        let mut listed: Vec<Part> = Vec::new();
        let mut truncated = false;
        for (number, part) in upload.parts.range(after + 1..) {
            if listed.len() == max_parts as usize {
                truncated = true;
                break;
            }
            listed.push(Part {
                e_tag: Some(ETag::Strong(part.etag.clone())),
                last_modified: Some(Timestamp::from(part.last_modified)),
                part_number: Some(*number),
                size: Some(part.data.len() as i64),
                ..Default::default()
            });
        }
        let next = listed.last().and_then(|part| part.part_number).filter(|_| truncated);
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            max_parts: Some(max_parts),
            part_number_marker: input.part_number_marker,
            next_part_number_marker: next,
            is_truncated: Some(truncated),
            parts: Some(listed),
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            ..Default::default()
        }))
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        if !self.store.has_bucket(&input.bucket) {
            return Err(StoreError::NoSuchBucket.into());
        }
        let prefix = input.prefix.clone().unwrap_or_default();
        let uploads = self
            .uploads
            .of_bucket(&input.bucket)
            .into_iter()
            .filter(|(_, upload)| upload.key.starts_with(&prefix))
            .map(|(id, upload)| MultipartUpload {
                initiated: Some(Timestamp::from(upload.initiated)),
                key: Some(upload.key),
                upload_id: Some(id),
                storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            max_uploads: Some(MAX_KEYS),
            is_truncated: Some(false),
            uploads: Some(uploads),
            ..Default::default()
        }))
    }

    async fn put_bucket_tagging(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        let input = req.input;
        let tags = checked_tags(tag_pairs(input.tagging.tag_set), BUCKET_TAGS)?;
        self.store.update_bucket_config(&input.bucket, |config| config.tags = Some(tags))?;
        Ok(S3Response::new(PutBucketTaggingOutput::default()))
    }

    async fn get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        match self.store.bucket_config(&req.input.bucket)?.tags {
            Some(tags) => Ok(S3Response::new(GetBucketTaggingOutput { tag_set: tag_set(&tags) })),
            None => Err(s3_error!(NoSuchTagSet, "The TagSet does not exist")),
        }
    }

    async fn delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        self.store.update_bucket_config(&req.input.bucket, |config| config.tags = None)?;
        Ok(S3Response::new(DeleteBucketTaggingOutput::default()))
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let input = req.input;
        let tags = checked_tags(tag_pairs(input.tagging.tag_set), OBJECT_TAGS)?;
        self.store.set_object_tags(&input.bucket, &input.key, tags)?;
        Ok(S3Response::new(PutObjectTaggingOutput::default()))
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let object = self.store.get_object(&req.input.bucket, &req.input.key)?;
        Ok(S3Response::new(GetObjectTaggingOutput { tag_set: tag_set(&object.tags), version_id: None }))
    }

    async fn delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        self.store.set_object_tags(&req.input.bucket, &req.input.key, Vec::new())?;
        Ok(S3Response::new(DeleteObjectTaggingOutput::default()))
    }

    async fn get_bucket_encryption(
        &self,
        req: S3Request<GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
        // Since January 2023 every bucket has SSE-S3 as its default encryption ("Setting default
        // server-side encryption behavior for Amazon S3 buckets"), so GetBucketEncryption answers
        // AES256 for a bucket nobody configured.
        self.store.bucket_config(&req.input.bucket)?;
        let rule = ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                sse_algorithm: ServerSideEncryption::from_static(ServerSideEncryption::AES256),
                kms_master_key_id: None,
            }),
            bucket_key_enabled: Some(false),
        };
        Ok(S3Response::new(GetBucketEncryptionOutput {
            server_side_encryption_configuration: Some(ServerSideEncryptionConfiguration {
                rules: vec![rule],
            }),
        }))
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        self.store.bucket_config(&req.input.bucket)?;
        Err(s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist"))
    }

    async fn put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        let input = req.input;
        // PutBucketCors: at most 100 rules, each with at least one origin and method.
        let rules = input.cors_configuration.cors_rules;
        if rules.is_empty() || rules.len() > 100 {
            return Err(s3_error!(
                MalformedXML,
                "A CORS configuration holds 1 to 100 rules, not {}",
                rules.len()
            ));
        }
        let mut stored = Vec::with_capacity(rules.len());
        for rule in rules {
            let methods: Vec<String> = rule.allowed_methods.into_iter().collect();
            if let Some(bad) =
                methods.iter().find(|m| !["GET", "PUT", "POST", "DELETE", "HEAD"].contains(&m.as_str()))
            {
                return Err(s3_error!(
                    InvalidRequest,
                    "Found unsupported HTTP method in CORS config. Unsupported method is {bad}"
                ));
            }
            if rule.allowed_origins.is_empty() || methods.is_empty() {
                return Err(s3_error!(
                    MalformedXML,
                    "A CORS rule needs an AllowedOrigin and an AllowedMethod"
                ));
            }
            stored.push(CorsRule {
                id: rule.id,
                allowed_origins: rule.allowed_origins,
                allowed_methods: methods,
                allowed_headers: rule.allowed_headers.unwrap_or_default(),
                expose_headers: rule.expose_headers.unwrap_or_default(),
                max_age_seconds: rule.max_age_seconds,
            });
        }
        self.store.update_bucket_config(&input.bucket, |config| config.cors = Some(stored))?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    async fn get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        let Some(rules) = self.store.bucket_config(&req.input.bucket)?.cors else {
            return Err(s3_error!(NoSuchCORSConfiguration, "The CORS configuration does not exist"));
        };
        let rules = rules
            .into_iter()
            .map(|rule| CORSRule {
                id: rule.id,
                allowed_origins: rule.allowed_origins,
                allowed_methods: rule.allowed_methods,
                allowed_headers: (!rule.allowed_headers.is_empty()).then_some(rule.allowed_headers),
                expose_headers: (!rule.expose_headers.is_empty()).then_some(rule.expose_headers),
                max_age_seconds: rule.max_age_seconds,
            })
            .collect();
        Ok(S3Response::new(GetBucketCorsOutput { cors_rules: Some(rules) }))
    }

    async fn delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        self.store.update_bucket_config(&req.input.bucket, |config| config.cors = None)?;
        Ok(S3Response::new(DeleteBucketCorsOutput::default()))
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        // The status decides how writes and deletes treat versions (`versions.rs`).
        let input = req.input;
        let status = input.versioning_configuration.status.map(|status| status.as_str().to_owned());
        match status.as_deref() {
            Some("Enabled" | "Suspended") => {}
            _ => return Err(s3_error!(MalformedXML, "The versioning Status must be Enabled or Suspended")),
        }
        self.store.update_bucket_config(&input.bucket, |config| config.versioning = status)?;
        Ok(S3Response::new(PutBucketVersioningOutput::default()))
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        // A bucket never versioned answers no Status (GetBucketVersioning).
        let config = self.store.bucket_config(&req.input.bucket)?;
        Ok(S3Response::new(GetBucketVersioningOutput {
            status: config.versioning.map(BucketVersioningStatus::from),
            mfa_delete: None,
        }))
    }
}
