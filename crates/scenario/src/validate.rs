//! Second pass: raw values → the typed [`Scenario`], checking every range AWS enforces.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use crate::error::{Locator, ScenarioError};
use crate::model::{
    BUILT_IN_SCHEMAS, BufferingHints, CustomField, DEFAULT_ENVELOPE_FIELD, Delivery, Expect, FieldKind,
    MAX_FIREHOSE_RECORD_BYTES, MAX_KINESIS_RECORD_BYTES, Ordering, PAD_FIELD, PartitionKey, Payload,
    Pipeline, PutApi, Rate, RateStep, Scenario, Schema, Source, Workload,
};
use crate::model::{Compression, Delimiter, EmulatorSettings, MAX_EVENTS, MAX_TIME_SCALE, ObjectFormat};
use crate::model::{DEFAULT_SEARCH_DOMAIN, MAX_INDEX_NAME_LEN, RUN_INDEX_SUFFIX_LEN, SearchDestination};
use crate::model::{Transform, TransformRuntime};
use crate::raw::{RawEmulator, RawExpect, RawFaults, RawKey, RawPipeline, RawRate, RawScenario, RawWorkload};
use crate::raw::{RawSearch, RawTransform};
use vocabulary::{
    FaultPlan, FaultRate, IndexRotation, MAX_PREFIX_LEN, PrefixError, PrefixTemplate, SearchBackupMode,
    SearchService, ShardStall,
};

/// Most shards a stream may be created with here (the default per-account shard quota).
pub(crate) const MAX_SHARDS: i64 = 500;

pub(crate) fn validate(path: &Path, text: &str, raw: RawScenario) -> Result<Scenario, ScenarioError> {
    let locator = Locator { path, text };
    let name = match raw.name {
        Some(name) => {
            check_name(&locator, &name)?;
            name.into_inner()
        }
        None => default_name(path),
    };
    let pipeline = pipeline(&locator, raw.pipeline)?;
    let workload = workload(&locator, raw.workload, pipeline.source)?;
    let expect = expect(&locator, raw.expect, &pipeline.buffering)?;
    let faults = raw.faults.map(|raw| faults(&locator, raw, &pipeline)).transpose()?;
    let emulator = raw.emulator.map(|raw| emulator(&locator, raw)).transpose()?;
    Ok(Scenario { name, path: path.to_path_buf(), pipeline, workload, expect, faults, emulator })
}

fn pipeline(locator: &Locator<'_>, raw: Spanned<RawPipeline>) -> Result<Pipeline, ScenarioError> {
    let raw = raw.into_inner();
    let shards = match raw.shards {
        Some(shards) => in_range(locator, &shards, "pipeline.shards", 1, MAX_SHARDS)? as u32,
        None => 1,
    };
    let source = match raw.source {
        None => Source::KinesisStream,
        Some(source) => match source.get_ref().as_str() {
            "kinesis" => Source::KinesisStream,
            "direct-put" => Source::DirectPut,
            other => {
                return Err(locator.at(
                    source.span().start,
                    "pipeline.source",
                    format!("unknown source {other:?}; expected \"kinesis\" or \"direct-put\""),
                ));
            }
        },
    };
    check_bucket(locator, &raw.bucket)?;
    let prefix = prefix_template(locator, raw.prefix.as_ref(), "pipeline.prefix", PrefixTemplate::parse)?;
    if prefix.has_expressions()
        && raw.error_output_prefix.as_ref().is_none_or(|error| error.get_ref().is_empty())
    {
        return Err(locator.at(
            raw.prefix.as_ref().map_or(0, |prefix| prefix.span().start),
            "pipeline.error_output_prefix",
            "`error_output_prefix` is required when `prefix` uses !{...} expressions \
             (Firehose refuses an empty ErrorOutputPrefix then)",
        ));
    }
    let error_output_prefix = prefix_template(
        locator,
        raw.error_output_prefix.as_ref(),
        "pipeline.error_output_prefix",
        |error| PrefixTemplate::parse_error_output(prefix.configured(), error),
    )?;
    let compression = match raw.compression {
        None => Compression::None,
        Some(v) => match v.get_ref().as_str() {
            "none" => Compression::None,
            "gzip" => Compression::Gzip,
            other => {
                return Err(locator.at(
                    v.span().start,
                    "pipeline.compression",
                    format!(
                        "unsupported compression {other:?}; expected \"none\" (UNCOMPRESSED) or \"gzip\" (GZIP); \
                         ZIP, Snappy and HADOOP_SNAPPY are not supported"
                    ),
                ));
            }
        },
    };
    let delimiter = match raw.delimiter {
        None => Delimiter::None,
        Some(v) => match v.get_ref().as_str() {
            "none" => Delimiter::None,
            "newline" => Delimiter::Newline,
            other => {
                return Err(locator.at(
                    v.span().start,
                    "pipeline.delimiter",
                    format!(
                        "unknown delimiter {other:?}; expected \"none\" (records concatenated) or \"newline\" \
                         (the AppendDelimiterToRecord processor)"
                    ),
                ));
            }
        },
    };
    let transform = raw.transform.map(|raw| transform(locator, raw)).transpose()?;
    let search = match (raw.opensearch, raw.elasticsearch) {
        (Some(_), Some(_)) => {
            return Err(locator.at(
                locator.table_offset("pipeline.elasticsearch"),
                "pipeline.elasticsearch",
                "give either [pipeline.opensearch] or [pipeline.elasticsearch], not both \
                 (a delivery stream has one destination)",
            ));
        }
        (Some(raw), None) => Some(search(locator, raw, SearchService::OpenSearch)?),
        (None, Some(raw)) => Some(search(locator, raw, SearchService::Elasticsearch)?),
        (None, None) => None,
    };
    if let Some(search) = &search {
        let table = search.service.table();
        if transform.is_some() {
            return Err(locator.at(
                locator.table_offset("pipeline.transform"),
                "pipeline.transform",
                format!("a data transformation with a search destination ([{table}]) is not supported yet"),
            ));
        }
        if delimiter == Delimiter::Newline {
            return Err(locator.at(
                locator.table_offset(table),
                "pipeline.delimiter",
                format!(
                    "`delimiter = \"newline\"` (the AppendDelimiterToRecord processor) applies to an S3 \
                     destination; [{table}] indexes each record as one document"
                ),
            ));
        }
        if let Some(prefix) = prefix.configured().filter(|_| prefix.has_expressions()) {
            return Err(locator.at(
                locator.table_offset(table),
                "pipeline.prefix",
                format!(
                    "with [{table}] the prefix {prefix:?} is the S3 backup's and takes no !{{...}} \
                     expressions here"
                ),
            ));
        }
    }
    let defaults = BufferingHints::AWS_DEFAULT;
    let buffering = match raw.buffering {
        None => defaults,
        Some(buffering) => BufferingHints {
            size_mb: match buffering.size_mb {
                // A search destination's BufferingHints take at most 100 MB.
                Some(v) if search.is_some() && *v.get_ref() > 100 => {
                    return Err(locator.at(
                        v.span().start,
                        "pipeline.buffering.size_mb",
                        format!(
                            "{} is out of range; must be 1..=100 with a search destination (SizeInMBs of {})",
                            v.get_ref(),
                            search.as_ref().map_or("", |search| search.service.table())
                        ),
                    ));
                }
                Some(v) => in_range(locator, &v, "pipeline.buffering.size_mb", 1, 128)? as u32,
                None => defaults.size_mb,
            },
            interval_seconds: match buffering.interval_seconds {
                Some(v) => in_range(locator, &v, "pipeline.buffering.interval_seconds", 0, 900)? as u32,
                None => defaults.interval_seconds,
            },
        },
    };
    Ok(Pipeline {
        shards,
        source,
        buffering,
        bucket: raw.bucket.into_inner(),
        prefix,
        error_output_prefix,
        compression,
        delimiter,
        transform,
        search,
    })
}

