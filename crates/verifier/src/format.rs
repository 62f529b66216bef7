//! The object-format assertion (`[expect] format = "ndjson"`): every delivered object holds
//! newline-delimited records, as Athena, Presto and Hive read them.
//!
//! Firehose concatenates records with no delimiter (`{..}{..}`) unless the `AppendDelimiterToRecord`
//! processor is on. The verifier's own decoder reads both layouts, but a reader that takes one
//! record per line sees one line per object, parses its first record and silently drops the rest.
//! The check looks at the bytes between consecutive records of an object: a record not preceded by
//! a newline is *joined* to the one before it and invisible to such readers.

use scenario::ObjectFormat;
use serde::Serialize;

use crate::assertion::{Assertion, AssertionKind};

use crate::findings::MAX_EXAMPLES;

/// The layout of one object, built record by record in byte order.
#[derive(Debug)]
pub(crate) struct Layout<'a> {
    bytes: &'a [u8],
    /// End of the previous record, unless a corrupt span came after it.
    previous_end: Option<usize>,
    records: u64,
    joined: u64,
    first_join_offset: Option<u64>,
}

impl<'a> Layout<'a> {
    /// The layout of the (decompressed) object `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Layout { bytes, previous_end: None, records: 0, joined: 0, first_join_offset: None }
    }

    /// A record at `offset`, `len` bytes long.
    pub(crate) fn record(&mut self, offset: usize, len: usize) {
        self.records += 1;
        if let Some(end) = self.previous_end
            && !self.bytes.get(end..offset).is_some_and(|gap| gap.contains(&b'\n'))
        {
            self.joined += 1;
            self.first_join_offset.get_or_insert(offset as u64);
        }
        self.previous_end = Some(offset + len);
    }

    /// Bytes that did not decode: whether the next record starts a line is not judged.
    pub(crate) fn corrupt(&mut self) {
        self.previous_end = None;
    }
}

/// What the check learned over every object read; O(examples), never O(records).
#[derive(Debug, Default)]
pub(crate) struct FormatState {
    objects: u64,
    concatenated_objects: u64,
    records: u64,
    joined_records: u64,
    examples: Vec<ConcatenatedObject>,
}

impl FormatState {
    /// Takes in the finished layout of `object`.
    pub(crate) fn observe(&mut self, object: &str, layout: &Layout<'_>) {
        self.objects += 1;
        self.records += layout.records;
        if layout.joined == 0 {
            return;
        }
        self.concatenated_objects += 1;
        self.joined_records += layout.joined;
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(ConcatenatedObject {
                object: object.to_owned(),
                records: layout.records,
                joined: layout.joined,
                first_join_offset: layout.first_join_offset.unwrap_or_default(),
            });
        }
    }

    /// The summary for the report, when the expectations ask for a format.
    pub(crate) fn summary(&self, format: Option<ObjectFormat>) -> Option<FormatSummary> {
        let ObjectFormat::Ndjson = format?;
        Some(FormatSummary {
            format: "ndjson",
            objects: self.objects,
            concatenated_objects: self.concatenated_objects,
            records: self.records,
            joined_records: self.joined_records,
            concatenated: self.examples.clone(),
            not_applicable: None,
        })
    }
}

/// The object-format check in the report (`"format"` in `report.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormatSummary {
    /// The layout asserted: `ndjson`.
    pub format: &'static str,
    /// Objects read.
    pub objects: u64,
    /// Objects with at least one record not preceded by a newline.
    pub concatenated_objects: u64,
    /// Records read.
    pub records: u64,
    /// Records not preceded by a newline: invisible to readers that take one record per line.
    pub joined_records: u64,
    /// The concatenated objects (at most [`MAX_EXAMPLES`]).
    pub concatenated: Vec<ConcatenatedObject>,
    /// Why the check does not apply on this backend, if it does not.
    pub not_applicable: Option<String>,
}

/// An object whose records run together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConcatenatedObject {
    pub object: String,
    /// Records in the object.
    pub records: u64,
    /// Records directly after another record, with no newline between them.
    pub joined: u64,
    /// Byte offset (in the decompressed object) of the first such record.
    pub first_join_offset: u64,
}

