//! CloudWatch Logs: the awsJson1_1 operations (`Logs_20140328.<Op>`) a user needs to read the
//! delivery-error log a Firehose `CloudWatchLoggingOptions` names, and to keep logs of their own:
//! log groups and streams, PutLogEvents, GetLogEvents and FilterLogEvents (plain-term patterns),
//! with the limits and errors the CloudWatch Logs API reference documents.

pub(crate) mod store;

use serde::{Deserialize, Serialize};

use crate::clock::unix_millis;
use crate::error::ApiError;
use crate::json::{self, OpResult, Route};
use crate::state::State;
use store::{LogEvent, LogGroup};

/// The `X-Amz-Target` prefix of CloudWatch Logs operations.
pub(crate) const TARGET_PREFIX: &str = "Logs_20140328.";

/// Most events in one PutLogEvents call, and most bytes (each event's message plus 26).
const MAX_PUT_EVENTS: usize = 10_000;
const MAX_PUT_BYTES: usize = 1_048_576;
/// PutLogEvents refuses events more than 2 hours ahead or 14 days behind the service's clock.
const TOO_NEW_MS: i64 = 2 * 3_600_000;
const TOO_OLD_MS: i64 = 14 * 24 * 3_600_000;
/// The default and largest page of GetLogEvents and FilterLogEvents.
const MAX_EVENTS_PAGE: usize = 10_000;
/// The default and largest page of DescribeLogGroups and DescribeLogStreams.
const MAX_DESCRIBE_PAGE: usize = 50;

/// The operations served.
pub(crate) const ROUTES: &[Route<State>] = &[
    Route::partial("CreateLogGroup", create_group, "kmsKeyId and tags are not kept"),
    Route::full("DeleteLogGroup", delete_group),
    Route::full("DescribeLogGroups", describe_groups),
    Route::full("CreateLogStream", create_stream),
    Route::full("DeleteLogStream", delete_stream),
    Route::partial("DescribeLogStreams", describe_streams, "ordered by name only"),
    Route::full("PutLogEvents", put_events),
    Route::full("GetLogEvents", get_events),
    Route::partial(
        "FilterLogEvents",
        filter_events,
        "filter patterns of plain terms and quoted phrases; JSON and space-delimited patterns are refused",
    ),
];

/// Runs the CloudWatch Logs operation `op` on a JSON request body.
pub(crate) fn handle(state: &State, op: &str, body: &[u8]) -> http::Response<s3s::Body> {
    json::dispatch(&[ROUTES], TARGET_PREFIX, state, op, body)
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidParameterException", message)
}

fn check_name(what: &str, name: &str, allowed: impl Fn(u8) -> bool) -> Result<(), ApiError> {
    if name.is_empty() || name.len() > 512 || !name.bytes().all(allowed) {
        return Err(invalid(format!("{what} '{name}' must be 1 to 512 characters of the allowed set.")));
    }
    Ok(())
}

fn check_group_name(name: &str) -> Result<(), ApiError> {
    check_name("logGroupName", name, |b| b.is_ascii_alphanumeric() || b".-_/#".contains(&b))
}

fn check_stream_name(name: &str) -> Result<(), ApiError> {
    check_name("logStreamName", name, |b| b != b':' && b != b'*')
}

fn page_limit(limit: Option<i64>, max: usize) -> Result<usize, ApiError> {
    match limit {
        None => Ok(max),
        Some(limit) if limit >= 1 && limit as u64 <= max as u64 => Ok(limit as usize),
        Some(limit) => Err(invalid(format!("limit must be between 1 and {max}, got {limit}."))),
    }
}

fn offset_token(token: Option<&str>) -> Result<usize, ApiError> {
    match token {
        None => Ok(0),
        Some(token) => token
            .strip_prefix("o/")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| invalid(format!("The specified nextToken is invalid: {token}"))),
    }
}

fn now_ms(state: &State) -> i64 {
    unix_millis(state.clock.now())
}

