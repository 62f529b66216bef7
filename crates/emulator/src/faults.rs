//! Fault injection with ground truth: a seeded plan of what to break, the pure function that applies
//! it to a flushed Firehose batch, and the log of every fault injected.
//!
//! Every fault is invisible to the client: the put that carried the record is acknowledged as a
//! success. What happened instead is recorded as a [`FaultEvent`], so a test can hold a verifier's
//! findings against the truth. Decisions are drawn from a SplitMix64 stream seeded by the plan's
//! seed and the batch's ordinal, so the same plan over the same batches injects the same faults.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use vocabulary::{FaultName, FaultPlan, ObjectFaults, ShardStall};

/// A fault a Kinesis put request gets instead of being stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryFault {
    Throttle,
    InternalFailure,
}

/// What an injected fault did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// A Kinesis entry was acknowledged and never stored.
    DropKinesis,
    /// Firehose lost a record of a batch.
    DropFirehose,
    /// Firehose wrote a record twice, back to back.
    Duplicate,
    /// A record swapped places with the record after it (`data` is the one moved later).
    Reorder {
        /// The data of the record that moved ahead of it.
        moved_ahead: Vec<u8>,
    },
    /// A record's bytes were overwritten with noise, at `offset..offset + len` of the object.
    Corrupt { offset: u64, len: u64 },
    /// The object was cut to its first `kept` bytes, and this record copy with it: `partly` when
    /// its first bytes are still in the object, else entirely. One event per record copy cut.
    Truncate { kept: u64, partly: bool },
    /// The object was held back before being written.
    Delay { by: Duration },
    /// S3 stored the object but the write was reported failed; Firehose wrote the batch again as `retry`.
    S3PutFailure { retry: String },
    /// A put entry was refused as throttled, with every entry of its request (client-visible).
    ThrottleBurst,
    /// A put entry failed with `InternalFailure` (client-visible).
    InternalFailure,
    /// Firehose read nothing of the shard for `by` after its delivery stream was created.
    StallShard { by: Duration },
    /// The in-process search domain rejected a document (`stream` is the index name, `data` the
    /// document source, `ordinal` counts the domain's rejected documents from 0); logged once per
    /// document, however often it is retried.
    IndexFailure,
    /// Firehose read this record of closed shard `shard_id` after a later record of its key from
    /// descendant shard `child` (`ordinal` counts these events per delivery stream from 0).
    ReadChildrenEarly { child: String },
}

impl FaultKind {
    /// The fault's name, as reports give it.
    pub fn name(&self) -> FaultName {
        match self {
            FaultKind::DropKinesis => FaultName::DropKinesis,
            FaultKind::DropFirehose => FaultName::DropFirehose,
            FaultKind::Duplicate => FaultName::Duplicate,
            FaultKind::Reorder { .. } => FaultName::Reorder,
            FaultKind::Corrupt { .. } => FaultName::Corrupt,
            FaultKind::Truncate { .. } => FaultName::Truncate,
            FaultKind::Delay { .. } => FaultName::Delay,
            FaultKind::S3PutFailure { .. } => FaultName::S3PutFailure,
            FaultKind::ThrottleBurst => FaultName::ThrottleBurst,
            FaultKind::InternalFailure => FaultName::InternalFailure,
            FaultKind::StallShard { .. } => FaultName::StallShard,
            FaultKind::IndexFailure => FaultName::IndexFailure,
            FaultKind::ReadChildrenEarly { .. } => FaultName::ReadChildrenEarly,
        }
    }
}

/// Ground truth about one injected fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultEvent {
    pub kind: FaultKind,
    /// The Kinesis stream or Firehose delivery stream the fault happened in; the index for
    /// [`FaultKind::IndexFailure`].
    pub stream: String,
    /// For Kinesis faults the entry's ordinal among all accepted entries; for Firehose faults the
    /// ordinal of the flushed batch in its delivery stream.
    pub ordinal: u64,
    /// The shard the entry was routed to (Kinesis faults).
    pub shard_id: Option<String>,
    /// The entry's partition key (Kinesis faults).
    pub partition_key: Option<String>,
    /// The S3 key of the object concerned (Firehose faults).
    pub object: Option<String>,
    /// The record concerned, as it was put; empty for faults on a whole object.
    pub data: Vec<u8>,
}

