//! SubscribeToShard: enhanced fan-out's push read, answered as an AWS event stream
//! (`application/vnd.amazon.eventstream`) over HTTP/1.1 or HTTP/2.
//!
//! The stream opens with an `initial-response` event, then carries `SubscribeToShardEvent`s: one
//! as soon as records arrive (and at least every 5 seconds of emulator time without them), each
//! with the records, a `ContinuationSequenceNumber` to resume AFTER_SEQUENCE_NUMBER from, and
//! `MillisBehindLatest`. A subscription lasts 5 minutes of emulator time and then ends, as AWS's
//! does; it reads at most 2 MiB per second, the per-consumer, per-shard rate AWS documents; it ends
//! with a `ResourceInUseException` event when a later call takes the shard over, and quietly when
//! its consumer is deregistered. (SubscribeToShard, Kinesis API Reference; "Develop enhanced fan-out
//! consumers with the Kinesis Data Streams API", Kinesis Developer Guide.)

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;
use http::{Response, StatusCode, header};
use tokio::sync::mpsc;

use crate::clock::{Clock, unix_millis};
use crate::error::ApiError;
use crate::json;
use crate::kinesis::api::{ChildShard, RecordOut, SubscribeToShardEvent, SubscribeToShardInput};
use crate::kinesis::sequence::SequenceNumber;
use crate::kinesis::store::{self, ConsumerRef, SHARD_READ_BYTES_PER_SECOND, StartingPosition, Stream};
use crate::state::State;

/// How long a subscription lasts, in emulator milliseconds.
const SUBSCRIPTION_MS: i64 = 5 * 60 * 1000;
/// The longest a subscription goes without an event when no records arrive.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Most records in one event, as in one GetRecords response.
const MAX_EVENT_RECORDS: usize = 10_000;

/// Validates a SubscribeToShard call, takes the shard over for the consumer and starts pushing
/// events; errors before the first event are ordinary JSON error responses.
pub(crate) fn subscribe(state: &State, body: &[u8]) -> Result<Response<s3s::Body>, ApiError> {
    let input: SubscribeToShardInput = json::parse(body)?;
    let (stream, consumer) = state.kinesis.consumer(ConsumerRef::Arn(&input.consumer_arn))?;
    let shard_index = stream.shard_or_not_found(&input.shard_id, state.kinesis.account_id())?;
    let position = &input.starting_position;
    let start = StartingPosition::parse(
        ("StartingPosition.Type", &position.kind),
        position.sequence_number.as_deref(),
        position.timestamp,
    )?;
    let now_ms = unix_millis(state.clock.now());
    stream.trim_expired(now_ms);
    let position = stream.starting_position(shard_index, start)?;
    let subscription = stream.take_over_shard(&consumer.arn, shard_index, now_ms)?;
    let (tx, rx) = mpsc::channel(2);
    let pusher = Pusher {
        stream,
        clock: state.clock,
        consumer_arn: consumer.arn,
        shard_index,
        subscription: subscription.id,
        ends_ms: now_ms + SUBSCRIPTION_MS,
        tx,
    };
    tokio::spawn(pusher.run(position));
    let body = http_body_util::StreamBody::new(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|frame| (Ok::<_, Infallible>(hyper::body::Frame::data(frame)), rx))
    }));
    let mut response = Response::new(s3s::Body::http_body_unsync(body));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/vnd.amazon.eventstream"));
    Ok(response)
}

/// The task that reads one shard for one subscription and sends its events.
struct Pusher {
    stream: Arc<Stream>,
    clock: Clock,
    consumer_arn: String,
    shard_index: usize,
    subscription: u64,
    ends_ms: i64,
    tx: mpsc::Sender<Bytes>,
}

