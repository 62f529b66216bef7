//! One run: start the backend, provision, produce, verify, report, tear down.

use std::path::{Path, PathBuf};
use std::time::Duration;

use environment::{Backend, Environment, FaultEvent, Provisioned};
use producer::{Metrics, ProduceOptions, Target};
use scenario::{Scenario, Source};
use verifier::{Report, VerifyOptions};

use crate::exit;

/// How long each resource may take to become ACTIVE.
const PROVISION_DEADLINE: Duration = Duration::from_secs(120);

/// Options of `streamproof run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub backend: Backend,
    /// Reports go to `<report_dir>/<scenario>-<run id>/`.
    pub report_dir: PathBuf,
}

/// A completed run: the verifier's findings and what the producer measured.
#[derive(Debug)]
pub struct RunOutcome {
    pub run_id: String,
    pub backend: &'static str,
    pub endpoint: String,
    pub provisioned: Provisioned,
    pub metrics: Metrics,
    pub report: Report,
    /// Where `report.json` was written.
    pub report_path: PathBuf,
    /// Faults the backend injected (test knobs), as ground truth.
    pub faults: Vec<FaultEvent>,
    /// The envelope field of the scenario, to read the seq of a faulted record.
    pub envelope_field: String,
}

impl RunOutcome {
    /// 0 when every assertion passed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.report.passed() { exit::PASS } else { exit::ASSERTION_FAILED }
    }
}

/// The harness itself failed; findings about the pipeline are never errors.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("environment failed")]
    Environment(#[from] environment::EnvError),
    #[error("producer failed")]
    Produce(#[from] producer::ProduceError),
    #[error("verifier failed")]
    Verify(#[from] verifier::VerifyError),
    #[error("cannot create the report directory {}", path.display())]
    ReportDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the report")]
    Report(#[from] verifier::WriteReportError),
}

impl RunError {
    /// Every harness failure is an environment failure (exit 3); bad input is caught before a run starts.
    pub fn exit_code(&self) -> u8 {
        exit::ENVIRONMENT_FAILED
    }
}

/// A fresh run id: UTC start time plus random hex, e.g. `20261123t193000-3fa2c1`.
pub fn new_run_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{:04}{:02}{:02}t{:02}{:02}{:02}-{}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        &random[..6]
    )
}

/// Runs `scenario` end to end on a fresh backend, which is stopped afterwards.
pub async fn run(scenario: &Scenario, options: &RunOptions) -> Result<RunOutcome, RunError> {
    let environment = Environment::start(&options.backend).await?;
    let result = run_on(&environment, scenario, &options.report_dir).await;
    environment.shutdown().await;
    result
}

/// Runs `scenario` end to end on a running backend, which stays up (with the bucket's objects).
pub async fn run_on(
    environment: &Environment,
    scenario: &Scenario,
    report_dir: &Path,
) -> Result<RunOutcome, RunError> {
    let run_id = new_run_id();
    let run_id = run_id.as_str();
    let clients = environment.endpoint().clients().await;
    let provisioned = environment::provision(&clients, scenario, run_id, PROVISION_DEADLINE).await?;
    if environment.capabilities().needs_canary {
        environment::prove_ready(
            &clients,
            &provisioned,
            run_id,
            &scenario.workload.envelope_field,
            PROVISION_DEADLINE,
        )
        .await?;
    }
    tracing::info!(
        stream = provisioned.stream_name.as_deref().unwrap_or("(direct put)"),
        delivery_stream = %provisioned.delivery_stream_name,
        bucket = %provisioned.bucket,
        "pipeline provisioned"
    );

    let target = match (&scenario.pipeline.source, &provisioned.stream_name) {
        (Source::KinesisStream, Some(stream)) => {
            Target::Kinesis { client: clients.kinesis.clone(), stream_name: stream.clone() }
        }
        _ => Target::Firehose {
            client: clients.firehose.clone(),
            delivery_stream_name: provisioned.delivery_stream_name.clone(),
        },
    };
    let options = ProduceOptions { run_id: run_id.to_owned(), retry: producer::RetryPolicy::default() };
    let produced = producer::produce(&target, &scenario.workload, &options).await?;
    tracing::info!(
        acknowledged = produced.metrics.acknowledged,
        rate = produced.metrics.achieved_rate(),
        "production finished"
    );

    let verify_options = VerifyOptions {
        bucket: provisioned.bucket.clone(),
        prefix: provisioned.prefix.clone(),
        expect: scenario.expect.clone(),
        poll_interval: poll_interval(scenario),
        buffering: Some(verifier::BufferingCheck::new(
            scenario.pipeline.buffering,
            environment.name(),
            environment.capabilities().buffering,
        )),
    };
    let report = verifier::verify(&clients.s3, &produced.expectation, &verify_options).await?;

    let dir = report_dir.join(format!("{}-{run_id}", scenario.name));
    std::fs::create_dir_all(&dir).map_err(|source| RunError::ReportDir { path: dir.clone(), source })?;
    let report_path = report.write_all(&dir)?.json;

    if let Err(error) = environment::teardown(&clients, &provisioned).await {
        tracing::warn!(%error, "teardown failed");
    }
    Ok(RunOutcome {
        run_id: run_id.to_owned(),
        backend: environment.name(),
        endpoint: environment.endpoint().url.clone(),
        provisioned,
        metrics: produced.metrics,
        report,
        report_path,
        faults: environment.fault_log(),
        envelope_field: scenario.workload.envelope_field.clone(),
    })
}

/// How often the verifier re-lists the bucket: a quarter of the buffer interval, within 100 ms..2 s.
fn poll_interval(scenario: &Scenario) -> Duration {
    (scenario.pipeline.buffering.interval() / 4).clamp(Duration::from_millis(100), Duration::from_secs(2))
}

/// One line for an injected fault: what the backend did, and which record it hit.
pub fn describe_fault(fault: &FaultEvent, envelope_field: &str) -> String {
    let seq = serde_json::from_slice::<serde_json::Value>(&fault.data)
        .ok()
        .and_then(|event| event.get(envelope_field)?.get("seq")?.as_u64());
    let record = seq.map_or_else(|| "a record without an envelope".to_owned(), |seq| format!("seq {seq}"));
    format!(
        "dropped Kinesis entry #{} ({record}, key {:?}, {} of {}) after acknowledging it",
        fault.ordinal, fault.partition_key, fault.shard_id, fault.stream
    )
}
