//! The fault plan: what a backend with fault injection breaks on purpose, and the one table of fault
//! names that scenario files (`[faults] s3_put_failure = 0.1`), command-line flags
//! (`--fault s3-put-failure=0.1`) and reports (`"kind": "s3_put_failure"`) all use.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

/// Faults to inject, with ground truth: probabilities in 0..=1 per record, per object or per
/// request, plus chosen Kinesis entries to lose. The same seed over the same batches injects the
/// same faults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    /// Seeds every random decision of the plan.
    pub seed: u64,
    /// Zero-based ordinals of Kinesis entries to lose.
    ///
    /// Ordinals count every entry a backend accepts through `PutRecord` and `PutRecords`, across all
    /// streams, in the order the entries are accepted. A dropped entry is acknowledged to the caller
    /// with a normal success result (shard id and sequence number) but never stored, so no consumer
    /// ever sees it.
    pub drop_kinesis_records: BTreeSet<u64>,
    /// Faults Firehose applies to each batch it flushes, on the way to S3.
    pub firehose: ObjectFaults,
    /// Per put request: every entry is refused as throttled, whatever the load (a throttle burst):
    /// `ProvisionedThroughputExceededException` on Kinesis, `ServiceUnavailableException` on
    /// Firehose direct put. Client-visible: the producer retries.
    pub throttle_burst: f64,
    /// Per entry of a put request: it fails with `InternalFailure` (a partial failure of
    /// PutRecords or PutRecordBatch, a 500 for PutRecord). Client-visible: the producer retries.
    pub internal_failure: f64,
    /// A shard whose records Firehose does not read for a while after the delivery stream starts.
    pub stall_shard: Option<ShardStall>,
    /// Firehose's Kinesis source breaks the rule that a parent shard is read to its end before its
    /// children: it stops reading shards a resharding will close as soon as the stream is UPDATING,
    /// reads the children the moment they open, and the parents' last records only a while later,
    /// as a consumer with one worker per shard does when it finds new shards and its parents'
    /// workers are behind. Every record of a key read after a later record of that key is logged.
    pub read_children_early: bool,
    /// Per document: a search domain rejects it with item status 400 (`mapper_parsing_exception`),
    /// on every attempt, so it ends in the failed-documents backup.
    pub index_failure: f64,
}

/// Faults applied to a flushed Firehose batch: probabilities per record or per object, each in 0..=1.
///
/// They are applied in this order: drop and duplicate (per record), reorder (per adjacent pair),
/// corrupt (per record copy), truncate, delay and S3 put failure (per object), to the uncompressed
/// bytes: a GZIP destination compresses the faulted object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectFaults {
    /// Per record: Firehose loses it.
    pub drop: f64,
    /// Per record: Firehose writes it twice, back to back, as on a retried put.
    pub duplicate: f64,
    /// Per position: the record there swaps places with the next one in the object.
    pub reorder: f64,
    /// Per record copy: its bytes are overwritten with noise.
    pub corrupt: f64,
    /// Per object: the object is cut off inside one of its records.
    pub truncate: f64,
    /// Per object: the object is held back by [`ObjectFaults::delay_by`] before it is written.
    pub delay: f64,
    /// How long a delayed object is held, in emulator time.
    pub delay_by: Duration,
    /// Per object: S3 stores the object but the write is reported failed, so Firehose writes the
    /// whole batch again as a second object: every record in it is delivered twice.
    pub s3_put_failure: f64,
}

impl ObjectFaults {
    /// Whether no fault can ever fire.
    pub fn is_empty(&self) -> bool {
        [
            self.drop,
            self.duplicate,
            self.reorder,
            self.corrupt,
            self.truncate,
            self.delay,
            self.s3_put_failure,
        ]
        .iter()
        .all(|rate| *rate <= 0.0)
    }
}

