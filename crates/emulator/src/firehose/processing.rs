//! The `Lambda` processing stage of a delivery task: a processor batch through the function, and
//! the records it could not process written as error output (`processing-failed`), in order, on
//! their own retry schedule.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::firehose::key;
use crate::firehose::output::Output;
use crate::firehose::processor::{TransformEvent, TransformEventKind};
use crate::firehose::transform::{TransformInput, TransformOutcome, Transformer, error_document};
use vocabulary::ErrorOutputType;

/// How long to wait before retrying a failed write of error output (wall time).
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Error documents of one invocation, to be written under the error output prefix.
#[derive(Debug)]
pub(crate) struct ErrorObject {
    key: String,
    body: Bytes,
    /// Ground truth to log once the object is written.
    events: Vec<TransformEvent>,
}

/// Runs one processor batch through the function: returns the `Ok` outputs, for the destination
/// buffer, and the unsuccessfully processed records as one error object; `Dropped` records are logged.
pub(crate) async fn transform_batch(
    out: &Output<'_>,
    transformer: &mut Transformer,
    records: &[TransformInput],
    oldest: Instant,
) -> (Vec<Vec<u8>>, Option<ErrorObject>) {
    let Some(lambda) = out.destination.lambda.as_ref() else { return (Vec::new(), None) };
    let context = out.context;
    let outcomes = transformer.transform(records).await;
    let ended_ms = crate::clock::unix_millis(context.clock.now());
    let mut delivered = Vec::new();
    let mut dropped = Vec::new();
    let mut documents = Vec::new();
    let mut failed = Vec::new();
    for (record, outcome) in records.iter().zip(outcomes) {
        match outcome {
            TransformOutcome::Ok(data) => delivered.push(data),
            TransformOutcome::Dropped => dropped.push(TransformEvent {
                stream: out.name.to_owned(),
                kind: TransformEventKind::Dropped,
                data: record.data.clone(),
            }),
            TransformOutcome::Failed { error_code, error_message, attempts } => {
                let function_arn = &lambda.config.function_arn;
                if !failed.iter().any(|(code, _)| *code == error_code) {
                    // One log event per error code and batch, as the error log aggregates them.
                    out.log_error(&error_code, &error_message, Some(function_arn));
                }
                documents.extend(error_document(
                    record,
                    &error_code,
                    &error_message,
                    attempts,
                    ended_ms,
                    function_arn,
                ));
                documents.push(b'\n');
                failed.push((error_code, record.data.clone()));
            }
        }
    }
    tracing::debug!(
        delivery_stream = %out.name,
        records = records.len(),
        delivered = delivered.len(),
        dropped = dropped.len(),
        failed = failed.len(),
        "transformed records"
    );
    lambda.log.record_all(dropped);
    if failed.is_empty() {
        return (delivered, None);
    }
    let destination = out.destination;
    let key = key::error_output_key(
        &destination.error_output_template,
        ErrorOutputType::ProcessingFailed,
        (out.name, destination.version),
        context.clock.at(oldest),
        uuid::Uuid::new_v4(),
        destination.compression.default_extension(),
    );
    let events = failed
        .into_iter()
        .map(|(error_code, data)| TransformEvent {
            stream: out.name.to_owned(),
            kind: TransformEventKind::Failed { error_code, object: key.clone() },
            data,
        })
        .collect();
    let body = destination.compression.apply(&Bytes::from(documents));
    (delivered, Some(ErrorObject { body, key, events }))
}

/// Writes pending error objects in order; on a failed write, returns when to try again.
pub(crate) fn write_error_objects(
    out: &Output<'_>,
    objects: &mut VecDeque<ErrorObject>,
) -> Result<(), Instant> {
    while let Some(object) = objects.pop_front() {
        match out.write(&object.key, object.body.clone()) {
            Ok(_) => {
                tracing::debug!(delivery_stream = %out.name, key = %object.key, "wrote processing-failed records");
                if let Some(lambda) = out.destination.lambda.as_ref() {
                    lambda.log.record_all(object.events);
                }
            }
            Err(err) => {
                tracing::warn!(delivery_stream = %out.name, %err, "writing error output failed; will retry");
                objects.push_front(object);
                return Err(Instant::now() + RETRY_DELAY);
            }
        }
    }
    Ok(())
}
