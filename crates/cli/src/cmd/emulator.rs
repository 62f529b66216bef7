//! `streamproof emulator serve`: the embedded Kinesis + Firehose + S3 emulator as a standalone local endpoint.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use emulator::{
    Emulator, EmulatorConfig, FaultPlan, StartError, TransformConfig, TransformEventKind, TransformRuntime,
};
use scenario::DEFAULT_ENVELOPE_FIELD;
use streamproof::exit;
use vocabulary::FaultFlag;

use crate::cmd::shell::{print_exports, shutdown_signal};
use streamproof::exit::fail;

#[derive(Debug, clap::Args)]
pub(crate) struct EmulatorArgs {
    #[command(subcommand)]
    command: EmulatorCommand,
}

#[derive(Debug, Subcommand)]
enum EmulatorCommand {
    /// Serve Kinesis, Firehose and S3 on one loopback port until Ctrl-C, for the AWS CLI, boto3 and the SDKs.
    Serve(ServeArgs),
    /// List the operations the emulator serves, with what each leaves out of AWS's behaviour; every
    /// other operation is refused with the service's own error.
    Coverage(CoverageArgs),
}

#[derive(Debug, clap::Args)]
struct CoverageArgs {
    /// Print JSON (an array of {service, operation, partial}) instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The port on 127.0.0.1 to listen on; 0 picks a free port.
    #[arg(long, default_value_t = 4566)]
    port: u16,
    /// How many times faster than real time emulator time runs (60 turns a 300 s buffering
    /// interval into 5 s of wall time). Every timestamp the emulator shows is in emulator time.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Keep S3 buckets and objects in this directory, so they outlive the process.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Accept any write and read rate instead of AWS's per-shard limits (writes: 1 MiB/s and 1,000
    /// records/s; GetRecords: 5 calls/s and 2 MiB/s).
    #[arg(long)]
    no_shard_limits: bool,
    /// Inject a fault, acknowledged to clients as a success and logged as ground truth; repeatable.
    /// Per record: drop=P, duplicate=P, reorder=P, corrupt=P (Firehose); per object: truncate=P,
    /// delay=P with delay-seconds=S, s3-put-failure=P; drop-kinesis=N loses the Nth accepted
    /// Kinesis entry (0-based); client-visible: throttle-burst=P per Kinesis request,
    /// internal-failure=P per Kinesis entry; stall-shard=N with stall-seconds=S keeps Firehose from
    /// reading shard N; index-failure=P per document the in-process search domain rejects. P is a
    /// probability in 0..=1.
    #[arg(long = "fault", value_name = "KIND=VALUE", value_parser = FaultFlag::parse)]
    faults: Vec<FaultFlag>,
    /// Seed of the fault plan: the same seed over the same batches injects the same faults.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// Register a data-transformation handler as Lambda function NAME, run as a local process by
    /// delivery streams whose Lambda processor has LambdaArn
    /// arn:aws:lambda:us-east-1:000000000000:function:NAME; repeatable. RUNTIME is python or node,
    /// DIR the code directory, HANDLER `module:function` (e.g. transform:lambda_handler).
    #[arg(long = "lambda", value_name = "NAME=RUNTIME:DIR:HANDLER", value_parser = parse_lambda)]
    lambdas: Vec<(String, TransformConfig)>,
    /// The function timeout of every `--lambda` handler: a later reply fails the invocation.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    lambda_timeout_seconds: u64,
}

/// One `--lambda NAME=RUNTIME:DIR:MODULE:FUNCTION`.
fn parse_lambda(text: &str) -> Result<(String, TransformConfig), String> {
    let expected = "expected NAME=RUNTIME:DIR:MODULE:FUNCTION, such as \
                    newline=python:examples/newline-transform:transform:lambda_handler";
    let (name, spec) = text.split_once('=').ok_or_else(|| format!("{expected}; got {text:?}"))?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(format!("{name:?} is not a Lambda function name (letters, digits, '-' and '_')"));
    }
    let (runtime, rest) = spec.split_once(':').ok_or_else(|| format!("{expected}; got {text:?}"))?;
    let runtime = match runtime {
        "python" => TransformRuntime::Python,
        "node" => TransformRuntime::Node,
        other => return Err(format!("unknown runtime {other:?}; expected python or node")),
    };
    let mut parts = rest.rsplitn(3, ':');
    let (Some(function), Some(module), Some(dir)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("{expected}; got {text:?}"));
    };
    if dir.is_empty() || module.is_empty() || function.is_empty() {
        return Err(format!("{expected}; got {text:?}"));
    }
    let code_dir = PathBuf::from(dir);
    if !code_dir.is_dir() {
        return Err(format!("the code directory {dir} of --lambda {name} is not a directory"));
    }
    let config = TransformConfig {
        runtime,
        handler: format!("{module}:{function}"),
        code_dir,
        timeout: Duration::from_secs(60),
        retries: 3,
        function_arn: String::new(),
    };
    Ok((name.to_owned(), config))
}

pub(crate) async fn run(args: EmulatorArgs) -> ExitCode {
    match args.command {
        EmulatorCommand::Serve(args) => serve(args).await,
        EmulatorCommand::Coverage(args) => coverage(&args),
    }
}

