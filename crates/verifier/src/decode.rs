//! Decoding a delivered object into records: concatenated JSON, NDJSON and garbage resync.
//!
//! Firehose writes records back to back with no delimiter (`{..}{..}`) unless a delimiter processor
//! is configured, in which case records are newline-delimited. The decoder accepts any JSON
//! whitespace between records, and a UTF-8 byte order mark at the start of the object or between
//! records. Bytes that do not decode become a [`CorruptSpan`], and decoding
//! resumes at the next `{` after the position where the JSON parser gave up, so one damaged record
//! costs as little of its neighbours as possible.
//!
//! Of each record only the envelope is extracted: a [`DeserializeSeed`] walks the top-level keys,
//! deserializes the value of the envelope field into an [`Envelope`] and skips every other value
//! with [`IgnoredAny`], so no tree of the payload is ever built.

use std::fmt;

use producer::Envelope;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::error::Category;

/// Longest excerpt of a corrupt span kept for the report, in bytes.
const EXCERPT_BYTES: usize = 64;

/// One item of an object, in byte order: a record or a span of bytes that did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A complete JSON value.
    Record(Record),
    /// Bytes that are not JSON.
    Corrupt(CorruptSpan),
}

/// A complete JSON value found in an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Byte offset of the record's first byte within the object.
    pub offset: usize,
    /// Length of the record in bytes, without surrounding whitespace.
    pub len: usize,
    /// What the record says about itself.
    pub content: Content,
}

/// The envelope of a record, or why it has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The record is an object that carries a well-formed envelope.
    Envelope(Envelope),
    /// The record is an object without the envelope field, or not an object at all.
    NoEnvelope,
    /// The record is valid JSON, but its envelope field does not hold an envelope; the message says why.
    MalformedEnvelope(String),
}

/// Bytes of an object that do not decode to a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptSpan {
    /// Byte offset of the span within the object.
    pub offset: usize,
    /// Length of the span in bytes.
    pub len: usize,
    /// The first bytes of the span (at most 64), as lossy UTF-8.
    pub excerpt: String,
}

/// Iterates over the records and corrupt spans of one object, in byte order.
///
/// The iterator never panics and always makes progress: every byte of the object that is not
/// whitespace between records belongs to exactly one item.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    field: &'a str,
}

impl<'a> Decoder<'a> {
    /// A decoder over `bytes` that extracts the envelope stored under `envelope_field`.
    pub fn new(bytes: &'a [u8], envelope_field: &'a str) -> Self {
        Decoder { bytes, pos: 0, field: envelope_field }
    }

    /// Decodes the record starting with `{` at `start`, or reports the span it damages.
    fn object_at(&mut self, start: usize) -> Decoded {
        let bytes = self.bytes;
        match object_end(bytes, start) {
            Some(end) => {
                let slice = &bytes[start..end];
                match extract(slice, self.field) {
                    Ok(content) => self.record(start, end, content),
                    Err(error) if is_valid_json(slice) => {
                        self.record(start, end, Content::MalformedEnvelope(error.to_string()))
                    }
                    Err(error) => self.corrupt_until_resync(start, start + error_offset(slice, &error)),
                }
            }
            None => {
                // The braces never balance: find where the parser gives up to decide how much is lost.
                let rest = &bytes[start..];
                match extract(rest, self.field) {
                    Err(error) if error.classify() != Category::Eof => {
                        self.corrupt_until_resync(start, start + error_offset(rest, &error))
                    }
                    _ => self.corrupt(start, bytes.len()),
                }
            }
        }
    }

    /// Decodes a value at `start` that does not begin with `{`: a non-object JSON value or junk.
    fn other_at(&mut self, start: usize) -> Decoded {
        let mut stream = serde_json::Deserializer::from_slice(&self.bytes[start..]).into_iter::<IgnoredAny>();
        match stream.next() {
            Some(Ok(IgnoredAny)) => {
                let end = start + stream.byte_offset();
                self.record(start, end, Content::NoEnvelope)
            }
            _ => self.corrupt_until_resync(start, start + 1),
        }
    }

    fn record(&mut self, start: usize, end: usize, content: Content) -> Decoded {
        self.pos = end;
        Decoded::Record(Record { offset: start, len: end - start, content })
    }

