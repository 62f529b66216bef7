//! Resharding through aws-sdk-kinesis: splits, merges and UpdateShardCount change the open shards
//! as AWS documents, closed parents stay readable to their end, and Firehose follows the lineage.

use std::time::Duration;

use aws_sdk_kinesis::error::ProvideErrorMetadata as _;
use aws_sdk_kinesis::operation::merge_shards::{MergeShardsError, MergeShardsOutput};
use aws_sdk_kinesis::operation::update_shard_count::{UpdateShardCountError, UpdateShardCountOutput};
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{
    ScalingType, Shard, ShardFilter, ShardFilterType, ShardIteratorType, StreamStatus,
};
use emulator::EmulatorConfig;

use crate::common::{Harness, eventually, extended_s3};

/// An emulator whose resharding completes in a few wall milliseconds.
async fn fast() -> Harness {
    Harness::with_config(EmulatorConfig { time_scale: 60.0, ..EmulatorConfig::default() }).await
}

async fn wait_active(h: &Harness, stream: &str) {
    eventually("the stream to be ACTIVE again", Duration::from_secs(10), || async {
        let summary = h.kinesis.describe_stream_summary().stream_name(stream).send().await.unwrap();
        (summary.stream_description_summary().unwrap().stream_status() == &StreamStatus::Active).then_some(())
    })
    .await;
}

async fn shards(h: &Harness, stream: &str, filter: Option<ShardFilter>) -> Vec<Shard> {
    let listed = h.kinesis.list_shards().stream_name(stream).set_shard_filter(filter).send().await.unwrap();
    listed.shards().to_vec()
}

fn ids(shards: &[Shard]) -> Vec<&str> {
    shards.iter().map(Shard::shard_id).collect()
}

fn range(shard: &Shard) -> (u128, u128) {
    let range = shard.hash_key_range().unwrap();
    (range.starting_hash_key().parse().unwrap(), range.ending_hash_key().parse().unwrap())
}

type Sent<O, E> = Result<O, aws_sdk_kinesis::error::SdkError<E>>;

async fn update_shard_count(
    h: &Harness,
    stream: &str,
    target: i32,
) -> Sent<UpdateShardCountOutput, UpdateShardCountError> {
    let call = h.kinesis.update_shard_count().stream_name(stream).target_shard_count(target);
    call.scaling_type(ScalingType::UniformScaling).send().await
}

async fn merge(
    h: &Harness,
    stream: &str,
    shard: &str,
    adjacent: &str,
) -> Sent<MergeShardsOutput, MergeShardsError> {
    let call = h.kinesis.merge_shards().stream_name(stream).shard_to_merge(shard);
    call.adjacent_shard_to_merge(adjacent).send().await
}

async fn put(h: &Harness, stream: &str, key: &str, data: &str) -> String {
    let put = h.kinesis.put_record().stream_name(stream).partition_key(key).data(Blob::new(data));
    put.send().await.unwrap().shard_id().to_owned()
}

