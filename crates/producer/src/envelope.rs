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

/// Appends the envelope as [`append`] does, first padding `event` with a `pad_field` string so the
/// record is exactly `target` bytes; a record already at or above `target` is left as is.
pub fn append_padded(
    event: &[u8],
    field: &str,
    envelope: &Envelope,
    target: Option<usize>,
    pad_field: &str,
    out: &mut Vec<u8>,
) {
    let start = out.len();
    append(event, field, envelope, out);
    let Some(target) = target else { return };
    let natural = out.len() - start;
    let comma = usize::from(event.len() > 2);
    // `"<pad_field>":"` + filler + `"` and the comma that separates it from the event's own fields.
    let overhead = comma + pad_field.len() + 5;
    let Some(filler) = target.checked_sub(natural + overhead) else { return };
    out.truncate(start);
    let mut padded = Vec::with_capacity(event.len() + overhead + filler);
    padded.extend_from_slice(&event[..event.len() - 1]);
    if comma == 1 {
        padded.push(b',');
    }
    padded.push(b'"');
    padded.extend_from_slice(pad_field.as_bytes());
    padded.extend_from_slice(b"\":\"");
    padded.resize(padded.len() + filler, b'x');
    padded.extend_from_slice(b"\"}");
    append(&padded, field, envelope, out);
}

/// Rewrites, in place, the `sent_ns` of a record built by [`append`] or [`append_padded`].
///
/// The envelope is the record's last member and `sent_ns` its last field, so the record ends in
/// `"sent_ns":<digits>}}`. The new value must have as many digits as the old one (Unix nanoseconds
/// have 19 digits from 2001 to 2286), so the record's size never changes. Returns whether it did.
pub fn restamp(record: &mut [u8], sent_ns: u64) -> bool {
    let Some(body) = record.strip_suffix(b"}}") else { return false };
    let digits = body.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let start = body.len() - digits;
    let new = sent_ns.to_string();
    if digits != new.len() || !body[..start].ends_with(b"\"sent_ns\":") {
        return false;
    }
    record[start..start + digits].copy_from_slice(new.as_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope { run: "r1".into(), seq: 7, key: "u\"1".into(), kseq: 2, sent_ns: 5 }
    }

    #[test]
    fn restamping_rewrites_sent_ns_in_place_and_keeps_the_size() {
        let mut envelope = envelope();
        envelope.sent_ns = 1_763_000_000_000_000_000;
        let mut out = Vec::new();
        append_padded(br#"{"a":"}}"}"#, "_sp", &envelope, Some(300), "_pad", &mut out);
        let size = out.len();
        assert!(restamp(&mut out, 1_763_999_999_999_999_999));
        assert_eq!(out.len(), size);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["_sp"]["sent_ns"], 1_763_999_999_999_999_999u64);
        assert_eq!(value["a"], "}}");
        // A value of another width would change the size: refused, record untouched.
        let before = out.clone();
        assert!(!restamp(&mut out, 5));
        assert_eq!(out, before);
        assert!(!restamp(&mut br#"{"a":1}"#.to_vec(), 1_763_999_999_999_999_999));
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
    fn padding_hits_the_target_size_exactly_and_keeps_valid_json() {
        for target in [120, 500, 4096, 1 << 20] {
            let mut out = Vec::new();
            append_padded(br#"{"a":1}"#, "_streamproof", &envelope(), Some(target), "_pad", &mut out);
            assert_eq!(out.len(), target);
            let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(value["a"], 1);
            assert_eq!(value["_streamproof"]["seq"], 7);
        }
        // Too small a target leaves the record unpadded.
        let mut out = Vec::new();
        append_padded(br#"{"a":1}"#, "_streamproof", &envelope(), Some(10), "_pad", &mut out);
        assert!(!String::from_utf8(out).unwrap().contains("_pad"));
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
