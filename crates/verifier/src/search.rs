//! Verifying an OpenSearch / Elasticsearch destination: the run's records in the index, in the
//! failed-documents backup, and (with `AllDocuments`) in the S3 backup.
//!
//! The index is read over its REST API (`_refresh`, `_count`, and a scroll over `match_all`), and
//! every document's `_source` is fed to a [`Matcher`] as one object named `<index>/_doc/<id>`, so
//! delivered, lost, duplicated, unexpected and corrupt come from the same machinery as for S3. The
//! failed-documents backup holds Firehose's error documents (`rawData` is the record, base64), read
//! like a data transformation's error output: those records are failed, not lost. An index has no
//! order and no arrival time, so ordering and latency are not applicable to it.
//!
//! Polling re-reads the whole index only when `_count` or the failed-documents listing changed, and
//! stops once every acknowledged record is indexed or failed, or at the timeout.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cluster_http::{Answer as Exchanged, ClusterClient, excerpt};
use futures::StreamExt;
use http::{Method, StatusCode};
use producer::Expectation;
use scenario::{SearchBackupMode, SearchService};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::error::VerifyError;
use crate::findings::{MAX_EXAMPLES, SeqRange, WaitSummary};
use crate::format::FormatSummary;
use crate::matcher::{Matcher, ReadSummary};
use crate::options::{Destination, SearchCheck, VerifyOptions};
use crate::report::Report;
use crate::s3::{FETCH_IN_FLIGHT, TimeWindow, fetch_objects, list_objects};
use crate::search_summary::SearchSummary;
use crate::transform::TransformCheck;

/// Documents per scroll page.
const SCROLL_SIZE: u32 = 1_000;

/// Objects last modified this long before the first put of the run cannot hold its failures.
const OLDER_THAN_RUN: Duration = Duration::from_secs(60);

/// Why ordering and latency do not apply to an index.
fn not_applicable_reason(service: SearchService) -> String {
    format!("not applicable to an {} index: an index has no order and no arrival time", service.name())
}

/// Reads the run's records from the index and the failed-documents backup until every acknowledged
/// record is indexed or failed, or `options.expect.timeout` has elapsed; with `AllDocuments` then
/// also reads the S3 backup under `check.backup_prefix` (in the time left) and holds it to every
/// acknowledged record.
///
/// `options.bucket` is the backup bucket; `options.buffering`, when given, is applied to the
/// `AllDocuments` backup objects (with `FailedDocumentsOnly` the buffering assertion is not
/// applicable).
pub(crate) async fn verify_search(
    s3: &aws_sdk_s3::Client,
    expectation: &Expectation,
    options: &VerifyOptions,
    check: &SearchCheck,
) -> Result<Report, VerifyError> {
    let started = Instant::now();
    let deadline = started + options.expect.timeout;
    let client = SearchClient::new(&check.endpoint)?;
    let reader = IndexReader { s3, client: &client, expectation, options, check };
    let mut read = reader.read_if_changed(None).await?;
    while !read.matcher.complete() && Instant::now() < deadline {
        tokio::time::sleep_until((Instant::now() + options.poll_interval).min(deadline)).await;
        read = reader.read_if_changed(Some(read)).await?;
    }
    // One last look, for copies and stragglers that landed while the last read ran.
    let read = reader.read_if_changed(Some(read)).await?;

    let backup = match check.backup_mode {
        SearchBackupMode::AllDocuments => {
            let backup_options = VerifyOptions {
                prefix: check.backup_prefix.clone(),
                destination: Destination::S3,
                ..options.clone()
            };
            let exclude = Some(check.failed_prefix.as_str());
            let report =
                crate::s3::verify_objects(s3, expectation, &backup_options, exclude, deadline).await?;
            Some(report)
        }
        SearchBackupMode::FailedDocumentsOnly => None,
    };

    let report = search_report(&read, backup.as_ref(), check, options, started.elapsed());
    tracing::info!(
        run = %expectation.run_id,
        index = %check.index_pattern(),
        passed = report.passed(),
        complete = report.wait.complete,
        "search verification finished"
    );
    Ok(report)
}

