//! Decoding Firehose's error output: the JSON documents it writes under the error prefix (for a
//! failed data transformation, `processing-failed/`) for records it could not process.
//!
//! Each document carries the record's original bytes, base64, in `rawData`, with `errorCode`,
//! `errorMessage` and `attemptsMade`. The record inside is decoded like a delivered one, so its
//! envelope tells which seq failed. Bytes that are not such a document are corrupt spans, as in
//! [`crate::decode`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use crate::decode::{Content, CorruptSpan, Decoded, Decoder};

/// One item of an error-output object, in byte order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorItem {
    /// A record Firehose could not process, as its error document describes it.
    Failed(FailedRecord),
    /// Bytes that are not an error document.
    Corrupt(CorruptSpan),
}

/// A record in Firehose's error output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecord {
    /// Byte offset of the error document within the object.
    pub offset: usize,
    /// Length of the error document in bytes.
    pub len: usize,
    /// `errorCode`, e.g. `Lambda.FunctionError`.
    pub error_code: String,
    /// `errorMessage`.
    pub error_message: String,
    /// `attemptsMade`, when present.
    pub attempts: Option<u64>,
    /// The envelope of the original record in `rawData`.
    pub content: Content,
    /// The original record: `rawData`, decoded.
    pub raw: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDocument {
    // Firehose spells these `errorCode` / `errorMessage` for transformation failures and
    // `ErrorCode` / `ErrorMessage` for format conversion failures.
    #[serde(alias = "ErrorCode")]
    error_code: String,
    #[serde(default, alias = "ErrorMessage")]
    error_message: String,
    #[serde(default)]
    attempts_made: Option<u64>,
    raw_data: String,
}

/// Decodes the error documents of one object; records inside are read for the envelope in
/// `envelope_field`.
///
/// A document that is JSON but not an error document, or whose `rawData` is not base64, is a
/// corrupt span whose excerpt starts with its line in the object (`line 3: rawData is not base64: …`).
pub fn decode_error_output(bytes: &[u8], envelope_field: &str) -> Vec<ErrorItem> {
    // Lines are counted as the documents come, in byte order.
    let (mut line, mut counted_to) = (1, 0);
    Decoder::new(bytes, envelope_field)
        .map(|item| match item {
            Decoded::Corrupt(span) => ErrorItem::Corrupt(span),
            Decoded::Record(record) => {
                let document = &bytes[record.offset..record.offset + record.len];
                match failed_record(document, envelope_field) {
                    Ok((error, content, raw)) => ErrorItem::Failed(FailedRecord {
                        offset: record.offset,
                        len: record.len,
                        error_code: error.error_code,
                        error_message: error.error_message,
                        attempts: error.attempts_made,
                        content,
                        raw,
                    }),
                    Err(why) => {
                        line += memchr::memchr_iter(b'\n', &bytes[counted_to..record.offset]).count();
                        counted_to = record.offset;
                        ErrorItem::Corrupt(CorruptSpan {
                            offset: record.offset,
                            len: record.len,
                            excerpt: format!("line {line}: {why}"),
                        })
                    }
                }
            }
        })
        .collect()
}

/// The error document, the envelope of the record in its `rawData` and the record, or why it is
/// not one.
fn failed_record(document: &[u8], envelope_field: &str) -> Result<(ErrorDocument, Content, Vec<u8>), String> {
    let error: ErrorDocument = serde_json::from_slice(document)
        .map_err(|error| format!("not a Firehose error document: {error}"))?;
    let raw = BASE64.decode(&error.raw_data).map_err(|error| format!("rawData is not base64: {error}"))?;
    let mut records = Decoder::new(&raw, envelope_field);
    let content = match (records.next(), records.next()) {
        (Some(Decoded::Record(record)), None) => record.content,
        _ => Content::NoEnvelope,
    };
    Ok((error, content, raw))
}

#[cfg(test)]
mod tests {
    use producer::Envelope;

    use super::*;

    fn document(code: &str, raw: &[u8]) -> String {
        format!(
            "{{\"attemptsMade\":4,\"arrivalTimestamp\":1795000000000,\"errorCode\":\"{code}\",\
             \"errorMessage\":\"boom\",\"attemptEndingTimestamp\":1795000000500,\"rawData\":\"{}\",\
             \"lambdaArn\":\"arn:aws:lambda:us-east-1:000000000000:function:t\"}}",
            BASE64.encode(raw)
        )
    }

    #[test]
    fn error_documents_yield_the_envelope_of_their_raw_data_and_garbage_is_corrupt() {
        let record = br#"{"a":1,"_streamproof":{"run":"r1","seq":7,"key":"k","kseq":2,"sent_ns":5}}"#;
        let object = format!(
            "{}\n{}\nnot json\n{{\"hello\":1}}\n",
            document("Lambda.FunctionError", record),
            document("Lambda.FunctionTimedOut", b"no json here")
        );
        let items = decode_error_output(object.as_bytes(), "_streamproof");
        assert_eq!(items.len(), 4, "{items:?}");
        let ErrorItem::Failed(first) = &items[0] else { panic!("{items:?}") };
        assert_eq!(
            (first.error_code.as_str(), first.attempts, first.offset),
            ("Lambda.FunctionError", Some(4), 0)
        );
        assert_eq!(
            first.content,
            Content::Envelope(Envelope { run: "r1".into(), seq: 7, key: "k".into(), kseq: 2, sent_ns: 5 })
        );
        let ErrorItem::Failed(second) = &items[1] else { panic!("{items:?}") };
        assert_eq!(
            (second.error_code.as_str(), &second.content),
            ("Lambda.FunctionTimedOut", &Content::NoEnvelope)
        );
        assert!(matches!(&items[2], ErrorItem::Corrupt(span) if span.excerpt.starts_with("not json")));
        assert!(
            matches!(&items[3], ErrorItem::Corrupt(span) if span.excerpt.starts_with("line 4: not a Firehose error document")),
            "{items:?}"
        );
    }
}
