//! How a run's records spread over the stream's shards, and which partition keys were throttled, as
//! the producer saw it in the put responses; and the two assertions over it (`max_shard_share`,
//! `max_throttled_fraction`).
//!
//! A constant or low-cardinality partition key puts every record on one shard, whatever the shard
//! count; a hot key pushes its shard beyond 1,000 records/s and its entries are throttled. Neither
//! loses a record, so the matcher cannot see them: the distribution can.

use std::fmt::Write as _;

use serde::Serialize;

use crate::assertion::{Assertion, AssertionKind};

/// Records and bytes the backend acknowledged on one shard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardRecords {
    /// The shard id, e.g. `shardId-000000000002`.
    pub shard: String,
    pub records: u64,
    /// Payload bytes (without partition keys).
    pub bytes: u64,
    /// `records` over all acknowledged records with a known shard; 0 when there were none.
    pub share: f64,
    /// The shard's parents (`ParentShardId`, `AdjacentParentShardId`) when the stream was resharded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<String>,
    /// Whether the shard was still open at the end of a resharded run; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<bool>,
}

impl ShardRecords {
    /// A shard no acknowledgement named.
    fn idle(shard: String) -> ShardRecords {
        ShardRecords { shard, records: 0, bytes: 0, share: 0.0, parents: Vec::new(), open: None }
    }
}

/// One shard of a resharded stream's lineage, as ListShards reported it after the last step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardLineage {
    pub shard: String,
    pub parents: Vec<String>,
    pub open: bool,
}

/// A partition key's throttled put attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThrottledKeySummary {
    pub key: String,
    /// Throttled attempts counted; an upper bound when `overcount` is above 0 (bounded-memory counting).
    pub throttled: u64,
    pub overcount: u64,
    /// The shard the key maps to, when a put response named it.
    pub shard: Option<String>,
}

/// The load distribution of a run; see [`crate::Report`] for its place in `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    /// Shards of the stream; 0 when records went to Firehose directly (Direct PUT has no shards).
    pub shards: u32,
    /// Every shard in id order, idle ones with 0 records.
    pub per_shard: Vec<ShardRecords>,
    /// The shard that acknowledged the most records and its share; null without records.
    pub hottest_shard: Option<String>,
    pub hottest_share: Option<f64>,
    /// Shards that acknowledged no record.
    pub idle_shards: u32,
    /// Entries put, retries included.
    pub put_attempts: u64,
    /// Entries refused as throttled.
    pub throttled: u64,
    /// `throttled / put_attempts`; 0 without attempts.
    pub throttled_fraction: f64,
    /// The most throttled partition keys, most throttled first (at most 10).
    pub throttled_keys: Vec<ThrottledKeySummary>,
    /// The backend the figures come from, and whether it enforces per-shard write limits; a
    /// backend that never throttles says nothing about throttling.
    pub backend: String,
    pub throttling_modelled: bool,
}

