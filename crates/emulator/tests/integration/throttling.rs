//! Per-shard limits through aws-sdk-kinesis: write limits with partial failures aligned by position, GetRecords read limits, iterator expiry, and the switches that turn the limits off.

use aws_sdk_kinesis::config::retry::RetryConfig;
use aws_sdk_kinesis::error::ProvideErrorMetadata as _;
use aws_sdk_kinesis::operation::put_record::PutRecordError;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use emulator::EmulatorConfig;

use crate::common::Harness;

/// One emulated second lasts 1,000 wall seconds, so every put of a test falls in the same
/// per-second window: the throttling outcome cannot depend on how fast the machine is.
const FROZEN: f64 = 0.001;

fn batch(first: usize) -> Vec<PutRecordsRequestEntry> {
    (first..first + 500)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(i.to_string()))
                .partition_key(format!("key-{i}"))
                .build()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn entries_past_1000_records_per_second_fail_in_place() {
    let h = Harness::with_config(EmulatorConfig { time_scale: FROZEN, ..EmulatorConfig::default() }).await;
    h.create_stream("hot", 1).await;
    let mut results = Vec::new();
    for first in [0, 500, 1000] {
        let out =
            h.kinesis.put_records().stream_name("hot").set_records(Some(batch(first))).send().await.unwrap();
        let failed = out.records().iter().filter(|r| r.error_code().is_some()).count();
        assert_eq!(out.failed_record_count(), Some(failed as i32));
        results.extend(out.records().to_vec());
    }
    assert_eq!(results.len(), 1500);
    for (i, result) in results.iter().enumerate() {
        if i < 1000 {
            assert_eq!(result.error_code(), None, "entry {i} failed");
            assert_eq!(result.shard_id(), Some("shardId-000000000000"));
            assert!(result.sequence_number().is_some());
        } else {
            assert_eq!(result.error_code(), Some("ProvisionedThroughputExceededException"), "entry {i}");
            assert_eq!(
                result.error_message(),
                Some(
                    "Rate exceeded for shard shardId-000000000000 in stream hot under account 000000000000."
                )
            );
            assert_eq!(result.sequence_number(), None);
        }
    }

    // PutRecord on the full shard fails as a whole; without retries the SDK surfaces it at once.
    let no_retry = aws_sdk_kinesis::Client::from_conf(
        h.kinesis.config().to_builder().retry_config(RetryConfig::disabled()).build(),
    );
    let err = no_retry
        .put_record()
        .stream_name("hot")
        .partition_key("k")
        .data(Blob::new("x"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(matches!(err, PutRecordError::ProvisionedThroughputExceededException(_)), "got {err:?}");

    // Exactly the accepted entries are stored, in order.
    let shard = h.iterator("hot", "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let read = h.kinesis.get_records().shard_iterator(shard).send().await.unwrap();
    let data: Vec<String> =
        read.records().iter().map(|r| String::from_utf8(r.data().as_ref().to_vec()).unwrap()).collect();
    assert_eq!(data, (0..1000).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_byte_limit_counts_data_and_partition_keys() {
    let h = Harness::with_config(EmulatorConfig { time_scale: FROZEN, ..EmulatorConfig::default() }).await;
    h.create_stream("big", 1).await;
    // Four entries of 256 KiB - 1 byte with a 1-byte key fill exactly 1 MiB; the fifth byte over fails.
    let entry = |key: &str, len: usize| {
        PutRecordsRequestEntry::builder().data(Blob::new(vec![b'x'; len])).partition_key(key).build().unwrap()
    };
    let entries: Vec<_> = (0..4).map(|_| entry("k", 256 * 1024 - 1)).chain([entry("k", 0)]).collect();
    let out = h.kinesis.put_records().stream_name("big").set_records(Some(entries)).send().await.unwrap();
    assert_eq!(out.failed_record_count(), Some(1));
    assert_eq!(out.records()[4].error_code(), Some("ProvisionedThroughputExceededException"));
    assert!(out.records()[..4].iter().all(|r| r.error_code().is_none()));
}

#[tokio::test]
async fn limits_can_be_switched_off() {
    let config =
        EmulatorConfig { time_scale: FROZEN, shard_write_limits: false, ..EmulatorConfig::default() };
    let h = Harness::with_config(config).await;
    h.create_stream("unlimited", 1).await;
    for first in [0, 500, 1000, 1500] {
        let out = h
            .kinesis
            .put_records()
            .stream_name("unlimited")
            .set_records(Some(batch(first)))
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_record_count(), Some(0));
    }
}

#[tokio::test]
async fn request_limits_are_validated_with_aws_error_codes() {
    let h = Harness::start().await;
    h.create_stream("limits", 1).await;
    let entry = |key: String, len: usize| {
        PutRecordsRequestEntry::builder().data(Blob::new(vec![b'x'; len])).partition_key(key).build().unwrap()
    };
    let too_many: Vec<_> = (0..501).map(|i| entry(format!("k{i}"), 1)).collect();
    let err =
        h.kinesis.put_records().stream_name("limits").set_records(Some(too_many)).send().await.unwrap_err();
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));

    let too_big: Vec<_> = (0..6).map(|i| entry(format!("k{i}"), 1024 * 1024)).collect();
    let err =
        h.kinesis.put_records().stream_name("limits").set_records(Some(too_big)).send().await.unwrap_err();
    assert_eq!(err.into_service_error().code(), Some("InvalidArgumentException"));

    let record_too_big = vec![entry("k".to_owned(), 1024 * 1024 + 1)];
    let err = h
        .kinesis
        .put_records()
        .stream_name("limits")
        .set_records(Some(record_too_big))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));

    let long_key = vec![entry("k".repeat(257), 1)];
    let err =
        h.kinesis.put_records().stream_name("limits").set_records(Some(long_key)).send().await.unwrap_err();
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));
    let max_key = vec![entry("k".repeat(256), 1)];
    h.kinesis.put_records().stream_name("limits").set_records(Some(max_key)).send().await.unwrap();
}

