//! OpenSearch and Elasticsearch destinations through aws-sdk-firehose, read back over the
//! in-process domain's REST API and from the S3 backup through aws-sdk-s3.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::time::Duration;

use aws_sdk_firehose::error::ProvideErrorMetadata as _;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::{
    AmazonopensearchserviceBufferingHints, AmazonopensearchserviceDestinationConfiguration,
    AmazonopensearchserviceIndexRotationPeriod, AmazonopensearchserviceRetryOptions,
    AmazonopensearchserviceS3BackupMode, CompressionFormat, DefaultDocumentIdFormat, DocumentIdOptions,
    ElasticsearchBufferingHints, ElasticsearchDestinationConfiguration, ElasticsearchIndexRotationPeriod,
    ElasticsearchRetryOptions, ElasticsearchS3BackupMode, ProcessingConfiguration, Processor, ProcessorType,
    Record, S3DestinationConfiguration, VpcConfiguration,
};
use base64::Engine as _;
use bytes::Bytes;
use emulator::{EmulatorConfig, FaultKind, FaultPlan};
use http_body_util::{BodyExt as _, Full};
use serde_json::{Value, json};

use crate::common::{Harness, ROLE, eventually};

const DOMAIN_ARN: &str = "arn:aws:es:us-east-1:000000000000:domain/streamproof";
const WAIT: Duration = Duration::from_secs(30);

/// One plain HTTP call; returns the status and the JSON body.
#[expect(
    clippy::disallowed_methods,
    reason = "checks the in-process domain's raw HTTP answers, beneath any client wrapper"
)]
async fn call(method: &str, url: &str, body: &str) -> (u16, Value) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = client.request(request).await.expect("the search endpoint answers");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json =
        if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("a JSON body") };
    (status, json)
}

/// Every document of the indices `expression` selects, as (index, id, source), through a scroll.
async fn scroll_all(base: &str, expression: &str) -> Vec<(String, String, Value)> {
    let (status, mut page) = call(
        "POST",
        &format!("{base}/{expression}/_search?scroll=1m"),
        r#"{"size":100,"query":{"match_all":{}}}"#,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let total = page["hits"]["total"]["value"].as_u64().unwrap();
    let mut docs = Vec::new();
    loop {
        let hits = page["hits"]["hits"].as_array().unwrap().clone();
        if hits.is_empty() {
            break;
        }
        for hit in hits {
            docs.push((
                hit["_index"].as_str().unwrap().to_owned(),
                hit["_id"].as_str().unwrap().to_owned(),
                hit["_source"].clone(),
            ));
        }
        let scroll_id = page["_scroll_id"].as_str().unwrap().to_owned();
        let body = json!({ "scroll": "1m", "scroll_id": scroll_id }).to_string();
        let (status, next) = call("POST", &format!("{base}/_search/scroll"), &body).await;
        assert_eq!(status, 200, "{next}");
        page = next;
    }
    let body = json!({ "scroll_id": [page["_scroll_id"]] }).to_string();
    assert_eq!(call("DELETE", &format!("{base}/_search/scroll"), &body).await.0, 200);
    assert_eq!(docs.len() as u64, total);
    docs
}

async fn count(base: &str, expression: &str) -> Option<u64> {
    let (status, body) = call("GET", &format!("{base}/{expression}/_count"), "").await;
    (status == 200).then(|| body["count"].as_u64().unwrap())
}

fn s3_backup(bucket: &str, prefix: &str, compression: CompressionFormat) -> S3DestinationConfiguration {
    S3DestinationConfiguration::builder()
        .role_arn(ROLE)
        .bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .prefix(prefix)
        .compression_format(compression)
        .build()
        .unwrap()
}

/// An OpenSearch destination with one-second-or-less delivery and a short retry duration.
fn opensearch(
    index: &str,
    retry_seconds: i32,
) -> aws_sdk_firehose::types::builders::AmazonopensearchserviceDestinationConfigurationBuilder {
    AmazonopensearchserviceDestinationConfiguration::builder()
        .role_arn(ROLE)
        .index_name(index)
        .index_rotation_period(AmazonopensearchserviceIndexRotationPeriod::NoRotation)
        .buffering_hints(
            AmazonopensearchserviceBufferingHints::builder().interval_in_seconds(0).size_in_mbs(1).build(),
        )
        .retry_options(
            AmazonopensearchserviceRetryOptions::builder().duration_in_seconds(retry_seconds).build(),
        )
        .s3_configuration(s3_backup("backup", "backup/", CompressionFormat::Uncompressed))
}

async fn harness(faults: FaultPlan) -> Harness {
    // One emulated minute per wall second: a 5-second retry interval is 83 ms.
    let harness =
        Harness::with_config(EmulatorConfig { time_scale: 60.0, faults, ..EmulatorConfig::default() }).await;
    harness.s3.create_bucket().bucket("backup").send().await.expect("create bucket");
    harness
}

/// Puts `records` through PutRecordBatch, in batches of 100.
async fn put_all(harness: &Harness, stream: &str, records: &[Vec<u8>]) {
    for chunk in records.chunks(100) {
        let batch: Vec<Record> = chunk
            .iter()
            .map(|data| Record::builder().data(Blob::new(data.clone())).build().unwrap())
            .collect();
        let output = harness
            .firehose
            .put_record_batch()
            .delivery_stream_name(stream)
            .set_records(Some(batch))
            .send()
            .await
            .unwrap();
        assert_eq!(output.failed_put_count(), 0);
    }
}

fn records(n: usize, suffix: &str) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}{suffix}", "x".repeat(i % 17)).into_bytes()).collect()
}

