//! `streamproof env up|down|status`: keep a backend (and a scenario's pipeline) running between
//! commands, for reproducing a delivery bug by hand.
//!
//! `up` starts a detached holder process (`env hold`, hidden) in its own process group, so closing
//! the terminal or pressing Ctrl-C there does not stop it, and waits until the holder has written
//! its state file. `down` signals the holder, which tears down what it provisioned and stops the
//! backend, then removes its state file.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use clap::Subcommand;
use environment::{EmbeddedOptions, Environment, HeldEnvironment, HeldResources, Registry};
use streamproof::exit;

use crate::cmd::backend::BackendArgs;
use crate::cmd::shell::{print_exports, shutdown_signal};
use streamproof::exit::fail;

/// How long each provisioned resource may take to become ACTIVE.
const PROVISION_DEADLINE: Duration = Duration::from_secs(180);
/// How long `down` waits for the holder to tear everything down.
const STOP_DEADLINE: Duration = Duration::from_secs(60);

#[derive(Debug, clap::Args)]
pub(crate) struct EnvArgs {
    #[command(subcommand)]
    command: EnvCommand,
    /// Directory of held environments' state files and logs [default: $STREAMPROOF_ENV_DIR or
    /// ~/.cache/streamproof/env].
    #[arg(long, global = true)]
    state_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum EnvCommand {
    /// Start a backend in the background (and provision a scenario's pipeline on it), print its
    /// endpoint and `export` lines, and return.
    Up(UpArgs),
    /// Tear down a held environment: its resources, then its backend.
    Down {
        /// The environment's name.
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Show held environments: backend, endpoint, resources, and whether they still run.
    Status {
        /// Only this environment.
        #[arg(long)]
        name: Option<String>,
    },
    /// The process that holds an environment up (started by `up`).
    #[command(hide = true)]
    Hold(UpArgs),
}

#[derive(Debug, Clone, clap::Args)]
struct UpArgs {
    /// A scenario whose bucket, stream and delivery stream to provision; without one, only the backend.
    scenario: Option<PathBuf>,
    /// A name for the environment, to run several side by side.
    #[arg(long, default_value = "default")]
    name: String,
    #[command(flatten)]
    backend: BackendArgs,
    /// How long to wait for the backend and the pipeline to be ready, in seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

pub(crate) async fn run(args: EnvArgs) -> ExitCode {
    let registry = match args.state_dir.or_else(Registry::default_dir) {
        Some(dir) => Registry::new(dir),
        None => return fail(exit::BAD_INPUT, &anyhow!("no home directory: pass --state-dir")),
    };
    let result = match args.command {
        EnvCommand::Up(up) => self::up(&registry, up).await,
        EnvCommand::Down { name } => down(&registry, &name),
        EnvCommand::Status { name } => status(&registry, name.as_deref()),
        EnvCommand::Hold(up) => hold(&registry, up).await,
    };
    match result {
        Ok(()) => ExitCode::from(exit::PASS),
        Err(failure) => fail(failure.code, &failure.error),
    }
}

/// A failed env command: the exit code and the error to print.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

fn bad_input(error: anyhow::Error) -> Failure {
    Failure { code: exit::BAD_INPUT, error }
}

fn env_failed(error: anyhow::Error) -> Failure {
    Failure { code: exit::ENVIRONMENT_FAILED, error }
}

fn check_name(name: &str) -> Result<(), Failure> {
    if environment::valid_name(name) {
        Ok(())
    } else {
        Err(bad_input(anyhow!("--name {name:?}: use 1 to 64 of a-z, 0-9, '-' and '_'")))
    }
}

async fn up(registry: &Registry, args: UpArgs) -> Result<(), Failure> {
    check_name(&args.name)?;
    if let Some(path) = &args.scenario {
        scenario::load(path).map_err(|error| bad_input(error.into()))?;
    }
    if let Some(held) = registry.read(&args.name).map_err(|error| env_failed(error.into()))? {
        if environment::process_alive(held.pid) {
            return Err(bad_input(anyhow!(
                "environment {:?} is already up at {} (pid {}); stop it with `streamproof env down --name {}`",
                held.name,
                held.endpoint,
                held.pid,
                held.name
            )));
        }
        registry.remove(&held.name).map_err(|error| env_failed(error.into()))?;
    }
    registry.ensure_dir().map_err(|error| env_failed(error.into()))?;
    let log_path = registry.log_path(&args.name);
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))
        .map_err(env_failed)?;
    let err_log = log.try_clone().context("cannot share the log file").map_err(env_failed)?;
    let exe =
        std::env::current_exe().context("cannot find the streamproof executable").map_err(env_failed)?;
    let mut child = Command::new(exe)
        .args(hold_args(registry.dir(), &args).map_err(env_failed)?)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        .process_group(0)
        .spawn()
        .context("cannot start the environment's holder process")
        .map_err(env_failed)?;

    println!(
        "starting {} environment {:?} (log: {})",
        args.backend.kind().name(),
        args.name,
        log_path.display()
    );
    let started = Instant::now();
    let mut reported = Duration::ZERO;
    let held = loop {
        if let Some(held) = registry.read(&args.name).map_err(|error| env_failed(error.into()))?
            && held.pid == child.id()
        {
            break held;
        }
        if let Some(status) = child.try_wait().context("cannot wait for the holder").map_err(env_failed)? {
            return Err(env_failed(anyhow!(
                "the environment did not come up ({status}); last lines of {}:\n{}",
                log_path.display(),
                tail(&log_path, 20)
            )));
        }
        let waited = started.elapsed();
        if waited > Duration::from_secs(args.timeout) {
            // The holder tears down whatever it started when signalled.
            environment::stop_holder(child.id(), STOP_DEADLINE);
            return Err(env_failed(anyhow!(
                "the environment was not ready within {} s; last lines of {}:\n{}",
                args.timeout,
                log_path.display(),
                tail(&log_path, 20)
            )));
        }
        if waited >= reported + Duration::from_secs(10) {
            reported = waited;
            println!("  still starting ({} s)", waited.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    print_held(&held, true);
    println!("Point the AWS CLI, boto3 or an SDK at it with:");
    print_exports(&held.endpoint, &held.region, held.test_credentials);
    println!("Stop it with: streamproof env down --name {}", held.name);
    Ok(())
}

/// The holder's command line: `env hold` with the same options as `up`.
fn hold_args(state_dir: &Path, args: &UpArgs) -> anyhow::Result<Vec<OsString>> {
    let mut argv: Vec<OsString> =
        vec!["env".into(), "--state-dir".into(), absolute(state_dir)?.into(), "hold".into()];
    argv.extend([
        "--name".into(),
        args.name.clone().into(),
        "--timeout".into(),
        args.timeout.to_string().into(),
    ]);
    argv.extend(args.backend.to_args());
    if let Some(path) = &args.scenario {
        argv.push(absolute(path)?.into());
    }
    Ok(argv)
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// The last `lines` lines of a log file, for an error message.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Brings the environment up, writes its state file, and holds it until SIGTERM or SIGINT.
async fn hold(registry: &Registry, args: UpArgs) -> Result<(), Failure> {
    check_name(&args.name)?;
    let scenario = match &args.scenario {
        Some(path) => Some(scenario::load(path).map_err(|error| bad_input(error.into()))?),
        None => None,
    };
    let mut backend = args.backend.backend(EmbeddedOptions::default(), scenario.as_ref());
    if let Some(scenario) = &scenario {
        backend = streamproof::run::backend_for(&backend, scenario)
            .map_err(|error| Failure { code: error.exit_code(), error: error.into() })?;
    }
    let environment = Environment::start(&backend).await.map_err(|error| env_failed(error.into()))?;
    let held = async {
        let clients = environment.endpoint().clients().await;
        let mut resources = None;
        if let Some(scenario) = &scenario {
            let run_id = format!("env-{}", args.name);
            let provisioned = environment.provision(&clients, scenario, &run_id, PROVISION_DEADLINE).await?;
            if environment.capabilities().needs_canary {
                let field = &scenario.workload.envelope_field;
                environment::prove_ready(&clients, &provisioned, &run_id, field, PROVISION_DEADLINE).await?;
            }
            resources = Some((
                provisioned.clone(),
                HeldResources {
                    scenario: scenario.name.clone(),
                    stream: provisioned.stream_name.clone(),
                    delivery_stream: provisioned.delivery_stream_name.clone(),
                    bucket: provisioned.bucket.clone(),
                    prefix: provisioned.prefix.clone(),
                    search: provisioned.search.as_ref().map(|search| environment::HeldSearch {
                        endpoint: search.endpoint.clone(),
                        index: search.index_pattern(),
                    }),
                },
            ));
        }
        Ok::<_, environment::EnvError>((clients, resources))
    }
    .await;
    let (clients, resources) = match held {
        Ok(held) => held,
        Err(error) => {
            environment.shutdown().await;
            return Err(env_failed(error.into()));
        }
    };
    let endpoint = environment.endpoint();
    let state = HeldEnvironment {
        name: args.name.clone(),
        pid: std::process::id(),
        backend: environment.name().to_owned(),
        endpoint: endpoint.url.clone(),
        region: endpoint.region.clone(),
        test_credentials: !endpoint.use_default_credentials,
        ready_at_unix: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        log: registry.log_path(&args.name),
        resources: resources.as_ref().map(|(_, held)| held.clone()),
    };
    if let Err(error) = registry.write(&state) {
        environment.shutdown().await;
        return Err(env_failed(error.into()));
    }
    tracing::info!(endpoint = %state.endpoint, "environment ready; holding it until SIGTERM or SIGINT");
    let signal = shutdown_signal().await;
    tracing::info!(signal, "tearing the environment down");
    if let Some((provisioned, _)) = &resources
        && let Err(error) = environment::teardown(&clients, provisioned).await
    {
        tracing::warn!(%error, "teardown failed");
    }
    environment.shutdown().await;
    registry.remove(&args.name).map_err(|error| env_failed(error.into()))?;
    Ok(())
}

fn down(registry: &Registry, name: &str) -> Result<(), Failure> {
    check_name(name)?;
    let Some(held) = registry.read(name).map_err(|error| env_failed(error.into()))? else {
        println!("no environment named {name:?} is up (state directory {})", registry.dir().display());
        return Ok(());
    };
    if !environment::process_alive(held.pid) {
        registry.remove(name).map_err(|error| env_failed(error.into()))?;
        println!("environment {name:?} was no longer running (pid {} is gone); removed its state", held.pid);
        return Ok(());
    }
    println!("stopping environment {name:?} ({} at {}, pid {})", held.backend, held.endpoint, held.pid);
    if !environment::stop_holder(held.pid, STOP_DEADLINE) {
        return Err(env_failed(anyhow!(
            "pid {} did not stop within {} s; see {}",
            held.pid,
            STOP_DEADLINE.as_secs(),
            held.log.display()
        )));
    }
    if registry.read(name).map_err(|error| env_failed(error.into()))?.is_some() {
        registry.remove(name).map_err(|error| env_failed(error.into()))?;
        return Err(env_failed(anyhow!("the holder exited without cleaning up; see {}", held.log.display())));
    }
    println!("stopped");
    Ok(())
}

fn status(registry: &Registry, name: Option<&str>) -> Result<(), Failure> {
    let held = match name {
        Some(name) => {
            check_name(name)?;
            registry.read(name).map_err(|error| env_failed(error.into()))?.into_iter().collect()
        }
        None => registry.list().map_err(|error| env_failed(error.into()))?,
    };
    if held.is_empty() {
        println!("no environments are up (state directory {})", registry.dir().display());
    }
    for held in &held {
        print_held(held, environment::process_alive(held.pid));
    }
    Ok(())
}

fn print_held(held: &HeldEnvironment, alive: bool) {
    let state = if alive { "up" } else { "stale (its process is gone; `env down` removes it)" };
    println!("{}: {} at {} (pid {}): {state}", held.name, held.backend, held.endpoint, held.pid);
    if let Some(resources) = &held.resources {
        println!("  scenario {}", resources.scenario);
        if let Some(stream) = &resources.stream {
            println!("  kinesis stream   {stream}");
        }
        println!("  delivery stream  {}", resources.delivery_stream);
        println!("  bucket           s3://{}/{}", resources.bucket, resources.prefix);
        if let Some(search) = &resources.search {
            println!("  search endpoint  {}", search.endpoint);
            println!("  index            {}", search.index);
        }
    }
    println!("  log              {}", held.log.display());
}
