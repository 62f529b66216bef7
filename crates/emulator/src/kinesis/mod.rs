//! Kinesis Data Streams: the awsJson1_1 operations (`Kinesis_20131202.<Op>`) over the in-memory store.

pub(crate) mod api;
pub(crate) mod consumers;
pub(crate) mod fan_out;
pub(crate) mod limits;
pub(crate) mod reshard;
pub(crate) mod sequence;
pub(crate) mod settings;
pub(crate) mod shards;
pub(crate) mod store;
pub(crate) mod subscription;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;

use crate::clock::unix_millis;
use crate::error::ApiError;
use crate::json::{self, OpResult, Route};
use crate::state::State;
use crate::sync::lock;
use api::*;
use sequence::{SequenceNumber, ShardIterator};
use store::{Entry, PutOutcome, ReadRefused, StartingPosition, Stream, StreamMode, StreamSettings};

/// The `X-Amz-Target` prefix of Kinesis operations.
pub(crate) const TARGET_PREFIX: &str = "Kinesis_20131202.";

/// Largest record payload, before base64.
const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Largest PutRecords request, counting data and partition keys.
const MAX_PUT_RECORDS_BYTES: usize = 5 * 1024 * 1024;
/// Most entries in one PutRecords request.
const MAX_PUT_RECORDS_ENTRIES: usize = 500;
/// Most records one GetRecords call returns.
const MAX_GET_RECORDS: usize = 10_000;
/// Most data one GetRecords call returns.
const MAX_GET_RECORDS_BYTES: usize = 10 * 1024 * 1024;
/// How long a shard iterator stays valid, in emulator milliseconds: "A shard iterator expires 5
/// minutes after it is returned to the requester" (GetShardIterator, Kinesis API Reference).
const ITERATOR_LIFETIME_MS: i64 = 5 * 60 * 1000;

/// Runs the Kinesis operation `op` on a JSON request body.
pub(crate) fn handle(state: &State, op: &str, body: &[u8]) -> http::Response<s3s::Body> {
    json::dispatch(TABLES, TARGET_PREFIX, state, op, body)
}

/// Every routing table of the service: what `handle` dispatches and the coverage table lists.
pub(crate) const TABLES: &[&[Route<State>]] = &[ROUTES, settings::ROUTES, consumers::ROUTES, reshard::ROUTES];

/// The stream and record operations; `settings`, `consumers` and `reshard` route the rest.
pub(crate) const ROUTES: &[Route<State>] = &[
    Route::full("CreateStream", create_stream),
    Route::full("DescribeStreamSummary", describe_stream_summary),
    Route::full("DescribeStream", describe_stream),
    Route::full("ListShards", list_shards),
    Route::full("ListStreams", list_streams),
    Route::full("PutRecord", put_record),
    Route::full("PutRecords", put_records),
    Route::full("GetShardIterator", get_shard_iterator),
    Route::full("GetRecords", get_records),
    Route::full("DeleteStream", delete_stream),
    Route::full("SubscribeToShard", subscription::subscribe),
];

fn create_stream(state: &State, body: &[u8]) -> OpResult {
    let input: CreateStreamInput = json::parse(body)?;
    store::check_name("streamName", &input.stream_name)?;
    let mode = match input.stream_mode_details.as_ref().map(|d| d.stream_mode.as_str()) {
        None => None,
        Some("PROVISIONED") => Some(StreamMode::Provisioned),
        Some("ON_DEMAND") => Some(StreamMode::OnDemand),
        Some(other) => {
            return Err(ApiError::validation(format!(
                "Value '{other}' at 'streamModeDetails.streamMode' failed to satisfy constraint: \
                 Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]"
            )));
        }
    };
    let (mode, shards) = match (mode, input.shard_count) {
        (Some(StreamMode::OnDemand), _) | (None, None) => (StreamMode::OnDemand, store::ON_DEMAND_SHARDS),
        (Some(StreamMode::Provisioned), None) => {
            return Err(ApiError::invalid_argument("ShardCount is required for PROVISIONED streams."));
        }
        (_, Some(count)) if count < 1 => {
            return Err(ApiError::validation(format!(
                "Value '{count}' at 'shardCount' failed to satisfy constraint: \
                 Member must have value greater than or equal to 1"
            )));
        }
        (_, Some(count)) if count > store::MAX_SHARDS => {
            let max = store::MAX_SHARDS;
            return Err(ApiError {
                status: http::StatusCode::BAD_REQUEST,
                code: "LimitExceededException",
                message: format!(
                    "This request would exceed the shard limit for the account {}. \
                     Current limit of shards is {max}.",
                    state.kinesis.account_id()
                ),
            });
        }
        (_, Some(count)) => (StreamMode::Provisioned, count as usize),
    };
    let stream = state.kinesis.create(&input.stream_name, shards, mode, state.clock)?;
    tracing::debug!(stream = %stream.name, shards, "created Kinesis stream");
    Ok(json::ok(&Empty {}))
}

