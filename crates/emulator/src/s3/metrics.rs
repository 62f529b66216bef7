//! A bucket's request-metrics configurations (PutBucketMetricsConfiguration and its Get, List and
//! Delete), kept in the bucket's settings as given and described back; the emulator publishes no
//! CloudWatch metrics. Limits and errors as the Amazon S3 API Reference states them: an id of at
//! most 64 letters, digits, periods, dashes and underscores, the id in the query equal to the
//! configuration's, at most 1,000 configurations per bucket, 100 per List page, and 404
//! `NoSuchConfiguration` for an id the bucket does not have.

use s3s::dto::MetricsConfiguration;
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

use crate::s3::store::S3Store;

/// "You can have up to 1,000 metrics configurations per bucket" (PutBucketMetricsConfiguration).
const MAX_CONFIGURATIONS: usize = 1_000;
/// ListBucketMetricsConfigurations "returns a list of up to 100 metrics configurations".
const PAGE: usize = 100;

fn no_such_configuration(id: &str) -> S3Error {
    let mut err = S3Error::with_message(
        S3ErrorCode::Custom("NoSuchConfiguration".into()),
        format!("The specified configuration does not exist: {id}"),
    );
    err.set_status_code(http::StatusCode::NOT_FOUND);
    err
}

fn check_id(id: &str) -> S3Result<()> {
    let valid = id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if id.is_empty() || id.len() > 64 || !valid {
        return Err(s3_error!(
            InvalidArgument,
            "The metrics configuration id must be 1 to 64 letters, digits, periods, dashes or underscores"
        ));
    }
    Ok(())
}

pub(crate) fn put(
    store: &S3Store,
    bucket: &str,
    id: &str,
    configuration: MetricsConfiguration,
) -> S3Result<()> {
    check_id(id)?;
    if configuration.id != id {
        return Err(s3_error!(
            InvalidArgument,
            "The Id in the query and in the MetricsConfiguration must match"
        ));
    }
    let value = serde_json::to_value(&configuration)
        .map_err(|err| s3_error!(InternalError, "failed to keep the configuration: {err}"))?;
    let config = store.bucket_config(bucket)?;
    if !config.metrics.contains_key(id) && config.metrics.len() >= MAX_CONFIGURATIONS {
        return Err(S3Error::with_message(
            S3ErrorCode::Custom("TooManyConfigurations".into()),
            format!("A bucket has at most {MAX_CONFIGURATIONS} metrics configurations"),
        ));
    }
    store.update_bucket_config(bucket, |config| {
        config.metrics.insert(id.to_owned(), value);
    })?;
    Ok(())
}

fn parse(value: &serde_json::Value) -> S3Result<MetricsConfiguration> {
    serde_json::from_value(value.clone())
        .map_err(|err| s3_error!(InternalError, "a kept metrics configuration does not read back: {err}"))
}

pub(crate) fn get(store: &S3Store, bucket: &str, id: &str) -> S3Result<MetricsConfiguration> {
    let config = store.bucket_config(bucket)?;
    config.metrics.get(id).map(parse).unwrap_or_else(|| Err(no_such_configuration(id)))
}

/// One page of configurations in id order, after the id `token` names, and the next page's token.
pub(crate) fn list(
    store: &S3Store,
    bucket: &str,
    token: Option<&str>,
) -> S3Result<(Vec<MetricsConfiguration>, Option<String>)> {
    let config = store.bucket_config(bucket)?;
    let mut after = config.metrics.iter().filter(|(id, _)| token.is_none_or(|token| id.as_str() > token));
    let page = after.by_ref().take(PAGE).map(|(_, value)| parse(value)).collect::<S3Result<Vec<_>>>()?;
    let next = (after.next().is_some()).then(|| page.last().map(|last| last.id.clone())).flatten();
    Ok((page, next))
}

pub(crate) fn delete(store: &S3Store, bucket: &str, id: &str) -> S3Result<()> {
    if !store.bucket_config(bucket)?.metrics.contains_key(id) {
        return Err(no_such_configuration(id));
    }
    store.update_bucket_config(bucket, |config| {
        config.metrics.remove(id);
    })?;
    Ok(())
}
