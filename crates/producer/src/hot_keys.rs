//! The partition keys throttled most often, counted in bounded memory (the Space-Saving algorithm).
//!
//! A run may use millions of keys; the report needs only the hottest few. [`HotKeys`] keeps at most
//! [`CANDIDATES`] counters. A key not tracked yet takes over the smallest counter, and inherits its
//! count as a possible overcount, so every reported count is an upper bound and `count - overcount`
//! a lower bound. Any key throttled more than `total / CANDIDATES` times is guaranteed to be tracked.

use std::collections::HashMap;

/// Counters kept; the report shows the top [`REPORTED`] of them.
pub const CANDIDATES: usize = 64;

/// Keys a report lists.
pub const REPORTED: usize = 10;

/// A partition key's throttled put attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottledKey {
    pub key: String,
    /// Throttled attempts counted for the key: exact when `overcount` is 0, else an upper bound.
    pub throttled: u64,
    /// How much of `throttled` may belong to keys this counter tracked before.
    pub overcount: u64,
    /// The shard the key maps to, when a response named it.
    pub shard: Option<String>,
}

#[derive(Debug, Clone)]
struct Counter {
    count: u64,
    overcount: u64,
    shard: Option<String>,
}

/// The most throttled keys, in O([`CANDIDATES`]) memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct HotKeys {
    counters: HashMap<String, Counter>,
}

impl HotKeys {
    /// Counts one throttled attempt of `key`, on `shard` when the response named it.
    pub(crate) fn throttled(&mut self, key: &str, shard: Option<&str>) {
        if let Some(counter) = self.counters.get_mut(key) {
            counter.count += 1;
            if counter.shard.is_none() {
                counter.shard = shard.map(str::to_owned);
            }
            return;
        }
        let (count, overcount) = if self.counters.len() < CANDIDATES {
            (1, 0)
        } else {
            let (smallest, min) = self
                .counters
                .iter()
                .min_by(|a, b| a.1.count.cmp(&b.1.count).then_with(|| a.0.cmp(b.0)))
                .map(|(key, counter)| (key.clone(), counter.count))
                .expect("full, so not empty");
            self.counters.remove(&smallest);
            (min + 1, min)
        };
        self.counters.insert(key.to_owned(), Counter { count, overcount, shard: shard.map(str::to_owned) });
    }

    /// Notes the shard of a tracked key once an acknowledgement names it.
    pub(crate) fn learn_shard(&mut self, key: &str, shard: &str) {
        if let Some(counter) = self.counters.get_mut(key).filter(|c| c.shard.is_none()) {
            counter.shard = Some(shard.to_owned());
        }
    }

    /// The [`REPORTED`] most throttled keys, most throttled first (ties by key).
    pub(crate) fn top(&self) -> Vec<ThrottledKey> {
        let mut keys: Vec<ThrottledKey> = self
            .counters
            .iter()
            .map(|(key, counter)| ThrottledKey {
                key: key.clone(),
                throttled: counter.count,
                overcount: counter.overcount,
                shard: counter.shard.clone(),
            })
            .collect();
        keys.sort_by(|a, b| b.throttled.cmp(&a.throttled).then_with(|| a.key.cmp(&b.key)));
        keys.truncate(REPORTED);
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_keys_are_counted_exactly_with_their_shards() {
        let mut hot = HotKeys::default();
        for _ in 0..5 {
            hot.throttled("hot", None);
        }
        hot.throttled("cold", Some("shardId-000000000001"));
        hot.learn_shard("hot", "shardId-000000000000");
        hot.learn_shard("never-throttled", "shardId-000000000002");
        let top = hot.top();
        assert_eq!(top.len(), 2);
        assert_eq!(
            top[0],
            ThrottledKey {
                key: "hot".into(),
                throttled: 5,
                overcount: 0,
                shard: Some("shardId-000000000000".into())
            }
        );
        assert_eq!((top[1].key.as_str(), top[1].throttled), ("cold", 1));
        assert_eq!(top[1].shard.as_deref(), Some("shardId-000000000001"));
    }

    #[test]
    fn a_hot_key_among_many_more_keys_than_counters_stays_on_top() {
        let mut hot = HotKeys::default();
        // 10,000 keys throttled once each, interleaved with 2,000 throttles of one hot key.
        for i in 0..10_000 {
            hot.throttled(&format!("k{i}"), None);
            if i % 5 == 0 {
                hot.throttled("hot", None);
            }
        }
        assert_eq!(hot.counters.len(), CANDIDATES, "memory stays bounded");
        let top = hot.top();
        assert_eq!(top.len(), REPORTED);
        assert_eq!(top[0].key, "hot");
        // Upper and lower bounds hold the true count.
        assert!(top[0].throttled >= 2_000, "{:?}", top[0]);
        assert!(top[0].throttled - top[0].overcount <= 2_000, "{:?}", top[0]);
    }
}
