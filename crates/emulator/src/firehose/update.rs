//! The operations that change a running delivery stream: UpdateDestination, which merges an update
//! into the S3 destination and raises the stream's version, and Start/StopDeliveryStreamEncryption.
//! (UpdateDestination and StartDeliveryStreamEncryption, Amazon Data Firehose API Reference.)

use serde::Deserialize;

use crate::clock::unix_millis;
use crate::error::ApiError;
use crate::firehose::api::{DeliveryStreamSelector, Empty, EncryptionInput, S3DestinationConfiguration};
use crate::firehose::config::{DESTINATION_ID, EncryptionKey};
use crate::firehose::s3_config;
use crate::json::{self, OpResult, Route};
use crate::state::State;
use crate::sync::lock;

/// The operations this file serves.
pub(crate) const ROUTES: &[Route<State>] = &[
    Route::partial(
        "UpdateDestination",
        update_destination,
        "S3 and extended S3 destinations only; a search destination's update is refused",
    ),
    Route::partial(
        "StartDeliveryStreamEncryption",
        start_encryption,
        "no KMS key is checked and data is stored as given",
    ),
    Route::full("StopDeliveryStreamEncryption", stop_encryption),
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateDestinationInput {
    delivery_stream_name: String,
    current_delivery_stream_version_id: String,
    destination_id: String,
    #[serde(rename = "S3DestinationUpdate")]
    s3_destination_update: Option<serde_json::Value>,
    #[serde(rename = "ExtendedS3DestinationUpdate")]
    extended_s3_destination_update: Option<serde_json::Value>,
    /// Every other destination's update, refused by name.
    #[serde(flatten)]
    other: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Merges `update` into `base`: members of both objects merge, anything else in `update` replaces.
/// "If the destination type is the same, Firehose merges the configuration parameters specified
/// with the destination configuration that already exists on the delivery stream" (UpdateDestination).
fn merge(base: &mut serde_json::Value, update: serde_json::Value) {
    match (base, update) {
        (serde_json::Value::Object(base), serde_json::Value::Object(update)) => {
            for (key, value) in update {
                merge(base.entry(key).or_insert(serde_json::Value::Null), value);
            }
        }
        (base, update) => *base = update,
    }
}

fn update_destination(state: &State, body: &[u8]) -> OpResult {
    let input: UpdateDestinationInput = json::parse(body)?;
    let stream = state.firehose.get(&input.delivery_stream_name, &state.account_id)?;
    let current = stream.destination();
    if input.current_delivery_stream_version_id != current.version.to_string() {
        return Err(ApiError::bad_request(
            "ConcurrentModificationException",
            format!(
                "Delivery stream {} is at version {}, not {}: describe it again and update from the \
                 current version.",
                stream.name, current.version, input.current_delivery_stream_version_id
            ),
        ));
    }
    if input.destination_id != DESTINATION_ID {
        return Err(ApiError::invalid_argument(format!(
            "Destination {} of delivery stream {} not found.",
            input.destination_id, stream.name
        )));
    }
    if let Some(other) = input.other.keys().find(|key| key.ends_with("DestinationUpdate")) {
        return Err(ApiError::unsupported(format_args!("UpdateDestination with {other}")));
    }
    if stream.search.is_some() {
        return Err(ApiError::unsupported("UpdateDestination of a search destination"));
    }
    let update = match (input.s3_destination_update, input.extended_s3_destination_update) {
        (Some(update), None) | (None, Some(update)) => update,
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_argument(
                "Only one of S3DestinationUpdate and ExtendedS3DestinationUpdate may be given.",
            ));
        }
        (None, None) => return Err(ApiError::invalid_argument("A destination update is required.")),
    };
    if !update.is_object() {
        return Err(ApiError::serialization("The destination update must be a JSON object."));
    }
    // Dynamic partitioning "can only be enabled at creation" (Dynamic partitioning, Firehose
    // Developer Guide).
    let enables_partitioning = update
        .pointer("/DynamicPartitioningConfiguration/Enabled")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    if enables_partitioning {
        return Err(ApiError::invalid_argument(
            "Dynamic partitioning can only be enabled when the delivery stream is created.",
        ));
    }
    let mut merged = current.given.clone();
    merge(&mut merged, update);
    let config: S3DestinationConfiguration = serde_json::from_value(merged)
        .map_err(|err| ApiError::serialization(format!("invalid destination update: {err}")))?;
    let mut destination = s3_config::s3_destination(state, config)?;
    destination.version = current.version + 1;
    let version = destination.version;
    stream.update_destination(destination);
    *lock(&stream.last_update) = Some(state.clock.now());
    tracing::debug!(delivery_stream = %stream.name, version, "updated the destination");
    Ok(json::ok(&Empty {}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartEncryptionInput {
    delivery_stream_name: String,
    delivery_stream_encryption_configuration_input: Option<EncryptionInput>,
}

fn start_encryption(state: &State, body: &[u8]) -> OpResult {
    let input: StartEncryptionInput = json::parse(body)?;
    let stream = state.firehose.get(&input.delivery_stream_name, &state.account_id)?;
    // "This operation is asynchronous… You can't use it on a delivery stream whose source is
    // Kinesis Data Streams" (StartDeliveryStreamEncryption).
    if !stream.is_direct_put() {
        return Err(ApiError::invalid_argument(format!(
            "Server-side encryption cannot be started on delivery stream {}: its source is a Kinesis \
             stream, whose own encryption applies.",
            stream.name
        )));
    }
    let key = match input.delivery_stream_encryption_configuration_input {
        Some(input) => EncryptionKey::new(&input.key_type, input.key_arn)?,
        None => EncryptionKey { key_type: "AWS_OWNED_CMK", key_arn: None },
    };
    let mut encryption = lock(&stream.encryption);
    if encryption.key.as_ref() != Some(&key) {
        encryption.key = Some(key);
        encryption.changed_ms = Some(unix_millis(state.clock.now()));
    }
    Ok(json::ok(&Empty {}))
}

fn stop_encryption(state: &State, body: &[u8]) -> OpResult {
    let input: DeliveryStreamSelector = json::parse(body)?;
    let stream = state.firehose.get(&input.delivery_stream_name, &state.account_id)?;
    let mut encryption = lock(&stream.encryption);
    if encryption.key.take().is_some() {
        encryption.changed_ms = Some(unix_millis(state.clock.now()));
    }
    Ok(json::ok(&Empty {}))
}
