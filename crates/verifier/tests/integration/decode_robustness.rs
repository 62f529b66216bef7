//! Property tests of unpacking and decoding through the public API, over what S3 may really hold:
//! arbitrary bytes, arbitrary bytes gzipped, valid records with garbage spliced between them, and
//! gzip streams cut short.
//!
//! Properties: nothing panics; the items of an object tile it (only whitespace and byte order marks
//! lie between items, and nothing is left over); garbage costs no valid record around it; gzip
//! round-trips, and a cut gzip stream is named as damage while every record it held whole is kept.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use verifier::{Content, Decoded, Decoder, unpack};

const FIELD: &str = "_streamproof";

/// A valid record of run `r` with envelope `seq`, and a payload that stresses the scanner.
fn record(seq: u64, payload: &str) -> String {
    let event = serde_json::json!({
        "user_id": format!("u{}", seq % 7),
        "text": payload,
        FIELD: {"run": "r", "seq": seq, "key": format!("u{}", seq % 7), "kseq": seq / 7, "sent_ns": 1},
    });
    event.to_string()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("writing to a Vec");
    encoder.finish().expect("finishing into a Vec")
}

/// Offset and length of an item.
fn span(item: &Decoded) -> (usize, usize) {
    match item {
        Decoded::Record(record) => (record.offset, record.len),
        Decoded::Corrupt(corrupt) => (corrupt.offset, corrupt.len),
    }
}

/// Whether `bytes` are only JSON whitespace and whole UTF-8 byte order marks.
fn only_separators(mut bytes: &[u8]) -> bool {
    loop {
        match bytes {
            [] => return true,
            [b' ' | b'\n' | b'\r' | b'\t', rest @ ..] => bytes = rest,
            [0xEF, 0xBB, 0xBF, rest @ ..] => bytes = rest,
            _ => return false,
        }
    }
}

/// Decodes `bytes` and checks that the items tile them: in order, non-empty, within bounds, and
/// nothing but separators between and after them.
fn decode_tiled(bytes: &[u8]) -> Result<Vec<Decoded>, TestCaseError> {
    let items: Vec<Decoded> = Decoder::new(bytes, FIELD).collect();
    let mut end = 0;
    for item in &items {
        let (offset, len) = span(item);
        prop_assert!(len > 0, "empty item {:?}", item);
        prop_assert!(offset >= end && offset + len <= bytes.len(), "item {:?} out of place", item);
        prop_assert!(only_separators(&bytes[end..offset]), "unaccounted bytes {end}..{offset}");
        end = offset + len;
    }
    prop_assert!(only_separators(&bytes[end..]), "unaccounted bytes after {end}");
    Ok(items)
}

/// The seqs of the records with a well-formed envelope, with their offsets.
fn envelopes(items: &[Decoded]) -> Vec<(u64, usize)> {
    items
        .iter()
        .filter_map(|item| match item {
            Decoded::Record(record) => match &record.content {
                Content::Envelope(envelope) => Some((envelope.seq, record.offset)),
                _ => None,
            },
            Decoded::Corrupt(_) => None,
        })
        .collect()
}

/// Bytes biased towards what confuses a JSON scanner.
fn nasty_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(b'{'),
            Just(b'}'),
            Just(b'['),
            Just(b'"'),
            Just(b'\\'),
            Just(b':'),
            Just(b','),
            Just(b'\n'),
            Just(0xEF),
            Just(0x1F),
            Just(0x8B),
            any::<u8>(),
        ],
        0..max,
    )
}

/// Garbage that cannot open a value spanning into the next record: no `{`, `[` or `"`.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>().prop_filter("opens a value", |b| !b"{[\"".contains(b)), 1..40)
}

