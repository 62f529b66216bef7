//! One run: start the backend, provision, produce, verify, report, tear down.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use emulator::FaultKind;
use environment::{
    Backend, BackendKind, Environment, FaultEvent, Provisioned, TransformEvent, TransformEventKind,
};
use producer::{Metrics, ProduceControl, ProduceOptions, Target};
use scenario::{Scenario, Source};
use tokio::sync::watch;
use verifier::{Destination, ObjectSource, Report, VerifyOptions};

use crate::exit;

/// How long each resource may take to become ACTIVE.
const PROVISION_DEADLINE: Duration = Duration::from_secs(120);

/// How long the one last read of S3 after an interruption may take before the run gives up on a
/// partial report and goes straight to teardown.
const FINAL_READ_DEADLINE: Duration = Duration::from_secs(30);

/// Options of `streamproof run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub backend: Backend,
    /// Reports go to `<report_dir>/<scenario>-<run id>/`.
    pub report_dir: PathBuf,
    /// Leave the provisioned bucket, stream and delivery stream in place after the run (on a
    /// backend the run started they still go when the backend stops).
    pub keep: bool,
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
    /// Records the scenario's data transformation dropped or failed, as the backend logged them.
    pub transforms: Vec<TransformEvent>,
    /// What the producer sent and the backend acknowledged, as the verifier held the pipeline to it.
    pub expectation: producer::Expectation,
    /// The `[[workload.reshard]]` steps as they were carried out, in order.
    pub resharding: Vec<crate::reshard::ReshardRecord>,
    /// Why tearing down what the run provisioned failed, after the report was written: resources
    /// may be left behind on the backend.
    pub teardown_error: Option<String>,
}

impl RunOutcome {
    /// 0 when every assertion passed, 1 when one failed, 130 when the run was interrupted, and 3
    /// when the verdict stands but tearing down the run's resources failed.
    pub fn exit_code(&self) -> u8 {
        outcome_exit_code(
            self.report.incomplete.is_some(),
            self.report.passed(),
            self.teardown_error.is_some(),
        )
    }
}

/// The exit code of a run that produced a report: an interruption first, then a failed teardown
/// (the environment failed, even though the verdict was printed), then the verdict.
fn outcome_exit_code(incomplete: bool, passed: bool, teardown_failed: bool) -> u8 {
    if incomplete {
        exit::INTERRUPTED
    } else if teardown_failed {
        exit::ENVIRONMENT_FAILED
    } else if passed {
        exit::PASS
    } else {
        exit::ASSERTION_FAILED
    }
}

/// Stop requests for a run (SIGINT, SIGTERM, or a test's [`InterruptHandle`]).
///
/// The first request stops the producer: no new record is put, the bucket is read once more, a
/// report marked incomplete is written and the backend is torn down. A second request skips what
/// is left and goes straight to teardown.
#[derive(Debug, Clone)]
pub struct Interrupt {
    stop: watch::Receiver<bool>,
    abort: watch::Receiver<bool>,
    cause: Arc<OnceLock<String>>,
}

/// Sends stop requests to an [`Interrupt`].
#[derive(Debug)]
pub struct InterruptHandle {
    stop: watch::Sender<bool>,
    abort: watch::Sender<bool>,
    cause: Arc<OnceLock<String>>,
}

impl InterruptHandle {
    /// Requests a stop; `cause` names it in logs and in the report (e.g. `SIGINT`).
    pub fn request(&self, cause: &str) {
        if self.cause.set(cause.to_owned()).is_ok() {
            tracing::warn!(
                cause,
                "stopping: no new records are sent; the bucket is read once more for a partial report, \
                 then the backend is torn down (again to skip to teardown)"
            );
            self.stop.send_replace(true);
        } else {
            tracing::warn!(cause, "stop requested again: skipping to teardown");
            self.abort.send_replace(true);
        }
    }
}

impl Interrupt {
    /// An interrupt and the handle that triggers it.
    pub fn new() -> (InterruptHandle, Interrupt) {
        let (stop_tx, stop) = watch::channel(false);
        let (abort_tx, abort) = watch::channel(false);
        let cause = Arc::new(OnceLock::new());
        (
            InterruptHandle { stop: stop_tx, abort: abort_tx, cause: Arc::clone(&cause) },
            Interrupt { stop, abort, cause },
        )
    }

