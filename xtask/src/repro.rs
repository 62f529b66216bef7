//! `cargo xtask repro <scenario>`: runs a scenario (with its `[faults]`, if any) on the embedded
//! backend and prints the verifier's findings side by side with the ground truth.
//!
//! Everything comes from the run's `report.json` (its path is the `report:` line `streamproof run`
//! prints): the counts, the assertions, the load distribution, and `ground_truth`, the faults the
//! emulator injected. The run's exit code 1 (an assertion failed) is the expected outcome of a bug
//! scenario, not an error here.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use xshell::{Shell, cmd};

use crate::step::step;

/// A cause of an anomaly: a ground-truth fault kind, a phrase of its `what` that narrows the kind
/// down (empty: any), and the label the table prints.
type Cause = (&'static str, &'static str, &'static str);

/// One anomaly class: its name, where `report.json` counts it (a JSON pointer), and the faults
/// that cause it.
const CLASSES: &[(&str, &str, &[Cause])] = &[
    (
        "lost",
        "/counts/lost",
        &[
            ("drop_kinesis", "", "Kinesis drops"),
            ("drop_firehose", "", "Firehose drops"),
            ("corrupt", "", "corrupted"),
            ("truncate", " cut short ", "cut short"),
            ("truncate", " cut off ", "cut off"),
        ],
    ),
    (
        "duplicated",
        "/counts/duplicated",
        &[("duplicate", "", "written twice"), ("s3_put_failure", "", "objects written again")],
    ),
    ("reordered", "/counts/reordered", &[("reorder", "", "swaps")]),
    ("corrupt", "/counts/corrupt", &[("corrupt", "", "corrupted"), ("truncate", " cut short ", "cut short")]),
    ("late", "/counts/late", &[("delay", "", "objects held back"), ("stall_shard", "", "shard stalls")]),
    ("throttled", "/distribution/throttled", &[("throttle_burst", "", "throttle bursts")]),
    // Only with a search destination (`report.search`).
    ("failed docs", "/search/failed_documents", &[("index_failure", "", "documents the domain rejected")]),
];

/// Ground-truth lines printed; `report.json` holds every fault.
const TRUTH_LINES: usize = 20;

pub(crate) fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let [scenario] = args else { bail!("usage: cargo xtask repro <scenario.toml>") };
    step("build streamproof", || Ok(cmd!(sh, "cargo build --locked -p streamproof").run()?))?;
    let binary = sh.current_dir().join("target/debug/streamproof");
    let reports = sh.current_dir().join("target/streamproof-reports");
    let output = cmd!(sh, "{binary} run {scenario} --backend embedded --report-dir {reports}")
        .ignore_status()
        .output()
        .context("running streamproof")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let code = output.status.code();
    if !matches!(code, Some(0 | 1)) {
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        print!("{stdout}");
        bail!("streamproof run {scenario} did not complete (exit {code:?})");
    }
    let path = stdout
        .lines()
        .find_map(|line| line.strip_prefix("report: "))
        .context("streamproof run printed no `report:` line")?;
    let text = sh.read_file(path.trim())?;
    let report: Value = serde_json::from_str(&text).with_context(|| format!("parsing {path}"))?;
    print!("{}", compare(&report)?);
    println!("report: {path}");
    println!("exit code of the run: {}", code.unwrap_or_default());
    Ok(())
}