/// Characters an index name may not contain (OpenSearch's and Elasticsearch's rules).
const INDEX_FORBIDDEN: &[char] = &['*', '?', '"', '<', '>', '|', '/', '\\', ',', '#', ':', ' '];

/// `[pipeline.opensearch]` or `[pipeline.elasticsearch]`.
fn search(
    locator: &Locator<'_>,
    raw: Spanned<RawSearch>,
    service: SearchService,
) -> Result<SearchDestination, ScenarioError> {
    let table = service.table();
    let raw = raw.into_inner();
    let field = |name: &str| format!("{table}.{name}");
    let index = raw.index.get_ref();
    let longest = MAX_INDEX_NAME_LEN - RUN_INDEX_SUFFIX_LEN;
    let problem = if index.is_empty() || index.chars().count() > longest {
        Some(format!(
            "must be 1..={longest} characters (IndexName takes {MAX_INDEX_NAME_LEN}, and each run appends \
             a {RUN_INDEX_SUFFIX_LEN}-character `-<run id>`)"
        ))
    } else if index.chars().any(|c| c.is_uppercase()) {
        Some("must be lowercase".to_owned())
    } else if let Some(c) = index.chars().find(|c| INDEX_FORBIDDEN.contains(c)) {
        Some(format!("must not contain {c:?} (nor any of * ? \" < > | / \\ , # : or a space)"))
    } else if index.starts_with(['_', '-', '+']) {
        Some("must not start with '_', '-' or '+'".to_owned())
    } else if index == "." || index == ".." {
        Some("must not be \".\" or \"..\"".to_owned())
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(locator.at(
            raw.index.span().start,
            &field("index"),
            format!("{index:?} is not a valid index name: it {problem}"),
        ));
    }
    let type_name = match raw.type_name {
        Some(v) if service == SearchService::OpenSearch => {
            return Err(locator.at(
                v.span().start,
                &field("type_name"),
                "TypeName is for [pipeline.elasticsearch] only; OpenSearch indexes have no types",
            ));
        }
        Some(v)
            if v.get_ref().is_empty()
                || v.get_ref().len() > 100
                || v.get_ref().starts_with('_') && v.get_ref() != "_doc" =>
        {
            return Err(locator.at(
                v.span().start,
                &field("type_name"),
                format!("{:?} is not a valid type name: 1..=100 characters, not starting with '_' (except \"_doc\")", v.get_ref()),
            ));
        }
        Some(v) => Some(v.into_inner()),
        None => None,
    };
    let rotation = match raw.rotation {
        // The scenario's default; AWS's API defaults to OneDay.
        None => IndexRotation::NoRotation,
        Some(v) => IndexRotation::from_name(v.get_ref()).ok_or_else(|| {
            let names: Vec<_> = IndexRotation::ALL.iter().map(|(name, _)| format!("{name:?}")).collect();
            locator.at(
                v.span().start,
                &field("rotation"),
                format!(
                    "unknown IndexRotationPeriod {:?}; expected one of {}",
                    v.get_ref(),
                    names.join(", ")
                ),
            )
        })?,
    };
    let backup_mode = match raw.s3_backup_mode {
        None => SearchBackupMode::default(),
        Some(v) => SearchBackupMode::from_name(v.get_ref()).ok_or_else(|| {
            locator.at(
                v.span().start,
                &field("s3_backup_mode"),
                format!(
                    "unknown S3BackupMode {:?}; expected \"FailedDocumentsOnly\" or \"AllDocuments\"",
                    v.get_ref()
                ),
            )
        })?,
    };
    let retry_seconds = match raw.retry_seconds {
        Some(v) => in_range(locator, &v, &field("retry_seconds"), 0, 7200)? as u32,
        None => 300,
    };
    let domain = match raw.domain {
        Some(v) => {
            let name = v.get_ref();
            let valid = (3..=28).contains(&name.len())
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid {
                return Err(locator.at(
                    v.span().start,
                    &field("domain"),
                    format!(
                        "{name:?} is not a valid domain name (3-28 lowercase letters, digits or '-', \
                         starting with a letter)"
                    ),
                ));
            }
            v.into_inner()
        }
        None => DEFAULT_SEARCH_DOMAIN.to_owned(),
    };
    let endpoint = match raw.endpoint {
        Some(v) => {
            let url = v.get_ref();
            if url.starts_with("https://") {
                return Err(locator.at(
                    v.span().start,
                    &field("endpoint"),
                    format!(
                        "{url:?}: https clusters are not supported yet (the emulator's Firehose and the \
                         verifier have no TLS client or request signing); use an http:// endpoint, such \
                         as a local OpenSearch with its security plugin disabled"
                    ),
                ));
            }
            let host = url.strip_prefix("http://");
            if host.is_none_or(|rest| rest.split('/').next().is_none_or(str::is_empty)) {
                return Err(locator.at(
                    v.span().start,
                    &field("endpoint"),
                    format!(
                        "{url:?} is not a cluster URL; expected http://host[:port][/path] \
                         (ClusterEndpoint)"
                    ),
                ));
            }
            Some(url.trim_end_matches('/').to_owned())
        }
        None => None,
    };
    Ok(SearchDestination {
        service,
        index: raw.index.into_inner(),
        type_name,
        rotation,
        backup_mode,
        retry_seconds,
        domain,
        endpoint,
    })
}