fn lookup(state: &State, name: Option<&str>, arn: Option<&str>) -> Result<Arc<Stream>, ApiError> {
    state.kinesis.get(name, arn)
}

fn mode_details(settings: &StreamSettings) -> StreamModeDetails {
    StreamModeDetails { stream_mode: settings.mode.as_str().to_owned() }
}

/// What the Describe operations report of a stream's monitoring and encryption.
fn monitoring(settings: &StreamSettings) -> Vec<EnhancedMetrics> {
    vec![EnhancedMetrics { shard_level_metrics: settings.shard_level_metrics.iter().cloned().collect() }]
}

/// The shards a listing shows, in index order: open ones, and closed ones until the retention
/// period has passed since they closed ("Resharding a stream", Kinesis Data Streams Developer Guide).
struct Listing {
    lineage: Arc<shards::Lineage>,
    listed: Vec<usize>,
    /// The trim horizon: the oldest moment the retention period still covers, never before the
    /// stream was created, in emulator milliseconds since the Unix epoch.
    horizon_ms: i64,
}

fn listed_shards(state: &State, stream: &Stream) -> Listing {
    let lineage = stream.lineage();
    let retention_ms = lock(&stream.settings).retention_ms();
    let now_ms = unix_millis(state.clock.now());
    let listed = (0..lineage.shards().len())
        .filter(|&shard| {
            lineage.shards()[shard].closed.is_none_or(|closed| closed.at_ms + retention_ms > now_ms)
        })
        .collect();
    let horizon_ms = (now_ms - retention_ms).max(unix_millis(stream.created));
    Listing { lineage, listed, horizon_ms }
}

