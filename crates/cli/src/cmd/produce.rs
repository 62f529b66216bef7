//! `streamproof produce`: send a scenario's workload to a pipeline provisioned elsewhere and write the
//! expectation for a later `streamproof verify`; provisions nothing and verifies nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use environment::Endpoint;
use producer::{Part, ProduceControl, ProduceOptions, ProgressMode, RetryPolicy, Target};
use scenario::Source;
use streamproof::exit;

use streamproof::exit::fail;

#[derive(Debug, clap::Args)]
pub(crate) struct ProduceArgs {
    /// The scenario file (TOML); its [workload] says what to send.
    scenario: PathBuf,
    /// Base URL of the Kinesis and Firehose endpoint, e.g. http://127.0.0.1:4566. Without it the
    /// workload goes to AWS itself, which needs `--allow-remote`.
    #[arg(long)]
    endpoint: Option<String>,
    /// Allow sending to real AWS (no `--endpoint`, or a non-loopback one), signed with the default
    /// AWS credential chain.
    #[arg(long)]
    allow_remote: bool,
    /// Kinesis stream to put to (required when the scenario's source is "kinesis").
    #[arg(long)]
    stream: Option<String>,
    /// Firehose delivery stream to put to (required when the scenario's source is "direct-put").
    #[arg(long)]
    delivery_stream: Option<String>,
    /// Region the clients sign for (default: us-east-1 on a loopback endpoint, the default chain's
    /// region on AWS).
    #[arg(long)]
    region: Option<String>,
    /// Sign with the default AWS credential chain instead of the test keys (`test` / `test`) on a
    /// loopback endpoint; a remote one always uses the chain.
    #[arg(long)]
    default_credentials: bool,
    /// Send only part i of N of the key space (0-based, e.g. 0/4); every part needs the same --run-id.
    #[arg(long, value_name = "i/N")]
    part: Option<Part>,
    /// Run id written into every envelope (default: a fresh one; required with --part i/N, N > 1).
    #[arg(long)]
    run_id: Option<String>,
    /// Where to write the expectation file.
    #[arg(long, default_value = "expectation.json")]
    expectation: PathBuf,
    /// Attempts per record before it is reported as failed.
    #[arg(long, default_value_t = RetryPolicy::default().max_attempts)]
    max_attempts: u32,
}

pub(crate) async fn run(args: ProduceArgs) -> ExitCode {
    let scenario = match scenario::load(&args.scenario) {
        Ok(scenario) => scenario,
        Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
    };
    let part = args.part.unwrap_or(Part::WHOLE);
    let run_id = match (args.run_id, part.count) {
        (Some(run_id), _) => run_id,
        (None, 1) => streamproof::run::new_run_id(),
        (None, _) => {
            return fail(
                exit::BAD_INPUT,
                &anyhow::anyhow!(
                    "--part {part} needs --run-id: every part of a run must carry the same run id"
                ),
            );
        }
    };
    if args.max_attempts == 0 {
        return fail(exit::BAD_INPUT, &anyhow::anyhow!("--max-attempts must be at least 1"));
    }
    // The same remote-use rule as `run`, `verify` and `decode`: anything but loopback may be a real
    // account, and is refused unless asked for.
    let mut endpoint = match Endpoint::resolve(args.endpoint.as_deref(), args.allow_remote) {
        Ok(endpoint) => endpoint,
        Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
    };
    endpoint.use_default_credentials |= args.default_credentials;
    if let Some(region) = args.region {
        endpoint.region = region;
    }
    let clients = endpoint.clients().await;
    let target = match (scenario.pipeline.source, args.stream, args.delivery_stream) {
        (Source::KinesisStream, Some(stream_name), _) => {
            Target::Kinesis { client: clients.kinesis, stream_name }
        }
        (Source::DirectPut, _, Some(delivery_stream_name)) => {
            Target::Firehose { client: clients.firehose, delivery_stream_name }
        }
        (Source::KinesisStream, None, _) => {
            return fail(exit::BAD_INPUT, &anyhow::anyhow!("a kinesis-source scenario needs --stream NAME"));
        }
        (Source::DirectPut, _, None) => {
            return fail(
                exit::BAD_INPUT,
                &anyhow::anyhow!("a direct-put scenario needs --delivery-stream NAME"),
            );
        }
    };
    println!(
        "streamproof produce {} part {part} ({} events, schema {}) to {} as run {run_id}",
        scenario.name,
        scenario.workload.events,
        scenario.workload.schema.name(),
        if endpoint.is_aws() { "AWS" } else { endpoint.url.as_str() },
    );
    let retry =
        RetryPolicy { max_attempts: args.max_attempts, ..RetryPolicy::for_workload(&scenario.workload) };
    let options = ProduceOptions { run_id, retry };
    let control = ProduceControl { part, progress: ProgressMode::Auto, probe: None };
    let produced = match producer::produce_with(&target, &scenario.workload, &options, &control).await {
        Ok(produced) => produced,
        Err(error) => return fail(exit::ENVIRONMENT_FAILED, &anyhow::Error::new(error)),
    };
    println!("{}", produced.metrics.summary());
    for (seq, reason) in produced.expectation.failed.iter().take(10) {
        println!("  failed seq {seq}: {reason}");
    }
    if let Err(error) = produced.expectation.write(&args.expectation) {
        return fail(exit::ENVIRONMENT_FAILED, &anyhow::Error::new(error));
    }
    println!("expectation: {}", args.expectation.display());
    ExitCode::from(exit::PASS)
}