/// `[pipeline.transform]`; the code directory is resolved against the scenario's directory and
/// must exist.
fn transform(locator: &Locator<'_>, raw: Spanned<RawTransform>) -> Result<Transform, ScenarioError> {
    let raw = raw.into_inner();
    let runtime = match raw.runtime.get_ref().as_str() {
        "python" => TransformRuntime::Python,
        "node" => TransformRuntime::Node,
        other => {
            return Err(locator.at(
                raw.runtime.span().start,
                "pipeline.transform.runtime",
                format!("unknown runtime {other:?}; expected \"python\" or \"node\""),
            ));
        }
    };
    let handler = raw.handler.get_ref();
    if !handler.split_once(':').is_some_and(|(module, function)| {
        !module.is_empty() && !function.is_empty() && !function.contains(':')
    }) {
        return Err(locator.at(
            raw.handler.span().start,
            "pipeline.transform.handler",
            format!("{handler:?} is not `module:function` (such as \"transform:lambda_handler\")"),
        ));
    }
    let base = locator.path.parent().unwrap_or(Path::new(""));
    let code_dir = base.join(raw.code_dir.get_ref());
    if !code_dir.is_dir() {
        return Err(locator.at(
            raw.code_dir.span().start,
            "pipeline.transform.code_dir",
            format!(
                "{} is not a directory (code_dir is relative to the scenario file's directory)",
                code_dir.display()
            ),
        ));
    }
    let buffer_size_mb = match raw.buffer_size_mb {
        Some(v) if (0.2..=3.0).contains(v.get_ref()) => *v.get_ref(),
        Some(v) => {
            return Err(locator.at(
                v.span().start,
                "pipeline.transform.buffer_size_mb",
                format!(
                    "{} is out of range; must be 0.2..=3 (BufferSizeInMBs of a Lambda processor)",
                    v.get_ref()
                ),
            ));
        }
        None => 1.0,
    };
    let seconds = |value: Option<Spanned<i64>>, field, min, max, default| match value {
        Some(v) => in_range(locator, &v, field, min, max),
        None => Ok(default),
    };
    Ok(Transform {
        runtime,
        handler: raw.handler.into_inner(),
        code_dir,
        buffer_size_mb,
        buffer_interval_seconds: seconds(
            raw.buffer_interval_seconds,
            "pipeline.transform.buffer_interval_seconds",
            0,
            900,
            60,
        )? as u32,
        timeout: Duration::from_secs(seconds(
            raw.timeout_seconds,
            "pipeline.transform.timeout_seconds",
            1,
            900,
            60,
        )? as u64),
        retries: seconds(raw.retries, "pipeline.transform.retries", 0, 300, 3)? as u32,
    })
}

/// A prefix read with `parse` (an empty one is the default), or the error naming `field`.
fn prefix_template(
    locator: &Locator<'_>,
    text: Option<&Spanned<String>>,
    field: &str,
    parse: impl FnOnce(Option<&str>) -> Result<PrefixTemplate, PrefixError>,
) -> Result<PrefixTemplate, ScenarioError> {
    parse(text.map(|text| text.get_ref().as_str())).map_err(|error| {
        let name = field.trim_start_matches("pipeline.");
        let message = match error {
            PrefixError::TooLong => format!("{name} is longer than {MAX_PREFIX_LEN} bytes"),
            PrefixError::Unterminated(text) => {
                format!("the expression in {text:?} is not terminated by '}}'")
            }
            PrefixError::UnknownExpression(expression) => format!(
                "!{{{expression}}} is not a supported expression; use !{{timestamp:<pattern>}}, \
                 !{{firehose:random-string}} or !{{firehose:error-output-type}}"
            ),
            PrefixError::ErrorOutputTypeInPrefix => {
                "!{firehose:error-output-type} may only be used in `error_output_prefix`".to_owned()
            }
            PrefixError::ErrorOutputTypeMissing => {
                "an error_output_prefix with expressions must contain !{firehose:error-output-type}"
                    .to_owned()
            }
            other @ PrefixError::TimestampPattern(_) => other.to_string(),
        };
        locator.at(text.map_or(0, |text| text.span().start), field, message)
    })
}

