//! One in-process search domain: its indices, documents and open scrolls.
//!
//! Documents are kept as their source bytes, in insertion order, with a map from id to position;
//! nothing is parsed beyond checking that a source is one JSON object. Every index has one shard
//! and is always refreshed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::StatusCode;
use serde_json::json;
use tokio::time::Instant;

use crate::faults::{FaultEvent, FaultInjector, FaultKind, fnv1a};
use crate::search::bulk::{self, Action, BulkItem, BulkResponse};
use crate::search::error::SearchError;
use crate::sync::lock;

/// Largest `from + size` of a search, as OpenSearch's default `index.max_result_window`.
pub(crate) const MAX_RESULT_WINDOW: usize = 10_000;
/// Most scrolls open at once, as OpenSearch's default `search.max_open_scroll_context`.
const MAX_OPEN_SCROLLS: usize = 500;
/// Longest scroll keep-alive, as OpenSearch's default `search.max_keep_alive`.
const MAX_KEEP_ALIVE: Duration = Duration::from_secs(24 * 60 * 60);
/// Longest document id, in bytes.
const MAX_ID_BYTES: usize = 512;

/// A search domain.
#[derive(Debug)]
pub(crate) struct Domain {
    pub(crate) name: String,
    faults: Arc<FaultInjector>,
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    indices: BTreeMap<String, Index>,
    scrolls: HashMap<String, Scroll>,
    /// Distinguishes an index from a later one of the same name, for open scrolls.
    next_generation: u64,
    next_scroll: u64,
    /// Documents fault injection rejected and logged already (a digest of index and source).
    rejected: HashSet<u64>,
}

#[derive(Debug)]
struct Index {
    generation: u64,
    docs: Vec<Doc>,
    positions: HashMap<Arc<str>, u32>,
    next_seq_no: u64,
}

#[derive(Debug)]
struct Doc {
    id: Arc<str>,
    source: Bytes,
    version: u64,
    seq_no: u64,
}

/// Which documents a search or count matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Query {
    MatchAll,
    Ids(Vec<String>),
}

/// One hit: the index name and the document, copied out of the lock.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) index: String,
    pub(crate) id: Arc<str>,
    pub(crate) source: Bytes,
}

/// A page of search results.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) total: u64,
    pub(crate) hits: Vec<Hit>,
    pub(crate) scroll_id: Option<String>,
}

/// A document as `GET /<index>/_doc/<id>` returns it.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) source: Bytes,
    pub(crate) version: u64,
    pub(crate) seq_no: u64,
}

/// An open scroll: a point-in-time view of the matched documents and a position in it.
#[derive(Debug)]
struct Scroll {
    cursor: Cursor,
    size: usize,
    total: u64,
    keep_alive: Duration,
    expires: Instant,
}

/// Where a scroll is. Indices only grow (or are deleted), so the documents an index held when
/// the scroll opened are its first `end` ones, for as long as its generation is the same.
#[derive(Debug)]
enum Cursor {
    All { segments: Vec<(String, u64, u32)>, segment: usize, at: u32 },
    Listed { hits: Vec<(String, u64, u32)>, next: usize },
}

impl Domain {
    pub(crate) fn new(name: String, faults: Arc<FaultInjector>) -> Domain {
        Domain { name, faults, inner: Mutex::default() }
    }

    /// Runs a bulk request; `default_index` is the index named in the request path.
    pub(crate) fn bulk(&self, body: &[u8], default_index: Option<&str>) -> Result<BulkResponse, SearchError> {
        let started = std::time::Instant::now();
        let operations = bulk::parse(body, default_index)?;
        let mut items = Vec::with_capacity(operations.len());
        let mut events = Vec::new();
        {
            let mut state = lock(&self.inner);
            for operation in &operations {
                let item = state.apply(operation, &self.faults, &mut events);
                items.push(BTreeMap::from([(operation.action.as_str().to_owned(), item)]));
            }
        }
        self.faults.record_all(events);
        let errors = items.iter().any(|entry| entry.values().any(|item| !item.succeeded()));
        let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(BulkResponse { took, errors, items })
    }

