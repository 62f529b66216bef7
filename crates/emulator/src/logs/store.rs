//! The in-memory CloudWatch Logs data: log groups, their streams, and each stream's events in the
//! order they were put.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::error::ApiError;
use crate::sync::lock;

/// Every log group of the emulated account and region.
#[derive(Debug, Default)]
pub(crate) struct LogsStore {
    groups: Mutex<BTreeMap<String, LogGroup>>,
}

#[derive(Debug, Clone)]
pub(crate) struct LogGroup {
    pub(crate) created_ms: i64,
    pub(crate) streams: BTreeMap<String, LogStream>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct LogStream {
    pub(crate) created_ms: i64,
    pub(crate) events: Vec<LogEvent>,
}

/// One event: when it happened, when it was put, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogEvent {
    pub(crate) timestamp: i64,
    pub(crate) ingestion_time: i64,
    pub(crate) message: String,
}

pub(crate) fn group_not_found() -> ApiError {
    ApiError::not_found("The specified log group does not exist.")
}

pub(crate) fn stream_not_found() -> ApiError {
    ApiError::not_found("The specified log stream does not exist.")
}

fn already_exists(what: &str) -> ApiError {
    ApiError::bad_request(
        "ResourceAlreadyExistsException",
        format!("The specified log {what} already exists"),
    )
}

impl LogsStore {
    pub(crate) fn create_group(&self, name: &str, now_ms: i64) -> Result<(), ApiError> {
        let mut groups = lock(&self.groups);
        if groups.contains_key(name) {
            return Err(already_exists("group"));
        }
        groups.insert(name.to_owned(), LogGroup { created_ms: now_ms, streams: BTreeMap::new() });
        Ok(())
    }

    pub(crate) fn delete_group(&self, name: &str) -> Result<(), ApiError> {
        lock(&self.groups).remove(name).map(drop).ok_or_else(group_not_found)
    }

    pub(crate) fn create_stream(&self, group: &str, name: &str, now_ms: i64) -> Result<(), ApiError> {
        let mut groups = lock(&self.groups);
        let group = groups.get_mut(group).ok_or_else(group_not_found)?;
        if group.streams.contains_key(name) {
            return Err(already_exists("stream"));
        }
        group.streams.insert(name.to_owned(), LogStream { created_ms: now_ms, events: Vec::new() });
        Ok(())
    }

    pub(crate) fn delete_stream(&self, group: &str, name: &str) -> Result<(), ApiError> {
        let mut groups = lock(&self.groups);
        let group = groups.get_mut(group).ok_or_else(group_not_found)?;
        group.streams.remove(name).map(drop).ok_or_else(stream_not_found)
    }

    /// Appends events to a stream that exists.
    pub(crate) fn put(&self, group: &str, stream: &str, events: Vec<LogEvent>) -> Result<(), ApiError> {
        let mut groups = lock(&self.groups);
        let group = groups.get_mut(group).ok_or_else(group_not_found)?;
        let stream = group.streams.get_mut(stream).ok_or_else(stream_not_found)?;
        stream.events.extend(events);
        Ok(())
    }

    /// Appends one event, creating the group and the stream if they do not exist yet: the log a
    /// delivery stream's `CloudWatchLoggingOptions` names.
    pub(crate) fn append(&self, group: &str, stream: &str, event: LogEvent) {
        let mut groups = lock(&self.groups);
        let now = event.ingestion_time;
        let group = groups
            .entry(group.to_owned())
            .or_insert_with(|| LogGroup { created_ms: now, streams: BTreeMap::new() });
        let stream = group
            .streams
            .entry(stream.to_owned())
            .or_insert_with(|| LogStream { created_ms: now, events: Vec::new() });
        stream.events.push(event);
    }

    /// A copy of every group whose name starts with `prefix`, in name order.
    pub(crate) fn groups(&self, prefix: &str) -> Vec<(String, LogGroup)> {
        lock(&self.groups)
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, group)| (name.clone(), group.clone()))
            .collect()
    }

    /// A copy of one group.
    pub(crate) fn group(&self, name: &str) -> Result<LogGroup, ApiError> {
        lock(&self.groups).get(name).cloned().ok_or_else(group_not_found)
    }
}
