//! Rate control: when the n-th record may be sent under a fixed, ramp or step profile.

use std::time::Duration;

use scenario::Rate;

/// The cumulative send schedule of a rate profile.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    /// Linear-rate segments in time order; after the last, `tail` holds.
    segments: Vec<Segment>,
    /// Rate after the segments, with the time and count it starts at; `None` for no limit.
    tail: Option<Segment>,
}

/// A stretch of time over which the rate changes linearly from `r0` to `r1`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start_secs: f64,
    start_count: f64,
    r0: f64,
    r1: f64,
    /// Length in seconds; infinite for the tail.
    secs: f64,
}

impl Segment {
    fn count_at_end(&self) -> f64 {
        self.start_count + (self.r0 + self.r1) / 2.0 * self.secs
    }

    /// Seconds into the segment at which the cumulative count reaches `n`.
    fn time_for(&self, n: f64) -> f64 {
        let dn = (n - self.start_count).max(0.0);
        let slope = if self.secs.is_finite() { (self.r1 - self.r0) / self.secs } else { 0.0 };
        if slope.abs() < 1e-12 {
            return dn / self.r0;
        }
        // dn = r0 t + slope t² / 2, solved for the positive root.
        let a = slope / 2.0;
        (-self.r0 + (self.r0 * self.r0 + 4.0 * a * dn).max(0.0).sqrt()) / (2.0 * a)
    }
}

impl Pacer {
    pub(crate) fn new(rate: &Rate) -> Pacer {
        let mut segments = Vec::new();
        let mut t = 0.0;
        let mut n = 0.0;
        let mut push = |r0: f64, r1: f64, secs: f64| {
            let segment = Segment { start_secs: t, start_count: n, r0, r1, secs };
            t += secs;
            n = segment.count_at_end();
            segments.push(segment);
        };
        let tail_rate = match rate {
            Rate::Unlimited => None,
            Rate::Fixed(r) => Some(*r),
            Rate::Ramp { from, to, over } => {
                push(*from, *to, over.as_secs_f64());
                Some(*to)
            }
            Rate::Steps(steps) => {
                for step in steps {
                    push(step.per_second, step.per_second, step.duration.as_secs_f64());
                }
                steps.last().map(|s| s.per_second)
            }
        };
        let tail =
            tail_rate.map(|r| Segment { start_secs: t, start_count: n, r0: r, r1: r, secs: f64::INFINITY });
        Pacer { segments, tail }
    }

    /// When the record with 0-based ordinal `n` may be sent, as an offset from the start; `None` if at once.
    pub(crate) fn due(&self, n: u64) -> Option<Duration> {
        let tail = self.tail?;
        // Record n is due when the cumulative count reaches n (the first one at time 0).
        let n = n as f64;
        let segment = self.segments.iter().find(|s| s.count_at_end() >= n).copied().unwrap_or(tail);
        Some(Duration::from_secs_f64(segment.start_secs + segment.time_for(n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenario::RateStep;

    fn secs(pacer: &Pacer, n: u64) -> f64 {
        pacer.due(n).unwrap().as_secs_f64()
    }

    #[test]
    fn fixed_rate_spaces_records_evenly() {
        let pacer = Pacer::new(&Rate::Fixed(200.0));
        assert_eq!(secs(&pacer, 0), 0.0);
        assert!((secs(&pacer, 200) - 1.0).abs() < 1e-9);
        assert!((secs(&pacer, 2000) - 10.0).abs() < 1e-9);
        assert!(Pacer::new(&Rate::Unlimited).due(5).is_none());
    }

    #[test]
    fn ramp_sends_the_area_under_the_line_then_holds() {
        // 0 → 100 records/s over 10 s is 500 records; then 100 records/s.
        let pacer = Pacer::new(&Rate::Ramp { from: 1e-9, to: 100.0, over: Duration::from_secs(10) });
        assert!((secs(&pacer, 500) - 10.0).abs() < 1e-3, "{}", secs(&pacer, 500));
        assert!((secs(&pacer, 125) - 5.0).abs() < 1e-3, "{}", secs(&pacer, 125));
        assert!((secs(&pacer, 600) - 11.0).abs() < 1e-3);
    }

    #[test]
    fn steps_hold_each_rate_for_its_duration() {
        let step = |per_second, s| RateStep { per_second, duration: Duration::from_secs(s) };
        let pacer = Pacer::new(&Rate::Steps(vec![step(10.0, 2), step(100.0, 1)]));
        assert!((secs(&pacer, 20) - 2.0).abs() < 1e-9);
        assert!((secs(&pacer, 70) - 2.5).abs() < 1e-9);
        assert!((secs(&pacer, 220) - 4.0).abs() < 1e-9, "the last step's rate holds afterwards");
    }
}