    /// Names of the indices `expression` selects: a comma list of names, each possibly with `*`
    /// wildcards; `_all` or `*` is every index. A concrete name that does not exist is an error.
    pub(crate) fn resolve(&self, expression: &str) -> Result<Vec<String>, SearchError> {
        lock(&self.inner).resolve(expression)
    }

    /// How many documents of the selected indices match `query`.
    pub(crate) fn count(&self, expression: &str, query: &Query) -> Result<u64, SearchError> {
        let state = lock(&self.inner);
        let names = state.resolve(expression)?;
        Ok(match query {
            Query::MatchAll => names.iter().map(|name| state.indices[name].docs.len() as u64).sum(),
            Query::Ids(ids) => state.listed(&names, ids).len() as u64,
        })
    }

    /// The document `id` of the concrete index `index`; `Ok(None)` if the index has no such id.
    pub(crate) fn get(&self, index: &str, id: &str) -> Result<Option<Found>, SearchError> {
        let state = lock(&self.inner);
        let index_state = state.indices.get(index).ok_or_else(|| SearchError::index_not_found(index))?;
        Ok(index_state.positions.get(id).map(|&at| {
            let doc = &index_state.docs[at as usize];
            Found { source: doc.source.clone(), version: doc.version, seq_no: doc.seq_no }
        }))
    }

