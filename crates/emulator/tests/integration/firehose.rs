//! Kinesis Data Firehose through aws-sdk-firehose: Kinesis-source and direct-put delivery into S3.

use std::time::{Duration, Instant};

use aws_sdk_firehose::error::ProvideErrorMetadata as _;
use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchError;
use aws_sdk_firehose::types::{
    BufferingHints, DeliveryStreamStatus, DeliveryStreamType, ExtendedS3DestinationConfiguration,
    KinesisStreamSourceConfiguration, Record, S3DestinationConfiguration,
};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use emulator::EmulatorConfig;

use crate::common::{Harness, ROLE, eventually, extended_s3};

pub(crate) async fn kinesis_source_delivery(
    h: &Harness,
    name: &str,
    stream_arn: &str,
    destination: ExtendedS3DestinationConfiguration,
) {
    h.firehose
        .create_delivery_stream()
        .delivery_stream_name(name)
        .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
        .kinesis_stream_source_configuration(
            KinesisStreamSourceConfiguration::builder()
                .kinesis_stream_arn(stream_arn)
                .role_arn(ROLE)
                .build()
                .unwrap(),
        )
        .extended_s3_destination_configuration(destination)
        .send()
        .await
        .unwrap();
}

/// Checks `YYYY/MM/dd/HH/<name>-1-YYYY-MM-DD-HH-MM-SS-<uuid>` and that both times agree.
fn assert_default_key(key: &str, name: &str) {
    let (hour, file) = key.rsplit_once('/').map(|(dir, file)| (format!("{dir}/"), file)).unwrap();
    let parts: Vec<&str> = hour.trim_end_matches('/').split('/').collect();
    assert_eq!(parts.len(), 4, "{key}");
    assert!(
        parts
            .iter()
            .zip([4, 2, 2, 2])
            .all(|(p, len)| p.len() == len && p.bytes().all(|b| b.is_ascii_digit())),
        "{key}"
    );
    let rest = file.strip_prefix(&format!("{name}-1-")).unwrap_or_else(|| panic!("{key}"));
    let (stamp, uuid) = rest.split_at(19);
    assert_eq!(stamp.len(), 19);
    assert_eq!(&stamp[..13], format!("{}-{}-{}-{}", parts[0], parts[1], parts[2], parts[3]), "{key}");
    let uuid = uuid.strip_prefix('-').unwrap();
    assert_eq!(uuid.len(), 36, "{key}");
    assert_eq!(uuid.matches('-').count(), 4, "{key}");
}

#[tokio::test]
async fn kinesis_source_delivers_records_concatenated_in_shard_order() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("backup").send().await.unwrap();
    let stream_arn = h.create_stream("logs", 2).await;
    // Put before the delivery stream exists: Firehose starts at LATEST, so this is never delivered.
    h.kinesis
        .put_record()
        .stream_name("logs")
        .partition_key("early")
        .data(Blob::new("EARLY"))
        .send()
        .await
        .unwrap();
    kinesis_source_delivery(&h, "logs-to-s3", &stream_arn, extended_s3("backup", 1, 1)).await;

    let described =
        h.firehose.describe_delivery_stream().delivery_stream_name("logs-to-s3").send().await.unwrap();
    let description = described.delivery_stream_description().unwrap();
    assert_eq!(description.delivery_stream_status(), &DeliveryStreamStatus::Active);
    assert_eq!(description.delivery_stream_type(), &DeliveryStreamType::KinesisStreamAsSource);
    assert_eq!(description.version_id(), "1");
    assert!(!description.has_more_destinations());
    let source = description.source().unwrap().kinesis_stream_source_description().unwrap();
    assert_eq!(source.kinesis_stream_arn(), Some(stream_arn.as_str()));
    let destination = description.destinations()[0].extended_s3_destination_description().unwrap();
    assert_eq!(destination.bucket_arn(), "arn:aws:s3:::backup");
    let hints = destination.buffering_hints().unwrap();
    assert_eq!((hints.size_in_mbs(), hints.interval_in_seconds()), (Some(1), Some(1)));

    let entries: Vec<PutRecordsRequestEntry> = (0..30)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(format!("{{\"seq\":{i}}}")))
                .partition_key(format!("key-{}", i % 5))
                .build()
                .unwrap()
        })
        .collect();
    let put = h.kinesis.put_records().stream_name("logs").set_records(Some(entries)).send().await.unwrap();
    let mut expected = Vec::new();
    for shard in ["shardId-000000000000", "shardId-000000000001"] {
        for (i, result) in put.records().iter().enumerate() {
            if result.shard_id() == Some(shard) {
                expected.extend_from_slice(format!("{{\"seq\":{i}}}").as_bytes());
            }
        }
    }

    let objects = eventually("the interval flush", Duration::from_secs(10), || async {
        let objects = h.objects("backup").await;
        (!objects.is_empty()).then_some(objects)
    })
    .await;
    assert_eq!(objects.len(), 1, "one PutRecords call is read in one pass and fits one object");
    let (key, data) = &objects[0];
    assert_default_key(key, "logs-to-s3");
    assert_eq!(data, &expected, "records concatenated with no delimiter, shard by shard");
    assert!(!String::from_utf8_lossy(data).contains("EARLY"));
}

