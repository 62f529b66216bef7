//! How failed entries are retried: exponential backoff with equal jitter, bounded in attempts and
//! in time.

use std::time::{Duration, Instant};

use rand::RngExt;
use scenario::Workload;

/// How failed entries are retried: exponential backoff with jitter, bounded in attempts and in time.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per record, the first included.
    pub max_attempts: u32,
    /// How long a record may be retried after its first put; once this has passed, its next
    /// failure gives it up. Put calls that fail as a whole are bounded by it in the same way.
    pub max_elapsed: Duration,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 20,
            max_elapsed: Duration::from_secs(30),
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The default policy within the workload's retry budget (`[workload] retry_seconds`).
    pub fn for_workload(workload: &Workload) -> RetryPolicy {
        RetryPolicy { max_elapsed: workload.retry_budget, ..RetryPolicy::default() }
    }

    /// When a record first put at `first` and refused for the `attempt`th time is put again, or
    /// `None` when it is out of attempts or out of time. A retry never goes later than the end of
    /// the budget, so the last attempt is made at the deadline rather than skipped.
    pub(crate) fn next_attempt(&self, attempt: u32, first: Instant, now: Instant) -> Option<Instant> {
        let deadline = first + self.max_elapsed;
        (attempt < self.max_attempts && now < deadline).then(|| (now + self.delay(attempt)).min(deadline))
    }

    /// Backoff before retry `attempt` of a record, and a lane's pause after `attempt` throttled calls
    /// in a row: exponential with equal jitter. At least half the ceiling, so retries spread out and
    /// attempts are not spent against a shard whose per-second capacity cannot have come back yet:
    /// with the defaults, 20 attempts span more than 40 s of sustained throttling.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        self.ceiling(attempt).mul_f64(rand::rng().random_range(0.5..=1.0))
    }

    fn ceiling(&self, attempt: u32) -> Duration {
        self.base_delay.saturating_mul(1 << attempt.min(16)).min(self.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_stop_at_the_attempt_limit_or_the_time_budget_whichever_comes_first() {
        let policy =
            RetryPolicy { max_attempts: 5, max_elapsed: Duration::from_secs(30), ..RetryPolicy::default() };
        let first = Instant::now();
        let at = |seconds: u64| first + Duration::from_secs(seconds);
        // Early on, a retry waits out its backoff: at least half the ceiling, at most all of it.
        let next = policy.next_attempt(2, first, at(1)).expect("time and attempts left");
        assert!(next >= at(1) + Duration::from_millis(200) && next <= at(1) + Duration::from_millis(400));
        // Near the end of the budget, the last retry is made at the deadline, not after it: the
        // fourth backoff is at least 800 ms, so from 29.5 s it would land past 30 s.
        let late = at(29) + Duration::from_millis(500);
        assert_eq!(policy.next_attempt(4, first, late), Some(at(30)));
        // Out of time, or out of attempts: given up.
        assert_eq!(policy.next_attempt(1, first, at(30)), None);
        assert_eq!(policy.next_attempt(5, first, at(1)), None);
    }
}
