//! `streamproof decode`: Firehose S3 backups (files, directories or an S3 prefix) as NDJSON on stdout.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use streamproof::exit;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use verifier::{ExportError, ExportOptions, ExportSummary, TimeWindow};

use streamproof::exit::fail;

#[derive(Debug, clap::Args)]
pub(crate) struct DecodeArgs {
    /// A file, a directory (read recursively, in path order) or `s3://bucket/prefix`.
    source: String,
    /// Only objects last modified at or after this time (RFC 3339, e.g. `2026-11-23T20:00:00Z`);
    /// for local files, their modification time.
    #[arg(long, value_parser = parse_time)]
    since: Option<OffsetDateTime>,
    /// Only objects last modified at or before this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    until: Option<OffsetDateTime>,
    /// S3 endpoint URL for `s3://` sources, e.g. `http://127.0.0.1:4566`. Without it, an `s3://`
    /// source is read from AWS itself, which needs `--allow-remote`.
    #[arg(long)]
    endpoint: Option<String>,
    /// Allow reading real AWS S3 (no `--endpoint`, or a non-loopback one), with the default AWS
    /// credential chain and region (environment, profile, instance role).
    #[arg(long)]
    allow_remote: bool,
    /// With a time window, list the whole prefix instead of its `YYYY/MM/dd/HH/` hour prefixes
    /// (for a custom prefix that does not end in Firehose's hourly layout).
    #[arg(long)]
    flat: bool,
    /// Write `{"object": …, "offset": …, "record": …}` per line instead of the bare record.
    #[arg(long)]
    with_source: bool,
    /// The objects are Firehose error output or failed documents (`processing-failed/`,
    /// `AmazonOpenSearchService-failed/`, `elasticsearch-failed/`): write the original record of
    /// each document (its base64 `rawData`), to send again or re-index.
    #[arg(long)]
    raw_data: bool,
}

/// Exit code: 0 when every byte decoded, 1 when some did not (they are listed on stderr), 2 for bad
/// arguments or an unreadable path, 3 when S3 cannot be read.
pub(crate) async fn run(args: DecodeArgs) -> ExitCode {
    let window = match window(args.since, args.until) {
        Ok(window) => window,
        Err(error) => return fail(exit::BAD_INPUT, &error),
    };
    let options = ExportOptions { with_source: args.with_source, raw_data: args.raw_data };
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = match args.source.strip_prefix("s3://") {
        Some(location) => {
            let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
            if bucket.is_empty() {
                return fail(exit::BAD_INPUT, &anyhow!("{:?} names no bucket", args.source));
            }
            let endpoint = match environment::Endpoint::resolve(args.endpoint.as_deref(), args.allow_remote) {
                Ok(endpoint) => endpoint,
                Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
            };
            let s3 = endpoint.clients().await.s3;
            verifier::export_s3(&mut out, &s3, bucket, prefix, window, !args.flat, options).await
        }
        None => verifier::export_path(&mut out, &PathBuf::from(&args.source), window, options),
    };
    let flushed = out.flush();
    let summary = match result {
        Ok(summary) => summary,
        Err(error) => {
            let code = match &error {
                ExportError::Read { .. } => exit::BAD_INPUT,
                ExportError::S3(_) | ExportError::Write(_) => exit::ENVIRONMENT_FAILED,
            };
            return fail(code, &anyhow::Error::new(error).context(format!("cannot decode {}", args.source)));
        }
    };
    if let Err(error) = flushed {
        return fail(exit::ENVIRONMENT_FAILED, &anyhow::Error::new(error).context("cannot write to stdout"));
    }
    report(&summary);
    ExitCode::from(if summary.corrupt + summary.damaged == 0 { exit::PASS } else { exit::ASSERTION_FAILED })
}

/// What did not decode, and the totals, on stderr (stdout holds only records).
fn report(summary: &ExportSummary) {
    for example in &summary.examples {
        if example.length == 0 {
            eprintln!("damaged {} after {} bytes: {}", example.object, example.offset, example.excerpt);
        } else {
            eprintln!(
                "corrupt {} at offset {}, {} bytes: {:?}",
                example.object, example.offset, example.length, example.excerpt
            );
        }
    }
    let shown = summary.examples.len() as u64;
    if summary.corrupt + summary.damaged > shown {
        eprintln!("… and {} more", summary.corrupt + summary.damaged - shown);
    }
    eprintln!(
        "decoded {} records from {} objects; {} corrupt spans, {} damaged gzip streams",
        summary.records, summary.objects, summary.corrupt, summary.damaged
    );
}

fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|error| format!("not an RFC 3339 time ({error})"))
}

fn window(
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
) -> anyhow::Result<Option<TimeWindow>> {
    if since.is_none() && until.is_none() {
        return Ok(None);
    }
    let ns = |time: OffsetDateTime| u64::try_from(time.unix_timestamp_nanos()).context("times before 1970");
    let since_ns = since.map(ns).transpose()?.unwrap_or(0);
    let until_ns = match until {
        Some(until) => ns(until)?,
        None => u64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(u64::MAX),
    };
    if since_ns > until_ns {
        return Err(anyhow!("--since is after --until"));
    }
    Ok(Some(TimeWindow { since_ns, until_ns }))
}
