//! Kinesis Data Streams through aws-sdk-kinesis.

use std::collections::BTreeMap;

use aws_sdk_kinesis::error::ProvideErrorMetadata as _;
use aws_sdk_kinesis::operation::create_stream::CreateStreamError;
use aws_sdk_kinesis::operation::describe_stream_summary::DescribeStreamSummaryError;
use aws_sdk_kinesis::operation::put_records::PutRecordsError;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType, StreamStatus};

use crate::common::Harness;

#[tokio::test]
async fn create_describe_and_list_shards() {
    let h = Harness::start().await;
    let arn = h.create_stream("orders", 3).await;
    assert_eq!(arn, "arn:aws:kinesis:us-east-1:000000000000:stream/orders");

    let summary = h.kinesis.describe_stream_summary().stream_name("orders").send().await.unwrap();
    let summary = summary.stream_description_summary().unwrap();
    assert_eq!(summary.stream_name(), "orders");
    assert_eq!(summary.stream_status(), &StreamStatus::Active);
    assert_eq!(summary.open_shard_count(), 3);

    let listed = h.kinesis.list_shards().stream_name("orders").send().await.unwrap();
    let shards = listed.shards();
    assert_eq!(shards.len(), 3);
    assert_eq!(shards[0].shard_id(), "shardId-000000000000");
    assert_eq!(shards[2].shard_id(), "shardId-000000000002");
    let ranges: Vec<(u128, u128)> = shards
        .iter()
        .map(|shard| {
            let range = shard.hash_key_range().unwrap();
            (range.starting_hash_key().parse().unwrap(), range.ending_hash_key().parse().unwrap())
        })
        .collect();
    assert_eq!(ranges[0].0, 0);
    assert_eq!(ranges[2].1, u128::MAX);
    assert_eq!(ranges[0].1 + 1, ranges[1].0);
    assert_eq!(ranges[1].1 + 1, ranges[2].0);

    // Paging through ListShards one shard at a time visits the same shards.
    let first = h.kinesis.list_shards().stream_name("orders").max_results(1).send().await.unwrap();
    assert_eq!(first.shards().len(), 1);
    let token = first.next_token().expect("more shards").to_owned();
    let second = h.kinesis.list_shards().next_token(token).max_results(1).send().await.unwrap();
    assert_eq!(second.shards()[0].shard_id(), "shardId-000000000001");
}

#[tokio::test]
async fn put_records_then_read_each_shard_in_order() {
    let h = Harness::start().await;
    h.create_stream("events", 2).await;
    let entries: Vec<PutRecordsRequestEntry> = (0..40)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(format!("record-{i}")))
                .partition_key(format!("user-{}", i % 7))
                .build()
                .unwrap()
        })
        .collect();
    let put = h.kinesis.put_records().stream_name("events").set_records(Some(entries)).send().await.unwrap();
    assert_eq!(put.failed_record_count(), Some(0));
    assert_eq!(put.records().len(), 40);

    // What the producer was told, per shard, in put order.
    let mut expected: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (i, result) in put.records().iter().enumerate() {
        expected
            .entry(result.shard_id().unwrap().to_owned())
            .or_default()
            .push((result.sequence_number().unwrap().to_owned(), format!("record-{i}")));
    }
    assert_eq!(expected.len(), 2, "seven partition keys should reach both shards");

    for (shard_id, sent) in &expected {
        let iterator = h.iterator("events", shard_id, ShardIteratorType::TrimHorizon).await;
        let got = h.kinesis.get_records().shard_iterator(&iterator).send().await.unwrap();
        let received: Vec<(String, String)> = got
            .records()
            .iter()
            .map(|r| (r.sequence_number().to_owned(), String::from_utf8(r.data().as_ref().to_vec()).unwrap()))
            .collect();
        assert_eq!(&received, sent, "shard {shard_id}");
        assert!(received.windows(2).all(|w| w[0].0 < w[1].0), "sequence numbers increase");
        assert!(got.records().iter().all(|r| r.approximate_arrival_timestamp().is_some()));
        assert_eq!(got.millis_behind_latest(), Some(0));

        // The next iterator continues after the last record: nothing new yet.
        let next = got.next_shard_iterator().expect("an open shard always has a next iterator");
        let empty = h.kinesis.get_records().shard_iterator(next).send().await.unwrap();
        assert!(empty.records().is_empty());

        // AFTER_SEQUENCE_NUMBER of the first record starts at the second.
        let after = h
            .kinesis
            .get_shard_iterator()
            .stream_name("events")
            .shard_id(shard_id)
            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
            .starting_sequence_number(&sent[0].0)
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap();
        let rest = h.kinesis.get_records().shard_iterator(after).limit(1).send().await.unwrap();
        assert_eq!(rest.records()[0].sequence_number(), sent[1].0);
    }
}

