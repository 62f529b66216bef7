//! The verifier against ground truth: random fault plans applied by the emulator's own fault
//! function to enveloped records, classified by the verifier's matcher; every count must equal what
//! the faults did, and a plan without faults must report nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use emulator::{FaultKind, FaultedObject, ObjectFaults, PieceState, apply_object_faults};
use producer::Expectation;
use proptest::prelude::*;
use scenario::{Delivery, Expect, Ordering};
use verifier::{Counts, Matcher, ReadSummary};

const FIELD: &str = "_streamproof";
const RUN: &str = "run-1";
const SECOND: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SECOND;
const MAX_LATENCY: Duration = Duration::from_secs(6);

/// One generated record: its envelope facts and its bytes.
#[derive(Debug, Clone)]
struct Sent {
    key: String,
    kseq: u64,
    sent_ns: u64,
    data: Vec<u8>,
}

/// Records with seqs `0..n`, keys drawn from `keys`, per-key sequence numbers in seq order, and
/// payloads of varied length (spaces included, braces never).
fn records(key_of: &[u8], pad: &[u8]) -> Vec<Sent> {
    let mut kseqs = BTreeMap::new();
    key_of
        .iter()
        .zip(pad)
        .enumerate()
        .map(|(seq, (&key, &pad))| {
            let key = format!("k{key}");
            let kseq = kseqs.entry(key.clone()).or_insert(0u64);
            let sent_ns = T0 + seq as u64 * 1_000_000;
            let event = serde_json::json!({
                "msg": "x y ".repeat(usize::from(pad)),
                FIELD: { "run": RUN, "seq": seq, "key": key, "kseq": *kseq, "sent_ns": sent_ns },
            });
            *kseq += 1;
            Sent { key, kseq: *kseq - 1, sent_ns, data: serde_json::to_vec(&event).unwrap() }
        })
        .collect()
}

/// An object as the verifier sees it: its faulted form, the seqs of its batch, and when it became visible.
struct Written {
    object: FaultedObject,
    seqs: Vec<u64>,
    visible_ns: u64,
}

/// Applies `plan` batch by batch; each object becomes visible one second after the previous one,
/// plus its own delay, as a serial Firehose writer would make it.
fn deliver(
    plan: &ObjectFaults,
    seed: u64,
    sent: &[Sent],
    batch_sizes: &[usize],
    delimiter: &[u8],
) -> Vec<Written> {
    let mut written = Vec::new();
    let mut clock = T0 + SECOND;
    let mut start = 0;
    for (ordinal, &size) in batch_sizes.iter().enumerate() {
        if start >= sent.len() {
            break;
        }
        let end = (start + size).min(sent.len());
        let batch: Vec<&[u8]> = sent[start..end].iter().map(|s| s.data.as_slice()).collect();
        for object in apply_object_faults(plan, seed, ordinal as u64, &batch, delimiter) {
            clock += u64::try_from(object.delay.as_nanos()).unwrap();
            let seqs = (start as u64..end as u64).collect();
            // Firehose writes no empty object.
            if !object.data.is_empty() {
                written.push(Written { object, seqs, visible_ns: clock });
                clock += SECOND;
            }
        }
        start = end;
    }
    // Records past the last batch were never flushed: give them a batch of their own.
    if start < sent.len() {
        let batch: Vec<&[u8]> = sent[start..].iter().map(|s| s.data.as_slice()).collect();
        let ordinal = batch_sizes.len() as u64;
        for object in apply_object_faults(plan, seed, ordinal, &batch, delimiter) {
            clock += u64::try_from(object.delay.as_nanos()).unwrap();
            if !object.data.is_empty() {
                let seqs = (start as u64..sent.len() as u64).collect();
                written.push(Written { object, seqs, visible_ns: clock });
                clock += SECOND;
            }
        }
    }
    written
}

