//! `streamproof generate` writes a scenario's records as Firehose objects, which `streamproof decode`
//! and `streamproof verify --objects` then read back.

use std::path::Path;

use crate::{streamproof, test_data, text};

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { stack.push(path) } else { files.push(path) }
        }
    }
    files.sort();
    files
}

/// The last stdout line, parsed as the `--stats-json` object.
fn stats(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.lines().last().expect("a stats line")).unwrap()
}

#[test]
fn generated_objects_decode_and_verify_and_a_deleted_object_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (objects, expectation, reports) =
        (dir.path().join("objects"), dir.path().join("expectation.json"), dir.path().join("reports"));
    let scenario = test_data("small.toml");
    let output = streamproof(&[
        "generate",
        scenario.to_str().unwrap(),
        "--events",
        "6000",
        "--objects",
        objects.to_str().unwrap(),
        "--object-mb",
        "1",
        "--gzip",
        "--expectation",
        expectation.to_str().unwrap(),
        "--stats-json",
    ]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let generated = stats(&text(&output.stdout));
    assert_eq!(generated["command"], "generate");
    assert_eq!(generated["events"], 6000);
    assert!(generated["events_per_second"].as_f64().unwrap() > 0.0);
    let files = files_under(&objects);
    assert!(files.len() >= 2, "over 1 MiB of records make several 1 MiB objects: {files:?}");
    assert!(files.iter().all(|file| file.extension().is_some_and(|e| e == "gz")), "{files:?}");
    assert_eq!(generated["objects"], files.len());

    let decoded = streamproof(&["decode", objects.to_str().unwrap()]);
    assert_eq!(decoded.status.code(), Some(0), "stderr: {}", text(&decoded.stderr));
    assert_eq!(text(&decoded.stdout).lines().count(), 6000);

    let verify = |reports: &Path| {
        streamproof(&[
            "verify",
            "--expectation",
            expectation.to_str().unwrap(),
            "--objects",
            objects.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
            "--stats-json",
        ])
    };
    let output = verify(&reports);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", text(&output.stderr));
    assert!(stdout.contains("PASS"), "{stdout}");
    let verified = stats(&stdout);
    assert_eq!((verified["records"].as_u64(), verified["passed"].as_bool()), (Some(6000), Some(true)));
    assert!(verified["peak_rss_bytes"].as_u64().unwrap() > 0);

    std::fs::remove_file(&files[0]).unwrap();
    let output = verify(&reports);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "a deleted object fails verification: {stdout}");
    assert!(stdout.contains("lost"), "{stdout}");
}

#[test]
fn generate_and_verify_reject_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = streamproof(&["generate", test_data("malformed.toml").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("pipeline.buffering.size_mb"), "{}", text(&output.stderr));
    let output = streamproof(&["generate", test_data("small.toml").to_str().unwrap(), "--object-mb", "0"]);
    assert_eq!(output.status.code(), Some(2));
    // Neither a bucket nor objects to verify.
    let expectation = dir.path().join("expectation.json");
    let output = streamproof(&["verify", "--expectation", expectation.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    // Objects that are not there.
    let output = streamproof(&[
        "generate",
        test_data("small.toml").to_str().unwrap(),
        "--events",
        "10",
        "--expectation",
        expectation.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let missing = dir.path().join("missing");
    let output = streamproof(&[
        "verify",
        "--expectation",
        expectation.to_str().unwrap(),
        "--objects",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("missing"), "{}", text(&output.stderr));
}
