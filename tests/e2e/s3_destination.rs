//! The S3 destination's options end to end: compression, the newline delimiter, custom prefixes with
//! and without expressions, the ErrorOutputPrefix, and an emulator running faster than the wall clock.

use std::path::Path;

use environment::Backend;
use streamproof::run::{RunError, RunOptions, RunOutcome, run};

async fn run_scenario(scenario: &scenario::Scenario) -> RunOutcome {
    let reports = tempfile::tempdir().unwrap();
    let options =
        RunOptions { backend: Backend::default(), report_dir: reports.path().to_path_buf(), keep: false };
    run(scenario, &options).await.expect("the harness runs")
}

/// `dt=YYYY-MM-dd/hour=HH/` with digits where the letters are.
fn is_date_and_hour(folders: &str) -> bool {
    let shape = "dt=0000-00-00/hour=00/";
    folders.len() == shape.len()
        && folders
            .bytes()
            .zip(shape.bytes())
            .all(|(c, s)| if s == b'0' { c.is_ascii_digit() } else { c == s })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_newline_objects_land_under_the_evaluated_prefix_as_ndjson() {
    let scenario = scenario::load(&crate::scenario_path("gzip-ndjson-prefixed.toml")).unwrap();
    let outcome = run_scenario(&scenario).await;
    let report = &outcome.report;
    assert!(report.passed(), "{}", report.summary());
    assert_eq!(report.counts.delivered, 2000);
    assert_eq!(outcome.provisioned.prefix, "athena/clickstream/dt=");
    assert!(!report.objects.is_empty());
    for object in &report.objects {
        let folders = object.key.strip_prefix("athena/clickstream/").expect("under the static prefix");
        let (folders, name) = folders.split_at(folders.find("hour=").unwrap() + "hour=00/".len());
        // The timestamp expressions replace the default YYYY/MM/dd/HH/ folders.
        assert!(is_date_and_hour(folders), "{}", object.key);
        assert!(name.starts_with(&outcome.provisioned.delivery_stream_name), "{}", object.key);
        assert!(object.key.ends_with(".gz") && object.gzip, "{}", object.key);
        assert!(object.bytes < object.decoded_bytes, "{object:?}");
    }
    let format = report.format.as_ref().expect("format = ndjson is asserted");
    assert_eq!((format.objects, format.concatenated_objects), (report.counts.objects, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_prefix_keeps_the_hourly_folders_and_the_verifier_finds_them() {
    let text = "[pipeline]\nshards = 1\nbucket = \"streamproof-plain-prefix\"\nprefix = \"logs/plain/\"\n\
                [pipeline.buffering]\nsize_mb = 1\ninterval_seconds = 1\n\
                [workload]\nevents = 300\nschema = \"clickstream\"\npartition_key = \"user_id\"\n\
                [expect]\nmax_latency_seconds = 60\ntimeout_seconds = 60\n";
    let scenario = scenario::parse(Path::new("plain-prefix.toml"), text).unwrap();
    let outcome = run_scenario(&scenario).await;
    assert!(outcome.report.passed(), "{}", outcome.report.summary());
    assert_eq!(outcome.report.counts.delivered, 300);
    for object in &outcome.report.objects {
        // logs/plain/YYYY/MM/dd/HH/<name>-1-…
        let rest = object.key.strip_prefix("logs/plain/").expect("under the prefix");
        let folders: Vec<&str> = rest.split('/').collect();
        assert_eq!(folders.len(), 5, "{}", object.key);
        for (folder, len) in folders.iter().zip([4, 2, 2, 2]) {
            assert!(folder.len() == len && folder.bytes().all(|b| b.is_ascii_digit()), "{}", object.key);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_minute_interval_at_time_scale_60_is_measured_in_emulator_seconds() {
    let scenario = scenario::load(&crate::scenario_path("time-scaled-buffering.toml")).unwrap();
    assert_eq!(scenario.pipeline.buffering.interval_seconds, 60);
    let outcome = run_scenario(&scenario).await;
    let report = &outcome.report;
    assert!(report.passed(), "{}", report.summary());
    assert_eq!(report.counts.late, 0);
    let latency = &report.latency;
    let max = latency.max_ms.unwrap();
    // The first record waits the whole interval: about 60 emulator seconds, within the 90 s bound.
    // Send times are turned into emulator time before subtracting, so an emulator that did not run
    // 60 times faster would show neither this nor a skew-free latency: records sent half a second
    // after the clock's origin would seem sent 30 emulator seconds later than they were.
    assert!((50_000..90_000).contains(&max), "{latency:?}");
    assert!(latency.precision.contains("emulator time"), "{}", latency.precision);
    assert_eq!(latency.clock_skew, 0, "{latency:?}");
}

#[tokio::test]
async fn an_emulator_section_is_refused_on_another_backend() {
    let scenario = scenario::load(&crate::scenario_path("time-scaled-buffering.toml")).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let backend = Backend::Endpoint { url: "http://127.0.0.1:9".to_owned(), allow_remote: false };
    let options = RunOptions { backend, report_dir: reports.path().to_path_buf(), keep: false };
    let error = run(&scenario, &options).await.expect_err("refused");
    assert!(matches!(error, RunError::NeedsEmbedded { section: "an [emulator] section", .. }), "{error:?}");
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains("time-scaled-buffering.toml"), "{error}");
    assert!(error.to_string().contains("endpoint backend"), "{error}");
}
