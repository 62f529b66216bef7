//! First pass: the scenario file as serde reads it, every value kept with its source span.
//!
//! Numbers are read as `i64` so that a negative or oversized value reaches validation, which
//! reports it with the field's range instead of a bare type error.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use vocabulary::FaultRate;

use crate::error::{Locator, ScenarioError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub(crate) name: Option<Spanned<String>>,
    #[allow(dead_code, reason = "free text for people; accepted so files can carry it")]
    pub(crate) description: Option<String>,
    pub(crate) pipeline: Spanned<RawPipeline>,
    pub(crate) workload: Spanned<RawWorkload>,
    pub(crate) expect: Spanned<RawExpect>,
    pub(crate) faults: Option<Spanned<RawFaults>>,
    pub(crate) emulator: Option<Spanned<RawEmulator>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEmulator {
    pub(crate) time_scale: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPipeline {
    pub(crate) shards: Option<Spanned<i64>>,
    pub(crate) source: Option<Spanned<String>>,
    pub(crate) bucket: Spanned<String>,
    pub(crate) prefix: Option<Spanned<String>>,
    pub(crate) error_output_prefix: Option<Spanned<String>>,
    pub(crate) compression: Option<Spanned<String>>,
    pub(crate) delimiter: Option<Spanned<String>>,
    pub(crate) buffering: Option<RawBuffering>,
    pub(crate) transform: Option<Spanned<RawTransform>>,
    pub(crate) opensearch: Option<Spanned<RawSearch>>,
    pub(crate) elasticsearch: Option<Spanned<RawSearch>>,
}

/// `[pipeline.opensearch]` or `[pipeline.elasticsearch]`: a search destination with S3 backup.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSearch {
    pub(crate) index: Spanned<String>,
    pub(crate) type_name: Option<Spanned<String>>,
    pub(crate) rotation: Option<Spanned<String>>,
    pub(crate) s3_backup_mode: Option<Spanned<String>>,
    pub(crate) retry_seconds: Option<Spanned<i64>>,
    pub(crate) domain: Option<Spanned<String>>,
    pub(crate) endpoint: Option<Spanned<String>>,
}

/// `[pipeline.transform]`: the data-transformation handler Firehose runs as its `Lambda` processor.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTransform {
    pub(crate) runtime: Spanned<String>,
    pub(crate) handler: Spanned<String>,
    pub(crate) code_dir: Spanned<String>,
    pub(crate) buffer_size_mb: Option<Spanned<f64>>,
    pub(crate) buffer_interval_seconds: Option<Spanned<i64>>,
    pub(crate) timeout_seconds: Option<Spanned<i64>>,
    pub(crate) retries: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBuffering {
    pub(crate) size_mb: Option<Spanned<i64>>,
    pub(crate) interval_seconds: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorkload {
    pub(crate) events: Spanned<i64>,
    pub(crate) duration_seconds: Option<Spanned<f64>>,
    pub(crate) schema: Spanned<String>,
    pub(crate) partition_key: Option<Spanned<String>>,
    pub(crate) users: Option<Spanned<i64>>,
    pub(crate) seed: Option<Spanned<i64>>,
    pub(crate) envelope_field: Option<Spanned<String>>,
    pub(crate) api: Option<Spanned<String>>,
    pub(crate) concurrency: Option<Spanned<i64>>,
    pub(crate) retry_seconds: Option<Spanned<i64>>,
    pub(crate) key: Option<Spanned<RawKey>>,
    pub(crate) payload: Option<Spanned<RawPayload>>,
    pub(crate) rate: Option<Spanned<RawRate>>,
    /// `[[workload.reshard]]` steps, in file order.
    pub(crate) reshard: Option<Vec<Spanned<RawReshard>>>,
    /// Custom schema fields; values are a kind name or an inline table, read in the second pass.
    pub(crate) fields: Option<Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReshard {
    pub(crate) at_seconds: Spanned<f64>,
    pub(crate) shards: Option<Spanned<i64>>,
    pub(crate) split: Option<Spanned<String>>,
    pub(crate) merge: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKey {
    pub(crate) strategy: Spanned<String>,
    pub(crate) field: Option<Spanned<String>>,
    pub(crate) value: Option<Spanned<String>>,
    pub(crate) keys: Option<Spanned<i64>>,
    pub(crate) exponent: Option<Spanned<f64>>,
    pub(crate) hot_fraction: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPayload {
    pub(crate) size_bytes: Option<Spanned<i64>>,
    pub(crate) min_bytes: Option<Spanned<i64>>,
    pub(crate) max_bytes: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRate {
    pub(crate) profile: Spanned<String>,
    pub(crate) per_second: Option<Spanned<f64>>,
    pub(crate) from_per_second: Option<Spanned<f64>>,
    pub(crate) to_per_second: Option<Spanned<f64>>,
    pub(crate) over_seconds: Option<Spanned<f64>>,
    pub(crate) steps: Option<Vec<Spanned<RawStep>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub(crate) per_second: Spanned<f64>,
    pub(crate) seconds: Spanned<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExpect {
    pub(crate) delivery: Option<Spanned<String>>,
    pub(crate) ordering: Option<Spanned<String>>,
    pub(crate) max_latency_seconds: Option<Spanned<i64>>,
    pub(crate) timeout_seconds: Option<Spanned<i64>>,
    pub(crate) format: Option<Spanned<String>>,
    pub(crate) max_shard_share: Option<Spanned<f64>>,
    pub(crate) max_throttled_fraction: Option<Spanned<f64>>,
    pub(crate) max_failed_fraction: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFaults {
    pub(crate) seed: Option<Spanned<i64>>,
    pub(crate) drop_kinesis: Option<Vec<Spanned<i64>>>,
    pub(crate) drop: Option<Spanned<f64>>,
    pub(crate) duplicate: Option<Spanned<f64>>,
    pub(crate) reorder: Option<Spanned<f64>>,
    pub(crate) corrupt: Option<Spanned<f64>>,
    pub(crate) truncate: Option<Spanned<f64>>,
    pub(crate) delay: Option<Spanned<f64>>,
    pub(crate) delay_seconds: Option<Spanned<i64>>,
    pub(crate) s3_put_failure: Option<Spanned<f64>>,
    pub(crate) throttle_burst: Option<Spanned<f64>>,
    pub(crate) internal_failure: Option<Spanned<f64>>,
    pub(crate) stall_shard: Option<Spanned<RawStall>>,
    pub(crate) index_failure: Option<Spanned<f64>>,
    pub(crate) read_children_early: Option<Spanned<bool>>,
}

impl RawFaults {
    /// The value given for `rate`, under the field of its [`FaultRate::name`].
    pub(crate) fn rate(&self, rate: FaultRate) -> Option<&Spanned<f64>> {
        match rate {
            FaultRate::Drop => self.drop.as_ref(),
            FaultRate::Duplicate => self.duplicate.as_ref(),
            FaultRate::Reorder => self.reorder.as_ref(),
            FaultRate::Corrupt => self.corrupt.as_ref(),
            FaultRate::Truncate => self.truncate.as_ref(),
            FaultRate::Delay => self.delay.as_ref(),
            FaultRate::S3PutFailure => self.s3_put_failure.as_ref(),
            FaultRate::ThrottleBurst => self.throttle_burst.as_ref(),
            FaultRate::InternalFailure => self.internal_failure.as_ref(),
            FaultRate::IndexFailure => self.index_failure.as_ref(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStall {
    pub(crate) shard: Spanned<i64>,
    pub(crate) seconds: Spanned<i64>,
}

/// Reads `text` into the raw structs, turning serde's errors into located ones.
pub(crate) fn parse(path: &Path, text: &str) -> Result<RawScenario, ScenarioError> {
    let locator = Locator { path, text };
    toml::from_str(text).map_err(|error| {
        let message = error.message().trim().replace("expected i64", "expected an integer");
        if let Some(missing) = missing_field(&message) {
            // serde reports a missing field without a useful span: point at the table that lacks it.
            // The span covers the header of the table that lacks the field, or the whole document.
            let table = error
                .span()
                .filter(|span| text[span.clone()].starts_with('['))
                .map(|span| locator.field_at(span.start))
                .unwrap_or_default();
            let (offset, field, message) = if table.is_empty() {
                (0, missing.to_owned(), format!("missing section [{missing}]"))
            } else {
                let field = format!("{table}.{missing}");
                (
                    locator.table_offset(&table),
                    field,
                    format!("missing required field `{missing}` in [{table}]"),
                )
            };
            return locator.at(offset, &field, message);
        }
        match error.span() {
            Some(span) => locator.at(span.start, &locator.field_at(span.start), message),
            None => locator.at(0, "", message),
        }
    })
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}
