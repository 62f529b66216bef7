//! The producer against the embedded emulator over the real AWS SDK: rate control, throttling with
//! ordering-safe retries, failures reported in the expectation, parts, padding and PutRecord.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::types::ShardIteratorType;
use emulator::{Emulator, EmulatorConfig};
use producer::{Envelope, Part, ProduceControl, ProduceOptions, Produced, ProgressMode, RetryPolicy, Target};
use scenario::{PartitionKey, Payload, PutApi, Rate, Schema, Workload};

const FIELD: &str = "_streamproof";

struct Stream {
    _emulator: Emulator,
    kinesis: aws_sdk_kinesis::Client,
    name: String,
}

async fn stream(shards: i32) -> Stream {
    let emulator = Emulator::start(EmulatorConfig::default()).await.expect("the emulator starts");
    let clients = environment::Endpoint::local(emulator.endpoint()).clients().await;
    let name = "produce-test".to_owned();
    clients.kinesis.create_stream().stream_name(&name).shard_count(shards).send().await.expect("create");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let summary =
            clients.kinesis.describe_stream_summary().stream_name(&name).send().await.expect("describe");
        let status = summary.stream_description_summary().expect("a summary").stream_status().clone();
        if status == aws_sdk_kinesis::types::StreamStatus::Active {
            break;
        }
        assert!(Instant::now() < deadline, "stream not ACTIVE within 30 s: {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Stream { _emulator: emulator, kinesis: clients.kinesis, name }
}

fn workload(events: u64, key: PartitionKey, rate: Rate) -> Workload {
    Workload {
        events,
        duration: None,
        schema: Schema::Clickstream,
        partition_key: key,
        users: 50,
        seed: 11,
        envelope_field: FIELD.into(),
        payload: Payload::Natural,
        rate,
        api: PutApi::PutRecords,
        concurrency: 2,
        retry_budget: Duration::from_secs(30),
        reshard: Vec::new(),
    }
}

fn patient() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 100,
        max_elapsed: Duration::from_secs(600),
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(500),
    }
}

async fn produce(s: &Stream, workload: &Workload, retry: RetryPolicy, part: Part) -> Produced {
    let target = Target::Kinesis { client: s.kinesis.clone(), stream_name: s.name.clone() };
    let options = ProduceOptions { run_id: "run-1".into(), retry };
    let control = ProduceControl { part, progress: ProgressMode::Off, probe: None };
    producer::produce_with(&target, workload, &options, &control).await.expect("production completes")
}

/// Every record in the stream, shard by shard in sequence order: (envelope, record size).
async fn read_stream(s: &Stream, expected: usize) -> Vec<(Envelope, usize)> {
    let shards = s.kinesis.list_shards().stream_name(&s.name).send().await.expect("list shards");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    for shard in shards.shards() {
        let mut iterator = s
            .kinesis
            .get_shard_iterator()
            .stream_name(&s.name)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("iterator")
            .shard_iterator()
            .map(str::to_owned);
        while let Some(it) = iterator {
            let page =
                s.kinesis.get_records().shard_iterator(it).limit(10_000).send().await.expect("get records");
            for record in page.records() {
                let bytes = record.data().as_ref();
                let value: serde_json::Value = serde_json::from_slice(bytes).expect("a JSON record");
                let envelope: Envelope = serde_json::from_value(value[FIELD].clone()).expect("an envelope");
                assert_eq!(
                    Some(envelope.key.as_str()),
                    record.partition_key(),
                    "envelope key is the partition key"
                );
                out.push((envelope, bytes.len()));
            }
            if page.records().is_empty() || page.millis_behind_latest() == Some(0) {
                break;
            }
            iterator = page.next_shard_iterator().map(str::to_owned);
            assert!(Instant::now() < deadline, "reading the stream took over 60 s");
        }
    }
    assert_eq!(out.len(), expected, "records in the stream");
    out
}

