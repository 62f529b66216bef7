//! The little of a search cluster's REST API that provisioning and teardown need: whether the
//! cluster answers, and deleting a run's index. Plain HTTP only, like the emulator's Firehose.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::error::EnvError;

/// How long one request to a cluster may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends `method` to `<endpoint><path>` and returns the status and body; a transport failure, a
/// timeout or an `https://` endpoint (there is no TLS client here) is an [`EnvError::Search`].
pub(crate) async fn request(
    endpoint: &str,
    method: Method,
    path: &str,
) -> Result<(StatusCode, Bytes), EnvError> {
    let url = format!("{}{path}", endpoint.trim_end_matches('/'));
    let failed = |message: String| EnvError::Search { url: url.clone(), message };
    if !url.starts_with("http://") {
        return Err(failed(
            "only plain http:// cluster endpoints are supported (there is no TLS client)".into(),
        ));
    }
    let request = Request::builder()
        .method(method)
        .uri(&url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::new()))
        .map_err(|error| failed(format!("not a valid request: {error}")))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let exchange = async {
        let response = client.request(request).await.map_err(|error| failed(aws_error::chain(&error)))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| failed(aws_error::chain(&error)))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_elapsed| failed(format!("no answer within {REQUEST_TIMEOUT:?}")))?
}

/// Whether the cluster at `endpoint` answers `GET /` with success; the last problem otherwise.
pub(crate) async fn answers(endpoint: &str) -> Result<(), String> {
    match request(endpoint, Method::GET, "/").await {
        Ok((status, _)) if status.is_success() => Ok(()),
        Ok((status, body)) => Err(format!("GET / answered {status}: {}", excerpt(&body))),
        Err(error) => Err(error.to_string()),
    }
}

/// Deletes `index` (a name, or a pattern ending in `*`); an index that does not exist is fine.
pub(crate) async fn delete_index(endpoint: &str, index: &str) -> Result<(), EnvError> {
    let (status, body) = request(endpoint, Method::DELETE, &format!("/{index}")).await?;
    if status.is_success() || status == StatusCode::NOT_FOUND {
        Ok(())
    } else {
        Err(EnvError::Search {
            url: format!("{}/{index}", endpoint.trim_end_matches('/')),
            message: format!("DELETE answered {status}: {}", excerpt(&body)),
        })
    }
}

/// The start of a response body, for a message.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut excerpt: String = text.chars().take(300).collect();
    if excerpt.len() < text.len() {
        excerpt.push('…');
    }
    excerpt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_https_cluster_is_refused_naming_the_url() {
        let error = delete_index("https://search.example.com:9200/", "clicks").await.unwrap_err().to_string();
        assert!(error.contains("https://search.example.com:9200/clicks"), "{error}");
        assert!(error.contains("only plain http://"), "{error}");
    }

    #[test]
    fn long_bodies_are_cut_in_messages() {
        assert_eq!(excerpt(b"{\"acknowledged\":false}"), "{\"acknowledged\":false}");
        let long = "x".repeat(1000);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), 301);
    }
}
