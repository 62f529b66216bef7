//! The S3 operations real clients call beyond put, get and list: ListObjects (v1), CopyObject,
//! multipart uploads, bucket regions, tagging, versioning, CORS, and the "not configured" answers,
//! each held to what the S3 API reference documents, through aws-sdk-s3.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CompletedMultipartUpload, CompletedPart,
    CorsConfiguration, CorsRule, CreateBucketConfiguration, Delete, MetadataDirective, ObjectIdentifier, Tag,
    Tagging, VersioningConfiguration,
};

use crate::common::Harness;

const MIB: usize = 1024 * 1024;

async fn put(h: &Harness, bucket: &str, key: &str, body: &'static [u8]) {
    h.s3.put_object().bucket(bucket).key(key).body(ByteStream::from_static(body)).send().await.unwrap();
}

async fn body(h: &Harness, bucket: &str, key: &str) -> Vec<u8> {
    let got = h.s3.get_object().bucket(bucket).key(key).send().await.unwrap();
    got.body.collect().await.unwrap().into_bytes().to_vec()
}

/// The error code of a failed call.
fn code<E: aws_sdk_s3::error::ProvideErrorMetadata>(error: &E) -> String {
    error.code().unwrap_or("<no code>").to_owned()
}

#[tokio::test]
async fn list_objects_v1_pages_by_marker_and_rolls_up_hour_prefixes() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("listing-v1").send().await.unwrap();
    for key in ["2020/05/26/10/a", "2020/05/26/10/b", "2020/05/26/11/c", "2020/05/27/00/d", "top"] {
        put(&h, "listing-v1", key, b"x").await;
    }
    // The hour prefix of a Firehose backup, as the blog-post reading scripts list it.
    let hour = h.s3.list_objects().bucket("listing-v1").prefix("2020/05/26").send().await.unwrap();
    let keys: Vec<&str> = hour.contents().iter().filter_map(|object| object.key()).collect();
    assert_eq!(keys, ["2020/05/26/10/a", "2020/05/26/10/b", "2020/05/26/11/c"]);
    assert_eq!(hour.is_truncated(), Some(false));

    // Without a delimiter a truncated page has no NextMarker: the last key is the next marker.
    let mut marker = None;
    let mut pages = Vec::new();
    loop {
        let page =
            h.s3.list_objects()
                .bucket("listing-v1")
                .max_keys(2)
                .set_marker(marker.clone())
                .send()
                .await
                .unwrap();
        assert!(page.next_marker().is_none());
        let keys: Vec<String> = page.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
        marker = keys.last().cloned();
        pages.push(keys);
        if page.is_truncated() != Some(true) {
            break;
        }
    }
    assert_eq!(pages.concat().len(), 5, "{pages:?}");
    assert_eq!(pages.len(), 3);

    // With a delimiter, NextMarker may be a common prefix, and the next page starts after all of it.
    let first =
        h.s3.list_objects()
            .bucket("listing-v1")
            .delimiter("/")
            .prefix("2020/05/")
            .max_keys(1)
            .send()
            .await
            .unwrap();
    let prefixes: Vec<&str> = first.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!((prefixes, first.next_marker()), (vec!["2020/05/26/"], Some("2020/05/26/")));
    let second =
        h.s3.list_objects()
            .bucket("listing-v1")
            .delimiter("/")
            .prefix("2020/05/")
            .marker("2020/05/26/")
            .send()
            .await;
    let second = second.unwrap();
    let prefixes: Vec<&str> = second.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["2020/05/27/"]);
    assert_eq!(second.is_truncated(), Some(false));
}

