//! Capacity planning: how a workload's partition keys load the shards of a stream, without sending
//! anything.
//!
//! The planner draws a sample of the workload's records exactly as the producer makes them (same
//! generator, key strategy, envelope and padding), routes each partition key with Kinesis's own
//! mapping (MD5 of the key as a big-endian 128-bit integer, into hash-key ranges that split
//! `0..2^128` evenly at stream creation), spreads the sample over one second at the target rate, and
//! compares every shard's records/s and bytes/s (data plus key) with the per-shard write limits.
//! Averages hide hot keys; this does not: a key's records all land on one shard whatever the count.

use std::collections::HashMap;

use scenario::Workload;
use serde::Serialize;
use vocabulary::{partition_key_hash, shard_for_hash, split_hash_key_space};

use crate::envelope::Envelope;
use crate::schema::Generator;

/// Records per second one shard accepts.
pub const SHARD_RECORDS_PER_SECOND: f64 = 1000.0;
/// Bytes per second one shard accepts, data and partition key together: 1 MiB.
pub const SHARD_BYTES_PER_SECOND: f64 = 1_048_576.0;
/// Shards an on-demand stream starts with; its write capacity is theirs: 4,000 records/s, 4 MiB/s.
pub const ON_DEMAND_STARTING_SHARDS: u32 = 4;
/// Largest shard count a plan considers, the default per-stream shard quota of AWS accounts.
pub const MAX_SHARDS: u32 = 500;
/// The default headroom target: every shard below 80 % of its limits.
pub const DEFAULT_HEADROOM: f64 = 0.8;

/// A `sent_ns` of the width every real one has (19 digits from 2001 to 2286), so sizes are exact.
const SAMPLE_SENT_NS: u64 = 1_763_000_000_000_000_000;

/// The shard that records with `partition_key` go to in a fresh stream of `shards` shards.
pub fn shard_for_key(partition_key: &str, shards: u32) -> u32 {
    let ranges = split_hash_key_space(shards as usize);
    shard_for_hash(&ranges, partition_key_hash(partition_key)) as u32
}

/// What to plan for.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Records per second the stream must take.
    pub rate: f64,
    /// The shard counts to evaluate, each in `1..=MAX_SHARDS`.
    pub shard_counts: Vec<u32>,
    /// Every shard must stay at or below this share of its limits (0 < headroom <= 1).
    pub headroom: f64,
    /// Records to draw; `None` for [`PlanOptions::default_sample`] of the rate.
    pub sample: Option<u64>,
    /// The run id written into each envelope, for exact record sizes (a real run's has the same length).
    pub run_id: String,
}

impl PlanOptions {
    /// Ten seconds' worth of records at `rate`, at least 20,000 and at most 200,000: enough for
    /// per-shard shares within about a percent, and quick to draw.
    pub fn default_sample(rate: f64) -> u64 {
        ((rate * 10.0).ceil() as u64).clamp(20_000, 200_000)
    }
}

/// Why a plan could not be made: the options are out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("rate must be a positive number of records per second, got {0}")]
    Rate(f64),
    #[error("headroom must be above 0 and at most 1 (a share of each shard's limits), got {0}")]
    Headroom(f64),
    #[error("shard counts must be within 1..={MAX_SHARDS}, got {0}")]
    ShardCount(u32),
    #[error("no shard count to evaluate")]
    NoShardCounts,
    #[error("the sample must hold at least one record")]
    EmptySample,
}

/// One shard's load at the planned rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ShardLoad {
    pub records_per_second: f64,
    /// Data plus partition key, as Kinesis counts it.
    pub bytes_per_second: f64,
    /// The larger of records/s over 1,000 and bytes/s over 1 MiB: 1.0 is the shard's limit.
    pub utilisation: f64,
}

impl ShardLoad {
    fn new(records_per_second: f64, bytes_per_second: f64) -> ShardLoad {
        ShardLoad {
            records_per_second,
            bytes_per_second,
            utilisation: (records_per_second / SHARD_RECORDS_PER_SECOND)
                .max(bytes_per_second / SHARD_BYTES_PER_SECOND),
        }
    }
}

