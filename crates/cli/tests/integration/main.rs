//! The `streamproof` binary as users and CI see it: exit codes and what it prints.

mod capacity;
mod clients;
mod credentials;
mod decode_verify;
mod emulator_serve;
mod env;
mod errors;
mod generate;
mod interrupt;
mod produce;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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

/// `streamproof emulator serve` in the background, stopped when dropped.
struct Served {
    child: Child,
    endpoint: String,
}

impl Served {
    /// Starts `command` (an `emulator serve` invocation) and returns once it prints its endpoint.
    /// Its stdout is read until it exits, so what it prints later never meets a closed pipe.
    fn start(mut command: Command) -> Served {
        let child = command.stdout(Stdio::piped()).spawn().expect("the streamproof binary starts");
        // Owned by the guard from here on, so the server stops even if the caller fails.
        let mut served = Served { child, endpoint: String::new() };
        let stdout = served.child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // Keep reading after the receiver is gone: the server must be able to print.
                let _ = tx.send(line);
            }
        });
        loop {
            let line =
                lines.recv_timeout(Duration::from_secs(30)).expect("serve prints its endpoint within 30 s");
            if let Some(endpoint) = line.strip_prefix("export AWS_ENDPOINT_URL=") {
                served.endpoint = endpoint.to_owned();
                return served;
            }
        }
    }

    /// Stops the server and returns what it wrote to stderr, when that was piped.
    fn stop(mut self) -> Vec<u8> {
        let _ = self.child.kill();
        let mut log = Vec::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            std::io::Read::read_to_end(&mut stderr, &mut log).expect("reading the server's log");
        }
        log
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `cargo xtask clients setup` installs the client tooling; xtask computes the same default.
fn clients_home() -> PathBuf {
    if let Some(dir) = std::env::var_os("STREAMPROOF_CLIENTS_HOME") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").expect("HOME is set")).join(".cache"));
    cache.join("streamproof/clients")
}

/// Runs `command`; its output in the error when it fails.
fn succeed(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|err| format!("cannot run {command:?}: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed with {}:\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
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

#[test]
fn many_faults_print_twenty_lines_and_report_json_holds_them_all() {
    let reports = tempfile::tempdir().unwrap();
    let path = test_data("small.toml");
    let ordinals: Vec<String> = (0..25).map(|i| (100 + 7 * i).to_string()).collect();
    let mut args = vec![path.to_str().unwrap()];
    for ordinal in &ordinals {
        args.extend(["--emulator-drop-record", ordinal.as_str()]);
    }
    let output = run(&args, reports.path());
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "stdout: {stdout}\nstderr: {}", text(&output.stderr));
    let listed: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "injected faults (ground truth, the emulator's log of the scenario's [faults] and test knobs):")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(listed.len(), 21, "20 faults and a line for the rest: {stdout}");
    assert!(listed[..20].iter().all(|l| l.contains("dropped Kinesis entry #")), "{stdout}");
    assert_eq!(listed[20], "  … and 5 more (see report.json)");

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(find_report(reports.path())).unwrap()).unwrap();
    let truth = report["ground_truth"].as_array().expect("ground truth in report.json");
    assert_eq!(truth.len(), 25);
    assert!(truth.iter().all(|fault| fault["kind"] == "drop_kinesis"), "{truth:?}");
    // Each dropped entry's seq is a lost record, and the lost records are exactly those.
    let mut dropped: Vec<u64> = truth.iter().map(|fault| fault["seq"].as_u64().expect("a seq")).collect();
    dropped.sort_unstable();
    let lost: Vec<u64> = report["lost_ranges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|range| range["start"].as_u64().unwrap()..=range["end"].as_u64().unwrap())
        .collect();
    assert_eq!(dropped, lost);
}

fn find_report(dir: &Path) -> PathBuf {
    let run_dir = std::fs::read_dir(dir).unwrap().next().expect("a run directory").unwrap().path();
    run_dir.join("report.json")
}
