//! `streamproof run`: one scenario end to end, with the summary on stdout.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use environment::{Backend, EmbeddedOptions};
use streamproof::exit;
use streamproof::run::{RunOptions, RunOutcome};

use crate::fail;

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// Where the pipeline runs.
    #[arg(long, value_enum, default_value_t = BackendArg::Embedded)]
    backend: BackendArg,
    /// URL of the endpoint for `--backend endpoint`, e.g. a LocalStack someone already runs.
    #[arg(long, required_if_eq("backend", "endpoint"))]
    endpoint: Option<String>,
    /// Allow a non-loopback endpoint (it may be real AWS), with the default AWS credential chain.
    #[arg(long)]
    allow_remote: bool,
    /// Directory for reports; each run writes `<scenario>-<run id>/report.json` under it.
    #[arg(long, default_value = "streamproof-reports")]
    report_dir: PathBuf,
    /// Test knob: the embedded emulator acknowledges the Kinesis entry with this 0-based ordinal but
    /// never stores it. Repeatable.
    #[arg(long = "emulator-drop-record", value_name = "ORDINAL", hide = true)]
    drop_records: Vec<u64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BackendArg {
    /// The in-process emulator (Kinesis + Firehose + S3 on one loopback port).
    Embedded,
    /// LocalStack as a host process, installed by `cargo xtask localstack setup`.
    LocalstackHost,
    /// An endpoint that already runs (`--endpoint URL`).
    Endpoint,
}

pub(crate) async fn run(args: RunArgs) -> ExitCode {
    let scenario = match scenario::load(&args.scenario) {
        Ok(scenario) => scenario,
        Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
    };
    let backend = match args.backend {
        BackendArg::Embedded => Backend::Embedded(EmbeddedOptions {
            drop_kinesis_records: args.drop_records.iter().copied().collect::<BTreeSet<u64>>(),
        }),
        _ if !args.drop_records.is_empty() => {
            return fail(
                exit::BAD_INPUT,
                &anyhow::anyhow!("--emulator-drop-record needs the embedded backend"),
            );
        }
        BackendArg::LocalstackHost => Backend::LocalStackHost { home: None },
        BackendArg::Endpoint => Backend::Endpoint {
            url: args.endpoint.clone().expect("clap requires --endpoint with --backend endpoint"),
            allow_remote: args.allow_remote,
        },
    };
    println!(
        "streamproof run {} ({} events, {} shards, buffering {} MiB / {} s) on {}",
        scenario.name,
        scenario.workload.events,
        scenario.pipeline.shards,
        scenario.pipeline.buffering.size_mb,
        scenario.pipeline.buffering.interval_seconds,
        args.backend.to_possible_value().expect("no variant is skipped").get_name(),
    );
    let options = RunOptions { backend, report_dir: args.report_dir };
    match streamproof::run::run(&scenario, &options).await {
        Ok(outcome) => {
            print_outcome(&outcome);
            ExitCode::from(outcome.exit_code())
        }
        Err(error) => {
            let code = error.exit_code();
            fail(code, &anyhow::Error::new(error))
        }
    }
}

fn print_outcome(outcome: &RunOutcome) {
    println!("run {} on {} at {}", outcome.run_id, outcome.backend, outcome.endpoint);
    println!("{}", outcome.metrics.summary());
    print!("{}", outcome.report.summary());
    if !outcome.faults.is_empty() {
        println!("injected faults (ground truth, from the emulator's test knob):");
        for fault in &outcome.faults {
            println!("  {}", streamproof::run::describe_fault(fault, &outcome.envelope_field));
        }
    }
    println!("report: {}", outcome.report_path.display());
}