/// The load of a stream with one shard count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardCountPlan {
    pub shards: u32,
    /// Per shard, in creation order (`shardId-000000000000` first).
    pub loads: Vec<ShardLoad>,
    /// The index of the most utilised shard.
    pub hottest_shard: u32,
    /// The hottest shard's utilisation: above 1.0 the stream throttles.
    pub hottest_utilisation: f64,
    /// The share of all records the hottest shard takes.
    pub hottest_share: f64,
    /// The hottest shard's utilisation over the mean shard's: 1.0 is perfectly even.
    pub imbalance: f64,
    /// Shards above the headroom target.
    pub shards_over_headroom: u32,
    /// Shards above their limits, which throttle.
    pub shards_over_limit: u32,
    /// Every shard is at or below the headroom target.
    pub fits: bool,
    /// The producer's expected accepted rate: the whole rate, or less once the hottest shard caps it
    /// (a run takes as long as its hottest shard needs to drain at its limit).
    pub expected_accepted_rate: f64,
}

impl ShardCountPlan {
    /// Whether the plan expects the backend to throttle this shard count.
    pub fn throttles(&self) -> bool {
        self.shards_over_limit > 0
    }
}

/// The most frequent partition key and what it alone asks of its shard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotKey {
    pub key: String,
    /// Its share of all records.
    pub share: f64,
    pub load: ShardLoad,
}

/// The verdict: the smallest shard count that keeps every shard under the headroom, or why none does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Recommendation {
    /// The smallest evaluated shard count with every shard under the headroom target.
    Shards { shards: u32 },
    /// One key alone loads its shard beyond the headroom target, so no shard count helps: its
    /// records always share one shard. `over_limit` when it exceeds the shard's limit itself.
    KeyTooHot { key: String, utilisation: f64, over_limit: bool },
    /// More shards would help, but none of the evaluated counts is enough.
    NoneEvaluated { largest: u32 },
}

/// The same figures against an on-demand stream's starting write capacity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnDemandPlan {
    /// 4,000 records/s.
    pub records_per_second_limit: f64,
    /// 4 MiB/s.
    pub bytes_per_second_limit: f64,
    /// The stream's load over its starting capacity, the larger of the two ratios.
    pub stream_utilisation: f64,
    /// The load of the starting shards, each still limited like a provisioned shard.
    pub starting_shards: ShardCountPlan,
    /// Both the stream and each starting shard are under the headroom target.
    pub fits: bool,
    /// The shards an on-demand stream scales to for this rate: enough for double the peak, as
    /// "on-demand mode accommodates up to double its previous peak write throughput" (Kinesis Data
    /// Streams Developer Guide); the starting count when that already holds.
    pub scales_to: u32,
    /// The scalings it takes to get there from the starting shards, each at most a doubling: until
    /// the last one completes, the stream throttles whatever the rate needs beyond its capacity.
    pub scalings: u32,
}

/// A capacity plan for one workload at one rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub rate: f64,
    pub headroom: f64,
    /// Records drawn from the workload.
    pub sample: u64,
    pub distinct_keys: u64,
    /// Mean bytes per record, data plus partition key.
    pub mean_record_bytes: f64,
    pub bytes_per_second: f64,
    pub hottest_key: HotKey,
    pub shard_counts: Vec<ShardCountPlan>,
    pub recommendation: Recommendation,
    pub on_demand: OnDemandPlan,
}

impl Plan {
    /// The evaluation of `shards`, if it was among the counts planned for.
    pub fn for_shards(&self, shards: u32) -> Option<&ShardCountPlan> {
        self.shard_counts.iter().find(|p| p.shards == shards)
    }

