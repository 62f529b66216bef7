//! S3 through aws-sdk-s3 with arbitrary credentials: path style, virtual-host style and a data directory.

use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_sdk_s3::primitives::ByteStream;
use emulator::EmulatorConfig;

use crate::common::Harness;

#[tokio::test]
async fn buckets_and_objects_round_trip() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("data").send().await.unwrap();
    h.s3.head_bucket().bucket("data").send().await.unwrap();
    let missing = h.s3.head_bucket().bucket("absent").send().await.unwrap_err();
    assert!(matches!(missing.into_service_error(), HeadBucketError::NotFound(_)));

    let put =
        h.s3.put_object()
            .bucket("data")
            .key("dir/a.json")
            .body(ByteStream::from_static(b"{\"a\":1}"))
            .send()
            .await
            .unwrap();
    // MD5 of {"a":1} (computed with md5sum), quoted as S3 writes ETags.
    assert_eq!(put.e_tag(), Some("\"bb6cb5c68df4652941caf652a366f2d8\""));

    let got = h.s3.get_object().bucket("data").key("dir/a.json").send().await.unwrap();
    assert_eq!(got.e_tag(), put.e_tag());
    let last_modified = *got.last_modified().unwrap();
    let body = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"{\"a\":1}");

    // Listings carry LastModified with millisecond precision; headers only carry seconds.
    let listed = h.s3.list_objects_v2().bucket("data").send().await.unwrap();
    let listed_time = *listed.contents()[0].last_modified().unwrap();
    assert_eq!(listed_time.secs(), last_modified.secs());
    assert_eq!(listed_time.subsec_nanos() % 1_000_000, 0);

    h.s3.delete_object().bucket("data").key("dir/a.json").send().await.unwrap();
    let gone = h.s3.get_object().bucket("data").key("dir/a.json").send().await.unwrap_err();
    assert!(matches!(gone.into_service_error(), GetObjectError::NoSuchKey(_)));
}

#[tokio::test]
async fn etags_are_the_md5_of_the_data() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("bkt").send().await.unwrap();
    let put =
        h.s3.put_object().bucket("bkt").key("k").body(ByteStream::from_static(b"")).send().await.unwrap();
    assert_eq!(put.e_tag(), Some("\"d41d8cd98f00b204e9800998ecf8427e\""));
}

#[tokio::test]
async fn listing_pages_with_continuation_tokens() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("pages").send().await.unwrap();
    for i in 0..5 {
        h.s3.put_object()
            .bucket("pages")
            .key(format!("logs/{i}"))
            .body(ByteStream::from(vec![b'x'; i]))
            .send()
            .await
            .unwrap();
    }
    h.s3.put_object().bucket("pages").key("other").body(ByteStream::from_static(b"o")).send().await.unwrap();

    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page =
            h.s3.list_objects_v2()
                .bucket("pages")
                .prefix("logs/")
                .max_keys(2)
                .set_continuation_token(token.clone())
                .send()
                .await
                .unwrap();
        pages += 1;
        assert_eq!(page.key_count(), Some(page.contents().len() as i32));
        keys.extend(page.contents().iter().map(|o| o.key().unwrap().to_owned()));
        if page.is_truncated() == Some(true) {
            assert_eq!(page.contents().len(), 2);
            token = Some(page.next_continuation_token().expect("a token on truncated pages").to_owned());
        } else {
            assert!(page.next_continuation_token().is_none());
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(keys, vec!["logs/0", "logs/1", "logs/2", "logs/3", "logs/4"]);

    let all = h.s3.list_objects_v2().bucket("pages").send().await.unwrap();
    assert_eq!(all.key_count(), Some(6));
    assert_eq!(all.is_truncated(), Some(false));

    let grouped = h.s3.list_objects_v2().bucket("pages").delimiter("/").send().await.unwrap();
    let prefixes: Vec<&str> = grouped.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, vec!["logs/"]);
    assert_eq!(grouped.contents().len(), 1);
}

#[tokio::test]
async fn streaming_uploads_with_trailing_checksums_are_decoded() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("stream").send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payload");
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &payload).unwrap();
    // A file body is streamed, so the SDK sends it aws-chunked with a CRC32 trailer.
    let body = ByteStream::from_path(&path).await.unwrap();
    h.s3.put_object().bucket("stream").key("file").body(body).send().await.unwrap();
    let got = h.s3.get_object().bucket("stream").key("file").send().await.unwrap();
    assert_eq!(got.content_length(), Some(payload.len() as i64));
    assert_eq!(got.body.collect().await.unwrap().into_bytes().to_vec(), payload);
}

