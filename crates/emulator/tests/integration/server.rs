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
    let response = raw_post(&h.emulator, "Kinesis_20131202.SplitShard", "{}").await;
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
