//! Enhanced fan-out through aws-sdk-kinesis: consumer registration and its limits, and
//! SubscribeToShard's event stream read as a consumer reads it (resubscribing from the continuation
//! sequence number when a subscription ends).

use std::collections::BTreeMap;

use aws_sdk_kinesis::error::ProvideErrorMetadata as _;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{
    ConsumerStatus, PutRecordsRequestEntry, ShardIteratorType, StartingPosition, SubscribeToShardEventStream,
};
use emulator::EmulatorConfig;

use crate::common::Harness;

/// One emulated second lasts 1,000 wall seconds: no subscription ends and no 5-second window passes
/// during the test.
const FROZEN: f64 = 0.001;

#[tokio::test]
async fn consumers_are_registered_described_listed_and_deregistered() {
    let h = Harness::start().await;
    let stream_arn = h.create_stream("fan", 1).await;
    let registered = h
        .kinesis
        .register_stream_consumer()
        .stream_arn(&stream_arn)
        .consumer_name("reader")
        .send()
        .await
        .unwrap();
    let consumer = registered.consumer().unwrap();
    assert_eq!(consumer.consumer_status(), &ConsumerStatus::Creating);
    let arn = consumer.consumer_arn().to_owned();
    assert!(arn.starts_with(&format!("{stream_arn}/consumer/reader:")), "{arn}");

    let again =
        h.kinesis.register_stream_consumer().stream_arn(&stream_arn).consumer_name("reader").send().await;
    assert_eq!(again.unwrap_err().code(), Some("ResourceInUseException"));
    let bad =
        h.kinesis.register_stream_consumer().stream_arn(&stream_arn).consumer_name("no spaces").send().await;
    assert_eq!(bad.unwrap_err().code(), Some("ValidationException"));

    let by_arn = h.kinesis.describe_stream_consumer().consumer_arn(&arn).send().await.unwrap();
    let by_name = h
        .kinesis
        .describe_stream_consumer()
        .stream_arn(&stream_arn)
        .consumer_name("reader")
        .send()
        .await
        .unwrap();
    for description in [by_arn.consumer_description().unwrap(), by_name.consumer_description().unwrap()] {
        assert_eq!(description.consumer_arn(), arn);
        assert_eq!(description.stream_arn(), stream_arn);
        assert_eq!(description.consumer_status(), &ConsumerStatus::Active);
    }

    for i in 1..20 {
        let name = format!("reader-{i}");
        h.kinesis
            .register_stream_consumer()
            .stream_arn(&stream_arn)
            .consumer_name(name)
            .send()
            .await
            .unwrap();
    }
    let over = h
        .kinesis
        .register_stream_consumer()
        .stream_arn(&stream_arn)
        .consumer_name("one-too-many")
        .send()
        .await;
    assert_eq!(over.unwrap_err().code(), Some("LimitExceededException"), "20 consumers per stream");
    let summary = h.kinesis.describe_stream_summary().stream_arn(&stream_arn).send().await.unwrap();
    assert_eq!(summary.stream_description_summary().unwrap().consumer_count(), Some(20));

    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = h
            .kinesis
            .list_stream_consumers()
            .stream_arn(&stream_arn)
            .max_results(7)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.consumers().len() <= 7);
        names.extend(page.consumers().iter().map(|c| c.consumer_name().to_owned()));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names.len(), 20);
    assert_eq!(names[0], "reader", "listed in registration order");

    let refused = h.kinesis.delete_stream().stream_arn(&stream_arn).send().await;
    assert_eq!(refused.unwrap_err().code(), Some("ResourceInUseException"), "consumers block DeleteStream");
    h.kinesis.deregister_stream_consumer().consumer_arn(&arn).send().await.unwrap();
    let gone = h.kinesis.describe_stream_consumer().consumer_arn(&arn).send().await;
    assert_eq!(gone.unwrap_err().code(), Some("ResourceNotFoundException"));
    h.kinesis.delete_stream().stream_arn(&stream_arn).enforce_consumer_deletion(true).send().await.unwrap();
}

async fn register(h: &Harness, stream_arn: &str) -> String {
    let out =
        h.kinesis.register_stream_consumer().stream_arn(stream_arn).consumer_name("pusher").send().await;
    out.unwrap().consumer().unwrap().consumer_arn().to_owned()
}

/// Puts `count` records keyed `key-0`, `key-1`…; returns each shard's data in sequence order.
async fn put(h: &Harness, stream: &str, first: usize, count: usize) -> BTreeMap<String, Vec<String>> {
    let entries = (first..first + count)
        .map(|i| {
            let data = format!("record-{i}");
            PutRecordsRequestEntry::builder()
                .data(Blob::new(data))
                .partition_key(format!("key-{i}"))
                .build()
                .unwrap()
        })
        .collect();
    let out = h.kinesis.put_records().stream_name(stream).set_records(Some(entries)).send().await.unwrap();
    assert_eq!(out.failed_record_count(), Some(0));
    let mut by_shard: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, result) in out.records().iter().enumerate() {
        by_shard
            .entry(result.shard_id().unwrap().to_owned())
            .or_default()
            .push(format!("record-{}", first + i));
    }
    by_shard
}

/// What one subscription delivered: data and sequence numbers in order, and where to resume.
struct Delivered {
    data: Vec<String>,
    sequences: Vec<String>,
    resume: StartingPosition,
}

