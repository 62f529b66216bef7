//! Assertions: the verdicts a report is made of, what each is about ([`AssertionKind`]), and their
//! three states.

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// What an assertion is about. Reports name each as `name` does (`report.json`, JUnit, HTML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssertionKind {
    /// Records that failed to send, within `max_failed_fraction`.
    Sending,
    /// Every acknowledged record delivered (exactly or at least once), none corrupt.
    Delivery,
    /// Per key, records first delivered in the order they were sent.
    Ordering,
    /// Every record delivered within `max_latency_seconds`.
    Latency,
    /// No record of the run out of range or without a readable envelope.
    NoUnexpectedRecords,
    /// Objects flushed as the buffering hints say.
    Buffering,
    /// Every object's records are laid out as `[expect] format` says.
    ObjectFormat,
    /// No shard took more than `max_shard_share` of the records.
    ShardBalance,
    /// No more than `max_throttled_fraction` of the put attempts were throttled.
    Throttling,
    /// Every acknowledged record is in the index or in the failed-documents backup.
    IndexedOrFailed,
    /// The index's `_count` is what the run should have indexed.
    IndexCount,
    /// With `AllDocuments`, the S3 backup alone holds every acknowledged record.
    AllDocumentsBackup,
}

impl AssertionKind {
    /// Every kind, in the order a report lists them.
    pub const ALL: [AssertionKind; 12] = [
        AssertionKind::Sending,
        AssertionKind::Delivery,
        AssertionKind::Ordering,
        AssertionKind::Latency,
        AssertionKind::NoUnexpectedRecords,
        AssertionKind::Buffering,
        AssertionKind::ObjectFormat,
        AssertionKind::ShardBalance,
        AssertionKind::Throttling,
        AssertionKind::IndexedOrFailed,
        AssertionKind::IndexCount,
        AssertionKind::AllDocumentsBackup,
    ];

    /// The name reports give it (`report.json`'s `assertions[].name`, stable within a schema version).
    pub fn name(self) -> &'static str {
        match self {
            AssertionKind::Sending => "sending",
            AssertionKind::Delivery => "delivery",
            AssertionKind::Ordering => "ordering",
            AssertionKind::Latency => "latency",
            AssertionKind::NoUnexpectedRecords => "no unexpected records",
            AssertionKind::Buffering => "buffering",
            AssertionKind::ObjectFormat => "object format",
            AssertionKind::ShardBalance => "shard balance",
            AssertionKind::Throttling => "throttling",
            AssertionKind::IndexedOrFailed => "indexed or failed",
            AssertionKind::IndexCount => "index count",
            AssertionKind::AllDocumentsBackup => "all-documents backup",
        }
    }
}

/// One verdict derived from the scenario's expectations.
///
/// Serialised as `{"name", "passed", "status", "detail"}`; `passed` is true only for a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub kind: AssertionKind,
    pub status: AssertionStatus,
    pub detail: String,
}

/// The outcome of one assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssertionStatus {
    Pass,
    Fail,
    /// The backend cannot support the assertion; the detail says why. Neither a pass nor a failure.
    NotApplicable,
}

impl Assertion {
    pub(crate) fn verdict(kind: AssertionKind, passed: bool, detail: String) -> Self {
        let status = if passed { AssertionStatus::Pass } else { AssertionStatus::Fail };
        Assertion { kind, status, detail }
    }

    pub(crate) fn not_applicable(kind: AssertionKind, detail: String) -> Self {
        Assertion { kind, status: AssertionStatus::NotApplicable, detail }
    }

    /// The name reports give it.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// Whether the assertion passed: false for a failure and for an assertion that does not apply.
    pub fn passed(&self) -> bool {
        self.status == AssertionStatus::Pass
    }

    /// Whether the assertion failed; an assertion that does not apply has not failed.
    pub fn failed(&self) -> bool {
        self.status == AssertionStatus::Fail
    }
}

impl Serialize for Assertion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Assertion", 4)?;
        out.serialize_field("name", self.name())?;
        out.serialize_field("passed", &self.passed())?;
        out.serialize_field("status", &self.status)?;
        out.serialize_field("detail", &self.detail)?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assertions_serialize_with_their_name_and_a_passed_flag_read_from_the_status() {
        let failed = Assertion::verdict(AssertionKind::NoUnexpectedRecords, false, "2 unexpected".into());
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            serde_json::json!({"name": "no unexpected records", "passed": false, "status": "fail",
                               "detail": "2 unexpected"})
        );
        let skipped = Assertion::not_applicable(AssertionKind::Buffering, "no hints".into());
        assert!(!skipped.passed() && !skipped.failed());
        let names: std::collections::BTreeSet<&str> =
            AssertionKind::ALL.iter().map(|kind| kind.name()).collect();
        assert_eq!(names.len(), AssertionKind::ALL.len(), "every kind has a name of its own");
    }
}
