//! A running delivery stream: its buffers, and the task that moves records through its stages —
//! the Kinesis source (`source.rs`), the `Lambda` processing stage and its error output
//! (`processing.rs`), and the sink, S3 or a search destination (`sink.rs`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::clock::Clock;
use crate::firehose::buffer::{Batch, Buffer};
use crate::firehose::config::{Destination, Encryption, Source};
use crate::firehose::output::{Output, TaskContext};
use crate::firehose::processing::{ErrorObject, transform_batch, write_error_objects};
use crate::firehose::processor::InputBuffer;
use crate::firehose::quota::{DirectPutQuota, DirectPutWindow};
use crate::firehose::search::SearchDestination;
use crate::firehose::sink::Sink;
use crate::firehose::source::{KinesisReader, SourceDeleted, wait_for_change};
use crate::firehose::transform::Transformer;
use crate::sync::lock;

/// One delivery stream, shared by the API handlers and its delivery task.
#[derive(Debug)]
pub(crate) struct DeliveryStream {
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) created: OffsetDateTime,
    pub(crate) source: Source,
    /// The S3 destination, or the S3 backup of a search destination; UpdateDestination replaces it.
    destination: std::sync::Mutex<Arc<Destination>>,
    /// The OpenSearch or Elasticsearch destination, if it is one; its buffering hints apply.
    pub(crate) search: Option<SearchDestination>,
    pending: std::sync::Mutex<Pending>,
    /// Wakes the task when a direct put starts a buffer or fills it.
    wake: Notify,
    stop: watch::Sender<bool>,
    record_id_base: u64,
    next_record_id: AtomicU64,
    /// Stamps the arrival of records for the `Lambda` processor.
    clock: Clock,
    /// What Direct PUT accepted in the current second, against the stream's quotas.
    direct_put: std::sync::Mutex<DirectPutWindow>,
    /// Server-side encryption (`update.rs`).
    pub(crate) encryption: std::sync::Mutex<Encryption>,
    /// When UpdateDestination last changed the destination.
    pub(crate) last_update: std::sync::Mutex<Option<OffsetDateTime>>,
    /// The stream's tags (`tags.rs`).
    pub(crate) tags: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

/// Data not yet in S3: the filling buffer and batches waiting to be written.
#[derive(Debug)]
struct Pending {
    /// Records waiting for the `Lambda` processor, if there is one; they reach `buffer` transformed.
    input: Option<InputBuffer>,
    buffer: Buffer,
    ready: VecDeque<Batch>,
}

impl DeliveryStream {
    pub(crate) fn new(
        name: String,
        arn: String,
        created: OffsetDateTime,
        source: Source,
        destination: Destination,
        search: Option<SearchDestination>,
        clock: &Clock,
    ) -> DeliveryStream {
        let (input, buffer) = buffers(&destination, search.as_ref(), clock);
        DeliveryStream {
            name,
            arn,
            created,
            source,
            destination: std::sync::Mutex::new(Arc::new(destination)),
            search,
            pending: std::sync::Mutex::new(Pending { input, buffer, ready: VecDeque::new() }),
            wake: Notify::new(),
            stop: watch::Sender::new(false),
            record_id_base: uuid::Uuid::new_v4().as_u64_pair().0,
            next_record_id: AtomicU64::new(0),
            clock: *clock,
            direct_put: std::sync::Mutex::new(DirectPutWindow::default()),
            encryption: std::sync::Mutex::default(),
            last_update: std::sync::Mutex::default(),
            tags: std::sync::Mutex::default(),
        }
    }

    /// The destination configuration in effect.
    pub(crate) fn destination(&self) -> Arc<Destination> {
        Arc::clone(&lock(&self.destination))
    }

    /// Replaces the destination configuration (UpdateDestination); the task switches to it at its
    /// next turn.
    pub(crate) fn update_destination(&self, destination: Destination) {
        *lock(&self.destination) = Arc::new(destination);
        self.wake.notify_one();
    }

