//! Turning Firehose objects into NDJSON: one record per line, whatever the object's encoding.
//!
//! A record is written as it was delivered, byte for byte, unless it spans several lines; then the
//! whitespace outside its strings is dropped so it fits on one. With `with_source`, each line is
//! `{"object": <key>, "offset": <byte offset>, "record": <record>}` instead. With `raw_data`, the
//! objects are Firehose error output or failed documents (`processing-failed/`,
//! `AmazonOpenSearchService-failed/`, …), and each line is the original record from a document's
//! base64 `rawData`, ready to send again or re-index.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use futures::StreamExt;

use crate::decode::{CorruptSpan, Decoded, Decoder};
use crate::error::VerifyError;
use crate::error_output::{ErrorItem, decode_error_output};
use crate::findings::{CorruptExample, MAX_EXAMPLES};
use crate::s3::{FETCH_IN_FLIGHT, TimeWindow, fetch_objects, list_objects};
use crate::unpack::unpack;

/// What exporting one object found besides its records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    /// Records written.
    pub records: u64,
    /// Spans that did not decode, in byte order.
    pub corrupt: Vec<CorruptSpan>,
    /// Why decompression stopped early, and after how many decompressed bytes.
    pub damage: Option<(u64, String)>,
}

/// How records are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Wrap each record as `{"object": …, "offset": …, "record": …}`.
    pub with_source: bool,
    /// Read the objects as Firehose error output or failed documents and write the original record
    /// of each document (its base64 `rawData`); anything else in them is a corrupt span.
    pub raw_data: bool,
}

/// Decompresses and decodes `bytes` (the object `key`) and writes its records to `out` as NDJSON.
///
/// The envelope field does not matter for exporting; every JSON value is a record.
pub fn export_ndjson(
    out: &mut impl Write,
    key: &str,
    bytes: &[u8],
    options: ExportOptions,
) -> io::Result<Exported> {
    let unpacked = unpack(key, bytes);
    let data: &[u8] = &unpacked.bytes;
    let mut exported = Exported::default();
    let mut writer = LineWriter {
        quoted_key: options.with_source.then(|| serde_json::to_string(key).expect("a string serialises")),
        line: Vec::new(),
    };
    if options.raw_data {
        for item in decode_error_output(data, "") {
            match item {
                ErrorItem::Failed(failed) => {
                    // The original record, decoded like a delivered one; its place is its document's.
                    for inner in Decoder::new(&failed.raw, "") {
                        match inner {
                            Decoded::Record(record) => {
                                let raw = &failed.raw[record.offset..record.offset + record.len];
                                writer.write(out, failed.offset, raw)?;
                                exported.records += 1;
                            }
                            Decoded::Corrupt(span) => exported.corrupt.push(CorruptSpan {
                                offset: failed.offset,
                                len: failed.len,
                                excerpt: format!("rawData holds no JSON record: {}", span.excerpt),
                            }),
                        }
                    }
                }
                ErrorItem::Corrupt(span) => exported.corrupt.push(span),
            }
        }
    } else {
        // The envelope is not needed here: the empty field name makes the decoder skip every value.
        for item in Decoder::new(data, "") {
            match item {
                Decoded::Record(record) => {
                    writer.write(out, record.offset, &data[record.offset..record.offset + record.len])?;
                    exported.records += 1;
                }
                Decoded::Corrupt(span) => exported.corrupt.push(span),
            }
        }
    }
    exported.damage = unpacked.damage.map(|why| (data.len() as u64, why));
    Ok(exported)
}

/// Writes records as NDJSON lines, wrapped with their object and offset when `quoted_key` is set.
struct LineWriter {
    quoted_key: Option<String>,
    line: Vec<u8>,
}

impl LineWriter {
    fn write(&mut self, out: &mut impl Write, offset: usize, raw: &[u8]) -> io::Result<()> {
        self.line.clear();
        if let Some(quoted_key) = &self.quoted_key {
            write!(self.line, r#"{{"object":{quoted_key},"offset":{offset},"record":"#)?;
        }
        one_line(raw, &mut self.line);
        if self.quoted_key.is_some() {
            self.line.push(b'}');
        }
        self.line.push(b'\n');
        out.write_all(&self.line)
    }
}

/// What exporting a set of objects found, over all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub objects: u64,
    pub records: u64,
    /// Spans that did not decode.
    pub corrupt: u64,
    /// Objects whose compressed stream broke off.
    pub damaged: u64,
    /// The first [`MAX_EXAMPLES`] corrupt spans and damaged streams, in reading order.
    pub examples: Vec<CorruptExample>,
}

impl ExportSummary {
    fn add(&mut self, key: &str, exported: Exported) {
        self.objects += 1;
        self.records += exported.records;
        self.corrupt += exported.corrupt.len() as u64;
        for span in exported.corrupt {
            self.example(CorruptExample {
                object: key.to_owned(),
                offset: span.offset as u64,
                length: span.len as u64,
                excerpt: span.excerpt,
            });
        }
        if let Some((offset, why)) = exported.damage {
            self.damaged += 1;
            self.example(CorruptExample { object: key.to_owned(), offset, length: 0, excerpt: why });
        }
    }

