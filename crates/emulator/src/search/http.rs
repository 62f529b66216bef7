//! The REST API of an in-process domain, relative to `/_opensearch/<domain>`:
//!
//! | method | path | |
//! |---|---|---|
//! | GET, HEAD | `/` | cluster information |
//! | GET | `/_cluster/health` | always green |
//! | POST, PUT | `/_bulk`, `/<index>/_bulk` | NDJSON, `index` and `create` actions |
//! | GET, POST | `/_count`, `/<index>/_count` | |
//! | GET, POST | `/_search`, `/<index>/_search` | `ids` and `match_all`, `size`, `from`, `?scroll=` |
//! | GET, POST | `/_search/scroll` | the next page of a scroll |
//! | DELETE | `/_search/scroll`, `/_search/scroll/_all` | closes scrolls |
//! | POST, GET | `/_refresh`, `/<index>/_refresh` | a no-op: indices are always refreshed |
//! | GET | `/<index>/_doc/<id>` | |
//! | PUT, DELETE | `/<index>` | creates, deletes |
//!
//! `<index>` is a comma list of names, which may use `*`. Errors have OpenSearch's shape.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use crate::search::domain::{Domain, Hit, MAX_RESULT_WINDOW, Page, Query};
use crate::search::error::SearchError;
use crate::search::{SearchRegistry, VERSION};

/// Serves one request; `path` is what follows `/_opensearch/`, `query` the query string.
pub(crate) fn handle(
    registry: &SearchRegistry,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Response<s3s::Body> {
    let (domain_name, rest) = path.split_once('/').unwrap_or((path, ""));
    let result = registry.domain(domain_name).and_then(|domain| {
        let segments: Vec<String> = rest.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let params = Params::parse(query);
        route(&domain, method, &segments, &params, body)
    });
    match result {
        Ok((status, body)) if *method == Method::HEAD => respond(status, Vec::new(), body.len()),
        Ok((status, body)) => {
            let len = body.len();
            respond(status, body, len)
        }
        Err(error) => {
            tracing::debug!(domain = domain_name, %method, path, %error, "search request failed");
            let body = error.to_json();
            let len = body.len();
            respond(error.status, body, len)
        }
    }
}

/// The response to a request body over the size limit.
pub(crate) fn too_large(detail: &str) -> Response<s3s::Body> {
    let error = SearchError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "content_too_long_exception",
        format!("the request body is too large: {detail}"),
    );
    let body = error.to_json();
    let len = body.len();
    respond(error.status, body, len)
}

type Outcome = Result<(StatusCode, Vec<u8>), SearchError>;

fn route(domain: &Domain, method: &Method, segments: &[&str], params: &Params, body: &[u8]) -> Outcome {
    let read = matches!(*method, Method::GET | Method::POST);
    match segments {
        [] if matches!(*method, Method::GET | Method::HEAD) => ok(&info(domain)),
        ["_cluster", "health"] if *method == Method::GET => ok(&json!({
            "cluster_name": domain.name, "status": "green", "timed_out": false,
            "number_of_nodes": 1, "number_of_data_nodes": 1, "active_shards_percent_as_number": 100.0,
        })),
        ["_bulk"] if matches!(*method, Method::POST | Method::PUT) => bulk(domain, None, body),
        [index, "_bulk"] if matches!(*method, Method::POST | Method::PUT) => bulk(domain, Some(index), body),
        ["_count"] if read => count(domain, "_all", body),
        [index, "_count"] if read => count(domain, index, body),
        ["_search", "scroll"] if read => scroll(domain, None, params, body),
        ["_search", "scroll", id] if read => scroll(domain, Some(id), params, body),
        ["_search", "scroll"] if *method == Method::DELETE => clear_scroll(domain, None, body),
        ["_search", "scroll", ids] if *method == Method::DELETE => clear_scroll(domain, Some(ids), body),
        ["_search"] if read => search(domain, "_all", params, body),
        [index, "_search"] if read => search(domain, index, params, body),
        ["_refresh"] if read => refresh(domain, "_all"),
        [index, "_refresh"] if read => refresh(domain, index),
        [index, "_doc", id] if *method == Method::GET => get(domain, index, id),
        [index] if *method == Method::PUT => {
            domain.create_index(index)?;
            ok(&json!({ "acknowledged": true, "shards_acknowledged": true, "index": index }))
        }
        [index] if *method == Method::DELETE => {
            domain.delete_indices(index)?;
            ok(&json!({ "acknowledged": true }))
        }
        _ => Err(SearchError::bad_request(
            "illegal_argument_exception",
            format!("no handler found for uri [/{}] and method [{method}]", segments.join("/")),
        )),
    }
}

