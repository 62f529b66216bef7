//! The awsJson1_1 protocol shared by Kinesis and Firehose: bodies in, responses and errors out.

use base64::Engine as _;
use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::{Deserialize, Serialize, Serializer};
use time::OffsetDateTime;

use crate::error::ApiError;

/// The content type of awsJson1_1 requests and responses.
pub(crate) const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Bytes that serialize as a standard base64 string without an intermediate allocation.
#[derive(Debug)]
pub(crate) struct Base64<'a>(pub(crate) &'a [u8]);

impl Serialize for Base64<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&Base64Display::new(self.0, &STANDARD))
    }
}

/// What an operation's handler answers.
pub(crate) type OpResult = Result<Response<s3s::Body>, ApiError>;

/// One awsJson1_1 operation a service serves: the routing tables are the only place operations are
/// named, so the coverage table (`crate::coverage`) is read from them.
/// `S` is the state handlers run on (the emulator's `State`).
#[derive(Debug)]
pub(crate) struct Route<S: 'static> {
    pub(crate) operation: &'static str,
    pub(crate) handler: fn(&S, &[u8]) -> OpResult,
    /// What the emulator leaves out of AWS's behaviour for it; `None` when nothing.
    pub(crate) partial: Option<&'static str>,
}

impl<S> Route<S> {
    /// A route that does what AWS documents.
    pub(crate) const fn full(operation: &'static str, handler: fn(&S, &[u8]) -> OpResult) -> Route<S> {
        Route { operation, handler, partial: None }
    }

    /// A route that leaves out `missing`.
    pub(crate) const fn partial(
        operation: &'static str,
        handler: fn(&S, &[u8]) -> OpResult,
        missing: &'static str,
    ) -> Route<S> {
        Route { operation, handler, partial: Some(missing) }
    }
}

/// Runs operation `op` from the first of `tables` that routes it, or answers AWS's
/// `UnknownOperationException` naming `{prefix}{op}`; an error becomes its JSON response.
pub(crate) fn dispatch<S>(
    tables: &[&[Route<S>]],
    prefix: &str,
    state: &S,
    op: &str,
    body: &[u8],
) -> Response<s3s::Body> {
    let result = match tables.iter().flat_map(|table| table.iter()).find(|route| route.operation == op) {
        Some(route) => (route.handler)(state, body),
        None => Err(ApiError::unknown_operation(&format!("{prefix}{op}"))),
    };
    result.unwrap_or_else(|err| {
        tracing::debug!(service = prefix, op, code = err.code, message = %err.message, "request failed");
        error(&err)
    })
}

/// Parses a request body; an empty body counts as `{}`, as AWS services accept.
pub(crate) fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    serde_json::from_slice(body)
        .map_err(|err| ApiError::serialization(format!("invalid request body: {err}")))
}

/// Decodes a base64 blob member.
pub(crate) fn decode_blob(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    STANDARD
        .decode(text)
        .map_err(|err| ApiError::serialization(format!("{field} is not valid base64: {err}")))
}

/// A timestamp as awsJson1_1 writes it: seconds since the epoch, with milliseconds as the fraction.
pub(crate) fn epoch_seconds(t: OffsetDateTime) -> f64 {
    epoch_seconds_from_millis(crate::clock::unix_millis(t))
}

/// Like [`epoch_seconds`], from milliseconds since the epoch.
pub(crate) fn epoch_seconds_from_millis(millis: i64) -> f64 {
    millis as f64 / 1000.0
}

/// A successful response carrying `output` as JSON.
pub(crate) fn ok<T: Serialize>(output: &T) -> Response<s3s::Body> {
    match serde_json::to_vec(output) {
        Ok(body) => response(StatusCode::OK, body),
        Err(err) => {
            tracing::error!(%err, "failed to serialize a response");
            error(&ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "InternalFailure",
                message: format!("failed to serialize the response: {err}"),
            })
        }
    }
}

/// An error response.
pub(crate) fn error(err: &ApiError) -> Response<s3s::Body> {
    let mut response = response(err.status, err.to_json());
    if let Ok(value) = HeaderValue::from_str(err.code) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

fn response(status: StatusCode, body: Vec<u8>) -> Response<s3s::Body> {
    let mut response = Response::new(s3s::Body::from(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_serializes_without_padding_surprises() {
        let json = serde_json::to_string(&Base64(b"hello\n")).unwrap();
        assert_eq!(json, "\"aGVsbG8K\"");
        assert_eq!(decode_blob("Data", "aGVsbG8K").unwrap(), b"hello\n");
        assert_eq!(decode_blob("Data", "!!").unwrap_err().code, "SerializationException");
    }

    #[test]
    fn empty_bodies_parse_as_empty_objects() {
        #[derive(Deserialize)]
        struct Input {
            #[allow(dead_code)]
            limit: Option<i64>,
        }
        assert!(parse::<Input>(b"").is_ok());
        assert_eq!(parse::<Input>(b"{").err().unwrap().code, "SerializationException");
    }

    #[test]
    fn epoch_seconds_keep_milliseconds() {
        assert_eq!(epoch_seconds_from_millis(1_700_000_000_123), 1_700_000_000.123);
    }
}
