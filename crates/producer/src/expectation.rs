//! The expectation: what the producer generated and what the backend acknowledged, handed to the verifier.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::keys::Part;

/// How far apart the parts of one run may start: their per-second acknowledgements are laid out on
/// one time line, which is allocated from the first part's start.
const MAX_PART_START_SPREAD_SECONDS: u64 = 7 * 24 * 3_600;

/// The `format` tag and version of expectation files.
const FORMAT: &str = "streamproof-expectation";
const VERSION: u32 = 1;

/// What a run must find in S3: every seq in `0..generated` that this producer sent and that is not in `failed`.
///
/// Kept compact on purpose: the per-record facts the verifier needs (key, per-key sequence, send
/// time) travel inside each record's envelope, so the expectation only lists the exceptions, plus,
/// for one part of a split workload, one bit per seq saying which seqs the part sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expectation {
    /// The run id every envelope of this run carries.
    pub run_id: String,
    /// The name of the envelope field inside each event.
    pub envelope_field: String,
    /// Events were generated with seqs `0..generated` (a part sends only its own among them).
    pub generated: u64,
    /// Seqs the backend never acknowledged, with the reason of the last failure.
    pub failed: BTreeMap<u64, String>,
    /// Unix nanoseconds of the first put call.
    pub first_sent_ns: u64,
    /// Unix nanoseconds of the last acknowledgement.
    pub last_ack_ns: u64,
    /// For one part of a split workload: the part and the seqs it sent; `None` when one process sent all.
    pub part: Option<PartSeqs>,
    /// Acknowledgements per second since `first_sent_ns`: when records were sent, in bounded space.
    pub acked_per_second: Vec<u64>,
    /// The longest any record waited from its envelope's send time to its acknowledgement (its
    /// key's queue and its retries): no record reached the backend later than this after it was
    /// sent. 0 when unknown (an older file).
    pub max_ack_wait_ns: u64,
}

/// The seqs one part of a split workload sent, as a bitset over `0..generated`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSeqs {
    pub part: Part,
    bits: Vec<u64>,
    count: u64,
}

impl PartSeqs {
    /// An empty set for `part`.
    pub fn new(part: Part) -> PartSeqs {
        PartSeqs { part, bits: Vec::new(), count: 0 }
    }

    /// Marks `seq` as sent by this part.
    pub fn insert(&mut self, seq: u64) {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        if self.bits[word] & (1 << bit) == 0 {
            self.bits[word] |= 1 << bit;
            self.count += 1;
        }
    }

    /// Whether this part sent `seq`.
    pub fn contains(&self, seq: u64) -> bool {
        self.bits.get((seq / 64) as usize).is_some_and(|w| w & (1 << (seq % 64)) != 0)
    }

    /// How many seqs this part sent.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether this part sent nothing.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl Expectation {
    /// Number of records this producer sent: every seq below `generated`, or its part's.
    pub fn sent(&self) -> u64 {
        self.part.as_ref().map_or(self.generated, PartSeqs::len)
    }

    /// Number of records the backend acknowledged, which must all be delivered.
    pub fn acknowledged(&self) -> u64 {
        self.sent() - self.failed.len() as u64
    }

    /// Whether this producer sent `seq` (acknowledged or failed).
    pub fn owns(&self, seq: u64) -> bool {
        seq < self.generated && self.part.as_ref().is_none_or(|p| p.contains(seq))
    }

    /// Whether `seq` was acknowledged and so must be delivered.
    pub fn expects(&self, seq: u64) -> bool {
        self.owns(seq) && !self.failed.contains_key(&seq)
    }