    /// An interrupt that never fires.
    pub fn never() -> Interrupt {
        Interrupt::new().1
    }

    /// An interrupt fired by SIGINT and SIGTERM (Ctrl-C elsewhere), for the lifetime of the runtime.
    pub fn on_signals() -> std::io::Result<Interrupt> {
        let (handle, interrupt) = Interrupt::new();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut sigint = signal(SignalKind::interrupt())?;
            let mut sigterm = signal(SignalKind::terminate())?;
            tokio::spawn(async move {
                loop {
                    let cause = tokio::select! {
                        Some(()) = sigint.recv() => "SIGINT",
                        Some(()) = sigterm.recv() => "SIGTERM",
                        else => break,
                    };
                    handle.request(cause);
                }
            });
        }
        #[cfg(not(unix))]
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                handle.request("Ctrl-C");
            }
        });
        Ok(interrupt)
    }

    /// What stopped the run, once a stop was requested.
    pub fn cause(&self) -> Option<&str> {
        self.cause.get().map(String::as_str)
    }

    /// Resolves once a stop is requested.
    async fn stopped(&self) {
        wait_true(self.stop.clone()).await;
    }

    /// Resolves once a second stop is requested.
    async fn aborted(&self) {
        wait_true(self.abort.clone()).await;
    }

    fn interrupted(&self, phase: &'static str) -> RunError {
        RunError::Interrupted { cause: self.cause().unwrap_or("a stop request").to_owned(), phase }
    }
}

/// Resolves once `flag` is true; never, if its sender is gone.
async fn wait_true(mut flag: watch::Receiver<bool>) {
    if flag.wait_for(|set| *set).await.is_err() {
        std::future::pending::<()>().await;
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
    #[error("resharding failed")]
    Reshard(#[from] crate::reshard::ReshardError),
    #[error("cannot create the report directory {}", path.display())]
    ReportDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the report")]
    Report(#[from] verifier::WriteReportError),
    /// Stopped (SIGINT, SIGTERM) before there was anything to report, or a second stop request
    /// skipped the report.
    #[error("interrupted by {cause} while {phase}; no report was written")]
    Interrupted { cause: String, phase: &'static str },
    /// The scenario has a section only the embedded emulator honours (`[faults]`, `[emulator]`,
    /// `[pipeline.transform]`), and the backend is another one.
    #[error(
        "scenario {scenario} has {section}, but the {backend} backend {lacks}; run it on the embedded backend"
    )]
    NeedsEmbedded { scenario: String, section: &'static str, backend: String, lacks: &'static str },
    /// The scenario's `[emulator]` time scale is not the one the running embedded emulator has.
    #[error(
        "scenario {scenario} has an [emulator] section with time_scale {wanted}, but the running emulator has {running}"
    )]
    TimeScaleMismatch { scenario: String, wanted: f64, running: f64 },
}

impl RunError {
    /// 130 for an interruption, 2 for a remote endpoint refused without `--allow-remote` (the
    /// command line asked for something unsafe), 3 for every other harness failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Interrupted { .. } => exit::INTERRUPTED,
            RunError::Environment(
                environment::EnvError::RemoteRefused { .. } | environment::EnvError::AwsRefused,
            ) => exit::BAD_INPUT,
            RunError::NeedsEmbedded { .. } | RunError::TimeScaleMismatch { .. } => exit::BAD_INPUT,
            _ => exit::ENVIRONMENT_FAILED,
        }
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
    run_interruptible(scenario, options, &Interrupt::never()).await
}

/// Like [`run`], but stops early on `interrupt` (see [`Interrupt`]); the backend is stopped in
/// every case, interrupted or not.
pub async fn run_interruptible(
    scenario: &Scenario,
    options: &RunOptions,
    interrupt: &Interrupt,
) -> Result<RunOutcome, RunError> {
    let backend = backend_for(&options.backend, scenario)?;
    let environment = tokio::select! {
        started = Environment::start(&backend) => started?,
        () = interrupt.stopped() => return Err(interrupt.interrupted("starting the backend")),
    };
    tracing::info!(
        backend = environment.name(),
        endpoint = %environment.endpoint().url,
        pid = environment.process_id(),
        "backend ready"
    );
    let result = tokio::select! {
        result = run_steps(&environment, scenario, &options.report_dir, interrupt, options.keep) => result,
        () = interrupt.aborted() => Err(interrupt.interrupted("finishing the run")),
    };
    tracing::info!(backend = environment.name(), "stopping the backend");
    environment.shutdown().await;
    result
}

