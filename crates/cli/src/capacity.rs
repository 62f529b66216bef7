//! Capacity testing of shard counts: the plan (computed, nothing sent) and the sweep (one measured
//! run per shard count, each marked with the plan's prediction), with their renderings:
//! terminal tables, `capacity.json` and `capacity.html` with an inline SVG chart.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use environment::{Backend, Environment};
use producer::capacity::{
    self, MAX_SHARDS, Plan, PlanError, PlanOptions, SHARD_BYTES_PER_SECOND, SHARD_RECORDS_PER_SECOND,
    ShardCountPlan,
};
use scenario::{Rate, Scenario, Source};
use serde::Serialize;
use verifier::escape_html;

use crate::exit;
use crate::run::{RunError, new_run_id, run_on};

/// Why a list of shard counts was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid shard counts {spec:?}: expected a range like 1..64 or a list like 1,2,4,8, each within 1..={MAX_SHARDS}"
)]
pub struct ShardCountsError {
    pub spec: String,
}

/// Parses `--shards`: a range `A..B` (inclusive, also written `A..=B`), a list `1,2,4,8`, or one count.
pub fn parse_shard_counts(spec: &str) -> Result<Vec<u32>, ShardCountsError> {
    let error = || ShardCountsError { spec: spec.to_owned() };
    let count = |text: &str| -> Result<u32, ShardCountsError> {
        let n: u32 = text.trim().parse().map_err(|_| error())?;
        if (1..=MAX_SHARDS).contains(&n) { Ok(n) } else { Err(error()) }
    };
    let mut counts = if let Some((from, to)) = spec.split_once("..") {
        let (from, to) = (count(from)?, count(to.strip_prefix('=').unwrap_or(to))?);
        if from > to {
            return Err(error());
        }
        (from..=to).collect()
    } else {
        spec.split(',').map(count).collect::<Result<Vec<u32>, _>>()?
    };
    counts.sort_unstable();
    counts.dedup();
    Ok(counts)
}

/// Shards listed one per line under the table; the JSON plan has them all.
const PER_SHARD_LINES: usize = 16;

/// Plans `scenario`'s workload at `rate` records/s for `shard_counts`.
pub fn plan(
    scenario: &Scenario,
    rate: f64,
    shard_counts: Vec<u32>,
    headroom: f64,
    sample: Option<u64>,
) -> Result<Plan, PlanError> {
    let options = PlanOptions { rate, shard_counts, headroom, sample, run_id: new_run_id() };
    capacity::plan(&scenario.workload, &options)
}