/// One object that [`apply_object_faults`] made from a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultedObject {
    /// The object's bytes, before compression.
    pub data: Vec<u8>,
    /// Every record copy placed in the object, in byte order, with what became of it.
    pub pieces: Vec<Piece>,
    /// How long to hold the object before writing it (emulator time).
    pub delay: Duration,
    /// Whether this is the copy whose write S3 performed but reported failed; the next object is its retry.
    pub failed_put: bool,
    /// The faults injected into this object, without its S3 key (the writer fills it in).
    pub events: Vec<FaultEvent>,
}

/// One record copy in a faulted object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Index of the record in the batch.
    pub record: usize,
    /// Where the copy starts in the object, and its length (without the delimiter).
    pub offset: usize,
    pub len: usize,
    pub state: PieceState,
}

/// What became of a record copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceState {
    /// Written as put.
    Intact,
    /// Overwritten with noise (bytes 0x80..=0xBF: never JSON, never whitespace, never a `{`).
    Garbage,
    /// Cut off by truncation after its first `len` bytes, which are intact.
    Partial,
    /// Cut off by truncation entirely: not in the object (`len` is 0).
    Cut,
}

/// Applies `plan` to the records of one flushed batch and returns the objects Firehose writes.
///
/// Without faults that is one object: every record followed by `delimiter`. With faults:
/// 1. each record is dropped with probability `drop`, else placed, then placed again right after
///    itself with probability `duplicate`;
/// 2. at each position, with probability `reorder`, the copy there swaps with the next one (a
///    swapped pair is not considered again);
/// 3. each copy's bytes are replaced by noise with probability `corrupt` (the delimiter stays);
/// 4. with probability `truncate`, the object is cut inside one copy of at least two bytes, after
///    at least one of them: that copy becomes [`PieceState::Partial`] (or stays garbage) and every
///    later copy [`PieceState::Cut`]; each of them is logged;
/// 5. with probability `delay`, the object is held for `delay_by`;
/// 6. with probability `s3_put_failure`, the object is written twice (the first write reported failed).
///
/// Decisions are drawn from `seed` and `batch` (the batch's ordinal) only, so they are reproducible.
pub fn apply_object_faults(
    plan: &ObjectFaults,
    seed: u64,
    batch: u64,
    records: &[&[u8]],
    delimiter: &[u8],
) -> Vec<FaultedObject> {
    let mut draws = Draws::new(seed, batch);
    let mut events = Vec::new();
    let event = |kind: FaultKind, data: &[u8]| FaultEvent {
        kind,
        stream: String::new(),
        ordinal: batch,
        shard_id: None,
        partition_key: None,
        object: None,
        data: data.to_vec(),
    };

    // 1. Drops and duplicates.
    let mut order = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        if draws.chance(plan.drop) {
            events.push(event(FaultKind::DropFirehose, record));
            continue;
        }
        order.push(index);
        if draws.chance(plan.duplicate) {
            events.push(event(FaultKind::Duplicate, record));
            order.push(index);
        }
    }
    // 2. Reordering of adjacent copies.
    let mut position = 0;
    while position + 1 < order.len() {
        if draws.chance(plan.reorder) {
            order.swap(position, position + 1);
            let (ahead, behind) = (records[order[position]], records[order[position + 1]]);
            events.push(event(FaultKind::Reorder { moved_ahead: ahead.to_vec() }, behind));
            position += 2;
        } else {
            position += 1;
        }
    }
    // 3. The object's bytes, with corruption.
    let mut data = Vec::with_capacity(order.iter().map(|&i| records[i].len() + delimiter.len()).sum());
    let mut pieces = Vec::with_capacity(order.len());
    for &index in &order {
        let record = records[index];
        let offset = data.len();
        let state = if draws.chance(plan.corrupt) {
            data.extend((0..record.len()).map(|_| 0x80 + (draws.next_u64() % 0x40) as u8));
            events
                .push(event(FaultKind::Corrupt { offset: offset as u64, len: record.len() as u64 }, record));
            PieceState::Garbage
        } else {
            data.extend_from_slice(record);
            PieceState::Intact
        };
        data.extend_from_slice(delimiter);
        pieces.push(Piece { record: index, offset, len: record.len(), state });
    }
    // 4. Truncation inside one copy of at least two bytes.
    let cuttable: Vec<usize> = (0..pieces.len()).filter(|&i| pieces[i].len >= 2).collect();
    if draws.chance(plan.truncate) && !cuttable.is_empty() {
        let victim = cuttable[(draws.next_u64() % cuttable.len() as u64) as usize];
        let keep = 1 + (draws.next_u64() % (pieces[victim].len as u64 - 1)) as usize;
        let piece = &mut pieces[victim];
        let kept = piece.offset + keep;
        piece.len = keep;
        if piece.state == PieceState::Intact {
            piece.state = PieceState::Partial;
        }
        for piece in &mut pieces[victim + 1..] {
            piece.state = PieceState::Cut;
            piece.offset = kept;
            piece.len = 0;
        }
        data.truncate(kept);
        for (position, piece) in pieces.iter().enumerate().skip(victim) {
            let kind = FaultKind::Truncate { kept: kept as u64, partly: position == victim };
            events.push(event(kind, records[piece.record]));
        }
    }
    // 5. Delay.
    let delay = if draws.chance(plan.delay) {
        events.push(event(FaultKind::Delay { by: plan.delay_by }, &[]));
        plan.delay_by
    } else {
        Duration::ZERO
    };
    // 6. A put that S3 performed but reported failed, then its retry.
    let object = FaultedObject { data, pieces, delay, failed_put: false, events };
    if draws.chance(plan.s3_put_failure) {
        let mut failed = object.clone();
        failed.failed_put = true;
        failed.events.push(event(FaultKind::S3PutFailure { retry: String::new() }, &[]));
        let retry = FaultedObject { delay: Duration::ZERO, events: Vec::new(), ..object };
        vec![failed, retry]
    } else {
        vec![object]
    }
}

