//! End to end on the embedded emulator: scenario file → provisioning → producer → Kinesis → Firehose → S3 →
//! verifier, with the real AWS SDK clients over HTTP.

mod docker;
mod faults_property;
mod faults_scenarios;
mod localstack;
mod opensearch;
mod producer;
mod report_html;
mod s3_destination;
mod transform;

use std::path::{Path, PathBuf};

use environment::Backend;
use streamproof::run::{RunOptions, run};

fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios").join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickstream_scenario_delivers_every_record_once_and_in_order() {
    let scenario = scenario::load(&scenario_path("clickstream.toml")).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let options =
        RunOptions { backend: Backend::default(), report_dir: reports.path().to_path_buf(), keep: false };

    let outcome = run(&scenario, &options).await.expect("the harness runs");

    let counts = &outcome.report.counts;
    assert_eq!(outcome.metrics.acknowledged, 20_000);
    assert_eq!(counts.generated, 20_000);
    assert_eq!(counts.delivered, 20_000);
    assert_eq!(counts.lost, 0);
    assert_eq!(counts.duplicated, 0);
    assert_eq!(counts.reordered, 0);
    assert_eq!(counts.corrupt, 0);
    assert_eq!(counts.unexpected, 0);
    // 20,000 records of about 500 bytes with 1 MiB buffers over 2 shards: more than one object.
    assert!(counts.objects >= 2, "objects: {}", counts.objects);
    let latency = &outcome.report.latency;
    assert_eq!(latency.samples, 20_000);
    let (p50, p99, max) = (latency.p50_ms.unwrap(), latency.p99_ms.unwrap(), latency.max_ms.unwrap());
    assert!(p50 <= p99 && p99 <= max, "{latency:?}");
    // Interval flushes make every record wait at most about one 2 s interval, never the 30 s bound.
    assert!(max < 30_000, "{latency:?}");
    assert!(outcome.report.passed(), "{}", outcome.report.summary());
    assert_eq!(outcome.exit_code(), 0);

    // The JSON report on disk says the same.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&outcome.report_path).unwrap()).unwrap();
    assert_eq!(json["run_id"], outcome.run_id.as_str());
    assert_eq!(json["counts"]["delivered"], 20_000);
    assert_eq!(json["counts"]["lost"], 0);
    assert_eq!(json["passed"], true);
}
