//! Teardown: after a run on LocalStack that passes or fails, nothing of LocalStack is left; and
//! SIGINT and SIGTERM during `streamproof run`: the producer stops, a partial report marked incomplete
//! is written, what the run started is torn down, and the process exits 130.
//!
//! Each test runs the binary as the leader of its own process group, reads its log on stderr to learn
//! the backend's port (and, for LocalStack, its process group) and to see records acknowledged,
//! sends the signal with `kill`, and then checks the exit code, the report, that the port is closed
//! and that no process of either group is left.

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::test_data;

/// A `streamproof run` in the background, killed (group and all) if the test fails first.
struct Running {
    child: Child,
    /// Lines of stderr without ANSI colours, as they arrive.
    lines: mpsc::Receiver<String>,
    /// Every stderr line read so far, for failure messages.
    seen: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal(self.child.id(), "KILL");
            let _ = self.child.wait();
        }
    }
}

impl Running {
    fn start(scenario: &Path, extra: &[&str], report_dir: &Path) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_streamproof"))
            .arg("run")
            .arg(scenario)
            .args(extra)
            .arg("--report-dir")
            .arg(report_dir)
            .env("RUST_LOG", "warn,streamproof=info,producer=info,environment=info")
            .env("NO_COLOR", "1")
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the streamproof binary starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(strip_ansi(&line)).is_err() {
                    break;
                }
            }
        });
        Running { child, lines, seen: Vec::new() }
    }

    /// The first stderr line for which `found` returns a value, within `deadline`.
    fn wait_for<T>(&mut self, deadline: Duration, what: &str, found: impl Fn(&str) -> Option<T>) -> T {
        let until = Instant::now() + deadline;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let value = found(&line);
                    self.seen.push(line);
                    if let Some(value) = value {
                        return value;
                    }
                }
                Err(_) => panic!("no {what} within {deadline:?}; stderr so far:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Waits for the process to exit, up to `deadline`, and returns its status and stdout.
    fn wait_exit(mut self, deadline: Duration) -> (ExitStatus, String, String) {
        let until = Instant::now() + deadline;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the run") {
                break status;
            }
            assert!(Instant::now() < until, "the run did not exit within {deadline:?} of the signal");
            // Poll the exit and drain the log meanwhile; the channel wait is the pacing.
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(50)) {
                self.seen.push(line);
            }
        };
        self.seen.extend(self.lines.try_iter());
        let mut stdout = String::new();
        if let Some(mut pipe) = self.child.stdout.take() {
            std::io::Read::read_to_string(&mut pipe, &mut stdout).expect("reading stdout");
        }
        (status, stdout, self.seen.join("\n"))
    }
}

/// Sends `signal` (a name such as `INT`) to `pid` with kill(1).
fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").args(["-s", name, &pid.to_string()]).status().expect("kill(1) runs");
    assert!(status.success(), "kill -s {name} {pid} failed");
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of `name=<digits>` in a log line.
fn number_field(line: &str, name: &str) -> Option<u64> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    let digits: String = line[start..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The port of `endpoint=http://127.0.0.1:<port>` in the "backend ready" line.
fn backend_port(line: &str) -> Option<u16> {
    if !line.contains("backend ready") {
        return None;
    }
    let rest = &line[line.find("endpoint=http://127.0.0.1:")? + "endpoint=http://127.0.0.1:".len()..];
    rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}

/// The acknowledged count of a producer progress line, once it is above zero.
fn acknowledged(line: &str) -> Option<u64> {
    if !line.contains("producing") {
        return None;
    }
    number_field(line, "acknowledged").filter(|acknowledged| *acknowledged > 0)
}

/// Processes whose process group is `group`, from `/proc`.
fn processes_in_group(group: u32) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc is readable").flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (comm) state ppid pgrp …; comm may contain spaces, so split after the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let pgrp = rest.split_whitespace().nth(2).and_then(|field| field.parse::<u32>().ok());
        if pgrp == Some(group) {
            found.push(format!("{head})"));
        }
    }
    found
}

fn port_accepts(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_ok()
}

fn report_dir_of(reports: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(reports).expect("the report directory exists").map(|e| e.unwrap().path()).collect();
    assert_eq!(dirs.len(), 1, "one run directory: {dirs:?}");
    dirs.pop().unwrap()
}

