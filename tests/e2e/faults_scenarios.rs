//! The classic delivery bugs of `scenarios/bugs/`, each run through the embedded emulator with its
//! faults and the real SDK clients: the verifier must flag the expected finding, and its numbers
//! must agree with the emulator's ground truth.

use std::collections::BTreeSet;
use std::path::PathBuf;

use emulator::FaultKind;
use environment::{Backend, FaultEvent};
use streamproof::run::{RunError, RunOptions, RunOutcome, run};

fn bug_scenario(name: &str) -> PathBuf {
    crate::scenario_path("bugs").join(name)
}

async fn run_bug(name: &str) -> RunOutcome {
    kept_run_bug(name).await.0
}

/// Like [`run_bug`], and keeps the report directory (`report.json`, `report.html`, `junit.xml`)
/// until the returned guard is dropped.
async fn kept_run_bug(name: &str) -> (RunOutcome, tempfile::TempDir) {
    let scenario = scenario::load(&bug_scenario(name)).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let options =
        RunOptions { backend: Backend::default(), report_dir: reports.path().to_path_buf(), keep: false };
    let outcome = run(&scenario, &options).await.expect("the harness runs");
    assert!(!outcome.report.passed(), "{name} should fail:\n{}", outcome.report.summary());
    assert_eq!(outcome.exit_code(), 1);
    assert_ground_truth_in_report_json(&outcome, scenario.faults.is_some());
    (outcome, reports)
}

/// `report.json` carries the fault log as `ground_truth`, one entry per fault, in log order, with
/// the seq read from the faulted record's envelope; `null` for a scenario without `[faults]`.
fn assert_ground_truth_in_report_json(outcome: &RunOutcome, has_faults: bool) {
    let text = std::fs::read_to_string(&outcome.report_path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["schema_version"], 3);
    if !has_faults {
        assert!(outcome.faults.is_empty());
        assert_eq!(json["ground_truth"], serde_json::Value::Null);
        return;
    }
    let truth = json["ground_truth"].as_array().expect("a ground_truth list");
    assert_eq!(truth.len(), outcome.faults.len());
    for (entry, fault) in truth.iter().zip(&outcome.faults) {
        let expected = streamproof::run::describe_fault(fault, &outcome.envelope_field);
        assert_eq!(entry["what"], expected.as_str());
        assert_eq!(entry["object"].as_str(), fault.object.as_deref());
        if !fault.data.is_empty() {
            assert_eq!(entry["seq"].as_u64(), Some(seq(fault, &outcome.envelope_field)));
        }
    }
}

/// The seq in a faulted record's envelope.
fn seq(fault: &FaultEvent, envelope_field: &str) -> u64 {
    let event: serde_json::Value = serde_json::from_slice(&fault.data).expect("a JSON record");
    event[envelope_field]["seq"].as_u64().expect("an envelope with a seq")
}

