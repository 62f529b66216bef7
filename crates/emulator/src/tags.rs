//! Tag sets as Kinesis streams and Firehose delivery streams keep them: keys of 1 to 128 characters,
//! values of at most 256, a most-tags limit, and ListTags paging by `ExclusiveStartTagKey` and
//! `Limit` with `HasMoreTags`, as both services' API references document them.

use std::collections::BTreeMap;

use crate::error::ApiError;

/// Most tags a stream of either service may have, and the largest `Limit` of a ListTags call.
pub(crate) const MAX_TAGS: usize = 50;

/// `existing` with `added` put in (a key given again takes its new value), or the service's error:
/// a key or value out of bounds, or more than [`MAX_TAGS`] tags on `resource` afterwards.
pub(crate) fn with_added(
    existing: &BTreeMap<String, String>,
    added: impl IntoIterator<Item = (String, String)>,
    resource: &str,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut all = existing.clone();
    for (key, value) in added {
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(ApiError::invalid_argument(format!(
                "Tag key {key:?} must be 1 to 128 characters and its value at most 256."
            )));
        }
        all.insert(key, value);
    }
    if all.len() > MAX_TAGS {
        return Err(ApiError::bad_request(
            "LimitExceededException",
            format!("Failed to add tags to {resource} because it cannot have more than {MAX_TAGS} tags."),
        ));
    }
    Ok(all)
}

/// One page of `tags` in key order after `after`, at most `limit` (default and most [`MAX_TAGS`]),
/// and whether more follow.
pub(crate) fn page(
    tags: &BTreeMap<String, String>,
    after: Option<&str>,
    limit: Option<i64>,
) -> Result<(Vec<(String, String)>, bool), ApiError> {
    let limit = match limit {
        None => MAX_TAGS,
        Some(limit) if (1..=MAX_TAGS as i64).contains(&limit) => limit as usize,
        Some(limit) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must \
                 have value between 1 and {MAX_TAGS}"
            )));
        }
    };
    let mut listed: Vec<(String, String)> = tags
        .iter()
        .filter(|(key, _)| after.is_none_or(|after| key.as_str() > after))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let more = listed.len() > limit;
    listed.truncate(limit);
    Ok((listed, more))
}

/// Refuses a list of `field` (tags or tag keys) longer than `most`, or empty when `non_empty`.
pub(crate) fn check_count(field: &str, count: usize, most: usize, non_empty: bool) -> Result<(), ApiError> {
    if count > most || (non_empty && count == 0) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length \
             between {} and {most}",
            usize::from(non_empty)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn pages_follow_key_order_and_say_when_more_follow() {
        let all = tags(&[("b", "2"), ("a", "1"), ("c", "3")]);
        let (first, more) = page(&all, None, Some(2)).unwrap();
        assert_eq!((first.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), more), (vec!["a", "b"], true));
        let (rest, more) = page(&all, Some("b"), Some(2)).unwrap();
        assert_eq!((rest, more), (vec![("c".to_owned(), "3".to_owned())], false));
        assert_eq!(page(&all, None, Some(51)).unwrap_err().code, "ValidationException");
    }

    #[test]
    fn adding_replaces_values_and_stops_at_fifty_tags() {
        let some = tags(&[("a", "1")]);
        let added = with_added(&some, [("a".to_owned(), "2".to_owned())], "s").unwrap();
        assert_eq!(added, tags(&[("a", "2")]));
        let many = (0..50).map(|i| (format!("k{i}"), String::new()));
        assert_eq!(with_added(&some, many, "s").unwrap_err().code, "LimitExceededException");
        let long = [("k".repeat(129), String::new())];
        assert_eq!(with_added(&some, long, "s").unwrap_err().code, "InvalidArgumentException");
        assert!(check_count("tagKeys", 0, 10, true).is_err() && check_count("tags", 11, 10, false).is_err());
    }
}
