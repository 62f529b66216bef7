//! Scenario files: every file in `scenarios/` loads, and every malformed file under `test_data/invalid/`
//! fails with the located message stored beside it in `<name>.expected`.

mod robustness;

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
    assert_eq!(s.workload.partition_key, scenario::PartitionKey::Field("user_id".into()));
    // The workload additions default to the earlier behaviour: natural sizes, full speed, PutRecords.
    assert_eq!(s.workload.payload, scenario::Payload::Natural);
    assert_eq!(s.workload.rate, scenario::Rate::Unlimited);
    assert_eq!(s.workload.api, scenario::PutApi::PutRecords);
    assert_eq!(s.workload.duration, None);
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
    assert!(checked >= 17, "expected at least 17 invalid cases, found {checked}");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn parse(workload: &str) -> Result<scenario::Scenario, scenario::ScenarioError> {
    let text = format!("[pipeline]\nbucket = \"b-1\"\n\n[workload]\n{workload}\n[expect]\n");
    scenario::parse(Path::new("inline.toml"), &text)
}

#[test]
fn key_strategies_parse_into_the_model() {
    use scenario::PartitionKey;
    let cases = [
        ("[workload.key]\nstrategy = \"constant\"\nvalue = \"k\"\n", PartitionKey::Constant("k".into())),
        ("[workload.key]\nstrategy = \"random\"\n", PartitionKey::Random),
        ("[workload.key]\nstrategy = \"uniform\"\nkeys = 10\n", PartitionKey::Uniform { keys: 10 }),
        (
            "[workload.key]\nstrategy = \"zipf\"\nkeys = 10\nexponent = 1.5\n",
            PartitionKey::Zipf { keys: 10, exponent: 1.5 },
        ),
        (
            "[workload.key]\nstrategy = \"hot-key\"\nkeys = 10\nhot_fraction = 0.25\n",
            PartitionKey::HotKey { keys: 10, fraction: 0.25 },
        ),
        ("[workload.key]\nstrategy = \"field\"\nfield = \"region\"\n", PartitionKey::Field("region".into())),
    ];
    for (table, expected) in cases {
        let s = parse(&format!("events = 5\nschema = \"clickstream\"\n{table}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.workload.partition_key, expected, "{table}");
    }
}

#[test]
fn rate_payload_api_and_duration_parse_into_the_model() {
    use scenario::{Payload, PutApi, Rate, RateStep};
    use std::time::Duration;
    let s = parse(
        "events = 5\nschema = \"person-item\"\npartition_key = \"personId\"\nduration_seconds = 2.5\n\
         api = \"put-record\"\nconcurrency = 3\n\
         [workload.payload]\nmin_bytes = 100\nmax_bytes = 200\n\
         [workload.rate]\nprofile = \"steps\"\nsteps = [{ per_second = 10, seconds = 1 }, { per_second = 20.5, seconds = 2 }]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let w = &s.workload;
    assert_eq!(w.duration, Some(Duration::from_millis(2500)));
    assert_eq!(w.api, PutApi::PutRecord);
    assert_eq!(w.concurrency, 3);
    assert_eq!(w.payload, Payload::Uniform { min: 100, max: 200 });
    assert_eq!(
        w.rate,
        Rate::Steps(vec![
            RateStep { per_second: 10.0, duration: Duration::from_secs(1) },
            RateStep { per_second: 20.5, duration: Duration::from_secs(2) },
        ])
    );
    let ramp = parse(
        "events = 5\nschema = \"person-item\"\npartition_key = \"personId\"\n\
         [workload.rate]\nprofile = \"ramp\"\nfrom_per_second = 1\nto_per_second = 9\nover_seconds = 4\n",
    )
    .unwrap();
    assert_eq!(ramp.workload.rate, Rate::Ramp { from: 1.0, to: 9.0, over: Duration::from_secs(4) });
}

#[test]
fn custom_fields_keep_file_order_and_kinds() {
    use scenario::FieldKind;
    let s = parse(
        "events = 5\nschema = \"custom\"\npartition_key = \"user\"\n[workload.fields]\n\
         user = \"name\"\nid = \"uuid\"\nstatus = { kind = \"enum\", values = [\"ok\", \"error\"] }\n\
         latency = { kind = \"float\", min = 0, max = 2.5 }\n\
         geo = { kind = \"object\", fields = { city = \"word\", zip = { kind = \"integer\", min = 1, max = 9 } } }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let scenario::Schema::Custom(fields) = &s.workload.schema else { panic!("not custom") };
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["user", "id", "status", "latency", "geo"]);
    assert_eq!(fields[2].kind, FieldKind::Enum(vec!["ok".into(), "error".into()]));
    assert_eq!(fields[3].kind, FieldKind::Float { min: 0.0, max: 2.5 });
    let FieldKind::Object(inner) = &fields[4].kind else { panic!("not an object") };
    assert_eq!(inner[1].kind, FieldKind::Integer { min: 1, max: 9 });
    // A nested object cannot be a partition key.
    let error = parse("events = 5\nschema = \"custom\"\npartition_key = \"geo\"\n[workload.fields]\ngeo = { kind = \"object\", fields = { a = \"word\" } }\n")
        .unwrap_err();
    assert!(error.to_string().contains("has no string field \"geo\""), "{error}");
}

#[test]
fn app_events_zipf_scenario_has_the_documented_values() {
    use scenario::{PartitionKey, Payload, PutApi, Rate, Schema};
    let s = scenario::load(&workspace_root().join("scenarios/app-events-zipf.toml")).unwrap();
    let w = &s.workload;
    assert_eq!(s.pipeline.shards, 1);
    assert_eq!((w.events, w.seed, w.users, w.concurrency), (5000, 7, 500, 4));
    assert_eq!(w.schema, Schema::AppEvent);
    assert_eq!(w.partition_key, PartitionKey::Zipf { keys: 500, exponent: 1.1 });
    assert_eq!(w.payload, Payload::Uniform { min: 300, max: 1200 });
    assert_eq!(w.rate, Rate::Fixed(2500.0));
    assert_eq!(w.api, PutApi::PutRecords);
}

/// Bug scenarios either inject faults or reproduce a misconfiguration (such as records without a
/// delimiter); a `[faults]` section that injects nothing is a mistake either way.
#[test]
fn every_bug_scenario_is_valid_and_a_faults_section_injects_something() {
    let dir = workspace_root().join("scenarios/bugs");
    let (mut loaded, mut with_faults) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let scenario = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            if let Some(faults) = scenario.faults {
                assert_ne!(faults, scenario::FaultPlan::default(), "{} injects nothing", path.display());
                with_faults += 1;
            }
            loaded += 1;
        }
    }
    assert!(loaded > 0, "no scenarios found in {}", dir.display());
    assert!(with_faults > 0, "no scenario in {} injects faults", dir.display());
}

#[test]
fn the_faults_section_parses_into_the_model() {
    let s = scenario::load(&workspace_root().join("scenarios/bugs/lost-and-corrupt.toml")).unwrap();
    let faults = s.faults.unwrap();
    assert_eq!(faults.seed, 17);
    assert_eq!(faults.drop_kinesis_records.into_iter().collect::<Vec<_>>(), [10, 20]);
    let object = &faults.firehose;
    assert_eq!((object.drop, object.corrupt, object.truncate), (0.01, 0.01, 1.0));
    assert_eq!((object.duplicate, object.reorder, object.delay, object.s3_put_failure), (0.0, 0.0, 0.0, 0.0));
    let late = scenario::load(&workspace_root().join("scenarios/bugs/late-records.toml")).unwrap();
    assert_eq!(late.faults.unwrap().firehose.delay_by, std::time::Duration::from_secs(5));
    let clean = scenario::load(&workspace_root().join("scenarios/clickstream.toml")).unwrap();
    assert_eq!(clean.faults, None);
}

#[test]
fn every_fault_rate_is_read_under_its_name() {
    for rate in scenario::FaultRate::ALL {
        // Index failures need a search destination; the object faults need an S3 one.
        let destination =
            if rate.acts_on_objects() { "" } else { "[pipeline.opensearch]\nindex = \"logs\"\n" };
        let text = format!(
            "[pipeline]\nbucket = \"b-1\"\n{destination}\n[workload]\nevents = 1\nschema = \"clickstream\"\n\
             partition_key = \"user_id\"\n\n[expect]\n\n[faults]\n{} = 0.25\ndelay_seconds = 5\n",
            rate.name()
        );
        let scenario =
            scenario::parse(Path::new("inline.toml"), &text).unwrap_or_else(|e| panic!("{rate:?}: {e}"));
        let plan = scenario.faults.unwrap();
        for other in scenario::FaultRate::ALL {
            assert_eq!(plan.rate(other), if other == rate { 0.25 } else { 0.0 }, "{rate:?} {other:?}");
        }
    }
}

#[test]
fn s3_destination_options_parse_into_the_model() {
    use scenario::{Compression, Delimiter, ObjectFormat};
    let text = "[pipeline]\nbucket = \"b-1\"\ncompression = \"gzip\"\ndelimiter = \"newline\"\n\
                prefix = \"logs/dt=!{timestamp:yyyy-MM-dd}/\"\n\
                error_output_prefix = \"errors/!{firehose:error-output-type}/\"\n\n\
                [workload]\nevents = 1\nschema = \"clickstream\"\npartition_key = \"user_id\"\n\n[expect]\nformat = \"ndjson\"\n\n\
                [emulator]\ntime_scale = 60\n";
    let scenario = scenario::parse(Path::new("inline.toml"), text).unwrap();
    let pipeline = &scenario.pipeline;
    assert_eq!(pipeline.compression, Compression::Gzip);
    assert_eq!(pipeline.delimiter, Delimiter::Newline);
    assert_eq!(pipeline.error_output_prefix.configured(), Some("errors/!{firehose:error-output-type}/"));
    assert_eq!(pipeline.listing_prefix(), "logs/dt=");
    assert_eq!(pipeline.error_output_root(), "errors/processing-failed/");
    assert_eq!(scenario.expect.format, Some(ObjectFormat::Ndjson));
    assert_eq!(scenario.emulator.map(|emulator| emulator.time_scale), Some(60.0));

    // The AWS defaults when nothing is said.
    let plain = parse("events = 1\nschema = \"clickstream\"\npartition_key = \"user_id\"\n").unwrap();
    assert_eq!(plain.pipeline.compression, Compression::None);
    assert_eq!(plain.pipeline.delimiter, Delimiter::None);
    assert_eq!(plain.pipeline.error_output_prefix.configured(), None);
    assert_eq!(plain.pipeline.listing_prefix(), "");
    assert_eq!(plain.pipeline.error_output_root(), "processing-failed/");
    assert_eq!(plain.expect.format, None);
    assert_eq!(plain.emulator, None);
}

#[test]
fn search_destinations_parse_into_the_model() {
    use scenario::{IndexRotation, SearchBackupMode, SearchService};
    let text = "[pipeline]\nbucket = \"b-1\"\nprefix = \"backup/\"\n[pipeline.buffering]\nsize_mb = 100\n\
                [pipeline.elasticsearch]\nindex = \"clicks\"\ntype_name = \"_doc\"\nrotation = \"OneWeek\"\n\
                s3_backup_mode = \"AllDocuments\"\nretry_seconds = 0\ndomain = \"logs-1\"\n\n\
                [workload]\nevents = 1\nschema = \"clickstream\"\npartition_key = \"user_id\"\n\n[expect]\n\
                [faults]\nindex_failure = 0.5\n";
    let scenario = scenario::parse(Path::new("inline.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    let search = scenario.pipeline.search.as_ref().expect("a search destination");
    assert_eq!(search.service, SearchService::Elasticsearch);
    assert_eq!(search.index, "clicks");
    assert_eq!(search.type_name.as_deref(), Some("_doc"));
    assert_eq!(search.rotation, IndexRotation::OneWeek);
    assert_eq!(search.rotation.as_str(), "OneWeek");
    assert_eq!(search.backup_mode, SearchBackupMode::AllDocuments);
    assert_eq!(
        (search.retry_seconds, search.domain.as_str(), search.endpoint.as_deref()),
        (0, "logs-1", None)
    );
    assert_eq!(search.service.failed_prefix_segment(), "elasticsearch-failed/");
    assert_eq!(scenario.faults.unwrap().index_failure, 0.5);

    // The AWS defaults, and an existing cluster instead of the in-process domain.
    let text = "[pipeline]\nbucket = \"b-1\"\n[pipeline.opensearch]\nindex = \"clicks\"\n\
                endpoint = \"http://localhost:9200/\"\n\n\
                [workload]\nevents = 1\nschema = \"clickstream\"\npartition_key = \"user_id\"\n\n[expect]\n";
    let scenario = scenario::parse(Path::new("inline.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    let search = scenario.pipeline.search.unwrap();
    assert_eq!(search.service.failed_prefix_segment(), "AmazonOpenSearchService-failed/");
    assert_eq!(
        (search.rotation, search.backup_mode),
        (IndexRotation::NoRotation, SearchBackupMode::FailedDocumentsOnly)
    );
    assert_eq!((search.retry_seconds, search.domain.as_str()), (300, scenario::DEFAULT_SEARCH_DOMAIN));
    assert_eq!(search.endpoint.as_deref(), Some("http://localhost:9200"));
    assert_eq!(search.type_name, None);

    let plain = parse("events = 1\nschema = \"clickstream\"\npartition_key = \"user_id\"\n").unwrap();
    assert_eq!(plain.pipeline.search, None);
}

#[test]
fn a_run_index_is_the_index_and_the_run_id_lowercased_within_80_characters() {
    let search = scenario::SearchDestination {
        service: scenario::SearchService::OpenSearch,
        index: "clicks".into(),
        type_name: None,
        rotation: scenario::IndexRotation::NoRotation,
        backup_mode: scenario::SearchBackupMode::FailedDocumentsOnly,
        retry_seconds: 300,
        domain: scenario::DEFAULT_SEARCH_DOMAIN.into(),
        endpoint: None,
    };
    assert_eq!(search.run_index("20261123T193000-3fa2c1"), "clicks-20261123t193000-3fa2c1");
    // The longest index a scenario may give plus a run id fits exactly.
    let longest = "x".repeat(scenario::MAX_INDEX_NAME_LEN - scenario::RUN_INDEX_SUFFIX_LEN);
    let run_index =
        scenario::SearchDestination { index: longest, ..search.clone() }.run_index("20261123t193000-3fa2c1");
    assert_eq!(run_index.len(), scenario::MAX_INDEX_NAME_LEN);
    // A longer run id (a held environment's) is cut to 80 characters.
    let run_index = search.run_index(&"e".repeat(100));
    assert_eq!(run_index.len(), scenario::MAX_INDEX_NAME_LEN);
    assert!(run_index.starts_with("clicks-eee"));
}

#[test]
fn the_search_scenarios_have_the_documented_values() {
    use scenario::{IndexRotation, SearchBackupMode, SearchService, Source};
    let failed =
        scenario::load(&workspace_root().join("scenarios/opensearch-failed-documents.toml")).unwrap();
    let search = failed.pipeline.search.as_ref().unwrap();
    assert_eq!(
        (search.service, search.backup_mode),
        (SearchService::OpenSearch, SearchBackupMode::FailedDocumentsOnly)
    );
    assert_eq!(
        (search.index.as_str(), search.domain.as_str(), search.endpoint.as_deref()),
        ("clicks", "streamproof", None)
    );
    assert_eq!(failed.pipeline.source, Source::DirectPut);
    assert_eq!(failed.pipeline.prefix.configured(), Some("backup/"));
    assert_eq!(failed.workload.events, 2_000);
    assert_eq!(failed.faults.as_ref().unwrap().index_failure, 0.02);

    let all = scenario::load(&workspace_root().join("scenarios/opensearch-all-documents.toml")).unwrap();
    assert_eq!(all.pipeline.search.as_ref().unwrap().backup_mode, SearchBackupMode::AllDocuments);
    assert_eq!(all.pipeline.source, Source::KinesisStream);

    let es = scenario::load(&workspace_root().join("scenarios/elasticsearch-rotated-index.toml")).unwrap();
    let search = es.pipeline.search.as_ref().unwrap();
    assert_eq!(search.service, SearchService::Elasticsearch);
    assert_eq!((search.type_name.as_deref(), search.rotation), (Some("_doc"), IndexRotation::OneDay));
    assert_eq!(es.faults, None);
}

#[test]
fn reshard_steps_parse_in_time_order_and_track_the_open_shard_count() {
    let text = "[pipeline]\nshards = 2\nsource = \"kinesis\"\nbucket = \"b-1\"\n\n[workload]\nevents = 10\n\
                schema = \"clickstream\"\npartition_key = \"user_id\"\n\n[[workload.reshard]]\nat_seconds = 1.5\n\
                shards = 4\n\n[[workload.reshard]]\nat_seconds = 3\nsplit = \"shardId-000000000002\"\n\n\
                [[workload.reshard]]\nat_seconds = 4\nmerge = [\"shardId-000000000006\", \"shardId-000000000007\"]\n\n\
                [[workload.reshard]]\nat_seconds = 5\nshards = 8\n\n[expect]\n";
    let s = scenario::parse(Path::new("inline.toml"), text).unwrap();
    let steps: Vec<(f64, scenario::ReshardAction)> =
        s.workload.reshard.iter().map(|step| (step.at.as_secs_f64(), step.action.clone())).collect();
    assert_eq!(
        steps,
        [
            (1.5, scenario::ReshardAction::Shards(4)),
            (3.0, scenario::ReshardAction::Split("shardId-000000000002".into())),
            (
                4.0,
                scenario::ReshardAction::Merge("shardId-000000000006".into(), "shardId-000000000007".into())
            ),
            (5.0, scenario::ReshardAction::Shards(8)),
        ]
    );
    // 4 open, +1 by the split, -1 by the merge: 8 is double the 4 left, 9 would not be.
    let over = text.replace("shards = 8", "shards = 9");
    let error = scenario::parse(Path::new("inline.toml"), &over).unwrap_err().to_string();
    assert!(error.contains("scales 4 open shards to 2..=8"), "{error}");
}
