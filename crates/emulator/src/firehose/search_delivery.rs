//! Delivery to an OpenSearch or Elasticsearch destination: each flushed batch becomes one `_bulk`
//! request, failed documents are retried, and what never gets indexed goes to the S3 backup.
//!
//! A batch is sent as soon as it is flushed. Documents the cluster refuses (item status not 2xx),
//! or every document of a request that fails as a whole (no answer, a non-2xx status, a response
//! that does not parse), are sent again every 5 seconds of emulator time for the destination's
//! `RetryOptions.DurationInSeconds`, counted from the first attempt (so a slow cluster gets fewer
//! attempts, not a longer window); the ones still failing
//! then are written to the S3 backup bucket under `<Prefix><service>-failed/YYYY/MM/dd/HH/`, one
//! JSON line per document in AWS's envelope. With `AllDocuments`, every batch is also written to
//! the backup as an S3 destination would write it, whether or not it is indexed.
//!
//! While the backup cannot be written (a missing bucket, say), no new batch is sent to the
//! cluster: Firehose pauses delivery when it can neither deliver nor back up.
//!
//! Records carry no arrival time of their own in the buffer, so the arrival time of a batch's oldest
//! record stands for all of its records: in index rotation names and `arrivalTimestamp`.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use cluster_http::ClusterClient;
use serde::Serialize;
use tokio::time::Instant;

use crate::clock::unix_millis;
use crate::firehose::buffer::Batch;
use crate::firehose::output::Output;
use crate::firehose::search::{Cluster, DocumentIds, FailedDocument, SearchDestination};
use crate::json::Base64;
use crate::search::bulk::BulkResponse;
use vocabulary::SearchBackupMode;

/// How often Firehose retries documents that failed (emulator time).
const RETRY_INTERVAL: Duration = Duration::from_secs(5);

/// The search-delivery state of one delivery stream's task.
#[derive(Debug)]
pub(crate) struct SearchDelivery {
    /// The client for an external cluster; `None` for the in-process domain.
    client: Option<ClusterClient>,
    /// Batches with documents not indexed yet.
    batches: Vec<InFlight>,
    /// Backup and failed-document objects to write to S3, in order.
    objects: VecDeque<PendingObject>,
    /// When to try S3 again after a failed write.
    s3_retry_at: Option<Instant>,
    /// Firehose's document ids: a per-stream base and a counter.
    id_base: u64,
    next_id: u64,
}

/// A flushed batch whose documents are not all indexed.
#[derive(Debug)]
struct InFlight {
    data: Bytes,
    docs: Vec<PendingDoc>,
    index: String,
    arrival_ms: i64,
    oldest: Instant,
    attempts: u32,
    /// When the first attempt started: the retry window counts from it.
    first_attempt: Option<Instant>,
    next_attempt: Instant,
}

/// A document not indexed yet: its record's place in the batch, its id and its last error.
#[derive(Debug)]
struct PendingDoc {
    start: usize,
    len: usize,
    id: Option<String>,
    error: Option<(String, String)>,
}

#[derive(Debug)]
struct PendingObject {
    key: String,
    body: Bytes,
    oldest: Instant,
    /// What the object holds, for logs.
    what: &'static str,
    records: usize,
}

/// Why a whole request failed: the error code and message failed documents carry.
#[derive(Debug)]
struct RequestFailure {
    code: String,
    message: String,
}

/// `{"index":{"_index":..,"_id":..,"_type":..}}`
#[derive(Debug, Serialize)]
struct ActionLine<'a> {
    index: ActionMeta<'a>,
}

#[derive(Debug, Serialize)]
struct ActionMeta<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "_type", skip_serializing_if = "Option::is_none")]
    type_name: Option<&'a str>,
}

impl SearchDelivery {
    pub(crate) fn new(search: &SearchDestination) -> SearchDelivery {
        let client = match &search.cluster {
            Cluster::InProcess(_) => None,
            // The endpoint was checked to be plain http:// when the stream was created.
            Cluster::External(base) => ClusterClient::new(base).ok(),
        };
        SearchDelivery {
            client,
            batches: Vec::new(),
            objects: VecDeque::new(),
            s3_retry_at: None,
            id_base: uuid::Uuid::new_v4().as_u64_pair().0,
            next_id: 0,
        }
    }

    /// Takes newly flushed batches, makes every attempt that is due and writes pending S3 objects.
    pub(crate) async fn step(&mut self, out: &Output<'_>, search: &SearchDestination, new: VecDeque<Batch>) {
        for batch in new {
            self.accept(out, search, batch);
        }
        let now = Instant::now();
        let (due, waiting): (Vec<InFlight>, Vec<InFlight>) =
            std::mem::take(&mut self.batches).into_iter().partition(|batch| batch.next_attempt <= now);
        self.batches = waiting;
        for mut batch in due {
            self.attempt(out, search, &mut batch).await;
            if batch.docs.is_empty() {
                continue;
            }
            // RetryOptions is time, counted from the first attempt (emulator time): a cluster that
            // answers slowly gets fewer attempts, never a longer window.
            let first = batch.first_attempt.unwrap_or(now);
            if Instant::now().saturating_duration_since(first)
                >= out.context.clock.to_wall(search.retry_duration())
            {
                self.give_up(out, search, batch);
            } else {
                batch.next_attempt = Instant::now() + out.context.clock.to_wall(RETRY_INTERVAL);
                self.batches.push(batch);
            }
        }
        if self.s3_retry_at.is_none_or(|at| at <= Instant::now()) {
            self.write_objects(out);
        }
    }