fn coverage(args: &CoverageArgs) -> ExitCode {
    let served = emulator::coverage();
    if args.json {
        let rows: Vec<serde_json::Value> = served
            .iter()
            .map(|op| serde_json::json!({"service": op.service, "operation": op.operation, "partial": op.partial}))
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        for op in &served {
            match op.partial {
                None => println!("{:<9} {}", op.service, op.operation),
                Some(missing) => println!("{:<9} {} (partial: {missing})", op.service, op.operation),
            }
        }
    }
    ExitCode::SUCCESS
}

async fn serve(args: ServeArgs) -> ExitCode {
    let faults = match FaultPlan::from_flags(args.fault_seed, &args.faults) {
        Ok(faults) => faults,
        Err(message) => return fail(exit::BAD_INPUT, &anyhow::anyhow!(message)),
    };
    let lambdas: std::collections::BTreeMap<String, TransformConfig> = args
        .lambdas
        .iter()
        .cloned()
        .map(|(name, mut config)| {
            config.timeout = Duration::from_secs(args.lambda_timeout_seconds);
            (name, config)
        })
        .collect();
    let config = EmulatorConfig {
        lambdas: lambdas.clone(),
        faults: faults.clone(),
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
        time_scale: args.time_scale,
        data_dir: args.data_dir.clone(),
        shard_write_limits: !args.no_shard_limits,
        shard_read_limits: !args.no_shard_limits,
        ..EmulatorConfig::default()
    };
    let region = config.region.clone();
    let emulator = match Emulator::start(config).await {
        Ok(emulator) => emulator,
        Err(error @ StartError::InvalidTimeScale(_)) => {
            return fail(exit::BAD_INPUT, &anyhow::Error::new(error));
        }
        Err(error) => return fail(exit::ENVIRONMENT_FAILED, &anyhow::Error::new(error)),
    };
    let endpoint = emulator.endpoint();
    println!("streamproof emulator: Kinesis, Firehose, S3 and CloudWatch Logs at {endpoint}");
    println!(
        "time scale {}; S3 data {}",
        args.time_scale,
        match &args.data_dir {
            Some(dir) => format!("kept in {}", dir.display()),
            None => "in memory only".to_owned(),
        }
    );
    println!("Point the AWS CLI, boto3 or an SDK at it with:");
    print_exports(&endpoint.to_string(), &region, true);
    println!(
        "S3 takes path-style requests, or virtual-host style at http://<bucket>.localhost:{}",
        emulator.local_addr().port()
    );
    println!(
        "Delivery errors go to the log group and stream a destination's CloudWatchLoggingOptions name: \
         aws logs filter-log-events --log-group-name <group>"
    );
    if !faults.is_empty() {
        println!("injecting faults (ground truth is printed on stop and logged as it happens): {faults:?}");
    }
    for (name, lambda) in &lambdas {
        println!(
            "transformation handler {} ({:?}, in {}) as arn:aws:lambda:{region}:000000000000:function:{name}",
            lambda.handler,
            lambda.runtime,
            lambda.code_dir.display()
        );
    }
    println!("Press Ctrl-C to stop.");
    let signal = shutdown_signal().await;
    println!("stopping ({signal})");
    let log = emulator.fault_log();
    if !log.is_empty() {
        println!("injected faults (ground truth, records named by the {DEFAULT_ENVELOPE_FIELD} envelope):");
        for fault in &log {
            println!("  {}", streamproof::run::describe_fault(fault, DEFAULT_ENVELOPE_FIELD));
        }
    }
    let transforms = emulator.transform_log();
    if !transforms.is_empty() {
        println!("records the transformation handlers dropped or failed:");
        for event in &transforms {
            let record = streamproof::run::record_name(&event.data, DEFAULT_ENVELOPE_FIELD);
            match &event.kind {
                TransformEventKind::Dropped => println!("  {}: {record} dropped", event.stream),
                TransformEventKind::Failed { error_code, object } => {
                    println!("  {}: {record} failed ({error_code}), written to {object}", event.stream)
                }
            }
        }
    }
    emulator.shutdown().await;
    println!("stopped");
    ExitCode::from(exit::PASS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_flags_register_handlers_and_bad_ones_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let spec = format!("upper=node:{}:transform:handler", dir.path().display());
        let (name, config) = parse_lambda(&spec).unwrap();
        assert_eq!(
            (name.as_str(), config.runtime, config.handler.as_str()),
            ("upper", TransformRuntime::Node, "transform:handler")
        );
        assert_eq!(config.code_dir, dir.path());
        assert!(parse_lambda("upper").unwrap_err().contains("NAME=RUNTIME:DIR:MODULE:FUNCTION"));
        assert!(parse_lambda("upper=ruby:.:t:h").unwrap_err().contains("unknown runtime \"ruby\""));
        assert!(parse_lambda("upper=python:transform:handler").unwrap_err().contains("expected NAME="));
        assert!(parse_lambda("upper=python:/no/such/dir:t:h").unwrap_err().contains("not a directory"));
    }
}
