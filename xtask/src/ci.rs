//! `cargo xtask ci`: the gate every change passes, in the order that fails fastest.

use anyhow::Result;
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

/// The LocalStack container backend needs a Docker daemon, which CI machines may not have: it runs
/// only when `STREAMPROOF_DOCKER_TESTS=1`, and says so when it does not.
fn docker_stage(sh: &Shell, nextest: bool) -> Result<()> {
    if std::env::var("STREAMPROOF_DOCKER_TESTS").as_deref() != Ok("1") {
        eprintln!(
            "==> container tests: not run (they need a Docker daemon; set STREAMPROOF_DOCKER_TESTS=1 to run them)"
        );
        return Ok(());
    }
    step("container tests: the localstack backend through testcontainers", || {
        ignored_tests(sh, nextest, "docker_")
    })
}

/// Real LocalStack (host mode, KCL included): install it with the project's own setup, run a
/// Kinesis-source scenario on it, and the differential test against the embedded emulator.
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
        "LocalStack tests: kinesis-to-s3-small.toml end to end, differential against embedded, teardown",
        || ignored_tests(sh, nextest, "localstack"),
    )
}

/// Runs the ignored tests whose names contain `filter`, two at a time: each LocalStack test starts
/// its own LocalStack, and CI machines have two cores.
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
