//! In-process search domains: a small OpenSearch-compatible document store that Firehose's
//! OpenSearch and Elasticsearch destinations deliver to, served over HTTP under `/_opensearch/<domain>`.
//!
//! A domain holds indices of documents (id → source bytes, in insertion order) and answers the
//! REST calls a pipeline test needs: `_bulk`, `_count`, `_doc/<id>`, `_search` (`ids`, `match_all`,
//! scroll), `_refresh` and index deletion (see [`http`]). It is always refreshed: a document is
//! visible as soon as `_bulk` returns. Fault injection ([`crate::Faults::index_failure`]) rejects
//! chosen documents here, and only here.

pub(crate) mod bulk;
pub(crate) mod domain;
pub(crate) mod http;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ::http::StatusCode;
use serde_json::json;

use crate::faults::FaultInjector;
use crate::lock;
use domain::Domain;

/// Where the domains are served on the emulator's port: `/_opensearch/<domain>/...`. S3 bucket
/// names cannot start with `_`, so nothing else is served there.
pub(crate) const PATH_PREFIX: &str = "/_opensearch/";

/// The OpenSearch version the in-process domain reports.
pub(crate) const VERSION: &str = "2.19.0";

/// Every in-process domain, created on first reference.
#[derive(Debug)]
pub(crate) struct SearchRegistry {
    domains: Mutex<HashMap<String, Arc<Domain>>>,
    faults: Arc<FaultInjector>,
}

impl SearchRegistry {
    pub(crate) fn new(faults: Arc<FaultInjector>) -> SearchRegistry {
        SearchRegistry { domains: Mutex::default(), faults }
    }

    /// The domain called `name`, created empty on first reference.
    pub(crate) fn domain(&self, name: &str) -> Result<Arc<Domain>, SearchError> {
        if !valid_domain_name(name) {
            return Err(SearchError::new(
                StatusCode::BAD_REQUEST,
                "illegal_argument_exception",
                format!(
                    "invalid domain name [{name}]: a domain name starts with a lowercase letter and has \
                     3 to 28 characters a-z, 0-9 and '-'"
                ),
            ));
        }
        let mut domains = lock(&self.domains);
        let domain = domains
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(Domain::new(name.to_owned(), Arc::clone(&self.faults))));
        Ok(Arc::clone(domain))
    }
}

/// Whether `name` is a valid OpenSearch Service domain name: `[a-z][a-z0-9-]{2,27}`.
pub(crate) fn valid_domain_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=28).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

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
    fn domain_names_follow_the_service_rules() {
        for good in ["streamproof", "abc", "a-1-b", "x23456789012345678901234567a"] {
            assert!(valid_domain_name(good), "{good}");
        }
        for bad in ["ab", "Streamproof", "1abc", "a_b", "x234567890123456789012345678b", ""] {
            assert!(!valid_domain_name(bad), "{bad}");
        }
    }

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