fn lost_seqs(outcome: &RunOutcome) -> BTreeSet<u64> {
    assert!(!outcome.report.lost_ranges_truncated);
    outcome.report.lost_ranges.iter().flat_map(|range| range.start..=range.end).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_after_retries_are_the_records_of_the_failed_puts() {
    let outcome = run_bug("duplicates-after-retries.toml").await;
    let counts = &outcome.report.counts;
    let failed: BTreeSet<&str> = outcome
        .faults
        .iter()
        .filter(|fault| matches!(fault.kind, FaultKind::S3PutFailure { .. }))
        .filter_map(|fault| fault.object.as_deref())
        .collect();
    assert!(!failed.is_empty(), "the plan fails some puts: {:?}", outcome.faults);
    assert!(!outcome.report.objects_truncated);
    let in_failed: u64 =
        outcome.report.objects.iter().filter(|o| failed.contains(o.key.as_str())).map(|o| o.records).sum();
    assert_eq!(counts.duplicated, in_failed);
    assert_eq!(counts.duplicated_records, in_failed);
    assert_eq!(counts.lost, 0);
    assert_eq!(counts.corrupt, 0);
    assert_eq!(counts.delivered + counts.duplicated_records, counts.acknowledged);
    assert!(outcome.report.summary().contains("FAIL"), "{}", outcome.report.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_held_past_the_latency_budget_are_late() {
    let outcome = run_bug("late-records.toml").await;
    let counts = &outcome.report.counts;
    assert_eq!(counts.lost, 0);
    assert_eq!(counts.duplicated, 0);
    assert_eq!(counts.delivered, counts.acknowledged);
    assert_eq!(counts.late, counts.delivered, "every object was held 5 s against a 3 s budget");
    let delayed: BTreeSet<&str> = outcome
        .faults
        .iter()
        .filter(|fault| matches!(fault.kind, FaultKind::Delay { .. }))
        .filter_map(|fault| fault.object.as_deref())
        .collect();
    for object in &outcome.report.objects {
        assert!(delayed.contains(object.key.as_str()), "{} was not delayed", object.key);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_records_are_exactly_the_dropped_corrupted_and_cut_ones() {
    let outcome = run_bug("lost-and-corrupt.toml").await;
    let counts = &outcome.report.counts;
    let field = &outcome.envelope_field;
    let destroyed: BTreeSet<u64> = outcome
        .faults
        .iter()
        .filter(|fault| {
            matches!(
                fault.kind,
                FaultKind::DropKinesis
                    | FaultKind::DropFirehose
                    | FaultKind::Corrupt { .. }
                    | FaultKind::Truncate { .. }
            )
        })
        .map(|fault| seq(fault, field))
        .collect();
    assert!(outcome.faults.iter().filter(|f| f.kind == FaultKind::DropKinesis).count() == 2);
    assert_eq!(lost_seqs(&outcome), destroyed);
    assert_eq!(counts.lost, destroyed.len() as u64);
    assert_eq!(counts.duplicated, 0);
    // Every corrupted record and every object cut inside a record leaves at least one corrupt
    // span, and adjacent noise merges into one, so spans are between one and that many.
    let damaging = outcome
        .faults
        .iter()
        .filter(|f| matches!(f.kind, FaultKind::Corrupt { .. } | FaultKind::Truncate { partly: true, .. }))
        .count() as u64;
    assert!(damaging > 0, "{:?}", outcome.faults);
    assert!(
        (1..=damaging).contains(&counts.corrupt),
        "{} corrupt spans for {damaging} faults",
        counts.corrupt
    );
    assert_eq!(counts.unexpected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_records_of_one_key_are_reordered() {
    let outcome = run_bug("reordered-within-object.toml").await;
    let counts = &outcome.report.counts;
    let swaps = outcome.faults.iter().filter(|f| matches!(f.kind, FaultKind::Reorder { .. })).count() as u64;
    assert!(counts.reordered >= 1);
    assert!(counts.reordered <= swaps, "{} reordered for {swaps} swaps", counts.reordered);
    assert_eq!(counts.lost, 0);
    assert_eq!(counts.duplicated, 0);
    assert_eq!(counts.delivered, counts.acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_read_before_their_parents_reorder_exactly_the_logged_records() {
    let outcome = run_bug("children-read-early.toml").await;
    let counts = &outcome.report.counts;
    let steps: Vec<(usize, usize)> =
        outcome.resharding.iter().map(|s| (s.open_before, s.open_after)).collect();
    assert_eq!(steps, [(2, 4), (4, 3)], "both steps ran");
    let field = &outcome.envelope_field;
    let logged: BTreeSet<(String, u64)> = outcome
        .faults
        .iter()
        .filter(|fault| matches!(fault.kind, FaultKind::ReadChildrenEarly { .. }))
        .map(|fault| {
            let event: serde_json::Value = serde_json::from_slice(&fault.data).unwrap();
            (event[field]["key"].as_str().unwrap().to_owned(), event[field]["kseq"].as_u64().unwrap())
        })
        .collect();
    assert!(!logged.is_empty(), "keys were written both while UPDATING and after");
    assert_eq!(counts.reordered, logged.len() as u64, "one reordered record per logged read");
    for example in &outcome.report.reordered {
        assert!(
            logged.contains(&(example.key.clone(), example.kseq)),
            "{example:?} is not in the ground truth"
        );
    }
    assert_eq!(counts.lost, 0);
    assert_eq!(counts.duplicated, 0);
    assert_eq!(counts.delivered, counts.acknowledged);
    // The records held in the parents were sent before their children opened: in the phases up to
    // and during each transition, none after the last.
    let resharding = outcome.report.resharding.as_ref().expect("a resharding section");
    let phases: Vec<(&str, u64)> =
        resharding.phases.iter().map(|p| (p.phase.as_str(), p.reordered)).collect();
    assert_eq!(phases.len(), 5, "{phases:?}");
    assert_eq!(phases[4], ("after shards = 3", 0), "{phases:?}");
    assert_eq!(phases.iter().map(|(_, reordered)| reordered).sum::<u64>(), counts.reordered, "{phases:?}");
    assert!(phases[1].1 > 0, "records sent while UPDATING were read after their children: {phases:?}");
    let expected: u64 = resharding.phases.iter().map(|p| p.expected).sum();
    assert_eq!(expected, counts.acknowledged, "the phases split every record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_shard_makes_records_late_and_loses_none() {
    let outcome = run_bug("stalled-shard.toml").await;
    let counts = &outcome.report.counts;
    let stalls: Vec<&FaultEvent> =
        outcome.faults.iter().filter(|f| matches!(f.kind, FaultKind::StallShard { .. })).collect();
    assert_eq!(stalls.len(), 1, "{:?}", outcome.faults);
    assert_eq!(stalls[0].shard_id.as_deref(), Some("shardId-000000000000"));
    assert!(counts.late >= 1);
    // Only shard 0 was held: records of the other shard flowed within the interval.
    assert!(counts.late < counts.delivered, "{} late of {}", counts.late, counts.delivered);
    assert_eq!(counts.lost, 0);
    assert_eq!(counts.duplicated, 0);
    assert_eq!(counts.delivered, counts.acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constant_partition_key_puts_every_record_on_one_shard() {
    let (outcome, _reports) = kept_run_bug("constant-partition-key.toml").await;
    let report = &outcome.report;
    // Nothing is lost or out of order: only the distribution shows the bug.
    assert_eq!(report.counts.lost, 0);
    assert_eq!(report.counts.delivered, report.counts.acknowledged);
    let failed: Vec<&str> = report.assertions().iter().filter(|a| a.failed()).map(|a| a.name()).collect();
    assert_eq!(failed, ["shard balance"], "{}", report.summary());
    let distribution = report.distribution.as_ref().expect("a distribution");
    // Kinesis routes the one key by its MD5 hash; the producer saw that shard in every response.
    let busy = format!("shardId-{:012}", producer::capacity::shard_for_key("web-01", 4));
    assert_eq!(distribution.hottest_shard.as_deref(), Some(busy.as_str()));
    assert_eq!(distribution.hottest_share, Some(1.0));
    assert_eq!((distribution.shards, distribution.idle_shards), (4, 3));
    let records: Vec<u64> = distribution.per_shard.iter().map(|s| s.records).collect();
    assert_eq!(records.iter().sum::<u64>(), report.counts.acknowledged);
    assert_eq!(records.iter().filter(|n| **n > 0).count(), 1);
    let detail = &report.assertion(verifier::AssertionKind::ShardBalance).unwrap().detail;
    assert!(detail.starts_with(&format!("{busy} received 100.0% of 500 records (bound 50.0%)")), "{detail}");
    assert!(
        detail.contains("3 of 4 shards idle") && detail.contains("constant or low-cardinality"),
        "{detail}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outcome.report_path).unwrap()).unwrap();
    assert_eq!(json["distribution"]["idle_shards"], 3);
    assert_eq!(json["expect"]["max_shard_share"], 0.5);
    let html = std::fs::read_to_string(outcome.report_path.with_file_name("report.html")).unwrap();
    assert!(html.contains("<svg id=\"records-per-shard\""), "the HTML report draws records per shard");
    let junit = std::fs::read_to_string(outcome.report_path.with_file_name("junit.xml")).unwrap();
    assert!(junit.contains(r#"<failure message=""#) && junit.contains("shard balance"), "{junit}");
    assert!(junit.contains(&format!(r#"<property name="hottest_shard" value="{busy}"/>"#)), "{junit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_key_beyond_its_shards_limits_is_throttled_and_named() {
    let outcome = run_bug("hot-key-throttled.toml").await;
    let report = &outcome.report;
    // Throttled entries are retried: nothing is lost or reordered.
    assert_eq!(report.counts.lost, 0);
    assert_eq!(report.counts.reordered, 0);
    assert_eq!(report.counts.delivered, report.counts.acknowledged);
    let failed: Vec<&str> = report.assertions().iter().filter(|a| a.failed()).map(|a| a.name()).collect();
    assert_eq!(failed, ["throttling"], "{}", report.summary());
    let distribution = report.distribution.as_ref().expect("a distribution");
    assert_eq!(distribution.throttled, outcome.metrics.throttled);
    assert!(distribution.throttled_fraction > 0.01, "{}", distribution.throttled_fraction);
    // The hot key (the first key of the hot-key strategy) is the most throttled, on its own shard.
    let hot = &distribution.throttled_keys[0];
    assert_eq!(hot.key, "key-000000", "{:?}", distribution.throttled_keys);
    let shard = format!("shardId-{:012}", producer::capacity::shard_for_key("key-000000", 2));
    assert_eq!(hot.shard.as_deref(), Some(shard.as_str()));
    assert_eq!(distribution.hottest_shard.as_deref(), Some(shard.as_str()));
    let detail = &report.assertion(verifier::AssertionKind::Throttling).unwrap().detail;
    assert!(
        detail.contains(&format!("hottest keys: \"key-000000\" {} on {shard}", hot.throttled)),
        "{detail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_visible_failures_are_retried_and_the_run_passes() {
    let scenario = scenario::load(&crate::scenario_path("retried-failures.toml")).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let options =
        RunOptions { backend: Backend::default(), report_dir: reports.path().to_path_buf(), keep: false };
    let outcome = run(&scenario, &options).await.expect("the harness runs");
    assert!(outcome.report.passed(), "{}", outcome.report.summary());
    let refused = |kind: FaultKind| outcome.faults.iter().filter(|f| f.kind == kind).count() as u64;
    let (bursts, internal) = (refused(FaultKind::ThrottleBurst), refused(FaultKind::InternalFailure));
    assert!(bursts > 0 && internal > 0, "{bursts} throttled, {internal} internal failures");
    // Every refused entry was retried; real throttling may add retries of its own.
    assert!(outcome.metrics.retried >= bursts + internal, "{} retried", outcome.metrics.retried);
    assert!(outcome.metrics.throttled >= bursts);
    assert_eq!(outcome.report.counts.delivered, 2000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_every_put_is_refused_fails_sending_and_names_every_seq() {
    let outcome = run_bug("every-put-refused.toml").await;
    let report = &outcome.report;
    // Nothing was acknowledged, so every other assertion holds vacuously: sending alone fails.
    for assertion in &report.assertions() {
        assert_eq!(assertion.failed(), assertion.name() == "sending", "{assertion:?}");
    }
    assert_eq!(
        report.assertion(verifier::AssertionKind::Sending).unwrap().detail,
        "nothing acknowledged: all 5 records failed to send"
    );
    assert_eq!((report.counts.acknowledged, report.counts.failed_to_send), (0, 5));
    let failed: BTreeSet<u64> = report.failed_to_send.iter().map(|failed| failed.seq).collect();
    assert_eq!(failed, (0..5).collect());
    // The ground truth: every attempt of every record was refused, and those are all the faults.
    let refused: BTreeSet<u64> = outcome
        .faults
        .iter()
        .inspect(|fault| assert_eq!(fault.kind, FaultKind::InternalFailure, "{fault:?}"))
        .map(|fault| seq(fault, &outcome.envelope_field))
        .collect();
    assert_eq!(refused, failed);
    assert_eq!(outcome.faults.len() as u64, outcome.metrics.sent + outcome.metrics.retried);
    // Each record was given up on its last error once its 10 s budget (or its attempts) ran out.
    for failed in &report.failed_to_send {
        let words: Vec<&str> = failed.reason.split_whitespace().collect();
        assert_eq!((words[0], words[1], words[4]), ("InternalFailure", "after", "over"), "{failed:?}");
        let (attempts, seconds): (u32, f64) = (words[2].parse().unwrap(), words[5].parse().unwrap());
        let per_record =
            outcome.faults.iter().filter(|f| seq(f, &outcome.envelope_field) == failed.seq).count();
        assert_eq!(attempts as usize, per_record, "{failed:?}");
        assert!(attempts == 20 || seconds >= 10.0, "given up early: {failed:?}");
    }
    let summary = report.summary();
    assert!(summary.contains("failed to send 5 records: seq 0..=4"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concatenated_json_fails_the_ndjson_format_and_names_every_object() {
    let outcome = run_bug("concatenated-json.toml").await;
    let report = &outcome.report;
    // Nothing is lost: the bug is only in how line-oriented readers see the objects.
    for assertion in &report.assertions() {
        assert_eq!(assertion.failed(), assertion.name() == "object format", "{assertion:?}");
    }
    assert_eq!(report.counts.delivered, 500);
    let format = report.format.as_ref().expect("the format check ran");
    assert_eq!(format.objects, report.counts.objects);
    assert_eq!(format.concatenated_objects, report.counts.objects, "no object has a delimiter");
    assert_eq!(format.joined_records, 500 - report.counts.objects, "all but the first of each object");
    let named: BTreeSet<&str> = format.concatenated.iter().map(|c| c.object.as_str()).collect();
    let read: BTreeSet<&str> = report.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(named, read);
    let summary = report.summary();
    assert!(summary.contains("see only the first record"), "{summary}");
    for object in &named {
        assert!(summary.contains(&format!("concatenated: {object}")), "{summary}");
    }
}

#[tokio::test]
async fn a_scenario_with_faults_is_refused_on_a_backend_without_fault_injection() {
    let scenario = scenario::load(&bug_scenario("late-records.toml")).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let backend = Backend::Endpoint { url: "http://127.0.0.1:9".to_owned(), allow_remote: false };
    let options = RunOptions { backend, report_dir: reports.path().to_path_buf(), keep: false };
    let error = run(&scenario, &options).await.expect_err("refused");
    assert!(matches!(error, RunError::NeedsEmbedded { section: "a [faults] section", .. }), "{error:?}");
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains("late-records.toml"), "{error}");
    assert!(error.to_string().contains("endpoint backend cannot inject faults"), "{error}");
}

#[test]
fn every_bug_scenario_has_a_test_here() {
    let source = include_str!("faults_scenarios.rs");
    for entry in std::fs::read_dir(crate::scenario_path("bugs")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") {
            assert!(source.contains(&format!("run_bug(\"{name}\")")), "no test runs scenarios/bugs/{name}");
        }
    }
}