fn ok(value: &serde_json::Value) -> Outcome {
    Ok((StatusCode::OK, serde_json::to_vec(value).unwrap_or_default()))
}

fn info(domain: &Domain) -> serde_json::Value {
    json!({
        "name": format!("{}-node-1", domain.name),
        "cluster_name": domain.name,
        "cluster_uuid": "streamproof",
        "version": {
            "distribution": "opensearch",
            "number": VERSION,
            "build_type": "streamproof-emulator",
            "lucene_version": "9.12.1",
            "minimum_wire_compatibility_version": "7.10.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
        "tagline": "The OpenSearch Project: https://opensearch.org/",
    })
}

fn bulk(domain: &Domain, index: Option<&str>, body: &[u8]) -> Outcome {
    let response = domain.bulk(body, index)?;
    Ok((StatusCode::OK, serde_json::to_vec(&response).unwrap_or_default()))
}

fn shards() -> serde_json::Value {
    json!({ "total": 1, "successful": 1, "skipped": 0, "failed": 0 })
}

fn count(domain: &Domain, index: &str, body: &[u8]) -> Outcome {
    let request = SearchBody::parse(body)?;
    let query = request.query()?;
    let count = domain.count(index, &query)?;
    ok(&json!({ "count": count, "_shards": shards() }))
}

fn refresh(domain: &Domain, index: &str) -> Outcome {
    domain.resolve(index)?;
    ok(&json!({ "_shards": { "total": 1, "successful": 1, "failed": 0 } }))
}

fn get(domain: &Domain, index: &str, id: &str) -> Outcome {
    match domain.get(index, id)? {
        Some(found) => {
            let mut out = Vec::with_capacity(found.source.len() + 128);
            out.extend_from_slice(b"{\"_index\":");
            write_json(&mut out, &index);
            out.extend_from_slice(b",\"_id\":");
            write_json(&mut out, &id);
            out.extend_from_slice(
                format!(
                    ",\"_version\":{},\"_seq_no\":{},\"_primary_term\":1,\"found\":true,\"_source\":",
                    found.version, found.seq_no
                )
                .as_bytes(),
            );
            out.extend_from_slice(&found.source);
            out.push(b'}');
            Ok((StatusCode::OK, out))
        }
        None => Ok((
            StatusCode::NOT_FOUND,
            serde_json::to_vec(&json!({ "_index": index, "_id": id, "found": false })).unwrap_or_default(),
        )),
    }
}

fn search(domain: &Domain, index: &str, params: &Params, body: &[u8]) -> Outcome {
    let request = SearchBody::parse(body)?;
    let query = request.query()?;
    let size = match params.get("size") {
        Some(text) => parse_number("size", text)?,
        None => request.size.unwrap_or(10),
    };
    let from = match params.get("from") {
        Some(text) => parse_number("from", text)?,
        None => request.from.unwrap_or(0),
    };
    let scroll = params.get("scroll").map(parse_time).transpose()?;
    if scroll.is_some() && from > 0 {
        return Err(SearchError::bad_request(
            "action_request_validation_exception",
            "Validation Failed: 1: using [from] is not allowed in a scroll context;",
        ));
    }
    if scroll.is_some() && size > MAX_RESULT_WINDOW {
        return Err(SearchError::bad_request(
            "illegal_argument_exception",
            format!(
                "Batch size is too large, size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was [{size}]."
            ),
        ));
    }
    let page = domain.search(index, &query, from, size, scroll)?;
    Ok((StatusCode::OK, page_json(&page)))
}

/// The body of a scroll request; the id may also come in the path or the query string.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScrollBody {
    scroll: Option<String>,
    scroll_id: Option<String>,
}

