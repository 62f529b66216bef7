//! `streamproof`: prove that a Kinesis → Firehose → S3 pipeline delivers every record.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use streamproof::exit;

#[derive(Debug, Parser)]
#[command(
    name = "streamproof",
    version,
    about = "Prove that a Kinesis → Firehose → S3 pipeline delivers every record"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Provision a scenario's pipeline, send its workload, verify what reached S3, and report.
    Run(cmd::run::RunArgs),
    /// How many shards a workload needs: plan from its partition keys, or sweep shard counts on a backend.
    Capacity(cmd::capacity::CapacityArgs),
    /// Send a scenario's workload to a pipeline provisioned elsewhere and write its expectation file.
    Produce(cmd::produce::ProduceArgs),
    /// Turn Firehose S3 objects (file, directory or s3://bucket/prefix) into NDJSON on stdout.
    Decode(cmd::decode::DecodeArgs),
    /// Verify a run produced earlier or elsewhere, from its expectation file and its bucket.
    Verify(cmd::verify::VerifyArgs),
    /// Write a scenario's records as Firehose would deliver them (a file or objects) and time the generation.
    Generate(cmd::generate::GenerateArgs),
    /// Run the embedded Kinesis + Firehose + S3 emulator on its own.
    Emulator(cmd::emulator::EmulatorArgs),
    /// Keep a backend and a scenario's pipeline running between commands: `env up|down|status`.
    Env(cmd::env::EnvArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,streamproof=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            return exit::fail(
                exit::ENVIRONMENT_FAILED,
                &anyhow::Error::new(error).context("cannot start tokio"),
            );
        }
    };
    match cli.command {
        Command::Run(args) => runtime.block_on(cmd::run::run(args)),
        Command::Capacity(args) => runtime.block_on(cmd::capacity::run(args)),
        Command::Produce(args) => runtime.block_on(cmd::produce::run(args)),
        Command::Decode(args) => runtime.block_on(cmd::decode::run(args)),
        Command::Verify(args) => runtime.block_on(cmd::verify::run(args)),
        Command::Generate(args) => cmd::generate::run(args),
        Command::Emulator(args) => runtime.block_on(cmd::emulator::run(args)),
        Command::Env(args) => runtime.block_on(cmd::env::run(args)),
    }
}
