//! Validating `[pipeline]`: the stream, the delivery stream's destination (S3, or a search
//! destination with its S3 backup), its prefixes, buffering and data transformation.

use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use crate::error::{Locator, ScenarioError};
use crate::model::{
    BufferingHints, Compression, DEFAULT_SEARCH_DOMAIN, Delimiter, MAX_INDEX_NAME_LEN, Pipeline,
    RUN_INDEX_SUFFIX_LEN, SearchDestination, Source, Transform, TransformRuntime,
};
use crate::raw::{RawPipeline, RawSearch, RawTransform};
use crate::values::{MAX_SHARDS, check_bucket, in_range};
use vocabulary::{
    IndexRotation, MAX_PREFIX_LEN, PrefixError, PrefixTemplate, SearchBackupMode, SearchService,
};

pub(crate) fn pipeline(locator: &Locator<'_>, raw: Spanned<RawPipeline>) -> Result<Pipeline, ScenarioError> {
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
    let prefix_at = raw.prefix.as_ref().map_or(0, |prefix| prefix.span().start);
    let prefix =
        prefix_template(locator, raw.prefix.as_ref(), "pipeline.prefix", prefix_at, PrefixTemplate::parse)?;
    let error_output_prefix = prefix_template(
        locator,
        raw.error_output_prefix.as_ref(),
        "pipeline.error_output_prefix",
        prefix_at,
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

/// A prefix read with `parse` (an empty one is the default), or the error naming `field`, at the
/// text, or at `prefix_at` (the `prefix`) when the error is that the prefix needs this one.
fn prefix_template(
    locator: &Locator<'_>,
    text: Option<&Spanned<String>>,
    field: &str,
    prefix_at: usize,
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
            PrefixError::ErrorOutputPrefixRequired => {
                return locator.at(
                    prefix_at,
                    field,
                    "`error_output_prefix` is required when `prefix` uses !{...} expressions \
                     (Firehose refuses an empty ErrorOutputPrefix then)",
                );
            }
            other @ PrefixError::TimestampPattern(_) => other.to_string(),
        };
        locator.at(text.map_or(0, |text| text.span().start), field, message)
    })
}