/// Runs `scenario` end to end on a running backend, which stays up (with the bucket's objects).
pub async fn run_on(
    environment: &Environment,
    scenario: &Scenario,
    report_dir: &Path,
) -> Result<RunOutcome, RunError> {
    run_on_interruptible(environment, scenario, report_dir, &Interrupt::never()).await
}

/// Like [`run_on`], but leaves what the run provisioned (stream, delivery stream, a search
/// destination's index) in place, to inspect it afterwards.
pub async fn run_on_keeping(
    environment: &Environment,
    scenario: &Scenario,
    report_dir: &Path,
) -> Result<RunOutcome, RunError> {
    run_steps(environment, scenario, report_dir, &Interrupt::never(), true).await
}

/// Like [`run_on`], but stops early on `interrupt`: once production has started, a stop yields a
/// report marked incomplete; before that, [`RunError::Interrupted`].
pub async fn run_on_interruptible(
    environment: &Environment,
    scenario: &Scenario,
    report_dir: &Path,
    interrupt: &Interrupt,
) -> Result<RunOutcome, RunError> {
    run_steps(environment, scenario, report_dir, interrupt, false).await
}

/// Provision, produce, verify, report, and tear down what was provisioned unless `keep`.
async fn run_steps(
    environment: &Environment,
    scenario: &Scenario,
    report_dir: &Path,
    interrupt: &Interrupt,
    keep: bool,
) -> Result<RunOutcome, RunError> {
    check_backend(environment, scenario)?;
    let plan = RunPlan {
        environment,
        scenario,
        interrupt,
        run_id: new_run_id(),
        clients: environment.endpoint().clients().await,
    };
    let provisioned = plan.provision().await?;
    let (target, produced, resharding) = plan.produce(&provisioned).await?;
    let report = plan.verify(&provisioned, &produced, &resharding).await?;
    let faults = environment.fault_log();
    let report = plan.complete(report, &target, &produced, &faults, &resharding.lineage);
    let dir = report_dir.join(format!("{}-{}", scenario.name, plan.run_id));
    std::fs::create_dir_all(&dir).map_err(|source| RunError::ReportDir { path: dir.clone(), source })?;
    let report_path = report.write_all(&dir)?.json;
    let teardown_error = plan.teardown(&provisioned, keep).await;
    Ok(RunOutcome {
        run_id: plan.run_id.clone(),
        backend: environment.name(),
        endpoint: environment.endpoint().url.clone(),
        provisioned,
        metrics: produced.metrics,
        report,
        report_path,
        faults,
        envelope_field: scenario.workload.envelope_field.clone(),
        transforms: environment.transform_log(),
        expectation: produced.expectation,
        resharding: resharding.steps,
        teardown_error,
    })
}

/// One run of a scenario on a running backend: what each step needs, shared by the steps.
struct RunPlan<'a> {
    environment: &'a Environment,
    scenario: &'a Scenario,
    interrupt: &'a Interrupt,
    run_id: String,
    clients: environment::Clients,
}

