//! Validating `[workload]`: events and their schema, partition keys, the rate profile, the put API
//! and the retry budget.

use std::collections::BTreeMap;
use std::time::Duration;

use toml::Spanned;

use crate::error::{Locator, ScenarioError};
use crate::model::{
    BUILT_IN_SCHEMAS, CustomField, DEFAULT_ENVELOPE_FIELD, FieldKind, MAX_EVENTS, MAX_FIREHOSE_RECORD_BYTES,
    MAX_KINESIS_RECORD_BYTES, PAD_FIELD, PartitionKey, Payload, PutApi, Rate, RateStep, ReshardAction,
    ReshardStep, Schema, Source, Workload,
};
use crate::raw::{RawKey, RawRate, RawReshard, RawWorkload};
use crate::values::{in_range, positive};

pub(crate) fn workload(
    locator: &Locator<'_>,
    raw: Spanned<RawWorkload>,
    source: Source,
    shards: u32,
) -> Result<Workload, ScenarioError> {
    let workload_offset = raw.span().start;
    let raw = raw.into_inner();
    let events = in_range(locator, &raw.events, "workload.events", 1, MAX_EVENTS as i64)? as u64;
    let duration = match raw.duration_seconds {
        Some(v) => {
            Some(Duration::from_secs_f64(positive(locator, &v, "workload.duration_seconds", 86_400.0)?))
        }
        None => None,
    };
    let schema = match raw.schema.get_ref().as_str() {
        "clickstream" => Schema::Clickstream,
        "app-event" => Schema::AppEvent,
        "segment-track" => Schema::SegmentTrack,
        "person-item" => Schema::PersonItem,
        "custom" => match &raw.fields {
            Some(fields) => Schema::Custom(custom_fields(locator, fields)?),
            None => {
                return Err(locator.at(
                    raw.schema.span().start,
                    "workload.schema",
                    "schema \"custom\" needs a [workload.fields] table declaring its fields",
                ));
            }
        },
        other => {
            let names: Vec<String> = BUILT_IN_SCHEMAS.iter().map(|s| format!("{s:?}")).collect();
            return Err(locator.at(
                raw.schema.span().start,
                "workload.schema",
                format!("unknown schema {other:?}; built-in schemas: {}", names.join(", ")),
            ));
        }
    };
    if let (Some(fields), false) = (&raw.fields, matches!(schema, Schema::Custom(_))) {
        return Err(locator.at(
            fields.span().start,
            "workload.fields",
            format!("fields are declared only for schema \"custom\", not {:?}", schema.name()),
        ));
    }
    let key_field = |field: &Spanned<String>, name: &str| -> Result<String, ScenarioError> {
        let keys = schema.key_fields();
        if keys.contains(&field.get_ref().as_str()) {
            Ok(field.get_ref().clone())
        } else {
            let what = if schema.fields().contains(&field.get_ref().as_str()) {
                "has no string field"
            } else {
                "has no field"
            };
            Err(locator.at(
                field.span().start,
                name,
                format!(
                    "schema {:?} {what} {:?}; its fields are {}",
                    schema.name(),
                    field.get_ref(),
                    keys.join(", ")
                ),
            ))
        }
    };
    let partition_key = match (&raw.partition_key, raw.key) {
        (Some(field), None) => PartitionKey::Field(key_field(field, "workload.partition_key")?),
        (Some(field), Some(_)) => {
            return Err(locator.at(
                field.span().start,
                "workload.partition_key",
                "give either `partition_key` (a field name) or a [workload.key] table, not both",
            ));
        }
        (None, None) => {
            return Err(locator.at(
                workload_offset,
                "workload.partition_key",
                "missing required field `partition_key` in [workload] (or a [workload.key] table)",
            ));
        }
        (None, Some(key)) => key_strategy(locator, key, &key_field)?,
    };
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
            if name.is_empty() || name == PAD_FIELD || schema.fields().contains(&name.as_str()) {
                return Err(locator.at(
                    field.span().start,
                    "workload.envelope_field",
                    format!(
                        "must be non-empty and differ from \"{PAD_FIELD}\" and the schema's fields ({})",
                        schema.fields().join(", ")
                    ),
                ));
            }
            field.into_inner()
        }
        None => DEFAULT_ENVELOPE_FIELD.to_owned(),
    };
    let api = match raw.api {
        None if source == Source::DirectPut => PutApi::PutRecordBatch,
        None => PutApi::PutRecords,
        Some(api) => {
            let parsed = match api.get_ref().as_str() {
                "put-records" => PutApi::PutRecords,
                "put-record" => PutApi::PutRecord,
                "put-record-batch" => PutApi::PutRecordBatch,
                other => {
                    return Err(locator.at(
                        api.span().start,
                        "workload.api",
                        format!(
                            "unknown api {other:?}; expected \"put-records\", \"put-record\" or \"put-record-batch\""
                        ),
                    ));
                }
            };
            let fits = match source {
                Source::DirectPut => parsed == PutApi::PutRecordBatch,
                Source::KinesisStream => parsed != PutApi::PutRecordBatch,
            };
            if !fits {
                return Err(locator.at(
                    api.span().start,
                    "workload.api",
                    match source {
                        Source::DirectPut => "a direct-put pipeline has no stream; use \"put-record-batch\"",
                        Source::KinesisStream => {
                            "a kinesis-source delivery stream rejects Firehose puts; use \"put-records\" or \"put-record\""
                        }
                    },
                ));
            }
            parsed
        }
    };
    let concurrency = match raw.concurrency {
        Some(v) => in_range(locator, &v, "workload.concurrency", 1, 1024)? as u32,
        None => 4,
    };
    let retry_budget = match raw.retry_seconds {
        Some(v) => in_range(locator, &v, "workload.retry_seconds", 1, MAX_RETRY_SECONDS)? as u64,
        None => DEFAULT_RETRY_SECONDS,
    };
    let max_record = match source {
        Source::KinesisStream => MAX_KINESIS_RECORD_BYTES,
        Source::DirectPut => MAX_FIREHOSE_RECORD_BYTES,
    } as i64;
    let payload = match raw.payload {
        None => Payload::Natural,
        Some(payload) => {
            let span = payload.span().start;
            let payload = payload.into_inner();
            match (payload.size_bytes, payload.min_bytes, payload.max_bytes) {
                (Some(size), None, None) => {
                    Payload::Fixed(
                        in_range(locator, &size, "workload.payload.size_bytes", 1, max_record)? as u64
                    )
                }
                (None, Some(min), Some(max)) => {
                    let lo = in_range(locator, &min, "workload.payload.min_bytes", 1, max_record)?;
                    let hi = in_range(locator, &max, "workload.payload.max_bytes", lo, max_record)?;
                    Payload::Uniform { min: lo as u64, max: hi as u64 }
                }
                _ => {
                    return Err(locator.at(
                        span,
                        "workload.payload",
                        "give either `size_bytes`, or both `min_bytes` and `max_bytes`",
                    ));
                }
            }
        }
    };
    let rate = match raw.rate {
        None => Rate::Unlimited,
        Some(rate) => rate_profile(locator, rate)?,
    };
    let reshard = reshard_steps(locator, raw.reshard.unwrap_or_default(), source, shards)?;
    Ok(Workload {
        events,
        duration,
        schema,
        partition_key,
        users,
        seed,
        envelope_field,
        payload,
        rate,
        api,
        concurrency,
        retry_budget: Duration::from_secs(retry_budget),
        reshard,
    })
}

