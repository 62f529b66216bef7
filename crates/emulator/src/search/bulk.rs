//! The `_bulk` API: parsing its NDJSON request and the shape of its response.
//!
//! A request is pairs of lines: an action line such as `{"index":{"_index":"clicks","_id":"1"}}`
//! and the document source. `index` and `create` are served; `update` and `delete` are parsed (so
//! the rest of the request stays aligned) and refused per item. The response is shared by the
//! in-process domain and Firehose's client of an external cluster, which deserializes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::search::error::SearchError;

/// What an action line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Add or replace the document.
    Index,
    /// Add the document; fail if its id exists.
    Create,
    /// Parsed so the request stays aligned, answered with an item error.
    Update,
    /// Parsed so the request stays aligned, answered with an item error.
    Delete,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Index => "index",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// One operation of a bulk request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operation<'a> {
    pub(crate) action: Action,
    /// The index: the action line's `_index`, else the one in the request path.
    pub(crate) index: String,
    pub(crate) id: Option<String>,
    pub(crate) type_name: Option<String>,
    /// The source line, without its line end; empty for `delete`.
    pub(crate) source: &'a [u8],
}

/// The metadata of an action line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    #[serde(rename = "_index")]
    index: Option<String>,
    #[serde(rename = "_id")]
    id: Option<String>,
    /// Elasticsearch 6/7 mapping types; accepted and echoed, not stored.
    #[serde(rename = "_type")]
    type_name: Option<String>,
    /// Parameters that change nothing on a one-shard, always-refreshed index.
    #[serde(rename = "routing")]
    _routing: Option<serde_json::Value>,
    #[serde(rename = "pipeline")]
    _pipeline: Option<serde_json::Value>,
    #[serde(rename = "require_alias")]
    _require_alias: Option<serde_json::Value>,
}

/// Parses a bulk request body; `default_index` is the index named in the request path, if any.
///
/// Errors that OpenSearch reports for the whole request (a body not ending in a newline, a
/// malformed action line, an operation without an index) fail the whole request here too.
pub(crate) fn parse<'a>(
    body: &'a [u8],
    default_index: Option<&str>,
) -> Result<Vec<Operation<'a>>, SearchError> {
    if !body.is_empty() && !body.ends_with(b"\n") {
        return Err(SearchError::bad_request(
            "illegal_argument_exception",
            "The bulk request must be terminated by a newline [\\n]",
        ));
    }
    // Every line ends with a newline; the last one does not start another line.
    let content = body.strip_suffix(b"\n").unwrap_or(body);
    let mut lines = content.split(|&b| b == b'\n').enumerate().map(|(n, line)| (n + 1, trim_cr(line)));
    let mut operations = Vec::new();
    let mut missing_index = Vec::new();
    while let Some((number, line)) = lines.next() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let malformed = |detail: String| {
            SearchError::bad_request(
                "illegal_argument_exception",
                format!("Malformed action/metadata line [{number}], {detail}"),
            )
        };
        let parsed: BTreeMap<String, Metadata> = serde_json::from_slice(line).map_err(|err| {
            let text = err.to_string();
            match text.strip_prefix("unknown field `") {
                Some(rest) => SearchError::bad_request(
                    "illegal_argument_exception",
                    format!(
                        "Action/metadata line [{number}] contains an unknown parameter [{}]",
                        rest.split('`').next().unwrap_or_default()
                    ),
                ),
                None => malformed(format!("expected an object with one action: {text}")),
            }
        })?;
        let mut entries = parsed.into_iter();
        let (Some((name, metadata)), None) = (entries.next(), entries.next()) else {
            return Err(malformed("expected exactly one action".to_owned()));
        };
        let action = match name.as_str() {
            "index" => Action::Index,
            "create" => Action::Create,
            "update" => Action::Update,
            "delete" => Action::Delete,
            other => {
                return Err(malformed(format!(
                    "expected one of [create, delete, index, update] but found [{other}]"
                )));
            }
        };
        let source = if action == Action::Delete {
            &b""[..]
        } else {
            match lines.next() {
                Some((_, source)) => source,
                None => {
                    return Err(SearchError::bad_request(
                        "illegal_argument_exception",
                        format!("The bulk request's action line [{number}] has no source line"),
                    ));
                }
            }
        };
        let index = match metadata.index.or_else(|| default_index.map(str::to_owned)) {
            Some(index) => index,
            None => {
                missing_index.push(operations.len() + 1);
                String::new()
            }
        };
        operations.push(Operation { action, index, id: metadata.id, type_name: metadata.type_name, source });
    }
    if operations.is_empty() {
        return Err(SearchError::bad_request(
            "action_request_validation_exception",
            "Validation Failed: 1: no requests added;",
        ));
    }
    if !missing_index.is_empty() {
        let reasons: String =
            missing_index.iter().enumerate().map(|(n, _)| format!("{}: index is missing;", n + 1)).collect();
        return Err(SearchError::bad_request(
            "action_request_validation_exception",
            format!("Validation Failed: {reasons}"),
        ));
    }
    Ok(operations)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether a source line is one JSON object (validated without building it).
