//! LocalStack as a container, through testcontainers and its LocalStack module.
//!
//! The image tag is pinned: `4.14.0` is the last LocalStack image that starts without an auth
//! token. A newer tag needs `LOCALSTACK_AUTH_TOKEN`, which is passed through when it is set.
//! Readiness is LocalStack's own "Ready." line, waited for, never slept; the container is removed
//! when its handle is dropped (a finished run, a failed one, or an interrupted one that unwinds).

use std::time::Duration;

use scenario::{Scenario, Source};
use testcontainers_modules::localstack::LocalStack;
use testcontainers_modules::testcontainers::core::error::ClientError;
use testcontainers_modules::testcontainers::core::{ContainerPort, WaitFor};
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{
    ContainerAsync, ContainerRequest, ImageExt, TestcontainersError,
};

use crate::error::EnvError;

/// The port LocalStack's edge router listens on inside the container.
const EDGE_PORT: u16 = 4566;
/// How long pulling the image and starting LocalStack may take.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(300);
/// The environment variable that carries a LocalStack auth token into the container.
const AUTH_TOKEN_VAR: &str = "LOCALSTACK_AUTH_TOKEN";

/// How to run the LocalStack container. Its `Debug` output hides the auth token, as `Endpoint`'s
/// hides the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct ContainerOptions {
    /// The image name. Defaults to `localstack/localstack`.
    pub image: String,
    /// The image tag. Defaults to `4.14.0`.
    pub tag: String,
    /// LocalStack's `SERVICES`: only what the pipeline needs. Defaults to every service a
    /// Kinesis-source pipeline needs.
    pub services: Vec<&'static str>,
    /// Passed to the container as `LOCALSTACK_AUTH_TOKEN`. Defaults to that variable of this
    /// process, when set and not empty.
    pub auth_token: Option<String>,
}

impl std::fmt::Debug for ContainerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerOptions")
            .field("image", &self.image)
            .field("tag", &self.tag)
            .field("services", &self.services)
            .field("auth_token", &self.auth_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ContainerOptions {
    pub const DEFAULT_IMAGE: &'static str = "localstack/localstack";
    pub const DEFAULT_TAG: &'static str = "4.14.0";

    /// The services `source` needs: Firehose, S3 and STS (Firehose assumes its role) always; for a
    /// Kinesis source also Kinesis and DynamoDB (the Kinesis Client Library's leases).
    pub fn services_for(source: &Source) -> Vec<&'static str> {
        match source {
            Source::KinesisStream => vec!["kinesis", "firehose", "s3", "dynamodb", "sts"],
            Source::DirectPut => vec!["firehose", "s3", "sts"],
        }
    }

    /// The default options narrowed to what `scenario` needs.
    pub fn for_scenario(scenario: &Scenario) -> ContainerOptions {
        ContainerOptions { services: Self::services_for(&scenario.pipeline.source), ..Self::default() }
    }

    /// The container request: image, tag, environment, the port and the readiness condition.
    pub(crate) fn request(&self) -> ContainerRequest<LocalStack> {
        let mut request = LocalStack::default()
            .with_name(self.image.as_str())
            .with_tag(self.tag.as_str())
            .with_env_var("SERVICES", self.services.join(","))
            .with_mapped_port(0, ContainerPort::Tcp(EDGE_PORT))
            .with_ready_conditions(vec![WaitFor::message_on_stdout("Ready.")])
            .with_startup_timeout(STARTUP_TIMEOUT);
        if let Some(token) = &self.auth_token {
            request = request.with_env_var(AUTH_TOKEN_VAR, token.as_str());
        }
        request
    }
}

impl Default for ContainerOptions {
    fn default() -> ContainerOptions {
        ContainerOptions {
            image: Self::DEFAULT_IMAGE.to_owned(),
            tag: Self::DEFAULT_TAG.to_owned(),
            services: Self::services_for(&Source::KinesisStream),
            auth_token: std::env::var(AUTH_TOKEN_VAR).ok().filter(|token| !token.is_empty()),
        }
    }
}

/// A running LocalStack container; dropping it removes the container.
pub(crate) struct LocalStackContainer {
    container: ContainerAsync<LocalStack>,
    url: String,
}

impl std::fmt::Debug for LocalStackContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStackContainer")
            .field("id", &self.container.id())
            .field("url", &self.url)
            .finish()
    }
}