/// Reads `[[workload.reshard]]`: each step at a later time than the one before, doing exactly one
/// of `shards`, `split` or `merge`, and each `shards` within what UpdateShardCount allows of the
/// open shard count the steps before it leave (at most double, at least half).
fn reshard_steps(
    locator: &Locator<'_>,
    raw: Vec<Spanned<RawReshard>>,
    source: Source,
    shards: u32,
) -> Result<Vec<ReshardStep>, ScenarioError> {
    let mut steps: Vec<ReshardStep> = Vec::with_capacity(raw.len());
    let mut open = i64::from(shards);
    for (i, step) in raw.into_iter().enumerate() {
        let span = step.span().start;
        let step = step.into_inner();
        let field = |name: &str| format!("workload.reshard[{i}].{name}");
        if source != Source::KinesisStream {
            return Err(locator.at(span, &field("at_seconds"), "resharding needs source = \"kinesis\""));
        }
        let at =
            Duration::from_secs_f64(positive(locator, &step.at_seconds, &field("at_seconds"), 86_400.0)?);
        if let Some(previous) = steps.last()
            && at <= previous.at
        {
            return Err(locator.at(
                step.at_seconds.span().start,
                &field("at_seconds"),
                format!(
                    "steps run in time order; this one is not after the step before ({} s)",
                    previous.at.as_secs_f64()
                ),
            ));
        }
        let action = match (step.shards, step.split, step.merge) {
            (Some(count), None, None) => {
                let (low, high) = ((open + 1) / 2, (open * 2).min(crate::values::MAX_SHARDS));
                let count = in_range(locator, &count, &field("shards"), low, high).map_err(|_| {
                    locator.at(
                        count.span().start,
                        &field("shards"),
                        format!(
                            "{} is out of range: UpdateShardCount scales {open} open shards to {low}..={high} \
                             (at most double, at least half)",
                            count.get_ref()
                        ),
                    )
                })?;
                open = count;
                ReshardAction::Shards(count as u32)
            }
            (None, Some(shard), None) => {
                check_shard_id(locator, &shard, &field("split"))?;
                open += 1;
                ReshardAction::Split(shard.into_inner())
            }
            (None, None, Some(pair)) => {
                let ids = pair.get_ref();
                let [shard, adjacent] = ids.as_slice() else {
                    return Err(locator.at(
                        pair.span().start,
                        &field("merge"),
                        format!("names two adjacent shards to merge, not {}", ids.len()),
                    ));
                };
                for id in [shard, adjacent] {
                    check_shard_id(locator, &Spanned::new(pair.span(), id.clone()), &field("merge"))?;
                }
                open -= 1;
                ReshardAction::Merge(shard.clone(), adjacent.clone())
            }
            _ => {
                return Err(locator.at(
                    span,
                    &format!("workload.reshard[{i}]"),
                    "give exactly one of `shards`, `split` or `merge`",
                ));
            }
        };
        steps.push(ReshardStep { at, action });
    }
    Ok(steps)
}