/// The counts the ground truth implies, in the verifier's terms.
fn ground_truth(sent: &[Sent], written: &[Written]) -> Counts {
    let n = sent.len();
    let mut copies = vec![0u64; n];
    let mut highest_kseq: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut reordered, mut late, mut corrupt, mut corrupt_bytes) = (0, 0, 0, 0);
    for w in written {
        let data = &w.object.data;
        let mut in_garbage: Option<(usize, usize)> = None;
        // A run of adjacent noise is one span: the decoder resyncs only at the next `{`.
        let close_garbage = |run: &mut Option<(usize, usize)>, corrupt: &mut u64, bytes: &mut u64| {
            if let Some((from, to)) = run.take() {
                *corrupt += 1;
                *bytes += (to - from) as u64;
            }
        };
        for piece in &w.object.pieces {
            let seq = w.seqs[piece.record] as usize;
            match piece.state {
                PieceState::Garbage => {
                    let end = piece.offset + piece.len;
                    in_garbage = Some(in_garbage.map_or((piece.offset, end), |(from, _)| (from, end)));
                }
                PieceState::Intact => {
                    close_garbage(&mut in_garbage, &mut corrupt, &mut corrupt_bytes);
                    copies[seq] += 1;
                    if copies[seq] > 1 {
                        continue;
                    }
                    let record = &sent[seq];
                    let highest = highest_kseq.entry(&record.key).or_insert(0);
                    if record.kseq < *highest {
                        reordered += 1;
                    }
                    *highest = (*highest).max(record.kseq);
                    if w.visible_ns - record.sent_ns > MAX_LATENCY.as_nanos() as u64 {
                        late += 1;
                    }
                }
                PieceState::Partial => {
                    // A cut record starts with `{`, so it is a span of its own.
                    close_garbage(&mut in_garbage, &mut corrupt, &mut corrupt_bytes);
                    let bytes = &data[piece.offset..piece.offset + piece.len];
                    let trailing = bytes.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
                    corrupt += 1;
                    corrupt_bytes += (piece.len - trailing) as u64;
                }
                PieceState::Cut => {}
            }
        }
        close_garbage(&mut in_garbage, &mut corrupt, &mut corrupt_bytes);
    }
    let duplicated_records = copies.iter().filter(|&&c| c > 1).count() as u64;
    Counts {
        generated: n as u64,
        acknowledged: n as u64,
        delivered: copies.iter().filter(|&&c| c == 1).count() as u64,
        lost: copies.iter().filter(|&&c| c == 0).count() as u64,
        duplicated: copies.iter().map(|&c| c.saturating_sub(1)).sum(),
        duplicated_records,
        reordered,
        corrupt,
        corrupt_bytes,
        late,
        ..Counts::default()
    }
}

/// What the verifier's matcher makes of the written objects.
fn verify(sent: &[Sent], written: &[Written]) -> verifier::Report {
    let expectation = Expectation {
        run_id: RUN.to_owned(),
        envelope_field: FIELD.to_owned(),
        generated: sent.len() as u64,
        first_sent_ns: T0,
        last_ack_ns: T0 + sent.len() as u64 * 1_000_000,
        ..Expectation::default()
    };
    let expect = Expect {
        delivery: Delivery::ExactlyOnce,
        ordering: Ordering::PerKey,
        max_latency: MAX_LATENCY,
        timeout: Duration::from_secs(1),
        max_shard_share: None,
        max_throttled_fraction: None,
        max_failed_fraction: 0.0,
        format: None,
    };
    let mut matcher = Matcher::new(&expectation, &expect, "test clock");
    for (index, w) in written.iter().enumerate() {
        matcher.observe_object(&format!("object-{index:04}"), w.visible_ns, &w.object.data);
    }
    matcher.report(&ReadSummary::default())
}

fn plan() -> impl Strategy<Value = ObjectFaults> {
    let rate = prop_oneof![Just(0.0), 0.0..0.4f64];
    (rate.clone(), rate.clone(), rate.clone(), rate.clone(), rate.clone(), rate.clone(), rate, 1u64..12)
        .prop_map(|(drop, duplicate, reorder, corrupt, truncate, delay, s3_put_failure, delay_seconds)| {
            ObjectFaults {
                drop,
                duplicate,
                reorder,
                corrupt,
                truncate,
                delay,
                delay_by: Duration::from_secs(delay_seconds),
                s3_put_failure,
            }
        })
}

