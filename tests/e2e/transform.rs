//! Firehose data transformation end to end: the scenarios of `scenarios/transform-*.toml` run their
//! handlers from `examples/` as the delivery stream's Lambda processor in the embedded emulator, and
//! the verifier accounts for what the transform did, read back through the real SDK.

use std::collections::BTreeMap;

use environment::{Backend, Environment, TransformEventKind};
use streamproof::run::{RunError, RunOptions, backend_for, run, run_on};

/// Every object the run delivered (outside the error output), in listing order.
async fn delivered_objects(environment: &Environment, bucket: &str) -> Vec<(String, Vec<u8>)> {
    let clients = environment.endpoint().clients().await;
    let listed = verifier::list_objects(&clients.s3, bucket, "", None, false).await.unwrap();
    let mut objects = Vec::new();
    for object in listed.into_iter().filter(|object| !object.key.starts_with("processing-failed/")) {
        let bytes = verifier::get_object(&clients.s3, bucket, &object.key).await.unwrap();
        objects.push((object.key, bytes));
    }
    objects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newline_transform_turns_concatenated_objects_into_ndjson_and_both_verify() {
    let with = scenario::load(&crate::scenario_path("transform-newline.toml")).unwrap();
    assert!(with.pipeline.transform.is_some());
    let mut without = with.clone();
    without.pipeline.transform = None;
    without.pipeline.bucket = "streamproof-transform-none".to_owned();
    // Concatenated objects are exactly what the NDJSON assertion rejects; without the transform
    // the run must still verify every record, so that assertion is left out here.
    without.expect.format = None;

    let environment = Environment::start(&backend_for(&Backend::default(), &with).unwrap())
        .await
        .expect("the embedded emulator starts");
    let reports = tempfile::tempdir().unwrap();
    for (scenario, transformed) in [(&without, false), (&with, true)] {
        let outcome = run_on(&environment, scenario, reports.path()).await.expect("the harness runs");
        let report = &outcome.report;
        assert!(report.passed(), "transformed {transformed}:\n{}", report.summary());
        assert_eq!((report.counts.delivered, report.counts.lost), (2_000, 0));
        let objects = delivered_objects(&environment, &scenario.pipeline.bucket).await;
        assert!(!objects.is_empty());
        let mut records = 0;
        for (key, bytes) in &objects {
            let text = std::str::from_utf8(bytes).unwrap();
            if transformed {
                // NDJSON: one record per line, each line a JSON document, the last one terminated.
                assert!(text.ends_with('\n'), "{key} does not end with a newline");
                for line in text.lines() {
                    serde_json::from_str::<serde_json::Value>(line)
                        .unwrap_or_else(|e| panic!("{key}: a line is not one JSON document ({e}): {line}"));
                    records += 1;
                }
            } else {
                // Firehose's default: `{..}{..}` with nothing between records.
                assert!(!text.contains('\n'), "{key} has a newline without the transform");
                records += text.matches("}{\"").count() + 1;
            }
        }
        assert_eq!(records, 2_000, "transformed {transformed}");
    }
    environment.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transform_that_drops_every_tenth_and_fails_every_hundredth_record_is_accounted_exactly() {
    let scenario = scenario::load(&crate::scenario_path("transform-drop-and-fail.toml")).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let options =
        RunOptions { backend: Backend::default(), report_dir: reports.path().to_path_buf(), keep: false };
    let outcome = run(&scenario, &options).await.expect("the harness runs");
    let report = &outcome.report;
    assert!(report.passed(), "{}", report.summary());
    assert_eq!(outcome.exit_code(), 0);
    assert_eq!(report.counts.acknowledged, 1_000);
    assert_eq!((report.counts.delivered, report.counts.lost, report.counts.unexpected), (900, 0, 0));

    let transform = report.transform.as_ref().expect("a transform summary");
    assert_eq!(transform.dropped_by_transform, 90);
    assert_eq!(transform.failed_to_error_output, 10);
    assert_eq!(transform.error_codes, BTreeMap::from([("Lambda.FunctionError".to_owned(), 10)]));
    assert_eq!(transform.failed_seqs, (0..10).map(|n| n * 100 + 99).collect::<Vec<u64>>());
    assert_eq!((transform.envelope_stripped, transform.failed_without_envelope), (0, 0));
    assert!(transform.error_objects >= 1);

    // The backend's ground truth agrees: 90 dropped, 10 failed, each failure in an error object.
    let dropped = outcome.transforms.iter().filter(|e| e.kind == TransformEventKind::Dropped).count();
    assert_eq!(dropped, 90);
    let failed: Vec<_> = outcome
        .transforms
        .iter()
        .filter_map(|e| match &e.kind {
            TransformEventKind::Failed { object, .. } => Some(object),
            TransformEventKind::Dropped => None,
        })
        .collect();
    assert_eq!(failed.len(), 10);
    assert!(failed.iter().all(|object| object.starts_with("processing-failed/")), "{failed:?}");

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&outcome.report_path).unwrap()).unwrap();
    assert_eq!(json["transform"]["dropped_by_transform"], 90);
    assert_eq!(json["transform"]["failed_to_error_output"], 10);
    assert_eq!(json["counts"]["delivered"], 900);
    assert!(report.summary().contains("90 dropped by the transform"), "{}", report.summary());
    // The JUnit and HTML renderings carry the same counts.
    let dir = outcome.report_path.parent().unwrap();
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(junit.contains("90 dropped by the transform"), "{junit}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<tr><th>dropped by the transform</th><td>90</td></tr>"));
    assert!(html.contains("<tr><th>failed to the error output</th><td>10</td></tr>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transform_that_strips_the_envelope_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("strip.py"),
        "import base64, json\n\
         def handle(event, context):\n    out = []\n    for r in event['records']:\n        \
         doc = json.loads(base64.b64decode(r['data']))\n        doc.pop('_streamproof')\n        \
         out.append({'recordId': r['recordId'], 'result': 'Ok', \
         'data': base64.b64encode(json.dumps(doc).encode() + b'\\n').decode()})\n    return {'records': out}\n",
    )
    .unwrap();
    let text = format!(
        "[pipeline]\nbucket = \"streamproof-transform-strip\"\n[pipeline.buffering]\nsize_mb = 1\ninterval_seconds = 1\n\
         [pipeline.transform]\nruntime = \"python\"\nhandler = \"strip:handle\"\ncode_dir = {:?}\n\
         buffer_interval_seconds = 0\n\
         [workload]\nevents = 50\nschema = \"person-item\"\npartition_key = \"personId\"\n[expect]\ntimeout_seconds = 5\n",
        dir.path().display().to_string()
    );
    let scenario = scenario::parse(&dir.path().join("strip.toml"), &text).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let options =
        RunOptions { backend: Backend::default(), report_dir: reports.path().to_path_buf(), keep: false };
    let outcome = run(&scenario, &options).await.expect("the harness runs");
    let report = &outcome.report;
    assert!(!report.passed());
    assert_eq!(outcome.exit_code(), 1);
    assert_eq!((report.counts.delivered, report.counts.lost, report.counts.unexpected), (0, 50, 50));
    assert_eq!(report.transform.as_ref().unwrap().envelope_stripped, 50);
    let summary = report.summary();
    assert!(summary.contains("the transform stripped it"), "{summary}");
}