    /// A search: `size` hits from `from`; with a keep-alive, opens a scroll and returns its id.
    pub(crate) fn search(
        &self,
        expression: &str,
        query: &Query,
        from: usize,
        size: usize,
        scroll: Option<Duration>,
    ) -> Result<Page, SearchError> {
        if from.saturating_add(size) > MAX_RESULT_WINDOW {
            return Err(SearchError::bad_request(
                "illegal_argument_exception",
                format!(
                    "Result window is too large, from + size must be less than or equal to: \
                     [{MAX_RESULT_WINDOW}] but was [{}]. See the scroll api for a more efficient way \
                     to request large data sets.",
                    from.saturating_add(size)
                ),
            ));
        }
        let mut state = lock(&self.inner);
        let names = state.resolve(expression)?;
        let cursor = match query {
            Query::MatchAll => Cursor::All {
                segments: names
                    .iter()
                    .map(|name| {
                        let index = &state.indices[name];
                        (name.clone(), index.generation, index.docs.len() as u32)
                    })
                    .collect(),
                segment: 0,
                at: 0,
            },
            Query::Ids(ids) => Cursor::Listed { hits: state.listed(&names, ids), next: 0 },
        };
        let mut scroll_state = Scroll {
            total: cursor.total(),
            cursor,
            size,
            keep_alive: scroll.unwrap_or_default(),
            expires: Instant::now(),
        };
        state.skip(&mut scroll_state.cursor, from);
        let hits = state.next_page(&mut scroll_state.cursor, size);
        let total = scroll_state.total;
        let scroll_id = match scroll {
            None => None,
            Some(keep_alive) => {
                check_keep_alive(keep_alive)?;
                let now = Instant::now();
                state.scrolls.retain(|_, scroll| scroll.expires > now);
                if state.scrolls.len() >= MAX_OPEN_SCROLLS {
                    return Err(SearchError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rejected_execution_exception",
                        format!(
                            "Trying to create too many scroll contexts. Must be less than or equal to: \
                             [{MAX_OPEN_SCROLLS}]. This limit can be set by changing the \
                             [search.max_open_scroll_context] setting."
                        ),
                    ));
                }
                state.next_scroll += 1;
                let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
                    "{}:{}:{}",
                    self.name,
                    state.next_scroll,
                    uuid::Uuid::new_v4().simple()
                ));
                scroll_state.expires = now + keep_alive;
                state.scrolls.insert(id.clone(), scroll_state);
                Some(id)
            }
        };
        Ok(Page { total, hits, scroll_id })
    }

    /// The next page of an open scroll; `keep_alive` renews it.
    pub(crate) fn scroll(&self, scroll_id: &str, keep_alive: Option<Duration>) -> Result<Page, SearchError> {
        if let Some(keep_alive) = keep_alive {
            check_keep_alive(keep_alive)?;
        }
        let mut state = lock(&self.inner);
        let now = Instant::now();
        let mut scroll = match state.scrolls.remove(scroll_id) {
            Some(scroll) if scroll.expires > now => scroll,
            _ => {
                return Err(SearchError::new(
                    StatusCode::NOT_FOUND,
                    "search_context_missing_exception",
                    format!("No search context found for id [{scroll_id}]"),
                ));
            }
        };
        let hits = state.next_page(&mut scroll.cursor, scroll.size);
        let total = scroll.total;
        if let Some(keep_alive) = keep_alive {
            scroll.keep_alive = keep_alive;
        }
        scroll.expires = now + scroll.keep_alive;
        state.scrolls.insert(scroll_id.to_owned(), scroll);
        Ok(Page { total, hits, scroll_id: Some(scroll_id.to_owned()) })
    }

    /// Closes scrolls (every one when `ids` is `None`); returns how many were open.
    pub(crate) fn clear_scrolls(&self, ids: Option<&[String]>) -> usize {
        let mut state = lock(&self.inner);
        let now = Instant::now();
        state.scrolls.retain(|_, scroll| scroll.expires > now);
        match ids {
            None => std::mem::take(&mut state.scrolls).len(),
            Some(ids) => ids.iter().filter(|id| state.scrolls.remove(id.as_str()).is_some()).count(),
        }
    }

    /// Creates an empty index.
    pub(crate) fn create_index(&self, name: &str) -> Result<(), SearchError> {
        let mut state = lock(&self.inner);
        if let Some(error) = invalid_index_name(name) {
            return Err(error);
        }
        if state.indices.contains_key(name) {
            return Err(SearchError {
                index: Some(name.to_owned()),
                ..SearchError::bad_request(
                    "resource_already_exists_exception",
                    format!("index [{name}] already exists"),
                )
            });
        }
        state.create(name);
        Ok(())
    }

    /// Deletes the selected indices; a concrete name that does not exist is an error.
    pub(crate) fn delete_indices(&self, expression: &str) -> Result<(), SearchError> {
        let mut state = lock(&self.inner);
        for name in state.resolve(expression)? {
            state.indices.remove(&name);
        }
        Ok(())
    }
}

impl State {
    /// The index `name`, created empty if it does not exist.
    fn create(&mut self, name: &str) -> &mut Index {
        let next_generation = &mut self.next_generation;
        self.indices.entry(name.to_owned()).or_insert_with(|| {
            *next_generation += 1;
            Index {
                generation: *next_generation,
                docs: Vec::new(),
                positions: HashMap::new(),
                next_seq_no: 0,
            }
        })
    }

