//! Unit tests of the Kinesis store: routing, numbering, limits, retention, resharding.

use super::*;
use crate::faults::FaultPlan;
use crate::kinesis::limits::SHARD_BYTES_PER_SECOND;
use std::collections::BTreeSet;
use std::time::Duration;

fn entry(key: &str, data: &str) -> Entry {
    Entry {
        data: Bytes::from(data.to_owned()),
        partition_key: key.to_owned(),
        explicit_hash_key: None,
        sequence_after: None,
    }
}

/// The accepted results, failing the test if any entry was throttled.
fn accepted(outcomes: Vec<PutOutcome>) -> Vec<Accepted> {
    outcomes
        .into_iter()
        .map(|outcome| match outcome {
            PutOutcome::Accepted(accepted) => accepted,
            PutOutcome::Throttled { .. } => panic!("unexpectedly throttled"),
            PutOutcome::InternalFailure => panic!("unexpectedly failed"),
        })
        .collect()
}

fn store_with_stream(shards: usize) -> (KinesisStore, Arc<Stream>) {
    let store = KinesisStore::new("us-east-1", "000000000000", ShardLimits { writes: true, reads: true });
    let stream = store.create("s", shards, StreamMode::Provisioned, Clock::new(1.0)).unwrap();
    (store, stream)
}

#[test]
fn duplicate_names_are_in_use_and_unknown_names_not_found() {
    let (store, _) = store_with_stream(1);
    let err = store.create("s", 1, StreamMode::Provisioned, Clock::new(1.0)).unwrap_err();
    assert_eq!(err.code, "ResourceInUseException");
    assert_eq!(store.get(Some("nope"), None).unwrap_err().code, "ResourceNotFoundException");
    let arn = store.stream_arn("s");
    assert_eq!(store.get(None, Some(&arn)).unwrap().name, "s");
    assert_eq!(arn, "arn:aws:kinesis:us-east-1:000000000000:stream/s");
}

#[test]
fn injected_refusals_are_not_stored_and_are_logged() {
    let (_store, stream) = store_with_stream(1);
    let clock = Clock::new(1.0);
    let faults = FaultInjector::new(FaultPlan { throttle_burst: 1.0, ..FaultPlan::default() });
    let outcomes = stream.put(vec![entry("a", "0"), entry("b", "1")], &clock, &faults).unwrap();
    assert!(outcomes.iter().all(|o| matches!(o, PutOutcome::Throttled { shard_index: 0 })));
    let faults = FaultInjector::new(FaultPlan { internal_failure: 1.0, ..FaultPlan::default() });
    let outcomes = stream.put(vec![entry("c", "2")], &clock, &faults).unwrap();
    assert!(matches!(outcomes[0], PutOutcome::InternalFailure));
    let mut out = Vec::new();
    stream.read_records(0, 0, 10, usize::MAX, &mut out).unwrap();
    assert!(out.is_empty(), "refused entries are never stored");
    let events = faults.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, FaultKind::InternalFailure);
    assert_eq!((events[0].partition_key.as_deref(), &events[0].data[..]), (Some("c"), &b"2"[..]));
}

#[test]
fn records_older_than_the_retention_period_are_no_longer_readable() {
    let (_store, stream) = store_with_stream(1);
    let clock = Clock::new(1.0);
    let faults = FaultInjector::new(FaultPlan::default());
    stream.put(vec![entry("a", "0")], &clock, &faults).unwrap();
    let arrival = crate::clock::unix_millis(clock.now());
    let hour = 3_600_000;
    let read = || {
        let mut out = Vec::new();
        stream.read_records(0, 0, 10, usize::MAX, &mut out).unwrap();
        out.len()
    };
    stream.trim_expired(arrival + 23 * hour);
    assert_eq!(read(), 1, "within the default 24 hours");
    lock(&stream.settings).retention_hours = 48;
    stream.trim_expired(arrival + 47 * hour);
    assert_eq!(read(), 1, "within a retention period increased to 48 hours");
    stream.trim_expired(arrival + 49 * hour);
    assert_eq!(read(), 0);
    // The shard keeps numbering after the trimmed records.
    let trim_horizon = stream.starting_position(0, StartingPosition::TrimHorizon).unwrap();
    assert_eq!(trim_horizon, 2, "past the one trimmed record, counter 1");
}

