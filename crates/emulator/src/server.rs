//! The HTTP server: accepts connections and routes each request to Kinesis, Firehose or S3.
//!
//! Every connection speaks HTTP/1.1 or cleartext HTTP/2 (h2c with prior knowledge, told apart by
//! the HTTP/2 connection preface), as hyper-util's auto builder does: the AWS SDK for JavaScript's
//! Kinesis client uses HTTP/2 by default, the others HTTP/1.1. An HTTP/1.1 `Upgrade: h2c` request
//! is answered over HTTP/1.1, which RFC 9113 §3.1 leaves to the server (and which deprecates the
//! upgrade).
//!
//! All three services share one port. Requests with `X-Amz-Target: Kinesis_20131202.<Op>` or
//! `Firehose_20150804.<Op>` are awsJson1_1 calls; everything else is S3 REST.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use s3s::service::S3Service;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::error::ApiError;
use crate::state::State;
use crate::{firehose, json, kinesis, logs, s3, search};

/// Largest awsJson1_1 request body; a full PutRecords request is about 7 MiB once base64-encoded.
const MAX_JSON_BODY: usize = 16 * 1024 * 1024;
/// Largest request body of the in-process search domain: a Firehose batch of up to 100 MB plus
/// its `_bulk` action lines.
const MAX_SEARCH_BODY: usize = 192 * 1024 * 1024;

/// Accepts connections until `shutdown` turns true, then lets open connections finish their
/// current request and returns once all of them have closed.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    s3: S3Service,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Small request/response exchanges should not wait for Nagle's algorithm.
                    let _ = stream.set_nodelay(true);
                    tracing::trace!(%peer, "accepted connection");
                    let connection = serve_connection(stream, Arc::clone(&state), s3.clone(), shutdown.clone());
                    connections.spawn(connection);
                }
                Err(err) => {
                    // Usually descriptor exhaustion; back off instead of spinning.
                    tracing::warn!(%err, "failed to accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    state: Arc<State>,
    s3: S3Service,
    mut shutdown: watch::Receiver<bool>,
) {
    let service = service_fn(move |request| route(Arc::clone(&state), s3.clone(), request));
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopped(&mut shutdown) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(%err, "connection ended with an error");
    }
}

/// Completes once `shutdown` is true (or can no longer change).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here, before the caller's next await.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Which service a request is for.
enum Target {
    Kinesis(String),
    Firehose(String),
    Logs(String),
    /// The in-process search domains, under `/_opensearch/`.
    Search,
    S3,
}

fn target(request: &Request<Incoming>) -> Target {
    if request.uri().path().starts_with(search::PATH_PREFIX) {
        return Target::Search;
    }
    let Some(target) = request.headers().get("x-amz-target").and_then(|v| v.to_str().ok()) else {
        return Target::S3;
    };
    if let Some(op) = target.strip_prefix(kinesis::TARGET_PREFIX) {
        Target::Kinesis(op.to_owned())
    } else if let Some(op) = target.strip_prefix(firehose::TARGET_PREFIX) {
        Target::Firehose(op.to_owned())
    } else if let Some(op) = target.strip_prefix(logs::TARGET_PREFIX) {
        Target::Logs(op.to_owned())
    } else {
        Target::S3
    }
}

async fn route(
    state: Arc<State>,
    s3: S3Service,
    request: Request<Incoming>,
) -> Result<Response<s3s::Body>, Infallible> {
    let response = match target(&request) {
        Target::Kinesis(op) => match read_json_body(request).await {
            Ok(body) => kinesis::handle(&state, &op, &body),
            Err(err) => json::error(&err),
        },
        Target::Firehose(op) => match read_json_body(request).await {
            Ok(body) => firehose::handle(&state, &op, &body),
            Err(err) => json::error(&err),
        },
        Target::Logs(op) => match read_json_body(request).await {
            Ok(body) => logs::handle(&state, &op, &body),
            Err(err) => json::error(&err),
        },
        Target::Search => serve_search(&state, request).await,
        Target::S3 => s3::http::serve(&state.s3, &s3, request).await,
    };
    Ok(response)
}

async fn read_json_body(request: Request<Incoming>) -> Result<Bytes, ApiError> {
    match Limited::new(request.into_body(), MAX_JSON_BODY).collect().await {
        Ok(body) => Ok(body.to_bytes()),
        Err(err) => Err(ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "SerializationException",
            message: format!("failed to read the request body: {err}"),
        }),
    }
}

async fn serve_search(state: &State, request: Request<Incoming>) -> Response<s3s::Body> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().strip_prefix(search::PATH_PREFIX).unwrap_or_default();
    match Limited::new(body, MAX_SEARCH_BODY).collect().await {
        Ok(body) => {
            search::http::handle(&state.search, &parts.method, path, parts.uri.query(), &body.to_bytes())
        }
        Err(err) => search::http::too_large(&err.to_string()),
    }
}
