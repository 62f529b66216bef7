//! The `Lambda` record processor of a delivery stream: its configuration, the buffer that collects
//! records for the function by the processor's own hints, and the transformation log.
//!
//! The delivery task takes a due batch from [`InputBuffer`], runs it through the registered handler
//! ([`crate::Transformer`]), puts `Ok` outputs into the destination buffer, writes `ProcessingFailed`
//! records as error documents under the error output prefix, and logs every record that was
//! `Dropped` or failed ([`TransformEvent`]) as ground truth.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::error::ApiError;
use crate::firehose::transform::{TransformConfig, TransformInput};

/// The default `BufferSizeInMBs` of a Lambda processor.
const DEFAULT_BUFFER_MB: f64 = 1.0;
/// The default `BufferIntervalInSeconds` of a Lambda processor.
const DEFAULT_BUFFER_SECONDS: i64 = 60;
/// The default `NumberOfRetries` of a Lambda processor.
const DEFAULT_RETRIES: i64 = 3;

/// A `Lambda` processor whose function is registered with the emulator.
#[derive(Debug, Clone)]
pub(crate) struct LambdaProcessor {
    /// The handler, with the function ARN and `NumberOfRetries` of the processor.
    pub(crate) config: TransformConfig,
    /// `BufferSizeInMBs` in bytes.
    pub(crate) buffer_bytes: usize,
    /// `BufferIntervalInSeconds` (emulator time).
    pub(crate) buffer_interval: Duration,
    pub(crate) region: String,
    /// Where dropped and failed records are logged.
    pub(crate) log: Arc<TransformLog>,
}

/// Reads the parameters of a `Lambda` processor and resolves its function among the registered ones.
pub(crate) fn lambda_processor(
    parameters: &[Value],
    lambdas: &std::collections::BTreeMap<String, TransformConfig>,
    region: &str,
    log: &Arc<TransformLog>,
) -> Result<LambdaProcessor, ApiError> {
    let mut arn = None;
    let mut buffer_mb = DEFAULT_BUFFER_MB;
    let mut buffer_seconds = DEFAULT_BUFFER_SECONDS;
    let mut retries = DEFAULT_RETRIES;
    for parameter in parameters {
        let name = parameter.get("ParameterName").and_then(Value::as_str).unwrap_or_default();
        let value = parameter.get("ParameterValue").and_then(Value::as_str).unwrap_or_default();
        let number = |min: f64, max: f64| {
            value.parse::<f64>().ok().filter(|v| (min..=max).contains(v)).ok_or_else(|| {
                ApiError::invalid_argument(format!(
                    "Lambda processor parameter {name} must be a number between {min} and {max}, not {value:?}."
                ))
            })
        };
        match name {
            "LambdaArn" => arn = Some(value.to_owned()),
            "BufferSizeInMBs" => buffer_mb = number(0.2, 3.0)?,
            "BufferIntervalInSeconds" => buffer_seconds = number(0.0, 900.0)? as i64,
            "NumberOfRetries" => retries = number(0.0, 300.0)? as i64,
            "RoleArn" => {}
            other => {
                return Err(ApiError::invalid_argument(format!(
                    "Unknown Lambda processor parameter {other:?}; expected LambdaArn, BufferSizeInMBs, \
                     BufferIntervalInSeconds, NumberOfRetries or RoleArn."
                )));
            }
        }
    }
    let arn = arn.ok_or_else(|| {
        ApiError::invalid_argument("A Lambda processor needs the LambdaArn parameter.".to_owned())
    })?;
    let name = function_name(&arn).ok_or_else(|| {
        ApiError::invalid_argument(format!(
            "LambdaArn {arn:?} is not a function ARN (arn:aws:lambda:<region>:<account>:function:<name>)."
        ))
    })?;
    let registered = lambdas.get(name).ok_or_else(|| {
        ApiError::invalid_argument(format!(
            "Lambda function {name} is not registered with the streamproof emulator; register its handler \
             with `streamproof emulator serve --lambda {name}=python:<dir>:<module>:<function>` (or \
             node:...), or `[pipeline.transform]` in a scenario."
        ))
    })?;
    let mut config = registered.clone();
    config.function_arn = arn.clone();
    config.retries = retries as u32;
    Ok(LambdaProcessor {
        config,
        buffer_bytes: (buffer_mb * 1024.0 * 1024.0) as usize,
        buffer_interval: Duration::from_secs(buffer_seconds as u64),
        region: region.to_owned(),
        log: Arc::clone(log),
    })
}

/// The function name of `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
fn function_name(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(6, ':');
    let (_partition, service, _region, _account, kind, name) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let name = name.split(':').next()?;
    (service == "lambda" && kind == "function" && !name.is_empty()).then_some(name)
}