/// Checks that `id` is a shard id as Kinesis writes them: `shardId-` and 12 digits.
fn check_shard_id(locator: &Locator<'_>, id: &Spanned<String>, field: &str) -> Result<(), ScenarioError> {
    let digits = id.get_ref().strip_prefix("shardId-");
    if digits.is_some_and(|d| d.len() == 12 && d.bytes().all(|b| b.is_ascii_digit())) {
        return Ok(());
    }
    Err(locator.at(
        id.span().start,
        field,
        format!("{:?} is not a shard id such as \"shardId-000000000001\"", id.get_ref()),
    ))
}

/// How long a record may be retried by default, from its first put: long enough to ride out a
/// throttled second many times over, short enough that a pipeline refusing everything fails fast.
const DEFAULT_RETRY_SECONDS: u64 = 30;
/// The longest retry budget a scenario may set.
const MAX_RETRY_SECONDS: i64 = 3_600;

/// Most keys a key strategy may spread over.
const MAX_KEYS: i64 = 100_000_000;

/// Checks that a named field can be a partition key and returns its name.
type KeyFieldCheck<'a> = dyn Fn(&Spanned<String>, &str) -> Result<String, ScenarioError> + 'a;

fn key_strategy(
    locator: &Locator<'_>,
    key: Spanned<RawKey>,
    key_field: &KeyFieldCheck<'_>,
) -> Result<PartitionKey, ScenarioError> {
    let span = key.span().start;
    let key = key.into_inner();
    let require = |name: &str| {
        locator.at(
            span,
            &format!("workload.key.{name}"),
            format!("strategy {:?} needs `{name}`", key.strategy.get_ref()),
        )
    };
    let keys = |require: &dyn Fn(&str) -> ScenarioError| match &key.keys {
        Some(v) => Ok(in_range(locator, v, "workload.key.keys", 1, MAX_KEYS)? as u32),
        None => Err(require("keys")),
    };
    Ok(match key.strategy.get_ref().as_str() {
        "field" => match &key.field {
            Some(field) => PartitionKey::Field(key_field(field, "workload.key.field")?),
            None => return Err(require("field")),
        },
        "constant" => match &key.value {
            Some(value) if (1..=256).contains(&value.get_ref().chars().count()) => {
                PartitionKey::Constant(value.get_ref().clone())
            }
            Some(value) => {
                return Err(locator.at(
                    value.span().start,
                    "workload.key.value",
                    "a partition key is 1-256 characters",
                ));
            }
            None => return Err(require("value")),
        },
        "random" => PartitionKey::Random,
        "uniform" => PartitionKey::Uniform { keys: keys(&require)? },
        "zipf" => {
            let keys = keys(&require)?;
            let exponent = match &key.exponent {
                Some(v) => positive(locator, v, "workload.key.exponent", 100.0)?,
                None => return Err(require("exponent")),
            };
            PartitionKey::Zipf { keys, exponent }
        }
        "hot-key" => {
            let keys = keys(&require)?;
            let fraction = match &key.hot_fraction {
                Some(v) if (0.0..=1.0).contains(v.get_ref()) => *v.get_ref(),
                Some(v) => {
                    return Err(locator.at(
                        v.span().start,
                        "workload.key.hot_fraction",
                        format!("{} is out of range; must be 0.0..=1.0", v.get_ref()),
                    ));
                }
                None => return Err(require("hot_fraction")),
            };
            if keys < 2 && fraction < 1.0 {
                return Err(locator.at(
                    span,
                    "workload.key.keys",
                    "strategy \"hot-key\" needs at least 2 keys unless hot_fraction is 1.0",
                ));
            }
            PartitionKey::HotKey { keys, fraction }
        }
        other => {
            return Err(locator.at(
                key.strategy.span().start,
                "workload.key.strategy",
                format!(
                    "unknown key strategy {other:?}; expected \"field\", \"constant\", \"random\", \"uniform\", \"zipf\" or \"hot-key\""
                ),
            ));
        }
    })
}