fn emulator(locator: &Locator<'_>, raw: Spanned<RawEmulator>) -> Result<EmulatorSettings, ScenarioError> {
    let raw = raw.into_inner();
    let time_scale = match raw.time_scale {
        None => 1.0,
        Some(v) => {
            let scale = *v.get_ref();
            if !(scale.is_finite() && scale > 0.0 && scale <= MAX_TIME_SCALE) {
                return Err(locator.at(
                    v.span().start,
                    "emulator.time_scale",
                    format!("{scale} is out of range; must be above 0 and at most {MAX_TIME_SCALE}"),
                ));
            }
            scale
        }
    };
    Ok(EmulatorSettings { time_scale })
}

fn workload(
    locator: &Locator<'_>,
    raw: Spanned<RawWorkload>,
    source: Source,
) -> Result<Workload, ScenarioError> {
    let workload_offset = raw.span().start;
    let raw = raw.into_inner();
    let events = in_range(locator, &raw.events, "workload.events", 1, MAX_EVENTS as i64)? as u64;
    let duration = match raw.duration_seconds {
        Some(v) => {
            Some(Duration::from_secs_f64(positive(locator, &v, "workload.duration_seconds", 86_400.0)?))
        }
        None => None,
    };
    let schema = match raw.schema.get_ref().as_str() {
        "clickstream" => Schema::Clickstream,
        "app-event" => Schema::AppEvent,
        "segment-track" => Schema::SegmentTrack,
        "person-item" => Schema::PersonItem,
        "custom" => match &raw.fields {
            Some(fields) => Schema::Custom(custom_fields(locator, fields)?),
            None => {
                return Err(locator.at(
                    raw.schema.span().start,
                    "workload.schema",
                    "schema \"custom\" needs a [workload.fields] table declaring its fields",
                ));
            }
        },
        other => {
            let names: Vec<String> = BUILT_IN_SCHEMAS.iter().map(|s| format!("{s:?}")).collect();
            return Err(locator.at(
                raw.schema.span().start,
                "workload.schema",
                format!("unknown schema {other:?}; built-in schemas: {}", names.join(", ")),
            ));
        }
    };
    if let (Some(fields), false) = (&raw.fields, matches!(schema, Schema::Custom(_))) {
        return Err(locator.at(
            fields.span().start,
            "workload.fields",
            format!("fields are declared only for schema \"custom\", not {:?}", schema.name()),
        ));
    }
    let key_field = |field: &Spanned<String>, name: &str| -> Result<String, ScenarioError> {
        let keys = schema.key_fields();
        if keys.contains(&field.get_ref().as_str()) {
            Ok(field.get_ref().clone())
        } else {
            let what = if schema.fields().contains(&field.get_ref().as_str()) {
                "has no string field"
            } else {
                "has no field"
            };
            Err(locator.at(
                field.span().start,
                name,
                format!(
                    "schema {:?} {what} {:?}; its fields are {}",
                    schema.name(),
                    field.get_ref(),
                    keys.join(", ")
                ),
            ))
        }
    };
    let partition_key = match (&raw.partition_key, raw.key) {
        (Some(field), None) => PartitionKey::Field(key_field(field, "workload.partition_key")?),
        (Some(field), Some(_)) => {
            return Err(locator.at(
                field.span().start,
                "workload.partition_key",
                "give either `partition_key` (a field name) or a [workload.key] table, not both",
            ));
        }
        (None, None) => {
            return Err(locator.at(
                workload_offset,
                "workload.partition_key",
                "missing required field `partition_key` in [workload] (or a [workload.key] table)",
            ));
        }
        (None, Some(key)) => key_strategy(locator, key, &key_field)?,
    };
    let users = match raw.users {
        Some(v) => in_range(locator, &v, "workload.users", 1, i64::from(u32::MAX))? as u32,
        None => 1000,
    };
    let seed = match raw.seed {
        Some(v) => in_range(locator, &v, "workload.seed", 0, i64::MAX)? as u64,
        None => 0,
    };
    let envelope_field = match raw.envelope_field {
        Some(field) => {
            let name = field.get_ref();
            if name.is_empty() || name == PAD_FIELD || schema.fields().contains(&name.as_str()) {
                return Err(locator.at(
                    field.span().start,
                    "workload.envelope_field",
                    format!(
                        "must be non-empty and differ from \"{PAD_FIELD}\" and the schema's fields ({})",
                        schema.fields().join(", ")
                    ),
                ));
            }
            field.into_inner()
        }
        None => DEFAULT_ENVELOPE_FIELD.to_owned(),
    };
    let api = match raw.api {
        None if source == Source::DirectPut => PutApi::PutRecordBatch,
        None => PutApi::PutRecords,
        Some(api) => {
            let parsed = match api.get_ref().as_str() {
                "put-records" => PutApi::PutRecords,
                "put-record" => PutApi::PutRecord,
                "put-record-batch" => PutApi::PutRecordBatch,
                other => {
                    return Err(locator.at(
                        api.span().start,
                        "workload.api",
                        format!(
                            "unknown api {other:?}; expected \"put-records\", \"put-record\" or \"put-record-batch\""
                        ),
                    ));
                }
            };
            let fits = match source {
                Source::DirectPut => parsed == PutApi::PutRecordBatch,
                Source::KinesisStream => parsed != PutApi::PutRecordBatch,
            };
            if !fits {
                return Err(locator.at(
                    api.span().start,
                    "workload.api",
                    match source {
                        Source::DirectPut => "a direct-put pipeline has no stream; use \"put-record-batch\"",
                        Source::KinesisStream => {
                            "a kinesis-source delivery stream rejects Firehose puts; use \"put-records\" or \"put-record\""
                        }
                    },
                ));
            }
            parsed
        }
    };
    let concurrency = match raw.concurrency {
        Some(v) => in_range(locator, &v, "workload.concurrency", 1, 1024)? as u32,
        None => 4,
    };
    let retry_budget = match raw.retry_seconds {
        Some(v) => in_range(locator, &v, "workload.retry_seconds", 1, MAX_RETRY_SECONDS)? as u64,
        None => DEFAULT_RETRY_SECONDS,
    };
    let max_record = match source {
        Source::KinesisStream => MAX_KINESIS_RECORD_BYTES,
        Source::DirectPut => MAX_FIREHOSE_RECORD_BYTES,
    } as i64;
    let payload = match raw.payload {
        None => Payload::Natural,
        Some(payload) => {
            let span = payload.span().start;
            let payload = payload.into_inner();
            match (payload.size_bytes, payload.min_bytes, payload.max_bytes) {
                (Some(size), None, None) => {
                    Payload::Fixed(
                        in_range(locator, &size, "workload.payload.size_bytes", 1, max_record)? as u64
                    )
                }
                (None, Some(min), Some(max)) => {
                    let lo = in_range(locator, &min, "workload.payload.min_bytes", 1, max_record)?;
                    let hi = in_range(locator, &max, "workload.payload.max_bytes", lo, max_record)?;
                    Payload::Uniform { min: lo as u64, max: hi as u64 }
                }
                _ => {
                    return Err(locator.at(
                        span,
                        "workload.payload",
                        "give either `size_bytes`, or both `min_bytes` and `max_bytes`",
                    ));
                }
            }
        }
    };
    let rate = match raw.rate {
        None => Rate::Unlimited,
        Some(rate) => rate_profile(locator, rate)?,
    };
    Ok(Workload {
        events,
        duration,
        schema,
        partition_key,
        users,
        seed,
        envelope_field,
        payload,
        rate,
        api,
        concurrency,
        retry_budget: Duration::from_secs(retry_budget),
    })
}

