//! Environment errors: the backend could not be started, reached, provisioned or torn down.

use std::time::Duration;

/// Why an environment could not be brought up or used.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("cannot start the embedded emulator")]
    EmbeddedStart(#[source] emulator::StartError),
    #[error(
        "LocalStack host mode is not installed in {}; run `cargo xtask localstack setup` (or set STREAMPROOF_LOCALSTACK_HOME)",
        home.display()
    )]
    LocalStackNotInstalled { home: std::path::PathBuf },
    #[error("LocalStack exited before it was ready ({status}); last lines of its log:\n{log}")]
    LocalStackExited { status: String, log: String },
    #[error(
        "cannot reach a Docker daemon ({reason}); the localstack backend runs LocalStack as a container. \
         Start Docker (or set DOCKER_HOST), or use --backend localstack-host"
    )]
    DockerUnavailable { reason: String },
    #[error("the LocalStack container {image} failed: {message}")]
    Container { image: String, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "refusing the non-loopback endpoint {url}: it may be real AWS; pass --allow-remote to use it with the default credential chain"
    )]
    RemoteRefused { url: String },
    #[error(
        "no --endpoint given, which means AWS itself; pass --allow-remote to read it with the default credential chain"
    )]
    AwsRefused,
    #[error("{operation} failed: {message}")]
    Aws { operation: String, message: String },
    #[error("search cluster request {url} failed: {message}")]
    Search { url: String, message: String },
    #[error(
        "the scenario indexes into the in-process search domain {domain:?}, which only the embedded backend serves; \
         run it there, or give the search table an `endpoint`"
    )]
    NoSearchDomain { domain: String },
    #[error("{what} did not become {wanted} within {deadline:?} (last status: {last})")]
    NotReady { what: String, wanted: &'static str, deadline: Duration, last: String },
}

impl EnvError {
    /// Wraps an SDK error with the operation (and resource) that failed: its code, message, HTTP
    /// status and request id, or its cause chain when no response came, on one line.
    pub(crate) fn aws<E>(
        operation: impl Into<String>,
        error: aws_error::SdkError<E, aws_error::HttpResponse>,
    ) -> EnvError
    where
        E: aws_error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        EnvError::Aws { operation: operation.into(), message: aws_error::describe(&error) }
    }
}
