//! `cargo xtask bench [--quick]`: the performance figures, each measured against a peer in the same run.
//!
//! Builds the release binary once, then measures through its user-facing commands: `generate`
//! (events/s before any I/O), `decode` against the Python `raw_decode` loop in `xtask/bench/`,
//! `verify --objects` (records/s and peak RSS), and `run` end to end on the emulator and on LocalStack
//! host mode. Inputs, reports and `bench.json` go under `target/bench/`. Absolute times on shared
//! machines are noisy, so the headline of every figure is a ratio against a peer measured here.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::step::step;

const SCHEMAS: &[&str] = &["clickstream", "app-event", "segment-track", "person-item"];
const MIB: f64 = 1024.0 * 1024.0;

/// Input sizes of one mode.
struct Sizes {
    generate_events: u64,
    decode_bytes: u64,
    verify_records: u64,
    e2e_events: u64,
    e2e_64_events: u64,
    localstack_events: u64,
}

const FULL: Sizes = Sizes {
    generate_events: 2_000_000,
    decode_bytes: 200_000_000,
    verify_records: 10_000_000,
    e2e_events: 500_000,
    e2e_64_events: 500_000,
    localstack_events: 20_000,
};

const QUICK: Sizes = Sizes {
    generate_events: 200_000,
    decode_bytes: 20_000_000,
    verify_records: 1_000_000,
    e2e_events: 100_000,
    e2e_64_events: 100_000,
    localstack_events: 3_000,
};

/// One figure: our value, the peer's, and what the ratio must reach.
struct Figure {
    name: String,
    unit: &'static str,
    value: f64,
    peer_name: String,
    peer_value: f64,
    /// The target of the ratio or, for figures compared with their target, of the value.
    target: Option<f64>,
    note: String,
}

impl Figure {
    fn ratio(&self) -> f64 {
        if self.peer_value > 0.0 { self.value / self.peer_value } else { f64::INFINITY }
    }

    fn met(&self) -> Option<bool> {
        self.target.map(|target| self.ratio() >= target)
    }
}

pub(crate) fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let quick = match args {
        [] => false,
        [flag] if flag == "--quick" => true,
        _ => bail!("usage: cargo xtask bench [--quick]"),
    };
    let sizes = if quick { &QUICK } else { &FULL };
    let root = sh.current_dir();
    let out = root.join("target/bench");
    let data = out.join("data");
    let scenarios = out.join("scenarios");
    let reports = out.join("reports");
    for dir in [&data, &scenarios, &reports] {
        sh.remove_path(dir)?;
        sh.create_dir(dir)?;
    }
    let started = Instant::now();
    step("build streamproof (release)", || Ok(cmd!(sh, "cargo build --release -p streamproof").run()?))?;
    let bench = Bench { sh, binary: root.join("target/release/streamproof"), root, data, scenarios, reports };
    let mut figures = Vec::new();
    step("generate", || bench.generate(sizes, &mut figures))?;
    step("decode", || bench.decode(sizes, &mut figures))?;
    step("verify", || bench.verify(sizes, &mut figures))?;
    step("end to end", || bench.end_to_end(sizes, &mut figures))?;

    let table = table(&figures);
    println!("{table}");
    let json = bench.json(quick, &figures, started.elapsed().as_secs_f64())?;
    sh.write_file(out.join("bench.json"), json)?;
    println!("written: {}", out.join("bench.json").display());
    Ok(())
}

struct Bench<'a> {
    sh: &'a Shell,
    binary: PathBuf,
    root: PathBuf,
    data: PathBuf,
    scenarios: PathBuf,
    reports: PathBuf,
}