    /// The expectation of a whole run from the expectations of its parts (`--part i/N`): every part
    /// exactly once, of the same run, envelope field and workload size. The seqs the parts sent are
    /// disjoint and together cover the workload; failures and per-second acknowledgements add up.
    pub fn union(parts: Vec<Expectation>) -> Result<Expectation, String> {
        let mut parts = parts.into_iter();
        let Some(first) = parts.next() else { return Err("no expectation given".to_owned()) };
        let rest: Vec<Expectation> = parts.collect();
        if rest.is_empty() {
            return Ok(first);
        }
        let all: Vec<&Expectation> = std::iter::once(&first).chain(&rest).collect();
        for other in &all[1..] {
            if (&other.run_id, &other.envelope_field, other.generated)
                != (&first.run_id, &first.envelope_field, first.generated)
            {
                return Err(format!(
                    "expectations of different runs: run {:?} (field {:?}, {} events) and run {:?} (field {:?}, {} events)",
                    first.run_id,
                    first.envelope_field,
                    first.generated,
                    other.run_id,
                    other.envelope_field,
                    other.generated
                ));
            }
        }
        let Some(count) = first.part.as_ref().map(|p| p.part.count) else {
            return Err(format!(
                "run {:?}: an expectation of the whole run cannot be combined with others",
                first.run_id
            ));
        };
        // The parts given, not a slot per part: the count comes from a file and may be anything.
        let mut seen = std::collections::BTreeSet::new();
        let mut sent = PartSeqs::new(Part { index: 0, count: 1 });
        let first_sent_ns = all.iter().map(|e| e.first_sent_ns).min().unwrap_or(0);
        let mut union = Expectation {
            run_id: first.run_id.clone(),
            envelope_field: first.envelope_field.clone(),
            generated: first.generated,
            first_sent_ns,
            last_ack_ns: all.iter().map(|e| e.last_ack_ns).max().unwrap_or(0),
            max_ack_wait_ns: all.iter().map(|e| e.max_ack_wait_ns).max().unwrap_or(0),
            ..Expectation::default()
        };
        for expectation in &all {
            let Some(part) = &expectation.part else {
                return Err(format!(
                    "run {:?}: an expectation of the whole run cannot be combined with others",
                    first.run_id
                ));
            };
            let (index, of) = (part.part.index, part.part.count);
            if of != count || index >= count {
                return Err(format!("part {index}/{of} does not belong with parts of {count}"));
            }
            if !seen.insert(index) {
                return Err(format!("part {index}/{count} is given twice"));
            }
            for (word, bits) in part.bits.iter().enumerate() {
                for bit in 0..64 {
                    if bits & (1 << bit) != 0 {
                        let seq = word as u64 * 64 + bit;
                        if sent.contains(seq) {
                            return Err(format!("seq {seq} was sent by two parts"));
                        }
                        sent.insert(seq);
                    }
                }
            }
            union.failed.extend(expectation.failed.iter().map(|(seq, why)| (*seq, why.clone())));
            let offset = (expectation.first_sent_ns - first_sent_ns) / 1_000_000_000;
            if offset > MAX_PART_START_SPREAD_SECONDS {
                return Err(format!(
                    "part {index}/{count} started {offset} s after the first part; parts of one run start within {MAX_PART_START_SPREAD_SECONDS} s"
                ));
            }
            let offset = offset as usize;
            for (second, acked) in expectation.acked_per_second.iter().enumerate() {
                if union.acked_per_second.len() <= offset + second {
                    union.acked_per_second.resize(offset + second + 1, 0);
                }
                union.acked_per_second[offset + second] += acked;
            }
        }
        // A few missing parts are named; there are at most as many checks as parts given, plus those.
        let missing: Vec<String> =
            (0..count).filter(|i| !seen.contains(i)).take(10).map(|i| format!("{i}/{count}")).collect();
        if !missing.is_empty() {
            return Err(format!(
                "part {} missing: give the expectation file of every part",
                missing.join(", ")
            ));
        }
        if sent.len() != union.generated {
            return Err(format!("the parts sent {} of {} seqs", sent.len(), union.generated));
        }
        Ok(union)
    }

    /// Writes the expectation as versioned JSON to `path`.
    pub fn write(&self, path: &Path) -> Result<(), ExpectationFileError> {
        let file = File {
            format: FORMAT.to_owned(),
            version: VERSION,
            run_id: self.run_id.clone(),
            envelope_field: self.envelope_field.clone(),
            generated: self.generated,
            failed: self.failed.clone(),
            first_sent_ns: self.first_sent_ns,
            last_ack_ns: self.last_ack_ns,
            part: self.part.as_ref().map(|p| FilePart {
                part: p.part,
                sent: p.count,
                bitset_base64: base64::engine::general_purpose::STANDARD
                    .encode(p.bits.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>()),
            }),
            acked_per_second: self.acked_per_second.clone(),
            max_ack_wait_ns: self.max_ack_wait_ns,
        };
        let io = |source| ExpectationFileError::Io { path: path.to_path_buf(), source };
        let bytes = serde_json::to_vec(&file).expect("an expectation serialises");
        std::fs::write(path, bytes).map_err(io)
    }

