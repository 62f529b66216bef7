//! The envelope: the one field streamproof adds to every event so the verifier can match records.

use serde::{Deserialize, Serialize};

/// `{"run": .., "seq": .., "key": .., "kseq": .., "sent_ns": ..}`, stored under the scenario's envelope field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The run id; records of other runs in the same bucket are ignored by the verifier.
    pub run: String,
    /// Global sequence number of the event within the run, from 0.
    pub seq: u64,
    /// The partition key the record was sent with.
    pub key: String,
    /// Sequence number of the event among the events of its partition key, from 0.
    pub kseq: u64,
    /// Wall-clock time the record was handed to the put call, in Unix nanoseconds.
    pub sent_ns: u64,
}

/// Appends `"<field>":<envelope>` as the last member of the JSON object `event`.
///
/// `event` must be a serialised JSON object (`{...}`); the result is again one JSON object.
pub fn append(event: &[u8], field: &str, envelope: &Envelope, out: &mut Vec<u8>) {
    debug_assert!(event.first() == Some(&b'{') && event.last() == Some(&b'}'));
    out.extend_from_slice(&event[..event.len() - 1]);
    if event.len() > 2 {
        out.push(b',');
    }
    serde_json::to_writer(&mut *out, field).expect("a string serialises");
    out.push(b':');
    serde_json::to_writer(&mut *out, envelope).expect("an envelope serialises");
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope { run: "r1".into(), seq: 7, key: "u\"1".into(), kseq: 2, sent_ns: 5 }
    }

    #[test]
    fn appended_envelope_round_trips_as_last_field() {
        let mut out = Vec::new();
        append(br#"{"a":1}"#, "_streamproof", &envelope(), &mut out);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["a"], 1);
        let back: Envelope = serde_json::from_value(value["_streamproof"].clone()).unwrap();
        assert_eq!(back, envelope());
    }

    #[test]
    fn envelope_can_be_appended_to_an_empty_object() {
        let mut out = Vec::new();
        append(b"{}", "env", &envelope(), &mut out);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 1);
        assert_eq!(value["env"]["seq"], 7);
    }
}
