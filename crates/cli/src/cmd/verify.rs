//! `streamproof verify`: verify a run produced earlier or elsewhere, from its expectation file and
//! its bucket, or objects kept as local files (a downloaded backup).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use scenario::{Delivery, Expect, Ordering};
use serde_json::Value;
use streamproof::exit;
use verifier::{BufferingCheck, Destination, ObjectSource, VerifyOptions};

use crate::cmd::stats;
use streamproof::exit::fail;

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The expectation file the producer wrote for the run; for a run split with `--part i/N`, give
    /// every part's file (repeat the option, or list them after it) and their union is verified.
    #[arg(long, required = true, num_args = 1..)]
    expectation: Vec<PathBuf>,
    /// The bucket the pipeline delivers to.
    #[arg(long, required_unless_present = "objects", conflicts_with = "objects")]
    bucket: Option<String>,
    /// Verify objects kept as local files instead of a bucket: a file, or every file under a
    /// directory (a copy made with `aws s3 sync`); a file's modification time stands for LastModified.
    #[arg(long, value_name = "PATH")]
    objects: Option<PathBuf>,
    /// Key prefix to read; the whole bucket by default.
    #[arg(long, default_value = "")]
    prefix: String,
    /// S3 endpoint URL, e.g. `http://127.0.0.1:4566`. Without it the bucket is read from AWS
    /// itself, which needs `--allow-remote`.
    #[arg(long, conflicts_with = "objects")]
    endpoint: Option<String>,
    /// Allow reading real AWS S3 (no `--endpoint`, or a non-loopback one), with the default AWS
    /// credential chain and region.
    #[arg(long)]
    allow_remote: bool,
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
    /// Also print the records read, the time spent and the peak memory as one JSON line.
    #[arg(long)]
    stats_json: bool,
    /// With a scenario whose destination is OpenSearch or Elasticsearch: the index the run wrote to,
    /// as `streamproof run --keep` or `streamproof env up` printed it (a name ending in `*` is read
    /// as a pattern). `--bucket` and `--prefix` are then the S3 backup.
    #[arg(long, requires = "scenario", conflicts_with = "objects")]
    index: Option<String>,
    /// With `--index`: the cluster's REST URL (plain http), such as the embedded emulator's
    /// in-process domain `http://127.0.0.1:<port>/_opensearch/streamproof`; by default the
    /// scenario's `endpoint`.
    #[arg(long, requires = "index")]
    search_endpoint: Option<String>,
}

/// Where a search destination's records are, from the scenario and the options.
fn search_check(
    args: &VerifyArgs,
    path: &std::path::Path,
    pipeline: &scenario::Pipeline,
) -> anyhow::Result<Option<verifier::SearchCheck>> {
    let Some(search) = &pipeline.search else {
        if args.index.is_some() {
            return Err(anyhow!("--index is for a search destination, and {} has none", path.display()));
        }
        return Ok(None);
    };
    let Some(index) = args.index.clone() else {
        return Err(anyhow!(
            "{} has a search destination: give --index NAME (the index the run wrote to, as `streamproof \
             run --keep` or `streamproof env up` printed it) and --bucket B for its S3 backup",
            path.display()
        ));
    };
    let Some(endpoint) = args.search_endpoint.clone().or_else(|| search.endpoint.clone()) else {
        return Err(anyhow!(
            "give --search-endpoint URL: {} names no cluster `endpoint` (for the embedded emulator's \
             in-process domain: http://127.0.0.1:<port>/_opensearch/{})",
            path.display(),
            search.domain
        ));
    };
    let backup_prefix = if args.prefix.is_empty() {
        pipeline.prefix.configured().unwrap_or_default().to_owned()
    } else {
        args.prefix.clone()
    };
    Ok(Some(verifier::SearchCheck {
        service: search.service,
        endpoint,
        rotation: search.rotation != scenario::IndexRotation::NoRotation && !index.ends_with('*'),
        index,
        backup_mode: search.backup_mode,
        failed_prefix: search.service.failed_prefix(&backup_prefix),
        backup_prefix,
    }))
}

pub(crate) async fn run(args: VerifyArgs) -> ExitCode {
    let mut parts = Vec::with_capacity(args.expectation.len());
    for path in &args.expectation {
        match producer::Expectation::read(path) {
            Ok(expectation) => parts.push(expectation),
            Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
        }
    }
    let expectation = match producer::Expectation::union(parts) {
        Ok(expectation) => expectation,
        Err(error) => {
            return fail(exit::BAD_INPUT, &anyhow!("cannot combine the expectation files: {error}"));
        }
    };
    let mut destination = Destination::S3;
    let (mut expect, buffering) = match &args.scenario {
        Some(path) => match scenario::load(path) {
            Ok(scenario) => {
                match search_check(&args, path, &scenario.pipeline) {
                    Ok(Some(search)) => destination = Destination::Search(search),
                    Ok(None) => {}
                    Err(error) => return fail(exit::BAD_INPUT, &error),
                }
                if scenario.pipeline.transform.is_some() {
                    // The run's error output is read as `run` reads it; which records the handler
                    // dropped only the backend that ran it knows.
                    let unknown = "no backend log (streamproof verify reads objects only, so records the \
                                   transformation dropped count as lost)";
                    let check = streamproof::run::transform_check(&scenario, unknown.to_owned());
                    destination = Destination::Transformed { check, dropped: None };
                }
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
                max_shard_share: None,
                max_throttled_fraction: None,
                max_failed_fraction: 0.0,
                format: None,
            },
            None,
        ),
    };
    expect.timeout = Duration::from_secs(args.timeout);
    let started = Instant::now();
    let options = VerifyOptions {
        bucket: args.bucket.clone().unwrap_or_default(),
        prefix: args.prefix.clone(),
        destination,
        expect,
        poll_interval: Duration::from_secs(1),
        buffering,
        // Objects read after the fact: send times and LastModified share the wall clock.
        time_scale: None,
        transitions: Vec::new(),
    };
    let verified = match (&args.objects, &args.bucket) {
        (Some(path), _) => verifier::verify(ObjectSource::Files(path), &expectation, &options)
            .await
            .map_err(|error| (exit::BAD_INPUT, anyhow::Error::new(error))),
        (None, Some(_)) => {
            let endpoint = match environment::Endpoint::resolve(args.endpoint.as_deref(), args.allow_remote) {
                Ok(endpoint) => endpoint,
                Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
            };
            let s3 = endpoint.clients().await.s3;
            verifier::verify(ObjectSource::S3(&s3), &expectation, &options)
                .await
                .map_err(|error| (exit::ENVIRONMENT_FAILED, anyhow::Error::new(error)))
        }
        (None, None) => {
            Err((exit::BAD_INPUT, anyhow!("give --objects PATH, or --bucket B (with --endpoint URL)")))
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let report = match verified {
        Ok(report) => report,
        Err((code, error)) => return fail(code, &error),
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
    if args.stats_json {
        let records = report.counts.records;
        stats::print(
            "verify",
            &[
                ("records", Value::from(records)),
                ("objects", Value::from(report.counts.objects)),
                ("bytes", Value::from(report.counts.bytes)),
                ("passed", Value::from(report.passed())),
                ("seconds", Value::from(seconds)),
                (
                    "records_per_second",
                    Value::from(if seconds > 0.0 { records as f64 / seconds } else { 0.0 }),
                ),
            ],
        );
    }
    ExitCode::from(if report.passed() { exit::PASS } else { exit::ASSERTION_FAILED })
}
