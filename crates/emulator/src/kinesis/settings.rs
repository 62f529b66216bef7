//! The Kinesis operations that change a stream's settings rather than its records: tags
//! (AddTagsToStream, RemoveTagsFromStream, ListTagsForStream and the ARN-based TagResource,
//! UntagResource, ListTagsForResource), the retention period, enhanced monitoring, server-side
//! encryption, the capacity mode, and DescribeLimits, each with the limits and errors the Kinesis
//! API reference documents for it.

use std::sync::Arc;

use crate::error::ApiError;
use crate::json::{self, OpResult, Route};
use crate::kinesis::api::*;
use crate::kinesis::store::{Stream, StreamMode};
use crate::state::State;
use crate::sync::lock;
use crate::tags;

/// Most tags one call may add or remove (AddTagsToStream); a stream has at most `tags::MAX_TAGS`.
const MAX_TAGS_PER_CALL: usize = 10;
/// The retention period's bounds, in hours (IncreaseStreamRetentionPeriod).
const MIN_RETENTION_HOURS: i64 = 24;
const MAX_RETENTION_HOURS: i64 = 8760;
/// The shard-level metrics enhanced monitoring knows (EnableEnhancedMonitoring); `ALL` means all.
const SHARD_LEVEL_METRICS: [&str; 7] = [
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
];
/// The account's shard quota and on-demand stream quota, as DescribeLimits reports them.
const SHARD_LIMIT: i64 = 500;
const ON_DEMAND_STREAM_LIMIT: usize = 50;

/// The operations this file serves.
pub(crate) const ROUTES: &[Route<State>] = &[
    Route::full("AddTagsToStream", add_tags),
    Route::full("TagResource", add_tags),
    Route::full("RemoveTagsFromStream", remove_tags),
    Route::full("UntagResource", remove_tags),
    Route::full("ListTagsForStream", |state, body| list_tags(state, body, false)),
    Route::full("ListTagsForResource", |state, body| list_tags(state, body, true)),
    Route::full("IncreaseStreamRetentionPeriod", |state, body| retention(state, body, true)),
    Route::full("DecreaseStreamRetentionPeriod", |state, body| retention(state, body, false)),
    Route::partial(
        "EnableEnhancedMonitoring",
        |state, body| monitoring(state, body, true),
        "the metrics are recorded as enabled; no CloudWatch metrics are published",
    ),
    Route::full("DisableEnhancedMonitoring", |state, body| monitoring(state, body, false)),
    Route::partial(
        "StartStreamEncryption",
        |state, body| encryption(state, body, true),
        "accepted and reported; no KMS key is checked and data is stored as given",
    ),
    Route::full("StopStreamEncryption", |state, body| encryption(state, body, false)),
    Route::partial(
        "UpdateStreamMode",
        update_stream_mode,
        "an on-demand stream keeps its shards: it does not scale",
    ),
    Route::full("DescribeLimits", |state, _| describe_limits(state)),
];

/// The stream a tagging call names: by name or ARN, or by `ResourceARN` (which must be a stream's).
fn tagged(state: &State, target: &TaggedStream) -> Result<Arc<Stream>, ApiError> {
    match target.resource_arn.as_deref() {
        Some(resource) if resource.contains(":stream/") && !resource.contains("/consumer/") => {
            state.kinesis.get(None, Some(resource))
        }
        Some(resource) => Err(ApiError::invalid_argument(format!(
            "ResourceARN {resource} is not the ARN of a Kinesis stream."
        ))),
        None => state.kinesis.get(target.stream_name.as_deref(), target.stream_arn.as_deref()),
    }
}

fn add_tags(state: &State, body: &[u8]) -> OpResult {
    let input: AddTagsInput = json::parse(body)?;
    let stream = tagged(state, &input.target)?;
    tags::check_count("tags", input.tags.len(), MAX_TAGS_PER_CALL, true)?;
    let mut settings = lock(&stream.settings);
    settings.tags = tags::with_added(&settings.tags, input.tags, &format!("stream {}", stream.name))?;
    Ok(json::ok(&Empty {}))
}

fn remove_tags(state: &State, body: &[u8]) -> OpResult {
    let input: RemoveTagsInput = json::parse(body)?;
    let stream = tagged(state, &input.target)?;
    tags::check_count("tagKeys", input.tag_keys.len(), MAX_TAGS_PER_CALL, true)?;
    let mut settings = lock(&stream.settings);
    for key in &input.tag_keys {
        settings.tags.remove(key);
    }
    Ok(json::ok(&Empty {}))
}

/// ListTagsForStream pages (`ExclusiveStartTagKey`, `Limit` up to 50, `HasMoreTags`);
/// ListTagsForResource answers every tag.
fn list_tags(state: &State, body: &[u8], by_resource: bool) -> OpResult {
    let input: ListTagsInput = json::parse(body)?;
    let stream = tagged(state, &input.target)?;
    let all = lock(&stream.settings).tags.clone();
    let out =
        |pairs: Vec<(String, String)>| pairs.into_iter().map(|(key, value)| TagOut { key, value }).collect();
    if by_resource {
        return Ok(json::ok(&ListTagsForResourceOutput { tags: out(all.into_iter().collect()) }));
    }
    let (listed, has_more_tags) = tags::page(&all, input.exclusive_start_tag_key.as_deref(), input.limit)?;
    Ok(json::ok(&ListTagsForStreamOutput { tags: out(listed), has_more_tags }))
}

