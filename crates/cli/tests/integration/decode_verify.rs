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
