//! `cargo xtask ci`: the gate every change passes, in the order that fails fastest.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::step;

pub(crate) fn run(sh: &Shell) -> Result<()> {
    step("format check", || Ok(cmd!(sh, "cargo fmt --all -- --check").run()?))?;
    step("clippy", || Ok(cmd!(sh, "cargo clippy --workspace --all-targets --locked -- -D warnings").run()?))?;
    let nextest = cmd!(sh, "cargo nextest --version").quiet().ignore_stdout().ignore_stderr().run().is_ok();
    step("tests", || {
        if nextest {
            Ok(cmd!(sh, "cargo nextest run --workspace --locked --no-fail-fast").run()?)
        } else {
            eprintln!("cargo-nextest is not installed; running the tests with cargo test");
            Ok(cmd!(sh, "cargo test --workspace --locked --no-fail-fast").run()?)
        }
    })?;
    crate::e2e::run(sh)?;
    localstack_stage(sh, nextest)?;
    browser_stage(sh, nextest)?;
    docker_stage(sh, nextest)
}

/// The HTML report in headless Chromium, installed from Debian's packages by `browser setup`.
fn browser_stage(sh: &Shell, nextest: bool) -> Result<()> {
    if let Err(error) = step("browser setup", || crate::browser::setup(sh)) {
        banner(
            "BROWSER STAGE NOT RUN: Chromium could not be installed from Debian's packages, so the\n\
             HTML report was not rendered in a browser in this run.",
            &error,
        );
        return Ok(());
    }
    step("HTML report in headless Chromium", || ignored_tests(sh, nextest, "chromium"))
}

/// The LocalStack container backend and the real-OpenSearch test need a Docker daemon, which CI
/// machines may not have: they run only when `STREAMPROOF_DOCKER_TESTS=1`, and CI says so when not.
fn docker_stage(sh: &Shell, nextest: bool) -> Result<()> {
    if std::env::var("STREAMPROOF_DOCKER_TESTS").as_deref() != Ok("1") {
        eprintln!(
            "==> container tests: not run (they need a Docker daemon; set STREAMPROOF_DOCKER_TESTS=1 to run them)"
        );
        return Ok(());
    }
    step("container tests: the localstack backend and a real OpenSearch through testcontainers", || {
        ignored_tests(sh, nextest, "docker_")
    })
}

/// Real LocalStack (host mode, KCL included): install it with the project's own setup; run the tests
/// that only need a LocalStack on one shared LocalStack process (a Kinesis-source scenario end to end,
/// the differential test against the embedded emulator, two runs at once); then the tests of
/// LocalStack's own lifecycle (readiness, teardown after pass, fail and Ctrl-C), which each start
/// their own.
fn localstack_stage(sh: &Shell, nextest: bool) -> Result<()> {
    if let Err(error) = step("localstack setup", || crate::localstack::run(sh, &["setup".to_owned()])) {
        if registries_reachable(sh) {
            return Err(error);
        }
        banner(
            "LOCALSTACK STAGE NOT RUN: PyPI or the npm registry cannot be reached, so LocalStack host\n\
             mode cannot be installed. Nothing was verified on LocalStack in this run.",
            &error,
        );
        return Ok(());
    }
    step(
        "LocalStack tests on one shared LocalStack: kinesis-to-s3-small.toml end to end, differential against embedded, two runs at once",
        || on_shared_localstack(sh, || ignored_tests(sh, nextest, "shared_localstack")),
    )?;
    step("LocalStack lifecycle tests: readiness, teardown after pass, fail and Ctrl-C", || {
        ignored_tests(sh, nextest, "localstack_host")
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

/// A stage that could not run says so loudly, so that it is never mistaken for a pass.
fn banner(what: &str, cause: &anyhow::Error) {
    eprintln!(
        "\n********************************************************************************\n\
         {what}\n\
         cause: {cause:#}\n\
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
