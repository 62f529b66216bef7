//! Kinesis Data Firehose: the awsJson1_1 operations (`Firehose_20150804.<Op>`) and the running delivery streams.

pub(crate) mod api;
pub(crate) mod buffer;
pub(crate) mod config;
pub(crate) mod delivery;
pub(crate) mod key;
pub(crate) mod output;
pub(crate) mod processing;
pub(crate) mod processor;
pub(crate) mod quota;
pub(crate) mod registry;
pub(crate) mod s3_config;
pub(crate) mod search;
pub(crate) mod search_delivery;
pub(crate) mod sink;
pub(crate) mod source;
pub(crate) mod tags;
pub(crate) mod transform;
pub(crate) mod update;

use std::sync::Arc;

use crate::error::ApiError;
use crate::faults::{EntryFault, FaultEvent, FaultKind};
use crate::json::{self, OpResult, Route};
use crate::state::State;
use crate::sync::lock;
use api::*;
use config::{DESTINATION_ID, Source};
use delivery::DeliveryStream;
use output::TaskContext;
use vocabulary::SearchService;

/// The `X-Amz-Target` prefix of Firehose operations.
pub(crate) const TARGET_PREFIX: &str = "Firehose_20150804.";

/// Most records in one PutRecordBatch request.
const MAX_BATCH_RECORDS: usize = 500;
/// Largest PutRecordBatch request, counting record data.
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Largest record, before base64.
const MAX_RECORD_BYTES: usize = 1000 * 1024;

/// Runs the Firehose operation `op` on a JSON request body.
pub(crate) fn handle(state: &State, op: &str, body: &[u8]) -> http::Response<s3s::Body> {
    json::dispatch(TABLES, TARGET_PREFIX, state, op, body)
}

/// Every routing table of the service: what `handle` dispatches and the coverage table lists.
pub(crate) const TABLES: &[&[Route<State>]] = &[ROUTES, tags::ROUTES, update::ROUTES];

/// The delivery stream and record operations; `tags` and `update` route the rest.
pub(crate) const ROUTES: &[Route<State>] = &[
    Route::partial(
        "CreateDeliveryStream",
        create_delivery_stream,
        "S3, extended S3 and OpenSearch/Elasticsearch destinations; dynamic partitioning, format \
         conversion, S3 backup of an S3 destination and processors other than Lambda and \
         AppendDelimiterToRecord are refused by name",
    ),
    Route::full("DescribeDeliveryStream", describe_delivery_stream),
    Route::full("ListDeliveryStreams", list_delivery_streams),
    Route::full("PutRecord", put_record),
    Route::full("PutRecordBatch", put_record_batch),
    Route::full("DeleteDeliveryStream", delete_delivery_stream),
];

fn validate_name(name: &str) -> Result<(), ApiError> {
    let valid_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if name.is_empty() || name.len() > 64 || !valid_chars {
        return Err(ApiError::validation(format!(
            "Value '{name}' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy \
             regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 1 and 64"
        )));
    }
    Ok(())
}