#[tokio::test]
async fn copy_object_keeps_or_replaces_metadata_and_refuses_a_copy_onto_itself() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("src").send().await.unwrap();
    h.s3.create_bucket().bucket("dst").send().await.unwrap();
    h.s3.put_object()
        .bucket("src")
        .key("a")
        .body(ByteStream::from_static(b"payload"))
        .content_type("application/json")
        .metadata("team", "logs")
        .send()
        .await
        .unwrap();
    let copied = h.s3.copy_object().bucket("dst").key("b").copy_source("src/a").send().await.unwrap();
    let head = h.s3.head_object().bucket("dst").key("b").send().await.unwrap();
    assert_eq!(copied.copy_object_result().and_then(|r| r.e_tag()), head.e_tag());
    assert_eq!(head.content_type(), Some("application/json"));
    assert_eq!(head.metadata().and_then(|m| m.get("team")).map(String::as_str), Some("logs"));
    assert_eq!(body(&h, "dst", "b").await, b"payload");

    let onto_itself =
        h.s3.copy_object().bucket("src").key("a").copy_source("src/a").send().await.unwrap_err();
    assert_eq!(code(&onto_itself), "InvalidRequest");
    h.s3.copy_object()
        .bucket("src")
        .key("a")
        .copy_source("src/a")
        .metadata_directive(MetadataDirective::Replace)
        .metadata("team", "platform")
        .send()
        .await
        .unwrap();
    let head = h.s3.head_object().bucket("src").key("a").send().await.unwrap();
    assert_eq!(head.metadata().and_then(|m| m.get("team")).map(String::as_str), Some("platform"));
    assert_eq!(head.content_type(), None, "REPLACE takes the request's headers, which name no type");

    let missing = h.s3.copy_object().bucket("dst").key("c").copy_source("src/nope").send().await.unwrap_err();
    assert_eq!(code(&missing), "NoSuchKey");
}

#[tokio::test]
async fn a_multipart_upload_completes_with_s3s_etag_and_refuses_small_parts() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("multi").send().await.unwrap();
    let upload = h.s3.create_multipart_upload().bucket("multi").key("big").send().await.unwrap();
    let id = upload.upload_id().unwrap().to_owned();
    let parts = [vec![b'a'; 5 * MIB], vec![b'b'; 3]];
    let mut completed = Vec::new();
    for (index, data) in parts.iter().enumerate() {
        let number = i32::try_from(index + 1).unwrap();
        let part = h.s3.upload_part().bucket("multi").key("big").upload_id(&id).part_number(number);
        let answer = part.body(ByteStream::from(data.clone())).send().await.unwrap();
        completed.push(CompletedPart::builder().part_number(number).e_tag(answer.e_tag().unwrap()).build());
    }
    let listed = h.s3.list_parts().bucket("multi").key("big").upload_id(&id).send().await.unwrap();
    let sizes: Vec<i64> = listed.parts().iter().filter_map(|part| part.size()).collect();
    assert_eq!(sizes, [5 * MIB as i64, 3]);
    let uploads = h.s3.list_multipart_uploads().bucket("multi").send().await.unwrap();
    assert_eq!(uploads.uploads().len(), 1);

    let done =
        h.s3.complete_multipart_upload()
            .bucket("multi")
            .key("big")
            .upload_id(&id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
            .send()
            .await
            .unwrap();
    // The MD5 of the two parts' binary MD5s, then the part count (computed with md5sum and xxd).
    let mut digests = Vec::new();
    for data in &parts {
        digests.extend_from_slice(&md5_hex_bytes(data));
    }
    let expected = format!("\"{}-2\"", hex(&md5_hex_bytes(&digests)));
    assert_eq!(done.e_tag(), Some(expected.as_str()));
    let object = body(&h, "multi", "big").await;
    assert_eq!(object.len(), 5 * MIB + 3);
    assert!(object.ends_with(b"abbb"));
    let gone = h.s3.list_parts().bucket("multi").key("big").upload_id(&id).send().await.unwrap_err();
    assert_eq!(code(&gone), "NoSuchUpload");

    // Two parts smaller than 5 MiB: the first is too small.
    let small = h.s3.create_multipart_upload().bucket("multi").key("small").send().await.unwrap();
    let id = small.upload_id().unwrap().to_owned();
    let mut completed = Vec::new();
    for number in [1, 2] {
        let part = h.s3.upload_part().bucket("multi").key("small").upload_id(&id).part_number(number);
        let answer = part.body(ByteStream::from_static(b"tiny")).send().await.unwrap();
        completed.push(CompletedPart::builder().part_number(number).e_tag(answer.e_tag().unwrap()).build());
    }
    let refused =
        h.s3.complete_multipart_upload()
            .bucket("multi")
            .key("small")
            .upload_id(&id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
            .send()
            .await
            .unwrap_err();
    assert_eq!(code(&refused), "EntityTooSmall");
    h.s3.abort_multipart_upload().bucket("multi").key("small").upload_id(&id).send().await.unwrap();
    let aborted = h.s3.abort_multipart_upload().bucket("multi").key("small").upload_id(&id).send().await;
    assert_eq!(code(&aborted.unwrap_err()), "NoSuchUpload");
}

#[tokio::test]
async fn upload_part_copy_takes_a_byte_range_of_another_object() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("partcopy").send().await.unwrap();
    put(&h, "partcopy", "source", b"0123456789").await;
    let upload = h.s3.create_multipart_upload().bucket("partcopy").key("copy").send().await.unwrap();
    let id = upload.upload_id().unwrap();
    let part =
        h.s3.upload_part_copy()
            .bucket("partcopy")
            .key("copy")
            .upload_id(id)
            .part_number(1)
            .copy_source("partcopy/source")
            .copy_source_range("bytes=2-5")
            .send()
            .await
            .unwrap();
    let etag = part.copy_part_result().and_then(|result| result.e_tag()).unwrap().to_owned();
    let parts = vec![CompletedPart::builder().part_number(1).e_tag(etag).build()];
    h.s3.complete_multipart_upload()
        .bucket("partcopy")
        .key("copy")
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .unwrap();
    assert_eq!(body(&h, "partcopy", "copy").await, b"2345");
}

