//! A delivery stream's configuration as the emulator runs it: its source and its S3 destination (the
//! search destination's own settings are in `search.rs`), and how a requested S3 destination
//! configuration is checked and becomes it.

use std::io::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use flate2::write::GzEncoder;

use crate::error::ApiError;
use crate::firehose::api::{
    BufferingHints, CloudWatchLoggingOptions, EnabledFlag, ProcessingConfiguration,
    S3DestinationConfiguration,
};
use crate::firehose::processor::{self, LambdaProcessor};
use crate::kinesis::store::Stream;
use crate::state::State;
use vocabulary::{PrefixError, PrefixTemplate};

/// The destination id AWS gives the only destination of a delivery stream.
pub(crate) const DESTINATION_ID: &str = "destinationId-000000000001";

/// How long a delivery stream stays `ENABLING` or `DISABLING` after Start- or
/// StopDeliveryStreamEncryption, in emulator milliseconds. AWS documents the states, not how long
/// they last; one second lets a client that waits for `ENABLED` see the transition.
const ENCRYPTION_TRANSITION_MS: i64 = 1_000;

/// A delivery stream's server-side encryption (Start/StopDeliveryStreamEncryption).
#[derive(Debug, Clone, Default)]
pub(crate) struct Encryption {
    /// The key while encryption is on.
    pub(crate) key: Option<EncryptionKey>,
    /// When encryption was last started or stopped, in emulator milliseconds since the epoch.
    pub(crate) changed_ms: Option<i64>,
}

/// `DeliveryStreamEncryptionConfigurationInput`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncryptionKey {
    /// `AWS_OWNED_CMK` or `CUSTOMER_MANAGED_CMK`.
    pub(crate) key_type: &'static str,
    /// The customer-managed key; `None` for an AWS-owned key.
    pub(crate) key_arn: Option<String>,
}

impl Encryption {
    /// `DeliveryStreamEncryptionConfiguration.Status` at `now_ms`.
    pub(crate) fn status(&self, now_ms: i64) -> &'static str {
        let changing = self.changed_ms.is_some_and(|at| now_ms - at < ENCRYPTION_TRANSITION_MS);
        match (&self.key, changing) {
            (Some(_), true) => "ENABLING",
            (Some(_), false) => "ENABLED",
            (None, true) => "DISABLING",
            (None, false) => "DISABLED",
        }
    }
}

impl EncryptionKey {
    /// Checks a requested key: a customer-managed key needs its ARN, an AWS-owned key takes none.
    pub(crate) fn new(key_type: &str, key_arn: Option<String>) -> Result<EncryptionKey, ApiError> {
        match (key_type, key_arn) {
            ("AWS_OWNED_CMK", None) => Ok(EncryptionKey { key_type: "AWS_OWNED_CMK", key_arn: None }),
            ("AWS_OWNED_CMK", Some(_)) => {
                Err(ApiError::invalid_argument("KeyARN must not be specified for KeyType AWS_OWNED_CMK."))
            }
            ("CUSTOMER_MANAGED_CMK", Some(arn)) => {
                Ok(EncryptionKey { key_type: "CUSTOMER_MANAGED_CMK", key_arn: Some(arn) })
            }
            ("CUSTOMER_MANAGED_CMK", None) => {
                Err(ApiError::invalid_argument("KeyARN is required for KeyType CUSTOMER_MANAGED_CMK."))
            }
            (other, _) => Err(ApiError::validation(format!(
                "Value '{other}' at 'deliveryStreamEncryptionConfigurationInput.keyType' failed to satisfy \
                 constraint: Member must satisfy enum value set: [AWS_OWNED_CMK, CUSTOMER_MANAGED_CMK]"
            ))),
        }
    }
}

/// Where a delivery stream's records come from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Producers call PutRecord and PutRecordBatch.
    DirectPut,
    /// Firehose reads a Kinesis stream, from LATEST at creation, inside the process.
    Kinesis { stream_arn: String, role_arn: String, stream: Arc<Stream>, start_positions: Vec<u64> },
}

