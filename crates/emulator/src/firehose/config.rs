//! A delivery stream's configuration as the emulator runs it: its source and its S3 destination (the
//! search destination's own settings are in `search.rs`).

use std::io::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use flate2::write::GzEncoder;

use crate::error::ApiError;
use crate::firehose::api::{CloudWatchLoggingOptions, ProcessingConfiguration};
use crate::firehose::processor::LambdaProcessor;
use crate::kinesis::store::Stream;
use vocabulary::PrefixTemplate;

/// The destination id AWS gives the only destination of a delivery stream.
pub(crate) const DESTINATION_ID: &str = "destinationId-000000000001";

/// How long a delivery stream stays `ENABLING` or `DISABLING` after Start- or
/// StopDeliveryStreamEncryption, in emulator milliseconds. AWS documents the states, not how long
/// they last; one second lets a client that waits for `ENABLED` see the transition.
const ENCRYPTION_TRANSITION_MS: i64 = 1_000;

/// A delivery stream's server-side encryption (Start/StopDeliveryStreamEncryption).
#[derive(Debug, Clone, Default)]
pub(crate) struct Encryption {
    /// The key while encryption is on.
    pub(crate) key: Option<EncryptionKey>,
    /// When encryption was last started or stopped, in emulator milliseconds since the epoch.
    pub(crate) changed_ms: Option<i64>,
}

/// `DeliveryStreamEncryptionConfigurationInput`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncryptionKey {
    /// `AWS_OWNED_CMK` or `CUSTOMER_MANAGED_CMK`.
    pub(crate) key_type: &'static str,
    /// The customer-managed key; `None` for an AWS-owned key.
    pub(crate) key_arn: Option<String>,
}

impl Encryption {
    /// `DeliveryStreamEncryptionConfiguration.Status` at `now_ms`.
    pub(crate) fn status(&self, now_ms: i64) -> &'static str {
        let changing = self.changed_ms.is_some_and(|at| now_ms - at < ENCRYPTION_TRANSITION_MS);
        match (&self.key, changing) {
            (Some(_), true) => "ENABLING",
            (Some(_), false) => "ENABLED",
            (None, true) => "DISABLING",
            (None, false) => "DISABLED",
        }
    }
}

impl EncryptionKey {
    /// Checks a requested key: a customer-managed key needs its ARN, an AWS-owned key takes none.
    pub(crate) fn new(key_type: &str, key_arn: Option<String>) -> Result<EncryptionKey, ApiError> {
        match (key_type, key_arn) {
            ("AWS_OWNED_CMK", None) => Ok(EncryptionKey { key_type: "AWS_OWNED_CMK", key_arn: None }),
            ("AWS_OWNED_CMK", Some(_)) => {
                Err(ApiError::invalid_argument("KeyARN must not be specified for KeyType AWS_OWNED_CMK."))
            }
            ("CUSTOMER_MANAGED_CMK", Some(arn)) => {
                Ok(EncryptionKey { key_type: "CUSTOMER_MANAGED_CMK", key_arn: Some(arn) })
            }
            ("CUSTOMER_MANAGED_CMK", None) => {
                Err(ApiError::invalid_argument("KeyARN is required for KeyType CUSTOMER_MANAGED_CMK."))
            }
            (other, _) => Err(ApiError::validation(format!(
                "Value '{other}' at 'deliveryStreamEncryptionConfigurationInput.keyType' failed to satisfy \
                 constraint: Member must satisfy enum value set: [AWS_OWNED_CMK, CUSTOMER_MANAGED_CMK]"
            ))),
        }
    }
}

/// Where a delivery stream's records come from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Producers call PutRecord and PutRecordBatch.
    DirectPut,
    /// Firehose reads a Kinesis stream, from LATEST at creation, inside the process.
    Kinesis { stream_arn: String, role_arn: String, stream: Arc<Stream>, start_positions: Vec<u64> },
}

/// The S3 destination as configured, kept for describing it back.
#[derive(Debug)]
pub(crate) struct Destination {
    pub(crate) role_arn: String,
    pub(crate) bucket_arn: String,
    pub(crate) bucket: String,
    pub(crate) prefix: Option<String>,
    pub(crate) prefix_template: PrefixTemplate,
    pub(crate) error_output_prefix: Option<String>,
    /// Where error output goes: `ErrorOutputPrefix`, or its default under `Prefix`.
    pub(crate) error_output_template: PrefixTemplate,
    pub(crate) size_in_mbs: i64,
    pub(crate) interval_in_seconds: i64,
    pub(crate) compression: Compression,
    /// Whether the `AppendDelimiterToRecord` processor adds a newline after every record.
    pub(crate) append_delimiter: bool,
    /// The `Lambda` processor, which transforms records before they reach the destination buffer.
    pub(crate) lambda: Option<LambdaProcessor>,
    /// The processing configuration as given, for describing it back.
    pub(crate) processing: ProcessingConfiguration,
    pub(crate) file_extension: Option<String>,
    /// `CloudWatchLoggingOptions`, echoed back; delivery errors go to the emulator's log.
    pub(crate) logging: CloudWatchLoggingOptions,
    /// The delivery stream version this configuration took effect at: 1 at creation, one more
    /// with every UpdateDestination. Object names carry it.
    pub(crate) version: u32,
    /// The configuration as requested, which UpdateDestination merges its update into.
    pub(crate) given: serde_json::Value,
}

/// How objects are compressed before they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    Uncompressed,
    Gzip,
}

impl Compression {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Compression::Uncompressed => "UNCOMPRESSED",
            Compression::Gzip => "GZIP",
        }
    }

    /// The extension Firehose appends to object keys unless a `FileExtension` is configured.
    pub(crate) fn default_extension(self) -> &'static str {
        match self {
            Compression::Uncompressed => "",
            Compression::Gzip => ".gz",
        }
    }

    /// The object body for a batch.
    pub(crate) fn apply(self, data: &Bytes) -> Bytes {
        match self {
            Compression::Uncompressed => data.clone(),
            Compression::Gzip => {
                let mut encoder =
                    GzEncoder::new(Vec::with_capacity(data.len() / 4), flate2::Compression::default());
                // Writing to a Vec cannot fail.
                let _ = encoder.write_all(data);
                Bytes::from(encoder.finish().unwrap_or_default())
            }
        }
    }
}
