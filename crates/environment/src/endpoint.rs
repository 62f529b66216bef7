//! An endpoint and the AWS SDK clients configured for it.

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;

use crate::error::EnvError;

/// How to reach a backend: every backend is an endpoint. Its `Debug` output hides the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL, e.g. `http://127.0.0.1:4566`; empty for AWS's own regional endpoints.
    pub url: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Use the default AWS credential chain instead of the keys above (remote endpoints only).
    pub use_default_credentials: bool,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("use_default_credentials", &self.use_default_credentials)
            .finish()
    }
}

impl Endpoint {
    /// A loopback endpoint with the conventional test credentials (`test` / `test`).
    pub fn local(url: String) -> Endpoint {
        Endpoint {
            url,
            region: "us-east-1".to_owned(),
            access_key_id: "test".to_owned(),
            secret_access_key: "test".to_owned(),
            use_default_credentials: false,
        }
    }

    /// AWS itself: its regional endpoints, the region and credentials of the default chain
    /// (environment, profile, instance role).
    pub fn aws() -> Endpoint {
        Endpoint {
            url: String::new(),
            region: String::new(),
            use_default_credentials: true,
            ..Endpoint::local(String::new())
        }
    }

    /// The endpoint at `url`, or AWS itself without one, under the remote-use rule: anything but a
    /// loopback URL may be real AWS and is refused unless `allow_remote`; remote endpoints use the
    /// default credential chain.
    pub fn resolve(url: Option<&str>, allow_remote: bool) -> Result<Endpoint, EnvError> {
        match url {
            Some(url) if is_loopback(url) => Ok(Endpoint::local(url.to_owned())),
            Some(url) if allow_remote => {
                Ok(Endpoint { url: url.to_owned(), use_default_credentials: true, ..Endpoint::aws() })
            }
            Some(url) => Err(EnvError::RemoteRefused { url: url.to_owned() }),
            None if allow_remote => Ok(Endpoint::aws()),
            None => Err(EnvError::AwsRefused),
        }
    }

    /// Whether this is AWS's own endpoints rather than a URL.
    pub fn is_aws(&self) -> bool {
        self.url.is_empty()
    }

    /// Kinesis, Firehose and S3 clients for this endpoint (S3 in path style).
    #[expect(clippy::disallowed_methods, reason = "this is the wrapper the lint points at")]
    pub async fn clients(&self) -> Clients {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            // LocalStack's CreateDeliveryStream blocks until its Kinesis consumer starts (up to ~30 s).
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(std::time::Duration::from_secs(5))
                    .operation_attempt_timeout(std::time::Duration::from_secs(90))
                    .build(),
            );
        if !self.region.is_empty() {
            loader = loader.region(Region::new(self.region.clone()));
        }
        if !self.url.is_empty() {
            loader = loader.endpoint_url(&self.url);
        }
        if !self.use_default_credentials {
            loader = loader.credentials_provider(Credentials::new(
                &self.access_key_id,
                &self.secret_access_key,
                None,
                None,
                "streamproof",
            ));
        }
        let config = loader.load().await;
        Clients {
            kinesis: aws_sdk_kinesis::Client::new(&config),
            firehose: aws_sdk_firehose::Client::new(&config),
            // Loopback emulators and LocalStack want path-style requests; AWS takes virtual-host style.
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&config).force_path_style(!self.is_aws()).build(),
            ),
        }
    }
}

/// The SDK clients producer, verifier and provisioning use.
#[derive(Debug, Clone)]
pub struct Clients {
    pub kinesis: aws_sdk_kinesis::Client,
    pub firehose: aws_sdk_firehose::Client,
    pub s3: aws_sdk_s3::Client,
}

/// Whether `url`'s host is 127.0.0.0/8, `localhost` or `::1`.
pub(crate) fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret_key() {
        let endpoint =
            Endpoint { secret_access_key: "s3cr3t-value".to_owned(), ..Endpoint::local("http://x".into()) };
        let shown = format!("{endpoint:?}");
        assert!(!shown.contains("s3cr3t-value") && shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn remote_use_needs_permission_and_then_uses_the_default_chain() {
        assert_eq!(
            Endpoint::resolve(Some("http://127.0.0.1:4566"), false).unwrap(),
            Endpoint::local("http://127.0.0.1:4566".into())
        );
        for url in [Some("https://s3.eu-west-1.amazonaws.com"), None] {
            let error = Endpoint::resolve(url, false).unwrap_err();
            assert!(error.to_string().contains("--allow-remote"), "{error}");
            let endpoint = Endpoint::resolve(url, true).unwrap();
            assert!(endpoint.use_default_credentials);
        }
        assert!(Endpoint::resolve(None, true).unwrap().is_aws());
    }
}