/// Asserts that each key's records sit in the stream in kseq order, with no record twice.
fn assert_per_key_order_and_unique(records: &[(Envelope, usize)]) {
    let mut seen = HashMap::new();
    let mut last_kseq: HashMap<&str, u64> = HashMap::new();
    for (e, _) in records {
        assert!(seen.insert(e.seq, ()).is_none(), "seq {} delivered twice", e.seq);
        if let Some(previous) = last_kseq.insert(&e.key, e.kseq) {
            assert!(e.kseq > previous, "key {} kseq {} after {previous}", e.key, e.kseq);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_entries_on_one_shard_are_retried_in_order_and_counted() {
    let s = stream(1).await;
    // As fast as possible on one shard: far above its 1,000 records/s, so entries are throttled.
    let w = workload(5_000, PartitionKey::Uniform { keys: 50 }, Rate::Unlimited);
    let produced = produce(&s, &w, patient(), Part::WHOLE).await;
    let m = &produced.metrics;
    assert!(m.throttled > 0, "no throttles at {:.0} records/s on one shard", m.achieved_rate());
    assert!(m.retried >= m.throttled, "{m:?}");
    assert_eq!((m.sent, m.acknowledged, m.failed), (5_000, 5_000, 0));
    assert!(produced.expectation.failed.is_empty());
    assert_eq!(produced.expectation.acknowledged(), 5_000);
    assert_eq!(produced.expectation.acked_per_second.iter().sum::<u64>(), 5_000);
    // The emulator's 1,000 records/s per shard caps the rate, so it took more than 4 s.
    assert!(m.elapsed > Duration::from_secs(4), "{:?}", m.elapsed);
    // Some record waited (queued behind its key, retried) before its acknowledgement, and no wait
    // is longer than the run from its first put to its last acknowledgement.
    let e = &produced.expectation;
    assert!(e.max_ack_wait_ns > 0, "{e:?}");
    assert!(
        e.max_ack_wait_ns <= e.last_ack_ns - e.first_sent_ns,
        "{} of {}",
        e.max_ack_wait_ns,
        e.last_ack_ns - e.first_sent_ns
    );

    let records = read_stream(&s, 5_000).await;
    assert_per_key_order_and_unique(&records);
    let mut seqs: Vec<u64> = records.iter().map(|(e, _)| e.seq).collect();
    seqs.sort_unstable();
    assert!(seqs.iter().copied().eq(0..5_000), "every seq exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_exhaust_retries_are_reported_failed_never_sent() {
    let s = stream(1).await;
    let w = workload(3_000, PartitionKey::Uniform { keys: 50 }, Rate::Unlimited);
    let one_attempt = RetryPolicy { max_attempts: 1, ..RetryPolicy::default() };
    let produced = produce(&s, &w, one_attempt, Part::WHOLE).await;
    let (m, e) = (&produced.metrics, &produced.expectation);
    assert!(!e.failed.is_empty(), "3,000 records at once on one shard must throttle some");
    assert_eq!(m.failed, e.failed.len() as u64);
    assert_eq!(m.acknowledged + m.failed, 3_000);
    assert_eq!(e.acknowledged(), m.acknowledged);
    assert!(
        e.failed.values().all(|reason| reason.contains("ProvisionedThroughputExceededException")),
        "{e:?}"
    );

    let records = read_stream(&s, m.acknowledged as usize).await;
    for (envelope, _) in &records {
        assert!(e.expects(envelope.seq), "seq {} is in the stream but not expected", envelope.seq);
    }
    assert_per_key_order_and_unique(&records);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_rate_holds_within_5_percent_over_10_seconds() {
    let s = stream(4).await;
    let w = workload(20_000, PartitionKey::Uniform { keys: 1_000 }, Rate::Fixed(2_000.0));
    let produced = produce(&s, &w, patient(), Part::WHOLE).await;
    let m = &produced.metrics;
    assert_eq!(m.acknowledged, 20_000);
    let rate = m.achieved_rate();
    assert!((rate - 2_000.0).abs() <= 100.0, "achieved {rate:.1} records/s over {:?}", m.elapsed);
    // Ten full seconds, each holding close to its share.
    let per_second = &produced.expectation.acked_per_second;
    assert!(per_second.len() >= 10, "{per_second:?}");
    for (second, count) in per_second.iter().enumerate().take(9).skip(1) {
        assert!((1_800..=2_200).contains(count), "second {second}: {count} ({per_second:?})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_send_disjoint_key_sets_that_cover_the_workload() {
    let s = stream(2).await;
    let w = workload(3_000, PartitionKey::Zipf { keys: 200, exponent: 1.0 }, Rate::Unlimited);
    let mut expectations = Vec::new();
    for index in 0..3 {
        let produced = produce(&s, &w, patient(), Part { index, count: 3 }).await;
        assert_eq!(produced.metrics.failed, 0);
        expectations.push(produced.expectation);
    }
    let mut owners = BTreeMap::new();
    for (i, e) in expectations.iter().enumerate() {
        assert_eq!(e.generated, 3_000);
        assert!(e.acknowledged() > 0 && e.acknowledged() < 3_000, "part {i}: {}", e.acknowledged());
        for seq in (0..3_000).filter(|seq| e.expects(*seq)) {
            assert!(owners.insert(seq, i).is_none(), "seq {seq} in two parts");
        }
    }
    assert_eq!(owners.len(), 3_000, "the parts together cover every seq");
    let records = read_stream(&s, 3_000).await;
    assert_per_key_order_and_unique(&records);
    // Per-key sequence numbers are global: each key's kseqs run 0, 1, 2, … within its one part.
    let mut per_key: HashMap<&str, Vec<u64>> = HashMap::new();
    for (e, _) in &records {
        per_key.entry(&e.key).or_default().push(e.kseq);
    }
    for (key, kseqs) in per_key {
        assert!(kseqs.iter().copied().eq(0..kseqs.len() as u64), "{key}: {kseqs:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_record_with_padding_keeps_per_key_order_and_sizes() {
    let s = stream(1).await;
    let mut w = workload(400, PartitionKey::Uniform { keys: 8 }, Rate::Unlimited);
    w.api = PutApi::PutRecord;
    w.payload = Payload::Fixed(4_096);
    let produced = produce(&s, &w, patient(), Part::WHOLE).await;
    assert_eq!(produced.metrics.acknowledged, 400);
    assert_eq!(produced.metrics.put_calls, 400 + produced.metrics.retried, "one PutRecord call per attempt");
    let records = read_stream(&s, 400).await;
    assert_per_key_order_and_unique(&records);
    assert!(records.iter().all(|(_, size)| *size == 4_096), "every record padded to 4,096 bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duration_stops_the_run_and_the_expectation_says_how_far_it_got() {
    let s = stream(1).await;
    let mut w = workload(1_000_000, PartitionKey::Constant("one".into()), Rate::Fixed(200.0));
    w.duration = Some(Duration::from_secs(1));
    let produced = produce(&s, &w, patient(), Part::WHOLE).await;
    let (m, e) = (&produced.metrics, &produced.expectation);
    assert!((150..=250).contains(&m.acknowledged), "{} in 1 s at 200/s", m.acknowledged);
    assert_eq!(e.generated, m.sent);
    assert_eq!(e.acknowledged(), m.acknowledged);
    let records = read_stream(&s, m.acknowledged as usize).await;
    // One constant key: the kseqs are the seqs, in order, on the one shard.
    assert!(records.iter().enumerate().all(|(i, (e, _))| e.seq == i as u64 && e.kseq == i as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_put_sends_put_record_batch_calls_of_at_most_500() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.expect("the emulator starts");
    let clients = environment::Endpoint::local(emulator.endpoint()).clients().await;
    let text = "[pipeline]\nsource = \"direct-put\"\nbucket = \"direct\"\n\n[workload]\nevents = 1200\n\
                schema = \"segment-track\"\npartition_key = \"userId\"\n\n[expect]\n";
    let scenario = scenario::parse(std::path::Path::new("direct.toml"), text).unwrap();
    assert_eq!(scenario.workload.api, PutApi::PutRecordBatch);
    let provisioned = environment::provision(&clients, &scenario, "run-1", Duration::from_secs(60))
        .await
        .expect("provisioned");
    let target = Target::Firehose {
        client: clients.firehose.clone(),
        delivery_stream_name: provisioned.delivery_stream_name.clone(),
    };
    let options = ProduceOptions { run_id: "run-1".into(), retry: patient() };
    let control = ProduceControl { part: Part::WHOLE, progress: ProgressMode::Off, probe: None };
    let produced = producer::produce_with(&target, &scenario.workload, &options, &control).await.unwrap();
    let m = &produced.metrics;
    assert_eq!((m.acknowledged, m.failed), (1_200, 0));
    // 1,200 records need at least three calls of at most 500.
    assert!(m.put_calls >= 3, "{m:?}");
    assert!(m.bytes > 1_200 * 300, "segment-track events are a few hundred bytes each: {}", m.bytes);
}