/// A whole-shard stall: Firehose reads nothing of shard `shard` (0-based, in creation order) until
/// `by` of emulator time after its delivery stream was created, then catches up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardStall {
    pub shard: u32,
    pub by: Duration,
}

/// A fault a plan draws with a probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultRate {
    Drop,
    Duplicate,
    Reorder,
    Corrupt,
    Truncate,
    Delay,
    S3PutFailure,
    ThrottleBurst,
    InternalFailure,
    IndexFailure,
}

impl FaultRate {
    /// Every rate, in the order messages list them.
    pub const ALL: [FaultRate; 10] = [
        FaultRate::Drop,
        FaultRate::Duplicate,
        FaultRate::Reorder,
        FaultRate::Corrupt,
        FaultRate::Truncate,
        FaultRate::Delay,
        FaultRate::S3PutFailure,
        FaultRate::ThrottleBurst,
        FaultRate::InternalFailure,
        FaultRate::IndexFailure,
    ];

    /// The name in scenario files and reports, such as `s3_put_failure`.
    pub fn name(self) -> &'static str {
        match self {
            FaultRate::Drop => "drop",
            FaultRate::Duplicate => "duplicate",
            FaultRate::Reorder => "reorder",
            FaultRate::Corrupt => "corrupt",
            FaultRate::Truncate => "truncate",
            FaultRate::Delay => "delay",
            FaultRate::S3PutFailure => "s3_put_failure",
            FaultRate::ThrottleBurst => "throttle_burst",
            FaultRate::InternalFailure => "internal_failure",
            FaultRate::IndexFailure => "index_failure",
        }
    }

    /// The `KIND` of its command-line flag: the name with `-` for `_` (`s3-put-failure`).
    pub fn flag(self) -> String {
        self.name().replace('_', "-")
    }

    /// Whether the fault acts on the objects of an S3 destination (and so not on a search one).
    pub fn acts_on_objects(self) -> bool {
        matches!(
            self,
            FaultRate::Drop
                | FaultRate::Duplicate
                | FaultRate::Reorder
                | FaultRate::Corrupt
                | FaultRate::Truncate
                | FaultRate::Delay
                | FaultRate::S3PutFailure
        )
    }
}

impl FaultPlan {
    /// The probability of `rate`.
    pub fn rate(&self, rate: FaultRate) -> f64 {
        match rate {
            FaultRate::Drop => self.firehose.drop,
            FaultRate::Duplicate => self.firehose.duplicate,
            FaultRate::Reorder => self.firehose.reorder,
            FaultRate::Corrupt => self.firehose.corrupt,
            FaultRate::Truncate => self.firehose.truncate,
            FaultRate::Delay => self.firehose.delay,
            FaultRate::S3PutFailure => self.firehose.s3_put_failure,
            FaultRate::ThrottleBurst => self.throttle_burst,
            FaultRate::InternalFailure => self.internal_failure,
            FaultRate::IndexFailure => self.index_failure,
        }
    }

    /// Sets the probability of `rate`.
    pub fn set_rate(&mut self, rate: FaultRate, p: f64) {
        *match rate {
            FaultRate::Drop => &mut self.firehose.drop,
            FaultRate::Duplicate => &mut self.firehose.duplicate,
            FaultRate::Reorder => &mut self.firehose.reorder,
            FaultRate::Corrupt => &mut self.firehose.corrupt,
            FaultRate::Truncate => &mut self.firehose.truncate,
            FaultRate::Delay => &mut self.firehose.delay,
            FaultRate::S3PutFailure => &mut self.firehose.s3_put_failure,
            FaultRate::ThrottleBurst => &mut self.throttle_burst,
            FaultRate::InternalFailure => &mut self.internal_failure,
            FaultRate::IndexFailure => &mut self.index_failure,
        } = p;
    }

    /// Whether the plan injects nothing.
    pub fn is_empty(&self) -> bool {
        self.drop_kinesis_records.is_empty()
            && self.stall_shard.is_none()
            && !self.read_children_early
            && FaultRate::ALL.iter().all(|rate| self.rate(*rate) <= 0.0)
    }

