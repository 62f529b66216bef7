//! `streamproof generate`: a scenario's records as Firehose would deliver them, without a pipeline.
//!
//! Writes one file, or a directory of Firehose-named objects, plus the matching expectation file, so
//! that `streamproof decode` and `streamproof verify --objects` (and any downstream consumer) can be
//! exercised on realistic objects. It also measures generation speed on its own: only the time spent
//! making records counts, never the time spent writing them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use flate2::Compression;
use flate2::write::GzEncoder;
use producer::Records;
use serde_json::Value;
use streamproof::exit;

use crate::cmd::stats;
use streamproof::exit::fail;

/// Records are made in chunks of about this many bytes between two writes.
const CHUNK_BYTES: usize = 1 << 20;

#[derive(Debug, clap::Args)]
pub(crate) struct GenerateArgs {
    /// The scenario file (TOML); its [workload] says what to generate.
    scenario: PathBuf,
    /// Number of events; the scenario's `events` by default.
    #[arg(long)]
    events: Option<u64>,
    /// Run id written into every envelope (default: a fresh one).
    #[arg(long)]
    run_id: Option<String>,
    /// Write every record into this one file.
    #[arg(long, value_name = "FILE", conflicts_with = "objects")]
    out: Option<PathBuf>,
    /// Write the records as Firehose objects (`YYYY/MM/dd/HH/<scenario>-1-…`) under this directory.
    #[arg(long, value_name = "DIR")]
    objects: Option<PathBuf>,
    /// Size of each object before compression, in MiB (Firehose's SizeInMBs).
    #[arg(long, default_value_t = 5, value_name = "MIB")]
    object_mb: u64,
    /// Compress the output with GZIP (objects are then named `*.gz`).
    #[arg(long)]
    gzip: bool,
    /// End every record with a newline, as the AppendDelimiterToRecord processor does; records are
    /// concatenated with no delimiter by default, as Firehose delivers them.
    #[arg(long)]
    newline: bool,
    /// Write the expectation (every record acknowledged) here, for `streamproof verify`.
    #[arg(long, value_name = "FILE")]
    expectation: Option<PathBuf>,
    /// Print the measurements as one JSON line on stdout instead of a sentence.
    #[arg(long)]
    stats_json: bool,
}

pub(crate) fn run(args: GenerateArgs) -> ExitCode {
    let scenario = match scenario::load(&args.scenario) {
        Ok(scenario) => scenario,
        Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
    };
    if args.object_mb == 0 {
        return fail(exit::BAD_INPUT, &anyhow!("--object-mb must be at least 1"));
    }
    let events = args.events.unwrap_or(scenario.workload.events);
    let run_id = args.run_id.clone().unwrap_or_else(streamproof::run::new_run_id);
    let sent_ns = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(0);
    let mut records = Records::new(&scenario.workload, events, &run_id, sent_ns);
    let sink = match (&args.out, &args.objects) {
        (Some(file), _) => Sink::File(open(file, args.gzip)),
        (None, Some(dir)) => {
            Sink::Objects(Objects::new(dir, &scenario.name, args.object_mb << 20, args.gzip))
        }
        (None, None) => Sink::Discard,
    };
    let started = Instant::now();
    let generated = match write_records(&mut records, sink, args.newline) {
        Ok(generated) => generated,
        Err(error) => return fail(exit::ENVIRONMENT_FAILED, &error),
    };
    let elapsed = started.elapsed();
    if let Some(path) = &args.expectation
        && let Err(error) = records.expectation().write(path)
    {
        return fail(exit::ENVIRONMENT_FAILED, &anyhow::Error::new(error));
    }
    let seconds = generated.generating.as_secs_f64();
    let per_second = if seconds > 0.0 { records.made() as f64 / seconds } else { 0.0 };
    if args.stats_json {
        stats::print(
            "generate",
            &[
                ("schema", Value::from(scenario.workload.schema.name())),
                ("run_id", Value::from(run_id)),
                ("events", Value::from(records.made())),
                ("bytes", Value::from(generated.bytes)),
                ("objects", Value::from(generated.objects)),
                ("generate_seconds", Value::from(seconds)),
                ("events_per_second", Value::from(per_second)),
                ("elapsed_seconds", Value::from(elapsed.as_secs_f64())),
            ],
        );
    } else {
        println!(
            "generated {} {} events ({} bytes) for run {run_id} in {seconds:.2} s of generation \
             ({per_second:.0} events/s on one core); {} objects written in {:.2} s in all",
            records.made(),
            scenario.workload.schema.name(),
            generated.bytes,
            generated.objects,
            elapsed.as_secs_f64(),
        );
        if let Some(path) = &args.expectation {
            println!("expectation: {}", path.display());
        }
    }
    ExitCode::from(exit::PASS)
}