fn describe_stream_summary(state: &State, body: &[u8]) -> OpResult {
    let input: StreamSelector = json::parse(body)?;
    let stream = lookup(state, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    let settings = lock(&stream.settings).clone();
    Ok(json::ok(&DescribeStreamSummaryOutput {
        stream_description_summary: StreamDescriptionSummary {
            stream_name: stream.name.clone(),
            stream_arn: stream.arn.clone(),
            stream_status: stream.status(),
            stream_mode_details: mode_details(&settings),
            retention_period_hours: settings.retention_hours,
            stream_creation_timestamp: json::epoch_seconds(stream.created),
            enhanced_monitoring: monitoring(&settings),
            encryption_type: encryption_name(settings.kms_key_id.is_some()),
            key_id: settings.kms_key_id.clone(),
            open_shard_count: stream.open_shard_count(),
            consumer_count: lock(&stream.consumers).len(),
        },
    }))
}

fn describe_stream(state: &State, body: &[u8]) -> OpResult {
    let input: DescribeStreamInput = json::parse(body)?;
    let stream = lookup(state, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    let limit = clamp_limit(input.limit, 100, 10_000, "limit")?;
    let after = input.exclusive_start_shard_id.as_deref().map(store::shard_number);
    let Listing { lineage, listed, .. } = listed_shards(state, &stream);
    let listed: Vec<usize> = listed
        .into_iter()
        .filter(|&shard| match after {
            None => true,
            Some(after) => after.is_some_and(|after| shard > after),
        })
        .collect();
    let settings = lock(&stream.settings).clone();
    Ok(json::ok(&DescribeStreamOutput {
        stream_description: StreamDescription {
            stream_name: stream.name.clone(),
            stream_arn: stream.arn.clone(),
            stream_status: stream.status(),
            stream_mode_details: mode_details(&settings),
            shards: listed.iter().take(limit).map(|&i| Shard::new(i, &lineage.shards()[i])).collect(),
            has_more_shards: listed.len() > limit,
            retention_period_hours: settings.retention_hours,
            stream_creation_timestamp: json::epoch_seconds(stream.created),
            enhanced_monitoring: monitoring(&settings),
            encryption_type: encryption_name(settings.kms_key_id.is_some()),
            key_id: settings.kms_key_id.clone(),
        },
    }))
}

/// Reads an optional page-size parameter, applying AWS's default and bounds.
fn clamp_limit(value: Option<i64>, default: usize, max: usize, field: &str) -> Result<usize, ApiError> {
    match value {
        None => Ok(default),
        Some(v) if v >= 1 && v as u64 <= max as u64 => Ok(v as usize),
        Some(v) => Err(ApiError::validation(format!(
            "Value '{v}' at '{field}' failed to satisfy constraint: Member must have value between 1 and {max}"
        ))),
    }
}

/// ListShards' `ShardFilter`, which a `NextToken` carries on to the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShardFilterKind {
    /// `FROM_TRIM_HORIZON`, the default: every shard within the retention period.
    FromTrimHorizon,
    AfterShardId(usize),
    AtTrimHorizon,
    AtLatest,
    AtTimestamp(i64),
    FromTimestamp(i64),
}

impl ShardFilterKind {
    fn parse(filter: &ShardFilter) -> Result<ShardFilterKind, ApiError> {
        let timestamp = || {
            filter.timestamp.map(|seconds| (seconds * 1000.0) as i64).ok_or_else(|| {
                ApiError::invalid_argument(format!(
                    "Timestamp is required for ShardFilter type {}.",
                    filter.kind
                ))
            })
        };
        Ok(match filter.kind.as_str() {
            "AFTER_SHARD_ID" => {
                let id = filter.shard_id.as_deref().ok_or_else(|| {
                    ApiError::invalid_argument("ShardId is required for ShardFilter type AFTER_SHARD_ID.")
                })?;
                let index = store::shard_number(id).ok_or_else(|| {
                    ApiError::invalid_argument(format!("Invalid ShardId in ShardFilter: {id}"))
                })?;
                ShardFilterKind::AfterShardId(index)
            }
            "AT_TRIM_HORIZON" => ShardFilterKind::AtTrimHorizon,
            "FROM_TRIM_HORIZON" => ShardFilterKind::FromTrimHorizon,
            "AT_LATEST" => ShardFilterKind::AtLatest,
            "AT_TIMESTAMP" => ShardFilterKind::AtTimestamp(timestamp()?),
            "FROM_TIMESTAMP" => ShardFilterKind::FromTimestamp(timestamp()?),
            other => {
                return Err(ApiError::validation(format!(
                    "Value '{other}' at 'shardFilter.type' failed to satisfy constraint: Member must satisfy enum \
                     value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, \
                     FROM_TIMESTAMP]"
                )));
            }
        })
    }

    /// The filter as a `NextToken` keeps it.
    fn encode(self) -> String {
        match self {
            ShardFilterKind::FromTrimHorizon => "H".to_owned(),
            ShardFilterKind::AfterShardId(index) => format!("S{index}"),
            ShardFilterKind::AtTrimHorizon => "T".to_owned(),
            ShardFilterKind::AtLatest => "L".to_owned(),
            ShardFilterKind::AtTimestamp(ms) => format!("A{ms}"),
            ShardFilterKind::FromTimestamp(ms) => format!("F{ms}"),
        }
    }

    fn decode(text: &str) -> Option<ShardFilterKind> {
        let (kind, rest) = text.split_at_checked(1)?;
        Some(match kind {
            "H" => ShardFilterKind::FromTrimHorizon,
            "S" => ShardFilterKind::AfterShardId(rest.parse().ok()?),
            "T" => ShardFilterKind::AtTrimHorizon,
            "L" => ShardFilterKind::AtLatest,
            "A" => ShardFilterKind::AtTimestamp(rest.parse().ok()?),
            "F" => ShardFilterKind::FromTimestamp(rest.parse().ok()?),
            _ => return None,
        })
    }

    /// Whether the filter keeps shard `index`, with the trim horizon at `horizon_ms` (the oldest
    /// moment the retention period still covers, never before the stream was created).
    fn keeps(self, index: usize, info: &shards::ShardInfo, horizon_ms: i64) -> bool {
        // Open at `t`: opened by then and not closed before it.
        let open_at = |t: i64| info.opened_ms <= t && info.closed.is_none_or(|closed| closed.at_ms >= t);
        match self {
            ShardFilterKind::FromTrimHorizon => true,
            ShardFilterKind::AfterShardId(after) => index > after,
            ShardFilterKind::AtTrimHorizon => open_at(horizon_ms),
            ShardFilterKind::AtLatest => info.closed.is_none(),
            ShardFilterKind::AtTimestamp(t) => open_at(t.max(horizon_ms)),
            // "Corrected to TRIM_HORIZON of the data stream if FROM_TIMESTAMP is less than the
            // TRIM_HORIZON value" (ShardFilter, Kinesis API Reference).
            ShardFilterKind::FromTimestamp(t) => {
                info.closed.is_none_or(|closed| closed.at_ms >= t.max(horizon_ms))
            }
        }
    }
}

fn list_shards(state: &State, body: &[u8]) -> OpResult {
    let input: ListShardsInput = json::parse(body)?;
    let max = clamp_limit(input.max_results, 1000, 10_000, "maxResults")?;
    let (stream, first, filter) = match input.next_token.as_deref() {
        Some(token) => {
            if input.stream_name.is_some() || input.stream_arn.is_some() {
                return Err(ApiError::invalid_argument(
                    "NextToken and StreamName or StreamARN cannot be provided together.",
                ));
            }
            let (name, first, filter) = decode_list_shards_token(token)
                .ok_or_else(|| ApiError::invalid_argument(format!("Invalid NextToken: {token}")))?;
            (lookup(state, Some(&name), None)?, first, filter)
        }
        None => {
            let stream = lookup(state, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
            let first = match input.exclusive_start_shard_id.as_deref() {
                Some(id) => store::shard_number(id).map_or(usize::MAX, |index| index + 1),
                None => 0,
            };
            let filter = match &input.shard_filter {
                Some(filter) => ShardFilterKind::parse(filter)?,
                None => ShardFilterKind::FromTrimHorizon,
            };
            (stream, first, filter)
        }
    };
    let Listing { lineage, listed, horizon_ms } = listed_shards(state, &stream);
    let matching: Vec<usize> = listed
        .into_iter()
        .filter(|&index| index >= first && filter.keeps(index, &lineage.shards()[index], horizon_ms))
        .collect();
    let page = &matching[..matching.len().min(max)];
    let next_token = (matching.len() > max).then(|| {
        let next = page.last().map_or(first, |&last| last + 1);
        URL_SAFE_NO_PAD.encode(format!("{next}|{}|{}", filter.encode(), stream.name))
    });
    Ok(json::ok(&ListShardsOutput {
        shards: page.iter().map(|&i| Shard::new(i, &lineage.shards()[i])).collect(),
        next_token,
    }))
}

fn decode_list_shards_token(token: &str) -> Option<(String, usize, ShardFilterKind)> {
    let plain = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let mut parts = plain.splitn(3, '|');
    let first = parts.next()?.parse().ok()?;
    let filter = ShardFilterKind::decode(parts.next()?)?;
    Some((parts.next()?.to_owned(), first, filter))
}

fn list_streams(state: &State, body: &[u8]) -> OpResult {
    let input: ListStreamsInput = json::parse(body)?;
    let limit = clamp_limit(input.limit, 100, 10_000, "limit")?;
    let names = state.kinesis.names();
    let start = match input.exclusive_start_stream_name.as_deref() {
        Some(after) => names.partition_point(|name| name.as_str() <= after),
        None => 0,
    };
    let end = (start + limit).min(names.len());
    Ok(json::ok(&ListStreamsOutput {
        stream_names: names[start..end].to_vec(),
        has_more_streams: end < names.len(),
    }))
}

/// Validates one entry of a put request and turns it into a store entry.
fn entry(data: &str, partition_key: String, explicit_hash_key: Option<&str>) -> Result<Entry, ApiError> {
    let key_chars = partition_key.chars().count();
    if !(1..=256).contains(&key_chars) {
        return Err(ApiError::validation(format!(
            "Value '{partition_key}' at 'partitionKey' failed to satisfy constraint: \
             Member must have length between 1 and 256"
        )));
    }
    let data = json::decode_blob("Data", data)?;
    if data.len() > MAX_RECORD_BYTES {
        return Err(ApiError::validation(format!(
            "Value at 'data' failed to satisfy constraint: Member must have length less than or equal \
             to {MAX_RECORD_BYTES} (got {} bytes)",
            data.len()
        )));
    }
    let explicit_hash_key = match explicit_hash_key {
        None => None,
        Some(text) => Some(vocabulary::parse_explicit_hash_key(text).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be a decimal integer in the range \
                 [0, 2^128 - 1], got '{text}'."
            ))
        })?),
    };
    Ok(Entry { data: Bytes::from(data), partition_key, explicit_hash_key, sequence_after: None })
}

