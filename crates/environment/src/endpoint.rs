//! An endpoint and the AWS SDK clients configured for it.

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;

/// How to reach a backend: every backend is an endpoint. Its `Debug` output hides the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL, e.g. `http://127.0.0.1:4566`.
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

    /// Kinesis, Firehose and S3 clients for this endpoint (S3 in path style).
    pub async fn clients(&self) -> Clients {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .endpoint_url(&self.url)
            // LocalStack's CreateDeliveryStream blocks until its Kinesis consumer starts (up to ~30 s).
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(std::time::Duration::from_secs(5))
                    .operation_attempt_timeout(std::time::Duration::from_secs(90))
                    .build(),
            );
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
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build(),
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
}
