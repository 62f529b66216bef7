//! Why a put failed, as a producer deciding how to retry needs to know it: throttled (back off and
//! slow down), refused by the service for another reason (retry as it comes), or never answered.
//!
//! Read from the error code the service sent, never from rendered text.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes that mean "slow down": the throughput limits of a shard
/// (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html>: an entry's
/// `ErrorCode` is `ProvisionedThroughputExceededException` or `InternalFailure`), Firehose's
/// "exceeded the throughput limits" answer to `PutRecord`/`PutRecordBatch`
/// (<https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html>:
/// `ServiceUnavailableException`), KMS throttling of an encrypted stream, and the SDKs' generic
/// throttling codes.
const THROTTLING_CODES: [&str; 5] = [
    "ProvisionedThroughputExceededException",
    "ServiceUnavailableException",
    "KMSThrottlingException",
    "ThrottlingException",
    "SlowDown",
];

/// Why a put (a call, or one entry of a batch) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutFailure {
    /// The service throttled it: the caller backs off before trying again.
    Throttled { code: String },
    /// The service refused it for another reason, such as `InternalFailure`.
    Service { code: String },
    /// No answer came (connection refused, timeout, a response that could not be read).
    Transport,
}

impl PutFailure {
    /// The failure an error code means.
    pub fn of_code(code: &str) -> PutFailure {
        if THROTTLING_CODES.contains(&code) {
            PutFailure::Throttled { code: code.to_owned() }
        } else {
            PutFailure::Service { code: code.to_owned() }
        }
    }

    /// The failure of a whole call, by the code in the service's answer.
    pub fn of<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> PutFailure {
        match error {
            SdkError::ServiceError(service) => match service.err().code() {
                Some(code) => PutFailure::of_code(code),
                None => PutFailure::Service { code: format!("HTTP {}", service.raw().status().as_u16()) },
            },
            _ => PutFailure::Transport,
        }
    }

    /// Whether the service throttled the put.
    pub fn is_throttled(&self) -> bool {
        matches!(self, PutFailure::Throttled { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_read_from_the_exact_code() {
        for code in THROTTLING_CODES {
            assert!(PutFailure::of_code(code).is_throttled(), "{code}");
        }
        for code in ["InternalFailure", "ResourceNotFoundException", "ProvisionedThroughput", "Throttled"] {
            assert_eq!(PutFailure::of_code(code), PutFailure::Service { code: code.to_owned() });
        }
    }
}
