//! Second pass: raw values → the typed [`Scenario`], checking every range AWS enforces; the
//! `[pipeline]` and `[workload]` sections are checked in `pipeline.rs` and `workload.rs`, the
//! `[expect]`, `[faults]` and `[emulator]` sections here.

use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use crate::error::{Locator, ScenarioError};
use crate::model::{
    BufferingHints, Delivery, EmulatorSettings, Expect, MAX_TIME_SCALE, ObjectFormat, Ordering, Pipeline,
    Scenario, Source,
};
use crate::pipeline::pipeline;
use crate::raw::{RawEmulator, RawExpect, RawFaults, RawScenario};
use crate::values::{fraction, in_range, positive};
use crate::workload::workload;
use vocabulary::{FaultPlan, FaultRate, ShardStall};

pub(crate) fn validate(path: &Path, text: &str, raw: RawScenario) -> Result<Scenario, ScenarioError> {
    let locator = Locator { path, text };
    let name = match raw.name {
        Some(name) => {
            check_name(&locator, &name)?;
            name.into_inner()
        }
        None => default_name(path),
    };
    let pipeline = pipeline(&locator, raw.pipeline)?;
    let workload = workload(&locator, raw.workload, pipeline.source, pipeline.shards)?;
    let expect = expect(&locator, raw.expect, &pipeline.buffering)?;
    let faults = raw.faults.map(|raw| faults(&locator, raw, &pipeline)).transpose()?;
    let emulator = raw.emulator.map(|raw| emulator(&locator, raw)).transpose()?;
    Ok(Scenario { name, path: path.to_path_buf(), pipeline, workload, expect, faults, emulator })
}

fn emulator(locator: &Locator<'_>, raw: Spanned<RawEmulator>) -> Result<EmulatorSettings, ScenarioError> {
    let raw = raw.into_inner();
    let time_scale = match raw.time_scale {
        None => 1.0,
        Some(v) => {
            let scale = *v.get_ref();
            if !(scale.is_finite() && scale > 0.0 && scale <= MAX_TIME_SCALE) {
                return Err(locator.at(
                    v.span().start,
                    "emulator.time_scale",
                    format!("{scale} is out of range; must be above 0 and at most {MAX_TIME_SCALE}"),
                ));
            }
            scale
        }
    };
    Ok(EmulatorSettings { time_scale })
}

fn expect(
    locator: &Locator<'_>,
    raw: Spanned<RawExpect>,
    buffering: &BufferingHints,
) -> Result<Expect, ScenarioError> {
    let raw = raw.into_inner();
    let delivery = match raw.delivery {
        None => Delivery::ExactlyOnce,
        Some(v) => {
            match v.get_ref().as_str() {
                "exactly-once" => Delivery::ExactlyOnce,
                "at-least-once" => Delivery::AtLeastOnce,
                other => {
                    return Err(locator.at(
                    v.span().start,
                    "expect.delivery",
                    format!("unknown delivery guarantee {other:?}; expected \"exactly-once\" or \"at-least-once\""),
                ));
                }
            }
        }
    };
    let ordering = match raw.ordering {
        None => Ordering::PerKey,
        Some(v) => match v.get_ref().as_str() {
            "per-key" => Ordering::PerKey,
            "none" => Ordering::None,
            other => {
                return Err(locator.at(
                    v.span().start,
                    "expect.ordering",
                    format!("unknown ordering {other:?}; expected \"per-key\" or \"none\""),
                ));
            }
        },
    };
    // Defaults: a record may take one buffer interval plus a minute; the verifier waits twice that.
    let max_latency_seconds = match raw.max_latency_seconds {
        Some(v) => in_range(locator, &v, "expect.max_latency_seconds", 1, 86_400)? as u64,
        None => u64::from(buffering.interval_seconds) + 60,
    };
    let timeout_seconds = match raw.timeout_seconds {
        Some(v) => in_range(locator, &v, "expect.timeout_seconds", 1, 86_400)? as u64,
        None => 2 * max_latency_seconds,
    };
    let max_shard_share = match raw.max_shard_share {
        Some(v) => Some(positive(locator, &v, "expect.max_shard_share", 1.0)?),
        None => None,
    };
    let max_throttled_fraction = match raw.max_throttled_fraction {
        Some(v) => Some(fraction(locator, &v, "expect.max_throttled_fraction")?),
        None => None,
    };
    // Records that exhausted their retries fail the run unless the scenario allows a share of them.
    let max_failed_fraction = match raw.max_failed_fraction {
        Some(v) => fraction(locator, &v, "expect.max_failed_fraction")?,
        None => 0.0,
    };
    let format = match raw.format {
        None => None,
        Some(v) => match v.get_ref().as_str() {
            "ndjson" => Some(ObjectFormat::Ndjson),
            "none" => None,
            other => {
                return Err(locator.at(
                    v.span().start,
                    "expect.format",
                    format!("unknown object format {other:?}; expected \"ndjson\" or \"none\""),
                ));
            }
        },
    };
    Ok(Expect {
        format,
        delivery,
        ordering,
        max_latency: Duration::from_secs(max_latency_seconds),
        timeout: Duration::from_secs(timeout_seconds),
        max_shard_share,
        max_throttled_fraction,
        max_failed_fraction,
    })
}