impl Bench<'_> {
    /// Copies `xtask/bench/<name>` to the scenarios directory with `events` (and `schema`) replaced.
    fn scenario(&self, name: &str, out_name: &str, events: u64, schema: Option<&str>) -> Result<PathBuf> {
        let text = self.sh.read_file(self.root.join("xtask/bench").join(name))?;
        let mut replaced = String::new();
        for line in text.lines() {
            if line.starts_with("events = ") {
                writeln!(replaced, "events = {events}")?;
            } else if let (Some(schema), true) = (schema, line.starts_with("schema = ")) {
                writeln!(replaced, "schema = \"{schema}\"")?;
            } else {
                writeln!(replaced, "{line}")?;
            }
        }
        let path = self.scenarios.join(out_name);
        self.sh.write_file(&path, replaced)?;
        Ok(path)
    }

    /// Runs the binary and returns its stdout, failing with its stderr when it fails.
    fn streamproof(&self, args: &[&str]) -> Result<String> {
        let output = Command::new(&self.binary)
            .args(args)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped())
            .output()
            .with_context(|| format!("cannot run {}", self.binary.display()))?;
        if !output.status.success() {
            bail!(
                "streamproof {} failed ({}):\n{}{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn generate(&self, sizes: &Sizes, figures: &mut Vec<Figure>) -> Result<()> {
        for schema in SCHEMAS {
            let scenario =
                self.scenario("generate.toml", &format!("generate-{schema}.toml"), 1, Some(schema))?;
            let events = sizes.generate_events.to_string();
            let stats = self.streamproof(&[
                "generate",
                path_str(&scenario)?,
                "--events",
                &events,
                "--run-id",
                "bench",
                "--stats-json",
            ])?;
            let rate = json_number(&stats, "events_per_second")?;
            let bytes = json_number(&stats, "bytes")?;
            eprintln!(
                "    {schema}: {rate:.0} events/s ({:.0} bytes per event)",
                bytes / sizes.generate_events as f64
            );
            figures.push(Figure {
                name: format!("generate {schema}"),
                unit: "events/s",
                value: rate,
                peer_name: "target 500 k/s".into(),
                peer_value: 500_000.0,
                target: (*schema == "clickstream").then_some(1.0),
                note: format!("{} events, one core, before any I/O", sizes.generate_events),
            });
        }
        Ok(())
    }

    fn decode(&self, sizes: &Sizes, figures: &mut Vec<Figure>) -> Result<()> {
        // Size the input from the bytes per event of a small sample.
        let sample = self.scenario("decode.toml", "decode.toml", 10_000, None)?;
        let stats =
            self.streamproof(&["generate", path_str(&sample)?, "--run-id", "bench", "--stats-json"])?;
        let per_event = json_number(&stats, "bytes")? / 10_000.0;
        let events = ((sizes.decode_bytes as f64 / per_event) as u64).max(1).to_string();
        let plain = self.data.join("decode.json");
        let gzip = self.data.join("decode.json.gz");
        for (path, extra) in [(&plain, None), (&gzip, Some("--gzip"))] {
            let mut args = vec![
                "generate",
                path_str(&sample)?,
                "--events",
                &events,
                "--run-id",
                "bench",
                "--out",
                path_str(path)?,
            ];
            args.extend(extra);
            self.streamproof(&args)?;
        }
        let bytes = self.sh.read_binary_file(&plain)?.len() as f64;
        for (label, path) in [("plain", &plain), ("gzip", &gzip)] {
            // Best of three for the short run, one run of the slow peer.
            let mut ours = f64::INFINITY;
            let mut records = 0;
            for _ in 0..3 {
                let (seconds, count) = self.time_decode(path)?;
                ours = ours.min(seconds);
                records = count;
            }
            let (theirs, peer_records) = self.time_python(path)?;
            if records != peer_records {
                bail!("decode {label}: streamproof found {records} records, the Python loop {peer_records}");
            }
            let size = self.sh.read_binary_file(path)?.len() as f64;
            eprintln!(
                "    {label}: {records} records, {:.1} MB in a {:.1} MB file: streamproof {ours:.2} s, python {theirs:.2} s",
                bytes / 1e6,
                size / 1e6
            );
            let note =
                format!("{records} records, {:.0} MB of JSON ({:.1} MB file)", bytes / 1e6, size / 1e6);
            figures.push(Figure {
                name: format!("decode {label} records/s"),
                unit: "records/s",
                value: records as f64 / ours,
                peer_name: "python raw_decode".into(),
                peer_value: records as f64 / theirs,
                target: Some(50.0),
                note: note.clone(),
            });
            figures.push(Figure {
                name: format!("decode {label} MB/s"),
                unit: "MB/s",
                value: bytes / 1e6 / ours,
                peer_name: "python raw_decode".into(),
                peer_value: bytes / 1e6 / theirs,
                target: Some(50.0),
                note: "MB of decompressed JSON".into(),
            });
        }
        Ok(())
    }

    /// `streamproof decode <path> > /dev/null`: seconds and the record count it reports.
    fn time_decode(&self, path: &Path) -> Result<(f64, u64)> {
        let started = Instant::now();
        let output = Command::new(&self.binary)
            .arg("decode")
            .arg(path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()?;
        let seconds = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            bail!("streamproof decode {} failed ({}): {stderr}", path.display(), output.status);
        }
        let records = stderr
            .lines()
            .find_map(|line| line.strip_prefix("decoded ")?.split(' ').next()?.parse().ok())
            .with_context(|| format!("no `decoded N records` line from streamproof decode: {stderr}"))?;
        Ok((seconds, records))
    }

    /// The Python peer on `path`: seconds and the record count it prints.
    fn time_python(&self, path: &Path) -> Result<(f64, u64)> {
        let script = self.root.join("xtask/bench/raw_decode.py");
        let started = Instant::now();
        let output = Command::new("python3").arg(&script).arg(path).stderr(Stdio::piped()).output()?;
        let seconds = started.elapsed().as_secs_f64();
        if !output.status.success() {
            bail!(
                "python3 raw_decode.py failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let records =
            String::from_utf8_lossy(&output.stdout).trim().parse().context("raw_decode.py prints a count")?;
        Ok((seconds, records))
    }

    fn verify(&self, sizes: &Sizes, figures: &mut Vec<Figure>) -> Result<()> {
        let scenario = self.scenario("verify.toml", "verify.toml", sizes.verify_records, None)?;
        let objects = self.data.join("verify-objects");
        let expectation = self.data.join("verify-expectation.json");
        self.streamproof(&[
            "generate",
            path_str(&scenario)?,
            "--run-id",
            "bench-verify",
            "--objects",
            path_str(&objects)?,
            "--expectation",
            path_str(&expectation)?,
        ])?;
        let stdout = self.streamproof(&[
            "verify",
            "--expectation",
            path_str(&expectation)?,
            "--objects",
            path_str(&objects)?,
            "--report-dir",
            path_str(&self.reports)?,
            "--stats-json",
        ])?;
        let stats = stdout.lines().last().unwrap_or_default();
        let records = json_number(stats, "records")?;
        if records as u64 != sizes.verify_records {
            bail!("verify read {records} records, expected {}", sizes.verify_records);
        }
        let rate = json_number(stats, "records_per_second")?;
        let rss = json_number(stats, "peak_rss_bytes")?;
        let (python_seconds, python_records) = self.time_python(&objects)?;
        if python_records != sizes.verify_records {
            bail!("the Python loop found {python_records} records, expected {}", sizes.verify_records);
        }
        eprintln!("    {records} records: {rate:.0} records/s, peak RSS {:.0} MiB", rss / MIB);
        // Memory is a bound, not a noisy speed: over budget, the bench fails.
        if rss > 512.0 * MIB {
            bail!("verifying {records} records peaked at {:.0} MiB RSS, over the 512 MiB budget", rss / MIB);
        }
        let note = format!("{records} records of 200 bytes in 5 MiB objects, one core");
        figures.push(Figure {
            name: "verify records/s (decode+match+order)".into(),
            unit: "records/s",
            value: rate,
            peer_name: "target 1 M/s".into(),
            peer_value: 1_000_000.0,
            target: Some(1.0),
            note: note.clone(),
        });
        figures.push(Figure {
            name: "verify vs python decode only".into(),
            unit: "records/s",
            value: rate,
            peer_name: "python raw_decode".into(),
            peer_value: python_records as f64 / python_seconds,
            target: None,
            note: "the peer only decodes; it matches nothing".into(),
        });
        figures.push(Figure {
            name: "verify peak RSS headroom".into(),
            unit: "MiB",
            value: 512.0,
            peer_name: format!("peak RSS {:.0} MiB", rss / MIB),
            peer_value: rss / MIB,
            target: Some(1.0),
            note: format!("budget 512 MiB / peak RSS of `streamproof verify` ({records} records)"),
        });
        Ok(())
    }

    fn end_to_end(&self, sizes: &Sizes, figures: &mut Vec<Figure>) -> Result<()> {
        // The emulator with per-shard limits off, as `streamproof emulator serve` runs it.
        let scenario = self.scenario("e2e.toml", "e2e.toml", sizes.e2e_events, None)?;
        let emulator = Served::start(&self.binary, &["--no-shard-limits"])?;
        let url = emulator.url.clone();
        let ours = self.run_scenario(&scenario, &["--backend", "endpoint", "--endpoint", &url]);
        drop(emulator);
        let ours = ours?;
        eprintln!("    emulator, limits off: {ours}");

        let scenario_64 =
            self.scenario("e2e-64-shards.toml", "e2e-64-shards.toml", sizes.e2e_64_events, None)?;
        let limited = self.run_scenario(&scenario_64, &["--backend", "embedded"])?;
        eprintln!("    emulator, limits on, 64 shards: {limited}");

        crate::localstack::run(self.sh, &["setup".to_owned()])?;
        let scenario_ls = self.scenario("e2e.toml", "e2e-localstack.toml", sizes.localstack_events, None)?;
        let localstack = self.run_scenario(&scenario_ls, &["--backend", "localstack-host"])?;
        eprintln!("    localstack host mode: {localstack}");

        figures.push(Figure {
            name: "end to end records/s".into(),
            unit: "records/s",
            value: ours.end_to_end(),
            peer_name: "localstack host".into(),
            peer_value: localstack.end_to_end(),
            target: Some(100.0),
            note: format!(
                "8 shards, 1 KiB, 5 MiB / 1 s; emulator limits off: {} records, LocalStack: {} records",
                ours.acknowledged, localstack.acknowledged
            ),
        });
        figures.push(Figure {
            name: "end to end vs 50 k/s target".into(),
            unit: "records/s",
            value: ours.end_to_end(),
            peer_name: "target 50 k/s".into(),
            peer_value: 50_000.0,
            target: Some(1.0),
            note: "produce + verify time, emulator limits off".into(),
        });
        figures.push(Figure {
            name: "end to end, limits on, 64 shards".into(),
            unit: "records/s",
            value: limited.end_to_end(),
            peer_name: "64-shard limit 64 k/s".into(),
            peer_value: 64_000.0,
            target: None,
            note: format!(
                "{} records; {} throttled entries retried",
                limited.acknowledged, limited.throttled
            ),
        });
        figures.push(Figure {
            name: "PutRecords requests/s".into(),
            unit: "requests/s",
            value: ours.requests_per_second(),
            peer_name: "localstack host".into(),
            peer_value: localstack.requests_per_second(),
            target: None,
            note: "batches of up to 500 records of 1 KiB, 8 lanes".into(),
        });
        Ok(())
    }

    /// `streamproof run` on `scenario` with `backend` args, and what its output says.
    fn run_scenario(&self, scenario: &Path, backend: &[&str]) -> Result<RunFigures> {
        let mut args = vec!["run", path_str(scenario)?, "--report-dir", path_str(&self.reports)?];
        args.extend_from_slice(backend);
        let stdout = self.streamproof(&args)?;
        let produced = stdout
            .lines()
            .find(|line| line.starts_with("produced: "))
            .with_context(|| format!("no `produced:` line in:\n{stdout}"))?;
        let report = stdout
            .lines()
            .find_map(|line| line.strip_prefix("report: "))
            .with_context(|| format!("no `report:` line in:\n{stdout}"))?;
        let report = self.sh.read_file(report.trim())?;
        Ok(RunFigures {
            acknowledged: word_before(produced, " acknowledged")?,
            throttled: word_before(produced, " throttled")?,
            put_calls: word_before(produced, " put calls")?,
            produce_seconds: word_before(produced, " s ")?,
            verify_seconds: json_number(&report, "elapsed_ms")? / 1000.0,
        })
    }

    fn json(&self, quick: bool, figures: &[Figure], seconds: f64) -> Result<String> {
        let date = cmd!(self.sh, "date -u +%Y-%m-%dT%H:%M:%SZ").read()?;
        let cpuinfo = self.sh.read_file("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name")?.split_once(':').map(|(_, name)| name.trim()))
            .unwrap_or("unknown");
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let mut json = String::new();
        writeln!(json, "{{")?;
        writeln!(json, "  \"date\": {},", quote(&date))?;
        writeln!(json, "  \"machine\": {{\"cpu\": {}, \"cores\": {cores}}},", quote(cpu))?;
        writeln!(json, "  \"mode\": \"{}\",", if quick { "quick" } else { "full" })?;
        writeln!(json, "  \"seconds\": {seconds:.1},")?;
        writeln!(json, "  \"figures\": [")?;
        for (i, figure) in figures.iter().enumerate() {
            let met = figure.met().map_or("null".to_owned(), |met| met.to_string());
            let target = figure.target.map_or("null".to_owned(), |target| target.to_string());
            writeln!(
                json,
                "    {{\"name\": {}, \"unit\": \"{}\", \"value\": {:.3}, \"peer\": {}, \"peer_value\": {:.3}, \
                 \"ratio\": {:.3}, \"target_ratio\": {target}, \"met\": {met}, \"note\": {}}}{}",
                quote(&figure.name),
                figure.unit,
                figure.value,
                quote(&figure.peer_name),
                figure.peer_value,
                figure.ratio(),
                quote(&figure.note),
                if i + 1 < figures.len() { "," } else { "" }
            )?;
        }
        writeln!(json, "  ]")?;
        writeln!(json, "}}")?;
        Ok(json)
    }
}

/// What one `streamproof run` printed.
struct RunFigures {
    acknowledged: f64,
    throttled: f64,
    put_calls: f64,
    produce_seconds: f64,
    verify_seconds: f64,
}

impl RunFigures {
    /// Records acknowledged per second of producing and then verifying them.
    fn end_to_end(&self) -> f64 {
        self.acknowledged / (self.produce_seconds + self.verify_seconds)
    }

    fn requests_per_second(&self) -> f64 {
        self.put_calls / self.produce_seconds
    }
}

impl std::fmt::Display for RunFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} records, produced in {:.1} s over {} put calls, verified in {:.1} s: {:.0} records/s",
            self.acknowledged,
            self.produce_seconds,
            self.put_calls,
            self.verify_seconds,
            self.end_to_end()
        )
    }
}

