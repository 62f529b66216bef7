//! The in-memory Kinesis data: streams, their shards, and the records each shard holds in order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::clock::{Clock, unix_millis};
use crate::error::ApiError;
use crate::faults::{EntryFault, FaultEvent, FaultInjector, FaultKind};
pub(crate) use crate::kinesis::fan_out::{Consumer, ConsumerRef, Subscription};
use crate::kinesis::limits::{CallRate, ReadBudget, StreamWindow, WriteWindow};
pub(crate) use crate::kinesis::limits::{SHARD_READ_BYTES_PER_SECOND, ShardLimits};
use crate::kinesis::sequence::SequenceNumber;
pub(crate) use crate::kinesis::sequence::StartingPosition;
use crate::kinesis::shards::{Lineage, Step};
pub(crate) use crate::kinesis::shards::{Reshard, shard_id, shard_number};
use crate::sync::lock;

/// Shards an on-demand stream starts with, as in AWS.
pub(crate) const ON_DEMAND_SHARDS: usize = 4;

/// The default shard quota of an account, which CreateStream and UpdateShardCount enforce.
pub(crate) const MAX_SHARDS: i64 = 500;

/// How a stream's capacity is managed. Both modes throttle per shard with the same limits; an
/// on-demand stream starts with [`ON_DEMAND_SHARDS`] shards and scales up to double its peak
/// write throughput (see [`StreamWindow`]), splitting its shards as UpdateShardCount would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamMode {
    Provisioned,
    OnDemand,
}

impl StreamMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StreamMode::Provisioned => "PROVISIONED",
            StreamMode::OnDemand => "ON_DEMAND",
        }
    }
}

/// All streams of the emulated account and region.
#[derive(Debug)]
pub(crate) struct KinesisStore {
    region: String,
    account_id: String,
    streams: Mutex<HashMap<String, Arc<Stream>>>,
    next_uid: AtomicU64,
    /// The per-shard limits new streams enforce.
    limits: ShardLimits,
    /// SplitShard, MergeShards and UpdateShardCount calls of the current emulated second.
    reshard_calls: Mutex<[CallRate; 3]>,
}

/// One stream: its settings, consumers and shard lineage, and the growing per-shard logs.
#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) name: String,
    pub(crate) arn: String,
    /// Distinguishes this incarnation from a later stream with the same name.
    pub(crate) uid: u64,
    pub(crate) created: OffsetDateTime,
    /// What the settings operations change: mode, retention, tags, monitoring, encryption.
    pub(crate) settings: Mutex<StreamSettings>,
    /// The enhanced fan-out consumers registered on the stream, in registration order.
    pub(crate) consumers: Mutex<Vec<Consumer>>,
    /// Emulator time, for resharding that completes a while after it was asked for.
    clock: Clock,
    /// Which per-shard limits are enforced.
    limits: ShardLimits,
    log: Mutex<StreamLog>,
    /// Bumped after every write, so in-process readers wake up instead of polling.
    changes: watch::Sender<u64>,
}

/// A stream's settings, as DescribeStreamSummary reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamSettings {
    pub(crate) mode: StreamMode,
    /// 24 hours for a new stream, up to 8760 (CreateStream, IncreaseStreamRetentionPeriod).
    pub(crate) retention_hours: u32,
    pub(crate) tags: std::collections::BTreeMap<String, String>,
    /// The shard-level metrics enhanced monitoring has on.
    pub(crate) shard_level_metrics: std::collections::BTreeSet<String>,
    /// The KMS key of server-side encryption, when it is on.
    pub(crate) kms_key_id: Option<String>,
}

impl StreamSettings {
    /// The retention period of a new stream.
    pub(crate) const DEFAULT_RETENTION_HOURS: u32 = 24;

    /// The retention period in milliseconds.
    pub(crate) fn retention_ms(&self) -> i64 {
        i64::from(self.retention_hours) * 3_600_000
    }

    fn new(mode: StreamMode) -> StreamSettings {
        StreamSettings {
            mode,
            retention_hours: Self::DEFAULT_RETENTION_HOURS,
            tags: std::collections::BTreeMap::new(),
            shard_level_metrics: std::collections::BTreeSet::new(),
            kms_key_id: None,
        }
    }
}

