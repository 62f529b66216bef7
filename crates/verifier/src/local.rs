//! Verifying Firehose objects kept as local files, such as a bucket copied with `aws s3 sync`.
//!
//! The files play the part of S3 objects: a file's path relative to the directory is its key and
//! its modification time is its LastModified (sync tools set one to the other). They go through the
//! same [`Matcher`] as objects read from S3, oldest first, one file in memory at a time.

use std::fs;
use std::path::Path;
use std::time::{Instant, UNIX_EPOCH};

use producer::Expectation;

use crate::error::LocalReadError;
use crate::export::collect_files;
use crate::matcher::{Matcher, ReadSummary};
use crate::options::{Destination, VerifyOptions};
use crate::report::Report;

/// The clock that marks a record visible when reading local files, and its precision.
pub const FILE_PRECISION: &str = "file modification time";

/// Verifies the file `path`, or every file under the directory `path` (hidden files excepted),
/// against `expectation`, held to `options.expect` and, when given, to its buffering check; with a
/// data transformation, files under its error prefix (relative to `path`) are error output.
/// `options.bucket`, `prefix`, `poll_interval` and `time_scale` do not apply to files.
pub(crate) fn verify_files(
    path: &Path,
    expectation: &Expectation,
    options: &VerifyOptions,
) -> Result<Report, LocalReadError> {
    let started = Instant::now();
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| LocalReadError { path, source }
    };
    let mut files = Vec::new();
    collect_files(path, &mut files).map_err(read_error(path))?;
    let mut objects = Vec::with_capacity(files.len());
    for file in files {
        let modified = fs::metadata(&file).and_then(|meta| meta.modified()).map_err(read_error(&file))?;
        let modified_ns = modified.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos() as u64);
        objects.push((modified_ns, file));
    }
    // Delivery order, as for S3: by visibility time, then by key.
    objects.sort();
    let mut matcher = Matcher::new(expectation, &options.expect, FILE_PRECISION)
        .with_transitions(options.transitions.clone());
    if let Some(check) = &options.buffering {
        matcher = matcher.with_buffering(check.clone());
    }
    if let Destination::Transformed { check, dropped } = &options.destination {
        matcher = matcher.with_transform(check.clone());
        for record in dropped.as_ref().map(|log| log()).unwrap_or_default() {
            matcher.observe_dropped(&record);
        }
    }
    for (modified_ns, file) in objects {
        let bytes = fs::read(&file).map_err(read_error(&file))?;
        let key = file.strip_prefix(path).ok().filter(|rest| !rest.as_os_str().is_empty()).unwrap_or(&file);
        matcher.observe_object(&key.to_string_lossy(), modified_ns, &bytes);
    }
    Ok(matcher.report(&ReadSummary {
        bucket: path.display().to_string(),
        prefix: String::new(),
        objects_skipped: 0,
        elapsed: started.elapsed(),
    }))
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use producer::Envelope;
    use scenario::Expect;

    use super::*;

    /// One second ago: the files written by a test become visible just after.
    fn sent_ns() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 - 1_000_000_000
    }

    fn record(seq: u64, key: &str, kseq: u64) -> String {
        let envelope = Envelope { run: "r1".into(), seq, key: key.into(), kseq, sent_ns: sent_ns() };
        format!(r#"{{"n":{seq},"_streamproof":{}}}"#, serde_json::to_string(&envelope).unwrap())
    }

    /// Exactly once, ordered per key: the defaults of a scenario's `[expect]`.
    fn expect() -> Expect {
        let text = "[pipeline]\nshards = 1\nbucket = \"b-test\"\n[workload]\nevents = 1\n\
                    schema = \"clickstream\"\npartition_key = \"user_id\"\n[expect]\n";
        scenario::parse(Path::new("test.toml"), text).unwrap().expect
    }

    fn options(expect: &Expect) -> VerifyOptions {
        VerifyOptions {
            bucket: String::new(),
            prefix: String::new(),
            destination: Destination::S3,
            expect: expect.clone(),
            poll_interval: std::time::Duration::ZERO,
            buffering: None,
            time_scale: None,
            transitions: Vec::new(),
        }
    }

    fn expectation(generated: u64) -> Expectation {
        Expectation {
            run_id: "r1".into(),
            envelope_field: "_streamproof".into(),
            generated,
            first_sent_ns: sent_ns(),
            last_ack_ns: sent_ns(),
            ..Expectation::default()
        }
    }

    #[test]
    fn a_directory_of_objects_is_verified_and_a_missing_record_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let hour = dir.path().join("2026/11/23/20");
        fs::create_dir_all(&hour).unwrap();
        fs::write(hour.join("s-1-a"), record(0, "k", 0) + &record(1, "k", 1)).unwrap();
        fs::write(hour.join("s-1-b"), record(2, "j", 0) + "garbage").unwrap();
        fs::write(hour.join(".partial"), record(3, "j", 1)).unwrap();

        let report = verify_files(dir.path(), &expectation(3), &options(&expect())).unwrap();
        assert_eq!((report.counts.delivered, report.counts.lost, report.counts.objects), (3, 0, 2));
        assert_eq!(report.counts.corrupt, 1);
        assert_eq!(report.corrupt[0].object, "2026/11/23/20/s-1-b");

        // The hidden file is not an object, so seq 3 is lost.
        let report = verify_files(dir.path(), &expectation(4), &options(&expect())).unwrap();
        assert!(!report.passed());
        assert_eq!(report.counts.lost, 1);
        assert_eq!(report.latency.precision, FILE_PRECISION);

        let error =
            verify_files(&dir.path().join("missing"), &expectation(1), &options(&expect())).unwrap_err();
        assert!(error.to_string().contains("missing"), "{error}");
    }

    #[test]
    fn a_file_is_one_object() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("backup.json");
        fs::write(&file, record(1, "k", 1) + &record(0, "k", 0)).unwrap();
        let report = verify_files(&file, &expectation(2), &options(&expect())).unwrap();
        assert_eq!(report.counts.delivered, 2);
        assert_eq!(report.counts.reordered, 1, "{}", report.summary());
    }
}
