//! `cargo xtask`: the project's own automation (CI gate, end-to-end scenarios, benchmarks).

mod bench;
mod browser;
mod cache;
mod ci;
mod clients;
mod coverage;
mod e2e;
mod localstack;
mod repro;
mod step;
#[cfg(test)]
mod tidy;

use std::path::PathBuf;

use anyhow::{Result, bail};
use xshell::Shell;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci [--stage localstack|clients|browser]
         format check, clippy -D warnings, every test, every scenario on the embedded backend, then
         the LocalStack, clients and browser stages (or only the one named); under CI=true a stage
         that cannot run fails the run unless STREAMPROOF_SKIP_STAGES names it
  e2e    every scenario in scenarios/ on the embedded backend
  repro <scenario>
         run a scenario with its [faults] (e.g. scenarios/bugs/*.toml); findings beside ground truth
  bench [--quick]
         release build, then every performance figure against its peer; target/bench/bench.json
  localstack setup
         install LocalStack host mode (pinned, no Docker) into its cache directory
  browser setup
         install Chromium from Debian's packages, for the HTML report's screenshot test
  coverage [--check]
         write docs/COVERAGE.md (every SDK operation of Kinesis, Firehose and S3, and whether the
         emulator serves it) from the routing tables; --check fails if it is out of date
  clients setup | path
         install the pinned AWS client tooling (boto3, awscli, the JavaScript SDK) the client tests use, into its cache directory
  localstack up | down | status
         keep LocalStack host mode running in the background (streamproof env up --name localstack)
  localstack path
         print that directory
";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    match args.first().map(String::as_str) {
        Some("ci") => ci::run(&sh, &args[1..]),
        Some("clients") => clients::run(&sh, &args[1..]),
        Some("coverage") => coverage::run(&sh, &args[1..]),
        Some("e2e") => e2e::run(&sh),
        Some("repro") => repro::run(&sh, &args[1..]),
        Some("bench") => bench::run(&sh, &args[1..]),
        Some("localstack") => localstack::run(&sh, &args[1..]),
        Some("browser") => browser::run(&sh, &args[1..]),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n{USAGE}"),
    }
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}
