//! A delivery stream's Kinesis source: the in-process consumer that reads every shard in order from
//! the stream's start positions, and the shard stall fault injection may plan for it.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::faults::{FaultEvent, FaultKind};
use crate::firehose::output::TaskContext;
use crate::kinesis::store::Stream;

/// Records read from one shard per lock acquisition.
const READ_CHUNK: usize = 10_000;

/// The source stream was deleted.
#[derive(Debug)]
pub(crate) struct SourceDeleted;

/// The in-process Kinesis consumer of a Kinesis-source delivery stream.
#[derive(Debug)]
pub(crate) struct KinesisReader {
    stream: Arc<Stream>,
    changes: watch::Receiver<u64>,
    /// The next record counter to read, per shard.
    positions: Vec<u64>,
    /// Reused between reads so steady-state reading does not allocate.
    scratch: Vec<Bytes>,
    /// A shard not read until the instant, by fault injection.
    stalled: Option<(usize, Instant)>,
}

impl KinesisReader {
    /// A consumer of `source` from `start_positions` (one per shard) for the delivery stream
    /// `delivery_stream`; a shard stall the fault plan holds starts now and is logged as ground truth.
    pub(crate) fn new(
        delivery_stream: &str,
        context: &TaskContext,
        source: &Arc<Stream>,
        start_positions: &[u64],
    ) -> KinesisReader {
        KinesisReader {
            stream: Arc::clone(source),
            changes: source.subscribe(),
            positions: start_positions.to_vec(),
            scratch: Vec::new(),
            stalled: stall(delivery_stream, context, source, start_positions.len()),
        }
    }

    /// Reads every new record, shard by shard in shard order, handing each chunk to `buffer`.
    pub(crate) fn read(&mut self, mut buffer: impl FnMut(&[Bytes])) -> Result<(), SourceDeleted> {
        self.changes.borrow_and_update();
        if self.stalled.is_some_and(|(_, until)| until <= Instant::now()) {
            self.stalled = None;
        }
        for shard in 0..self.positions.len() {
            if self.stalled.is_some_and(|(stalled, _)| stalled == shard) {
                continue;
            }
            loop {
                self.scratch.clear();
                let outcome = self
                    .stream
                    .read_data(shard, self.positions[shard], READ_CHUNK, usize::MAX, &mut self.scratch)
                    .map_err(|_| SourceDeleted)?;
                self.positions[shard] = outcome.next_position;
                if self.scratch.is_empty() {
                    break;
                }
                buffer(&self.scratch);
                if outcome.oldest_unread_ms.is_none() {
                    break;
                }
            }
        }
        self.scratch.clear();
        Ok(())
    }

    /// When a stalled shard is read again, if one is stalled.
    pub(crate) fn stall_ends(&self) -> Option<Instant> {
        self.stalled.map(|(_, until)| until)
    }
}

/// The planned stall of one of the source's `shards`, logged as ground truth when it starts.
fn stall(
    delivery_stream: &str,
    context: &TaskContext,
    source: &Stream,
    shards: usize,
) -> Option<(usize, Instant)> {
    let stall = context.faults.stall()?;
    let shard = usize::try_from(stall.shard).ok().filter(|shard| *shard < shards)?;
    context.faults.record(FaultEvent {
        kind: FaultKind::StallShard { by: stall.by },
        stream: delivery_stream.to_owned(),
        ordinal: 0,
        shard_id: Some(source.shards[shard].id.clone()),
        partition_key: None,
        object: None,
        data: Vec::new(),
    });
    Some((shard, Instant::now() + context.clock.to_wall(stall.by)))
}

/// Waits for the source to change; returns false when it can no longer change.
/// Without a source it never completes.
pub(crate) async fn wait_for_change(reader: Option<&mut KinesisReader>) -> bool {
    match reader {
        Some(reader) => reader.changes.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}
