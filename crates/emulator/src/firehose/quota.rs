//! Direct PUT quotas of a delivery stream: PutRecord and PutRecordBatch together may take so many
//! requests, records and bytes per second.
//!
//! AWS's Firehose quota page gives, per delivery stream, 500,000 records/s, 2,000 requests/s and
//! 5 MiB/s in US East (N. Virginia), US West (Oregon) and Europe (Ireland), and 100,000 records/s,
//! 1,000 requests/s and 1 MiB/s elsewhere (older versions of the page, and the API reference,
//! say 5,000 records/s). Beyond the requests quota the whole call fails with
//! `ServiceUnavailableException`; beyond the records or bytes quota, each entry that does not fit
//! fails on its own with `ServiceUnavailableException` in a partial-failure response. Seconds are
//! seconds of emulator time, counted from the clock's start.

/// The per-second quotas of one delivery stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DirectPutQuota {
    pub(crate) requests: u64,
    pub(crate) records: u64,
    pub(crate) bytes: u64,
}

impl DirectPutQuota {
    /// The default quotas of a delivery stream in `region`.
    pub(crate) fn for_region(region: &str) -> DirectPutQuota {
        const MIB: u64 = 1024 * 1024;
        match region {
            "us-east-1" | "us-west-2" | "eu-west-1" => {
                DirectPutQuota { requests: 2_000, records: 500_000, bytes: 5 * MIB }
            }
            _ => DirectPutQuota { requests: 1_000, records: 100_000, bytes: MIB },
        }
    }
}

/// What a delivery stream accepted through Direct PUT in one second of emulator time.
#[derive(Debug, Default)]
pub(crate) struct DirectPutWindow {
    second: u64,
    requests: u64,
    records: u64,
    bytes: u64,
}

impl DirectPutWindow {
    /// Counts a request whose entries have `sizes` bytes, in emulated second `second`. Returns
    /// `None`, counting nothing, when the request itself is over the requests quota; otherwise
    /// whether each entry fits, counting those that do.
    pub(crate) fn admit(
        &mut self,
        quota: DirectPutQuota,
        second: u64,
        sizes: impl IntoIterator<Item = usize>,
    ) -> Option<Vec<bool>> {
        if self.second != second {
            *self = DirectPutWindow { second, ..DirectPutWindow::default() };
        }
        if self.requests >= quota.requests {
            return None;
        }
        self.requests += 1;
        Some(
            sizes
                .into_iter()
                .map(|size| {
                    let size = size as u64;
                    let fits = self.records < quota.records && self.bytes + size <= quota.bytes;
                    if fits {
                        self.records += 1;
                        self.bytes += size;
                    }
                    fits
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: DirectPutQuota = DirectPutQuota { requests: 2, records: 3, bytes: 10 };

    #[test]
    fn entries_beyond_the_records_or_bytes_quota_are_refused_until_the_next_second() {
        let mut window = DirectPutWindow::default();
        assert_eq!(window.admit(SMALL, 0, [4, 4, 4]), Some(vec![true, true, false]));
        // A smaller entry still fits the bytes, but the records quota is reached with it.
        assert_eq!(window.admit(SMALL, 0, [2, 1]), Some(vec![true, false]));
        assert_eq!(window.admit(SMALL, 1, [10, 1]), Some(vec![true, false]));
    }

    #[test]
    fn requests_beyond_the_requests_quota_are_refused_whole() {
        let mut window = DirectPutWindow::default();
        assert!(window.admit(SMALL, 5, [1]).is_some());
        assert!(window.admit(SMALL, 5, [1]).is_some());
        assert_eq!(window.admit(SMALL, 5, [1]), None);
        assert_eq!(window.admit(SMALL, 6, [1]), Some(vec![true]));
    }

    #[test]
    fn the_large_regions_have_the_larger_quotas() {
        assert_eq!(DirectPutQuota::for_region("us-east-1").bytes, 5 * 1024 * 1024);
        assert_eq!(DirectPutQuota::for_region("eu-central-1").requests, 1_000);
    }
}
