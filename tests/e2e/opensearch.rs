//! The OpenSearch / Elasticsearch destination end to end: `scenarios/opensearch-*.toml` and
//! `scenarios/elasticsearch-*.toml` run through `streamproof`'s run path on the embedded emulator,
//! whose Firehose indexes into its in-process domain through `_bulk`. Independently of the verifier,
//! the tests read the index over its REST API and the S3 backup through the SDK, and hold both to the
//! emulator's ground truth of rejected documents.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use cluster_http::ClusterClient;
use emulator::FaultKind;
use environment::{Backend, Environment};
use http::Method;
use streamproof::run::{RunError, RunOptions, RunOutcome, backend_for, run, run_on_keeping, search_check};

/// A search cluster's REST API over plain HTTP.
pub(crate) struct Cluster {
    client: ClusterClient,
}

impl Cluster {
    pub(crate) fn new(endpoint: &str) -> Cluster {
        Cluster { client: ClusterClient::new(endpoint).unwrap() }
    }

    /// The status and JSON body of `method <path>` with `body`.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let body = body.map(|body| ("application/json", Bytes::from(body.to_string())));
        let answer = self.client.exchange(method, path, body).await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let (status, body) = (answer.status.as_u16(), answer.body);
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
        (status, json)
    }

    /// `_count` of `index`, after a refresh.
    pub(crate) async fn count(&self, index: &str) -> u64 {
        let (status, _) = self.call(Method::POST, &format!("/{index}/_refresh"), None).await;
        assert_eq!(status, 200, "refresh of {index}");
        let (status, body) = self.call(Method::GET, &format!("/{index}/_count"), None).await;
        assert_eq!(status, 200, "_count of {index}: {body}");
        body["count"].as_u64().unwrap()
    }

    /// The seq of every document in `index` (at most 10,000 of them), from its `_source`'s envelope.
    pub(crate) async fn seqs(&self, index: &str, envelope_field: &str) -> Vec<u64> {
        let query = serde_json::json!({ "query": { "match_all": {} }, "size": 10_000 });
        let (status, body) = self.call(Method::POST, &format!("/{index}/_search"), Some(query)).await;
        assert_eq!(status, 200, "_search of {index}: {body}");
        let hits = body["hits"]["hits"].as_array().unwrap();
        assert_eq!(
            body["hits"]["total"]["value"].as_u64(),
            Some(hits.len() as u64),
            "one page holds every hit"
        );
        hits.iter()
            .map(|hit| {
                hit["_source"][envelope_field]["seq"].as_u64().unwrap_or_else(|| panic!("no seq: {hit}"))
            })
            .collect()
    }
}

/// One failed document in the backup, as Firehose's envelope describes it.
#[derive(Debug)]
struct FailedDocument {
    seq: u64,
    error_code: String,
    index: String,
    object: String,
}

/// The seqs the in-process domain rejected, from the emulator's fault log (each one once).
fn rejected(outcome: &RunOutcome) -> Vec<u64> {
    outcome
        .faults
        .iter()
        .filter(|fault| fault.kind == FaultKind::IndexFailure)
        .map(|fault| {
            let event: serde_json::Value = serde_json::from_slice(&fault.data).unwrap();
            event[&outcome.envelope_field]["seq"].as_u64().unwrap()
        })
        .collect()
}

/// Every object under `prefix` of the run's backup bucket, with its bytes.
async fn objects(environment: &Environment, bucket: &str, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let clients = environment.endpoint().clients().await;
    let mut objects = Vec::new();
    for object in verifier::list_objects(&clients.s3, bucket, prefix, None, false).await.unwrap() {
        let bytes = verifier::get_object(&clients.s3, bucket, &object.key).await.unwrap();
        objects.push((object.key, bytes));
    }
    objects
}

/// The failed documents under the run's failed-documents prefix: one JSON line each.
async fn failed_documents(environment: &Environment, outcome: &RunOutcome) -> Vec<FailedDocument> {
    let search = outcome.provisioned.search.as_ref().unwrap();
    let mut documents = Vec::new();
    for (key, bytes) in objects(environment, &outcome.provisioned.bucket, &search.failed_prefix).await {
        let unpacked = verifier::unpack(&key, &bytes);
        for line in std::str::from_utf8(&unpacked.bytes).unwrap().lines().filter(|line| !line.is_empty()) {
            let document: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{key}: a line is not JSON ({e}): {line}"));
            let raw = base64::engine::general_purpose::STANDARD
                .decode(document["rawData"].as_str().expect("rawData"))
                .unwrap();
            let record: serde_json::Value = serde_json::from_slice(&raw).unwrap();
            assert_eq!(record[&outcome.envelope_field]["run"], outcome.run_id.as_str());
            assert!(document["attemptsMade"].as_u64().unwrap() >= 1, "{line}");
            assert!(
                document["errorMessage"].as_str().unwrap().contains("mapper_parsing_exception"),
                "{line}"
            );
            documents.push(FailedDocument {
                seq: record[&outcome.envelope_field]["seq"].as_u64().unwrap(),
                error_code: document["errorCode"].as_str().unwrap().to_owned(),
                index: document["esIndexName"].as_str().unwrap().to_owned(),
                object: key.clone(),
            });
        }
    }
    documents
}