#[test]
fn records_are_routed_numbered_and_read_in_order() {
    let (_store, stream) = store_with_stream(2);
    let clock = Clock::new(1.0);
    let faults = FaultInjector::new(FaultPlan::default());
    // "user-1" hashes above 2^127 (shard 1); an explicit hash key of 0 pins shard 0.
    let mut pinned = entry("k", "a");
    pinned.explicit_hash_key = Some(0);
    let accepted = accepted(
        stream.put(vec![entry("user-1", "x"), pinned, entry("user-1", "y")], &clock, &faults).unwrap(),
    );
    assert_eq!(accepted.iter().map(|a| a.shard_index).collect::<Vec<_>>(), vec![1, 0, 1]);
    assert!(accepted[0].sequence < accepted[2].sequence);

    let mut out = Vec::new();
    let outcome = stream.read_records(1, 0, 10, usize::MAX, &mut out).unwrap();
    assert_eq!(out.iter().map(|r| &r.data[..]).collect::<Vec<_>>(), vec![b"x", b"y"]);
    assert_eq!(outcome.next_position, 3);
    assert_eq!(outcome.oldest_unread_ms, None);

    out.clear();
    let after_first =
        stream.starting_position(1, StartingPosition::AfterSequence(accepted[0].sequence)).unwrap();
    stream.read_records(1, after_first, 10, usize::MAX, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0].data[..], b"y");
}

#[test]
fn dropped_entries_are_acknowledged_but_not_stored() {
    let (_store, stream) = store_with_stream(1);
    let clock = Clock::new(1.0);
    let faults =
        FaultInjector::new(FaultPlan { drop_kinesis_records: BTreeSet::from([1]), ..FaultPlan::default() });
    let accepted = accepted(
        stream.put(vec![entry("a", "0"), entry("a", "1"), entry("a", "2")], &clock, &faults).unwrap(),
    );
    assert_eq!(accepted.len(), 3);
    let mut out = Vec::new();
    stream.read_records(0, 0, 10, usize::MAX, &mut out).unwrap();
    assert_eq!(out.iter().map(|r| &r.data[..]).collect::<Vec<_>>(), vec![b"0", b"2"]);
    let events = faults.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].ordinal, 1);
    assert_eq!(events[0].data, b"1");
    assert_eq!(events[0].shard_id.as_deref(), Some("shardId-000000000000"));
    // The dropped entry's sequence number is genuine: reading at it starts at the next record.
    let at = stream.starting_position(0, StartingPosition::AtSequence(accepted[1].sequence)).unwrap();
    out.clear();
    stream.read_records(0, at, 10, usize::MAX, &mut out).unwrap();
    assert_eq!(&out[0].data[..], b"2");
}

#[test]
fn reads_stop_at_the_record_limit_and_report_what_is_left() {
    let (_store, stream) = store_with_stream(1);
    let clock = Clock::new(1.0);
    let faults = FaultInjector::new(FaultPlan::default());
    stream.put((0..5).map(|i| entry("a", &i.to_string())).collect(), &clock, &faults).unwrap();
    let mut out = Vec::new();
    let outcome = stream.read_records(0, 0, 2, usize::MAX, &mut out).unwrap();
    assert_eq!(out.len(), 2);
    // Counters start at 1: counter 0 is the shard's starting sequence number.
    assert_eq!(outcome.next_position, 3);
    assert!(outcome.oldest_unread_ms.is_some());
    let latest = stream.starting_position(0, StartingPosition::Latest).unwrap();
    assert_eq!(latest, 6);
    let start = SequenceNumber { shard_index: 0, counter: 0 };
    let after_start = stream.starting_position(0, StartingPosition::AfterSequence(start)).unwrap();
    assert_eq!(after_start, 1, "AFTER the starting sequence number is the first record");
    let foreign = SequenceNumber { shard_index: 3, counter: 0 };
    assert!(stream.starting_position(0, StartingPosition::AtSequence(foreign)).is_err());
}