#[derive(Debug)]
struct StreamLog {
    /// Every shard the stream has had; `shards` holds their records, index for index. Shared with
    /// readers, who hold the lineage they last saw; a resharding writes a new one.
    lineage: Arc<Lineage>,
    shards: Vec<ShardLog>,
    /// The resharding under way: the stream is UPDATING until it completes.
    pending: Option<PendingReshard>,
    /// When each UpdateShardCount of the last 24 hours was accepted, in emulator milliseconds.
    scalings: Vec<i64>,
    /// The writes of the current second, from which an on-demand stream scales.
    window: StreamWindow,
    deleted: bool,
}

/// Splits and merges a resharding call asked for, applied together when the stream turns ACTIVE.
#[derive(Debug)]
struct PendingReshard {
    /// Emulator milliseconds since the Unix epoch at which the steps take effect.
    ready_ms: i64,
    steps: Vec<Step>,
    /// A resharding call's, which shows as UPDATING; an on-demand stream scales while ACTIVE.
    visible: bool,
}

/// How long a stream stays UPDATING after a resharding call, in emulator time. AWS takes seconds
/// for a split or merge and "could take a few minutes" for UpdateShardCount; reads and writes go on
/// meanwhile, to the old shards (UpdateShardCount, SplitShard, Kinesis API Reference).
pub(crate) const RESHARD_MS: i64 = 1_000;

/// Most UpdateShardCount calls a stream accepts in a rolling 24 hours: "Scale more than ten times
/// per rolling 24-hour period per stream" is refused (UpdateShardCount, Kinesis API Reference).
const SCALINGS_PER_DAY: usize = 10;

#[derive(Debug)]
struct ShardLog {
    /// Records in sequence order. Counters are increasing but may have gaps where entries were dropped.
    records: Vec<Record>,
    /// The counter of the next record; the first record is 1, so counter 0 is the shard's
    /// `StartingSequenceNumber`, before every record (AFTER_SEQUENCE_NUMBER of it reads from the first).
    next_counter: u64,
    /// Writes accepted in the current one-second window of emulator time.
    window: WriteWindow,
    /// What GetRecords has taken of the shard's read limits.
    reads: ReadBudget,
}

impl ShardLog {
    /// A new shard's log: empty, limits untouched.
    fn new() -> ShardLog {
        ShardLog {
            records: Vec::new(),
            next_counter: 1,
            window: WriteWindow::default(),
            reads: ReadBudget::default(),
        }
    }
}

/// A stored record.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) counter: u64,
    /// Emulator time of arrival, in milliseconds since the Unix epoch.
    pub(crate) arrival_ms: i64,
    pub(crate) partition_key: String,
    pub(crate) data: Bytes,
    /// Whether server-side encryption was on when the record was written.
    pub(crate) encrypted: bool,
}

/// An entry of a put request, validated and ready to route.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) data: Bytes,
    pub(crate) partition_key: String,
    pub(crate) explicit_hash_key: Option<u128>,
    /// PutRecord's `SequenceNumberForOrdering`: the entry's sequence number must be greater.
    pub(crate) sequence_after: Option<SequenceNumber>,
}

/// Where an accepted entry went.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepted {
    pub(crate) shard_index: usize,
    pub(crate) sequence: SequenceNumber,
}

/// What happened to one entry of a put request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PutOutcome {
    Accepted(Accepted),
    /// The entry's shard had reached its per-second write limit; nothing was stored.
    Throttled {
        shard_index: usize,
    },
    /// Fault injection failed the entry with `InternalFailure`; nothing was stored.
    InternalFailure,
}

/// The result of reading a shard.
#[derive(Debug)]
pub(crate) struct ReadOutcome {
    /// The position the next read should start from.
    pub(crate) next_position: u64,
    /// Emulator arrival time of the oldest record not yet returned, if any remain.
    pub(crate) oldest_unread_ms: Option<i64>,
    /// The shard is closed and every record it holds has been returned: readers go on to its children.
    pub(crate) shard_ended: bool,
}

/// The stream was deleted while a reader still held it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamDeleted;

/// Why a GetRecords read returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadRefused {
    Deleted,
    /// The shard's read limits refuse the call.
    Throttled,
}

