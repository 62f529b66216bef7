//! `[[workload.reshard]]`: the resharding calls a run makes while its workload is being sent, each
//! at its time, through the same Kinesis client the producer uses, and when each one completed.

use std::time::{Duration, SystemTime};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::{ScalingType, StreamStatus};
use scenario::{ReshardAction, ReshardStep};
use tokio::time::Instant;

/// How long one resharding may keep the stream UPDATING before the run gives up on it.
const ACTIVE_DEADLINE: Duration = Duration::from_secs(300);
/// How often the stream's status is read while it is UPDATING.
const STATUS_POLL: Duration = Duration::from_millis(100);

/// One step as it was carried out.
#[derive(Debug, Clone, PartialEq)]
pub struct ReshardRecord {
    pub step: ReshardStep,
    /// When the call was accepted, and when the stream was ACTIVE again (wall time).
    pub requested: SystemTime,
    pub active: SystemTime,
    /// Open shards before and after.
    pub open_before: usize,
    pub open_after: usize,
    /// The seqs the producer generated while the stream was UPDATING: `first_seq..end_seq`.
    pub first_seq: u64,
    pub end_seq: u64,
    /// Put attempts refused as throttled while the stream was UPDATING.
    pub throttled: u64,
}

impl ReshardRecord {
    /// The step as the verifier counts the records around it.
    pub fn transition(&self) -> verifier::Transition {
        let updating = self.active.duration_since(self.requested).unwrap_or_default();
        verifier::Transition {
            step: self.step.action.describe(),
            open_before: self.open_before,
            open_after: self.open_after,
            updating_ms: u64::try_from(updating.as_millis()).unwrap_or(u64::MAX),
            first_seq: self.first_seq,
            end_seq: self.end_seq,
            throttled: self.throttled,
        }
    }
}

/// A step that could not be carried out, in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[[workload.reshard]] step {index} ({what}): {reason}")]
pub struct ReshardError {
    pub index: usize,
    pub what: String,
    pub reason: String,
}

/// Runs `steps` on stream `stream`, each `step.at` after `start`, waiting for the stream to be
/// ACTIVE after each; stops at the first step that fails. `probe` is the producer's, read when each
/// call is made and when the stream is ACTIVE again.
pub async fn run_steps(
    client: &Client,
    stream: &str,
    steps: &[ReshardStep],
    start: Instant,
    probe: &producer::ProduceProbe,
) -> Result<Resharded, ReshardError> {
    let mut done = Vec::with_capacity(steps.len());
    for (index, step) in steps.iter().enumerate() {
        tokio::time::sleep_until(start + step.at).await;
        let fail = |reason: String| ReshardError { index, what: step.action.describe(), reason };
        let (_, open_before) = status(client, stream).await.map_err(fail)?;
        let (requested, first_seq, throttled_before) = (SystemTime::now(), probe.sent(), probe.throttled());
        call(client, stream, &step.action).await.map_err(fail)?;
        let open_after = wait_active(client, stream).await.map_err(fail)?;
        let (active, end_seq) = (SystemTime::now(), probe.sent());
        let throttled = probe.throttled().saturating_sub(throttled_before);
        tracing::info!(
            step = index,
            action = %step.action.describe(),
            open_before,
            open_after,
            "resharding completed"
        );
        done.push(ReshardRecord {
            step: step.clone(),
            requested,
            active,
            open_before,
            open_after,
            first_seq,
            end_seq,
            throttled,
        });
    }
    let lineage = match steps.len().checked_sub(1) {
        None => Vec::new(),
        Some(last) => lineage(client, stream).await.map_err(|reason| ReshardError {
            index: last,
            what: steps[last].action.describe(),
            reason,
        })?,
    };
    Ok(Resharded { steps: done, lineage })
}

/// The steps of a run as carried out, and the stream's lineage after the last one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resharded {
    pub steps: Vec<ReshardRecord>,
    pub lineage: Vec<verifier::ShardLineage>,
}