/// The plan as a table for people: one row per shard count, the hottest key, on-demand, the verdict.
pub fn render_plan(scenario: &Scenario, plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "capacity plan for {} at {:.0} records/s: {} records sampled, {} distinct keys, {:.0} bytes/record, {}/s",
        scenario.name,
        plan.rate,
        plan.sample,
        plan.distinct_keys,
        plan.mean_record_bytes,
        bytes(plan.bytes_per_second),
    );
    let hot = &plan.hottest_key;
    let _ = writeln!(
        out,
        "hottest key {:?}: {:.2} % of records, {:.0} records/s and {}/s, {:.0} % of one shard's limit",
        hot.key,
        hot.share * 100.0,
        hot.load.records_per_second,
        bytes(hot.load.bytes_per_second),
        hot.load.utilisation * 100.0,
    );
    let _ = writeln!(
        out,
        "limits per shard: {SHARD_RECORDS_PER_SECOND:.0} records/s and {}/s; headroom target {:.0} %",
        bytes(SHARD_BYTES_PER_SECOND),
        plan.headroom * 100.0
    );
    let _ = writeln!(
        out,
        "{:>6}  {:>7}  {:>9}  {:>10}  {:>7}  {:>9}  {:>8}  {:>9}  {:>10}",
        "shards",
        "hottest",
        "records/s",
        "bytes/s",
        "util",
        "imbalance",
        "over hdr",
        "throttled",
        "accepted/s"
    );
    for count in &plan.shard_counts {
        let hottest = &count.loads[count.hottest_shard as usize];
        let _ = writeln!(
            out,
            "{:>6}  {:>7}  {:>9.0}  {:>10}  {:>6.0}%  {:>9.2}  {:>8}  {:>9}  {:>10.0}{}",
            count.shards,
            format!("#{}", count.hottest_shard),
            hottest.records_per_second,
            bytes(hottest.bytes_per_second),
            count.hottest_utilisation * 100.0,
            count.imbalance,
            count.shards_over_headroom,
            count.shards_over_limit,
            count.expected_accepted_rate,
            if count.fits { "  fits" } else { "" },
        );
    }
    let shown = match plan.recommendation {
        capacity::Recommendation::Shards { shards } => plan.for_shards(shards),
        _ => plan.shard_counts.iter().rfind(|c| c.shards <= 16),
    };
    if let Some(count) = shown {
        let _ =
            writeln!(out, "per shard at {} shard{}:", count.shards, if count.shards == 1 { "" } else { "s" });
        for (index, load) in count.loads.iter().enumerate().take(PER_SHARD_LINES) {
            let _ = writeln!(
                out,
                "  shardId-{index:012}  {:>7.0} records/s  {:>10}/s  {:>4.0} %",
                load.records_per_second,
                bytes(load.bytes_per_second),
                load.utilisation * 100.0
            );
        }
        if count.loads.len() > PER_SHARD_LINES {
            let _ = writeln!(
                out,
                "  ... {} more shards (every shard is in --json)",
                count.loads.len() - PER_SHARD_LINES
            );
        }
    }
    let on_demand = &plan.on_demand;
    let _ = writeln!(
        out,
        "on-demand (starts with {:.0} records/s and {}/s over {} shards): stream at {:.0} %, hottest starting shard at {:.0} %: {}",
        on_demand.records_per_second_limit,
        bytes(on_demand.bytes_per_second_limit),
        capacity::ON_DEMAND_STARTING_SHARDS,
        on_demand.stream_utilisation * 100.0,
        on_demand.starting_shards.hottest_utilisation * 100.0,
        if on_demand.fits {
            "fits within the headroom"
        } else if on_demand.starting_shards.throttles() || on_demand.stream_utilisation > 1.0 {
            "throttles until on-demand scales up"
        } else {
            "within its limits but above the headroom"
        },
    );
    if on_demand.scalings > 0 {
        let _ = writeln!(
            out,
            "on-demand scales to {} shards for double this rate's peak, in {} scaling{} of at most a doubling each; it throttles what exceeds its capacity until then",
            on_demand.scales_to,
            on_demand.scalings,
            if on_demand.scalings == 1 { "" } else { "s" },
        );
    }
    let _ = writeln!(out, "{}", plan.verdict());
    out
}

/// Options of a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    pub backend: Backend,
    /// The shard counts to measure, one fresh stream each.
    pub shard_counts: Vec<u32>,
    /// Records per second offered at every step.
    pub rate: f64,
    /// How long each step offers the rate; the step sends `rate × duration` records.
    pub duration: Duration,
    pub headroom: f64,
    /// Halfway through each step, double the step's shards with UpdateShardCount (`--reshard`).
    pub reshard: bool,
    /// The sweep writes `<report_dir>/<scenario>-capacity-<id>/`, with each step's run report inside.
    pub report_dir: PathBuf,
}

/// What a live reshard cost one step of a `--reshard` sweep, from the run's resharding section.
#[derive(Debug, Clone, Serialize)]
pub struct ReshardCost {
    /// The shard count the step scaled to.
    pub to: usize,
    /// How long the stream was UPDATING.
    pub updating_ms: u64,
    /// Put attempts throttled while it was UPDATING.
    pub throttled: u64,
    /// p99 latency of the records sent before, during and after the transition.
    pub p99_before_ms: Option<u64>,
    pub p99_during_ms: Option<u64>,
    pub p99_after_ms: Option<u64>,
    /// Records of the three phases lost, duplicated or reordered.
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
}