/// Records waiting for the function, buffered by the processor's hints.
#[derive(Debug)]
pub(crate) struct InputBuffer {
    size_limit: usize,
    /// The buffering interval as wall time.
    wall_interval: Duration,
    records: Vec<TransformInput>,
    bytes: usize,
    oldest: Option<Instant>,
    next_id: u64,
}

impl InputBuffer {
    pub(crate) fn new(size_limit: usize, wall_interval: Duration) -> InputBuffer {
        InputBuffer { size_limit, wall_interval, records: Vec::new(), bytes: 0, oldest: None, next_id: 0 }
    }

    /// Appends a record that arrived at `now` (`arrival_ms` in emulator time); returns whether the
    /// size threshold is reached.
    pub(crate) fn push(&mut self, data: &[u8], arrival_ms: i64, now: Instant) -> bool {
        self.oldest.get_or_insert(now);
        self.records.push(TransformInput {
            record_id: format!("{:020}", self.next_id),
            arrival_ms,
            data: data.to_vec(),
        });
        self.next_id += 1;
        self.bytes += data.len();
        self.is_full()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub(crate) fn records(&self) -> usize {
        self.records.len()
    }

    fn is_full(&self) -> bool {
        !self.records.is_empty() && self.bytes >= self.size_limit
    }

    /// When the oldest buffered record's interval runs out.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.oldest.map(|oldest| oldest + self.wall_interval)
    }

    pub(crate) fn is_due(&self, now: Instant) -> bool {
        self.is_full() || self.deadline().is_some_and(|deadline| deadline <= now)
    }

    /// Takes everything buffered as one invocation's records, with when the oldest arrived.
    pub(crate) fn take(&mut self) -> Option<(Vec<TransformInput>, Instant)> {
        let oldest = self.oldest.take()?;
        self.bytes = 0;
        Some((std::mem::take(&mut self.records), oldest))
    }
}

/// What a transformation did to one record, as ground truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformEvent {
    /// The delivery stream.
    pub stream: String,
    pub kind: TransformEventKind,
    /// The record as it reached the processor.
    pub data: Vec<u8>,
}

/// Why a record is not in the delivered objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformEventKind {
    /// The handler returned `Dropped`.
    Dropped,
    /// Unsuccessfully processed: written to the error output as `object`.
    Failed { error_code: String, object: String },
}

/// Every record the processors dropped or failed, in order.
#[derive(Debug, Default)]
pub(crate) struct TransformLog {
    events: Mutex<Vec<TransformEvent>>,
}

impl TransformLog {
    pub(crate) fn record_all(&self, events: Vec<TransformEvent>) {
        crate::sync::lock(&self.events).extend(events);
    }

    pub(crate) fn events(&self) -> Vec<TransformEvent> {
        crate::sync::lock(&self.events).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_come_from_lambda_function_arns_only() {
        assert_eq!(function_name("arn:aws:lambda:us-east-1:000000000000:function:t"), Some("t"));
        assert_eq!(function_name("arn:aws:lambda:us-east-1:000000000000:function:t:$LATEST"), Some("t"));
        assert_eq!(function_name("arn:aws:s3:::bucket"), None);
        assert_eq!(function_name("arn:aws:lambda:us-east-1:000000000000:layer:t"), None);
        assert_eq!(function_name("transform"), None);
    }

    #[test]
    fn the_input_buffer_is_due_by_size_or_by_age() {
        let now = Instant::now();
        let mut buffer = InputBuffer::new(10, Duration::from_secs(60));
        assert!(!buffer.push(b"12345", 1, now));
        assert!(!buffer.is_due(now + Duration::from_secs(59)));
        assert!(buffer.is_due(now + Duration::from_secs(60)));
        assert!(buffer.push(b"67890", 2, now));
        let (records, oldest) = buffer.take().unwrap();
        assert_eq!((records.len(), oldest), (2, now));
        assert_ne!(records[0].record_id, records[1].record_id);
        assert!(buffer.is_empty() && buffer.deadline().is_none());
    }

    #[test]
    fn unregistered_functions_and_out_of_range_hints_are_refused_by_name() {
        let log = Arc::new(TransformLog::default());
        let lambdas = std::collections::BTreeMap::new();
        let arn = serde_json::json!({"ParameterName": "LambdaArn",
            "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:mine"});
        let error = lambda_processor(std::slice::from_ref(&arn), &lambdas, "us-east-1", &log).unwrap_err();
        assert!(error.message.contains("mine is not registered") && error.message.contains("--lambda mine="));
        let size = serde_json::json!({"ParameterName": "BufferSizeInMBs", "ParameterValue": "5"});
        let error = lambda_processor(&[arn, size], &lambdas, "us-east-1", &log).unwrap_err();
        assert!(
            error.message.contains("BufferSizeInMBs must be a number between 0.2 and 3"),
            "{}",
            error.message
        );
    }
}