/// The report of a search destination: the index read's findings, the search summary and its
/// assertions, and with `AllDocuments` the backup's objects and buffering.
fn search_report(
    read: &IndexRead,
    backup: Option<&Report>,
    check: &SearchCheck,
    options: &VerifyOptions,
    elapsed: Duration,
) -> Report {
    let index = read.matcher.report(&ReadSummary {
        bucket: options.bucket.clone(),
        prefix: options.prefix.clone(),
        objects_skipped: 0,
        elapsed,
    });
    let (in_both, failed_acknowledged) = read.matcher.seen_and_failed();
    // The failed-documents backup was read as error output; its figures belong to the search summary.
    let failed = index.transform.as_ref();
    let summary = SearchSummary {
        service: check.service.name().to_owned(),
        endpoint: check.endpoint.clone(),
        index: check.index_pattern(),
        backup_mode: check.backup_mode.as_str().to_owned(),
        indexed: index.counts.delivered + index.counts.duplicated_records,
        index_count: read.index_count,
        documents_read: read.documents,
        failed_documents: failed.map_or(0, |failed| failed.failed_to_error_output),
        error_codes: failed.map(|failed| failed.error_codes.clone()).unwrap_or_default(),
        failed_acknowledged,
        failed_prefix: check.failed_prefix.clone(),
        failed_objects: failed.map_or(0, |failed| failed.error_objects),
        failed_without_envelope: failed.map_or(0, |failed| failed.failed_without_envelope),
        in_both,
        missing: sample(&index.lost_ranges),
        missing_count: index.counts.lost,
        backup_prefix: check.backup_prefix.clone(),
        backup_records: backup.map(|backup| backup.counts.delivered + backup.counts.duplicated_records),
        backup_objects: backup.map(|backup| backup.counts.objects),
        backup_missing: backup.map(|backup| sample(&backup.lost_ranges)).unwrap_or_default(),
        backup_missing_count: backup.map_or(0, |backup| backup.counts.lost),
    };
    let (objects, objects_truncated, buffering, format) = match backup {
        // The backup objects are what the buffering hints and the object format (`[expect] format`)
        // govern: their timeline, analysis and layout.
        Some(backup) => (
            backup.objects.clone(),
            backup.objects_truncated,
            backup.buffering.clone(),
            backup.format.clone(),
        ),
        None => (
            index.objects.clone(),
            index.objects_truncated,
            options.buffering.as_ref().map(|check| {
                check.not_applicable(
                    "not applicable with S3BackupMode FailedDocumentsOnly: the index has no objects and the \
                     backup holds only failed documents",
                )
            }),
            index.format.as_ref().map(|_| {
                FormatSummary::not_applicable(
                    "not applicable with S3BackupMode FailedDocumentsOnly: the index holds documents, not \
                     objects",
                )
            }),
        ),
    };
    let complete = read.matcher.complete() && backup.is_none_or(|backup| backup.wait.complete);
    Report {
        wait: WaitSummary { complete, ..index.wait },
        objects,
        objects_truncated,
        buffering,
        format,
        transform: None,
        search: Some(summary),
        ..index
    }
}

/// The seqs of `ranges`, at most [`MAX_EXAMPLES`].
fn sample(ranges: &[SeqRange]) -> Vec<u64> {
    ranges.iter().flat_map(|range| range.start..=range.end).take(MAX_EXAMPLES).collect()
}

/// One full read of the index and the failed-documents backup.
#[derive(Debug)]
struct IndexRead {
    matcher: Matcher,
    index_count: u64,
    documents: u64,
    /// What the index and the backup looked like just before the read.
    snapshot: Snapshot,
}

/// What tells whether anything changed since the last read: the index's `_count` and the keys and
/// sizes of the failed-documents objects.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    count: u64,
    failed_objects: Vec<(String, u64)>,
}

struct IndexReader<'a> {
    s3: &'a aws_sdk_s3::Client,
    client: &'a SearchClient,
    expectation: &'a Expectation,
    options: &'a VerifyOptions,
    check: &'a SearchCheck,
}

