//! The matcher through its public API: records observed object by object, and the report's counts,
//! examples and assertions for clean runs, losses, duplicates, reorderings, unexpected and corrupt
//! records, latency, buffering and the object format.

use std::collections::BTreeMap;
use std::time::Duration;

use producer::{Envelope, Expectation};
use proptest::prelude::*;
use scenario::{Delivery, Expect, Ordering};
use verifier::{
    AssertionStatus, BufferingCheck, Counts, LATENCY_BUCKETS_MS, Matcher, ReadSummary, ReorderedExample,
    Report,
};

const NANOS_PER_MILLI: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SECOND;

fn expectation(generated: u64) -> Expectation {
    Expectation {
        run_id: "r1".into(),
        envelope_field: "_streamproof".into(),
        generated,
        failed: BTreeMap::new(),
        first_sent_ns: T0,
        last_ack_ns: T0 + generated,
        ..Expectation::default()
    }
}

fn expect() -> Expect {
    Expect {
        delivery: Delivery::ExactlyOnce,
        ordering: Ordering::PerKey,
        max_latency: Duration::from_secs(10),
        timeout: Duration::from_secs(60),
        max_shard_share: None,
        max_throttled_fraction: None,
        max_failed_fraction: 0.0,
        format: None,
    }
}

/// Record `seq` of run `run`: two keys alternate, each with its own kseq; sent at T0 + seq ms.
fn event(run: &str, seq: u64) -> Vec<u8> {
    let envelope = Envelope {
        run: run.into(),
        seq,
        key: format!("k{}", seq % 2),
        kseq: seq / 2,
        sent_ns: T0 + seq * NANOS_PER_MILLI,
    };
    let mut out = Vec::new();
    producer::envelope::append(br#"{"msg":"hello"}"#, "_streamproof", &envelope, &mut out);
    out
}

fn object(run: &str, seqs: &[u64]) -> Vec<u8> {
    seqs.iter().flat_map(|&seq| event(run, seq)).collect()
}

fn matcher(generated: u64) -> Matcher {
    Matcher::new(&expectation(generated), &expect(), "test clock, nanosecond precision")
}

fn report(matcher: &Matcher) -> Report {
    matcher.report(&ReadSummary { bucket: "b".into(), ..ReadSummary::default() })
}

fn clean_counts(generated: u64) -> Counts {
    Counts {
        generated,
        acknowledged: generated,
        delivered: generated,
        records: generated,
        ..Counts::default()
    }
}

#[test]
fn clean_run_is_all_delivered_and_nothing_else() {
    let mut matcher = matcher(10);
    matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 2, 3, 4]));
    assert!(!matcher.complete());
    matcher.observe_object("o2", T0 + 2 * SECOND, &object("r1", &[5, 6, 7, 8, 9]));
    assert!(matcher.complete());
    let report = report(&matcher);
    let bytes = report.counts.bytes;
    assert_eq!(report.counts, Counts { objects: 2, bytes, ..clean_counts(10) });
    assert!(report.passed(), "{}", report.summary());
    assert!(report.passed());
    assert!(report.lost_ranges.is_empty() && report.duplicated_seqs.is_empty());
    assert_eq!(report.latency.samples, 10);
    assert_eq!(report.latency.max_ms, Some(2_000 - 5));
    assert_eq!(report.latency.p50_ms, Some(1_000));
    assert_eq!(report.latency.clock_skew, 0);
    assert!(report.summary().starts_with("PASS"), "{}", report.summary());
}

#[test]
fn dropped_record_is_lost_with_exactly_its_seq() {
    let mut matcher = matcher(6);
    matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 2, 4, 5]));
    assert!(!matcher.complete());
    let report = report(&matcher);
    assert_eq!(report.counts.lost, 1);
    assert_eq!(report.counts.delivered, 5);
    assert_eq!(report.lost_ranges, vec![verifier::SeqRange { start: 3, end: 3 }]);
    assert!(!report.passed());
    assert!(!report.wait.complete);
    let delivery = report.assertion(verifier::AssertionKind::Delivery).unwrap();
    assert_eq!((delivery.name(), delivery.passed()), ("delivery", false));
    let summary = report.summary();
    assert!(summary.contains("lost 1 record: seq 3\n"), "{summary}");
    assert!(summary.starts_with("FAIL"), "{summary}");
}

