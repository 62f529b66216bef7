//! `streamproof emulator serve`: the embedded Kinesis + Firehose + S3 emulator as a standalone local endpoint.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use emulator::{Emulator, EmulatorConfig, StartError};
use streamproof::exit;

use crate::fail;

#[derive(Debug, clap::Args)]
pub(crate) struct EmulatorArgs {
    #[command(subcommand)]
    command: EmulatorCommand,
}

#[derive(Debug, Subcommand)]
enum EmulatorCommand {
    /// Serve Kinesis, Firehose and S3 on one loopback port until Ctrl-C, for the AWS CLI, boto3 and the SDKs.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The port on 127.0.0.1 to listen on; 0 picks a free port.
    #[arg(long, default_value_t = 4566)]
    port: u16,
    /// How many times faster than real time emulator time runs (60 turns a 300 s buffering
    /// interval into 5 s of wall time). Every timestamp the emulator shows is in emulator time.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Keep S3 buckets and objects in this directory, so they outlive the process.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Accept any write rate instead of AWS's per-shard limits (1 MiB/s and 1,000 records/s).
    #[arg(long)]
    no_shard_limits: bool,
}

pub(crate) async fn run(args: EmulatorArgs) -> ExitCode {
    match args.command {
        EmulatorCommand::Serve(args) => serve(args).await,
    }
}

async fn serve(args: ServeArgs) -> ExitCode {
    let config = EmulatorConfig {
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
        time_scale: args.time_scale,
        data_dir: args.data_dir.clone(),
        shard_write_limits: !args.no_shard_limits,
        ..EmulatorConfig::default()
    };
    let region = config.region.clone();
    let emulator = match Emulator::start(config).await {
        Ok(emulator) => emulator,
        Err(error @ StartError::InvalidTimeScale(_)) => {
            return fail(exit::BAD_INPUT, &anyhow::Error::new(error));
        }
        Err(error) => return fail(exit::ENVIRONMENT_FAILED, &anyhow::Error::new(error)),
    };
    let endpoint = emulator.endpoint();
    println!("streamproof emulator: Kinesis, Firehose and S3 at {endpoint}");
    println!(
        "time scale {}; S3 data {}",
        args.time_scale,
        match &args.data_dir {
            Some(dir) => format!("kept in {}", dir.display()),
            None => "in memory only".to_owned(),
        }
    );
    println!("Point the AWS CLI, boto3 or an SDK at it with:");
    println!("export AWS_ENDPOINT_URL={endpoint}");
    println!("export AWS_ACCESS_KEY_ID=test");
    println!("export AWS_SECRET_ACCESS_KEY=test");
    println!("export AWS_REGION={region}");
    println!("export AWS_DEFAULT_REGION={region}");
    println!(
        "S3 takes path-style requests, or virtual-host style at http://<bucket>.localhost:{}",
        emulator.local_addr().port()
    );
    println!("Press Ctrl-C to stop.");
    let signal = shutdown_signal().await;
    println!("stopping ({signal})");
    emulator.shutdown().await;
    println!("stopped");
    ExitCode::from(exit::PASS)
}

/// Waits for Ctrl-C or, on Unix, SIGTERM; returns which one arrived.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "interrupted",
                _ = term.recv() => "terminated",
            };
        }
    }
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::warn!(%error, "cannot listen for Ctrl-C; stopping");
    }
    "interrupted"
}
