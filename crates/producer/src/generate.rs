//! A workload's records as they would be put, without sending them: events, keys, per-key
//! sequence numbers, the envelope and the padding, in seq order.
//!
//! [`Records`] builds each record exactly as the sender does, except that every envelope carries
//! the one `sent_ns` given at the start. It feeds `streamproof generate`, which writes records as
//! Firehose would deliver them (local test fixtures, benchmark inputs) and measures generation speed
//! before any I/O.

use scenario::Workload;

use crate::envelope::Envelope;
use crate::expectation::Expectation;
use crate::keys::KeySequences;
use crate::schema::Generator;

/// The records of a workload, `0..events` in seq order.
#[derive(Debug)]
pub struct Records {
    generator: Generator,
    run_id: String,
    envelope_field: String,
    sent_ns: u64,
    events: u64,
    next: u64,
    kseqs: KeySequences,
    event: Vec<u8>,
}

impl Records {
    /// The records of `workload`'s first `events` events for run `run_id`, all stamped `sent_ns`.
    pub fn new(workload: &Workload, events: u64, run_id: &str, sent_ns: u64) -> Records {
        let generator = Generator::new(workload);
        Records {
            kseqs: KeySequences::new(generator.keys_are_unique()),
            generator,
            run_id: run_id.to_owned(),
            envelope_field: workload.envelope_field.clone(),
            sent_ns,
            events,
            next: 0,
            event: Vec::new(),
        }
    }

    /// Appends the next record to `out` and returns its seq, or `None` when every record was made.
    pub fn next_into(&mut self, out: &mut Vec<u8>) -> Option<u64> {
        let seq = self.next;
        if seq >= self.events {
            return None;
        }
        self.next += 1;
        let key = self.generator.event(seq, &mut self.event);
        let kseq = self.kseqs.next(&key);
        let envelope = Envelope { run: self.run_id.clone(), seq, key, kseq, sent_ns: self.sent_ns };
        self.generator.append_record(seq, &self.event, &self.envelope_field, &envelope, out);
        Some(seq)
    }

    /// How many records were made so far.
    pub fn made(&self) -> u64 {
        self.next
    }

    /// The expectation of these records as if every one had been acknowledged: what a verifier
    /// holds delivered objects of them to.
    pub fn expectation(&self) -> Expectation {
        Expectation {
            run_id: self.run_id.clone(),
            envelope_field: self.envelope_field.clone(),
            generated: self.next,
            first_sent_ns: self.sent_ns,
            last_ack_ns: self.sent_ns,
            acked_per_second: vec![self.next],
            max_ack_wait_ns: 0,
            ..Expectation::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn workload(toml_workload: &str) -> Workload {
        let text =
            format!("[pipeline]\nshards = 1\nbucket = \"b-test\"\n[workload]\n{toml_workload}\n[expect]\n");
        scenario::parse(std::path::Path::new("test.toml"), &text).unwrap().workload
    }

    fn all(records: &mut Records) -> Vec<serde_json::Value> {
        let mut values = Vec::new();
        let mut out = Vec::new();
        while records.next_into(&mut out).is_some() {
            values.push(serde_json::from_slice(&out).unwrap());
            out.clear();
        }
        values
    }

    #[test]
    fn records_carry_envelopes_with_per_key_sequences() {
        let workload = workload(
            "events = 200\nschema = \"clickstream\"\npartition_key = \"user_id\"\nusers = 3\nseed = 5",
        );
        let mut records = Records::new(&workload, 200, "run-1", 1_795_000_000_000_000_000);
        let values = all(&mut records);
        assert_eq!(values.len(), 200);
        let mut next_kseq: HashMap<String, u64> = HashMap::new();
        for (seq, value) in values.iter().enumerate() {
            let envelope = &value["_streamproof"];
            assert_eq!(envelope["run"], "run-1");
            assert_eq!(envelope["seq"], seq as u64);
            assert_eq!(envelope["sent_ns"], 1_795_000_000_000_000_000u64);
            let key = envelope["key"].as_str().unwrap().to_owned();
            assert_eq!(value["user_id"], key.as_str(), "the key is the user_id field");
            let expected = next_kseq.entry(key).or_insert(0);
            assert_eq!(envelope["kseq"], *expected);
            *expected += 1;
        }
        assert_eq!(next_kseq.len(), 3, "three users give three keys");
        assert_eq!(records.made(), 200);
        let expectation = records.expectation();
        assert_eq!((expectation.generated, expectation.acknowledged()), (200, 200));
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_padding_holds() {
        let workload = workload(
            "events = 50\nschema = \"person-item\"\nseed = 9\n[workload.key]\nstrategy = \"uniform\"\nkeys = 4\n[workload.payload]\nsize_bytes = 300",
        );
        let bytes = |events| {
            let mut records = Records::new(&workload, events, "r", 1_795_000_000_000_000_000);
            let mut out = Vec::new();
            let mut sizes = Vec::new();
            while records.next_into(&mut out).is_some() {
                sizes.push(out.len());
            }
            (out, sizes)
        };
        let (first, sizes) = bytes(50);
        assert_eq!(first, bytes(50).0);
        let mut previous = 0;
        for size in sizes {
            assert_eq!(size - previous, 300, "every record is padded to 300 bytes");
            previous = size;
        }
        assert!(bytes(10).0.len() < first.len());
    }
}
