//! Sending: events in put batches within AWS limits, failed entries retried with backoff without ever
//! breaking per-key order, at a controlled rate, over several concurrent lanes, with metrics.
//!
//! Ordering discipline: each partition key belongs to one lane, and a lane has at most one record of
//! a key in flight. A record of a key is put only after the previous record of that key was
//! acknowledged or given up, so a throttled entry can never be overtaken by a later one of its key.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use scenario::{PutApi, Workload};
use tokio::sync::{mpsc, watch};

use crate::counters::Counters;
use crate::envelope::{self, Envelope};
use crate::expectation::{Expectation, PartSeqs};
use crate::hot_keys::{HotKeys, ThrottledKey};
use crate::keys::{KeySequences, Part, lane_of};
use crate::progress::{Progress, ProgressMode};
use crate::rate::Pacer;
use crate::retry::RetryPolicy;
use crate::schema::Generator;
use crate::target::{Accepted, BatchLimits, EntryResult, Pending, Refused, Target};

/// Options of one production run.
#[derive(Debug, Clone)]
pub struct ProduceOptions {
    /// The run id written into every envelope.
    pub run_id: String,
    pub retry: RetryPolicy,
}

/// Which share of the workload this process sends, and how it shows progress.
#[derive(Debug, Clone)]
pub struct ProduceControl {
    /// The part of the key space this process owns; [`Part::WHOLE`] for all of it.
    pub part: Part,
    pub progress: ProgressMode,
    /// When set, a live view of the run's counters for a caller that acts while it runs.
    pub probe: Option<Arc<ProduceProbe>>,
}

impl Default for ProduceControl {
    fn default() -> Self {
        ProduceControl { part: Part::WHOLE, progress: ProgressMode::Log, probe: None }
    }
}

/// A live view of a running production, read while it runs (the resharding steps of a run read it
/// when each call is made and when the stream is ACTIVE again).
#[derive(Debug, Default)]
pub struct ProduceProbe {
    counters: OnceLock<Arc<Counters>>,
}

impl ProduceProbe {
    /// Records handed to a first put call so far: seqs are generated in order, so for a whole
    /// workload this is the first seq not yet sent. 0 before production starts.
    pub fn sent(&self) -> u64 {
        self.counters.get().map_or(0, |counters| counters.sent.load(AtomicOrdering::Relaxed))
    }

    /// Entries refused as throttled so far, retries included.
    pub fn throttled(&self) -> u64 {
        self.counters.get().map_or(0, |counters| counters.throttled.load(AtomicOrdering::Relaxed))
    }
}

/// Counters and put latency of a production run.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Records generated and handed to a first put call.
    pub sent: u64,
    /// Records the backend acknowledged.
    pub acknowledged: u64,
    /// Entry re-sends after a failure.
    pub retried: u64,
    /// Entry failures due to throttling (`ProvisionedThroughputExceededException`, `ServiceUnavailableException`).
    pub throttled: u64,
    /// Records never acknowledged after every attempt.
    pub failed: u64,
    /// Payload bytes of acknowledged records.
    pub bytes: u64,
    /// Put calls made, retries included (each `PutRecord` is one call).
    pub put_calls: u64,
    /// Entries put, retries included: the attempts `throttled` is a fraction of.
    pub put_attempts: u64,
    pub elapsed: Duration,
    /// Put call latency in microseconds.
    pub put_latency_us: Histogram<u64>,
    /// Acknowledged records and their payload bytes per shard id, as the put responses named the
    /// shard; empty when the API names none (Firehose `PutRecordBatch`). O(shards) memory.
    pub per_shard: BTreeMap<String, ShardLoad>,
    /// The most throttled partition keys, most throttled first, counted in bounded memory
    /// ([`crate::hot_keys`]); empty when nothing was throttled.
    pub throttled_keys: Vec<ThrottledKey>,
}

/// What one shard acknowledged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardLoad {
    pub records: u64,
    /// Payload bytes (without partition keys).
    pub bytes: u64,
}

impl Metrics {
    /// Acknowledged records per second over the run.
    pub fn achieved_rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.acknowledged as f64 / secs } else { 0.0 }
    }

    /// One line for people: the counts, the bytes, the put calls, the achieved rate and put latency p50/p99.
    pub fn summary(&self) -> String {
        format!(
            "produced: {} sent, {} acknowledged, {} retried, {} throttled, {} failed, {} bytes in {:.1} s \
             over {} put calls ({:.0} records/s, put p50 {:.1} ms, p99 {:.1} ms)",
            self.sent,
            self.acknowledged,
            self.retried,
            self.throttled,
            self.failed,
            self.bytes,
            self.elapsed.as_secs_f64(),
            self.put_calls,
            self.achieved_rate(),
            self.put_latency_us.value_at_quantile(0.5) as f64 / 1000.0,
            self.put_latency_us.value_at_quantile(0.99) as f64 / 1000.0,
        )
    }
}

