//! Safety: AWS credentials never reach logs or reports, and a non-loopback endpoint is refused
//! unless `--allow-remote` is given.
//!
//! The credentials are distinctive values in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_SESSION_TOKEN`, with debug logging everywhere and trace logging in the project's crates. A
//! run on a loopback backend signs with the test keys and never reads them, so the test also sends a
//! workload with `produce --default-credentials`, which does load them from the environment: a
//! control run without them fails for want of credentials, which proves the values were used.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::{Served, test_data, text};

const ACCESS_KEY_ID: &str = "AKIASTREAMPROOFLEAKCHECK";
const SECRET_ACCESS_KEY: &str = "streamproof-secret-must-not-leak-0123456789";
const SESSION_TOKEN: &str = "streamproof-session-token-must-not-leak-9876543210";

/// Debug for every crate, trace for the project's own.
const VERBOSE: &str =
    "debug,streamproof=trace,producer=trace,environment=trace,verifier=trace,scenario=trace,emulator=trace";

/// `streamproof` with the distinctive credentials in its environment and verbose logs, isolated from
/// any credentials of the machine (no profile files, no instance metadata).
fn command(home: &Path, with_credentials: bool) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_streamproof"));
    command
        .env("RUST_LOG", VERBOSE)
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if with_credentials {
        command
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN);
    } else {
        command
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN");
    }
    command
}

/// Fails if `haystack` (named `what`) contains any of the three values.
fn assert_no_credentials(what: &str, haystack: &[u8]) {
    let haystack = String::from_utf8_lossy(haystack);
    for secret in [ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN] {
        if let Some(at) = haystack.find(secret) {
            let line = haystack[..at].lines().count();
            panic!("{what} contains a credential (line {line}): {}", &haystack[at.saturating_sub(200)..at]);
        }
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn check_output(what: &str, output: &Output) {
    assert_no_credentials(&format!("{what} stdout"), &output.stdout);
    assert_no_credentials(&format!("{what} stderr"), &output.stderr);
}

#[test]
fn credentials_never_appear_in_logs_or_reports_of_a_run() {
    let home = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let output = command(home.path(), true)
        .args(["run", test_data("small.toml").to_str().unwrap(), "--report-dir"])
        .arg(reports.path())
        .output()
        .expect("the streamproof binary runs");
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    assert!(output.stderr.len() > 10_000, "verbose logs were written");
    check_output("run", &output);
    let files = files_under(reports.path());
    assert!(files.len() >= 3, "report.json, junit.xml and report.html: {files:?}");
    for file in files {
        assert_no_credentials(&file.display().to_string(), &std::fs::read(&file).unwrap());
    }
}

#[test]
fn credentials_from_the_environment_sign_requests_but_never_appear_in_logs() {
    let home = tempfile::tempdir().unwrap();
    let mut serve = command(home.path(), true);
    serve.args(["emulator", "serve", "--port", "0"]).stderr(Stdio::piped());
    let served = Served::start(serve);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let clients = environment::Endpoint::local(served.endpoint.clone()).clients().await;
        clients
            .kinesis
            .create_stream()
            .stream_name("signed")
            .shard_count(1)
            .send()
            .await
            .expect("create stream");
    });
    let produce = |with_credentials: bool, expectation: &Path| {
        // Without credentials every call fails the same way: one attempt says enough.
        let attempts = if with_credentials { "10" } else { "1" };
        command(home.path(), with_credentials)
            .args(["produce", test_data("small.toml").to_str().unwrap(), "--endpoint", &served.endpoint])
            .args([
                "--stream",
                "signed",
                "--default-credentials",
                "--max-attempts",
                attempts,
                "--expectation",
            ])
            .arg(expectation)
            .output()
            .expect("the streamproof binary runs")
    };

    // Control: with the credential chain empty, nothing can be signed.
    let dir = tempfile::tempdir().unwrap();
    let without = produce(false, &dir.path().join("without.json"));
    assert_eq!(without.status.code(), Some(3), "stderr: {}", text(&without.stderr));
    assert!(text(&without.stderr).contains("no credentials found"), "{}", text(&without.stderr));

    // With them, the workload is signed with them and acknowledged.
    let expectation = dir.path().join("expectation.json");
    let with = produce(true, &expectation);
    assert_eq!(with.status.code(), Some(0), "stderr: {}", text(&with.stderr));
    assert!(text(&with.stdout).contains("3000 acknowledged"), "{}", text(&with.stdout));
    check_output("produce", &with);
    assert_no_credentials("the expectation file", &std::fs::read(&expectation).unwrap());
    assert_no_credentials("the served emulator's log", &served.stop());
}

#[test]
fn a_remote_endpoint_is_refused_without_allow_remote() {
    let reports = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_streamproof"))
        .args(["run", test_data("small.toml").to_str().unwrap()])
        .args(["--backend", "endpoint", "--endpoint", "https://kinesis.us-east-1.amazonaws.com"])
        .arg("--report-dir")
        .arg(reports.path())
        .env("RUST_LOG", "warn")
        .output()
        .expect("the streamproof binary runs");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "bad input: {stderr}");
    assert!(stderr.contains("--allow-remote"), "{stderr}");
    assert!(stderr.contains("kinesis.us-east-1.amazonaws.com"), "{stderr}");
    assert!(std::fs::read_dir(reports.path()).unwrap().next().is_none(), "nothing ran, nothing reported");
}