/// The failed-document lines of every object under `prefix`, decoded.
async fn failed_documents(harness: &Harness, prefix: &str) -> Vec<Value> {
    let mut documents = Vec::new();
    for (key, body) in harness.objects("backup").await {
        if key.starts_with(prefix) {
            let text = String::from_utf8(body).unwrap();
            assert!(text.ends_with('\n'), "{key}");
            documents.extend(text.lines().map(|line| serde_json::from_str::<Value>(line).unwrap()));
        }
    }
    documents
}

fn raw_data(document: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(document["rawData"].as_str().unwrap()).unwrap()
}

/// Sources as canonical JSON text, to compare with records.
fn sources(docs: &[(String, String, Value)]) -> BTreeSet<String> {
    docs.iter().map(|(_, _, source)| source.to_string()).collect()
}

fn as_json_set<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> BTreeSet<String> {
    records.into_iter().map(|record| serde_json::from_slice::<Value>(record).unwrap().to_string()).collect()
}

#[tokio::test]
async fn an_opensearch_destination_indexes_every_record_and_describes_itself() {
    let harness = harness(FaultPlan::default()).await;
    let config = opensearch("clicks", 10).domain_arn(DOMAIN_ARN).build().unwrap();
    harness
        .firehose
        .create_delivery_stream()
        .delivery_stream_name("to-search")
        .amazonopensearchservice_destination_configuration(config)
        .send()
        .await
        .expect("create a delivery stream with an OpenSearch destination");
    let records = records(250, "");
    put_all(&harness, "to-search", &records).await;

    let base = harness.emulator.search_endpoint("streamproof");
    assert!(base.ends_with("/_opensearch/streamproof"), "{base}");
    let indexed = eventually("every record indexed", WAIT, || async {
        count(&base, "clicks").await.filter(|n| *n == 250)
    })
    .await;
    assert_eq!(indexed, 250);
    let docs = scroll_all(&base, "clicks").await;
    assert_eq!(sources(&docs), as_json_set(records.iter().map(Vec::as_slice)));
    assert!(docs.iter().all(|(index, _, _)| index == "clicks"));
    // Firehose's ids are unique and find the document.
    assert_eq!(docs.iter().map(|(_, id, _)| id).collect::<BTreeSet<_>>().len(), 250);
    let (_, id, source) = &docs[17];
    let (status, doc) = call("GET", &format!("{base}/clicks/_doc/{id}"), "").await;
    assert_eq!((status, &doc["found"], &doc["_source"]), (200, &json!(true), source));
    let (status, missing) = call("GET", &format!("{base}/clicks/_doc/nope"), "").await;
    assert_eq!((status, &missing["found"]), (404, &json!(false)));
    // No failures: nothing in the backup.
    assert!(harness.objects("backup").await.is_empty());

    let description =
        harness.firehose.describe_delivery_stream().delivery_stream_name("to-search").send().await.unwrap();
    let destination = &description.delivery_stream_description().unwrap().destinations()[0];
    assert!(destination.extended_s3_destination_description().is_none());
    let os =
        destination.amazonopensearchservice_destination_description().expect("an OpenSearch description");
    assert_eq!(os.domain_arn(), Some(DOMAIN_ARN));
    assert_eq!(os.index_name(), Some("clicks"));
    assert_eq!(os.index_rotation_period(), Some(&AmazonopensearchserviceIndexRotationPeriod::NoRotation));
    assert_eq!(os.retry_options().and_then(|r| r.duration_in_seconds()), Some(10));
    assert_eq!(os.s3_backup_mode(), Some(&AmazonopensearchserviceS3BackupMode::FailedDocumentsOnly));
    assert_eq!(os.s3_destination_description().map(|s3| s3.bucket_arn()), Some("arn:aws:s3:::backup"));
    assert_eq!(
        os.document_id_options().map(|o| o.default_document_id_format()),
        Some(&DefaultDocumentIdFormat::FirehoseDefault)
    );
}