/// The result of a production run.
#[derive(Debug)]
pub struct Produced {
    pub expectation: Expectation,
    pub metrics: Metrics,
}

/// Why production could not go on: the backend itself failed (not a record-level failure).
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error("put call failed {attempts} times in a row over {seconds:.1} s; last error: {last_error}")]
    Put { attempts: u32, seconds: f64, last_error: String },
}

/// Counters shared by the lanes and the progress reporter.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) counters: Arc<Counters>,
    inner: Mutex<SharedInner>,
}

#[derive(Debug)]
struct SharedInner {
    put_latency_us: Histogram<u64>,
    failed: BTreeMap<u64, String>,
    acked_per_second: Vec<u64>,
    last_ack_ns: u64,
    /// The longest wait from a record's send time to its acknowledgement.
    max_ack_wait_ns: u64,
    per_shard: BTreeMap<String, ShardLoad>,
    hot_keys: HotKeys,
}

/// Records (and bytes) a lane holds before it stops taking more, which slows the generator down.
const LANE_RECORDS: usize = 20_000;
const LANE_BYTES: usize = 64 << 20;

/// Produces every event of `workload` to `target` and returns what was acknowledged.
pub async fn produce(
    target: &Target,
    workload: &Workload,
    options: &ProduceOptions,
) -> Result<Produced, ProduceError> {
    produce_with(target, workload, options, &ProduceControl::default()).await
}

/// Produces this process's part of `workload` to `target` and returns what was acknowledged.
pub async fn produce_with(
    target: &Target,
    workload: &Workload,
    options: &ProduceOptions,
    control: &ProduceControl,
) -> Result<Produced, ProduceError> {
    let (_never, stop) = watch::channel(false);
    produce_until(target, workload, options, control, stop).await
}

/// Reason recorded in the expectation for a record that was queued but never acknowledged because
/// production was stopped.
pub const STOPPED_BEFORE_ACK: &str = "not acknowledged: production was stopped";

