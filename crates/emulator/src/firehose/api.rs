//! Request and response bodies of the Firehose operations, as awsJson1_1 documents.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreateDeliveryStreamInput {
    pub(crate) delivery_stream_name: String,
    pub(crate) delivery_stream_type: Option<String>,
    pub(crate) kinesis_stream_source_configuration: Option<KinesisStreamSourceConfiguration>,
    #[serde(rename = "S3DestinationConfiguration")]
    pub(crate) s3_destination_configuration: Option<S3DestinationConfiguration>,
    #[serde(rename = "ExtendedS3DestinationConfiguration")]
    pub(crate) extended_s3_destination_configuration: Option<S3DestinationConfiguration>,
    #[serde(rename = "AmazonopensearchserviceDestinationConfiguration")]
    pub(crate) opensearch_destination_configuration: Option<SearchDestinationConfiguration>,
    #[serde(rename = "ElasticsearchDestinationConfiguration")]
    pub(crate) elasticsearch_destination_configuration: Option<SearchDestinationConfiguration>,
    pub(crate) delivery_stream_encryption_configuration_input: Option<EncryptionInput>,
    /// The stream's tags, at most 50 (CreateDeliveryStream).
    #[serde(default)]
    pub(crate) tags: Vec<Tag>,
    /// Everything else, so other destinations can be refused by name rather than silently ignored.
    #[serde(flatten)]
    pub(crate) other: BTreeMap<String, serde_json::Value>,
}

/// `DeliveryStreamEncryptionConfigurationInput` (CreateDeliveryStream, StartDeliveryStreamEncryption).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EncryptionInput {
    #[serde(rename = "KeyARN")]
    pub(crate) key_arn: Option<String>,
    pub(crate) key_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct KinesisStreamSourceConfiguration {
    #[serde(rename = "KinesisStreamARN")]
    pub(crate) kinesis_stream_arn: String,
    #[serde(rename = "RoleARN")]
    pub(crate) role_arn: String,
}

/// Both `S3DestinationConfiguration` and `ExtendedS3DestinationConfiguration`; the extended fields
/// are simply absent from the former.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct S3DestinationConfiguration {
    #[serde(rename = "RoleARN")]
    pub(crate) role_arn: String,
    #[serde(rename = "BucketARN")]
    pub(crate) bucket_arn: String,
    pub(crate) prefix: Option<String>,
    pub(crate) error_output_prefix: Option<String>,
    pub(crate) buffering_hints: Option<BufferingHints>,
    pub(crate) compression_format: Option<String>,
    pub(crate) processing_configuration: Option<ProcessingConfiguration>,
    pub(crate) data_format_conversion_configuration: Option<EnabledFlag>,
    pub(crate) dynamic_partitioning_configuration: Option<EnabledFlag>,
    pub(crate) s3_backup_mode: Option<String>,
    pub(crate) custom_time_zone: Option<String>,
    pub(crate) file_extension: Option<String>,
    pub(crate) cloud_watch_logging_options: Option<CloudWatchLoggingOptions>,
}

/// `CloudWatchLoggingOptions` of a destination, accepted and described back as given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CloudWatchLoggingOptions {
    #[serde(default)]
    pub(crate) enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) log_group_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) log_stream_name: Option<String>,
}

