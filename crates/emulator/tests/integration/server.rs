//! The server's life cycle and its handling of requests it does not serve.

use std::time::Duration;

use emulator::{Emulator, EmulatorConfig, StartError};

use crate::common::Harness;

#[tokio::test]
async fn shutdown_stops_serving_and_returns() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("bkt").send().await.unwrap();
    let addr = h.emulator.local_addr();
    assert_eq!(h.emulator.endpoint(), format!("http://{addr}"));
    tokio::time::timeout(Duration::from_secs(10), h.emulator.shutdown()).await.expect("shutdown finishes");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the port no longer accepts connections");
}

#[tokio::test]
async fn invalid_time_scales_are_refused() {
    for time_scale in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err =
            Emulator::start(EmulatorConfig { time_scale, ..EmulatorConfig::default() }).await.unwrap_err();
        assert!(matches!(err, StartError::InvalidTimeScale(_)), "{time_scale}: {err}");
    }
}

#[tokio::test]
async fn a_taken_port_is_a_bind_error() {
    let first = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let err = Emulator::start(EmulatorConfig { bind: first.local_addr(), ..EmulatorConfig::default() })
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::Bind { .. }), "{err}");
    first.shutdown().await;
}

#[tokio::test]
async fn unknown_operations_name_the_operation() {
    let h = Harness::start().await;
    let response = raw_post(&h.emulator, "Kinesis_20131202.FrobnicateStream", "{}").await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("UnknownOperationException"), "{response}");
    let malformed = raw_post(&h.emulator, "Kinesis_20131202.PutRecord", "{not json").await;
    assert!(malformed.contains("SerializationException"), "{malformed}");
}

/// Sends one awsJson1_1 request over a plain socket and returns the raw response.
async fn raw_post(emulator: &Emulator, target: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut socket = tokio::net::TcpStream::connect(emulator.local_addr()).await.unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-amz-json-1.1\r\n\
         x-amz-target: {target}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    response
}

/// Cleartext HTTP/2 with prior knowledge, as the AWS SDK for JavaScript's Kinesis client speaks to an
/// `http://` endpoint, reaches every service on the same port as HTTP/1.1 does.
#[tokio::test]
#[expect(clippy::disallowed_methods, reason = "an HTTP/2-only client, beneath any SDK, is the point")]
async fn cleartext_http2_with_prior_knowledge_is_served_on_the_same_port() {
    use http_body_util::{BodyExt as _, Full};
    let h = Harness::start().await;
    h.kinesis.create_stream().stream_name("h2").shard_count(1).send().await.unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<bytes::Bytes>>();
    let call = |request: http::Request<Full<bytes::Bytes>>| {
        let client = client.clone();
        async move {
            let response = client.request(request).await.expect("an HTTP/2 answer");
            assert_eq!(response.version(), http::Version::HTTP_2);
            let status = response.status();
            (status, response.into_body().collect().await.unwrap().to_bytes())
        }
    };
    let endpoint = h.emulator.endpoint();
    let kinesis = http::Request::post(format!("{endpoint}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "Kinesis_20131202.ListStreams")
        .body(Full::new(bytes::Bytes::from_static(b"{}")))
        .unwrap();
    let (status, body) = call(kinesis).await;
    assert_eq!(status, http::StatusCode::OK, "{body:?}");
    let streams: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(streams["StreamNames"], serde_json::json!(["h2"]));

    let s3 = http::Request::get(format!("{endpoint}/")).body(Full::new(bytes::Bytes::new())).unwrap();
    let (status, body) = call(s3).await;
    assert_eq!(status, http::StatusCode::OK, "{body:?}");
    assert!(String::from_utf8_lossy(&body).contains("ListAllMyBucketsResult"), "{body:?}");
}