    /// Reports `start..` up to the next `{` at or after `bad` (and after `start`) as corrupt.
    fn corrupt_until_resync(&mut self, start: usize, bad: usize) -> Decoded {
        let from = bad.max(start + 1).min(self.bytes.len());
        let resync = self.bytes[from..]
            .iter()
            .position(|&byte| byte == b'{')
            .map_or(self.bytes.len(), |index| from + index);
        self.corrupt(start, resync)
    }

    /// Reports `start..end` as corrupt, without the whitespace that separates it from what follows.
    fn corrupt(&mut self, start: usize, end: usize) -> Decoded {
        self.pos = end;
        let trailing =
            self.bytes[start + 1..end].iter().rev().take_while(|byte| is_whitespace(**byte)).count();
        let end = end - trailing;
        let excerpt = &self.bytes[start..end.min(start + EXCERPT_BYTES)];
        Decoded::Corrupt(CorruptSpan {
            offset: start,
            len: end - start,
            excerpt: String::from_utf8_lossy(excerpt).into_owned(),
        })
    }
}

impl Iterator for Decoder<'_> {
    type Item = Decoded;

    fn next(&mut self) -> Option<Decoded> {
        let start = skip_separators(self.bytes, self.pos);
        self.pos = start;
        match self.bytes.get(start)? {
            b'{' => Some(self.object_at(start)),
            _ => Some(self.other_at(start)),
        }
    }
}

/// Decodes a whole object into a vector; see [`Decoder`] for the streaming form.
pub fn decode(bytes: &[u8], envelope_field: &str) -> Vec<Decoded> {
    Decoder::new(bytes, envelope_field).collect()
}

fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\n' | b'\r' | b'\t')
}

/// The UTF-8 byte order mark, which editors and Windows tools put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The first position at or after `pos` that is neither JSON whitespace nor a byte order mark.
///
/// A BOM is accepted between records as well as at the start, because files that each begin with
/// one are often concatenated.
fn skip_separators(bytes: &[u8], mut pos: usize) -> usize {
    loop {
        match bytes.get(pos) {
            Some(byte) if is_whitespace(*byte) => pos += 1,
            Some(0xEF) if bytes[pos..].starts_with(BOM) => pos += BOM.len(),
            _ => return pos,
        }
    }
}

/// The index one past the `}` that closes the object opened at `start`, if the object is closed.
///
/// This is a bracket scan that understands strings and escapes; the JSON parser then validates
/// exactly the bytes it delimits.
fn object_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut index = start;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'"' => {
                // Most of a record's bytes are inside strings: jump from one quote or backslash to
                // the next instead of looking at every byte (the top hot spot of decoding).
                index += 1;
                loop {
                    index += memchr::memchr2(b'"', b'\\', bytes.get(index..)?)?;
                    if bytes[index] == b'"' {
                        break;
                    }
                    index += 2;
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(index + 1);
                }
            }
            _ => {}
        }
        index += 1;
    }
    None
}

/// Parses exactly `slice` as one JSON object and extracts its envelope.
fn extract(slice: &[u8], field: &str) -> Result<Content, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(slice);
    let content = EnvelopeSeed { field }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(content)
}

fn is_valid_json(slice: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(slice).is_ok()
}

/// The byte offset within `slice` of the byte the parser stopped at, from the error's line and column.
fn error_offset(slice: &[u8], error: &serde_json::Error) -> usize {
    if error.line() == 0 {
        return 0;
    }
    let start_of_line = if error.line() == 1 {
        0
    } else {
        slice
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte == b'\n')
            .nth(error.line() - 2)
            .map_or(slice.len(), |(index, _)| index + 1)
    };
    (start_of_line + error.column().saturating_sub(1)).min(slice.len())
}