/// How long a record may be retried by default, from its first put: long enough to ride out a
/// throttled second many times over, short enough that a pipeline refusing everything fails fast.
const DEFAULT_RETRY_SECONDS: u64 = 30;
/// The longest retry budget a scenario may set.
const MAX_RETRY_SECONDS: i64 = 3_600;

/// Most keys a key strategy may spread over.
const MAX_KEYS: i64 = 100_000_000;

/// Checks that a named field can be a partition key and returns its name.
type KeyFieldCheck<'a> = dyn Fn(&Spanned<String>, &str) -> Result<String, ScenarioError> + 'a;

fn key_strategy(
    locator: &Locator<'_>,
    key: Spanned<RawKey>,
    key_field: &KeyFieldCheck<'_>,
) -> Result<PartitionKey, ScenarioError> {
    let span = key.span().start;
    let key = key.into_inner();
    let require = |name: &str| {
        locator.at(
            span,
            &format!("workload.key.{name}"),
            format!("strategy {:?} needs `{name}`", key.strategy.get_ref()),
        )
    };
    let keys = |require: &dyn Fn(&str) -> ScenarioError| match &key.keys {
        Some(v) => Ok(in_range(locator, v, "workload.key.keys", 1, MAX_KEYS)? as u32),
        None => Err(require("keys")),
    };
    Ok(match key.strategy.get_ref().as_str() {
        "field" => match &key.field {
            Some(field) => PartitionKey::Field(key_field(field, "workload.key.field")?),
            None => return Err(require("field")),
        },
        "constant" => match &key.value {
            Some(value) if (1..=256).contains(&value.get_ref().chars().count()) => {
                PartitionKey::Constant(value.get_ref().clone())
            }
            Some(value) => {
                return Err(locator.at(
                    value.span().start,
                    "workload.key.value",
                    "a partition key is 1-256 characters",
                ));
            }
            None => return Err(require("value")),
        },
        "random" => PartitionKey::Random,
        "uniform" => PartitionKey::Uniform { keys: keys(&require)? },
        "zipf" => {
            let keys = keys(&require)?;
            let exponent = match &key.exponent {
                Some(v) => positive(locator, v, "workload.key.exponent", 100.0)?,
                None => return Err(require("exponent")),
            };
            PartitionKey::Zipf { keys, exponent }
        }
        "hot-key" => {
            let keys = keys(&require)?;
            let fraction = match &key.hot_fraction {
                Some(v) if (0.0..=1.0).contains(v.get_ref()) => *v.get_ref(),
                Some(v) => {
                    return Err(locator.at(
                        v.span().start,
                        "workload.key.hot_fraction",
                        format!("{} is out of range; must be 0.0..=1.0", v.get_ref()),
                    ));
                }
                None => return Err(require("hot_fraction")),
            };
            if keys < 2 && fraction < 1.0 {
                return Err(locator.at(
                    span,
                    "workload.key.keys",
                    "strategy \"hot-key\" needs at least 2 keys unless hot_fraction is 1.0",
                ));
            }
            PartitionKey::HotKey { keys, fraction }
        }
        other => {
            return Err(locator.at(
                key.strategy.span().start,
                "workload.key.strategy",
                format!(
                    "unknown key strategy {other:?}; expected \"field\", \"constant\", \"random\", \"uniform\", \"zipf\" or \"hot-key\""
                ),
            ));
        }
    })
}

