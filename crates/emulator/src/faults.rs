//! Test-only fault injection: which accepted Kinesis entries to lose, and the ground-truth log of losses.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Faults the emulator injects on purpose, so a test can check that a verifier notices them.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Zero-based ordinals of Kinesis entries to lose.
    ///
    /// Ordinals count every entry the emulator accepts through `PutRecord` and `PutRecords`, across
    /// all streams, in the order the entries are accepted. A dropped entry is acknowledged to the
    /// caller with a normal success result (shard id and sequence number) but never stored, so no
    /// consumer ever sees it. Each drop is recorded as a [`FaultEvent`].
    pub drop_kinesis_records: BTreeSet<u64>,
}

/// Ground truth about one injected fault: a Kinesis entry that was acknowledged and then lost.
#[derive(Debug, Clone)]
pub struct FaultEvent {
    /// The entry's ordinal among all accepted Kinesis entries.
    pub ordinal: u64,
    /// The stream the entry was put to.
    pub stream: String,
    /// The shard the entry was routed to.
    pub shard_id: String,
    /// The entry's partition key.
    pub partition_key: String,
    /// The entry's data.
    pub data: Vec<u8>,
}

/// The running state of fault injection: the configured faults, the ordinal counter and the log.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    drop_kinesis_records: BTreeSet<u64>,
    next_kinesis_ordinal: AtomicU64,
    log: Mutex<Vec<FaultEvent>>,
}

impl FaultInjector {
    pub(crate) fn new(faults: Faults) -> FaultInjector {
        FaultInjector {
            drop_kinesis_records: faults.drop_kinesis_records,
            next_kinesis_ordinal: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        }
    }

    /// Reserves `count` consecutive ordinals for entries about to be accepted and returns the first.
    pub(crate) fn reserve_kinesis_ordinals(&self, count: usize) -> u64 {
        self.next_kinesis_ordinal.fetch_add(count as u64, Ordering::Relaxed)
    }

    /// Whether no entry in `first..first + count` is to be dropped, so callers can skip the per-entry check.
    pub(crate) fn drops_none_of(&self, first: u64, count: usize) -> bool {
        self.drop_kinesis_records.is_empty()
            || self.drop_kinesis_records.range(first..first.saturating_add(count as u64)).next().is_none()
    }

    /// Whether the entry with this ordinal is to be dropped.
    pub(crate) fn should_drop_kinesis(&self, ordinal: u64) -> bool {
        self.drop_kinesis_records.contains(&ordinal)
    }

    /// Records that an entry was dropped.
    pub(crate) fn record(&self, event: FaultEvent) {
        tracing::info!(
            ordinal = event.ordinal,
            stream = %event.stream,
            shard_id = %event.shard_id,
            "fault injected: Kinesis entry acknowledged and dropped"
        );
        self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(event);
    }

    /// A copy of every fault injected so far, in the order they happened.
    pub(crate) fn events(&self) -> Vec<FaultEvent> {
        self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_are_reserved_in_blocks_and_checked_by_range() {
        let injector = FaultInjector::new(Faults { drop_kinesis_records: BTreeSet::from([3, 7]) });
        assert_eq!(injector.reserve_kinesis_ordinals(3), 0);
        assert_eq!(injector.reserve_kinesis_ordinals(2), 3);
        assert!(injector.drops_none_of(0, 3));
        assert!(!injector.drops_none_of(3, 2));
        assert!(injector.should_drop_kinesis(7));
        assert!(!injector.should_drop_kinesis(4));
    }
}