#[test]
fn duplicates_count_extra_copies_and_fail_only_exactly_once() {
    let mut matcher = matcher(4);
    matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 2, 3]));
    matcher.observe_object("o2", T0 + SECOND, &object("r1", &[2, 3, 2]));
    let report = report(&matcher);
    assert_eq!(report.counts.duplicated, 3);
    assert_eq!(report.counts.duplicated_records, 2);
    assert_eq!(report.counts.delivered, 2);
    assert_eq!(report.counts.lost, 0);
    assert_eq!(report.counts.reordered, 0, "copies are not reorderings");
    assert_eq!(report.duplicated_seqs, vec![2, 3]);
    assert!(!report.assertion(verifier::AssertionKind::Delivery).unwrap().passed());
    assert!(
        report.summary().contains("duplicated 3 extra copies of 2 records: seq 2..=3"),
        "{}",
        report.summary()
    );

    let at_least_once = Expect { delivery: Delivery::AtLeastOnce, ..expect() };
    let mut lenient = Matcher::new(&expectation(4), &at_least_once, "test clock");
    lenient.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 2, 3, 3]));
    assert!(lenient.report(&ReadSummary::default()).passed());
}

#[test]
fn swapping_two_records_of_one_key_across_objects_is_one_reordering() {
    // Key k0 holds seqs 0, 2, 4 with kseqs 0, 1, 2; seq 4 arrives before seq 2.
    let mut matcher = matcher(6);
    matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 4, 3]));
    matcher.observe_object("o2", T0 + 2 * SECOND, &object("r1", &[2, 5]));
    let report = report(&matcher);
    assert_eq!(report.counts.reordered, 1);
    assert_eq!(
        report.reordered,
        vec![ReorderedExample { key: "k0".into(), kseq: 1, after_kseq: 2, object: "o2".into() }]
    );
    assert_eq!(report.counts.delivered, 6);
    assert!(!report.assertion(verifier::AssertionKind::Ordering).unwrap().passed());

    let unordered = Expect { ordering: Ordering::None, ..expect() };
    let mut relaxed = Matcher::new(&expectation(6), &unordered, "test clock");
    relaxed.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 4, 3, 2, 5]));
    let report = relaxed.report(&ReadSummary::default());
    assert_eq!(report.counts.reordered, 1);
    assert_eq!(
        (
            report.assertion(verifier::AssertionKind::Ordering).unwrap().passed(),
            report.assertion(verifier::AssertionKind::Ordering).unwrap().detail.as_str()
        ),
        (true, "not asserted")
    );
}

#[test]
fn other_runs_are_ignored_and_out_of_range_or_envelope_less_records_are_unexpected() {
    let mut matcher = matcher(2);
    let mut bytes = object("r1", &[0, 1]);
    bytes.extend(object("r0", &[0]));
    bytes.extend(object("r1", &[2]));
    bytes.extend_from_slice(br#"{"msg":"no envelope"}"#);
    matcher.observe_object("o1", T0 + SECOND, &bytes);
    let report = report(&matcher);
    assert_eq!(report.counts.unexpected, 2);
    assert_eq!(report.counts.other_runs, 1);
    assert_eq!(report.counts.delivered, 2);
    assert_eq!(report.counts.records, 5);
    assert_eq!((report.unexpected.seq_out_of_range, report.unexpected.no_envelope), (1, 1));
    assert_eq!(report.unexpected.examples[0].detail, "seq 2 but only 2 generated");
    let first_out_of_range = object("r1", &[0, 1]).len() + object("r0", &[0]).len();
    assert_eq!(report.unexpected.examples[0].offset, first_out_of_range as u64);
    let verdict = report.assertion(verifier::AssertionKind::NoUnexpectedRecords).unwrap();
    assert_eq!((verdict.name(), verdict.passed()), ("no unexpected records", false));
    assert_eq!(verdict.detail, "2 unexpected: 1 seq out of range, 1 no envelope");
    assert!(
        report.assertion(verifier::AssertionKind::Delivery).unwrap().passed(),
        "other runs' and unexpected records do not affect delivery"
    );
}

#[test]
fn unacknowledged_records_may_be_missing_and_are_noted_when_delivered() {
    let mut expectation = expectation(4);
    expectation.failed.insert(1, "throttled".into());
    expectation.failed.insert(3, "throttled".into());
    let mut matcher = Matcher::new(&expectation, &expect(), "test clock");
    matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 2]));
    assert!(matcher.complete());
    matcher.observe_object("o2", T0 + SECOND, &object("r1", &[3]));
    let report = matcher.report(&ReadSummary::default());
    assert_eq!(report.counts.lost, 0);
    assert_eq!(report.counts.delivered, 3);
    assert_eq!(report.counts.delivered_unacknowledged, 1);
    assert_eq!(report.delivered_unacknowledged_seqs, vec![3]);
    assert_eq!((report.counts.acknowledged, report.counts.failed_to_send), (2, 2));
    // Delivery holds for what was acknowledged, but two records never reached the pipeline.
    assert!(report.assertion(verifier::AssertionKind::Delivery).unwrap().passed());
    let sending = report.assertion(verifier::AssertionKind::Sending).unwrap();
    assert!(sending.failed(), "{sending:?}");
    assert_eq!(sending.detail, "2 of 4 failed to send (none allowed)");
    assert!(!report.passed());
    let summary = report.summary();
    assert!(summary.contains("FAIL  sending"), "{summary}");
    assert!(summary.contains("failed to send 2 records: seq 1, 3"), "{summary}");
    assert!(summary.contains("seq 1, 3: throttled"), "{summary}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["failed_to_send"][1], serde_json::json!({"seq": 3, "reason": "throttled"}));
}