/// The comparison table, the verifier's assertions and the ground truth, from a `report.json`.
fn compare(report: &Value) -> Result<String> {
    let distribution = &report["distribution"];
    let truth: &[Value] = match &report["ground_truth"] {
        Value::Null => &[],
        Value::Array(faults) => faults,
        other => bail!("ground_truth is neither a list nor null: {other}"),
    };
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let mut out = String::new();
    writeln!(out, "{:<12} {:>10}   ground truth (faults injected)", "class", "verifier")?;
    for (class, pointer, causes) in CLASSES {
        let found = report.pointer(pointer).and_then(Value::as_u64);
        let caused = causes.iter().any(|(kind, _, _)| truth.iter().any(|fault| fault["kind"] == *kind));
        if found.is_none() && !caused && pointer.starts_with("/search/") {
            continue; // Not a search destination.
        }
        let found = found.map_or_else(|| "?".to_owned(), |n| n.to_string());
        let causes: Vec<String> = causes
            .iter()
            .map(|(kind, phrase, label)| {
                let n = truth
                    .iter()
                    .filter(|fault| fault["kind"] == *kind && text(&fault["what"]).contains(phrase))
                    .count();
                (n, label)
            })
            .filter(|(n, _)| *n > 0)
            .map(|(n, label)| format!("{n} {label}"))
            .collect();
        let causes = if causes.is_empty() { "none".to_owned() } else { causes.join(", ") };
        writeln!(out, "{class:<12} {found:>10}   {causes}")?;
    }
    writeln!(out)?;
    writeln!(out, "verifier findings:")?;
    for assertion in report["assertions"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let status = match assertion["status"].as_str() {
            Some("pass") => "PASS",
            Some("fail") => "FAIL",
            _ => "N/A ",
        };
        writeln!(out, "  {status}  {}: {}", text(&assertion["name"]), text(&assertion["detail"]))?;
    }
    if let (Some(shard), Some(share)) =
        (distribution["hottest_shard"].as_str(), distribution["hottest_share"].as_f64())
    {
        writeln!(
            out,
            "  shards: {shard} took {:.1}% of the records, {} of {} idle",
            share * 100.0,
            distribution["idle_shards"],
            distribution["shards"]
        )?;
    }
    if report["ground_truth"].is_null() {
        writeln!(out, "ground truth: none (the scenario injects no faults)")?;
    } else {
        writeln!(out, "ground truth ({} faults):", truth.len())?;
        for fault in truth.iter().take(TRUTH_LINES) {
            writeln!(out, "  {}", text(&fault["what"]))?;
        }
        if truth.len() > TRUTH_LINES {
            writeln!(out, "  … and {} more (see report.json)", truth.len() - TRUTH_LINES)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_counted_from_the_report_and_causes_from_its_ground_truth() {
        let report = serde_json::json!({
            "counts": {"lost": 3, "duplicated": 0, "reordered": 0, "corrupt": 1, "late": 0},
            "distribution": {"throttled": 0, "hottest_shard": "shardId-000000000001",
                             "hottest_share": 0.5, "idle_shards": 0, "shards": 2},
            "assertions": [{"name": "delivery", "status": "fail", "detail": "exactly once: 3 lost"}],
            "ground_truth": [
                {"kind": "drop_kinesis", "what": "dropped Kinesis entry #4 (seq 4, …)"},
                {"kind": "drop_firehose", "what": "Firehose dropped seq 9 from batch #0 of s"},
                {"kind": "truncate", "what": "truncated a.json to 10 bytes: seq 12 cut short (batch #1 of s)"},
            ],
        });
        let table = compare(&report).unwrap();
        let row = |class: &str| table.lines().find(|l| l.starts_with(class)).unwrap().to_owned();
        assert!(row("lost").ends_with("3   1 Kinesis drops, 1 Firehose drops, 1 cut short"), "{table}");
        assert!(row("corrupt").ends_with("1   1 cut short"), "{table}");
        assert!(row("duplicated").ends_with("0   none"), "{table}");
        assert!(table.contains("  FAIL  delivery: exactly once: 3 lost"), "{table}");
        assert!(
            table.contains("shards: shardId-000000000001 took 50.0% of the records, 0 of 2 idle"),
            "{table}"
        );
        assert!(table.contains("ground truth (3 faults):"), "{table}");
        assert!(!table.contains("failed docs"), "no search destination, no row: {table}");
    }

    #[test]
    fn failed_documents_of_a_search_destination_are_counted_beside_the_domains_rejections() {
        let report = serde_json::json!({
            "counts": {"lost": 0},
            "distribution": null,
            "search": {"failed_documents": 2},
            "assertions": [],
            "ground_truth": [
                {"kind": "index_failure", "what": "the search domain rejected seq 3 …"},
                {"kind": "index_failure", "what": "the search domain rejected seq 8 …"},
            ],
        });
        let table = compare(&report).unwrap();
        let row = table.lines().find(|l| l.starts_with("failed docs")).expect("a failed docs row");
        assert!(row.ends_with("2   2 documents the domain rejected"), "{table}");
    }

    #[test]
    fn a_scenario_without_faults_has_no_ground_truth() {
        let report =
            serde_json::json!({"counts": {}, "distribution": null, "assertions": [], "ground_truth": null});
        let table = compare(&report).unwrap();
        assert!(table.contains("ground truth: none"), "{table}");
        assert!(table.lines().any(|l| l.starts_with("throttled") && l.contains("?   none")), "{table}");
    }
}
