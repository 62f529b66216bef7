//! Reading objects from S3: list (whole prefixes or the hourly prefixes of a time window), fetch
//! with a bounded number of requests in flight, and, for a run, feed the matcher until it is complete.
//!
//! This module only moves bytes; every judgement is the [`Matcher`]'s. Transient S3 errors
//! (throttling, 5xx, timeouts) are retried by the SDK's standard retry policy.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::DateTime;
use futures::{Stream, StreamExt};
use producer::Expectation;
use tokio::time::Instant;

use crate::error::VerifyError;
use crate::matcher::{Matcher, ReadSummary};
use crate::options::{Destination, DroppedLog, VerifyOptions};
use crate::report::Report;

/// The clock that marks a record visible when reading from S3, and its precision.
pub const S3_PRECISION: &str = "S3 LastModified, millisecond precision";

/// Objects last modified this long before the first put of the run cannot hold its records.
const OLDER_THAN_RUN: Duration = Duration::from_secs(60);

/// GetObject requests in flight at once while reading.
pub const FETCH_IN_FLIGHT: usize = 8;

/// Windows longer than this are listed as one prefix instead of hour by hour.
const MAX_HOURLY_PREFIXES: u64 = 24 * 31;

/// An object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    /// LastModified in Unix nanoseconds (S3 reports whole seconds or milliseconds).
    pub last_modified_ns: u64,
    pub size: u64,
}

/// A time window over LastModified, in Unix nanoseconds, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub since_ns: u64,
    pub until_ns: u64,
}

impl TimeWindow {
    /// Whether `ns` lies inside the window.
    pub fn contains(&self, ns: u64) -> bool {
        (self.since_ns..=self.until_ns).contains(&ns)
    }
}

/// The Firehose default prefixes `<base>YYYY/MM/dd/HH/` (UTC) of every hour that can hold objects
/// last modified within `window`.
///
/// Firehose names an object after the arrival of its oldest record, which precedes the object's
/// LastModified by up to the buffer interval (at most 900 s), so the hour before the window is listed too.
pub fn hour_prefixes(base: &str, window: TimeWindow) -> Vec<String> {
    const HOUR: u64 = 3_600;
    let first = (window.since_ns / 1_000_000_000).saturating_sub(900) / HOUR;
    let last = window.until_ns / 1_000_000_000 / HOUR;
    (first..=last)
        .filter_map(|hour| {
            let time = time::OffsetDateTime::from_unix_timestamp(i64::try_from(hour * HOUR).ok()?).ok()?;
            Some(format!(
                "{base}{:04}/{:02}/{:02}/{:02}/",
                time.year(),
                u8::from(time.month()),
                time.day(),
                time.hour()
            ))
        })
        .collect()
}

/// Lists the objects under `prefix`, oldest first (by LastModified, then key).
///
/// With a `window`, only objects last modified inside it are returned; when `hourly` is also set
/// and the window is at most a month long, only the window's hour prefixes under `prefix` are listed
/// (see [`hour_prefixes`]), which is what makes reading one hour of a years-old bucket cheap.
pub async fn list_objects(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    window: Option<TimeWindow>,
    hourly: bool,
) -> Result<Vec<ListedObject>, VerifyError> {
    let prefixes = match window {
        Some(window)
            if hourly
                && (window.until_ns.saturating_sub(window.since_ns)) / 3_600_000_000_000
                    <= MAX_HOURLY_PREFIXES =>
        {
            hour_prefixes(prefix, window)
        }
        _ => vec![prefix.to_owned()],
    };
    let mut objects = Vec::new();
    for prefix in &prefixes {
        objects.extend(list_prefix(s3, bucket, prefix).await?);
    }
    if let Some(window) = window {
        objects.retain(|object| window.contains(object.last_modified_ns));
    }
    objects.sort_by(|a, b| (a.last_modified_ns, &a.key).cmp(&(b.last_modified_ns, &b.key)));
    Ok(objects)
}

/// Every object under one prefix, following continuation tokens.
async fn list_prefix(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<ListedObject>, VerifyError> {
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut request = s3.list_objects_v2().bucket(bucket);
        if !prefix.is_empty() {
            request = request.prefix(prefix);
        }
        if let Some(token) = token.take() {
            request = request.continuation_token(token);
        }
        let page = request.send().await.map_err(|error| VerifyError::List {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            error: Box::new(error),
        })?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            listed.push(ListedObject {
                key: key.to_owned(),
                last_modified_ns: object.last_modified().map_or_else(now_ns, unix_ns),
                size: object.size().and_then(|size| u64::try_from(size).ok()).unwrap_or(0),
            });
        }
        match page.next_continuation_token() {
            Some(next) if page.is_truncated().unwrap_or(false) => token = Some(next.to_owned()),
            _ => return Ok(listed),
        }
    }
}

