//! The OpenSearch and Elasticsearch destinations: their configuration, checked as Firehose checks
//! it, described back, and the names Firehose gives documents and failed-document objects.
//!
//! The two services' differences (member names, failed-documents folder, error-code prefix) and
//! their index rotation are [`SearchService`] and [`IndexRotation`]. Delivery itself is in
//! `search_delivery.rs`.

use std::time::Duration;

use serde::Serialize;

use crate::error::ApiError;
use crate::firehose::api::{
    BufferingHints, DocumentIdOptions, EnabledOut, ProcessingConfiguration, RetryOptions,
    S3DestinationDescription, SearchDestinationConfiguration, SearchDestinationDescription,
};
use crate::firehose::config::Destination;
use crate::json::Base64;
use crate::search::valid_domain_name;
use vocabulary::{IndexRotation, PrefixTemplate, SearchBackupMode, SearchService};

/// Where documents go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cluster {
    /// The emulator's in-process domain of this name (`DomainARN`).
    InProcess(String),
    /// An external cluster's REST base URL, without a trailing slash (`ClusterEndpoint`).
    External(String),
}

/// `DocumentIdOptions.DefaultDocumentIdFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocumentIds {
    /// Firehose gives every record an id, the same on every retry.
    FirehoseDefault,
    /// No `_id`: the cluster generates one per request, so a retried request can duplicate.
    NoDocumentId,
}

impl DocumentIds {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DocumentIds::FirehoseDefault => "FIREHOSE_DEFAULT",
            DocumentIds::NoDocumentId => "NO_DOCUMENT_ID",
        }
    }
}

/// An OpenSearch or Elasticsearch destination as configured. The S3 backup is the delivery
/// stream's [`Destination`]; this is the rest.
#[derive(Debug)]
pub(crate) struct SearchDestination {
    pub(crate) service: SearchService,
    pub(crate) role_arn: String,
    pub(crate) domain_arn: Option<String>,
    pub(crate) cluster_endpoint: Option<String>,
    pub(crate) cluster: Cluster,
    pub(crate) index_name: String,
    pub(crate) type_name: Option<String>,
    pub(crate) rotation: IndexRotation,
    pub(crate) size_in_mbs: i64,
    pub(crate) interval_in_seconds: i64,
    pub(crate) retry_seconds: i64,
    pub(crate) backup_mode: SearchBackupMode,
    pub(crate) document_ids: DocumentIds,
    pub(crate) processing: ProcessingConfiguration,
    /// Where failed documents go: `<S3Configuration.Prefix><failed folder>` and the hourly folders.
    pub(crate) failed_template: PrefixTemplate,
}

impl SearchDestination {
    /// How long Firehose retries after the first failed attempt (emulator time).
    pub(crate) fn retry_duration(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.retry_seconds).unwrap_or(0))
    }

    /// The `_type` to send, if any (an empty TypeName sends none).
    pub(crate) fn type_name(&self) -> Option<&str> {
        self.type_name.as_deref().filter(|name| !name.is_empty())
    }

    /// The description `DescribeDeliveryStream` returns.
    pub(crate) fn describe(&self, s3: S3DestinationDescription) -> SearchDestinationDescription {
        SearchDestinationDescription {
            role_arn: self.role_arn.clone(),
            domain_arn: self.domain_arn.clone(),
            cluster_endpoint: self.cluster_endpoint.clone(),
            index_name: self.index_name.clone(),
            type_name: self.type_name.clone(),
            index_rotation_period: self.rotation.as_str(),
            buffering_hints: BufferingHints {
                size_in_mbs: Some(self.size_in_mbs),
                interval_in_seconds: Some(self.interval_in_seconds),
            },
            retry_options: RetryOptions { duration_in_seconds: Some(self.retry_seconds) },
            s3_backup_mode: self.backup_mode.as_str(),
            s3_destination_description: s3,
            processing_configuration: self.processing.clone(),
            cloud_watch_logging_options: EnabledOut { enabled: false },
            document_id_options: DocumentIdOptions {
                default_document_id_format: self.document_ids.as_str().to_owned(),
            },
        }
    }
}