impl RunPlan<'_> {
    /// Creates the bucket, stream and delivery stream (and proves them ready where the backend
    /// needs a canary); an interruption here is [`RunError::Interrupted`].
    async fn provision(&self) -> Result<Provisioned, RunError> {
        let (environment, scenario, run_id) = (self.environment, self.scenario, self.run_id.as_str());
        let provisioning = async {
            let provisioned =
                environment.provision(&self.clients, scenario, run_id, PROVISION_DEADLINE).await?;
            if environment.capabilities().needs_canary {
                environment::prove_ready(
                    &self.clients,
                    &provisioned,
                    run_id,
                    &scenario.workload.envelope_field,
                    PROVISION_DEADLINE,
                )
                .await?;
            }
            Ok::<_, RunError>(provisioned)
        };
        let provisioned = tokio::select! {
            provisioned = provisioning => provisioned?,
            () = self.interrupt.stopped() => return Err(self.interrupt.interrupted("provisioning")),
        };
        tracing::info!(
            stream = provisioned.stream_name.as_deref().unwrap_or("(direct put)"),
            delivery_stream = %provisioned.delivery_stream_name,
            bucket = %provisioned.bucket,
            "pipeline provisioned"
        );
        Ok(provisioned)
    }

    /// Puts the workload to the provisioned stream (or Direct PUT delivery stream) until it is all
    /// sent or the run is stopped.
    async fn produce(
        &self,
        provisioned: &Provisioned,
    ) -> Result<(Target, producer::Produced, crate::reshard::Resharded), RunError> {
        let target = match (&self.scenario.pipeline.source, &provisioned.stream_name) {
            (Source::KinesisStream, Some(stream)) => {
                Target::Kinesis { client: self.clients.kinesis.clone(), stream_name: stream.clone() }
            }
            _ => Target::Firehose {
                client: self.clients.firehose.clone(),
                delivery_stream_name: provisioned.delivery_stream_name.clone(),
            },
        };
        let options = ProduceOptions {
            run_id: self.run_id.clone(),
            retry: producer::RetryPolicy::for_workload(&self.scenario.workload),
        };
        let start = tokio::time::Instant::now();
        let probe = Arc::new(producer::ProduceProbe::default());
        let control = ProduceControl { probe: Some(Arc::clone(&probe)), ..ProduceControl::default() };
        let producing = producer::produce_until(
            &target,
            &self.scenario.workload,
            &options,
            &control,
            self.interrupt.stop.clone(),
        );
        let steps = &self.scenario.workload.reshard;
        let resharding = async {
            match &target {
                Target::Kinesis { client, stream_name } if !steps.is_empty() => {
                    crate::reshard::run_steps(client, stream_name, steps, start, &probe).await
                }
                _ => Ok(crate::reshard::Resharded::default()),
            }
        };
        let ((produced, finished), resharded) =
            tokio::join!(async { (producing.await, tokio::time::Instant::now()) }, resharding);
        let (produced, resharded) = (produced?, resharded?);
        // A step that started after the last record was sent tested nothing under load.
        if let Some((index, record)) =
            resharded.steps.iter().enumerate().find(|(_, record)| start + record.step.at > finished)
        {
            return Err(RunError::Reshard(crate::reshard::ReshardError {
                index,
                what: record.step.action.describe(),
                reason: format!(
                    "the workload finished {:.1} s after it started, before this step's at_seconds = {}; \
                     lengthen the workload (events, rate) or move the step earlier",
                    (finished - start).as_secs_f64(),
                    record.step.at.as_secs_f64()
                ),
            }));
        }

        tracing::info!(
            acknowledged = produced.metrics.acknowledged,
            rate = produced.metrics.achieved_rate(),
            "production finished"
        );
        Ok((target, produced, resharded))
    }

    /// Reads what the destination delivered until every acknowledged record is seen or the
    /// timeout passes; interrupted, reads once more and marks the report incomplete.
    async fn verify(
        &self,
        provisioned: &Provisioned,
        produced: &producer::Produced,
        resharding: &crate::reshard::Resharded,
    ) -> Result<Report, RunError> {
        let (environment, scenario, interrupt) = (self.environment, self.scenario, self.interrupt);
        let verify_options = VerifyOptions {
            bucket: provisioned.bucket.clone(),
            prefix: provisioned.prefix.clone(),
            destination: destination(environment, scenario, provisioned),
            expect: scenario.expect.clone(),
            poll_interval: poll_interval(scenario),
            buffering: Some(verifier::BufferingCheck::new(
                scenario.pipeline.buffering,
                environment.name(),
                environment.capabilities().buffering,
            )),
            time_scale: environment
                .time_scale()
                .map(|(origin_ns, scale)| verifier::TimeScale { origin_ns, scale }),
            transitions: resharding.steps.iter().map(crate::reshard::ReshardRecord::transition).collect(),
        };
        let source = ObjectSource::S3(&self.clients.s3);
        let mut phase = "producing";
        let report = if interrupt.cause().is_some() {
            None
        } else {
            tokio::select! {
                report = verifier::verify(source, &produced.expectation, &verify_options) => Some(report?),
                () = interrupt.stopped() => {
                    phase = "waiting for delivery";
                    None
                }
            }
        };
        if let Some(report) = report {
            return Ok(report);
        }
        // Interrupted: read what is there once, without waiting for the rest.
        let mut last_read = verify_options.clone();
        last_read.expect.timeout = Duration::ZERO;
        let read = verifier::verify(source, &produced.expectation, &last_read);
        let mut report = tokio::time::timeout(FINAL_READ_DEADLINE, read)
            .await
            .map_err(|_elapsed| interrupt.interrupted("reading the bucket a last time"))??;
        let cause = interrupt.cause().unwrap_or("a stop request");
        report.mark_incomplete(format!("interrupted by {cause} while {phase}"));
        Ok(report)
    }

    /// Adds what only the harness knows: the producer's load distribution, the backend's ground
    /// truth of injected faults, and the checks the backend cannot support.
    fn complete(
        &self,
        mut report: Report,
        target: &Target,
        produced: &producer::Produced,
        faults: &[FaultEvent],
        lineage: &[verifier::ShardLineage],
    ) -> Report {
        let (environment, scenario) = (self.environment, self.scenario);
        let shards = matches!(target, Target::Kinesis { .. }).then_some(scenario.pipeline.shards);
        let distribution = verifier::Distribution::new(
            &produced.metrics,
            shards,
            environment.name(),
            environment.capabilities().throttling,
        );
        report.distribution = Some(distribution.with_lineage(lineage));
        if scenario.faults.is_some() || !faults.is_empty() {
            let envelope_field = &scenario.workload.envelope_field;
            report.ground_truth =
                Some(faults.iter().map(|fault| injected_fault(fault, envelope_field)).collect());
        }
        if !environment.capabilities().compression_and_prefixes {
            report.object_format_not_applicable(format!(
                "the {} backend does not apply the AppendDelimiterToRecord processor",
                environment.name()
            ));
        }
        report
    }

    /// Deletes what the run provisioned unless `keep`; the error, if teardown failed.
    async fn teardown(&self, provisioned: &Provisioned, keep: bool) -> Option<String> {
        if keep {
            tracing::info!(bucket = %provisioned.bucket, "keeping the provisioned resources (--keep)");
            return None;
        }
        environment::teardown(&self.clients, provisioned).await.err().map(|error| error.to_string())
    }
}