/// Where records go.
enum Sink {
    /// Nowhere: generation speed alone.
    Discard,
    File(anyhow::Result<Output>),
    Objects(Objects),
}

/// A file being written, compressed or not.
enum Output {
    Plain(BufWriter<File>),
    Gzip(Box<GzEncoder<BufWriter<File>>>),
}

impl Output {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Plain(out) => out.write_all(bytes),
            Output::Gzip(out) => out.write_all(bytes),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Output::Plain(mut out) => out.flush(),
            Output::Gzip(out) => out.finish()?.flush(),
        }
    }
}

fn open(path: &Path, gzip: bool) -> anyhow::Result<Output> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let out = BufWriter::with_capacity(1 << 16, file);
    Ok(if gzip {
        Output::Gzip(Box::new(GzEncoder::new(out, Compression::default())))
    } else {
        Output::Plain(out)
    })
}

/// Objects named as Firehose names them, filled up to a size each.
struct Objects {
    dir: PathBuf,
    name: String,
    size: u64,
    gzip: bool,
    /// The hour prefix and timestamp of the names, from the time of the first object.
    prefix: String,
    stamp: String,
    written: u64,
    current: Option<(PathBuf, Output, u64)>,
}

impl Objects {
    fn new(dir: &Path, name: &str, size: u64, gzip: bool) -> Objects {
        let now = time::OffsetDateTime::now_utc();
        let (year, month, day, hour) = (now.year(), u8::from(now.month()), now.day(), now.hour());
        Objects {
            dir: dir.to_owned(),
            name: name.to_owned(),
            size,
            gzip,
            prefix: format!("{year:04}/{month:02}/{day:02}/{hour:02}"),
            stamp: format!("{year:04}-{month:02}-{day:02}-{hour:02}-{:02}-{:02}", now.minute(), now.second()),
            written: 0,
            current: None,
        }
    }

    /// Appends one record, starting a new object when the current one is full.
    fn write(&mut self, record: &[u8]) -> anyhow::Result<()> {
        if self.current.as_ref().is_some_and(|(_, _, bytes)| *bytes >= self.size) {
            self.close()?;
        }
        if self.current.is_none() {
            // A counter in place of Firehose's random suffix keeps path order equal to write order.
            let extension = if self.gzip { ".gz" } else { "" };
            let path = self
                .dir
                .join(&self.prefix)
                .join(format!("{}-1-{}-{:08}{extension}", self.name, self.stamp, self.written));
            let output = open(&path, self.gzip)?;
            self.current = Some((path, output, 0));
        }
        let (path, output, bytes) = self.current.as_mut().expect("an object is open");
        output.write_all(record).with_context(|| format!("cannot write {}", path.display()))?;
        *bytes += record.len() as u64;
        Ok(())
    }

    fn close(&mut self) -> anyhow::Result<()> {
        if let Some((path, output, _)) = self.current.take() {
            output.finish().with_context(|| format!("cannot write {}", path.display()))?;
            self.written += 1;
        }
        Ok(())
    }
}

/// What writing found: bytes of records (before compression), objects written, time spent generating.
struct Generated {
    bytes: u64,
    objects: u64,
    generating: Duration,
}

/// Makes every record in chunks, timing only the making, and hands each chunk to `sink`.
fn write_records(records: &mut Records, sink: Sink, newline: bool) -> anyhow::Result<Generated> {
    let mut generated = Generated { bytes: 0, objects: 0, generating: Duration::ZERO };
    let mut chunk = Vec::with_capacity(CHUNK_BYTES + (64 << 10));
    let mut ends = Vec::new();
    let (mut file, mut objects) = match sink {
        Sink::Discard => (None, None),
        Sink::File(output) => (Some(output?), None),
        Sink::Objects(objects) => (None, Some(objects)),
    };
    loop {
        chunk.clear();
        ends.clear();
        let started = Instant::now();
        let mut done = false;
        while chunk.len() < CHUNK_BYTES {
            if records.next_into(&mut chunk).is_none() {
                done = true;
                break;
            }
            if newline {
                chunk.push(b'\n');
            }
            ends.push(chunk.len());
        }
        generated.generating += started.elapsed();
        generated.bytes += chunk.len() as u64;
        if let Some(file) = &mut file {
            file.write_all(&chunk).context("cannot write the records")?;
        }
        if let Some(objects) = &mut objects {
            let mut start = 0;
            for &end in &ends {
                objects.write(&chunk[start..end])?;
                start = end;
            }
        }
        if done {
            break;
        }
    }
    if let Some(file) = file {
        file.finish().context("cannot write the records")?;
        generated.objects = 1;
    }
    if let Some(mut objects) = objects {
        objects.close()?;
        generated.objects = objects.written;
    }
    Ok(generated)
}
