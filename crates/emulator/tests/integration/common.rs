//! Shared setup: an emulator with SDK clients pointed at it, and waiting for conditions.

use std::future::Future;
use std::time::Duration;

use emulator::{Emulator, EmulatorConfig};
use tokio::time::Instant;

/// The role every test delivery stream names (the emulator checks only that it is an ARN).
pub(crate) const ROLE: &str = "arn:aws:iam::000000000000:role/firehose";

/// An extended S3 destination into `bucket` with these buffering hints.
pub(crate) fn extended_s3(
    bucket: &str,
    size_in_mbs: i32,
    interval_in_seconds: i32,
) -> aws_sdk_firehose::types::ExtendedS3DestinationConfiguration {
    aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
        .role_arn(ROLE)
        .bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .buffering_hints(
            aws_sdk_firehose::types::BufferingHints::builder()
                .size_in_mbs(size_in_mbs)
                .interval_in_seconds(interval_in_seconds)
                .build(),
        )
        .build()
        .unwrap()
}

/// A running emulator and one client per service.
pub(crate) struct Harness {
    pub(crate) emulator: Emulator,
    pub(crate) kinesis: aws_sdk_kinesis::Client,
    pub(crate) firehose: aws_sdk_firehose::Client,
    pub(crate) s3: aws_sdk_s3::Client,
}

impl Harness {
    pub(crate) async fn start() -> Harness {
        Harness::with_config(EmulatorConfig::default()).await
    }

    #[expect(
        clippy::disallowed_methods,
        reason = "the emulator's tests cannot use environment, which depends on the emulator"
    )]
    pub(crate) async fn with_config(config: EmulatorConfig) -> Harness {
        let emulator = Emulator::start(config).await.expect("the emulator starts");
        let cfg = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "static"))
            .endpoint_url(emulator.endpoint())
            .load()
            .await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&cfg).force_path_style(true).build(),
        );
        Harness {
            kinesis: aws_sdk_kinesis::Client::new(&cfg),
            firehose: aws_sdk_firehose::Client::new(&cfg),
            s3,
            emulator,
        }
    }

    /// Every object in `bucket` as (key, bytes), in key order.
    pub(crate) async fn objects(&self, bucket: &str) -> Vec<(String, Vec<u8>)> {
        let listing = self.s3.list_objects_v2().bucket(bucket).send().await.expect("list objects");
        let mut objects = Vec::new();
        for object in listing.contents() {
            let key = object.key().expect("a key").to_owned();
            let body = self.s3.get_object().bucket(bucket).key(&key).send().await.expect("get object").body;
            objects.push((key, body.collect().await.expect("read body").into_bytes().to_vec()));
        }
        objects
    }

    pub(crate) async fn create_stream(&self, name: &str, shards: i32) -> String {
        self.kinesis
            .create_stream()
            .stream_name(name)
            .shard_count(shards)
            .send()
            .await
            .expect("create stream");
        let summary =
            self.kinesis.describe_stream_summary().stream_name(name).send().await.expect("describe");
        summary.stream_description_summary().expect("a summary").stream_arn().to_owned()
    }

    /// A shard iterator of `kind` (one that needs no sequence number or timestamp).
    pub(crate) async fn iterator(
        &self,
        stream: &str,
        shard_id: &str,
        kind: aws_sdk_kinesis::types::ShardIteratorType,
    ) -> String {
        self.kinesis
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard_id)
            .shard_iterator_type(kind)
            .send()
            .await
            .expect("get shard iterator")
            .shard_iterator
            .expect("an iterator")
    }
}

/// Polls `check` until it returns `Some`, failing the test after `timeout`.
pub(crate) async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
