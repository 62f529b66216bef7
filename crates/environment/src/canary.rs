//! Readiness that is true readiness: a canary record on every shard, seen in S3.
//!
//! A Kinesis-source delivery stream on LocalStack reads from LATEST only once its Kinesis Client
//! Library holds the shard leases, well after CreateDeliveryStream returned and the stream reported
//! ACTIVE; records put before then are lost. So the pipeline is ready only when a canary put to each
//! shard has reached S3. Canaries carry an envelope of their own run (`<run id>-canary`), which the
//! verifier counts among other runs' records and never matches against the expectation.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_kinesis::primitives::Blob;

use crate::endpoint::Clients;
use crate::error::EnvError;
use crate::provision::Provisioned;

/// How often unseen canaries are put again while waiting.
const RESEND_EVERY: Duration = Duration::from_secs(5);

/// Puts a canary on every shard of the provisioned stream until each one is visible in S3.
pub async fn prove_ready(
    clients: &Clients,
    provisioned: &Provisioned,
    run_id: &str,
    envelope_field: &str,
    deadline: Duration,
) -> Result<(), EnvError> {
    let Some(stream) = &provisioned.stream_name else { return Ok(()) };
    let shards = clients
        .kinesis
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| EnvError::aws(format!("ListShards {stream}"), e))?;
    let canaries: Vec<(String, Vec<u8>)> = shards
        .shards()
        .iter()
        .enumerate()
        .map(|(i, shard)| {
            let start = shard.hash_key_range().map(|r| r.starting_hash_key().to_owned()).unwrap_or_default();
            (start, canary(run_id, envelope_field, i as u64))
        })
        .collect();
    let started = Instant::now();
    let mut seen = vec![false; canaries.len()];
    let mut read_objects = HashSet::new();
    let mut last_put: Option<Instant> = None;
    while seen.iter().any(|s| !s) {
        if started.elapsed() > deadline {
            let missing = seen.iter().filter(|s| !**s).count();
            return Err(EnvError::NotReady {
                what: format!("delivery stream {} (canaries reaching S3)", provisioned.delivery_stream_name),
                wanted: "delivering",
                deadline,
                last: format!(
                    "{missing} of {} shard canaries not seen in s3://{}",
                    canaries.len(),
                    provisioned.bucket
                ),
            });
        }
        if last_put.is_none_or(|t| t.elapsed() >= RESEND_EVERY) {
            for ((hash_key, data), _) in canaries.iter().zip(&seen).filter(|(_, seen)| !**seen) {
                clients
                    .kinesis
                    .put_record()
                    .stream_name(stream)
                    .partition_key("streamproof-canary")
                    .explicit_hash_key(hash_key)
                    .data(Blob::new(data.clone()))
                    .send()
                    .await
                    .map_err(|e| EnvError::aws(format!("PutRecord (canary) {stream}"), e))?;
            }
            last_put = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        for object in new_objects(clients, provisioned, &mut read_objects).await? {
            for (i, (_, data)) in canaries.iter().enumerate() {
                seen[i] |= contains(&object, data);
            }
        }
    }
    tracing::info!(elapsed = ?started.elapsed(), shards = canaries.len(), "every shard's canary reached S3");
    Ok(())
}

/// The canary record for shard `index`: an envelope of the run `<run id>-canary` and nothing else.
fn canary(run_id: &str, envelope_field: &str, index: u64) -> Vec<u8> {
    let sent_ns = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let envelope = serde_json::json!({
        "run": format!("{run_id}-canary"),
        "seq": index,
        "key": "streamproof-canary",
        "kseq": 0,
        "sent_ns": sent_ns,
    });
    let mut record = serde_json::Map::new();
    record.insert(envelope_field.to_owned(), envelope);
    serde_json::to_vec(&record).expect("a JSON map serialises")
}

async fn new_objects(
    clients: &Clients,
    provisioned: &Provisioned,
    read: &mut HashSet<String>,
) -> Result<Vec<Vec<u8>>, EnvError> {
    let bucket = &provisioned.bucket;
    let mut bodies = Vec::new();
    let mut pages =
        clients.s3.list_objects_v2().bucket(bucket).prefix(&provisioned.prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| EnvError::aws(format!("ListObjectsV2 {bucket}"), e))?;
        for key in page.contents().iter().filter_map(|o| o.key()) {
            if !read.insert(key.to_owned()) {
                continue;
            }
            let object = clients
                .s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| EnvError::aws(format!("GetObject {bucket}/{key}"), e))?;
            let body = object.body.collect().await.map_err(|e| EnvError::Aws {
                operation: format!("GetObject {bucket}/{key}"),
                message: aws_error::chain(&e),
            })?;
            bodies.push(body.into_bytes().to_vec());
        }
    }
    Ok(bodies)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canary_is_one_json_object_holding_only_an_envelope_of_the_canary_run() {
        let record = canary("r1", "_sp", 3);
        let value: serde_json::Value = serde_json::from_slice(&record).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 1);
        assert_eq!(value["_sp"]["run"], "r1-canary");
        assert_eq!(value["_sp"]["seq"], 3);
    }

    #[test]
    fn canaries_are_found_inside_concatenated_objects() {
        let record = canary("r1", "_sp", 0);
        let mut object = br#"{"a":1}"#.to_vec();
        object.extend_from_slice(&record);
        object.extend_from_slice(br#"{"b":2}"#);
        assert!(contains(&object, &record));
        assert!(!contains(
            &object,
            &canary("r1", "_sp", 1)[..20].iter().chain(b"x").copied().collect::<Vec<_>>()
        ));
    }
}
