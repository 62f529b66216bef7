//! The load generator end to end: a 1-shard pipeline fed faster than its shard accepts, through
//! Kinesis, Firehose and S3, checked record for record by the verifier.

use environment::Backend;
use streamproof::run::{RunOptions, run};

use crate::scenario_path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_events_above_one_shards_rate_are_throttled_retried_and_delivered_once_in_order() {
    let scenario = scenario::load(&scenario_path("app-events-zipf.toml")).unwrap();
    assert_eq!(scenario.pipeline.shards, 1);
    assert_eq!(scenario.workload.rate, scenario::Rate::Fixed(2_500.0), "above the shard's 1,000 records/s");
    let reports = tempfile::tempdir().unwrap();
    let options =
        RunOptions { backend: Backend::default(), report_dir: reports.path().to_path_buf(), keep: false };

    let outcome = run(&scenario, &options).await.expect("the harness runs");

    let m = &outcome.metrics;
    assert!(m.throttled > 0, "no throttled entries: {m:?}");
    assert!(m.retried >= m.throttled, "{m:?}");
    assert_eq!((m.sent, m.acknowledged, m.failed), (5_000, 5_000, 0));
    let counts = &outcome.report.counts;
    assert_eq!(counts.delivered, 5_000);
    assert_eq!((counts.lost, counts.duplicated, counts.reordered, counts.unexpected), (0, 0, 0, 0));
    assert!(outcome.report.passed(), "{}", outcome.report.summary());
}