#[tokio::test(start_paused = true)]
async fn writes_past_a_shards_limits_are_throttled_until_the_next_second() {
    let (_store, stream) = store_with_stream(1);
    let clock = Clock::new(1.0);
    let faults =
        FaultInjector::new(FaultPlan { drop_kinesis_records: BTreeSet::from([999]), ..FaultPlan::default() });
    let batch = || (0..500).map(|i| entry("k", &i.to_string())).collect::<Vec<_>>();
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        outcomes.extend(stream.put(batch(), &clock, &faults).unwrap());
    }
    let throttled: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, outcome)| matches!(outcome, PutOutcome::Throttled { .. }))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(throttled, (1000..1500).collect::<Vec<_>>());
    // Throttled entries take no fault ordinal: the 1,000th accepted entry is the one dropped.
    assert_eq!(faults.events()[0].data, b"499");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(matches!(stream.put(batch(), &clock, &faults).unwrap()[499], PutOutcome::Accepted(_)));

    // The byte limit counts data and partition key: 1 MiB in one entry fills the second.
    tokio::time::advance(Duration::from_secs(1)).await;
    let big = Entry {
        data: Bytes::from(vec![0u8; SHARD_BYTES_PER_SECOND - 1]),
        partition_key: "k".to_owned(),
        explicit_hash_key: None,
        sequence_after: None,
    };
    let outcomes = stream.put(vec![big, entry("k", "")], &clock, &faults).unwrap();
    assert!(matches!(outcomes[0], PutOutcome::Accepted(_)));
    assert!(matches!(outcomes[1], PutOutcome::Throttled { shard_index: 0 }));
}

#[test]
fn get_records_serves_five_calls_a_second_and_pays_for_its_data_at_2_mib_a_second() {
    let store = KinesisStore::new("us-east-1", "000000000000", ShardLimits { writes: false, reads: true });
    let stream = store.create("s", 1, StreamMode::Provisioned, Clock::new(1.0)).unwrap();
    let clock = Clock::new(1.0);
    let faults = FaultInjector::new(FaultPlan::default());
    let mib = |n: usize| Entry { data: Bytes::from(vec![b'x'; n * 1024 * 1024]), ..entry("k", "") };
    let get = |position: u64, now_ms: u64| {
        let mut out = Vec::new();
        stream.get_records(0, position, (10_000, 10 * 1024 * 1024), now_ms, &mut out).map(|_| out.len())
    };
    // Empty reads cost no data: the sixth call of one second is refused, the next second serves.
    let calls: Vec<_> = (0..6).map(|ms| get(0, 1_000 + ms)).collect();
    assert_eq!(calls[..5], [Ok(0); 5]);
    assert_eq!(calls[5], Err(ReadRefused::Throttled));
    assert_eq!(get(0, 2_000), Ok(0));

    // 4 MiB read at t = 10 s are paid for by t = 12 s, and no call is served before.
    stream.put((0..4).map(|_| mib(1)).collect(), &clock, &faults).unwrap();
    assert_eq!(get(0, 10_000), Ok(4));
    assert_eq!(get(5, 10_500), Err(ReadRefused::Throttled));
    assert_eq!(get(5, 11_999), Err(ReadRefused::Throttled));
    assert_eq!(get(5, 12_000), Ok(0));
    store.delete(Some("s"), None).unwrap();
    assert_eq!(get(0, 20_000), Err(ReadRefused::Deleted));
}

#[test]
fn without_limits_nothing_is_throttled() {
    let store = KinesisStore::new("us-east-1", "000000000000", ShardLimits { writes: false, reads: false });
    let stream = store.create("s", 1, StreamMode::Provisioned, Clock::new(1.0)).unwrap();
    let clock = Clock::new(1.0);
    let faults = FaultInjector::new(FaultPlan::default());
    for _ in 0..5 {
        let batch = (0..500).map(|i| entry("k", &i.to_string())).collect();
        accepted(stream.put(batch, &clock, &faults).unwrap());
    }
}

