//! Reading a run's objects from S3: list, fetch new objects in delivery order, feed the matcher, poll.
//!
//! This module only moves bytes; every judgement is the [`Matcher`]'s.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error;
use aws_sdk_s3::primitives::{ByteStreamError, DateTime};
use producer::Expectation;
use tokio::time::Instant;

use crate::matcher::{Matcher, ReadSummary};
use crate::report::Report;

/// The clock that marks a record visible when reading from S3, and its precision.
pub const S3_PRECISION: &str = "S3 LastModified, millisecond precision";

/// Objects last modified this long before the first put of the run cannot hold its records.
const OLDER_THAN_RUN: Duration = Duration::from_secs(60);

/// Where to look for a run's records and how long to wait for them.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub bucket: String,
    /// Key prefix to list; empty for the whole bucket.
    pub prefix: String,
    /// The expectations the run is held to; `timeout` bounds the wait from the call of [`verify`].
    pub expect: scenario::Expect,
    /// Time between two listings while records are missing.
    pub poll_interval: Duration,
}

/// The harness could not read S3; findings about the pipeline are never errors.
///
/// Messages include the SDK error's whole source chain.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("listing s3://{bucket}/{prefix} failed: {}", DisplayErrorContext(.error))]
    List { bucket: String, prefix: String, error: Box<SdkError<ListObjectsV2Error>> },
    #[error("reading s3://{bucket}/{key} failed: {}", DisplayErrorContext(.error))]
    Get { bucket: String, key: String, error: Box<SdkError<GetObjectError>> },
    #[error("reading the body of s3://{bucket}/{key} failed: {}", DisplayErrorContext(.error))]
    Body { bucket: String, key: String, error: ByteStreamError },
}

/// Reads the run's objects from `options.bucket` until every acknowledged record has been seen or
/// `options.expect.timeout` has elapsed, then lists once more and reports.
pub async fn verify(
    s3: &aws_sdk_s3::Client,
    expectation: &Expectation,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    let started = Instant::now();
    let deadline = started + options.expect.timeout;
    let mut matcher = Matcher::new(expectation, &options.expect, S3_PRECISION);
    let mut reader = Reader {
        s3,
        options,
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
}

impl Reader<'_> {
    /// Lists the bucket and feeds every object not seen before to the matcher, oldest first.
    async fn pass(&mut self, matcher: &mut Matcher) -> Result<(), VerifyError> {
        let listing = self.list().await?;
        let plan = plan(listing, &self.read, self.cutoff_ns);
        tracing::debug!(new = plan.read.len(), skipped = plan.skipped.len(), "listed objects");
        self.skipped += plan.skipped.len() as u64;
        self.read.extend(plan.skipped);
        for object in plan.read {
            let bytes = self.get(&object.key).await?;
            tracing::debug!(key = %object.key, bytes = bytes.len(), "read object");
            matcher.observe_object(&object.key, object.visible_ns, &bytes);
            self.read.insert(object.key);
        }
        Ok(())
    }

    /// Every object under the prefix, following continuation tokens.
    async fn list(&self) -> Result<Vec<Listed>, VerifyError> {
        let options = self.options;
        let mut listed = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = self.s3.list_objects_v2().bucket(&options.bucket);
            if !options.prefix.is_empty() {
                request = request.prefix(&options.prefix);
            }
            if let Some(token) = token.take() {
                request = request.continuation_token(token);
            }
            let page = request.send().await.map_err(|error| VerifyError::List {
                bucket: options.bucket.clone(),
                prefix: options.prefix.clone(),
                error: Box::new(error),
            })?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let visible_ns = object.last_modified().map_or_else(now_ns, unix_ns);
                listed.push(Listed { key: key.to_owned(), visible_ns });
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated().unwrap_or(false) => token = Some(next.to_owned()),
                _ => return Ok(listed),
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, VerifyError> {
        let bucket = &self.options.bucket;
        let object = self.s3.get_object().bucket(bucket).key(key).send().await.map_err(|error| {
            VerifyError::Get { bucket: bucket.clone(), key: key.to_owned(), error: Box::new(error) }
        })?;
        let body = object.body.collect().await.map_err(|error| VerifyError::Body {
            bucket: bucket.clone(),
            key: key.to_owned(),
            error,
        })?;
        Ok(body.into_bytes().to_vec())
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
    fn last_modified_converts_to_unix_nanoseconds() {
        assert_eq!(unix_ns(&DateTime::from_millis(1_700_000_000_123)), 1_700_000_000_123_000_000);
        assert_eq!(unix_ns(&DateTime::from_secs(-5)), 0);
    }
}