#[tokio::test]
async fn latest_iterators_see_only_later_records() {
    let h = Harness::start().await;
    h.create_stream("s", 1).await;
    h.kinesis.put_record().stream_name("s").partition_key("k").data(Blob::new("old")).send().await.unwrap();
    let latest = h.iterator("s", "shardId-000000000000", ShardIteratorType::Latest).await;
    let put = h
        .kinesis
        .put_record()
        .stream_name("s")
        .partition_key("k")
        .data(Blob::new("new"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.shard_id(), "shardId-000000000000");
    let got = h.kinesis.get_records().shard_iterator(latest).send().await.unwrap();
    let data: Vec<&[u8]> = got.records().iter().map(|r| r.data().as_ref()).collect();
    assert_eq!(data, vec![&b"new"[..]]);
    assert_eq!(got.records()[0].sequence_number(), put.sequence_number());
}

#[tokio::test]
async fn errors_arrive_as_typed_sdk_errors() {
    let h = Harness::start().await;
    let missing = h.kinesis.describe_stream_summary().stream_name("nope").send().await.unwrap_err();
    let missing = missing.into_service_error();
    assert!(matches!(missing, DescribeStreamSummaryError::ResourceNotFoundException(_)), "got {missing:?}");

    h.create_stream("dup", 1).await;
    let duplicate = h.kinesis.create_stream().stream_name("dup").shard_count(1).send().await.unwrap_err();
    let duplicate = duplicate.into_service_error();
    assert!(matches!(duplicate, CreateStreamError::ResourceInUseException(_)), "got {duplicate:?}");

    let empty_key = PutRecordsRequestEntry::builder().data(Blob::new("x")).partition_key("").build().unwrap();
    let invalid = h.kinesis.put_records().stream_name("dup").records(empty_key).send().await.unwrap_err();
    let invalid = invalid.into_service_error();
    assert_eq!(invalid.code(), Some("ValidationException"), "got {invalid:?}");
    assert!(!matches!(invalid, PutRecordsError::ResourceNotFoundException(_)));

    let put_missing =
        h.kinesis.put_record().stream_name("nope").partition_key("k").data(Blob::new("x")).send().await;
    assert_eq!(put_missing.unwrap_err().into_service_error().code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn deleted_streams_are_gone() {
    let h = Harness::start().await;
    h.create_stream("temp", 1).await;
    h.kinesis.delete_stream().stream_name("temp").send().await.unwrap();
    let err = h.kinesis.describe_stream_summary().stream_name("temp").send().await.unwrap_err();
    assert!(matches!(err.into_service_error(), DescribeStreamSummaryError::ResourceNotFoundException(_)));
    // The name can be reused.
    h.create_stream("temp", 2).await;
}

#[tokio::test]
async fn on_demand_streams_listing_explicit_hash_keys_and_every_iterator_type() {
    let h = Harness::start().await;
    h.kinesis
        .create_stream()
        .stream_name("od")
        .stream_mode_details(
            aws_sdk_kinesis::types::StreamModeDetails::builder()
                .stream_mode(aws_sdk_kinesis::types::StreamMode::OnDemand)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    h.create_stream("p", 2).await;
    let described = h.kinesis.describe_stream().stream_name("od").send().await.unwrap();
    assert_eq!(described.stream_description().unwrap().shards().len(), 4);
    let names = h.kinesis.list_streams().send().await.unwrap();
    assert_eq!(names.stream_names(), ["od", "p"]);

    // The highest hash key belongs to the last shard, whatever the partition key.
    let put = h
        .kinesis
        .put_record()
        .stream_name("od")
        .partition_key("k")
        .explicit_hash_key(u128::MAX.to_string())
        .data(Blob::new("first"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.shard_id(), "shardId-000000000003");
    let between = h.emulator.clock().now();
    for data in ["second", "third"] {
        h.kinesis
            .put_record()
            .stream_name("od")
            .partition_key("k")
            .explicit_hash_key(u128::MAX.to_string())
            .data(Blob::new(data))
            .send()
            .await
            .unwrap();
    }
    let kinesis = &h.kinesis;
    let read = |kind: ShardIteratorType,
                sequence: Option<&str>,
                at: Option<aws_sdk_kinesis::primitives::DateTime>| {
        let request = h
            .kinesis
            .get_shard_iterator()
            .stream_name("od")
            .shard_id("shardId-000000000003")
            .shard_iterator_type(kind)
            .set_starting_sequence_number(sequence.map(str::to_owned))
            .set_timestamp(at);
        async move {
            let iterator = request.send().await.unwrap().shard_iterator().unwrap().to_owned();
            let got = kinesis.get_records().shard_iterator(iterator).limit(1).send().await.unwrap();
            let data: Vec<String> = got
                .records()
                .iter()
                .map(|r| String::from_utf8(r.data().as_ref().to_vec()).unwrap())
                .collect();
            (data, got.millis_behind_latest(), got.next_shard_iterator().is_some())
        }
    };
    let (data, _, has_next) =
        read(ShardIteratorType::AtSequenceNumber, Some(put.sequence_number()), None).await;
    assert_eq!(data, ["first"]);
    assert!(has_next);
    let (data, _, _) = read(ShardIteratorType::AfterSequenceNumber, Some(put.sequence_number()), None).await;
    assert_eq!(data, ["second"]);
    let since = aws_sdk_kinesis::primitives::DateTime::from_millis(
        i64::try_from(between.unix_timestamp_nanos() / 1_000_000).unwrap() + 1,
    );
    let (data, behind, _) = read(ShardIteratorType::AtTimestamp, None, Some(since)).await;
    assert!(data == ["second"] || data == ["third"], "{data:?}");
    assert!(behind.is_some());
    let (data, _, _) = read(ShardIteratorType::TrimHorizon, None, None).await;
    assert_eq!(data, ["first"]);
    let (data, _, _) = read(ShardIteratorType::Latest, None, None).await;
    assert!(data.is_empty());

    let bad = h
        .kinesis
        .put_record()
        .stream_name("od")
        .partition_key("k")
        .explicit_hash_key("-1")
        .data(Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad.into_service_error().code(), Some("InvalidArgumentException"));
}