    fn apply(
        &mut self,
        op: &bulk::Operation<'_>,
        faults: &FaultInjector,
        events: &mut Vec<FaultEvent>,
    ) -> BulkItem {
        let mut item = BulkItem {
            index: op.index.clone(),
            type_name: op.type_name.clone(),
            id: op.id.clone(),
            version: None,
            result: None,
            shards: None,
            seq_no: None,
            primary_term: None,
            status: 400,
            error: None,
        };
        let fail = |mut item: BulkItem, error: SearchError| {
            item.status = error.status.as_u16();
            item.error = Some(error.cause());
            item
        };
        if let Some(error) = invalid_index_name(&op.index) {
            return fail(item, error);
        }
        if matches!(op.action, Action::Update | Action::Delete) {
            return fail(
                item,
                SearchError::bad_request(
                    "illegal_argument_exception",
                    format!(
                        "the [{}] action is not supported by the streamproof search domain; it serves index and create",
                        op.action.as_str()
                    ),
                ),
            );
        }
        if let Some(id) = &op.id
            && (id.is_empty() || id.len() > MAX_ID_BYTES)
        {
            return fail(
                item,
                SearchError::bad_request(
                    "action_request_validation_exception",
                    format!("Validation Failed: 1: id [{id}] must be 1 to {MAX_ID_BYTES} bytes long;"),
                ),
            );
        }
        if !bulk::is_json_object(op.source) {
            return fail(
                item,
                SearchError::bad_request(
                    "mapper_parsing_exception",
                    "failed to parse: the source is not a JSON object",
                ),
            );
        }
        if faults.rejects_document(op.source) {
            let digest = fnv1a(op.index.as_bytes()) ^ fnv1a(op.source).rotate_left(1);
            if self.rejected.insert(digest) {
                events.push(FaultEvent {
                    kind: FaultKind::IndexFailure,
                    stream: op.index.clone(),
                    ordinal: self.rejected.len() as u64 - 1,
                    shard_id: None,
                    partition_key: None,
                    object: None,
                    data: op.source.to_vec(),
                });
            }
            return fail(
                item,
                SearchError::bad_request(
                    "mapper_parsing_exception",
                    "failed to parse: rejected by fault injection (index_failure)",
                ),
            );
        }
        let index = self.create(&op.index);
        let id: Arc<str> = match &op.id {
            Some(id) => Arc::from(id.as_str()),
            None => Arc::from(generated_id().as_str()),
        };
        let seq_no = index.next_seq_no;
        let source = Bytes::copy_from_slice(op.source);
        let (version, result, status) = match index.positions.get(&id) {
            Some(&at) if op.action == Action::Create => {
                let current = index.docs[at as usize].version;
                return fail(
                    item,
                    SearchError {
                        index: Some(op.index.clone()),
                        ..SearchError::new(
                            StatusCode::CONFLICT,
                            "version_conflict_engine_exception",
                            format!(
                                "[{id}]: version conflict, document already exists (current version [{current}])"
                            ),
                        )
                    },
                );
            }
            Some(&at) => {
                let doc = &mut index.docs[at as usize];
                doc.version += 1;
                doc.source = source;
                doc.seq_no = seq_no;
                (doc.version, "updated", 200)
            }
            None => {
                let at = u32::try_from(index.docs.len()).unwrap_or(u32::MAX);
                index.positions.insert(Arc::clone(&id), at);
                index.docs.push(Doc { id: Arc::clone(&id), source, version: 1, seq_no });
                (1, "created", 201)
            }
        };
        index.next_seq_no += 1;
        item.id = Some(id.to_string());
        item.version = Some(version);
        item.result = Some(result.to_owned());
        item.shards = Some(json!({ "total": 1, "successful": 1, "failed": 0 }));
        item.seq_no = Some(seq_no);
        item.primary_term = Some(1);
        item.status = status;
        item
    }

