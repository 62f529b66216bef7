//! `cargo xtask`: the project's own automation (CI gate, end-to-end scenarios, benchmarks).

mod bench;
mod browser;
mod ci;
mod clients;
mod e2e;
mod localstack;
mod repro;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
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
  clients setup | path
         install the pinned AWS client tooling (boto3) the client tests use, into its cache directory
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

/// An install directory: `$variable` when set, else `folder` under `~/.cache/streamproof/` (or
/// `$XDG_CACHE_HOME/streamproof/`), where every install of the project's own setup is cached.
fn cache_home(variable: &str, folder: &str) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(variable) {
        return Ok(PathBuf::from(dir));
    }
    let cache = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".cache"),
    };
    Ok(cache.join("streamproof").join(folder))
}

/// Runs one named step, printing its duration, and stops at the first failure.
fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    eprintln!("==> {name}");
    let started = Instant::now();
    let result = f();
    let secs = started.elapsed().as_secs_f64();
    match &result {
        Ok(()) => eprintln!("<== {name}: ok ({secs:.0} s)"),
        Err(_) => eprintln!("<== {name}: FAILED ({secs:.0} s)"),
    }
    result
}
