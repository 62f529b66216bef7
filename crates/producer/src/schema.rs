//! Built-in event schemas: deterministic synthetic events, random-access by seq.
//!
//! Event `seq` of a run is a pure function of (schema, seed, seq): its generator is a ChaCha8
//! stream selected by `seq` under a key derived from the seed, so any event can be produced
//! alone, in any order, by any process, and comes out byte-identical.

use fake::Fake;
use fake::faker::internet::en::UserAgent;
use fake::faker::lorem::en::Word;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scenario::{Schema, Workload};
use serde::Serialize;

/// Unix seconds of 2026-01-01T00:00:00Z, the synthetic clock events are stamped from.
const EPOCH_2026: i64 = 1_767_225_600;
/// Synthetic event time advances by this many milliseconds per seq.
const MILLIS_PER_EVENT: i64 = 10;

const ACTIONS: &[&str] =
    &["view", "click", "search", "add_to_cart", "remove_from_cart", "purchase", "login", "logout"];
const CATEGORIES: &[&str] =
    &["electronics", "books", "fashion", "home", "sports", "beauty", "toys", "grocery", "music", "garden"];
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "sa-east-1",
];

/// Generates the events of one workload.
#[derive(Debug, Clone)]
pub struct Generator {
    schema: Schema,
    seed: u64,
    users: u32,
    partition_key: String,
}

/// One clickstream event: a web or API action log line.
#[derive(Debug, Serialize)]
struct Clickstream<'a> {
    timestamp: String,
    user_id: String,
    device: String,
    action: &'a str,
    category: &'a str,
    region: &'a str,
    keyword: String,
}

impl Generator {
    /// A generator for `workload`'s schema, seed and partition-key field.
    pub fn new(workload: &Workload) -> Generator {
        Generator {
            schema: workload.schema,
            seed: workload.seed,
            users: workload.users,
            partition_key: workload.partition_key.clone(),
        }
    }

    /// Writes event `seq` as a JSON object into `out` (cleared first) and returns its partition key.
    pub fn event(&self, seq: u64, out: &mut Vec<u8>) -> String {
        out.clear();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(seq);
        match self.schema {
            Schema::Clickstream => {
                let event = Clickstream {
                    timestamp: synthetic_timestamp(seq),
                    user_id: format!("user-{:05}", rng.random_range(0..self.users)),
                    device: UserAgent().fake_with_rng(&mut rng),
                    action: ACTIONS[rng.random_range(0..ACTIONS.len())],
                    category: CATEGORIES[rng.random_range(0..CATEGORIES.len())],
                    region: REGIONS[rng.random_range(0..REGIONS.len())],
                    keyword: Word().fake_with_rng(&mut rng),
                };
                serde_json::to_writer(&mut *out, &event).expect("an event serialises");
                self.key_of(&event)
            }
        }
    }

    fn key_of(&self, event: &Clickstream<'_>) -> String {
        match self.partition_key.as_str() {
            "timestamp" => event.timestamp.clone(),
            "user_id" => event.user_id.clone(),
            "device" => event.device.clone(),
            "action" => event.action.to_owned(),
            "category" => event.category.to_owned(),
            "region" => event.region.to_owned(),
            "keyword" => event.keyword.clone(),
            other => unreachable!("scenario validation admits only schema fields, not {other:?}"),
        }
    }
}

/// `2026-01-01T00:00:00.000Z` plus `seq` × 10 ms, in RFC 3339 with milliseconds.
fn synthetic_timestamp(seq: u64) -> String {
    let millis = EPOCH_2026 * 1000 + (seq as i64).saturating_mul(MILLIS_PER_EVENT);
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .expect("synthetic timestamps stay within the representable range");
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn workload(seed: u64) -> Workload {
        Workload {
            events: 1000,
            schema: Schema::Clickstream,
            partition_key: "user_id".into(),
            users: 50,
            seed,
            envelope_field: "_streamproof".into(),
        }
    }

    #[test]
    fn same_seed_gives_byte_identical_events_in_any_order() {
        let a = Generator::new(&workload(42));
        let b = Generator::new(&workload(42));
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for seq in (0..200).rev() {
            let kx = a.event(seq, &mut x);
            let ky = b.event(seq, &mut y);
            assert_eq!(x, y, "seq {seq}");
            assert_eq!(kx, ky);
        }
    }

    #[test]
    fn different_seeds_give_different_events() {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        Generator::new(&workload(1)).event(0, &mut x);
        Generator::new(&workload(2)).event(0, &mut y);
        assert_ne!(x, y);
    }

    #[test]
    fn clickstream_events_have_every_field_and_the_key_of_the_named_field() {
        let generator = Generator::new(&workload(7));
        let mut out = Vec::new();
        let mut users = HashSet::new();
        for seq in 0..2000 {
            let key = generator.event(seq, &mut out);
            let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
            let object = value.as_object().unwrap();
            for field in Schema::Clickstream.fields() {
                assert!(object.contains_key(*field), "missing {field} in {value}");
            }
            assert_eq!(object["user_id"], key.as_str());
            users.insert(key);
        }
        // 2,000 draws over 50 users leave none out with overwhelming probability.
        assert_eq!(users.len(), 50);
    }

    #[test]
    fn synthetic_timestamps_start_at_2026_and_advance_10ms_per_event() {
        assert_eq!(synthetic_timestamp(0), "2026-01-01T00:00:00.000Z");
        assert_eq!(synthetic_timestamp(100_001), "2026-01-01T00:16:40.010Z");
    }
}