impl Pusher {
    async fn run(self, mut position: u64) {
        if !self.send(event("initial-response", b"{}".to_vec())).await {
            return;
        }
        let mut changes = self.stream.subscribe();
        let mut records = Vec::new();
        loop {
            match self.stream.holds_shard(&self.consumer_arn, self.shard_index, self.subscription) {
                None => return,
                Some(false) => {
                    let message = format!(
                        "Another subscription of consumer {} took over shard {}.",
                        self.consumer_arn,
                        store::shard_id(self.shard_index)
                    );
                    self.send(exception("ResourceInUseException", &message)).await;
                    return;
                }
                Some(true) => {}
            }
            let now_ms = unix_millis(self.clock.now());
            if now_ms >= self.ends_ms {
                return;
            }
            changes.mark_unchanged();
            records.clear();
            let read = self.stream.read_records(
                self.shard_index,
                position,
                MAX_EVENT_RECORDS,
                SHARD_READ_BYTES_PER_SECOND as usize,
                &mut records,
            );
            let Ok(outcome) = read else {
                let message = format!("Stream {} was deleted.", self.stream.name);
                self.send(exception("ResourceNotFoundException", &message)).await;
                return;
            };
            position = outcome.next_position;
            // The last event of a closed shard names its children and has no continuation
            // (SubscribeToShardEvent, Kinesis API Reference); the subscription then ends.
            let payload = SubscribeToShardEvent {
                records: records.iter().map(|record| RecordOut::new(record, self.shard_index)).collect(),
                continuation_sequence_number: (!outcome.shard_ended).then(|| {
                    SequenceNumber {
                        shard_index: self.shard_index as u64,
                        counter: position.saturating_sub(1),
                    }
                    .format()
                }),
                millis_behind_latest: outcome.oldest_unread_ms.map_or(0, |ms| (now_ms - ms).max(0)),
                child_shards: outcome
                    .shard_ended
                    .then(|| ChildShard::of(&self.stream.lineage(), self.shard_index)),
            };
            let payload = serde_json::to_vec(&payload).unwrap_or_default();
            if !self.send(event("SubscribeToShardEvent", payload)).await || outcome.shard_ended {
                return;
            }
            let bytes: u64 = records.iter().map(|record| record.data.len() as u64).sum();
            let remaining = Duration::from_millis(u64::try_from(self.ends_ms - now_ms).unwrap_or(0));
            if outcome.oldest_unread_ms.is_some() {
                // More is waiting: pay for what was sent at 2 MiB/s, then read on.
                let paid = Duration::from_secs_f64(bytes as f64 / SHARD_READ_BYTES_PER_SECOND as f64);
                tokio::time::sleep(self.clock.to_wall(paid.min(remaining))).await;
            } else {
                let idle = tokio::time::sleep(self.clock.to_wall(HEARTBEAT.min(remaining)));
                tokio::select! {
                    _ = changes.changed() => {}
                    () = idle => {}
                }
            }
        }
    }

    /// Sends one encoded message; false once the client has gone.
    async fn send(&self, message: Message) -> bool {
        let mut frame = Vec::new();
        if let Err(err) = write_message_to(&message, &mut frame) {
            tracing::error!(%err, "failed to encode a SubscribeToShard event");
            return false;
        }
        self.tx.send(Bytes::from(frame)).await.is_ok()
    }
}

fn event(event_type: &'static str, payload: Vec<u8>) -> Message {
    Message::new(payload)
        .add_header(Header::new(":message-type", HeaderValue::String("event".into())))
        .add_header(Header::new(":event-type", HeaderValue::String(event_type.into())))
        .add_header(Header::new(":content-type", HeaderValue::String(json::CONTENT_TYPE.into())))
}

fn exception(code: &'static str, message: &str) -> Message {
    let payload = serde_json::json!({ "message": message }).to_string();
    Message::new(payload)
        .add_header(Header::new(":message-type", HeaderValue::String("exception".into())))
        .add_header(Header::new(":exception-type", HeaderValue::String(code.into())))
        .add_header(Header::new(":content-type", HeaderValue::String(json::CONTENT_TYPE.into())))
}