/// `streamproof emulator serve` on a free port, stopped when dropped.
struct Served {
    child: std::process::Child,
    url: String,
}

impl Served {
    fn start(binary: &Path, extra: &[&str]) -> Result<Served> {
        let mut child = Command::new(binary)
            .args(["emulator", "serve", "--port", "0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start streamproof emulator serve")?;
        let stdout = child.stdout.take().context("the emulator's stdout is piped")?;
        // The first line names the endpoint; reading it blocks until the emulator listens.
        let mut stdout = BufReader::new(stdout);
        let mut first = String::new();
        stdout.read_line(&mut first)?;
        // Keep reading what it prints, so that its writes never fail on a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let Some(url) = first.split_whitespace().find(|word| word.starts_with("http://")) else {
            let _ = child.kill();
            bail!("the emulator did not print its endpoint; it printed {first:?}");
        };
        Ok(Served { url: url.to_owned(), child })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn table(figures: &[Figure]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<40} {:>14} {:>24} {:>14} {:>10}  target",
        "figure", "value", "peer", "peer value", "ratio"
    );
    for figure in figures {
        let verdict = match (figure.target, figure.met()) {
            (Some(target), Some(true)) => format!(">= {target}x: met"),
            (Some(target), _) => format!(">= {target}x: NOT MET"),
            (None, _) => String::new(),
        };
        let _ = writeln!(
            out,
            "{:<40} {:>14} {:>24} {:>14} {:>9.1}x  {verdict}",
            figure.name,
            format!("{:.1}", figure.value),
            figure.peer_name,
            format!("{:.1}", figure.peer_value),
            figure.ratio(),
        );
    }
    out
}