fn put_record(state: &State, body: &[u8]) -> OpResult {
    let input: PutRecordInput<'_> = json::parse(body)?;
    let stream = lookup(state, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    let sequence_after = match input.sequence_number_for_ordering.as_deref() {
        None => None,
        Some(text) => Some(SequenceNumber::parse(text).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "ExclusiveMinimumSequenceNumber {text} used in PutRecord on stream {} under account {} \
                 is invalid.",
                stream.name,
                state.kinesis.account_id()
            ))
        })?),
    };
    let mut entry = entry(&input.data, input.partition_key, input.explicit_hash_key.as_deref())?;
    // Records of one shard are numbered in arrival order under the stream's lock, so a record
    // already gets a sequence number greater than any acknowledged before it; the store also
    // skips past a SequenceNumberForOrdering that is ahead of the shard.
    entry.sequence_after = sequence_after;
    let outcome = stream.put(vec![entry], &state.clock, &state.faults)?;
    let accepted = match outcome[0] {
        PutOutcome::Accepted(accepted) => accepted,
        PutOutcome::Throttled { shard_index } => return Err(throttled(state, &stream, shard_index)),
        PutOutcome::InternalFailure => return Err(internal_failure()),
    };
    Ok(json::ok(&PutRecordOutput {
        shard_id: store::shard_id(accepted.shard_index),
        sequence_number: accepted.sequence.format(),
        encryption_type: encryption_type(&stream),
    }))
}