#[test]
fn a_scenario_may_allow_a_share_of_records_to_fail_to_send() {
    let mut expectation = expectation(100);
    for seq in [10, 11, 12] {
        expectation.failed.insert(seq, "InternalFailure after 20 attempts over 38.1 s".into());
    }
    let mut lenient = expect();
    lenient.max_failed_fraction = 0.03;
    let verdict = |expect: &Expect| {
        let matcher = Matcher::new(&expectation, expect, "test clock");
        matcher.report(&ReadSummary::default()).assertion(verifier::AssertionKind::Sending).unwrap().clone()
    };
    // 3 of 100 is within 3 %, not within 2 %.
    let allowed = verdict(&lenient);
    assert!(allowed.passed(), "{allowed:?}");
    assert_eq!(allowed.detail, "3 of 100 failed to send (3.0 %, at most 3.0 % allowed)");
    lenient.max_failed_fraction = 0.02;
    assert!(verdict(&lenient).failed());
}

#[test]
fn a_run_that_acknowledged_nothing_fails_whatever_the_scenario_allows() {
    let mut expectation = expectation(5);
    for seq in 0..5 {
        expectation.failed.insert(seq, "InternalFailure after 7 attempts over 30.0 s".into());
    }
    let mut anything = expect();
    anything.max_failed_fraction = 1.0;
    let matcher = Matcher::new(&expectation, &anything, "test clock");
    assert!(matcher.complete(), "nothing acknowledged means nothing to wait for");
    let report = matcher.report(&ReadSummary::default());
    // Every other assertion holds vacuously; sending alone tells the truth.
    assert!(report.assertions().iter().filter(|a| a.name() != "sending").all(|a| a.passed()));
    let sending = report.assertion(verifier::AssertionKind::Sending).unwrap();
    assert_eq!(
        (sending.failed(), sending.detail.as_str()),
        (true, "nothing acknowledged: all 5 records failed to send")
    );
    assert!(!report.passed());
    let summary = report.summary();
    assert!(summary.contains("seq 0..=4: InternalFailure after 7 attempts over 30.0 s"), "{summary}");
}

#[test]
fn a_send_within_the_visibility_resolution_is_latency_zero_not_skew() {
    let mut fine = matcher(3);
    // S3 floors LastModified to the millisecond: a record sent 0.4 ms after the floored time
    // became visible within that millisecond; one sent 1.5 ms after it is skew.
    fine.observe_object("o1", T0 - 400_000, &object("r1", &[0]));
    fine.observe_object("o2", T0 - 1_500_000, &object("r1", &[1]));
    let fine = report(&fine);
    assert_eq!(fine.latency.clock_skew, 1);
    assert_eq!(fine.latency.max_ms, Some(0));
    // A coarser clock (whole seconds) forgives more.
    let mut coarse = matcher(3).with_resolution(std::time::Duration::from_secs(1));
    coarse.observe_object("o2", T0 - 1_500_000, &object("r1", &[1]));
    assert_eq!(report(&coarse).latency.clock_skew, 0);
}

