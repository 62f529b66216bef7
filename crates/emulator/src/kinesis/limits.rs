//! AWS's per-shard limits, counted in emulator time: what one shard accepts per second and what
//! GetRecords may take from it.

/// Most records one shard accepts per second.
pub(crate) const SHARD_RECORDS_PER_SECOND: u32 = 1_000;
/// Most bytes (data plus partition key) one shard accepts per second.
pub(crate) const SHARD_BYTES_PER_SECOND: usize = 1024 * 1024;
/// Most GetRecords calls one shard serves per second.
pub(crate) const SHARD_READS_PER_SECOND: u32 = 5;
/// The data one shard returns per second through GetRecords.
pub(crate) const SHARD_READ_BYTES_PER_SECOND: u64 = 2 * 1024 * 1024;

/// Which of AWS's per-shard limits a store enforces, in emulator time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShardLimits {
    /// 1 MiB (data plus partition key) and 1,000 records written per second.
    pub(crate) writes: bool,
    /// 5 GetRecords calls and 2 MiB returned per second.
    pub(crate) reads: bool,
}

/// The writes a shard accepted in one second of emulator time, counted from the clock's start.
#[derive(Debug, Default)]
pub(crate) struct WriteWindow {
    second: u64,
    records: u32,
    bytes: usize,
}

impl WriteWindow {
    /// Counts an entry of `bytes` bytes written in emulated second `second`; returns false, counting
    /// nothing, when the entry would exceed the shard's per-second limits.
    pub(crate) fn admit(&mut self, second: u64, bytes: usize) -> bool {
        if self.second != second {
            *self = WriteWindow { second, records: 0, bytes: 0 };
        }
        if self.records >= SHARD_RECORDS_PER_SECOND || self.bytes + bytes > SHARD_BYTES_PER_SECOND {
            return false;
        }
        self.records += 1;
        self.bytes += bytes;
        true
    }
}

/// The GetRecords calls a shard served in the current second of emulator time, and when the data
/// it returned has been paid for.
///
/// "Each shard can support up to five read transactions per second" and "up to a maximum total data
/// read rate of 2 MiB per second"; a call may return up to 10 MiB, and then "subsequent calls made
/// within the next 5 seconds throw ProvisionedThroughputExceededException" (GetRecords, Kinesis API
/// Reference). So every byte a call returns is paid for at 2 MiB/s before the next call is served.
#[derive(Debug, Default)]
pub(crate) struct ReadBudget {
    calls: CallRate,
    /// Emulator milliseconds since the clock's start before which no call is served.
    paid_until_ms: u64,
}

impl ReadBudget {
    /// Counts a call at `now_ms`; false, counting nothing, when the shard must refuse it.
    pub(crate) fn admit(&mut self, now_ms: u64) -> bool {
        now_ms >= self.paid_until_ms && self.calls.admit(now_ms / 1000, SHARD_READS_PER_SECOND)
    }

    /// Charges `bytes` returned by a call at `now_ms`.
    pub(crate) fn charge(&mut self, now_ms: u64, bytes: u64) {
        self.paid_until_ms = self.paid_until_ms.max(now_ms) + bytes * 1000 / SHARD_READ_BYTES_PER_SECOND;
    }
}

/// What an on-demand stream took in during the current second of emulator time, across its shards.
///
/// "On-demand mode accommodates up to double its previous peak write throughput observed in the
/// last 30 days": when a second's writes pass half the open shards' capacity, the stream scales so
/// that capacity is at least double that peak ("On-demand mode features and use cases", Kinesis
/// Data Streams Developer Guide).
#[derive(Debug, Default)]
pub(crate) struct StreamWindow {
    second: u64,
    records: u64,
    bytes: u64,
}

impl StreamWindow {
    /// Counts `records` entries of `bytes` bytes in emulated second `second`; returns the shard
    /// count that carries double this second's throughput so far, when `open` shards do not.
    pub(crate) fn add(&mut self, second: u64, records: u64, bytes: u64, open: usize) -> Option<usize> {
        if self.second != second {
            *self = StreamWindow { second, records: 0, bytes: 0 };
        }
        self.records += records;
        self.bytes += bytes;
        let by_records = (2 * self.records).div_ceil(u64::from(SHARD_RECORDS_PER_SECOND));
        let by_bytes = (2 * self.bytes).div_ceil(SHARD_BYTES_PER_SECOND as u64);
        let needed = usize::try_from(by_records.max(by_bytes)).unwrap_or(usize::MAX);
        (needed > open).then_some(needed)
    }
}

/// Calls of one operation an account made in the current second of emulator time.
#[derive(Debug, Default)]
pub(crate) struct CallRate {
    second: u64,
    calls: u32,
}

impl CallRate {
    /// Counts a call in emulated second `second`; false, counting nothing, past `limit` a second.
    pub(crate) fn admit(&mut self, second: u64, limit: u32) -> bool {
        if self.second != second {
            *self = CallRate { second, calls: 0 };
        }
        if self.calls >= limit {
            return false;
        }
        self.calls += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_rate_admits_its_limit_each_second() {
        let mut rate = CallRate::default();
        assert!((0..5).all(|_| rate.admit(7, 5)));
        assert!(!rate.admit(7, 5));
        assert!(rate.admit(8, 5), "the next second starts from zero");
    }

    #[test]
    fn an_on_demand_window_asks_for_double_the_peak_once_half_the_capacity_is_passed() {
        let mut window = StreamWindow::default();
        assert_eq!(window.add(1, 2_000, 100, 4), None, "2,000 records a second is half of 4 shards");
        assert_eq!(window.add(1, 500, 100, 4), Some(5));
        assert_eq!(window.add(2, 2_000, 100, 4), None, "a new second starts from zero");
        let mib = SHARD_BYTES_PER_SECOND as u64;
        assert_eq!(window.add(3, 10, 3 * mib, 4), Some(6), "bytes count as well as records");
    }
}
