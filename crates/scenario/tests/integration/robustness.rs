//! Property tests over malformed scenario files: whatever the bytes, loading never panics, and every
//! rejection names the file, a line and column, and (for a value) the dotted field.
//!
//! Inputs are a valid base scenario (an OpenSearch destination with S3 backup) with one field replaced by an out-of-range number, a value of the
//! wrong type or an unknown name; the base with an unknown key added; the base truncated or with a
//! byte overwritten; and arbitrary text and bytes.

use std::path::Path;

use proptest::prelude::*;

/// A valid scenario touching every section; `{name}` placeholders are replaced by the mutations.
const BASE: &str = r#"name = "robust"

[pipeline]
shards = {shards}
source = "kinesis"
bucket = "streamproof-robust"

[pipeline.buffering]
size_mb = {size_mb}
interval_seconds = {interval_seconds}

[pipeline.opensearch]
index = {index}
s3_backup_mode = {s3_backup_mode}
retry_seconds = {retry_seconds}

[workload]
events = {events}
schema = {schema}
partition_key = "user_id"
users = 20
seed = 7

[workload.rate]
profile = "fixed"
per_second = {per_second}

[expect]
max_latency_seconds = 10
timeout_seconds = 8

[faults]
index_failure = {index_failure}
"#;

/// The placeholders of [`BASE`], their valid values, and the dotted field each one sets.
const FIELDS: [(&str, &str, &str); 10] = [
    ("shards", "2", "pipeline.shards"),
    ("size_mb", "1", "pipeline.buffering.size_mb"),
    ("interval_seconds", "60", "pipeline.buffering.interval_seconds"),
    ("index", "\"clicks\"", "pipeline.opensearch.index"),
    ("s3_backup_mode", "\"AllDocuments\"", "pipeline.opensearch.s3_backup_mode"),
    ("retry_seconds", "10", "pipeline.opensearch.retry_seconds"),
    ("index_failure", "0.02", "faults.index_failure"),
    ("events", "100", "workload.events"),
    ("schema", "\"clickstream\"", "workload.schema"),
    ("per_second", "100", "workload.rate.per_second"),
];

/// [`BASE`] with every placeholder at its valid value except `field`, which gets `value`.
fn scenario_with(field: &str, value: &str) -> String {
    let mut text = BASE.to_owned();
    for (name, valid, _) in FIELDS {
        let replacement = if name == field { value } else { valid };
        text = text.replace(&format!("{{{name}}}"), replacement);
    }
    text
}

fn path() -> &'static Path {
    Path::new("robust.toml")
}

/// Parses `text` and, if it is rejected, checks that the message is located: it starts with
/// `robust.toml:<line>:<column>: ` with both within the file, and names `field` when given.
fn check_rejection(text: &str, field: Option<&str>) -> Result<(), TestCaseError> {
    let Err(error) = scenario::parse(path(), text) else {
        return Ok(());
    };
    let rendered = error.to_string();
    let invalid = error.invalid().ok_or_else(|| TestCaseError::fail(format!("unlocated: {rendered}")))?;
    prop_assert_eq!(invalid.path.as_path(), path());
    let lines = text.split('\n').count();
    prop_assert!(
        (1..=lines).contains(&invalid.line) && invalid.column >= 1,
        "line {} of {lines}, column {}: {rendered}",
        invalid.line,
        invalid.column
    );
    let location = format!("robust.toml:{}:{}: ", invalid.line, invalid.column);
    prop_assert!(rendered.starts_with(&location), "{rendered}");
    if let Some(field) = field {
        prop_assert_eq!(invalid.field.as_str(), field, "{}", rendered);
        let named = format!("field `{field}`");
        prop_assert!(rendered.contains(&named), "{rendered}");
    }
    Ok(())
}