impl Distribution {
    /// The distribution of a production run into a stream of `shards` shards (`None`: Direct PUT),
    /// on `backend`, which enforces per-shard write limits when `throttling_modelled`.
    pub fn new(
        metrics: &producer::Metrics,
        shards: Option<u32>,
        backend: &str,
        throttling_modelled: bool,
    ) -> Distribution {
        let mut per_shard: Vec<ShardRecords> = metrics
            .per_shard
            .iter()
            .map(|(shard, load)| ShardRecords {
                shard: shard.clone(),
                records: load.records,
                bytes: load.bytes,
                share: 0.0,
                parents: Vec::new(),
                open: None,
            })
            .collect();
        let shards = shards.unwrap_or(0);
        // Shards no acknowledgement named: a new stream's shard ids are `shardId-` and 12 digits.
        let mut missing = (shards as usize).saturating_sub(per_shard.len());
        for index in 0..shards {
            if missing == 0 {
                break;
            }
            let id = format!("shardId-{index:012}");
            if !per_shard.iter().any(|s| s.shard == id) {
                per_shard.push(ShardRecords::idle(id));
                missing -= 1;
            }
        }
        per_shard.sort_by(|a, b| a.shard.cmp(&b.shard));
        let total: u64 = per_shard.iter().map(|s| s.records).sum();
        for shard in &mut per_shard {
            shard.share = if total > 0 { shard.records as f64 / total as f64 } else { 0.0 };
        }
        let hottest = per_shard
            .iter()
            .filter(|s| s.records > 0)
            .max_by(|a, b| a.records.cmp(&b.records).then_with(|| b.shard.cmp(&a.shard)));
        let idle_shards = per_shard.iter().filter(|s| s.records == 0).count() as u32;
        Distribution {
            shards: shards.max(per_shard.len() as u32),
            hottest_shard: hottest.map(|s| s.shard.clone()),
            hottest_share: hottest.map(|s| s.share),
            idle_shards,
            per_shard,
            put_attempts: metrics.put_attempts,
            throttled: metrics.throttled,
            throttled_fraction: if metrics.put_attempts > 0 {
                metrics.throttled as f64 / metrics.put_attempts as f64
            } else {
                0.0
            },
            throttled_keys: metrics
                .throttled_keys
                .iter()
                .map(|k| ThrottledKeySummary {
                    key: k.key.clone(),
                    throttled: k.throttled,
                    overcount: k.overcount,
                    shard: k.shard.clone(),
                })
                .collect(),
            backend: backend.to_owned(),
            throttling_modelled,
        }
    }

    /// Adds a resharded stream's lineage: every shard it had (short-lived ones with no records
    /// included), its parents and whether it is open; only open shards without records are idle.
    pub fn with_lineage(mut self, lineage: &[ShardLineage]) -> Distribution {
        for shard in lineage {
            let index = match self.per_shard.iter().position(|s| s.shard == shard.shard) {
                Some(index) => index,
                None => {
                    self.per_shard.push(ShardRecords::idle(shard.shard.clone()));
                    self.per_shard.len() - 1
                }
            };
            self.per_shard[index].parents.clone_from(&shard.parents);
            self.per_shard[index].open = Some(shard.open);
        }
        self.per_shard.sort_by(|a, b| a.shard.cmp(&b.shard));
        self.shards = self.per_shard.len() as u32;
        self.idle_shards =
            self.per_shard.iter().filter(|s| s.records == 0 && s.open != Some(false)).count() as u32;
        self
    }

    /// The lineage for the terminal: each shard that has parents, `parents -> shard (records)`.
    pub(crate) fn lineage_line(&self) -> Option<String> {
        let children: Vec<String> = self
            .per_shard
            .iter()
            .filter(|s| !s.parents.is_empty())
            .map(|s| format!("{} -> {} ({} records)", s.parents.join(" + "), s.shard, s.records))
            .collect();
        if children.is_empty() {
            return None;
        }
        let open = self.per_shard.iter().filter(|s| s.open == Some(true)).count();
        Some(format!("lineage  {open} open at the end; {}", children.join("; ")))
    }

    /// One line for the terminal: shards, the hottest one, idle ones, throttling.
    pub(crate) fn summary_line(&self) -> String {
        let mut line = match (&self.hottest_shard, self.hottest_share) {
            (Some(shard), Some(share)) => format!(
                "shards   {} {}: hottest {shard} with {} of the records, {} idle",
                self.shards,
                if self.shards == 1 { "shard" } else { "shards" },
                percent(share),
                self.idle_shards
            ),
            _ if self.shards == 0 => "shards   none (Direct PUT)".to_owned(),
            _ => format!("shards   {}: no record acknowledged", self.shards),
        };
        let _ = write!(
            line,
            "; {} of {} put attempts throttled ({})",
            self.throttled,
            self.put_attempts,
            percent(self.throttled_fraction)
        );
        if !self.throttling_modelled {
            let _ = write!(line, ", {} never throttles", self.backend);
        }
        line
    }