/// The S3 destination as configured, kept for describing it back.
#[derive(Debug)]
pub(crate) struct Destination {
    pub(crate) role_arn: String,
    pub(crate) bucket_arn: String,
    pub(crate) bucket: String,
    pub(crate) prefix: Option<String>,
    pub(crate) prefix_template: PrefixTemplate,
    pub(crate) error_output_prefix: Option<String>,
    /// Where error output goes: `ErrorOutputPrefix`, or its default under `Prefix`.
    pub(crate) error_output_template: PrefixTemplate,
    pub(crate) size_in_mbs: i64,
    pub(crate) interval_in_seconds: i64,
    pub(crate) compression: Compression,
    /// Whether the `AppendDelimiterToRecord` processor adds a newline after every record.
    pub(crate) append_delimiter: bool,
    /// The `Lambda` processor, which transforms records before they reach the destination buffer.
    pub(crate) lambda: Option<LambdaProcessor>,
    /// The processing configuration as given, for describing it back.
    pub(crate) processing: ProcessingConfiguration,
    pub(crate) file_extension: Option<String>,
    /// `CloudWatchLoggingOptions`, echoed back; delivery errors go to the emulator's log.
    pub(crate) logging: CloudWatchLoggingOptions,
    /// The delivery stream version this configuration took effect at: 1 at creation, one more
    /// with every UpdateDestination. Object names carry it.
    pub(crate) version: u32,
    /// The configuration as requested, which UpdateDestination merges its update into.
    pub(crate) given: serde_json::Value,
}

