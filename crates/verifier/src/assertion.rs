//! Assertions: the verdicts a report is made of, with their three states, and their names.

use serde::Serialize;

/// One verdict derived from the scenario's expectations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assertion {
    /// `delivery`, `ordering`, `latency`, `no unexpected records` or `buffering`.
    pub name: String,
    /// True only for a pass; false for a failure and for an assertion that does not apply.
    pub passed: bool,
    pub status: AssertionStatus,
    pub detail: String,
}

/// The outcome of one assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssertionStatus {
    Pass,
    Fail,
    /// The backend cannot support the assertion; the detail says why. Neither a pass nor a failure.
    NotApplicable,
}

impl Assertion {
    pub(crate) fn verdict(name: &str, passed: bool, detail: String) -> Self {
        let status = if passed { AssertionStatus::Pass } else { AssertionStatus::Fail };
        Assertion { name: name.to_owned(), passed, status, detail }
    }

    pub(crate) fn not_applicable(name: &str, detail: String) -> Self {
        Assertion { name: name.to_owned(), passed: false, status: AssertionStatus::NotApplicable, detail }
    }

    /// Whether the assertion failed; an assertion that does not apply has not failed.
    pub fn failed(&self) -> bool {
        self.status == AssertionStatus::Fail
    }
}

/// The names of the assertions, as `report.json`, JUnit and the HTML report show them.
pub(crate) mod names {
    /// Records that failed to send.
    pub(crate) const SENDING: &str = "sending";
    /// No shard took more than `max_shard_share` of the records.
    pub(crate) const SHARD_BALANCE: &str = "shard balance";
    /// No more than `max_throttled_fraction` of the put attempts were throttled.
    pub(crate) const THROTTLING: &str = "throttling";
    /// Every object's records are laid out as `[expect] format` says.
    pub(crate) const OBJECT_FORMAT: &str = "object format";
    /// Every acknowledged record is in the index or in the failed-documents backup.
    pub(crate) const INDEXED_OR_FAILED: &str = "indexed or failed";
    /// The index's `_count` is what the run should have indexed.
    pub(crate) const INDEX_COUNT: &str = "index count";
    /// With `AllDocuments`, the S3 backup alone holds every acknowledged record.
    pub(crate) const ALL_DOCUMENTS: &str = "all-documents backup";
}
