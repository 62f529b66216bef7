//! The backend options shared by every subcommand that starts or reaches a backend.

use clap::ValueEnum;
use environment::{Backend, ContainerOptions, EmbeddedOptions};
use scenario::Scenario;

/// `--backend` and the options that go with it.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct BackendArgs {
    /// Where the pipeline runs.
    #[arg(long, value_enum, default_value_t = BackendKind::Embedded)]
    pub(crate) backend: BackendKind,
    /// URL of the endpoint for `--backend endpoint`, e.g. a LocalStack someone already runs.
    #[arg(long, required_if_eq("backend", "endpoint"))]
    pub(crate) endpoint: Option<String>,
    /// Allow a non-loopback endpoint (it may be real AWS), with the default AWS credential chain.
    #[arg(long)]
    pub(crate) allow_remote: bool,
    /// The LocalStack image for `--backend localstack`.
    #[arg(long, default_value = ContainerOptions::DEFAULT_IMAGE)]
    pub(crate) localstack_image: String,
    /// The LocalStack image tag for `--backend localstack`; tags after 4.14.0 need
    /// `LOCALSTACK_AUTH_TOKEN` in the environment.
    #[arg(long, default_value = ContainerOptions::DEFAULT_TAG)]
    pub(crate) localstack_tag: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BackendKind {
    /// The in-process emulator (Kinesis + Firehose + S3 on one loopback port).
    Embedded,
    /// LocalStack as a container (testcontainers); needs a Docker daemon.
    Localstack,
    /// LocalStack as a host process, installed by `cargo xtask localstack setup`.
    LocalstackHost,
    /// An endpoint that already runs (`--endpoint URL`).
    Endpoint,
}

impl BackendKind {
    /// The name as users write it on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            BackendKind::Embedded => "embedded",
            BackendKind::Localstack => "localstack",
            BackendKind::LocalstackHost => "localstack-host",
            BackendKind::Endpoint => "endpoint",
        }
    }
}

impl BackendArgs {
    /// These options as command-line arguments, to hand them to another streamproof process.
    pub(crate) fn to_args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = vec!["--backend".into(), self.backend.name().into()];
        if let Some(endpoint) = &self.endpoint {
            args.extend(["--endpoint".into(), endpoint.into()]);
        }
        if self.allow_remote {
            args.push("--allow-remote".into());
        }
        args.extend([
            "--localstack-image".into(),
            self.localstack_image.clone().into(),
            "--localstack-tag".into(),
            self.localstack_tag.clone().into(),
        ]);
        args
    }

    /// The backend these options select; `embedded` gets `embedded` options, and a LocalStack
    /// container runs only the services `scenario` needs (all of a Kinesis-source pipeline's without
    /// one). [`streamproof::run::backend_for`] then adds what the scenario asks of the emulator.
    pub(crate) fn backend(&self, embedded: EmbeddedOptions, scenario: Option<&Scenario>) -> Backend {
        match self.backend {
            BackendKind::Embedded => Backend::Embedded(embedded),
            BackendKind::Localstack => {
                let defaults =
                    scenario.map_or_else(ContainerOptions::default, ContainerOptions::for_scenario);
                Backend::LocalStack(ContainerOptions {
                    image: self.localstack_image.clone(),
                    tag: self.localstack_tag.clone(),
                    ..defaults
                })
            }
            BackendKind::LocalstackHost => Backend::LocalStackHost { home: None },
            BackendKind::Endpoint => Backend::Endpoint {
                url: self.endpoint.clone().expect("clap requires --endpoint with --backend endpoint"),
                allow_remote: self.allow_remote,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    #[test]
    fn names_are_the_command_line_values() {
        for kind in BackendKind::value_variants() {
            assert_eq!(kind.name(), kind.to_possible_value().expect("no variant is skipped").get_name());
        }
    }
}