/// Checks an S3 destination and turns it into the running configuration.
pub(crate) fn s3_destination(
    state: &State,
    config: S3DestinationConfiguration,
) -> Result<Destination, ApiError> {
    let given = serde_json::to_value(&config).unwrap_or_default();
    let bucket = config
        .bucket_arn
        .strip_prefix("arn:aws:s3:::")
        .filter(|bucket| !bucket.is_empty() && !bucket.contains('/'))
        .ok_or_else(|| {
            ApiError::validation(format!(
                "Value '{}' at 'bucketARN' failed to satisfy constraint: Member must satisfy regular \
                 expression pattern: arn:.*:s3:::[\\w\\.\\-]{{1,255}}",
                config.bucket_arn
            ))
        })?
        .to_owned();
    let hints =
        config.buffering_hints.unwrap_or(BufferingHints { size_in_mbs: None, interval_in_seconds: None });
    let size_in_mbs = hints.size_in_mbs.unwrap_or(5);
    if !(1..=128).contains(&size_in_mbs) {
        return Err(ApiError::validation(format!(
            "Value '{size_in_mbs}' at 'bufferingHints.sizeInMBs' failed to satisfy constraint: \
             Member must have value between 1 and 128"
        )));
    }
    let interval_in_seconds = hints.interval_in_seconds.unwrap_or(300);
    if !(0..=900).contains(&interval_in_seconds) {
        return Err(ApiError::validation(format!(
            "Value '{interval_in_seconds}' at 'bufferingHints.intervalInSeconds' failed to satisfy \
             constraint: Member must have value between 0 and 900"
        )));
    }
    let compression = match config.compression_format.as_deref() {
        None | Some("UNCOMPRESSED") => Compression::Uncompressed,
        Some("GZIP") => Compression::Gzip,
        Some(format @ ("ZIP" | "Snappy" | "HADOOP_SNAPPY")) => {
            return Err(ApiError::unsupported(format_args!("CompressionFormat {format}")));
        }
        Some(other) => {
            return Err(ApiError::validation(format!(
                "Value '{other}' at 'compressionFormat' failed to satisfy constraint: Member must satisfy \
                 enum value set: [UNCOMPRESSED, GZIP, ZIP, Snappy, HADOOP_SNAPPY]"
            )));
        }
    };
    let enabled = |flag: &Option<EnabledFlag>| flag.as_ref().is_some_and(|f| f.enabled.unwrap_or(false));
    let processing = config
        .processing_configuration
        .unwrap_or(ProcessingConfiguration { enabled: None, processors: Vec::new() });
    let processing_enabled = processing.enabled.unwrap_or(!processing.processors.is_empty());
    let mut append_delimiter = false;
    let mut lambda = None;
    if processing_enabled {
        for processor in &processing.processors {
            match processor.kind.as_str() {
                "AppendDelimiterToRecord" => append_delimiter = true,
                "Lambda" if lambda.is_some() => {
                    return Err(ApiError::unsupported("More than one Lambda processor"));
                }
                "Lambda" => {
                    lambda = Some(processor::lambda_processor(
                        &processor.parameters,
                        &state.lambdas,
                        &state.region,
                        &state.transforms,
                    )?);
                }
                kind @ ("RecordDeAggregation"
                | "Decompression"
                | "CloudWatchLogProcessing"
                | "MetadataExtraction") => {
                    return Err(ApiError::unsupported(format_args!("Processor type {kind}")));
                }
                other => {
                    return Err(ApiError::validation(format!(
                        "Value '{other}' at 'processingConfiguration.processors.member.type' failed to \
                         satisfy constraint: Member must satisfy enum value set: [RecordDeAggregation, \
                         Decompression, CloudWatchLogProcessing, Lambda, MetadataExtraction, \
                         AppendDelimiterToRecord]"
                    )));
                }
            }
        }
    }
    if config.data_format_conversion_configuration.as_ref().is_some_and(|f| f.enabled.unwrap_or(true)) {
        return Err(ApiError::unsupported("DataFormatConversionConfiguration"));
    }
    if enabled(&config.dynamic_partitioning_configuration) {
        return Err(ApiError::unsupported("DynamicPartitioningConfiguration"));
    }
    if config.s3_backup_mode.as_deref().is_some_and(|mode| mode != "Disabled") {
        return Err(ApiError::unsupported("S3BackupMode Enabled"));
    }
    if config.custom_time_zone.as_deref().is_some_and(|zone| !zone.is_empty() && zone != "UTC") {
        return Err(ApiError::unsupported("CustomTimeZone other than UTC"));
    }
    if let Some(extension) = config.file_extension.as_deref()
        && !extension.is_empty()
        && !extension.starts_with('.')
    {
        return Err(ApiError::validation(format!(
            "Value '{extension}' at 'fileExtension' failed to satisfy constraint: Member must start with '.'"
        )));
    }
    let invalid_prefix = |err: PrefixError| ApiError::invalid_argument(err.to_string());
    let prefix_template = PrefixTemplate::parse(config.prefix.as_deref()).map_err(invalid_prefix)?;
    // Records that fail processing go under the ErrorOutputPrefix (see `key::error_output_key`).
    let error_output_template =
        PrefixTemplate::parse_error_output(config.prefix.as_deref(), config.error_output_prefix.as_deref())
            .map_err(invalid_prefix)?;
    Ok(Destination {
        role_arn: config.role_arn,
        bucket_arn: config.bucket_arn,
        bucket,
        prefix: config.prefix,
        prefix_template,
        error_output_prefix: config.error_output_prefix,
        error_output_template,
        size_in_mbs,
        interval_in_seconds,
        compression,
        append_delimiter,
        lambda,
        processing: ProcessingConfiguration { enabled: Some(processing_enabled), ..processing },
        file_extension: config.file_extension.filter(|extension| !extension.is_empty()),
        logging: config.cloud_watch_logging_options.unwrap_or_default(),
        version: 1,
        given,
    })
}

/// How objects are compressed before they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    Uncompressed,
    Gzip,
}

impl Compression {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Compression::Uncompressed => "UNCOMPRESSED",
            Compression::Gzip => "GZIP",
        }
    }

    /// The extension Firehose appends to object keys unless a `FileExtension` is configured.
    pub(crate) fn default_extension(self) -> &'static str {
        match self {
            Compression::Uncompressed => "",
            Compression::Gzip => ".gz",
        }
    }

    /// The object body for a batch.
    pub(crate) fn apply(self, data: &Bytes) -> Bytes {
        match self {
            Compression::Uncompressed => data.clone(),
            Compression::Gzip => {
                let mut encoder =
                    GzEncoder::new(Vec::with_capacity(data.len() / 4), flate2::Compression::default());
                // Writing to a Vec cannot fail.
                let _ = encoder.write_all(data);
                Bytes::from(encoder.finish().unwrap_or_default())
            }
        }
    }
}