#[test]
fn deleted_streams_stop_readers() {
    let (store, stream) = store_with_stream(1);
    store.delete(Some("s"), None).unwrap();
    assert_eq!(stream.read_data(0, 0, 1, usize::MAX, &mut Vec::new()).unwrap_err(), StreamDeleted);
    assert!(store.get(Some("s"), None).is_err());
}

/// A provisioned stream of `shards` shards on a paused clock, with its own store.
fn resharding_stream(shards: usize) -> (KinesisStore, Arc<Stream>, Clock) {
    let store = KinesisStore::new("us-east-1", "000000000000", ShardLimits { writes: false, reads: false });
    let clock = Clock::new(1.0);
    let stream = store.create("s", shards, StreamMode::Provisioned, clock).unwrap();
    (store, stream, clock)
}

#[tokio::test(start_paused = true)]
async fn a_split_keeps_the_stream_updating_and_writing_to_the_parent_until_it_completes() {
    let (_store, stream, clock) = resharding_stream(1);
    let faults = FaultInjector::new(FaultPlan::default());
    let at = 1u128 << 127;
    assert_eq!(stream.reshard(Reshard::Split { shard: 0, at }, "0").unwrap(), 1);
    assert_eq!(stream.status(), "UPDATING");
    assert_eq!(stream.resharding(), [0]);
    let again = stream.reshard(Reshard::Split { shard: 0, at }, "0").unwrap_err();
    assert_eq!(again.code, "ResourceInUseException");
    // Writes meanwhile go to the parent.
    let before = accepted(stream.put(vec![entry("k", "during")], &clock, &faults).unwrap());
    assert_eq!(before[0].shard_index, 0);

    tokio::time::advance(Duration::from_millis(RESHARD_MS as u64)).await;
    assert_eq!(stream.status(), "ACTIVE");
    let lineage = stream.lineage();
    assert_eq!(lineage.open(), [1, 2]);
    let parent = &lineage.shards()[0];
    assert_eq!(parent.closed.map(|closed| closed.last_counter), Some(before[0].sequence.counter));
    assert_eq!(parent.children, [1, 2]);
    let hash = vocabulary::partition_key_hash("k");
    let after = accepted(stream.put(vec![entry("k", "after")], &clock, &faults).unwrap());
    assert_eq!(after[0].shard_index, if hash < at { 1 } else { 2 });

    // The parent reads to its end, then says so; the children start empty of its records.
    let mut out = Vec::new();
    let outcome = stream.read_records(0, 0, 10, usize::MAX, &mut out).unwrap();
    assert_eq!(out.iter().map(|r| &r.data[..]).collect::<Vec<_>>(), [b"during"]);
    assert!(outcome.shard_ended);
    let mut child = Vec::new();
    let outcome = stream.read_records(after[0].shard_index, 0, 10, usize::MAX, &mut child).unwrap();
    assert_eq!(child.len(), 1);
    assert!(!outcome.shard_ended);
}

#[tokio::test(start_paused = true)]
async fn update_shard_count_keeps_to_double_or_half_and_ten_scalings_a_day() {
    let (_store, stream, _clock) = resharding_stream(2);
    for target in [5, 0] {
        let error = stream.reshard(Reshard::Uniform { target }, "0").unwrap_err();
        assert_eq!(error.code, "LimitExceededException", "{target}: {}", error.message);
        assert!(error.message.contains("Current open shard count: 2"), "{}", error.message);
    }
    for (round, target) in [4, 3, 2, 4, 3, 2, 4, 3, 2, 4].into_iter().enumerate() {
        stream.reshard(Reshard::Uniform { target }, "0").unwrap_or_else(|e| panic!("{round}: {}", e.message));
        tokio::time::advance(Duration::from_millis(RESHARD_MS as u64)).await;
        assert_eq!(stream.lineage().open().len(), target);
    }
    let eleventh = stream.reshard(Reshard::Uniform { target: 3 }, "0").unwrap_err();
    assert_eq!(eleventh.code, "LimitExceededException");
    assert!(eleventh.message.contains("10 times"), "{}", eleventh.message);
    // Splits and merges are not UpdateShardCount scalings.
    stream.reshard(Reshard::Split { shard: stream.lineage().open()[0], at: 1 << 100 }, "0").unwrap();
}