/// Like [`produce_with`], but stops early once `stop` turns true.
///
/// After the stop no new record is generated and no new put call is made (calls already in flight
/// finish); records that were queued or waiting out a backoff are listed in the expectation as
/// failed with [`STOPPED_BEFORE_ACK`], so only acknowledged records are expected downstream.
pub async fn produce_until(
    target: &Target,
    workload: &Workload,
    options: &ProduceOptions,
    control: &ProduceControl,
    stop: watch::Receiver<bool>,
) -> Result<Produced, ProduceError> {
    let generator = Generator::new(workload);
    let single = workload.api == PutApi::PutRecord && matches!(target, Target::Kinesis { .. });
    let limits = target.limits(single);
    let lanes = workload.concurrency.max(1) as usize;
    let first_sent_ns = unix_nanos();
    let shared = Arc::new(Shared {
        counters: Arc::new(Counters::new()),
        inner: Mutex::new(SharedInner {
            put_latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"),
            failed: BTreeMap::new(),
            acked_per_second: Vec::new(),
            last_ack_ns: first_sent_ns,
            max_ack_wait_ns: 0,
            per_shard: BTreeMap::new(),
            hot_keys: HotKeys::default(),
        }),
    });
    if let Some(probe) = &control.probe {
        // A probe serves one production; a second one keeps reading the first's counters.
        let _ = probe.counters.set(Arc::clone(&shared.counters));
    }
    let expected_total = workload.events / u64::from(control.part.count.max(1));
    let progress = Progress::start(control.progress, expected_total, Arc::clone(&shared.counters));

    let mut senders = Vec::with_capacity(lanes);
    let mut handles = Vec::with_capacity(lanes);
    for _ in 0..lanes {
        let (tx, rx) = mpsc::channel(1024);
        senders.push(tx);
        let lane =
            Lane::new(target.clone(), single, limits, options.retry, Arc::clone(&shared), first_sent_ns);
        handles.push(tokio::spawn(lane.run(rx, stop.clone())));
    }

    let pacer = Pacer::new(&workload.rate);
    let mut kseqs = KeySequences::new(generator.keys_are_unique());
    let mut part_seqs = (control.part.count > 1).then(|| PartSeqs::new(control.part));
    let mut event = Vec::new();
    let mut scratch = Vec::new();
    let mut generated = 0;
    let mut emitted = 0u64;
    let mut stop_wait = stop.clone();
    for seq in 0..workload.events {
        if workload.duration.is_some_and(|d| shared.counters.started.elapsed() >= d) || is_stopped(&stop) {
            break;
        }
        generated = seq + 1;
        if control.part.count > 1 && !control.part.owns(&generator.key(seq, &mut scratch)) {
            continue;
        }
        let key = generator.event(seq, &mut event);
        if let Some(due) = pacer.due(emitted) {
            tokio::select! {
                () = tokio::time::sleep_until((shared.counters.started + due).into()) => {}
                () = stopped(&mut stop_wait) => {
                    generated = seq;
                    break;
                }
            }
        }
        let kseq = kseqs.next(&key);
        let sent_ns = unix_nanos();
        let envelope = Envelope { run: options.run_id.clone(), seq, key: key.clone(), kseq, sent_ns };
        let mut data = Vec::with_capacity(event.len() + 160);
        generator.append_record(seq, &event, &workload.envelope_field, &envelope, &mut data);
        let lane = lane_of(&key, lanes);
        let pending = Pending { seq, key, data, attempts: 0, first_put: None, sent_ns };
        let sent = tokio::select! {
            sent = senders[lane].send(pending) => sent.is_ok(),
            () = stopped(&mut stop_wait) => false,
        };
        if !sent {
            // The lane stopped on an error, which joining it below reports, or production was stopped
            // and this record was never handed to a lane.
            if is_stopped(&stop) {
                generated = seq;
            }
            break;
        }
        emitted += 1;
        shared.counters.sent.fetch_add(1, AtomicOrdering::Relaxed);
        if let Some(part_seqs) = &mut part_seqs {
            part_seqs.insert(seq);
        }
    }
    drop(senders);
    let mut first_error = None;
    for handle in handles {
        match handle.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                first_error.get_or_insert(error);
            }
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
    progress.finish().await;
    if let Some(error) = first_error {
        return Err(error);
    }
    let elapsed = shared.counters.started.elapsed();
    let inner = std::mem::replace(
        &mut *shared.inner.lock().expect("no lane panicked holding the lock"),
        SharedInner {
            put_latency_us: Histogram::new(1).expect("valid histogram"),
            failed: BTreeMap::new(),
            acked_per_second: Vec::new(),
            last_ack_ns: 0,
            max_ack_wait_ns: 0,
            per_shard: BTreeMap::new(),
            hot_keys: HotKeys::default(),
        },
    );
    let load = |counter: &AtomicU64| counter.load(AtomicOrdering::Relaxed);
    let metrics = Metrics {
        sent: load(&shared.counters.sent),
        acknowledged: load(&shared.counters.acknowledged),
        retried: load(&shared.counters.retried),
        throttled: load(&shared.counters.throttled),
        failed: inner.failed.len() as u64,
        bytes: load(&shared.counters.bytes),
        put_calls: load(&shared.counters.put_calls),
        put_attempts: load(&shared.counters.put_attempts),
        elapsed,
        put_latency_us: inner.put_latency_us,
        per_shard: inner.per_shard,
        throttled_keys: inner.hot_keys.top(),
    };
    let expectation = Expectation {
        run_id: options.run_id.clone(),
        envelope_field: workload.envelope_field.clone(),
        generated,
        failed: inner.failed,
        first_sent_ns,
        last_ack_ns: inner.last_ack_ns,
        part: part_seqs,
        acked_per_second: inner.acked_per_second,
        max_ack_wait_ns: inner.max_ack_wait_ns,
    };
    if is_stopped(&stop) {
        tracing::warn!(
            acknowledged = metrics.acknowledged,
            not_acknowledged = metrics.failed,
            "production stopped early"
        );
    } else if metrics.failed > 0 {
        tracing::warn!(
            failed = metrics.failed,
            "records exhausted their retries; the expectation lists them as failed"
        );
    }
    debug_assert_eq!(expectation.acknowledged(), metrics.acknowledged);
    Ok(Produced { expectation, metrics })
}