#[tokio::test]
async fn sequence_number_for_ordering_is_checked_and_honoured() {
    let h = Harness::start().await;
    h.create_stream("ordered", 1).await;
    let first = h
        .kinesis
        .put_record()
        .stream_name("ordered")
        .partition_key("k")
        .data(Blob::new("a"))
        .send()
        .await
        .unwrap();
    let second = h
        .kinesis
        .put_record()
        .stream_name("ordered")
        .partition_key("k")
        .data(Blob::new("b"))
        .sequence_number_for_ordering(first.sequence_number())
        .send()
        .await
        .unwrap();
    assert!(second.sequence_number() > first.sequence_number());
    let err = h
        .kinesis
        .put_record()
        .stream_name("ordered")
        .partition_key("k")
        .data(Blob::new("c"))
        .sequence_number_for_ordering("not-a-sequence-number")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().code(), Some("InvalidArgumentException"));
}

/// A client that surfaces every throttle at once instead of retrying it.
fn without_retries(client: &aws_sdk_kinesis::Client) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::from_conf(
        client.config().to_builder().retry_config(RetryConfig::disabled()).build(),
    )
}

#[tokio::test]
async fn get_records_past_five_calls_a_second_per_shard_is_throttled() {
    let h = Harness::with_config(EmulatorConfig { time_scale: FROZEN, ..EmulatorConfig::default() }).await;
    h.create_stream("read", 2).await;
    let kinesis = without_retries(&h.kinesis);
    let first = h.iterator("read", "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let mut iterator = first.clone();
    for call in 0..5 {
        let out = kinesis.get_records().shard_iterator(&iterator).send().await;
        iterator =
            out.unwrap_or_else(|e| panic!("call {call}: {e}")).next_shard_iterator().unwrap().to_owned();
    }
    let err = kinesis.get_records().shard_iterator(&iterator).send().await.unwrap_err().into_service_error();
    assert!(err.is_provisioned_throughput_exceeded_exception(), "{err:?}");
    assert_eq!(
        err.message(),
        Some("Rate exceeded for shard shardId-000000000000 in stream read under account 000000000000.")
    );
    // The limit is per shard: the other shard still serves.
    let other = h.iterator("read", "shardId-000000000001", ShardIteratorType::TrimHorizon).await;
    kinesis.get_records().shard_iterator(other).send().await.unwrap();
}

#[tokio::test]
async fn read_limits_can_be_switched_off() {
    let config = EmulatorConfig { time_scale: FROZEN, shard_read_limits: false, ..EmulatorConfig::default() };
    let h = Harness::with_config(config).await;
    h.create_stream("read", 1).await;
    let kinesis = without_retries(&h.kinesis);
    let iterator = h.iterator("read", "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    for call in 0..20 {
        let out = kinesis.get_records().shard_iterator(&iterator).send().await;
        assert!(out.is_ok(), "call {call} was refused");
    }
}

#[tokio::test]
async fn shard_iterators_expire_after_five_minutes_of_emulator_time() {
    // Five emulated minutes pass in 30 wall milliseconds; the test reads the emulator clock around
    // each call, so its outcome holds however slow the machine is.
    let config =
        EmulatorConfig { time_scale: 10_000.0, shard_read_limits: false, ..EmulatorConfig::default() };
    let h = Harness::with_config(config).await;
    h.create_stream("old", 1).await;
    let clock = h.emulator.clock();
    let before_issue = clock.now();
    let iterator = h.iterator("old", "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let after_issue = clock.now();
    let lifetime = time::Duration::minutes(5);
    let kinesis = without_retries(&h.kinesis);
    let err = loop {
        let called = clock.now();
        match kinesis.get_records().shard_iterator(&iterator).send().await {
            Ok(out) => {
                assert!(called <= after_issue + lifetime, "served an iterator issued over 5 minutes earlier");
                assert!(out.next_shard_iterator().is_some());
            }
            Err(err) => break err.into_service_error(),
        }
    };
    assert!(clock.now() >= before_issue + lifetime, "expired before 5 minutes of emulator time");
    assert!(err.is_expired_iterator_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(message.starts_with("Iterator expired. The iterator was created at time "), "{message}");
    assert!(message.ends_with("tolerated delay of 300000 milliseconds."), "{message}");
}