#[tokio::test]
async fn a_transform_on_a_backend_without_local_handlers_is_bad_input() {
    let scenario = scenario::load(&crate::scenario_path("transform-newline.toml")).unwrap();
    let options = RunOptions {
        backend: Backend::Endpoint { url: "http://127.0.0.1:9".to_owned(), allow_remote: false },
        report_dir: std::env::temp_dir(),
        keep: false,
    };
    let error = run(&scenario, &options).await.expect_err("refused");
    assert!(
        matches!(error, RunError::NeedsEmbedded { section: "a [pipeline.transform] section", .. }),
        "{error:?}"
    );
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains("cannot run a local transformation handler"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_newline_transform_verifies_as_ndjson_too() {
    let mut scenario = scenario::load(&crate::scenario_path("transform-newline.toml")).unwrap();
    let transform = scenario.pipeline.transform.as_mut().unwrap();
    transform.runtime = scenario::TransformRuntime::Node;
    transform.handler = "transform:handler".to_owned();
    scenario.pipeline.bucket = "streamproof-transform-node".to_owned();
    let reports = tempfile::tempdir().unwrap();
    let options =
        RunOptions { backend: Backend::default(), report_dir: reports.path().to_path_buf(), keep: false };
    let outcome = run(&scenario, &options).await.expect("the harness runs");
    assert!(outcome.report.passed(), "{}", outcome.report.summary());
    assert_eq!(outcome.report.counts.delivered, 2_000);
    let format = outcome.report.format.as_ref().expect("the NDJSON check ran");
    assert!(format.objects > 0 && format.concatenated_objects == 0, "{format:?}");
}