#[tokio::test]
async fn buckets_keep_their_location_constraint_and_report_their_region() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("east").send().await.unwrap();
    let config = |region: &str| {
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region))
            .build()
    };
    h.s3.create_bucket()
        .bucket("west")
        .create_bucket_configuration(config("eu-west-1"))
        .send()
        .await
        .unwrap();

    let east = h.s3.get_bucket_location().bucket("east").send().await.unwrap();
    // S3 answers an empty <LocationConstraint/> for us-east-1, which the SDK reads as "".
    assert_eq!(east.location_constraint().map_or("", |c| c.as_str()), "", "{east:?}");
    let west = h.s3.get_bucket_location().bucket("west").send().await.unwrap();
    assert_eq!(west.location_constraint().map(|c| c.as_str()), Some("eu-west-1"));
    let head = h.s3.head_bucket().bucket("west").send().await.unwrap();
    assert_eq!(head.bucket_region(), Some("eu-west-1"));
    let listed = h.s3.list_buckets().send().await.unwrap();
    let regions: Vec<Option<&str>> = listed.buckets().iter().map(|bucket| bucket.bucket_region()).collect();
    assert_eq!(regions, [Some("us-east-1"), Some("eu-west-1")]);

    for (constraint, expected) in
        [("us-east-1", "InvalidLocationConstraint"), ("mars-1", "InvalidLocationConstraint")]
    {
        let refused =
            h.s3.create_bucket().bucket("bad").create_bucket_configuration(config(constraint)).send().await;
        assert_eq!(code(&refused.unwrap_err()), expected, "{constraint}");
    }
    let missing = h.s3.get_bucket_location().bucket("absent").send().await.unwrap_err();
    assert_eq!(code(&missing), "NoSuchBucket");
}

#[tokio::test]
async fn bucket_and_object_tags_round_trip_within_s3s_limits() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("tags").send().await.unwrap();
    let untagged = h.s3.get_bucket_tagging().bucket("tags").send().await.unwrap_err();
    assert_eq!(code(&untagged), "NoSuchTagSet");
    let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build().unwrap();
    let tagging = |tags: Vec<Tag>| Tagging::builder().set_tag_set(Some(tags)).build().unwrap();
    h.s3.put_bucket_tagging().bucket("tags").tagging(tagging(vec![tag("env", "ci")])).send().await.unwrap();
    let got = h.s3.get_bucket_tagging().bucket("tags").send().await.unwrap();
    assert_eq!(got.tag_set().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("env", "ci")]);
    h.s3.delete_bucket_tagging().bucket("tags").send().await.unwrap();
    assert!(h.s3.get_bucket_tagging().bucket("tags").send().await.is_err());

    h.s3.put_object()
        .bucket("tags")
        .key("o")
        .tagging("customer=acme&tier=gold")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let got = h.s3.get_object_tagging().bucket("tags").key("o").send().await.unwrap();
    let pairs: Vec<(&str, &str)> = got.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(pairs, [("customer", "acme"), ("tier", "gold")]);
    assert_eq!(h.s3.get_object().bucket("tags").key("o").send().await.unwrap().tag_count(), Some(2));
    let eleven = (0..11).map(|i| tag(&format!("k{i}"), "v")).collect();
    let refused = h.s3.put_object_tagging().bucket("tags").key("o").tagging(tagging(eleven)).send().await;
    assert_eq!(code(&refused.unwrap_err()), "InvalidTag");
    h.s3.delete_object_tagging().bucket("tags").key("o").send().await.unwrap();
    assert!(h.s3.get_object_tagging().bucket("tags").key("o").send().await.unwrap().tag_set().is_empty());
}

