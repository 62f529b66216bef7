//! The put APIs the producer speaks: Kinesis `PutRecords` (or `PutRecord`) and Firehose
//! `PutRecordBatch`, their per-request limits, and what each entry's answer means.

use std::collections::HashMap;
use std::time::Instant;

use aws_error::{HttpResponse, ProvideErrorMetadata, PutFailure, SdkError};
use aws_sdk_firehose::primitives::Blob as FirehoseBlob;
use aws_sdk_kinesis::primitives::Blob as KinesisBlob;

/// A record waiting to be acknowledged.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) seq: u64,
    pub(crate) key: String,
    pub(crate) data: Vec<u8>,
    pub(crate) attempts: u32,
    /// When it was first handed to a put call; its retry budget runs from here.
    pub(crate) first_put: Option<Instant>,
    /// Its envelope's send time, Unix nanoseconds.
    pub(crate) sent_ns: u64,
}

/// Where records go. The producer knows the API, never the backend behind the client.
#[derive(Debug, Clone)]
pub enum Target {
    /// Kinesis `PutRecords` to a stream (or `PutRecord` when the workload asks for it).
    Kinesis { client: aws_sdk_kinesis::Client, stream_name: String },
    /// Firehose `PutRecordBatch` to a Direct PUT delivery stream.
    Firehose { client: aws_sdk_firehose::Client, delivery_stream_name: String },
}

/// The per-request limits of a put API.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchLimits {
    pub(crate) entries: usize,
    pub(crate) request_bytes: usize,
    /// Counts the partition key in the request size (Kinesis does, Firehose has no key).
    pub(crate) key_counts: bool,
}

/// Concurrent `PutRecord` calls a lane makes at once, one per partition key.
pub(crate) const PUT_RECORD_CONCURRENCY: usize = 64;

/// The outcome of one entry: accepted, or refused with an error code.
pub(crate) type EntryResult = Result<Accepted, Refused>;

/// An accepted entry: its sequence number and shard, where the API reports them (Kinesis does).
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) sequence_number: Option<String>,
    pub(crate) shard: Option<String>,
}

/// A refused entry: why, its error code (or what went wrong, when no answer came), and the shard
/// when the message names it (a throttled Kinesis entry's "Rate exceeded for shard <id> in stream
/// <name> …").
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) failure: PutFailure,
    pub(crate) code: String,
    pub(crate) shard: Option<String>,
}

impl Refused {
    fn new(code: &str, message: Option<&str>) -> Refused {
        let shard = message.and_then(|m| m.split_once("for shard ")).and_then(|(_, rest)| {
            rest.split_whitespace().next().map(|id| id.trim_end_matches([',', '.']).to_owned())
        });
        Refused { failure: PutFailure::of_code(code), code: code.to_owned(), shard }
    }

    /// A `PutRecord` call's failure, as its entry's.
    fn of_call<E>(error: &SdkError<E, HttpResponse>) -> Refused
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match error.code() {
            Some(code) => Refused::new(code, error.message()),
            None => Refused { failure: PutFailure::of(error), code: aws_error::describe(error), shard: None },
        }
    }
}

/// A put call that failed as a whole: why, and the error on one line.
#[derive(Debug)]
pub(crate) struct CallFailed {
    pub(crate) failure: PutFailure,
    pub(crate) error: String,
}

impl CallFailed {
    fn new<E>(error: &SdkError<E, HttpResponse>) -> CallFailed
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        CallFailed { failure: PutFailure::of(error), error: aws_error::describe(error) }
    }
}

impl Target {
    pub(crate) fn limits(&self, single: bool) -> BatchLimits {
        match self {
            // PutRecord: one record per call; a lane makes several calls at once, one per key.
            Target::Kinesis { .. } if single => {
                BatchLimits { entries: PUT_RECORD_CONCURRENCY, request_bytes: usize::MAX, key_counts: true }
            }
            // PutRecords: at most 500 entries and 5 MiB including partition keys.
            Target::Kinesis { .. } => BatchLimits { entries: 500, request_bytes: 5 << 20, key_counts: true },
            // PutRecordBatch: at most 500 records and 4 MiB.
            Target::Firehose { .. } => {
                BatchLimits { entries: 500, request_bytes: 4 << 20, key_counts: false }
            }
        }
    }

    /// Puts `batch` once; returns one result per record, aligned by position.
    ///
    /// `Err` means the whole call failed (for `PutRecord`, each call's failure is its entry's).
    pub(crate) async fn put(
        &self,
        batch: &[Pending],
        single: bool,
        ordering: &HashMap<String, String>,
    ) -> Result<Vec<EntryResult>, CallFailed> {
        match self {
            Target::Kinesis { client, stream_name } if single => {
                let calls = batch.iter().map(|p| {
                    client
                        .put_record()
                        .stream_name(stream_name)
                        .partition_key(&p.key)
                        .data(KinesisBlob::new(p.data.clone()))
                        .set_sequence_number_for_ordering(ordering.get(&p.key).cloned())
                        .send()
                });
                Ok(futures::future::join_all(calls)
                    .await
                    .into_iter()
                    .map(|outcome| match outcome {
                        Ok(output) => Ok(Accepted {
                            sequence_number: Some(output.sequence_number().to_owned()),
                            shard: Some(output.shard_id().to_owned()),
                        }),
                        Err(error) => Err(Refused::of_call(&error)),
                    })
                    .collect())
            }
            Target::Kinesis { client, stream_name } => {
                let entries = batch
                    .iter()
                    .map(|p| {
                        aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                            .data(KinesisBlob::new(p.data.clone()))
                            .partition_key(&p.key)
                            .build()
                            .expect("data and partition key are set")
                    })
                    .collect();
                let output = client
                    .put_records()
                    .stream_name(stream_name)
                    .set_records(Some(entries))
                    .send()
                    .await
                    .map_err(|e| CallFailed::new(&e))?;
                Ok(output
                    .records()
                    .iter()
                    .map(|r| match r.error_code() {
                        None => Ok(Accepted {
                            sequence_number: r.sequence_number().map(str::to_owned),
                            shard: r.shard_id().map(str::to_owned),
                        }),
                        Some(code) => Err(Refused::new(code, r.error_message())),
                    })
                    .collect())
            }
            Target::Firehose { client, delivery_stream_name } => {
                let records = batch
                    .iter()
                    .map(|p| {
                        aws_sdk_firehose::types::Record::builder()
                            .data(FirehoseBlob::new(p.data.clone()))
                            .build()
                            .expect("data is set")
                    })
                    .collect();
                let output = client
                    .put_record_batch()
                    .delivery_stream_name(delivery_stream_name)
                    .set_records(Some(records))
                    .send()
                    .await
                    .map_err(|e| CallFailed::new(&e))?;
                Ok(output
                    .request_responses()
                    .iter()
                    .map(|r| match r.error_code() {
                        None => Ok(Accepted { sequence_number: None, shard: None }),
                        Some(code) => Err(Refused::new(code, r.error_message())),
                    })
                    .collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_entry_names_its_shard_as_kinesis_words_it() {
        let refused = Refused::new(
            "ProvisionedThroughputExceededException",
            Some("Rate exceeded for shard shardId-000000000003 in stream logs under account 000000000000."),
        );
        assert_eq!(refused.shard.as_deref(), Some("shardId-000000000003"));
        assert!(refused.failure.is_throttled());
        assert_eq!(Refused::new("InternalFailure", Some("Internal service failure.")).shard, None);
        assert_eq!(Refused::new("ServiceUnavailableException", None).shard, None);
    }
}