impl IndexReader<'_> {
    /// Reads everything again when the index or the backup changed since `previous`, else returns it.
    async fn read_if_changed(&self, previous: Option<IndexRead>) -> Result<IndexRead, VerifyError> {
        let pattern = self.check.index_pattern();
        self.client.refresh(&pattern).await?;
        let count = self.client.count(&pattern).await?;
        let cutoff_ns = self.expectation.first_sent_ns.saturating_sub(OLDER_THAN_RUN.as_nanos() as u64);
        let window = TimeWindow { since_ns: cutoff_ns, until_ns: u64::MAX };
        let failed_objects =
            list_objects(self.s3, &self.options.bucket, &self.check.failed_prefix, Some(window), false)
                .await?;
        let snapshot = Snapshot {
            count,
            failed_objects: failed_objects.iter().map(|object| (object.key.clone(), object.size)).collect(),
        };
        if let Some(previous) = previous
            && previous.snapshot == snapshot
        {
            return Ok(previous);
        }
        let mut matcher = index_matcher(self.expectation, &self.options.expect, self.check);
        let mut fetched =
            std::pin::pin!(fetch_objects(self.s3, &self.options.bucket, failed_objects, FETCH_IN_FLIGHT));
        while let Some(result) = fetched.next().await {
            let (object, bytes) = result?;
            matcher.observe_object(&object.key, object.last_modified_ns, &bytes);
        }
        let read_ns = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos() as u64);
        let mut documents = 0;
        self.client
            .scroll(&pattern, |hit| {
                documents += 1;
                observe_hit(&mut matcher, &hit, read_ns);
            })
            .await?;
        tracing::debug!(index = %pattern, count, documents, "read the index");
        Ok(IndexRead { matcher, index_count: count, documents, snapshot })
    }
}

/// The matcher for one read of an index: failed documents are read as error output, and ordering
/// and latency do not apply.
fn index_matcher(expectation: &Expectation, expect: &scenario::Expect, check: &SearchCheck) -> Matcher {
    let reason = not_applicable_reason(check.service);
    Matcher::new(expectation, expect, reason.clone())
        .with_transform(TransformCheck {
            error_prefix: check.failed_prefix.clone(),
            dropped_source: format!("{} destinations drop nothing", check.service.name()),
        })
        .without_order_or_arrival(reason)
}

/// Feeds one document's `_source` to the matcher as the object `<index>/_doc/<id>`.
fn observe_hit(matcher: &mut Matcher, hit: &Hit, read_ns: u64) {
    let source = hit.source.as_ref().map_or_else(Vec::new, |source| source.to_string().into_bytes());
    matcher.observe_object(&format!("{}/_doc/{}", hit.index, hit.id), read_ns, &source);
}

/// A document as a search returns it.
#[derive(Debug, Deserialize)]
struct Hit {
    #[serde(rename = "_index")]
    index: String,
    #[serde(rename = "_id")]
    id: String,
    /// Absent when the index does not keep sources.
    #[serde(rename = "_source")]
    source: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct SearchResponse {
    #[serde(rename = "_scroll_id")]
    scroll_id: Option<String>,
    hits: Hits,
}

#[derive(Debug, Deserialize)]
struct Hits {
    hits: Vec<Hit>,
}

#[derive(Debug, Deserialize)]
struct CountResponse {
    count: u64,
}

/// The shape of an OpenSearch error response, as far as it is read.
#[derive(Debug, Deserialize)]
struct ErrorResponse {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(rename = "type")]
    kind: String,
}

/// A response, or the absence of the index it was about.
enum Answer<T> {
    Found(T),
    NoSuchIndex,
}

/// The cluster's REST API over plain HTTP.
#[derive(Debug)]
struct SearchClient {
    http: ClusterClient,
}

impl SearchClient {
    fn new(endpoint: &str) -> Result<Self, VerifyError> {
        let http = ClusterClient::new(endpoint).map_err(|error| VerifyError::Search {
            method: "GET",
            url: endpoint.to_owned(),
            reason: error.reason(),
        })?;
        Ok(SearchClient { http })
    }

    /// `POST /<index>/_refresh`, so that every indexed document is searchable; a missing index is fine.
    async fn refresh(&self, pattern: &str) -> Result<(), VerifyError> {
        let _: Answer<serde_json::Value> =
            self.call(Method::POST, &format!("/{pattern}/_refresh"), None).await?;
        Ok(())
    }

    /// `GET /<index>/_count`; 0 for a missing index.
    async fn count(&self, pattern: &str) -> Result<u64, VerifyError> {
        match self.call::<CountResponse>(Method::GET, &format!("/{pattern}/_count"), None).await? {
            Answer::Found(response) => Ok(response.count),
            Answer::NoSuchIndex => Ok(0),
        }
    }