/// A SplitMix64 stream: small, fast, and the same on every platform.
#[derive(Debug, Clone)]
struct Draws(u64);

impl Draws {
    fn new(seed: u64, stream: u64) -> Draws {
        Draws(mix(seed ^ mix(stream.wrapping_add(0x5851_F42D_4C95_7F2D))))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// True with probability `p`; draws nothing when `p` is zero, so an empty plan draws nothing.
    fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < p
    }
}

/// FNV-1a over bytes: a stable 64-bit digest, the same on every platform and Rust version.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3))
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The running state of fault injection: the plan, the counters and the log.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    faults: FaultPlan,
    next_kinesis_ordinal: AtomicU64,
    next_kinesis_request: AtomicU64,
    log: Mutex<Vec<FaultEvent>>,
}

impl FaultInjector {
    pub(crate) fn new(faults: FaultPlan) -> FaultInjector {
        FaultInjector {
            faults,
            next_kinesis_ordinal: AtomicU64::new(0),
            next_kinesis_request: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        }
    }

    /// The client-visible faults of one put request (Kinesis PutRecord(s), Firehose
    /// PutRecord(Batch)) of `count` entries, per entry, with the request's ordinal; `None` when the
    /// plan has none (nothing is drawn then).
    pub(crate) fn put_request(&self, count: usize) -> Option<(u64, Vec<Option<EntryFault>>)> {
        if self.faults.throttle_burst <= 0.0 && self.faults.internal_failure <= 0.0 {
            return None;
        }
        let request = self.next_kinesis_request.fetch_add(1, Ordering::Relaxed);
        // A stream of its own, apart from the per-batch streams of Firehose faults.
        let mut draws = Draws::new(self.faults.seed ^ 0x4B49_4E45_5349_5321, request);
        if draws.chance(self.faults.throttle_burst) {
            return Some((request, vec![Some(EntryFault::Throttle); count]));
        }
        let faults = (0..count)
            .map(|_| draws.chance(self.faults.internal_failure).then_some(EntryFault::InternalFailure));
        Some((request, faults.collect()))
    }

