//! Errors as OpenSearch reports them.

use http::StatusCode;
use serde_json::json;

/// An error as OpenSearch reports it:
/// `{"error":{"root_cause":[..],"type":..,"reason":..},"status":n}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {kind}: {reason}")]
pub(crate) struct SearchError {
    pub(crate) status: StatusCode,
    /// The exception type, such as `index_not_found_exception`.
    pub(crate) kind: &'static str,
    pub(crate) reason: String,
    /// The index concerned, when there is one.
    pub(crate) index: Option<String>,
}

impl SearchError {
    pub(crate) fn new(status: StatusCode, kind: &'static str, reason: impl Into<String>) -> SearchError {
        SearchError { status, kind, reason: reason.into(), index: None }
    }

    pub(crate) fn bad_request(kind: &'static str, reason: impl Into<String>) -> SearchError {
        SearchError::new(StatusCode::BAD_REQUEST, kind, reason)
    }

    /// A concrete index that does not exist.
    pub(crate) fn index_not_found(index: &str) -> SearchError {
        SearchError {
            index: Some(index.to_owned()),
            ..SearchError::new(
                StatusCode::NOT_FOUND,
                "index_not_found_exception",
                format!("no such index [{index}]"),
            )
        }
    }

    /// The error object itself (`type`, `reason`, and `index` when set).
    pub(crate) fn cause(&self) -> serde_json::Value {
        let mut cause = json!({ "type": self.kind, "reason": self.reason });
        if let Some(index) = &self.index {
            cause["index"] = json!(index);
        }
        cause
    }

    /// The whole response body.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        let cause = self.cause();
        let mut error = cause.clone();
        error["root_cause"] = json!([cause]);
        serde_json::to_vec(&json!({ "error": error, "status": self.status.as_u16() })).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_the_opensearch_shape() {
        let body: serde_json::Value =
            serde_json::from_slice(&SearchError::index_not_found("clicks").to_json()).unwrap();
        assert_eq!(body["status"], 404);
        assert_eq!(body["error"]["type"], "index_not_found_exception");
        assert_eq!(body["error"]["reason"], "no such index [clicks]");
        assert_eq!(body["error"]["index"], "clicks");
        assert_eq!(body["error"]["root_cause"][0]["type"], "index_not_found_exception");
    }
}
