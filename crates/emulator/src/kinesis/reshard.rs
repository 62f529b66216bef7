//! Resharding a provisioned stream: UpdateShardCount, SplitShard and MergeShards.
//!
//! Each call checks its shards and AWS's limits, sets the stream UPDATING and returns; the splits
//! and merges take effect a while later in emulator time, when the stream is ACTIVE again. Reads and
//! writes go on meanwhile ("Resharding a stream", Kinesis Data Streams Developer Guide).

use std::sync::Arc;

use crate::error::ApiError;
use crate::json::{self, OpResult, Route};
use crate::kinesis::api::{
    Empty, MergeShardsInput, SplitShardInput, UpdateShardCountInput, UpdateShardCountOutput,
};
use crate::kinesis::store::{MAX_SHARDS, Reshard, Stream};
use crate::state::State;

/// The resharding operations.
pub(crate) const ROUTES: &[Route<State>] = &[
    Route::full("UpdateShardCount", update_shard_count),
    Route::full("SplitShard", split_shard),
    Route::full("MergeShards", merge_shards),
];

fn update_shard_count(state: &State, body: &[u8]) -> OpResult {
    let input: UpdateShardCountInput = json::parse(body)?;
    if input.scaling_type != "UNIFORM_SCALING" {
        return Err(ApiError::validation(format!(
            "Value '{}' at 'scalingType' failed to satisfy constraint: Member must satisfy enum value set: \
             [UNIFORM_SCALING]",
            input.scaling_type
        )));
    }
    let target = input.target_shard_count;
    if !(1..=100_000).contains(&target) {
        return Err(ApiError::validation(format!(
            "Value '{target}' at 'targetShardCount' failed to satisfy constraint: Member must have value \
             between 1 and 100000"
        )));
    }
    let stream = state.kinesis.get(input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    if target > MAX_SHARDS {
        return Err(ApiError::bad_request(
            "LimitExceededException",
            format!(
                "Target shard count or number of open shards cannot be greater than {MAX_SHARDS}. Target shard \
                 count: {target}"
            ),
        ));
    }
    let target = target as usize;
    let current = reshard(state, &stream, Reshard::Uniform { target })?;
    tracing::debug!(stream = %stream.name, current, target, "UpdateShardCount accepted");
    Ok(json::ok(&UpdateShardCountOutput {
        stream_name: stream.name.clone(),
        current_shard_count: current,
        target_shard_count: target,
        stream_arn: stream.arn.clone(),
    }))
}

fn split_shard(state: &State, body: &[u8]) -> OpResult {
    let input: SplitShardInput = json::parse(body)?;
    let at = vocabulary::parse_explicit_hash_key(&input.new_starting_hash_key).ok_or_else(|| {
        ApiError::validation(format!(
            "Value '{}' at 'newStartingHashKey' failed to satisfy constraint: Member must satisfy regular \
             expression pattern: 0|([1-9]\\d{{0,38}})",
            input.new_starting_hash_key
        ))
    })?;
    let stream = state.kinesis.get(input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    let shard = stream.shard_or_not_found(&input.shard_to_split, state.kinesis.account_id())?;
    reshard(state, &stream, Reshard::Split { shard, at })?;
    Ok(json::ok(&Empty {}))
}

fn merge_shards(state: &State, body: &[u8]) -> OpResult {
    let input: MergeShardsInput = json::parse(body)?;
    let stream = state.kinesis.get(input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    let account_id = state.kinesis.account_id();
    let shard = stream.shard_or_not_found(&input.shard_to_merge, account_id)?;
    let adjacent = stream.shard_or_not_found(&input.adjacent_shard_to_merge, account_id)?;
    reshard(state, &stream, Reshard::Merge { shard, adjacent })?;
    Ok(json::ok(&Empty {}))
}

/// Counts `request` against the account's call rate in the current emulated second, then asks
/// `stream` for it; the open shard count before it.
fn reshard(state: &State, stream: &Arc<Stream>, request: Reshard) -> Result<usize, ApiError> {
    let second = state.clock.elapsed_at(state.clock.now()).as_secs();
    state.kinesis.admit_reshard_call(request, second)?;
    stream.reshard(request, state.kinesis.account_id())
}