    fn resolve(&self, expression: &str) -> Result<Vec<String>, SearchError> {
        let mut names = Vec::new();
        for part in expression.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            if part == "_all" || part.contains('*') {
                let pattern = if part == "_all" { "*" } else { part };
                names.extend(self.indices.keys().filter(|name| glob(pattern, name)).cloned());
            } else if self.indices.contains_key(part) {
                names.push(part.to_owned());
            } else {
                return Err(SearchError::index_not_found(part));
            }
        }
        if expression.trim().is_empty() {
            names.extend(self.indices.keys().cloned());
        }
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }

    /// The documents with one of `ids` in the named indices, in index then insertion order.
    fn listed(&self, names: &[String], ids: &[String]) -> Vec<(String, u64, u32)> {
        let mut hits = Vec::new();
        for name in names {
            let index = &self.indices[name];
            let mut positions: Vec<u32> =
                ids.iter().filter_map(|id| index.positions.get(id.as_str()).copied()).collect();
            positions.sort_unstable();
            positions.dedup();
            hits.extend(positions.into_iter().map(|at| (name.clone(), index.generation, at)));
        }
        hits
    }

    /// The document a cursor entry names, if its index still exists in that generation.
    fn doc(&self, name: &str, generation: u64, at: u32) -> Option<Hit> {
        let index = self.indices.get(name).filter(|index| index.generation == generation)?;
        let doc = index.docs.get(at as usize)?;
        Some(Hit { index: name.to_owned(), id: Arc::clone(&doc.id), source: doc.source.clone() })
    }

    fn skip(&self, cursor: &mut Cursor, count: usize) {
        // Skipped hits are not copied; walking the cursor is cheap.
        let mut left = count;
        match cursor {
            Cursor::All { segments, segment, at } => {
                while left > 0 && *segment < segments.len() {
                    let end = segments[*segment].2;
                    let step = (end - *at).min(u32::try_from(left).unwrap_or(u32::MAX));
                    *at += step;
                    left -= step as usize;
                    if *at >= end {
                        *segment += 1;
                        *at = 0;
                    }
                }
            }
            Cursor::Listed { hits, next } => *next = (*next + left).min(hits.len()),
        }
    }

    fn next_page(&self, cursor: &mut Cursor, size: usize) -> Vec<Hit> {
        let mut page = Vec::with_capacity(size.min(1024));
        match cursor {
            Cursor::All { segments, segment, at } => {
                while page.len() < size && *segment < segments.len() {
                    let (name, generation, end) = &segments[*segment];
                    if *at >= *end {
                        *segment += 1;
                        *at = 0;
                        continue;
                    }
                    match self.doc(name, *generation, *at) {
                        Some(hit) => page.push(hit),
                        // The index was deleted since the scroll opened.
                        None => *at = *end - 1,
                    }
                    *at += 1;
                }
            }
            Cursor::Listed { hits, next } => {
                while page.len() < size && *next < hits.len() {
                    let (name, generation, at) = &hits[*next];
                    page.extend(self.doc(name, *generation, *at));
                    *next += 1;
                }
            }
        }
        page
    }
}

impl Cursor {
    fn total(&self) -> u64 {
        match self {
            Cursor::All { segments, .. } => segments.iter().map(|(_, _, end)| u64::from(*end)).sum(),
            Cursor::Listed { hits, .. } => hits.len() as u64,
        }
    }
}

fn check_keep_alive(keep_alive: Duration) -> Result<(), SearchError> {
    if keep_alive > MAX_KEEP_ALIVE {
        return Err(SearchError::bad_request(
            "illegal_argument_exception",
            format!(
                "Keep alive for request ({}s) is too large. It must be less than ({}s). This limit can be \
                 set by changing the [search.max_keep_alive] cluster level setting.",
                keep_alive.as_secs(),
                MAX_KEEP_ALIVE.as_secs()
            ),
        ));
    }
    Ok(())
}