/// Deserializes a top-level object into its envelope, skipping every other value.
struct EnvelopeSeed<'f> {
    field: &'f str,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = Content;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Content, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = Content;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Content, A::Error> {
        let mut envelope = None;
        while let Some(is_field) = map.next_key_seed(KeyIs(self.field))? {
            if is_field && envelope.is_none() {
                envelope = Some(map.next_value::<Envelope>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(envelope.map_or(Content::NoEnvelope, Content::Envelope))
    }
}

/// Deserializes an object key into whether it equals the wanted name, without allocating.
struct KeyIs<'f>(&'f str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FIELD: &str = "_streamproof";

    fn envelope(seq: u64) -> Envelope {
        Envelope { run: "r1".into(), seq, key: format!("u{}", seq % 3), kseq: seq / 3, sent_ns: 1_000 + seq }
    }

    fn event(seq: u64, payload: &str) -> String {
        let mut out = Vec::new();
        let body = serde_json::json!({ "user_id": format!("u{}", seq % 3), "msg": payload }).to_string();
        producer::envelope::append(body.as_bytes(), FIELD, &envelope(seq), &mut out);
        String::from_utf8(out).unwrap()
    }

    /// The seqs of the decoded records, with `None` for records without an envelope and `Err` for corrupt spans.
    fn seqs(items: &[Decoded]) -> Vec<Result<Option<u64>, (usize, usize)>> {
        items
            .iter()
            .map(|item| match item {
                Decoded::Record(Record { content: Content::Envelope(envelope), .. }) => {
                    Ok(Some(envelope.seq))
                }
                Decoded::Record(_) => Ok(None),
                Decoded::Corrupt(span) => Err((span.offset, span.len)),
            })
            .collect()
    }

    fn records(items: &[Decoded]) -> Vec<&Record> {
        items
            .iter()
            .filter_map(|item| match item {
                Decoded::Record(record) => Some(record),
                Decoded::Corrupt(_) => None,
            })
            .collect()
    }

    #[test]
    fn concatenated_records_without_delimiter() {
        let (a, b) = (event(0, "a"), event(1, "b"));
        let object = format!("{a}{b}");
        let items = decode(object.as_bytes(), FIELD);
        assert_eq!(seqs(&items), vec![Ok(Some(0)), Ok(Some(1))]);
        let found = records(&items);
        assert_eq!((found[0].offset, found[0].len), (0, a.len()));
        assert_eq!((found[1].offset, found[1].len), (a.len(), b.len()));
        assert_eq!(found[0].content, Content::Envelope(envelope(0)));
    }

    #[test]
    fn newline_delimited_records_with_trailing_newline() {
        let object = format!("{}\n{}\n{}\n", event(0, "a"), event(1, "b"), event(2, "c"));
        assert_eq!(seqs(&decode(object.as_bytes(), FIELD)), vec![Ok(Some(0)), Ok(Some(1)), Ok(Some(2))]);
    }

    #[test]
    fn crlf_and_mixed_whitespace_between_records() {
        let (a, b, c) = (event(0, "a"), event(1, "b"), event(2, "c"));
        let object = format!("  {a}\r\n{b} \t \r\n\n {c}\r\n");
        let items = decode(object.as_bytes(), FIELD);
        assert_eq!(seqs(&items), vec![Ok(Some(0)), Ok(Some(1)), Ok(Some(2))]);
        let found = records(&items);
        assert_eq!(found[0].offset, 2);
        assert_eq!(found[1].offset, 2 + a.len() + 2);
        assert_eq!(&object[found[2].offset..found[2].offset + found[2].len], c);
    }

    #[test]
    fn strings_with_braces_and_escaped_quotes_do_not_split_records() {
        let tricky = r#"}{ "quoted" \"still\" }{ \\"#;
        let object = format!("{}{}", event(0, tricky), event(1, "}{"));
        let items = decode(object.as_bytes(), FIELD);
        assert_eq!(seqs(&items), vec![Ok(Some(0)), Ok(Some(1))]);
    }

    #[test]
    fn korean_text_is_decoded_and_offsets_count_bytes() {
        let a = event(0, "안녕하세요, 세계 — 로그 파이프라인");
        let object = format!("{a}{}", event(1, "한국어"));
        let items = decode(object.as_bytes(), FIELD);
        assert_eq!(seqs(&items), vec![Ok(Some(0)), Ok(Some(1))]);
        assert_eq!(records(&items)[1].offset, a.len());
    }

    #[test]
    fn truncated_last_record_is_one_corrupt_span_to_the_end() {
        let (a, b) = (event(0, "a"), event(1, "b"));
        let cut = &b[..b.len() / 2];
        let object = format!("{a}\n{cut}");
        let items = decode(object.as_bytes(), FIELD);
        assert_eq!(seqs(&items), vec![Ok(Some(0)), Err((a.len() + 1, cut.len()))]);
        let Decoded::Corrupt(span) = &items[1] else { panic!("expected a corrupt span") };
        assert_eq!(span.excerpt, &cut[..cut.len().min(64)]);
    }

    #[test]
    fn garbage_between_records_is_skipped_and_both_neighbours_decode() {
        let (a, b) = (event(0, "a"), event(1, "b"));
        let object = format!("{a}garbage\u{0}xx{b}");
        let items = decode(object.as_bytes(), FIELD);
        assert_eq!(seqs(&items), vec![Ok(Some(0)), Err((a.len(), 10)), Ok(Some(1))]);
    }

    #[test]
    fn a_record_cut_short_before_the_next_resyncs_at_the_next_record() {
        let (a, b, c) = (event(0, "a"), event(1, "b"), event(2, "c"));
        // Cut inside the envelope object: the parser fails where the next record begins.
        let cut = &b[..b.len() - 5];
        let object = format!("{a}{cut}{c}");
        let items = decode(object.as_bytes(), FIELD);
        assert_eq!(seqs(&items), vec![Ok(Some(0)), Err((a.len(), cut.len())), Ok(Some(2))]);
    }

    #[test]
    fn a_broken_multi_line_record_resyncs_after_the_line_it_breaks_on() {
        let (a, c) = (event(0, "a"), event(2, "c"));
        // The inner object lies before the error; resyncing there would invent a record.
        let broken = "{\n  \"n\": {\"a\": 1},\n  \"y\": oops\n}";
        let object = format!("{a}\n{broken}\r\n{c}\n");
        let items = decode(object.as_bytes(), FIELD);
        assert_eq!(seqs(&items), vec![Ok(Some(0)), Err((a.len() + 1, broken.len())), Ok(Some(2))]);
    }

    #[test]
    fn invalid_json_inside_balanced_braces_is_corrupt() {
        let b = event(1, "b");
        let object = format!("{{\"a\": nope}}{b}");
        let items = decode(object.as_bytes(), FIELD);
        assert_eq!(seqs(&items), vec![Err((0, 11)), Ok(Some(1))]);
    }

    #[test]
    fn objects_without_envelope_and_non_objects_have_no_envelope() {
        let object = br#"{"a":1}[1,2] "text" 42 {"_streamproof":{"run":5}}"#;
        let items = decode(object, FIELD);
        let contents: Vec<_> = records(&items).iter().map(|record| record.content.clone()).collect();
        assert_eq!(contents.len(), 5, "{items:?}");
        assert_eq!(contents[..4], vec![Content::NoEnvelope; 4]);
        assert!(matches!(contents[4], Content::MalformedEnvelope(_)));
    }

    #[test]
    fn envelope_field_is_found_anywhere_in_the_object() {
        let envelope = serde_json::to_string(&envelope(7)).unwrap();
        for object in [
            format!(r#"{{"_streamproof":{envelope},"a":{{"b":[1,2,{{"c":null}}]}},"z":"x"}}"#),
            format!(r#"{{"a":1,"_streamproof":{envelope},"b":[true,false]}}"#),
            format!(r#"{{"nested":{{"_streamproof":"decoy"}},"_streamproof":{envelope}}}"#),
            format!(
                r#"{{ "a" : 1 ,
                "_streamproof" : {envelope} }}"#
            ),
        ] {
            assert_eq!(seqs(&decode(object.as_bytes(), FIELD)), vec![Ok(Some(7))], "{object}");
        }
    }

    #[test]
    fn custom_envelope_field_name() {
        let mut out = Vec::new();
        producer::envelope::append(br#"{"_streamproof":1,"a":2}"#, "trace", &envelope(3), &mut out);
        assert_eq!(seqs(&decode(&out, "trace")), vec![Ok(Some(3))]);
        assert_eq!(seqs(&decode(&out, FIELD)), vec![Ok(None)]);
        // An escaped key that spells the field name is the field.
        let escaped = format!(r#"{{"tr\u0061ce":{}}}"#, serde_json::to_string(&envelope(4)).unwrap());
        assert_eq!(seqs(&decode(escaped.as_bytes(), "trace")), vec![Ok(Some(4))]);
    }

    #[test]
    fn byte_order_marks_at_the_start_and_between_records_are_skipped() {
        let (a, b) = (event(0, "a"), event(1, "b"));
        let object = format!("\u{FEFF}{a}\n\u{FEFF}{b}");
        let items = decode(object.as_bytes(), FIELD);
        assert_eq!(seqs(&items), vec![Ok(Some(0)), Ok(Some(1))]);
        assert_eq!(records(&items)[0].offset, 3);
        assert_eq!(records(&items)[1].offset, 3 + a.len() + 1 + 3);
        // Only a whole BOM is a separator; a stray part of one is corrupt.
        let stray = [&b"\xEF\xBB"[..], a.as_bytes()].concat();
        assert_eq!(seqs(&decode(&stray, FIELD)), vec![Err((0, 2)), Ok(Some(0))]);
    }

    #[test]
    fn empty_objects_are_records_without_envelope() {
        let a = event(0, "a");
        let object = format!("{{}}{a}{{ }}\n{{}}");
        let items = decode(object.as_bytes(), FIELD);
        assert_eq!(seqs(&items), vec![Ok(None), Ok(Some(0)), Ok(None), Ok(None)]);
        let found = records(&items);
        assert_eq!((found[0].offset, found[0].len), (0, 2));
        assert_eq!((found[2].offset, found[2].len), (2 + a.len(), 3));
        assert_eq!(found[3].offset, 2 + a.len() + 4);
    }

    #[test]
    fn empty_and_whitespace_only_objects_have_no_items() {
        assert!(decode(b"", FIELD).is_empty());
        assert!(decode(b" \r\n\t\n", FIELD).is_empty());
    }

    /// A small event with a payload drawn from characters that stress the scanner.
    fn payload() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("}{".to_string()),
                Just("\"".to_string()),
                Just("\\".to_string()),
                Just("\n".to_string()),
                Just("로그".to_string()),
                "[a-z ]{0,8}",
            ],
            0..6,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn random_objects_decode_to_exactly_their_records_in_order(
            payloads in proptest::collection::vec(payload(), 0..40),
            cuts in proptest::collection::vec(any::<bool>(), 40),
            separators in proptest::collection::vec(prop_oneof![Just(""), Just("\n"), Just("\r\n"), Just(" ")], 41),
        ) {
            let events: Vec<String> = payloads.iter().enumerate().map(|(seq, text)| event(seq as u64, text)).collect();
            // Split the records into objects wherever `cuts` says so.
            let mut objects: Vec<Vec<usize>> = vec![Vec::new()];
            for (seq, &cut) in cuts.iter().enumerate().take(events.len()) {
                if cut && !objects.last().unwrap().is_empty() {
                    objects.push(Vec::new());
                }
                objects.last_mut().unwrap().push(seq);
            }
            let mut decoded = Vec::new();
            for members in &objects {
                let mut object = String::new();
                let mut spans = Vec::new();
                for &seq in members {
                    object.push_str(separators[seq]);
                    spans.push((object.len(), events[seq].len()));
                    object.push_str(&events[seq]);
                }
                object.push_str(separators[40]);
                let items = decode(object.as_bytes(), FIELD);
                prop_assert_eq!(items.len(), members.len());
                for (item, (&seq, &(offset, len))) in items.iter().zip(members.iter().zip(&spans)) {
                    let Decoded::Record(record) = item else { panic!("unexpected corrupt span {item:?}") };
                    prop_assert_eq!((record.offset, record.len), (offset, len));
                    prop_assert_eq!(&record.content, &Content::Envelope(envelope(seq as u64)));
                    decoded.push(seq);
                }
            }
            prop_assert_eq!(decoded, (0..events.len()).collect::<Vec<_>>());
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_items_tile_the_object(bytes in proptest::collection::vec(
            prop_oneof![Just(b'{'), Just(b'}'), Just(b'"'), Just(b'\\'), Just(b' '), Just(b':'), Just(0xEF), Just(0xBB), Just(0xBF), any::<u8>()], 0..200,
        )) {
            let mut last_end = 0;
            for item in Decoder::new(&bytes, FIELD) {
                let (offset, len) = match &item {
                    Decoded::Record(record) => (record.offset, record.len),
                    Decoded::Corrupt(span) => (span.offset, span.len),
                };
                prop_assert!(len > 0);
                prop_assert!(offset >= last_end);
                prop_assert_eq!(skip_separators(&bytes[..offset], last_end), offset, "only separators between items");
                last_end = offset + len;
                prop_assert!(last_end <= bytes.len());
            }
            prop_assert_eq!(skip_separators(&bytes, last_end), bytes.len());
        }
    }
}