/// What delivered the run's records, as the verifier reads them: the search index and its
/// backups, or S3 objects, behind a data transformation whose dropped records `environment` logs.
fn destination(environment: &Environment, scenario: &Scenario, provisioned: &Provisioned) -> Destination {
    if let Some(check) = search_check(scenario, provisioned) {
        return Destination::Search(check);
    }
    if scenario.pipeline.transform.is_none() {
        return Destination::S3;
    }
    let log = environment.transform_log_reader();
    let dropped: verifier::DroppedLog = Arc::new(move || {
        log()
            .into_iter()
            .filter(|event| event.kind == TransformEventKind::Dropped)
            .map(|event| event.data)
            .collect()
    });
    Destination::Transformed {
        check: transform_check(scenario, format!("the {} backend's transformation log", environment.name())),
        dropped: Some(dropped),
    }
}

/// How the verifier accounts for a scenario's data transformation; `dropped_source` says where the
/// records it dropped are known from.
pub fn transform_check(scenario: &Scenario, dropped_source: String) -> verifier::TransformCheck {
    verifier::TransformCheck { error_prefix: scenario.pipeline.error_output_root(), dropped_source }
}

/// Where the verifier reads a search destination's records: the provisioned cluster and run
/// index, the failed-documents prefix and the backup prefix; `None` without a search destination.
pub fn search_check(scenario: &Scenario, provisioned: &Provisioned) -> Option<verifier::SearchCheck> {
    let (destination, search) = (scenario.pipeline.search.as_ref()?, provisioned.search.as_ref()?);
    Some(verifier::SearchCheck {
        service: search.service,
        endpoint: search.endpoint.clone(),
        index: search.index.clone(),
        rotation: search.rotation,
        backup_mode: destination.backup_mode,
        failed_prefix: search.failed_prefix.clone(),
        backup_prefix: provisioned.prefix.clone(),
    })
}

/// How often the verifier re-lists the bucket: a quarter of the buffer interval, within 100 ms..2 s.
fn poll_interval(scenario: &Scenario) -> Duration {
    // The interval passes `time_scale` times faster on an emulator that runs fast.
    let scale = scenario.emulator.map_or(1.0, |settings| settings.time_scale);
    (scenario.pipeline.buffering.interval().div_f64(scale) / 4)
        .clamp(Duration::from_millis(100), Duration::from_secs(2))
}

