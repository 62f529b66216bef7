//! One readable line for an AWS SDK error: the error code, message, HTTP status and request id of a
//! service error, or the cause chain of a transport failure, never the SDK's debug dump.
//!
//! The SDK's own `DisplayErrorContext` appends the error's `Debug` form (the whole `ServiceError {
//! raw: Response { … } }` structure) to its text; a person reading a failed run needs the few facts
//! AWS documents for every error response instead: the code, the message and the request id
//! (<https://docs.aws.amazon.com/general/latest/gr/api-retries.html>, and each service's "Common
//! Errors" page). Every crate that calls AWS renders its errors through [`line`], so they read the same.
//!
//! [`PutFailure`] classifies a failed put by the code the service sent (throttled, refused, no
//! answer), for the retry decisions that must not read rendered text.

mod put_failure;

use std::error::Error;
use std::fmt::Write as _;

pub use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
pub use aws_smithy_runtime_api::client::result::SdkError;
pub use aws_smithy_types::error::metadata::ProvideErrorMetadata;
pub use put_failure::PutFailure;

/// The key under which the SDK keeps the `x-amzn-RequestId` / `x-amz-request-id` of a response.
const REQUEST_ID: &str = "aws_request_id";

/// `operation` and the error on one line, e.g.
/// `PutRecord (canary) logs: InvalidArgumentException: Stream logs is not active (HTTP 400, request id 5f…)`.
///
/// A service error gives its code, message, HTTP status and request id; an error that never got a
/// response (connection refused, timeout, a response that could not be parsed) gives its cause chain.
pub fn line<E>(operation: &str, error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    format!("{operation}: {}", describe(error))
}

/// The error of [`line`] without the operation.
pub fn describe<E>(error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    match error {
        SdkError::ServiceError(service) => {
            let (err, status) = (service.err(), service.raw().status().as_u16());
            let message = err.message().map(single_line).filter(|message| !message.is_empty());
            let mut out = match (err.code(), message) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                // A response without an error body (S3's HEAD requests): the status is all there is.
                (None, Some(message)) => message,
                (None, _) => "no error code in the response".to_owned(),
            };
            let _ = write!(out, " (HTTP {status}");
            if let Some(id) = err.meta().extra(REQUEST_ID) {
                let _ = write!(out, ", request id {id}");
            }
            out.push(')');
            out
        }
        other => chain(other),
    }
}

/// An error and its sources on one line, `outer: inner: innermost`, each level's own text once.
///
/// Levels that only repeat the level below (wrappers whose text includes their source's) are kept
/// short by dropping a level whose text the previous one already ends with.
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(level) = next {
        let text = single_line(&level.to_string());
        if !text.is_empty() && !parts.last().is_some_and(|last| last.ends_with(&text)) {
            parts.push(text);
        }
        next = level.source();
    }
    parts.join(": ")
}

/// `text` with line breaks and runs of white space folded into single spaces.
fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    /// A modelled error as the SDK builds one: metadata from the response body and headers.
    #[derive(Debug)]
    struct Modelled(ErrorMetadata);

    impl std::fmt::Display for Modelled {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "modelled error")
        }
    }

    impl Error for Modelled {}

    impl ProvideErrorMetadata for Modelled {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn service_error(status: u16, meta: ErrorMetadata) -> SdkError<Modelled, HttpResponse> {
        let raw =
            HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from("{\"__type\":\"x\"}"));
        SdkError::service_error(Modelled(meta), raw)
    }

    #[test]
    fn a_service_error_is_its_code_message_status_and_request_id_on_one_line() {
        let meta = ErrorMetadata::builder()
            .code("InvalidArgumentException")
            .message("Stream logs is not active.\nTry again.")
            .custom(REQUEST_ID, "5f2c-11")
            .build();
        let rendered = line("PutRecord (canary) logs", &service_error(400, meta));
        assert_eq!(
            rendered,
            "PutRecord (canary) logs: InvalidArgumentException: Stream logs is not active. Try again. (HTTP 400, request id 5f2c-11)"
        );
        let debug = format!("{:?}", service_error(400, ErrorMetadata::builder().build()));
        assert!(debug.contains("raw"), "the SDK's Debug form is the dump this crate replaces: {debug}");
    }

    #[test]
    fn a_response_without_an_error_body_gives_its_status() {
        let rendered = describe(&service_error(404, ErrorMetadata::builder().build()));
        assert_eq!(rendered, "no error code in the response (HTTP 404)");
        let coded = describe(&service_error(403, ErrorMetadata::builder().code("AccessDenied").build()));
        assert_eq!(coded, "AccessDenied (HTTP 403)");
    }

    #[derive(Debug)]
    struct Wrapper(&'static str, Option<Box<Wrapper>>);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|inner| inner as &(dyn Error + 'static))
        }
    }

    #[test]
    fn a_transport_failure_is_its_cause_chain_without_repeats() {
        let refused = Wrapper("Connection refused (os error 111)", None);
        let tcp = Wrapper("tcp connect error: Connection refused (os error 111)", Some(Box::new(refused)));
        let dispatch = Wrapper("dispatch failure", Some(Box::new(Wrapper("io error", Some(Box::new(tcp))))));
        assert_eq!(
            chain(&dispatch),
            "dispatch failure: io error: tcp connect error: Connection refused (os error 111)"
        );
        let error: SdkError<Modelled, HttpResponse> =
            SdkError::timeout_error(Box::new(Wrapper("no answer\n within 5 s", None)));
        assert_eq!(describe(&error), "request has timed out: no answer within 5 s");
    }
}
