//! How a harness failure reads: an AWS error reaches the user as one line (operation, resource,
//! error code, message, HTTP status, request id), never as the SDK's debug structure.

use std::process::{Command, Stdio};

use crate::{Served, run, test_data, text};

#[test]
fn a_refused_canary_is_one_readable_line_and_exit_3() {
    // Every Kinesis entry is refused, so the canary that proves a Kinesis-source pipeline ready
    // (on any backend but the embedded one) fails: the environment failed, nothing was verified.
    let mut serve = Command::new(env!("CARGO_BIN_EXE_streamproof"));
    serve
        .args(["emulator", "serve", "--port", "0", "--fault", "internal-failure=1.0"])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null());
    let served = Served::start(serve);
    let reports = tempfile::tempdir().unwrap();
    let scenario = test_data("small.toml");
    let output = run(
        &[scenario.to_str().unwrap(), "--backend", "endpoint", "--endpoint", &served.endpoint],
        reports.path(),
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.len() <= 3, "at most three lines:\n{stderr}");
    let error = lines.iter().find(|line| line.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(error.contains("PutRecord (canary) sp-small-"), "operation and resource: {error}");
    assert!(error.contains("InternalFailure"), "error code: {error}");
    assert!(error.contains("(HTTP 500, request id "), "status and request id: {error}");
    for dump in ["ServiceError", "raw:", "Response {", "SdkBody"] {
        assert!(!stderr.contains(dump), "no debug structure ({dump}): {stderr}");
    }
}
