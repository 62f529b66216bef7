//! `streamproof verify`: verify a run produced earlier or elsewhere, from its expectation file and its bucket.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow};
use scenario::{Delivery, Expect, Ordering};
use streamproof::exit;
use verifier::{BufferingCheck, VerifyOptions};

use crate::fail;

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The expectation file the producer wrote for the run.
    #[arg(long)]
    expectation: PathBuf,
    /// The bucket the pipeline delivers to.
    #[arg(long)]
    bucket: String,
    /// Key prefix to read; the whole bucket by default.
    #[arg(long, default_value = "")]
    prefix: String,
    /// S3 endpoint URL, e.g. `http://127.0.0.1:4566`.
    #[arg(long)]
    endpoint: String,
    /// The run's scenario: its `[expect]` section and buffering hints apply. Without it: exactly
    /// once, ordered per key, a latency bound of 15 minutes, and no buffering analysis.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// How long to wait for missing records, in seconds; 0 reads the bucket once.
    #[arg(long, default_value_t = 0)]
    timeout: u64,
    /// The backend's name, as the buffering analysis names it.
    #[arg(long, default_value = "endpoint")]
    backend: String,
    /// The backend does not model Firehose buffering hints (the buffering assertion is then not applicable).
    #[arg(long)]
    no_buffering: bool,
    /// Directory for reports; each verification writes `verify-<run id>/` under it.
    #[arg(long, default_value = "streamproof-reports")]
    report_dir: PathBuf,
}

pub(crate) async fn run(args: VerifyArgs) -> ExitCode {
    let expectation = match producer::Expectation::read(&args.expectation) {
        Ok(expectation) => expectation,
        Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
    };
    let (mut expect, buffering) = match &args.scenario {
        Some(path) => match scenario::load(path) {
            Ok(scenario) => {
                let check =
                    BufferingCheck::new(scenario.pipeline.buffering, &args.backend, !args.no_buffering);
                (scenario.expect, Some(check))
            }
            Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
        },
        None => (
            Expect {
                delivery: Delivery::ExactlyOnce,
                ordering: Ordering::PerKey,
                max_latency: Duration::from_secs(15 * 60),
                timeout: Duration::ZERO,
            },
            None,
        ),
    };
    expect.timeout = Duration::from_secs(args.timeout);
    let options = VerifyOptions {
        bucket: args.bucket.clone(),
        prefix: args.prefix.clone(),
        expect,
        poll_interval: Duration::from_secs(1),
        buffering,
    };
    let s3 = environment::Endpoint::local(args.endpoint.clone()).clients().await.s3;
    let report = match verifier::verify(&s3, &expectation, &options).await {
        Ok(report) => report,
        Err(error) => return fail(exit::ENVIRONMENT_FAILED, &anyhow::Error::new(error)),
    };
    let dir = args.report_dir.join(format!("verify-{}", expectation.run_id));
    let written = std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the report directory {}", dir.display()))
        .and_then(|()| report.write_all(&dir).map_err(|error| anyhow!(error)));
    print!("{}", report.summary());
    match written {
        Ok(paths) => {
            println!("report: {}", paths.json.display());
            println!("junit: {}", paths.junit.display());
            println!("html: {}", paths.html.display());
        }
        Err(error) => return fail(exit::ENVIRONMENT_FAILED, &error),
    }
    ExitCode::from(if report.passed() { exit::PASS } else { exit::ASSERTION_FAILED })
}
