//! The S3 data: buckets and their objects, kept sorted by key in memory and optionally written through to disk.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use md5::{Digest, Md5};
use time::OffsetDateTime;

use crate::clock::truncate_to_millis;
use crate::s3::versions::{self, History, NULL_VERSION, Version, Versioned, Versioning};
use crate::sync::lock;

/// All buckets.
#[derive(Debug, Default)]
pub(crate) struct S3Store {
    buckets: Mutex<BTreeMap<String, Bucket>>,
    /// Where buckets and objects persist, when they do; see [`S3Store::open`] for the layout.
    data_dir: Option<PathBuf>,
}

/// The file in a bucket's directory that marks it as a bucket and holds its creation time.
const BUCKET_FILE: &str = "bucket.json";
/// The extensions of an object's data and metadata files.
const DATA_EXT: &str = "data";
const META_EXT: &str = "meta.json";

#[derive(Debug)]
struct Bucket {
    created: OffsetDateTime,
    config: BucketConfig,
    /// The current object of each key.
    objects: BTreeMap<String, Object>,
    /// Each key's noncurrent versions and delete markers (`versions.rs`); in memory only, so a data
    /// directory keeps the current objects alone.
    history: BTreeMap<String, History<Object>>,
}

/// A bucket's settings beside its objects, as S3's bucket subresources hold them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct BucketConfig {
    /// The `LocationConstraint` it was created with; `None` is us-east-1, as S3 reports it.
    #[serde(default)]
    pub(crate) location: Option<String>,
    /// The bucket's tag set, once one was put.
    #[serde(default)]
    pub(crate) tags: Option<Vec<(String, String)>>,
    /// `Enabled` or `Suspended` once versioning was configured; `None` for a bucket never versioned.
    #[serde(default)]
    pub(crate) versioning: Option<String>,
    /// The bucket's CORS rules, once configured.
    #[serde(default)]
    pub(crate) cors: Option<Vec<CorsRule>>,
    /// Metrics configurations by id, each as PutBucketMetricsConfiguration gave it (`metrics.rs`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) metrics: BTreeMap<String, serde_json::Value>,
}

/// One CORS rule of a bucket, as `PutBucketCors` gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct CorsRule {
    pub(crate) id: Option<String>,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) allowed_methods: Vec<String>,
    pub(crate) allowed_headers: Vec<String>,
    pub(crate) expose_headers: Vec<String>,
    pub(crate) max_age_seconds: Option<i32>,
}

/// What a write stores besides the key: the data, its headers, and for an object assembled from
/// parts the ETag S3 gives it.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewObject {
    pub(crate) data: Bytes,
    pub(crate) content_type: Option<String>,
    /// User metadata (`x-amz-meta-*`), names in lower case.
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) tags: Vec<(String, String)>,
    /// `None`: the MD5 of the data. A multipart object's is `<md5 of the part MD5s>-<parts>`.
    pub(crate) etag: Option<String>,
}

/// A stored object.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    pub(crate) data: Bytes,
    /// Lower-case hex MD5 of the data, without quotes.
    pub(crate) etag: String,
    /// Emulator time of the write, truncated to milliseconds.
    pub(crate) last_modified: OffsetDateTime,
    pub(crate) content_type: Option<String>,
    /// User metadata (`x-amz-meta-*`), names in lower case.
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) tags: Vec<(String, String)>,
    /// `None` for the `null` version (an unversioned or versioning-suspended write).
    pub(crate) version_id: Option<String>,
}

impl Versioned for Object {
    fn version_id(&self) -> Option<&str> {
        self.version_id.as_deref()
    }
}

/// One entry of ListObjectVersions: an object version or a delete marker of `key`.
#[derive(Debug, Clone)]
pub(crate) struct VersionEntry {
    pub(crate) key: String,
    pub(crate) is_latest: bool,
    /// `None` for a delete marker.
    pub(crate) object: Option<Object>,
    pub(crate) version_id: Option<String>,
    pub(crate) last_modified: OffsetDateTime,
}

/// One page of ListObjectVersions.
#[derive(Debug, Default)]
pub(crate) struct VersionPage {
    pub(crate) entries: Vec<VersionEntry>,
    pub(crate) common_prefixes: Vec<String>,
    /// Where the next page starts (`NextKeyMarker`, `NextVersionIdMarker`) when this one is truncated.
    pub(crate) next: Option<(String, String)>,
}

