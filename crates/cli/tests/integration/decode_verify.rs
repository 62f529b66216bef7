//! `streamproof decode` on Firehose objects from disk, and `streamproof verify` of a run against a bucket.

use std::path::{Path, PathBuf};

use producer::{Envelope, Expectation};

use crate::{streamproof, text};

fn decode_cases() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../verifier/test_data/decode")
}

#[test]
fn decode_writes_one_record_per_line_and_lists_corrupt_spans_on_stderr() {
    let case = decode_cases().join("garbage_between_records.json");
    let output = streamproof(&["decode", case.to_str().unwrap(), "--with-source"]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "corrupt bytes exit 1; stderr: {stderr}");
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let seqs: Vec<u64> =
        lines.iter().map(|line| line["record"]["_streamproof"]["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![0, 1, 2]);
    assert_eq!(lines[1]["offset"], 153);
    assert!(stderr.contains("garbage_between_records.json at offset 133, 19 bytes"), "{stderr}");
    assert!(stderr.contains("decoded 3 records from 1 objects; 2 corrupt spans"), "{stderr}");
}

#[test]
fn decode_of_a_clean_gzip_object_exits_0_with_bare_records() {
    let case = decode_cases().join("multi_member.json.gz");
    let output = streamproof(&["decode", case.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 5);
    assert!(stdout.lines().all(|line| line.starts_with("{\"event\":\"page_view\"")), "{stdout}");
}

#[test]
fn decode_rejects_a_missing_path_and_real_aws_without_allow_remote() {
    assert_eq!(streamproof(&["decode", "does/not/exist"]).status.code(), Some(2));
    for args in [
        &["decode", "s3://bucket/prefix"][..],
        &["decode", "s3://b/p", "--endpoint", "https://s3.amazonaws.com"],
    ] {
        let output = streamproof(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(text(&output.stderr).contains("--allow-remote"), "{args:?}: {}", text(&output.stderr));
    }
    let output =
        streamproof(&["decode", ".", "--since", "2026-11-23T21:00:00Z", "--until", "2026-11-23T20:00:00Z"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--since is after --until"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reads_a_run_from_its_expectation_file_and_bucket() {
    let emulator = emulator::Emulator::start(emulator::EmulatorConfig::default()).await.unwrap();
    let s3 = environment::Endpoint::local(emulator.endpoint()).clients().await.s3;
    s3.create_bucket().bucket("verified").send().await.unwrap();
    let now_ns =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut object = Vec::new();
    for seq in [0, 1, 3] {
        let envelope = Envelope {
            run: "r-verify".into(),
            seq,
            key: format!("k{}", seq % 2),
            kseq: seq / 2,
            sent_ns: now_ns,
        };
        producer::envelope::append(br#"{"msg":"hi"}"#, "_streamproof", &envelope, &mut object);
    }
    s3.put_object().bucket("verified").key("logs/o1").body(object.into()).send().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let expectation = Expectation {
        run_id: "r-verify".into(),
        envelope_field: "_streamproof".into(),
        generated: 4,
        first_sent_ns: now_ns,
        last_ack_ns: now_ns,
        ..Expectation::default()
    };
    let expectation_path = dir.path().join("expectation.json");
    expectation.write(&expectation_path).unwrap();
    let reports = dir.path().join("reports");
    let args: Vec<String> = [
        "verify",
        "--expectation",
        expectation_path.to_str().unwrap(),
        "--bucket",
        "verified",
        "--prefix",
        "logs/",
        "--endpoint",
        &emulator.endpoint(),
        "--report-dir",
        reports.to_str().unwrap(),
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect();
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        streamproof(&args)
    })
    .await
    .unwrap();
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "stdout: {stdout}\nstderr: {}", text(&output.stderr));
    assert!(stdout.contains("lost 1 record: seq 2"), "{stdout}");
    let run_dir = reports.join("verify-r-verify");
    for file in ["report.json", "junit.xml", "report.html"] {
        assert!(run_dir.join(file).is_file(), "{file} is written");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!((json["counts"]["delivered"].as_u64(), json["prefix"].as_str()), (Some(3), Some("logs/")));

    // A missing expectation file is bad input.
    let missing = tokio::task::spawn_blocking(|| {
        streamproof(&[
            "verify",
            "--expectation",
            "missing.json",
            "--bucket",
            "b",
            "--endpoint",
            "http://127.0.0.1:9",
        ])
    })
    .await
    .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    emulator.shutdown().await;
}

/// A scenario whose destination is an index needs the run's index, or the backup bucket would be
/// verified as if it were the destination: refused as bad input, naming the option.
#[test]
fn verify_of_a_search_scenario_without_its_index_is_bad_input_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let expectation = Expectation {
        run_id: "r-search".into(),
        envelope_field: "_streamproof".into(),
        generated: 1,
        ..Expectation::default()
    };
    let expectation_path = dir.path().join("expectation.json");
    expectation.write(&expectation_path).unwrap();
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/opensearch-failed-documents.toml");
    let output = streamproof(&[
        "verify",
        "--expectation",
        expectation_path.to_str().unwrap(),
        "--bucket",
        "streamproof-opensearch-backup",
        "--endpoint",
        "http://127.0.0.1:9",
        "--scenario",
        scenario.to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("opensearch-failed-documents.toml has a search destination"), "{stderr}");
    assert!(stderr.contains("give --index NAME"), "{stderr}");
}

/// `streamproof verify` of a scenario with a data transformation reads the error output as
/// `streamproof run` does: a record the handler failed is in the error output, not lost, and the
/// error document is not an unexpected record. Without the scenario the same objects fail.
#[test]
fn verify_of_a_transform_scenario_counts_error_output_records_as_run_does() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let now_ns =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let record = |seq: u64| {
        let envelope = Envelope {
            run: "r-transform".into(),
            seq,
            key: "k".into(),
            kseq: seq,
            sent_ns: now_ns - 1_000_000_000,
        };
        let mut out = Vec::new();
        producer::envelope::append(br#"{"msg":"hi"}"#, "_streamproof", &envelope, &mut out);
        out
    };
    let objects = dir.path().join("bucket");
    let delivered = objects.join("2026/12/03/12");
    let failed = objects.join("processing-failed/2026/12/03/12");
    std::fs::create_dir_all(&delivered).unwrap();
    std::fs::create_dir_all(&failed).unwrap();
    std::fs::write(delivered.join("s-1-a"), [record(0), record(1)].concat()).unwrap();
    // Firehose's error document for a record the handler returned as ProcessingFailed.
    let document = serde_json::json!({
        "attemptsMade": 1,
        "arrivalTimestamp": now_ns / 1_000_000,
        "errorCode": "Lambda.ProcessingFailed",
        "errorMessage": "the handler returned ProcessingFailed",
        "attemptEndingTimestamp": now_ns / 1_000_000,
        "rawData": base64::engine::general_purpose::STANDARD.encode(record(2)),
        "lambdaArn": "arn:aws:lambda:us-east-1:000000000000:function:t",
    });
    std::fs::write(failed.join("s-1-b"), format!("{document}\n")).unwrap();
    let expectation = Expectation {
        run_id: "r-transform".into(),
        envelope_field: "_streamproof".into(),
        generated: 3,
        first_sent_ns: now_ns - 1_000_000_000,
        last_ack_ns: now_ns,
        ..Expectation::default()
    };
    let expectation_path = dir.path().join("expectation.json");
    expectation.write(&expectation_path).unwrap();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/transform-drop-and-fail.toml");
    let reports = dir.path().join("reports");
    let verify = |with_scenario: bool| {
        let mut args = vec![
            "verify",
            "--expectation",
            expectation_path.to_str().unwrap(),
            "--objects",
            objects.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ];
        if with_scenario {
            args.extend(["--scenario", scenario.to_str().unwrap()]);
        }
        let output = streamproof(&args);
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(reports.join("verify-r-transform/report.json")).unwrap())
                .unwrap();
        (output, report)
    };

    let (output, report) = verify(true);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", text(&output.stderr));
    let counts = &report["counts"];
    assert_eq!((counts["delivered"].as_u64(), counts["lost"].as_u64()), (Some(2), Some(0)), "{stdout}");
    assert_eq!(counts["unexpected"].as_u64(), Some(0), "{stdout}");
    let transform = &report["transform"];
    assert_eq!(transform["failed_to_error_output"].as_u64(), Some(1), "{transform}");
    assert_eq!(transform["failed_seqs"], serde_json::json!([2]));
    assert_eq!(transform["error_codes"]["Lambda.ProcessingFailed"].as_u64(), Some(1));
    assert!(transform["dropped_source"].as_str().unwrap().contains("no backend log"), "{transform}");

    // Read as a plain S3 destination, the failed record is lost and its error document unexpected.
    let (output, report) = verify(false);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert_eq!(report["counts"]["lost"].as_u64(), Some(1));
    assert_eq!(report["counts"]["unexpected"].as_u64(), Some(1));
}
