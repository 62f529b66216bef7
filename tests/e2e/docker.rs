//! The `localstack` backend: LocalStack as a container through testcontainers.
//!
//! Needs a Docker daemon, so it is ignored by default; `STREAMPROOF_DOCKER_TESTS=1 cargo xtask ci`
//! runs it (`cargo nextest run -p e2e --run-ignored only -E 'test(/docker_/)'`). Without a daemon it
//! fails with "cannot reach a Docker daemon".

use environment::{Backend, ContainerOptions};

use crate::localstack::delivered_on;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker daemon; STREAMPROOF_DOCKER_TESTS=1 cargo xtask ci runs it"]
async fn docker_container_backend_delivers_a_kinesis_source_scenario_in_key_order() {
    let (delivered, outcome) = delivered_on(Backend::LocalStack(ContainerOptions::default())).await;
    let counts = &outcome.report.counts;
    assert_eq!((counts.delivered, counts.lost, counts.duplicated, counts.reordered), (1500, 0, 0, 0));
    assert_eq!(delivered.len(), 1500);
    let port: u16 = outcome.endpoint.rsplit(':').next().unwrap().parse().unwrap();
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the container's port is released with it");
}
