//! Every case under `test_data/decode/`: an object and, beside it, `<object>.expected` listing its items.
//!
//! Each line of an `.expected` file is one JSON object, in byte order of the decompressed object:
//! `{"kind": "record", "offset": 0, "length": 133, "seq": 0}` (`seq` null for a record without
//! envelope), `{"kind": "corrupt", "offset": 268, "length": 57, "excerpt": "…"}`, or
//! `{"kind": "damage", "offset": 266}` when the compressed stream breaks off after that many bytes.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use verifier::{Content, Decoded, Decoder, unpack};

const FIELD: &str = "_streamproof";

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/decode");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext != "expected" && ext != "md"))
        .collect();
    cases.sort();
    cases
}

/// What the decoder makes of one object file, in the `.expected` format.
fn actual(path: &Path) -> Vec<Value> {
    let bytes = std::fs::read(path).unwrap();
    let key = path.file_name().unwrap().to_string_lossy();
    let unpacked = unpack(&key, &bytes);
    let mut items: Vec<Value> = Decoder::new(&unpacked.bytes, FIELD)
        .map(|item| match item {
            Decoded::Record(record) => {
                let seq = match &record.content {
                    Content::Envelope(envelope) => json!(envelope.seq),
                    _ => Value::Null,
                };
                json!({"kind": "record", "offset": record.offset, "length": record.len, "seq": seq})
            }
            Decoded::Corrupt(span) => {
                json!({"kind": "corrupt", "offset": span.offset, "length": span.len, "excerpt": span.excerpt})
            }
        })
        .collect();
    if unpacked.damage.is_some() {
        items.push(json!({"kind": "damage", "offset": unpacked.bytes.len()}));
    }
    items
}

fn expected(path: &Path) -> Vec<Value> {
    let mut expected = path.as_os_str().to_owned();
    expected.push(".expected");
    let text = std::fs::read_to_string(&expected).unwrap_or_else(|error| {
        panic!("{} needs {}: {error}", path.display(), Path::new(&expected).display())
    });
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn every_decode_case_yields_exactly_its_expected_records_and_corrupt_spans() {
    let cases = cases();
    assert!(cases.len() >= 14, "the decode cases are missing: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let (actual, expected) = (actual(case), expected(case));
        if actual != expected {
            failures.push(format!(
                "{}:\n  expected {}\n  actual   {}",
                case.display(),
                Value::from(expected),
                Value::from(actual)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn gzip_cases_are_recognised_by_suffix_or_magic_bytes() {
    for name in ["multi_member.json.gz", "gzip_without_suffix.bin", "gzip_trailing_garbage.json.gz"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/decode").join(name);
        let bytes = std::fs::read(&path).unwrap();
        assert!(unpack(name, &bytes).gzip, "{name}");
    }
}
