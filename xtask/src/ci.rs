//! `cargo xtask ci`: the gate every change passes, in the order that fails fastest.

use anyhow::Result;
use xshell::{Shell, cmd};

use crate::step;

pub(crate) fn run(sh: &Shell) -> Result<()> {
    step("format check", || Ok(cmd!(sh, "cargo fmt --all -- --check").run()?))?;
    step("clippy", || Ok(cmd!(sh, "cargo clippy --workspace --all-targets --locked -- -D warnings").run()?))?;
    step("tests", || {
        if cmd!(sh, "cargo nextest --version").quiet().ignore_stdout().ignore_stderr().run().is_ok() {
            Ok(cmd!(sh, "cargo nextest run --workspace --locked --no-fail-fast").run()?)
        } else {
            eprintln!("cargo-nextest is not installed; running the tests with cargo test");
            Ok(cmd!(sh, "cargo test --workspace --locked --no-fail-fast").run()?)
        }
    })?;
    crate::e2e::run(sh)
}