fn put_records(state: &State, body: &[u8]) -> OpResult {
    let input: PutRecordsInput<'_> = json::parse(body)?;
    let stream = lookup(state, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    let count = input.records.len();
    if !(1..=MAX_PUT_RECORDS_ENTRIES).contains(&count) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'records' failed to satisfy constraint: \
             Member must have length between 1 and {MAX_PUT_RECORDS_ENTRIES} (got {count})"
        )));
    }
    let mut entries = Vec::with_capacity(count);
    let mut request_bytes = 0usize;
    for record in input.records {
        let entry = entry(&record.data, record.partition_key, record.explicit_hash_key.as_deref())?;
        request_bytes += entry.data.len() + entry.partition_key.len();
        entries.push(entry);
    }
    if request_bytes > MAX_PUT_RECORDS_BYTES {
        return Err(ApiError::invalid_argument(format!(
            "Records size exceeds 5 MB limit ({request_bytes} bytes of data and partition keys)."
        )));
    }
    let outcomes = stream.put(entries, &state.clock, &state.faults)?;
    let mut failed_record_count = 0;
    let records = outcomes
        .iter()
        .map(|outcome| match *outcome {
            PutOutcome::Accepted(a) => PutRecordsResultEntry::Accepted {
                shard_id: store::shard_id(a.shard_index),
                sequence_number: a.sequence.format(),
            },
            PutOutcome::Throttled { shard_index } => {
                failed_record_count += 1;
                let err = throttled(state, &stream, shard_index);
                PutRecordsResultEntry::Failed { error_code: err.code, error_message: err.message }
            }
            PutOutcome::InternalFailure => {
                failed_record_count += 1;
                let err = internal_failure();
                PutRecordsResultEntry::Failed { error_code: err.code, error_message: err.message }
            }
        })
        .collect();
    if failed_record_count > 0 {
        tracing::debug!(stream = %stream.name, failed_record_count, "PutRecords entries throttled");
    }
    Ok(json::ok(&PutRecordsOutput {
        failed_record_count,
        records,
        encryption_type: encryption_type(&stream),
    }))
}

/// The `EncryptionType` a write reports: `KMS` while server-side encryption is on.
fn encryption_type(stream: &Stream) -> &'static str {
    encryption_name(lock(&stream.settings).kms_key_id.is_some())
}

fn encryption_name(encrypted: bool) -> &'static str {
    if encrypted { "KMS" } else { "NONE" }
}

/// The error of an entry that failed inside the service, as AWS reports it.
fn internal_failure() -> ApiError {
    ApiError {
        status: http::StatusCode::INTERNAL_SERVER_ERROR,
        code: "InternalFailure",
        message: "Internal service failure.".to_owned(),
    }
}

/// The error for a write or read beyond a shard's per-second limits, in AWS's words.
fn throttled(state: &State, stream: &Stream, shard_index: usize) -> ApiError {
    ApiError::bad_request(
        "ProvisionedThroughputExceededException",
        format!(
            "Rate exceeded for shard {} in stream {} under account {}.",
            store::shard_id(shard_index),
            stream.name,
            state.kinesis.account_id()
        ),
    )
}