#[tokio::test]
async fn reaching_the_size_flushes_long_before_the_interval() {
    // 1.2 MiB into one shard within a second is over the shard's write limit; this test is about
    // buffering, so the limit is off.
    let h =
        Harness::with_config(EmulatorConfig { shard_write_limits: false, ..EmulatorConfig::default() }).await;
    h.s3.create_bucket().bucket("big").send().await.unwrap();
    let stream_arn = h.create_stream("bulk", 1).await;
    kinesis_source_delivery(&h, "bulk-to-s3", &stream_arn, extended_s3("big", 1, 900)).await;
    let record = vec![b'z'; 400 * 1024];
    for _ in 0..3 {
        h.kinesis
            .put_record()
            .stream_name("bulk")
            .partition_key("k")
            .data(Blob::new(record.clone()))
            .send()
            .await
            .unwrap();
    }
    // Waiting 30 s at most, against an interval of 900 s: an object here was flushed by size.
    let objects = eventually("the size flush", Duration::from_secs(30), || async {
        let objects = h.objects("big").await;
        (!objects.is_empty()).then_some(objects)
    })
    .await;
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].1.len(), 3 * 400 * 1024, "the third record crosses 1 MiB and closes the object");
}

// The older S3DestinationConfiguration is deprecated in the SDK but still accepted by AWS and used
// by existing pipelines, so the emulator serves it.
#[allow(deprecated)]
#[tokio::test]
async fn direct_put_batches_are_delivered_with_scaled_time() {
    // 60 emulated seconds pass in one wall second.
    let h = Harness::with_config(EmulatorConfig { time_scale: 60.0, ..EmulatorConfig::default() }).await;
    h.s3.create_bucket().bucket("direct").send().await.unwrap();
    h.firehose
        .create_delivery_stream()
        .delivery_stream_name("direct-ds")
        .s3_destination_configuration(
            S3DestinationConfiguration::builder()
                .role_arn(ROLE)
                .bucket_arn("arn:aws:s3:::direct")
                .prefix("raw/")
                .buffering_hints(BufferingHints::builder().size_in_mbs(5).interval_in_seconds(60).build())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let records: Vec<Record> = ["a\n", "bb\n", "ccc\n"]
        .iter()
        .map(|d| Record::builder().data(Blob::new(*d)).build().unwrap())
        .collect();
    let started = Instant::now();
    let put = h
        .firehose
        .put_record_batch()
        .delivery_stream_name("direct-ds")
        .set_records(Some(records))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_put_count(), 0);
    let ids: Vec<&str> = put.request_responses().iter().filter_map(|r| r.record_id()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids[0] != ids[1] && ids[1] != ids[2]);

    let objects = eventually("the scaled interval flush", Duration::from_secs(10), || async {
        let objects = h.objects("direct").await;
        (!objects.is_empty()).then_some(objects)
    })
    .await;
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900), "flushed after {elapsed:?}, before the scaled interval");
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].1, b"a\nbb\nccc\n");
    // A plain prefix keeps Firehose's hourly folders under it.
    let key = &objects[0].0;
    assert_default_key(key.strip_prefix("raw/").unwrap_or_else(|| panic!("{key}")), "direct-ds");
}

