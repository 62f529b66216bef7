//! The Firehose buffer: concatenates records and decides when a batch is due, by size or by age.
//!
//! The buffer is a plain state machine that takes the current instant as an argument, so its rules
//! are tested without timers; the delivery task supplies real instants and sleeps until
//! [`Buffer::deadline`].

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

/// A batch of records ready to be written as one object.
#[derive(Debug)]
pub(crate) struct Batch {
    /// The records, concatenated byte for byte, each followed by the configured delimiter (if any).
    pub(crate) data: Bytes,
    pub(crate) records: usize,
    /// The length of every record in `data`, in order, without the delimiter.
    pub(crate) lens: Vec<u32>,
    /// When the oldest record in the batch arrived.
    pub(crate) oldest: Instant,
    /// What fault injection made of the batch, once it has been applied.
    pub(crate) faulted: Option<Faulted>,
}

/// One object that fault injection made from a batch.
#[derive(Debug)]
pub(crate) struct Faulted {
    /// The object's key, chosen when the faults were applied so ground truth can name it.
    pub(crate) key: String,
    /// How long to hold the object before writing it, as wall time.
    pub(crate) delay: Duration,
    /// When the hold ends, set at the first attempt to write it.
    pub(crate) hold_until: Option<Instant>,
    /// Ground truth to log once the object is written.
    pub(crate) events: Vec<crate::faults::FaultEvent>,
}

/// Records waiting for delivery.
#[derive(Debug)]
pub(crate) struct Buffer {
    size_limit: usize,
    /// The buffering interval as wall time (the emulated interval divided by the time scale).
    wall_interval: Duration,
    /// Appended after every record (the `AppendDelimiterToRecord` processor), or empty.
    delimiter: &'static [u8],
    data: Vec<u8>,
    records: usize,
    lens: Vec<u32>,
    oldest: Option<Instant>,
}

impl Buffer {
    /// A buffer that is due once it holds `size_limit` bytes or its oldest record is `wall_interval`
    /// old, and writes `delimiter` after every record.
    pub(crate) fn new(size_limit: usize, wall_interval: Duration, delimiter: &'static [u8]) -> Buffer {
        Buffer {
            size_limit,
            wall_interval,
            delimiter,
            data: Vec::new(),
            records: 0,
            lens: Vec::new(),
            oldest: None,
        }
    }

    /// Appends a record that arrived at `now`; returns whether the size threshold is now reached.
    pub(crate) fn push(&mut self, record: &[u8], now: Instant) -> bool {
        if self.oldest.is_none() {
            self.oldest = Some(now);
        }
        self.data.extend_from_slice(record);
        self.data.extend_from_slice(self.delimiter);
        self.records += 1;
        // Records are at most 1,000 KiB (Firehose) or 1 MiB (Kinesis).
        self.lens.push(u32::try_from(record.len()).unwrap_or(u32::MAX));
        self.is_full()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// How many records are buffered.
    pub(crate) fn records(&self) -> usize {
        self.records
    }

    /// Whether the buffer holds at least the size threshold.
    pub(crate) fn is_full(&self) -> bool {
        self.records > 0 && self.data.len() >= self.size_limit
    }

    /// When the interval of the oldest buffered record runs out, if any record is buffered.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.oldest.map(|oldest| oldest + self.wall_interval)
    }

    /// Whether a batch should be delivered at `now`: full, or the oldest record's interval is over.
    pub(crate) fn is_due(&self, now: Instant) -> bool {
        self.is_full() || self.deadline().is_some_and(|deadline| deadline <= now)
    }

    /// Takes everything buffered as one batch.
    pub(crate) fn take(&mut self) -> Option<Batch> {
        let oldest = self.oldest.take()?;
        let records = std::mem::take(&mut self.records);
        let lens = std::mem::take(&mut self.lens);
        let mut data = std::mem::take(&mut self.data);
        // The batch is stored as an object for the emulator's lifetime; do not keep growth slack.
        data.shrink_to_fit();
        Some(Batch { data: Bytes::from(data), records, lens, oldest, faulted: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn an_empty_buffer_is_never_due() {
        let buffer = Buffer::new(10, SECOND, b"");
        assert!(buffer.is_empty());
        assert_eq!(buffer.deadline(), None);
        assert!(!buffer.is_due(Instant::now() + Duration::from_secs(3600)));
    }

    #[test]
    fn reaching_the_size_makes_the_buffer_due_at_once() {
        let t0 = Instant::now();
        let mut buffer = Buffer::new(10, Duration::from_secs(300), b"");
        assert!(!buffer.push(b"12345", t0));
        assert!(!buffer.is_due(t0));
        assert!(buffer.push(b"67890", t0));
        assert!(buffer.is_due(t0));
        let batch = buffer.take().unwrap();
        assert_eq!(&batch.data[..], b"1234567890");
        assert_eq!(batch.records, 2);
        assert!(buffer.is_empty());
        assert_eq!(buffer.deadline(), None);
    }

    #[test]
    fn the_interval_runs_from_the_oldest_record() {
        let t0 = Instant::now();
        let mut buffer = Buffer::new(1 << 20, SECOND, b"");
        buffer.push(b"a", t0);
        buffer.push(b"b", t0 + Duration::from_millis(900));
        assert_eq!(buffer.deadline(), Some(t0 + SECOND));
        assert!(!buffer.is_due(t0 + Duration::from_millis(999)));
        assert!(buffer.is_due(t0 + SECOND));
        let batch = buffer.take().unwrap();
        assert_eq!(batch.oldest, t0);
        assert_eq!(&batch.data[..], b"ab");
        // The next batch's interval starts with its own first record.
        buffer.push(b"c", t0 + Duration::from_secs(5));
        assert_eq!(buffer.deadline(), Some(t0 + Duration::from_secs(6)));
    }

    #[test]
    fn a_zero_interval_is_due_immediately() {
        let t0 = Instant::now();
        let mut buffer = Buffer::new(1 << 20, Duration::ZERO, b"");
        buffer.push(b"a", t0);
        assert!(buffer.is_due(t0));
    }

    #[test]
    fn the_delimiter_follows_every_record_and_counts_toward_the_size() {
        let t0 = Instant::now();
        let mut buffer = Buffer::new(4, SECOND, b"\n");
        assert!(!buffer.push(b"a", t0));
        assert!(buffer.push(b"b", t0));
        assert_eq!(&buffer.take().unwrap().data[..], b"a\nb\n");
    }

    #[test]
    fn records_are_concatenated_without_delimiters() {
        let t0 = Instant::now();
        let mut buffer = Buffer::new(1 << 20, SECOND, b"");
        for record in [&b"{\"a\":1}"[..], b"{\"b\":2}", b"\n", b""] {
            buffer.push(record, t0);
        }
        let batch = buffer.take().unwrap();
        assert_eq!(&batch.data[..], b"{\"a\":1}{\"b\":2}\n");
        assert_eq!(batch.records, 4);
    }
}
