//! `cargo xtask ci`: the gate every change passes, in the order that fails fastest.
//!
//! The stages after the tests need something installed (LocalStack host mode, the AWS clients,
//! Chromium). A stage that cannot run says so in a banner; under `CI=true` that fails the run,
//! unless the stage is switched off by name in `STREAMPROOF_SKIP_STAGES`, so CI never passes
//! without its stages by accident. Every stage prints its duration, and the run ends with a table
//! of what ran.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// The stages that need an install and may be switched off, by the names `STREAMPROOF_SKIP_STAGES`
/// takes.
const OPTIONAL_STAGES: [&str; 3] = ["localstack", "clients", "browser"];

/// The variable that switches optional stages off, e.g. `STREAMPROOF_SKIP_STAGES=browser,localstack`.
const SKIP_VARIABLE: &str = "STREAMPROOF_SKIP_STAGES";

pub(crate) fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let policy = Policy::from_env()?;
    let only = match args {
        [] => None,
        [flag, stage] if flag == "--stage" => Some(stage.as_str()),
        _ => bail!("usage: cargo xtask ci [--stage localstack|clients|browser]"),
    };
    let nextest = cmd!(sh, "cargo nextest --version").quiet().ignore_stdout().ignore_stderr().run().is_ok();
    let stages = Stages::default();
    let outcome = (|| {
        if only.is_none() {
            stages.run("prerequisites: python3 and node for the transformation handlers", || {
                prerequisites(sh)
            })?;
            stages.run("format check", || Ok(cmd!(sh, "cargo fmt --all -- --check").run()?))?;
            stages.run("clippy", || {
                Ok(cmd!(sh, "cargo clippy --workspace --all-targets --locked -- -D warnings").run()?)
            })?;
            stages.run("tests", || {
                if nextest {
                    Ok(cmd!(sh, "cargo nextest run --workspace --locked --no-fail-fast").run()?)
                } else {
                    eprintln!("cargo-nextest is not installed; running the tests with cargo test");
                    Ok(cmd!(sh, "cargo test --workspace --locked --no-fail-fast").run()?)
                }
            })?;
            stages.run("scenarios", || crate::e2e::run(sh))?;
            stages.run("coverage table", || crate::coverage::run(sh, &["--check".to_owned()]))?;
        }
        for stage in OPTIONAL_STAGES {
            if only.is_none_or(|only| only == stage) {
                optional_stage(sh, &policy, &stages, stage, nextest)?;
            }
        }
        if only.is_none() {
            docker_stage(sh, &stages, nextest)?;
        }
        if let Some(only) = only.filter(|only| !OPTIONAL_STAGES.contains(only)) {
            bail!("unknown stage {only:?}; --stage takes one of {}", OPTIONAL_STAGES.join(", "));
        }
        Ok(())
    })();
    stages.print_table();
    outcome
}

/// The interpreters the default tier needs besides Rust: the data-transformation tests run the
/// users' handlers (`examples/`) in `python3` and `node`, as Firehose runs a Lambda in its runtime.
/// Missing, every such test would fail; this says why at once.
fn prerequisites(sh: &Shell) -> Result<()> {
    for (tool, why) in [("python3", "Python 3 (3.9 or later)"), ("node", "Node.js (18 or later)")] {
        let version = cmd!(sh, "{tool} --version").quiet().read().with_context(|| {
            format!("the transformation tests run handlers in `{tool}`, which is not on PATH: install {why}")
        })?;
        eprintln!("{tool}: {}", version.trim());
    }
    Ok(())
}

/// Runs one optional stage: its setup, then its tests; or, when the setup cannot succeed here, what
/// the policy says about a stage that cannot run.
fn optional_stage(sh: &Shell, policy: &Policy, stages: &Stages, stage: &str, nextest: bool) -> Result<()> {
    if policy.skips(stage) {
        banner(&format!(
            "{} STAGE SWITCHED OFF by {SKIP_VARIABLE}: not run, so not verified.",
            stage.to_uppercase()
        ));
        stages.record(stage, "switched off", 0.0);
        return Ok(());
    }
    let setup = match stage {
        "localstack" => stages.attempt("localstack setup", || {
            crate::localstack::run(sh, &["setup".to_owned()]).map_err(|error| {
                if registries_reachable(sh) {
                    // The registries answer, so the setup itself is broken: always a failure.
                    Unrunnable::Broken(error)
                } else {
                    Unrunnable::Here(error.context(
                        "PyPI or the npm registry cannot be reached, so LocalStack host mode cannot be installed",
                    ))
                }
            })
        }),
        "clients" => stages.attempt("clients setup", || crate::clients::setup(sh).map_err(Unrunnable::Here)),
        "browser" => stages.attempt("browser setup", || {
            crate::browser::setup(sh).map_err(|error| {
                Unrunnable::Here(error.context("Chromium could not be installed from Debian's packages"))
            })
        }),
        other => unreachable!("no optional stage {other}"),
    };
    match setup {
        Ok(()) => {}
        Err(Unrunnable::Broken(error)) => return Err(error),
        Err(Unrunnable::Here(error)) => {
            stages.record(stage, "could not run", 0.0);
            return policy.cannot_run(stage, error);
        }
    }
    match stage {
        "localstack" => {
            stages.run(
                "LocalStack tests on one shared LocalStack: kinesis-to-s3-small.toml end to end, differential against embedded, two runs at once",
                || on_shared_localstack(sh, || ignored_tests(sh, nextest, "shared_localstack")),
            )?;
            stages.run("LocalStack lifecycle tests: readiness, teardown after pass, fail and Ctrl-C", || {
                ignored_tests(sh, nextest, "localstack_host")
            })
        }
        "clients" => stages
            .run("client tests: boto3, the AWS CLI and the JavaScript SDK against the emulator", || {
                ignored_tests(sh, nextest, "clients_")
            }),
        "browser" => {
            stages.run("HTML report in headless Chromium", || ignored_tests(sh, nextest, "chromium"))
        }
        other => unreachable!("no optional stage {other}"),
    }
}