/// Why a store operation failed; the names are the S3 error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("the specified bucket does not exist")]
    NoSuchBucket,
    #[error("the specified key does not exist")]
    NoSuchKey,
    #[error("the bucket already exists and you own it")]
    BucketAlreadyOwnedByYou,
    #[error("the bucket is not empty")]
    BucketNotEmpty,
    #[error("the continuation token is not valid")]
    InvalidContinuationToken,
    #[error("the object could not be written to or removed from the data directory")]
    Disk,
    #[error("the specified version does not exist")]
    NoSuchVersion,
    #[error("the specified method is not allowed against this resource: the version is a delete marker")]
    DeleteMarker,
}

/// A ListObjects (v1: `marker`) or ListObjectsV2 (`continuation_token`, `start_after`) request.
#[derive(Debug, Default)]
pub(crate) struct ListQuery<'a> {
    pub(crate) prefix: &'a str,
    pub(crate) delimiter: Option<&'a str>,
    pub(crate) continuation_token: Option<&'a str>,
    pub(crate) start_after: Option<&'a str>,
    /// ListObjects' `Marker`: keys after it, and after every key under it when it is a common
    /// prefix of this listing (the `NextMarker` of a page that ended on one).
    pub(crate) marker: Option<&'a str>,
    pub(crate) max_keys: usize,
}

impl ListQuery<'_> {
    /// The common prefix `key` rolls up into: the prefix, then up to the first delimiter after it.
    fn common_prefix_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        let delimiter = self.delimiter.filter(|delimiter| !delimiter.is_empty())?;
        let rest = key.strip_prefix(self.prefix)?;
        rest.find(delimiter).map(|at| &key[..self.prefix.len() + at + delimiter.len()])
    }
}

/// One page of a listing.
#[derive(Debug, Default)]
pub(crate) struct ListPage {
    pub(crate) objects: Vec<(String, Object)>,
    pub(crate) common_prefixes: Vec<String>,
    pub(crate) next_continuation_token: Option<String>,
    /// On a truncated page, its last key or common prefix (ListObjects' `NextMarker`).
    pub(crate) next_marker: Option<String>,
}

/// Where a listing resumes: after a key, or after every key under a common prefix.
#[derive(Debug, PartialEq, Eq)]
enum Resume {
    AfterKey(String),
    AfterPrefix(String),
}

impl Resume {
    fn encode(&self) -> String {
        match self {
            Resume::AfterKey(key) => URL_SAFE_NO_PAD.encode(format!("k{key}")),
            Resume::AfterPrefix(prefix) => URL_SAFE_NO_PAD.encode(format!("p{prefix}")),
        }
    }

    fn decode(token: &str) -> Option<Resume> {
        let plain = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
        match plain.split_at_checked(1)? {
            ("k", key) => Some(Resume::AfterKey(key.to_owned())),
            ("p", prefix) => Some(Resume::AfterPrefix(prefix.to_owned())),
            _ => None,
        }
    }
}

