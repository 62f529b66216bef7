//! The in-memory S3 data: buckets and their objects, kept sorted by key for listing.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use md5::{Digest, Md5};
use time::OffsetDateTime;

use crate::clock::truncate_to_millis;
use crate::lock;

/// All buckets.
#[derive(Debug, Default)]
pub(crate) struct S3Store {
    buckets: Mutex<BTreeMap<String, Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    created: OffsetDateTime,
    objects: BTreeMap<String, Object>,
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
}

/// A ListObjectsV2 request.
#[derive(Debug, Default)]
pub(crate) struct ListQuery<'a> {
    pub(crate) prefix: &'a str,
    pub(crate) delimiter: Option<&'a str>,
    pub(crate) continuation_token: Option<&'a str>,
    pub(crate) start_after: Option<&'a str>,
    pub(crate) max_keys: usize,
}

/// One page of a listing.
#[derive(Debug, Default)]
pub(crate) struct ListPage {
    pub(crate) objects: Vec<(String, Object)>,
    pub(crate) common_prefixes: Vec<String>,
    pub(crate) next_continuation_token: Option<String>,
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

/// The quoted ETag S3 reports for an object written in one piece: the MD5 of its data.
pub(crate) fn etag_of(data: &[u8]) -> String {
    let digest: [u8; 16] = Md5::digest(data).into();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl S3Store {
    /// Creates a bucket.
    pub(crate) fn create_bucket(&self, name: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut buckets = lock(&self.buckets);
        if buckets.contains_key(name) {
            return Err(StoreError::BucketAlreadyOwnedByYou);
        }
        buckets
            .insert(name.to_owned(), Bucket { created: truncate_to_millis(now), objects: BTreeMap::new() });
        Ok(())
    }

    /// Whether a bucket exists.
    pub(crate) fn has_bucket(&self, name: &str) -> bool {
        lock(&self.buckets).contains_key(name)
    }

    /// Names and creation times of all buckets, sorted by name.
    pub(crate) fn list_buckets(&self) -> Vec<(String, OffsetDateTime)> {
        lock(&self.buckets).iter().map(|(name, bucket)| (name.clone(), bucket.created)).collect()
    }

    /// Deletes an empty bucket.
    pub(crate) fn delete_bucket(&self, name: &str) -> Result<(), StoreError> {
        let mut buckets = lock(&self.buckets);
        match buckets.get(name) {
            None => Err(StoreError::NoSuchBucket),
            Some(bucket) if !bucket.objects.is_empty() => Err(StoreError::BucketNotEmpty),
            Some(_) => {
                buckets.remove(name);
                Ok(())
            }
        }
    }

    /// Writes an object, replacing any object with the same key, and returns it as stored.
    pub(crate) fn put_object(
        &self,
        bucket: &str,
        key: &str,
        data: Bytes,
        content_type: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Object, StoreError> {
        // Hash before locking; it is the expensive part of a write.
        let object =
            Object { etag: etag_of(&data), data, last_modified: truncate_to_millis(now), content_type };
        let mut buckets = lock(&self.buckets);
        let bucket = buckets.get_mut(bucket).ok_or(StoreError::NoSuchBucket)?;
        bucket.objects.insert(key.to_owned(), object.clone());
        Ok(object)
    }

    /// Reads an object; the data is shared, not copied.
    pub(crate) fn get_object(&self, bucket: &str, key: &str) -> Result<Object, StoreError> {
        let buckets = lock(&self.buckets);
        let bucket = buckets.get(bucket).ok_or(StoreError::NoSuchBucket)?;
        bucket.objects.get(key).cloned().ok_or(StoreError::NoSuchKey)
    }

    /// Deletes an object; deleting a missing key succeeds, as in S3.
    pub(crate) fn delete_object(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let mut buckets = lock(&self.buckets);
        let bucket = buckets.get_mut(bucket).ok_or(StoreError::NoSuchBucket)?;
        bucket.objects.remove(key);
        Ok(())
    }

    /// Lists one page of keys in lexicographic order, grouping keys under `delimiter` into common prefixes.
    pub(crate) fn list(&self, bucket: &str, query: &ListQuery<'_>) -> Result<ListPage, StoreError> {
        let resume = match query.continuation_token {
            Some(token) => Some(Resume::decode(token).ok_or(StoreError::InvalidContinuationToken)?),
            None => query.start_after.map(|key| Resume::AfterKey(key.to_owned())),
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
            let common_prefix = query.delimiter.filter(|d| !d.is_empty()).and_then(|delimiter| {
                let rest = &key[query.prefix.len()..];
                rest.find(delimiter).map(|at| &key[..query.prefix.len() + at + delimiter.len()])
            });
            if let (Some(prefix), Some(Resume::AfterPrefix(previous))) = (common_prefix, &last)
                && prefix == previous
            {
                continue;
            }
            if count == query.max_keys {
                page.next_continuation_token = last.as_ref().map(Resume::encode);
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
                start_after: None,
                max_keys,
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
        store.delete_object("b", "k").unwrap();
        store.delete_bucket("b").unwrap();
        assert!(!store.has_bucket("b"));
    }

    #[test]
    fn last_modified_has_millisecond_precision() {
        let store = store_with(&[]);
        let now = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_987_654_321).unwrap();
        let object = store.put_object("b", "k", Bytes::from_static(b"x"), None, now).unwrap();
        assert_eq!(object.last_modified.unix_timestamp_nanos(), 1_700_000_000_987_000_000);
    }
}
