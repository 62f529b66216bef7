//! `streamproof produce` against a served emulator: parts write disjoint expectation files that
//! together cover the workload, and bad input or an unreachable endpoint get their exit codes.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::{streamproof, test_data, text};

/// A served emulator, stopped when dropped.
struct Served {
    child: Child,
    endpoint: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Served {
    let child = Command::new(env!("CARGO_BIN_EXE_streamproof"))
        .args(["emulator", "serve", "--port", "0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the streamproof binary starts");
    // Owned by the guard from here on, so the server stops even if the test fails below.
    let mut served = Served { child, endpoint: String::new() };
    let stdout = served.child.stdout.take().expect("piped stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
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

fn produce(args: &[&str]) -> Output {
    streamproof(&[&["produce"], args].concat())
}

fn create_stream(endpoint: &str, name: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let clients = environment::Endpoint::local(endpoint.to_owned()).clients().await;
        clients.kinesis.create_stream().stream_name(name).shard_count(2).send().await.expect("create stream");
    });
}

#[test]
fn two_parts_write_disjoint_expectations_covering_every_seq() {
    let served = serve();
    create_stream(&served.endpoint, "parts");
    let dir = tempfile::tempdir().unwrap();
    let scenario = test_data("small.toml");
    let mut expectations = Vec::new();
    for part in ["0/2", "1/2"] {
        let file = dir.path().join(format!("expectation-{}.json", &part[..1]));
        let output = produce(&[
            scenario.to_str().unwrap(),
            "--endpoint",
            &served.endpoint,
            "--stream",
            "parts",
            "--part",
            part,
            "--run-id",
            "shared-run",
            "--expectation",
            file.to_str().unwrap(),
        ]);
        let stdout = text(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", text(&output.stderr));
        assert!(stdout.contains("0 failed"), "{stdout}");
        expectations.push(producer::Expectation::read(&file).expect("a readable expectation"));
    }
    let (a, b) = (&expectations[0], &expectations[1]);
    assert_eq!((a.run_id.as_str(), b.run_id.as_str()), ("shared-run", "shared-run"));
    assert!(a.acknowledged() > 0 && b.acknowledged() > 0);
    assert_eq!(a.acknowledged() + b.acknowledged(), 3_000);
    assert!((0..3_000).all(|seq| a.expects(seq) != b.expects(seq)), "every seq in exactly one part");
}

#[test]
fn produce_exits_2_on_bad_input_and_3_when_the_endpoint_is_down() {
    let scenario = test_data("small.toml");
    let scenario = scenario.to_str().unwrap();
    let down = "http://127.0.0.1:9";
    let cases: [(&[&str], u8, &str); 4] = [
        (&[scenario, "--endpoint", down], 2, "needs --stream"),
        (&[scenario, "--endpoint", down, "--stream", "s", "--part", "1/2"], 2, "needs --run-id"),
        (
            &[scenario, "--endpoint", down, "--stream", "s", "--part", "2/2", "--run-id", "r"],
            2,
            "invalid part",
        ),
        (&["missing.toml", "--endpoint", down, "--stream", "s"], 2, "missing.toml"),
    ];
    for (args, code, message) in cases {
        let output = produce(args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(i32::from(code)), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.json");
    let output = produce(&[
        scenario,
        "--endpoint",
        down,
        "--stream",
        "s",
        "--max-attempts",
        "1",
        "--expectation",
        file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(3), "stderr: {}", text(&output.stderr));
    assert!(!Path::new(&file).exists(), "no expectation when nothing could be sent");
}
