//! `verify` of a search destination against the embedded emulator's in-process search domain: documents put with
//! `_bulk` over HTTP and backup objects put with the S3 SDK, then read back through the index's
//! REST API and S3.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use emulator::{Emulator, EmulatorConfig};
use producer::Expectation;
use scenario::{Delivery, Expect, Ordering, SearchBackupMode, SearchService};
use verifier::{
    AssertionKind, AssertionStatus, Destination, ObjectSource, Report, SearchCheck, VerifyError,
    VerifyOptions,
};

const BUCKET: &str = "search-backup";
const FAILED: &str = "backup/AmazonOpenSearchService-failed/";

fn expectation(generated: u64) -> Expectation {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    Expectation {
        run_id: "r1".into(),
        envelope_field: "_streamproof".into(),
        generated,
        first_sent_ns: now,
        last_ack_ns: now,
        ..Expectation::default()
    }
}

/// Verifies the search destination `check` through the verifier's one entry point.
async fn verify_search(
    s3: &aws_sdk_s3::Client,
    expectation: &Expectation,
    options: &VerifyOptions,
    check: SearchCheck,
) -> Result<Report, VerifyError> {
    let options = VerifyOptions { destination: Destination::Search(check), ..options.clone() };
    verifier::verify(ObjectSource::S3(s3), expectation, &options).await
}

fn options(timeout: Duration) -> VerifyOptions {
    VerifyOptions {
        destination: Destination::S3,
        bucket: BUCKET.into(),
        prefix: "backup/".into(),
        expect: Expect {
            delivery: Delivery::ExactlyOnce,
            ordering: Ordering::PerKey,
            max_latency: Duration::from_secs(60),
            timeout,
            max_shard_share: None,
            max_throttled_fraction: None,
            max_failed_fraction: 0.0,
            format: None,
        },
        poll_interval: Duration::from_millis(50),
        buffering: None,
        time_scale: None,
        transitions: Vec::new(),
    }
}

fn record(seq: u64) -> String {
    format!(
        r#"{{"msg":"m{seq}","_streamproof":{{"run":"r1","seq":{seq},"key":"k{}","kseq":{},"sent_ns":1}}}}"#,
        seq % 2,
        seq / 2
    )
}

fn failed_line(seq: u64, index: &str) -> String {
    format!(
        "{{\"attemptsMade\":2,\"arrivalTimestamp\":1795000000000,\"errorCode\":\"400\",\
         \"errorMessage\":\"{{\\\"type\\\":\\\"mapper_parsing_exception\\\"}}\",\
         \"attemptEndingTimestamp\":1795000000500,\"esDocumentId\":\"d{seq}\",\"esIndexName\":\"{index}\",\
         \"esTypeName\":\"\",\"rawData\":\"{}\"}}\n",
        base64::engine::general_purpose::STANDARD.encode(record(seq))
    )
}

/// Indexes the records `seqs` into `index` with one `_bulk` request, as Firehose does.
async fn bulk(endpoint: &str, index: &str, seqs: &[u64]) {
    let mut body = String::new();
    for seq in seqs {
        body.push_str(&format!(
            "{{\"index\":{{\"_index\":\"{index}\",\"_id\":\"d{seq}\"}}}}\n{}\n",
            record(*seq)
        ));
    }
    let json = request(http::Method::POST, endpoint, "/_bulk", body).await;
    assert_eq!(json["errors"], false, "{json}");
}

/// The JSON answer of a successful request.
async fn request(method: http::Method, endpoint: &str, path: &str, body: String) -> serde_json::Value {
    let client = cluster_http::ClusterClient::new(endpoint).unwrap();
    let answer =
        client.exchange(method, path, Some(("application/x-ndjson", Bytes::from(body)))).await.unwrap();
    assert!(answer.status.is_success(), "{path}: {} {}", answer.status, cluster_http::excerpt(&answer.body));
    serde_json::from_slice(&answer.body).unwrap()
}

async fn start() -> (Emulator, aws_sdk_s3::Client, String) {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let s3 = environment::Endpoint::local(emulator.endpoint()).clients().await.s3;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let endpoint = emulator.search_endpoint("streamproof");
    (emulator, s3, endpoint)
}

async fn put(s3: &aws_sdk_s3::Client, key: &str, body: String) {
    s3.put_object().bucket(BUCKET).key(key).body(body.into_bytes().into()).send().await.unwrap();
}

fn check(endpoint: &str, index: &str, rotation: bool, backup_mode: SearchBackupMode) -> SearchCheck {
    SearchCheck {
        service: SearchService::OpenSearch,
        endpoint: endpoint.to_owned(),
        index: index.to_owned(),
        rotation,
        backup_mode,
        failed_prefix: FAILED.into(),
        backup_prefix: "backup/".into(),
    }
}

