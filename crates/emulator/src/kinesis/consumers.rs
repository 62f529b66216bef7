//! Enhanced fan-out consumers: RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers
//! and DeregisterStreamConsumer, with the names, ARNs, limits and errors the Kinesis API reference
//! documents for them. SubscribeToShard, which reads through a consumer, is `subscription`'s.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ApiError;
use crate::json::{self, OpResult, Route};
use crate::kinesis::api::*;
use crate::kinesis::store::{Consumer, ConsumerRef, check_name};
use crate::state::State;
use crate::sync::lock;

/// "You can register up to 20 consumers per stream" (RegisterStreamConsumer).
const MAX_CONSUMERS_PER_STREAM: usize = 20;

/// The operations this file serves.
pub(crate) const ROUTES: &[Route<State>] = &[
    Route::partial("RegisterStreamConsumer", register, "Tags are not kept; the consumer is ACTIVE at once"),
    Route::full("DescribeStreamConsumer", describe),
    Route::full("ListStreamConsumers", list),
    Route::full("DeregisterStreamConsumer", deregister),
];

/// A consumer as the operations report it. A consumer is `ACTIVE` as soon as it is registered: AWS
/// answers RegisterStreamConsumer with `CREATING` and turns it `ACTIVE` within seconds.
fn out(consumer: &Consumer, status: &'static str) -> ConsumerOut {
    ConsumerOut {
        consumer_name: consumer.name.clone(),
        consumer_arn: consumer.arn.clone(),
        consumer_status: status,
        consumer_creation_timestamp: json::epoch_seconds(consumer.created),
    }
}

fn register(state: &State, body: &[u8]) -> OpResult {
    let input: RegisterStreamConsumerInput = json::parse(body)?;
    check_name("consumerName", &input.consumer_name)?;
    let stream = state.kinesis.get(None, Some(&input.stream_arn))?;
    let created = state.clock.now();
    let mut consumers = lock(&stream.consumers);
    if let Some(existing) = consumers.iter().find(|c| c.name == input.consumer_name) {
        return Err(ApiError::in_use(format!(
            "Consumer {} under account {} already exists.",
            existing.arn,
            state.kinesis.account_id()
        )));
    }
    if consumers.len() >= MAX_CONSUMERS_PER_STREAM {
        return Err(ApiError::bad_request(
            "LimitExceededException",
            format!(
                "Stream {} under account {} has reached the limit of {MAX_CONSUMERS_PER_STREAM} consumers.",
                stream.arn,
                state.kinesis.account_id()
            ),
        ));
    }
    // arn:aws:kinesis:<region>:<account>:stream/<stream>/consumer/<name>:<creation epoch seconds>
    let arn = format!("{}/consumer/{}:{}", stream.arn, input.consumer_name, created.unix_timestamp());
    let consumer =
        Consumer { name: input.consumer_name, arn, created, subscriptions: std::collections::HashMap::new() };
    let output = RegisterStreamConsumerOutput { consumer: out(&consumer, "CREATING") };
    consumers.push(consumer);
    tracing::debug!(stream = %stream.name, consumer = %output.consumer.consumer_name, "registered consumer");
    Ok(json::ok(&output))
}

/// The consumer a selector names; AWS takes the consumer's ARN, or the stream's ARN and the
/// consumer's name.
fn selected(input: &ConsumerSelector) -> Result<ConsumerRef<'_>, ApiError> {
    match (input.consumer_arn.as_deref(), input.stream_arn.as_deref(), input.consumer_name.as_deref()) {
        (Some(arn), _, _) => Ok(ConsumerRef::Arn(arn)),
        (None, Some(stream_arn), Some(name)) => Ok(ConsumerRef::Named { stream_arn, name }),
        _ => Err(ApiError::invalid_argument(
            "Either ConsumerARN or both StreamARN and ConsumerName must be provided.",
        )),
    }
}

fn describe(state: &State, body: &[u8]) -> OpResult {
    let input: ConsumerSelector = json::parse(body)?;
    let (stream, consumer) = state.kinesis.consumer(selected(&input)?)?;
    Ok(json::ok(&DescribeStreamConsumerOutput {
        consumer_description: ConsumerDescription {
            consumer: out(&consumer, "ACTIVE"),
            stream_arn: stream.arn.clone(),
        },
    }))
}

fn list(state: &State, body: &[u8]) -> OpResult {
    let input: ListStreamConsumersInput = json::parse(body)?;
    let max = match input.max_results {
        None => 100,
        Some(v @ 1..=10_000) => v as usize,
        Some(v) => {
            return Err(ApiError::validation(format!(
                "Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 \
                 and 10000"
            )));
        }
    };
    let stream = state.kinesis.get(None, Some(&input.stream_arn))?;
    let first = match input.next_token.as_deref() {
        None => 0,
        Some(token) => decode_token(token, stream.uid)
            .ok_or_else(|| ApiError::invalid_argument(format!("Invalid NextToken: {token}")))?,
    };
    let consumers = lock(&stream.consumers);
    let end = first.saturating_add(max).min(consumers.len());
    let page = consumers.get(first.min(end)..end).unwrap_or_default();
    Ok(json::ok(&ListStreamConsumersOutput {
        consumers: page.iter().map(|consumer| out(consumer, "ACTIVE")).collect(),
        next_token: (end < consumers.len()).then(|| URL_SAFE_NO_PAD.encode(format!("{end}/{}", stream.uid))),
    }))
}

/// The index a ListStreamConsumers token resumes at, if the token was made for this stream.
fn decode_token(token: &str, stream_uid: u64) -> Option<usize> {
    let plain = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let (first, uid) = plain.split_once('/')?;
    (uid.parse::<u64>().ok()? == stream_uid).then_some(())?;
    first.parse().ok()
}

fn deregister(state: &State, body: &[u8]) -> OpResult {
    let input: ConsumerSelector = json::parse(body)?;
    let (stream, consumer) = state.kinesis.consumer(selected(&input)?)?;
    // Its subscriptions end at their next event: they no longer hold their shards.
    lock(&stream.consumers).retain(|c| c.arn != consumer.arn);
    tracing::debug!(stream = %stream.name, consumer = %consumer.name, "deregistered consumer");
    Ok(json::ok(&Empty {}))
}
