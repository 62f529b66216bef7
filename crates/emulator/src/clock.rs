//! Emulator time: wall time stretched by a time scale, so long buffering intervals pass quickly in tests.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

/// The emulator's clock.
///
/// Emulator time starts at the wall-clock time the clock was created and then advances `time_scale`
/// times faster than the wall clock: with a scale of 60, one wall second is one emulated minute. Every
/// timestamp the emulator exposes (S3 object keys and `LastModified`, Kinesis arrival timestamps) is
/// emulator time, and every emulated interval (such as a Firehose buffering interval) waits the
/// corresponding, shorter, wall duration.
///
/// The clock reads `tokio::time::Instant`, so a test that pauses Tokio's clock controls it too.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start_wall: OffsetDateTime,
    start: Instant,
    time_scale: f64,
}

impl Clock {
    /// Creates a clock that starts now and runs `time_scale` times faster than the wall clock.
    ///
    /// The scale must be finite and positive; [`crate::Emulator::start`] validates it.
    pub(crate) fn new(time_scale: f64) -> Clock {
        Clock { start_wall: OffsetDateTime::now_utc(), start: Instant::now(), time_scale }
    }

    /// The current emulator time, in UTC.
    pub fn now(&self) -> OffsetDateTime {
        self.at(Instant::now())
    }

    /// The emulator time at which the wall clock showed `instant`.
    pub fn at(&self, instant: Instant) -> OffsetDateTime {
        let elapsed = instant.saturating_duration_since(self.start);
        self.start_wall + self.to_emulated(elapsed)
    }

    /// How much emulator time separates the clock's start from `t`; zero for earlier times.
    pub(crate) fn elapsed_at(&self, t: OffsetDateTime) -> Duration {
        Duration::try_from(t - self.start_wall).unwrap_or(Duration::ZERO)
    }

    /// The wall-clock time the clock started at, where emulator time and wall time agree:
    /// emulator time = origin + (wall − origin) × time scale.
    pub fn origin(&self) -> OffsetDateTime {
        self.start_wall
    }

    /// How many times faster than the wall clock emulator time runs.
    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }

    /// The wall duration that corresponds to `emulated` emulator time.
    pub fn to_wall(&self, emulated: Duration) -> Duration {
        scale_duration(emulated, 1.0 / self.time_scale)
    }

    /// The emulated duration that corresponds to `wall` wall time.
    pub fn to_emulated(&self, wall: Duration) -> Duration {
        scale_duration(wall, self.time_scale)
    }
}

/// Multiplies a duration by a positive factor, saturating instead of panicking on overflow.
fn scale_duration(duration: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(duration.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// Milliseconds since the Unix epoch, the precision AWS uses for arrival timestamps.
pub(crate) fn unix_millis(t: OffsetDateTime) -> i64 {
    // Dates the emulator produces are far inside the range where this fits in an i64.
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Truncates a timestamp to whole milliseconds.
pub(crate) fn truncate_to_millis(t: OffsetDateTime) -> OffsetDateTime {
    let nanos = t.nanosecond();
    t.replace_nanosecond(nanos - nanos % 1_000_000).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_durations_round_trip() {
        let clock = Clock::new(60.0);
        assert_eq!(clock.to_wall(Duration::from_secs(300)), Duration::from_secs(5));
        assert_eq!(clock.to_emulated(Duration::from_secs(5)), Duration::from_secs(300));
    }

    #[tokio::test(start_paused = true)]
    async fn emulator_time_advances_by_the_scale() {
        let clock = Clock::new(60.0);
        let t0 = clock.now();
        tokio::time::advance(Duration::from_secs(2)).await;
        let t1 = clock.now();
        assert_eq!(t1 - t0, time::Duration::seconds(120));
    }

    #[test]
    fn truncation_keeps_milliseconds_only() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let truncated = truncate_to_millis(t);
        assert_eq!(truncated.unix_timestamp_nanos(), 1_700_000_000_123_000_000);
        assert_eq!(unix_millis(t), 1_700_000_000_123);
    }
}