impl KinesisStore {
    /// An empty store whose shards enforce `limits`.
    pub(crate) fn new(region: &str, account_id: &str, limits: ShardLimits) -> KinesisStore {
        KinesisStore {
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            streams: Mutex::new(HashMap::new()),
            next_uid: AtomicU64::new(1),
            limits,
            reshard_calls: Mutex::new(Default::default()),
        }
    }

    /// Counts a resharding call of the account at emulated second `second` against AWS's
    /// per-account rates: "SplitShard has a limit of five transactions per second per account",
    /// MergeShards likewise, and UpdateShardCount refuses "over 10 TPS" (Kinesis API Reference);
    /// a call beyond them is `LimitExceededException`.
    pub(crate) fn admit_reshard_call(&self, request: Reshard, second: u64) -> Result<(), ApiError> {
        let (index, operation, limit) = match request {
            Reshard::Split { .. } => (0, "SplitShard", 5),
            Reshard::Merge { .. } => (1, "MergeShards", 5),
            Reshard::Uniform { .. } => (2, "UpdateShardCount", 10),
        };
        if lock(&self.reshard_calls)[index].admit(second, limit) {
            return Ok(());
        }
        Err(ApiError::bad_request(
            "LimitExceededException",
            format!(
                "Rate exceeded for {operation} of account {}: at most {limit} calls a second.",
                self.account_id
            ),
        ))
    }

    pub(crate) fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The ARN AWS would give a stream of this name.
    pub(crate) fn stream_arn(&self, name: &str) -> String {
        format!("arn:aws:kinesis:{}:{}:stream/{name}", self.region, self.account_id)
    }

    /// Creates a stream with `shard_count` shards splitting the hash-key space evenly, now on `clock`.
    pub(crate) fn create(
        &self,
        name: &str,
        shard_count: usize,
        mode: StreamMode,
        clock: Clock,
    ) -> Result<Arc<Stream>, ApiError> {
        let created = clock.now();
        let stream = Arc::new(Stream {
            name: name.to_owned(),
            arn: self.stream_arn(name),
            uid: self.next_uid.fetch_add(1, Ordering::Relaxed),
            created,
            settings: Mutex::new(StreamSettings::new(mode)),
            consumers: Mutex::new(Vec::new()),
            clock,
            limits: self.limits,
            log: Mutex::new(StreamLog {
                lineage: Arc::new(Lineage::new(shard_count, unix_millis(created))),
                shards: (0..shard_count).map(|_| ShardLog::new()).collect(),
                pending: None,
                scalings: Vec::new(),
                window: StreamWindow::default(),
                deleted: false,
            }),
            changes: watch::Sender::new(0),
        });
        let mut streams = lock(&self.streams);
        if streams.contains_key(name) {
            return Err(ApiError::in_use(format!(
                "Stream {name} under account {} already exists.",
                self.account_id
            )));
        }
        streams.insert(name.to_owned(), Arc::clone(&stream));
        Ok(stream)
    }

    /// Looks a stream up by name, or by ARN when only the ARN is given.
    pub(crate) fn get(&self, name: Option<&str>, arn: Option<&str>) -> Result<Arc<Stream>, ApiError> {
        let name = match (name, arn) {
            (Some(name), _) => name,
            (None, Some(arn)) => arn.rsplit_once(":stream/").map(|(_, name)| name).ok_or_else(|| {
                ApiError::invalid_argument(format!("StreamARN {arn} is not a Kinesis stream ARN."))
            })?,
            (None, None) => {
                return Err(ApiError::invalid_argument("Either StreamName or StreamARN must be provided."));
            }
        };
        let found = lock(&self.streams).get(name).cloned();
        match found {
            Some(stream) if arn.is_none_or(|arn| arn == stream.arn) => Ok(stream),
            _ => Err(ApiError::not_found(format!(
                "Stream {name} under account {} not found.",
                self.account_id
            ))),
        }
    }

    /// Looks a stream up by ARN only, as Firehose does for its source.
    pub(crate) fn get_by_arn(&self, arn: &str) -> Option<Arc<Stream>> {
        self.get(None, Some(arn)).ok()
    }

    /// Every stream, sorted by name.
    pub(crate) fn streams(&self) -> Vec<Arc<Stream>> {
        let mut streams: Vec<Arc<Stream>> = lock(&self.streams).values().cloned().collect();
        streams.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        streams
    }

