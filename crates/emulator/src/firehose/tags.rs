//! Delivery stream tags: TagDeliveryStream, UntagDeliveryStream, ListTagsForDeliveryStream, and the
//! `Tags` of CreateDeliveryStream, with the Firehose API reference's limits (at most 50 tags on a
//! stream and in one call; keys of 1 to 128 characters, values of at most 256).

use std::collections::BTreeMap;

use http::Response;

use crate::error::ApiError;
use crate::firehose::api::{
    Empty, ListTagsForDeliveryStreamInput, ListTagsForDeliveryStreamOutput, Tag, TagDeliveryStreamInput,
    UntagDeliveryStreamInput,
};
use crate::json;
use crate::state::State;
use crate::sync::lock;

/// Most tags a delivery stream may have, and most one call may add or remove.
const MAX_TAGS: usize = 50;

type OpResult = Result<Response<s3s::Body>, ApiError>;

/// Runs `op` if it is a tagging operation; `None` otherwise.
pub(crate) fn handle(state: &State, op: &str, body: &[u8]) -> Option<OpResult> {
    Some(match op {
        "TagDeliveryStream" => tag(state, body),
        "UntagDeliveryStream" => untag(state, body),
        "ListTagsForDeliveryStream" => list(state, body),
        _ => return None,
    })
}

/// `tags` added to `existing`, or the error Firehose answers for them.
pub(crate) fn merged(
    existing: &BTreeMap<String, String>,
    tags: Vec<Tag>,
) -> Result<BTreeMap<String, String>, ApiError> {
    if tags.len() > MAX_TAGS {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length \
             less than or equal to {MAX_TAGS}"
        )));
    }
    let mut all = existing.clone();
    for tag in tags {
        if tag.key.is_empty() || tag.key.chars().count() > 128 || tag.value.chars().count() > 256 {
            return Err(ApiError::validation(format!(
                "Tag key {:?} must be 1 to 128 characters and its value at most 256.",
                tag.key
            )));
        }
        all.insert(tag.key, tag.value);
    }
    if all.len() > MAX_TAGS {
        return Err(ApiError::bad_request(
            "LimitExceededException",
            format!("A delivery stream cannot have more than {MAX_TAGS} tags."),
        ));
    }
    Ok(all)
}

fn tag(state: &State, body: &[u8]) -> OpResult {
    let input: TagDeliveryStreamInput = json::parse(body)?;
    let stream = state.firehose.get(&input.delivery_stream_name, &state.account_id)?;
    let mut tags = lock(&stream.tags);
    *tags = merged(&tags, input.tags)?;
    Ok(json::ok(&Empty {}))
}

fn untag(state: &State, body: &[u8]) -> OpResult {
    let input: UntagDeliveryStreamInput = json::parse(body)?;
    let stream = state.firehose.get(&input.delivery_stream_name, &state.account_id)?;
    if input.tag_keys.is_empty() || input.tag_keys.len() > MAX_TAGS {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length \
             between 1 and {MAX_TAGS}"
        )));
    }
    let mut tags = lock(&stream.tags);
    for key in &input.tag_keys {
        tags.remove(key);
    }
    Ok(json::ok(&Empty {}))
}

fn list(state: &State, body: &[u8]) -> OpResult {
    let input: ListTagsForDeliveryStreamInput = json::parse(body)?;
    let stream = state.firehose.get(&input.delivery_stream_name, &state.account_id)?;
    let limit = match input.limit {
        None => MAX_TAGS,
        Some(limit) if (1..=MAX_TAGS as i64).contains(&limit) => limit as usize,
        Some(limit) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must \
                 have value between 1 and {MAX_TAGS}"
            )));
        }
    };
    let after = input.exclusive_start_tag_key;
    let mut listed: Vec<Tag> = lock(&stream.tags)
        .iter()
        .filter(|(key, _)| after.as_ref().is_none_or(|after| *key > after))
        .map(|(key, value)| Tag { key: key.clone(), value: value.clone() })
        .collect();
    let has_more_tags = listed.len() > limit;
    listed.truncate(limit);
    Ok(json::ok(&ListTagsForDeliveryStreamOutput { tags: listed, has_more_tags }))
}
