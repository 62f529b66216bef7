//! Capacity testing: the sweep on the embedded backend against the plan's predictions, the planner's
//! routing against the emulator's, and `streamproof capacity plan` as users see it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use environment::{Backend, EmbeddedOptions, Environment};
use producer::capacity::{Recommendation, shard_for_key};
use streamproof::capacity::{SweepOptions, sweep};

use crate::{streamproof, text};

fn scenario_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(name)
}

/// A sweep on the embedded backend at `rate` for `seconds` per step, with its reports in `dir`.
fn embedded_sweep(
    shard_counts: Vec<u32>,
    rate: f64,
    seconds: u64,
    reshard: bool,
    dir: &Path,
) -> SweepOptions {
    SweepOptions {
        backend: Backend::Embedded(EmbeddedOptions::default()),
        shard_counts,
        rate,
        duration: Duration::from_secs(seconds),
        headroom: 0.8,
        reshard,
        report_dir: dir.to_owned(),
    }
}

#[test]
fn sweep_throttles_one_and_two_shards_but_not_four_as_the_plan_predicts() {
    let scenario = scenario::load(&scenario_file("capacity-uniform.toml")).expect("a valid scenario");
    let reports = tempfile::tempdir().unwrap();
    let options = embedded_sweep(vec![1, 2, 4], 2500.0, 3, false, reports.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sweep = runtime.block_on(sweep(&scenario, &options)).expect("the sweep completes");

    assert!(sweep.throttling_modelled, "the embedded emulator enforces per-shard limits");
    assert_eq!(sweep.plan.recommendation, Recommendation::Shards { shards: 4 });
    let shards: Vec<u32> = sweep.steps.iter().map(|s| s.shards).collect();
    assert_eq!(shards, [1, 2, 4]);
    for step in &sweep.steps {
        let summary = format!("{step:?}");
        assert_eq!(step.sent, 7500, "{summary}");
        // Throttling delays records but loses none: every step delivers everything it sent.
        assert_eq!((step.acknowledged, step.failed), (7500, 0), "{summary}");
        assert_eq!((step.delivered, step.lost, step.duplicated), (7500, 0, 0), "{summary}");
        assert!((step.completeness - 1.0).abs() < f64::EPSILON, "{summary}");
        assert!(step.delivery_p50_ms.is_some() && step.put_p99_ms > 0.0, "{summary}");
        // The measurement agrees with the prediction: throttled exactly where the plan says so.
        assert_eq!(step.throttled > 0, step.predicted.throttles, "{summary}");
    }
    let [one, two, four] = &sweep.steps[..] else { unreachable!("three steps") };
    assert!(one.throttled > 0 && one.retries > 0, "{one:?}");
    assert!(two.throttled > 0, "{two:?}");
    assert_eq!((four.throttled, four.retries), (0, 0), "{four:?}");
    assert!(one.throttled_fraction > two.throttled_fraction, "{one:?}\n{two:?}");
    // Rates are not asserted: they divide by wall time, which a busy machine stretches. The counts
    // above (throttled exactly where one shard's 1,000 records/s cannot take 2,500) say the same.

    let paths = sweep.write().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&paths.json).unwrap()).unwrap();
    assert_eq!(json["steps"].as_array().unwrap().len(), 3);
    assert_eq!(json["steps"][2]["throttled"], 0);
    assert_eq!(json["steps"][0]["predicted"]["throttles"], true);
    assert_eq!(json["plan"]["recommendation"]["shards"], 4);
    let html = std::fs::read_to_string(&paths.html).unwrap();
    assert!(html.contains("<svg id=\"capacity\""), "{html}");
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 3);
    assert_eq!(html.matches("<circle class=\"throttle\"").count(), 3);
    let table = sweep.table();
    assert!(table.contains("250% throttles,"), "{table}");
    assert!(!table.contains("does not throttle"), "{table}");
}