fn rate_profile(locator: &Locator<'_>, rate: Spanned<RawRate>) -> Result<Rate, ScenarioError> {
    let span = rate.span().start;
    let rate = rate.into_inner();
    let require = |name: &str| {
        locator.at(
            span,
            &format!("workload.rate.{name}"),
            format!("profile {:?} needs `{name}`", rate.profile.get_ref()),
        )
    };
    let per_second = |v: &Option<Spanned<f64>>, name: &str| match v {
        Some(v) => positive(locator, v, &format!("workload.rate.{name}"), MAX_RATE),
        None => Err(require(name)),
    };
    Ok(match rate.profile.get_ref().as_str() {
        "max" => Rate::Unlimited,
        "fixed" => Rate::Fixed(per_second(&rate.per_second, "per_second")?),
        "ramp" => Rate::Ramp {
            from: per_second(&rate.from_per_second, "from_per_second")?,
            to: per_second(&rate.to_per_second, "to_per_second")?,
            over: Duration::from_secs_f64(match &rate.over_seconds {
                Some(v) => positive(locator, v, "workload.rate.over_seconds", 86_400.0)?,
                None => return Err(require("over_seconds")),
            }),
        },
        "steps" => match &rate.steps {
            Some(steps) if !steps.is_empty() => {
                let mut out = Vec::with_capacity(steps.len());
                for (i, step) in steps.iter().enumerate() {
                    let step = step.get_ref();
                    out.push(RateStep {
                        per_second: positive(
                            locator,
                            &step.per_second,
                            &format!("workload.rate.steps[{i}].per_second"),
                            MAX_RATE,
                        )?,
                        duration: Duration::from_secs_f64(positive(
                            locator,
                            &step.seconds,
                            &format!("workload.rate.steps[{i}].seconds"),
                            86_400.0,
                        )?),
                    });
                }
                Rate::Steps(out)
            }
            _ => return Err(require("steps")),
        },
        other => {
            return Err(locator.at(
                rate.profile.span().start,
                "workload.rate.profile",
                format!("unknown rate profile {other:?}; expected \"max\", \"fixed\", \"ramp\" or \"steps\""),
            ));
        }
    })
}

/// Highest rate a profile may ask for, in records per second.
const MAX_RATE: f64 = 10_000_000.0;