fn scroll(domain: &Domain, path_id: Option<&str>, params: &Params, body: &[u8]) -> Outcome {
    let request: ScrollBody = parse_body(body)?;
    let scroll_id = path_id
        .map(str::to_owned)
        .or(request.scroll_id)
        .or_else(|| params.get("scroll_id").map(str::to_owned))
        .ok_or_else(|| {
            SearchError::bad_request(
                "action_request_validation_exception",
                "Validation Failed: 1: scrollId is missing;",
            )
        })?;
    let keep_alive =
        request.scroll.as_deref().or_else(|| params.get("scroll")).map(parse_time).transpose()?;
    let page = domain.scroll(&scroll_id, keep_alive)?;
    Ok((StatusCode::OK, page_json(&page)))
}

/// The body of a clear-scroll request: one id or a list of them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClearScrollBody {
    scroll_id: Option<OneOrMany>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn clear_scroll(domain: &Domain, path_ids: Option<&str>, body: &[u8]) -> Outcome {
    let request: ClearScrollBody = parse_body(body)?;
    let ids: Option<Vec<String>> = match (path_ids, request.scroll_id) {
        (Some("_all"), _) => None,
        (Some(ids), _) => Some(ids.split(',').map(str::to_owned).collect()),
        (None, Some(OneOrMany::One(id))) if id == "_all" => None,
        (None, Some(OneOrMany::One(id))) => Some(vec![id]),
        (None, Some(OneOrMany::Many(ids))) => Some(ids),
        (None, None) => {
            return Err(SearchError::bad_request(
                "action_request_validation_exception",
                "Validation Failed: 1: no scroll ids specified;",
            ));
        }
    };
    let freed = domain.clear_scrolls(ids.as_deref());
    let status = if freed == 0 && ids.is_some() { StatusCode::NOT_FOUND } else { StatusCode::OK };
    Ok((status, serde_json::to_vec(&json!({ "succeeded": true, "num_freed": freed })).unwrap_or_default()))
}

/// The body of `_search` and `_count`.
#[derive(Debug, Default, Deserialize)]
struct SearchBody {
    query: Option<serde_json::Map<String, serde_json::Value>>,
    size: Option<usize>,
    from: Option<usize>,
    /// Accepted and ignored: hits come in index, then insertion, order.
    #[serde(rename = "sort")]
    _sort: Option<serde_json::Value>,
    #[serde(rename = "track_total_hits")]
    _track_total_hits: Option<serde_json::Value>,
}

impl SearchBody {
    fn parse(body: &[u8]) -> Result<SearchBody, SearchError> {
        parse_body(body)
    }

    fn query(&self) -> Result<Query, SearchError> {
        let Some(query) = &self.query else { return Ok(Query::MatchAll) };
        let mut clauses = query.iter();
        let (Some((kind, clause)), None) = (clauses.next(), clauses.next()) else {
            return Err(SearchError::bad_request(
                "parsing_exception",
                "[query] must hold exactly one query clause",
            ));
        };
        match kind.as_str() {
            "match_all" => Ok(Query::MatchAll),
            "ids" => {
                let values = clause.get("values").and_then(serde_json::Value::as_array).ok_or_else(|| {
                    SearchError::bad_request("parsing_exception", "[ids] query needs a [values] array")
                })?;
                let ids = values
                    .iter()
                    .map(|value| match value {
                        serde_json::Value::String(id) => Ok(id.clone()),
                        other => Ok(other.to_string()),
                    })
                    .collect::<Result<Vec<_>, SearchError>>()?;
                Ok(Query::Ids(ids))
            }
            other => Err(SearchError::bad_request(
                "parsing_exception",
                format!("unknown query [{other}]: the streamproof search domain serves ids and match_all"),
            )),
        }
    }
}

fn parse_body<'a, T: Deserialize<'a> + Default>(body: &'a [u8]) -> Result<T, SearchError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|err| {
        SearchError::bad_request("parsing_exception", format!("failed to parse the request body: {err}"))
    })
}