    /// Reads an expectation file written by [`Expectation::write`].
    pub fn read(path: &Path) -> Result<Expectation, ExpectationFileError> {
        let bytes = std::fs::read(path)
            .map_err(|source| ExpectationFileError::Io { path: path.to_path_buf(), source })?;
        let invalid = |reason: String| ExpectationFileError::Invalid { path: path.to_path_buf(), reason };
        let file: File = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        if file.format != FORMAT || file.version != VERSION {
            return Err(invalid(format!(
                "format {:?} version {}; this build reads {FORMAT:?} version {VERSION}",
                file.format, file.version
            )));
        }
        // The verifier allocates bits per generated seq: a size is checked before anything is.
        if file.generated > scenario::MAX_EVENTS {
            return Err(invalid(format!(
                "generated is {}, more than the {} records one run may have",
                file.generated,
                scenario::MAX_EVENTS
            )));
        }
        if let Some((seq, _)) = file.failed.last_key_value().filter(|(seq, _)| **seq >= file.generated) {
            return Err(invalid(format!(
                "failed lists seq {seq}, but only {} were generated",
                file.generated
            )));
        }
        let part = match file.part {
            None => None,
            Some(p) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(p.bitset_base64)
                    .map_err(|e| invalid(format!("part bitset: {e}")))?;
                if raw.len() % 8 != 0 {
                    return Err(invalid("part bitset length is not a whole number of words".into()));
                }
                let bits: Vec<u64> =
                    raw.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
                let count = bits.iter().map(|w| u64::from(w.count_ones())).sum();
                if count != p.sent {
                    return Err(invalid(format!("part bitset holds {count} seqs, file says {}", p.sent)));
                }
                if p.part.count == 0 || p.part.index >= p.part.count {
                    return Err(invalid(format!(
                        "part {}/{} is not a part (0 <= i < N)",
                        p.part.index, p.part.count
                    )));
                }
                let part = PartSeqs { part: p.part, bits, count };
                let highest = part
                    .bits
                    .iter()
                    .rposition(|w| *w != 0)
                    .map(|word| word as u64 * 64 + 63 - u64::from(part.bits[word].leading_zeros()));
                if let Some(seq) = highest.filter(|seq| *seq >= file.generated) {
                    return Err(invalid(format!(
                        "part bitset holds seq {seq}, but only {} were generated",
                        file.generated
                    )));
                }
                if let Some(seq) = file.failed.keys().find(|seq| !part.contains(**seq)) {
                    return Err(invalid(format!("failed lists seq {seq}, which this part did not send")));
                }
                Some(part)
            }
        };
        Ok(Expectation {
            run_id: file.run_id,
            envelope_field: file.envelope_field,
            generated: file.generated,
            failed: file.failed,
            first_sent_ns: file.first_sent_ns,
            last_ack_ns: file.last_ack_ns,
            part,
            acked_per_second: file.acked_per_second,
            max_ack_wait_ns: file.max_ack_wait_ns,
        })
    }
}

/// Why an expectation file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationFileError {
    #[error("cannot access expectation file {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid expectation file: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// The file form: JSON with a format tag and version, the part's seqs as a base64 bitset.
#[derive(Debug, Serialize, Deserialize)]
struct File {
    format: String,
    version: u32,
    run_id: String,
    envelope_field: String,
    generated: u64,
    failed: BTreeMap<u64, String>,
    first_sent_ns: u64,
    last_ack_ns: u64,
    part: Option<FilePart>,
    #[serde(default)]
    acked_per_second: Vec<u64>,
    #[serde(default)]
    max_ack_wait_ns: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct FilePart {
    part: Part,
    sent: u64,
    bitset_base64: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Expectation {
        let mut part = PartSeqs::new(Part { index: 1, count: 3 });
        for seq in [0, 5, 63, 64, 130] {
            part.insert(seq);
        }
        Expectation {
            run_id: "r".into(),
            envelope_field: "_streamproof".into(),
            generated: 131,
            failed: BTreeMap::from([(5, "ProvisionedThroughputExceededException after 10 attempts".into())]),
            first_sent_ns: 1,
            last_ack_ns: 2,
            part: Some(part),
            acked_per_second: vec![3, 1],
            max_ack_wait_ns: 7,
        }
    }

    #[test]
    fn a_part_expects_only_its_acknowledged_seqs() {
        let e = sample();
        assert_eq!(e.sent(), 5);
        assert_eq!(e.acknowledged(), 4);
        assert!(e.expects(0) && e.expects(63) && e.expects(64) && e.expects(130));
        assert!(!e.expects(5), "failed");
        assert!(e.owns(5));
        assert!(!e.expects(1) && !e.owns(1), "another part's seq");
        assert!(!e.expects(131), "beyond generated");
    }

    #[test]
    fn a_whole_run_expects_every_seq_but_the_failed() {
        let e = Expectation {
            generated: 10,
            failed: BTreeMap::from([(3, "x".into())]),
            ..Expectation::default()
        };
        assert_eq!(e.acknowledged(), 9);
        assert!((0..10).filter(|s| e.expects(*s)).eq([0, 1, 2, 4, 5, 6, 7, 8, 9]));
    }

    #[test]
    fn files_round_trip_and_reject_other_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("expectation.json");
        let e = sample();
        e.write(&path).unwrap();
        assert_eq!(Expectation::read(&path).unwrap(), e);
        let text = std::fs::read_to_string(&path).unwrap().replace("\"version\":1", "\"version\":99");
        std::fs::write(&path, text).unwrap();
        let error = Expectation::read(&path).unwrap_err().to_string();
        assert!(error.contains("version 99"), "{error}");
    }

