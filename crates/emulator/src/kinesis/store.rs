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
use crate::kinesis::sequence::SequenceNumber;
use crate::sync::lock;
use vocabulary::HashKeyRange;

/// Shards an on-demand stream starts with, as in AWS.
pub(crate) const ON_DEMAND_SHARDS: usize = 4;

/// Most records one shard accepts per second.
pub(crate) const SHARD_RECORDS_PER_SECOND: u32 = 1_000;
/// Most bytes (data plus partition key) one shard accepts per second.
pub(crate) const SHARD_BYTES_PER_SECOND: usize = 1024 * 1024;
/// Most GetRecords calls one shard serves per second.
pub(crate) const SHARD_READS_PER_SECOND: u32 = 5;
/// The data one shard returns per second through GetRecords.
pub(crate) const SHARD_READ_BYTES_PER_SECOND: u64 = 2 * 1024 * 1024;

/// Which of AWS's per-shard limits a store enforces, in emulator time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShardLimits {
    /// 1 MiB (data plus partition key) and 1,000 records written per second.
    pub(crate) writes: bool,
    /// 5 GetRecords calls and 2 MiB returned per second.
    pub(crate) reads: bool,
}

/// How a stream's capacity is managed. Both modes throttle per shard with the same limits; an
/// on-demand stream starts with [`ON_DEMAND_SHARDS`] shards and does not scale.
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
}

/// One stream: fixed shard layout plus the growing per-shard logs.
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
    pub(crate) shards: Vec<ShardInfo>,
    ranges: Vec<HashKeyRange>,
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

/// An enhanced fan-out consumer (RegisterStreamConsumer).
#[derive(Debug, Clone)]
pub(crate) struct Consumer {
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) created: OffsetDateTime,
    /// The latest SubscribeToShard of each shard, by shard index.
    pub(crate) subscriptions: HashMap<usize, Subscription>,
}

/// One SubscribeToShard call that took over a consumer's shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Subscription {
    /// Distinguishes this subscription from the next one on the same shard, which ends it.
    pub(crate) id: u64,
    /// When it started, in emulator milliseconds since the Unix epoch.
    pub(crate) started_ms: i64,
}

/// How a call names a consumer: by its ARN, or by its stream's ARN and its name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ConsumerRef<'a> {
    Arn(&'a str),
    Named { stream_arn: &'a str, name: &'a str },
}

/// How soon after a successful SubscribeToShard another call for the same consumer and shard is
/// refused: "If you call SubscribeToShard again with the same ConsumerARN and ShardId within 5
/// seconds of a successful call, you'll get a ResourceInUseException" (SubscribeToShard, Kinesis API
/// Reference); a later call takes the subscription over.
const SUBSCRIPTION_TAKEOVER_MS: i64 = 5_000;

/// Numbers subscriptions across streams.
static NEXT_SUBSCRIPTION: AtomicU64 = AtomicU64::new(1);

/// The fixed description of one shard.
#[derive(Debug)]
pub(crate) struct ShardInfo {
    pub(crate) id: String,
    pub(crate) range: HashKeyRange,
}

#[derive(Debug)]
struct StreamLog {
    shards: Vec<ShardLog>,
    deleted: bool,
}

#[derive(Debug, Default)]
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

/// The writes a shard accepted in one second of emulator time, counted from the clock's start.
#[derive(Debug, Default)]
struct WriteWindow {
    second: u64,
    records: u32,
    bytes: usize,
}

impl WriteWindow {
    /// Counts an entry of `bytes` bytes written in emulated second `second`; returns false, counting
    /// nothing, when the entry would exceed the shard's per-second limits.
    fn admit(&mut self, second: u64, bytes: usize) -> bool {
        if self.second != second {
            *self = WriteWindow { second, records: 0, bytes: 0 };
        }
        if self.records >= SHARD_RECORDS_PER_SECOND || self.bytes + bytes > SHARD_BYTES_PER_SECOND {
            return false;
        }
        self.records += 1;
        self.bytes += bytes;
        true
    }
}