fn create_delivery_stream(state: &State, body: &[u8]) -> OpResult {
    let input: CreateDeliveryStreamInput = json::parse(body)?;
    let name = input.delivery_stream_name;
    validate_name(&name)?;
    if let Some(other) = input.other.keys().find(|key| key.ends_with("DestinationConfiguration")) {
        return Err(ApiError::unsupported(other));
    }
    let search_configs = [
        input.opensearch_destination_configuration.map(|config| (SearchService::OpenSearch, config)),
        input.elasticsearch_destination_configuration.map(|config| (SearchService::Elasticsearch, config)),
    ];
    let given = search_configs.iter().flatten().count()
        + usize::from(input.s3_destination_configuration.is_some())
        + usize::from(input.extended_s3_destination_configuration.is_some());
    if given > 1 {
        return Err(ApiError::invalid_argument(
            "Only one destination configuration may be given: S3DestinationConfiguration, \
             ExtendedS3DestinationConfiguration, AmazonopensearchserviceDestinationConfiguration or \
             ElasticsearchDestinationConfiguration.",
        ));
    }
    let (destination, search) = match (
        input.s3_destination_configuration.or(input.extended_s3_destination_configuration),
        search_configs,
    ) {
        (Some(config), _) => (s3_config::s3_destination(state, config)?, None),
        (None, [Some((service, config)), None] | [None, Some((service, config))]) => {
            let backup = s3_config::s3_destination(state, config.s3_configuration.clone())?;
            let search = search::search_destination(service, config, &backup)?;
            (backup, Some(search))
        }
        (None, _) => return Err(ApiError::invalid_argument("A destination configuration is required.")),
    };
    let source = match (input.delivery_stream_type.as_deref(), input.kinesis_stream_source_configuration) {
        (None | Some("DirectPut"), None) => Source::DirectPut,
        (None | Some("DirectPut"), Some(_)) => {
            return Err(ApiError::invalid_argument(
                "KinesisStreamSourceConfiguration is only allowed with DeliveryStreamType KinesisStreamAsSource.",
            ));
        }
        (Some("KinesisStreamAsSource"), Some(source)) => {
            let stream = state.kinesis.get_by_arn(&source.kinesis_stream_arn).ok_or_else(|| {
                ApiError::invalid_argument(format!(
                    "Kinesis stream {} does not exist.",
                    source.kinesis_stream_arn
                ))
            })?;
            // Firehose starts reading at LATEST: records put before creation are not delivered.
            let start_positions = stream
                .latest_positions()
                .map_err(|_| ApiError::invalid_argument("The source Kinesis stream was deleted."))?;
            Source::Kinesis {
                stream_arn: source.kinesis_stream_arn,
                role_arn: source.role_arn,
                stream,
                start_positions,
            }
        }
        (Some("KinesisStreamAsSource"), None) => {
            return Err(ApiError::invalid_argument(
                "KinesisStreamSourceConfiguration is required for DeliveryStreamType KinesisStreamAsSource.",
            ));
        }
        (Some(other), _) => return Err(ApiError::unsupported(format_args!("DeliveryStreamType {other}"))),
    };
    let arn = format!("arn:aws:firehose:{}:{}:deliverystream/{name}", state.region, state.account_id);
    let tags = tags::merged(&std::collections::BTreeMap::new(), input.tags)?;
    let encryption = input
        .delivery_stream_encryption_configuration_input
        .map(|input| config::EncryptionKey::new(&input.key_type, input.key_arn))
        .transpose()?;
    if encryption.is_some() && !matches!(source, Source::DirectPut) {
        return Err(ApiError::invalid_argument(
            "DeliveryStreamEncryptionConfigurationInput is not allowed with DeliveryStreamType \
             KinesisStreamAsSource: the source stream's own encryption applies.",
        ));
    }
    let stream = Arc::new(DeliveryStream::new(
        name.clone(),
        arn.clone(),
        state.clock.now(),
        source,
        destination,
        search,
        &state.clock,
    ));
    *lock(&stream.tags) = tags;
    if let Some(key) = encryption {
        *lock(&stream.encryption) = config::Encryption { key: Some(key), changed_ms: None };
    }
    let context = TaskContext {
        s3: Arc::clone(&state.s3),
        clock: state.clock,
        faults: Arc::clone(&state.faults),
        search: Arc::clone(&state.search),
        logs: Arc::clone(&state.logs),
    };
    state.firehose.start(stream, context, &state.account_id)?;
    tracing::debug!(delivery_stream = %name, "created delivery stream");
    Ok(json::ok(&CreateDeliveryStreamOutput { delivery_stream_arn: arn }))
}

fn describe_delivery_stream(state: &State, body: &[u8]) -> OpResult {
    let input: DeliveryStreamSelector = json::parse(body)?;
    let stream = state.firehose.get(&input.delivery_stream_name, &state.account_id)?;
    let destination = stream.destination();
    let encryption = lock(&stream.encryption).clone();
    let s3 = || S3DestinationDescription {
        role_arn: destination.role_arn.clone(),
        bucket_arn: destination.bucket_arn.clone(),
        prefix: destination.prefix.clone(),
        error_output_prefix: destination.error_output_prefix.clone(),
        buffering_hints: BufferingHints {
            size_in_mbs: Some(destination.size_in_mbs),
            interval_in_seconds: Some(destination.interval_in_seconds),
        },
        compression_format: destination.compression.as_str(),
        encryption_configuration: NoEncryption { no_encryption_config: "NoEncryption" },
        cloud_watch_logging_options: destination.logging.clone(),
    };
    let (delivery_stream_type, source) = match &stream.source {
        Source::DirectPut => ("DirectPut", None),
        Source::Kinesis { stream_arn, role_arn, .. } => (
            "KinesisStreamAsSource",
            Some(SourceDescription {
                kinesis_stream_source_description: KinesisStreamSourceDescription {
                    kinesis_stream_arn: stream_arn.clone(),
                    role_arn: role_arn.clone(),
                    delivery_start_timestamp: json::epoch_seconds(stream.created),
                },
            }),
        ),
    };
    Ok(json::ok(&DescribeDeliveryStreamOutput {
        delivery_stream_description: DeliveryStreamDescription {
            delivery_stream_name: stream.name.clone(),
            delivery_stream_arn: stream.arn.clone(),
            delivery_stream_status: "ACTIVE",
            delivery_stream_type,
            version_id: destination.version.to_string(),
            create_timestamp: json::epoch_seconds(stream.created),
            source,
            destinations: vec![match &stream.search {
                None => DestinationDescription {
                    destination_id: DESTINATION_ID,
                    s3_destination_description: Some(s3()),
                    extended_s3_destination_description: Some(ExtendedS3DestinationDescription {
                        base: s3(),
                        processing_configuration: destination.processing.clone(),
                        s3_backup_mode: "Disabled",
                        file_extension: destination.file_extension.clone(),
                    }),
                    opensearch_destination_description: None,
                    elasticsearch_destination_description: None,
                },
                Some(search) => {
                    let description = Some(search.describe(s3()));
                    let (opensearch, elasticsearch) = match search.service {
                        SearchService::OpenSearch => (description, None),
                        SearchService::Elasticsearch => (None, description),
                    };
                    DestinationDescription {
                        destination_id: DESTINATION_ID,
                        s3_destination_description: None,
                        extended_s3_destination_description: None,
                        opensearch_destination_description: opensearch,
                        elasticsearch_destination_description: elasticsearch,
                    }
                }
            }],
            has_more_destinations: false,
            delivery_stream_encryption_configuration: EncryptionStatus {
                key_arn: encryption.key.as_ref().and_then(|key| key.key_arn.clone()),
                key_type: encryption.key.as_ref().map(|key| key.key_type),
                status: encryption.status(crate::clock::unix_millis(state.clock.now())),
            },
            last_update_timestamp: lock(&stream.last_update).map(json::epoch_seconds),
        },
    }))
}

