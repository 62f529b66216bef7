//! The `streamproof` binary as users and CI see it: exit codes and what it prints.

mod capacity;
mod credentials;
mod decode_verify;
mod emulator_serve;
mod env;
mod generate;
mod interrupt;
mod produce;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn test_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data").join(name)
}

/// Runs the binary with `args` and waits for it.
fn streamproof(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_streamproof"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the streamproof binary runs")
}

/// `streamproof run` with reports under `report_dir`.
fn run(args: &[&str], report_dir: &Path) -> Output {
    let report_dir = report_dir.to_str().expect("a UTF-8 temporary path");
    streamproof(&[&["run"], args, &["--report-dir", report_dir]].concat())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn malformed_scenario_exits_2_naming_file_line_and_field() {
    let reports = tempfile::tempdir().unwrap();
    let path = test_data("malformed.toml");
    let output = run(&[path.to_str().unwrap()], reports.path());
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("{}:6:11: field `pipeline.buffering.size_mb`", path.display())),
        "stderr: {stderr}"
    );
    assert!(std::fs::read_dir(reports.path()).unwrap().next().is_none(), "no report for a rejected scenario");

    // Out-of-range values of the small scenario, and a file that is not text at all.
    let dir = tempfile::tempdir().unwrap();
    let small = std::fs::read_to_string(test_data("small.toml")).unwrap();
    let cases = [
        ("shards = 2", "shards = 0", "pipeline.shards"),
        ("interval_seconds = 1", "interval_seconds = 901", "pipeline.buffering.interval_seconds"),
        ("schema = \"clickstream\"", "schema = \"no-such-schema\"", "workload.schema"),
    ];
    for (valid, invalid, field) in cases {
        let path = dir.path().join("out-of-range.toml");
        std::fs::write(&path, small.replace(valid, invalid)).unwrap();
        let line = small.lines().position(|l| l == valid).expect("the valid line") + 1;
        let output = run(&[path.to_str().unwrap()], reports.path());
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{invalid}: {stderr}");
        let location = format!("{}:{line}:", path.display());
        assert!(stderr.contains(&location) && stderr.contains(&format!("field `{field}`")), "{stderr}");
    }
    let binary = dir.path().join("binary.toml");
    std::fs::write(&binary, [0x1f, 0x8b, 0xff, 0x00, 0xfe]).unwrap();
    let output = run(&[binary.to_str().unwrap()], reports.path());
    assert_eq!(output.status.code(), Some(2), "stderr: {}", text(&output.stderr));
    assert!(text(&output.stderr).contains("binary.toml"), "{}", text(&output.stderr));
}

#[test]
fn missing_scenario_file_exits_2() {
    let reports = tempfile::tempdir().unwrap();
    let output = run(&["does-not-exist.toml"], reports.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("does-not-exist.toml"));
}

#[test]
fn a_record_dropped_by_the_emulator_fails_the_run_and_is_named() {
    let reports = tempfile::tempdir().unwrap();
    let path = test_data("small.toml");
    let output = run(&[path.to_str().unwrap(), "--emulator-drop-record", "1234"], reports.path());
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "stdout: {stdout}\nstderr: {}", text(&output.stderr));
    // Ground truth from the emulator: which record it dropped.
    let fault = stdout.lines().find(|l| l.contains("dropped Kinesis entry #1234")).expect("fault line");
    let seq: u64 = fault.split("(seq ").nth(1).and_then(|s| s.split(',').next()).unwrap().parse().unwrap();
    // The verifier's finding names exactly that seq.
    assert!(stdout.contains(&format!("lost 1 record: seq {seq}")), "stdout: {stdout}");

    let report = find_report(reports.path());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    assert_eq!(report["counts"]["lost"], 1);
    assert_eq!(report["counts"]["delivered"], 2999);
    assert_eq!(report["lost_ranges"][0]["start"], seq);
    assert_eq!(report["lost_ranges"][0]["end"], seq);
}

fn find_report(dir: &Path) -> PathBuf {
    let run_dir = std::fs::read_dir(dir).unwrap().next().expect("a run directory").unwrap().path();
    run_dir.join("report.json")
}
