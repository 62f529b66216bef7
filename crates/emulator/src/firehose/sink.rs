//! Where a delivery task's flushed batches go: [`Sink::S3`], objects written in order with S3
//! delivery's retry rules and fault injection, or [`Sink::Search`], an OpenSearch or Elasticsearch
//! destination (`search_delivery.rs`) with its own retries and pause. Both write through the
//! stream's [`Output`].

use std::collections::VecDeque;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::faults::{FaultKind, ObjectFaults, apply_object_faults};
use crate::firehose::buffer::{Batch, Faulted};
use crate::firehose::output::Output;
use crate::firehose::search::SearchDestination;
use crate::firehose::search_delivery::SearchDelivery;
use crate::s3::store::StoreError;

/// Where a stream's flushed batches go. Each sink owns its retry and pause rules; both write objects
/// through the stream's [`Output`], and neither reaches back into the stream.
#[derive(Debug)]
pub(crate) enum Sink<'s> {
    /// Objects in the destination bucket, written in order: after a failed write, no later batch is
    /// written before `retry_at`. `next_batch` is the ordinal of the next batch fault injection
    /// applies to.
    S3 { retry_at: Option<Instant>, next_batch: u64 },
    /// An OpenSearch or Elasticsearch destination, which schedules its own retries per batch; while
    /// its S3 backup cannot be written, Firehose pauses delivery: no new batch goes to the cluster.
    Search { search: &'s SearchDestination, delivery: Box<SearchDelivery> },
}