fn rate_profile(locator: &Locator<'_>, rate: Spanned<RawRate>) -> Result<Rate, ScenarioError> {
    let span = rate.span().start;
    let rate = rate.into_inner();
    let require = |name: &str| {
        locator.at(
            span,
            &format!("workload.rate.{name}"),
            format!("profile {:?} needs `{name}`", rate.profile.get_ref()),
        )
    };
    let per_second = |v: &Option<Spanned<f64>>, name: &str| match v {
        Some(v) => positive(locator, v, &format!("workload.rate.{name}"), MAX_RATE),
        None => Err(require(name)),
    };
    Ok(match rate.profile.get_ref().as_str() {
        "max" => Rate::Unlimited,
        "fixed" => Rate::Fixed(per_second(&rate.per_second, "per_second")?),
        "ramp" => Rate::Ramp {
            from: per_second(&rate.from_per_second, "from_per_second")?,
            to: per_second(&rate.to_per_second, "to_per_second")?,
            over: Duration::from_secs_f64(match &rate.over_seconds {
                Some(v) => positive(locator, v, "workload.rate.over_seconds", 86_400.0)?,
                None => return Err(require("over_seconds")),
            }),
        },
        "steps" => match &rate.steps {
            Some(steps) if !steps.is_empty() => {
                let mut out = Vec::with_capacity(steps.len());
                for (i, step) in steps.iter().enumerate() {
                    let step = step.get_ref();
                    out.push(RateStep {
                        per_second: positive(
                            locator,
                            &step.per_second,
                            &format!("workload.rate.steps[{i}].per_second"),
                            MAX_RATE,
                        )?,
                        duration: Duration::from_secs_f64(positive(
                            locator,
                            &step.seconds,
                            &format!("workload.rate.steps[{i}].seconds"),
                            86_400.0,
                        )?),
                    });
                }
                Rate::Steps(out)
            }
            _ => return Err(require("steps")),
        },
        other => {
            return Err(locator.at(
                rate.profile.span().start,
                "workload.rate.profile",
                format!("unknown rate profile {other:?}; expected \"max\", \"fixed\", \"ramp\" or \"steps\""),
            ));
        }
    })
}

/// Highest rate a profile may ask for, in records per second.
const MAX_RATE: f64 = 10_000_000.0;

/// The fields of a custom schema, in file order.
fn custom_fields(
    locator: &Locator<'_>,
    fields: &Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
) -> Result<Vec<CustomField>, ScenarioError> {
    if fields.get_ref().is_empty() {
        return Err(locator.at(fields.span().start, "workload.fields", "declare at least one field"));
    }
    let mut entries: Vec<_> = fields.get_ref().iter().collect();
    entries.sort_by_key(|(name, _)| name.span().start);
    entries
        .into_iter()
        .map(|(name, value)| {
            let path = format!("workload.fields.{}", name.get_ref());
            if [PAD_FIELD, DEFAULT_ENVELOPE_FIELD].contains(&name.get_ref().as_str()) || name.get_ref().is_empty() {
                return Err(locator.at(
                    name.span().start,
                    &path,
                    format!("field names must be non-empty and differ from \"{PAD_FIELD}\" and \"{DEFAULT_ENVELOPE_FIELD}\""),
                ));
            }
            let kind = field_kind(locator, value.span().start, &path, value.get_ref())?;
            Ok(CustomField { name: name.get_ref().clone(), kind })
        })
        .collect()
}

