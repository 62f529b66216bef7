//! Second pass: raw values → the typed [`Scenario`], checking every range AWS enforces.

use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use crate::error::{Locator, ScenarioError};
use crate::model::{
    BufferingHints, DEFAULT_ENVELOPE_FIELD, Delivery, Expect, Ordering, Pipeline, Scenario, Schema, Source,
    Workload,
};
use crate::raw::{RawExpect, RawPipeline, RawScenario, RawWorkload};

/// Most shards a stream may be created with here (the default per-account shard quota).
pub(crate) const MAX_SHARDS: i64 = 500;

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
    let workload = workload(&locator, raw.workload)?;
    let expect = expect(&locator, raw.expect, &pipeline.buffering)?;
    Ok(Scenario { name, path: path.to_path_buf(), pipeline, workload, expect })
}

fn pipeline(locator: &Locator<'_>, raw: Spanned<RawPipeline>) -> Result<Pipeline, ScenarioError> {
    let raw = raw.into_inner();
    let shards = match raw.shards {
        Some(shards) => in_range(locator, &shards, "pipeline.shards", 1, MAX_SHARDS)? as u32,
        None => 1,
    };
    let source = match raw.source {
        None => Source::KinesisStream,
        Some(source) => match source.get_ref().as_str() {
            "kinesis" => Source::KinesisStream,
            "direct-put" => Source::DirectPut,
            other => {
                return Err(locator.at(
                    source.span().start,
                    "pipeline.source",
                    format!("unknown source {other:?}; expected \"kinesis\" or \"direct-put\""),
                ));
            }
        },
    };
    check_bucket(locator, &raw.bucket)?;
    let prefix = match raw.prefix {
        Some(prefix) if prefix.get_ref().len() > 1024 => {
            return Err(locator.at(
                prefix.span().start,
                "pipeline.prefix",
                "prefix is longer than 1024 bytes",
            ));
        }
        Some(prefix) if prefix.get_ref().is_empty() => None,
        Some(prefix) => Some(prefix.into_inner()),
        None => None,
    };
    let defaults = BufferingHints::AWS_DEFAULT;
    let buffering = match raw.buffering {
        None => defaults,
        Some(buffering) => BufferingHints {
            size_mb: match buffering.size_mb {
                Some(v) => in_range(locator, &v, "pipeline.buffering.size_mb", 1, 128)? as u32,
                None => defaults.size_mb,
            },
            interval_seconds: match buffering.interval_seconds {
                Some(v) => in_range(locator, &v, "pipeline.buffering.interval_seconds", 0, 900)? as u32,
                None => defaults.interval_seconds,
            },
        },
    };
    Ok(Pipeline { shards, source, buffering, bucket: raw.bucket.into_inner(), prefix })
}

fn workload(locator: &Locator<'_>, raw: Spanned<RawWorkload>) -> Result<Workload, ScenarioError> {
    let raw = raw.into_inner();
    let events = in_range(locator, &raw.events, "workload.events", 1, i64::MAX)? as u64;
    let schema = match raw.schema.get_ref().as_str() {
        "clickstream" => Schema::Clickstream,
        other => {
            return Err(locator.at(
                raw.schema.span().start,
                "workload.schema",
                format!("unknown schema {other:?}; built-in schemas: \"clickstream\""),
            ));
        }
    };
    if !schema.fields().contains(&raw.partition_key.get_ref().as_str()) {
        return Err(locator.at(
            raw.partition_key.span().start,
            "workload.partition_key",
            format!(
                "schema {:?} has no field {:?}; its fields are {}",
                schema.name(),
                raw.partition_key.get_ref(),
                schema.fields().join(", ")
            ),
        ));
    }
    let users = match raw.users {
        Some(v) => in_range(locator, &v, "workload.users", 1, i64::from(u32::MAX))? as u32,
        None => 1000,
    };
    let seed = match raw.seed {
        Some(v) => in_range(locator, &v, "workload.seed", 0, i64::MAX)? as u64,
        None => 0,
    };
    let envelope_field = match raw.envelope_field {
        Some(field) => {
            let name = field.get_ref();
            if name.is_empty() || schema.fields().contains(&name.as_str()) {
                return Err(locator.at(
                    field.span().start,
                    "workload.envelope_field",
                    format!(
                        "must be non-empty and differ from the schema's fields ({})",
                        schema.fields().join(", ")
                    ),
                ));
            }
            field.into_inner()
        }
        None => DEFAULT_ENVELOPE_FIELD.to_owned(),
    };
    Ok(Workload {
        events,
        schema,
        partition_key: raw.partition_key.into_inner(),
        users,
        seed,
        envelope_field,
    })
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
    Ok(Expect {
        delivery,
        ordering,
        max_latency: Duration::from_secs(max_latency_seconds),
        timeout: Duration::from_secs(timeout_seconds),
    })
}

fn in_range(
    locator: &Locator<'_>,
    value: &Spanned<i64>,
    field: &str,
    min: i64,
    max: i64,
) -> Result<i64, ScenarioError> {
    let v = *value.get_ref();
    if (min..=max).contains(&v) {
        Ok(v)
    } else if max == i64::MAX {
        Err(locator.at(value.span().start, field, format!("{v} is out of range; must be at least {min}")))
    } else {
        Err(locator.at(value.span().start, field, format!("{v} is out of range; must be {min}..={max}")))
    }
}

/// S3 bucket naming rules: 3–63 characters of lowercase letters, digits, dots and hyphens,
/// starting and ending with a letter or digit.
fn check_bucket(locator: &Locator<'_>, bucket: &Spanned<String>) -> Result<(), ScenarioError> {
    let name = bucket.get_ref();
    let allowed =
        name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if (3..=63).contains(&name.len()) && allowed && ends(name.bytes().next()) && ends(name.bytes().last()) {
        Ok(())
    } else {
        Err(locator.at(
            bucket.span().start,
            "pipeline.bucket",
            format!(
                "{name:?} is not a valid S3 bucket name (3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit)"
            ),
        ))
    }
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