#[tokio::test]
#[expect(
    clippy::disallowed_methods,
    reason = "builds clients with credentials of its own, which Endpoint::clients does not take"
)]
async fn any_credentials_are_accepted() {
    let h = Harness::start().await;
    let cfg = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "AKIAOTHERKEY",
            "some-other-secret",
            Some("session".to_owned()),
            None,
            "static",
        ))
        .endpoint_url(h.emulator.endpoint())
        .load()
        .await;
    let other =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&cfg).force_path_style(true).build());
    // Outside us-east-1, S3 wants the region as the bucket's LocationConstraint.
    let unconstrained = other.create_bucket().bucket("mine").send().await.unwrap_err();
    let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&unconstrained);
    assert_eq!(code, Some("IllegalLocationConstraintException"));
    let here = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
        .build();
    other.create_bucket().bucket("mine").create_bucket_configuration(here).send().await.unwrap();
    let elsewhere = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
        .build();
    let mismatched =
        other.create_bucket().bucket("there").create_bucket_configuration(elsewhere).send().await;
    let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&mismatched.unwrap_err()).map(str::to_owned);
    assert_eq!(code.as_deref(), Some("IllegalLocationConstraintException"));
    other.put_object().bucket("mine").key("k").body(ByteStream::from_static(b"v")).send().await.unwrap();
    let listed = h.s3.list_objects_v2().bucket("mine").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
}

/// Sends one S3 request over a plain socket with the given `Host` header and returns the raw response.
async fn raw_s3(emulator: &emulator::Emulator, method: &str, host: &str, path: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut socket = tokio::net::TcpStream::connect(emulator.local_addr()).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn virtual_host_style_requests_name_the_bucket_in_the_host() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("vhost").send().await.unwrap();
    let host = format!("vhost.localhost:{}", h.emulator.local_addr().port());
    let put = raw_s3(&h.emulator, "PUT", &host, "/dir/file.txt", "virtual").await;
    assert!(put.starts_with("HTTP/1.1 200"), "{put}");
    let got = h.s3.get_object().bucket("vhost").key("dir/file.txt").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"virtual");
    let get = raw_s3(&h.emulator, "GET", &host, "/dir/file.txt", "").await;
    assert!(get.starts_with("HTTP/1.1 200") && get.ends_with("virtual"), "{get}");
    let list = raw_s3(&h.emulator, "GET", &host, "/?list-type=2&prefix=dir/", "").await;
    assert!(list.contains("<Key>dir/file.txt</Key>"), "{list}");
    // Plain `localhost` stays path style.
    let path_style = raw_s3(&h.emulator, "GET", "localhost", "/vhost/dir/file.txt", "").await;
    assert!(path_style.ends_with("virtual"), "{path_style}");
}

#[tokio::test]
async fn a_data_directory_keeps_objects_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmulatorConfig { data_dir: Some(dir.path().to_owned()), ..EmulatorConfig::default() };
    let h = Harness::with_config(config()).await;
    h.s3.create_bucket().bucket("kept").send().await.unwrap();
    h.s3.put_object()
        .bucket("kept")
        .key("a/b.json")
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await
        .unwrap();
    let before = h.s3.head_object().bucket("kept").key("a/b.json").send().await.unwrap();
    h.emulator.shutdown().await;

    let h = Harness::with_config(config()).await;
    let after = h.s3.head_object().bucket("kept").key("a/b.json").send().await.unwrap();
    assert_eq!(after.last_modified(), before.last_modified());
    assert_eq!(after.e_tag(), before.e_tag());
    assert_eq!(h.objects("kept").await, vec![("a/b.json".to_owned(), b"{}".to_vec())]);
}

#[tokio::test]
async fn ranges_batch_deletes_and_bucket_listings() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("ops").send().await.unwrap();
    for key in ["a", "b", "c"] {
        let body = ByteStream::from(format!("0123456789-{key}").into_bytes());
        h.s3.put_object().bucket("ops").key(key).body(body).send().await.unwrap();
    }
    let ranged = h.s3.get_object().bucket("ops").key("a").range("bytes=2-5").send().await.unwrap();
    assert_eq!(ranged.content_range(), Some("bytes 2-5/12"));
    assert_eq!(ranged.body.collect().await.unwrap().into_bytes().as_ref(), b"2345");
    let suffix = h.s3.get_object().bucket("ops").key("a").range("bytes=-2").send().await.unwrap();
    assert_eq!(suffix.body.collect().await.unwrap().into_bytes().as_ref(), b"-a");

    let head = h.s3.head_object().bucket("ops").key("b").send().await.unwrap();
    assert_eq!(head.content_length(), Some(12));
    let modified = head.last_modified().expect("LastModified is set").as_secs_f64();
    let now = h.emulator.clock().now().unix_timestamp() as f64;
    assert!((now - modified).abs() < 60.0, "LastModified {modified} is not emulator time {now}");

    let ids = ["a", "c", "missing"]
        .iter()
        .map(|key| aws_sdk_s3::types::ObjectIdentifier::builder().key(*key).build().unwrap())
        .collect();
    let delete = aws_sdk_s3::types::Delete::builder().set_objects(Some(ids)).build().unwrap();
    let deleted = h.s3.delete_objects().bucket("ops").delete(delete).send().await.unwrap();
    assert_eq!(deleted.deleted().len(), 3);
    let left = h.s3.list_objects_v2().bucket("ops").send().await.unwrap();
    assert_eq!(left.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(), ["b"]);

    let buckets = h.s3.list_buckets().send().await.unwrap();
    assert_eq!(buckets.buckets().iter().filter_map(|b| b.name()).collect::<Vec<_>>(), ["ops"]);
}