#[tokio::test]
async fn a_split_closes_the_parent_which_reads_to_its_end_and_names_its_children() {
    let h = fast().await;
    h.create_stream("split", 1).await;
    let before = put(&h, "split", "k", "before").await;
    assert_eq!(before, "shardId-000000000000");
    let at = 1u128 << 127;
    h.kinesis
        .split_shard()
        .stream_name("split")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key(at.to_string())
        .send()
        .await
        .unwrap();
    wait_active(&h, "split").await;

    let listed = shards(&h, "split", None).await;
    assert_eq!(ids(&listed), ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"]);
    let parent = &listed[0];
    assert!(
        parent.sequence_number_range().unwrap().ending_sequence_number().is_some(),
        "the parent is closed"
    );
    assert_eq!(range(&listed[1]), (0, at - 1));
    assert_eq!(range(&listed[2]), (at, u128::MAX));
    for child in &listed[1..] {
        assert_eq!(child.parent_shard_id(), Some("shardId-000000000000"));
        assert_eq!(child.adjacent_parent_shard_id(), None);
        assert!(child.sequence_number_range().unwrap().ending_sequence_number().is_none());
    }
    let summary = h.kinesis.describe_stream_summary().stream_name("split").send().await.unwrap();
    assert_eq!(summary.stream_description_summary().unwrap().open_shard_count(), 2);

    // New records go to the child whose range holds the key's hash.
    let child = put(&h, "split", "k", "after").await;
    let hash = vocabulary::partition_key_hash("k");
    assert_eq!(child, if hash < at { "shardId-000000000001" } else { "shardId-000000000002" });

    // The parent reads to its end: its records, then no next iterator and both children.
    let iterator = h.iterator("split", "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let read = h.kinesis.get_records().shard_iterator(iterator).send().await.unwrap();
    let data: Vec<&[u8]> = read.records().iter().map(|r| r.data().as_ref()).collect();
    assert_eq!(data, [b"before"]);
    assert_eq!(read.next_shard_iterator(), None);
    let children = read.child_shards();
    assert_eq!(children.len(), 2);
    for child in children {
        assert_eq!(child.parent_shards(), ["shardId-000000000000"]);
    }
    assert_eq!(children[0].shard_id(), "shardId-000000000001");

    // A closed shard splits no more.
    let again = h
        .kinesis
        .split_shard()
        .stream_name("split")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key("12345")
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("InvalidArgumentException"));
    assert!(again.message().unwrap().contains("already been merged or split"), "{again:?}");
}

#[tokio::test]
async fn a_merge_has_both_parents_and_refuses_shards_that_do_not_touch() {
    let h = fast().await;
    h.create_stream("merge", 3).await;
    let apart = merge(&h, "merge", "shardId-000000000000", "shardId-000000000002").await.unwrap_err();
    assert_eq!(apart.code(), Some("InvalidArgumentException"));
    let missing = merge(&h, "merge", "shardId-000000000000", "shardId-000000000009").await.unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
    merge(&h, "merge", "shardId-000000000001", "shardId-000000000002").await.unwrap();
    wait_active(&h, "merge").await;
    let open =
        shards(&h, "merge", Some(ShardFilter::builder().r#type(ShardFilterType::AtLatest).build().unwrap()))
            .await;
    assert_eq!(ids(&open), ["shardId-000000000000", "shardId-000000000003"]);
    let merged = &open[1];
    assert_eq!(merged.parent_shard_id(), Some("shardId-000000000001"));
    assert_eq!(merged.adjacent_parent_shard_id(), Some("shardId-000000000002"));
    assert_eq!(range(merged).1, u128::MAX);
    assert_eq!(range(merged).0, range(&open[0]).1 + 1);

    let iterator = h.iterator("merge", "shardId-000000000002", ShardIteratorType::Latest).await;
    let read = h.kinesis.get_records().shard_iterator(iterator).send().await.unwrap();
    assert_eq!(read.next_shard_iterator(), None);
    let children = read.child_shards();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].parent_shards(), ["shardId-000000000001", "shardId-000000000002"]);
}

#[tokio::test]
async fn update_shard_count_scales_uniformly_within_double_and_half() {
    let h = fast().await;
    h.create_stream("scaled", 2).await;
    let scaled = update_shard_count(&h, "scaled", 4).await.unwrap();
    assert_eq!((scaled.current_shard_count(), scaled.target_shard_count()), (Some(2), Some(4)));
    wait_active(&h, "scaled").await;
    update_shard_count(&h, "scaled", 3).await.unwrap();
    wait_active(&h, "scaled").await;

    let latest = ShardFilter::builder().r#type(ShardFilterType::AtLatest).build().unwrap();
    let open = shards(&h, "scaled", Some(latest)).await;
    let ranges: Vec<(u128, u128)> = open.iter().map(range).collect();
    let even: Vec<(u128, u128)> =
        vocabulary::split_hash_key_space(3).iter().map(|range| (range.start, range.end)).collect();
    assert_eq!(ranges, even, "three shards of equal size");
    assert!(open.iter().all(|shard| shard.parent_shard_id().is_some()));
    let all = shards(&h, "scaled", None).await;
    let closed = all.iter().filter(|s| s.sequence_number_range().unwrap().ending_sequence_number().is_some());
    assert!(closed.count() >= 6, "the first two shards, their four children and short-lived shards");
    // The shards open at creation are the ones a trim-horizon filter lists.
    let horizon = ShardFilter::builder().r#type(ShardFilterType::AtTrimHorizon).build().unwrap();
    assert_eq!(
        ids(&shards(&h, "scaled", Some(horizon)).await),
        ["shardId-000000000000", "shardId-000000000001"]
    );
    let after = ShardFilter::builder()
        .r#type(ShardFilterType::AfterShardId)
        .shard_id("shardId-000000000005")
        .build()
        .unwrap();
    assert!(shards(&h, "scaled", Some(after)).await.iter().all(|s| s.shard_id() > "shardId-000000000005"));
    let now = DateTime::from_secs(i64::MAX / 1_000_000_000);
    let from_now =
        ShardFilter::builder().r#type(ShardFilterType::FromTimestamp).timestamp(now).build().unwrap();
    assert_eq!(shards(&h, "scaled", Some(from_now)).await.len(), 3, "only the open shards closed after then");

    for (target, limit) in [(7, "up over double"), (1, "down below half")] {
        let error = update_shard_count(&h, "scaled", target).await.unwrap_err();
        assert_eq!(error.code(), Some("LimitExceededException"));
        assert!(error.message().unwrap().contains(limit), "{error:?}");
    }
}

#[tokio::test]
async fn firehose_reads_a_parent_to_its_end_before_its_children() {
    let h = fast().await;
    h.s3.create_bucket().bucket("lineage").send().await.unwrap();
    let stream_arn = h.create_stream("lineage", 1).await;
    crate::firehose::kinesis_source_delivery(&h, "lineage-ds", &stream_arn, extended_s3("lineage", 64, 1))
        .await;
    let mut expected = Vec::new();
    for i in 0..50 {
        put(&h, "lineage", "one-key", &format!("{i}|")).await;
        expected.push(format!("{i}|"));
    }
    update_shard_count(&h, "lineage", 2).await.unwrap();
    for i in 50..100 {
        put(&h, "lineage", "one-key", &format!("{i}|")).await;
        expected.push(format!("{i}|"));
    }
    wait_active(&h, "lineage").await;
    for i in 100..150 {
        put(&h, "lineage", "one-key", &format!("{i}|")).await;
        expected.push(format!("{i}|"));
    }
    let delivered = eventually("every record in S3", Duration::from_secs(30), || async {
        let objects = h.objects("lineage").await;
        let text: String =
            objects.iter().map(|(_, body)| String::from_utf8_lossy(body).into_owned()).collect();
        (text.matches('|').count() >= expected.len()).then_some(text)
    })
    .await;
    assert_eq!(delivered, expected.concat(), "one key's records in the order they were written");
}

#[tokio::test]
async fn a_subscription_to_a_closed_shard_ends_with_its_children() {
    use aws_sdk_kinesis::types::{StartingPosition, SubscribeToShardEventStream};
    let h = fast().await;
    let stream_arn = h.create_stream("pushed-split", 1).await;
    put(&h, "pushed-split", "k", "only").await;
    h.kinesis
        .split_shard()
        .stream_name("pushed-split")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key((1u128 << 127).to_string())
        .send()
        .await
        .unwrap();
    wait_active(&h, "pushed-split").await;
    let registered =
        h.kinesis.register_stream_consumer().stream_arn(&stream_arn).consumer_name("c").send().await.unwrap();
    let consumer = registered.consumer().unwrap().consumer_arn().to_owned();
    let start = StartingPosition::builder().r#type(ShardIteratorType::TrimHorizon).build().unwrap();
    let mut out = h
        .kinesis
        .subscribe_to_shard()
        .consumer_arn(&consumer)
        .shard_id("shardId-000000000000")
        .starting_position(start)
        .send()
        .await
        .unwrap();
    let mut records = 0;
    let mut children = Vec::new();
    while let Some(event) = out.event_stream.recv().await.expect("an event") {
        let SubscribeToShardEventStream::SubscribeToShardEvent(event) = event else { panic!("{event:?}") };
        records += event.records().len();
        children.extend(event.child_shards().iter().map(|child| child.shard_id().to_owned()));
    }
    assert_eq!(records, 1);
    assert_eq!(
        children,
        ["shardId-000000000001", "shardId-000000000002"],
        "the last event names the children"
    );
}

#[tokio::test]
async fn reading_children_early_reorders_exactly_the_records_it_logs() {
    use emulator::{FaultKind, FaultPlan};
    let faults = FaultPlan { read_children_early: true, ..FaultPlan::default() };
    let h = Harness::with_config(EmulatorConfig { faults, ..EmulatorConfig::default() }).await;
    h.s3.create_bucket().bucket("early").send().await.unwrap();
    let stream_arn = h.create_stream("early", 1).await;
    crate::firehose::kinesis_source_delivery(&h, "early-ds", &stream_arn, extended_s3("early", 64, 1)).await;
    let batch = |from: usize| {
        let entries = (from..from + 20).map(|i| {
            aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                .data(Blob::new(format!("{i}|")))
                .partition_key("one-key")
                .build()
                .unwrap()
        });
        h.kinesis.put_records().stream_name("early").set_records(Some(entries.collect())).send()
    };
    batch(0).await.unwrap();
    update_shard_count(&h, "early", 2).await.unwrap();
    // Written while the stream is UPDATING (an emulated second): still to the parent.
    let during = batch(20).await.unwrap();
    assert!(during.records().iter().all(|r| r.shard_id() == Some("shardId-000000000000")), "{during:?}");
    wait_active(&h, "early").await;
    batch(40).await.unwrap();

    let delivered: Vec<u64> = eventually("every record in S3", Duration::from_secs(30), || async {
        let objects = h.objects("early").await;
        let text: String =
            objects.iter().map(|(_, body)| String::from_utf8_lossy(body).into_owned()).collect();
        let values: Vec<u64> = text.split_terminator('|').map(|v| v.parse().unwrap()).collect();
        (values.len() >= 60).then_some(values)
    })
    .await;
    // Out of order: a record delivered after a record written later than it.
    let mut highest = None;
    let mut late = Vec::new();
    for &value in &delivered {
        if highest.is_some_and(|highest| value < highest) {
            late.push(format!("{value}|"));
        }
        highest = highest.max(Some(value));
    }
    let logged: Vec<String> = h
        .emulator
        .fault_log()
        .into_iter()
        .filter(|event| matches!(event.kind, FaultKind::ReadChildrenEarly { .. }))
        .map(|event| {
            assert_eq!(event.shard_id.as_deref(), Some("shardId-000000000000"));
            String::from_utf8(event.data).unwrap()
        })
        .collect();
    assert_eq!(late.len(), 20, "the parent's last 20 records came after the children's: {delivered:?}");
    assert_eq!(logged, late, "the ground truth names each reordered record, in delivery order");
}