    /// The plan a command line's `--fault KIND=VALUE` flags describe, under `seed`.
    pub fn from_flags(seed: u64, flags: &[FaultFlag]) -> Result<FaultPlan, String> {
        let mut plan = FaultPlan { seed, ..FaultPlan::default() };
        let (mut stall_shard, mut stall_seconds) = (None, None);
        for flag in flags {
            match *flag {
                FaultFlag::Rate(rate, p) => plan.set_rate(rate, p),
                FaultFlag::DelaySeconds(seconds) => plan.firehose.delay_by = Duration::from_secs(seconds),
                FaultFlag::DropKinesis(ordinal) => {
                    plan.drop_kinesis_records.insert(ordinal);
                }
                FaultFlag::StallShard(shard) => stall_shard = Some(shard),
                FaultFlag::StallSeconds(seconds) => stall_seconds = Some(seconds),
                FaultFlag::ReadChildrenEarly(on) => plan.read_children_early = on,
            }
        }
        plan.stall_shard = match (stall_shard, stall_seconds) {
            (None, None) => None,
            (Some(shard), Some(seconds)) => Some(ShardStall { shard, by: Duration::from_secs(seconds) }),
            _ => return Err("--fault stall-shard=N and --fault stall-seconds=S go together".to_owned()),
        };
        if plan.firehose.delay > 0.0 && plan.firehose.delay_by.is_zero() {
            return Err("--fault delay=P needs --fault delay-seconds=S".to_owned());
        }
        Ok(plan)
    }
}

/// One command-line `--fault KIND=VALUE`: a rate by its flag name (the scenario name with `-` for
/// `_`, such as `s3-put-failure=0.1`), or one of the plan's other settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultFlag {
    Rate(FaultRate, f64),
    /// `delay-seconds=S`: how long a delayed object is held.
    DelaySeconds(u64),
    /// `drop-kinesis=N`: the ordinal of a Kinesis entry to lose (repeatable).
    DropKinesis(u64),
    /// `stall-shard=N`, with `stall-seconds=S`.
    StallShard(u32),
    StallSeconds(u64),
    /// `read-children-early=true`.
    ReadChildrenEarly(bool),
}

impl FaultFlag {
    /// Reads one `KIND=VALUE`.
    pub fn parse(text: &str) -> Result<FaultFlag, String> {
        let (kind, value) = text
            .split_once('=')
            .ok_or_else(|| format!("expected KIND=VALUE, such as drop=0.01; got {text:?}"))?;
        let count = || value.parse::<u64>().map_err(|_| format!("{kind}: {value:?} is not a whole number"));
        if let Some(rate) = FaultRate::ALL.into_iter().find(|rate| rate.flag() == kind) {
            let p: f64 = value.parse().map_err(|_| format!("{kind}: {value:?} is not a number"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{kind}: {p} is not a probability; must be between 0 and 1"));
            }
            return Ok(FaultFlag::Rate(rate, p));
        }
        match kind {
            "delay-seconds" => count().map(FaultFlag::DelaySeconds),
            "drop-kinesis" => count().map(FaultFlag::DropKinesis),
            "stall-shard" => {
                let shard = count()?;
                u32::try_from(shard)
                    .map(FaultFlag::StallShard)
                    .map_err(|_| format!("{kind}: {shard} is too large"))
            }
            "stall-seconds" => count().map(FaultFlag::StallSeconds),
            "read-children-early" => match value {
                "true" => Ok(FaultFlag::ReadChildrenEarly(true)),
                "false" => Ok(FaultFlag::ReadChildrenEarly(false)),
                _ => Err(format!("{kind}: {value:?} is not true or false")),
            },
            other => {
                let rates: Vec<String> = FaultRate::ALL.iter().map(|rate| rate.flag()).collect();
                Err(format!(
                    "unknown fault {other:?}; expected {}, delay-seconds, drop-kinesis, stall-shard, stall-seconds or read-children-early",
                    rates.join(", ")
                ))
            }
        }
    }
}

/// What an injected fault did, as reports name it (`"kind": "drop_firehose"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultName {
    /// A Kinesis entry was acknowledged and never stored.
    DropKinesis,
    /// Firehose lost a record of a batch.
    DropFirehose,
    Duplicate,
    Reorder,
    Corrupt,
    Truncate,
    Delay,
    S3PutFailure,
    ThrottleBurst,
    InternalFailure,
    StallShard,
    IndexFailure,
    /// Firehose read a record of a closed parent shard after a later record of its key, from a child.
    ReadChildrenEarly,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rate_reads_back_what_was_set_and_only_that() {
        for rate in FaultRate::ALL {
            let mut plan = FaultPlan::default();
            assert!(plan.is_empty());
            plan.set_rate(rate, 0.25);
            assert!(!plan.is_empty(), "{rate:?}");
            for other in FaultRate::ALL {
                assert_eq!(plan.rate(other), if other == rate { 0.25 } else { 0.0 }, "{rate:?} {other:?}");
            }
            assert_eq!(plan.firehose.is_empty(), !rate.acts_on_objects(), "{rate:?}");
        }
    }