/// Why a stage's setup failed: it cannot work on this machine (a registry or package source is out
/// of reach), or it is broken, which fails the run wherever it happens.
#[derive(Debug)]
enum Unrunnable {
    Here(anyhow::Error),
    Broken(anyhow::Error),
}

impl From<anyhow::Error> for Unrunnable {
    fn from(error: anyhow::Error) -> Self {
        Unrunnable::Broken(error)
    }
}

/// What a run does with stages that cannot run: fail under CI, say so in a banner elsewhere; and
/// which stages were switched off by name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Policy {
    ci: bool,
    skip: BTreeSet<String>,
}

impl Policy {
    fn from_env() -> Result<Policy> {
        let ci = std::env::var("CI").is_ok_and(|value| is_ci(&value));
        Policy::new(ci, std::env::var(SKIP_VARIABLE).ok().as_deref())
    }

    /// `skip` is the value of `STREAMPROOF_SKIP_STAGES`: stage names separated by commas; an unknown
    /// name is an error, so a typo never leaves a stage on that was meant off, or the reverse.
    fn new(ci: bool, skip: Option<&str>) -> Result<Policy> {
        let mut names = BTreeSet::new();
        for name in skip.unwrap_or_default().split(',').map(str::trim).filter(|name| !name.is_empty()) {
            if !OPTIONAL_STAGES.contains(&name) {
                bail!(
                    "{SKIP_VARIABLE} names {name:?}, which is not a stage that can be switched off; the stages are {}",
                    OPTIONAL_STAGES.join(", ")
                );
            }
            names.insert(name.to_owned());
        }
        Ok(Policy { ci, skip: names })
    }

    fn skips(&self, stage: &str) -> bool {
        self.skip.contains(stage)
    }

    /// A stage that cannot run here: under CI the run fails, naming the variable that switches the
    /// stage off; elsewhere a banner says that the stage was not run, and the run goes on.
    fn cannot_run(&self, stage: &str, cause: anyhow::Error) -> Result<()> {
        let what = format!(
            "{} STAGE NOT RUN: nothing it checks was verified in this run.\n\
             To switch it off on purpose, set {SKIP_VARIABLE}={stage}.",
            stage.to_uppercase()
        );
        banner(&format!("{what}\ncause: {cause:#}"));
        if self.ci {
            return Err(cause.context(format!(
                "the {stage} stage cannot run, and under CI=true a stage that cannot run fails the run \
                 (set {SKIP_VARIABLE}={stage} to switch it off)"
            )));
        }
        Ok(())
    }
}

/// Whether a value of `CI` means a CI system: `true` or `1`, as CI systems set it.
fn is_ci(value: &str) -> bool {
    value.eq_ignore_ascii_case("true") || value == "1"
}

/// The stages of one run with their outcome and duration, for the closing table.
#[derive(Debug, Default)]
struct Stages {
    rows: RefCell<Vec<(String, &'static str, f64)>>,
}

impl Stages {
    /// Runs one named stage, printing its duration, and stops at the first failure.
    fn run(&self, name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
        self.attempt(name, f)
    }

    /// [`Stages::run`] for a step whose failure is not an `anyhow::Error` (a setup's [`Unrunnable`]).
    fn attempt<E>(
        &self,
        name: &str,
        f: impl FnOnce() -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        eprintln!("==> {name}");
        let started = Instant::now();
        let result = f();
        let secs = started.elapsed().as_secs_f64();
        let outcome = if result.is_ok() { "ok" } else { "FAILED" };
        eprintln!("<== {name}: {outcome} ({secs:.0} s)");
        self.record(name, outcome, secs);
        result
    }

    fn record(&self, name: &str, outcome: &'static str, secs: f64) {
        self.rows.borrow_mut().push((name.to_owned(), outcome, secs));
    }

