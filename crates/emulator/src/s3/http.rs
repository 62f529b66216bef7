//! One S3 request end to end: CORS preflights (`OPTIONS`) answered from the bucket's rules, every
//! other request prepared (`request.rs`) and served by s3s, with the CORS headers its rules grant
//! added to the answer.

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use s3s::service::S3Service;

use crate::s3::bucket_of_host;
use crate::s3::cors::{CorsRequest, grant, matching, preflight_response};
use crate::s3::request;
use crate::s3::store::{CorsRule, S3Store};

/// Serves one S3 request.
pub(crate) async fn serve(
    store: &S3Store,
    s3: &S3Service,
    request: Request<Incoming>,
) -> Response<s3s::Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // The bucket's CORS rules (`None`: no such bucket), read only for requests that carry CORS headers.
    let rules = || bucket_of(&request).and_then(|bucket| store.bucket_config(&bucket).ok()).map(|c| c.cors);
    if method == Method::OPTIONS
        && let Some(preflight) = CorsRequest::preflight(request.headers())
    {
        return match rules() {
            Some(rules) => preflight_response(rules.as_deref(), &preflight),
            None => s3_error(s3s::S3ErrorCode::NoSuchBucket, "The specified bucket does not exist"),
        };
    }
    // An actual request from an origin a rule allows gets that rule's headers on its answer.
    let granted: Option<(CorsRule, String)> =
        CorsRequest::actual(request.headers(), &method).and_then(|actual| {
            let rules = rules().flatten()?;
            let rule = matching(&rules, &actual)?.clone();
            Some((rule, actual.origin.to_owned()))
        });
    let prepared = match request::prepare(request).await {
        Ok(prepared) => prepared,
        Err(err) => {
            tracing::debug!(%method, %path, %err, "rejected S3 request");
            let code = match err {
                request::PrepareError::Presign(_) => s3s::S3ErrorCode::AccessDenied,
                _ => s3s::S3ErrorCode::InvalidRequest,
            };
            return s3_error(code, &err.to_string());
        }
    };
    let mut response = match s3.call(prepared).await {
        Ok(response) => {
            tracing::debug!(%method, %path, status = %response.status(), "S3 request");
            response
        }
        Err(err) => {
            tracing::warn!(%method, %path, ?err, "S3 request failed inside s3s");
            internal_error()
        }
    };
    if let Some((rule, origin)) = granted {
        let actual = CorsRequest { origin: &origin, method: method.as_str(), headers: Vec::new() };
        grant(&rule, &actual, false, response.headers_mut());
    }
    response
}

/// The bucket a request addresses: its virtual host, or the first segment of a path-style URL.
fn bucket_of(request: &Request<Incoming>) -> Option<String> {
    let host = request.headers().get(http::header::HOST).and_then(|v| v.to_str().ok());
    if let Some(bucket) = host.and_then(bucket_of_host) {
        return Some(bucket.to_owned());
    }
    let first = request.uri().path().trim_start_matches('/').split('/').next()?;
    (!first.is_empty()).then(|| first.to_owned())
}

fn s3_error(code: s3s::S3ErrorCode, message: &str) -> Response<s3s::Body> {
    s3s::S3Error::with_message(code, message.to_owned())
        .to_http_response()
        .unwrap_or_else(|_| internal_error())
}

fn internal_error() -> Response<s3s::Body> {
    let mut response = Response::new(s3s::Body::empty());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