/// Fetches `objects` with at most `in_flight` requests at once, yielding them in the given order.
pub fn fetch_objects<'a>(
    s3: &'a aws_sdk_s3::Client,
    bucket: &'a str,
    objects: Vec<ListedObject>,
    in_flight: usize,
) -> impl Stream<Item = Result<(ListedObject, Vec<u8>), VerifyError>> + 'a {
    futures::stream::iter(objects)
        .map(move |object| async move {
            let bytes = get_object(s3, bucket, &object.key).await?;
            Ok((object, bytes))
        })
        .buffered(in_flight.max(1))
}

/// The whole body of one object.
pub async fn get_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, VerifyError> {
    let object = s3.get_object().bucket(bucket).key(key).send().await.map_err(|error| VerifyError::Get {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        error: Box::new(error),
    })?;
    let body = object.body.collect().await.map_err(|error| VerifyError::Body {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        error,
    })?;
    Ok(body.into_bytes().to_vec())
}

/// Reads the run's objects from `options.bucket` until every acknowledged record has been seen
/// (delivered, or with a data transformation dropped or in the error output) or `deadline` has
/// passed, then lists once more and reports. Objects under `exclude` (such as a search
/// destination's failed documents under its backup prefix) are left out.
pub(crate) async fn verify_objects(
    s3: &aws_sdk_s3::Client,
    expectation: &Expectation,
    options: &VerifyOptions,
    exclude: Option<&str>,
    deadline: Instant,
) -> Result<Report, VerifyError> {
    let started = Instant::now();
    let mut matcher = Matcher::new(expectation, &options.expect, S3_PRECISION)
        .with_transitions(options.transitions.clone());
    if let Some(time_scale) = options.time_scale {
        matcher = matcher.with_time_scale(time_scale);
    }
    if let Some(check) = &options.buffering {
        matcher = matcher.with_buffering(check.clone());
    }
    let mut error_prefix = None;
    let mut dropped = None;
    if let Destination::Transformed { check, dropped: log } = &options.destination {
        if !check.error_prefix.starts_with(&options.prefix) {
            error_prefix = Some(check.error_prefix.clone());
        }
        matcher = matcher.with_transform(check.clone());
        dropped = log.clone();
    }
    let mut reader = Reader {
        s3,
        options,
        error_prefix,
        exclude: exclude.map(str::to_owned),
        dropped,
        cutoff_ns: expectation.first_sent_ns.saturating_sub(OLDER_THAN_RUN.as_nanos() as u64),
        read: HashSet::new(),
        skipped: 0,
    };
    loop {
        reader.pass(&mut matcher).await?;
        if matcher.complete() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep_until((Instant::now() + options.poll_interval).min(deadline)).await;
    }
    // One last look, for copies and stragglers that landed while the last pass ran.
    reader.pass(&mut matcher).await?;
    let report = matcher.report(&ReadSummary {
        bucket: options.bucket.clone(),
        prefix: options.prefix.clone(),
        objects_skipped: reader.skipped,
        elapsed: started.elapsed(),
    });
    tracing::info!(
        run = %expectation.run_id,
        passed = report.passed(),
        complete = report.wait.complete,
        objects = report.counts.objects,
        "verification finished"
    );
    Ok(report)
}

/// One object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    key: String,
    visible_ns: u64,
}

/// The listing state across polls.
struct Reader<'a> {
    s3: &'a aws_sdk_s3::Client,
    options: &'a VerifyOptions,
    cutoff_ns: u64,
    /// Keys already read or skipped.
    read: HashSet<String>,
    skipped: u64,
    /// The error output prefix of a data transformation, when it lies outside `options.prefix`.
    error_prefix: Option<String>,
    /// Objects under this prefix are not read.
    exclude: Option<String>,
    /// The records a data transformation dropped so far.
    dropped: Option<DroppedLog>,
}