#[test]
fn late_records_and_clock_skew() {
    let mut matcher = matcher(3);
    // Seq 0 becomes visible before it was sent; seq 1 and 2 after 11 s, beyond the 10 s bound.
    matcher.observe_object("o1", T0 - SECOND, &object("r1", &[0]));
    matcher.observe_object("o2", T0 + 11 * SECOND, &object("r1", &[1, 2]));
    let report = report(&matcher);
    assert_eq!(report.latency.clock_skew, 1);
    assert_eq!(report.counts.late, 2);
    assert_eq!(report.late[0].seq, 1);
    assert_eq!(report.late[0].latency_ms, 11_000 - 1);
    assert_eq!(report.latency.p50_ms.map(|ms| ms / 100), Some(109));
    assert!(!report.assertion(verifier::AssertionKind::Latency).unwrap().passed());
    assert!(report.summary().contains("seq 1 (key \"k1\") took 10999 ms (in o2)"), "{}", report.summary());
}

#[test]
fn corrupt_spans_fail_delivery_and_name_object_and_offset() {
    let mut matcher = matcher(2);
    let mut bytes = object("r1", &[0, 1]);
    let offset = bytes.len();
    bytes.extend_from_slice(br#"{"msg":"cut"#);
    matcher.observe_object("2024/01/01/o1", T0 + SECOND, &bytes);
    let report = report(&matcher);
    assert_eq!((report.counts.corrupt, report.counts.corrupt_bytes), (1, 11));
    assert_eq!(report.corrupt[0].object, "2024/01/01/o1");
    assert_eq!(report.corrupt[0].offset, offset as u64);
    assert!(!report.assertion(verifier::AssertionKind::Delivery).unwrap().passed());
    let summary = report.summary();
    assert!(summary.contains(&format!("corrupt 11 bytes in 2024/01/01/o1 at offset {offset}")), "{summary}");
}

#[test]
fn report_json_is_written_atomically_with_stable_field_names() {
    let mut matcher = matcher(3);
    matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 2]));
    let report = report(&matcher);
    let dir = tempfile::tempdir().unwrap();
    let path = report.write_json(dir.path()).unwrap();
    assert_eq!(path, dir.path().join("report.json"));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 3);
    assert_eq!(json["run_id"], "r1");
    // The producer's distribution and the ground truth are added by the harness; null here.
    assert_eq!(json["distribution"], serde_json::Value::Null);
    assert_eq!(json["ground_truth"], serde_json::Value::Null);
    assert_eq!(json["passed"], false);
    assert_eq!(json["counts"]["lost"], 1);
    assert_eq!(json["lost_ranges"], serde_json::json!([{"start": 1, "end": 1}]));
    assert_eq!(json["expect"]["delivery"], "exactly_once");
    assert_eq!(json["assertions"][0]["name"], "sending");
    assert_eq!(json["assertions"][1]["name"], "delivery");
    assert_eq!(json["latency"]["samples"], 2);
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("report.json")]);
}