/// A pretty-printed record (the AWS CLI's and boto3's habit) is one document, and a record that is
/// not JSON fails alone: neither breaks the `_bulk` request for the rest of its batch.
#[tokio::test]
async fn multi_line_and_non_json_records_fail_or_index_alone() {
    let harness = harness(FaultPlan::default()).await;
    let config = opensearch("lines", 0).domain_arn(DOMAIN_ARN).build().unwrap();
    harness
        .firehose
        .create_delivery_stream()
        .delivery_stream_name("lines")
        .amazonopensearchservice_destination_configuration(config)
        .send()
        .await
        .unwrap();
    let pretty = b"{\n  \"n\": 1,\r\n  \"tags\": [\n    \"a b\"\n  ]\n}\n".to_vec();
    let broken = b"not\njson".to_vec();
    let plain = br#"{"n":2}"#.to_vec();
    put_all(&harness, "lines", &[pretty.clone(), broken.clone(), plain.clone()]).await;

    let failed = eventually("the broken record in the backup", WAIT, || async {
        let documents = failed_documents(&harness, "backup/AmazonOpenSearchService-failed/").await;
        (!documents.is_empty()).then_some(documents)
    })
    .await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(raw_data(&failed[0]), broken, "rawData keeps the record as it was put");
    assert_eq!(failed[0]["errorCode"], "400");
    let base = harness.emulator.search_endpoint("streamproof");
    assert_eq!(count(&base, "lines").await, Some(2));
    let docs = scroll_all(&base, "lines").await;
    assert_eq!(sources(&docs), as_json_set([pretty.as_slice(), plain.as_slice()]));
}

