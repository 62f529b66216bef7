//! The range and naming checks every section's validation shares.

use toml::Spanned;

use crate::error::{Locator, ScenarioError};

/// Most shards a stream may be created with here (the default per-account shard quota).
pub(crate) const MAX_SHARDS: i64 = 500;

/// A finite number in `0 < v <= max`.
pub(crate) fn positive(
    locator: &Locator<'_>,
    value: &Spanned<f64>,
    field: &str,
    max: f64,
) -> Result<f64, ScenarioError> {
    let v = *value.get_ref();
    if v.is_finite() && v > 0.0 && v <= max {
        Ok(v)
    } else {
        Err(locator.at(
            value.span().start,
            field,
            format!("{v} is out of range; must be above 0 and at most {max}"),
        ))
    }
}

/// A value between 0 and 1, both included.
pub(crate) fn fraction(locator: &Locator<'_>, v: &Spanned<f64>, field: &str) -> Result<f64, ScenarioError> {
    let fraction = *v.get_ref();
    if !(0.0..=1.0).contains(&fraction) {
        return Err(locator.at(
            v.span().start,
            field,
            format!("{fraction} is not a fraction; must be between 0 and 1"),
        ));
    }
    Ok(fraction)
}

pub(crate) fn in_range(
    locator: &Locator<'_>,
    value: &Spanned<i64>,
    field: &str,
    min: i64,
    max: i64,
) -> Result<i64, ScenarioError> {
    let v = *value.get_ref();
    if (min..=max).contains(&v) {
        Ok(v)
    } else if max == i64::MAX {
        Err(locator.at(value.span().start, field, format!("{v} is out of range; must be at least {min}")))
    } else {
        Err(locator.at(value.span().start, field, format!("{v} is out of range; must be {min}..={max}")))
    }
}

/// S3 bucket naming rules: 3–63 characters of lowercase letters, digits, dots and hyphens,
/// starting and ending with a letter or digit.
pub(crate) fn check_bucket(locator: &Locator<'_>, bucket: &Spanned<String>) -> Result<(), ScenarioError> {
    let name = bucket.get_ref();
    let allowed =
        name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if (3..=63).contains(&name.len()) && allowed && ends(name.bytes().next()) && ends(name.bytes().last()) {
        Ok(())
    } else {
        Err(locator.at(
            bucket.span().start,
            "pipeline.bucket",
            format!(
                "{name:?} is not a valid S3 bucket name (3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit)"
            ),
        ))
    }
}