    /// The planned shard stall, if any.
    pub(crate) fn stall(&self) -> Option<ShardStall> {
        self.faults.stall_shard
    }

    /// Whether Firehose's Kinesis source reads child shards before their parents are done.
    pub(crate) fn reads_children_early(&self) -> bool {
        self.faults.read_children_early
    }

    /// Whether the in-process search domain rejects a document with this source, by
    /// [`FaultPlan::index_failure`]: the same source gets the same answer on every attempt.
    pub(crate) fn rejects_document(&self, source: &[u8]) -> bool {
        let rate = self.faults.index_failure;
        if rate <= 0.0 {
            return false;
        }
        // A stream of its own per document, apart from the per-batch and per-request streams.
        let mut draws = Draws::new(self.faults.seed ^ 0x494E_4445_5846_4149, fnv1a(source));
        draws.chance(rate)
    }

    /// The plan's seed.
    pub(crate) fn seed(&self) -> u64 {
        self.faults.seed
    }

    /// The faults Firehose applies to flushed batches, unless there are none.
    pub(crate) fn object_faults(&self) -> Option<&ObjectFaults> {
        (!self.faults.firehose.is_empty()).then_some(&self.faults.firehose)
    }

    /// Reserves `count` consecutive ordinals for entries about to be accepted and returns the first.
    pub(crate) fn reserve_kinesis_ordinals(&self, count: usize) -> u64 {
        self.next_kinesis_ordinal.fetch_add(count as u64, Ordering::Relaxed)
    }

    /// Whether no entry in `first..first + count` is to be dropped, so callers can skip the per-entry check.
    pub(crate) fn drops_none_of(&self, first: u64, count: usize) -> bool {
        let drops = &self.faults.drop_kinesis_records;
        drops.is_empty() || drops.range(first..first.saturating_add(count as u64)).next().is_none()
    }

    /// Whether the entry with this ordinal is to be dropped.
    pub(crate) fn should_drop_kinesis(&self, ordinal: u64) -> bool {
        self.faults.drop_kinesis_records.contains(&ordinal)
    }

    /// Records an injected fault, and logs it.
    pub(crate) fn record(&self, event: FaultEvent) {
        self.record_all(vec![event]);
    }

    /// Records the faults of one object or request together, so a reader never sees part of them.
    pub(crate) fn record_all(&self, events: Vec<FaultEvent>) {
        for event in &events {
            log_event(event);
        }
        crate::sync::lock(&self.log).extend(events);
    }

    /// A copy of every fault injected so far, in the order they happened.
    pub(crate) fn events(&self) -> Vec<FaultEvent> {
        crate::sync::lock(&self.log).clone()
    }
}

/// One log line per injected fault, as it is recorded.
fn log_event(event: &FaultEvent) {
    tracing::info!(
            kind = ?Kind(&event.kind),
            stream = %event.stream,
            ordinal = event.ordinal,
            shard_id = event.shard_id.as_deref().unwrap_or(""),
            object = event.object.as_deref().unwrap_or(""),
            "fault injected"
    );
}

/// A fault kind for a log line, without the record data it may carry.
struct Kind<'a>(&'a FaultKind);

