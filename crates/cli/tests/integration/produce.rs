//! `streamproof produce` against a served emulator: parts write disjoint expectation files that
//! together cover the workload, and bad input, a remote endpoint without `--allow-remote` or an
//! unreachable endpoint get their exit codes.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::{Served, streamproof, test_data, text};

fn serve() -> Served {
    let mut command = Command::new(env!("CARGO_BIN_EXE_streamproof"));
    command.args(["emulator", "serve", "--port", "0"]).env("RUST_LOG", "warn").stderr(Stdio::inherit());
    Served::start(command)
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
    let cases: [(&[&str], u8, &str); 6] = [
        (&[scenario, "--endpoint", down], 2, "needs --stream"),
        (&[scenario, "--endpoint", down, "--stream", "s", "--part", "1/2"], 2, "needs --run-id"),
        (
            &[scenario, "--endpoint", down, "--stream", "s", "--part", "2/2", "--run-id", "r"],
            2,
            "invalid part",
        ),
        (&["missing.toml", "--endpoint", down, "--stream", "s"], 2, "missing.toml"),
        // A non-loopback endpoint may be a real account, and no endpoint means AWS itself.
        (&[scenario, "--endpoint", "http://203.0.113.7:4566", "--stream", "s"], 2, "--allow-remote"),
        (&[scenario, "--stream", "s"], 2, "--allow-remote"),
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

#[test]
fn verify_checks_the_union_of_every_parts_expectation() {
    let served = serve();
    let scenario_path = test_data("small.toml");
    let scenario = scenario::load(&scenario_path).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let provisioned = runtime.block_on(async {
        let clients = environment::Endpoint::local(served.endpoint.clone()).clients().await;
        environment::provision(&clients, &scenario, "union", Duration::from_secs(30)).await.unwrap()
    });
    let stream = provisioned.stream_name.clone().expect("a Kinesis-source pipeline");
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> =
        (0..2).map(|i| dir.path().join(format!("part-{i}.json")).to_str().unwrap().to_owned()).collect();
    for (part, file) in ["0/2", "1/2"].into_iter().zip(&files) {
        let output = produce(&[
            scenario_path.to_str().unwrap(),
            "--endpoint",
            &served.endpoint,
            "--stream",
            &stream,
            "--part",
            part,
            "--run-id",
            "union-run",
            "--expectation",
            file,
        ]);
        assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    }
    let reports = tempfile::tempdir().unwrap();
    let verify = |expectations: &[&str]| {
        let mut args = vec!["verify", "--expectation"];
        args.extend(expectations);
        args.extend([
            "--bucket",
            &provisioned.bucket,
            "--endpoint",
            &served.endpoint,
            "--scenario",
            scenario_path.to_str().unwrap(),
            "--timeout",
            "30",
            "--report-dir",
            reports.path().to_str().unwrap(),
        ]);
        streamproof(&args)
    };

    let both = verify(&[&files[0], &files[1]]);
    let stdout = text(&both.stdout);
    assert_eq!(both.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", text(&both.stderr));
    assert!(stdout.contains("3000 delivered, 0 lost"), "{stdout}");

    let one = verify(&[&files[0]]);
    assert_eq!(one.status.code(), Some(0), "one part verifies alone: {}", text(&one.stdout));
    let doubled = verify(&[&files[0], &files[0]]);
    assert_eq!(doubled.status.code(), Some(2));
    assert!(text(&doubled.stderr).contains("part 0/2 is given twice"), "{}", text(&doubled.stderr));
}