/// One sender: owns a disjoint set of partition keys and keeps at most one record per key in flight.
struct Lane {
    target: Target,
    single: bool,
    limits: BatchLimits,
    retry: RetryPolicy,
    shared: Arc<Shared>,
    first_sent_ns: u64,
    /// Records waiting per key, the head first; a key is present while it has records.
    queues: HashMap<String, VecDeque<Pending>>,
    /// Keys whose head may be sent now, oldest first.
    ready: VecDeque<String>,
    /// Keys whose head waits out a backoff, by release time.
    delayed: BinaryHeap<Reverse<(Instant, String)>>,
    buffered: usize,
    buffered_bytes: usize,
    /// Last sequence number per key, for `PutRecord`'s `SequenceNumberForOrdering`.
    ordering: HashMap<String, String>,
    /// Throttled calls in a row, and when the next call may go out.
    throttle_streak: u32,
    next_call: Option<Instant>,
}

impl Lane {
    fn new(
        target: Target,
        single: bool,
        limits: BatchLimits,
        retry: RetryPolicy,
        shared: Arc<Shared>,
        first_sent_ns: u64,
    ) -> Lane {
        Lane {
            target,
            single,
            limits,
            retry,
            shared,
            first_sent_ns,
            queues: HashMap::new(),
            ready: VecDeque::new(),
            delayed: BinaryHeap::new(),
            buffered: 0,
            buffered_bytes: 0,
            ordering: HashMap::new(),
            throttle_streak: 0,
            next_call: None,
        }
    }

    fn enqueue(&mut self, pending: Pending) {
        self.buffered += 1;
        self.buffered_bytes += pending.data.len();
        match self.queues.get_mut(&pending.key) {
            Some(queue) => queue.push_back(pending),
            None => {
                self.ready.push_back(pending.key.clone());
                self.queues.insert(pending.key.clone(), VecDeque::from([pending]));
            }
        }
    }