    /// Names of all streams, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = lock(&self.streams).keys().cloned().collect();
        names.sort_unstable();
        names
    }

    /// The stream and consumer `which` names.
    pub(crate) fn consumer(&self, which: ConsumerRef<'_>) -> Result<(Arc<Stream>, Consumer), ApiError> {
        let (stream_arn, shown) = match which {
            ConsumerRef::Arn(arn) => {
                let stream_arn = arn.split_once("/consumer/").map(|(stream, _)| stream).ok_or_else(|| {
                    ApiError::invalid_argument(format!("ConsumerARN {arn} is not a Kinesis consumer ARN."))
                })?;
                (stream_arn, arn.to_owned())
            }
            ConsumerRef::Named { stream_arn, name } => (stream_arn, format!("{stream_arn}/consumer/{name}")),
        };
        let stream = self.get(None, Some(stream_arn))?;
        let found = lock(&stream.consumers)
            .iter()
            .find(|consumer| match which {
                ConsumerRef::Arn(arn) => consumer.arn == arn,
                ConsumerRef::Named { name, .. } => consumer.name == name,
            })
            .cloned();
        match found {
            Some(consumer) => Ok((stream, consumer)),
            None => Err(ApiError::not_found(format!(
                "Consumer {shown} under account {} not found.",
                self.account_id
            ))),
        }
    }

    /// Deletes a stream; readers holding it see [`StreamDeleted`] from then on.
    pub(crate) fn delete(&self, name: Option<&str>, arn: Option<&str>) -> Result<(), ApiError> {
        let stream = self.get(name, arn)?;
        let removed = {
            let mut streams = lock(&self.streams);
            match streams.get(&stream.name) {
                Some(current) if current.uid == stream.uid => streams.remove(&stream.name),
                _ => None,
            }
        };
        if let Some(stream) = removed {
            lock(&stream.log).deleted = true;
            stream.changes.send_modify(|version| *version = version.wrapping_add(1));
        }
        Ok(())
    }
}

/// Hands `take` up to `max_records` records (and, past the first, at most `max_bytes` of data) from
/// `position` on.
fn read(
    records: &[Record],
    position: u64,
    max_records: usize,
    max_bytes: usize,
    mut take: impl FnMut(&Record),
) -> ReadOutcome {
    let start = records.partition_point(|r| r.counter < position);
    let mut next_position = position;
    let mut bytes = 0usize;
    let mut taken = 0usize;
    for record in &records[start..] {
        if taken == max_records || (taken > 0 && bytes + record.data.len() > max_bytes) {
            break;
        }
        bytes += record.data.len();
        taken += 1;
        next_position = record.counter + 1;
        take(record);
    }
    let oldest_unread_ms = records.get(start + taken).map(|r| r.arrival_ms);
    ReadOutcome { next_position, oldest_unread_ms, shard_ended: false }
}

/// Checks a stream or consumer name against AWS's pattern, `[a-zA-Z0-9_.-]+` of 1 to 128 characters;
/// `field` is the member's name in the error (`streamName`, `consumerName`).
pub(crate) fn check_name(field: &str, name: &str) -> Result<(), ApiError> {
    let valid_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if name.is_empty() || name.len() > 128 || !valid_chars {
        return Err(ApiError::validation(format!(
            "Value '{name}' at '{field}' failed to satisfy constraint: Member must satisfy regular \
             expression pattern: [a-zA-Z0-9_.-]+ and have length between 1 and 128"
        )));
    }
    Ok(())
}

impl Stream {
    /// The index of shard `shard_id`, or AWS's `ResourceNotFoundException` naming it.
    pub(crate) fn shard_or_not_found(&self, shard_id: &str, account_id: &str) -> Result<usize, ApiError> {
        self.shard_index(shard_id).ok_or_else(|| {
            ApiError::not_found(format!(
                "Shard {shard_id} in stream {} under account {account_id} does not exist",
                self.name
            ))
        })
    }

    /// The index of the shard with this id.
    pub(crate) fn shard_index(&self, shard_id: &str) -> Option<usize> {
        let index = shard_number(shard_id)?;
        (index < self.log().shards.len()).then_some(index)
    }