impl ReshardCost {
    /// The cost of the one transition a `--reshard` step makes, from its report.
    fn of(resharding: &verifier::ReshardingSummary) -> Option<ReshardCost> {
        let [transition] = resharding.transitions.as_slice() else { return None };
        let [before, during, after] = resharding.phases.as_slice() else { return None };
        let phases = [before, during, after];
        Some(ReshardCost {
            to: transition.open_after,
            updating_ms: transition.updating_ms,
            throttled: transition.throttled,
            p99_before_ms: before.latency_p99_ms,
            p99_during_ms: during.latency_p99_ms,
            p99_after_ms: after.latency_p99_ms,
            lost: phases.iter().map(|p| p.lost).sum(),
            duplicated: phases.iter().map(|p| p.duplicated).sum(),
            reordered: phases.iter().map(|p| p.reordered).sum(),
        })
    }
}

/// One measured shard count, with the plan's prediction beside it.
#[derive(Debug, Clone, Serialize)]
pub struct SweepStep {
    pub shards: u32,
    pub run_id: String,
    /// Records generated and handed to the senders.
    pub sent: u64,
    pub acknowledged: u64,
    /// Acknowledged records per second over the step (until the last acknowledgement).
    pub accepted_rate: f64,
    /// Entry failures from throttling.
    pub throttled: u64,
    /// Throttled entries over all entries put (first attempts and retries).
    pub throttled_fraction: f64,
    pub retries: u64,
    /// Records that exhausted their retries.
    pub failed: u64,
    pub put_p50_ms: f64,
    pub put_p99_ms: f64,
    /// End-to-end latency: first handed to a put call → visible in S3.
    pub delivery_p50_ms: Option<u64>,
    pub delivery_p99_ms: Option<u64>,
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// Delivered over acknowledged.
    pub completeness: f64,
    /// Every assertion of the scenario passed for this step.
    pub passed: bool,
    pub report: PathBuf,
    /// What the plan predicted for this shard count.
    pub predicted: Prediction,
    /// With `--reshard`: what doubling the shards halfway through cost.
    pub reshard: Option<ReshardCost>,
}

/// The plan's figures for one shard count.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    pub hottest_utilisation: f64,
    pub imbalance: f64,
    pub throttles: bool,
    pub accepted_rate: f64,
}

impl From<&ShardCountPlan> for Prediction {
    fn from(plan: &ShardCountPlan) -> Prediction {
        Prediction {
            hottest_utilisation: plan.hottest_utilisation,
            imbalance: plan.imbalance,
            throttles: plan.throttles(),
            accepted_rate: plan.expected_accepted_rate,
        }
    }
}

