//! Fault injection over HTTP: every fault is acknowledged as a success, reaches S3 as planned, and is
//! logged as ground truth.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_firehose::primitives::Blob as FirehoseBlob;
use aws_sdk_firehose::types::{DeliveryStreamType, KinesisStreamSourceConfiguration, Record};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use emulator::{EmulatorConfig, FaultKind, FaultPlan, ObjectFaults};

use crate::common::{Harness, ROLE, eventually, extended_s3};

#[tokio::test]
async fn a_dropped_entry_is_acknowledged_but_never_delivered() {
    // Ordinal 0 is the PutRecord below and ordinals 1..=6 the PutRecords entries, so 4 is "r4".
    let faults = FaultPlan { drop_kinesis_records: BTreeSet::from([4]), ..FaultPlan::default() };
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
                .role_arn(ROLE)
                .build()
                .unwrap(),
        )
        .extended_s3_destination_configuration(extended_s3("out", 1, 0))
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
    assert_eq!(log[0].kind, FaultKind::DropKinesis);
    assert_eq!(log[0].shard_id.as_deref(), Some("shardId-000000000000"));
    assert_eq!(log[0].partition_key.as_deref(), Some("p4"));
    assert_eq!(log[0].data, b"r4|");

    // A plain Kinesis consumer does not see it either.
    let iterator = h.iterator("lossy", "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let records = h.kinesis.get_records().shard_iterator(iterator).send().await.unwrap();
    let data: Vec<u8> = records.records().iter().flat_map(|r| r.data().as_ref().to_vec()).collect();
    assert_eq!(data, b"r0|r1|r2|r3|r5|r6|");
}

/// A direct-put delivery stream `name` into bucket `bucket` flushing after every put (interval 0).
async fn direct_put_stream(h: &Harness, name: &str, bucket: &str) {
    h.s3.create_bucket().bucket(bucket).send().await.unwrap();
    h.firehose
        .create_delivery_stream()
        .delivery_stream_name(name)
        .extended_s3_destination_configuration(extended_s3(bucket, 1, 0))
        .send()
        .await
        .unwrap();
}

async fn put_batch(h: &Harness, name: &str, records: &[&str]) {
    let records: Vec<Record> =
        records.iter().map(|d| Record::builder().data(FirehoseBlob::new(*d)).build().unwrap()).collect();
    let put = h
        .firehose
        .put_record_batch()
        .delivery_stream_name(name)
        .set_records(Some(records))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_put_count(), 0, "every injected fault is acknowledged as a success");
}

#[tokio::test]
async fn firehose_faults_reach_s3_as_the_ground_truth_says() {
    // Every record is duplicated and every object written twice after a put S3 reported failed.
    let faults = FaultPlan {
        seed: 7,
        firehose: ObjectFaults { duplicate: 1.0, s3_put_failure: 1.0, ..ObjectFaults::default() },
        ..FaultPlan::default()
    };
    let h = Harness::with_config(EmulatorConfig { faults, ..EmulatorConfig::default() }).await;
    direct_put_stream(&h, "faulty-ds", "faulty").await;
    put_batch(&h, "faulty-ds", &["a|", "b|"]).await;

    let objects = eventually("the object and its retry", Duration::from_secs(10), || async {
        let objects = h.objects("faulty").await;
        (objects.len() == 2).then_some(objects)
    })
    .await;
    for (_, data) in &objects {
        assert_eq!(data, b"a|a|b|b|");
    }
    let log = eventually("the ground truth", Duration::from_secs(10), || async {
        let log = h.emulator.fault_log();
        (log.len() == 3).then_some(log)
    })
    .await;
    let keys: Vec<&str> = objects.iter().map(|(key, _)| key.as_str()).collect();
    let duplicated: Vec<&[u8]> =
        log.iter().filter(|e| e.kind == FaultKind::Duplicate).map(|e| e.data.as_slice()).collect();
    assert_eq!(duplicated, [&b"a|"[..], b"b|"]);
    let failure = log.iter().find(|e| matches!(e.kind, FaultKind::S3PutFailure { .. })).unwrap();
    let FaultKind::S3PutFailure { retry } = &failure.kind else { unreachable!() };
    let failed = failure.object.as_deref().unwrap();
    assert_ne!(failed, retry);
    assert!(keys.contains(&failed) && keys.contains(&retry.as_str()), "{keys:?} vs {log:?}");
    assert!(log.iter().all(|e| e.stream == "faulty-ds" && e.ordinal == 0));
}