    /// One sentence for people: the recommendation, or plainly why no shard count helps.
    pub fn verdict(&self) -> String {
        let percent = |u: f64| u * 100.0;
        match &self.recommendation {
            Recommendation::Shards { shards } => format!(
                "recommended: {shards} shard{} (every shard at or below {:.0} % of its limits at {} records/s)",
                if *shards == 1 { "" } else { "s" },
                percent(self.headroom),
                self.rate,
            ),
            Recommendation::KeyTooHot { key, utilisation, over_limit: true } => format!(
                "no shard count helps: key {key:?} alone takes {:.0} % of a shard's limit ({:.0} records/s, \
                 {:.0} bytes/s) and all its records go to one shard; spread it over more keys or lower the rate",
                percent(*utilisation),
                self.hottest_key.load.records_per_second,
                self.hottest_key.load.bytes_per_second,
            ),
            Recommendation::KeyTooHot { key, utilisation, over_limit: false } => format!(
                "no shard count keeps every shard under {:.0} %: key {key:?} alone takes {:.0} % of its shard; \
                 spread it over more keys or accept less headroom",
                percent(self.headroom),
                percent(*utilisation),
            ),
            Recommendation::NoneEvaluated { largest } => format!(
                "none of the shard counts evaluated (up to {largest}) keeps every shard under {:.0} %; \
                 evaluate more shards",
                percent(self.headroom),
            ),
        }
    }
}

/// Plans `workload` at `options.rate` for each of `options.shard_counts`.
pub fn plan(workload: &Workload, options: &PlanOptions) -> Result<Plan, PlanError> {
    if !(options.rate.is_finite() && options.rate > 0.0) {
        return Err(PlanError::Rate(options.rate));
    }
    if !(options.headroom > 0.0 && options.headroom <= 1.0) {
        return Err(PlanError::Headroom(options.headroom));
    }
    if options.shard_counts.is_empty() {
        return Err(PlanError::NoShardCounts);
    }
    if let Some(bad) = options.shard_counts.iter().find(|n| !(1..=MAX_SHARDS).contains(*n)) {
        return Err(PlanError::ShardCount(*bad));
    }
    let sample = options.sample.unwrap_or_else(|| PlanOptions::default_sample(options.rate));
    if sample == 0 {
        return Err(PlanError::EmptySample);
    }
    let keys = sample_keys(workload, sample, &options.run_id);
    Ok(plan_from_keys(&keys, sample, options))
}

/// The records and bytes one partition key takes in the sample.
#[derive(Debug, Clone)]
struct KeyLoad {
    key: String,
    hash: u128,
    records: u64,
    bytes: u64,
}

/// Draws records `0..sample` of `workload` as the producer builds them; tallies them per key.
fn sample_keys(workload: &Workload, sample: u64, run_id: &str) -> Vec<KeyLoad> {
    let generator = Generator::new(workload);
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut keys: Vec<KeyLoad> = Vec::new();
    let mut event = Vec::new();
    let mut record = Vec::new();
    for seq in 0..sample {
        let key = generator.event(seq, &mut event);
        let slot = match index.get(&key) {
            Some(slot) => *slot,
            None => {
                index.insert(key.clone(), keys.len());
                keys.push(KeyLoad { hash: partition_key_hash(&key), key: key.clone(), records: 0, bytes: 0 });
                keys.len() - 1
            }
        };
        let load = &mut keys[slot];
        let envelope =
            Envelope { run: run_id.to_owned(), seq, key, kseq: load.records, sent_ns: SAMPLE_SENT_NS };
        record.clear();
        generator.append_record(seq, &event, &workload.envelope_field, &envelope, &mut record);
        load.records += 1;
        load.bytes += (record.len() + envelope.key.len()) as u64;
    }
    keys
}