    /// Rebuilds the buffers for `destination`: a filled buffer becomes a batch to write first, and
    /// records still waiting for a Lambda processor the new configuration lacks go straight to it.
    fn reconfigure(&self, destination: &Destination) {
        let (input, buffer) = buffers(destination, self.search.as_ref(), &self.clock);
        let mut pending = lock(&self.pending);
        let waiting = std::mem::replace(&mut pending.input, input).and_then(|mut old| old.take());
        if let Some(batch) = std::mem::replace(&mut pending.buffer, buffer).take() {
            pending.ready.push_back(batch);
        }
        drop(pending);
        if let Some((records, _)) = waiting
            && self.buffer_records(records.iter().map(|record| &record.data[..]))
        {
            self.wake.notify_one();
        }
    }

    pub(crate) fn is_direct_put(&self) -> bool {
        matches!(self.source, Source::DirectPut)
    }

    /// Counts a direct put of entries of `sizes` bytes against the stream's quotas (see
    /// [`DirectPutWindow::admit`]): `None` when the whole call is refused, otherwise which entries fit.
    pub(crate) fn admit_direct_put(
        &self,
        quota: DirectPutQuota,
        sizes: impl IntoIterator<Item = usize>,
    ) -> Option<Vec<bool>> {
        let second = self.clock.elapsed_at(self.clock.now()).as_secs();
        lock(&self.direct_put).admit(quota, second, sizes)
    }

    /// Buffers records from a direct put and returns their record ids.
    pub(crate) fn put(&self, records: &[Vec<u8>]) -> Vec<String> {
        if self.buffer_records(records.iter().map(Vec::as_slice)) {
            self.wake.notify_one();
        }
        let first = self.next_record_id.fetch_add(records.len() as u64, Ordering::Relaxed);
        (first..first + records.len() as u64)
            .map(|n| format!("{:016x}{n:016x}", self.record_id_base))
            .collect()
    }

    /// Appends records to the buffer and moves full batches to the ready queue. Returns whether the
    /// delivery task has something new to act on: a buffer that just started (a new deadline) or a
    /// batch that is ready.
    fn buffer_records<'a>(&self, records: impl IntoIterator<Item = &'a [u8]>) -> bool {
        let now = Instant::now();
        let mut pending = lock(&self.pending);
        if let Some(input) = pending.input.as_mut() {
            let was_empty = input.is_empty();
            let arrival_ms = crate::clock::unix_millis(self.clock.now());
            let mut filled = false;
            for record in records {
                filled |= input.push(record, arrival_ms, now);
            }
            return filled || (was_empty && !input.is_empty());
        }
        let was_empty = pending.buffer.is_empty();
        let mut filled = false;
        for record in records {
            if pending.buffer.push(record, now) {
                if let Some(batch) = pending.buffer.take() {
                    pending.ready.push_back(batch);
                }
                filled = true;
            }
        }
        filled || (was_empty && !pending.buffer.is_empty())
    }

    /// Appends transformed records to the destination buffer, moving full batches to the ready queue.
    fn buffer_output<'a>(&self, records: impl IntoIterator<Item = &'a [u8]>) {
        let now = Instant::now();
        let mut pending = lock(&self.pending);
        for record in records {
            if pending.buffer.push(record, now)
                && let Some(batch) = pending.buffer.take()
            {
                pending.ready.push_back(batch);
            }
        }
    }

    /// Where this stream's objects go under `destination`, for the task's sink and backup.
    pub(crate) fn output<'a>(&'a self, destination: &'a Destination, context: &'a TaskContext) -> Output<'a> {
        Output { name: &self.name, arn: &self.arn, destination, context }
    }

    /// Asks the delivery task to stop.
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// The Lambda input buffer (if the destination has a Lambda processor) and the destination buffer
/// for a destination; a search destination's buffering hints apply to its buffer.
fn buffers(
    destination: &Destination,
    search: Option<&SearchDestination>,
    clock: &Clock,
) -> (Option<InputBuffer>, Buffer) {
    let (size_in_mbs, interval_in_seconds) = match search {
        Some(search) => (search.size_in_mbs, search.interval_in_seconds),
        None => (destination.size_in_mbs, destination.interval_in_seconds),
    };
    let size_limit = usize::try_from(size_in_mbs).unwrap_or(1) * 1024 * 1024;
    let interval = Duration::from_secs(u64::try_from(interval_in_seconds).unwrap_or(0));
    let delimiter: &'static [u8] = if destination.append_delimiter { b"\n" } else { b"" };
    let input = destination
        .lambda
        .as_ref()
        .map(|lambda| InputBuffer::new(lambda.buffer_bytes, clock.to_wall(lambda.buffer_interval)));
    (input, Buffer::new(size_limit, clock.to_wall(interval), delimiter))
}