fn arn(state: &State, group: &str) -> String {
    format!("arn:aws:logs:{}:{}:log-group:{group}", state.region, state.account_id)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupInput {
    log_group_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamInput {
    log_group_name: String,
    log_stream_name: String,
}

#[derive(Debug, Serialize)]
struct Empty {}

fn create_group(state: &State, body: &[u8]) -> OpResult {
    let input: GroupInput = json::parse(body)?;
    check_group_name(&input.log_group_name)?;
    state.logs.create_group(&input.log_group_name, now_ms(state))?;
    Ok(json::ok(&Empty {}))
}

fn delete_group(state: &State, body: &[u8]) -> OpResult {
    let input: GroupInput = json::parse(body)?;
    state.logs.delete_group(&input.log_group_name)?;
    Ok(json::ok(&Empty {}))
}

fn create_stream(state: &State, body: &[u8]) -> OpResult {
    let input: StreamInput = json::parse(body)?;
    check_stream_name(&input.log_stream_name)?;
    state.logs.create_stream(&input.log_group_name, &input.log_stream_name, now_ms(state))?;
    Ok(json::ok(&Empty {}))
}

fn delete_stream(state: &State, body: &[u8]) -> OpResult {
    let input: StreamInput = json::parse(body)?;
    state.logs.delete_stream(&input.log_group_name, &input.log_stream_name)?;
    Ok(json::ok(&Empty {}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeGroupsInput {
    log_group_name_prefix: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupOut {
    log_group_name: String,
    creation_time: i64,
    arn: String,
    log_group_arn: String,
    stored_bytes: usize,
    metric_filter_count: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeGroupsOutput {
    log_groups: Vec<GroupOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

fn stored_bytes(group: &LogGroup) -> usize {
    group.streams.values().flat_map(|stream| &stream.events).map(|event| event.message.len()).sum()
}

fn describe_groups(state: &State, body: &[u8]) -> OpResult {
    let input: DescribeGroupsInput = json::parse(body)?;
    let limit = page_limit(input.limit, MAX_DESCRIBE_PAGE)?;
    let first = offset_token(input.next_token.as_deref())?;
    let groups = state.logs.groups(input.log_group_name_prefix.as_deref().unwrap_or(""));
    let end = first.saturating_add(limit).min(groups.len());
    let log_groups = groups[first.min(end)..end]
        .iter()
        .map(|(name, group)| GroupOut {
            log_group_name: name.clone(),
            creation_time: group.created_ms,
            arn: format!("{}:*", arn(state, name)),
            log_group_arn: arn(state, name),
            stored_bytes: stored_bytes(group),
            metric_filter_count: 0,
        })
        .collect();
    let next_token = (end < groups.len()).then(|| format!("o/{end}"));
    Ok(json::ok(&DescribeGroupsOutput { log_groups, next_token }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeStreamsInput {
    log_group_name: String,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StreamOut {
    log_stream_name: String,
    creation_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_event_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_event_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_ingestion_time: Option<i64>,
    arn: String,
    stored_bytes: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeStreamsOutput {
    log_streams: Vec<StreamOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

fn describe_streams(state: &State, body: &[u8]) -> OpResult {
    let input: DescribeStreamsInput = json::parse(body)?;
    if input.order_by.as_deref().is_some_and(|order| order != "LogStreamName") {
        return Err(invalid("The emulator orders log streams by LogStreamName only."));
    }
    let limit = page_limit(input.limit, MAX_DESCRIBE_PAGE)?;
    let first = offset_token(input.next_token.as_deref())?;
    let group = state.logs.group(&input.log_group_name)?;
    let prefix = input.log_stream_name_prefix.as_deref().unwrap_or("");
    let mut streams: Vec<_> = group.streams.iter().filter(|(name, _)| name.starts_with(prefix)).collect();
    if input.descending == Some(true) {
        streams.reverse();
    }
    let end = first.saturating_add(limit).min(streams.len());
    let log_streams = streams[first.min(end)..end]
        .iter()
        .map(|(name, stream)| StreamOut {
            log_stream_name: (*name).clone(),
            creation_time: stream.created_ms,
            first_event_timestamp: stream.events.iter().map(|e| e.timestamp).min(),
            last_event_timestamp: stream.events.iter().map(|e| e.timestamp).max(),
            last_ingestion_time: stream.events.last().map(|e| e.ingestion_time),
            arn: format!("{}:log-stream:{name}", arn(state, &input.log_group_name)),
            stored_bytes: stream.events.iter().map(|e| e.message.len()).sum(),
        })
        .collect();
    let next_token = (end < streams.len()).then(|| format!("o/{end}"));
    Ok(json::ok(&DescribeStreamsOutput { log_streams, next_token }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutEventsInput {
    log_group_name: String,
    log_stream_name: String,
    log_events: Vec<InputEvent>,
}

#[derive(Debug, Deserialize)]
struct InputEvent {
    timestamp: i64,
    message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PutEventsOutput {
    next_sequence_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected_log_events_info: Option<Rejected>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Rejected {
    #[serde(skip_serializing_if = "Option::is_none")]
    too_new_log_event_start_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    too_old_log_event_end_index: Option<usize>,
}

fn put_events(state: &State, body: &[u8]) -> OpResult {
    let input: PutEventsInput = json::parse(body)?;
    let count = input.log_events.len();
    if !(1..=MAX_PUT_EVENTS).contains(&count) {
        return Err(invalid(format!(
            "A PutLogEvents batch holds 1 to {MAX_PUT_EVENTS} events, got {count}."
        )));
    }
    let bytes: usize = input.log_events.iter().map(|event| event.message.len() + 26).sum();
    if bytes > MAX_PUT_BYTES {
        return Err(invalid(format!("The batch of {bytes} bytes exceeds {MAX_PUT_BYTES} bytes.")));
    }
    if input.log_events.windows(2).any(|pair| pair[1].timestamp < pair[0].timestamp) {
        return Err(invalid("Log events in a single PutLogEvents request must be in chronological order."));
    }
    let now = now_ms(state);
    let mut rejected = Rejected::default();
    let mut accepted = Vec::with_capacity(count);
    for (index, event) in input.log_events.into_iter().enumerate() {
        if event.timestamp > now + TOO_NEW_MS {
            rejected.too_new_log_event_start_index.get_or_insert(index);
        } else if event.timestamp < now - TOO_OLD_MS {
            rejected.too_old_log_event_end_index = Some(index);
        } else {
            accepted.push(LogEvent {
                timestamp: event.timestamp,
                ingestion_time: now,
                message: event.message,
            });
        }
    }
    state.logs.put(&input.log_group_name, &input.log_stream_name, accepted)?;
    let any_rejected =
        rejected.too_new_log_event_start_index.is_some() || rejected.too_old_log_event_end_index.is_some();
    Ok(json::ok(&PutEventsOutput {
        next_sequence_token: now.to_string(),
        rejected_log_events_info: any_rejected.then_some(rejected),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetEventsInput {
    log_group_name: String,
    log_stream_name: String,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OutputEvent {
    timestamp: i64,
    message: String,
    ingestion_time: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GetEventsOutput {
    events: Vec<OutputEvent>,
    next_forward_token: String,
    next_backward_token: String,
}

/// Whether `timestamp` lies in [`start`, `end`): "events with a timestamp equal to or later than
/// [endTime] are not included".
fn in_window(timestamp: i64, start: Option<i64>, end: Option<i64>) -> bool {
    start.is_none_or(|start| timestamp >= start) && end.is_none_or(|end| timestamp < end)
}

fn get_events(state: &State, body: &[u8]) -> OpResult {
    let input: GetEventsInput = json::parse(body)?;
    let limit = page_limit(input.limit, MAX_EVENTS_PAGE)?;
    let group = state.logs.group(&input.log_group_name)?;
    let stream = group.streams.get(&input.log_stream_name).ok_or_else(store::stream_not_found)?;
    let events: Vec<&LogEvent> =
        stream.events.iter().filter(|e| in_window(e.timestamp, input.start_time, input.end_time)).collect();
    let bad_token = || invalid(format!("The specified nextToken is invalid: {:?}", input.next_token));
    let (start, end) = match input.next_token.as_deref() {
        Some(token) => match token.split_once('/') {
            Some(("f", n)) => {
                let start = n.parse::<usize>().map_err(|_| bad_token())?.min(events.len());
                (start, start.saturating_add(limit).min(events.len()))
            }
            Some(("b", n)) => {
                let end = n.parse::<usize>().map_err(|_| bad_token())?.min(events.len());
                (end.saturating_sub(limit), end)
            }
            _ => return Err(bad_token()),
        },
        None if input.start_from_head == Some(true) => (0, limit.min(events.len())),
        None => (events.len().saturating_sub(limit), events.len()),
    };
    Ok(json::ok(&GetEventsOutput {
        events: events[start..end]
            .iter()
            .map(|e| OutputEvent {
                timestamp: e.timestamp,
                message: e.message.clone(),
                ingestion_time: e.ingestion_time,
            })
            .collect(),
        next_forward_token: format!("f/{end}"),
        next_backward_token: format!("b/{start}"),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterInput {
    log_group_name: String,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FilteredEvent {
    log_stream_name: String,
    timestamp: i64,
    message: String,
    ingestion_time: i64,
    event_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FilterOutput {
    events: Vec<FilteredEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// The terms of a filter pattern: every term must occur in a message, a quoted phrase as a whole.
/// ("Filter pattern syntax for metric filters, subscription filters, filter log events", CloudWatch
/// Logs User Guide.) JSON (`{ … }`) and space-delimited (`[ … ]`) patterns are refused.
fn pattern_terms(pattern: &str) -> Result<Vec<String>, ApiError> {
    let pattern = pattern.trim();
    if pattern.starts_with('{') || pattern.starts_with('[') {
        return Err(invalid(format!(
            "The filter pattern '{pattern}' is not supported by the streamproof emulator yet: it matches plain \
             terms and quoted phrases."
        )));
    }
    let mut terms = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').ok_or_else(|| invalid(format!("Unbalanced quote in '{pattern}'.")))?;
            terms.push(quoted[..end].to_owned());
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            terms.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    Ok(terms)
}

fn filter_events(state: &State, body: &[u8]) -> OpResult {
    let input: FilterInput = json::parse(body)?;
    if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
        return Err(invalid("logStreamNames and logStreamNamePrefix cannot be given together."));
    }
    let limit = page_limit(input.limit, MAX_EVENTS_PAGE)?;
    let first = offset_token(input.next_token.as_deref())?;
    let terms = pattern_terms(input.filter_pattern.as_deref().unwrap_or(""))?;
    let group = state.logs.group(&input.log_group_name)?;
    let mut matched: Vec<FilteredEvent> = Vec::new();
    for (stream_index, (name, stream)) in group.streams.iter().enumerate() {
        let selected = match (&input.log_stream_names, &input.log_stream_name_prefix) {
            (Some(names), _) => names.contains(name),
            (None, Some(prefix)) => name.starts_with(prefix.as_str()),
            (None, None) => true,
        };
        if !selected {
            continue;
        }
        for (index, event) in stream.events.iter().enumerate() {
            if in_window(event.timestamp, input.start_time, input.end_time)
                && terms.iter().all(|term| event.message.contains(term.as_str()))
            {
                matched.push(FilteredEvent {
                    log_stream_name: name.clone(),
                    timestamp: event.timestamp,
                    message: event.message.clone(),
                    ingestion_time: event.ingestion_time,
                    event_id: format!("{stream_index:06}{index:012}"),
                });
            }
        }
    }
    matched.sort_by_key(|event| event.timestamp);
    let end = first.saturating_add(limit).min(matched.len());
    let next_token = (end < matched.len()).then(|| format!("o/{end}"));
    let events = matched.into_iter().skip(first).take(end.saturating_sub(first)).collect();
    Ok(json::ok(&FilterOutput { events, next_token }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_patterns_are_terms_and_quoted_phrases() {
        assert_eq!(pattern_terms("ERROR S3.NoSuchBucket").unwrap(), ["ERROR", "S3.NoSuchBucket"]);
        assert_eq!(
            pattern_terms(r#""bucket does not exist" 404"#).unwrap(),
            ["bucket does not exist", "404"]
        );
        assert!(pattern_terms("").unwrap().is_empty());
        assert!(pattern_terms("{ $.errorCode = \"S3.NoSuchBucket\" }").is_err());
        assert!(pattern_terms("\"open").is_err());
    }
}