impl std::fmt::Debug for Kind<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            FaultKind::Reorder { .. } => f.write_str("Reorder"),
            other => other.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ordinals_are_reserved_in_blocks_and_checked_by_range() {
        let injector = FaultInjector::new(FaultPlan {
            drop_kinesis_records: BTreeSet::from([3, 7]),
            ..FaultPlan::default()
        });
        assert_eq!(injector.reserve_kinesis_ordinals(3), 0);
        assert_eq!(injector.reserve_kinesis_ordinals(2), 3);
        assert!(injector.drops_none_of(0, 3));
        assert!(!injector.drops_none_of(3, 2));
        assert!(injector.should_drop_kinesis(7));
        assert!(!injector.should_drop_kinesis(4));
    }

    const RECORDS: [&[u8]; 4] = [b"{\"a\":0}", b"{\"a\":1}", b"{\"a\":2}", b"{\"a\":3}"];

    #[test]
    fn an_empty_plan_writes_the_batch_as_one_intact_object() {
        let objects = apply_object_faults(&ObjectFaults::default(), 7, 0, &RECORDS, b"\n");
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].data, b"{\"a\":0}\n{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
        assert!(objects[0].pieces.iter().all(|piece| piece.state == PieceState::Intact));
        assert!(objects[0].events.is_empty());
        assert_eq!(objects[0].delay, Duration::ZERO);
    }

    #[test]
    fn certain_faults_do_what_they_say() {
        let drop_all = ObjectFaults { drop: 1.0, ..ObjectFaults::default() };
        let objects = apply_object_faults(&drop_all, 1, 0, &RECORDS, b"");
        assert!(objects[0].data.is_empty());
        assert_eq!(objects[0].events.len(), 4);

        let duplicate_all = ObjectFaults { duplicate: 1.0, ..ObjectFaults::default() };
        let objects = apply_object_faults(&duplicate_all, 1, 0, &RECORDS[..2], b"");
        assert_eq!(objects[0].data, b"{\"a\":0}{\"a\":0}{\"a\":1}{\"a\":1}");

        let reorder_all = ObjectFaults { reorder: 1.0, ..ObjectFaults::default() };
        let objects = apply_object_faults(&reorder_all, 1, 0, &RECORDS, b"");
        assert_eq!(objects[0].data, b"{\"a\":1}{\"a\":0}{\"a\":3}{\"a\":2}");

        let corrupt_all = ObjectFaults { corrupt: 1.0, ..ObjectFaults::default() };
        let objects = apply_object_faults(&corrupt_all, 1, 0, &RECORDS[..1], b"\n");
        assert_eq!(objects[0].data.len(), 8);
        assert!(objects[0].data[..7].iter().all(|byte| (0x80..=0xBF).contains(byte)));
        assert_eq!(objects[0].data[7], b'\n');

        let fail_all = ObjectFaults { s3_put_failure: 1.0, ..ObjectFaults::default() };
        let objects = apply_object_faults(&fail_all, 1, 0, &RECORDS, b"");
        assert_eq!(objects.len(), 2);
        assert!(objects[0].failed_put && !objects[1].failed_put);
        assert_eq!(objects[0].data, objects[1].data);
    }

    #[test]
    fn truncation_cuts_inside_a_record_and_loses_the_rest() {
        let truncate = ObjectFaults { truncate: 1.0, ..ObjectFaults::default() };
        for batch in 0..50 {
            let object = &apply_object_faults(&truncate, 3, batch, &RECORDS, b"")[0];
            let partial = object.pieces.iter().position(|p| p.state == PieceState::Partial).unwrap();
            let piece = object.pieces[partial];
            assert!((1..7).contains(&piece.len), "{piece:?}");
            assert_eq!(object.data.len(), piece.offset + piece.len);
            assert!(object.pieces[partial + 1..].iter().all(|p| p.state == PieceState::Cut));
            assert!(object.pieces[..partial].iter().all(|p| p.state == PieceState::Intact));
        }
    }

    #[test]
    fn the_same_seed_and_batch_give_the_same_faults_and_another_seed_differs() {
        let plan = ObjectFaults { drop: 0.3, duplicate: 0.3, corrupt: 0.3, ..ObjectFaults::default() };
        let records: Vec<Vec<u8>> = (0..64).map(|i| format!("{{\"i\":{i}}}").into_bytes()).collect();
        let records: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        let first = apply_object_faults(&plan, 11, 5, &records, b"");
        assert_eq!(first, apply_object_faults(&plan, 11, 5, &records, b""));
        assert_ne!(first, apply_object_faults(&plan, 12, 5, &records, b""));
        assert_ne!(first, apply_object_faults(&plan, 11, 6, &records, b""));
    }
}