    /// Whether writing to the S3 backup is failing (objects wait for a retry): AWS then pauses
    /// delivery until the backup can be written again.
    pub(crate) fn backup_failing(&self) -> bool {
        self.s3_retry_at.is_some() && !self.objects.is_empty()
    }

    /// When the task should call [`SearchDelivery::step`] again, if anything is pending.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let objects = (!self.objects.is_empty()).then(|| self.s3_retry_at.unwrap_or_else(Instant::now));
        self.batches.iter().map(|batch| batch.next_attempt).chain(objects).min()
    }

    /// How many records are neither indexed nor in S3 yet.
    pub(crate) fn pending_records(&self) -> usize {
        self.batches.iter().map(|batch| batch.docs.len()).sum::<usize>()
            + self.objects.iter().map(|object| object.records).sum::<usize>()
    }

    fn accept(&mut self, out: &Output<'_>, search: &SearchDestination, batch: Batch) {
        let arrival = out.context.clock.at(batch.oldest);
        let index = search.rotation.index_name(&search.index_name, arrival);
        let mut docs = Vec::with_capacity(batch.lens.len());
        let mut start = 0;
        for &len in &batch.lens {
            let len = len as usize;
            let id = match search.document_ids {
                DocumentIds::FirehoseDefault => {
                    let n = self.next_id;
                    self.next_id += 1;
                    Some(format!("{:016x}{n:016x}", self.id_base))
                }
                DocumentIds::NoDocumentId => None,
            };
            docs.push(PendingDoc { start, len, id, error: None });
            start += len;
        }
        if search.backup_mode == SearchBackupMode::AllDocuments {
            let compression = out.destination.compression;
            self.objects.push_back(PendingObject {
                key: out.object_key(batch.oldest),
                body: compression.apply(&batch.data),
                oldest: batch.oldest,
                what: "backup",
                records: batch.records,
            });
        }
        self.batches.push(InFlight {
            data: batch.data,
            docs,
            index,
            arrival_ms: unix_millis(arrival),
            oldest: batch.oldest,
            attempts: 0,
            first_attempt: None,
            next_attempt: Instant::now(),
        });
    }

    /// Sends the batch's pending documents as one `_bulk` request and keeps those that failed.
    async fn attempt(&mut self, out: &Output<'_>, search: &SearchDestination, batch: &mut InFlight) {
        batch.attempts += 1;
        batch.first_attempt.get_or_insert_with(Instant::now);
        let body = bulk_body(search, batch);
        let outcome = match (&search.cluster, &self.client) {
            (Cluster::InProcess(name), _) => {
                out.context.search.domain(name).and_then(|domain| domain.bulk(&body, None)).map_err(|err| {
                    RequestFailure {
                        code: err.status.as_u16().to_string(),
                        message: String::from_utf8_lossy(&err.to_json()).into_owned(),
                    }
                })
            }
            (Cluster::External(_), Some(client)) => post_bulk(client, body, search).await,
            (Cluster::External(_), None) => Err(RequestFailure {
                code: search.service.connection_failed().to_owned(),
                message: "no HTTP client for the cluster endpoint".to_owned(),
            }),
        };
        let sent = batch.docs.len();
        let outcome = outcome.and_then(|response| {
            if response.items.len() == sent {
                Ok(response)
            } else {
                Err(RequestFailure {
                    code: "200".to_owned(),
                    message: format!(
                        "the _bulk response has {} items for {sent} documents",
                        response.items.len()
                    ),
                })
            }
        });
        match outcome {
            Ok(response) => {
                let mut results = response.results();
                batch.docs.retain_mut(|doc| match results.next().flatten() {
                    Some(item) if item.succeeded() => false,
                    Some(item) => {
                        let message = item.error.as_ref().map_or_else(String::new, |error| error.to_string());
                        doc.error = Some((item.status.to_string(), message));
                        true
                    }
                    None => {
                        doc.error = Some((
                            "200".to_owned(),
                            "the _bulk response has no result for the document".to_owned(),
                        ));
                        true
                    }
                });
                tracing::debug!(
                    delivery_stream = %out.name,
                    index = %batch.index,
                    sent,
                    failed = batch.docs.len(),
                    attempt = batch.attempts,
                    "sent a bulk request"
                );
            }
            Err(failure) => {
                tracing::warn!(
                    delivery_stream = %out.name,
                    index = %batch.index,
                    code = %failure.code,
                    message = %failure.message,
                    attempt = batch.attempts,
                    "a bulk request failed"
                );
                for doc in &mut batch.docs {
                    doc.error = Some((failure.code.clone(), failure.message.clone()));
                }
            }
        }
    }

    /// The retry duration is over: the batch's failed documents go to the S3 backup.
    fn give_up(&mut self, out: &Output<'_>, search: &SearchDestination, batch: InFlight) {
        let ending_ms = unix_millis(out.context.clock.now());
        let type_name = search.type_name().unwrap_or_default();
        let mut lines = Vec::new();
        for doc in &batch.docs {
            let (code, message) =
                doc.error.as_ref().map_or(("", ""), |(code, message)| (code.as_str(), message.as_str()));
            let document = FailedDocument {
                attempts_made: batch.attempts,
                arrival_timestamp: batch.arrival_ms,
                error_code: code,
                error_message: message,
                attempt_ending_timestamp: ending_ms,
                es_document_id: doc.id.as_deref().unwrap_or_default(),
                es_index_name: &batch.index,
                es_type_name: type_name,
                raw_data: Base64(&batch.data[doc.start..doc.start + doc.len]),
            };
            // Serializing a struct of strings and numbers into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut lines, &document);
            lines.push(b'\n');
        }
        let compression = out.destination.compression;
        let key = out.key_under(&search.failed_template, batch.oldest);
        tracing::warn!(
            delivery_stream = %out.name,
            index = %batch.index,
            documents = batch.docs.len(),
            attempts = batch.attempts,
            %key,
            "documents failed for the whole retry duration; writing them to the S3 backup"
        );
        self.objects.push_back(PendingObject {
            key,
            body: compression.apply(&Bytes::from(lines)),
            oldest: batch.oldest,
            what: "failed documents",
            records: batch.docs.len(),
        });
    }

    /// Writes pending objects in order; a failed write is retried every 5 s of emulator time for
    /// the 24-hour retention period, as for an S3 destination.
    fn write_objects(&mut self, out: &Output<'_>) {
        self.s3_retry_at = None;
        while let Some(object) = self.objects.pop_front() {
            match out.write(&object.key, object.body.clone()) {
                Ok(_) => {
                    tracing::debug!(delivery_stream = %out.name, key = %object.key, what = object.what, "wrote to the S3 backup");
                }
                Err(err) => {
                    let Some(again) = out.retry_at(object.oldest) else {
                        tracing::error!(
                            delivery_stream = %out.name,
                            bucket = %out.destination.bucket,
                            %err,
                            what = object.what,
                            records = object.records,
                            "the S3 backup failed for the whole retention period of 24 hours; the records are discarded"
                        );
                        continue;
                    };
                    tracing::warn!(delivery_stream = %out.name, bucket = %out.destination.bucket, %err, "the S3 backup write failed; will retry");
                    self.objects.push_front(object);
                    self.s3_retry_at = Some(again);
                    return;
                }
            }
        }
    }
}