fn workload() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, Vec<usize>, bool)> {
    (1usize..60).prop_flat_map(|n| {
        (
            prop::collection::vec(0u8..4, n),
            prop::collection::vec(0u8..8, n),
            prop::collection::vec(1usize..12, 1..8),
            any::<bool>(),
        )
    })
}

/// The counts a report and the ground truth are compared on: every anomaly class.
fn classes(counts: &Counts) -> [(&'static str, u64); 10] {
    [
        ("delivered", counts.delivered),
        ("lost", counts.lost),
        ("duplicated", counts.duplicated),
        ("duplicated_records", counts.duplicated_records),
        ("reordered", counts.reordered),
        ("corrupt", counts.corrupt),
        ("corrupt_bytes", counts.corrupt_bytes),
        ("unexpected", counts.unexpected),
        ("other_runs", counts.other_runs),
        ("late", counts.late),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn verifier_counts_equal_the_ground_truth_of_every_fault_plan(
        plan in plan(),
        seed in any::<u64>(),
        (keys, pads, batches, newline) in workload(),
    ) {
        let sent = records(&keys, &pads);
        let delimiter: &[u8] = if newline { b"\n" } else { b"" };
        let written = deliver(&plan, seed, &sent, &batches, delimiter);
        let report = verify(&sent, &written);
        let truth = ground_truth(&sent, &written);
        prop_assert_eq!(classes(&report.counts), classes(&truth));

        // The fault log agrees with the objects: every record missing from an object's pieces was
        // dropped, and every noisy copy was logged as corrupted (truncation may cut some away).
        // A retry after a failed put repeats the object; its faults were logged with the first copy.
        let retries = written.windows(2).filter(|pair| pair[0].object.failed_put).map(|pair| &pair[1].object);
        let retries: Vec<&FaultedObject> = retries.collect();
        for w in written.iter().filter(|w| !retries.iter().any(|retry| std::ptr::eq(*retry, &w.object))) {
            let placed: std::collections::BTreeSet<usize> = w.object.pieces.iter().map(|p| p.record).collect();
            let drops = w.object.events.iter().filter(|e| e.kind == FaultKind::DropFirehose).count();
            prop_assert_eq!(drops, w.seqs.len() - placed.len());
            let garbage = w.object.pieces.iter().filter(|p| p.state == PieceState::Garbage).count();
            let corrupted = w.object.events.iter().filter(|e| matches!(e.kind, FaultKind::Corrupt { .. })).count();
            prop_assert!(garbage <= corrupted);
            let cut = w.object.pieces.iter().filter(|p| matches!(p.state, PieceState::Cut | PieceState::Partial)).count();
            let truncated = w.object.events.iter().filter(|e| matches!(e.kind, FaultKind::Truncate { .. })).count();
            prop_assert!(cut <= truncated && truncated <= cut + 1);
        }
    }
}

#[test]
fn a_plan_without_faults_reports_no_anomaly() {
    let keys: Vec<u8> = (0..500).map(|i| (i % 7) as u8).collect();
    let pads: Vec<u8> = (0..500).map(|i| (i % 5) as u8).collect();
    let sent = records(&keys, &pads);
    for delimiter in [&b""[..], b"\n"] {
        let written = deliver(&ObjectFaults::default(), 7, &sent, &[100, 150, 250], delimiter);
        let report = verify(&sent, &written);
        let counts = &report.counts;
        assert_eq!(counts.delivered, 500);
        for (class, count) in classes(counts) {
            if class != "delivered" && class != "late" {
                assert_eq!(count, 0, "{class}");
            }
        }
        // Objects one second apart, three of them: nothing waits past the 6 s bound.
        assert_eq!(counts.late, 0);
        assert!(report.passed(), "{}", report.summary());
    }
}