#[tokio::test]
async fn rejected_documents_are_retried_then_written_to_the_failed_documents_prefix() {
    let harness = harness(FaultPlan { seed: 11, index_failure: 0.02, ..FaultPlan::default() }).await;
    let config = opensearch("clicks", 10).domain_arn(DOMAIN_ARN).build().unwrap();
    harness
        .firehose
        .create_delivery_stream()
        .delivery_stream_name("failing")
        .amazonopensearchservice_destination_configuration(config)
        .send()
        .await
        .unwrap();
    let records = records(600, "");
    put_all(&harness, "failing", &records).await;
    let base = harness.emulator.search_endpoint("streamproof");
    let failed = eventually("every record indexed or failed", WAIT, || async {
        let indexed = count(&base, "clicks").await.unwrap_or(0);
        let failed = failed_documents(&harness, "backup/AmazonOpenSearchService-failed/").await;
        (indexed + failed.len() as u64 == 600).then_some(failed)
    })
    .await;

    let rejected: Vec<Vec<u8>> = harness
        .emulator
        .fault_log()
        .into_iter()
        .filter(|event| event.kind == FaultKind::IndexFailure)
        .inspect(|event| assert_eq!(event.stream, "clicks"))
        .map(|event| event.data)
        .collect();
    assert!(!rejected.is_empty(), "2% of 600 documents are rejected");
    // Logged once per document although each was sent three times.
    assert_eq!(rejected.len(), rejected.iter().collect::<BTreeSet<_>>().len());
    let failed_raw: Vec<Vec<u8>> = failed.iter().map(raw_data).collect();
    assert_eq!(failed_raw.iter().collect::<BTreeSet<_>>(), rejected.iter().collect::<BTreeSet<_>>());
    assert_eq!(failed_raw.len(), rejected.len());
    for document in &failed {
        // Attempts at 0, 5 and 10 emulated seconds: the first and the retries of 10 s.
        assert_eq!(document["attemptsMade"], 3, "{document}");
        assert_eq!(document["errorCode"], "400");
        assert_eq!(document["esIndexName"], "clicks");
        assert_eq!(document["esTypeName"], "");
        assert!(!document["esDocumentId"].as_str().unwrap().is_empty());
        let error: Value = serde_json::from_str(document["errorMessage"].as_str().unwrap()).unwrap();
        assert_eq!(error["type"], "mapper_parsing_exception");
        assert!(
            document["attemptEndingTimestamp"].as_i64().unwrap()
                >= document["arrivalTimestamp"].as_i64().unwrap() + 10_000
        );
    }
    let keys: Vec<String> = harness.objects("backup").await.into_iter().map(|(key, _)| key).collect();
    let key = &keys[0];
    let rest = key.strip_prefix("backup/AmazonOpenSearchService-failed/").expect("under the failed prefix");
    assert_eq!(rest.matches('/').count(), 4, "YYYY/MM/dd/HH/ folders: {key}");
    assert!(rest.rsplit('/').next().unwrap().starts_with("failing-1-"), "{key}");

    let indexed = scroll_all(&base, "clicks").await;
    let expected_indexed =
        as_json_set(records.iter().map(Vec::as_slice).filter(|record| !rejected.iter().any(|r| r == record)));
    assert_eq!(sources(&indexed), expected_indexed);
    assert_eq!(indexed.len() + rejected.len(), 600);
}