/// One custom field's kind; errors point at the field's value (nested values have no spans of their own).
fn field_kind(
    locator: &Locator<'_>,
    offset: usize,
    path: &str,
    value: &toml::Value,
) -> Result<FieldKind, ScenarioError> {
    let simple: Vec<&str> = FieldKind::SIMPLE.iter().map(|(name, _)| *name).collect();
    let kinds = format!("{}, integer, float, enum, constant, object", simple.join(", "));
    let err = |message: String| locator.at(offset, path, message);
    let kind_name = match value {
        toml::Value::String(name) => name.as_str(),
        toml::Value::Table(table) => match table.get("kind") {
            Some(toml::Value::String(name)) => name.as_str(),
            _ => return Err(err(format!("an inline table needs `kind`, one of {kinds}"))),
        },
        _ => return Err(err(format!("expected a kind name or an inline table with `kind`, one of {kinds}"))),
    };
    if let Some((_, kind)) = FieldKind::SIMPLE.iter().find(|(name, _)| *name == kind_name) {
        return Ok(kind.clone());
    }
    let table = match value {
        toml::Value::Table(table) => table,
        _ => return Err(err(format!("unknown kind {kind_name:?}; expected one of {kinds}"))),
    };
    let allowed: &[&str] = match kind_name {
        "integer" | "float" => &["kind", "min", "max"],
        "enum" => &["kind", "values"],
        "constant" => &["kind", "value"],
        "object" => &["kind", "fields"],
        other => return Err(err(format!("unknown kind {other:?}; expected one of {kinds}"))),
    };
    if let Some(unknown) = table.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(err(format!("kind {kind_name:?} takes no `{unknown}`; it takes {}", allowed.join(", "))));
    }
    let get = |name: &str| table.get(name).ok_or_else(|| err(format!("kind {kind_name:?} needs `{name}`")));
    match kind_name {
        "integer" => {
            let (min, max) = match (get("min")?, get("max")?) {
                (toml::Value::Integer(min), toml::Value::Integer(max)) => (*min, *max),
                _ => return Err(err("`min` and `max` of an integer field must be integers".into())),
            };
            if min > max {
                return Err(err(format!("min {min} is greater than max {max}")));
            }
            Ok(FieldKind::Integer { min, max })
        }
        "float" => {
            let number = |v: &toml::Value| match v {
                toml::Value::Float(f) if f.is_finite() => Some(*f),
                toml::Value::Integer(i) => Some(*i as f64),
                _ => None,
            };
            match (number(get("min")?), number(get("max")?)) {
                (Some(min), Some(max)) if min < max => Ok(FieldKind::Float { min, max }),
                (Some(min), Some(max)) => Err(err(format!("min {min} must be less than max {max}"))),
                _ => Err(err("`min` and `max` of a float field must be numbers".into())),
            }
        }
        "enum" => match get("values")? {
            toml::Value::Array(values) if !values.is_empty() => values
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s.clone()),
                    _ => Err(err("`values` of an enum field must be strings".into())),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(FieldKind::Enum),
            _ => Err(err("`values` of an enum field must be a non-empty array of strings".into())),
        },
        "constant" => match get("value")? {
            toml::Value::String(s) => Ok(FieldKind::Constant(s.clone())),
            _ => Err(err("`value` of a constant field must be a string".into())),
        },
        _ => match get("fields")? {
            toml::Value::Table(fields) if !fields.is_empty() => fields
                .iter()
                .map(|(name, value)| {
                    let kind = field_kind(locator, offset, &format!("{path}.{name}"), value)?;
                    Ok(CustomField { name: name.clone(), kind })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(FieldKind::Object),
            _ => Err(err("`fields` of an object field must be a non-empty table".into())),
        },
    }
}

/// A finite number in `0 < v <= max`.
fn positive(
    locator: &Locator<'_>,
    value: &Spanned<f64>,
    field: &str,
    max: f64,
) -> Result<f64, ScenarioError> {
    let v = *value.get_ref();
    if v.is_finite() && v > 0.0 && v <= max {
        Ok(v)
    } else {
        Err(locator.at(
            value.span().start,
            field,
            format!("{v} is out of range; must be above 0 and at most {max}"),
        ))
    }
}

fn expect(
    locator: &Locator<'_>,
    raw: Spanned<RawExpect>,
    buffering: &BufferingHints,
) -> Result<Expect, ScenarioError> {
    let raw = raw.into_inner();
    let delivery = match raw.delivery {
        None => Delivery::ExactlyOnce,
        Some(v) => {
            match v.get_ref().as_str() {
                "exactly-once" => Delivery::ExactlyOnce,
                "at-least-once" => Delivery::AtLeastOnce,
                other => {
                    return Err(locator.at(
                    v.span().start,
                    "expect.delivery",
                    format!("unknown delivery guarantee {other:?}; expected \"exactly-once\" or \"at-least-once\""),
                ));
                }
            }
        }
    };
    let ordering = match raw.ordering {
        None => Ordering::PerKey,
        Some(v) => match v.get_ref().as_str() {
            "per-key" => Ordering::PerKey,
            "none" => Ordering::None,
            other => {
                return Err(locator.at(
                    v.span().start,
                    "expect.ordering",
                    format!("unknown ordering {other:?}; expected \"per-key\" or \"none\""),
                ));
            }
        },
    };
    // Defaults: a record may take one buffer interval plus a minute; the verifier waits twice that.
    let max_latency_seconds = match raw.max_latency_seconds {
        Some(v) => in_range(locator, &v, "expect.max_latency_seconds", 1, 86_400)? as u64,
        None => u64::from(buffering.interval_seconds) + 60,
    };
    let timeout_seconds = match raw.timeout_seconds {
        Some(v) => in_range(locator, &v, "expect.timeout_seconds", 1, 86_400)? as u64,
        None => 2 * max_latency_seconds,
    };
    let max_shard_share = match raw.max_shard_share {
        Some(v) => Some(positive(locator, &v, "expect.max_shard_share", 1.0)?),
        None => None,
    };
    let max_throttled_fraction = match raw.max_throttled_fraction {
        Some(v) => Some(fraction(locator, &v, "expect.max_throttled_fraction")?),
        None => None,
    };
    // Records that exhausted their retries fail the run unless the scenario allows a share of them.
    let max_failed_fraction = match raw.max_failed_fraction {
        Some(v) => fraction(locator, &v, "expect.max_failed_fraction")?,
        None => 0.0,
    };
    let format = match raw.format {
        None => None,
        Some(v) => match v.get_ref().as_str() {
            "ndjson" => Some(ObjectFormat::Ndjson),
            "none" => None,
            other => {
                return Err(locator.at(
                    v.span().start,
                    "expect.format",
                    format!("unknown object format {other:?}; expected \"ndjson\" or \"none\""),
                ));
            }
        },
    };
    Ok(Expect {
        format,
        delivery,
        ordering,
        max_latency: Duration::from_secs(max_latency_seconds),
        timeout: Duration::from_secs(timeout_seconds),
        max_shard_share,
        max_throttled_fraction,
        max_failed_fraction,
    })
}