/// The GetRecords calls a shard served in the current second of emulator time, and when the data
/// it returned has been paid for.
///
/// "Each shard can support up to five read transactions per second" and "up to a maximum total data
/// read rate of 2 MiB per second"; a call may return up to 10 MiB, and then "subsequent calls made
/// within the next 5 seconds throw ProvisionedThroughputExceededException" (GetRecords, Kinesis API
/// Reference). So every byte a call returns is paid for at 2 MiB/s before the next call is served.
#[derive(Debug, Default)]
struct ReadBudget {
    second: u64,
    calls: u32,
    /// Emulator milliseconds since the clock's start before which no call is served.
    paid_until_ms: u64,
}

impl ReadBudget {
    /// Counts a call at `now_ms`; false, counting nothing, when the shard must refuse it.
    fn admit(&mut self, now_ms: u64) -> bool {
        let second = now_ms / 1000;
        if self.second != second {
            *self = ReadBudget { second, calls: 0, ..*self };
        }
        if self.calls >= SHARD_READS_PER_SECOND || now_ms < self.paid_until_ms {
            return false;
        }
        self.calls += 1;
        true
    }

    /// Charges `bytes` returned by a call at `now_ms`.
    fn charge(&mut self, now_ms: u64, bytes: u64) {
        self.paid_until_ms = self.paid_until_ms.max(now_ms) + bytes * 1000 / SHARD_READ_BYTES_PER_SECOND;
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

/// Where a new iterator starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StartingPosition {
    TrimHorizon,
    Latest,
    AtSequence(SequenceNumber),
    AfterSequence(SequenceNumber),
    AtTimestamp { unix_millis: i64 },
}

impl StartingPosition {
    /// Reads a position as GetShardIterator (`ShardIteratorType`) and SubscribeToShard
    /// (`StartingPosition.Type`) name it: `field` is the type's field and value.
    pub(crate) fn parse(
        (field, kind): (&str, &str),
        sequence: Option<&str>,
        timestamp: Option<f64>,
    ) -> Result<StartingPosition, ApiError> {
        let sequence = || -> Result<SequenceNumber, ApiError> {
            let text = sequence.ok_or_else(|| {
                ApiError::invalid_argument(format!("StartingSequenceNumber is required for {field} {kind}."))
            })?;
            SequenceNumber::parse(text)
                .ok_or_else(|| ApiError::invalid_argument(format!("Invalid StartingSequenceNumber: {text}")))
        };
        Ok(match kind {
            "TRIM_HORIZON" => StartingPosition::TrimHorizon,
            "LATEST" => StartingPosition::Latest,
            "AT_SEQUENCE_NUMBER" => StartingPosition::AtSequence(sequence()?),
            "AFTER_SEQUENCE_NUMBER" => StartingPosition::AfterSequence(sequence()?),
            "AT_TIMESTAMP" => {
                let seconds = timestamp.ok_or_else(|| {
                    ApiError::invalid_argument(format!("Timestamp is required for {field} AT_TIMESTAMP."))
                })?;
                StartingPosition::AtTimestamp { unix_millis: (seconds * 1000.0).ceil() as i64 }
            }
            other => {
                return Err(ApiError::validation(format!(
                    "Value '{other}' at '{field}' failed to satisfy constraint: Member must satisfy enum \
                     value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]"
                )));
            }
        })
    }
}

/// The result of reading a shard.
#[derive(Debug)]
pub(crate) struct ReadOutcome {
    /// The position the next read should start from.
    pub(crate) next_position: u64,
    /// Emulator arrival time of the oldest record not yet returned, if any remain.
    pub(crate) oldest_unread_ms: Option<i64>,
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
        }
    }

    pub(crate) fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The ARN AWS would give a stream of this name.
    pub(crate) fn stream_arn(&self, name: &str) -> String {
        format!("arn:aws:kinesis:{}:{}:stream/{name}", self.region, self.account_id)
    }

    /// Creates a stream with `shard_count` shards splitting the hash-key space evenly.
    pub(crate) fn create(
        &self,
        name: &str,
        shard_count: usize,
        mode: StreamMode,
        created: OffsetDateTime,
    ) -> Result<Arc<Stream>, ApiError> {
        let ranges = vocabulary::split_hash_key_space(shard_count);
        let shards = ranges
            .iter()
            .enumerate()
            .map(|(i, range)| ShardInfo { id: shard_id(i), range: *range })
            .collect();
        let stream = Arc::new(Stream {
            name: name.to_owned(),
            arn: self.stream_arn(name),
            uid: self.next_uid.fetch_add(1, Ordering::Relaxed),
            created,
            settings: Mutex::new(StreamSettings::new(mode)),
            consumers: Mutex::new(Vec::new()),
            shards,
            ranges,
            limits: self.limits,
            log: Mutex::new(StreamLog {
                shards: (0..shard_count)
                    .map(|_| ShardLog { next_counter: 1, ..ShardLog::default() })
                    .collect(),
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
    ReadOutcome { next_position, oldest_unread_ms }
}

/// The shard id AWS gives the shard with this index at stream creation.
pub(crate) fn shard_id(index: usize) -> String {
    format!("shardId-{index:012}")
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
        self.shards.iter().position(|shard| shard.id == shard_id)
    }

    /// Starts a subscription of consumer `consumer_arn` to shard `shard_index` at `now_ms` emulator
    /// milliseconds since the epoch, taking the shard over from an earlier subscription of the
    /// consumer unless that one started under 5 seconds ago.
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
        if let Some(previous) = consumer.subscriptions.get(&shard_index)
            && now_ms - previous.started_ms < SUBSCRIPTION_TAKEOVER_MS
        {
            return Err(ApiError::in_use(format!(
                "Consumer {consumer_arn} subscribed to shard {} less than 5 seconds ago.",
                self.shards[shard_index].id
            )));
        }
        let subscription =
            Subscription { id: NEXT_SUBSCRIPTION.fetch_add(1, Ordering::Relaxed), started_ms: now_ms };
        consumer.subscriptions.insert(shard_index, subscription);
        Ok(subscription)
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
        let routes: Vec<usize> = entries
            .iter()
            .map(|entry| {
                let hash = entry
                    .explicit_hash_key
                    .unwrap_or_else(|| vocabulary::partition_key_hash(&entry.partition_key));
                vocabulary::shard_for_hash(&self.ranges, hash)
            })
            .collect();
        let injected = faults.put_request(entries.len());
        let injected_at = |index: usize| injected.as_ref().and_then(|(_, faults)| faults[index]);
        let mut outcomes = Vec::with_capacity(entries.len());
        let mut dropped = Vec::new();
        let mut refused = Vec::new();
        let encrypted = lock(&self.settings).kms_key_id.is_some();
        {
            let mut log = lock(&self.log);
            if log.deleted {
                return Err(ApiError::not_found(format!("Stream {} was deleted.", self.name)));
            }
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
            shard_id: Some(self.shards[shard_index].id.clone()),
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
        let log = lock(&self.log);
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
                    self.shards[shard_index].id,
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
        let mut log = lock(&self.log);
        if log.deleted {
            return Err(ReadRefused::Deleted);
        }
        let budget = &mut log.shards[shard_index].reads;
        if self.limits.reads && !budget.admit(now_ms) {
            return Err(ReadRefused::Throttled);
        }
        let mut bytes = 0u64;
        let outcome = read(&log.shards[shard_index].records, position, max_records, max_bytes, |record| {
            bytes += record.data.len() as u64;
            out.push(record.clone());
        });
        log.shards[shard_index].reads.charge(now_ms, bytes);
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
        let log = lock(&self.log);
        if log.deleted {
            return Err(StreamDeleted);
        }
        Ok(read(&log.shards[shard_index].records, position, max_records, max_bytes, take))
    }

    /// Drops the records older than the retention period at emulator time `now_ms`: past it they
    /// are no longer readable (IncreaseStreamRetentionPeriod, "Changing the data retention period").
    pub(crate) fn trim_expired(&self, now_ms: i64) {
        let hours = i64::from(lock(&self.settings).retention_hours);
        let cutoff = now_ms.saturating_sub(hours * 3_600_000);
        let mut log = lock(&self.log);
        for shard in &mut log.shards {
            let expired = shard.records.partition_point(|record| record.arrival_ms < cutoff);
            if expired > 0 {
                shard.records.drain(..expired);
            }
        }
    }

    /// The LATEST position of every shard, in shard order.
    pub(crate) fn latest_positions(&self) -> Result<Vec<u64>, StreamDeleted> {
        let log = lock(&self.log);
        if log.deleted {
            return Err(StreamDeleted);
        }
        Ok(log.shards.iter().map(|shard| shard.next_counter).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::FaultPlan;
    use std::collections::BTreeSet;
    use std::time::Duration;

    fn entry(key: &str, data: &str) -> Entry {
        Entry {
            data: Bytes::from(data.to_owned()),
            partition_key: key.to_owned(),
            explicit_hash_key: None,
            sequence_after: None,
        }
    }

    /// The accepted results, failing the test if any entry was throttled.
    fn accepted(outcomes: Vec<PutOutcome>) -> Vec<Accepted> {
        outcomes
            .into_iter()
            .map(|outcome| match outcome {
                PutOutcome::Accepted(accepted) => accepted,
                PutOutcome::Throttled { .. } => panic!("unexpectedly throttled"),
                PutOutcome::InternalFailure => panic!("unexpectedly failed"),
            })
            .collect()
    }

    fn store_with_stream(shards: usize) -> (KinesisStore, Arc<Stream>) {
        let store = KinesisStore::new("us-east-1", "000000000000", ShardLimits { writes: true, reads: true });
        let stream = store.create("s", shards, StreamMode::Provisioned, OffsetDateTime::now_utc()).unwrap();
        (store, stream)
    }

    #[test]
    fn duplicate_names_are_in_use_and_unknown_names_not_found() {
        let (store, _) = store_with_stream(1);
        let err = store.create("s", 1, StreamMode::Provisioned, OffsetDateTime::now_utc()).unwrap_err();
        assert_eq!(err.code, "ResourceInUseException");
        assert_eq!(store.get(Some("nope"), None).unwrap_err().code, "ResourceNotFoundException");
        let arn = store.stream_arn("s");
        assert_eq!(store.get(None, Some(&arn)).unwrap().name, "s");
        assert_eq!(arn, "arn:aws:kinesis:us-east-1:000000000000:stream/s");
    }

    #[test]
    fn injected_refusals_are_not_stored_and_are_logged() {
        let (_store, stream) = store_with_stream(1);
        let clock = Clock::new(1.0);
        let faults = FaultInjector::new(FaultPlan { throttle_burst: 1.0, ..FaultPlan::default() });
        let outcomes = stream.put(vec![entry("a", "0"), entry("b", "1")], &clock, &faults).unwrap();
        assert!(outcomes.iter().all(|o| matches!(o, PutOutcome::Throttled { shard_index: 0 })));
        let faults = FaultInjector::new(FaultPlan { internal_failure: 1.0, ..FaultPlan::default() });
        let outcomes = stream.put(vec![entry("c", "2")], &clock, &faults).unwrap();
        assert!(matches!(outcomes[0], PutOutcome::InternalFailure));
        let mut out = Vec::new();
        stream.read_records(0, 0, 10, usize::MAX, &mut out).unwrap();
        assert!(out.is_empty(), "refused entries are never stored");
        let events = faults.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, FaultKind::InternalFailure);
        assert_eq!((events[0].partition_key.as_deref(), &events[0].data[..]), (Some("c"), &b"2"[..]));
    }

    #[test]
    fn records_older_than_the_retention_period_are_no_longer_readable() {
        let (_store, stream) = store_with_stream(1);
        let clock = Clock::new(1.0);
        let faults = FaultInjector::new(FaultPlan::default());
        stream.put(vec![entry("a", "0")], &clock, &faults).unwrap();
        let arrival = crate::clock::unix_millis(clock.now());
        let hour = 3_600_000;
        let read = || {
            let mut out = Vec::new();
            stream.read_records(0, 0, 10, usize::MAX, &mut out).unwrap();
            out.len()
        };
        stream.trim_expired(arrival + 23 * hour);
        assert_eq!(read(), 1, "within the default 24 hours");
        lock(&stream.settings).retention_hours = 48;
        stream.trim_expired(arrival + 47 * hour);
        assert_eq!(read(), 1, "within a retention period increased to 48 hours");
        stream.trim_expired(arrival + 49 * hour);
        assert_eq!(read(), 0);
        // The shard keeps numbering after the trimmed records.
        let trim_horizon = stream.starting_position(0, StartingPosition::TrimHorizon).unwrap();
        assert_eq!(trim_horizon, 2, "past the one trimmed record, counter 1");
    }

    #[test]
    fn records_are_routed_numbered_and_read_in_order() {
        let (_store, stream) = store_with_stream(2);
        let clock = Clock::new(1.0);
        let faults = FaultInjector::new(FaultPlan::default());
        // "user-1" hashes above 2^127 (shard 1); an explicit hash key of 0 pins shard 0.
        let mut pinned = entry("k", "a");
        pinned.explicit_hash_key = Some(0);
        let accepted = accepted(
            stream.put(vec![entry("user-1", "x"), pinned, entry("user-1", "y")], &clock, &faults).unwrap(),
        );
        assert_eq!(accepted.iter().map(|a| a.shard_index).collect::<Vec<_>>(), vec![1, 0, 1]);
        assert!(accepted[0].sequence < accepted[2].sequence);

        let mut out = Vec::new();
        let outcome = stream.read_records(1, 0, 10, usize::MAX, &mut out).unwrap();
        assert_eq!(out.iter().map(|r| &r.data[..]).collect::<Vec<_>>(), vec![b"x", b"y"]);
        assert_eq!(outcome.next_position, 3);
        assert_eq!(outcome.oldest_unread_ms, None);

        out.clear();
        let after_first =
            stream.starting_position(1, StartingPosition::AfterSequence(accepted[0].sequence)).unwrap();
        stream.read_records(1, after_first, 10, usize::MAX, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(&out[0].data[..], b"y");
    }

    #[test]
    fn dropped_entries_are_acknowledged_but_not_stored() {
        let (_store, stream) = store_with_stream(1);
        let clock = Clock::new(1.0);
        let faults = FaultInjector::new(FaultPlan {
            drop_kinesis_records: BTreeSet::from([1]),
            ..FaultPlan::default()
        });
        let accepted = accepted(
            stream.put(vec![entry("a", "0"), entry("a", "1"), entry("a", "2")], &clock, &faults).unwrap(),
        );
        assert_eq!(accepted.len(), 3);
        let mut out = Vec::new();
        stream.read_records(0, 0, 10, usize::MAX, &mut out).unwrap();
        assert_eq!(out.iter().map(|r| &r.data[..]).collect::<Vec<_>>(), vec![b"0", b"2"]);
        let events = faults.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].ordinal, 1);
        assert_eq!(events[0].data, b"1");
        assert_eq!(events[0].shard_id.as_deref(), Some("shardId-000000000000"));
        // The dropped entry's sequence number is genuine: reading at it starts at the next record.
        let at = stream.starting_position(0, StartingPosition::AtSequence(accepted[1].sequence)).unwrap();
        out.clear();
        stream.read_records(0, at, 10, usize::MAX, &mut out).unwrap();
        assert_eq!(&out[0].data[..], b"2");
    }

    #[test]
    fn reads_stop_at_the_record_limit_and_report_what_is_left() {
        let (_store, stream) = store_with_stream(1);
        let clock = Clock::new(1.0);
        let faults = FaultInjector::new(FaultPlan::default());
        stream.put((0..5).map(|i| entry("a", &i.to_string())).collect(), &clock, &faults).unwrap();
        let mut out = Vec::new();
        let outcome = stream.read_records(0, 0, 2, usize::MAX, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        // Counters start at 1: counter 0 is the shard's starting sequence number.
        assert_eq!(outcome.next_position, 3);
        assert!(outcome.oldest_unread_ms.is_some());
        let latest = stream.starting_position(0, StartingPosition::Latest).unwrap();
        assert_eq!(latest, 6);
        let start = SequenceNumber { shard_index: 0, counter: 0 };
        let after_start = stream.starting_position(0, StartingPosition::AfterSequence(start)).unwrap();
        assert_eq!(after_start, 1, "AFTER the starting sequence number is the first record");
        let foreign = SequenceNumber { shard_index: 3, counter: 0 };
        assert!(stream.starting_position(0, StartingPosition::AtSequence(foreign)).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn writes_past_a_shards_limits_are_throttled_until_the_next_second() {
        let (_store, stream) = store_with_stream(1);
        let clock = Clock::new(1.0);
        let faults = FaultInjector::new(FaultPlan {
            drop_kinesis_records: BTreeSet::from([999]),
            ..FaultPlan::default()
        });
        let batch = || (0..500).map(|i| entry("k", &i.to_string())).collect::<Vec<_>>();
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            outcomes.extend(stream.put(batch(), &clock, &faults).unwrap());
        }
        let throttled: Vec<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(_, outcome)| matches!(outcome, PutOutcome::Throttled { .. }))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(throttled, (1000..1500).collect::<Vec<_>>());
        // Throttled entries take no fault ordinal: the 1,000th accepted entry is the one dropped.
        assert_eq!(faults.events()[0].data, b"499");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(matches!(stream.put(batch(), &clock, &faults).unwrap()[499], PutOutcome::Accepted(_)));

        // The byte limit counts data and partition key: 1 MiB in one entry fills the second.
        tokio::time::advance(Duration::from_secs(1)).await;
        let big = Entry {
            data: Bytes::from(vec![0u8; SHARD_BYTES_PER_SECOND - 1]),
            partition_key: "k".to_owned(),
            explicit_hash_key: None,
            sequence_after: None,
        };
        let outcomes = stream.put(vec![big, entry("k", "")], &clock, &faults).unwrap();
        assert!(matches!(outcomes[0], PutOutcome::Accepted(_)));
        assert!(matches!(outcomes[1], PutOutcome::Throttled { shard_index: 0 }));
    }

    #[test]
    fn get_records_serves_five_calls_a_second_and_pays_for_its_data_at_2_mib_a_second() {
        let store =
            KinesisStore::new("us-east-1", "000000000000", ShardLimits { writes: false, reads: true });
        let stream = store.create("s", 1, StreamMode::Provisioned, OffsetDateTime::now_utc()).unwrap();
        let clock = Clock::new(1.0);
        let faults = FaultInjector::new(FaultPlan::default());
        let mib = |n: usize| Entry { data: Bytes::from(vec![b'x'; n * 1024 * 1024]), ..entry("k", "") };
        let get = |position: u64, now_ms: u64| {
            let mut out = Vec::new();
            stream.get_records(0, position, (10_000, 10 * 1024 * 1024), now_ms, &mut out).map(|_| out.len())
        };
        // Empty reads cost no data: the sixth call of one second is refused, the next second serves.
        let calls: Vec<_> = (0..6).map(|ms| get(0, 1_000 + ms)).collect();
        assert_eq!(calls[..5], [Ok(0); 5]);
        assert_eq!(calls[5], Err(ReadRefused::Throttled));
        assert_eq!(get(0, 2_000), Ok(0));

        // 4 MiB read at t = 10 s are paid for by t = 12 s, and no call is served before.
        stream.put((0..4).map(|_| mib(1)).collect(), &clock, &faults).unwrap();
        assert_eq!(get(0, 10_000), Ok(4));
        assert_eq!(get(5, 10_500), Err(ReadRefused::Throttled));
        assert_eq!(get(5, 11_999), Err(ReadRefused::Throttled));
        assert_eq!(get(5, 12_000), Ok(0));
        store.delete(Some("s"), None).unwrap();
        assert_eq!(get(0, 20_000), Err(ReadRefused::Deleted));
    }

    #[test]
    fn without_limits_nothing_is_throttled() {
        let store =
            KinesisStore::new("us-east-1", "000000000000", ShardLimits { writes: false, reads: false });
        let stream = store.create("s", 1, StreamMode::Provisioned, OffsetDateTime::now_utc()).unwrap();
        let clock = Clock::new(1.0);
        let faults = FaultInjector::new(FaultPlan::default());
        for _ in 0..5 {
            let batch = (0..500).map(|i| entry("k", &i.to_string())).collect();
            accepted(stream.put(batch, &clock, &faults).unwrap());
        }
    }

    #[test]
    fn deleted_streams_stop_readers() {
        let (store, stream) = store_with_stream(1);
        store.delete(Some("s"), None).unwrap();
        assert_eq!(stream.read_data(0, 0, 1, usize::MAX, &mut Vec::new()).unwrap_err(), StreamDeleted);
        assert!(store.get(Some("s"), None).is_err());
    }
}