fn payload() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![Just("}{"), Just("\""), Just("\\"), Just("\n"), Just("로그"), Just("[{"), Just("ab c")],
        0..5,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    // Unpacking runs zlib-rs unoptimised in debug builds; 128 cases keep each test to a few seconds.
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary bytes, plain or named `.gz`: never a panic, and the plain decode tiles them.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in nasty_bytes(300)) {
        let plain = unpack("object", &bytes);
        if !plain.gzip {
            prop_assert_eq!(plain.bytes.as_ref(), bytes.as_slice());
            prop_assert!(plain.damage.is_none());
        }
        decode_tiled(&plain.bytes)?;
        let named = unpack("object.gz", &bytes);
        prop_assert!(named.gzip);
        decode_tiled(&named.bytes)?;
        // Bytes behind a gzip header that is not followed by a valid stream.
        let mut fake = vec![0x1f, 0x8b];
        fake.extend_from_slice(&bytes);
        let fake = unpack("object", &fake);
        prop_assert!(fake.gzip);
        decode_tiled(&fake.bytes)?;
    }

    /// Arbitrary bytes gzipped come back exactly, under any key, in one member or split in two.
    #[test]
    fn arbitrary_bytes_gzipped_round_trip(bytes in nasty_bytes(300), split in any::<prop::sample::Index>()) {
        let compressed = gzip(&bytes);
        let whole = unpack("object", &compressed);
        prop_assert_eq!(whole.bytes.as_ref(), bytes.as_slice());
        prop_assert!(whole.damage.is_none());
        let at = split.index(bytes.len() + 1);
        let mut two = gzip(&bytes[..at]);
        two.extend(gzip(&bytes[at..]));
        let members = unpack("object.gz", &two);
        prop_assert_eq!(members.bytes.as_ref(), bytes.as_slice());
        decode_tiled(&members.bytes)?;
    }

    /// Valid records with garbage spliced between them: every record is still found, in order and
    /// at its offset, and every garbage chunk with content is reported as something other than them.
    #[test]
    fn garbage_between_records_costs_no_record(
        payloads in proptest::collection::vec(payload(), 1..20),
        splices in proptest::collection::vec(proptest::option::of(garbage()), 21),
        newline in any::<bool>(),
        gzipped in any::<bool>(),
    ) {
        let mut object = Vec::new();
        let mut expected = Vec::new();
        let mut garbage_chunks = 0;
        for (seq, text) in payloads.iter().enumerate() {
            if let Some(garbage) = &splices[seq] {
                object.extend_from_slice(garbage);
                garbage_chunks += usize::from(!only_separators(garbage));
            }
            expected.push((seq as u64, object.len()));
            object.extend_from_slice(record(seq as u64, text).as_bytes());
            if newline {
                object.push(b'\n');
            }
        }
        if let Some(garbage) = &splices[payloads.len()] {
            object.extend_from_slice(garbage);
            garbage_chunks += usize::from(!only_separators(garbage));
        }
        let stored = if gzipped { gzip(&object) } else { object.clone() };
        let unpacked = unpack("2026/11/23/21/s-1-x", &stored);
        prop_assert_eq!(unpacked.bytes.as_ref(), object.as_slice());
        let items = decode_tiled(&unpacked.bytes)?;
        prop_assert_eq!(envelopes(&items), expected.clone());
        // Garbage may split into several items, but each chunk with content yields at least one.
        prop_assert!(items.len() >= expected.len() + garbage_chunks, "{} items", items.len());
    }

    /// A gzip stream cut anywhere: the damage is named, what was decompressed is a prefix of the
    /// original, and every record that prefix holds whole is decoded.
    #[test]
    fn a_cut_gzip_stream_keeps_every_whole_record(
        payloads in proptest::collection::vec(payload(), 1..60),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut object = Vec::new();
        let mut records = Vec::new();
        for (seq, text) in payloads.iter().enumerate() {
            let record = record(seq as u64, text);
            records.push((seq as u64, object.len(), record.len()));
            object.extend_from_slice(record.as_bytes());
        }
        let compressed = gzip(&object);
        let cut = cut.index(compressed.len());
        let unpacked = unpack("object.gz", &compressed[..cut]);
        prop_assert!(unpacked.damage.is_some(), "a cut stream is damage");
        prop_assert!(object.starts_with(&unpacked.bytes), "a prefix of the original");
        let items = decode_tiled(&unpacked.bytes)?;
        let whole: Vec<(u64, usize)> = records
            .iter()
            .filter(|(_, offset, len)| offset + len <= unpacked.bytes.len())
            .map(|&(seq, offset, _)| (seq, offset))
            .collect();
        prop_assert_eq!(envelopes(&items), whole);
    }
}