    /// The figures as JUnit suite properties, so CI shows them whether asserted or not.
    pub(crate) fn properties(&self) -> Vec<(&'static str, String)> {
        let mut properties =
            vec![("shards", self.shards.to_string()), ("idle_shards", self.idle_shards.to_string())];
        if let (Some(shard), Some(share)) = (&self.hottest_shard, self.hottest_share) {
            properties.push(("hottest_shard", shard.clone()));
            properties.push(("hottest_share", format!("{share:.4}")));
        }
        properties.push(("throttled_fraction", format!("{:.4}", self.throttled_fraction)));
        if let Some(key) = self.throttled_keys.first() {
            properties.push(("most_throttled_key", key.key.clone()));
        }
        properties
    }

    /// The most throttled keys as `"hot" 600 (shardId-…)`, the first `count` of them.
    pub(crate) fn hot_keys(&self, count: usize) -> String {
        self.throttled_keys
            .iter()
            .take(count)
            .map(|k| {
                let bound = if k.overcount > 0 { "≤" } else { "" };
                match &k.shard {
                    Some(shard) => format!("{:?} {bound}{} on {shard}", k.key, k.throttled),
                    None => format!("{:?} {bound}{}", k.key, k.throttled),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The `shard balance` assertion against `max_share`.
    pub(crate) fn shard_assertion(&self, max_share: f64) -> Assertion {
        let name = AssertionKind::ShardBalance;
        let (Some(shard), Some(share)) = (&self.hottest_shard, self.hottest_share) else {
            return if self.shards == 0 {
                Assertion::not_applicable(name, "not applicable: Direct PUT records have no shards".into())
            } else {
                Assertion::verdict(name, true, "no record acknowledged".into())
            };
        };
        let total: u64 = self.per_shard.iter().map(|s| s.records).sum();
        if share > max_share {
            Assertion::verdict(
                name,
                false,
                format!(
                    "{shard} received {} of {total} records (bound {}); {} of {} shards idle: a constant \
                     or low-cardinality partition key puts every record of a key on one shard",
                    percent(share),
                    percent(max_share),
                    self.idle_shards,
                    self.shards
                ),
            )
        } else {
            Assertion::verdict(
                name,
                true,
                format!(
                    "hottest {shard} received {} of {total} records (bound {}); {} of {} shards idle",
                    percent(share),
                    percent(max_share),
                    self.idle_shards,
                    self.shards
                ),
            )
        }
    }

    /// The `throttling` assertion against `max_fraction`.
    pub(crate) fn throttle_assertion(&self, max_fraction: f64) -> Assertion {
        let name = AssertionKind::Throttling;
        if !self.throttling_modelled {
            return Assertion::not_applicable(
                name,
                format!("not applicable on {}: it never throttles", self.backend),
            );
        }
        let figures = format!(
            "{} of {} put attempts throttled, {} (bound {})",
            self.throttled,
            self.put_attempts,
            percent(self.throttled_fraction),
            percent(max_fraction)
        );
        if self.throttled_fraction > max_fraction {
            Assertion::verdict(
                name,
                false,
                format!(
                    "{figures}; hottest keys: {}: a hot partition key exceeds its shard's 1,000 records/s \
                     or 1 MiB/s",
                    self.hot_keys(3)
                ),
            )
        } else {
            Assertion::verdict(name, true, figures)
        }
    }

    /// The lines that explain a failed assertion of this module.
    pub(crate) fn specifics(&self, assertion: AssertionKind) -> Vec<String> {
        match assertion {
            AssertionKind::ShardBalance => self
                .per_shard
                .iter()
                .map(|s| {
                    format!("{}: {} records ({}), {} bytes", s.shard, s.records, percent(s.share), s.bytes)
                })
                .collect(),
            AssertionKind::Throttling => self
                .throttled_keys
                .iter()
                .map(|k| {
                    format!(
                        "key {:?}: {}{} throttled attempts on {}",
                        k.key,
                        if k.overcount > 0 { "at most " } else { "" },
                        k.throttled,
                        k.shard.as_deref().unwrap_or("an unnamed shard")
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn percent(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use producer::{ShardLoad, ThrottledKey};

    use super::*;
    use crate::AssertionStatus;

    fn metrics(per_shard: &[(&str, u64)], attempts: u64, throttled: u64) -> producer::Metrics {
        producer::Metrics {
            sent: 0,
            acknowledged: per_shard.iter().map(|(_, n)| n).sum(),
            retried: throttled,
            throttled,
            failed: 0,
            bytes: 0,
            put_calls: 1,
            put_attempts: attempts,
            elapsed: std::time::Duration::from_secs(1),
            put_latency_us: hdrhistogram::Histogram::new(1).unwrap(),
            per_shard: per_shard
                .iter()
                .map(|(shard, records)| {
                    ((*shard).to_owned(), ShardLoad { records: *records, bytes: records * 100 })
                })
                .collect::<BTreeMap<_, _>>(),
            throttled_keys: vec![ThrottledKey {
                key: "hot".into(),
                throttled,
                overcount: 0,
                shard: Some("shardId-000000000001".into()),
            }],
        }
    }

    #[test]
    fn one_busy_shard_of_four_is_named_with_its_share_and_the_idle_ones() {
        let distribution = Distribution::new(
            &metrics(&[("shardId-000000000002", 1000)], 1000, 0),
            Some(4),
            "embedded",
            true,
        );
        assert_eq!(distribution.per_shard.len(), 4);
        assert_eq!(distribution.idle_shards, 3);
        assert_eq!(distribution.hottest_shard.as_deref(), Some("shardId-000000000002"));
        assert_eq!(distribution.hottest_share, Some(1.0));
        let failed = distribution.shard_assertion(0.5);
        assert_eq!(failed.status, AssertionStatus::Fail);
        assert!(failed.detail.starts_with("shardId-000000000002 received 100.0% of 1000 records (bound 50.0%); 3 of 4 shards idle: a constant"), "{}", failed.detail);
        let balanced = Distribution::new(
            &metrics(
                &[
                    ("shardId-000000000000", 260),
                    ("shardId-000000000001", 240),
                    ("shardId-000000000002", 250),
                    ("shardId-000000000003", 250),
                ],
                1000,
                0,
            ),
            Some(4),
            "embedded",
            true,
        );
        assert_eq!(balanced.idle_shards, 0);
        assert!(balanced.shard_assertion(0.5).passed());
        assert!(distribution.properties().contains(&("hottest_share", "1.0000".to_owned())));
        assert!(
            balanced
                .summary_line()
                .contains("hottest shardId-000000000000 with 26.0% of the records, 0 idle"),
            "{}",
            balanced.summary_line()
        );
    }

    #[test]
    fn throttling_above_the_bound_names_the_hot_key_and_is_not_applicable_without_limits() {
        let distribution = Distribution::new(
            &metrics(&[("shardId-000000000001", 1000)], 1200, 200),
            Some(2),
            "embedded",
            true,
        );
        assert!((distribution.throttled_fraction - 200.0 / 1200.0).abs() < 1e-9);
        let failed = distribution.throttle_assertion(0.01);
        assert_eq!(failed.status, AssertionStatus::Fail);
        assert!(
            failed.detail.contains("200 of 1200 put attempts throttled, 16.7% (bound 1.0%)"),
            "{}",
            failed.detail
        );
        assert!(failed.detail.contains("\"hot\" 200 on shardId-000000000001"), "{}", failed.detail);
        assert!(distribution.throttle_assertion(0.2).passed());
        let localstack = Distribution::new(
            &metrics(&[("shardId-000000000001", 1000)], 1000, 0),
            Some(2),
            "localstack",
            false,
        );
        let na = localstack.throttle_assertion(0.01);
        assert_eq!(na.status, AssertionStatus::NotApplicable);
        assert_eq!(na.detail, "not applicable on localstack: it never throttles");
    }

    #[test]
    fn direct_put_has_no_shards_to_balance() {
        let distribution = Distribution::new(&metrics(&[], 10, 0), None, "embedded", true);
        assert_eq!(distribution.shards, 0);
        assert_eq!(distribution.shard_assertion(0.5).status, AssertionStatus::NotApplicable);
        assert_eq!(
            distribution.summary_line(),
            "shards   none (Direct PUT); 0 of 10 put attempts throttled (0.0%)"
        );
    }
}
