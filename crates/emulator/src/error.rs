//! The error an awsJson1_1 operation (Kinesis, Firehose) returns: an AWS error code and a message.

use http::StatusCode;

/// An error in the shape AWS JSON protocols use: `{"__type": "<code>", "message": "<text>"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::BAD_REQUEST, code, message: message.into() }
    }

    /// The named resource (stream, delivery stream) does not exist.
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::bad_request("ResourceNotFoundException", message)
    }

    /// The resource already exists or is in a state that forbids the operation.
    pub(crate) fn in_use(message: impl Into<String>) -> ApiError {
        ApiError::bad_request("ResourceInUseException", message)
    }

    /// A parameter is well-formed but not acceptable.
    pub(crate) fn invalid_argument(message: impl Into<String>) -> ApiError {
        ApiError::bad_request("InvalidArgumentException", message)
    }

    /// A feature AWS has and the emulator does not emulate yet, refused rather than ignored.
    pub(crate) fn unsupported(what: impl std::fmt::Display) -> ApiError {
        ApiError::invalid_argument(format!("{what} is not supported by the streamproof emulator yet."))
    }

    /// A parameter breaks a constraint of the API model (length, range, pattern).
    pub(crate) fn validation(message: impl Into<String>) -> ApiError {
        ApiError::bad_request("ValidationException", message)
    }

    /// The request body is not valid JSON for the operation.
    pub(crate) fn serialization(message: impl Into<String>) -> ApiError {
        ApiError::bad_request("SerializationException", message)
    }

    /// The `X-Amz-Target` names an operation this emulator does not serve.
    pub(crate) fn unknown_operation(target: &str) -> ApiError {
        ApiError::bad_request(
            "UnknownOperationException",
            format!("operation {target} is not supported by the streamproof emulator"),
        )
    }

    /// A shard iterator that does not decode or no longer refers to a live stream.
    pub(crate) fn expired_iterator(message: impl Into<String>) -> ApiError {
        ApiError::bad_request("ExpiredIteratorException", message)
    }

    /// The JSON body of the error response.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "__type": self.code, "message": self.message }))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_names_the_error_type() {
        let err = ApiError::not_found("Stream s under account 000000000000 not found.");
        let body: serde_json::Value = serde_json::from_slice(&err.to_json()).unwrap();
        assert_eq!(body["__type"], "ResourceNotFoundException");
        assert_eq!(body["message"], "Stream s under account 000000000000 not found.");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }
}