    /// Every document of the index, through a scroll over `match_all` that is closed at the end.
    async fn scroll(&self, pattern: &str, mut each: impl FnMut(Hit)) -> Result<(), VerifyError> {
        let query = serde_json::json!({"query": {"match_all": {}}, "size": SCROLL_SIZE});
        let path = format!("/{pattern}/_search?scroll=1m");
        let Answer::Found(mut page) = self.call::<SearchResponse>(Method::POST, &path, Some(query)).await?
        else {
            return Ok(());
        };
        let mut scroll_id = page.scroll_id.take();
        let outcome = loop {
            if page.hits.hits.is_empty() {
                break Ok(());
            }
            page.hits.hits.into_iter().for_each(&mut each);
            let Some(id) = scroll_id.clone() else {
                break Err(VerifyError::Search {
                    method: "POST",
                    url: self.url(&path),
                    reason: "the response has hits but no _scroll_id to page on with".into(),
                });
            };
            let next = serde_json::json!({"scroll": "1m", "scroll_id": id});
            match self.call::<SearchResponse>(Method::POST, "/_search/scroll", Some(next)).await {
                Ok(Answer::Found(next)) => {
                    page = next;
                    if let Some(id) = page.scroll_id.take() {
                        scroll_id = Some(id);
                    }
                }
                Ok(Answer::NoSuchIndex) => break Ok(()),
                Err(error) => break Err(error),
            }
        };
        if let Some(id) = scroll_id {
            let close = serde_json::json!({"scroll_id": [id]});
            // Scrolls expire on their own; a failure to close one early is only worth a warning.
            if let Err(error) =
                self.call::<serde_json::Value>(Method::DELETE, "/_search/scroll", Some(close)).await
            {
                tracing::warn!(%error, "closing the scroll failed");
            }
        }
        outcome
    }

    fn url(&self, path: &str) -> String {
        self.http.url(path)
    }

