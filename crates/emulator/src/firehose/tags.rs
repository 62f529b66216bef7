//! Delivery stream tags: TagDeliveryStream, UntagDeliveryStream, ListTagsForDeliveryStream, and the
//! `Tags` of CreateDeliveryStream, with the Firehose API reference's limits (at most 50 tags on a
//! stream and in one call; the tag rules themselves are `crate::tags`).

use std::collections::BTreeMap;

use crate::error::ApiError;
use crate::firehose::api::{
    Empty, ListTagsForDeliveryStreamInput, ListTagsForDeliveryStreamOutput, Tag, TagDeliveryStreamInput,
    UntagDeliveryStreamInput,
};
use crate::json::{self, OpResult, Route};
use crate::state::State;
use crate::sync::lock;
use crate::tags::{self, MAX_TAGS};

/// The operations this file serves.
pub(crate) const ROUTES: &[Route<State>] = &[
    Route::full("TagDeliveryStream", tag),
    Route::full("UntagDeliveryStream", untag),
    Route::full("ListTagsForDeliveryStream", list),
];

/// `added` put into `existing`, or the error Firehose answers for them.
pub(crate) fn merged(
    existing: &BTreeMap<String, String>,
    added: Vec<Tag>,
) -> Result<BTreeMap<String, String>, ApiError> {
    tags::check_count("tags", added.len(), MAX_TAGS, false)?;
    tags::with_added(existing, added.into_iter().map(|tag| (tag.key, tag.value)), "the delivery stream")
}

fn tag(state: &State, body: &[u8]) -> OpResult {
    let input: TagDeliveryStreamInput = json::parse(body)?;
    let stream = state.firehose.get(&input.delivery_stream_name, &state.account_id)?;
    tags::check_count("tags", input.tags.len(), MAX_TAGS, true)?;
    let mut tags = lock(&stream.tags);
    *tags = merged(&tags, input.tags)?;
    Ok(json::ok(&Empty {}))
}

fn untag(state: &State, body: &[u8]) -> OpResult {
    let input: UntagDeliveryStreamInput = json::parse(body)?;
    let stream = state.firehose.get(&input.delivery_stream_name, &state.account_id)?;
    tags::check_count("tagKeys", input.tag_keys.len(), MAX_TAGS, true)?;
    let mut tags = lock(&stream.tags);
    for key in &input.tag_keys {
        tags.remove(key);
    }
    Ok(json::ok(&Empty {}))
}

fn list(state: &State, body: &[u8]) -> OpResult {
    let input: ListTagsForDeliveryStreamInput = json::parse(body)?;
    let stream = state.firehose.get(&input.delivery_stream_name, &state.account_id)?;
    let all = lock(&stream.tags).clone();
    let (listed, has_more_tags) = tags::page(&all, input.exclusive_start_tag_key.as_deref(), input.limit)?;
    let tags = listed.into_iter().map(|(key, value)| Tag { key, value }).collect();
    Ok(json::ok(&ListTagsForDeliveryStreamOutput { tags, has_more_tags }))
}
