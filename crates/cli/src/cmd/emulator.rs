//! `streamproof emulator serve`: the embedded Kinesis + Firehose + S3 emulator as a standalone local endpoint.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use emulator::{
    Emulator, EmulatorConfig, Faults, ShardStall, StartError, TransformConfig, TransformEventKind,
    TransformRuntime,
};
use scenario::DEFAULT_ENVELOPE_FIELD;
use streamproof::exit;

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
    /// Accept any write rate instead of AWS's per-shard limits (1 MiB/s and 1,000 records/s).
    #[arg(long)]
    no_shard_limits: bool,
    /// Inject a fault, acknowledged to clients as a success and logged as ground truth; repeatable.
    /// Per record: drop=P, duplicate=P, reorder=P, corrupt=P (Firehose); per object: truncate=P,
    /// delay=P with delay-seconds=S, s3-put-failure=P; drop-kinesis=N loses the Nth accepted
    /// Kinesis entry (0-based); client-visible: throttle-burst=P per Kinesis request,
    /// internal-failure=P per Kinesis entry; stall-shard=N with stall-seconds=S keeps Firehose from
    /// reading shard N; index-failure=P per document the in-process search domain rejects. P is a
    /// probability in 0..=1.
    #[arg(long = "fault", value_name = "KIND=VALUE", value_parser = parse_fault)]
    faults: Vec<FaultArg>,
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

/// One `--fault KIND=VALUE`.
#[derive(Debug, Clone, Copy)]
enum FaultArg {
    Rate(FaultRate, f64),
    DelaySeconds(u64),
    DropKinesis(u64),
    StallShard(u64),
    StallSeconds(u64),
}

#[derive(Debug, Clone, Copy)]
enum FaultRate {
    Drop,
    Duplicate,
    Reorder,
    Corrupt,
    Truncate,
    Delay,
    S3PutFailure,
    ThrottleBurst,
    InternalFailure,
    IndexFailure,
}

