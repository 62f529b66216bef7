//! `streamproof env up|down|status`: an environment held between commands, and torn down by `down`.

use std::path::Path;
use std::process::{Command, Output};

use crate::{test_data, text};

/// `streamproof env <args>` with its state under `state_dir`.
fn env(state_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_streamproof"))
        .arg("env")
        .args(args)
        .env("STREAMPROOF_ENV_DIR", state_dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the streamproof binary runs")
}

/// The value of `export <name>=<value>` in `stdout`.
fn export(stdout: &str, name: &str) -> Option<String> {
    stdout.lines().find_map(|line| line.strip_prefix(&format!("export {name}=")).map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_up_holds_a_provisioned_pipeline_until_env_down_tears_it_down() {
    let state = tempfile::tempdir().unwrap();
    let scenario = test_data("small.toml");
    let up = env(state.path(), &["up", scenario.to_str().unwrap(), "--name", "repro"]);
    let stdout = text(&up.stdout);
    assert_eq!(up.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", text(&up.stderr));
    let url = export(&stdout, "AWS_ENDPOINT_URL").expect("an export line for the endpoint");
    assert_eq!(export(&stdout, "AWS_ACCESS_KEY_ID").as_deref(), Some("test"));
    let held: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.path().join("repro.json")).unwrap()).unwrap();
    let pid = held["pid"].as_u64().unwrap() as u32;
    let stream = held["resources"]["stream"].as_str().expect("a Kinesis-source pipeline has a stream");

    // The pipeline is there, through the SDK, from another process than the one holding it.
    let clients = environment::Endpoint::local(url.clone()).clients().await;
    let summary = clients.kinesis.describe_stream_summary().stream_name(stream).send().await.unwrap();
    assert_eq!(summary.stream_description_summary().unwrap().stream_name(), stream);
    let bucket = held["resources"]["bucket"].as_str().unwrap();
    clients.s3.head_bucket().bucket(bucket).send().await.unwrap();

    let again = env(state.path(), &["up", "--name", "repro"]);
    assert_eq!(again.status.code(), Some(2), "a second `up` of the same name is refused");
    assert!(text(&again.stderr).contains("already up"), "{}", text(&again.stderr));

    let status = env(state.path(), &["status"]);
    assert!(text(&status.stdout).contains(&format!("repro: embedded at {url} (pid {pid}): up")));

    let down = env(state.path(), &["down", "--name", "repro"]);
    assert_eq!(down.status.code(), Some(0), "stderr: {}", text(&down.stderr));
    assert!(!environment::process_alive(pid), "the holder {pid} has exited");
    assert!(!state.path().join("repro.json").exists(), "the state file is removed");
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the emulator's port is free again");
    assert!(text(&env(state.path(), &["status"]).stdout).contains("no environments are up"));
}

#[test]
fn env_up_of_a_search_scenario_prints_the_cluster_and_the_index() {
    let state = tempfile::tempdir().unwrap();
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/elasticsearch-rotated-index.toml");
    let up = env(state.path(), &["up", scenario.to_str().unwrap(), "--name", "search"]);
    let stdout = text(&up.stdout);
    assert_eq!(up.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", text(&up.stderr));
    let url = export(&stdout, "AWS_ENDPOINT_URL").expect("an export line for the endpoint");
    assert!(stdout.contains(&format!("search endpoint  {url}/_opensearch/streamproof")), "{stdout}");
    // A rotated index: every `events-env-search-<period>` index.
    assert!(stdout.contains("index            events-env-search-*"), "{stdout}");
    let held: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.path().join("search.json")).unwrap()).unwrap();
    assert_eq!(held["resources"]["search"]["index"], "events-env-search-*");
    let down = env(state.path(), &["down", "--name", "search"]);
    assert_eq!(down.status.code(), Some(0), "stderr: {}", text(&down.stderr));
}

/// The reproduce-by-hand loop for a search destination: hold the pipeline, produce into it, then
/// `streamproof verify` the index and the failed-documents backup; a wrong index fails the check.
#[test]
fn verify_checks_the_index_and_backup_of_a_held_search_pipeline() {
    let state = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/opensearch-failed-documents.toml");
    let scenario = scenario.to_str().unwrap();
    let up = env(state.path(), &["up", scenario, "--name", "verify-search"]);
    assert_eq!(up.status.code(), Some(0), "stderr: {}", text(&up.stderr));
    let url = export(&text(&up.stdout), "AWS_ENDPOINT_URL").unwrap();
    let held: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.path().join("verify-search.json")).unwrap()).unwrap();
    let resources = &held["resources"];
    let (index, cluster) =
        (resources["search"]["index"].as_str().unwrap(), resources["search"]["endpoint"].as_str().unwrap());
    let expectation = work.path().join("expectation.json");
    let produce = crate::streamproof(&[
        "produce",
        scenario,
        "--endpoint",
        &url,
        "--delivery-stream",
        resources["delivery_stream"].as_str().unwrap(),
        "--expectation",
        expectation.to_str().unwrap(),
    ]);
    assert_eq!(produce.status.code(), Some(0), "stderr: {}", text(&produce.stderr));
    let verify = |index: &str, timeout: &str| {
        crate::streamproof(&[
            "verify",
            "--expectation",
            expectation.to_str().unwrap(),
            "--scenario",
            scenario,
            "--bucket",
            resources["bucket"].as_str().unwrap(),
            "--endpoint",
            &url,
            "--index",
            index,
            "--search-endpoint",
            cluster,
            "--timeout",
            timeout,
            "--report-dir",
            work.path().to_str().unwrap(),
        ])
    };

    let passed = verify(index, "60");
    let stdout = text(&passed.stdout);
    assert_eq!(passed.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", text(&passed.stderr));
    assert!(stdout.contains("PASS  indexed or failed"), "{stdout}");
    assert!(stdout.contains("AmazonOpenSearchService-failed/"), "{stdout}");

    // The failed documents read back as the original records, ready to re-index.
    let report = stdout.lines().find_map(|line| line.strip_prefix("report: ")).expect("a report line");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    let failed = report["search"]["failed_documents"].as_u64().unwrap();
    assert!(failed > 0, "the scenario injects index failures");
    let bucket = resources["bucket"].as_str().unwrap();
    let decoded = crate::streamproof(&[
        "decode",
        &format!("s3://{bucket}/backup/AmazonOpenSearchService-failed/"),
        "--endpoint",
        &url,
        "--raw-data",
    ]);
    assert_eq!(decoded.status.code(), Some(0), "stderr: {}", text(&decoded.stderr));
    let run_id = report["run_id"].as_str().unwrap();
    let records: Vec<serde_json::Value> =
        text(&decoded.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(records.len() as u64, failed);
    assert!(records.iter().all(|record| record["_streamproof"]["run"] == run_id), "{records:?}");

    // Another index holds none of the run's records: they are in neither place.
    let wrong = verify("no-such-index", "0");
    let stdout = text(&wrong.stdout);
    assert_eq!(wrong.status.code(), Some(1), "stdout: {stdout}\nstderr: {}", text(&wrong.stderr));
    assert!(stdout.contains("FAIL  indexed or failed"), "{stdout}");

    assert_eq!(env(state.path(), &["down", "--name", "verify-search"]).status.code(), Some(0));
}

#[test]
fn env_down_of_an_environment_that_is_not_up_says_so() {
    let state = tempfile::tempdir().unwrap();
    let down = env(state.path(), &["down", "--name", "nothing"]);
    assert_eq!(down.status.code(), Some(0));
    assert!(text(&down.stdout).contains("no environment named \"nothing\" is up"));
}

#[test]
fn the_localstack_container_backend_without_docker_fails_clearly_and_leaves_nothing() {
    let state = tempfile::tempdir().unwrap();
    let up = Command::new(env!("CARGO_BIN_EXE_streamproof"))
        .args(["env", "up", "--backend", "localstack"])
        .env("STREAMPROOF_ENV_DIR", state.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let stderr = text(&up.stderr);
    assert_eq!(up.status.code(), Some(3), "stderr: {stderr}");
    assert!(stderr.contains("cannot reach a Docker daemon"), "{stderr}");
    assert!(stderr.contains("--backend localstack-host"), "the error names the alternative: {stderr}");
    assert!(!state.path().join("default.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_keep_leaves_its_pipeline_on_a_held_environment_and_one_without_does_not() {
    let state = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let up = env(state.path(), &["up", "--name", "keep"]);
    assert_eq!(up.status.code(), Some(0), "stderr: {}", text(&up.stderr));
    let url = export(&text(&up.stdout), "AWS_ENDPOINT_URL").unwrap();
    let clients = environment::Endpoint::local(url.clone()).clients().await;
    let scenario = test_data("small.toml");
    let run = |keep: bool| {
        let mut args = vec!["--backend", "endpoint", "--endpoint", url.as_str()];
        if keep {
            args.push("--keep");
        }
        crate::run(&[&[scenario.to_str().unwrap()], args.as_slice()].concat(), reports.path())
    };

    let kept = run(true);
    let stdout = text(&kept.stdout);
    assert_eq!(kept.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", text(&kept.stderr));
    let line = stdout.lines().find(|line| line.starts_with("kept: stream ")).expect("a kept line");
    let stream = line["kept: stream ".len()..].split(',').next().unwrap();
    clients.kinesis.describe_stream_summary().stream_name(stream).send().await.expect("the stream is kept");

    let torn_down = run(false);
    let stdout = text(&torn_down.stdout);
    assert_eq!(torn_down.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("kept:"), "{stdout}");
    let streams = clients.kinesis.list_streams().send().await.unwrap();
    assert_eq!(streams.stream_names(), [stream], "only the kept run's stream remains");

    assert_eq!(env(state.path(), &["down", "--name", "keep"]).status.code(), Some(0));
}
