//! `streamproof run`: one scenario end to end, with the summary on stdout.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use environment::EmbeddedOptions;
use streamproof::exit;
use streamproof::run::{Interrupt, RunOptions, RunOutcome};

use crate::cmd::backend::BackendArgs;
use environment::BackendKind;
use streamproof::exit::fail;

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    #[command(flatten)]
    backend: BackendArgs,
    /// Directory for reports; each run writes `<scenario>-<run id>/report.json` under it.
    #[arg(long, default_value = "streamproof-reports")]
    report_dir: PathBuf,
    /// Leave the bucket, stream and delivery stream in place after the run. Useful with
    /// `--backend endpoint` (e.g. an environment held by `streamproof env up`); a backend the run
    /// starts itself stops at the end, taking them along.
    #[arg(long)]
    keep: bool,
    /// Test knob: the embedded emulator acknowledges the Kinesis entry with this 0-based ordinal but
    /// never stores it. Repeatable.
    #[arg(long = "emulator-drop-record", value_name = "ORDINAL", hide = true)]
    drop_records: Vec<u64>,
}

pub(crate) async fn run(args: RunArgs) -> ExitCode {
    let scenario = match scenario::load(&args.scenario) {
        Ok(scenario) => scenario,
        Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
    };
    if args.backend.kind() != BackendKind::Embedded && !args.drop_records.is_empty() {
        return fail(exit::BAD_INPUT, &anyhow::anyhow!("--emulator-drop-record needs the embedded backend"));
    }
    let backend = args.backend.backend(
        EmbeddedOptions {
            drop_kinesis_records: args.drop_records.iter().copied().collect::<BTreeSet<u64>>(),
            ..EmbeddedOptions::default()
        },
        Some(&scenario),
    );
    println!(
        "streamproof run {} ({} events, {} shards, buffering {} MiB / {} s) on {}",
        scenario.name,
        scenario.workload.events,
        scenario.pipeline.shards,
        scenario.pipeline.buffering.size_mb,
        scenario.pipeline.buffering.interval_seconds,
        args.backend.kind().name(),
    );
    if let Some(search) = &scenario.pipeline.search {
        let cluster = match &search.endpoint {
            Some(endpoint) => format!("the cluster at {endpoint}"),
            None => format!("the in-process domain {:?}", search.domain),
        };
        println!(
            "destination: {} index {}-<run id> on {cluster}, S3 backup {} to s3://{}/{}",
            search.service.name(),
            search.index,
            search.backup_mode.as_str(),
            scenario.pipeline.bucket,
            scenario.pipeline.prefix.configured().unwrap_or_default(),
        );
    }
    if args.keep && args.backend.kind() != BackendKind::Endpoint {
        println!(
            "note: --keep keeps the resources, but the {} backend stops when the run ends; to inspect \
             them afterwards, hold an environment with `streamproof env up` and run with --backend \
             endpoint --endpoint URL --keep",
            args.backend.kind().name()
        );
    }
    let keep = args.keep;
    let options = RunOptions { backend, report_dir: args.report_dir, keep };
    // SIGINT and SIGTERM stop the run cleanly: a partial report marked incomplete, then teardown.
    let interrupt = match Interrupt::on_signals() {
        Ok(interrupt) => interrupt,
        Err(error) => {
            return fail(
                exit::ENVIRONMENT_FAILED,
                &anyhow::Error::new(error).context("cannot listen for SIGINT and SIGTERM"),
            );
        }
    };
    match streamproof::run::run_interruptible(&scenario, &options, &interrupt).await {
        Ok(outcome) => {
            print_outcome(&outcome);
            if keep {
                let kept = &outcome.provisioned;
                let stream = kept.stream_name.as_deref().map_or(String::new(), |s| format!("stream {s}, "));
                println!(
                    "kept: {stream}delivery stream {}, bucket s3://{}/{}",
                    kept.delivery_stream_name, kept.bucket, kept.prefix
                );
                if let Some(search) = &kept.search {
                    println!("kept: index {} at {}", search.index_pattern(), search.endpoint);
                }
            }
            if let Some(error) = &outcome.teardown_error {
                // The verdict above stands; the backend may keep what the run provisioned.
                eprintln!("error: tearing down the run's resources failed: {error}");
            }
            ExitCode::from(outcome.exit_code())
        }
        Err(error) => {
            let code = error.exit_code();
            fail(code, &anyhow::Error::new(error))
        }
    }
}

/// Injected faults printed; `report.json` holds all of them (`ground_truth`).
const FAULT_LINES: usize = 20;

fn print_outcome(outcome: &RunOutcome) {
    println!("run {} on {} at {}", outcome.run_id, outcome.backend, outcome.endpoint);
    println!("{}", outcome.metrics.summary());
    print!("{}", outcome.report.summary());
    if !outcome.faults.is_empty() {
        println!(
            "injected faults (ground truth, the emulator's log of the scenario's [faults] and test knobs):"
        );
        for fault in outcome.faults.iter().take(FAULT_LINES) {
            println!("  {}", streamproof::run::describe_fault(fault, &outcome.envelope_field));
        }
        if outcome.faults.len() > FAULT_LINES {
            println!("  … and {} more (see report.json)", outcome.faults.len() - FAULT_LINES);
        }
    }
    println!("report: {}", outcome.report_path.display());
}
