//! How a requested S3 destination configuration (CreateDeliveryStream's, or UpdateDestination's
//! merged into the current one) is checked against the Firehose API reference and becomes the
//! running [`Destination`].

use crate::error::ApiError;
use crate::firehose::api::{
    BufferingHints, EnabledFlag, ProcessingConfiguration, S3DestinationConfiguration,
};
use crate::firehose::config::{Compression, Destination};
use crate::firehose::processor;
use crate::state::State;
use vocabulary::{PrefixError, PrefixTemplate};

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
