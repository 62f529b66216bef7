//! The `localstack` backend: LocalStack as a container through testcontainers; and a real
//! OpenSearch container as a search destination's cluster.
//!
//! Needs a Docker daemon, so these are ignored by default; `STREAMPROOF_DOCKER_TESTS=1 cargo xtask ci`
//! runs them (`cargo nextest run -p e2e --run-ignored only -E 'test(/docker_/)'`). Without a daemon
//! they fail saying a Docker daemon cannot be reached.

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

/// The all-documents scenario against a real OpenSearch in a container: the embedded emulator's
/// Firehose reaches the cluster over HTTP through `ClusterEndpoint`, and the verifier reads the real
/// index. Gated like the other container tests; without a daemon it fails saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker daemon; STREAMPROOF_DOCKER_TESTS=1 cargo xtask ci runs it"]
async fn docker_real_opensearch_indexes_every_record_of_the_all_documents_scenario() {
    use std::time::Duration;

    use testcontainers::core::{IntoContainerPort, WaitFor};
    use testcontainers::runners::AsyncRunner;
    use testcontainers::{GenericImage, ImageExt};

    let container = GenericImage::new("opensearchproject/opensearch", "2.19.0")
        .with_exposed_port(9200.tcp())
        // The node's own "started" line: it then answers REST requests.
        .with_wait_for(WaitFor::message_on_stdout("] started"))
        .with_env_var("discovery.type", "single-node")
        .with_env_var("DISABLE_SECURITY_PLUGIN", "true")
        .with_env_var("DISABLE_INSTALL_DEMO_CONFIG", "true")
        .with_env_var("OPENSEARCH_JAVA_OPTS", "-Xms512m -Xmx512m")
        .with_startup_timeout(Duration::from_secs(300))
        .start()
        .await
        .unwrap_or_else(|error| {
            panic!("cannot start OpenSearch 2.19.0 (is a Docker daemon reachable?): {error}")
        });
    let port = container.get_host_port_ipv4(9200.tcp()).await.unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");

    let mut scenario = scenario::load(&crate::scenario_path("opensearch-all-documents.toml")).unwrap();
    // A real cluster rejects nothing on purpose: fault injection is the in-process domain's.
    scenario.faults = None;
    scenario.pipeline.search.as_mut().unwrap().endpoint = Some(endpoint.clone());
    let reports = tempfile::tempdir().unwrap();
    let options = streamproof::run::RunOptions {
        backend: environment::Backend::default(),
        report_dir: reports.path().to_path_buf(),
        keep: true,
    };
    let outcome = streamproof::run::run(&scenario, &options).await.expect("the harness runs");
    assert!(outcome.report.passed(), "{}", outcome.report.summary());
    let search = outcome.provisioned.search.clone().unwrap();
    assert_eq!(search.endpoint, endpoint);
    let summary = outcome.report.search.as_ref().unwrap();
    assert_eq!((summary.indexed, summary.index_count, summary.failed_documents), (2_000, 2_000, 0));
    assert_eq!(summary.backup_records, Some(2_000));
    // Read back from the real cluster, independently of the verifier (kept with `keep`).
    let cluster = crate::opensearch::Cluster::new(&endpoint);
    assert_eq!(cluster.count(&search.index).await, 2_000);
    let mut seqs = cluster.seqs(&search.index, &outcome.envelope_field).await;
    seqs.sort_unstable();
    assert_eq!(seqs, (0..2_000).collect::<Vec<u64>>());
    let (_, info) = cluster.call(http::Method::GET, "/", None).await;
    assert_eq!(info["version"]["number"], "2.19.0");
}