#[tokio::test]
async fn direct_puts_to_a_kinesis_source_stream_are_rejected() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("bkt").send().await.unwrap();
    let stream_arn = h.create_stream("src", 1).await;
    kinesis_source_delivery(&h, "ks", &stream_arn, extended_s3("bkt", 1, 60)).await;
    let err = h
        .firehose
        .put_record_batch()
        .delivery_stream_name("ks")
        .records(Record::builder().data(Blob::new("x")).build().unwrap())
        .send()
        .await
        .unwrap_err();
    let err = err.into_service_error();
    assert!(matches!(err, PutRecordBatchError::InvalidArgumentException(_)), "got {err:?}");

    let missing = h
        .firehose
        .put_record_batch()
        .delivery_stream_name("absent")
        .records(Record::builder().data(Blob::new("x")).build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(missing.into_service_error(), PutRecordBatchError::ResourceNotFoundException(_)));
}

#[tokio::test]
async fn deleted_delivery_streams_stop_delivering() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("bkt").send().await.unwrap();
    let stream_arn = h.create_stream("src", 1).await;
    kinesis_source_delivery(&h, "gone", &stream_arn, extended_s3("bkt", 1, 1)).await;
    h.firehose.delete_delivery_stream().delivery_stream_name("gone").send().await.unwrap();
    let err = h.firehose.describe_delivery_stream().delivery_stream_name("gone").send().await.unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());

    let put = |data: &'static str| {
        h.kinesis.put_record().stream_name("src").partition_key("k").data(Blob::new(data)).send()
    };
    put("between").await.unwrap();
    // The name is free again; the new stream starts at LATEST, after "between".
    kinesis_source_delivery(&h, "gone", &stream_arn, extended_s3("bkt", 1, 1)).await;
    put("after").await.unwrap();
    let objects = eventually("delivery by the new stream", Duration::from_secs(10), || async {
        let objects = h.objects("bkt").await;
        objects.iter().any(|(_, data)| data == b"after").then_some(objects)
    })
    .await;
    // Had the deleted stream kept running, its one-second timer for "between" would have fired
    // before the new stream's timer for "after".
    assert!(objects.iter().all(|(_, data)| data != b"between"), "{objects:?}");
}

#[tokio::test]
async fn single_puts_listing_and_missing_delivery_streams() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("single").send().await.unwrap();
    for name in ["b-stream", "a-stream"] {
        h.firehose
            .create_delivery_stream()
            .delivery_stream_name(name)
            .extended_s3_destination_configuration(extended_s3("single", 1, 0))
            .send()
            .await
            .unwrap();
    }
    let listed = h.firehose.list_delivery_streams().send().await.unwrap();
    assert_eq!(listed.delivery_stream_names(), ["a-stream", "b-stream"]);
    assert!(!listed.has_more_delivery_streams());
    let put = h
        .firehose
        .put_record()
        .delivery_stream_name("a-stream")
        .record(Record::builder().data(Blob::new("one")).build().unwrap())
        .send()
        .await
        .unwrap();
    assert!(!put.record_id().is_empty());
    let objects = eventually("the zero-interval flush", Duration::from_secs(10), || async {
        let objects = h.objects("single").await;
        (!objects.is_empty()).then_some(objects)
    })
    .await;
    assert_eq!(objects[0].1, b"one");
    let described =
        h.firehose.describe_delivery_stream().delivery_stream_name("a-stream").send().await.unwrap();
    assert_eq!(described.delivery_stream_description().unwrap().version_id(), "1");

    let missing =
        h.firehose.describe_delivery_stream().delivery_stream_name("nope").send().await.unwrap_err();
    assert_eq!(missing.into_service_error().code(), Some("ResourceNotFoundException"));
    let duplicate = h
        .firehose
        .create_delivery_stream()
        .delivery_stream_name("a-stream")
        .extended_s3_destination_configuration(extended_s3("single", 1, 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(duplicate.into_service_error().code(), Some("ResourceInUseException"));
}