    #[test]
    fn crafted_sizes_are_refused_before_anything_is_allocated_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("expectation.json");
        sample().write(&path).unwrap();
        let good = std::fs::read_to_string(&path).unwrap();
        let cases = [
            // More records than a run may have: the verifier would allocate bits for each.
            (
                good.replace("\"generated\":131", "\"generated\":18446744073709551615"),
                "more than the 4294967296 records",
            ),
            // Seqs the file names must be below generated, and a part's failures among its own seqs.
            (
                good.replace("\"generated\":131", "\"generated\":100"),
                "holds seq 130, but only 100 were generated",
            ),
            (good.replace("{\"5\":", "{\"6\":"), "failed lists seq 6, which this part did not send"),
            (good.replace("{\"5\":", "{\"131\":"), "failed lists seq 131, but only 131 were generated"),
            (good.replace("\"count\":3", "\"count\":0"), "part 1/0 is not a part"),
        ];
        for (text, says) in cases {
            assert_ne!(text, good, "the case changes the file");
            std::fs::write(&path, &text).unwrap();
            let error = Expectation::read(&path).unwrap_err().to_string();
            assert!(
                error.contains(says) && error.contains("expectation.json"),
                "{error} should say {says:?}"
            );
        }
    }

    #[test]
    fn a_union_of_parts_of_a_huge_count_names_the_missing_ones_without_a_slot_per_part() {
        let huge = |index: u32| {
            let mut e = third(index, 1);
            e.part.as_mut().unwrap().part.count = u32::MAX;
            e
        };
        let error = Expectation::union(vec![huge(0), huge(1)]).unwrap_err();
        assert!(error.starts_with("part 2/4294967295, 3/4294967295,"), "{error}");
        // Parts of one run start together: one starting a year later cannot stretch the time line.
        let year = 365 * 24 * 3_600 * 1_000_000_000;
        let error = Expectation::union(vec![third(0, 1), third(1, 1 + year), third(2, 1)]).unwrap_err();
        assert!(error.contains("part 1/3 started 31536000 s after the first part"), "{error}");
    }

    /// Part `index` of 3 over 0..9, owning the seqs `s` with `s % 3 == index`.
    fn third(index: u32, first_sent_ns: u64) -> Expectation {
        let mut part = PartSeqs::new(Part { index, count: 3 });
        (0..9).filter(|seq| seq % 3 == u64::from(index)).for_each(|seq| part.insert(seq));
        Expectation {
            run_id: "r".into(),
            envelope_field: "_streamproof".into(),
            generated: 9,
            failed: BTreeMap::from([(u64::from(index), "throttled".into())]),
            first_sent_ns,
            last_ack_ns: first_sent_ns + 10,
            part: Some(part),
            acked_per_second: vec![1, 1],
            max_ack_wait_ns: 0,
        }
    }

    #[test]
    fn the_union_of_every_part_is_the_whole_run() {
        let union = Expectation::union(vec![
            third(2, 3_000_000_000),
            third(0, 1_000_000_000),
            third(1, 1_500_000_000),
        ])
        .unwrap();
        assert_eq!(union.part, None);
        assert_eq!((union.generated, union.sent(), union.acknowledged()), (9, 9, 6));
        assert_eq!(union.failed.keys().copied().collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!((union.first_sent_ns, union.last_ack_ns), (1_000_000_000, 3_000_000_010));
        // Part 2 started two seconds after part 0.
        assert_eq!(union.acked_per_second, [2, 2, 1, 1]);
    }

    #[test]
    fn a_union_refuses_missing_repeated_and_foreign_parts() {
        let cases = [
            (vec![third(0, 1), third(1, 1)], "part 2/3 missing"),
            (vec![third(0, 1), third(0, 1), third(1, 1)], "part 0/3 is given twice"),
            (vec![third(0, 1), Expectation { run_id: "other".into(), ..third(1, 1) }], "different runs"),
            (vec![third(0, 1), Expectation { part: None, ..third(1, 1) }], "whole run"),
        ];
        for (parts, says) in cases {
            let error = Expectation::union(parts).unwrap_err();
            assert!(error.contains(says), "{error} should say {says:?}");
        }
    }
}