/// Reads the partial report and checks what an interrupted run must say; returns it.
fn incomplete_report(
    reports: &Path,
    cause: &str,
    phase: &str,
    acknowledged_before: u64,
) -> serde_json::Value {
    let dir = report_dir_of(reports);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).expect("report.json")).unwrap();
    let reason = report["incomplete"].as_str().unwrap_or_else(|| panic!("not incomplete: {report:#}"));
    assert_eq!(reason, format!("interrupted by {cause} while {phase}"));
    assert_eq!(report["passed"], false);
    let counts = &report["counts"];
    let number = |name: &str| counts[name].as_u64().unwrap_or_else(|| panic!("counts.{name}"));
    assert!(number("acknowledged") >= acknowledged_before, "{counts}");
    assert_eq!(number("acknowledged") + number("failed_to_send"), number("generated"), "{counts}");
    assert_eq!(
        number("delivered") + number("duplicated_records") + number("lost"),
        number("acknowledged") + number("delivered_unacknowledged"),
        "{counts}"
    );
    assert!(number("delivered") > 0, "records delivered before the signal were read: {counts}");
    // CI must not read an interrupted run as a pass.
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
    assert!(junit.contains("run completed") && junit.contains("<error"), "{junit}");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(html.contains("INCOMPLETE"), "report.html says so");
    report
}

#[test]
fn sigint_while_producing_writes_an_incomplete_report_and_leaves_nothing_behind() {
    let reports = tempfile::tempdir().unwrap();
    let mut run = Running::start(&test_data("endless.toml"), &[], reports.path());
    let group = run.child.id();
    let port = run.wait_for(Duration::from_secs(60), "backend ready line", backend_port);
    let acknowledged = run.wait_for(Duration::from_secs(60), "acknowledged records", acknowledged);
    signal(group, "INT");
    let (status, stdout, stderr) = run.wait_exit(Duration::from_secs(60));

    assert_eq!(status.code(), Some(130), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("INCOMPLETE: run"), "{stdout}");
    let report = incomplete_report(reports.path(), "SIGINT", "producing", acknowledged);
    // The producer stopped: far from the million events of the scenario.
    assert!(report["counts"]["generated"].as_u64().unwrap() < 100_000, "{}", report["counts"]);
    assert!(!port_accepts(port), "the emulator's port {port} is closed");
    assert_eq!(processes_in_group(group), Vec::<String>::new(), "no process of the run is left");
}

#[test]
fn a_second_signal_skips_the_report_and_goes_straight_to_teardown() {
    let reports = tempfile::tempdir().unwrap();
    let mut run = Running::start(&test_data("endless.toml"), &[], reports.path());
    let group = run.child.id();
    let port = run.wait_for(Duration::from_secs(60), "backend ready line", backend_port);
    run.wait_for(Duration::from_secs(60), "acknowledged records", acknowledged);
    // Two different signals, so the kernel cannot merge them into one; sent within microseconds,
    // long before a stopped producer, a last read of the bucket and three report files could be done.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(group).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT sent");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM sent");
    let (status, stdout, stderr) = run.wait_exit(Duration::from_secs(60));

    assert_eq!(status.code(), Some(130), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains("stop requested again: skipping to teardown"), "{stderr}");
    assert!(stderr.contains("no report was written"), "{stderr}");
    assert!(!stdout.contains("report:"), "{stdout}");
    let reports_written: Vec<PathBuf> = walk(reports.path());
    assert!(reports_written.iter().all(|path| !path.ends_with("report.json")), "{reports_written:?}");
    assert!(!port_accepts(port), "the emulator's port {port} is closed");
    assert_eq!(processes_in_group(group), Vec::<String>::new(), "no process of the run is left");
}

/// Every file under `dir`, at any depth.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() { walk(&path) } else { vec![path] }
        })
        .collect()
}

