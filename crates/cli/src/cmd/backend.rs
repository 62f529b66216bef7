//! The backend options shared by every subcommand that starts or reaches a backend.

use clap::ValueEnum;
use clap::builder::PossibleValue;
use environment::{Backend, BackendKind, ContainerOptions, EmbeddedOptions};
use scenario::Scenario;

/// `--backend` and the options that go with it.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct BackendArgs {
    /// Where the pipeline runs.
    #[arg(long, value_enum, default_value = "embedded")]
    pub(crate) backend: BackendChoice,
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

/// A `--backend` value: [`BackendKind`] as clap reads it (the kinds and their names are
/// `environment`'s own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BackendChoice(pub(crate) BackendKind);

impl ValueEnum for BackendChoice {
    fn value_variants<'a>() -> &'a [Self] {
        const CHOICES: [BackendChoice; 4] = [
            BackendChoice(BackendKind::ALL[0]),
            BackendChoice(BackendKind::ALL[1]),
            BackendChoice(BackendKind::ALL[2]),
            BackendChoice(BackendKind::ALL[3]),
        ];
        &CHOICES
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(self.0.about()))
    }
}

impl BackendArgs {
    /// The kind of backend chosen.
    pub(crate) fn kind(&self) -> BackendKind {
        self.backend.0
    }

    /// These options as command-line arguments, to hand them to another streamproof process.
    pub(crate) fn to_args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = vec!["--backend".into(), self.kind().name().into()];
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
        match self.kind() {
            BackendKind::Embedded => Backend::Embedded(embedded),
            BackendKind::LocalStack => {
                let defaults =
                    scenario.map_or_else(ContainerOptions::default, ContainerOptions::for_scenario);
                Backend::LocalStack(ContainerOptions {
                    image: self.localstack_image.clone(),
                    tag: self.localstack_tag.clone(),
                    ..defaults
                })
            }
            BackendKind::LocalStackHost => Backend::LocalStackHost { home: None },
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
    fn every_kind_is_a_command_line_value_under_its_name() {
        let values: Vec<BackendKind> =
            BackendChoice::value_variants().iter().map(|choice| choice.0).collect();
        assert_eq!(values, BackendKind::ALL);
        for choice in BackendChoice::value_variants() {
            assert_eq!(BackendChoice::from_str(choice.0.name(), false), Ok(*choice));
        }
    }
}
