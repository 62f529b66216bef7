//! Random delivery histories (drops, copies, swaps, truncated records, garbage, foreign and
//! out-of-range records, gzip) against a ground truth computed from the history itself.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use producer::{Envelope, Expectation};
use proptest::prelude::*;
use scenario::{Delivery, Expect, Ordering};
use verifier::{Matcher, ReadSummary};

const SECOND: u64 = 1_000_000_000;
const MILLI: u64 = 1_000_000;
const T0: u64 = 1_700_000_000 * SECOND;
const KEYS: u64 = 3;
const FIELD: &str = "_streamproof";

/// One item written into an object.
#[derive(Debug, Clone)]
enum Item {
    /// A copy of record `seq`, whole or cut short inside its message string.
    Copy { seq: u64, cut: Option<usize> },
    /// Bytes that are not JSON.
    Garbage,
    /// A record of another run.
    Foreign(u64),
    /// A record of this run whose seq was never generated.
    OutOfRange(u64),
    /// `{}`.
    Empty,
}

const MESSAGE: &str = "a long enough message to cut";

fn record(run: &str, seq: u64) -> Vec<u8> {
    let envelope = Envelope {
        run: run.into(),
        seq,
        key: format!("k{}", seq % KEYS),
        kseq: seq / KEYS,
        sent_ns: T0 + seq * MILLI,
    };
    let body = format!(r#"{{"msg":"{MESSAGE}"}}"#);
    let mut out = Vec::new();
    producer::envelope::append(body.as_bytes(), FIELD, &envelope, &mut out);
    out
}

fn encode(item: &Item) -> Vec<u8> {
    match item {
        Item::Copy { seq, cut: None } => record("r1", *seq),
        // `{"msg":"` is 8 bytes: the cut lands inside the message, so the newline after it breaks the string.
        Item::Copy { seq, cut: Some(cut) } => record("r1", *seq)[..8 + cut % MESSAGE.len()].to_vec(),
        Item::Garbage => b"#garbage!".to_vec(),
        Item::Foreign(seq) => record("r0", *seq),
        Item::OutOfRange(seq) => record("r1", *seq),
        Item::Empty => b"{}".to_vec(),
    }
}

/// What the history says the report must count.
#[derive(Debug, Default, PartialEq, Eq)]
struct Truth {
    delivered: u64,
    lost: u64,
    duplicated: u64,
    duplicated_records: u64,
    reordered: u64,
    corrupt: u64,
    unexpected: u64,
    other_runs: u64,
    late: u64,
}

fn truth(generated: u64, objects: &[Vec<Item>], max_latency_ns: u64) -> Truth {
    let mut truth = Truth::default();
    let mut copies: BTreeMap<u64, u64> = BTreeMap::new();
    let mut highest: HashMap<u64, u64> = HashMap::new();
    for (index, items) in objects.iter().enumerate() {
        let visible = T0 + (index as u64 + 1) * SECOND;
        for item in items {
            match item {
                Item::Copy { seq, cut: None } => {
                    let count = copies.entry(*seq).or_default();
                    *count += 1;
                    if *count > 1 {
                        continue;
                    }
                    let (key, kseq) = (seq % KEYS, seq / KEYS);
                    match highest.get_mut(&key) {
                        Some(top) if kseq < *top => truth.reordered += 1,
                        Some(top) => *top = kseq,
                        None => {
                            highest.insert(key, kseq);
                        }
                    }
                    if visible - (T0 + seq * MILLI) > max_latency_ns {
                        truth.late += 1;
                    }
                }
                Item::Copy { cut: Some(_), .. } | Item::Garbage => truth.corrupt += 1,
                Item::Foreign(_) => truth.other_runs += 1,
                Item::OutOfRange(_) | Item::Empty => truth.unexpected += 1,
            }
        }
    }
    truth.delivered = copies.values().filter(|&&count| count == 1).count() as u64;
    truth.duplicated_records = copies.values().filter(|&&count| count > 1).count() as u64;
    truth.duplicated = copies.values().map(|count| count.saturating_sub(1)).sum();
    truth.lost = generated - copies.len() as u64;
    truth
}

/// A history: per seq how many whole copies and whether a cut copy is delivered, swaps, noise, splits.
fn history() -> impl Strategy<Value = (u64, Vec<Vec<Item>>, Vec<bool>)> {
    (1u64..120)
        .prop_flat_map(|generated| {
            let n = generated as usize;
            (
                Just(generated),
                proptest::collection::vec(prop_oneof![3 => Just(1u8), 1 => Just(0u8), 1 => Just(2u8)], n),
                proptest::collection::vec(proptest::option::weighted(0.1, 0usize..100), n),
                proptest::collection::vec((0usize..400, 0usize..400), 0..6),
                proptest::collection::vec(
                    (
                        0usize..400,
                        prop_oneof![
                            Just(Item::Garbage),
                            (0u64..50).prop_map(Item::Foreign),
                            (0u64..50).prop_map(move |extra| Item::OutOfRange(generated + extra)),
                            Just(Item::Empty),
                        ],
                    ),
                    0..6,
                ),
                proptest::collection::vec(0usize..400, 0..8),
                proptest::collection::vec(any::<bool>(), 10),
            )
        })
        .prop_map(|(generated, copies, cuts, swaps, noise, splits, gzip)| {
            let mut items: Vec<Item> = Vec::new();
            for seq in 0..generated {
                for _ in 0..copies[seq as usize] {
                    items.push(Item::Copy { seq, cut: None });
                }
                if let Some(cut) = cuts[seq as usize] {
                    items.push(Item::Copy { seq, cut: Some(cut) });
                }
            }
            for (a, b) in swaps {
                if !items.is_empty() {
                    let len = items.len();
                    items.swap(a % len, b % len);
                }
            }
            for (at, item) in noise {
                let len = items.len();
                items.insert(at % (len + 1), item);
            }
            let mut cut_points: Vec<usize> = splits.into_iter().map(|at| at % (items.len() + 1)).collect();
            cut_points.sort_unstable();
            cut_points.dedup();
            let mut objects = Vec::new();
            let mut start = 0;
            for point in cut_points.into_iter().chain([items.len()]) {
                if point > start {
                    objects.push(items[start..point].to_vec());
                    start = point;
                }
            }
            (generated, objects, gzip)
        })
        // Garbage right after a cut record joins its corrupt span; keep them apart for a crisp truth.
        .prop_filter("garbage directly after a cut record or garbage", |(_, objects, _)| {
            objects.iter().all(|items| {
                items.windows(2).all(|pair| {
                    !matches!(pair, [Item::Copy { cut: Some(_), .. } | Item::Garbage, Item::Garbage])
                })
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Every count of the report equals the ground truth of the history it was shown.
    #[test]
    fn classification_counts_equal_the_ground_truth((generated, objects, gzip) in history()) {
        let expectation = Expectation {
            run_id: "r1".into(),
            envelope_field: FIELD.into(),
            generated,
            failed: BTreeMap::new(),
            first_sent_ns: T0,
            last_ack_ns: T0 + generated * MILLI,
            ..Expectation::default()
        };
        let max_latency = Duration::from_millis(3_050);
        let expect = Expect {
            delivery: Delivery::ExactlyOnce,
            ordering: Ordering::PerKey,
            max_latency,
            timeout: Duration::from_secs(60),
            max_shard_share: None,
            max_throttled_fraction: None,
            max_failed_fraction: 0.0,
            format: None,
        };
        let mut matcher = Matcher::new(&expectation, &expect, "test clock");
        for (index, items) in objects.iter().enumerate() {
            let mut bytes = Vec::new();
            for item in items {
                bytes.extend(encode(item));
                bytes.push(b'\n');
            }
            let (name, bytes) = if gzip[index % gzip.len()] {
                let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
                encoder.write_all(&bytes).unwrap();
                (format!("o{index}.gz"), encoder.finish().unwrap())
            } else {
                (format!("o{index}"), bytes)
            };
            matcher.observe_object(&name, T0 + (index as u64 + 1) * SECOND, &bytes);
        }
        let report = matcher.report(&ReadSummary::default());
        let counts = &report.counts;
        let actual = Truth {
            delivered: counts.delivered,
            lost: counts.lost,
            duplicated: counts.duplicated,
            duplicated_records: counts.duplicated_records,
            reordered: counts.reordered,
            corrupt: counts.corrupt,
            unexpected: counts.unexpected,
            other_runs: counts.other_runs,
            late: counts.late,
        };
        prop_assert_eq!(actual, truth(generated, &objects, max_latency.as_nanos() as u64));
        prop_assert_eq!(counts.objects, objects.len() as u64);
        let clean = counts.lost == 0 && counts.duplicated == 0 && counts.corrupt == 0;
        prop_assert_eq!(report.assertion(verifier::AssertionKind::Delivery).unwrap().passed(), clean);
    }
}