#[tokio::test]
async fn a_delayed_object_is_held_back_in_emulator_time() {
    // 60 emulated seconds per wall second: a 30 s delay holds the object about half a second.
    let faults = FaultPlan {
        firehose: ObjectFaults { delay: 1.0, delay_by: Duration::from_secs(30), ..ObjectFaults::default() },
        ..FaultPlan::default()
    };
    let config = EmulatorConfig { faults, time_scale: 60.0, ..EmulatorConfig::default() };
    let h = Harness::with_config(config).await;
    direct_put_stream(&h, "slow-ds", "slow").await;
    let before = h.emulator.clock().now();
    put_batch(&h, "slow-ds", &["x|"]).await;

    let written = eventually("the delayed object", Duration::from_secs(10), || async {
        let listing = h.s3.list_objects_v2().bucket("slow").send().await.unwrap();
        listing.contents().first().and_then(|object| object.last_modified().copied())
    })
    .await;
    let held = written.secs() - before.unix_timestamp();
    assert!(held >= 30, "written {held} s of emulator time after the put");
    let log = h.emulator.fault_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].kind, FaultKind::Delay { by: Duration::from_secs(30) });
}

#[tokio::test]
async fn put_record_batch_partial_failures_are_visible_and_logged() {
    let faults = FaultPlan { seed: 1, internal_failure: 1.0, ..FaultPlan::default() };
    let h = Harness::with_config(EmulatorConfig { faults, ..EmulatorConfig::default() }).await;
    direct_put_stream(&h, "flaky-ds", "flaky").await;
    let records: Vec<Record> =
        ["p|", "q|"].iter().map(|d| Record::builder().data(FirehoseBlob::new(*d)).build().unwrap()).collect();
    let put = h
        .firehose
        .put_record_batch()
        .delivery_stream_name("flaky-ds")
        .set_records(Some(records))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_put_count(), 2, "InternalFailure is a partial failure the client sees");
    assert!(
        put.request_responses()
            .iter()
            .all(|r| r.error_code() == Some("InternalFailure") && r.record_id().is_none())
    );
    let log = h.emulator.fault_log();
    let refused: Vec<&[u8]> = log.iter().map(|e| e.data.as_slice()).collect();
    assert_eq!(refused, [&b"p|"[..], b"q|"]);
    assert!(log.iter().all(|e| e.kind == FaultKind::InternalFailure && e.stream == "flaky-ds"));
    // Nothing refused is ever delivered.
    assert!(h.objects("flaky").await.is_empty());
}

#[tokio::test]
async fn the_same_seed_injects_the_same_faults_and_another_seed_does_not() {
    async fn ground_truth(seed: u64) -> Vec<(FaultKind, Vec<u8>)> {
        let firehose = ObjectFaults { drop: 0.2, duplicate: 0.2, corrupt: 0.2, ..ObjectFaults::default() };
        let faults = FaultPlan { seed, firehose, ..FaultPlan::default() };
        let h = Harness::with_config(EmulatorConfig { faults, ..EmulatorConfig::default() }).await;
        direct_put_stream(&h, "seeded-ds", "seeded").await;
        let records: Vec<String> = (0..50).map(|i| format!("{{\"i\":{i}}}")).collect();
        put_batch(&h, "seeded-ds", &records.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let log = eventually("the faults of the batch", Duration::from_secs(10), || async {
            let log = h.emulator.fault_log();
            // The faults of an object are logged together, once it is written.
            (!log.is_empty()).then_some(log)
        })
        .await;
        // Kinds (corrupt offsets included) and records; object keys are fresh in every run.
        log.into_iter().map(|event| (event.kind, event.data)).collect()
    }
    let first = ground_truth(99).await;
    assert!(first.len() > 5, "{first:?}");
    assert_eq!(first, ground_truth(99).await);
    assert_ne!(first, ground_truth(100).await);
}