pub(crate) fn is_json_object(source: &[u8]) -> bool {
    source.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(source).is_ok()
}

/// The response to a bulk request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BulkResponse {
    pub(crate) took: u64,
    pub(crate) errors: bool,
    /// One entry per operation, in request order: `{"<action>": {...}}`.
    pub(crate) items: Vec<BTreeMap<String, BulkItem>>,
}

impl BulkResponse {
    /// The result of every operation, in request order, without the action names.
    pub(crate) fn results(&self) -> impl Iterator<Item = Option<&BulkItem>> {
        self.items.iter().map(|entry| entry.values().next())
    }
}

/// The result of one bulk operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BulkItem {
    #[serde(rename = "_index", default)]
    pub(crate) index: String,
    #[serde(rename = "_type", default, skip_serializing_if = "Option::is_none")]
    pub(crate) type_name: Option<String>,
    #[serde(rename = "_id", default)]
    pub(crate) id: Option<String>,
    #[serde(rename = "_version", default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<String>,
    #[serde(rename = "_shards", default, skip_serializing_if = "Option::is_none")]
    pub(crate) shards: Option<serde_json::Value>,
    #[serde(rename = "_seq_no", default, skip_serializing_if = "Option::is_none")]
    pub(crate) seq_no: Option<u64>,
    #[serde(rename = "_primary_term", default, skip_serializing_if = "Option::is_none")]
    pub(crate) primary_term: Option<u64>,
    pub(crate) status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<serde_json::Value>,
}

impl BulkItem {
    /// Whether the operation succeeded (a 2xx status).
    pub(crate) fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_of_lines_become_operations_with_the_path_index_as_default() {
        let body = b"{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"x\":1}\n\
                     {\"create\":{}}\r\n{\"y\":2}\r\n\
                     {\"delete\":{\"_id\":\"9\"}}\n\
                     {\"index\":{\"_type\":\"_doc\"}}\nnot json\n";
        let ops = parse(body, Some("dflt")).unwrap();
        assert_eq!(ops.len(), 4);
        assert_eq!(
            (ops[0].action, ops[0].index.as_str(), ops[0].id.as_deref()),
            (Action::Index, "a", Some("1"))
        );
        assert_eq!(ops[0].source, b"{\"x\":1}");
        assert_eq!(
            (ops[1].action, ops[1].index.as_str(), ops[1].source),
            (Action::Create, "dflt", &b"{\"y\":2}"[..])
        );
        assert_eq!(
            (ops[2].action, ops[2].id.as_deref(), ops[2].source),
            (Action::Delete, Some("9"), &b""[..])
        );
        assert_eq!(ops[3].type_name.as_deref(), Some("_doc"));
        assert_eq!(ops[3].source, b"not json");
        assert!(is_json_object(ops[0].source));
        assert!(!is_json_object(ops[3].source));
        assert!(!is_json_object(b"[1,2]"));
        assert!(!is_json_object(b"{\"a\":1} trailing"));
    }

    #[test]
    fn blank_lines_between_operations_are_skipped() {
        let ops = parse(
            b"{\"index\":{\"_index\":\"a\"}}\n{\"x\":1}\n\n\n{\"index\":{\"_index\":\"b\"}}\n{}\n",
            None,
        )
        .unwrap();
        assert_eq!(ops.iter().map(|op| op.index.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn request_level_errors_name_the_problem() {
        let reason = |body: &[u8], index: Option<&str>| parse(body, index).unwrap_err().reason;
        assert_eq!(
            reason(b"{\"index\":{}}\n{}", Some("a")),
            "The bulk request must be terminated by a newline [\\n]"
        );
        assert_eq!(reason(b"", None), "Validation Failed: 1: no requests added;");
        assert_eq!(reason(b"{\"index\":{}}\n{}\n", None), "Validation Failed: 1: index is missing;");
        assert!(reason(b"\"index\"\n{}\n", Some("a")).starts_with("Malformed action/metadata line [1]"));
        assert!(reason(b"{\"upsert\":{}}\n{}\n", Some("a")).contains("found [upsert]"));
        assert_eq!(
            reason(b"{\"index\":{\"version\":3}}\n{}\n", Some("a")),
            "Action/metadata line [1] contains an unknown parameter [version]"
        );
        assert!(reason(b"{\"index\":{}}\n", Some("a")).contains("has no source line"));
    }

    #[test]
    fn responses_round_trip_through_json() {
        let response: BulkResponse = serde_json::from_str(
            r#"{"took":3,"errors":true,"items":[
                {"index":{"_index":"a","_id":"1","_version":1,"result":"created","status":201}},
                {"index":{"_index":"a","_id":"2","status":400,"error":{"type":"mapper_parsing_exception","reason":"r"}}}]}"#,
        )
        .unwrap();
        let results: Vec<_> = response.results().map(|item| item.unwrap().succeeded()).collect();
        assert_eq!(results, [true, false]);
        let again: BulkResponse = serde_json::from_slice(&serde_json::to_vec(&response).unwrap()).unwrap();
        assert_eq!(again, response);
    }
}
