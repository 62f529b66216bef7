//! `cargo xtask coverage [--check]`: writes `docs/COVERAGE.md`, the table of every operation the AWS
//! SDK for Rust lists for Kinesis, Firehose and S3, and whether the emulator serves it.
//!
//! Both sides are read, never typed in: the served operations from the emulator's routing tables
//! (`streamproof emulator coverage --json`), and each service's operations from its SDK crate's
//! `src/operation/` directory (the version in `Cargo.lock`, the source in Cargo's registry). `--check`, which `cargo xtask ci`
//! runs, fails when the committed table differs from what the code serves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// The committed table.
const TABLE: &str = "docs/COVERAGE.md";

/// The services, their SDK crates and the error an operation the emulator does not serve gets.
const SERVICES: [(&str, &str, &str); 3] = [
    ("Kinesis", "aws-sdk-kinesis", "UnknownOperationException"),
    ("Firehose", "aws-sdk-firehose", "UnknownOperationException"),
    ("S3", "aws-sdk-s3", "NotImplemented"),
];

pub(crate) fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => bail!("usage: cargo xtask coverage [--check]"),
    };
    let table = render(sh)?;
    if check {
        let committed = sh.read_file(TABLE).unwrap_or_default();
        if committed != table {
            bail!("{TABLE} is out of date with the emulator's routing tables: run `cargo xtask coverage`");
        }
        eprintln!("{TABLE} matches the emulator's routing tables");
    } else {
        sh.write_file(TABLE, &table)?;
        eprintln!("wrote {TABLE}");
    }
    Ok(())
}

/// A served operation: `None` when it does all AWS documents, else what it leaves out.
type Served = BTreeMap<(String, String), Option<String>>;

fn served(sh: &Shell) -> Result<Served> {
    let json = cmd!(sh, "cargo run --quiet --locked --bin streamproof -- emulator coverage --json")
        .read()
        .context("listing the emulator's operations")?;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).context("reading the operation list")?;
    let field = |row: &serde_json::Value, name: &str| row[name].as_str().map(str::to_owned);
    rows.iter()
        .map(|row| {
            let key = (field(row, "service"), field(row, "operation"));
            match key {
                (Some(service), Some(operation)) => Ok(((service, operation), field(row, "partial"))),
                _ => bail!("an operation without a service or name: {row}"),
            }
        })
        .collect()
}

/// Each SDK crate's version (from `Cargo.lock`) and operations (from its source in Cargo's
/// registry, where building the workspace put it), by crate name.
fn sdk_operations(sh: &Shell) -> Result<BTreeMap<String, (String, BTreeSet<String>)>> {
    let lock = sh.read_file("Cargo.lock")?;
    let cargo_home = match std::env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".cargo"),
    };
    let registry = cargo_home.join("registry/src");
    let mut out = BTreeMap::new();
    for (_, krate, _) in SERVICES {
        let version = lock
            .split("[[package]]")
            .find(|entry| entry.lines().any(|line| line == format!("name = \"{krate}\"")))
            .and_then(|entry| entry.lines().find_map(|line| line.strip_prefix("version = \"")))
            .map(|rest| rest.trim_end_matches('"').to_owned())
            .with_context(|| format!("{krate} is not in Cargo.lock"))?;
        let source = std::fs::read_dir(&registry)
            .with_context(|| format!("reading {}", registry.display()))?
            .filter_map(|index| index.ok().map(|index| index.path().join(format!("{krate}-{version}"))))
            .find(|dir| dir.is_dir())
            .with_context(|| {
                format!("{krate} {version} is not in {}: build the workspace first", registry.display())
            })?;
        let dir = source.join("src/operation");
        let mut operations = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "rs")
                && let Some(stem) = path.file_stem().and_then(|stem| stem.to_str())
            {
                operations.insert(pascal_case(stem));
            }
        }
        out.insert(krate.to_owned(), (version, operations));
    }
    Ok(out)
}

/// `list_objects_v2` → `ListObjectsV2`.
fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .filter(|word| !word.is_empty())
        .map(|word| word[..1].to_uppercase() + &word[1..])
        .collect()
}

fn render(sh: &Shell) -> Result<String> {
    let served = served(sh)?;
    let sdk = sdk_operations(sh)?;
    let versions: Vec<String> = SERVICES
        .iter()
        .filter_map(|(_, krate, _)| sdk.get(*krate).map(|(version, _)| format!("{krate} {version}")))
        .collect();
    let mut text = format!(
        "# What the embedded emulator serves\n\n\
         Every operation the AWS SDK for Rust lists for Kinesis, Firehose and S3 ({}), and what \
         `streamproof emulator serve` (and `streamproof env up` on the embedded backend) does with \
         it, then the CloudWatch Logs operations it serves. An operation it does not serve is refused with the service's own error. Generated by \
         `cargo xtask coverage` from the emulator's routing tables (`streamproof emulator coverage`) \
         and the SDK crates; `cargo xtask ci` fails when it is out of date.\n",
        versions.join(", ")
    );
    for (service, krate, refusal) in SERVICES {
        let (_, operations) = sdk.get(krate).with_context(|| format!("{krate} is not in the workspace"))?;
        let ours: BTreeMap<&str, &Option<String>> = served
            .iter()
            .filter(|((s, _), _)| s == service)
            .map(|((_, op), partial)| (op.as_str(), partial))
            .collect();
        if let Some(unknown) = ours.keys().find(|op| !operations.contains(**op)) {
            bail!("the emulator routes {service} operation {unknown}, which {krate} does not list");
        }
        let partial = ours.values().filter(|p| p.is_some()).count();
        text.push_str(&format!(
            "\n## {service}: {} of {} operations served ({} in part)\n\n| Operation | Status |\n|---|---|\n",
            ours.len(),
            operations.len(),
            partial
        ));
        for operation in operations {
            let status = match ours.get(operation.as_str()) {
                Some(None) => "served".to_owned(),
                Some(Some(missing)) => format!("served in part: {missing}"),
                None => format!("refused: `{refusal}`"),
            };
            text.push_str(&format!("| {operation} | {status} |\n"));
        }
    }
    // Services the workspace has no SDK crate for: what is served, without the full operation list.
    let others: BTreeSet<&str> = served
        .keys()
        .map(|(service, _)| service.as_str())
        .filter(|service| !SERVICES.iter().any(|(known, _, _)| known == service))
        .collect();
    for service in others {
        let ours: Vec<(&str, &Option<String>)> = served
            .iter()
            .filter(|((s, _), _)| s == service)
            .map(|((_, op), partial)| (op.as_str(), partial))
            .collect();
        text.push_str(&format!(
            "\n## {service}: {} operations served\n\nThe workspace has no SDK crate for {service} to list the \
             rest from; every other operation answers `UnknownOperationException`.\n\n| Operation | Status |\n|---|---|\n",
            ours.len()
        ));
        for (operation, partial) in ours {
            let status = match partial {
                None => "served".to_owned(),
                Some(missing) => format!("served in part: {missing}"),
            };
            text.push_str(&format!("| {operation} | {status} |\n"));
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_files_name_operations() {
        assert_eq!(pascal_case("list_objects_v2"), "ListObjectsV2");
        assert_eq!(pascal_case("put_record"), "PutRecord");
    }
}
