//! Partition-key routing through the SDK, checked against an independent computation of AWS's rule.

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use md5::{Digest as _, Md5};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::common::Harness;

/// The shard AWS picks: the MD5 of the key as a big-endian 128-bit integer, divided into `shards`
/// equal ranges of width floor(2^128 / shards), the last range taking the remainder.
///
/// Computed by division rather than by the emulator's search over shard ranges.
fn expected_shard(key: &str, shards: u32) -> u32 {
    let hash = u128::from_be_bytes(Md5::digest(key.as_bytes()).into());
    if shards == 1 {
        return 0;
    }
    // width = floor(2^128 / shards), from (2^128 - 1) / shards, corrected when shards divides 2^128.
    let n = u128::from(shards);
    let mut width = u128::MAX / n;
    if width.wrapping_mul(n).wrapping_add(n) == 0 {
        width += 1;
    }
    u32::try_from(hash / width).unwrap_or(u32::MAX).min(shards - 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_go_to_the_shard_aws_would_pick() {
    let h = Harness::start().await;
    let handle = tokio::runtime::Handle::current();
    let counter = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config { cases: 24, ..Config::default() });
    let strategy = (1u32..=16, proptest::collection::vec("\\PC{1,64}", 1..40));
    let result = runner.run(&strategy, |(shards, keys)| {
        let name = format!("route-{}", counter.fetch_add(1, Ordering::Relaxed));
        let shard_ids: Vec<String> = tokio::task::block_in_place(|| {
            handle.block_on(async {
                h.create_stream(&name, i32::try_from(shards).unwrap()).await;
                let entries = keys
                    .iter()
                    .map(|key| {
                        PutRecordsRequestEntry::builder()
                            .data(Blob::new("x"))
                            .partition_key(key)
                            .build()
                            .unwrap()
                    })
                    .collect();
                let out = h
                    .kinesis
                    .put_records()
                    .stream_name(&name)
                    .set_records(Some(entries))
                    .send()
                    .await
                    .unwrap();
                h.kinesis.delete_stream().stream_name(&name).send().await.unwrap();
                out.records().iter().map(|r| r.shard_id().unwrap().to_owned()).collect()
            })
        });
        for (key, shard_id) in keys.iter().zip(&shard_ids) {
            prop_assert_eq!(
                shard_id,
                &format!("shardId-{:012}", expected_shard(key, shards)),
                "key {:?}",
                key
            );
        }
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
}

#[test]
fn the_independent_rule_matches_known_boundaries() {
    // MD5("user-1") starts with 0xd6, above 2^127: the second of two shards, the fourth of four.
    assert_eq!(expected_shard("user-1", 1), 0);
    assert_eq!(expected_shard("user-1", 2), 1);
    assert_eq!(expected_shard("user-1", 4), 3);
}