/// The seqs of this run's records in the `AllDocuments` backup (every object under the backup
/// prefix outside the failed-documents prefix).
async fn backup_seqs(environment: &Environment, outcome: &RunOutcome) -> Vec<u64> {
    let search = outcome.provisioned.search.as_ref().unwrap();
    let mut seqs = Vec::new();
    for (key, bytes) in objects(environment, &outcome.provisioned.bucket, &outcome.provisioned.prefix).await {
        if key.starts_with(&search.failed_prefix) {
            continue;
        }
        let unpacked = verifier::unpack(&key, &bytes);
        for item in verifier::decode(&unpacked.bytes, &outcome.envelope_field) {
            let verifier::Decoded::Record(record) = item else { panic!("corrupt bytes in {key}") };
            let verifier::Content::Envelope(envelope) = record.content else {
                panic!("no envelope in {key}")
            };
            if envelope.run == outcome.run_id {
                seqs.push(envelope.seq);
            }
        }
    }
    seqs
}

/// Runs a scenario of `scenarios/` on the embedded backend, keeping what it provisioned to inspect;
/// the report directory lives as long as the returned `TempDir`.
async fn run_kept(file: &str) -> (scenario::Scenario, Environment, RunOutcome, tempfile::TempDir) {
    let scenario = scenario::load(&crate::scenario_path(file)).unwrap();
    let environment =
        Environment::start(&backend_for(&Backend::default(), &scenario).unwrap()).await.unwrap();
    let reports = tempfile::tempdir().unwrap();
    let outcome = run_on_keeping(&environment, &scenario, reports.path()).await.expect("the harness runs");
    (scenario, environment, outcome, reports)
}

