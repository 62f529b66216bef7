//! `cargo xtask repro <scenario>`: runs a scenario with its `[faults]` on the embedded backend and
//! prints the verifier's findings side by side with the emulator's ground truth.
//!
//! It reads what `streamproof run` prints: the assertion lines and the `records` counts of the
//! summary, and the `injected faults` list, one line per fault. The run's exit code 1 (an assertion
//! failed) is the expected outcome of a bug scenario, not an error here.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::step;

/// One anomaly class: its name in the `records` line, and the ground-truth phrases that cause it.
const CLASSES: &[(&str, &[(&str, &str)])] = &[
    (
        "lost",
        &[
            ("dropped Kinesis entry", "Kinesis drops"),
            ("Firehose dropped", "Firehose drops"),
            ("corrupted seq", "corrupted"),
            (" cut short ", "cut short"),
            (" cut off ", "cut off"),
        ],
    ),
    ("duplicated", &[("twice in", "written twice"), ("reported the write failed", "objects written again")]),
    ("reordered", &[(" ahead of ", "swaps")]),
    ("corrupt", &[("corrupted seq", "corrupted"), (" cut short ", "cut short")]),
    ("late", &[("back", "objects held back")]),
];

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

    let findings: Vec<&str> = stdout
        .lines()
        .take_while(|line| !line.starts_with("injected faults"))
        .filter(|line| {
            let line = line.trim_start();
            ["PASS ", "FAIL ", "N/A ", "records "].iter().any(|prefix| line.starts_with(prefix))
        })
        .collect();
    let truth: Vec<&str> = stdout
        .lines()
        .skip_while(|line| !line.starts_with("injected faults"))
        .skip(1)
        .map(str::trim)
        .collect();
    let counts = stdout.lines().find(|line| line.starts_with("records ")).unwrap_or_default();

    println!("{:<12} {:>10}   ground truth (faults injected)", "class", "verifier");
    for (class, causes) in CLASSES {
        let found = count_before(counts, class).map_or_else(|| "?".to_owned(), |n| n.to_string());
        let causes: Vec<String> = causes
            .iter()
            .map(|(phrase, label)| (truth.iter().filter(|line| line.contains(phrase)).count(), label))
            .filter(|(n, _)| *n > 0)
            .map(|(n, label)| format!("{n} {label}"))
            .collect();
        let causes = if causes.is_empty() { "none".to_owned() } else { causes.join(", ") };
        println!("{class:<12} {found:>10}   {causes}");
    }
    println!();
    println!("verifier findings:");
    for line in &findings {
        println!("  {}", line.trim());
    }
    println!("ground truth ({} faults):", truth.len());
    for line in &truth {
        println!("  {line}");
    }
    println!("exit code of the run: {}", code.unwrap_or_default());
    Ok(())
}

/// The number written just before `word` in a line such as `970 delivered, 30 lost, 0 duplicated`.
fn count_before(line: &str, word: &str) -> Option<u64> {
    let words: Vec<&str> = line.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    words.windows(2).find(|pair| pair[1] == word).and_then(|pair| pair[0].parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_read_from_the_records_line() {
        let line = "records  1000 generated, 970 delivered, 30 lost, 0 duplicated, 13 corrupt, 2 late";
        assert_eq!(count_before(line, "lost"), Some(30));
        assert_eq!(count_before(line, "corrupt"), Some(13));
        assert_eq!(count_before(line, "late"), Some(2));
        assert_eq!(count_before(line, "reordered"), None);
    }
}