/// Checks a search destination configuration; `backup` is its `S3Configuration`, already checked
/// as an S3 destination. The S3 backup has no buffering of its own here: it is written per flushed
/// batch.
pub(crate) fn search_destination(
    service: SearchService,
    config: SearchDestinationConfiguration,
    backup: &Destination,
) -> Result<SearchDestination, ApiError> {
    let member = service.member();
    let name = service.configuration_name();
    if config.vpc_configuration.is_some() {
        return Err(ApiError::unsupported(format_args!("VpcConfiguration of an {name}")));
    }
    let cluster = match (&config.domain_arn, &config.cluster_endpoint) {
        (Some(arn), None) => Cluster::InProcess(domain_from_arn(arn, member)?),
        (None, Some(endpoint)) => Cluster::External(cluster_endpoint(endpoint, member)?),
        _ => {
            return Err(ApiError::invalid_argument(format!(
                "Exactly one of DomainARN and ClusterEndpoint must be specified in the {name}."
            )));
        }
    };
    let index_len = config.index_name.chars().count();
    if index_len == 0 {
        return Err(ApiError::validation(format!(
            "Value '' at '{member}.indexName' failed to satisfy constraint: Member must have length greater \
             than or equal to 1"
        )));
    }
    if index_len > 80 {
        return Err(ApiError::validation(format!(
            "Value '{}' at '{member}.indexName' failed to satisfy constraint: Member must have length less \
             than or equal to 80",
            config.index_name
        )));
    }
    if let Some(type_name) = &config.type_name
        && type_name.chars().count() > 100
    {
        return Err(ApiError::validation(format!(
            "Value '{type_name}' at '{member}.typeName' failed to satisfy constraint: Member must have length \
             less than or equal to 100"
        )));
    }
    let rotation = match config.index_rotation_period.as_deref() {
        None => IndexRotation::AWS_DEFAULT,
        Some(name) => IndexRotation::from_name(name).ok_or_else(|| {
            ApiError::validation(format!(
                "Value '{name}' at '{member}.indexRotationPeriod' failed to satisfy constraint: Member \
                 must satisfy enum value set: [{}]",
                IndexRotation::names()
            ))
        })?,
    };
    let hints =
        config.buffering_hints.unwrap_or(BufferingHints { size_in_mbs: None, interval_in_seconds: None });
    let size_in_mbs = hints.size_in_mbs.unwrap_or(5);
    in_range(size_in_mbs, 1, 100, &format!("{member}.bufferingHints.sizeInMBs"))?;
    let interval_in_seconds = hints.interval_in_seconds.unwrap_or(300);
    in_range(interval_in_seconds, 0, 900, &format!("{member}.bufferingHints.intervalInSeconds"))?;
    let retry_seconds = config.retry_options.and_then(|retry| retry.duration_in_seconds).unwrap_or(300);
    in_range(retry_seconds, 0, 7200, &format!("{member}.retryOptions.durationInSeconds"))?;
    let backup_mode = match config.s3_backup_mode.as_deref() {
        None => SearchBackupMode::default(),
        Some(name) => SearchBackupMode::from_name(name).ok_or_else(|| {
            ApiError::validation(format!(
                "Value '{name}' at '{member}.s3BackupMode' failed to satisfy constraint: Member must satisfy \
                 enum value set: [FailedDocumentsOnly, AllDocuments]"
            ))
        })?,
    };
    let document_ids = match config
        .document_id_options
        .as_ref()
        .map(|o| o.default_document_id_format.as_str())
    {
        None | Some("FIREHOSE_DEFAULT") => DocumentIds::FirehoseDefault,
        Some("NO_DOCUMENT_ID") => DocumentIds::NoDocumentId,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "Value '{other}' at '{member}.documentIdOptions.defaultDocumentIdFormat' failed to satisfy \
                 constraint: Member must satisfy enum value set: [FIREHOSE_DEFAULT, NO_DOCUMENT_ID]"
            )));
        }
    };
    let processing = config
        .processing_configuration
        .unwrap_or(ProcessingConfiguration { enabled: None, processors: Vec::new() });
    let processing_enabled = processing.enabled.unwrap_or(!processing.processors.is_empty());
    if processing_enabled && let Some(processor) = processing.processors.first() {
        return Err(ApiError::unsupported(format_args!("Processor type {} on an {name}", processor.kind)));
    }
    if backup.lambda.is_some() || backup.append_delimiter {
        return Err(ApiError::unsupported(format_args!(
            "A ProcessingConfiguration in the S3Configuration of an {name}"
        )));
    }
    if backup.prefix_template.has_expressions() {
        return Err(ApiError::unsupported(format_args!(
            "Prefix expressions in the S3Configuration of an {name}"
        )));
    }
    let failed_prefix =
        format!("{}{}", backup.prefix.as_deref().unwrap_or_default(), service.failed_prefix_segment());
    Ok(SearchDestination {
        service,
        role_arn: config.role_arn,
        domain_arn: config.domain_arn,
        cluster_endpoint: config.cluster_endpoint,
        cluster,
        index_name: config.index_name,
        type_name: config.type_name,
        rotation,
        size_in_mbs,
        interval_in_seconds,
        retry_seconds,
        backup_mode,
        document_ids,
        processing: ProcessingConfiguration { enabled: Some(processing_enabled), ..processing },
        failed_template: PrefixTemplate::literal(failed_prefix),
    })
}

