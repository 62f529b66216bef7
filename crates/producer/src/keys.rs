//! Partition-key strategies and the split of a workload into disjoint parts by key.
//!
//! A record's key is drawn from its own ChaCha8 stream (seed and seq), separate from the event's,
//! so the key of any seq is known without generating the event unless the key is one of its fields.

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};
use scenario::PartitionKey;

/// Mixed into the seed so that key draws never share a stream with event draws.
const KEY_STREAM_SALT: u64 = 0x6b65_7973_7472_6d31;

/// Draws the partition key of a seq for the strategies that do not read an event field.
#[derive(Debug, Clone)]
pub(crate) enum KeySampler {
    /// The key is an event field; the schema supplies it.
    Field,
    Constant(String),
    Random,
    Uniform(u32),
    Zipf(Zipf<f64>),
    HotKey {
        keys: u32,
        fraction: f64,
    },
}

impl KeySampler {
    pub(crate) fn new(strategy: &PartitionKey) -> KeySampler {
        match strategy {
            PartitionKey::Field(_) => KeySampler::Field,
            PartitionKey::Constant(value) => KeySampler::Constant(value.clone()),
            PartitionKey::Random => KeySampler::Random,
            PartitionKey::Uniform { keys } => KeySampler::Uniform(*keys),
            PartitionKey::Zipf { keys, exponent } => KeySampler::Zipf(
                Zipf::new(f64::from(*keys), *exponent).expect("validation keeps keys >= 1 and exponent > 0"),
            ),
            PartitionKey::HotKey { keys, fraction } => {
                KeySampler::HotKey { keys: *keys, fraction: *fraction }
            }
        }
    }

    /// The key of `seq`, or `None` when the key is an event field.
    pub(crate) fn key(&self, seed: u64, seq: u64) -> Option<String> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ KEY_STREAM_SALT);
        rng.set_stream(seq);
        Some(match self {
            KeySampler::Field => return None,
            KeySampler::Constant(value) => value.clone(),
            KeySampler::Random => {
                format!("{:032x}", rng.next_u64() as u128 | (u128::from(rng.next_u64()) << 64))
            }
            KeySampler::Uniform(keys) => key_name(rng.random_range(0..*keys)),
            // Zipf draws ranks 1..=keys; rank 1 is the most frequent key.
            KeySampler::Zipf(zipf) => key_name(zipf.sample(&mut rng) as u32 - 1),
            KeySampler::HotKey { keys, fraction } => {
                if *keys <= 1 || rng.random_bool(*fraction) {
                    key_name(0)
                } else {
                    key_name(rng.random_range(1..*keys))
                }
            }
        })
    }
}

/// The name of key number `index`: `key-000042`.
pub(crate) fn key_name(index: u32) -> String {
    format!("key-{index:06}")
}

/// One of `count` disjoint parts of a workload (`--part index/count`, `index` from 0).
///
/// A part owns the records whose partition key hashes to it, so every record of a key is sent by
/// one process and per-key order never spans processes; seqs stay global, so parts never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Part {
    pub index: u32,
    pub count: u32,
}

/// Why a part spec was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid part {spec:?}: expected i/N with 0 <= i < N, e.g. 0/4")]
pub struct PartParseError {
    pub spec: String,
}

impl Part {
    /// The whole workload as one part.
    pub const WHOLE: Part = Part { index: 0, count: 1 };

    /// Whether this part sends the records of partition key `key`.
    pub fn owns(&self, key: &str) -> bool {
        self.count <= 1 || stable_hash(b"part", key) % u64::from(self.count) == u64::from(self.index)
    }
}

impl std::str::FromStr for Part {
    type Err = PartParseError;