fn sorted(mut seqs: Vec<u64>) -> Vec<u64> {
    seqs.sort_unstable();
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_documents_go_to_the_backup_and_every_other_record_to_the_index() {
    let (scenario, environment, outcome, _reports) = run_kept("opensearch-failed-documents.toml").await;
    let report = &outcome.report;
    assert!(report.passed(), "{}", report.summary());
    assert_eq!(outcome.exit_code(), 0);
    assert_eq!(report.counts.acknowledged, 2_000);

    // Ground truth: the documents the domain rejected, about 2 % of them, each logged once.
    let rejected = rejected(&outcome);
    assert!((15..=70).contains(&rejected.len()), "{} rejected of 2000", rejected.len());
    let rejected_set: BTreeSet<u64> = rejected.iter().copied().collect();
    assert_eq!(rejected_set.len(), rejected.len(), "each rejected document is logged once");

    // The failed-documents backup holds exactly those, once each, with Firehose's envelope.
    let search = outcome.provisioned.search.clone().unwrap();
    assert_eq!(search.failed_prefix, "backup/AmazonOpenSearchService-failed/");
    let failed = failed_documents(&environment, &outcome).await;
    assert_eq!(
        sorted(failed.iter().map(|document| document.seq).collect()),
        rejected_set.iter().copied().collect::<Vec<_>>()
    );
    assert!(
        failed.iter().all(|document| document.error_code == "400" && document.index == search.index),
        "{failed:?}"
    );

    // The index holds exactly the rest: `_count` and the seqs of its documents.
    let cluster = Cluster::new(&search.endpoint);
    assert!(
        search.index.starts_with("clicks-") && search.index.ends_with(&outcome.run_id),
        "{}",
        search.index
    );
    assert_eq!(cluster.count(&search.index).await, 2_000 - rejected.len() as u64);
    let indexed = sorted(cluster.seqs(&search.index, &outcome.envelope_field).await);
    let rest: Vec<u64> = (0..2_000).filter(|seq| !rejected_set.contains(seq)).collect();
    assert_eq!(indexed, rest);

    // The verifier's summary says the same, in every rendering.
    let summary = report.search.as_ref().expect("a search summary");
    assert_eq!((summary.indexed, summary.index_count), (rest.len() as u64, rest.len() as u64));
    assert_eq!(
        (summary.failed_documents, summary.in_both, summary.missing_count),
        (rejected.len() as u64, 0, 0)
    );
    assert_eq!(summary.error_codes.get("400"), Some(&(rejected.len() as u64)));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&outcome.report_path).unwrap()).unwrap();
    assert_eq!(json["search"]["failed_documents"], rejected.len() as u64);
    assert_eq!(json["search"]["index_count"], rest.len() as u64);
    // The ground truth in the report names each rejected seq.
    let truth: BTreeSet<u64> = json["ground_truth"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|fault| fault["kind"] == "index_failure")
        .map(|fault| fault["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(truth, rejected_set);

    // A failing case: without one failed-documents object, its records are neither indexed nor
    // failed. "indexed or failed" names exactly them; they count as lost ("delivery"); and `_count`
    // no longer equals acknowledged minus failed ("index count"). Nothing else fails.
    let clients = environment.endpoint().clients().await;
    let removed = failed[0].object.clone();
    let lost: BTreeSet<u64> =
        failed.iter().filter(|document| document.object == removed).map(|document| document.seq).collect();
    clients.s3.delete_object().bucket(&outcome.provisioned.bucket).key(&removed).send().await.unwrap();
    let mut expect = scenario.expect.clone();
    expect.timeout = Duration::from_secs(1);
    let check = search_check(&scenario, &outcome.provisioned).unwrap();
    let options = verifier::VerifyOptions {
        bucket: outcome.provisioned.bucket.clone(),
        prefix: outcome.provisioned.prefix.clone(),
        destination: verifier::Destination::Search(check),
        expect,
        poll_interval: Duration::from_millis(200),
        buffering: None,
        time_scale: environment
            .time_scale()
            .map(|(origin_ns, scale)| verifier::TimeScale { origin_ns, scale }),
        transitions: Vec::new(),
    };
    let source = verifier::ObjectSource::S3(&clients.s3);
    let again = verifier::verify(source, &outcome.expectation, &options).await.unwrap();
    assert!(!again.passed(), "{}", again.summary());
    let failed_assertions: Vec<&str> = again
        .assertions()
        .iter()
        .filter(|assertion| assertion.failed())
        .map(|assertion| assertion.name())
        .collect();
    assert_eq!(failed_assertions, ["delivery", "indexed or failed", "index count"], "{}", again.summary());
    assert_eq!(again.counts.lost, lost.len() as u64);
    let summary = again.search.as_ref().unwrap();
    assert_eq!(summary.missing_count, lost.len() as u64);
    assert_eq!(summary.missing.iter().copied().collect::<BTreeSet<u64>>(), lost);

    // Teardown deletes the run's index.
    environment::teardown(&clients, &outcome.provisioned).await.unwrap();
    let (status, body) = cluster.call(Method::GET, &format!("/{}/_count", search.index), None).await;
    assert_eq!(status, 404, "{body}");
    environment.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_all_documents_the_backup_holds_every_record_and_failures_are_also_under_their_prefix() {
    let (_, environment, outcome, _reports) = run_kept("opensearch-all-documents.toml").await;
    let report = &outcome.report;
    assert!(report.passed(), "{}", report.summary());
    assert_eq!(report.counts.acknowledged, 2_000);

    // The backup (GZIP objects outside the failed-documents prefix) holds every record exactly once.
    let backup = sorted(backup_seqs(&environment, &outcome).await);
    assert_eq!(backup, (0..2_000).collect::<Vec<u64>>());
    let rejected: BTreeSet<u64> = rejected(&outcome).into_iter().collect();
    assert!((15..=70).contains(&rejected.len()), "{} rejected of 2000", rejected.len());
    let failed: BTreeSet<u64> =
        failed_documents(&environment, &outcome).await.iter().map(|document| document.seq).collect();
    assert_eq!(failed, rejected);

    let search = outcome.provisioned.search.clone().unwrap();
    let cluster = Cluster::new(&search.endpoint);
    assert_eq!(cluster.count(&search.index).await, 2_000 - rejected.len() as u64);
    let summary = report.search.as_ref().unwrap();
    assert_eq!(summary.backup_records, Some(2_000));
    assert_eq!(summary.failed_documents, rejected.len() as u64);
    environment::teardown(&environment.endpoint().clients().await, &outcome.provisioned).await.unwrap();
    environment.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_elasticsearch_destination_with_a_daily_index_indexes_every_record() {
    let scenario = scenario::load(&crate::scenario_path("elasticsearch-rotated-index.toml")).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let options =
        RunOptions { backend: Backend::default(), report_dir: reports.path().to_path_buf(), keep: false };
    let outcome = run(&scenario, &options).await.expect("the harness runs");
    assert!(outcome.report.passed(), "{}", outcome.report.summary());
    let summary = outcome.report.search.as_ref().unwrap();
    assert_eq!(summary.service, "Elasticsearch");
    assert_eq!(summary.index, format!("events-{}-*", outcome.run_id));
    assert_eq!((summary.indexed, summary.index_count, summary.failed_documents), (1_000, 1_000, 0));
}

#[tokio::test]
async fn a_search_destination_on_a_backend_without_one_is_bad_input() {
    let scenario = scenario::load(&crate::scenario_path("opensearch-all-documents.toml")).unwrap();
    let mut without_faults = scenario.clone();
    without_faults.faults = None;
    without_faults.emulator = None;
    let options = RunOptions {
        backend: Backend::Endpoint { url: "http://127.0.0.1:9".to_owned(), allow_remote: false },
        report_dir: std::env::temp_dir(),
        keep: false,
    };
    let error = run(&without_faults, &options).await.expect_err("refused");
    assert!(
        matches!(error, RunError::NeedsEmbedded { section: "a [pipeline.opensearch] section", .. }),
        "{error:?}"
    );
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains("LocalStack has no OpenSearch destination here"), "{error}");
}