impl LocalStackContainer {
    /// Pulls the image if needed, starts the container and waits until LocalStack says it is ready.
    pub(crate) async fn start(options: &ContainerOptions) -> Result<LocalStackContainer, EnvError> {
        let image = format!("{}:{}", options.image, options.tag);
        tracing::info!(%image, services = %options.services.join(","), "starting the LocalStack container");
        let container = options.request().start().await.map_err(|source| container_error(&image, source))?;
        let port = container
            .get_host_port_ipv4(EDGE_PORT)
            .await
            .map_err(|source| container_error(&image, source))?;
        let url = format!("http://127.0.0.1:{port}");
        tracing::info!(id = container.id(), %url, "LocalStack container ready");
        Ok(LocalStackContainer { container, url })
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Stops and removes the container.
    pub(crate) async fn remove(self) {
        let id = self.container.id().to_owned();
        if let Err(error) = self.container.rm().await {
            tracing::warn!(%id, %error, "could not remove the LocalStack container");
        }
    }
}

fn container_error(image: &str, source: TestcontainersError) -> EnvError {
    match source {
        TestcontainersError::Client(ClientError::Init(error)) => {
            EnvError::DockerUnavailable { reason: error.to_string() }
        }
        other => EnvError::Container { image: image.to_owned(), message: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use testcontainers_modules::testcontainers::Image;

    use super::*;

    #[test]
    fn debug_output_never_shows_the_auth_token() {
        let options =
            ContainerOptions { auth_token: Some("ls-s3cr3t-token".into()), ..ContainerOptions::default() };
        let shown = format!("{options:?}");
        assert!(!shown.contains("ls-s3cr3t-token") && shown.contains("<redacted>"), "{shown}");
        let without = ContainerOptions { auth_token: None, ..ContainerOptions::default() };
        assert!(format!("{without:?}").contains("auth_token: None"));
        // The backend that carries the options shows them the same way.
        let backend = format!("{:?}", crate::Backend::LocalStack(options));
        assert!(!backend.contains("ls-s3cr3t-token"), "{backend}");
    }

    fn env_of(request: &ContainerRequest<LocalStack>) -> Vec<(String, String)> {
        request.env_vars().map(|(name, value)| (name.into_owned(), value.into_owned())).collect()
    }

    #[test]
    fn the_default_container_is_the_pinned_tag_with_the_pipeline_services() {
        let options = ContainerOptions { auth_token: None, ..ContainerOptions::default() };
        let request = options.request();
        assert_eq!(request.descriptor(), "localstack/localstack:4.14.0");
        assert_eq!(
            env_of(&request),
            [("SERVICES".to_owned(), "kinesis,firehose,s3,dynamodb,sts".to_owned())]
        );
        let ports = request.ports().expect("the edge port is mapped");
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0].container_port(), ContainerPort::Tcp(4566));
        assert_eq!(ports[0].host_port(), 0, "Docker picks a free host port");
        assert_eq!(request.startup_timeout(), Some(STARTUP_TIMEOUT));
    }

    #[test]
    fn readiness_is_localstacks_ready_line_and_never_a_fixed_wait() {
        let request = ContainerOptions::default().request();
        let conditions = request.ready_conditions();
        assert_eq!(conditions.len(), 1, "{conditions:?}");
        assert!(matches!(conditions[0], WaitFor::Log(_)), "{conditions:?}");
        // The module's own conditions include a fixed wait; ours replace them.
        assert!(
            LocalStack::default().ready_conditions().iter().any(|c| matches!(c, WaitFor::Duration { .. }))
        );
    }

    #[test]
    fn a_token_and_a_newer_tag_are_passed_through() {
        let options = ContainerOptions {
            tag: "latest".to_owned(),
            auth_token: Some("ls-token".to_owned()),
            ..ContainerOptions::default()
        };
        let request = options.request();
        assert_eq!(request.descriptor(), "localstack/localstack:latest");
        assert!(env_of(&request).contains(&("LOCALSTACK_AUTH_TOKEN".to_owned(), "ls-token".to_owned())));
    }

    #[test]
    fn a_direct_put_pipeline_runs_only_firehose_s3_and_sts() {
        let request = ContainerOptions {
            services: ContainerOptions::services_for(&Source::DirectPut),
            ..Default::default()
        }
        .request();
        assert!(env_of(&request).contains(&("SERVICES".to_owned(), "firehose,s3,sts".to_owned())));
    }
}