#[test]
fn a_reshard_sweep_doubles_each_step_halfway_and_says_what_it_cost() {
    let scenario = scenario::load(&scenario_file("capacity-uniform.toml")).expect("a valid scenario");
    let reports = tempfile::tempdir().unwrap();
    let options = embedded_sweep(vec![2], 2500.0, 4, true, reports.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sweep = runtime.block_on(sweep(&scenario, &options)).expect("the sweep completes");
    let [step] = &sweep.steps[..] else { panic!("one step: {:?}", sweep.steps) };
    let cost = step.reshard.as_ref().expect("the step resharded");
    assert_eq!(cost.to, 4);
    assert_eq!((cost.lost, cost.duplicated, cost.reordered), (0, 0, 0), "{cost:?}");
    // 2,500 records/s into 2 shards of 1,000: the parents throttle until the children open.
    assert!(cost.throttled > 0, "{cost:?}");
    assert!(cost.p99_before_ms.is_some() && cost.p99_during_ms.is_some() && cost.p99_after_ms.is_some());
    assert_eq!((step.delivered, step.lost), (10_000, 0), "{step:?}");
    let table = sweep.table();
    assert!(table.contains("live reshard halfway through each step"), "{table}");
    let json = serde_json::to_value(&sweep).unwrap();
    assert_eq!(json["steps"][0]["reshard"]["to"], 4);
}

#[test]
fn planner_routes_keys_to_the_shards_the_emulator_puts_them_on() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let environment = Environment::start(&Backend::Embedded(EmbeddedOptions::default())).await.unwrap();
        let clients = environment.endpoint().clients().await;
        for shards in [2u32, 3, 5, 8] {
            let stream = format!("routing-{shards}");
            clients
                .kinesis
                .create_stream()
                .stream_name(&stream)
                .shard_count(shards as i32)
                .send()
                .await
                .expect("create stream");
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let summary =
                    clients.kinesis.describe_stream_summary().stream_name(&stream).send().await.unwrap();
                let status = summary.stream_description_summary().map(|d| d.stream_status().as_str());
                if status == Some("ACTIVE") {
                    break;
                }
                assert!(Instant::now() < deadline, "stream {stream} not ACTIVE within 30 s: {status:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let mut used = std::collections::BTreeSet::new();
            for index in 0..40 {
                let key = format!("key-{index:06}");
                let put = clients
                    .kinesis
                    .put_record()
                    .stream_name(&stream)
                    .partition_key(&key)
                    .data(aws_sdk_kinesis::primitives::Blob::new(b"{}".to_vec()))
                    .send()
                    .await
                    .expect("put record");
                let planned = shard_for_key(&key, shards);
                assert_eq!(put.shard_id(), format!("shardId-{planned:012}"), "key {key} on {shards} shards");
                used.insert(planned);
            }
            assert_eq!(used.len(), shards as usize, "40 keys reach every one of {shards} shards");
        }
        environment.shutdown().await;
    });
}

#[test]
fn plan_of_a_constant_key_says_no_shard_count_helps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hot.toml");
    std::fs::write(
        &path,
        "name = \"hot\"\n[pipeline]\nshards = 2\nbucket = \"streamproof-hot\"\n\
         [workload]\nevents = 1000\nschema = \"clickstream\"\n\
         [workload.key]\nstrategy = \"constant\"\nvalue = \"tenant-1\"\n[expect]\n",
    )
    .unwrap();
    let json = dir.path().join("plan.json");
    let output = streamproof(&[
        "capacity",
        "plan",
        path.to_str().unwrap(),
        "--rate",
        "1500",
        "--shards",
        "1..8",
        "--sample",
        "2000",
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", text(&output.stderr));
    assert!(
        stdout.contains("no shard count helps: key \"tenant-1\" alone takes 150 % of a shard's limit"),
        "{stdout}"
    );
    // Eight rows, each with one shard throttled and the hottest at 150 %.
    let rows: Vec<&str> = stdout.lines().filter(|l| l.contains("150%")).collect();
    assert_eq!(rows.len(), 8, "{stdout}");
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(plan["recommendation"]["kind"], "key-too-hot");
    for count in plan["shard_counts"].as_array().unwrap() {
        assert_eq!(count["shards_over_limit"], 1, "{count}");
    }
}

#[test]
fn plan_recommends_four_shards_for_the_uniform_scenario() {
    let path = scenario_file("capacity-uniform.toml");
    let output =
        streamproof(&["capacity", "plan", path.to_str().unwrap(), "--rate", "2500", "--sample", "20000"]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", text(&output.stderr));
    assert!(stdout.contains("recommended: 4 shards"), "{stdout}");
    assert!(stdout.contains("per shard at 4 shards:"), "{stdout}");
    assert!(stdout.contains("on-demand"), "{stdout}");
}

#[test]
fn bad_capacity_options_exit_2_naming_the_option() {
    let path = scenario_file("capacity-uniform.toml");
    let path = path.to_str().unwrap();
    for (args, named) in [
        (vec!["--rate", "2500", "--shards", "0..4"], "--shards"),
        (vec!["--rate", "-5"], "--rate"),
        (vec!["--rate", "2500", "--headroom", "150%"], "--headroom"),
    ] {
        let output = streamproof(&[&["capacity", "plan", path], &args[..]].concat());
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
    let output = streamproof(&["capacity", "plan", "missing.toml", "--rate", "10"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("missing.toml"));
}