fn parse_fault(text: &str) -> Result<FaultArg, String> {
    let (kind, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KIND=VALUE, such as drop=0.01; got {text:?}"))?;
    let rate = |rate: FaultRate| {
        let p: f64 = value.parse().map_err(|_| format!("{kind}: {value:?} is not a number"))?;
        if !(0.0..=1.0).contains(&p) {
            return Err(format!("{kind}: {p} is not a probability; must be between 0 and 1"));
        }
        Ok(FaultArg::Rate(rate, p))
    };
    let count = || value.parse::<u64>().map_err(|_| format!("{kind}: {value:?} is not a whole number"));
    match kind {
        "drop" => rate(FaultRate::Drop),
        "duplicate" => rate(FaultRate::Duplicate),
        "reorder" => rate(FaultRate::Reorder),
        "corrupt" => rate(FaultRate::Corrupt),
        "truncate" => rate(FaultRate::Truncate),
        "delay" => rate(FaultRate::Delay),
        "s3-put-failure" => rate(FaultRate::S3PutFailure),
        "throttle-burst" => rate(FaultRate::ThrottleBurst),
        "internal-failure" => rate(FaultRate::InternalFailure),
        "index-failure" => rate(FaultRate::IndexFailure),
        "stall-shard" => count().map(FaultArg::StallShard),
        "stall-seconds" => count().map(FaultArg::StallSeconds),
        "delay-seconds" => count().map(FaultArg::DelaySeconds),
        "drop-kinesis" => count().map(FaultArg::DropKinesis),
        other => Err(format!(
            "unknown fault {other:?}; expected drop, duplicate, reorder, corrupt, truncate, delay, \
             delay-seconds, s3-put-failure, drop-kinesis, throttle-burst, internal-failure, index-failure, \
             stall-shard or stall-seconds"
        )),
    }
}

/// The fault plan the flags describe.
fn fault_plan(seed: u64, args: &[FaultArg]) -> Result<Faults, String> {
    let mut faults = Faults { seed, ..Faults::default() };
    let (mut stall_shard, mut stall_seconds) = (None, None);
    let plan = &mut faults.firehose;
    for arg in args {
        match *arg {
            FaultArg::Rate(FaultRate::Drop, p) => plan.drop = p,
            FaultArg::Rate(FaultRate::Duplicate, p) => plan.duplicate = p,
            FaultArg::Rate(FaultRate::Reorder, p) => plan.reorder = p,
            FaultArg::Rate(FaultRate::Corrupt, p) => plan.corrupt = p,
            FaultArg::Rate(FaultRate::Truncate, p) => plan.truncate = p,
            FaultArg::Rate(FaultRate::Delay, p) => plan.delay = p,
            FaultArg::Rate(FaultRate::S3PutFailure, p) => plan.s3_put_failure = p,
            FaultArg::DelaySeconds(seconds) => plan.delay_by = Duration::from_secs(seconds),
            FaultArg::DropKinesis(ordinal) => {
                faults.drop_kinesis_records.insert(ordinal);
            }
            FaultArg::Rate(FaultRate::ThrottleBurst, p) => faults.throttle_burst = p,
            FaultArg::Rate(FaultRate::InternalFailure, p) => faults.internal_failure = p,
            FaultArg::Rate(FaultRate::IndexFailure, p) => faults.index_failure = p,
            FaultArg::StallShard(shard) => stall_shard = Some(shard),
            FaultArg::StallSeconds(seconds) => stall_seconds = Some(seconds),
        }
    }
    faults.stall_shard = match (stall_shard, stall_seconds) {
        (None, None) => None,
        (Some(shard), Some(seconds)) => Some(ShardStall {
            shard: usize::try_from(shard).map_err(|_| format!("stall-shard: {shard} is too large"))?,
            by: Duration::from_secs(seconds),
        }),
        _ => return Err("--fault stall-shard=N and --fault stall-seconds=S go together".to_owned()),
    };
    if faults.firehose.delay > 0.0 && faults.firehose.delay_by.is_zero() {
        return Err("--fault delay=P needs --fault delay-seconds=S".to_owned());
    }
    Ok(faults)
}

pub(crate) async fn run(args: EmulatorArgs) -> ExitCode {
    match args.command {
        EmulatorCommand::Serve(args) => serve(args).await,
    }
}

async fn serve(args: ServeArgs) -> ExitCode {
    let faults = match fault_plan(args.fault_seed, &args.faults) {
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
    println!("streamproof emulator: Kinesis, Firehose and S3 at {endpoint}");
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
    fn fault_flags_build_the_plan() {
        let args: Vec<FaultArg> =
            ["drop=0.01", "delay=0.5", "delay-seconds=7", "drop-kinesis=3", "drop-kinesis=9"]
                .iter()
                .map(|text| parse_fault(text).unwrap())
                .collect();
        let faults = fault_plan(42, &args).unwrap();
        assert_eq!(faults.seed, 42);
        assert_eq!(faults.firehose.drop, 0.01);
        assert_eq!(faults.firehose.delay, 0.5);
        assert_eq!(faults.firehose.delay_by, Duration::from_secs(7));
        assert_eq!(faults.drop_kinesis_records.into_iter().collect::<Vec<_>>(), [3, 9]);

        let args: Vec<FaultArg> =
            ["stall-shard=1", "stall-seconds=4", "internal-failure=0.1", "index-failure=0.02"]
                .iter()
                .map(|text| parse_fault(text).unwrap())
                .collect();
        let faults = fault_plan(0, &args).unwrap();
        assert_eq!(faults.stall_shard, Some(ShardStall { shard: 1, by: Duration::from_secs(4) }));
        assert_eq!(faults.internal_failure, 0.1);
        assert_eq!(faults.index_failure, 0.02);
        assert!(fault_plan(0, &args[..1]).unwrap_err().contains("go together"));
    }

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

    #[test]
    fn bad_fault_flags_say_what_is_wrong() {
        assert!(parse_fault("drop").unwrap_err().contains("KIND=VALUE"));
        assert!(parse_fault("drop=2").unwrap_err().contains("not a probability"));
        assert!(parse_fault("lose=0.1").unwrap_err().contains("unknown fault \"lose\""));
        assert!(parse_fault("drop-kinesis=-1").unwrap_err().contains("not a whole number"));
        let delay = [parse_fault("delay=1").unwrap()];
        assert!(fault_plan(0, &delay).unwrap_err().contains("delay-seconds"));
    }
}