#[test]
fn junit_has_one_test_case_per_assertion_and_failures_carry_the_specifics() {
    let mut matcher = matcher(4);
    matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1, 3, 3]));
    let report = report(&matcher);
    let dir = tempfile::tempdir().unwrap();
    let paths = report.write_all(dir.path()).unwrap();
    assert_eq!(paths.json, dir.path().join("report.json"));
    assert_eq!(paths.junit, dir.path().join("junit.xml"));
    let xml = std::fs::read_to_string(&paths.junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), report.assertions().len(), "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(xml.contains(r#"tests="5""#) && xml.contains(r#"failures="1""#), "{xml}");
    assert!(xml.contains(r#"<testcase name="delivery" classname="streamproof.b""#), "{xml}");
    assert!(xml.contains("exactly once: 1 lost, 1 duplicated, 0 corrupt"), "{xml}");
    assert!(xml.contains("lost 1 record: seq 2"), "{xml}");
    assert!(xml.contains(r#"<testcase name="no unexpected records""#), "{xml}");
}

#[test]
fn same_second_objects_listed_out_of_order_are_not_reordered_but_a_cycle_is() {
    // Listed by key within one second, "a" holds later records of both keys than "b".
    let mut matcher = matcher(8);
    matcher.observe_object("a", T0 + SECOND + 1, &object("r1", &[4, 5, 6, 7]));
    matcher.observe_object("b", T0 + SECOND + 2, &object("r1", &[0, 1, 2, 3]));
    assert_eq!(report(&matcher).counts.reordered, 0);
    // The same objects a second apart are a reordering of every record of "b".
    let mut matcher = self::matcher(8);
    matcher.observe_object("a", T0 + SECOND, &object("r1", &[4, 5, 6, 7]));
    matcher.observe_object("b", T0 + 2 * SECOND, &object("r1", &[0, 1, 2, 3]));
    assert_eq!(report(&matcher).counts.reordered, 4);
    // Key k0 says "c" before "d"; key k1 says "d" before "c": a cycle within the second.
    let mut matcher = self::matcher(4);
    matcher.observe_object("c", T0 + SECOND, &object("r1", &[0, 3]));
    matcher.observe_object("d", T0 + SECOND, &object("r1", &[2, 1]));
    let report = report(&matcher);
    assert_eq!(report.counts.reordered, 1);
    assert!(!report.assertion(verifier::AssertionKind::Ordering).unwrap().passed());
}

#[test]
fn latency_histogram_counts_first_deliveries_per_bucket_and_objects_are_listed() {
    let mut matcher = matcher(4);
    // Seq s is sent at T0 + s ms: latencies 1000, 999 ms, then 2998, 2997 ms; the copy is not counted.
    matcher.observe_object("o1", T0 + SECOND, &object("r1", &[0, 1]));
    matcher.observe_object("o2", T0 + 3 * SECOND, &object("r1", &[2, 3, 3]));
    let report = report(&matcher);
    let histogram = &report.latency.histogram;
    assert_eq!(histogram.len(), LATENCY_BUCKETS_MS.len() + 1);
    assert_eq!(histogram.iter().map(|bucket| bucket.count).sum::<u64>(), 4);
    let count = |upper: u64| histogram.iter().find(|bucket| bucket.upper_ms == Some(upper)).unwrap().count;
    assert_eq!((count(1_000), count(2_500), count(5_000)), (2, 0, 2));
    assert_eq!(histogram.last().unwrap().upper_ms, None);
    let keys: Vec<&str> = report.objects.iter().map(|object| object.key.as_str()).collect();
    assert_eq!(keys, vec!["o1", "o2"]);
    assert_eq!((report.objects[1].records, report.objects[1].held_ms), (3, Some(2_998)));
    assert_eq!(report.objects[0].visible_ms, (T0 + SECOND) / NANOS_PER_MILLI);
    assert!(report.buffering.is_none() && report.assertions().len() == 5);
}

#[test]
fn buffering_is_an_assertion_that_fails_or_does_not_apply() {
    let hints = scenario::BufferingHints { size_mb: 1, interval_seconds: 60 };
    // Seq 0 waits 1 s in an object far below 1 MiB: flushed before either threshold.
    // Seq 1 waits 80 s, beyond the 60 s interval plus 15 s of slack.
    let run = |check: BufferingCheck| {
        let mut matcher = matcher(2).with_buffering(check);
        matcher.observe_object("early", T0 + SECOND, &object("r1", &[0]));
        matcher.observe_object("late", T0 + 80 * SECOND + NANOS_PER_MILLI, &object("r1", &[1]));
        report(&matcher)
    };
    let report = run(BufferingCheck::new(hints, "embedded", true));
    let buffering = report.buffering.as_ref().unwrap();
    assert_eq!((buffering.oversized, buffering.flushed_early, buffering.held_too_long), (0, 1, 1));
    assert_eq!(buffering.flushed_early_objects, vec!["early".to_string()]);
    assert_eq!(buffering.held_too_long_examples[0].seq, 1);
    let assertion = report.assertions().pop().unwrap();
    assert_eq!((assertion.name(), assertion.status), ("buffering", AssertionStatus::Fail));
    assert!(!report.passed());
    assert!(report.summary().contains("flushed before either threshold: early"), "{}", report.summary());

    let report = run(BufferingCheck::new(hints, "localstack", false));
    let assertion = report.assertions().pop().unwrap();
    assert_eq!(assertion.status, AssertionStatus::NotApplicable);
    assert!(!assertion.passed(), "not applicable is never a pass");
    assert!(assertion.detail.starts_with("not applicable on localstack: "), "{}", assertion.detail);
    let failed: Vec<&str> = report.assertions().iter().filter(|a| a.failed()).map(|a| a.name()).collect();
    assert_eq!(failed, vec!["latency"], "only the 80 s record's latency fails");
    assert!(report.summary().contains("N/A   buffering"), "{}", report.summary());
    let xml = report.junit().unwrap();
    assert!(xml.contains("<skipped"), "{xml}");
}

#[test]
fn html_report_draws_every_object_and_the_latency_bars_and_escapes_keys() {
    let hints = scenario::BufferingHints { size_mb: 1, interval_seconds: 1 };
    let mut matcher = matcher(6).with_buffering(BufferingCheck::new(hints, "embedded", true));
    matcher.observe_object("2026/11/23/20/<o1>", T0 + SECOND, &object("r1", &[0, 1]));
    matcher.observe_object("2026/11/23/20/o2", T0 + 3 * SECOND, &object("r1", &[2, 3]));
    matcher.observe_object("2026/11/23/20/o3", T0 + 4 * SECOND, &object("r1", &[4, 5]));
    let report = report(&matcher);
    let dir = tempfile::tempdir().unwrap();
    let paths = report.write_all(dir.path()).unwrap();
    assert_eq!(paths.html, dir.path().join("report.html"));
    let html = std::fs::read_to_string(&paths.html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<rect class=\"object\"").count(), 3, "{html}");
    let bars = report.latency.histogram.iter().filter(|bucket| bucket.count > 0).count();
    assert_eq!(html.matches("<rect class=\"bar\"").count(), bars, "{html}");
    assert!(html.contains("class=\"threshold\""), "the SizeInMBs line is drawn");
    assert!(html.contains("2026/11/23/20/&lt;o1&gt;") && !html.contains("<o1>"), "keys are escaped");
    assert!(!html.contains("<script"), "no scripts");
    assert!(!html.contains("src=") && !html.contains("href="), "nothing is loaded from elsewhere");
}

#[test]
fn gzip_objects_are_decompressed_and_damage_is_corrupt() {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&object("r1", &[0, 1, 2])).unwrap();
    let mut gzip = encoder.finish().unwrap();
    let mut matcher = matcher(3);
    matcher.observe_object("o1.gz", T0 + SECOND, &gzip);
    assert!(matcher.complete());
    assert!(report(&matcher).passed());
    gzip.extend_from_slice(b"junk");
    let mut matcher = self::matcher(3);
    matcher.observe_object("o1", T0 + SECOND, &gzip);
    let report = report(&matcher);
    assert_eq!((report.counts.delivered, report.counts.corrupt), (3, 1));
    assert_eq!(report.corrupt[0].offset, object("r1", &[0, 1, 2]).len() as u64);
    assert!(report.corrupt[0].excerpt.starts_with("gzip: "), "{:?}", report.corrupt[0]);
}

proptest! {
    /// Deliver every record of a run except some, some several times, in random object splits:
    /// the report names exactly the dropped seqs as lost and counts every extra copy.
    #[test]
    fn lost_and_duplicated_match_what_was_withheld_and_repeated(
        copies in proptest::collection::vec(0usize..3, 1..200),
        object_size in 1usize..20,
    ) {
        let generated = copies.len() as u64;
        let deliveries: Vec<u64> = copies
            .iter()
            .enumerate()
            .flat_map(|(seq, &count)| std::iter::repeat_n(seq as u64, count))
            .collect();
        let mut matcher = matcher(generated);
        for (index, chunk) in deliveries.chunks(object_size).enumerate() {
            matcher.observe_object(&format!("o{index}"), T0 + SECOND, &object("r1", chunk));
        }
        let report = report(&matcher);
        let lost: Vec<u64> = (0..generated).filter(|seq| copies[*seq as usize] == 0).collect();
        let extra: usize = copies.iter().map(|count| count.saturating_sub(1)).sum();
        prop_assert_eq!(&report.lost_ranges, &verifier::compress(lost.iter().copied()));
        prop_assert_eq!(report.counts.lost, lost.len() as u64);
        prop_assert_eq!(report.counts.duplicated, extra as u64);
        prop_assert_eq!(report.counts.reordered, 0);
        prop_assert_eq!(
            report.counts.delivered + report.counts.duplicated_records + report.counts.lost,
            report.counts.acknowledged
        );
        prop_assert_eq!(matcher.complete(), lost.is_empty());
    }
}
