//! Multipart uploads in progress: their parts, and the rules S3 completes them by.
//!
//! As the S3 API reference documents (CreateMultipartUpload, UploadPart, CompleteMultipartUpload):
//! part numbers run from 1 to 10,000; uploading a part number again replaces it; completing lists
//! parts in ascending order, each with the ETag its upload answered; every part but the last is at
//! least 5 MiB; and the object's ETag is the MD5 of the parts' binary MD5s followed by `-<parts>`.
//! Uploads in progress live in memory only: a restart of the emulator forgets them.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use time::OffsetDateTime;

use crate::s3::store::{NewObject, etag_of, md5_of};
use crate::sync::lock;

/// The smallest part but the last, in bytes.
pub(crate) const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// The largest part number.
pub(crate) const MAX_PART_NUMBER: i32 = 10_000;

/// Every upload in progress, by upload id.
#[derive(Debug, Default)]
pub(crate) struct Uploads {
    uploads: Mutex<BTreeMap<String, Upload>>,
}

/// One upload in progress.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) initiated: OffsetDateTime,
    /// What the object gets besides its data: content type, metadata and tags.
    pub(crate) template: NewObject,
    pub(crate) parts: BTreeMap<i32, Part>,
}

/// One uploaded part.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) data: Bytes,
    /// Hex MD5 of the data, without quotes.
    pub(crate) etag: String,
    pub(crate) last_modified: OffsetDateTime,
}

/// Why a multipart request failed; the names are S3's error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MultipartError {
    #[error(
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been \
         aborted or completed."
    )]
    NoSuchUpload,
    #[error("Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive")]
    InvalidPartNumber,
    #[error(
        "The list of parts was not in ascending order. The parts list must be specified in order by part number."
    )]
    InvalidPartOrder,
    #[error(
        "One or more of the specified parts could not be found. The part might not have been uploaded, or \
         the specified entity tag might not have matched the part's entity tag: part {0}"
    )]
    InvalidPart(i32),
    #[error(
        "Your proposed upload is smaller than the minimum allowed size: part {part} is {size} bytes, the minimum is 5 MiB"
    )]
    EntityTooSmall { part: i32, size: usize },
    #[error(
        "The XML you provided was not well-formed or did not validate against our published schema: no parts"
    )]
    MalformedXml,
}

impl Uploads {
    /// Starts an upload of `key` in `bucket` and returns its id.
    pub(crate) fn create(&self, bucket: &str, key: &str, template: NewObject, now: OffsetDateTime) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let upload = Upload {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            initiated: crate::clock::truncate_to_millis(now),
            template,
            parts: BTreeMap::new(),
        };
        lock(&self.uploads).insert(id.clone(), upload);
        id
    }

    /// Stores part `number` of upload `id` (of `key` in `bucket`), replacing an earlier one of the
    /// same number; returns its ETag.
    pub(crate) fn upload_part(
        &self,
        (bucket, key, id): (&str, &str, &str),
        number: i32,
        data: Bytes,
        now: OffsetDateTime,
    ) -> Result<String, MultipartError> {
        if !(1..=MAX_PART_NUMBER).contains(&number) {
            return Err(MultipartError::InvalidPartNumber);
        }
        let etag = etag_of(&data);
        let mut uploads = lock(&self.uploads);
        let upload = find(&mut uploads, bucket, key, id)?;
        let last_modified = crate::clock::truncate_to_millis(now);
        upload.parts.insert(number, Part { data, etag: etag.clone(), last_modified });
        Ok(etag)
    }

    /// A copy of upload `id` of `key` in `bucket`.
    pub(crate) fn get(&self, bucket: &str, key: &str, id: &str) -> Result<Upload, MultipartError> {
        find(&mut lock(&self.uploads), bucket, key, id).map(|upload| upload.clone())
    }

    /// Every upload of `bucket`, ordered by key and then by initiation.
    pub(crate) fn of_bucket(&self, bucket: &str) -> Vec<(String, Upload)> {
        let uploads = lock(&self.uploads);
        let mut list: Vec<(String, Upload)> = uploads
            .iter()
            .filter(|(_, upload)| upload.bucket == bucket)
            .map(|(id, upload)| (id.clone(), upload.clone()))
            .collect();
        list.sort_by(|(a_id, a), (b_id, b)| (&a.key, a.initiated, a_id).cmp(&(&b.key, b.initiated, b_id)));
        list
    }

    /// Ends upload `id` without an object.
    pub(crate) fn abort(&self, bucket: &str, key: &str, id: &str) -> Result<(), MultipartError> {
        let mut uploads = lock(&self.uploads);
        find(&mut uploads, bucket, key, id)?;
        uploads.remove(id);
        Ok(())
    }

    /// Assembles upload `id` from `parts` (part number and the ETag its upload answered, quotes
    /// allowed) and ends it; returns the object to store. On an error the upload stays, as in S3.
    pub(crate) fn complete(
        &self,
        (bucket, key, id): (&str, &str, &str),
        parts: &[(i32, String)],
    ) -> Result<NewObject, MultipartError> {
        let mut uploads = lock(&self.uploads);
        let upload = find(&mut uploads, bucket, key, id)?;
        if parts.is_empty() {
            return Err(MultipartError::MalformedXml);
        }
        if parts.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
            return Err(MultipartError::InvalidPartOrder);
        }
        let mut chosen = Vec::with_capacity(parts.len());
        for (number, etag) in parts {
            let part = upload.parts.get(number).filter(|part| part.etag == etag.trim_matches('"'));
            chosen.push((*number, part.ok_or(MultipartError::InvalidPart(*number))?));
        }
        for (number, part) in &chosen[..chosen.len() - 1] {
            if part.data.len() < MIN_PART_SIZE {
                return Err(MultipartError::EntityTooSmall { part: *number, size: part.data.len() });
            }
        }
        let size = chosen.iter().map(|(_, part)| part.data.len()).sum();
        let mut data = BytesMut::with_capacity(size);
        let mut digests = Vec::with_capacity(16 * chosen.len());
        for (_, part) in &chosen {
            data.extend_from_slice(&part.data);
            digests.extend_from_slice(&md5_of(&part.data));
        }
        let etag = format!("{}-{}", etag_of(&digests), chosen.len());
        let object = NewObject { data: data.freeze(), etag: Some(etag), ..upload.template.clone() };
        uploads.remove(id);
        Ok(object)
    }
}