    fn from_str(spec: &str) -> Result<Part, PartParseError> {
        let error = || PartParseError { spec: spec.to_owned() };
        let (index, count) = spec.split_once('/').ok_or_else(error)?;
        let index: u32 = index.trim().parse().map_err(|_| error())?;
        let count: u32 = count.trim().parse().map_err(|_| error())?;
        if count == 0 || index >= count {
            return Err(error());
        }
        Ok(Part { index, count })
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The sender lane of `key` among `lanes`, independent of the part split.
pub(crate) fn lane_of(key: &str, lanes: usize) -> usize {
    (stable_hash(b"lane", key) % lanes as u64) as usize
}

/// FNV-1a over a domain tag and the key: stable across processes, platforms and releases.
fn stable_hash(domain: &[u8], key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in domain.iter().chain([0u8].iter()).chain(key.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // A final avalanche so that `% count` uses every bit.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^ (hash >> 33)
}

/// Per-key sequence numbers (`kseq`): 0, 1, 2, … for the records of each partition key, in the
/// order they are made. With unique keys (the random strategy) every `kseq` is 0 and nothing is kept.
#[derive(Debug, Default)]
pub(crate) struct KeySequences {
    unique_keys: bool,
    next: std::collections::HashMap<String, u64>,
}

impl KeySequences {
    pub(crate) fn new(unique_keys: bool) -> KeySequences {
        KeySequences { unique_keys, next: std::collections::HashMap::new() }
    }

    /// The `kseq` of the next record of `key`.
    pub(crate) fn next(&mut self, key: &str) -> u64 {
        if self.unique_keys {
            return 0;
        }
        // Look up by borrowed key first: allocating a key per record would dominate.
        match self.next.get_mut(key) {
            Some(next) => {
                *next += 1;
                *next - 1
            }
            None => {
                self.next.insert(key.to_owned(), 1);
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sequences_count_per_key_and_stay_zero_for_unique_keys() {
        let mut kseqs = KeySequences::new(false);
        let got: Vec<u64> = ["a", "b", "a", "a", "b"].into_iter().map(|key| kseqs.next(key)).collect();
        assert_eq!(got, [0, 0, 1, 2, 1]);
        let mut unique = KeySequences::new(true);
        assert_eq!((unique.next("a"), unique.next("a")), (0, 0));
    }
    use std::collections::HashMap;

    fn counts(strategy: &PartitionKey, n: u64) -> HashMap<String, u64> {
        let sampler = KeySampler::new(strategy);
        let mut counts = HashMap::new();
        for seq in 0..n {
            *counts.entry(sampler.key(9, seq).unwrap()).or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn zipf_top_key_share_matches_theory() {
        // 100,000 records over 1,000 keys with s = 1.1: the top key's share is 1 / H(1000, 1.1).
        let (keys, s, n) = (1000u32, 1.1f64, 100_000u64);
        let counts = counts(&PartitionKey::Zipf { keys, exponent: s }, n);
        let harmonic: f64 = (1..=keys).map(|k| 1.0 / f64::from(k).powf(s)).sum();
        let expected = 1.0 / harmonic;
        let top = counts[&key_name(0)] as f64 / n as f64;
        assert!((top - expected).abs() < 0.1 * expected, "top share {top}, theory {expected}");
        // The second key follows 1 / 2^s of the first.
        let second = counts[&key_name(1)] as f64 / n as f64;
        assert!((second - expected / 2f64.powf(s)).abs() < 0.15 * expected / 2f64.powf(s), "{second}");
        assert!(counts.keys().all(|k| k.as_str() < "key-001000"));
    }

    #[test]
    fn uniform_spreads_evenly_over_k_keys() {
        let counts = counts(&PartitionKey::Uniform { keys: 10 }, 100_000);
        assert_eq!(counts.len(), 10);
        for (key, count) in &counts {
            assert!((9_000..=11_000).contains(count), "{key}: {count}");
        }
    }

    #[test]
    fn hot_key_gets_its_fraction() {
        let counts = counts(&PartitionKey::HotKey { keys: 100, fraction: 0.3 }, 100_000);
        let hot = counts[&key_name(0)] as f64 / 100_000.0;
        assert!((hot - 0.3).abs() < 0.01, "hot share {hot}");
        assert_eq!(counts.len(), 100);
    }

    #[test]
    fn constant_puts_everything_on_one_key_and_random_never_repeats() {
        let constant = counts(&PartitionKey::Constant("all".into()), 1000);
        assert_eq!(constant.len(), 1);
        assert_eq!(constant["all"], 1000);
        let random = counts(&PartitionKey::Random, 10_000);
        assert_eq!(random.len(), 10_000);
        assert!(random.keys().all(|k| k.len() == 32));
        assert_eq!(KeySampler::new(&PartitionKey::Field("user_id".into())).key(1, 1), None);
    }

    #[test]
    fn parts_split_keys_disjointly_and_completely() {
        let parts: Vec<Part> = (0..4).map(|i| Part { index: i, count: 4 }).collect();
        let mut sizes = [0u32; 4];
        for k in 0..10_000 {
            let key = key_name(k);
            let owners: Vec<_> = parts.iter().filter(|p| p.owns(&key)).collect();
            assert_eq!(owners.len(), 1, "{key}");
            sizes[owners[0].index as usize] += 1;
        }
        assert!(sizes.iter().all(|s| (2_200..=2_800).contains(s)), "{sizes:?}");
        assert!(Part::WHOLE.owns("anything"));
    }

    #[test]
    fn part_specs_parse_and_reject_nonsense() {
        assert_eq!("2/5".parse::<Part>(), Ok(Part { index: 2, count: 5 }));
        assert_eq!(Part { index: 2, count: 5 }.to_string(), "2/5");
        for bad in ["5/5", "1/0", "x/2", "3", "-1/2"] {
            assert!(bad.parse::<Part>().is_err(), "{bad}");
        }
    }
}
