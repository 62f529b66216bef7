//! `cargo xtask clients setup`: installs the pinned AWS client tooling the client tests drive the
//! emulator with (boto3 today) into a cache directory, once.
//!
//! Everything lives under one directory (default `~/.cache/streamproof/clients`, or
//! `$STREAMPROOF_CLIENTS_HOME`): a Python venv with boto3 pinned and pip's cache. Re-running it
//! returns at once; the tests named `clients_…` (run by `cargo xtask ci`'s clients stage) read it.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// The boto3 release the client tests are known to work with.
const BOTO3_VERSION: &str = "1.44.5";

pub(crate) fn run(sh: &Shell, args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("setup") => setup(sh),
        Some("path") => {
            println!("{}", home()?.display());
            Ok(())
        }
        _ => bail!("usage: cargo xtask clients setup | path"),
    }
}

/// The install directory; the client tests compute the same default.
pub(crate) fn home() -> Result<PathBuf> {
    crate::cache::cache_home("STREAMPROOF_CLIENTS_HOME", "clients")
}

fn marker() -> String {
    format!("boto3 {BOTO3_VERSION}\n")
}

pub(crate) fn setup(sh: &Shell) -> Result<()> {
    let home = home()?;
    let installed = home.join("installed");
    if sh.read_file(&installed).is_ok_and(|text| text == marker()) {
        eprintln!("the AWS clients (boto3 {BOTO3_VERSION}) are already installed in {}", home.display());
        return Ok(());
    }
    if cmd!(sh, "which python3").quiet().ignore_stdout().run().is_err() {
        bail!("the client tests need `python3` (with venv and pip) on PATH");
    }
    sh.create_dir(&home)?;
    let _pip = sh.push_env("PIP_CACHE_DIR", home.join("cache/pip"));
    let venv = home.join("venv");
    sh.remove_path(&venv)?;
    cmd!(sh, "python3 -m venv {venv}").run()?;
    let python = venv.join("bin/python");
    let requirement = format!("boto3=={BOTO3_VERSION}");
    cmd!(sh, "{python} -m pip install --quiet --disable-pip-version-check {requirement}").run().map_err(
        |error| {
            anyhow::Error::new(error).context(
                "installing boto3 needs the PyPI registry; if it is unreachable, the clients stage cannot run",
            )
        },
    )?;
    cmd!(sh, "{python} -c 'import boto3'").run().context("boto3 does not import after installing")?;
    sh.write_file(&installed, marker())?;
    eprintln!("the AWS clients (boto3 {BOTO3_VERSION}) are installed in {}", home.display());
    Ok(())
}