    fn example(&mut self, example: CorruptExample) {
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(example);
        }
    }
}

/// Exporting could not read its input or write its output; bad bytes inside objects are not errors.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    S3(#[from] VerifyError),
    #[error("cannot write the records")]
    Write(#[source] io::Error),
}

/// Exports a file, or every file under a directory in path order, as NDJSON.
///
/// With a `window`, only files whose modification time lies inside it are read (tools that copy
/// objects out of S3, such as `aws s3 sync`, set it to LastModified).
pub fn export_path(
    out: &mut impl Write,
    path: &Path,
    window: Option<TimeWindow>,
    options: ExportOptions,
) -> Result<ExportSummary, ExportError> {
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| ExportError::Read { path, source }
    };
    let mut files = Vec::new();
    collect_files(path, &mut files).map_err(read_error(path))?;
    files.sort();
    let mut summary = ExportSummary::default();
    for file in files {
        if let Some(window) = window {
            let modified = fs::metadata(&file).and_then(|meta| meta.modified()).map_err(read_error(&file))?;
            let modified_ns = modified.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos() as u64);
            if !window.contains(modified_ns) {
                continue;
            }
        }
        let bytes = fs::read(&file).map_err(read_error(&file))?;
        // Name objects relative to the directory given, as their S3 keys would be.
        let name = file.strip_prefix(path).ok().filter(|rest| !rest.as_os_str().is_empty()).unwrap_or(&file);
        let name = name.to_string_lossy();
        let exported = export_ndjson(out, &name, &bytes, options).map_err(ExportError::Write)?;
        summary.add(&name, exported);
    }
    Ok(summary)
}

/// Collects `path` if it is a file, or every non-hidden file under it if it is a directory.
pub(crate) fn collect_files(path: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    if !fs::metadata(path)?.is_dir() {
        files.push(path.to_owned());
        return Ok(());
    }
    for entry in fs::read_dir(path)? {
        let entry = entry?;
        let name = entry.file_name();
        // Hidden files are not objects (editors' and sync tools' leftovers).
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        collect_files(&entry.path(), files)?;
    }
    Ok(())
}

/// Exports the objects under `s3://bucket/prefix` as NDJSON, oldest first, fetching
/// [`FETCH_IN_FLIGHT`] objects at a time; see [`list_objects`] for `window` and `hourly`.
pub async fn export_s3(
    out: &mut impl Write,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    window: Option<TimeWindow>,
    hourly: bool,
    options: ExportOptions,
) -> Result<ExportSummary, ExportError> {
    let objects = list_objects(s3, bucket, prefix, window, hourly).await?;
    tracing::debug!(bucket, prefix, objects = objects.len(), "listed objects to decode");
    let mut summary = ExportSummary::default();
    let mut fetched = std::pin::pin!(fetch_objects(s3, bucket, objects, FETCH_IN_FLIGHT));
    while let Some(result) = fetched.next().await {
        let (object, bytes) = result?;
        let exported = export_ndjson(out, &object.key, &bytes, options).map_err(ExportError::Write)?;
        summary.add(&object.key, exported);
    }
    Ok(summary)
}