/// The sections of `scenario` only the embedded emulator honours, with what other backends lack.
fn embedded_only_sections(scenario: &Scenario) -> Vec<(&'static str, &'static str)> {
    let mut sections = Vec::new();
    if scenario.faults.is_some() {
        sections.push(("a [faults] section", "cannot inject faults"));
    }
    if scenario.emulator.is_some() {
        sections.push(("an [emulator] section", "has no emulator clock to set"));
    }
    if scenario.pipeline.transform.is_some() {
        sections.push(("a [pipeline.transform] section", "cannot run a local transformation handler"));
    }
    // LocalStack has no OpenSearch or Elasticsearch delivery here; only the embedded emulator's
    // Firehose delivers to a search domain (its own, or a cluster named by `endpoint`).
    match scenario.pipeline.search.as_ref().map(|search| search.service) {
        Some(scenario::SearchService::OpenSearch) => sections.push((
            "a [pipeline.opensearch] section",
            "cannot deliver to OpenSearch (LocalStack has no OpenSearch destination here)",
        )),
        Some(scenario::SearchService::Elasticsearch) => sections.push((
            "a [pipeline.elasticsearch] section",
            "cannot deliver to Elasticsearch (LocalStack has no Elasticsearch destination here)",
        )),
        None => {}
    }
    sections
}

fn needs_embedded(scenario: &Scenario, backend: &str) -> Result<(), RunError> {
    match embedded_only_sections(scenario).first() {
        Some(&(section, lacks)) => Err(RunError::NeedsEmbedded {
            scenario: scenario.path.display().to_string(),
            section,
            backend: backend.to_owned(),
            lacks,
        }),
        None => Ok(()),
    }
}

/// `backend` set up for `scenario`: the embedded emulator gets the scenario's `[emulator]` time
/// scale, its `[faults]` and its `[pipeline.transform]` handler (registered under
/// [`environment::transform_function`]); any other backend refuses a scenario with one of them.
pub fn backend_for(backend: &Backend, scenario: &Scenario) -> Result<Backend, RunError> {
    let Backend::Embedded(options) = backend else {
        needs_embedded(scenario, backend.name())?;
        return Ok(backend.clone());
    };
    let mut options = options.clone();
    if let Some(settings) = &scenario.emulator {
        options.time_scale = Some(settings.time_scale);
    }
    if let Some(faults) = &scenario.faults {
        options.faults = faults.clone();
    }
    if let Some(transform) = &scenario.pipeline.transform {
        let config = emulator::TransformConfig {
            runtime: match transform.runtime {
                scenario::TransformRuntime::Python => emulator::TransformRuntime::Python,
                scenario::TransformRuntime::Node => emulator::TransformRuntime::Node,
            },
            handler: transform.handler.clone(),
            code_dir: transform.code_dir.clone(),
            timeout: transform.timeout,
            retries: transform.retries,
            // Set from the processor's LambdaArn when the delivery stream is created.
            function_arn: String::new(),
        };
        options.lambdas.insert(environment::transform_function(scenario), config);
    }
    Ok(Backend::Embedded(options))
}

/// Refuses a scenario the running `environment` cannot honour: a section only the embedded
/// emulator honours on another backend, or an `[emulator]` time scale it does not run at.
fn check_backend(environment: &Environment, scenario: &Scenario) -> Result<(), RunError> {
    if environment.kind() != BackendKind::Embedded {
        return needs_embedded(scenario, environment.name());
    }
    let Some(settings) = &scenario.emulator else { return Ok(()) };
    let running = environment.time_scale().map_or(1.0, |(_, scale)| scale);
    if running != settings.time_scale {
        return Err(RunError::TimeScaleMismatch {
            scenario: scenario.path.display().to_string(),
            wanted: settings.time_scale,
            running,
        });
    }
    Ok(())
}

/// The seq in a record's envelope, if it has one.
fn record_seq(data: &[u8], envelope_field: &str) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|event| event.get(envelope_field)?.get("seq")?.as_u64())
}