/// Longest an object may be held back: the longest buffering interval.
const MAX_DELAY_SECONDS: i64 = 900;

fn faults(
    locator: &Locator<'_>,
    raw: Spanned<RawFaults>,
    pipeline: &Pipeline,
) -> Result<FaultPlan, ScenarioError> {
    let shards = i64::from(pipeline.shards);
    let table_start = locator.table_offset("faults");
    let raw = raw.into_inner();
    let mut plan = FaultPlan::default();
    if let Some(v) = &raw.seed {
        plan.seed = in_range(locator, v, "faults.seed", 0, i64::MAX)? as u64;
    }
    for ordinal in raw.drop_kinesis.iter().flatten() {
        plan.drop_kinesis_records
            .insert(in_range(locator, ordinal, "faults.drop_kinesis", 0, i64::MAX)? as u64);
    }
    for rate in FaultRate::ALL {
        let Some(value) = raw.rate(rate) else { continue };
        let (name, p) = (rate.name(), *value.get_ref());
        let field = format!("faults.{name}");
        if !(0.0..=1.0).contains(&p) {
            return Err(locator.at(
                value.span().start,
                &field,
                format!("{p} is not a probability; must be between 0 and 1"),
            ));
        }
        let refusal = match &pipeline.search {
            // Object faults act on the objects of an S3 destination; a search destination writes documents.
            Some(search) if rate.acts_on_objects() && p > 0.0 => Some(format!(
                "{name} acts on the objects of an S3 destination, and [{}] indexes documents \
                 instead; use index_failure, or faults of the Kinesis source (drop_kinesis, \
                 throttle_burst, internal_failure, stall_shard)",
                search.service.table()
            )),
            None if rate == FaultRate::IndexFailure => Some(
                "index_failure needs a search destination ([pipeline.opensearch] or [pipeline.elasticsearch])"
                    .to_owned(),
            ),
            Some(search) if rate == FaultRate::IndexFailure && search.endpoint.is_some() && p > 0.0 => {
                Some(format!(
                    "index_failure applies to the embedded emulator's in-process domain only, and [{}] has \
                     an `endpoint`",
                    search.service.table()
                ))
            }
            _ => None,
        };
        if let Some(refusal) = refusal {
            return Err(locator.at(value.span().start, &field, refusal));
        }
        plan.set_rate(rate, p);
    }
    plan.firehose.delay_by = match raw.delay_seconds {
        Some(v) => {
            Duration::from_secs(in_range(locator, &v, "faults.delay_seconds", 1, MAX_DELAY_SECONDS)? as u64)
        }
        None if plan.firehose.delay > 0.0 => {
            return Err(locator.at(
                table_start,
                "faults.delay_seconds",
                "missing field `delay_seconds` in [faults]: a delay needs its length",
            ));
        }
        None => Duration::ZERO,
    };
    if let Some(early) = raw.read_children_early {
        if *early.get_ref() && pipeline.source != Source::KinesisStream {
            return Err(locator.at(
                early.span().start,
                "faults.read_children_early",
                "read_children_early acts on Firehose's Kinesis source; it needs source = \"kinesis\"",
            ));
        }
        plan.read_children_early = *early.get_ref();
    }
    if let Some(stall) = raw.stall_shard {
        let stall = stall.into_inner();
        plan.stall_shard = Some(ShardStall {
            shard: in_range(locator, &stall.shard, "faults.stall_shard.shard", 0, shards - 1)? as u32,
            by: Duration::from_secs(in_range(
                locator,
                &stall.seconds,
                "faults.stall_shard.seconds",
                1,
                MAX_DELAY_SECONDS,
            )? as u64),
        });
    }
    Ok(plan)
}

/// Scenario names end up in stream and delivery stream names: keep them to `[a-z0-9-]`, 1–40 characters.
fn check_name(locator: &Locator<'_>, name: &Spanned<String>) -> Result<(), ScenarioError> {
    let v = name.get_ref();
    if !v.is_empty()
        && v.len() <= 40
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(())
    } else {
        Err(locator.at(
            name.span().start,
            "name",
            format!("{v:?} must be 1-40 characters of a-z, 0-9 and '-'"),
        ))
    }
}

fn default_name(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario").to_ascii_lowercase();
    let name: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).take(40).collect();
    if name.is_empty() { "scenario".to_owned() } else { name }
}