/// Why OpenSearch would refuse `name` as an index name, if it would.
pub(crate) fn invalid_index_name(name: &str) -> Option<SearchError> {
    let reason = if name.is_empty() {
        "must not be empty"
    } else if name != name.to_lowercase() {
        "must be lowercase"
    } else if name.starts_with(['_', '-', '+']) {
        "must not start with '_', '-', or '+'"
    } else if name == "." || name == ".." {
        "must not be '.' or '..'"
    } else if name.len() > 255 {
        "index name is too long, (must be at most 255 bytes)"
    } else if name.contains(['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':']) {
        "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?, #, :]"
    } else {
        return None;
    };
    Some(SearchError {
        index: Some(name.to_owned()),
        ..SearchError::bad_request(
            "invalid_index_name_exception",
            format!("Invalid index name [{name}], {reason}"),
        )
    })
}

/// Matches `name` against a pattern whose `*` stands for any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    let mut parts: Vec<&str> = parts.collect();
    let Some(last) = parts.pop() else { return rest.is_empty() };
    for part in parts {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// A document id like OpenSearch generates: 20 URL-safe base64 characters.
fn generated_id() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..15])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::FaultPlan;

    fn domain(index_failure: f64) -> (Domain, Arc<FaultInjector>) {
        let faults =
            Arc::new(FaultInjector::new(FaultPlan { seed: 7, index_failure, ..FaultPlan::default() }));
        (Domain::new("d".to_owned(), Arc::clone(&faults)), faults)
    }

    fn bulk_of(docs: impl IntoIterator<Item = (Option<String>, String)>) -> Vec<u8> {
        let mut body = Vec::new();
        for (id, source) in docs {
            let action = match id {
                Some(id) => json!({ "index": { "_id": id } }),
                None => json!({ "index": {} }),
            };
            body.extend(serde_json::to_vec(&action).unwrap());
            body.push(b'\n');
            body.extend(source.into_bytes());
            body.push(b'\n');
        }
        body
    }

    #[test]
    fn indexed_documents_are_counted_found_and_replaced_by_id() {
        let (domain, _) = domain(0.0);
        let body = bulk_of([
            (Some("a".into()), "{\"n\":1}".into()),
            (None, "{\"n\":2}".into()),
            (None, "[]".into()),
        ]);
        let response = domain.bulk(&body, Some("i")).unwrap();
        assert!(response.errors);
        let statuses: Vec<u16> = response.results().map(|item| item.unwrap().status).collect();
        assert_eq!(statuses, [201, 201, 400]);
        let generated = response.results().nth(1).unwrap().unwrap().id.clone().unwrap();
        assert_eq!(generated.len(), 20);
        assert_eq!(domain.count("i", &Query::MatchAll).unwrap(), 2);
        assert_eq!(&domain.get("i", "a").unwrap().unwrap().source[..], b"{\"n\":1}");
        assert!(domain.get("i", "zz").unwrap().is_none());
        assert_eq!(domain.get("nope", "a").unwrap_err().kind, "index_not_found_exception");

        let again = domain.bulk(&bulk_of([(Some("a".into()), "{\"n\":3}".into())]), Some("i")).unwrap();
        let item = again.results().next().unwrap().unwrap();
        assert_eq!((item.status, item.version, item.result.as_deref()), (200, Some(2), Some("updated")));
        assert_eq!(domain.count("i", &Query::MatchAll).unwrap(), 2);
        let create = domain.bulk(b"{\"create\":{\"_id\":\"a\"}}\n{}\n", Some("i")).unwrap();
        assert_eq!(create.results().next().unwrap().unwrap().status, 409);
    }

    #[test]
    fn index_expressions_select_by_list_and_wildcard() {
        let (domain, _) = domain(0.0);
        for index in ["logs-1", "logs-2", "other"] {
            domain.bulk(&bulk_of([(None, "{}".into())]), Some(index)).unwrap();
        }
        assert_eq!(domain.resolve("logs-*").unwrap(), ["logs-1", "logs-2"]);
        assert_eq!(domain.resolve("other,logs-2").unwrap(), ["logs-2", "other"]);
        assert_eq!(domain.resolve("_all").unwrap().len(), 3);
        assert!(domain.resolve("none-*").unwrap().is_empty());
        assert_eq!(domain.resolve("logs-1,missing").unwrap_err().status, StatusCode::NOT_FOUND);
        assert_eq!(domain.count("*", &Query::MatchAll).unwrap(), 3);
        domain.delete_indices("logs-1").unwrap();
        assert_eq!(domain.count("*", &Query::MatchAll).unwrap(), 2);
        assert!(glob("a*b*c", "axxbyyc") && !glob("a*b*c", "axxbyy") && glob("*", "") && !glob("ab", "abc"));
    }

    #[test]
    fn invalid_index_names_fail_per_item() {
        let (domain, _) = domain(0.0);
        let response = domain.bulk(&bulk_of([(None, "{}".into())]), Some("Clicks")).unwrap();
        let item = response.results().next().unwrap().unwrap();
        assert_eq!(item.status, 400);
        assert_eq!(item.error.as_ref().unwrap()["type"], "invalid_index_name_exception");
        assert_eq!(item.error.as_ref().unwrap()["reason"], "Invalid index name [Clicks], must be lowercase");
    }

    #[test]
    fn scrolls_page_through_a_point_in_time_view() {
        let (domain, _) = domain(0.0);
        let docs = (0..25).map(|n| (Some(format!("{n}")), format!("{{\"n\":{n}}}")));
        domain.bulk(&bulk_of(docs), Some("i")).unwrap();
        let first = domain.search("i", &Query::MatchAll, 0, 10, Some(Duration::from_secs(60))).unwrap();
        assert_eq!((first.total, first.hits.len()), (25, 10));
        let id = first.scroll_id.unwrap();
        // Documents added after the scroll opened are not in it.
        domain.bulk(&bulk_of([(Some("late".into()), "{}".into())]), Some("i")).unwrap();
        let mut seen: Vec<String> = first.hits.iter().map(|hit| hit.id.to_string()).collect();
        loop {
            let page = domain.scroll(&id, Some(Duration::from_secs(60))).unwrap();
            if page.hits.is_empty() {
                break;
            }
            seen.extend(page.hits.iter().map(|hit| hit.id.to_string()));
        }
        assert_eq!(seen, (0..25).map(|n| n.to_string()).collect::<Vec<_>>());
        assert_eq!(domain.clear_scrolls(Some(std::slice::from_ref(&id))), 1);
        assert_eq!(domain.scroll(&id, None).unwrap_err().status, StatusCode::NOT_FOUND);

        let ids = Query::Ids(vec!["3".into(), "late".into(), "missing".into(), "1".into()]);
        let page = domain.search("i", &ids, 1, 10, None).unwrap();
        assert_eq!(page.total, 3);
        assert_eq!(page.hits.iter().map(|hit| hit.id.to_string()).collect::<Vec<_>>(), ["3", "late"]);
        assert_eq!(domain.count("i", &ids).unwrap(), 3);
        assert!(domain.search("i", &Query::MatchAll, 9_999, 2, None).is_err());
    }

    #[test]
    fn fault_injection_rejects_the_same_documents_every_time_and_logs_each_once() {
        let (domain, faults) = domain(0.3);
        let docs: Vec<_> = (0..200).map(|n| (Some(format!("{n}")), format!("{{\"n\":{n}}}"))).collect();
        let failed = |response: &BulkResponse| -> Vec<String> {
            response
                .results()
                .flatten()
                .filter(|item| !item.succeeded())
                .filter_map(|item| item.id.clone())
                .collect()
        };
        let first = failed(&domain.bulk(&bulk_of(docs.clone()), Some("i")).unwrap());
        let second = failed(&domain.bulk(&bulk_of(docs), Some("i")).unwrap());
        assert_eq!(first, second);
        assert!((30..90).contains(&first.len()), "{} of 200 rejected at 0.3", first.len());
        let events = faults.events();
        assert_eq!(events.len(), first.len());
        assert!(events.iter().all(|event| event.kind == FaultKind::IndexFailure && event.stream == "i"));
        assert_eq!(
            events.iter().map(|event| event.ordinal).collect::<Vec<_>>(),
            (0..first.len() as u64).collect::<Vec<_>>()
        );
        assert_eq!(domain.count("i", &Query::MatchAll).unwrap(), 200 - first.len() as u64);
    }
}
