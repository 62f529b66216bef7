//! A production run's live counters, shared by its lanes and its progress reporter.

use std::sync::atomic::AtomicU64;
use std::time::Instant;

/// Counts of a run so far, updated by every lane without a lock.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) sent: AtomicU64,
    pub(crate) acknowledged: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) put_calls: AtomicU64,
    pub(crate) put_attempts: AtomicU64,
    /// When the run started.
    pub(crate) started: Instant,
}

impl Counters {
    /// All zero, started now.
    pub(crate) fn new() -> Counters {
        let zero = || AtomicU64::new(0);
        Counters {
            sent: zero(),
            acknowledged: zero(),
            retried: zero(),
            throttled: zero(),
            failed: zero(),
            bytes: zero(),
            put_calls: zero(),
            put_attempts: zero(),
            started: Instant::now(),
        }
    }
}