/// Reads shard `shard` through consumer `consumer` from `start` in one subscription, until
/// `wanted` records arrived or, with `None`, until the subscription ends.
async fn subscription(
    h: &Harness,
    consumer: &str,
    shard: &str,
    start: StartingPosition,
    wanted: Option<usize>,
) -> Delivered {
    let mut out = h
        .kinesis
        .subscribe_to_shard()
        .consumer_arn(consumer)
        .shard_id(shard)
        .starting_position(start.clone())
        .send()
        .await
        .expect("subscribe");
    let mut delivered = Delivered { data: Vec::new(), sequences: Vec::new(), resume: start };
    while wanted.is_none_or(|wanted| delivered.data.len() < wanted) {
        let Some(event) = out.event_stream.recv().await.expect("an event") else {
            assert!(wanted.is_none(), "the subscription ended after {} records", delivered.data.len());
            break;
        };
        let SubscribeToShardEventStream::SubscribeToShardEvent(event) = event else {
            panic!("unexpected event {event:?}");
        };
        for record in event.records() {
            delivered.data.push(String::from_utf8(record.data().as_ref().to_vec()).unwrap());
            delivered.sequences.push(record.sequence_number().to_owned());
        }
        delivered.resume = StartingPosition::builder()
            .r#type(ShardIteratorType::AfterSequenceNumber)
            .sequence_number(event.continuation_sequence_number())
            .build()
            .unwrap();
    }
    delivered
}

fn trim_horizon() -> StartingPosition {
    StartingPosition::builder().r#type(ShardIteratorType::TrimHorizon).build().unwrap()
}

#[tokio::test]
async fn a_subscribed_consumer_receives_every_record_in_shard_order_across_subscriptions() {
    // Five emulated minutes, a subscription's life, pass in 0.3 wall seconds.
    let h = Harness::with_config(EmulatorConfig { time_scale: 1_000.0, ..EmulatorConfig::default() }).await;
    let stream_arn = h.create_stream("pushed", 2).await;
    let consumer = register(&h, &stream_arn).await;
    let before = put(&h, "pushed", 0, 400).await;
    assert_eq!(before.len(), 2, "both shards hold records");
    let mut resume = BTreeMap::new();
    for (shard, records) in &before {
        // The first subscription runs to its end; every record written before it arrives in it.
        let first = subscription(&h, &consumer, shard, trim_horizon(), None).await;
        assert_eq!(&first.data, records, "shard {shard} in sequence order, each record once");
        assert!(first.sequences.windows(2).all(|pair| pair[0] < pair[1]), "sequence numbers increase");
        resume.insert(shard.clone(), first.resume);
    }
    // A new subscription AFTER the continuation sequence number starts exactly past the last
    // record delivered: nothing twice, nothing skipped.
    for (shard, records) in put(&h, "pushed", 400, 400).await {
        let next = subscription(&h, &consumer, &shard, resume[&shard].clone(), Some(records.len())).await;
        assert_eq!(next.data, records, "shard {shard} resumed where the last subscription ended");
    }
}

#[tokio::test]
async fn records_written_after_subscribing_are_pushed_and_a_second_call_within_5_seconds_is_refused() {
    let h = Harness::with_config(EmulatorConfig { time_scale: FROZEN, ..EmulatorConfig::default() }).await;
    let stream_arn = h.create_stream("live", 1).await;
    let consumer = register(&h, &stream_arn).await;
    let latest = StartingPosition::builder().r#type(ShardIteratorType::Latest).build().unwrap();
    let mut out = h
        .kinesis
        .subscribe_to_shard()
        .consumer_arn(&consumer)
        .shard_id("shardId-000000000000")
        .starting_position(latest.clone())
        .send()
        .await
        .unwrap();
    let again = h
        .kinesis
        .subscribe_to_shard()
        .consumer_arn(&consumer)
        .shard_id("shardId-000000000000")
        .starting_position(latest)
        .send()
        .await;
    assert_eq!(again.unwrap_err().code(), Some("ResourceInUseException"));

    let expected = put(&h, "live", 0, 50).await.remove("shardId-000000000000").unwrap();
    let mut data = Vec::new();
    while data.len() < expected.len() {
        let event = out.event_stream.recv().await.expect("an event").expect("the subscription is open");
        let SubscribeToShardEventStream::SubscribeToShardEvent(event) = event else {
            panic!("unexpected event {event:?}");
        };
        data.extend(event.records().iter().map(|r| String::from_utf8(r.data().as_ref().to_vec()).unwrap()));
    }
    assert_eq!(data, expected, "pushed as they were written");

    let missing = h
        .kinesis
        .subscribe_to_shard()
        .consumer_arn(&consumer)
        .shard_id("shardId-000000000009")
        .starting_position(trim_horizon())
        .send()
        .await;
    assert_eq!(missing.unwrap_err().code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn a_later_subscription_takes_the_shard_over_and_ends_the_earlier_one() {
    // Five emulated seconds pass in 50 wall milliseconds; the first subscription would last 3 s.
    let h = Harness::with_config(EmulatorConfig { time_scale: 100.0, ..EmulatorConfig::default() }).await;
    let stream_arn = h.create_stream("taken", 1).await;
    let consumer = register(&h, &stream_arn).await;
    let subscribe = || {
        h.kinesis
            .subscribe_to_shard()
            .consumer_arn(&consumer)
            .shard_id("shardId-000000000000")
            .starting_position(trim_horizon())
            .send()
    };
    let mut first = subscribe().await.unwrap();
    let _second = loop {
        match subscribe().await {
            Ok(second) => break second,
            Err(err) => assert_eq!(err.code(), Some("ResourceInUseException"), "refused within 5 seconds"),
        }
    };
    let err = loop {
        match first.event_stream.recv().await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the earlier subscription ended without an error"),
            Err(err) => break err,
        }
    };
    let err = err.into_service_error();
    assert!(err.is_resource_in_use_exception(), "{err:?}");
}