/// A completed sweep: `capacity.json` is this value.
#[derive(Debug, Clone, Serialize)]
pub struct Sweep {
    pub scenario: String,
    pub backend: &'static str,
    /// Whether the backend enforces per-shard write limits; when it does not, throttling figures
    /// say nothing about AWS and only latency and completeness count.
    pub throttling_modelled: bool,
    pub rate: f64,
    pub duration_ms: u64,
    pub steps: Vec<SweepStep>,
    pub plan: Plan,
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Where a sweep's files went.
#[derive(Debug, Clone)]
pub struct SweepPaths {
    pub json: PathBuf,
    pub html: PathBuf,
}

/// The sweep could not be made; measurements about the pipeline are never errors.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("invalid capacity options")]
    Plan(#[from] PlanError),
    #[error("a sweep needs a Kinesis-source pipeline (source = \"kinesis\"); {scenario} uses direct put")]
    DirectPut { scenario: String },
    #[error("environment failed")]
    Environment(#[from] environment::EnvError),
    #[error("the scenario cannot run on this backend")]
    Backend(#[source] RunError),
    #[error("shard count {shards}")]
    Step {
        shards: u32,
        #[source]
        source: RunError,
    },
    /// A step's stream could not be torn down: the next steps would run beside its leftovers.
    #[error("shard count {shards}: tearing down the step's resources failed: {message}")]
    Teardown { shards: u32, message: String },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SweepError {
    /// Bad options (or a scenario the backend cannot honour) exit 2; everything else is the
    /// environment failing (exit 3).
    pub fn exit_code(&self) -> u8 {
        match self {
            SweepError::Plan(_) | SweepError::DirectPut { .. } => exit::BAD_INPUT,
            SweepError::Backend(error) => error.exit_code(),
            _ => exit::ENVIRONMENT_FAILED,
        }
    }
}

impl Sweep {
    /// 0 when every step had records acknowledged and delivered every acknowledged record exactly
    /// once, 1 otherwise. Throttling is a measurement, not a failure; a step that had nothing
    /// acknowledged measured nothing.
    pub fn exit_code(&self) -> u8 {
        if self.steps.iter().all(|s| s.acknowledged > 0 && s.lost == 0 && s.duplicated == 0) {
            exit::PASS
        } else {
            exit::ASSERTION_FAILED
        }
    }

    /// Writes `capacity.json` and `capacity.html` into the sweep's directory.
    pub fn write(&self) -> Result<SweepPaths, SweepError> {
        let json = self.dir.join("capacity.json");
        let text = serde_json::to_vec_pretty(self).expect("a sweep serialises");
        std::fs::write(&json, text).map_err(|source| SweepError::Write { path: json.clone(), source })?;
        let html = self.dir.join("capacity.html");
        std::fs::write(&html, self.html())
            .map_err(|source| SweepError::Write { path: html.clone(), source })?;
        Ok(SweepPaths { json, html })
    }

    /// The measurements as a table, each row with the plan's prediction.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "capacity sweep of {} on {} at {:.0} records/s for {:.1} s per shard count",
            self.scenario,
            self.backend,
            self.rate,
            self.duration_ms as f64 / 1000.0
        );
        if !self.throttling_modelled {
            let _ = writeln!(
                out,
                "note: {} does not throttle (no per-shard write limits), so accepted rate and throttling say \
                 nothing about AWS; latency and completeness still count",
                self.backend
            );
        }
        let _ = writeln!(
            out,
            "{:>6}  {:>10}  {:>9}  {:>7}  {:>7}  {:>7}  {:>8}  {:>8}  {:>14}  {:>22}",
            "shards",
            "accepted/s",
            "throttled",
            "retries",
            "put p50",
            "put p99",
            "e2e p50",
            "e2e p99",
            "delivered",
            "plan: util, accepted/s"
        );
        for step in &self.steps {
            let throttled = if self.throttling_modelled {
                format!("{:.1}%", step.throttled_fraction * 100.0)
            } else {
                "n/a".to_owned()
            };
            let _ = writeln!(
                out,
                "{:>6}  {:>10.0}  {:>9}  {:>7}  {:>7}  {:>7}  {:>8}  {:>8}  {:>14}  {:>22}",
                step.shards,
                step.accepted_rate,
                throttled,
                step.retries,
                format!("{:.1}ms", step.put_p50_ms),
                format!("{:.1}ms", step.put_p99_ms),
                millis(step.delivery_p50_ms),
                millis(step.delivery_p99_ms),
                format!("{}/{}", step.delivered, step.acknowledged),
                format!(
                    "{:.0}%{} {:.0}",
                    step.predicted.hottest_utilisation * 100.0,
                    if step.predicted.throttles { " throttles," } else { "," },
                    step.predicted.accepted_rate
                ),
            );
        }
        let resharded: Vec<(u32, &ReshardCost)> = self
            .steps
            .iter()
            .filter_map(|step| step.reshard.as_ref().map(|cost| (step.shards, cost)))
            .collect();
        if !resharded.is_empty() {
            let _ = writeln!(
                out,
                "live reshard halfway through each step (UpdateShardCount to double):\n{:>6}  {:>6}  {:>9}  {:>9}  {:>10}  {:>10}  {:>10}  {:>18}",
                "shards",
                "to",
                "UPDATING",
                "throttled",
                "p99 before",
                "p99 during",
                "p99 after",
                "lost/dup/reordered"
            );
            for (shards, cost) in resharded {
                let _ = writeln!(
                    out,
                    "{:>6}  {:>6}  {:>9}  {:>9}  {:>10}  {:>10}  {:>10}  {:>18}",
                    shards,
                    cost.to,
                    format!("{} ms", cost.updating_ms),
                    if self.throttling_modelled { cost.throttled.to_string() } else { "n/a".to_owned() },
                    millis(cost.p99_before_ms),
                    millis(cost.p99_during_ms),
                    millis(cost.p99_after_ms),
                    format!("{}/{}/{}", cost.lost, cost.duplicated, cost.reordered),
                );
            }
        }
        let _ = writeln!(out, "plan: {}", self.plan.verdict());
        let on_demand = &self.plan.on_demand;
        let _ = writeln!(
            out,
            "plan, on-demand: stream at {:.0} % of its starting {:.0} records/s and {}/s; hottest starting shard at {:.0} %",
            on_demand.stream_utilisation * 100.0,
            on_demand.records_per_second_limit,
            bytes(on_demand.bytes_per_second_limit),
            on_demand.starting_shards.hottest_utilisation * 100.0,
        );
        out
    }

    /// `capacity.html`: the table and a chart of throughput and throttling against shard count.
    pub fn html(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>streamproof capacity sweep: {name}</title><style>{STYLE}</style></head><body>\n\
             <h1>Capacity sweep of {name} on {backend}</h1>\n<p>{rate:.0} records/s offered for {secs:.1} s \
             per shard count. Bars: accepted records/s measured; dashes: the plan's prediction; line: \
             throttled share of entries put.</p>\n",
            name = escape_html(&self.scenario),
            backend = escape_html(self.backend),
            rate = self.rate,
            secs = self.duration_ms as f64 / 1000.0,
        );
        if !self.throttling_modelled {
            let _ = writeln!(
                out,
                "<p class=\"note\">{} does not throttle: accepted rate and throttling say nothing about AWS; \
                 latency and completeness still count.</p>",
                escape_html(self.backend)
            );
        }
        out.push_str(&self.chart());
        out.push_str("<h2>Measurements</h2>\n<pre>");
        out.push_str(&escape_html(&self.table()));
        out.push_str("</pre>\n</body></html>\n");
        out
    }

    fn chart(&self) -> String {
        const WIDTH: f64 = 760.0;
        const HEIGHT: f64 = 280.0;
        const LEFT: f64 = 70.0;
        const RIGHT: f64 = 60.0;
        const TOP: f64 = 20.0;
        const BOTTOM: f64 = 50.0;
        let plot_width = WIDTH - LEFT - RIGHT;
        let plot_height = HEIGHT - TOP - BOTTOM;
        let max_rate = self
            .steps
            .iter()
            .flat_map(|s| [s.accepted_rate, s.predicted.accepted_rate])
            .fold(self.rate, f64::max)
            .max(1.0)
            * 1.1;
        let y_rate = |value: f64| TOP + plot_height - value / max_rate * plot_height;
        let y_share = |share: f64| TOP + plot_height - share.clamp(0.0, 1.0) * plot_height;
        let slot = plot_width / self.steps.len().max(1) as f64;
        let mut svg = format!(
            "<svg id=\"capacity\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
             viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\"><title>Throughput and throttling against shard count</title>"
        );
        for step in 0..=4 {
            let fraction = f64::from(step) / 4.0;
            let y = TOP + plot_height - fraction * plot_height;
            let _ = write!(
                svg,
                "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.0}</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\">{:.0} %</text>",
                WIDTH - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                max_rate * fraction,
                WIDTH - RIGHT + 6.0,
                y + 4.0,
                fraction * 100.0,
            );
        }
        let _ = write!(
            svg,
            "<line class=\"target\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"><title>offered {:.0} records/s</title></line>",
            WIDTH - RIGHT,
            self.rate,
            y = y_rate(self.rate),
        );
        let mut line = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            let center = LEFT + slot * (index as f64 + 0.5);
            let width = (slot * 0.5).min(80.0);
            let top = y_rate(step.accepted_rate);
            let predicted = y_rate(step.predicted.accepted_rate);
            let _ = write!(
                svg,
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" height=\"{:.1}\">\
                 <title>{} shards: {:.0} records/s accepted</title></rect>\
                 <line class=\"predicted\" x1=\"{:.1}\" y1=\"{predicted:.1}\" x2=\"{:.1}\" y2=\"{predicted:.1}\">\
                 <title>{} shards: plan predicts {:.0} records/s, hottest shard at {:.0} %</title></line>\
                 <text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{} shard{}</text>",
                center - width / 2.0,
                TOP + plot_height - top,
                step.shards,
                step.accepted_rate,
                center - width / 2.0 - 6.0,
                center + width / 2.0 + 6.0,
                step.shards,
                step.predicted.accepted_rate,
                step.predicted.hottest_utilisation * 100.0,
                HEIGHT - BOTTOM + 16.0,
                step.shards,
                if step.shards == 1 { "" } else { "s" },
            );
            if self.throttling_modelled {
                line.push(format!("{center:.1},{:.1}", y_share(step.throttled_fraction)));
                let _ = write!(
                    svg,
                    "<circle class=\"throttle\" cx=\"{center:.1}\" cy=\"{:.1}\" r=\"4\"><title>{:.1} % throttled</title></circle>",
                    y_share(step.throttled_fraction),
                    step.throttled_fraction * 100.0
                );
            }
        }
        if line.len() > 1 {
            let _ = write!(svg, "<polyline class=\"throttle\" points=\"{}\"/>", line.join(" "));
        }
        let _ = writeln!(
            svg,
            "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{bottom:.1}\"/>\
             <line class=\"axis\" x1=\"{LEFT}\" y1=\"{bottom:.1}\" x2=\"{:.1}\" y2=\"{bottom:.1}\"/>\
             <text x=\"14\" y=\"{mid:.1}\" transform=\"rotate(-90 14 {mid:.1})\" text-anchor=\"middle\">records/s</text>\
             <text x=\"{:.1}\" y=\"{mid:.1}\" transform=\"rotate(90 {:.1} {mid:.1})\" text-anchor=\"middle\">throttled</text></svg>",
            WIDTH - RIGHT,
            WIDTH - 14.0,
            WIDTH - 14.0,
            bottom = HEIGHT - BOTTOM,
            mid = TOP + plot_height / 2.0,
        );
        svg
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:900px}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}.note{color:#9a6700}\
pre{background:#f6f8fa;padding:.8em;overflow-x:auto}svg{background:#fff;border:1px solid #ddd}\
.bar{fill:#4078c0}.predicted{stroke:#222;stroke-width:3;stroke-dasharray:5 3}\
.throttle{stroke:#cf222e;fill:none;stroke-width:2}circle.throttle{fill:#cf222e}\
.target{stroke:#2da44e;stroke-dasharray:6 4}.axis{stroke:#444}.grid{stroke:#eee}text{font-size:11px;fill:#444}";

/// Sweeps `scenario` over `options.shard_counts` on one backend: for each count a fresh stream (and
/// delivery stream and bucket), the rate offered for the duration, then verification.
pub async fn sweep(scenario: &Scenario, options: &SweepOptions) -> Result<Sweep, SweepError> {
    if scenario.pipeline.source == Source::DirectPut {
        return Err(SweepError::DirectPut { scenario: scenario.name.clone() });
    }
    let plan = plan(scenario, options.rate, options.shard_counts.clone(), options.headroom, None)?;
    let dir = options.report_dir.join(format!("{}-capacity-{}", scenario.name, new_run_id()));
    std::fs::create_dir_all(&dir).map_err(|source| SweepError::Write { path: dir.clone(), source })?;
    let backend = crate::run::backend_for(&options.backend, scenario).map_err(SweepError::Backend)?;
    let environment = Environment::start(&backend).await?;
    let result = sweep_on(&environment, scenario, options, &plan, &dir).await;
    let backend = environment.name();
    let throttling_modelled = environment.capabilities().throttling;
    environment.shutdown().await;
    Ok(Sweep {
        scenario: scenario.name.clone(),
        backend,
        throttling_modelled,
        rate: options.rate,
        duration_ms: options.duration.as_millis() as u64,
        steps: result?,
        plan,
        dir,
    })
}

async fn sweep_on(
    environment: &Environment,
    scenario: &Scenario,
    options: &SweepOptions,
    plan: &Plan,
    dir: &Path,
) -> Result<Vec<SweepStep>, SweepError> {
    let mut steps = Vec::new();
    for shards in plan.shard_counts.iter().map(|c| c.shards) {
        let mut step = step_scenario(scenario, shards, options.rate, options.duration);
        if options.reshard {
            step.workload.reshard = vec![scenario::ReshardStep {
                at: options.duration / 2,
                action: scenario::ReshardAction::Shards((shards * 2).min(MAX_SHARDS)),
            }];
        }
        tracing::info!(shards, rate = options.rate, events = step.workload.events, "capacity sweep step");
        let outcome =
            run_on(environment, &step, dir).await.map_err(|source| SweepError::Step { shards, source })?;
        if let Some(message) = outcome.teardown_error {
            return Err(SweepError::Teardown { shards, message });
        }
        let metrics = &outcome.metrics;
        let counts = &outcome.report.counts;
        let attempts = metrics.sent + metrics.retried;
        steps.push(SweepStep {
            shards,
            run_id: outcome.run_id.clone(),
            sent: metrics.sent,
            acknowledged: metrics.acknowledged,
            accepted_rate: metrics.achieved_rate(),
            throttled: metrics.throttled,
            throttled_fraction: if attempts > 0 { metrics.throttled as f64 / attempts as f64 } else { 0.0 },
            retries: metrics.retried,
            failed: metrics.failed,
            put_p50_ms: metrics.put_latency_us.value_at_quantile(0.5) as f64 / 1000.0,
            put_p99_ms: metrics.put_latency_us.value_at_quantile(0.99) as f64 / 1000.0,
            delivery_p50_ms: outcome.report.latency.p50_ms,
            delivery_p99_ms: outcome.report.latency.p99_ms,
            delivered: counts.delivered,
            lost: counts.lost,
            duplicated: counts.duplicated,
            // Nothing acknowledged is nothing delivered, not a complete delivery.
            completeness: if metrics.acknowledged > 0 {
                counts.delivered as f64 / metrics.acknowledged as f64
            } else {
                0.0
            },
            passed: outcome.report.passed(),
            report: outcome.report_path.clone(),
            predicted: Prediction::from(plan.for_shards(shards).expect("every step is planned")),
            reshard: outcome.report.resharding.as_ref().and_then(ReshardCost::of),
        });
    }
    Ok(steps)
}

/// The scenario of one step: its shards, a fixed rate, and `rate × duration` records.
fn step_scenario(scenario: &Scenario, shards: u32, rate: f64, duration: Duration) -> Scenario {
    let mut step = scenario.clone();
    step.pipeline.shards = shards;
    step.workload.rate = Rate::Fixed(rate);
    step.workload.events = (rate * duration.as_secs_f64()).ceil().max(1.0) as u64;
    step.workload.duration = None;
    // The scenario's own resharding is for its shard count; `--reshard` adds the sweep's.
    step.workload.reshard.clear();
    step
}

fn bytes(value: f64) -> String {
    if value >= 1_048_576.0 {
        format!("{:.2} MiB", value / 1_048_576.0)
    } else if value >= 1024.0 {
        format!("{:.1} KiB", value / 1024.0)
    } else {
        format!("{value:.0} B")
    }
}

fn millis(value: Option<u64>) -> String {
    value.map_or_else(|| "–".to_owned(), |ms| format!("{ms}ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_counts_parse_as_ranges_lists_and_single_counts() {
        assert_eq!(parse_shard_counts("1..4"), Ok(vec![1, 2, 3, 4]));
        assert_eq!(parse_shard_counts("2..=3"), Ok(vec![2, 3]));
        assert_eq!(parse_shard_counts("8, 1,2,4,2"), Ok(vec![1, 2, 4, 8]));
        assert_eq!(parse_shard_counts("6"), Ok(vec![6]));
        for bad in ["0..4", "4..1", "1,x", "", "1..501", "1..", "-1"] {
            assert!(parse_shard_counts(bad).is_err(), "{bad}");
        }
    }

    fn step(shards: u32, plan: &Plan) -> SweepStep {
        SweepStep {
            shards,
            run_id: format!("r{shards}"),
            sent: 100,
            acknowledged: 100,
            accepted_rate: 300.0,
            throttled: 0,
            throttled_fraction: 0.0,
            retries: 0,
            failed: 0,
            put_p50_ms: 40.0,
            put_p99_ms: 90.0,
            delivery_p50_ms: Some(1200),
            delivery_p99_ms: Some(2400),
            delivered: 100,
            lost: 0,
            duplicated: 0,
            completeness: 1.0,
            passed: true,
            report: PathBuf::from("report.json"),
            predicted: Prediction::from(plan.for_shards(shards).unwrap()),
            reshard: None,
        }
    }

    #[test]
    fn a_backend_that_does_not_throttle_is_labelled_and_its_throttling_not_shown() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/capacity-uniform.toml");
        let scenario = scenario::load(&path).unwrap();
        let plan = plan(&scenario, 2500.0, vec![1, 4], 0.8, Some(2_000)).unwrap();
        let mut sweep = Sweep {
            scenario: scenario.name.clone(),
            backend: "localstack-host",
            throttling_modelled: false,
            rate: 2500.0,
            duration_ms: 3000,
            steps: vec![step(1, &plan), step(4, &plan)],
            plan,
            dir: PathBuf::new(),
        };
        let table = sweep.table();
        assert!(table.contains("note: localstack-host does not throttle"), "{table}");
        assert_eq!(table.matches(" n/a ").count(), 2, "{table}");
        // The prediction still stands beside each measurement.
        assert!(table.contains("250% throttles, 1000"), "{table}");
        let html = sweep.html();
        assert!(html.contains("localstack-host does not throttle"));
        assert_eq!(html.matches("<circle class=\"throttle\"").count(), 0);
        assert_eq!(html.matches("<rect class=\"bar\"").count(), 2);
        assert_eq!(sweep.exit_code(), exit::PASS);
        sweep.steps[1].lost = 1;
        assert_eq!(sweep.exit_code(), exit::ASSERTION_FAILED);
        // A step that had nothing acknowledged lost nothing, and measured nothing either.
        sweep.steps[1] = SweepStep { acknowledged: 0, delivered: 0, ..step(4, &sweep.plan) };
        assert_eq!(sweep.exit_code(), exit::ASSERTION_FAILED);
    }
}