fn parse_number(name: &str, text: &str) -> Result<usize, SearchError> {
    text.parse().map_err(|_| {
        SearchError::bad_request(
            "illegal_argument_exception",
            format!("Failed to parse int parameter [{name}] with value [{text}]"),
        )
    })
}

/// A time value such as `1m`, `30s` or `500ms`.
pub(crate) fn parse_time(text: &str) -> Result<Duration, SearchError> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| invalid_time(text))?;
    let duration = match unit {
        "nanos" => Duration::from_nanos(number),
        "micros" => Duration::from_micros(number),
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        "h" => Duration::from_secs(number.saturating_mul(3_600)),
        "d" => Duration::from_secs(number.saturating_mul(86_400)),
        _ => return Err(invalid_time(text)),
    };
    Ok(duration)
}

fn invalid_time(text: &str) -> SearchError {
    SearchError::bad_request(
        "illegal_argument_exception",
        format!(
            "failed to parse setting [scroll] with value [{text}] as a time value: unit is missing or unrecognized"
        ),
    )
}

/// A search response: `{"took","timed_out","_shards","hits":{"total","max_score","hits":[..]}}`,
/// with each hit's `_source` copied as stored.
fn page_json(page: &Page) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + page.hits.iter().map(|hit| hit.source.len() + 96).sum::<usize>());
    out.push(b'{');
    if let Some(id) = &page.scroll_id {
        out.extend_from_slice(b"\"_scroll_id\":");
        write_json(&mut out, id);
        out.push(b',');
    }
    out.extend_from_slice(b"\"took\":0,\"timed_out\":false,\"_shards\":");
    write_json(&mut out, &shards());
    let max_score = if page.hits.is_empty() { "null" } else { "1.0" };
    out.extend_from_slice(
        format!(
            ",\"hits\":{{\"total\":{{\"value\":{},\"relation\":\"eq\"}},\"max_score\":{max_score},\"hits\":[",
            page.total
        )
        .as_bytes(),
    );
    for (n, hit) in page.hits.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_hit(&mut out, hit);
    }
    out.extend_from_slice(b"]}}");
    out
}

fn write_hit(out: &mut Vec<u8>, hit: &Hit) {
    out.extend_from_slice(b"{\"_index\":");
    write_json(out, &hit.index);
    out.extend_from_slice(b",\"_id\":");
    write_json(out, &*hit.id);
    out.extend_from_slice(b",\"_score\":1.0,\"_source\":");
    out.extend_from_slice(&hit.source);
    out.push(b'}');
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing plain strings and values into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

fn respond(status: StatusCode, body: Vec<u8>, len: usize) -> Response<s3s::Body> {
    let mut response = Response::new(s3s::Body::from(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    response
}

/// Query-string parameters.
#[derive(Debug, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: Option<&str>) -> Params {
        let pairs = query
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(name), percent_decode(value))
            })
            .collect();
        Params(pairs)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// Decodes `%XX` escapes (and `+` is kept: paths do not use it for spaces).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_values_and_escapes_parse() {
        assert_eq!(parse_time("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_time("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_time("10").is_err());
        assert!(parse_time("m").is_err());
        assert_eq!(percent_decode("logs-%2A"), "logs-*");
        assert_eq!(percent_decode("a%2"), "a%2");
        let params = Params::parse(Some("scroll=1m&size=5"));
        assert_eq!(
            (params.get("scroll"), params.get("size"), params.get("x")),
            (Some("1m"), Some("5"), None)
        );
    }

    #[test]
    fn queries_are_ids_or_match_all() {
        let query = |body: &str| SearchBody::parse(body.as_bytes()).and_then(|b| b.query());
        assert_eq!(query("").unwrap(), Query::MatchAll);
        assert_eq!(query(r#"{"query":{"match_all":{}},"size":3}"#).unwrap(), Query::MatchAll);
        assert_eq!(
            query(r#"{"query":{"ids":{"values":["a",7]}}}"#).unwrap(),
            Query::Ids(vec!["a".into(), "7".into()])
        );
        assert_eq!(query(r#"{"query":{"term":{"a":1}}}"#).unwrap_err().kind, "parsing_exception");
    }
}