#[tokio::test]
async fn versioning_cors_encryption_and_policy_answer_as_s3_does() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("cfg").send().await.unwrap();
    let never = h.s3.get_bucket_versioning().bucket("cfg").send().await.unwrap();
    assert_eq!(never.status(), None);
    let enabled = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    h.s3.put_bucket_versioning().bucket("cfg").versioning_configuration(enabled).send().await.unwrap();
    let got = h.s3.get_bucket_versioning().bucket("cfg").send().await.unwrap();
    assert_eq!(got.status(), Some(&BucketVersioningStatus::Enabled));

    // Every bucket has SSE-S3 by default; none has a policy.
    let encryption = h.s3.get_bucket_encryption().bucket("cfg").send().await.unwrap();
    let rules = encryption.server_side_encryption_configuration().unwrap().rules();
    let default = rules[0].apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "AES256");
    let policy = h.s3.get_bucket_policy().bucket("cfg").send().await.unwrap_err();
    assert_eq!(code(&policy), "NoSuchBucketPolicy");

    let none = h.s3.get_bucket_cors().bucket("cfg").send().await.unwrap_err();
    assert_eq!(code(&none), "NoSuchCORSConfiguration");
    let rule = CorsRule::builder()
        .allowed_origins("https://app.example.com")
        .allowed_methods("GET")
        .allowed_methods("PUT")
        .allowed_headers("*")
        .max_age_seconds(600)
        .build()
        .unwrap();
    let cors = CorsConfiguration::builder().cors_rules(rule).build().unwrap();
    h.s3.put_bucket_cors().bucket("cfg").cors_configuration(cors).send().await.unwrap();
    let got = h.s3.get_bucket_cors().bucket("cfg").send().await.unwrap();
    assert_eq!(got.cors_rules()[0].allowed_methods(), ["GET", "PUT"]);

    let allowed = preflight(&h, "cfg", "https://app.example.com", "PUT").await;
    assert!(allowed.starts_with("HTTP/1.1 200"), "{allowed}");
    assert!(
        allowed.to_ascii_lowercase().contains("access-control-allow-origin: https://app.example.com"),
        "{allowed}"
    );
    let denied = preflight(&h, "cfg", "https://evil.example.org", "PUT").await;
    assert!(denied.starts_with("HTTP/1.1 403"), "{denied}");
    h.s3.delete_bucket_cors().bucket("cfg").send().await.unwrap();
    let disabled = preflight(&h, "cfg", "https://app.example.com", "GET").await;
    assert!(disabled.starts_with("HTTP/1.1 403") && disabled.contains("CORS is not enabled"), "{disabled}");
}

#[tokio::test]
async fn delete_objects_removes_a_batch_and_names_each_key() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("batch").send().await.unwrap();
    for key in ["a", "b", "c"] {
        put(&h, "batch", key, b"x").await;
    }
    let identifiers =
        ["a", "c", "never"].map(|key| ObjectIdentifier::builder().key(key).build().unwrap()).to_vec();
    let delete = Delete::builder().set_objects(Some(identifiers)).build().unwrap();
    let answer = h.s3.delete_objects().bucket("batch").delete(delete).send().await.unwrap();
    let deleted: Vec<&str> = answer.deleted().iter().filter_map(|d| d.key()).collect();
    assert_eq!(deleted, ["a", "c", "never"], "deleting a missing key succeeds, as in S3");
    let left = h.s3.list_objects_v2().bucket("batch").send().await.unwrap();
    assert_eq!(left.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(), ["b"]);
}