fn list_delivery_streams(state: &State, body: &[u8]) -> OpResult {
    let input: ListDeliveryStreamsInput = json::parse(body)?;
    let limit = match input.limit {
        None => 10,
        Some(limit @ 1..=10_000) => limit as usize,
        Some(limit) => {
            return Err(ApiError::validation(format!(
                "Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000"
            )));
        }
    };
    let mut names: Vec<String> = state
        .firehose
        .streams()
        .into_iter()
        .filter(|stream| match input.delivery_stream_type.as_deref() {
            None => true,
            Some("DirectPut") => stream.is_direct_put(),
            Some("KinesisStreamAsSource") => !stream.is_direct_put(),
            Some(_) => false,
        })
        .map(|stream| stream.name.clone())
        .collect();
    names.sort_unstable();
    let start = match input.exclusive_start_delivery_stream_name.as_deref() {
        Some(after) => names.partition_point(|name| name.as_str() <= after),
        None => 0,
    };
    let end = (start + limit).min(names.len());
    Ok(json::ok(&ListDeliveryStreamsOutput {
        has_more_delivery_streams: end < names.len(),
        delivery_stream_names: names.drain(start..end).collect(),
    }))
}

/// Looks up a stream that accepts direct puts.
fn direct_put_stream(state: &State, name: &str) -> Result<Arc<DeliveryStream>, ApiError> {
    let stream = state.firehose.get(name, &state.account_id)?;
    if !stream.is_direct_put() {
        return Err(ApiError::invalid_argument(format!(
            "This operation is not permitted on KinesisStreamAsSource delivery stream type. \
             Delivery stream {name} is of type KinesisStreamAsSource."
        )));
    }
    Ok(stream)
}

fn decode_record(data: &str) -> Result<Vec<u8>, ApiError> {
    let data = json::decode_blob("Data", data)?;
    if data.len() > MAX_RECORD_BYTES {
        return Err(ApiError::validation(format!(
            "Value at 'record.data' failed to satisfy constraint: Member must have length less than or \
             equal to {MAX_RECORD_BYTES} (got {} bytes)",
            data.len()
        )));
    }
    Ok(data)
}

fn put_record(state: &State, body: &[u8]) -> OpResult {
    let input: PutRecordInput<'_> = json::parse(body)?;
    let stream = direct_put_stream(state, &input.delivery_stream_name)?;
    let data = decode_record(&input.record.data)?;
    if let Some((request, faults)) = state.faults.put_request(1)
        && let Some(fault) = faults[0]
    {
        record_refusal(state, &stream, request, fault, &data);
        return Err(refusal_error(fault));
    }
    if stream.admit_direct_put(quota::DirectPutQuota::for_region(&state.region), [data.len()])
        != Some(vec![true])
    {
        return Err(slow_down());
    }
    let mut ids = stream.put(&[data]);
    Ok(json::ok(&PutRecordOutput { record_id: ids.pop().unwrap_or_default(), encrypted: encrypted(&stream) }))
}