    /// One request; a 404 `index_not_found_exception` is [`Answer::NoSuchIndex`], any other status
    /// outside 2xx is an error quoting the response.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Answer<T>, VerifyError> {
        let url = self.url(path);
        let method_name = method_name(&method);
        let error = |reason: String| VerifyError::Search { method: method_name, url: url.clone(), reason };
        let body = body.map(|body| ("application/json", Bytes::from(body.to_string())));
        let Exchanged { status, body: bytes } =
            self.http.exchange(method, path, body).await.map_err(|e| error(e.reason()))?;
        if status == StatusCode::NOT_FOUND
            && serde_json::from_slice::<ErrorResponse>(&bytes)
                .is_ok_and(|response| response.error.kind == "index_not_found_exception")
        {
            return Ok(Answer::NoSuchIndex);
        }
        if !status.is_success() {
            return Err(error(format!("HTTP {status}: {}", excerpt(&bytes))));
        }
        serde_json::from_slice(&bytes).map(Answer::Found).map_err(|e| {
            error(format!(
                "HTTP {status} with a body that is not the expected JSON ({e}): {}",
                excerpt(&bytes)
            ))
        })
    }
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PUT => "PUT",
        _ => "HTTP",
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use std::collections::BTreeMap;

    use scenario::{Delivery, Expect, Ordering};

    use super::*;
    use crate::assertion::AssertionKind;
    use crate::assertion::AssertionStatus;

    const FAILED: &str = "backup/AmazonOpenSearchService-failed/";

    fn expectation(generated: u64) -> Expectation {
        Expectation {
            run_id: "r1".into(),
            envelope_field: "_streamproof".into(),
            generated,
            first_sent_ns: 1,
            last_ack_ns: 2,
            ..Expectation::default()
        }
    }

    fn options(buffering: bool) -> VerifyOptions {
        VerifyOptions {
            destination: Destination::S3,
            bucket: "backup-bucket".into(),
            prefix: "backup/".into(),
            expect: Expect {
                delivery: Delivery::ExactlyOnce,
                ordering: Ordering::PerKey,
                max_latency: Duration::from_secs(1),
                timeout: Duration::from_secs(60),
                max_shard_share: None,
                max_throttled_fraction: None,
                max_failed_fraction: 0.0,
                format: None,
            },
            poll_interval: Duration::from_millis(10),
            buffering: buffering.then(|| {
                crate::BufferingCheck::new(
                    scenario::BufferingHints { size_mb: 1, interval_seconds: 60 },
                    "embedded",
                    true,
                )
            }),
            time_scale: None,
            transitions: Vec::new(),
        }
    }

    fn check(backup_mode: SearchBackupMode) -> SearchCheck {
        SearchCheck {
            service: SearchService::OpenSearch,
            endpoint: "http://127.0.0.1:9/_opensearch/streamproof".into(),
            index: "clicks-r1".into(),
            rotation: false,
            backup_mode,
            failed_prefix: FAILED.into(),
            backup_prefix: "backup/".into(),
        }
    }

    /// The record of `seq`, as the producer sends it; keys alternate so per-key order could be judged.
    fn record(seq: u64) -> String {
        format!(
            r#"{{"a":{seq},"_streamproof":{{"run":"r1","seq":{seq},"key":"k{}","kseq":{},"sent_ns":1}}}}"#,
            seq % 2,
            seq / 2
        )
    }

    fn hit(seq: u64) -> Hit {
        Hit {
            index: "clicks-r1".into(),
            id: format!("id-{seq}"),
            source: Some(serde_json::from_str(&record(seq)).unwrap()),
        }
    }

    /// One failed-documents line in the documented envelope.
    fn failed_line(seq: u64, code: &str) -> String {
        format!(
            "{{\"attemptsMade\":3,\"arrivalTimestamp\":1795000000000,\"errorCode\":\"{code}\",\
             \"errorMessage\":\"{{\\\"type\\\":\\\"mapper_parsing_exception\\\"}}\",\
             \"attemptEndingTimestamp\":1795000000500,\"esDocumentId\":\"id-{seq}\",\
             \"esIndexName\":\"clicks-r1\",\"esTypeName\":\"\",\"rawData\":\"{}\"}}\n",
            base64::engine::general_purpose::STANDARD.encode(record(seq))
        )
    }

    /// A read of an index holding `indexed` (in this order; repeats are duplicates) whose `_count`
    /// says `count`, with failed-documents objects holding `failed` lines.
    fn read(
        generated: u64,
        check: &SearchCheck,
        indexed: &[u64],
        count: u64,
        failed: &[(&str, String)],
    ) -> IndexRead {
        let mut matcher = index_matcher(&expectation(generated), &options(false).expect, check);
        for (key, body) in failed {
            matcher.observe_object(key, 10, body.as_bytes());
        }
        for seq in indexed {
            observe_hit(&mut matcher, &hit(*seq), 20);
        }
        IndexRead {
            matcher,
            index_count: count,
            documents: indexed.len() as u64,
            snapshot: Snapshot { count, failed_objects: Vec::new() },
        }
    }

    fn status(report: &Report, kind: AssertionKind) -> AssertionStatus {
        report.assertion(kind).unwrap_or_else(|| panic!("{kind:?}")).status
    }

    fn report(read: &IndexRead, mode: SearchBackupMode, backup: Option<&Report>) -> Report {
        search_report(read, backup, &check(mode), &options(false), Duration::from_millis(5))
    }

    #[test]
    fn an_index_holding_every_record_passes_and_order_and_latency_do_not_apply() {
        let check = check(SearchBackupMode::FailedDocumentsOnly);
        // Out of per-key order and read long after the 1 s latency bound: neither is judged.
        let read = read(4, &check, &[3, 1, 2, 0], 4, &[]);
        assert!(read.matcher.complete());
        let report = report(&read, SearchBackupMode::FailedDocumentsOnly, None);
        assert!(report.passed(), "{}", report.summary());
        let search = report.search.as_ref().unwrap();
        assert_eq!(
            (search.indexed, search.index_count, search.failed_documents, search.missing_count),
            (4, 4, 0, 0)
        );
        for kind in [AssertionKind::Ordering, AssertionKind::Latency] {
            let assertion = report.assertion(kind).unwrap();
            assert_eq!(assertion.status, AssertionStatus::NotApplicable);
            assert!(
                assertion.detail.contains("an index has no order and no arrival time"),
                "{}",
                assertion.detail
            );
        }
        assert_eq!(status(&report, AssertionKind::IndexedOrFailed), AssertionStatus::Pass);
        assert_eq!(status(&report, AssertionKind::IndexCount), AssertionStatus::Pass);
        assert_eq!(status(&report, AssertionKind::AllDocumentsBackup), AssertionStatus::NotApplicable);
        assert!(report.objects.is_empty(), "an index has no objects to draw");
        assert_eq!(report.counts.reordered, 0);
        assert!(report.transform.is_none());
        let summary = report.summary();
        assert!(summary.starts_with("PASS: run r1 in OpenSearch index clicks-r1 at http://"), "{summary}");
        assert!(
            summary.contains("\nindex    4 documents and 0 failed-documents objects read ("),
            "{summary}"
        );
        assert!(summary.contains("\nlatency  not applicable to an OpenSearch index"), "{summary}");
        assert!(!summary.contains("objects  "), "{summary}");
        assert!(
            summary.contains("search   OpenSearch index clicks-r1: 4 records indexed (_count 4"),
            "{summary}"
        );
    }

    #[test]
    fn failed_documents_are_failed_not_lost_and_counted_per_error_code() {
        let check = check(SearchBackupMode::FailedDocumentsOnly);
        let failed = format!("{}{}", failed_line(1, "400"), failed_line(3, "409"));
        let read = read(5, &check, &[0, 2, 4], 3, &[(&format!("{FAILED}2026/11/24/00/s-1-x"), failed)]);
        assert!(read.matcher.complete(), "failed records are accounted for, not awaited");
        let report = report(&read, SearchBackupMode::FailedDocumentsOnly, None);
        assert!(report.passed(), "{}", report.summary());
        let search = report.search.as_ref().unwrap();
        assert_eq!((search.indexed, search.failed_documents, search.failed_acknowledged), (3, 2, 2));
        assert_eq!(search.error_codes, BTreeMap::from([("400".into(), 1), ("409".into(), 1)]));
        assert_eq!((search.failed_objects, report.counts.lost), (1, 0));
        let detail = &report.assertion(AssertionKind::IndexCount).unwrap().detail;
        assert_eq!(detail, "_count 3, expected 3 (5 acknowledged − 2 failed)");
        assert!(report.summary().contains("(errorCode 400 1, 409 1)"), "{}", report.summary());
    }

    #[test]
    fn a_record_in_neither_the_index_nor_the_backup_fails_with_its_seq() {
        let check = check(SearchBackupMode::FailedDocumentsOnly);
        let read = read(4, &check, &[0, 1], 2, &[(FAILED, failed_line(3, "400"))]);
        assert!(!read.matcher.complete());
        let report = report(&read, SearchBackupMode::FailedDocumentsOnly, None);
        assert!(!report.passed() && !report.wait.complete);
        let search = report.search.as_ref().unwrap();
        assert_eq!((search.missing_count, search.missing.as_slice()), (1, [2].as_slice()));
        assert_eq!(status(&report, AssertionKind::IndexedOrFailed), AssertionStatus::Fail);
        assert_eq!(
            status(&report, AssertionKind::IndexCount),
            AssertionStatus::Fail,
            "_count 2 but 3 expected"
        );
        let summary = report.summary();
        assert!(summary.contains("neither indexed nor failed: seq 2"), "{summary}");
        let junit = report.junit().unwrap();
        assert!(junit.contains(r#"<testcase name="indexed or failed""#), "{junit}");
        assert!(junit.contains(r#"name="search_index" value="clicks-r1""#), "{junit}");
    }

    #[test]
    fn a_record_both_indexed_and_failed_breaks_the_index_count() {
        let check = check(SearchBackupMode::FailedDocumentsOnly);
        let read = read(3, &check, &[0, 1, 2], 3, &[(FAILED, failed_line(1, "400"))]);
        let report = report(&read, SearchBackupMode::FailedDocumentsOnly, None);
        let search = report.search.as_ref().unwrap();
        assert_eq!(search.in_both, 1);
        assert_eq!(status(&report, AssertionKind::IndexedOrFailed), AssertionStatus::Pass);
        assert_eq!(status(&report, AssertionKind::IndexCount), AssertionStatus::Fail);
        assert!(
            report.summary().contains("1 records are both indexed and in the failed-documents backup"),
            "{}",
            report.summary()
        );
    }

    #[test]
    fn a_count_that_disagrees_with_the_documents_fails_and_says_what_the_scroll_saw() {
        let check = check(SearchBackupMode::FailedDocumentsOnly);
        let read = read(2, &check, &[0, 1], 5, &[]);
        let report = report(&read, SearchBackupMode::FailedDocumentsOnly, None);
        let assertion = report.assertion(AssertionKind::IndexCount).unwrap();
        assert_eq!(assertion.status, AssertionStatus::Fail);
        assert_eq!(
            assertion.detail,
            "_count 5, expected 2 (2 acknowledged − 0 failed); the scroll returned 2 documents"
        );
        // Duplicated documents count twice in the index and fail exactly-once delivery too.
        let read = self::read(2, &check, &[0, 1, 1], 3, &[]);
        let report = self::report(&read, SearchBackupMode::FailedDocumentsOnly, None);
        assert_eq!((report.counts.duplicated, report.search.as_ref().unwrap().indexed), (1, 2));
        assert_eq!(status(&report, AssertionKind::Delivery), AssertionStatus::Fail);
        assert_eq!(status(&report, AssertionKind::IndexCount), AssertionStatus::Fail);
    }

    #[test]
    fn all_documents_backup_must_hold_every_record() {
        let check = check(SearchBackupMode::AllDocuments);
        let read = read(4, &check, &[0, 1, 2, 3], 4, &[]);
        let backup = |seqs: &[u64]| {
            let options = options(true);
            let mut matcher = Matcher::new(&expectation(4), &options.expect, "test clock")
                .with_buffering(options.buffering.clone().unwrap());
            let body: String = seqs.iter().map(|seq| record(*seq) + "\n").collect();
            matcher.observe_object("backup/2026/11/24/00/s-1-a", 61_000_000_000, body.as_bytes());
            matcher.report(&ReadSummary::default())
        };
        let whole = backup(&[0, 1, 2, 3]);
        let report = self::report(&read, SearchBackupMode::AllDocuments, Some(&whole));
        assert_eq!(
            status(&report, AssertionKind::AllDocumentsBackup),
            AssertionStatus::Pass,
            "{}",
            report.summary()
        );
        assert_eq!(report.search.as_ref().unwrap().backup_records, Some(4));
        assert_eq!(report.objects.len(), 1, "the backup objects make the timeline");
        assert!(report.buffering.is_some() && report.assertions().iter().any(|a| a.name() == "buffering"));

        let partial = backup(&[0, 2]);
        let report = self::report(&read, SearchBackupMode::AllDocuments, Some(&partial));
        assert_eq!(status(&report, AssertionKind::AllDocumentsBackup), AssertionStatus::Fail);
        assert_eq!(status(&report, AssertionKind::IndexedOrFailed), AssertionStatus::Pass);
        let search = report.search.as_ref().unwrap();
        assert_eq!((search.backup_missing_count, search.backup_missing.as_slice()), (2, [1, 3].as_slice()));
        assert!(report.summary().contains("missing from the S3 backup: seq 1, 3"), "{}", report.summary());
        assert!(!report.wait.complete, "the backup was not complete");
    }

    #[test]
    fn failed_documents_only_makes_buffering_not_applicable_when_asked_for() {
        let check = check(SearchBackupMode::FailedDocumentsOnly);
        let read = read(1, &check, &[0], 1, &[]);
        let report = search_report(&read, None, &check, &options(true), Duration::ZERO);
        let assertion = report.assertion(crate::AssertionKind::Buffering).unwrap();
        assert_eq!(assertion.status, AssertionStatus::NotApplicable);
        assert!(report.passed());
    }

    #[test]
    fn the_object_format_is_the_backups_or_not_applicable() {
        let mut options = options(false);
        options.expect.format = Some(scenario::ObjectFormat::Ndjson);
        let index_read = |mode| {
            let mut matcher = index_matcher(&expectation(2), &options.expect, &check(mode));
            observe_hit(&mut matcher, &hit(0), 1);
            observe_hit(&mut matcher, &hit(1), 1);
            IndexRead {
                matcher,
                index_count: 2,
                documents: 2,
                snapshot: Snapshot { count: 2, failed_objects: vec![] },
            }
        };
        let format = |report: &Report| report.assertion(crate::AssertionKind::ObjectFormat).unwrap();

        let mode = SearchBackupMode::FailedDocumentsOnly;
        let report = search_report(&index_read(mode), None, &check(mode), &options, Duration::ZERO);
        assert_eq!(format(&report).status, AssertionStatus::NotApplicable);
        // The format section says why, as it does on a backend that cannot support the check.
        let why = report.format.as_ref().and_then(|format| format.not_applicable.as_deref());
        assert!(why.is_some_and(|why| why.contains("FailedDocumentsOnly")), "{why:?}");
        assert!(report.passed(), "{}", report.summary());

        // With AllDocuments, backup objects whose records run together fail the check.
        let mode = SearchBackupMode::AllDocuments;
        let mut matcher = Matcher::new(&expectation(2), &options.expect, "test clock");
        matcher.observe_object("backup/o", 1, format!("{}{}", record(0), record(1)).as_bytes());
        let backup = matcher.report(&ReadSummary::default());
        let report = search_report(&index_read(mode), Some(&backup), &check(mode), &options, Duration::ZERO);
        assert_eq!(format(&report).status, AssertionStatus::Fail);
        assert_eq!(report.format.as_ref().unwrap().concatenated_objects, 1);
    }

    #[test]
    fn bad_failed_documents_are_corrupt_naming_the_object_and_line() {
        let check = check(SearchBackupMode::FailedDocumentsOnly);
        let key = format!("{FAILED}2026/11/24/00/s-1-bad");
        let body = format!(
            "{}{}\n{}\n{}",
            failed_line(0, "400"),
            r#"{"attemptsMade":1,"errorCode":"400","errorMessage":"m","rawData":"%%% not base64"}"#,
            r#"{"attemptsMade":1,"errorCode":"400","errorMessage":"m"}"#,
            failed_line(2, "400"),
        );
        let read = read(3, &check, &[1], 1, &[(&key, body)]);
        let report = report(&read, SearchBackupMode::FailedDocumentsOnly, None);
        assert_eq!(report.counts.corrupt, 2);
        assert_eq!(report.corrupt[0].object, key);
        assert!(
            report.corrupt[0].excerpt.starts_with("line 2: rawData is not base64"),
            "{:?}",
            report.corrupt[0]
        );
        assert!(
            report.corrupt[1]
                .excerpt
                .starts_with("line 3: not a Firehose error document: missing field `rawData`"),
            "{:?}",
            report.corrupt[1]
        );
        assert_eq!(report.search.as_ref().unwrap().failed_documents, 2, "the good lines still count");
        assert!(report.summary().contains(&format!("in {key} at offset")), "{}", report.summary());
        assert_eq!(status(&report, AssertionKind::Delivery), AssertionStatus::Fail);
    }

    #[test]
    fn the_report_renders_the_search_section_in_json_and_html() {
        let check = check(SearchBackupMode::FailedDocumentsOnly);
        let read = read(2, &check, &[0], 1, &[(FAILED, failed_line(1, "400"))]);
        let report = report(&read, SearchBackupMode::FailedDocumentsOnly, None);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["search"]["index"], "clicks-r1");
        assert_eq!(json["search"]["backup_mode"], "FailedDocumentsOnly");
        assert_eq!(json["search"]["error_codes"]["400"], 1);
        assert_eq!(json["search"]["backup_records"], serde_json::Value::Null);
        let html = report.html();
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        assert!(html.contains("<h2>OpenSearch index</h2>"), "{html}");
        assert!(html.contains("<tr><th>records indexed</th><td>1</td></tr>"), "{html}");
        assert!(!html.contains("Delivery timeline"), "an index has no timeline");
        assert_eq!(html.matches("<table>").count(), html.matches("</table>").count());
    }

    #[test]
    fn rotation_reads_every_rotated_index_and_only_http_endpoints_are_accepted() {
        let mut check = check(SearchBackupMode::FailedDocumentsOnly);
        assert_eq!(check.index_pattern(), "clicks-r1");
        check.rotation = true;
        assert_eq!(check.index_pattern(), "clicks-r1-*");
        let error = SearchClient::new("https://search.example:443").unwrap_err().to_string();
        assert!(
            error.contains("https://search.example:443") && error.contains("only plain http://"),
            "{error}"
        );
    }
}