impl FormatSummary {
    /// The summary of a destination with no objects to hold to the format (a search index whose S3
    /// backup holds only failed documents): not applicable, for `why`.
    pub(crate) fn not_applicable(why: &str) -> FormatSummary {
        FormatSummary {
            not_applicable: Some(why.to_owned()),
            ..FormatState::default().summary(Some(ObjectFormat::Ndjson)).expect("ndjson is a format")
        }
    }

    /// The assertion over the summary.
    pub(crate) fn assertion(&self) -> Assertion {
        if let Some(why) = &self.not_applicable {
            return Assertion::not_applicable(AssertionKind::ObjectFormat, why.clone());
        }
        if self.concatenated_objects == 0 {
            return Assertion::verdict(
                AssertionKind::ObjectFormat,
                true,
                format!("ndjson: {} objects, every record on a line of its own", self.objects),
            );
        }
        Assertion::verdict(
            AssertionKind::ObjectFormat,
            false,
            format!(
                "ndjson: {} of {} objects hold records concatenated with no newline between them ({{..}}{{..}}); \
                 readers of newline-delimited JSON (Athena, Presto, Hive) see only the first record of each \
                 line, which for an object written without delimiters is its first record only, so {} of {} \
                 records are invisible to them",
                self.concatenated_objects, self.objects, self.joined_records, self.records
            ),
        )
    }

    /// Lines naming the concatenated objects, for the terminal summary.
    pub(crate) fn specifics(&self, limit: usize) -> Vec<String> {
        let mut lines: Vec<String> = self
            .concatenated
            .iter()
            .take(limit)
            .map(|example| {
                format!(
                    "concatenated: {} ({} records, {} with no newline before them, first at offset {})",
                    example.object, example.records, example.joined, example.first_join_offset
                )
            })
            .collect();
        if self.concatenated_objects > limit as u64 {
            lines.push(format!(
                "… and {} more concatenated objects",
                self.concatenated_objects - limit as u64
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout_of(bytes: &[u8], records: &[(usize, usize)]) -> (u64, u64, Option<u64>) {
        let mut layout = Layout::new(bytes);
        for &(offset, len) in records {
            layout.record(offset, len);
        }
        (layout.records, layout.joined, layout.first_join_offset)
    }

    #[test]
    fn records_without_a_newline_between_them_are_joined() {
        assert_eq!(layout_of(b"{}{}{}", &[(0, 2), (2, 2), (4, 2)]), (3, 2, Some(2)));
        assert_eq!(layout_of(b"{} {}", &[(0, 2), (3, 2)]), (2, 1, Some(3)));
        assert_eq!(layout_of(b"{}\n{}\n", &[(0, 2), (3, 2)]), (2, 0, None));
        assert_eq!(layout_of(b"{}\r\n{}", &[(0, 2), (4, 2)]), (2, 0, None));
        assert_eq!(layout_of(b"{}\n{}{}", &[(0, 2), (3, 2), (5, 2)]), (3, 1, Some(5)));
    }

    #[test]
    fn a_corrupt_span_leaves_the_next_record_unjudged() {
        let mut layout = Layout::new(b"{}xx{}");
        layout.record(0, 2);
        layout.corrupt();
        layout.record(4, 2);
        assert_eq!(layout.joined, 0);
    }

    #[test]
    fn the_assertion_names_the_concatenated_objects_and_what_readers_miss() {
        let mut state = FormatState::default();
        let mut joined = Layout::new(b"{}{}");
        joined.record(0, 2);
        joined.record(2, 2);
        state.observe("2026/01/01/00/s-1-a", &joined);
        let mut fine = Layout::new(b"{}\n");
        fine.record(0, 2);
        state.observe("2026/01/01/00/s-1-b", &fine);

        assert_eq!(state.summary(None), None);
        let summary = state.summary(Some(ObjectFormat::Ndjson)).unwrap();
        let assertion = summary.assertion();
        assert!(assertion.failed());
        assert!(assertion.detail.contains("1 of 2 objects"), "{}", assertion.detail);
        assert!(assertion.detail.contains("see only the first record"), "{}", assertion.detail);
        assert!(assertion.detail.contains("1 of 3 records"), "{}", assertion.detail);
        assert_eq!(
            summary.specifics(10),
            [
                "concatenated: 2026/01/01/00/s-1-a (2 records, 1 with no newline before them, first at offset 2)"
            ]
        );

        let mut clean = FormatState::default();
        clean.observe("o", &fine);
        assert!(!clean.summary(Some(ObjectFormat::Ndjson)).unwrap().assertion().failed());
    }
}
