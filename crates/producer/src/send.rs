//! Sending: events in put batches within AWS limits, failed entries retried with backoff, metrics kept.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_firehose::primitives::Blob as FirehoseBlob;
use aws_sdk_kinesis::primitives::Blob as KinesisBlob;
use hdrhistogram::Histogram;
use rand::RngExt;
use scenario::Workload;

use crate::envelope::{self, Envelope};
use crate::expectation::Expectation;
use crate::schema::Generator;

/// Where records go. The producer knows the API, never the backend behind the client.
#[derive(Debug, Clone)]
pub enum Target {
    /// Kinesis `PutRecords` to a stream.
    Kinesis { client: aws_sdk_kinesis::Client, stream_name: String },
    /// Firehose `PutRecordBatch` to a Direct PUT delivery stream.
    Firehose { client: aws_sdk_firehose::Client, delivery_stream_name: String },
}

/// The per-request limits of a put API.
#[derive(Debug, Clone, Copy)]
struct BatchLimits {
    entries: usize,
    request_bytes: usize,
    /// Counts the partition key in the request size (Kinesis does, Firehose has no key).
    key_counts: bool,
}

impl Target {
    fn limits(&self) -> BatchLimits {
        match self {
            // PutRecords: at most 500 entries and 5 MiB including partition keys.
            Target::Kinesis { .. } => BatchLimits { entries: 500, request_bytes: 5 << 20, key_counts: true },
            // PutRecordBatch: at most 500 records and 4 MiB.
            Target::Firehose { .. } => {
                BatchLimits { entries: 500, request_bytes: 4 << 20, key_counts: false }
            }
        }
    }

    /// Puts `batch` once; returns one entry per record: `None` if accepted, else the error code.
    async fn put(&self, batch: &[Pending]) -> Result<Vec<Option<String>>, String> {
        match self {
            Target::Kinesis { client, stream_name } => {
                let entries = batch
                    .iter()
                    .map(|p| {
                        aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                            .data(KinesisBlob::new(p.data.clone()))
                            .partition_key(&p.key)
                            .build()
                            .expect("data and partition key are set")
                    })
                    .collect();
                let output = client
                    .put_records()
                    .stream_name(stream_name)
                    .set_records(Some(entries))
                    .send()
                    .await
                    .map_err(|e| aws_sdk_kinesis::error::DisplayErrorContext(e).to_string())?;
                Ok(output.records().iter().map(|r| r.error_code().map(str::to_owned)).collect())
            }
            Target::Firehose { client, delivery_stream_name } => {
                let records = batch
                    .iter()
                    .map(|p| {
                        aws_sdk_firehose::types::Record::builder()
                            .data(FirehoseBlob::new(p.data.clone()))
                            .build()
                            .expect("data is set")
                    })
                    .collect();
                let output = client
                    .put_record_batch()
                    .delivery_stream_name(delivery_stream_name)
                    .set_records(Some(records))
                    .send()
                    .await
                    .map_err(|e| aws_sdk_firehose::error::DisplayErrorContext(e).to_string())?;
                Ok(output.request_responses().iter().map(|r| r.error_code().map(str::to_owned)).collect())
            }
        }
    }
}

/// How failed entries are retried: exponential backoff with full jitter.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per record, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.base_delay.saturating_mul(1 << attempt.min(16)).min(self.max_delay);
        ceiling.mul_f64(rand::rng().random_range(0.0..=1.0))
    }
}

/// Options of one production run.
#[derive(Debug, Clone)]
pub struct ProduceOptions {
    /// The run id written into every envelope.
    pub run_id: String,
    pub retry: RetryPolicy,
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
    /// Put calls made, retries included.
    pub put_calls: u64,
    pub elapsed: Duration,
    /// Put call latency in microseconds.
    pub put_latency_us: Histogram<u64>,
}

impl Metrics {
    fn new() -> Metrics {
        Metrics {
            sent: 0,
            acknowledged: 0,
            retried: 0,
            throttled: 0,
            failed: 0,
            bytes: 0,
            put_calls: 0,
            elapsed: Duration::ZERO,
            put_latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"),
        }
    }

    /// Acknowledged records per second over the run.
    pub fn achieved_rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.acknowledged as f64 / secs } else { 0.0 }
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
    #[error("put call failed {attempts} times in a row; last error: {last_error}")]
    Put { attempts: u32, last_error: String },
}

/// A record waiting to be acknowledged.
#[derive(Debug)]
struct Pending {
    seq: u64,
    key: String,
    data: Vec<u8>,
    attempts: u32,
}

