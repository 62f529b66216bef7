//! In-process search domains: a small OpenSearch-compatible document store that Firehose's
//! OpenSearch and Elasticsearch destinations deliver to, served over HTTP under `/_opensearch/<domain>`.
//!
//! A domain holds indices of documents (id → source bytes, in insertion order) and answers the
//! REST calls a pipeline test needs: `_bulk`, `_count`, `_doc/<id>`, `_search` (`ids`, `match_all`,
//! scroll), `_refresh` and index deletion (see [`http`]). It is always refreshed: a document is
//! visible as soon as `_bulk` returns. Fault injection ([`crate::FaultPlan::index_failure`]) rejects
//! chosen documents here, and only here.

pub(crate) mod bulk;
pub(crate) mod domain;
pub(crate) mod error;
pub(crate) mod http;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ::http::StatusCode;
use error::SearchError;

use crate::faults::FaultInjector;
use crate::sync::lock;
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
}
