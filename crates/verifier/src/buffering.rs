//! Buffering analysis: objects held to the scenario's Firehose BufferingHints.
//!
//! Firehose flushes a buffer when it reaches SizeInMBs or when IntervalInSeconds has passed since
//! its oldest record arrived, whichever comes first. Against that the analysis finds objects bigger
//! than the size threshold by more than one record, objects flushed before either threshold was
//! reached, and records held past the interval plus a slack. On a backend that does not model
//! buffering the analysis is "not applicable", with the reason, never a pass.

use std::time::Duration;

use scenario::BufferingHints;

use crate::assertion::{Assertion, AssertionKind};
use crate::findings::{BufferingSummary, LateExample, MAX_EXAMPLES, ObjectSummary, SizeDistribution, millis};

const MIB: u64 = 1024 * 1024;

/// What the buffering analysis holds objects to, and whether the backend can be held to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferingCheck {
    pub hints: BufferingHints,
    /// The backend's name, for "not applicable on `<backend>`".
    pub backend: String,
    /// Why the backend does not model buffering; `None` when it does.
    pub not_modelled: Option<String>,
    /// How much later than IntervalInSeconds a flush may be visible, and how much earlier an
    /// interval flush may come (the send time is measured at the producer, not at Firehose).
    pub slack: Duration,
}

impl BufferingCheck {
    /// The default slack: Firehose documents "within seconds" for an interval of 0, and the send time
    /// includes the producer's retries, which a busy machine stretches to seconds.
    pub const DEFAULT_SLACK: Duration = Duration::from_secs(15);

    /// A check of `hints` on `backend`, which models buffering when `modelled` is true.
    pub fn new(hints: BufferingHints, backend: &str, modelled: bool) -> Self {
        BufferingCheck {
            hints,
            backend: backend.to_owned(),
            not_modelled: (!modelled).then(|| {
                "the backend does not model Firehose BufferingHints (SizeInMBs, IntervalInSeconds)".to_owned()
            }),
            slack: Self::DEFAULT_SLACK,
        }
    }

    /// Records visible later than this after they were sent were held too long, when no record
    /// waited longer than `producer_wait_ns` in the producer (its key's queue and its retries) before
    /// the backend acknowledged it: such a record reached the backend at most that long after it
    /// was sent, so past the interval and the slack on top of it, the destination held it.
    pub(crate) fn held_bound_ns(&self, producer_wait_ns: u64) -> Option<u64> {
        self.not_modelled.is_none().then(|| {
            u64::try_from((self.hints.interval() + self.slack).as_nanos())
                .unwrap_or(u64::MAX)
                .saturating_add(producer_wait_ns)
        })
    }

    /// The summary of a destination with no objects the hints govern (a search index whose S3
    /// backup holds only failed documents): not applicable, for `why`.
    pub(crate) fn not_applicable(&self, why: &str) -> BufferingSummary {
        let mut summary = self.analyse(&[], 0, Vec::new(), 0);
        summary.applicable = false;
        summary.not_applicable = Some(why.to_owned());
        summary
    }

    /// Judges `objects`; `held_too_long` counts the first deliveries beyond [`Self::held_bound_ns`].
    pub(crate) fn analyse(
        &self,
        objects: &[ObjectSummary],
        held_too_long: u64,
        held_too_long_examples: Vec<LateExample>,
        producer_wait_ns: u64,
    ) -> BufferingSummary {
        let size_bytes = SizeDistribution::of(objects.iter().map(|object| object.decoded_bytes).collect());
        let mut summary = BufferingSummary {
            applicable: self.not_modelled.is_none(),
            not_applicable: self
                .not_modelled
                .as_ref()
                .map(|why| format!("not applicable on {}: {why}", self.backend)),
            size_mb: self.hints.size_mb,
            interval_seconds: self.hints.interval_seconds,
            slack_ms: millis(self.slack),
            producer_wait_ms: producer_wait_ns / 1_000_000,
            size_bytes,
            oversized: 0,
            flushed_early: 0,
            held_too_long: 0,
            oversized_objects: Vec::new(),
            flushed_early_objects: Vec::new(),
            held_too_long_examples: Vec::new(),
        };
        if !summary.applicable {
            return summary;
        }
        let size_threshold = u64::from(self.hints.size_mb) * MIB;
        let interval_ms = millis(self.hints.interval());
        let early_before_ms = interval_ms.saturating_sub(millis(self.slack));
        for object in objects {
            if object.decoded_bytes > size_threshold + object.max_record_bytes {
                summary.oversized += 1;
                if summary.oversized_objects.len() < MAX_EXAMPLES {
                    summary.oversized_objects.push(object.key.clone());
                }
            }
            // With an interval no longer than the slack, any flush time is on time.
            let small = object.decoded_bytes + object.max_record_bytes < size_threshold;
            let soon = object.held_ms.is_some_and(|held| held < early_before_ms);
            if small && soon {
                summary.flushed_early += 1;
                if summary.flushed_early_objects.len() < MAX_EXAMPLES {
                    summary.flushed_early_objects.push(object.key.clone());
                }
            }
        }
        summary.held_too_long = held_too_long;
        summary.held_too_long_examples = held_too_long_examples;
        summary
    }
}

