//! Request and response bodies of the Kinesis Data Streams operations, as awsJson1_1 documents.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::json::{self, Base64};
use crate::kinesis::sequence::SequenceNumber;
use crate::kinesis::shards::{Lineage, ShardInfo};
use crate::kinesis::store::{self, Record};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreateStreamInput {
    pub(crate) stream_name: String,
    pub(crate) shard_count: Option<i64>,
    pub(crate) stream_mode_details: Option<StreamModeDetails>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StreamModeDetails {
    pub(crate) stream_mode: String,
}

/// The stream selector most operations take: a name, an ARN, or both.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StreamSelector {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DescribeStreamSummaryOutput {
    pub(crate) stream_description_summary: StreamDescriptionSummary,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StreamDescriptionSummary {
    pub(crate) stream_name: String,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: String,
    pub(crate) stream_status: &'static str,
    pub(crate) stream_mode_details: StreamModeDetails,
    pub(crate) retention_period_hours: u32,
    pub(crate) stream_creation_timestamp: f64,
    pub(crate) enhanced_monitoring: Vec<EnhancedMetrics>,
    pub(crate) encryption_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key_id: Option<String>,
    pub(crate) open_shard_count: usize,
    pub(crate) consumer_count: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EnhancedMetrics {
    pub(crate) shard_level_metrics: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DescribeStreamInput {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    pub(crate) limit: Option<i64>,
    pub(crate) exclusive_start_shard_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DescribeStreamOutput {
    pub(crate) stream_description: StreamDescription,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StreamDescription {
    pub(crate) stream_name: String,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: String,
    pub(crate) stream_status: &'static str,
    pub(crate) stream_mode_details: StreamModeDetails,
    pub(crate) shards: Vec<Shard>,
    pub(crate) has_more_shards: bool,
    pub(crate) retention_period_hours: u32,
    pub(crate) stream_creation_timestamp: f64,
    pub(crate) enhanced_monitoring: Vec<EnhancedMetrics>,
    pub(crate) encryption_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListShardsInput {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    pub(crate) next_token: Option<String>,
    pub(crate) exclusive_start_shard_id: Option<String>,
    pub(crate) max_results: Option<i64>,
    pub(crate) shard_filter: Option<ShardFilter>,
}

/// ListShards' `ShardFilter`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ShardFilter {
    #[serde(rename = "Type")]
    pub(crate) kind: String,
    pub(crate) shard_id: Option<String>,
    /// Epoch seconds.
    pub(crate) timestamp: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListShardsOutput {
    pub(crate) shards: Vec<Shard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Shard {
    pub(crate) shard_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parent_shard_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) adjacent_parent_shard_id: Option<String>,
    pub(crate) hash_key_range: HashKeyRange,
    pub(crate) sequence_number_range: SequenceNumberRange,
}

/// One entry of `ChildShards` in GetRecords and SubscribeToShard events at the end of a closed shard.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ChildShard {
    pub(crate) shard_id: String,
    pub(crate) parent_shards: Vec<String>,
    pub(crate) hash_key_range: HashKeyRange,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HashKeyRange {
    pub(crate) starting_hash_key: String,
    pub(crate) ending_hash_key: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SequenceNumberRange {
    pub(crate) starting_sequence_number: String,
    /// Set once the shard is closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ending_sequence_number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListStreamsInput {
    pub(crate) limit: Option<i64>,
    pub(crate) exclusive_start_stream_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListStreamsOutput {
    pub(crate) stream_names: Vec<String>,
    pub(crate) has_more_streams: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PutRecordInput<'a> {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    #[serde(borrow)]
    pub(crate) data: Cow<'a, str>,
    pub(crate) partition_key: String,
    pub(crate) explicit_hash_key: Option<String>,
    pub(crate) sequence_number_for_ordering: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PutRecordOutput {
    pub(crate) shard_id: String,
    pub(crate) sequence_number: String,
    pub(crate) encryption_type: &'static str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PutRecordsInput<'a> {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    #[serde(borrow)]
    pub(crate) records: Vec<PutRecordsRequestEntry<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PutRecordsRequestEntry<'a> {
    #[serde(borrow)]
    pub(crate) data: Cow<'a, str>,
    pub(crate) partition_key: String,
    pub(crate) explicit_hash_key: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PutRecordsOutput {
    pub(crate) failed_record_count: usize,
    pub(crate) records: Vec<PutRecordsResultEntry>,
    pub(crate) encryption_type: &'static str,
}

/// One entry of a PutRecords response, at the position of the request entry it answers.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum PutRecordsResultEntry {
    #[serde(rename_all = "PascalCase")]
    Accepted { shard_id: String, sequence_number: String },
    #[serde(rename_all = "PascalCase")]
    Failed { error_code: &'static str, error_message: String },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetShardIteratorInput {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    pub(crate) shard_id: String,
    pub(crate) shard_iterator_type: String,
    pub(crate) starting_sequence_number: Option<String>,
    /// Epoch seconds, as awsJson1_1 encodes timestamps.
    pub(crate) timestamp: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetShardIteratorOutput {
    pub(crate) shard_iterator: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetRecordsInput {
    pub(crate) shard_iterator: String,
    pub(crate) limit: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetRecordsOutput<'a> {
    pub(crate) records: Vec<RecordOut<'a>>,
    /// Absent at the end of a closed shard, where `child_shards` says where to go on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_shard_iterator: Option<String>,
    pub(crate) millis_behind_latest: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) child_shards: Option<Vec<ChildShard>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RecordOut<'a> {
    pub(crate) sequence_number: String,
    pub(crate) approximate_arrival_timestamp: f64,
    pub(crate) data: Base64<'a>,
    pub(crate) partition_key: &'a str,
    /// `KMS` for a record written while server-side encryption was on; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) encryption_type: Option<&'static str>,
}

impl Shard {
    /// Shard `index` of a lineage, as DescribeStream and ListShards describe it.
    pub(crate) fn new(index: usize, info: &ShardInfo) -> Shard {
        let sequence = |counter| SequenceNumber { shard_index: index as u64, counter }.format();
        Shard {
            shard_id: store::shard_id(index),
            parent_shard_id: info.parent.map(store::shard_id),
            adjacent_parent_shard_id: info.adjacent_parent.map(store::shard_id),
            hash_key_range: HashKeyRange::new(info.range),
            sequence_number_range: SequenceNumberRange {
                starting_sequence_number: sequence(0),
                ending_sequence_number: info.closed.map(|closed| sequence(closed.last_counter)),
            },
        }
    }
}

impl HashKeyRange {
    fn new(range: vocabulary::HashKeyRange) -> HashKeyRange {
        HashKeyRange { starting_hash_key: range.start.to_string(), ending_hash_key: range.end.to_string() }
    }
}

impl ChildShard {
    /// The children of shard `index`, as a read at the end of it reports them.
    pub(crate) fn of(lineage: &Lineage, index: usize) -> Vec<ChildShard> {
        let shards = lineage.shards();
        shards[index]
            .children
            .iter()
            .map(|&child| ChildShard {
                shard_id: store::shard_id(child),
                parent_shards: shards[child].parents().map(store::shard_id).collect(),
                hash_key_range: HashKeyRange::new(shards[child].range),
            })
            .collect()
    }
}

impl RecordOut<'_> {
    /// A stored record of shard `shard_index`, as GetRecords and SubscribeToShard return it.
    pub(crate) fn new(record: &Record, shard_index: usize) -> RecordOut<'_> {
        RecordOut {
            sequence_number: SequenceNumber { shard_index: shard_index as u64, counter: record.counter }
                .format(),
            approximate_arrival_timestamp: json::epoch_seconds_from_millis(record.arrival_ms),
            data: Base64(&record.data),
            partition_key: &record.partition_key,
            encryption_type: record.encrypted.then_some("KMS"),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Empty {}

/// The stream a tagging call names: by name or ARN, or (TagResource and its kin) by `ResourceARN`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TaggedStream {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    #[serde(rename = "ResourceARN")]
    pub(crate) resource_arn: Option<String>,
}

/// AddTagsToStream and TagResource.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AddTagsInput {
    #[serde(flatten)]
    pub(crate) target: TaggedStream,
    pub(crate) tags: std::collections::BTreeMap<String, String>,
}

/// RemoveTagsFromStream and UntagResource.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RemoveTagsInput {
    #[serde(flatten)]
    pub(crate) target: TaggedStream,
    pub(crate) tag_keys: Vec<String>,
}

/// ListTagsForStream and ListTagsForResource.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListTagsInput {
    #[serde(flatten)]
    pub(crate) target: TaggedStream,
    pub(crate) exclusive_start_tag_key: Option<String>,
    pub(crate) limit: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagOut {
    pub(crate) key: String,
    pub(crate) value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListTagsForStreamOutput {
    pub(crate) tags: Vec<TagOut>,
    pub(crate) has_more_tags: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListTagsForResourceOutput {
    pub(crate) tags: Vec<TagOut>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RetentionInput {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    pub(crate) retention_period_hours: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MonitoringInput {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    pub(crate) shard_level_metrics: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MonitoringOutput {
    pub(crate) stream_name: String,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: String,
    pub(crate) current_shard_level_metrics: Vec<String>,
    pub(crate) desired_shard_level_metrics: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EncryptionInput {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    pub(crate) encryption_type: String,
    pub(crate) key_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UpdateStreamModeInput {
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: String,
    pub(crate) stream_mode_details: StreamModeDetails,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DescribeLimitsOutput {
    pub(crate) shard_limit: i64,
    pub(crate) open_shard_count: usize,
    pub(crate) on_demand_stream_count: usize,
    pub(crate) on_demand_stream_count_limit: usize,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeleteStreamInput {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    pub(crate) enforce_consumer_deletion: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RegisterStreamConsumerInput {
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: String,
    pub(crate) consumer_name: String,
}

/// The consumer DescribeStreamConsumer and DeregisterStreamConsumer name: by ARN, or by stream ARN
/// and consumer name.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ConsumerSelector {
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    pub(crate) consumer_name: Option<String>,
    #[serde(rename = "ConsumerARN")]
    pub(crate) consumer_arn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListStreamConsumersInput {
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: String,
    pub(crate) next_token: Option<String>,
    pub(crate) max_results: Option<i64>,
}

/// A consumer as RegisterStreamConsumer and ListStreamConsumers describe it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ConsumerOut {
    pub(crate) consumer_name: String,
    #[serde(rename = "ConsumerARN")]
    pub(crate) consumer_arn: String,
    pub(crate) consumer_status: &'static str,
    pub(crate) consumer_creation_timestamp: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RegisterStreamConsumerOutput {
    pub(crate) consumer: ConsumerOut,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DescribeStreamConsumerOutput {
    pub(crate) consumer_description: ConsumerDescription,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ConsumerDescription {
    #[serde(flatten)]
    pub(crate) consumer: ConsumerOut,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListStreamConsumersOutput {
    pub(crate) consumers: Vec<ConsumerOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SubscribeToShardInput {
    #[serde(rename = "ConsumerARN")]
    pub(crate) consumer_arn: String,
    pub(crate) shard_id: String,
    pub(crate) starting_position: StartingPositionInput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StartingPositionInput {
    #[serde(rename = "Type")]
    pub(crate) kind: String,
    pub(crate) sequence_number: Option<String>,
    /// Seconds since the epoch.
    pub(crate) timestamp: Option<f64>,
}

/// The payload of one `SubscribeToShardEvent` of a SubscribeToShard event stream.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SubscribeToShardEvent<'a> {
    pub(crate) records: Vec<RecordOut<'a>>,
    /// `null` in the last event of a closed shard.
    pub(crate) continuation_sequence_number: Option<String>,
    pub(crate) millis_behind_latest: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) child_shards: Option<Vec<ChildShard>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UpdateShardCountInput {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    pub(crate) target_shard_count: i64,
    pub(crate) scaling_type: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UpdateShardCountOutput {
    pub(crate) stream_name: String,
    pub(crate) current_shard_count: usize,
    pub(crate) target_shard_count: usize,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SplitShardInput {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    pub(crate) shard_to_split: String,
    pub(crate) new_starting_hash_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MergeShardsInput {
    pub(crate) stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
    pub(crate) shard_to_merge: String,
    pub(crate) adjacent_shard_to_merge: String,
}