/// A CORS preflight for `bucket` over a plain socket; the raw response.
async fn preflight(h: &Harness, bucket: &str, origin: &str, method: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut socket = tokio::net::TcpStream::connect(h.emulator.local_addr()).await.unwrap();
    let request = format!(
        "OPTIONS /{bucket}/key HTTP/1.1\r\nhost: localhost\r\norigin: {origin}\r\n\
         access-control-request-method: {method}\r\naccess-control-request-headers: content-type\r\n\
         connection: close\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    response
}

/// The binary MD5 of `data`.
fn md5_hex_bytes(data: &[u8]) -> [u8; 16] {
    use md5::Digest as _;
    md5::Md5::digest(data).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A plain GET of `url`, as a browser or `curl` fetches a presigned URL: (status, body).
#[expect(
    clippy::disallowed_methods,
    reason = "a presigned URL is fetched without any SDK, as users fetch it"
)]
async fn fetch(url: &str) -> (u16, String) {
    use http_body_util::BodyExt as _;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let response = client.get(url.parse().unwrap()).await.expect("the emulator answers");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn presigned_get_urls_are_served_until_they_expire() {
    use aws_sdk_s3::presigning::PresigningConfig;
    use std::time::{Duration, SystemTime};
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("shared").send().await.unwrap();
    put(&h, "shared", "2026/12/03/report.json", b"{\"ok\":true}\n").await;
    let presign = |config: PresigningConfig| {
        h.s3.get_object().bucket("shared").key("2026/12/03/report.json").presigned(config)
    };
    let fresh = presign(PresigningConfig::expires_in(Duration::from_secs(3600)).unwrap()).await.unwrap();
    assert!(fresh.uri().contains("X-Amz-Signature="), "{}", fresh.uri());
    assert_eq!(fetch(fresh.uri()).await, (200, "{\"ok\":true}\n".to_owned()));

    let signed_two_hours_ago = PresigningConfig::builder()
        .start_time(SystemTime::now() - Duration::from_secs(7200))
        .expires_in(Duration::from_secs(3600))
        .build()
        .unwrap();
    let stale = presign(signed_two_hours_ago).await.unwrap();
    let (status, body) = fetch(stale.uri()).await;
    assert_eq!(status, 403);
    assert!(body.contains("<Code>AccessDenied</Code>") && body.contains("Request has expired"), "{body}");
}

/// Every version and delete marker of `bucket` through ListObjectVersions, one entry per page:
/// (key, version id, latest, is a delete marker), newest first per key.
async fn all_versions(h: &Harness, bucket: &str) -> Vec<(String, String, bool, bool)> {
    let (mut key_marker, mut version_marker) = (None, None);
    let mut all = Vec::new();
    loop {
        let page =
            h.s3.list_object_versions()
                .bucket(bucket)
                .max_keys(1)
                .set_key_marker(key_marker)
                .set_version_id_marker(version_marker)
                .send()
                .await
                .unwrap();
        for version in page.versions() {
            let id = version.version_id().unwrap().to_owned();
            all.push((version.key().unwrap().to_owned(), id, version.is_latest().unwrap(), false));
        }
        for marker in page.delete_markers() {
            let id = marker.version_id().unwrap().to_owned();
            all.push((marker.key().unwrap().to_owned(), id, marker.is_latest().unwrap(), true));
        }
        assert!(page.versions().len() + page.delete_markers().len() <= 1, "MaxKeys holds");
        if !page.is_truncated().unwrap_or(false) {
            return all;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
}

#[tokio::test]
async fn versioned_buckets_keep_every_version_behind_delete_markers() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("history").send().await.unwrap();
    let unversioned =
        h.s3.put_object().bucket("history").key("k").body(ByteStream::from_static(b"v0")).send().await;
    assert_eq!(unversioned.unwrap().version_id(), None, "no version id before versioning");
    let enabled = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    h.s3.put_bucket_versioning().bucket("history").versioning_configuration(enabled).send().await.unwrap();
    let mut ids = Vec::new();
    for body in [&b"v1"[..], b"v2"] {
        let put =
            h.s3.put_object().bucket("history").key("k").body(ByteStream::from_static(body)).send().await;
        ids.push(put.unwrap().version_id().expect("a version id").to_owned());
    }
    assert_ne!(ids[0], ids[1]);
    assert_eq!(body(&h, "history", "k").await, b"v2");
    let old = h.s3.get_object().bucket("history").key("k").version_id(&ids[0]).send().await.unwrap();
    assert_eq!(old.version_id(), Some(ids[0].as_str()));
    assert_eq!(old.body.collect().await.unwrap().into_bytes().as_ref(), b"v1");
    let null = h.s3.get_object().bucket("history").key("k").version_id("null").send().await.unwrap();
    assert_eq!(null.body.collect().await.unwrap().into_bytes().as_ref(), b"v0", "the pre-versioning object");

    // A delete without a version id hides the key behind a delete marker; the versions stay.
    let deleted = h.s3.delete_object().bucket("history").key("k").send().await.unwrap();
    assert_eq!(deleted.delete_marker(), Some(true));
    let marker = deleted.version_id().expect("the marker's version id").to_owned();
    let gone = h.s3.get_object().bucket("history").key("k").send().await.unwrap_err();
    assert_eq!(code(&gone.into_service_error()), "NoSuchKey");
    let listed = h.s3.list_objects_v2().bucket("history").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(0), "a deleted key is not listed");
    let of_marker = h.s3.head_object().bucket("history").key("k").version_id(&marker).send().await;
    assert!(of_marker.is_err(), "a delete marker has no object to read");
    assert_eq!(
        all_versions(&h, "history").await,
        [
            ("k".to_owned(), marker.clone(), true, true),
            ("k".to_owned(), ids[1].clone(), false, false),
            ("k".to_owned(), ids[0].clone(), false, false),
            ("k".to_owned(), "null".to_owned(), false, false),
        ]
    );

    // Deleting the marker by its version id brings the newest version back.
    h.s3.delete_object().bucket("history").key("k").version_id(&marker).send().await.unwrap();
    assert_eq!(body(&h, "history", "k").await, b"v2");
    h.s3.delete_object().bucket("history").key("k").version_id(&ids[1]).send().await.unwrap();
    assert_eq!(body(&h, "history", "k").await, b"v1", "deleting the current version promotes the previous");
    let missing = h.s3.get_object().bucket("history").key("k").version_id(&ids[1]).send().await.unwrap_err();
    assert_eq!(code(&missing.into_service_error()), "NoSuchVersion");
}

#[tokio::test]
async fn metrics_configurations_round_trip_page_and_never_touch_objects() {
    use aws_sdk_s3::types::{MetricsConfiguration, MetricsFilter};
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("metered").send().await.unwrap();
    put(&h, "metered", "logs/a", b"a").await;
    let configuration = |id: &str| {
        MetricsConfiguration::builder()
            .id(id)
            .filter(MetricsFilter::Prefix("logs/".to_owned()))
            .build()
            .unwrap()
    };
    for i in 0..101 {
        let id = format!("cfg-{i:03}");
        let put =
            h.s3.put_bucket_metrics_configuration()
                .bucket("metered")
                .id(&id)
                .metrics_configuration(configuration(&id));
        put.send().await.unwrap();
    }
    let got = h.s3.get_bucket_metrics_configuration().bucket("metered").id("cfg-007").send().await.unwrap();
    let got = got.metrics_configuration().unwrap();
    assert_eq!((got.id(), got.filter()), ("cfg-007", Some(&MetricsFilter::Prefix("logs/".to_owned()))));
    let mismatched =
        h.s3.put_bucket_metrics_configuration()
            .bucket("metered")
            .id("other")
            .metrics_configuration(configuration("cfg-000"))
            .send()
            .await
            .unwrap_err();
    assert_eq!(code(&mismatched.into_service_error()), "InvalidArgument");

    let first = h.s3.list_bucket_metrics_configurations().bucket("metered").send().await.unwrap();
    assert_eq!(first.metrics_configuration_list().len(), 100);
    assert_eq!(first.is_truncated(), Some(true));
    let token = first.next_continuation_token().unwrap().to_owned();
    let rest =
        h.s3.list_bucket_metrics_configurations()
            .bucket("metered")
            .continuation_token(token)
            .send()
            .await
            .unwrap();
    let ids: Vec<&str> = rest.metrics_configuration_list().iter().map(|c| c.id()).collect();
    assert_eq!(ids, ["cfg-100"]);
    assert_eq!(rest.is_truncated(), Some(false));

    h.s3.delete_bucket_metrics_configuration().bucket("metered").id("cfg-007").send().await.unwrap();
    let gone =
        h.s3.get_bucket_metrics_configuration().bucket("metered").id("cfg-007").send().await.unwrap_err();
    let raw_status = gone.raw_response().map(|r| r.status().as_u16());
    assert_eq!((code(&gone.into_service_error()), raw_status), ("NoSuchConfiguration".to_owned(), Some(404)));
    assert_eq!(body(&h, "metered", "logs/a").await, b"a", "objects are untouched");
}
