//! The little of a search cluster's REST API that provisioning and teardown need: whether the
//! cluster answers, and deleting a run's index. Plain HTTP only, like the emulator's Firehose.

use bytes::Bytes;
use cluster_http::{ClusterClient, excerpt};
use http::{Method, StatusCode};

use crate::error::EnvError;

/// Sends `method` to `<endpoint><path>` and returns the status and body; a transport failure, a
/// timeout or an `https://` endpoint (there is no TLS client here) is an [`EnvError::Search`].
pub(crate) async fn request(
    endpoint: &str,
    method: Method,
    path: &str,
) -> Result<(StatusCode, Bytes), EnvError> {
    let url = format!("{}{path}", endpoint.trim_end_matches('/'));
    let failed =
        |error: cluster_http::ExchangeError| EnvError::Search { url: url.clone(), message: error.reason() };
    let client = ClusterClient::new(endpoint).map_err(failed)?;
    let answer = client.exchange(method, path, None).await.map_err(failed)?;
    Ok((answer.status, answer.body))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_https_cluster_is_refused_naming_the_url() {
        let error = delete_index("https://search.example.com:9200/", "clicks").await.unwrap_err().to_string();
        assert!(error.contains("https://search.example.com:9200/clicks"), "{error}");
        assert!(error.contains("only plain http://"), "{error}");
    }
}
