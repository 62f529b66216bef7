//! Scenario files: every file in `scenarios/` loads, and every malformed file under `test_data/invalid/`
//! fails with the located message stored beside it in `<name>.expected`.

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_shipped_scenario_is_valid() {
    let dir = workspace_root().join("scenarios");
    let mut loaded = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            loaded += 1;
        }
    }
    assert!(loaded > 0, "no scenarios found in {}", dir.display());
}

#[test]
fn clickstream_scenario_has_the_documented_values() {
    let s = scenario::load(&workspace_root().join("scenarios/clickstream.toml")).unwrap();
    assert_eq!(s.name, "clickstream");
    assert_eq!(s.pipeline.shards, 2);
    assert_eq!(s.pipeline.source, scenario::Source::KinesisStream);
    assert_eq!(s.pipeline.buffering, scenario::BufferingHints { size_mb: 1, interval_seconds: 2 });
    assert_eq!(s.workload.events, 20_000);
    assert_eq!(s.workload.users, 50);
    assert_eq!(s.workload.partition_key, "user_id");
    assert_eq!(s.workload.envelope_field, scenario::DEFAULT_ENVELOPE_FIELD);
}

#[test]
fn invalid_scenarios_name_file_line_and_field() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/invalid");
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let file_name = Path::new(path.file_name().unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        let error = scenario::parse(file_name, &text).expect_err("scenario should be rejected");
        let actual = format!("{error}\n");
        let expected_path = path.with_extension("expected");
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => {
                mismatches.push(format!("{}:\n  expected {expected}  actual   {actual}", path.display()))
            }
            Err(_) if std::env::var_os("UPDATE_EXPECT").is_some() => {
                std::fs::write(&expected_path, &actual).unwrap()
            }
            Err(e) => mismatches.push(format!("{}: {e}; actual {actual}", expected_path.display())),
        }
        checked += 1;
    }
    assert!(checked >= 9, "expected at least 9 invalid cases, found {checked}");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