    #[test]
    fn fault_flags_build_the_plan() {
        let flags = |texts: &[&str]| -> Vec<FaultFlag> {
            texts.iter().map(|text| FaultFlag::parse(text).unwrap()).collect()
        };
        let args = flags(&["drop=0.01", "delay=0.5", "delay-seconds=7", "drop-kinesis=3", "drop-kinesis=9"]);
        let faults = FaultPlan::from_flags(42, &args).unwrap();
        assert_eq!(faults.seed, 42);
        assert_eq!(faults.firehose.drop, 0.01);
        assert_eq!(faults.firehose.delay, 0.5);
        assert_eq!(faults.firehose.delay_by, Duration::from_secs(7));
        assert_eq!(faults.drop_kinesis_records.into_iter().collect::<Vec<_>>(), [3, 9]);

        let args =
            flags(&["stall-shard=1", "stall-seconds=4", "internal-failure=0.1", "s3-put-failure=0.02"]);
        let faults = FaultPlan::from_flags(0, &args).unwrap();
        assert_eq!(faults.stall_shard, Some(ShardStall { shard: 1, by: Duration::from_secs(4) }));
        assert_eq!(faults.internal_failure, 0.1);
        assert_eq!(faults.firehose.s3_put_failure, 0.02);
        assert!(FaultPlan::from_flags(0, &args[..1]).unwrap_err().contains("go together"));
    }

    #[test]
    fn bad_fault_flags_say_what_is_wrong() {
        let error = |text: &str| FaultFlag::parse(text).unwrap_err();
        assert!(error("drop").contains("KIND=VALUE"));
        assert!(error("drop=2").contains("not a probability"));
        assert!(error("drop=x").contains("not a number"));
        assert!(error("lose=0.1").contains("unknown fault \"lose\""));
        assert!(error("drop-kinesis=-1").contains("not a whole number"));
        assert!(error("s3_put_failure=0.1").contains("s3-put-failure"), "the flag spelling is listed");
        let delay = [FaultFlag::parse("delay=1").unwrap()];
        assert!(FaultPlan::from_flags(0, &delay).unwrap_err().contains("delay-seconds"));
    }

    #[test]
    fn fault_names_serialize_as_reports_name_them() {
        let names = [FaultName::DropKinesis, FaultName::S3PutFailure, FaultName::IndexFailure];
        let json: Vec<String> = names.iter().map(|name| serde_json::to_string(name).unwrap()).collect();
        assert_eq!(json, [r#""drop_kinesis""#, r#""s3_put_failure""#, r#""index_failure""#]);
    }
}