impl Reader<'_> {
    /// Lists the bucket and feeds every object not seen before to the matcher, oldest first.
    async fn pass(&mut self, matcher: &mut Matcher) -> Result<(), VerifyError> {
        if let Some(dropped) = &self.dropped {
            for record in dropped() {
                matcher.observe_dropped(&record);
            }
        }
        let listing = self.list().await?;
        let plan = plan(listing, &self.read, self.cutoff_ns);
        tracing::debug!(new = plan.read.len(), skipped = plan.skipped.len(), "listed objects");
        self.skipped += plan.skipped.len() as u64;
        self.read.extend(plan.skipped);
        let listed = plan
            .read
            .into_iter()
            .map(|object| ListedObject { key: object.key, last_modified_ns: object.visible_ns, size: 0 })
            .collect();
        let mut fetched =
            std::pin::pin!(fetch_objects(self.s3, &self.options.bucket, listed, FETCH_IN_FLIGHT));
        while let Some(result) = fetched.next().await {
            let (object, bytes) = result?;
            tracing::debug!(key = %object.key, bytes = bytes.len(), "read object");
            matcher.observe_object(&object.key, object.last_modified_ns, &bytes);
            self.read.insert(object.key);
        }
        Ok(())
    }

    /// Every object under the prefix, and under the error output prefix when it lies outside.
    async fn list(&self) -> Result<Vec<Listed>, VerifyError> {
        let mut listed = list_prefix(self.s3, &self.options.bucket, &self.options.prefix).await?;
        if let Some(error_prefix) = &self.error_prefix {
            listed.extend(list_prefix(self.s3, &self.options.bucket, error_prefix).await?);
        }
        if let Some(exclude) = &self.exclude {
            listed.retain(|object| !object.key.starts_with(exclude.as_str()));
        }
        Ok(listed
            .into_iter()
            .map(|object| Listed { key: object.key, visible_ns: object.last_modified_ns })
            .collect())
    }
}

/// What one pass does with a listing.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    /// New objects to read, in (LastModified, key) order.
    read: Vec<Listed>,
    /// New objects older than the run, not to be read.
    skipped: Vec<String>,
}

/// Picks the objects of `listing` not read before and orders them as delivered.
fn plan(listing: Vec<Listed>, read: &HashSet<String>, cutoff_ns: u64) -> Plan {
    let (mut fresh, old): (Vec<Listed>, Vec<Listed>) = listing
        .into_iter()
        .filter(|object| !read.contains(&object.key))
        .partition(|object| object.visible_ns >= cutoff_ns);
    fresh.sort_by(|a, b| (a.visible_ns, &a.key).cmp(&(b.visible_ns, &b.key)));
    Plan { read: fresh, skipped: old.into_iter().map(|object| object.key).collect() }
}

fn unix_ns(time: &DateTime) -> u64 {
    u64::try_from(time.as_nanos()).unwrap_or(0)
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(key: &str, visible_ns: u64) -> Listed {
        Listed { key: key.into(), visible_ns }
    }

    #[test]
    fn plan_orders_new_objects_by_time_then_key_and_skips_old_ones() {
        let read: HashSet<String> = ["seen".to_string()].into();
        let listing = vec![
            listed("b", 200),
            listed("seen", 150),
            listed("old", 99),
            listed("a", 200),
            listed("c", 100),
        ];
        let plan = plan(listing, &read, 100);
        assert_eq!(plan.read, vec![listed("c", 100), listed("a", 200), listed("b", 200)]);
        assert_eq!(plan.skipped, vec!["old".to_string()]);
    }

    #[test]
    fn hour_prefixes_cover_the_window_and_the_buffer_interval_before_it() {
        // 2026-11-23T20:10:00Z ..= 2026-11-23T22:00:00Z.
        let since = 1_795_464_600 * 1_000_000_000;
        let window = TimeWindow { since_ns: since, until_ns: since + 6_600 * 1_000_000_000 };
        assert_eq!(
            hour_prefixes("logs/", window),
            vec!["logs/2026/11/23/19/", "logs/2026/11/23/20/", "logs/2026/11/23/21/", "logs/2026/11/23/22/"]
        );
        // Well inside an hour, the hour before is not needed.
        let window =
            TimeWindow { since_ns: since + 1_200 * 1_000_000_000, until_ns: since + 1_300 * 1_000_000_000 };
        assert_eq!(hour_prefixes("", window), vec!["2026/11/23/20/"]);
        // Across midnight at the end of a year.
        let new_year = 1_798_761_600 * 1_000_000_000;
        let window = TimeWindow { since_ns: new_year - 1_000_000_000, until_ns: new_year };
        assert_eq!(hour_prefixes("", window), vec!["2026/12/31/23/", "2027/01/01/00/"]);
        assert!(window.contains(new_year) && !window.contains(new_year + 1));
    }

    #[test]
    fn last_modified_converts_to_unix_nanoseconds() {
        assert_eq!(unix_ns(&DateTime::from_millis(1_700_000_000_123)), 1_700_000_000_123_000_000);
        assert_eq!(unix_ns(&DateTime::from_secs(-5)), 0);
    }
}