/// Both `AmazonopensearchserviceDestinationConfiguration` and `ElasticsearchDestinationConfiguration`,
/// which have the same members.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SearchDestinationConfiguration {
    #[serde(rename = "RoleARN")]
    pub(crate) role_arn: String,
    #[serde(rename = "DomainARN")]
    pub(crate) domain_arn: Option<String>,
    pub(crate) cluster_endpoint: Option<String>,
    pub(crate) index_name: String,
    pub(crate) type_name: Option<String>,
    pub(crate) index_rotation_period: Option<String>,
    pub(crate) buffering_hints: Option<BufferingHints>,
    pub(crate) retry_options: Option<RetryOptions>,
    pub(crate) s3_backup_mode: Option<String>,
    pub(crate) s3_configuration: S3DestinationConfiguration,
    pub(crate) processing_configuration: Option<ProcessingConfiguration>,
    pub(crate) vpc_configuration: Option<serde_json::Value>,
    pub(crate) document_id_options: Option<DocumentIdOptions>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RetryOptions {
    pub(crate) duration_in_seconds: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DocumentIdOptions {
    pub(crate) default_document_id_format: String,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BufferingHints {
    #[serde(rename = "SizeInMBs")]
    pub(crate) size_in_mbs: Option<i64>,
    pub(crate) interval_in_seconds: Option<i64>,
}

/// Record processors; the emulator runs `AppendDelimiterToRecord`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ProcessingConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) enabled: Option<bool>,
    #[serde(default)]
    pub(crate) processors: Vec<Processor>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Processor {
    #[serde(rename = "Type")]
    pub(crate) kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) parameters: Vec<serde_json::Value>,
}

/// The `Enabled` member shared by optional feature configurations.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EnabledFlag {
    pub(crate) enabled: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreateDeliveryStreamOutput {
    #[serde(rename = "DeliveryStreamARN")]
    pub(crate) delivery_stream_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeliveryStreamSelector {
    pub(crate) delivery_stream_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DescribeDeliveryStreamOutput {
    pub(crate) delivery_stream_description: DeliveryStreamDescription,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeliveryStreamDescription {
    pub(crate) delivery_stream_name: String,
    #[serde(rename = "DeliveryStreamARN")]
    pub(crate) delivery_stream_arn: String,
    pub(crate) delivery_stream_status: &'static str,
    pub(crate) delivery_stream_type: &'static str,
    pub(crate) version_id: String,
    pub(crate) create_timestamp: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<SourceDescription>,
    pub(crate) destinations: Vec<DestinationDescription>,
    pub(crate) has_more_destinations: bool,
    pub(crate) delivery_stream_encryption_configuration: EncryptionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_update_timestamp: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EncryptionStatus {
    #[serde(rename = "KeyARN", skip_serializing_if = "Option::is_none")]
    pub(crate) key_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key_type: Option<&'static str>,
    pub(crate) status: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SourceDescription {
    pub(crate) kinesis_stream_source_description: KinesisStreamSourceDescription,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct KinesisStreamSourceDescription {
    #[serde(rename = "KinesisStreamARN")]
    pub(crate) kinesis_stream_arn: String,
    #[serde(rename = "RoleARN")]
    pub(crate) role_arn: String,
    pub(crate) delivery_start_timestamp: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DestinationDescription {
    pub(crate) destination_id: &'static str,
    #[serde(rename = "S3DestinationDescription", skip_serializing_if = "Option::is_none")]
    pub(crate) s3_destination_description: Option<S3DestinationDescription>,
    #[serde(rename = "ExtendedS3DestinationDescription", skip_serializing_if = "Option::is_none")]
    pub(crate) extended_s3_destination_description: Option<ExtendedS3DestinationDescription>,
    #[serde(
        rename = "AmazonopensearchserviceDestinationDescription",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) opensearch_destination_description: Option<SearchDestinationDescription>,
    #[serde(rename = "ElasticsearchDestinationDescription", skip_serializing_if = "Option::is_none")]
    pub(crate) elasticsearch_destination_description: Option<SearchDestinationDescription>,
}

/// Both `AmazonopensearchserviceDestinationDescription` and `ElasticsearchDestinationDescription`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SearchDestinationDescription {
    #[serde(rename = "RoleARN")]
    pub(crate) role_arn: String,
    #[serde(rename = "DomainARN", skip_serializing_if = "Option::is_none")]
    pub(crate) domain_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cluster_endpoint: Option<String>,
    pub(crate) index_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) type_name: Option<String>,
    pub(crate) index_rotation_period: &'static str,
    pub(crate) buffering_hints: BufferingHints,
    pub(crate) retry_options: RetryOptions,
    pub(crate) s3_backup_mode: &'static str,
    pub(crate) s3_destination_description: S3DestinationDescription,
    pub(crate) processing_configuration: ProcessingConfiguration,
    #[serde(rename = "CloudWatchLoggingOptions")]
    pub(crate) cloud_watch_logging_options: EnabledOut,
    pub(crate) document_id_options: DocumentIdOptions,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct S3DestinationDescription {
    #[serde(rename = "RoleARN")]
    pub(crate) role_arn: String,
    #[serde(rename = "BucketARN")]
    pub(crate) bucket_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error_output_prefix: Option<String>,
    pub(crate) buffering_hints: BufferingHints,
    pub(crate) compression_format: &'static str,
    pub(crate) encryption_configuration: NoEncryption,
    #[serde(rename = "CloudWatchLoggingOptions")]
    pub(crate) cloud_watch_logging_options: CloudWatchLoggingOptions,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ExtendedS3DestinationDescription {
    #[serde(flatten)]
    pub(crate) base: S3DestinationDescription,
    pub(crate) processing_configuration: ProcessingConfiguration,
    pub(crate) s3_backup_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) file_extension: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct NoEncryption {
    pub(crate) no_encryption_config: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EnabledOut {
    pub(crate) enabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PutRecordInput<'a> {
    pub(crate) delivery_stream_name: String,
    #[serde(borrow)]
    pub(crate) record: RecordIn<'a>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RecordIn<'a> {
    #[serde(borrow)]
    pub(crate) data: Cow<'a, str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PutRecordOutput {
    pub(crate) record_id: String,
    pub(crate) encrypted: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PutRecordBatchInput<'a> {
    pub(crate) delivery_stream_name: String,
    #[serde(borrow)]
    pub(crate) records: Vec<RecordIn<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PutRecordBatchOutput {
    pub(crate) failed_put_count: usize,
    pub(crate) encrypted: bool,
    pub(crate) request_responses: Vec<PutRecordBatchResponseEntry>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PutRecordBatchResponseEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) record_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error_message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListDeliveryStreamsInput {
    pub(crate) limit: Option<i64>,
    pub(crate) delivery_stream_type: Option<String>,
    pub(crate) exclusive_start_delivery_stream_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListDeliveryStreamsOutput {
    pub(crate) delivery_stream_names: Vec<String>,
    pub(crate) has_more_delivery_streams: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct Empty {}

/// One tag of a delivery stream.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Tag {
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagDeliveryStreamInput {
    pub(crate) delivery_stream_name: String,
    pub(crate) tags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UntagDeliveryStreamInput {
    pub(crate) delivery_stream_name: String,
    pub(crate) tag_keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListTagsForDeliveryStreamInput {
    pub(crate) delivery_stream_name: String,
    pub(crate) exclusive_start_tag_key: Option<String>,
    pub(crate) limit: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListTagsForDeliveryStreamOutput {
    pub(crate) tags: Vec<Tag>,
    pub(crate) has_more_tags: bool,
}
