//! Kinesis sequence numbers, shard iterators and starting positions: how positions in a shard are
//! written down, asked for and read back.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ApiError;

/// Digits after the fixed `49` lead; AWS sequence numbers are 56 digits long.
const SEQUENCE_DIGITS: usize = 54;

/// A position in one shard: the shard's index in its stream and a per-shard counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SequenceNumber {
    pub(crate) shard_index: u64,
    pub(crate) counter: u64,
}

impl SequenceNumber {
    /// The 56-digit decimal form: `49` followed by `shard_index * 2^64 + counter`, zero-padded.
    ///
    /// Fixed width makes textual and numeric order agree, and within a shard the number grows with
    /// the counter.
    pub(crate) fn format(self) -> String {
        let value = (u128::from(self.shard_index) << 64) | u128::from(self.counter);
        format!("49{value:0SEQUENCE_DIGITS$}")
    }

    /// Reads back a sequence number made by [`SequenceNumber::format`].
    pub(crate) fn parse(text: &str) -> Option<SequenceNumber> {
        let digits = text.strip_prefix("49")?;
        if digits.len() != SEQUENCE_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: u128 = digits.parse().ok()?;
        Some(SequenceNumber { shard_index: u64::try_from(value >> 64).ok()?, counter: value as u64 })
    }
}

/// Where a new iterator starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StartingPosition {
    TrimHorizon,
    Latest,
    AtSequence(SequenceNumber),
    AfterSequence(SequenceNumber),
    AtTimestamp { unix_millis: i64 },
}

impl StartingPosition {
    /// Reads a position as GetShardIterator (`ShardIteratorType`) and SubscribeToShard
    /// (`StartingPosition.Type`) name it: `field` is the type's field and value.
    pub(crate) fn parse(
        (field, kind): (&str, &str),
        sequence: Option<&str>,
        timestamp: Option<f64>,
    ) -> Result<StartingPosition, ApiError> {
        let sequence = || -> Result<SequenceNumber, ApiError> {
            let text = sequence.ok_or_else(|| {
                ApiError::invalid_argument(format!("StartingSequenceNumber is required for {field} {kind}."))
            })?;
            SequenceNumber::parse(text)
                .ok_or_else(|| ApiError::invalid_argument(format!("Invalid StartingSequenceNumber: {text}")))
        };
        Ok(match kind {
            "TRIM_HORIZON" => StartingPosition::TrimHorizon,
            "LATEST" => StartingPosition::Latest,
            "AT_SEQUENCE_NUMBER" => StartingPosition::AtSequence(sequence()?),
            "AFTER_SEQUENCE_NUMBER" => StartingPosition::AfterSequence(sequence()?),
            "AT_TIMESTAMP" => {
                let seconds = timestamp.ok_or_else(|| {
                    ApiError::invalid_argument(format!("Timestamp is required for {field} AT_TIMESTAMP."))
                })?;
                StartingPosition::AtTimestamp { unix_millis: (seconds * 1000.0).ceil() as i64 }
            }
            other => {
                return Err(ApiError::validation(format!(
                    "Value '{other}' at '{field}' failed to satisfy constraint: Member must satisfy enum \
                     value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]"
                )));
            }
        })
    }
}

/// What a shard iterator points at: the next record to read from one shard of one stream incarnation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShardIterator {
    /// Identifies the stream incarnation, so an iterator dies with a deleted stream.
    pub(crate) stream_uid: u64,
    pub(crate) shard_index: u64,
    /// The smallest record counter the next read returns.
    pub(crate) position: u64,
    /// When the iterator was handed out, in emulator milliseconds since the Unix epoch: it expires
    /// five minutes later.
    pub(crate) issued_ms: i64,
    pub(crate) stream_name: String,
}

impl ShardIterator {
    /// The opaque string handed to clients.
    pub(crate) fn encode(&self) -> String {
        let plain = format!(
            "{}/{}/{}/{}/{}",
            self.stream_uid, self.shard_index, self.position, self.issued_ms, self.stream_name
        );
        URL_SAFE_NO_PAD.encode(plain)
    }

    /// Decodes a string made by [`ShardIterator::encode`].
    pub(crate) fn decode(text: &str) -> Option<ShardIterator> {
        let plain = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        let mut parts = plain.splitn(5, '/');
        let stream_uid = parts.next()?.parse().ok()?;
        let shard_index = parts.next()?.parse().ok()?;
        let position = parts.next()?.parse().ok()?;
        let issued_ms = parts.next()?.parse().ok()?;
        let stream_name = parts.next()?.to_owned();
        Some(ShardIterator { stream_uid, shard_index, position, issued_ms, stream_name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sequence_numbers_increase_within_a_shard_and_parse_back() {
        let numbers: Vec<String> =
            (0..1_000u64).map(|counter| SequenceNumber { shard_index: 2, counter }.format()).collect();
        for pair in numbers.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
            let a: f64 = pair[0].parse().unwrap();
            let b: f64 = pair[1].parse().unwrap();
            assert!(a <= b, "numeric order must agree with text order");
        }
        for (counter, text) in numbers.iter().enumerate() {
            assert_eq!(text.len(), 56);
            let parsed = SequenceNumber::parse(text).unwrap();
            assert_eq!(parsed, SequenceNumber { shard_index: 2, counter: counter as u64 });
        }
    }

    #[test]
    fn malformed_sequence_numbers_are_rejected() {
        assert_eq!(SequenceNumber::parse(""), None);
        assert_eq!(SequenceNumber::parse("49"), None);
        assert_eq!(SequenceNumber::parse("12345"), None);
        assert_eq!(SequenceNumber::parse(&format!("48{}", "0".repeat(54))), None);
        assert_eq!(SequenceNumber::parse(&format!("49{}x", "0".repeat(53))), None);
    }

    #[test]
    fn iterators_round_trip_with_odd_stream_names() {
        let it = ShardIterator {
            stream_uid: 9,
            shard_index: 3,
            position: 12_345,
            issued_ms: 1_700_000_000_000,
            stream_name: "a.b_c-d".to_owned(),
        };
        assert_eq!(ShardIterator::decode(&it.encode()), Some(it));
        assert_eq!(ShardIterator::decode("not an iterator"), None);
    }

    proptest! {
        #[test]
        fn sequence_order_is_counter_order(a in any::<u64>(), b in any::<u64>(), shard in 0u64..10_000) {
            let sa = SequenceNumber { shard_index: shard, counter: a }.format();
            let sb = SequenceNumber { shard_index: shard, counter: b }.format();
            prop_assert_eq!(a.cmp(&b), sa.cmp(&sb));
            prop_assert_eq!(SequenceNumber::parse(&sa), Some(SequenceNumber { shard_index: shard, counter: a }));
        }
    }
}