/// The number after `"key":` in JSON text we printed ourselves.
fn json_number(text: &str, key: &str) -> Result<f64> {
    let pattern = format!("\"{key}\":");
    let start = text.find(&pattern).with_context(|| format!("no {key:?} in {text}"))? + pattern.len();
    let rest = text[start..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+')))
        .unwrap_or(rest.len());
    rest[..end].parse().with_context(|| format!("{key:?} is not a number in {text}"))
}

/// The number just before `suffix` in `line`, e.g. `20000` in `20000 acknowledged`.
fn word_before(line: &str, suffix: &str) -> Result<f64> {
    let end = line.find(suffix).with_context(|| format!("no {suffix:?} in {line:?}"))?;
    let word = line[..end].rsplit(' ').next().unwrap_or_default();
    word.parse().with_context(|| format!("{word:?} before {suffix:?} is not a number in {line:?}"))
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str().with_context(|| format!("{} is not UTF-8", path.display()))
}

fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_from_our_own_output() {
        let produced = "produced: 20000 sent, 19990 acknowledged, 389 retried, 389 throttled, 0 failed, \
                        7475297 bytes in 10.4 s over 52 put calls (1927 records/s, put p50 2.0 ms, p99 12.5 ms)";
        assert_eq!(word_before(produced, " acknowledged").unwrap(), 19990.0);
        assert_eq!(word_before(produced, " s ").unwrap(), 10.4);
        assert_eq!(word_before(produced, " put calls").unwrap(), 52.0);
        assert!(word_before(produced, " lost").is_err());
        let stats = r#"{"command":"verify","records":1000000,"seconds":0.5,"peak_rss_bytes":1.5e8}"#;
        assert_eq!(json_number(stats, "records").unwrap(), 1_000_000.0);
        assert_eq!(json_number(stats, "peak_rss_bytes").unwrap(), 1.5e8);
        assert_eq!(json_number("{\n  \"elapsed_ms\": 1234\n}", "elapsed_ms").unwrap(), 1234.0);
        assert_eq!(quote("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }
}