#[tokio::test]
async fn an_elasticsearch_destination_backs_up_all_documents_and_rotates_its_index() {
    let harness = harness(FaultPlan { seed: 5, index_failure: 0.05, ..FaultPlan::default() }).await;
    let config = ElasticsearchDestinationConfiguration::builder()
        .role_arn(ROLE)
        .domain_arn(DOMAIN_ARN)
        .index_name("logs")
        .type_name("_doc")
        .index_rotation_period(ElasticsearchIndexRotationPeriod::OneDay)
        .buffering_hints(ElasticsearchBufferingHints::builder().interval_in_seconds(0).size_in_mbs(1).build())
        .retry_options(ElasticsearchRetryOptions::builder().duration_in_seconds(0).build())
        .s3_backup_mode(ElasticsearchS3BackupMode::AllDocuments)
        .s3_configuration(s3_backup("backup", "all/", CompressionFormat::Gzip))
        .build()
        .unwrap();
    harness
        .firehose
        .create_delivery_stream()
        .delivery_stream_name("to-es")
        .elasticsearch_destination_configuration(config)
        .send()
        .await
        .unwrap();
    // NDJSON records: the backup keeps the newline, the index gets the object.
    let records = records(400, "\n");
    let day =
        |t: time::OffsetDateTime| format!("logs-{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day());
    let before = day(harness.emulator.clock().now());
    put_all(&harness, "to-es", &records).await;
    let base = harness.emulator.search_endpoint("streamproof");
    let gunzip = |body: &[u8]| {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(body).read_to_string(&mut text).unwrap();
        text
    };
    let (backup_lines, failed) = eventually("the backup and the index hold every record", WAIT, || async {
        let mut backup = Vec::new();
        let mut failed = Vec::new();
        for (key, body) in harness.objects("backup").await {
            let text = gunzip(&body);
            assert!(key.ends_with(".gz"), "{key}");
            if key.starts_with("all/elasticsearch-failed/") {
                failed.extend(text.lines().map(|line| serde_json::from_str::<Value>(line).unwrap()));
            } else {
                backup.extend(text.lines().map(str::to_owned));
            }
        }
        let indexed = count(&base, "logs-*").await.unwrap_or(0);
        (backup.len() == 400 && indexed + failed.len() as u64 == 400).then_some((backup, failed))
    })
    .await;
    let all: BTreeSet<String> =
        records.iter().map(|r| String::from_utf8(r.clone()).unwrap().trim_end().to_owned()).collect();
    assert_eq!(backup_lines.iter().cloned().collect::<BTreeSet<_>>(), all);
    assert!(!failed.is_empty(), "5% of 400 documents are rejected");
    // The arrival day, read before and after the puts (a run may cross midnight UTC).
    let days = [before, day(harness.emulator.clock().now())];
    for document in &failed {
        assert_eq!(document["attemptsMade"], 1, "a retry duration of 0 sends once: {document}");
        assert_eq!(document["esTypeName"], "_doc");
        assert!(days.iter().any(|day| document["esIndexName"] == day.as_str()), "{document}");
        assert!(raw_data(document).ends_with(b"\n"), "rawData is the record as put");
    }
    let indexed = scroll_all(&base, "logs-*").await;
    assert!(indexed.iter().all(|(name, _, _)| days.contains(name)), "rotated into {days:?}");
    assert_eq!(indexed.len() + failed.len(), 400);
    // The index holds the records without their newline, and exactly those that did not fail.
    let failed_raw: Vec<Vec<u8>> = failed.iter().map(raw_data).collect();
    let expected =
        as_json_set(records.iter().filter(|record| !failed_raw.contains(record)).map(Vec::as_slice));
    assert_eq!(sources(&indexed), expected);

    let description =
        harness.firehose.describe_delivery_stream().delivery_stream_name("to-es").send().await.unwrap();
    let destination = &description.delivery_stream_description().unwrap().destinations()[0];
    assert!(destination.amazonopensearchservice_destination_description().is_none());
    let es = destination.elasticsearch_destination_description().expect("an Elasticsearch description");
    assert_eq!(es.type_name(), Some("_doc"));
    assert_eq!(es.s3_backup_mode(), Some(&ElasticsearchS3BackupMode::AllDocuments));
    assert_eq!(es.index_rotation_period(), Some(&ElasticsearchIndexRotationPeriod::OneDay));
}

#[tokio::test]
async fn a_cluster_endpoint_is_reached_over_http_and_an_unreachable_one_fails_to_the_backup() {
    // The cluster is a second emulator's in-process domain, which rejects 5% of documents.
    let cluster = emulator::Emulator::start(EmulatorConfig {
        faults: FaultPlan { seed: 3, index_failure: 0.05, ..FaultPlan::default() },
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let remote = cluster.search_endpoint("remote");
    let harness = harness(FaultPlan::default()).await;
    let config = opensearch("remote-clicks", 5)
        .cluster_endpoint(&remote)
        .document_id_options(
            DocumentIdOptions::builder()
                .default_document_id_format(DefaultDocumentIdFormat::NoDocumentId)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    harness
        .firehose
        .create_delivery_stream()
        .delivery_stream_name("external")
        .amazonopensearchservice_destination_configuration(config)
        .send()
        .await
        .unwrap();
    let records = records(300, "");
    put_all(&harness, "external", &records).await;
    let failed = eventually("every record indexed remotely or failed", WAIT, || async {
        let indexed = count(&remote, "remote-clicks").await.unwrap_or(0);
        let failed = failed_documents(&harness, "backup/AmazonOpenSearchService-failed/").await;
        (indexed + failed.len() as u64 == 300).then_some(failed)
    })
    .await;
    let rejected: BTreeSet<Vec<u8>> = cluster.fault_log().into_iter().map(|event| event.data).collect();
    assert!(!rejected.is_empty());
    assert_eq!(failed.iter().map(raw_data).collect::<BTreeSet<_>>(), rejected);
    assert!(failed.iter().all(|d| d["attemptsMade"] == 2 && d["esDocumentId"] == ""), "{failed:?}");
    assert!(harness.emulator.fault_log().is_empty(), "the delivering emulator injects nothing");
    let indexed = scroll_all(&remote, "remote-clicks").await;
    assert_eq!(indexed.len() + rejected.len(), 300);
    // The cluster generated the ids.
    assert!(indexed.iter().all(|(_, id, _)| id.len() == 20));
    // Nothing reached the delivering emulator's own domain of that name.
    let own = harness.emulator.search_endpoint("remote");
    assert_eq!(call("GET", &format!("{own}/remote-clicks/_count"), "").await.0, 404);

    // A closed port: every document fails with a connection error after the retry duration.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let config = opensearch("nowhere", 0).cluster_endpoint(format!("http://{closed}")).build().unwrap();
    harness
        .firehose
        .create_delivery_stream()
        .delivery_stream_name("unreachable")
        .amazonopensearchservice_destination_configuration(config)
        .send()
        .await
        .unwrap();
    put_all(&harness, "unreachable", &records[..20]).await;
    let failed = eventually("connection failures in the backup", WAIT, || async {
        let failed: Vec<Value> = failed_documents(&harness, "backup/AmazonOpenSearchService-failed/")
            .await
            .into_iter()
            .filter(|d| d["esIndexName"] == "nowhere")
            .collect();
        (failed.len() == 20).then_some(failed)
    })
    .await;
    assert!(
        failed.iter().all(|d| d["errorCode"] == "OS.ConnectionFailed" && d["attemptsMade"] == 1),
        "{:?}",
        failed[0]
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn search_destinations_are_validated_as_firehose_does() {
    let harness = harness(FaultPlan::default()).await;
    let create = |config: AmazonopensearchserviceDestinationConfiguration| {
        harness
            .firehose
            .create_delivery_stream()
            .delivery_stream_name("bad")
            .amazonopensearchservice_destination_configuration(config)
            .send()
    };
    type Created = Result<
        aws_sdk_firehose::operation::create_delivery_stream::CreateDeliveryStreamOutput,
        aws_sdk_firehose::error::SdkError<
            aws_sdk_firehose::operation::create_delivery_stream::CreateDeliveryStreamError,
        >,
    >;
    let refused = |result: Created| {
        let service = result.expect_err("the configuration is refused").into_service_error();
        (service.code().unwrap_or_default().to_owned(), service.message().unwrap_or_default().to_owned())
    };

    let (code, message) = refused(
        create(
            opensearch("i", 1)
                .domain_arn(DOMAIN_ARN)
                .cluster_endpoint("http://localhost:9200")
                .build()
                .unwrap(),
        )
        .await,
    );
    assert_eq!(code, "InvalidArgumentException");
    assert!(message.contains("Exactly one of DomainARN and ClusterEndpoint"), "{message}");
    let (code, _) = refused(create(opensearch("i", 1).build().unwrap()).await);
    assert_eq!(code, "InvalidArgumentException");

    let (code, message) =
        refused(create(opensearch(&"i".repeat(81), 1).domain_arn(DOMAIN_ARN).build().unwrap()).await);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("indexName") && message.contains("less than or equal to 80"), "{message}");

    let config = opensearch("i", 1)
        .domain_arn(DOMAIN_ARN)
        .buffering_hints(AmazonopensearchserviceBufferingHints::builder().size_in_mbs(101).build())
        .build()
        .unwrap();
    let (code, message) = refused(create(config).await);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("bufferingHints.sizeInMBs") && message.contains("100"), "{message}");

    let (code, message) =
        refused(create(opensearch("i", 7201).domain_arn(DOMAIN_ARN).build().unwrap()).await);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("retryOptions.durationInSeconds"), "{message}");

    let (code, message) = refused(
        create(opensearch("i", 1).cluster_endpoint("https://search.example.com").build().unwrap()).await,
    );
    assert_eq!(code, "InvalidArgumentException");
    assert!(message.contains("https") && message.contains("no TLS client"), "{message}");

    let (code, message) = refused(
        create(opensearch("i", 1).domain_arn("arn:aws:es:us-east-1:000000000000:domain/X").build().unwrap())
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("domainARN"), "{message}");

    let vpc =
        VpcConfiguration::builder().subnet_ids("s").role_arn(ROLE).security_group_ids("g").build().unwrap();
    let (code, message) = refused(
        create(opensearch("i", 1).domain_arn(DOMAIN_ARN).vpc_configuration(vpc).build().unwrap()).await,
    );
    assert_eq!(code, "InvalidArgumentException");
    assert!(message.contains("VpcConfiguration"), "{message}");

    let lambda = ProcessingConfiguration::builder()
        .enabled(true)
        .processors(Processor::builder().r#type(ProcessorType::Lambda).build().unwrap())
        .build();
    let (code, message) = refused(
        create(opensearch("i", 1).domain_arn(DOMAIN_ARN).processing_configuration(lambda).build().unwrap())
            .await,
    );
    assert_eq!(code, "InvalidArgumentException");
    assert!(message.contains("Processor type Lambda"), "{message}");

    let es = ElasticsearchDestinationConfiguration::builder()
        .role_arn(ROLE)
        .domain_arn(DOMAIN_ARN)
        .index_name("")
        .s3_configuration(s3_backup("backup", "", CompressionFormat::Uncompressed))
        .build()
        .unwrap();
    let err = harness
        .firehose
        .create_delivery_stream()
        .delivery_stream_name("bad")
        .elasticsearch_destination_configuration(es)
        .send()
        .await
        .unwrap_err();
    let message = err.into_service_error().message().unwrap_or_default().to_owned();
    assert!(message.contains("elasticsearchDestinationConfiguration.indexName"), "{message}");

    let streams = harness.firehose.list_delivery_streams().send().await.unwrap();
    assert!(streams.delivery_stream_names().is_empty(), "nothing was created");
}

#[tokio::test]
async fn the_domain_answers_its_rest_api_with_opensearch_shapes() {
    let harness = Harness::start().await;
    let base = harness.emulator.search_endpoint("api");
    let (status, info) = call("GET", &format!("{base}/"), "").await;
    assert_eq!(
        (status, &info["version"]["distribution"], &info["version"]["number"]),
        (200, &json!("opensearch"), &json!("2.19.0"))
    );

    let body = "{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"x\":1}\n{\"create\":{\"_id\":\"2\"}}\n[1]\n{\"index\":{}}\n{\"x\":3}\n";
    let (status, response) = call("POST", &format!("{base}/a/_bulk"), body).await;
    assert_eq!(status, 200);
    assert_eq!(response["errors"], true);
    let items = response["items"].as_array().unwrap();
    assert_eq!(items[0]["index"]["status"], 201);
    assert_eq!(items[0]["index"]["result"], "created");
    assert_eq!(items[1]["create"]["status"], 400);
    assert_eq!(items[1]["create"]["error"]["type"], "mapper_parsing_exception");
    assert_eq!(items[2]["index"]["status"], 201);

    assert_eq!(count(&base, "a").await, Some(2));
    let (status, error) = call("GET", &format!("{base}/missing/_count"), "").await;
    assert_eq!(status, 404);
    assert_eq!(error["status"], 404);
    assert_eq!(error["error"]["type"], "index_not_found_exception");
    assert_eq!(error["error"]["root_cause"][0]["index"], "missing");
    assert_eq!(count(&base, "missing-*").await, Some(0));

    let (status, hits) =
        call("POST", &format!("{base}/a/_search"), r#"{"query":{"ids":{"values":["1","zz"]}}}"#).await;
    assert_eq!(status, 200);
    assert_eq!(hits["hits"]["total"]["value"], 1);
    assert_eq!(hits["hits"]["hits"][0]["_source"], json!({"x": 1}));
    let (status, error) = call("POST", &format!("{base}/a/_search"), r#"{"query":{"term":{"x":1}}}"#).await;
    assert_eq!((status, &error["error"]["type"]), (400, &json!("parsing_exception")));

    let (status, refreshed) = call("POST", &format!("{base}/a/_refresh"), "").await;
    assert_eq!((status, &refreshed["_shards"]["failed"]), (200, &json!(0)));
    let (status, unterminated) =
        call("POST", &format!("{base}/_bulk"), "{\"index\":{\"_index\":\"a\"}}\n{}").await;
    assert_eq!((status, &unterminated["error"]["type"]), (400, &json!("illegal_argument_exception")));

    assert_eq!(call("DELETE", &format!("{base}/a"), "").await, (200, json!({"acknowledged": true})));
    assert_eq!(count(&base, "a").await, None);
    let (status, error) =
        call("GET", &format!("{}/_opensearch/No_Such/", harness.emulator.endpoint()), "").await;
    assert_eq!((status, &error["error"]["type"]), (400, &json!("illegal_argument_exception")));
    // S3 is still served beside the domains.
    harness.s3.create_bucket().bucket("still-s3").send().await.unwrap();
}

#[tokio::test]
async fn a_kinesis_source_feeds_a_search_destination() {
    let harness = harness(FaultPlan::default()).await;
    let stream_arn = harness.create_stream("events", 2).await;
    let config = opensearch("from-kinesis", 10).domain_arn(DOMAIN_ARN).build().unwrap();
    harness
        .firehose
        .create_delivery_stream()
        .delivery_stream_name("kinesis-to-search")
        .delivery_stream_type(aws_sdk_firehose::types::DeliveryStreamType::KinesisStreamAsSource)
        .kinesis_stream_source_configuration(
            aws_sdk_firehose::types::KinesisStreamSourceConfiguration::builder()
                .kinesis_stream_arn(&stream_arn)
                .role_arn(ROLE)
                .build()
                .unwrap(),
        )
        .amazonopensearchservice_destination_configuration(config)
        .send()
        .await
        .unwrap();
    let records = records(120, "");
    for (n, chunk) in records.chunks(40).enumerate() {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, data)| {
                aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                    .data(aws_sdk_kinesis::primitives::Blob::new(data.clone()))
                    .partition_key(format!("key-{n}-{i}"))
                    .build()
                    .unwrap()
            })
            .collect();
        let output = harness
            .kinesis
            .put_records()
            .stream_name("events")
            .set_records(Some(entries))
            .send()
            .await
            .unwrap();
        assert_eq!(output.failed_record_count(), Some(0));
    }
    let base = harness.emulator.search_endpoint("streamproof");
    eventually("every Kinesis record indexed", WAIT, || async {
        count(&base, "from-kinesis").await.filter(|n| *n == 120)
    })
    .await;
    assert_eq!(
        sources(&scroll_all(&base, "from-kinesis").await),
        as_json_set(records.iter().map(Vec::as_slice))
    );
}