fn in_range(value: i64, min: i64, max: i64, member: &str) -> Result<(), ApiError> {
    if value < min {
        return Err(ApiError::validation(format!(
            "Value '{value}' at '{member}' failed to satisfy constraint: Member must have value greater than or \
             equal to {min}"
        )));
    }
    if value > max {
        return Err(ApiError::validation(format!(
            "Value '{value}' at '{member}' failed to satisfy constraint: Member must have value less than or \
             equal to {max}"
        )));
    }
    Ok(())
}

/// The in-process domain a `DomainARN` names: `arn:aws:es:<region>:<account>:domain/<name>`.
fn domain_from_arn(arn: &str, member: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::validation(format!(
            "Value '{arn}' at '{member}.domainARN' failed to satisfy constraint: Member must satisfy regular \
             expression pattern: arn:.*:es:[a-z0-9-]+:[0-9]{{12}}:domain/[a-z][a-z0-9-]{{2,27}}"
        ))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, _partition, service, region, account, resource] = parts[..] else { return Err(invalid()) };
    let name = resource.strip_prefix("domain/").ok_or_else(invalid)?;
    let region_ok = !region.is_empty()
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if scheme != "arn" || service != "es" || !region_ok || !account_ok || !valid_domain_name(name) {
        return Err(invalid());
    }
    Ok(name.to_owned())
}

/// The base URL of an external cluster: `http://host[:port][/path]`, without a trailing slash.
fn cluster_endpoint(endpoint: &str, member: &str) -> Result<String, ApiError> {
    if endpoint.starts_with("https://") {
        return Err(ApiError::invalid_argument(format!(
            "ClusterEndpoint {endpoint} uses https, which the streamproof emulator does not support: it has no \
             TLS client. Give an http:// endpoint, or a DomainARN for the emulator's in-process domain."
        )));
    }
    let uri: Option<http::Uri> = endpoint.parse().ok();
    let valid = uri.as_ref().is_some_and(|uri| {
        uri.scheme_str() == Some("http")
            && uri.host().is_some_and(|host| !host.is_empty())
            && uri.query().is_none()
    });
    if !valid {
        return Err(ApiError::validation(format!(
            "Value '{endpoint}' at '{member}.clusterEndpoint' failed to satisfy constraint: Member must satisfy \
             regular expression pattern: http://.* (a URL with a host)"
        )));
    }
    Ok(endpoint.trim_end_matches('/').to_owned())
}

/// One line of a failed-documents object, in the envelope AWS documents.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FailedDocument<'a> {
    pub(crate) attempts_made: u32,
    pub(crate) arrival_timestamp: i64,
    pub(crate) error_code: &'a str,
    pub(crate) error_message: &'a str,
    pub(crate) attempt_ending_timestamp: i64,
    pub(crate) es_document_id: &'a str,
    pub(crate) es_index_name: &'a str,
    pub(crate) es_type_name: &'a str,
    pub(crate) raw_data: Base64<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_arns_and_endpoints_are_checked() {
        let member = "m";
        assert_eq!(
            domain_from_arn("arn:aws:es:us-east-1:000000000000:domain/streamproof", member).unwrap(),
            "streamproof"
        );
        for bad in [
            "arn:aws:es:us-east-1:000000000000:domain/Upper",
            "arn:aws:s3:us-east-1:000000000000:domain/abc",
            "arn:aws:es:us-east-1:12:domain/abc",
            "arn:aws:es:us-east-1:000000000000:collection/abc",
            "streamproof",
        ] {
            assert_eq!(domain_from_arn(bad, member).unwrap_err().code, "ValidationException", "{bad}");
        }
        assert_eq!(cluster_endpoint("http://localhost:9200/", member).unwrap(), "http://localhost:9200");
        assert_eq!(
            cluster_endpoint("http://127.0.0.1:1/_opensearch/d", member).unwrap(),
            "http://127.0.0.1:1/_opensearch/d"
        );
        assert_eq!(
            cluster_endpoint("https://search.example.com", member).unwrap_err().code,
            "InvalidArgumentException"
        );
        assert_eq!(cluster_endpoint("ftp://x", member).unwrap_err().code, "ValidationException");
        assert_eq!(cluster_endpoint("localhost:9200", member).unwrap_err().code, "ValidationException");
    }

    #[test]
    fn failed_documents_serialize_in_the_documented_order() {
        let line = serde_json::to_string(&FailedDocument {
            attempts_made: 3,
            arrival_timestamp: 1,
            error_code: "400",
            error_message: "{}",
            attempt_ending_timestamp: 2,
            es_document_id: "id",
            es_index_name: "i",
            es_type_name: "",
            raw_data: Base64(b"{\"a\":1}"),
        })
        .unwrap();
        assert_eq!(
            line,
            r#"{"attemptsMade":3,"arrivalTimestamp":1,"errorCode":"400","errorMessage":"{}","attemptEndingTimestamp":2,"esDocumentId":"id","esIndexName":"i","esTypeName":"","rawData":"eyJhIjoxfQ=="}"#
        );
    }
}