fn get_shard_iterator(state: &State, body: &[u8]) -> OpResult {
    let input: GetShardIteratorInput = json::parse(body)?;
    let stream = lookup(state, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    let shard_index = stream.shard_or_not_found(&input.shard_id, state.kinesis.account_id())?;
    let start = StartingPosition::parse(
        ("ShardIteratorType", &input.shard_iterator_type),
        input.starting_sequence_number.as_deref(),
        input.timestamp,
    )?;
    let now_ms = unix_millis(state.clock.now());
    stream.trim_expired(now_ms);
    let position = stream.starting_position(shard_index, start)?;
    let iterator = ShardIterator {
        stream_uid: stream.uid,
        shard_index: shard_index as u64,
        position,
        issued_ms: now_ms,
        stream_name: stream.name.clone(),
    };
    Ok(json::ok(&GetShardIteratorOutput { shard_iterator: iterator.encode() }))
}

fn get_records(state: &State, body: &[u8]) -> OpResult {
    let input: GetRecordsInput = json::parse(body)?;
    let limit = clamp_limit(input.limit, MAX_GET_RECORDS, MAX_GET_RECORDS, "limit")?;
    let iterator = ShardIterator::decode(&input.shard_iterator).ok_or_else(|| {
        ApiError::invalid_argument(format!("Invalid ShardIterator: {}", input.shard_iterator))
    })?;
    let stream = lookup(state, Some(&iterator.stream_name), None)?;
    let shard_index = usize::try_from(iterator.shard_index).unwrap_or(usize::MAX);
    if stream.uid != iterator.stream_uid || shard_index >= stream.shard_count() {
        return Err(ApiError::expired_iterator(
            "The shard iterator refers to a stream that no longer exists.",
        ));
    }
    let now = state.clock.now();
    let now_ms = unix_millis(now);
    if now_ms - iterator.issued_ms > ITERATOR_LIFETIME_MS {
        return Err(ApiError::expired_iterator(format!(
            "Iterator expired. The iterator was created at time {} while right now it is {} which is \
             further in the future than the tolerated delay of {ITERATOR_LIFETIME_MS} milliseconds.",
            display_millis(iterator.issued_ms),
            display_millis(now_ms),
        )));
    }
    stream.trim_expired(now_ms);
    let mut records = Vec::new();
    let since_start_ms = u64::try_from(state.clock.elapsed_at(now).as_millis()).unwrap_or(u64::MAX);
    let outcome = stream
        .get_records(
            shard_index,
            iterator.position,
            (limit, MAX_GET_RECORDS_BYTES),
            since_start_ms,
            &mut records,
        )
        .map_err(|refused| match refused {
            ReadRefused::Deleted => ApiError::not_found(format!("Stream {} was deleted.", stream.name)),
            ReadRefused::Throttled => throttled(state, &stream, shard_index),
        })?;
    // At the end of a closed shard: no next iterator, and the children to go on with (GetRecords,
    // Kinesis API Reference: "ChildShards ... returned ... only when the end of the current shard is
    // reached").
    let next = ShardIterator { position: outcome.next_position, issued_ms: now_ms, ..iterator };
    let output = GetRecordsOutput {
        records: records.iter().map(|record| RecordOut::new(record, shard_index)).collect(),
        next_shard_iterator: (!outcome.shard_ended).then(|| next.encode()),
        millis_behind_latest: outcome.oldest_unread_ms.map_or(0, |ms| (now_ms - ms).max(0)),
        child_shards: outcome.shard_ended.then(|| ChildShard::of(&stream.lineage(), shard_index)),
    };
    Ok(json::ok(&output))
}

/// An emulator time in milliseconds since the Unix epoch, as RFC 3339 for an error message.
fn display_millis(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

fn delete_stream(state: &State, body: &[u8]) -> OpResult {
    let input: DeleteStreamInput = json::parse(body)?;
    let stream = lookup(state, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    // "If this parameter is unset (null) or if you set it to false, and the stream has registered
    // consumers, the call to DeleteStream fails with a ResourceInUseException" (DeleteStream).
    let consumers = lock(&stream.consumers).len();
    if consumers > 0 && input.enforce_consumer_deletion != Some(true) {
        return Err(ApiError::in_use(format!(
            "Stream {} under account {} has {consumers} registered consumers; set EnforceConsumerDeletion \
             to delete it with them.",
            stream.name,
            state.kinesis.account_id()
        )));
    }
    state.kinesis.delete(input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    Ok(json::ok(&Empty {}))
}