/// The MD5 digest of `data`, as S3 checks `Content-MD5` and names objects by.
pub(crate) fn md5_of(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// The quoted ETag S3 reports for an object written in one piece: the MD5 of its data.
pub(crate) fn etag_of(data: &[u8]) -> String {
    md5_of(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// An object's metadata as stored beside its data.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ObjectMeta {
    key: String,
    last_modified_ms: i64,
    content_type: Option<String>,
    /// The object's ETag; absent in files written before it was kept, where it is the MD5 of the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version_id: Option<String>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct BucketMeta {
    created_ms: i64,
    #[serde(default, flatten)]
    config: BucketConfig,
}

fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The file name stem of an object: the hex MD5 of its key, since keys may hold any character.
fn object_stem(key: &str) -> String {
    etag_of(key.as_bytes())
}

/// Writes a file so that a crash leaves either the old or the new content.
fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}

/// Writes an object's data and metadata files into its bucket's directory `dir`.
fn write_object_files(dir: &Path, key: &str, object: &Object) -> Result<(), StoreError> {
    let stem = object_stem(key);
    let meta = ObjectMeta {
        key: key.to_owned(),
        last_modified_ms: crate::clock::unix_millis(object.last_modified),
        content_type: object.content_type.clone(),
        etag: Some(object.etag.clone()),
        metadata: object.metadata.clone(),
        tags: object.tags.clone(),
        version_id: object.version_id.clone(),
    };
    // Data first: a metadata file always has its data beside it.
    let data_path = dir.join(format!("{stem}.{DATA_EXT}"));
    write_atomically(&data_path, &object.data)
        .and_then(|()| {
            let meta = serde_json::to_vec(&meta).unwrap_or_default();
            write_atomically(&dir.join(format!("{stem}.{META_EXT}")), &meta)
        })
        .map_err(|err| disk_error("write an object", &data_path, &err))
}

/// Writes a bucket's `bucket.json`: its creation time and settings.
fn write_bucket_meta(dir: &Path, created: OffsetDateTime, config: &BucketConfig) -> Result<(), StoreError> {
    let meta = BucketMeta { created_ms: crate::clock::unix_millis(created), config: config.clone() };
    let path = dir.join(BUCKET_FILE);
    write_atomically(&path, &serde_json::to_vec(&meta).unwrap_or_default())
        .map_err(|err| disk_error("write a bucket's settings", &path, &err))
}

fn disk_error(action: &str, path: &Path, err: &std::io::Error) -> StoreError {
    tracing::error!(path = %path.display(), %err, "failed to {action}");
    StoreError::Disk
}

impl S3Store {
    /// A store that persists in `dir`, loading what an earlier run left there.
    ///
    /// Each bucket is a directory holding `bucket.json`; each object is `<md5 of key>.data` with
    /// `<md5 of key>.meta.json` (key, LastModified, content type) beside it.
    pub(crate) fn open(dir: &Path) -> std::io::Result<S3Store> {
        std::fs::create_dir_all(dir)?;
        let mut buckets = BTreeMap::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let bucket_dir = entry.path();
            let Ok(bucket_json) = std::fs::read(bucket_dir.join(BUCKET_FILE)) else { continue };
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            let meta: BucketMeta = serde_json::from_slice(&bucket_json).map_err(std::io::Error::other)?;
            let mut objects = BTreeMap::new();
            for file in std::fs::read_dir(&bucket_dir)? {
                let path = file?.path();
                let Some(stem) =
                    path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".meta.json"))
                else {
                    continue;
                };
                let meta: ObjectMeta =
                    serde_json::from_slice(&std::fs::read(&path)?).map_err(std::io::Error::other)?;
                let data = Bytes::from(std::fs::read(bucket_dir.join(format!("{stem}.{DATA_EXT}")))?);
                let object = Object {
                    etag: meta.etag.unwrap_or_else(|| etag_of(&data)),
                    data,
                    last_modified: from_millis(meta.last_modified_ms),
                    content_type: meta.content_type,
                    metadata: meta.metadata,
                    tags: meta.tags,
                    version_id: meta.version_id,
                };
                objects.insert(meta.key, object);
            }
            let bucket = Bucket {
                created: from_millis(meta.created_ms),
                config: meta.config,
                objects,
                history: BTreeMap::new(),
            };
            buckets.insert(name, bucket);
        }
        tracing::info!(dir = %dir.display(), buckets = buckets.len(), "loaded S3 data");
        Ok(S3Store { buckets: Mutex::new(buckets), data_dir: Some(dir.to_owned()) })
    }

    fn bucket_dir(&self, bucket: &str) -> Option<PathBuf> {
        self.data_dir.as_ref().map(|dir| dir.join(bucket))
    }

    /// Creates a bucket in us-east-1 with no settings.
    #[cfg(test)]
    pub(crate) fn create_bucket(&self, name: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        self.create_bucket_with(name, BucketConfig::default(), now)
    }

    /// Creates a bucket with `config` (its location).
    pub(crate) fn create_bucket_with(
        &self,
        name: &str,
        config: BucketConfig,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut buckets = lock(&self.buckets);
        if buckets.contains_key(name) {
            return Err(StoreError::BucketAlreadyOwnedByYou);
        }
        let created = truncate_to_millis(now);
        if let Some(dir) = self.bucket_dir(name) {
            std::fs::create_dir_all(&dir)
                .map_err(|err| disk_error("create a bucket directory", &dir, &err))?;
            write_bucket_meta(&dir, created, &config)?;
        }
        buckets.insert(
            name.to_owned(),
            Bucket { created, config, objects: BTreeMap::new(), history: BTreeMap::new() },
        );
        Ok(())
    }

    /// A bucket's settings.
    pub(crate) fn bucket_config(&self, name: &str) -> Result<BucketConfig, StoreError> {
        lock(&self.buckets).get(name).map(|bucket| bucket.config.clone()).ok_or(StoreError::NoSuchBucket)
    }

    /// Changes a bucket's settings with `change`, persisting them when the store does.
    pub(crate) fn update_bucket_config(
        &self,
        name: &str,
        change: impl FnOnce(&mut BucketConfig),
    ) -> Result<(), StoreError> {
        let mut buckets = lock(&self.buckets);
        let bucket = buckets.get_mut(name).ok_or(StoreError::NoSuchBucket)?;
        let mut config = bucket.config.clone();
        change(&mut config);
        if let Some(dir) = self.bucket_dir(name) {
            write_bucket_meta(&dir, bucket.created, &config)?;
        }
        bucket.config = config;
        Ok(())
    }

    /// Whether a bucket exists.
    pub(crate) fn has_bucket(&self, name: &str) -> bool {
        lock(&self.buckets).contains_key(name)
    }

    /// Names, creation times and settings of all buckets, sorted by name.
    pub(crate) fn list_buckets(&self) -> Vec<(String, OffsetDateTime, BucketConfig)> {
        lock(&self.buckets)
            .iter()
            .map(|(name, bucket)| (name.clone(), bucket.created, bucket.config.clone()))
            .collect()
    }

    /// Deletes an empty bucket.
    pub(crate) fn delete_bucket(&self, name: &str) -> Result<(), StoreError> {
        let mut buckets = lock(&self.buckets);
        match buckets.get(name) {
            None => Err(StoreError::NoSuchBucket),
            Some(bucket) if !bucket.objects.is_empty() => Err(StoreError::BucketNotEmpty),
            Some(_) => {
                if let Some(dir) = self.bucket_dir(name) {
                    std::fs::remove_dir_all(&dir)
                        .map_err(|err| disk_error("remove a bucket directory", &dir, &err))?;
                }
                buckets.remove(name);
                Ok(())
            }
        }
    }

    /// Writes an object of `data` with no metadata, replacing any object with the same key, and
    /// returns it as stored.
    pub(crate) fn put_object(
        &self,
        bucket: &str,
        key: &str,
        data: Bytes,
        content_type: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Object, StoreError> {
        self.put(bucket, key, NewObject { data, content_type, ..NewObject::default() }, now)
    }

    /// Writes `new` under `key`, replacing any object with the same key, and returns it as stored.
    pub(crate) fn put(
        &self,
        bucket: &str,
        key: &str,
        new: NewObject,
        now: OffsetDateTime,
    ) -> Result<Object, StoreError> {
        // Hash before locking; it is the expensive part of a write.
        let mut object = Object {
            etag: new.etag.unwrap_or_else(|| etag_of(&new.data)),
            data: new.data,
            last_modified: truncate_to_millis(now),
            content_type: new.content_type,
            metadata: new.metadata,
            tags: new.tags,
            version_id: None,
        };
        let mut buckets = lock(&self.buckets);
        let entry = buckets.get_mut(bucket).ok_or(StoreError::NoSuchBucket)?;
        let versioning = Versioning::of(entry.config.versioning.as_deref());
        object.version_id = versions::id_for_write(versioning);
        if let Some(dir) = self.bucket_dir(bucket) {
            write_object_files(&dir, key, &object)?;
        }
        let current = entry.objects.insert(key.to_owned(), object.clone());
        if versioning != Versioning::Unversioned {
            entry.history.entry(key.to_owned()).or_default().write(versioning, current);
        }
        Ok(object)
    }

    /// Replaces an object's tag set.
    pub(crate) fn set_object_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), StoreError> {
        let mut buckets = lock(&self.buckets);
        let objects = &mut buckets.get_mut(bucket).ok_or(StoreError::NoSuchBucket)?.objects;
        let object = objects.get_mut(key).ok_or(StoreError::NoSuchKey)?;
        let mut tagged = object.clone();
        tagged.tags = tags;
        if let Some(dir) = self.bucket_dir(bucket) {
            write_object_files(&dir, key, &tagged)?;
        }
        *object = tagged;
        Ok(())
    }

    /// Reads an object; the data is shared, not copied.
    pub(crate) fn get_object(&self, bucket: &str, key: &str) -> Result<Object, StoreError> {
        let buckets = lock(&self.buckets);
        let bucket = buckets.get(bucket).ok_or(StoreError::NoSuchBucket)?;
        bucket.objects.get(key).cloned().ok_or(StoreError::NoSuchKey)
    }

    /// Reads version `id` of an object (`null` for the null version).
    pub(crate) fn get_version(&self, bucket: &str, key: &str, id: &str) -> Result<Object, StoreError> {
        let buckets = lock(&self.buckets);
        let bucket = buckets.get(bucket).ok_or(StoreError::NoSuchBucket)?;
        if let Some(current) =
            bucket.objects.get(key).filter(|object| versions::names(id, object.version_id()))
        {
            return Ok(current.clone());
        }
        match bucket.history.get(key).and_then(|history| history.get(id)) {
            Some(Version::Object(object)) => Ok(object.clone()),
            Some(Version::DeleteMarker { .. }) => Err(StoreError::DeleteMarker),
            None => Err(StoreError::NoSuchVersion),
        }
    }

    /// Deletes an object; deleting a missing key succeeds, as in S3. In a versioned bucket the
    /// object becomes noncurrent behind a new delete marker, whose version id (`None`: `null`) is
    /// returned; `None` when the bucket is unversioned.
    pub(crate) fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Option<String>>, StoreError> {
        let mut buckets = lock(&self.buckets);
        let entry = buckets.get_mut(bucket).ok_or(StoreError::NoSuchBucket)?;
        let versioning = Versioning::of(entry.config.versioning.as_deref());
        let current = self.remove_current(bucket, entry, key)?;
        if versioning == Versioning::Unversioned {
            return Ok(None);
        }
        let history = entry.history.entry(key.to_owned()).or_default();
        Ok(history.delete(versioning, current, truncate_to_millis(now)))
    }

    /// Deletes version `id` of an object for good; returns whether it was a delete marker. When it
    /// was the current object, the newest remaining version becomes current unless it is a delete
    /// marker. Deleting a version that does not exist succeeds, as in S3.
    pub(crate) fn delete_version(&self, bucket: &str, key: &str, id: &str) -> Result<bool, StoreError> {
        let mut buckets = lock(&self.buckets);
        let entry = buckets.get_mut(bucket).ok_or(StoreError::NoSuchBucket)?;
        let marker = if entry.objects.get(key).is_some_and(|object| versions::names(id, object.version_id()))
        {
            self.remove_current(bucket, entry, key)?;
            false
        } else {
            let removed = entry.history.get_mut(key).and_then(|history| history.remove(id));
            matches!(removed, Some(Version::DeleteMarker { .. }))
        };
        // With the current object or the latest delete marker gone, the newest remaining version
        // becomes current, unless it is a delete marker too.
        if !entry.objects.contains_key(key)
            && let Some(promoted) = entry.history.get_mut(key).and_then(History::promote)
        {
            if let Some(dir) = self.bucket_dir(bucket) {
                write_object_files(&dir, key, &promoted)?;
            }
            entry.objects.insert(key.to_owned(), promoted);
        }
        if entry.history.get(key).is_some_and(|history| history.entries.is_empty()) {
            entry.history.remove(key);
        }
        Ok(marker)
    }

    /// Takes the current object of `key` out of `entry` (and its files out of the data directory).
    fn remove_current(
        &self,
        bucket: &str,
        entry: &mut Bucket,
        key: &str,
    ) -> Result<Option<Object>, StoreError> {
        let Some(object) = entry.objects.remove(key) else { return Ok(None) };
        if let Some(dir) = self.bucket_dir(bucket) {
            let stem = object_stem(key);
            let meta_path = dir.join(format!("{stem}.{META_EXT}"));
            if let Err(err) = std::fs::remove_file(&meta_path)
                .and_then(|()| std::fs::remove_file(dir.join(format!("{stem}.{DATA_EXT}"))))
            {
                entry.objects.insert(key.to_owned(), object);
                return Err(disk_error("remove an object", &meta_path, &err));
            }
        }
        Ok(Some(object))
    }

    /// Lists versions and delete markers, keys in lexicographic order and each key's versions newest
    /// first (ListObjectVersions), from after (`key_marker`, `version_id_marker`), grouping keys
    /// under `delimiter` into common prefixes.
    pub(crate) fn list_versions(
        &self,
        bucket: &str,
        query: &ListQuery<'_>,
        version_id_marker: Option<&str>,
    ) -> Result<VersionPage, StoreError> {
        let buckets = lock(&self.buckets);
        let bucket = buckets.get(bucket).ok_or(StoreError::NoSuchBucket)?;
        let keys: std::collections::BTreeSet<&String> = bucket
            .objects
            .keys()
            .chain(bucket.history.keys())
            .filter(|key| key.starts_with(query.prefix))
            .collect();
        let key_marker = query.marker.unwrap_or("");
        let mut page = VersionPage::default();
        let mut count = 0usize;
        for key in keys {
            if key.as_str() < key_marker || (key.as_str() == key_marker && version_id_marker.is_none()) {
                continue;
            }
            if let Some(prefix) = query.common_prefix_of(key) {
                if prefix <= key_marker && key_marker.starts_with(prefix) {
                    continue;
                }
                if page.common_prefixes.last().map(String::as_str) != Some(prefix) {
                    if count == query.max_keys {
                        page.next = page.entries.last().map(|e| {
                            (e.key.clone(), e.version_id.clone().unwrap_or_else(|| NULL_VERSION.to_owned()))
                        });
                        break;
                    }
                    page.common_prefixes.push(prefix.to_owned());
                    count += 1;
                }
                continue;
            }
            let current = bucket.objects.get(key).map(|object| VersionEntry {
                key: key.clone(),
                is_latest: false,
                version_id: object.version_id.clone(),
                last_modified: object.last_modified,
                object: Some(object.clone()),
            });
            let older = bucket.history.get(key).into_iter().flat_map(|history| history.entries.iter().rev());
            let older = older.map(|version| match version {
                Version::Object(object) => VersionEntry {
                    key: key.clone(),
                    is_latest: false,
                    version_id: object.version_id.clone(),
                    last_modified: object.last_modified,
                    object: Some(object.clone()),
                },
                Version::DeleteMarker { version_id, last_modified } => VersionEntry {
                    key: key.clone(),
                    is_latest: false,
                    version_id: version_id.clone(),
                    last_modified: *last_modified,
                    object: None,
                },
            });
            let mut skipping = key.as_str() == key_marker;
            for (index, mut version) in current.into_iter().chain(older).enumerate() {
                version.is_latest = index == 0;
                let id = version.version_id.as_deref().unwrap_or(NULL_VERSION);
                if skipping {
                    skipping = version_id_marker != Some(id);
                    continue;
                }
                if count == query.max_keys {
                    page.next = page.entries.last().map(|e| {
                        (e.key.clone(), e.version_id.clone().unwrap_or_else(|| NULL_VERSION.to_owned()))
                    });
                    return Ok(page);
                }
                page.entries.push(version);
                count += 1;
            }
        }
        Ok(page)
    }

    /// Lists one page of keys in lexicographic order, grouping keys under `delimiter` into common prefixes.
    pub(crate) fn list(&self, bucket: &str, query: &ListQuery<'_>) -> Result<ListPage, StoreError> {
        let resume = match (query.continuation_token, query.marker) {
            (Some(token), _) => Some(Resume::decode(token).ok_or(StoreError::InvalidContinuationToken)?),
            (None, Some(marker)) => Some(match query.common_prefix_of(marker) {
                Some(prefix) if prefix == marker => Resume::AfterPrefix(marker.to_owned()),
                _ => Resume::AfterKey(marker.to_owned()),
            }),
            (None, None) => query.start_after.map(|key| Resume::AfterKey(key.to_owned())),
        };
        let buckets = lock(&self.buckets);
        let bucket = buckets.get(bucket).ok_or(StoreError::NoSuchBucket)?;
        let mut page = ListPage::default();
        if query.max_keys == 0 {
            return Ok(page);
        }
        let lower = match &resume {
            Some(Resume::AfterKey(key) | Resume::AfterPrefix(key)) if key.as_str() >= query.prefix => {
                Bound::Excluded(key.as_str())
            }
            _ => Bound::Included(query.prefix),
        };
        let skip_prefix = match &resume {
            Some(Resume::AfterPrefix(prefix)) => Some(prefix.as_str()),
            _ => None,
        };
        let mut last: Option<Resume> = None;
        let mut count = 0usize;
        for (key, object) in bucket.objects.range::<str, _>((lower, Bound::Unbounded)) {
            if !key.starts_with(query.prefix) {
                break;
            }
            if skip_prefix.is_some_and(|prefix| key.starts_with(prefix)) {
                continue;
            }
            let common_prefix = query.common_prefix_of(key);
            if let (Some(prefix), Some(Resume::AfterPrefix(previous))) = (common_prefix, &last)
                && prefix == previous
            {
                continue;
            }
            if count == query.max_keys {
                page.next_continuation_token = last.as_ref().map(Resume::encode);
                page.next_marker = last.map(|(Resume::AfterKey(last) | Resume::AfterPrefix(last))| last);
                break;
            }
            count += 1;
            match common_prefix {
                Some(prefix) => {
                    page.common_prefixes.push(prefix.to_owned());
                    last = Some(Resume::AfterPrefix(prefix.to_owned()));
                }
                None => {
                    page.objects.push((key.clone(), object.clone()));
                    last = Some(Resume::AfterKey(key.clone()));
                }
            }
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(keys: &[&str]) -> S3Store {
        let store = S3Store::default();
        let now = OffsetDateTime::now_utc();
        store.create_bucket("b", now).unwrap();
        for key in keys {
            store.put_object("b", key, Bytes::from_static(b"x"), None, now).unwrap();
        }
        store
    }

    fn list_all(store: &S3Store, prefix: &str, delimiter: Option<&str>, max_keys: usize) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let query = ListQuery {
                prefix,
                delimiter,
                continuation_token: token.as_deref(),
                max_keys,
                ..ListQuery::default()
            };
            let page = store.list("b", &query).unwrap();
            let mut items: Vec<String> = page.objects.iter().map(|(k, _)| k.clone()).collect();
            items.extend(page.common_prefixes.iter().map(|p| format!("{p}*")));
            pages.push(items);
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => return pages,
            }
        }
    }

    #[test]
    fn pages_cover_every_key_once_in_order() {
        let store = store_with(&["a", "b", "c", "d", "e"]);
        let pages = list_all(&store, "", None, 2);
        assert_eq!(pages, vec![vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
    }

    #[test]
    fn prefixes_filter_and_delimiters_group() {
        let store = store_with(&["2024/01/a", "2024/01/b", "2024/02/c", "2024/x", "2025/01/d", "z"]);
        assert_eq!(
            list_all(&store, "2024/", None, 100),
            vec![vec!["2024/01/a", "2024/01/b", "2024/02/c", "2024/x"]]
        );
        assert_eq!(list_all(&store, "2024/", Some("/"), 100), vec![vec!["2024/x", "2024/01/*", "2024/02/*"]]);
        // A page boundary right after a common prefix must not revisit its keys.
        assert_eq!(list_all(&store, "", Some("/"), 1), vec![vec!["2024/*"], vec!["2025/*"], vec!["z"]]);
    }

    #[test]
    fn etags_are_md5_hex_and_errors_name_the_problem() {
        assert_eq!(etag_of(b""), "d41d8cd98f00b204e9800998ecf8427e");
        let store = store_with(&["k"]);
        assert_eq!(store.get_object("b", "nope").unwrap_err(), StoreError::NoSuchKey);
        assert_eq!(store.get_object("nope", "k").unwrap_err(), StoreError::NoSuchBucket);
        assert_eq!(store.delete_bucket("b").unwrap_err(), StoreError::BucketNotEmpty);
        assert_eq!(
            store.create_bucket("b", OffsetDateTime::now_utc()).unwrap_err(),
            StoreError::BucketAlreadyOwnedByYou
        );
        store.delete_object("b", "k", OffsetDateTime::now_utc()).unwrap();
        store.delete_bucket("b").unwrap();
        assert!(!store.has_bucket("b"));
    }

    #[test]
    fn a_data_directory_keeps_buckets_and_objects_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_987_654_321).unwrap();
        {
            let store = S3Store::open(dir.path()).unwrap();
            store.create_bucket("b", now).unwrap();
            store.create_bucket("gone", now).unwrap();
            store
                .put_object("b", "a/b/../c?d", Bytes::from_static(b"one"), Some("text/plain".into()), now)
                .unwrap();
            store.put_object("b", "k", Bytes::from_static(b"two"), None, now).unwrap();
            store.put_object("b", "deleted", Bytes::from_static(b"x"), None, now).unwrap();
            store.delete_object("b", "deleted", OffsetDateTime::now_utc()).unwrap();
            store.delete_bucket("gone").unwrap();
        }
        let store = S3Store::open(dir.path()).unwrap();
        assert_eq!(store.list_buckets().iter().map(|(name, _, _)| name.as_str()).collect::<Vec<_>>(), ["b"]);
        let object = store.get_object("b", "a/b/../c?d").unwrap();
        assert_eq!(&object.data[..], b"one");
        assert_eq!(object.content_type.as_deref(), Some("text/plain"));
        assert_eq!(object.last_modified.unix_timestamp_nanos(), 1_700_000_000_987_000_000);
        assert_eq!(object.etag, etag_of(b"one"));
        assert_eq!(&store.get_object("b", "k").unwrap().data[..], b"two");
        assert_eq!(store.get_object("b", "deleted").unwrap_err(), StoreError::NoSuchKey);
    }

    #[test]
    fn a_marker_that_is_a_common_prefix_resumes_after_every_key_under_it() {
        let store = store_with(&["a/1", "a/2", "b/1", "c"]);
        let after = |marker: &'static str, delimiter: Option<&'static str>| {
            let query = ListQuery { delimiter, marker: Some(marker), max_keys: 10, ..ListQuery::default() };
            let page = store.list("b", &query).unwrap();
            let mut items: Vec<String> = page.objects.iter().map(|(k, _)| k.clone()).collect();
            items.extend(page.common_prefixes.iter().map(|p| format!("{p}*")));
            items
        };
        assert_eq!(after("a/", Some("/")), ["c", "b/*"]);
        // Without a delimiter a marker is only a key: everything after it, "a/1" included.
        assert_eq!(after("a/", None), ["a/1", "a/2", "b/1", "c"]);
        let truncated = store.list("b", &ListQuery { max_keys: 2, ..ListQuery::default() }).unwrap();
        assert_eq!(truncated.next_marker.as_deref(), Some("a/2"));
    }

    #[test]
    fn settings_metadata_tags_and_multipart_etags_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let config = BucketConfig {
            location: Some("eu-west-1".into()),
            tags: Some(vec![("env".into(), "ci".into())]),
            ..BucketConfig::default()
        };
        {
            let store = S3Store::open(dir.path()).unwrap();
            store.create_bucket_with("b", config.clone(), now).unwrap();
            store.update_bucket_config("b", |config| config.versioning = Some("Enabled".into())).unwrap();
            let new = NewObject {
                data: Bytes::from_static(b"joined"),
                metadata: BTreeMap::from([("team".to_owned(), "logs".to_owned())]),
                etag: Some("0123-2".into()),
                ..NewObject::default()
            };
            store.put("b", "k", new, now).unwrap();
            store.set_object_tags("b", "k", vec![("t".into(), "1".into())]).unwrap();
        }
        let store = S3Store::open(dir.path()).unwrap();
        assert_eq!(
            store.bucket_config("b").unwrap(),
            BucketConfig { versioning: Some("Enabled".into()), ..config }
        );
        let object = store.get_object("b", "k").unwrap();
        assert_eq!(object.etag, "0123-2");
        assert_eq!(object.metadata["team"], "logs");
        assert_eq!(object.tags, [("t".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn last_modified_has_millisecond_precision() {
        let store = store_with(&[]);
        let now = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_987_654_321).unwrap();
        let object = store.put_object("b", "k", Bytes::from_static(b"x"), None, now).unwrap();
        assert_eq!(object.last_modified.unix_timestamp_nanos(), 1_700_000_000_987_000_000);
    }
}