/// Runs a delivery stream until it is stopped: reads its source, flushes by size and interval,
/// and writes batches to S3, retrying writes that fail.
///
/// Buffered records that are not in S3 when the stream stops are discarded, as when a delivery
/// stream is deleted in AWS.
pub(crate) async fn run(stream: Arc<DeliveryStream>, context: TaskContext) {
    let mut stop = stream.stop.subscribe();
    let mut reader = match &stream.source {
        Source::DirectPut => None,
        Source::Kinesis { stream: source, start_positions, .. } => {
            Some(KinesisReader::new(&stream.name, &context, source, start_positions))
        }
    };
    let mut active = stream.destination();
    // Error output is written apart from the sink, on its own retry schedule.
    let mut error_retry_at: Option<Instant> = None;
    let mut transformer = transformer_for(&stream, &active);
    let mut error_objects: VecDeque<ErrorObject> = VecDeque::new();
    let mut sink = Sink::new(stream.search.as_ref());
    while !*stop.borrow() {
        let current = stream.destination();
        if !Arc::ptr_eq(&current, &active) {
            // Records waiting for the old Lambda processor are transformed by it before the switch.
            if let Some(old) = transformer.as_mut() {
                let waiting = lock(&stream.pending).input.as_mut().and_then(InputBuffer::take);
                if let Some((records, oldest)) = waiting {
                    let (delivered, object) =
                        transform_batch(&stream.output(&active, &context), old, &records, oldest).await;
                    stream.buffer_output(delivered.iter().map(Vec::as_slice));
                    error_objects.extend(object);
                }
                old.shutdown().await;
            }
            stream.reconfigure(&current);
            transformer = transformer_for(&stream, &current);
            tracing::debug!(delivery_stream = %stream.name, version = current.version, "destination updated");
            active = current;
        }
        let out = stream.output(&active, &context);
        if let Some(active) = reader.as_mut()
            // The task itself reacts to the buffer after reading, so it needs no wake-up.
            && let Err(SourceDeleted) = active.read(&context, |records| {
                stream.buffer_records(records.iter().map(|data| &data[..]));
            })
        {
            tracing::warn!(delivery_stream = %stream.name, "the source Kinesis stream was deleted");
            reader = None;
        }
        if let Some(transformer) = transformer.as_mut() {
            let due = {
                let mut pending = lock(&stream.pending);
                let now = Instant::now();
                pending.input.as_mut().filter(|input| input.is_due(now)).and_then(InputBuffer::take)
            };
            if let Some((records, oldest)) = due {
                let (delivered, object) = transform_batch(&out, transformer, &records, oldest).await;
                stream.buffer_output(delivered.iter().map(Vec::as_slice));
                error_objects.extend(object);
            }
        }
        if error_retry_at.is_none_or(|at| at <= Instant::now()) {
            error_retry_at = write_error_objects(&out, &mut error_objects).err();
        }
        let now = Instant::now();
        let batches = {
            let mut pending = lock(&stream.pending);
            if pending.buffer.is_due(now)
                && let Some(batch) = pending.buffer.take()
            {
                pending.ready.push_back(batch);
            }
            if sink.accepting(now) { std::mem::take(&mut pending.ready) } else { VecDeque::new() }
        };
        let unwritten = sink.send(&out, batches, &mut stop).await;
        if !unwritten.is_empty() {
            let mut pending = lock(&stream.pending);
            // Unwritten batches go back in front of anything that filled meanwhile, to keep order.
            for batch in unwritten.into_iter().rev() {
                pending.ready.push_front(batch);
            }
        }
        let deadline = {
            let pending = lock(&stream.pending);
            let reader_wakes = reader.as_ref().and_then(KinesisReader::wake_at);
            let input_due = pending.input.as_ref().and_then(InputBuffer::deadline);
            let sink_due = sink.deadline(!pending.ready.is_empty(), now);
            [pending.buffer.deadline(), error_retry_at, reader_wakes, input_due, sink_due]
                .into_iter()
                .flatten()
                .min()
        };
        tokio::select! {
            biased;
            _ = stop.changed() => {}
            () = stream.wake.notified() => {}
            changed = wait_for_change(reader.as_mut()) => {
                if !changed {
                    reader = None;
                }
            }
            () = sleep_until(deadline) => {}
        }
    }
    if let Some(transformer) = transformer.as_mut() {
        transformer.shutdown().await;
    }
    let pending = lock(&stream.pending);
    let undelivered = pending.ready.iter().map(|batch| batch.records).sum::<usize>()
        + pending.buffer.records()
        + pending.input.as_ref().map_or(0, InputBuffer::records)
        + sink.pending_records();
    if undelivered > 0 {
        tracing::info!(delivery_stream = %stream.name, undelivered, "stopped; buffered records were discarded");
    }
}

