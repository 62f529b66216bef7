//! A search destination's figures in a report, and the assertions they decide.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::assertion::{Assertion, AssertionKind};
use crate::findings::Counts;

/// The search destination's figures in a report (`search` in `report.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchSummary {
    /// `OpenSearch` or `Elasticsearch`.
    pub service: String,
    pub endpoint: String,
    /// The index expression read (`<index>` or `<index>-*`).
    pub index: String,
    /// `FailedDocumentsOnly` or `AllDocuments`.
    pub backup_mode: String,
    /// Distinct records of this run found in the index.
    pub indexed: u64,
    /// The index's `_count`.
    pub index_count: u64,
    /// Documents the scroll returned, whatever they held.
    pub documents_read: u64,
    /// Distinct records of this run in the failed-documents backup.
    pub failed_documents: u64,
    /// `failed_documents` per `errorCode` (the cluster's HTTP status, such as `400`).
    pub error_codes: BTreeMap<String, u64>,
    /// Acknowledged records in the failed-documents backup.
    pub failed_acknowledged: u64,
    pub failed_prefix: String,
    /// Objects read under `failed_prefix`.
    pub failed_objects: u64,
    /// Failed documents whose `rawData` holds no envelope of this run.
    pub failed_without_envelope: u64,
    /// Records both indexed and in the failed-documents backup.
    pub in_both: u64,
    /// Acknowledged records neither indexed nor failed (a sample of at most 100 seqs, ascending).
    pub missing: Vec<u64>,
    pub missing_count: u64,
    pub backup_prefix: String,
    /// `AllDocuments`: distinct records of this run in the S3 backup; `None` with `FailedDocumentsOnly`.
    pub backup_records: Option<u64>,
    /// `AllDocuments`: objects read under `backup_prefix`.
    pub backup_objects: Option<u64>,
    /// `AllDocuments`: acknowledged records the S3 backup lacks (a sample, ascending).
    pub backup_missing: Vec<u64>,
    pub backup_missing_count: u64,
}

impl SearchSummary {
    /// The search destination's assertion of `kind` (see the crate docs), given the report's
    /// counts; `None` for a kind that is not a search destination's.
    pub(crate) fn assertion(&self, kind: AssertionKind, counts: &Counts) -> Option<Assertion> {
        Some(match kind {
            AssertionKind::IndexedOrFailed => Assertion::verdict(
                kind,
                self.missing_count == 0,
                format!(
                    "{} indexed, {} in the failed-documents backup ({} in both), {} in neither",
                    self.indexed, self.failed_documents, self.in_both, self.missing_count
                ),
            ),
            AssertionKind::IndexCount => {
                let expected = (counts.acknowledged + counts.delivered_unacknowledged)
                    .saturating_sub(self.failed_acknowledged);
                let mut detail = format!(
                    "_count {}, expected {expected} ({} acknowledged − {} failed",
                    self.index_count, counts.acknowledged, self.failed_acknowledged
                );
                if counts.delivered_unacknowledged > 0 {
                    detail.push_str(&format!(
                        " + {} indexed although not acknowledged",
                        counts.delivered_unacknowledged
                    ));
                }
                detail.push(')');
                if self.documents_read != self.index_count {
                    detail.push_str(&format!("; the scroll returned {} documents", self.documents_read));
                }
                Assertion::verdict(kind, self.index_count == expected, detail)
            }
            AssertionKind::AllDocumentsBackup => match self.backup_records {
                None => Assertion::not_applicable(
                    kind,
                    "not applicable with S3BackupMode FailedDocumentsOnly: only failed documents are backed up"
                        .into(),
                ),
                Some(records) => Assertion::verdict(
                    kind,
                    self.backup_missing_count == 0,
                    format!(
                        "{records} records in {} objects under {:?}, {} acknowledged records missing",
                        self.backup_objects.unwrap_or(0),
                        self.backup_prefix,
                        self.backup_missing_count
                    ),
                ),
            },
            AssertionKind::Sending
            | AssertionKind::Delivery
            | AssertionKind::Ordering
            | AssertionKind::Latency
            | AssertionKind::NoUnexpectedRecords
            | AssertionKind::Buffering
            | AssertionKind::ObjectFormat
            | AssertionKind::ShardBalance
            | AssertionKind::Throttling => return None,
        })
    }

    /// The lines that explain a failed search assertion.
    pub(crate) fn specifics(&self, assertion: AssertionKind) -> Vec<String> {
        let seqs = |seqs: &[u64], total: u64| {
            let mut line = crate::render_ranges(&crate::compress(seqs.iter().copied()));
            if (seqs.len() as u64) < total {
                line.push_str(", … (see report.json)");
            }
            line
        };
        match assertion {
            AssertionKind::IndexedOrFailed if self.missing_count > 0 => {
                vec![format!("neither indexed nor failed: seq {}", seqs(&self.missing, self.missing_count))]
            }
            AssertionKind::IndexCount if self.in_both > 0 => {
                vec![format!("{} records are both indexed and in the failed-documents backup", self.in_both)]
            }
            AssertionKind::AllDocumentsBackup if self.backup_missing_count > 0 => vec![format!(
                "missing from the S3 backup: seq {}",
                seqs(&self.backup_missing, self.backup_missing_count)
            )],
            _ => Vec::new(),
        }
    }

    /// Lines for the terminal summary.
    pub(crate) fn summary_lines(&self, bucket: &str) -> Vec<String> {
        let codes = if self.error_codes.is_empty() {
            String::new()
        } else {
            let codes: Vec<String> = self.error_codes.iter().map(|(code, n)| format!("{code} {n}")).collect();
            format!(" (errorCode {})", codes.join(", "))
        };
        let mut lines = vec![format!(
            "search   {} index {}: {} records indexed (_count {}, {} documents read), {} failed to \
             s3://{bucket}/{}{codes}, {} in both; backup mode {}",
            self.service,
            self.index,
            self.indexed,
            self.index_count,
            self.documents_read,
            self.failed_documents,
            self.failed_prefix,
            self.in_both,
            self.backup_mode,
        )];
        if let Some(records) = self.backup_records {
            lines.push(format!(
                "         S3 backup s3://{bucket}/{}: {records} records in {} objects, {} missing",
                self.backup_prefix,
                self.backup_objects.unwrap_or(0),
                self.backup_missing_count
            ));
        }
        if self.failed_without_envelope > 0 {
            lines.push(format!(
                "         {} failed documents hold records without an envelope of this run",
                self.failed_without_envelope
            ));
        }
        lines
    }
}