fn plan_from_keys(keys: &[KeyLoad], sample: u64, options: &PlanOptions) -> Plan {
    // The sample stands for one second at the target rate.
    let per_record = options.rate / sample as f64;
    let total_bytes: u64 = keys.iter().map(|k| k.bytes).sum();
    let hottest = keys
        .iter()
        .max_by(|a, b| {
            let load = |k: &KeyLoad| ShardLoad::new(k.records as f64, k.bytes as f64).utilisation;
            load(a).total_cmp(&load(b)).then_with(|| b.key.cmp(&a.key))
        })
        .expect("a non-empty sample has a key");
    let hottest_key = HotKey {
        key: hottest.key.clone(),
        share: hottest.records as f64 / sample as f64,
        load: ShardLoad::new(hottest.records as f64 * per_record, hottest.bytes as f64 * per_record),
    };
    let evaluate = |shards: u32| evaluate(keys, shards, per_record, sample, options);
    let mut counts: Vec<u32> = options.shard_counts.clone();
    counts.sort_unstable();
    counts.dedup();
    let shard_counts: Vec<ShardCountPlan> = counts.iter().map(|n| evaluate(*n)).collect();
    let recommendation = match shard_counts.iter().find(|p| p.fits) {
        Some(fit) => Recommendation::Shards { shards: fit.shards },
        None if hottest_key.load.utilisation > options.headroom => Recommendation::KeyTooHot {
            key: hottest_key.key.clone(),
            utilisation: hottest_key.load.utilisation,
            over_limit: hottest_key.load.utilisation > 1.0,
        },
        None => Recommendation::NoneEvaluated { largest: *counts.last().expect("checked non-empty") },
    };
    let records_limit = SHARD_RECORDS_PER_SECOND * f64::from(ON_DEMAND_STARTING_SHARDS);
    let bytes_limit = SHARD_BYTES_PER_SECOND * f64::from(ON_DEMAND_STARTING_SHARDS);
    let bytes_per_second = total_bytes as f64 * per_record;
    let stream_utilisation = (options.rate / records_limit).max(bytes_per_second / bytes_limit);
    let starting_shards = evaluate(ON_DEMAND_STARTING_SHARDS);
    let needed =
        (2.0 * options.rate / SHARD_RECORDS_PER_SECOND).max(2.0 * bytes_per_second / SHARD_BYTES_PER_SECOND);
    let scales_to = (needed.ceil() as u32).clamp(ON_DEMAND_STARTING_SHARDS, MAX_SHARDS);
    let mut scalings = 0;
    let mut open = ON_DEMAND_STARTING_SHARDS;
    while open < scales_to {
        open = (open * 2).min(scales_to);
        scalings += 1;
    }
    let on_demand = OnDemandPlan {
        records_per_second_limit: records_limit,
        bytes_per_second_limit: bytes_limit,
        stream_utilisation,
        fits: starting_shards.fits && stream_utilisation <= options.headroom,
        starting_shards,
        scales_to,
        scalings,
    };
    Plan {
        rate: options.rate,
        headroom: options.headroom,
        sample,
        distinct_keys: keys.len() as u64,
        mean_record_bytes: total_bytes as f64 / sample as f64,
        bytes_per_second,
        hottest_key,
        shard_counts,
        recommendation,
        on_demand,
    }
}