/// The transformer of `destination`'s Lambda processor, if it has one.
fn transformer_for(stream: &DeliveryStream, destination: &Destination) -> Option<Transformer> {
    let lambda = destination.lambda.as_ref()?;
    Some(Transformer::new(lambda.config.clone(), stream.arn.clone(), lambda.region.clone()))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::faults::{FaultInjector, FaultKind, FaultPlan};
    use crate::firehose::api::ProcessingConfiguration;
    use crate::firehose::config::Compression;
    use crate::s3::store::S3Store;
    use crate::search::SearchRegistry;
    use vocabulary::PrefixTemplate;

    const MIB: usize = 1024 * 1024;

    fn destination(size_in_mbs: i64, interval_in_seconds: i64) -> Destination {
        Destination {
            role_arn: "arn:aws:iam::000000000000:role/firehose".to_owned(),
            bucket_arn: "arn:aws:s3:::bucket".to_owned(),
            bucket: "bucket".to_owned(),
            prefix: None,
            prefix_template: PrefixTemplate::default(),
            error_output_prefix: None,
            error_output_template: PrefixTemplate::parse_error_output(None, None)
                .expect("the default is valid"),
            size_in_mbs,
            interval_in_seconds,
            compression: Compression::Uncompressed,
            append_delimiter: false,
            lambda: None,
            processing: ProcessingConfiguration { enabled: Some(false), processors: Vec::new() },
            file_extension: None,
            logging: Default::default(),
            version: 1,
            given: serde_json::Value::Null,
        }
    }

    /// A direct-put stream with its task running on paused Tokio time, delivering to `bucket`.
    fn start(
        clock: Clock,
        size_in_mbs: i64,
        interval_in_seconds: i64,
    ) -> (Arc<DeliveryStream>, Arc<S3Store>, tokio::task::JoinHandle<()>) {
        start_with(clock, destination(size_in_mbs, interval_in_seconds), true)
    }

    /// Like [`start`], with any destination, and without creating the bucket unless `create_bucket`.
    fn start_with(
        clock: Clock,
        destination: Destination,
        create_bucket: bool,
    ) -> (Arc<DeliveryStream>, Arc<S3Store>, tokio::task::JoinHandle<()>) {
        let (stream, s3, task, _) = spawn(clock, destination, None, FaultPlan::default());
        if create_bucket {
            s3.create_bucket("bucket", clock.now()).unwrap();
        }
        (stream, s3, task)
    }

    /// A direct-put stream named `ds` and its task, with an empty S3 store.
    fn spawn(
        clock: Clock,
        destination: Destination,
        search: Option<crate::firehose::search::SearchDestination>,
        faults: FaultPlan,
    ) -> (Arc<DeliveryStream>, Arc<S3Store>, tokio::task::JoinHandle<()>, Arc<FaultInjector>) {
        let s3 = Arc::new(S3Store::default());
        let stream = Arc::new(DeliveryStream::new(
            "ds".to_owned(),
            "arn:aws:firehose:us-east-1:000000000000:deliverystream/ds".to_owned(),
            clock.now(),
            Source::DirectPut,
            destination,
            search,
            &clock,
        ));
        let faults = Arc::new(FaultInjector::new(faults));
        let task = tokio::spawn(run(
            Arc::clone(&stream),
            TaskContext {
                s3: Arc::clone(&s3),
                clock,
                search: Arc::new(SearchRegistry::new(Arc::clone(&faults))),
                faults: Arc::clone(&faults),
                logs: Arc::default(),
            },
        ));
        (stream, s3, task, faults)
    }

    /// A direct-put stream to the in-process OpenSearch domain `dom` (index `i`, no retries), backed
    /// up to `bucket`, which does not exist yet; every document is rejected.
    fn start_search(clock: Clock) -> (Arc<DeliveryStream>, Arc<S3Store>, Arc<FaultInjector>) {
        let config: crate::firehose::api::SearchDestinationConfiguration =
            serde_json::from_value(serde_json::json!({
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                "DomainARN": "arn:aws:es:us-east-1:000000000000:domain/dom",
                "IndexName": "i",
                "IndexRotationPeriod": "NoRotation",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                "RetryOptions": {"DurationInSeconds": 0},
                "S3Configuration": {
                    "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                    "BucketARN": "arn:aws:s3:::bucket"
                }
            }))
            .unwrap();
        let backup = destination(1, 0);
        let search = crate::firehose::search::search_destination(
            vocabulary::SearchService::OpenSearch,
            config,
            &backup,
        )
        .unwrap();
        let (stream, s3, _task, faults) =
            spawn(clock, backup, Some(search), FaultPlan { index_failure: 1.0, ..FaultPlan::default() });
        (stream, s3, faults)
    }

    #[tokio::test(start_paused = true)]
    async fn a_backup_that_cannot_be_written_pauses_delivery_to_the_cluster() {
        let clock = Clock::new(1.0);
        let (stream, s3, faults) = start_search(clock);
        let rejected =
            || faults.events().iter().filter(|event| event.kind == FaultKind::IndexFailure).count();
        stream.put(&[br#"{"n":1}"#.to_vec()]);
        tokio::time::sleep(Duration::from_millis(10)).await;
        settle().await;
        // Rejected at once (no retries), and its failed document cannot be written: no bucket.
        assert_eq!(rejected(), 1);
        stream.put(&[br#"{"n":2}"#.to_vec()]);
        tokio::time::sleep(Duration::from_secs(12)).await;
        settle().await;
        assert_eq!(rejected(), 1, "paused: the second batch is not sent while the backup fails");
        s3.create_bucket("bucket", clock.now()).unwrap();
        tokio::time::sleep(Duration::from_secs(6)).await;
        settle().await;
        assert_eq!(rejected(), 2, "the backup written, delivery goes on");
        let failed: Vec<usize> =
            objects(&s3).iter().map(|(_, data)| data.split(|b| *b == b'\n').count() - 1).collect();
        assert_eq!(failed.iter().sum::<usize>(), 2, "both failed documents are in the backup: {failed:?}");
    }

    fn objects(s3: &S3Store) -> Vec<(String, Bytes)> {
        let query = crate::s3::store::ListQuery { max_keys: 1000, ..Default::default() };
        s3.list("bucket", &query)
            .unwrap()
            .objects
            .into_iter()
            .map(|(key, object)| (key, object.data))
            .collect()
    }

    /// Lets the delivery task run without advancing the paused clock.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_bucket_is_retried_until_the_retention_period_ends_then_the_records_are_discarded() {
        // One emulated hour per wall second: the 24-hour retention passes in 24 wall seconds.
        let clock = Clock::new(3_600.0);
        let (stream, s3, _task) = start(clock, 1, 0);
        s3.delete_bucket("bucket").unwrap();
        stream.put(&[b"early;".to_vec()]);
        tokio::time::sleep(Duration::from_secs(1)).await;
        settle().await;
        // Still retried after an emulated hour: a bucket that comes back gets the records.
        s3.create_bucket("bucket", clock.now()).unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        settle().await;
        assert_eq!(objects(&s3).iter().map(|(_, data)| &data[..]).collect::<Vec<_>>(), [b"early;"]);

        for (key, _) in objects(&s3) {
            s3.delete_object("bucket", &key, OffsetDateTime::now_utc()).unwrap();
        }
        s3.delete_bucket("bucket").unwrap();
        stream.put(&[b"lost;".to_vec()]);
        tokio::time::sleep(Duration::from_secs(24)).await;
        settle().await;
        // Past 24 emulated hours the batch is given up: the bucket's return does not bring it back.
        s3.create_bucket("bucket", clock.now()).unwrap();
        stream.put(&[b"late;".to_vec()]);
        tokio::time::sleep(Duration::from_millis(10)).await;
        settle().await;
        assert_eq!(objects(&s3).iter().map(|(_, data)| &data[..]).collect::<Vec<_>>(), [b"late;"]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_interval_timer_flushes_without_further_records() {
        let clock = Clock::new(1.0);
        let (stream, s3, _task) = start(clock, 1, 60);
        stream.put(&[b"a".to_vec(), b"b".to_vec()]);
        tokio::time::sleep(Duration::from_millis(59_900)).await;
        settle().await;
        assert!(objects(&s3).is_empty(), "flushed before the interval");
        tokio::time::sleep(Duration::from_millis(200)).await;
        settle().await;
        let objects = objects(&s3);
        assert_eq!(objects.len(), 1);
        assert_eq!(&objects[0].1[..], b"ab");
    }

    #[tokio::test(start_paused = true)]
    async fn the_time_scale_shortens_the_wall_interval() {
        let clock = Clock::new(60.0);
        let (stream, s3, _task) = start(clock, 1, 300);
        let before = clock.now();
        stream.put(&[b"x".to_vec()]);
        tokio::time::sleep(Duration::from_millis(4_900)).await;
        settle().await;
        assert!(objects(&s3).is_empty());
        tokio::time::sleep(Duration::from_millis(200)).await;
        settle().await;
        let objects = objects(&s3);
        assert_eq!(objects.len(), 1);
        // The key carries emulator time: the hour of the record's arrival, not of the wall clock.
        let hour = format!(
            "{:04}/{:02}/{:02}/{:02}/",
            before.year(),
            u8::from(before.month()),
            before.day(),
            before.hour()
        );
        let next = before + time::Duration::minutes(5);
        let next_hour =
            format!("{:04}/{:02}/{:02}/{:02}/", next.year(), u8::from(next.month()), next.day(), next.hour());
        assert!(objects[0].0.starts_with(&hour) || objects[0].0.starts_with(&next_hour), "{}", objects[0].0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_is_flushed_once_per_interval() {
        // IntervalInSeconds 60 at time scale 60 is one wall second; a record every 0.3 s means four
        // records per object, each object written exactly one interval after its oldest record.
        let clock = Clock::new(60.0);
        let (stream, s3, _task) = start(clock, 1, 60);
        let t0 = Instant::now();
        let mut arrivals = Vec::new();
        for i in 0..40u64 {
            tokio::time::sleep_until(t0 + Duration::from_millis(300 * i)).await;
            arrivals.push(clock.now());
            stream.put(&[format!("{i:02};").into_bytes()]);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        settle().await;
        let query = crate::s3::store::ListQuery { max_keys: 1000, ..Default::default() };
        let mut objects = s3.list("bucket", &query).unwrap().objects;
        objects.sort_by_key(|(_, object)| object.last_modified);
        assert_eq!(objects.len(), 10);
        for (n, (key, object)) in objects.iter().enumerate() {
            let expected: String = (4 * n..4 * n + 4).map(|i| format!("{i:02};")).collect();
            assert_eq!(std::str::from_utf8(&object.data).unwrap(), expected, "{key}");
            let held = object.last_modified - crate::clock::truncate_to_millis(arrivals[4 * n]);
            assert!(
                held >= time::Duration::seconds(60) && held < time::Duration::milliseconds(60_100),
                "object {n} held for {held}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn gzip_objects_decompress_to_the_delimited_records() {
        let clock = Clock::new(1.0);
        let destination =
            Destination { compression: Compression::Gzip, append_delimiter: true, ..destination(1, 0) };
        let (stream, s3, _task) = start_with(clock, destination, true);
        stream.put(&[b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]);
        tokio::time::sleep(Duration::from_millis(10)).await;
        settle().await;
        let delivered = objects(&s3);
        assert_eq!(delivered.len(), 1);
        assert!(delivered[0].0.ends_with(".gz"), "{}", delivered[0].0);
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&delivered[0].1[..]), &mut plain)
            .unwrap();
        assert_eq!(plain, b"{\"a\":1}\n{\"b\":2}\n");
    }

    #[tokio::test(start_paused = true)]
    async fn reaching_the_size_flushes_before_the_interval() {
        let clock = Clock::new(1.0);
        let (stream, s3, _task) = start(clock, 1, 900);
        let record = vec![b'r'; 256 * 1024];
        stream.put(&[record.clone(), record.clone(), record.clone()]);
        settle().await;
        assert!(objects(&s3).is_empty(), "flushed below the size threshold");
        stream.put(&[record.clone(), b"tail".to_vec()]);
        settle().await;
        let delivered = objects(&s3);
        assert_eq!(delivered.len(), 1, "the fourth record reaches 1 MiB");
        assert_eq!(delivered[0].1.len(), MIB);
        // The record after the threshold starts the next batch, which waits for its interval.
        tokio::time::sleep(Duration::from_secs(901)).await;
        settle().await;
        let delivered = objects(&s3);
        assert_eq!(delivered.len(), 2);
        assert!(delivered.iter().any(|(_, data)| &data[..] == b"tail"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_bucket_is_retried_until_it_exists() {
        let clock = Clock::new(1.0);
        let (stream, s3, _task) = start_with(clock, destination(1, 0), false);
        stream.put(&[b"kept".to_vec()]);
        tokio::time::sleep(Duration::from_secs(3)).await;
        s3.create_bucket("bucket", clock.now()).unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        settle().await;
        let delivered = objects(&s3);
        assert_eq!(delivered.len(), 1);
        assert_eq!(&delivered[0].1[..], b"kept");
    }

    #[tokio::test(start_paused = true)]
    async fn stopping_ends_the_task() {
        let clock = Clock::new(1.0);
        let (stream, _s3, task) = start(clock, 1, 60);
        stream.put(&[b"pending".to_vec()]);
        stream.stop();
        tokio::time::timeout(Duration::from_secs(1), task).await.expect("task stopped").unwrap();
    }
}