impl BufferingSummary {
    /// The `buffering` assertion: no object oversized or flushed early, no record held too long;
    /// not applicable, with the reason, where the backend cannot be held to the hints.
    pub(crate) fn assertion(&self) -> Assertion {
        if let Some(why) = &self.not_applicable {
            return Assertion::not_applicable(AssertionKind::Buffering, why.clone());
        }
        Assertion::verdict(
            AssertionKind::Buffering,
            self.oversized + self.flushed_early + self.held_too_long == 0,
            format!(
                "{} MiB / {} s: {} oversized, {} flushed early, {} held too long{}",
                self.size_mb,
                self.interval_seconds,
                self.oversized,
                self.flushed_early,
                self.held_too_long,
                if self.producer_wait_ms >= 1000 {
                    format!(
                        " (beyond the interval, {} s of slack and the {:.1} s a record waited at most in the producer's retries)",
                        self.slack_ms / 1000,
                        self.producer_wait_ms as f64 / 1000.0
                    )
                } else {
                    String::new()
                }
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str, decoded_bytes: u64, max_record_bytes: u64, held_ms: u64) -> ObjectSummary {
        ObjectSummary {
            key: key.into(),
            visible_ms: 0,
            bytes: decoded_bytes,
            decoded_bytes,
            gzip: false,
            records: 1,
            max_record_bytes,
            held_ms: Some(held_ms),
        }
    }

    fn hints(size_mb: u32, interval_seconds: u32) -> BufferingHints {
        BufferingHints { size_mb, interval_seconds }
    }

    #[test]
    fn objects_within_the_hints_pass_and_oversized_or_early_ones_are_named() {
        let check = BufferingCheck::new(hints(1, 60), "embedded", true);
        let objects = [
            // Flushed on size: at the threshold within one record, early is fine.
            object("size-flush", MIB - 100, 200, 3_000),
            // Flushed on time: small, but held for the interval.
            object("time-flush", 10_000, 200, 60_400),
            // More than one record beyond the threshold.
            object("oversized", MIB + 1_000, 200, 1_000),
            // Neither threshold reached.
            object("early", 10_000, 200, 20_000),
        ];
        let summary = check.analyse(&objects, 0, Vec::new(), 0);
        assert!(summary.applicable);
        assert_eq!((summary.oversized, summary.flushed_early), (1, 1));
        assert_eq!(summary.oversized_objects, vec!["oversized".to_string()]);
        assert_eq!(summary.flushed_early_objects, vec!["early".to_string()]);
        assert_eq!(summary.size_bytes.count, 4);
        assert_eq!(summary.size_bytes.max, MIB + 1_000);
        assert_eq!(check.held_bound_ns(0), Some(75 * 1_000_000_000));
        // The producer's longest wait before an acknowledgement widens the bound by as much.
        assert_eq!(check.held_bound_ns(2_000_000_000), Some(77 * 1_000_000_000));
    }

    #[test]
    fn interval_zero_never_flushes_early() {
        let check = BufferingCheck::new(hints(1, 0), "embedded", true);
        let summary = check.analyse(&[object("quick", 100, 50, 10)], 0, Vec::new(), 0);
        assert_eq!(summary.flushed_early, 0);
    }

    #[test]
    fn a_backend_without_buffering_is_not_applicable_and_says_why() {
        let check = BufferingCheck::new(hints(1, 60), "localstack", false);
        let summary = check.analyse(&[object("early", 100, 50, 10)], 0, Vec::new(), 0);
        assert!(!summary.applicable);
        assert_eq!(summary.flushed_early, 0);
        assert!(
            summary
                .not_applicable
                .as_deref()
                .is_some_and(|why| why.starts_with("not applicable on localstack: ")),
            "{summary:?}"
        );
        assert_eq!(check.held_bound_ns(0), None);
    }
}
