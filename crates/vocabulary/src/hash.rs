//! Kinesis routing: the 128-bit hash-key space, how it is split between shards, and partition-key hashing
//! (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html>: "an MD5 hash function is
//! used to map partition keys to 128-bit integer values").

use md5::{Digest, Md5};

/// An inclusive range of hash keys owned by one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashKeyRange {
    pub start: u128,
    pub end: u128,
}

/// Splits `0..=2^128-1` evenly between `shards` shards, as Kinesis does when it creates a stream.
///
/// With `step = floor(2^128 / shards)`, shard `i` owns `[i*step, (i+1)*step - 1]` and the last shard
/// also owns the remainder up to `2^128 - 1`.
pub fn split_hash_key_space(shards: usize) -> Vec<HashKeyRange> {
    assert!(shards > 0, "a stream has at least one shard");
    if shards == 1 {
        return vec![HashKeyRange { start: 0, end: u128::MAX }];
    }
    let n = shards as u128;
    // floor(2^128 / n) computed without overflowing: 2^128 = u128::MAX + 1.
    let step = u128::MAX / n + u128::from(u128::MAX % n == n - 1);
    (0..n)
        .map(|i| HashKeyRange {
            start: i * step,
            end: if i == n - 1 { u128::MAX } else { (i + 1) * step - 1 },
        })
        .collect()
}

/// The hash key of a partition key: its MD5 digest read as a big-endian unsigned 128-bit integer.
pub fn partition_key_hash(partition_key: &str) -> u128 {
    let digest: [u8; 16] = Md5::digest(partition_key.as_bytes()).into();
    u128::from_be_bytes(digest)
}

/// Parses an `ExplicitHashKey`: a decimal integer in `0..=2^128-1`.
pub fn parse_explicit_hash_key(text: &str) -> Option<u128> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The index of the range that holds `hash`; `ranges` must be sorted and cover the whole space.
pub fn shard_for_hash(ranges: &[HashKeyRange], hash: u128) -> usize {
    ranges.partition_point(|range| range.start <= hash).saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn assert_covers_space_without_gaps(ranges: &[HashKeyRange]) {
        assert_eq!(ranges.first().unwrap().start, 0);
        assert_eq!(ranges.last().unwrap().end, u128::MAX);
        for pair in ranges.windows(2) {
            assert!(pair[0].start <= pair[0].end);
            assert_eq!(pair[0].end + 1, pair[1].start, "gap or overlap between {pair:?}");
        }
    }

    #[test]
    fn ranges_cover_the_space_for_common_shard_counts() {
        for shards in [1, 2, 3, 7] {
            let ranges = split_hash_key_space(shards);
            assert_eq!(ranges.len(), shards);
            assert_covers_space_without_gaps(&ranges);
        }
    }

    #[test]
    fn three_shards_match_the_ranges_kinesis_reports() {
        let ranges = split_hash_key_space(3);
        assert_eq!(ranges[0].end, 113_427_455_640_312_821_154_458_202_477_256_070_484);
        assert_eq!(ranges[1].start, 113_427_455_640_312_821_154_458_202_477_256_070_485);
        assert_eq!(ranges[1].end, 226_854_911_280_625_642_308_916_404_954_512_140_969);
        assert_eq!(ranges[2].start, 226_854_911_280_625_642_308_916_404_954_512_140_970);
    }

    #[test]
    fn two_shards_split_at_the_midpoint() {
        let ranges = split_hash_key_space(2);
        assert_eq!(ranges[0].end, (1u128 << 127) - 1);
        assert_eq!(ranges[1].start, 1u128 << 127);
    }

    #[test]
    fn partition_key_hash_is_md5_read_big_endian() {
        // MD5("user-1") = d6d7705392bc7af633328bea8c4c6904, computed independently with md5sum.
        assert_eq!(partition_key_hash("user-1"), 0xd6d7_7053_92bc_7af6_3332_8bea_8c4c_6904);
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e, the well-known digest of the empty string.
        assert_eq!(partition_key_hash(""), 0xd41d_8cd9_8f00_b204_e980_0998_ecf8_427e);
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661: the first sixteenth of the space.
        assert_eq!(shard_for_hash(&split_hash_key_space(16), partition_key_hash("a")), 0);
    }

    #[test]
    fn routing_picks_the_owning_range() {
        let ranges = split_hash_key_space(2);
        // 0xd6d7... is at least 2^127, so "user-1" lands on the second of two shards.
        assert_eq!(shard_for_hash(&ranges, partition_key_hash("user-1")), 1);
        assert_eq!(shard_for_hash(&ranges, 1u128 << 127), 1);
        assert_eq!(shard_for_hash(&ranges, (1u128 << 127) - 1), 0);
        assert_eq!(shard_for_hash(&ranges, u128::MAX), 1);
    }

    #[test]
    fn explicit_hash_keys_are_decimal_and_in_range() {
        assert_eq!(parse_explicit_hash_key("0"), Some(0));
        assert_eq!(parse_explicit_hash_key(&u128::MAX.to_string()), Some(u128::MAX));
        assert_eq!(parse_explicit_hash_key("340282366920938463463374607431768211456"), None);
        assert_eq!(parse_explicit_hash_key("-1"), None);
        assert_eq!(parse_explicit_hash_key("+1"), None);
        assert_eq!(parse_explicit_hash_key(""), None);
    }

    proptest! {
        #[test]
        fn every_hash_lands_in_the_range_that_holds_it(shards in 1usize..64, hash in any::<u128>()) {
            let ranges = split_hash_key_space(shards);
            assert_covers_space_without_gaps(&ranges);
            let index = shard_for_hash(&ranges, hash);
            prop_assert!(ranges[index].start <= hash && hash <= ranges[index].end);
        }
    }
}