/// The NDJSON body of a `_bulk` request for the batch's pending documents. A record's trailing
/// line end is left out of its source line, and a line break inside it becomes a space: in JSON a
/// raw line break can only be whitespace between tokens, so the document means the same, and a
/// record that is not JSON fails alone (as an item) instead of breaking the whole request.
fn bulk_body(search: &SearchDestination, batch: &InFlight) -> Vec<u8> {
    let size: usize = batch.docs.iter().map(|doc| doc.len + batch.index.len() + 64).sum();
    let mut body = Vec::with_capacity(size);
    for doc in &batch.docs {
        let action = ActionLine {
            index: ActionMeta { index: &batch.index, id: doc.id.as_deref(), type_name: search.type_name() },
        };
        // Serializing strings into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut body, &action);
        body.push(b'\n');
        let record = &batch.data[doc.start..doc.start + doc.len];
        let end = record.iter().rposition(|b| !matches!(b, b'\n' | b'\r')).map_or(0, |last| last + 1);
        let from = body.len();
        body.extend_from_slice(&record[..end]);
        for byte in &mut body[from..] {
            if matches!(*byte, b'\n' | b'\r') {
                *byte = b' ';
            }
        }
        body.push(b'\n');
    }
    body
}

/// Sends a `_bulk` request to an external cluster (wall time, within the client's bounds).
async fn post_bulk(
    client: &ClusterClient,
    body: Vec<u8>,
    search: &SearchDestination,
) -> Result<BulkResponse, RequestFailure> {
    let url = client.url("/_bulk");
    let answer = client
        .exchange(http::Method::POST, "/_bulk", Some(("application/x-ndjson", Bytes::from(body))))
        .await
        .map_err(|error| RequestFailure {
            code: search.service.connection_failed().to_owned(),
            message: error.to_string(),
        })?;
    let (status, body) = (answer.status, answer.body);
    if !status.is_success() {
        return Err(RequestFailure {
            code: status.as_u16().to_string(),
            message: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    serde_json::from_slice(&body).map_err(|err| RequestFailure {
        code: status.as_u16().to_string(),
        message: format!("the response of POST {url} is not a _bulk response: {err}"),
    })
}