/// The seq of a record from its envelope, or a phrase saying it has none.
pub fn record_name(data: &[u8], envelope_field: &str) -> String {
    record_seq(data, envelope_field)
        .map_or_else(|| "a record without an envelope".to_owned(), |seq| format!("seq {seq}"))
}

/// An injected fault as the report's ground truth.
pub fn injected_fault(fault: &FaultEvent, envelope_field: &str) -> verifier::InjectedFault {
    verifier::InjectedFault {
        kind: fault.kind.name(),
        seq: record_seq(&fault.data, envelope_field),
        partition_key: fault.partition_key.clone(),
        shard: fault.shard_id.clone(),
        object: fault.object.clone(),
        what: describe_fault(fault, envelope_field),
    }
}

/// One line for an injected fault: what the backend did, and which record or object it hit.
pub fn describe_fault(fault: &FaultEvent, envelope_field: &str) -> String {
    let record = record_name(&fault.data, envelope_field);
    let object = fault.object.as_deref().unwrap_or("no object (nothing was left to write)");
    let batch = format!("batch #{} of {}", fault.ordinal, fault.stream);
    match &fault.kind {
        FaultKind::DropKinesis => format!(
            "dropped Kinesis entry #{} ({record}, key {:?}, {} of {}) after acknowledging it",
            fault.ordinal,
            fault.partition_key.as_deref().unwrap_or(""),
            fault.shard_id.as_deref().unwrap_or("?"),
            fault.stream
        ),
        FaultKind::DropFirehose => format!("Firehose dropped {record} from {batch} ({object})"),
        FaultKind::Duplicate => format!("Firehose wrote {record} twice in {object} ({batch})"),
        FaultKind::Reorder { moved_ahead } => format!(
            "Firehose wrote {} ahead of {record} in {object} ({batch})",
            record_name(moved_ahead, envelope_field)
        ),
        FaultKind::Corrupt { offset, len } => {
            format!("corrupted {record}: bytes {offset}..{} of {object}", offset + len)
        }
        FaultKind::Truncate { kept, partly } => {
            let how = if *partly { "cut short" } else { "cut off" };
            format!("truncated {object} to {kept} bytes: {record} {how} ({batch})")
        }
        FaultKind::Delay { by } => format!("held {object} back {} s before writing it", by.as_secs_f64()),
        FaultKind::S3PutFailure { retry } => {
            format!("S3 stored {object} but reported the write failed; Firehose wrote it again as {retry}")
        }
        FaultKind::ThrottleBurst | FaultKind::InternalFailure => format!(
            "refused {record} as {} in put request #{} to {}{}; the producer retries",
            if fault.kind == FaultKind::ThrottleBurst { "throttled (a burst)" } else { "InternalFailure" },
            fault.ordinal,
            fault.stream,
            fault.shard_id.as_deref().map(|shard| format!(" ({shard})")).unwrap_or_default(),
        ),
        FaultKind::StallShard { by } => format!(
            "{} read nothing of {} for {} s",
            fault.stream,
            fault.shard_id.as_deref().unwrap_or("?"),
            by.as_secs_f64()
        ),
        FaultKind::ReadChildrenEarly { child } => format!(
            "{} read {record} (key {:?}) from closed {} after a later record of its key from child {child}",
            fault.stream,
            fault.partition_key.as_deref().unwrap_or(""),
            fault.shard_id.as_deref().unwrap_or("?"),
        ),
        FaultKind::IndexFailure => format!(
            "the search domain rejected {record} for index {} on every attempt (400 mapper_parsing_exception); \
             Firehose backs it up to S3 as a failed document",
            fault.stream
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_teardown_exits_3_whatever_the_verdict_but_an_interruption_stays_130() {
        // (incomplete, passed, teardown failed) → exit code.
        let cases = [
            ((false, true, false), exit::PASS),
            ((false, false, false), exit::ASSERTION_FAILED),
            ((false, true, true), exit::ENVIRONMENT_FAILED),
            ((false, false, true), exit::ENVIRONMENT_FAILED),
            ((true, false, true), exit::INTERRUPTED),
            ((true, false, false), exit::INTERRUPTED),
        ];
        for ((incomplete, passed, teardown_failed), code) in cases {
            assert_eq!(
                outcome_exit_code(incomplete, passed, teardown_failed),
                code,
                "{incomplete} {passed} {teardown_failed}"
            );
        }
    }
}