fn put_record_batch(state: &State, body: &[u8]) -> OpResult {
    let input: PutRecordBatchInput<'_> = json::parse(body)?;
    let stream = direct_put_stream(state, &input.delivery_stream_name)?;
    let count = input.records.len();
    if !(1..=MAX_BATCH_RECORDS).contains(&count) {
        return Err(ApiError::validation(format!(
            "Value at 'records' failed to satisfy constraint: Member must have length between 1 and \
             {MAX_BATCH_RECORDS} (got {count})"
        )));
    }
    let records =
        input.records.iter().map(|record| decode_record(&record.data)).collect::<Result<Vec<_>, _>>()?;
    let total: usize = records.iter().map(Vec::len).sum();
    if total > MAX_BATCH_BYTES {
        return Err(ApiError::invalid_argument(format!(
            "Records size exceeds the 4 MiB limit of PutRecordBatch ({total} bytes)."
        )));
    }
    let injected = state.faults.put_request(count);
    let refused_at = |index: usize| injected.as_ref().and_then(|(_, faults)| faults[index]);
    // Entries that fault injection refuses never reach the quotas.
    let admitted = stream
        .admit_direct_put(
            quota::DirectPutQuota::for_region(&state.region),
            records
                .iter()
                .enumerate()
                .filter(|(index, _)| refused_at(*index).is_none())
                .map(|(_, r)| r.len()),
        )
        .ok_or_else(slow_down)?;
    let mut admitted = admitted.into_iter();
    let over_quota: Vec<bool> =
        (0..count).map(|index| refused_at(index).is_none() && admitted.next() == Some(false)).collect();
    let accepted: Vec<Vec<u8>> = records
        .iter()
        .enumerate()
        .filter(|(index, _)| refused_at(*index).is_none() && !over_quota[*index])
        .map(|(_, r)| r.clone())
        .collect();
    let mut ids = stream.put(&accepted).into_iter();
    let mut failed_put_count = 0;
    let mut request_responses = Vec::with_capacity(count);
    for (index, record) in records.iter().enumerate() {
        match (refused_at(index), &injected) {
            (Some(fault), Some((request, _))) => {
                failed_put_count += 1;
                record_refusal(state, &stream, *request, fault, record);
                let error = refusal_error(fault);
                request_responses.push(PutRecordBatchResponseEntry {
                    record_id: None,
                    error_code: Some(error.code),
                    error_message: Some(error.message),
                });
            }
            _ if over_quota[index] => {
                failed_put_count += 1;
                let error = slow_down();
                request_responses.push(PutRecordBatchResponseEntry {
                    record_id: None,
                    error_code: Some(error.code),
                    error_message: Some(error.message),
                });
            }
            _ => request_responses.push(PutRecordBatchResponseEntry {
                record_id: ids.next(),
                error_code: None,
                error_message: None,
            }),
        }
    }
    Ok(json::ok(&PutRecordBatchOutput { failed_put_count, encrypted: encrypted(&stream), request_responses }))
}

/// Whether records put now are encrypted at rest: server-side encryption is on.
fn encrypted(stream: &DeliveryStream) -> bool {
    lock(&stream.encryption).key.is_some()
}

/// The error of a put entry refused by fault injection, as Firehose reports it.
/// A call or an entry over the delivery stream's Direct PUT quotas (see `quota.rs`).
fn slow_down() -> ApiError {
    ApiError {
        status: http::StatusCode::SERVICE_UNAVAILABLE,
        code: "ServiceUnavailableException",
        message: "Slow down.".to_owned(),
    }
}

fn refusal_error(fault: EntryFault) -> ApiError {
    match fault {
        EntryFault::Throttle => ApiError {
            status: http::StatusCode::SERVICE_UNAVAILABLE,
            code: "ServiceUnavailableException",
            message: "Slow down.".to_owned(),
        },
        EntryFault::InternalFailure => ApiError {
            status: http::StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalFailure",
            message: "Internal service failure.".to_owned(),
        },
    }
}

/// Logs a direct-put record refused by fault injection as ground truth.
fn record_refusal(state: &State, stream: &DeliveryStream, request: u64, fault: EntryFault, data: &[u8]) {
    state.faults.record(FaultEvent {
        kind: match fault {
            EntryFault::Throttle => FaultKind::ThrottleBurst,
            EntryFault::InternalFailure => FaultKind::InternalFailure,
        },
        stream: stream.name.clone(),
        ordinal: request,
        shard_id: None,
        partition_key: None,
        object: None,
        data: data.to_vec(),
    });
}

fn delete_delivery_stream(state: &State, body: &[u8]) -> OpResult {
    let input: DeliveryStreamSelector = json::parse(body)?;
    let removed = state.firehose.remove(&input.delivery_stream_name);
    let stream = removed.ok_or_else(|| {
        ApiError::not_found(format!(
            "Firehose {} under account {} not found.",
            input.delivery_stream_name, state.account_id
        ))
    })?;
    stream.stop();
    tracing::debug!(delivery_stream = %stream.name, "deleted delivery stream");
    Ok(json::ok(&Empty {}))
}
