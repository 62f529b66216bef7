//! One HTTP exchange with a search cluster's REST API, shared by the three crates that talk to a
//! cluster: the emulator's Firehose (`_bulk` to an external `ClusterEndpoint`), provisioning
//! (readiness, deleting a run's index) and the verifier (`_count`, scroll, `_refresh`).
//!
//! Plain `http://` only: none of them has a TLS client or request signing for a cluster. Each
//! exchange is bounded in time and in the size of the answer, and every failure is one line
//! naming the method and URL.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// How long one exchange (the answer and its whole body) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read, so a misbehaving cluster cannot exhaust memory; a `_bulk` answer for
/// a 100 MB batch of small documents can hold a million items.
pub const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// How much of a body [`excerpt`] quotes, in characters.
const EXCERPT_CHARS: usize = 300;

/// A client for one cluster's REST base URL.
#[derive(Debug, Clone)]
pub struct ClusterClient {
    http: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

/// A cluster's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

/// An exchange that got no usable answer; the message names the method and URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// `url` is not `http://`; the caller names the URL beside this message.
    #[error("only plain http:// cluster endpoints are supported (there is no TLS client)")]
    NotPlainHttp { url: String },
    #[error("{method} {url} failed: {reason}")]
    Failed { method: Method, url: String, reason: String },
}

impl ExchangeError {
    /// What went wrong, without the method and URL, for a caller whose message names them itself.
    pub fn reason(&self) -> String {
        match self {
            ExchangeError::Failed { reason, .. } => reason.clone(),
            ExchangeError::NotPlainHttp { .. } => self.to_string(),
        }
    }
}

impl ClusterClient {
    /// A client for the cluster at `endpoint` (`http://host:port[/path]`; a trailing `/` is dropped).
    #[expect(clippy::disallowed_methods, reason = "this is the wrapper the lint points at")]
    pub fn new(endpoint: &str) -> Result<ClusterClient, ExchangeError> {
        if !endpoint.starts_with("http://") {
            return Err(ExchangeError::NotPlainHttp { url: endpoint.to_owned() });
        }
        Ok(ClusterClient {
            http: Client::builder(TokioExecutor::new()).build_http(),
            base: endpoint.trim_end_matches('/').to_owned(),
        })
    }

    /// The URL of `path` (which starts with `/`) on this cluster.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `method` to `path` with an optional body of `content_type`, and reads the whole
    /// answer within [`REQUEST_TIMEOUT`] and [`MAX_RESPONSE_BYTES`]. Any status is an answer; only a
    /// transport failure, a timeout or an oversized body is an error.
    pub async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Bytes)>,
    ) -> Result<Answer, ExchangeError> {
        let url = self.url(path);
        let failed =
            |reason: String| ExchangeError::Failed { method: method.clone(), url: url.clone(), reason };
        let mut request = Request::builder().method(method.clone()).uri(&url);
        let body = match body {
            Some((content_type, body)) => {
                request = request.header(http::header::CONTENT_TYPE, content_type);
                Full::new(body)
            }
            None => Full::new(Bytes::new()),
        };
        let request = request.body(body).map_err(|error| failed(format!("not a valid request: {error}")))?;
        let exchange = async {
            let response =
                self.http.request(request).await.map_err(|error| failed(aws_error::chain(&error)))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|error| failed(format!("reading the answer: {error}")))?
                .to_bytes();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_elapsed| failed(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())))?
    }
}

/// The start of a body as lossy UTF-8, for a message: at most 300 characters, `…` when cut.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut excerpt: String = text.chars().take(EXCERPT_CHARS).collect();
    if excerpt.len() < text.len() {
        excerpt.push('…');
    }
    excerpt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_endpoints_are_accepted_and_urls_join_the_base() {
        assert_eq!(
            ClusterClient::new("https://search.example:443").unwrap_err(),
            ExchangeError::NotPlainHttp { url: "https://search.example:443".into() }
        );
        let client = ClusterClient::new("http://127.0.0.1:9200/_opensearch/d/").unwrap();
        assert_eq!(client.url("/_bulk"), "http://127.0.0.1:9200/_opensearch/d/_bulk");
    }

    #[tokio::test]
    async fn a_refused_connection_is_one_line_naming_the_method_and_url() {
        // A port just released: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = ClusterClient::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let error = client.exchange(Method::GET, "/", None).await.unwrap_err().to_string();
        assert!(error.starts_with(&format!("GET http://127.0.0.1:{port}/ failed: ")), "{error}");
        assert!(!error.contains('\n'), "{error}");
    }

    #[test]
    fn excerpts_are_cut_with_an_ellipsis() {
        assert_eq!(excerpt(b"short"), "short");
        let long = "x".repeat(EXCERPT_CHARS + 5);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), EXCERPT_CHARS + 1);
        // Cut between characters, never inside one.
        assert_eq!(excerpt("é".repeat(400).as_bytes()).chars().count(), EXCERPT_CHARS + 1);
    }
}