/// Appends `raw`, one JSON value, to `out` without line breaks: whitespace outside strings is dropped
/// when the value has a line break, and the value is copied unchanged otherwise.
fn one_line(raw: &[u8], out: &mut Vec<u8>) {
    if memchr::memchr2(b'\n', b'\r', raw).is_none() {
        out.extend_from_slice(raw);
        return;
    }
    let (mut in_string, mut escaped) = (false, false);
    for &byte in raw {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            out.push(byte);
        } else if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
            in_string = byte == b'"';
            out.push(byte);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(bytes: &[u8], with_source: bool) -> (String, Exported) {
        export_with(bytes, ExportOptions { with_source, raw_data: false })
    }

    fn export_with(bytes: &[u8], options: ExportOptions) -> (String, Exported) {
        let mut out = Vec::new();
        let exported = export_ndjson(&mut out, "2026/11/23/20/s-1-x", bytes, options).unwrap();
        (String::from_utf8(out).unwrap(), exported)
    }

    /// A failed document as Firehose writes it for an OpenSearch destination.
    fn failed_document(raw: &[u8]) -> String {
        use base64::Engine as _;
        format!(
            "{{\"attemptsMade\":3,\"arrivalTimestamp\":1795000000000,\"errorCode\":\"400\",\
             \"errorMessage\":\"{{}}\",\"attemptEndingTimestamp\":1795000000500,\"esDocumentId\":\"d1\",\
             \"esIndexName\":\"clicks\",\"esTypeName\":\"\",\"rawData\":\"{}\"}}\n",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    #[test]
    fn raw_data_writes_the_original_records_of_failed_documents_and_flags_the_rest() {
        let object = format!(
            "{}{}{}{{\"not\":\"a failed document\"}}\n",
            failed_document(b"{\"a\": 1,\n \"b\": 2}"),
            failed_document(b"plain text"),
            failed_document(br#"{"c":3}"#),
        );
        let options = ExportOptions { with_source: false, raw_data: true };
        let (out, exported) = export_with(object.as_bytes(), options);
        assert_eq!(out, "{\"a\":1,\"b\":2}\n{\"c\":3}\n");
        assert_eq!(exported.records, 2);
        let excerpts: Vec<&str> = exported.corrupt.iter().map(|span| span.excerpt.as_str()).collect();
        assert_eq!(exported.corrupt.len(), 2, "{excerpts:?}");
        assert!(excerpts[0].starts_with("rawData holds no JSON record"), "{excerpts:?}");
        assert!(excerpts[1].starts_with("line 4: not a Firehose error document"), "{excerpts:?}");
        // The second document starts where the first one's line ends.
        let second = object.find("\n").unwrap() + 1;
        assert_eq!(exported.corrupt[0].offset, second);

        // With the source, a record names its document's offset.
        let (out, _) = export_with(object.as_bytes(), ExportOptions { with_source: true, raw_data: true });
        let last: serde_json::Value = serde_json::from_str(out.lines().nth(1).unwrap()).unwrap();
        let third = object.match_indices('\n').nth(1).unwrap().0 + 1;
        assert_eq!(last["offset"], third);
        assert_eq!(last["record"], serde_json::json!({"c": 3}));
    }

    #[test]
    fn concatenated_records_become_one_line_each() {
        let (out, exported) = export(br#"{"a":1}{"b":"}{"}  {"c":[1, 2]}"#, false);
        assert_eq!(out, "{\"a\":1}\n{\"b\":\"}{\"}\n{\"c\":[1, 2]}\n");
        assert_eq!((exported.records, exported.corrupt.len()), (3, 0));
    }

    #[test]
    fn multi_line_records_are_joined_without_touching_strings() {
        let (out, _) = export(b"{\n  \"a\": \"x y\",\r\n  \"b\": [1,\n 2]\n}\n", false);
        assert_eq!(out, "{\"a\":\"x y\",\"b\":[1,2]}\n");
        let (out, _) = export(b"{\"q\": \"say \\\"hi\\\" \",\n\"k\": \"\xed\x95\x9c\"}", false);
        assert_eq!(out, "{\"q\":\"say \\\"hi\\\" \",\"k\":\"\u{d55c}\"}\n");
    }

    #[test]
    fn with_source_wraps_records_with_object_and_offset() {
        let (out, _) = export(b"\xEF\xBB\xBF{\"a\":1}\n{}", true);
        let lines: Vec<serde_json::Value> =
            out.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(
            lines[0],
            serde_json::json!({"object": "2026/11/23/20/s-1-x", "offset": 3, "record": {"a": 1}})
        );
        assert_eq!(
            lines[1],
            serde_json::json!({"object": "2026/11/23/20/s-1-x", "offset": 11, "record": {}})
        );
    }

    #[test]
    fn a_directory_is_exported_in_path_order_with_keys_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let hour = dir.path().join("2026/11/23/20");
        fs::create_dir_all(&hour).unwrap();
        fs::write(hour.join("s-1-2026-11-23-20-00-05-b"), b"{\"n\":2}junk").unwrap();
        fs::write(hour.join("s-1-2026-11-23-20-00-01-a"), b"{\"n\":1}").unwrap();
        fs::write(hour.join(".s-1-partial.tmp"), b"{\"n\":0}").unwrap();
        let mut out = Vec::new();
        let with_source = ExportOptions { with_source: true, raw_data: false };
        let summary = export_path(&mut out, dir.path(), None, with_source).unwrap();
        let lines: Vec<serde_json::Value> =
            String::from_utf8(out).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["object"], "2026/11/23/20/s-1-2026-11-23-20-00-01-a");
        assert_eq!(lines[1]["record"], serde_json::json!({"n": 2}));
        assert_eq!((summary.objects, summary.records, summary.corrupt), (2, 2, 1));
        assert_eq!(summary.examples[0].object, "2026/11/23/20/s-1-2026-11-23-20-00-05-b");
        assert_eq!((summary.examples[0].offset, summary.examples[0].length), (7, 4));

        // A window that ends before the files were written selects none of them.
        let mut out = Vec::new();
        let summary = export_path(
            &mut out,
            dir.path(),
            Some(TimeWindow { since_ns: 0, until_ns: 1 }),
            ExportOptions::default(),
        )
        .unwrap();
        assert_eq!((summary.objects, out.len()), (0, 0));
        assert!(matches!(
            export_path(&mut out, &dir.path().join("missing"), None, ExportOptions::default()),
            Err(ExportError::Read { .. })
        ));
    }

    #[test]
    fn corrupt_spans_are_returned_not_written() {
        let (out, exported) = export(b"{\"a\":1}junk\n{\"b\":", false);
        assert_eq!(out, "{\"a\":1}\n");
        let spans: Vec<(usize, usize)> =
            exported.corrupt.iter().map(|span| (span.offset, span.len)).collect();
        assert_eq!(spans, vec![(7, 4), (12, 5)]);
    }
}
