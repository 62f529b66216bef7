//! A delivery stream's Kinesis source: the in-process consumer that reads every shard in order from
//! the stream's start positions and follows the shard lineage through resharding, plus the faults
//! injection may plan for it (a stalled shard, children read before their parents are done).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::clock::unix_millis;
use crate::faults::{FaultEvent, FaultKind};
use crate::firehose::output::TaskContext;
use crate::kinesis::store::{Record, Stream, shard_id};

/// Records read from one shard per lock acquisition.
const READ_CHUNK: usize = 10_000;

/// With `read_children_early`, how long after a parent closes its last records are read, in
/// emulator time.
const PARENT_LAG_MS: i64 = 2_000;

/// The source stream was deleted.
#[derive(Debug)]
pub(crate) struct SourceDeleted;

/// The in-process Kinesis consumer of a Kinesis-source delivery stream.
///
/// It reads a shard only once every parent of it has been read to its end, so records of one key
/// keep their order across a reshard: "your application must read all data from the parent shards
/// before it reads data from the child shards" (Developer Guide, "Data routing, data persistence,
/// and shard state after a reshard").
#[derive(Debug)]
pub(crate) struct KinesisReader {
    stream: Arc<Stream>,
    changes: watch::Receiver<u64>,
    /// The next record counter to read, per shard index; grows as shards open.
    positions: Vec<u64>,
    /// Which shards are closed and read to their end.
    finished: Vec<bool>,
    /// Reused between reads so steady-state reading does not allocate.
    scratch: Vec<Bytes>,
    /// A shard not read until the instant, by fault injection.
    stalled: Option<(usize, Instant)>,
    /// The `read_children_early` fault, when planned.
    early: Option<EarlyReads>,
}

/// The state of the `read_children_early` fault.
#[derive(Debug)]
struct EarlyReads {
    delivery_stream: String,
    /// Per partition key, the highest shard index a record of it was read from. A key's shards
    /// form one line of descent, in which children have higher indexes than their parents.
    highest: HashMap<String, usize>,
    records: Vec<Record>,
    events: u64,
    /// When the next held parent may be read.
    wake: Option<Instant>,
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
        let early = context.faults.reads_children_early().then(|| EarlyReads {
            delivery_stream: delivery_stream.to_owned(),
            highest: HashMap::new(),
            records: Vec::new(),
            events: 0,
            wake: None,
        });
        KinesisReader {
            stream: Arc::clone(source),
            changes: source.subscribe(),
            positions: start_positions.to_vec(),
            finished: vec![false; start_positions.len()],
            scratch: Vec::new(),
            stalled: stall(delivery_stream, context, start_positions.len()),
            early,
        }
    }

    /// Reads every new record of the shards that may be read, in shard order, handing each chunk
    /// to `buffer`; with `read_children_early`, logs each record read out of order to `context`.
    pub(crate) fn read(
        &mut self,
        context: &TaskContext,
        mut buffer: impl FnMut(&[Bytes]),
    ) -> Result<(), SourceDeleted> {
        self.changes.borrow_and_update();
        if self.stalled.is_some_and(|(_, until)| until <= Instant::now()) {
            self.stalled = None;
        }
        let lineage = self.stream.lineage();
        let shards = lineage.shards();
        // Shards opened since the last read start at their beginning.
        self.positions.resize(shards.len(), 0);
        self.finished.resize(shards.len(), false);
        let resharding = if self.early.is_some() { self.stream.resharding() } else { Vec::new() };
        let now_ms = unix_millis(context.clock.now());
        if let Some(early) = self.early.as_mut() {
            early.wake = None;
        }
        for (shard, info) in shards.iter().enumerate() {
            if self.finished[shard] || self.stalled.is_some_and(|(stalled, _)| stalled == shard) {
                continue;
            }
            match self.early.as_mut() {
                None => {
                    if info.parents().any(|parent| !self.finished[parent]) {
                        continue;
                    }
                }
                Some(early) => {
                    if resharding.contains(&shard) {
                        continue;
                    }
                    if let Some(closed) = info.closed
                        && now_ms < closed.at_ms + PARENT_LAG_MS
                    {
                        let wait = Duration::from_millis((closed.at_ms + PARENT_LAG_MS - now_ms) as u64);
                        let at = Instant::now() + context.clock.to_wall(wait);
                        early.wake = Some(early.wake.map_or(at, |wake| wake.min(at)));
                        continue;
                    }
                }
            }
            self.finished[shard] = self.read_shard(shard, context, &mut buffer)?;
        }
        self.scratch.clear();
        Ok(())
    }

    /// Reads shard `shard` as far as it goes; true when it is closed and read to its end.
    fn read_shard(
        &mut self,
        shard: usize,
        context: &TaskContext,
        buffer: &mut impl FnMut(&[Bytes]),
    ) -> Result<bool, SourceDeleted> {
        loop {
            self.scratch.clear();
            let position = self.positions[shard];
            let outcome = match self.early.as_mut() {
                None => self.stream.read_data(shard, position, READ_CHUNK, usize::MAX, &mut self.scratch),
                Some(early) => {
                    early.records.clear();
                    let outcome =
                        self.stream.read_records(shard, position, READ_CHUNK, usize::MAX, &mut early.records);
                    early.log_out_of_order(shard, context);
                    self.scratch.extend(early.records.iter().map(|record| record.data.clone()));
                    outcome
                }
            }
            .map_err(|_| SourceDeleted)?;
            self.positions[shard] = outcome.next_position;
            if !self.scratch.is_empty() {
                buffer(&self.scratch);
            }
            if outcome.oldest_unread_ms.is_none() {
                return Ok(outcome.shard_ended);
            }
        }
    }

    /// When the reader must look again without a change to the stream: a stalled shard resumes,
    /// or a parent held back by `read_children_early` may be read.
    pub(crate) fn wake_at(&self) -> Option<Instant> {
        let held = self.early.as_ref().and_then(|early| early.wake);
        [self.stalled.map(|(_, until)| until), held].into_iter().flatten().min()
    }
}

impl EarlyReads {
    /// Logs each record just read from `shard` whose key already had a record read from a
    /// descendant shard: that one was written later, so this one is out of order.
    fn log_out_of_order(&mut self, shard: usize, context: &TaskContext) {
        let mut events = Vec::new();
        for record in &self.records {
            match self.highest.get_mut(&record.partition_key) {
                Some(highest) if *highest > shard => {
                    events.push(FaultEvent {
                        kind: FaultKind::ReadChildrenEarly { child: shard_id(*highest) },
                        stream: self.delivery_stream.clone(),
                        ordinal: self.events,
                        shard_id: Some(shard_id(shard)),
                        partition_key: Some(record.partition_key.clone()),
                        object: None,
                        data: record.data.to_vec(),
                    });
                    self.events += 1;
                }
                Some(highest) => *highest = shard,
                None => {
                    self.highest.insert(record.partition_key.clone(), shard);
                }
            }
        }
        if !events.is_empty() {
            context.faults.record_all(events);
        }
    }
}

/// The planned stall of one of the source's `shards`, logged as ground truth when it starts.
fn stall(delivery_stream: &str, context: &TaskContext, shards: usize) -> Option<(usize, Instant)> {
    let stall = context.faults.stall()?;
    let shard = usize::try_from(stall.shard).ok().filter(|shard| *shard < shards)?;
    context.faults.record(FaultEvent {
        kind: FaultKind::StallShard { by: stall.by },
        stream: delivery_stream.to_owned(),
        ordinal: 0,
        shard_id: Some(shard_id(shard)),
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