/// IncreaseStreamRetentionPeriod refuses a period shorter than the current one, Decrease a longer
/// one; both keep it within 24 to 8760 hours.
fn retention(state: &State, body: &[u8], increase: bool) -> OpResult {
    let input: RetentionInput = json::parse(body)?;
    let stream = state.kinesis.get(input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    let hours = input.retention_period_hours;
    if !(MIN_RETENTION_HOURS..=MAX_RETENTION_HOURS).contains(&hours) {
        return Err(ApiError::invalid_argument(format!(
            "Minimum allowed retention period is {MIN_RETENTION_HOURS} hours and maximum is {MAX_RETENTION_HOURS} \
             hours. Requested retention period ({hours} hours) is out of range."
        )));
    }
    let mut settings = lock(&stream.settings);
    let current = i64::from(settings.retention_hours);
    if increase && hours < current {
        return Err(ApiError::invalid_argument(format!(
            "Requested retention period ({hours} hours) for stream {} can not be shorter than existing retention \
             period ({current} hours). Use DecreaseRetentionPeriod API.",
            stream.name
        )));
    }
    if !increase && hours > current {
        return Err(ApiError::invalid_argument(format!(
            "Requested retention period ({hours} hours) for stream {} can not be longer than existing retention \
             period ({current} hours). Use IncreaseRetentionPeriod API.",
            stream.name
        )));
    }
    settings.retention_hours = u32::try_from(hours).unwrap_or(u32::MAX);
    Ok(json::ok(&Empty {}))
}

fn monitoring(state: &State, body: &[u8], enable: bool) -> OpResult {
    let input: MonitoringInput = json::parse(body)?;
    let stream = state.kinesis.get(input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    if input.shard_level_metrics.is_empty() {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'shardLevelMetrics' failed to satisfy constraint: Member must \
             have length greater than or equal to 1",
        ));
    }
    let mut named = Vec::new();
    for metric in &input.shard_level_metrics {
        match metric.as_str() {
            "ALL" => named.extend(SHARD_LEVEL_METRICS.map(str::to_owned)),
            known if SHARD_LEVEL_METRICS.contains(&known) => named.push(known.to_owned()),
            unknown => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '[{unknown}]' at 'shardLevelMetrics' failed to satisfy \
                     constraint: Member must satisfy enum value set: [{}, ALL]",
                    SHARD_LEVEL_METRICS.join(", ")
                )));
            }
        }
    }
    let mut settings = lock(&stream.settings);
    let current: Vec<String> = settings.shard_level_metrics.iter().cloned().collect();
    for metric in named {
        if enable {
            settings.shard_level_metrics.insert(metric);
        } else {
            settings.shard_level_metrics.remove(&metric);
        }
    }
    Ok(json::ok(&MonitoringOutput {
        stream_name: stream.name.clone(),
        stream_arn: stream.arn.clone(),
        current_shard_level_metrics: current,
        desired_shard_level_metrics: settings.shard_level_metrics.iter().cloned().collect(),
    }))
}

/// StartStreamEncryption takes `KMS` and a key; the emulator encrypts nothing but reports the
/// setting, as DescribeStreamSummary's `EncryptionType` and `KeyId` do in AWS.
fn encryption(state: &State, body: &[u8], start: bool) -> OpResult {
    let input: EncryptionInput = json::parse(body)?;
    let stream = state.kinesis.get(input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    if input.encryption_type != "KMS" {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{}' at 'encryptionType' failed to satisfy constraint: Member must \
             satisfy enum value set: [KMS, NONE]",
            input.encryption_type
        )));
    }
    if input.key_id.is_empty() || input.key_id.len() > 2048 {
        return Err(ApiError::validation("KeyId must be 1 to 2048 characters"));
    }
    let mut settings = lock(&stream.settings);
    settings.kms_key_id = start.then_some(input.key_id);
    Ok(json::ok(&Empty {}))
}

fn update_stream_mode(state: &State, body: &[u8]) -> OpResult {
    let input: UpdateStreamModeInput = json::parse(body)?;
    let stream = state.kinesis.get(None, Some(&input.stream_arn))?;
    let mode = match input.stream_mode_details.stream_mode.as_str() {
        "PROVISIONED" => StreamMode::Provisioned,
        "ON_DEMAND" => StreamMode::OnDemand,
        other => {
            return Err(ApiError::validation(format!(
                "Value '{other}' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must \
                 satisfy enum value set: [PROVISIONED, ON_DEMAND]"
            )));
        }
    };
    let mut settings = lock(&stream.settings);
    if settings.mode == mode {
        return Err(ApiError::invalid_argument(format!(
            "Stream {} is already in {} mode.",
            stream.name,
            mode.as_str()
        )));
    }
    settings.mode = mode;
    Ok(json::ok(&Empty {}))
}

fn describe_limits(state: &State) -> OpResult {
    let streams = state.kinesis.streams();
    let on_demand =
        streams.iter().filter(|stream| lock(&stream.settings).mode == StreamMode::OnDemand).count();
    Ok(json::ok(&DescribeLimitsOutput {
        shard_limit: SHARD_LIMIT,
        open_shard_count: streams.iter().map(|stream| stream.open_shard_count()).sum(),
        on_demand_stream_count: on_demand,
        on_demand_stream_count_limit: ON_DEMAND_STREAM_LIMIT,
    }))
}