/// The fields of a custom schema, in file order.
fn custom_fields(
    locator: &Locator<'_>,
    fields: &Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
) -> Result<Vec<CustomField>, ScenarioError> {
    if fields.get_ref().is_empty() {
        return Err(locator.at(fields.span().start, "workload.fields", "declare at least one field"));
    }
    let mut entries: Vec<_> = fields.get_ref().iter().collect();
    entries.sort_by_key(|(name, _)| name.span().start);
    entries
        .into_iter()
        .map(|(name, value)| {
            let path = format!("workload.fields.{}", name.get_ref());
            if [PAD_FIELD, DEFAULT_ENVELOPE_FIELD].contains(&name.get_ref().as_str()) || name.get_ref().is_empty() {
                return Err(locator.at(
                    name.span().start,
                    &path,
                    format!("field names must be non-empty and differ from \"{PAD_FIELD}\" and \"{DEFAULT_ENVELOPE_FIELD}\""),
                ));
            }
            let kind = field_kind(locator, value.span().start, &path, value.get_ref())?;
            Ok(CustomField { name: name.get_ref().clone(), kind })
        })
        .collect()
}

/// One custom field's kind; errors point at the field's value (nested values have no spans of their own).
fn field_kind(
    locator: &Locator<'_>,
    offset: usize,
    path: &str,
    value: &toml::Value,
) -> Result<FieldKind, ScenarioError> {
    let simple: Vec<&str> = FieldKind::SIMPLE.iter().map(|(name, _)| *name).collect();
    let kinds = format!("{}, integer, float, enum, constant, object", simple.join(", "));
    let err = |message: String| locator.at(offset, path, message);
    let kind_name = match value {
        toml::Value::String(name) => name.as_str(),
        toml::Value::Table(table) => match table.get("kind") {
            Some(toml::Value::String(name)) => name.as_str(),
            _ => return Err(err(format!("an inline table needs `kind`, one of {kinds}"))),
        },
        _ => return Err(err(format!("expected a kind name or an inline table with `kind`, one of {kinds}"))),
    };
    if let Some((_, kind)) = FieldKind::SIMPLE.iter().find(|(name, _)| *name == kind_name) {
        return Ok(kind.clone());
    }
    let table = match value {
        toml::Value::Table(table) => table,
        _ => return Err(err(format!("unknown kind {kind_name:?}; expected one of {kinds}"))),
    };
    let allowed: &[&str] = match kind_name {
        "integer" | "float" => &["kind", "min", "max"],
        "enum" => &["kind", "values"],
        "constant" => &["kind", "value"],
        "object" => &["kind", "fields"],
        other => return Err(err(format!("unknown kind {other:?}; expected one of {kinds}"))),
    };
    if let Some(unknown) = table.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(err(format!("kind {kind_name:?} takes no `{unknown}`; it takes {}", allowed.join(", "))));
    }
    let get = |name: &str| table.get(name).ok_or_else(|| err(format!("kind {kind_name:?} needs `{name}`")));
    match kind_name {
        "integer" => {
            let (min, max) = match (get("min")?, get("max")?) {
                (toml::Value::Integer(min), toml::Value::Integer(max)) => (*min, *max),
                _ => return Err(err("`min` and `max` of an integer field must be integers".into())),
            };
            if min > max {
                return Err(err(format!("min {min} is greater than max {max}")));
            }
            Ok(FieldKind::Integer { min, max })
        }
        "float" => {
            let number = |v: &toml::Value| match v {
                toml::Value::Float(f) if f.is_finite() => Some(*f),
                toml::Value::Integer(i) => Some(*i as f64),
                _ => None,
            };
            match (number(get("min")?), number(get("max")?)) {
                (Some(min), Some(max)) if min < max => Ok(FieldKind::Float { min, max }),
                (Some(min), Some(max)) => Err(err(format!("min {min} must be less than max {max}"))),
                _ => Err(err("`min` and `max` of a float field must be numbers".into())),
            }
        }
        "enum" => match get("values")? {
            toml::Value::Array(values) if !values.is_empty() => values
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s.clone()),
                    _ => Err(err("`values` of an enum field must be strings".into())),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(FieldKind::Enum),
            _ => Err(err("`values` of an enum field must be a non-empty array of strings".into())),
        },
        "constant" => match get("value")? {
            toml::Value::String(s) => Ok(FieldKind::Constant(s.clone())),
            _ => Err(err("`value` of a constant field must be a string".into())),
        },
        _ => match get("fields")? {
            toml::Value::Table(fields) if !fields.is_empty() => fields
                .iter()
                .map(|(name, value)| {
                    let kind = field_kind(locator, offset, &format!("{path}.{name}"), value)?;
                    Ok(CustomField { name: name.clone(), kind })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(FieldKind::Object),
            _ => Err(err("`fields` of an object field must be a non-empty table".into())),
        },
    }
}