/// Upload `id`, if it is one of `key` in `bucket`.
fn find<'u>(
    uploads: &'u mut BTreeMap<String, Upload>,
    bucket: &str,
    key: &str,
    id: &str,
) -> Result<&'u mut Upload, MultipartError> {
    uploads
        .get_mut(id)
        .filter(|upload| upload.bucket == bucket && upload.key == key)
        .ok_or(MultipartError::NoSuchUpload)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: (&str, &str) = ("b", "k");

    fn part(byte: u8, len: usize) -> Bytes {
        Bytes::from(vec![byte; len])
    }

    #[test]
    fn a_completed_upload_joins_its_parts_with_s3s_multipart_etag() {
        let uploads = Uploads::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        let id = uploads.create("b", "k", NewObject::default(), now);
        let (first, second) = (part(1, MIN_PART_SIZE), part(2, 10));
        let e1 = uploads.upload_part((ID.0, ID.1, &id), 1, first.clone(), now).unwrap();
        // Uploading a number again replaces the part.
        uploads.upload_part((ID.0, ID.1, &id), 2, part(9, 3), now).unwrap();
        let e2 = uploads.upload_part((ID.0, ID.1, &id), 2, second.clone(), now).unwrap();
        let object = uploads.complete((ID.0, ID.1, &id), &[(1, format!("\"{e1}\"")), (2, e2)]).unwrap();
        assert_eq!(object.data.len(), MIN_PART_SIZE + 10);
        let mut digests = md5_of(&first).to_vec();
        digests.extend_from_slice(&md5_of(&second));
        assert_eq!(object.etag, Some(format!("{}-2", etag_of(&digests))));
        // Completing ends the upload.
        assert_eq!(uploads.get("b", "k", &id).unwrap_err(), MultipartError::NoSuchUpload);
    }

    #[test]
    fn completion_refuses_what_s3_refuses_and_keeps_the_upload() {
        let uploads = Uploads::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        let id = uploads.create("b", "k", NewObject::default(), now);
        let at = (ID.0, ID.1, id.as_str());
        let e1 = uploads.upload_part(at, 1, part(1, 10), now).unwrap();
        let e2 = uploads.upload_part(at, 2, part(2, 10), now).unwrap();
        let complete = |parts: &[(i32, String)]| uploads.complete(at, parts).unwrap_err();
        assert_eq!(complete(&[]), MultipartError::MalformedXml);
        assert_eq!(complete(&[(2, e2.clone()), (1, e1.clone())]), MultipartError::InvalidPartOrder);
        assert_eq!(complete(&[(1, e2.clone())]), MultipartError::InvalidPart(1));
        assert_eq!(complete(&[(3, e2.clone())]), MultipartError::InvalidPart(3));
        assert_eq!(complete(&[(1, e1), (2, e2)]), MultipartError::EntityTooSmall { part: 1, size: 10 });
        assert_eq!(uploads.upload_part(at, 0, part(1, 1), now), Err(MultipartError::InvalidPartNumber));
        assert_eq!(uploads.upload_part(at, 10_001, part(1, 1), now), Err(MultipartError::InvalidPartNumber));
        assert_eq!(uploads.get("b", "other", &id).unwrap_err(), MultipartError::NoSuchUpload);
        assert_eq!(uploads.get("b", "k", &id).unwrap().parts.len(), 2);
        uploads.abort("b", "k", &id).unwrap();
        assert_eq!(uploads.abort("b", "k", &id), Err(MultipartError::NoSuchUpload));
    }
}