impl<'s> Sink<'s> {
    /// The sink of a stream with the search destination `search`, or of an S3 destination.
    pub(crate) fn new(search: Option<&'s SearchDestination>) -> Sink<'s> {
        match search {
            Some(search) => Sink::Search { search, delivery: Box::new(SearchDelivery::new(search)) },
            None => Sink::S3 { retry_at: None, next_batch: 0 },
        }
    }

    /// Whether the sink takes new batches now.
    pub(crate) fn accepting(&self, now: Instant) -> bool {
        match self {
            Sink::S3 { retry_at, .. } => retry_at.is_none_or(|at| at <= now),
            Sink::Search { delivery, .. } => !delivery.backup_failing(),
        }
    }

    /// Delivers what it can of `batches` (and of what it already holds); returns the batches it
    /// did not take, in order.
    pub(crate) async fn send(
        &mut self,
        out: &Output<'_>,
        batches: VecDeque<Batch>,
        stop: &mut watch::Receiver<bool>,
    ) -> VecDeque<Batch> {
        match self {
            Sink::S3 { retry_at, next_batch } => {
                if !retry_at.is_none_or(|at| at <= Instant::now()) {
                    return batches;
                }
                let (unwritten, again) = deliver(out, next_batch, batches);
                *retry_at = again;
                unwritten
            }
            Sink::Search { search, delivery } => {
                // A request to an external cluster can take long; stopping does not wait for it.
                tokio::select! {
                    biased;
                    _ = stop.changed() => {}
                    () = delivery.step(out, search, batches) => {}
                }
                VecDeque::new()
            }
        }
    }

    /// When the task must act for the sink: a retry that is due, or batches that are `ready` and
    /// that it takes now.
    pub(crate) fn deadline(&self, ready: bool, now: Instant) -> Option<Instant> {
        match self {
            Sink::S3 { retry_at, .. } => retry_at.or(ready.then_some(now)),
            Sink::Search { delivery, .. } => {
                let ready_now = (ready && !delivery.backup_failing()).then_some(now);
                [delivery.deadline(), ready_now].into_iter().flatten().min()
            }
        }
    }

    /// Records the sink holds that are not delivered yet.
    pub(crate) fn pending_records(&self) -> usize {
        match self {
            Sink::S3 { .. } => 0,
            Sink::Search { delivery, .. } => delivery.pending_records(),
        }
    }
}

/// Writes batches to S3 in order, fault injection (the `next_batch`-th batch on) first making objects
/// of them. Returns the batches not written yet, in order, and when to try again: after a write that
/// failed, or when a delayed object's hold ends.
fn deliver(
    out: &Output<'_>,
    next_batch: &mut u64,
    mut batches: VecDeque<Batch>,
) -> (VecDeque<Batch>, Option<Instant>) {
    let context = out.context;
    while let Some(mut batch) = batches.pop_front() {
        let destination = out.destination;
        if batch.faulted.is_none()
            && let Some(plan) = context.faults.object_faults()
        {
            let ordinal = std::mem::replace(next_batch, *next_batch + 1);
            for object in apply_faults(out, plan, ordinal, batch).into_iter().rev() {
                batches.push_front(object);
            }
            continue;
        }
        if let Some(faulted) = batch.faulted.as_mut()
            && !faulted.delay.is_zero()
        {
            let now = Instant::now();
            let until = *faulted.hold_until.get_or_insert(now + faulted.delay);
            if now < until {
                batches.push_front(batch);
                return (batches, Some(until));
            }
        }
        if batch.data.is_empty() {
            // Faults removed every record: Firehose writes no empty object.
            context.faults.record_all(batch.faulted.map(|faulted| faulted.events).unwrap_or_default());
            continue;
        }
        let key = match &batch.faulted {
            Some(faulted) => faulted.key.clone(),
            None => out.object_key(batch.oldest),
        };
        let body = destination.compression.apply(&batch.data);
        match out.write(&key, body) {
            Ok(_) => {
                tracing::debug!(
                    delivery_stream = %out.name,
                    %key,
                    size = batch.data.len(),
                    records = batch.records,
                    "delivered object"
                );
                context.faults.record_all(batch.faulted.map(|faulted| faulted.events).unwrap_or_default());
            }
            Err(err) => {
                match err {
                    StoreError::NoSuchBucket => out.log_error(
                        "S3.NoSuchBucket",
                        &format!("The specified bucket does not exist: {}.", destination.bucket),
                        None,
                    ),
                    other => out.log_error("S3.InternalError", &other.to_string(), None),
                }
                let Some(again) = out.retry_at(batch.oldest) else {
                    tracing::error!(
                        delivery_stream = %out.name,
                        bucket = %destination.bucket,
                        %err,
                        records = batch.records,
                        "S3 delivery failed for the whole retention period of 24 hours; the records are discarded"
                    );
                    continue;
                };
                tracing::warn!(
                    delivery_stream = %out.name,
                    bucket = %destination.bucket,
                    %err,
                    "S3 delivery failed; will retry"
                );
                batches.push_front(batch);
                return (batches, Some(again));
            }
        }
    }
    (batches, None)
}

/// Turns the `ordinal`-th flushed batch into the objects fault injection makes of it, each with
/// its key and the ground truth to log once it is written.
fn apply_faults(out: &Output<'_>, plan: &ObjectFaults, ordinal: u64, batch: Batch) -> Vec<Batch> {
    let context = out.context;
    let delimiter: &[u8] = if out.destination.append_delimiter { b"\n" } else { b"" };
    let mut records = Vec::with_capacity(batch.lens.len());
    let mut at = 0;
    for &len in &batch.lens {
        let len = len as usize;
        records.push(&batch.data[at..at + len]);
        at += len + delimiter.len();
    }
    let objects = apply_object_faults(plan, context.faults.seed(), ordinal, &records, delimiter);
    let keys: Vec<String> = objects.iter().map(|_| out.object_key(batch.oldest)).collect();
    objects
        .into_iter()
        .enumerate()
        .map(|(index, object)| {
            let written = !object.data.is_empty();
            let events = object
                .events
                .into_iter()
                .map(|mut event| {
                    event.stream = out.name.to_owned();
                    event.object = written.then(|| keys[index].clone());
                    if let FaultKind::S3PutFailure { retry } = &mut event.kind {
                        retry.clone_from(&keys[index + 1]);
                    }
                    event
                })
                .collect();
            Batch {
                records: object.pieces.len(),
                data: Bytes::from(object.data),
                lens: Vec::new(),
                oldest: batch.oldest,
                faulted: Some(Faulted {
                    key: keys[index].clone(),
                    delay: context.clock.to_wall(object.delay),
                    hold_until: None,
                    events,
                }),
            }
        })
        .collect()
}
