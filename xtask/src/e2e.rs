//! `cargo xtask e2e`: every scenario in `scenarios/` end to end on the embedded backend.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::step::step;

pub(crate) fn run(sh: &Shell) -> Result<()> {
    let mut scenarios: Vec<_> = sh
        .read_dir("scenarios")?
        .into_iter()
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    scenarios.sort();
    if scenarios.is_empty() {
        bail!("no scenarios found in scenarios/");
    }
    // The same profile and feature set as the test build, so after the tests this builds nothing new.
    step("build streamproof", || Ok(cmd!(sh, "cargo build --locked --workspace --all-targets").run()?))?;
    let binary = sh.current_dir().join("target/debug/streamproof");
    let reports = sh.current_dir().join("target/streamproof-reports");
    let mut failed = Vec::new();
    for scenario in &scenarios {
        let name =
            scenario.file_name().context("scenario path has a file name")?.to_string_lossy().into_owned();
        let result = step(&format!("scenario {name}"), || {
            Ok(cmd!(sh, "{binary} run {scenario} --backend embedded --report-dir {reports}").run()?)
        });
        if result.is_err() {
            failed.push(name);
        }
    }
    if !failed.is_empty() {
        bail!("{} of {} scenarios failed: {}", failed.len(), scenarios.len(), failed.join(", "));
    }
    Ok(())
}