    fn has_room(&self) -> bool {
        self.buffered < LANE_RECORDS && self.buffered_bytes < LANE_BYTES
    }

    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Pending>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), ProduceError> {
        let mut open = true;
        // Put calls that failed as a whole in a row, and when the first of them was made.
        let mut call_failures = 0;
        let mut failing_since = None;
        loop {
            if is_stopped(&stop) {
                self.abandon(rx);
                return Ok(());
            }
            while open && self.has_room() {
                match rx.try_recv() {
                    Ok(pending) => self.enqueue(pending),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => open = false,
                }
            }
            let now = Instant::now();
            // Records back from a backoff go first: otherwise keys that were never throttled take
            // each new second's shard capacity and a retried key can starve until it gives up.
            let mut released = Vec::new();
            while self.delayed.peek().is_some_and(|Reverse((at, _))| *at <= now) {
                let Reverse((_, key)) = self.delayed.pop().expect("peeked");
                released.push(key);
            }
            for key in released.into_iter().rev() {
                self.ready.push_front(key);
            }
            if !open && self.ready.is_empty() && self.delayed.is_empty() {
                debug_assert_eq!(self.buffered, 0);
                return Ok(());
            }
            let pause = self.next_call.filter(|at| *at > now);
            if self.ready.is_empty() || pause.is_some() {
                let release = self.delayed.peek().map(|Reverse((at, _))| *at);
                // Ready records wait out the pause; otherwise wake for the next release, not before the pause.
                let wake = if self.ready.is_empty() {
                    release.map(|r| pause.map_or(r, |p| r.max(p)))
                } else {
                    pause
                };
                let can_take = open && self.has_room();
                tokio::select! {
                    received = rx.recv(), if can_take => match received {
                        Some(pending) => self.enqueue(pending),
                        None => open = false,
                    },
                    () = tokio::time::sleep_until(wake.unwrap_or(now).into()), if wake.is_some() => {}
                    () = stopped(&mut stop) => {}
                    else => unreachable!("a lane with buffered records has a ready or delayed key"),
                }
                continue;
            }

            let batch = self.take_batch();
            let started = Instant::now();
            let outcome = self.target.put(&batch, self.single, &self.ordering).await;
            let latency = started.elapsed();
            self.shared
                .counters
                .put_calls
                .fetch_add(if self.single { batch.len() as u64 } else { 1 }, AtomicOrdering::Relaxed);
            self.shared.counters.put_attempts.fetch_add(batch.len() as u64, AtomicOrdering::Relaxed);
            self.shared
                .inner
                .lock()
                .expect("no lane panicked holding the lock")
                .put_latency_us
                .saturating_record(latency.as_micros() as u64);
            match outcome {
                Ok(results) if results.len() == batch.len() => {
                    call_failures = 0;
                    failing_since = None;
                    let throttled = self.settle(batch, results);
                    self.pace_after(throttled);
                }
                Ok(results) => {
                    return Err(ProduceError::Put {
                        attempts: 1,
                        seconds: 0.0,
                        last_error: format!("{} results for {} entries", results.len(), batch.len()),
                    });
                }
                Err(error) => {
                    call_failures += 1;
                    let first = *failing_since.get_or_insert(started);
                    let Some(release) = self.retry.next_attempt(call_failures, first, Instant::now()) else {
                        return Err(ProduceError::Put {
                            attempts: call_failures,
                            seconds: first.elapsed().as_secs_f64(),
                            last_error: error.error,
                        });
                    };
                    tracing::warn!(error = %error.error, attempt = call_failures, "put call failed; retrying");
                    let throttled = error.failure.is_throttled();
                    if throttled {
                        self.shared.counters.throttled.fetch_add(batch.len() as u64, AtomicOrdering::Relaxed);
                        let mut inner = self.shared.inner.lock().expect("no lane panicked holding the lock");
                        for pending in &batch {
                            inner.hot_keys.throttled(&pending.key, None);
                        }
                    }
                    self.shared.counters.retried.fetch_add(batch.len() as u64, AtomicOrdering::Relaxed);
                    self.pace_after(throttled);
                    for pending in batch {
                        self.put_back(pending, release);
                    }
                }
            }
        }
    }

    /// Gives up every record this lane holds or will be handed, as not acknowledged: production stopped.
    fn abandon(mut self, mut rx: mpsc::Receiver<Pending>) {
        rx.close();
        let mut abandoned: Vec<u64> =
            self.queues.drain().flat_map(|(_, queue)| queue).map(|p| p.seq).collect();
        while let Ok(pending) = rx.try_recv() {
            abandoned.push(pending.seq);
        }
        tracing::debug!(records = abandoned.len(), "lane stopped; queued records given up");
        self.shared.counters.failed.fetch_add(abandoned.len() as u64, AtomicOrdering::Relaxed);
        let mut inner = self.shared.inner.lock().expect("no lane panicked holding the lock");
        inner.failed.extend(abandoned.into_iter().map(|seq| (seq, STOPPED_BEFORE_ACK.to_owned())));
    }

    /// The heads of ready keys, one per key, within the API's limits.
    fn take_batch(&mut self) -> Vec<Pending> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while batch.len() < self.limits.entries {
            let Some(key) = self.ready.front() else { break };
            let head = self.queues[key].front().expect("a ready key has a record");
            let size = head.data.len() + if self.limits.key_counts { key.len() } else { 0 };
            if !batch.is_empty() && bytes + size > self.limits.request_bytes {
                break;
            }
            let key = self.ready.pop_front().expect("checked");
            let mut pending = self.queues.get_mut(&key).expect("ready").pop_front().expect("checked");
            if pending.first_put.is_none() {
                pending.first_put = Some(Instant::now());
                // The envelope's send time is when the record is first handed to a put call, not when
                // it was generated: time queued behind a throttled shard is the producer's, not the
                // pipeline's. Retries keep the first time, so their wait counts as latency.
                envelope::restamp(&mut pending.data, unix_nanos());
            }
            bytes += size;
            batch.push(pending);
        }
        batch
    }

    /// Returns a failed head to the front of its key's queue, to be released at `release`.
    fn put_back(&mut self, pending: Pending, release: Instant) {
        let key = pending.key.clone();
        self.queues.get_mut(&key).expect("an in-flight key keeps its queue").push_front(pending);
        self.delayed.push(Reverse((release, key)));
    }

    /// Moves a key on after its head was acknowledged or given up.
    fn advance(&mut self, pending: &Pending) {
        self.buffered -= 1;
        self.buffered_bytes -= pending.data.len();
        if self.queues.get(&pending.key).is_some_and(VecDeque::is_empty) {
            self.queues.remove(&pending.key);
        } else {
            self.ready.push_back(pending.key.clone());
        }
    }

    /// Congestion control: after a throttled call the whole lane pauses, longer for each throttled
    /// call in a row, so retried records find capacity instead of competing with new ones.
    fn pace_after(&mut self, throttled: bool) {
        if throttled {
            self.throttle_streak += 1;
            self.next_call = Some(Instant::now() + self.retry.delay(self.throttle_streak));
        } else {
            self.throttle_streak = 0;
            self.next_call = None;
        }
    }

    /// Records each entry's outcome; returns whether any entry was throttled.
    fn settle(&mut self, batch: Vec<Pending>, results: Vec<EntryResult>) -> bool {
        let now_ns = unix_nanos();
        let second = (now_ns.saturating_sub(self.first_sent_ns) / 1_000_000_000) as usize;
        let (mut acked, mut acked_bytes, mut throttled, mut retried) = (0u64, 0u64, 0u64, 0u64);
        let mut max_wait_ns = 0u64;
        let mut gave_up = Vec::new();
        let mut retry_at = Vec::new();
        // Acknowledgements per shard (with the key, to learn a throttled key's shard), and throttles per key.
        // Keys are kept only once something was throttled: until then no key has a shard to learn.
        let mut acked_on: Vec<(String, Option<String>, u64)> = Vec::new();
        let keep_keys = self.shared.counters.throttled.load(AtomicOrdering::Relaxed) > 0;
        let mut throttled_keys: Vec<(String, Option<String>)> = Vec::new();
        for (mut pending, result) in batch.into_iter().zip(results) {
            pending.attempts += 1;
            match result {
                Ok(Accepted { sequence_number, shard }) => {
                    acked += 1;
                    max_wait_ns = max_wait_ns.max(now_ns.saturating_sub(pending.sent_ns));
                    acked_bytes += pending.data.len() as u64;
                    if let Some(shard) = shard {
                        let key = keep_keys.then(|| pending.key.clone());
                        acked_on.push((shard, key, pending.data.len() as u64));
                    }
                    if let (true, Some(number)) = (self.single, sequence_number) {
                        self.ordering.insert(pending.key.clone(), number);
                    }
                    self.advance(&pending);
                }
                Err(Refused { failure, code, shard }) => {
                    if failure.is_throttled() {
                        throttled += 1;
                        throttled_keys.push((pending.key.clone(), shard));
                    }
                    let now = Instant::now();
                    let first = pending.first_put.unwrap_or(now);
                    match self.retry.next_attempt(pending.attempts, first, now) {
                        Some(release) => {
                            retried += 1;
                            retry_at.push((release, pending));
                        }
                        None => {
                            tracing::debug!(seq = pending.seq, key = %pending.key, %code, "record failed after every attempt");
                            gave_up.push((
                                pending.seq,
                                format!(
                                    "{code} after {} {} over {:.1} s",
                                    pending.attempts,
                                    if pending.attempts == 1 { "attempt" } else { "attempts" },
                                    now.duration_since(first).as_secs_f64()
                                ),
                            ));
                            self.advance(&pending);
                        }
                    }
                }
            }
        }
        for (release, pending) in retry_at {
            self.put_back(pending, release);
        }
        let shared = &self.shared;
        shared.counters.acknowledged.fetch_add(acked, AtomicOrdering::Relaxed);
        shared.counters.bytes.fetch_add(acked_bytes, AtomicOrdering::Relaxed);
        shared.counters.throttled.fetch_add(throttled, AtomicOrdering::Relaxed);
        shared.counters.retried.fetch_add(retried, AtomicOrdering::Relaxed);
        shared.counters.failed.fetch_add(gave_up.len() as u64, AtomicOrdering::Relaxed);
        let mut inner = shared.inner.lock().expect("no lane panicked holding the lock");
        inner.failed.extend(gave_up);
        for (key, shard) in &throttled_keys {
            inner.hot_keys.throttled(key, shard.as_deref());
        }
        for (shard, key, bytes) in &acked_on {
            let load = match inner.per_shard.get_mut(shard) {
                Some(load) => load,
                None => inner.per_shard.entry(shard.clone()).or_default(),
            };
            load.records += 1;
            load.bytes += bytes;
            if let Some(key) = key {
                inner.hot_keys.learn_shard(key, shard);
            }
        }
        if acked > 0 {
            if inner.acked_per_second.len() <= second {
                inner.acked_per_second.resize(second + 1, 0);
            }
            inner.acked_per_second[second] += acked;
            inner.last_ack_ns = inner.last_ack_ns.max(now_ns);
            inner.max_ack_wait_ns = inner.max_ack_wait_ns.max(max_wait_ns);
        }
        throttled > 0
    }
}

/// Whether a stop was requested. The value, not `has_changed`: waiting marks a change as seen, and a
/// receiver cloned after the stop never sees one.
fn is_stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// Resolves once `stop` is true; never, if its sender is gone without having stopped.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|stopped| *stopped).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}
