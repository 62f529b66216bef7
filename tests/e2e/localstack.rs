//! The same scenario and seed on the embedded emulator and on real LocalStack (host mode): the
//! delivered record sets must be identical and per-key order must hold on both.
//!
//! Needs LocalStack host mode installed (`cargo xtask localstack setup`); `cargo xtask ci` installs
//! it and runs these tests in its LocalStack stage with `--run-ignored only`.

use std::collections::BTreeSet;
use std::path::Path;

use environment::{Backend, Environment};
use streamproof::run::run_on;

/// One delivered record: its seq, key, per-key seq, and the event's bytes without the envelope.
pub(crate) type Delivered = BTreeSet<(u64, String, u64, Vec<u8>)>;

pub(crate) async fn delivered_on(backend: Backend) -> (Delivered, streamproof::run::RunOutcome) {
    let scenario =
        scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/kinesis-to-s3-small.toml"))
            .unwrap();
    let reports = tempfile::tempdir().unwrap();
    let environment = Environment::start(&backend).await.expect("the backend starts");
    let outcome = run_on(&environment, &scenario, reports.path()).await.expect("the run completes");
    let clients = environment.endpoint().clients().await;
    let field = &scenario.workload.envelope_field;
    let mut delivered = Delivered::new();
    let objects = clients.s3.list_objects_v2().bucket(&outcome.provisioned.bucket).send().await.unwrap();
    for object in objects.contents() {
        let key = object.key().unwrap();
        let body = clients.s3.get_object().bucket(&outcome.provisioned.bucket).key(key).send().await.unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        for item in verifier::decode(&bytes, field) {
            let verifier::Decoded::Record(record) = item else { panic!("corrupt bytes in {key}") };
            let verifier::Content::Envelope(envelope) = record.content else {
                panic!("no envelope in {key}")
            };
            if envelope.run != outcome.run_id {
                continue; // Canaries and other runs.
            }
            let raw = &bytes[record.offset..record.offset + record.len];
            let mut event: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(raw).unwrap();
            event.remove(field.as_str());
            let body = serde_json::to_vec(&event).unwrap();
            delivered.insert((envelope.seq, envelope.key, envelope.kseq, body));
        }
    }
    environment.shutdown().await;
    (delivered, outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs LocalStack host mode (cargo xtask localstack setup); cargo xtask ci runs it"]
async fn localstack_host_and_embedded_deliver_identical_record_sets_in_key_order() {
    let (embedded, embedded_outcome) = delivered_on(Backend::default()).await;
    let (localstack, localstack_outcome) = delivered_on(Backend::LocalStackHost { home: None }).await;

    for outcome in [&embedded_outcome, &localstack_outcome] {
        let counts = &outcome.report.counts;
        assert_eq!((counts.delivered, counts.lost, counts.duplicated), (1500, 0, 0), "{}", outcome.backend);
        assert_eq!(counts.reordered, 0, "per-key order on {}", outcome.backend);
    }
    assert_eq!(embedded.len(), 1500);
    assert!(embedded == localstack, "the delivered record sets differ between embedded and localstack-host");
}