#[tokio::test(start_paused = true)]
async fn resharding_calls_check_their_shards() {
    let (_store, stream, _clock) = resharding_stream(3);
    let message = |request| stream.reshard(request, "0").unwrap_err().message;
    let first = stream.lineage().shards()[0].range;
    assert!(
        message(Reshard::Split { shard: 0, at: first.start + 1 }).contains("not both greater than one plus")
    );
    assert!(
        message(Reshard::Split { shard: 0, at: first.end }).contains("less than the shard's EndingHashKey")
    );
    assert!(message(Reshard::Merge { shard: 0, adjacent: 2 }).contains("not an adjacent pair"));
    assert!(message(Reshard::Merge { shard: 1, adjacent: 1 }).contains("not an adjacent pair"));
    stream.reshard(Reshard::Merge { shard: 1, adjacent: 0 }, "0").unwrap();
    tokio::time::advance(Duration::from_millis(RESHARD_MS as u64)).await;
    let merged = stream.lineage().shards()[3].clone();
    assert_eq!((merged.parent, merged.adjacent_parent), (Some(1), Some(0)));
    assert!(message(Reshard::Split { shard: 0, at: 5 }).contains("already been merged or split"));
}

#[tokio::test(start_paused = true)]
async fn on_demand_streams_refuse_resharding() {
    let store = KinesisStore::new("us-east-1", "000000000000", ShardLimits { writes: false, reads: false });
    let stream = store.create("s", ON_DEMAND_SHARDS, StreamMode::OnDemand, Clock::new(1.0)).unwrap();
    let error = stream.reshard(Reshard::Uniform { target: 8 }, "0").unwrap_err();
    assert_eq!(error.code, "ValidationException");
    assert!(error.message.contains("PROVISIONED"), "{}", error.message);
}

#[tokio::test(start_paused = true)]
async fn an_on_demand_stream_scales_to_double_its_peak_while_staying_active() {
    let store = KinesisStore::new("us-east-1", "000000000000", ShardLimits { writes: false, reads: false });
    let clock = Clock::new(1.0);
    let stream = store.create("s", ON_DEMAND_SHARDS, StreamMode::OnDemand, clock).unwrap();
    let faults = FaultInjector::new(FaultPlan::default());
    // 2,500 records in one second: double that needs 5 shards of 1,000 records a second.
    for batch in 0..5 {
        let entries = (0..500).map(|i| entry(&format!("k{batch}-{i}"), "x")).collect();
        accepted(stream.put(entries, &clock, &faults).unwrap());
    }
    assert_eq!(stream.status(), "ACTIVE", "on-demand scaling is not an UPDATING stream");
    assert_eq!(stream.lineage().open().len(), ON_DEMAND_SHARDS, "scaling takes a while");
    tokio::time::advance(Duration::from_millis(RESHARD_MS as u64)).await;
    let lineage = stream.lineage();
    assert_eq!(lineage.open().len(), 5);
    let ranges: Vec<_> = lineage.open().iter().map(|&shard| lineage.shards()[shard].range).collect();
    assert_eq!(ranges, vocabulary::split_hash_key_space(5));
}

#[test]
fn resharding_calls_are_limited_per_account_and_operation() {
    let (store, _stream) = store_with_stream(2);
    let split = Reshard::Split { shard: 0, at: 1 << 100 };
    for _ in 0..5 {
        store.admit_reshard_call(split, 3).unwrap();
    }
    let refused = store.admit_reshard_call(split, 3).unwrap_err();
    assert_eq!(refused.code, "LimitExceededException");
    assert!(refused.message.contains("SplitShard"), "{}", refused.message);
    // Each operation has its own budget, and the next second a new one.
    store.admit_reshard_call(Reshard::Merge { shard: 0, adjacent: 1 }, 3).unwrap();
    for _ in 0..10 {
        store.admit_reshard_call(Reshard::Uniform { target: 4 }, 3).unwrap();
    }
    assert!(store.admit_reshard_call(Reshard::Uniform { target: 4 }, 3).is_err());
    store.admit_reshard_call(split, 4).unwrap();
}
