//! `cargo xtask clients setup`: installs the pinned AWS client tooling the client tests drive the
//! emulator with (boto3, the AWS CLI v1, the AWS SDK for JavaScript v3) into a cache directory, once.
//!
//! Everything lives under one directory (default `~/.cache/streamproof/clients`, or
//! `$STREAMPROOF_CLIENTS_HOME`): a Python venv with boto3 and awscli pinned, `node/node_modules`
//! with the JavaScript Kinesis and S3 clients pinned, and pip's and npm's caches. Re-running it
//! returns at once; the tests named `clients_…` (run by `cargo xtask ci`'s clients stage) read it.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// The boto3 release the client tests are known to work with.
const BOTO3_VERSION: &str = "1.44.5";
/// The AWS CLI v1 release (on PyPI, so it installs without root) that shares boto3's botocore line.
const AWSCLI_VERSION: &str = "1.46.3";
/// The AWS SDK for JavaScript v3 clients, which speak HTTP/2 to Kinesis by default.
const NODE_PACKAGES: [&str; 2] = ["@aws-sdk/client-kinesis@3.1143.0", "@aws-sdk/client-s3@3.1178.0"];

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
    format!("boto3 {BOTO3_VERSION}\nawscli {AWSCLI_VERSION}\n{}\n", NODE_PACKAGES.join("\n"))
}

pub(crate) fn setup(sh: &Shell) -> Result<()> {
    let home = home()?;
    let installed = home.join("installed");
    if sh.read_file(&installed).is_ok_and(|text| text == marker()) {
        eprintln!("the AWS clients are already installed in {}", home.display());
        return Ok(());
    }
    for (tool, what) in [("python3", "`python3` (with venv and pip)"), ("npm", "`npm` (Node.js 18 or later)")]
    {
        if cmd!(sh, "which {tool}").quiet().ignore_stdout().run().is_err() {
            bail!("the client tests need {what} on PATH");
        }
    }
    sh.create_dir(&home)?;
    let _pip = sh.push_env("PIP_CACHE_DIR", home.join("cache/pip"));
    let venv = home.join("venv");
    sh.remove_path(&venv)?;
    cmd!(sh, "python3 -m venv {venv}").run()?;
    let python = venv.join("bin/python");
    let requirements = [format!("boto3=={BOTO3_VERSION}"), format!("awscli=={AWSCLI_VERSION}")];
    cmd!(sh, "{python} -m pip install --quiet --disable-pip-version-check {requirements...}").run().map_err(
        |error| {
            anyhow::Error::new(error).context(
                "installing boto3 and awscli needs the PyPI registry; if it is unreachable, the clients \
                 stage cannot run",
            )
        },
    )?;
    cmd!(sh, "{python} -c 'import boto3'").run().context("boto3 does not import after installing")?;
    let aws = venv.join("bin/aws");
    cmd!(sh, "{aws} --version").run().context("the AWS CLI does not run after installing")?;
    let node = home.join("node");
    sh.remove_path(&node)?;
    sh.create_dir(&node)?;
    sh.write_file(node.join("package.json"), "{\"private\": true}\n")?;
    let npm_cache = home.join("cache/npm");
    cmd!(
        sh,
        "npm install --prefix {node} --cache {npm_cache} --no-audit --no-fund --save-exact {NODE_PACKAGES...}"
    )
    .run()
    .map_err(|error| {
        anyhow::Error::new(error).context(
            "installing the JavaScript SDK needs the npm registry; if it is unreachable, the clients \
                 stage cannot run",
        )
    })?;
    sh.write_file(&installed, marker())?;
    eprintln!("the AWS clients (boto3, awscli, the JavaScript SDK) are installed in {}", home.display());
    Ok(())
}
