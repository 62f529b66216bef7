//! The drop knob: an accepted Kinesis entry is acknowledged, never delivered, and logged as ground truth.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_firehose::types::{
    BufferingHints, DeliveryStreamType, ExtendedS3DestinationConfiguration, KinesisStreamSourceConfiguration,
};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use emulator::{EmulatorConfig, Faults};

use crate::common::{Harness, eventually};

#[tokio::test]
async fn a_dropped_entry_is_acknowledged_but_never_delivered() {
    // Ordinal 0 is the PutRecord below and ordinals 1..=6 the PutRecords entries, so 4 is "r4".
    let faults = Faults { drop_kinesis_records: BTreeSet::from([4]) };
    let h = Harness::with_config(EmulatorConfig { faults, ..EmulatorConfig::default() }).await;
    h.s3.create_bucket().bucket("out").send().await.unwrap();
    let stream_arn = h.create_stream("lossy", 1).await;
    h.firehose
        .create_delivery_stream()
        .delivery_stream_name("lossy-ds")
        .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
        .kinesis_stream_source_configuration(
            KinesisStreamSourceConfiguration::builder()
                .kinesis_stream_arn(&stream_arn)
                .role_arn("arn:aws:iam::000000000000:role/r")
                .build()
                .unwrap(),
        )
        .extended_s3_destination_configuration(
            ExtendedS3DestinationConfiguration::builder()
                .role_arn("arn:aws:iam::000000000000:role/r")
                .bucket_arn("arn:aws:s3:::out")
                .buffering_hints(BufferingHints::builder().size_in_mbs(1).interval_in_seconds(0).build())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    h.kinesis
        .put_record()
        .stream_name("lossy")
        .partition_key("p")
        .data(Blob::new("r0|"))
        .send()
        .await
        .unwrap();
    let entries: Vec<PutRecordsRequestEntry> = (1..=6)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(format!("r{i}|")))
                .partition_key(format!("p{i}"))
                .build()
                .unwrap()
        })
        .collect();
    let put = h.kinesis.put_records().stream_name("lossy").set_records(Some(entries)).send().await.unwrap();
    assert_eq!(put.failed_record_count(), Some(0), "the drop is invisible to the producer");
    assert!(put.records().iter().all(|r| r.sequence_number().is_some() && r.error_code().is_none()));

    // With a zero interval the two requests may land in separate objects, whose key order is
    // random within a second; per-shard order is checked through GetRecords below.
    let mut delivered = eventually("delivery of the surviving records", Duration::from_secs(10), || async {
        let data: Vec<u8> = h.objects("out").await.into_iter().flat_map(|(_, data)| data).collect();
        (data.len() == "r0|r1|r2|r3|r5|r6|".len()).then_some(data)
    })
    .await
    .split(|&b| b == b'|')
    .filter(|record| !record.is_empty())
    .map(|record| String::from_utf8(record.to_vec()).unwrap())
    .collect::<Vec<_>>();
    delivered.sort();
    assert_eq!(delivered, vec!["r0", "r1", "r2", "r3", "r5", "r6"]);

    let log = h.emulator.fault_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].ordinal, 4);
    assert_eq!(log[0].stream, "lossy");
    assert_eq!(log[0].shard_id, "shardId-000000000000");
    assert_eq!(log[0].partition_key, "p4");
    assert_eq!(log[0].data, b"r4|");

    // A plain Kinesis consumer does not see it either.
    let iterator = h.iterator("lossy", "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let records = h.kinesis.get_records().shard_iterator(iterator).send().await.unwrap();
    let data: Vec<u8> = records.records().iter().flat_map(|r| r.data().as_ref().to_vec()).collect();
    assert_eq!(data, b"r0|r1|r2|r3|r5|r6|");
}