/// Produces every event of `workload` to `target` and returns what was acknowledged.
pub async fn produce(
    target: &Target,
    workload: &Workload,
    options: &ProduceOptions,
) -> Result<Produced, ProduceError> {
    let generator = Generator::new(workload);
    let limits = target.limits();
    let started = Instant::now();
    let mut metrics = Metrics::new();
    let mut failed = BTreeMap::new();
    let mut kseqs: HashMap<String, u64> = HashMap::new();
    let mut event = Vec::new();
    let mut batch: Vec<Pending> = Vec::with_capacity(limits.entries);
    let mut batch_bytes = 0;
    let first_sent_ns = unix_nanos();
    let mut last_ack_ns = first_sent_ns;
    let mut last_progress = Instant::now();

    for seq in 0..workload.events {
        let key = generator.event(seq, &mut event);
        let kseq = kseqs.entry(key.clone()).and_modify(|k| *k += 1).or_insert(0);
        let envelope = Envelope {
            run: options.run_id.clone(),
            seq,
            key: key.clone(),
            kseq: *kseq,
            sent_ns: unix_nanos(),
        };
        let mut data = Vec::with_capacity(event.len() + 128);
        envelope::append(&event, &workload.envelope_field, &envelope, &mut data);
        let size = data.len() + if limits.key_counts { key.len() } else { 0 };
        if batch.len() == limits.entries || batch_bytes + size > limits.request_bytes {
            send_batch(target, &mut batch, options, &mut metrics, &mut failed, &mut last_ack_ns).await?;
            batch_bytes = 0;
        }
        batch.push(Pending { seq, key, data, attempts: 0 });
        batch_bytes += size;
        metrics.sent += 1;
        if last_progress.elapsed() >= Duration::from_secs(2) {
            tracing::info!(
                sent = metrics.sent,
                acknowledged = metrics.acknowledged,
                total = workload.events,
                "producing"
            );
            last_progress = Instant::now();
        }
    }
    send_batch(target, &mut batch, options, &mut metrics, &mut failed, &mut last_ack_ns).await?;
    metrics.elapsed = started.elapsed();
    metrics.failed = failed.len() as u64;
    let expectation = Expectation {
        run_id: options.run_id.clone(),
        envelope_field: workload.envelope_field.clone(),
        generated: workload.events,
        failed,
        first_sent_ns,
        last_ack_ns,
    };
    Ok(Produced { expectation, metrics })
}

/// Sends `batch` until every entry is acknowledged or has used all its attempts; empties `batch`.
async fn send_batch(
    target: &Target,
    batch: &mut Vec<Pending>,
    options: &ProduceOptions,
    metrics: &mut Metrics,
    failed: &mut BTreeMap<u64, String>,
    last_ack_ns: &mut u64,
) -> Result<(), ProduceError> {
    let mut call_failures = 0;
    while !batch.is_empty() {
        let started = Instant::now();
        metrics.put_calls += 1;
        let outcome = target.put(batch).await;
        metrics.put_latency_us.saturating_record(started.elapsed().as_micros() as u64);
        let results = match outcome {
            Ok(results) if results.len() == batch.len() => results,
            Ok(results) => {
                return Err(ProduceError::Put {
                    attempts: 1,
                    last_error: format!("{} results for {} entries", results.len(), batch.len()),
                });
            }
            Err(error) => {
                call_failures += 1;
                if call_failures >= options.retry.max_attempts {
                    return Err(ProduceError::Put { attempts: call_failures, last_error: error });
                }
                tracing::warn!(%error, attempt = call_failures, "put call failed; retrying");
                tokio::time::sleep(options.retry.delay(call_failures)).await;
                continue;
            }
        };
        call_failures = 0;
        let now = unix_nanos();
        let mut retry = Vec::new();
        for (mut pending, error) in batch.drain(..).zip(results) {
            pending.attempts += 1;
            match error {
                None => {
                    metrics.acknowledged += 1;
                    metrics.bytes += pending.data.len() as u64;
                    *last_ack_ns = now;
                }
                Some(code) => {
                    if code.contains("Throughput") || code.contains("ServiceUnavailable") {
                        metrics.throttled += 1;
                    }
                    if pending.attempts >= options.retry.max_attempts {
                        failed.insert(pending.seq, format!("{code} after {} attempts", pending.attempts));
                    } else {
                        retry.push(pending);
                    }
                }
            }
        }
        if !retry.is_empty() {
            metrics.retried += retry.len() as u64;
            let attempt = retry.iter().map(|p| p.attempts).max().unwrap_or(1);
            tokio::time::sleep(options.retry.delay(attempt)).await;
        }
        *batch = retry;
    }
    Ok(())
}

fn unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}