/// A value for a field: out-of-range and negative numbers, floats, strings, booleans, arrays,
/// tables, dates, and huge integers.
fn any_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (-1000i64..1000).prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("TOML has no NaN literal here", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        "[a-z_-]{0,12}".prop_map(|s| format!("{s:?}")),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("[]".to_owned()),
        Just("[1, \"two\"]".to_owned()),
        Just("{ a = 1 }".to_owned()),
        Just("1979-05-27T07:32:00Z".to_owned()),
        Just("99999999999999999999999".to_owned()),
        Just("inf".to_owned()),
        Just("-inf".to_owned()),
        Just("nan".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any value in any field: either a valid scenario, or an error naming exactly that field.
    #[test]
    fn a_bad_value_names_its_field(field in 0..FIELDS.len(), value in any_value()) {
        let (name, _, dotted) = FIELDS[field];
        let text = scenario_with(name, &value);
        check_rejection(&text, Some(dotted))?;
    }

    /// An unknown key (no field starts with `x_`) in any table is rejected, located.
    #[test]
    fn an_unknown_key_is_rejected(table in 0..8usize, key in "x_[a-z_]{0,10}") {
        let headers = [
            "",
            "[pipeline]",
            "[pipeline.buffering]",
            "[pipeline.opensearch]",
            "[workload]",
            "[workload.rate]",
            "[expect]",
            "[faults]",
        ];
        let valid = scenario_with("", "");
        let text = if table == 0 {
            format!("{key} = 1\n{valid}")
        } else {
            valid.replacen(headers[table], &format!("{}\n{key} = 1", headers[table]), 1)
        };
        prop_assert!(scenario::parse(path(), &text).is_err(), "unknown key {key} accepted");
        check_rejection(&text, None)?;
    }

    /// The valid base cut anywhere or with one byte overwritten: never a panic, always located.
    #[test]
    fn truncated_or_garbled_files_are_located(cut in 0..BASE.len(), at in 0..BASE.len(), byte in any::<u8>()) {
        let valid = scenario_with("", "");
        let cut = cut.min(valid.len());
        let truncated = String::from_utf8_lossy(&valid.as_bytes()[..cut]).into_owned();
        check_rejection(&truncated, None)?;
        let mut garbled = valid.into_bytes();
        let at = at.min(garbled.len() - 1);
        garbled[at] = byte;
        check_rejection(&String::from_utf8_lossy(&garbled), None)?;
    }

    /// Arbitrary text, TOML-looking or not.
    #[test]
    fn arbitrary_text_never_panics(text in prop_oneof![
        any::<String>(),
        "[\\[\\]a-z_.=\"0-9 \n#{},-]{0,200}",
    ]) {
        check_rejection(&text, None)?;
    }
}

/// The documented limits: each out-of-range value is rejected naming exactly its field.
#[test]
fn out_of_range_values_name_their_field() {
    let cases = [
        ("shards", "0", "pipeline.shards"),
        ("shards", "501", "pipeline.shards"),
        ("shards", "-1", "pipeline.shards"),
        ("size_mb", "0", "pipeline.buffering.size_mb"),
        // A search destination takes at most 100 MB.
        ("size_mb", "101", "pipeline.buffering.size_mb"),
        ("interval_seconds", "901", "pipeline.buffering.interval_seconds"),
        ("interval_seconds", "-1", "pipeline.buffering.interval_seconds"),
        ("per_second", "-5", "workload.rate.per_second"),
        ("per_second", "0", "workload.rate.per_second"),
        ("schema", "\"no-such-schema\"", "workload.schema"),
        ("events", "-1", "workload.events"),
        ("index", "\"Clicks\"", "pipeline.opensearch.index"),
        ("index", "\"\"", "pipeline.opensearch.index"),
        ("index", "\"a*b\"", "pipeline.opensearch.index"),
        ("index", "\"-clicks\"", "pipeline.opensearch.index"),
        ("s3_backup_mode", "\"Everything\"", "pipeline.opensearch.s3_backup_mode"),
        ("retry_seconds", "7201", "pipeline.opensearch.retry_seconds"),
        ("retry_seconds", "-1", "pipeline.opensearch.retry_seconds"),
        ("index_failure", "1.5", "faults.index_failure"),
    ];
    for (name, value, field) in cases {
        let text = scenario_with(name, value);
        let error = scenario::parse(path(), &text).expect_err(&format!("{name} = {value} accepted"));
        let invalid = error.invalid().expect("a located error");
        assert_eq!(invalid.field, field, "{name} = {value}: {error}");
        let line = text.lines().position(|l| l.trim_start().starts_with(&format!("{name} ="))).unwrap() + 1;
        assert_eq!(invalid.line, line, "{name} = {value}: {error}");
        assert!(error.to_string().starts_with(&format!("robust.toml:{line}:")), "{error}");
    }
}

/// The base itself is valid, so the properties above start from a scenario that loads.
#[test]
fn the_base_scenario_is_valid() {
    let scenario = scenario::parse(path(), &scenario_with("", "")).expect("the base is valid");
    assert_eq!(scenario.pipeline.shards, 2);
    assert_eq!(scenario.pipeline.search.map(|search| search.index).as_deref(), Some("clicks"));
    assert_eq!(scenario.faults.map(|faults| faults.index_failure), Some(0.02));
}

/// Bytes that are not UTF-8 are refused by `load` with the file's name, not a panic.
#[test]
fn a_file_that_is_not_utf8_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("binary.toml");
    std::fs::write(&file, [b'n', b'a', 0xff, 0xfe, b'\n', 0x80]).unwrap();
    let error = scenario::load(&file).expect_err("binary accepted");
    assert!(error.to_string().contains("binary.toml"), "{error}");
}