#[test]
fn records_queued_at_the_interruption_are_listed_as_not_acknowledged() {
    // One shard throttles a producer that runs as fast as it can, so its lanes hold thousands of
    // records when SIGINT arrives: those are given up, listed as failed to send, never as lost.
    let reports = tempfile::tempdir().unwrap();
    let mut run = Running::start(&test_data("flood.toml"), &[], reports.path());
    let group = run.child.id();
    run.wait_for(Duration::from_secs(60), "backend ready line", backend_port);
    let acknowledged = run.wait_for(Duration::from_secs(60), "acknowledged records", acknowledged);
    signal(group, "INT");
    let (status, stdout, stderr) = run.wait_exit(Duration::from_secs(60));

    assert_eq!(status.code(), Some(130), "stdout: {stdout}\nstderr: {stderr}");
    let report = incomplete_report(reports.path(), "SIGINT", "producing", acknowledged);
    let counts = &report["counts"];
    let failed = counts["failed_to_send"].as_u64().unwrap();
    assert!(failed > 1_000, "queued records given up: {counts}");
    // Only acknowledged records can be lost, and only those still in Firehose's buffer (1 s, one
    // shard: at most about 1,000 records/s) when the bucket was read.
    assert!(counts["lost"].as_u64().unwrap() < failed, "{counts}");
    assert_eq!(processes_in_group(group), Vec::<String>::new(), "no process of the run is left");
}

#[test]
fn sigterm_while_waiting_for_delivery_stops_the_wait() {
    // Every record is sent quickly, but one is dropped by the emulator, so the run would wait out the
    // scenario's timeout (60 s) for it; SIGTERM ends the wait at once.
    let reports = tempfile::tempdir().unwrap();
    let scenario = test_data("small.toml");
    let long_wait = reports.path().join("small-long-wait.toml");
    let text =
        std::fs::read_to_string(&scenario).unwrap().replace("timeout_seconds = 8", "timeout_seconds = 600");
    assert!(text.contains("timeout_seconds = 600"));
    std::fs::write(&long_wait, text).unwrap();
    let report_dir = reports.path().join("reports");
    let mut run = Running::start(&long_wait, &["--emulator-drop-record", "5"], &report_dir);
    let group = run.child.id();
    let port = run.wait_for(Duration::from_secs(60), "backend ready line", backend_port);
    let acknowledged = run.wait_for(Duration::from_secs(120), "production finished line", |line| {
        line.contains("production finished").then(|| number_field(line, "acknowledged")).flatten()
    });
    assert_eq!(acknowledged, 3_000);
    signal(group, "TERM");
    let (status, stdout, stderr) = run.wait_exit(Duration::from_secs(60));

    assert_eq!(status.code(), Some(130), "stdout: {stdout}\nstderr: {stderr}");
    let report = incomplete_report(&report_dir, "SIGTERM", "waiting for delivery", acknowledged);
    assert_eq!(report["counts"]["generated"], 3_000);
    assert!(report["counts"]["lost"].as_u64().unwrap() >= 1, "the dropped record is not there");
    assert!(!port_accepts(port), "the emulator's port {port} is closed");
    assert_eq!(processes_in_group(group), Vec::<String>::new(), "no process of the run is left");
}

#[test]
#[ignore = "needs LocalStack host mode (cargo xtask localstack setup); cargo xtask ci runs it"]
fn localstack_host_run_interrupted_stops_the_localstack_process_group() {
    let reports = tempfile::tempdir().unwrap();
    let mut run =
        Running::start(&test_data("endless.toml"), &["--backend", "localstack-host"], reports.path());
    let group = run.child.id();
    let (port, localstack_group) =
        run.wait_for(Duration::from_secs(300), "backend ready line with LocalStack's pid", |line| {
            Some((backend_port(line)?, u32::try_from(number_field(line, "pid")?).ok()?))
        });
    assert!(!processes_in_group(localstack_group).is_empty(), "LocalStack runs in its own group");
    let acknowledged = run.wait_for(Duration::from_secs(300), "acknowledged records", acknowledged);
    signal(group, "INT");
    let (status, stdout, stderr) = run.wait_exit(Duration::from_secs(120));

    assert_eq!(status.code(), Some(130), "stdout: {stdout}\nstderr: {stderr}");
    incomplete_report(reports.path(), "SIGINT", "producing", acknowledged);
    assert_eq!(processes_in_group(localstack_group), Vec::<String>::new(), "LocalStack's group is gone");
    assert_eq!(processes_in_group(group), Vec::<String>::new(), "no process of the run is left");
    assert!(!port_accepts(port), "LocalStack's port {port} is closed");
}