/// A value between 0 and 1, both included.
fn fraction(locator: &Locator<'_>, v: &Spanned<f64>, field: &str) -> Result<f64, ScenarioError> {
    let fraction = *v.get_ref();
    if !(0.0..=1.0).contains(&fraction) {
        return Err(locator.at(
            v.span().start,
            field,
            format!("{fraction} is not a fraction; must be between 0 and 1"),
        ));
    }
    Ok(fraction)
}

/// Longest an object may be held back: the longest buffering interval.
const MAX_DELAY_SECONDS: i64 = 900;

fn faults(
    locator: &Locator<'_>,
    raw: Spanned<RawFaults>,
    pipeline: &Pipeline,
) -> Result<FaultPlan, ScenarioError> {
    let shards = i64::from(pipeline.shards);
    let table_start = locator.table_offset("faults");
    let raw = raw.into_inner();
    let mut plan = FaultPlan::default();
    if let Some(v) = &raw.seed {
        plan.seed = in_range(locator, v, "faults.seed", 0, i64::MAX)? as u64;
    }
    for ordinal in raw.drop_kinesis.iter().flatten() {
        plan.drop_kinesis_records
            .insert(in_range(locator, ordinal, "faults.drop_kinesis", 0, i64::MAX)? as u64);
    }
    for rate in FaultRate::ALL {
        let Some(value) = raw.rate(rate) else { continue };
        let (name, p) = (rate.name(), *value.get_ref());
        let field = format!("faults.{name}");
        if !(0.0..=1.0).contains(&p) {
            return Err(locator.at(
                value.span().start,
                &field,
                format!("{p} is not a probability; must be between 0 and 1"),
            ));
        }
        let refusal = match &pipeline.search {
            // Object faults act on the objects of an S3 destination; a search destination writes documents.
            Some(search) if rate.acts_on_objects() && p > 0.0 => Some(format!(
                "{name} acts on the objects of an S3 destination, and [{}] indexes documents \
                 instead; use index_failure, or faults of the Kinesis source (drop_kinesis, \
                 throttle_burst, internal_failure, stall_shard)",
                search.service.table()
            )),
            None if rate == FaultRate::IndexFailure => Some(
                "index_failure needs a search destination ([pipeline.opensearch] or [pipeline.elasticsearch])"
                    .to_owned(),
            ),
            Some(search) if rate == FaultRate::IndexFailure && search.endpoint.is_some() && p > 0.0 => {
                Some(format!(
                    "index_failure applies to the embedded emulator's in-process domain only, and [{}] has \
                     an `endpoint`",
                    search.service.table()
                ))
            }
            _ => None,
        };
        if let Some(refusal) = refusal {
            return Err(locator.at(value.span().start, &field, refusal));
        }
        plan.set_rate(rate, p);
    }
    plan.firehose.delay_by = match raw.delay_seconds {
        Some(v) => {
            Duration::from_secs(in_range(locator, &v, "faults.delay_seconds", 1, MAX_DELAY_SECONDS)? as u64)
        }
        None if plan.firehose.delay > 0.0 => {
            return Err(locator.at(
                table_start,
                "faults.delay_seconds",
                "missing field `delay_seconds` in [faults]: a delay needs its length",
            ));
        }
        None => Duration::ZERO,
    };
    if let Some(stall) = raw.stall_shard {
        let stall = stall.into_inner();
        plan.stall_shard = Some(ShardStall {
            shard: in_range(locator, &stall.shard, "faults.stall_shard.shard", 0, shards - 1)? as u32,
            by: Duration::from_secs(in_range(
                locator,
                &stall.seconds,
                "faults.stall_shard.seconds",
                1,
                MAX_DELAY_SECONDS,
            )? as u64),
        });
    }
    Ok(plan)
}

fn in_range(
    locator: &Locator<'_>,
    value: &Spanned<i64>,
    field: &str,
    min: i64,
    max: i64,
) -> Result<i64, ScenarioError> {
    let v = *value.get_ref();
    if (min..=max).contains(&v) {
        Ok(v)
    } else if max == i64::MAX {
        Err(locator.at(value.span().start, field, format!("{v} is out of range; must be at least {min}")))
    } else {
        Err(locator.at(value.span().start, field, format!("{v} is out of range; must be {min}..={max}")))
    }
}

/// S3 bucket naming rules: 3–63 characters of lowercase letters, digits, dots and hyphens,
/// starting and ending with a letter or digit.
fn check_bucket(locator: &Locator<'_>, bucket: &Spanned<String>) -> Result<(), ScenarioError> {
    let name = bucket.get_ref();
    let allowed =
        name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if (3..=63).contains(&name.len()) && allowed && ends(name.bytes().next()) && ends(name.bytes().last()) {
        Ok(())
    } else {
        Err(locator.at(
            bucket.span().start,
            "pipeline.bucket",
            format!(
                "{name:?} is not a valid S3 bucket name (3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit)"
            ),
        ))
    }
}

/// Scenario names end up in stream and delivery stream names: keep them to `[a-z0-9-]`, 1–40 characters.
fn check_name(locator: &Locator<'_>, name: &Spanned<String>) -> Result<(), ScenarioError> {
    let v = name.get_ref();
    if !v.is_empty()
        && v.len() <= 40
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(())
    } else {
        Err(locator.at(
            name.span().start,
            "name",
            format!("{v:?} must be 1-40 characters of a-z, 0-9 and '-'"),
        ))
    }
}

fn default_name(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario").to_ascii_lowercase();
    let name: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).take(40).collect();
    if name.is_empty() { "scenario".to_owned() } else { name }
}