fn status(report: &Report, kind: AssertionKind) -> AssertionStatus {
    report.assertion(kind).unwrap_or_else(|| panic!("{kind:?}")).status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_failed_and_backed_up_records_pass_across_rotated_indices() {
    let (emulator, s3, endpoint) = start().await;
    // More than one scroll page, over two rotated indices; seq 7 and 1203 failed to index.
    let generated = 2_400;
    let (first, second): (Vec<u64>, Vec<u64>) =
        (0..generated).filter(|seq| ![7, 1_203].contains(seq)).partition(|seq| *seq < 1_500);
    bulk(&endpoint, "clicks-r1-2026-11-23", &first).await;
    bulk(&endpoint, "clicks-r1-2026-11-24", &second).await;
    bulk(&endpoint, "clicks-other-run", &[0]).await;
    let failed =
        format!("{}{}", failed_line(7, "clicks-r1-2026-11-23"), failed_line(1_203, "clicks-r1-2026-11-23"));
    put(&s3, &format!("{FAILED}2026/11/24/00/clicks-1-2026-11-24-00-00-00-a"), failed).await;
    // AllDocuments: every record in the backup, failed ones included, split over two objects.
    let all: Vec<String> = (0..generated).map(record).collect();
    put(&s3, "backup/2026/11/24/00/clicks-1-2026-11-24-00-00-00-b", all[..1_000].join("")).await;
    put(&s3, "backup/2026/11/24/00/clicks-1-2026-11-24-00-00-01-c", all[1_000..].join("\n")).await;

    let check = check(&endpoint, "clicks-r1", true, SearchBackupMode::AllDocuments);
    let report =
        verify_search(&s3, &expectation(generated), &options(Duration::from_secs(30)), check).await.unwrap();
    assert!(report.passed(), "{}", report.summary());
    assert!(report.wait.complete);
    let search = report.search.as_ref().unwrap();
    assert_eq!(search.index, "clicks-r1-*");
    assert_eq!((search.indexed, search.index_count, search.documents_read), (2_398, 2_398, 2_398));
    assert_eq!((search.failed_documents, search.in_both, search.missing_count), (2, 0, 0));
    assert_eq!(search.error_codes.get("400"), Some(&2));
    assert_eq!((search.backup_records, search.backup_objects), (Some(2_400), Some(2)));
    assert_eq!(report.counts.lost, 0);
    assert_eq!(status(&report, AssertionKind::Ordering), AssertionStatus::NotApplicable);
    assert_eq!(status(&report, AssertionKind::AllDocumentsBackup), AssertionStatus::Pass);
    // Every scroll the verifier opened, it closed.
    let cleared = request(http::Method::DELETE, &endpoint, "/_search/scroll/_all", String::new()).await;
    assert_eq!(cleared["num_freed"], 0, "{cleared}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_in_neither_the_index_nor_the_failed_backup_fails_after_the_timeout() {
    let (emulator, s3, endpoint) = start().await;
    bulk(&endpoint, "clicks-r2", &[0, 1, 2, 4]).await;
    put(&s3, &format!("{FAILED}2026/11/24/00/clicks-1-x"), failed_line(3, "clicks-r2")).await;
    // A record of another run in the failed-documents backup is not this run's.
    put(&s3, &format!("{FAILED}2026/11/24/00/clicks-1-y"), failed_line(9, "clicks-r2").replace("r1", "r0"))
        .await;

    let check = check(&endpoint, "clicks-r2", false, SearchBackupMode::FailedDocumentsOnly);
    let report =
        verify_search(&s3, &expectation(6), &options(Duration::from_millis(300)), check).await.unwrap();
    assert!(!report.passed() && !report.wait.complete, "{}", report.summary());
    let search = report.search.as_ref().unwrap();
    assert_eq!((search.indexed, search.failed_documents, search.failed_objects), (4, 1, 2));
    assert_eq!(search.missing, vec![5]);
    assert_eq!(status(&report, AssertionKind::IndexedOrFailed), AssertionStatus::Fail);
    assert_eq!(status(&report, AssertionKind::IndexCount), AssertionStatus::Fail);
    assert_eq!(status(&report, AssertionKind::AllDocumentsBackup), AssertionStatus::NotApplicable);
    assert!(report.summary().contains("neither indexed nor failed: seq 5"), "{}", report.summary());
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_that_was_never_created_holds_nothing_and_a_dead_endpoint_is_an_error() {
    let (emulator, s3, endpoint) = start().await;
    let check = check(&endpoint, "never-created", false, SearchBackupMode::FailedDocumentsOnly);
    let report =
        verify_search(&s3, &expectation(2), &options(Duration::from_millis(100)), check).await.unwrap();
    let search = report.search.as_ref().unwrap();
    assert_eq!((search.index_count, search.documents_read, search.missing_count), (0, 0, 2));
    assert_eq!(status(&report, AssertionKind::IndexedOrFailed), AssertionStatus::Fail);

    // Nothing listens on the emulator's address once it is shut down.
    let address = emulator.local_addr();
    emulator.shutdown().await;
    let dead = format!("http://{address}/_opensearch/streamproof");
    let check = self::check(&dead, "clicks", false, SearchBackupMode::FailedDocumentsOnly);
    let error =
        verify_search(&s3, &expectation(1), &options(Duration::from_millis(100)), check).await.unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with(&format!("POST {dead}/clicks/_refresh failed: ")), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_indexed_and_failed_while_verifying_are_picked_up_by_polling() {
    let (emulator, s3, endpoint) = start().await;
    bulk(&endpoint, "clicks-r3", &[0, 1]).await;
    let check = check(&endpoint, "clicks-r3", false, SearchBackupMode::FailedDocumentsOnly);
    let verifying = {
        let s3 = s3.clone();
        tokio::spawn(async move {
            verify_search(&s3, &expectation(4), &options(Duration::from_secs(60)), check).await.unwrap()
        })
    };
    // Whenever these land, the verifier sees `_count` or the failed-documents listing change.
    bulk(&endpoint, "clicks-r3", &[2]).await;
    put(&s3, &format!("{FAILED}2026/11/24/00/clicks-1-late"), failed_line(3, "clicks-r3")).await;
    let report = verifying.await.unwrap();
    assert!(report.passed() && report.wait.complete, "{}", report.summary());
    assert!(report.wait.elapsed_ms < 60_000, "ended when complete, not at the timeout");
    let search = report.search.as_ref().unwrap();
    assert_eq!((search.indexed, search.failed_documents, search.index_count), (3, 1, 3));
    emulator.shutdown().await;
}