/// Every shard ListShards reports, with its parents and whether it is open.
async fn lineage(client: &Client, stream: &str) -> Result<Vec<verifier::ShardLineage>, String> {
    let mut shards = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let request = match &token {
            Some(token) => client.list_shards().next_token(token),
            None => client.list_shards().stream_name(stream),
        };
        let page = request.send().await.map_err(|e| aws_error::line("ListShards", &e))?;
        for shard in page.shards() {
            shards.push(verifier::ShardLineage {
                shard: shard.shard_id().to_owned(),
                parents: shard
                    .parent_shard_id()
                    .into_iter()
                    .chain(shard.adjacent_parent_shard_id())
                    .map(str::to_owned)
                    .collect(),
                open: shard
                    .sequence_number_range()
                    .is_some_and(|range| range.ending_sequence_number().is_none()),
            });
        }
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(shards),
        }
    }
}

async fn call(client: &Client, stream: &str, action: &ReshardAction) -> Result<(), String> {
    match action {
        ReshardAction::Shards(count) => {
            let target = i32::try_from(*count).map_err(|_| format!("{count} shards is too many"))?;
            client
                .update_shard_count()
                .stream_name(stream)
                .target_shard_count(target)
                .scaling_type(ScalingType::UniformScaling)
                .send()
                .await
                .map_err(|e| aws_error::line("UpdateShardCount", &e))?;
        }
        ReshardAction::Split(shard) => {
            let listed = client.list_shards().stream_name(stream).send().await;
            let listed = listed.map_err(|e| aws_error::line("ListShards", &e))?;
            let found = listed.shards().iter().find(|s| s.shard_id() == shard);
            let range = found
                .and_then(|s| s.hash_key_range())
                .ok_or_else(|| format!("stream {stream} has no shard {shard}"))?;
            let parse =
                |text: &str| text.parse::<u128>().map_err(|_| format!("hash key {text:?} is not a number"));
            let (start, end) = (parse(range.starting_hash_key())?, parse(range.ending_hash_key())?);
            let middle = start + (end - start) / 2;
            client
                .split_shard()
                .stream_name(stream)
                .shard_to_split(shard)
                .new_starting_hash_key(middle.to_string())
                .send()
                .await
                .map_err(|e| aws_error::line("SplitShard", &e))?;
        }
        ReshardAction::Merge(shard, adjacent) => {
            client
                .merge_shards()
                .stream_name(stream)
                .shard_to_merge(shard)
                .adjacent_shard_to_merge(adjacent)
                .send()
                .await
                .map_err(|e| aws_error::line("MergeShards", &e))?;
        }
    }
    Ok(())
}

/// Waits for the stream to be ACTIVE again; its open shard count then.
async fn wait_active(client: &Client, stream: &str) -> Result<usize, String> {
    let deadline = Instant::now() + ACTIVE_DEADLINE;
    loop {
        let (status, open) = status(client, stream).await?;
        if status == StreamStatus::Active {
            return Ok(open);
        }
        if Instant::now() >= deadline {
            return Err(format!("stream {stream} was still UPDATING after {} s", ACTIVE_DEADLINE.as_secs()));
        }
        tokio::time::sleep(STATUS_POLL).await;
    }
}

/// The stream's status and open shard count, from DescribeStreamSummary.
async fn status(client: &Client, stream: &str) -> Result<(StreamStatus, usize), String> {
    let summary = client.describe_stream_summary().stream_name(stream).send().await;
    let summary = summary.map_err(|e| aws_error::line("DescribeStreamSummary", &e))?;
    let summary = summary
        .stream_description_summary()
        .ok_or_else(|| format!("DescribeStreamSummary of {stream} returned no summary"))?;
    let open = usize::try_from(summary.open_shard_count()).unwrap_or(0);
    Ok((summary.stream_status().clone(), open))
}