    /// The stream's log, with a resharding whose time has come applied first.
    fn log(&self) -> std::sync::MutexGuard<'_, StreamLog> {
        let mut log = lock(&self.log);
        // The clock is read only while a resharding is under way, not on every access.
        let due = log.pending.as_ref().map(|pending| pending.ready_ms);
        if due.is_some_and(|ready_ms| ready_ms <= unix_millis(self.clock.now())) {
            let pending = log.pending.take().expect("a pending reshard");
            let StreamLog { lineage, shards, .. } = &mut *log;
            let lineage = Arc::make_mut(lineage);
            for step in pending.steps {
                let opened = lineage.apply(step, pending.ready_ms, |shard| shards[shard].next_counter - 1);
                shards.extend(opened.iter().map(|_| ShardLog::new()));
            }
            tracing::debug!(stream = %self.name, open = lineage.open().len(), "resharding completed");
            self.changes.send_modify(|version| *version = version.wrapping_add(1));
        }
        log
    }

    /// How many shards the stream has had, closed ones included.
    pub(crate) fn shard_count(&self) -> usize {
        self.log().shards.len()
    }

    /// The shard lineage as it is now.
    pub(crate) fn lineage(&self) -> Arc<Lineage> {
        Arc::clone(&self.log().lineage)
    }

    /// How many shards are open.
    pub(crate) fn open_shard_count(&self) -> usize {
        self.log().lineage.open().len()
    }

    /// Whether no resharding is under way, visible or not.
    fn settled(&self) -> bool {
        self.log().pending.is_none()
    }

    /// `UPDATING` while a resharding is under way, else `ACTIVE`.
    pub(crate) fn status(&self) -> &'static str {
        if self.log().pending.as_ref().is_some_and(|pending| pending.visible) { "UPDATING" } else { "ACTIVE" }
    }

    /// The shards a resharding under way will close.
    pub(crate) fn resharding(&self) -> Vec<usize> {
        let log = self.log();
        log.pending.iter().flat_map(|pending| pending.steps.iter().flat_map(Step::closes)).collect()
    }

    /// Accepts a resharding call: checks it against the open shards and AWS's limits, sets the
    /// stream UPDATING and returns the open shard count before it; the splits and merges take
    /// effect [`RESHARD_MS`] of emulator time later. `account_id` goes into error messages.
    pub(crate) fn reshard(self: &Arc<Self>, request: Reshard, account_id: &str) -> Result<usize, ApiError> {
        let now_ms = unix_millis(self.clock.now());
        let mode = lock(&self.settings).mode;
        let mut log = self.log();
        if log.deleted {
            return Err(ApiError::not_found(format!("Stream {} was deleted.", self.name)));
        }
        let operation = match request {
            Reshard::Split { .. } => "SplitShard",
            Reshard::Merge { .. } => "MergeShards",
            Reshard::Uniform { .. } => "UpdateShardCount",
        };
        if mode == StreamMode::OnDemand {
            // "This API is only supported for the data streams with the provisioned capacity mode."
            return Err(ApiError::validation(format!(
                "{operation} is only supported for streams in PROVISIONED mode; stream {} under account \
                 {account_id} is ON_DEMAND.",
                self.name
            )));
        }
        if log.pending.is_some() {
            return Err(ApiError::in_use(format!(
                "Stream {} under account {account_id} not ACTIVE, instead in state UPDATING",
                self.name
            )));
        }
        if let Reshard::Uniform { .. } = request {
            log.scalings.retain(|&at| now_ms - at < 24 * 3_600_000);
            if log.scalings.len() >= SCALINGS_PER_DAY {
                return Err(ApiError::bad_request(
                    "LimitExceededException",
                    format!(
                        "Stream {} under account {account_id} was scaled {SCALINGS_PER_DAY} times in the last \
                         24 hours, the most UpdateShardCount allows.",
                        self.name
                    ),
                ));
            }
        }
        let steps = log.lineage.plan(request, &self.name, account_id)?;
        if let Reshard::Uniform { .. } = request {
            log.scalings.push(now_ms);
        }
        let open = log.lineage.open().len();
        let ready_ms = now_ms + RESHARD_MS;
        log.pending = Some(PendingReshard { ready_ms, steps, visible: true });
        drop(log);
        self.changes.send_modify(|version| *version = version.wrapping_add(1));
        // Complete on time even when nobody calls: readers waiting for changes see the new shards.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let stream = Arc::downgrade(self);
            let wait = self.clock.to_wall(std::time::Duration::from_millis(RESHARD_MS as u64));
            runtime.spawn(async move {
                tokio::time::sleep(wait).await;
                while let Some(stream) = stream.upgrade() {
                    if stream.settled() {
                        break;
                    }
                    drop(stream);
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            });
        }
        Ok(open)
    }

    /// Starts a subscription of consumer `consumer_arn` to shard `shard_index` at `now_ms` emulator
    /// milliseconds since the epoch (see [`Consumer::take_over`]).
    pub(crate) fn take_over_shard(
        &self,
        consumer_arn: &str,
        shard_index: usize,
        now_ms: i64,
    ) -> Result<Subscription, ApiError> {
        let mut consumers = lock(&self.consumers);
        let consumer = consumers
            .iter_mut()
            .find(|consumer| consumer.arn == consumer_arn)
            .ok_or_else(|| ApiError::not_found(format!("Consumer {consumer_arn} not found.")))?;
        consumer.take_over(shard_index, now_ms)
    }

    /// Whether `subscription` of consumer `consumer_arn` still holds shard `shard_index`: `None`
    /// when the consumer was deregistered, `Some(false)` when a later subscription took over.
    pub(crate) fn holds_shard(
        &self,
        consumer_arn: &str,
        shard_index: usize,
        subscription: u64,
    ) -> Option<bool> {
        let consumers = lock(&self.consumers);
        let consumer = consumers.iter().find(|consumer| consumer.arn == consumer_arn)?;
        Some(consumer.subscriptions.get(&shard_index).is_some_and(|current| current.id == subscription))
    }

    /// Subscribes to write notifications.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Routes, numbers and stores entries, in order, as one request.
    ///
    /// Entries beyond their shard's per-second write limits are throttled: not numbered, not stored.
    /// Every accepted entry gets the same arrival time and consecutive fault ordinals. Entries the
    /// fault injector drops are numbered and acknowledged like the others but not stored.
    pub(crate) fn put(
        &self,
        entries: Vec<Entry>,
        clock: &Clock,
        faults: &FaultInjector,
    ) -> Result<Vec<PutOutcome>, ApiError> {
        // Hash outside the lock: it is the only per-entry work that does not touch shared state.
        let hashes: Vec<u128> = entries
            .iter()
            .map(|entry| {
                entry
                    .explicit_hash_key
                    .unwrap_or_else(|| vocabulary::partition_key_hash(&entry.partition_key))
            })
            .collect();
        let injected = faults.put_request(entries.len());
        let injected_at = |index: usize| injected.as_ref().and_then(|(_, faults)| faults[index]);
        let mut outcomes = Vec::with_capacity(entries.len());
        let mut dropped = Vec::new();
        let mut refused = Vec::new();
        let (encrypted, on_demand) = {
            let settings = lock(&self.settings);
            (settings.kms_key_id.is_some(), settings.mode == StreamMode::OnDemand)
        };
        {
            let mut log = self.log();
            if log.deleted {
                return Err(ApiError::not_found(format!("Stream {} was deleted.", self.name)));
            }
            // Routed under the lock: a resharding changes which shards are open.
            let routes: Vec<usize> = hashes.iter().map(|&hash| log.lineage.route(hash)).collect();
            let now = clock.now();
            let arrival_ms = unix_millis(now);
            let second = clock.elapsed_at(now).as_secs();
            let admitted: Vec<bool> = entries
                .iter()
                .zip(&routes)
                .enumerate()
                .map(|(index, (entry, &shard_index))| {
                    injected_at(index).is_none()
                        && (!self.limits.writes
                            || log.shards[shard_index]
                                .window
                                .admit(second, entry.data.len() + entry.partition_key.len()))
                })
                .collect();
            let accepted_count = admitted.iter().filter(|&&a| a).count();
            if on_demand {
                let bytes: usize = entries
                    .iter()
                    .zip(&admitted)
                    .filter(|(_, admitted)| **admitted)
                    .map(|(entry, _)| entry.data.len() + entry.partition_key.len())
                    .sum();
                let open = log.lineage.open().len();
                let needed = log.window.add(second, accepted_count as u64, bytes as u64, open);
                if let Some(needed) = needed
                    && log.pending.is_none()
                {
                    // One doubling at a time, as a scaling call may; the next second asks again.
                    let target = needed.min(open * 2).min(MAX_SHARDS as usize);
                    let steps = log.lineage.uniform_scaling(target);
                    tracing::debug!(stream = %self.name, open, target, "on-demand stream scales up");
                    log.pending =
                        Some(PendingReshard { ready_ms: arrival_ms + RESHARD_MS, steps, visible: false });
                }
            }
            let first_ordinal = faults.reserve_kinesis_ordinals(accepted_count);
            let check_faults = !faults.drops_none_of(first_ordinal, accepted_count);
            let mut ordinal = first_ordinal;
            for (index, ((entry, shard_index), admitted)) in
                entries.into_iter().zip(routes).zip(admitted).enumerate()
            {
                if !admitted {
                    match injected_at(index) {
                        Some(EntryFault::InternalFailure) => {
                            outcomes.push(PutOutcome::InternalFailure);
                            refused.push((FaultKind::InternalFailure, shard_index, entry));
                        }
                        Some(EntryFault::Throttle) => {
                            outcomes.push(PutOutcome::Throttled { shard_index });
                            refused.push((FaultKind::ThrottleBurst, shard_index, entry));
                        }
                        None => outcomes.push(PutOutcome::Throttled { shard_index }),
                    }
                    continue;
                }
                let shard = &mut log.shards[shard_index];
                if let Some(after) = entry.sequence_after
                    && after.shard_index == shard_index as u64
                    && after.counter >= shard.next_counter
                {
                    shard.next_counter = after.counter.saturating_add(1);
                }
                let counter = shard.next_counter;
                shard.next_counter += 1;
                let sequence = SequenceNumber { shard_index: shard_index as u64, counter };
                outcomes.push(PutOutcome::Accepted(Accepted { shard_index, sequence }));
                let this_ordinal = ordinal;
                ordinal += 1;
                if check_faults && faults.should_drop_kinesis(this_ordinal) {
                    dropped.push((this_ordinal, shard_index, entry));
                    continue;
                }
                shard.records.push(Record {
                    counter,
                    arrival_ms,
                    partition_key: entry.partition_key,
                    data: entry.data,
                    encrypted,
                });
            }
        }
        self.changes.send_modify(|version| *version = version.wrapping_add(1));
        if refused.is_empty() && dropped.is_empty() {
            return Ok(outcomes);
        }
        let request = injected.map_or(0, |(request, _)| request);
        let event = |kind, ordinal, shard_index: usize, entry: Entry| FaultEvent {
            kind,
            ordinal,
            stream: self.name.clone(),
            shard_id: Some(shard_id(shard_index)),
            partition_key: Some(entry.partition_key),
            object: None,
            data: entry.data.to_vec(),
        };
        let refused =
            refused.into_iter().map(|(kind, shard_index, entry)| event(kind, request, shard_index, entry));
        let dropped = dropped
            .into_iter()
            .map(|(ordinal, shard_index, entry)| event(FaultKind::DropKinesis, ordinal, shard_index, entry));
        faults.record_all(refused.chain(dropped).collect());
        Ok(outcomes)
    }

    /// Resolves where a new iterator on shard `shard_index` starts.
    pub(crate) fn starting_position(
        &self,
        shard_index: usize,
        start: StartingPosition,
    ) -> Result<u64, ApiError> {
        let log = self.log();
        if log.deleted {
            return Err(ApiError::not_found(format!("Stream {} was deleted.", self.name)));
        }
        let shard = &log.shards[shard_index];
        let check = |sequence: SequenceNumber| {
            if sequence.shard_index != shard_index as u64 || sequence.counter >= shard.next_counter {
                Err(ApiError::invalid_argument(format!(
                    "StartingSequenceNumber {} used in GetShardIterator on shard {} in stream {} is \
                     invalid because it did not come from this shard.",
                    sequence.format(),
                    shard_id(shard_index),
                    self.name,
                )))
            } else {
                Ok(sequence.counter)
            }
        };
        match start {
            StartingPosition::TrimHorizon => {
                Ok(shard.records.first().map_or(shard.next_counter, |r| r.counter))
            }
            StartingPosition::Latest => Ok(shard.next_counter),
            StartingPosition::AtSequence(sequence) => check(sequence),
            StartingPosition::AfterSequence(sequence) => check(sequence).map(|counter| counter + 1),
            StartingPosition::AtTimestamp { unix_millis } => {
                let index = shard.records.partition_point(|r| r.arrival_ms < unix_millis);
                Ok(shard.records.get(index).map_or(shard.next_counter, |r| r.counter))
            }
        }
    }

    /// Copies up to `max_records` records (and, past the first, at most `max_bytes` of data) from
    /// `position` on into `out`, as a GetRecords call at `now_ms` emulator milliseconds since the
    /// clock's start: the shard's read limits, when enforced, may refuse it.
    pub(crate) fn get_records(
        &self,
        shard_index: usize,
        position: u64,
        (max_records, max_bytes): (usize, usize),
        now_ms: u64,
        out: &mut Vec<Record>,
    ) -> Result<ReadOutcome, ReadRefused> {
        let mut log = self.log();
        if log.deleted {
            return Err(ReadRefused::Deleted);
        }
        let budget = &mut log.shards[shard_index].reads;
        if self.limits.reads && !budget.admit(now_ms) {
            return Err(ReadRefused::Throttled);
        }
        let mut bytes = 0u64;
        let mut outcome =
            read(&log.shards[shard_index].records, position, max_records, max_bytes, |record| {
                bytes += record.data.len() as u64;
                out.push(record.clone());
            });
        log.shards[shard_index].reads.charge(now_ms, bytes);
        outcome.shard_ended =
            outcome.oldest_unread_ms.is_none() && log.lineage.shards()[shard_index].closed.is_some();
        Ok(outcome)
    }

    /// Copies records like [`Stream::get_records`], outside the GetRecords limits, as the service's
    /// own readers (Firehose, enhanced fan-out) read.
    pub(crate) fn read_records(
        &self,
        shard_index: usize,
        position: u64,
        max_records: usize,
        max_bytes: usize,
        out: &mut Vec<Record>,
    ) -> Result<ReadOutcome, StreamDeleted> {
        self.read_with(shard_index, position, max_records, max_bytes, |record| out.push(record.clone()))
    }

    /// Like [`Stream::read_records`], but hands out only the data, which is cheap to clone.
    pub(crate) fn read_data(
        &self,
        shard_index: usize,
        position: u64,
        max_records: usize,
        max_bytes: usize,
        out: &mut Vec<Bytes>,
    ) -> Result<ReadOutcome, StreamDeleted> {
        self.read_with(shard_index, position, max_records, max_bytes, |record| out.push(record.data.clone()))
    }

    fn read_with(
        &self,
        shard_index: usize,
        position: u64,
        max_records: usize,
        max_bytes: usize,
        take: impl FnMut(&Record),
    ) -> Result<ReadOutcome, StreamDeleted> {
        let log = self.log();
        if log.deleted {
            return Err(StreamDeleted);
        }
        let mut outcome = read(&log.shards[shard_index].records, position, max_records, max_bytes, take);
        outcome.shard_ended =
            outcome.oldest_unread_ms.is_none() && log.lineage.shards()[shard_index].closed.is_some();
        Ok(outcome)
    }

    /// Drops the records older than the retention period at emulator time `now_ms`: past it they
    /// are no longer readable (IncreaseStreamRetentionPeriod, "Changing the data retention period").
    pub(crate) fn trim_expired(&self, now_ms: i64) {
        let cutoff = now_ms.saturating_sub(lock(&self.settings).retention_ms());
        let mut log = self.log();
        for shard in &mut log.shards {
            let expired = shard.records.partition_point(|record| record.arrival_ms < cutoff);
            if expired > 0 {
                shard.records.drain(..expired);
            }
        }
    }

    /// The LATEST position of every shard, in shard order.
    pub(crate) fn latest_positions(&self) -> Result<Vec<u64>, StreamDeleted> {
        let log = self.log();
        if log.deleted {
            return Err(StreamDeleted);
        }
        Ok(log.shards.iter().map(|shard| shard.next_counter).collect())
    }
}

#[cfg(test)]
mod tests;