    fn print_table(&self) {
        let rows = self.rows.borrow();
        eprintln!("\nstages of this run:");
        for (name, outcome, secs) in rows.iter() {
            let name: String = name.chars().take(72).collect();
            eprintln!("  {outcome:<13} {secs:>5.0} s  {name}");
        }
    }
}

/// The LocalStack container backend and the real-OpenSearch test need a Docker daemon, which CI
/// machines may not have: they are opt-in, run only when `STREAMPROOF_DOCKER_TESTS=1` (and then fail
/// without a daemon), and CI says when they were not asked for.
fn docker_stage(sh: &Shell, stages: &Stages, nextest: bool) -> Result<()> {
    if std::env::var("STREAMPROOF_DOCKER_TESTS").as_deref() != Ok("1") {
        eprintln!(
            "==> container tests: not asked for (they need a Docker daemon; set STREAMPROOF_DOCKER_TESTS=1 to run them)"
        );
        stages.record("container tests (STREAMPROOF_DOCKER_TESTS=1)", "not asked for", 0.0);
        return Ok(());
    }
    stages.run("container tests: the localstack backend and a real OpenSearch through testcontainers", || {
        ignored_tests(sh, nextest, "docker_")
    })
}

/// Holds one LocalStack host process up (`streamproof env up`) while `tests` run, with its URL in
/// `STREAMPROOF_LOCALSTACK_URL`, and stops it afterwards whatever the outcome.
fn on_shared_localstack(sh: &Shell, tests: impl FnOnce() -> Result<()>) -> Result<()> {
    let name = format!("ci-localstack-{}", std::process::id());
    let up = cmd!(
        sh,
        "cargo run --quiet --locked -p streamproof -- env up --name {name} --backend localstack-host"
    )
    .read();
    let down = || {
        if let Err(error) =
            cmd!(sh, "cargo run --quiet --locked -p streamproof -- env down --name {name}").run()
        {
            eprintln!("stopping the shared LocalStack {name} failed: {error}");
        }
    };
    let url = match up {
        Ok(out) => {
            out.lines().find_map(|line| line.strip_prefix("export AWS_ENDPOINT_URL=")).map(str::to_owned)
        }
        Err(error) => {
            down();
            return Err(error).context("starting the shared LocalStack");
        }
    };
    let Some(url) = url else {
        down();
        bail!("`streamproof env up` printed no AWS_ENDPOINT_URL for the shared LocalStack");
    };
    eprintln!("shared LocalStack {name} at {url}");
    let outcome = {
        let _url = sh.push_env("STREAMPROOF_LOCALSTACK_URL", &url);
        tests()
    };
    down();
    outcome
}

/// Runs the ignored tests whose names contain `filter`, two at a time: CI machines have two cores,
/// and a LocalStack test keeps a JVM busy for its Kinesis source.
fn ignored_tests(sh: &Shell, nextest: bool, filter: &str) -> Result<()> {
    let threads = "2";
    if nextest {
        let expression = format!("test(/{filter}/)");
        cmd!(sh, "cargo nextest run --workspace --locked --run-ignored only --test-threads {threads} -E {expression}")
            .run()?;
    } else {
        cmd!(sh, "cargo test --workspace --locked -- --ignored --test-threads {threads} {filter}").run()?;
    }
    Ok(())
}

/// A stage that did not run says so loudly, so that it is never mistaken for a pass.
fn banner(what: &str) {
    eprintln!(
        "\n********************************************************************************\n\
         {what}\n\
         ********************************************************************************\n"
    );
}

/// Whether PyPI and the npm registry answer, to tell an unreachable registry from a broken setup.
fn registries_reachable(sh: &Shell) -> bool {
    let pypi = cmd!(sh, "python3 -c 'import urllib.request; urllib.request.urlopen(\"https://pypi.org/simple/uv/\", timeout=10)'")
        .quiet()
        .ignore_stderr()
        .run()
        .is_ok();
    let npm = cmd!(sh, "npm ping").quiet().ignore_stdout().ignore_stderr().run().is_ok();
    pypi && npm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_ci_a_stage_that_cannot_run_fails_unless_switched_off_by_name() {
        let cause = || anyhow::anyhow!("Chromium could not be installed");
        let ci = Policy::new(true, None).unwrap();
        let error = ci.cannot_run("browser", cause()).unwrap_err();
        assert!(format!("{error:#}").contains("STREAMPROOF_SKIP_STAGES=browser"), "{error:#}");
        assert!(!ci.skips("browser"));
        // Switched off by name, the stage is not attempted at all; the others still are.
        let off = Policy::new(true, Some("browser, localstack")).unwrap();
        assert!(off.skips("browser") && off.skips("localstack") && !off.skips("clients"));
        // Locally the banner is the whole consequence.
        assert!(Policy::new(false, None).unwrap().cannot_run("browser", cause()).is_ok());
    }

    #[test]
    fn an_unknown_stage_name_is_an_error_not_a_silent_no_op() {
        let error = Policy::new(true, Some("browsr")).unwrap_err().to_string();
        assert!(error.contains("\"browsr\"") && error.contains("localstack, clients, browser"), "{error}");
        assert_eq!(Policy::new(false, Some(" , ")).unwrap().skip, BTreeSet::new());
    }

    #[test]
    fn ci_is_recognised_as_ci_systems_set_it() {
        assert!(is_ci("true") && is_ci("TRUE") && is_ci("1"));
        assert!(!is_ci("false") && !is_ci("0") && !is_ci(""));
    }
}