fn evaluate(
    keys: &[KeyLoad],
    shards: u32,
    per_record: f64,
    sample: u64,
    options: &PlanOptions,
) -> ShardCountPlan {
    let mut records = vec![0u64; shards as usize];
    let mut bytes = vec![0u64; shards as usize];
    let ranges = split_hash_key_space(shards as usize);
    for key in keys {
        let shard = shard_for_hash(&ranges, key.hash);
        records[shard] += key.records;
        bytes[shard] += key.bytes;
    }
    let loads: Vec<ShardLoad> = records
        .iter()
        .zip(&bytes)
        .map(|(r, b)| ShardLoad::new(*r as f64 * per_record, *b as f64 * per_record))
        .collect();
    let (hottest_shard, hottest) = loads
        .iter()
        .enumerate()
        .max_by(|(i, a), (j, b)| a.utilisation.total_cmp(&b.utilisation).then_with(|| j.cmp(i)))
        .expect("at least one shard");
    let mean = loads.iter().map(|l| l.utilisation).sum::<f64>() / f64::from(shards);
    let over = |limit: f64| loads.iter().filter(|l| l.utilisation > limit).count() as u32;
    ShardCountPlan {
        shards,
        hottest_shard: hottest_shard as u32,
        hottest_utilisation: hottest.utilisation,
        hottest_share: records[hottest_shard] as f64 / sample as f64,
        imbalance: if mean > 0.0 { hottest.utilisation / mean } else { 1.0 },
        shards_over_headroom: over(options.headroom),
        shards_over_limit: over(1.0),
        fits: hottest.utilisation <= options.headroom,
        expected_accepted_rate: options.rate / hottest.utilisation.max(1.0),
        loads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::key_name;
    use scenario::{PartitionKey, Payload, PutApi, Rate, Schema};

    fn workload(partition_key: PartitionKey) -> Workload {
        Workload {
            events: 1_000_000,
            duration: None,
            schema: Schema::PersonItem,
            partition_key,
            users: 1000,
            seed: 5,
            envelope_field: scenario::DEFAULT_ENVELOPE_FIELD.to_owned(),
            payload: Payload::Natural,
            rate: Rate::Unlimited,
            api: PutApi::PutRecords,
            concurrency: 4,
            retry_budget: std::time::Duration::from_secs(30),
            reshard: Vec::new(),
        }
    }

    fn options(rate: f64, sample: u64) -> PlanOptions {
        PlanOptions {
            rate,
            shard_counts: (1..=64).collect(),
            headroom: DEFAULT_HEADROOM,
            sample: Some(sample),
            run_id: "20261123t213022-dd55c5".to_owned(),
        }
    }

    #[test]
    fn a_constant_key_makes_one_hot_shard_at_every_count_and_no_recommendation() {
        let plan = plan(&workload(PartitionKey::Constant("all".into())), &options(2500.0, 5_000)).unwrap();
        assert_eq!(plan.distinct_keys, 1);
        assert_eq!(plan.shard_counts.len(), 64);
        for count in &plan.shard_counts {
            let busy = count.loads.iter().filter(|l| l.records_per_second > 0.0).count();
            assert_eq!(busy, 1, "{} shards", count.shards);
            assert_eq!(count.shards_over_limit, 1);
            assert!((count.hottest_utilisation - 2.5).abs() < 1e-9);
            assert!((count.imbalance - f64::from(count.shards)).abs() < 1e-9);
            assert!(!count.fits);
        }
        assert_eq!(
            plan.recommendation,
            Recommendation::KeyTooHot { key: "all".into(), utilisation: 2.5, over_limit: true }
        );
        assert!(plan.verdict().starts_with("no shard count helps: key \"all\""), "{}", plan.verdict());
        assert!(!plan.on_demand.fits);
    }

    #[test]
    fn uniform_keys_need_the_rate_over_headroom_times_a_shards_records() {
        let uniform = workload(PartitionKey::Uniform { keys: 100_000 });
        for rate in [500.0, 1500.0, 2500.0, 5000.0] {
            // The mean shard is at rate / shards, so fewer shards never fit; at the recommended count
            // the mean is under the headroom by a margin far wider than the sampling noise.
            let plan = plan(&uniform, &options(rate, 20_000)).unwrap();
            // Small records: the record limit binds, not bytes.
            assert!(plan.mean_record_bytes < 500.0, "{}", plan.mean_record_bytes);
            let expected = (rate / (DEFAULT_HEADROOM * SHARD_RECORDS_PER_SECOND)).ceil() as u32;
            assert_eq!(plan.recommendation, Recommendation::Shards { shards: expected }, "rate {rate}");
            let fit = plan.for_shards(expected).unwrap();
            assert!(fit.imbalance < 1.05, "{}", fit.imbalance);
        }
    }

    #[test]
    fn zipf_hottest_shard_share_matches_a_direct_computation() {
        let (keys, exponent) = (200u32, 1.2f64);
        let plan = plan(&workload(PartitionKey::Zipf { keys, exponent }), &options(3000.0, 50_000)).unwrap();
        let harmonic: f64 = (1..=keys).map(|k| 1.0 / f64::from(k).powf(exponent)).sum();
        for shards in [1u32, 2, 4, 8, 16] {
            let mut share = vec![0.0; shards as usize];
            for rank in 1..=keys {
                let shard = shard_for_key(&key_name(rank - 1), shards) as usize;
                share[shard] += 1.0 / f64::from(rank).powf(exponent) / harmonic;
            }
            let expected = share.iter().copied().fold(0.0, f64::max);
            let planned = plan.for_shards(shards).unwrap().hottest_share;
            assert!(
                (planned - expected).abs() < 0.01,
                "{shards} shards: planned {planned}, direct {expected}"
            );
        }
        // The top key alone is 1/H of the records.
        assert_eq!(plan.hottest_key.key, key_name(0));
        assert!((plan.hottest_key.share - 1.0 / harmonic).abs() < 0.01);
    }

    #[test]
    fn large_records_are_limited_by_bytes_and_on_demand_by_the_stream() {
        let mut padded = workload(PartitionKey::Uniform { keys: 10_000 });
        padded.payload = Payload::Fixed(20_000);
        let plan = plan(&padded, &options(500.0, 5_000)).unwrap();
        // 500 records/s of 20 kB is ~9.5 MiB/s: bytes bind long before records.
        let single = plan.for_shards(1).unwrap();
        assert!(single.hottest_utilisation > 9.0, "{}", single.hottest_utilisation);
        let bytes = 500.0 * (20_000.0 + "key-000000".len() as f64);
        assert!((plan.bytes_per_second - bytes).abs() < 1.0, "{}", plan.bytes_per_second);
        assert!(matches!(plan.recommendation, Recommendation::Shards { shards } if shards >= 12));
        assert!((plan.on_demand.stream_utilisation - bytes / (4.0 * SHARD_BYTES_PER_SECOND)).abs() < 1e-6);
        assert!(!plan.on_demand.fits);
        // Double ~9.5 MiB/s is 20 shards of 1 MiB/s: 4 -> 8 -> 16 -> 20.
        let wanted = (2.0 * bytes / SHARD_BYTES_PER_SECOND).ceil() as u32;
        assert_eq!((plan.on_demand.scales_to, plan.on_demand.scalings), (wanted, 3));
        let light =
            super::plan(&workload(PartitionKey::Uniform { keys: 10_000 }), &options(1_000.0, 5_000)).unwrap();
        assert_eq!(
            (light.on_demand.scales_to, light.on_demand.scalings),
            (4, 0),
            "2,000 records/s fit 4 shards"
        );
    }

    #[test]
    fn a_key_between_headroom_and_limit_is_named_without_claiming_throttling() {
        let plan = plan(&workload(PartitionKey::Constant("k".into())), &options(900.0, 1_000)).unwrap();
        assert_eq!(
            plan.recommendation,
            Recommendation::KeyTooHot { key: "k".into(), utilisation: 0.9, over_limit: false }
        );
        assert!(!plan.shard_counts.iter().any(ShardCountPlan::throttles));
        assert!(plan.verdict().starts_with("no shard count keeps every shard under 80 %"));
    }

    #[test]
    fn plans_are_deterministic_and_options_are_checked() {
        let w = workload(PartitionKey::Zipf { keys: 50, exponent: 1.0 });
        assert_eq!(plan(&w, &options(1000.0, 2_000)).unwrap(), plan(&w, &options(1000.0, 2_000)).unwrap());
        let bad = |change: fn(&mut PlanOptions)| {
            let mut o = options(1000.0, 100);
            change(&mut o);
            plan(&w, &o).unwrap_err()
        };
        assert_eq!(bad(|o| o.rate = 0.0), PlanError::Rate(0.0));
        assert_eq!(bad(|o| o.headroom = 1.5), PlanError::Headroom(1.5));
        assert_eq!(bad(|o| o.shard_counts = vec![0]), PlanError::ShardCount(0));
        assert_eq!(bad(|o| o.shard_counts.clear()), PlanError::NoShardCounts);
        assert_eq!(bad(|o| o.sample = Some(0)), PlanError::EmptySample);
    }
}