#[test]
#[ignore = "needs LocalStack host mode (cargo xtask localstack setup); cargo xtask ci runs it"]
fn localstack_host_interrupted_while_starting_leaves_no_process() {
    let reports = tempfile::tempdir().unwrap();
    let mut run =
        Running::start(&test_data("endless.toml"), &["--backend", "localstack-host"], reports.path());
    let group = run.child.id();
    let localstack_group = run.wait_for(Duration::from_secs(120), "LocalStack started line", |line| {
        line.contains("LocalStack host process started").then(|| number_field(line, "pid")).flatten()
    });
    signal(group, "TERM");
    let (status, stdout, stderr) = run.wait_exit(Duration::from_secs(120));

    assert_eq!(status.code(), Some(130), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains("interrupted by SIGTERM while starting the backend"), "{stderr}");
    assert_eq!(
        processes_in_group(u32::try_from(localstack_group).unwrap()),
        Vec::<String>::new(),
        "LocalStack's group is gone"
    );
    assert_eq!(processes_in_group(group), Vec::<String>::new(), "no process of the run is left");
    assert!(std::fs::read_dir(reports.path()).unwrap().next().is_none(), "nothing to report");
}

/// Runs `scenario` on LocalStack host mode to its end and checks that nothing of LocalStack is
/// left: its process group, its port, and its per-run directory. Returns the exit status and stdout.
fn localstack_run_leaves_nothing(scenario: &Path) -> (ExitStatus, String) {
    let reports = tempfile::tempdir().unwrap();
    let mut run = Running::start(scenario, &["--backend", "localstack-host"], reports.path());
    let group = run.child.id();
    let (port, localstack_group) =
        run.wait_for(Duration::from_secs(300), "backend ready line with LocalStack's pid", |line| {
            Some((backend_port(line)?, u32::try_from(number_field(line, "pid")?).ok()?))
        });
    let home = environment::default_localstack_home().expect("a home directory");
    let run_dir = home.join("runs").join(format!("{group}-{port}"));
    assert!(run_dir.is_dir(), "LocalStack's run directory {} exists while it runs", run_dir.display());
    let (status, stdout, stderr) = run.wait_exit(Duration::from_secs(600));
    assert!(stdout.contains("report: "), "a report is written\nstdout: {stdout}\nstderr: {stderr}");
    assert_eq!(processes_in_group(localstack_group), Vec::<String>::new(), "LocalStack's group is gone");
    assert_eq!(processes_in_group(group), Vec::<String>::new(), "no process of the run is left");
    assert!(!port_accepts(port), "LocalStack's port {port} is closed");
    assert!(!run_dir.exists(), "the run directory {} is removed", run_dir.display());
    (status, stdout)
}

#[test]
#[ignore = "needs LocalStack host mode (cargo xtask localstack setup); cargo xtask ci runs it"]
fn localstack_host_run_that_passes_leaves_nothing_behind() {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/kinesis-to-s3-small.toml");
    let (status, stdout) = localstack_run_leaves_nothing(&scenario);
    assert_eq!(status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("1500 delivered, 0 lost"), "{stdout}");
    assert!(stdout.contains("N/A   buffering"), "buffering is not applicable on LocalStack: {stdout}");
}

#[test]
#[ignore = "needs LocalStack host mode (cargo xtask localstack setup); cargo xtask ci runs it"]
fn localstack_host_run_that_fails_leaves_nothing_behind() {
    // A constant partition key puts every record on one of two shards: the shard-balance assertion
    // fails on any backend, LocalStack included.
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("one-key.toml");
    std::fs::write(
        &scenario,
        "name = \"one-key\"\n\
         [pipeline]\nshards = 2\nsource = \"kinesis\"\nbucket = \"streamproof-one-key\"\n\
         [pipeline.buffering]\nsize_mb = 1\ninterval_seconds = 1\n\
         [workload]\nevents = 100\nschema = \"clickstream\"\nseed = 3\n\
         [workload.key]\nstrategy = \"constant\"\nvalue = \"one\"\n\
         [expect]\nmax_latency_seconds = 60\ntimeout_seconds = 120\nmax_shard_share = 0.5\n",
    )
    .unwrap();
    let (status, stdout) = localstack_run_leaves_nothing(&scenario);
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  shard balance"), "{stdout}");
}
