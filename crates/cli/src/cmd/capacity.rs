//! `streamproof capacity plan|sweep`: how many shards a workload needs, computed from its keys or
//! measured on a backend, with the tables on stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use environment::EmbeddedOptions;
use producer::capacity::DEFAULT_HEADROOM;
use streamproof::capacity::{self, SweepOptions};
use streamproof::exit;

use crate::cmd::backend::BackendArgs;
use streamproof::exit::fail;

#[derive(Debug, clap::Args)]
pub(crate) struct CapacityArgs {
    #[command(subcommand)]
    command: CapacityCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CapacityCommand {
    /// Route the scenario's partition keys over candidate shard counts without sending anything,
    /// and recommend the smallest count that keeps every shard under the headroom target.
    Plan(PlanArgs),
    /// Measure each shard count on a backend: a fresh stream per count, the rate offered for the
    /// duration; writes capacity.json and capacity.html.
    Sweep(SweepArgs),
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// The scenario file (TOML); its [workload] gives the keys and record sizes.
    scenario: PathBuf,
    /// Records per second the stream must take.
    #[arg(long, value_parser = parse_rate)]
    rate: f64,
    /// Shard counts to evaluate: a range (1..64) or a list (1,2,4,8).
    #[arg(long, default_value = "1..64", value_parser = parse_shards)]
    shards: ShardList,
    /// Every shard must stay at or below this share of its limits: 0.8 or 80%.
    #[arg(long, default_value_t = DEFAULT_HEADROOM, value_parser = parse_headroom)]
    headroom: f64,
    /// Records to draw from the workload (default: ten seconds' worth, 20,000 to 200,000).
    #[arg(long)]
    sample: Option<u64>,
    /// Also write the plan as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct SweepArgs {
    /// The scenario file (TOML); each step overrides its shard count, rate and event count.
    scenario: PathBuf,
    /// Shard counts to measure: a list (1,2,4,8) or a range (1..4).
    #[arg(long, value_parser = parse_shards)]
    shards: ShardList,
    /// Records per second offered at every step.
    #[arg(long, value_parser = parse_rate)]
    rate: f64,
    /// How long each step offers the rate: 10s, 2m, or seconds.
    #[arg(long, value_parser = parse_duration)]
    duration: Duration,
    /// Headroom target of the plan's predictions: 0.8 or 80%.
    #[arg(long, default_value_t = DEFAULT_HEADROOM, value_parser = parse_headroom)]
    headroom: f64,
    /// Halfway through each step, double its shard count with UpdateShardCount while the rate is
    /// offered, and measure what the live reshard costs (throttling and latency around it).
    #[arg(long)]
    reshard: bool,
    #[command(flatten)]
    backend: BackendArgs,
    /// Directory for reports; the sweep writes `<scenario>-capacity-<id>/` under it.
    #[arg(long, default_value = "streamproof-reports")]
    report_dir: PathBuf,
}

pub(crate) async fn run(args: CapacityArgs) -> ExitCode {
    match args.command {
        CapacityCommand::Plan(args) => plan(args),
        CapacityCommand::Sweep(args) => sweep(args).await,
    }
}

fn plan(args: PlanArgs) -> ExitCode {
    let scenario = match scenario::load(&args.scenario) {
        Ok(scenario) => scenario,
        Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
    };
    let plan = match capacity::plan(&scenario, args.rate, args.shards.0, args.headroom, args.sample) {
        Ok(plan) => plan,
        Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
    };
    print!("{}", capacity::render_plan(&scenario, &plan));
    if let Some(path) = args.json {
        let text = serde_json::to_vec_pretty(&plan).expect("a plan serialises");
        if let Err(error) = std::fs::write(&path, text) {
            let error = anyhow::Error::new(error).context(format!("cannot write {}", path.display()));
            return fail(exit::ENVIRONMENT_FAILED, &error);
        }
        println!("plan: {}", path.display());
    }
    ExitCode::from(exit::PASS)
}

async fn sweep(args: SweepArgs) -> ExitCode {
    let scenario = match scenario::load(&args.scenario) {
        Ok(scenario) => scenario,
        Err(error) => return fail(exit::BAD_INPUT, &anyhow::Error::new(error)),
    };
    let options = SweepOptions {
        backend: args.backend.backend(EmbeddedOptions::default(), Some(&scenario)),
        shard_counts: args.shards.0,
        rate: args.rate,
        duration: args.duration,
        headroom: args.headroom,
        reshard: args.reshard,
        report_dir: args.report_dir,
    };
    let written = match capacity::sweep(&scenario, &options).await {
        Ok(sweep) => sweep.write().map(|paths| (sweep, paths)),
        Err(error) => Err(error),
    };
    match written {
        Ok((sweep, paths)) => {
            print!("{}", sweep.table());
            println!("report: {}", paths.json.display());
            println!("chart: {}", paths.html.display());
            ExitCode::from(sweep.exit_code())
        }
        Err(error) => {
            let code = error.exit_code();
            fail(code, &anyhow::Error::new(error))
        }
    }
}

/// Shard counts given as one argument.
#[derive(Debug, Clone)]
struct ShardList(Vec<u32>);

/// Accepts a list or range of shard counts as one argument, e.g. `1..64` or `1,2,4,8`.
fn parse_shards(spec: &str) -> Result<ShardList, String> {
    capacity::parse_shard_counts(spec).map(ShardList).map_err(|e| e.to_string())
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("expected a positive number of records per second, got {text:?}")),
    }
}

fn parse_headroom(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let value = match trimmed.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => trimmed.parse::<f64>(),
    };
    match value {
        Ok(share) if share > 0.0 && share <= 1.0 => Ok(share),
        _ => Err(format!("expected a share above 0 and at most 1 (0.8 or 80%), got {text:?}")),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let (number, unit) = match trimmed.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => trimmed.split_at(at),
        None => (trimmed, "s"),
    };
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        _ => return Err(format!("expected a duration like 10s, 500ms or 2m, got {text:?}")),
    };
    match number.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(Duration::from_secs_f64(value * scale)),
        _ => Err(format!("expected a positive duration like 10s, 500ms or 2m, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_headrooms_and_rates_parse_or_are_refused() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("3h").is_err());
        assert_eq!(parse_headroom("80%"), Ok(0.8));
        assert_eq!(parse_headroom("0.5"), Ok(0.5));
        assert!(parse_headroom("120%").is_err());
        assert!(parse_headroom("0").is_err());
        assert_eq!(parse_rate("2500"), Ok(2500.0));
        assert!(parse_rate("-1").is_err());
    }
}
