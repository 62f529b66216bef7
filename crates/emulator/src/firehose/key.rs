//! S3 object keys Firehose writes: `<evaluated prefix><name>-<version>-<YYYY-MM-DD-HH-MM-SS>-<uuid><ext>`.

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use uuid::Uuid;

/// The default prefix: the UTC hour of the oldest record in the object.
const TIME_PREFIX: &[BorrowedFormatItem<'_>] = format_description!("[year]/[month]/[day]/[hour]/");
/// The timestamp inside the key's suffix.
const SUFFIX_TIME: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]-[hour]-[minute]-[second]");

/// The delivery stream version in keys; it would grow with UpdateDestination, which is not served.
pub(crate) const STREAM_VERSION: u32 = 1;

/// How the `<evaluated prefix>` part of a key is produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrefixTemplate {
    /// No prefix configured: `YYYY/MM/dd/HH/`.
    Default,
    /// A prefix without `!{...}` expressions. Firehose keeps the time hierarchy and appends
    /// `YYYY/MM/dd/HH/` to it, so the configured text is a parent folder of the hourly ones.
    Plain(String),
    // Prefixes with `!{timestamp:..}` and `!{firehose:..}` expressions get their own variant holding
    // the parsed segments; `PrefixTemplate::parse` is the one place that decides which applies.
}

/// Why a prefix cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PrefixError {
    #[error("prefix '{0}' uses !{{...}} expressions, which the streamproof emulator does not evaluate yet")]
    ExpressionsUnsupported(String),
}

impl PrefixTemplate {
    /// Reads the configured `Prefix`.
    pub(crate) fn parse(prefix: Option<&str>) -> Result<PrefixTemplate, PrefixError> {
        match prefix {
            None | Some("") => Ok(PrefixTemplate::Default),
            Some(text) if text.contains("!{") => Err(PrefixError::ExpressionsUnsupported(text.to_owned())),
            Some(text) => Ok(PrefixTemplate::Plain(text.to_owned())),
        }
    }

    /// The evaluated prefix for an object whose oldest record arrived at `oldest` (UTC).
    pub(crate) fn evaluate(&self, oldest: OffsetDateTime) -> String {
        let hour = oldest.format(TIME_PREFIX).unwrap_or_default();
        match self {
            PrefixTemplate::Default => hour,
            PrefixTemplate::Plain(prefix) => format!("{prefix}{hour}"),
        }
    }
}

/// The full object key.
pub(crate) fn object_key(
    prefix: &PrefixTemplate,
    stream_name: &str,
    oldest: OffsetDateTime,
    id: Uuid,
    extension: &str,
) -> String {
    let oldest = oldest.to_offset(time::UtcOffset::UTC);
    let stamp = oldest.format(SUFFIX_TIME).unwrap_or_default();
    format!(
        "{}{stream_name}-{STREAM_VERSION}-{stamp}-{}{extension}",
        prefix.evaluate(oldest),
        id.hyphenated()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// Checks `^YYYY/MM/dd/HH/<name>-1-YYYY-MM-DD-HH-MM-SS-<uuid>$` without a regex engine.
    fn matches_default_shape(key: &str, name: &str) -> bool {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let parts: Vec<&str> = key.splitn(5, '/').collect();
        if parts.len() != 5 || ![4, 2, 2, 2].iter().zip(&parts).all(|(len, p)| p.len() == *len && digits(p)) {
            return false;
        }
        let Some(rest) = parts[4].strip_prefix(name).and_then(|r| r.strip_prefix("-1-")) else {
            return false;
        };
        let fields: Vec<&str> = rest.splitn(7, '-').collect();
        fields.len() == 7
            && [4, 2, 2, 2, 2, 2].iter().zip(&fields).all(|(len, f)| f.len() == *len && digits(f))
            && Uuid::parse_str(fields[6]).is_ok_and(|id| id.hyphenated().to_string() == fields[6])
    }

    #[test]
    fn default_keys_use_the_hour_of_the_oldest_record() {
        let oldest = datetime!(2024-03-05 07:08:09.123 UTC);
        let id = Uuid::new_v4();
        let key = object_key(&PrefixTemplate::Default, "orders", oldest, id, "");
        assert_eq!(key, format!("2024/03/05/07/orders-1-2024-03-05-07-08-09-{id}"));
        assert!(matches_default_shape(&key, "orders"));
    }

    #[test]
    fn plain_prefixes_keep_the_hourly_folders() {
        let template = PrefixTemplate::parse(Some("logs/app/")).unwrap();
        let oldest = datetime!(2024-12-31 23:59:59 UTC);
        let id = Uuid::new_v4();
        let key = object_key(&template, "s", oldest, id, ".gz");
        assert_eq!(key, format!("logs/app/2024/12/31/23/s-1-2024-12-31-23-59-59-{id}.gz"));
    }

    #[test]
    fn times_in_other_offsets_are_written_in_utc() {
        let oldest = datetime!(2024-01-01 01:30:00 +02:00);
        let key = object_key(&PrefixTemplate::Default, "s", oldest, Uuid::nil(), "");
        assert!(key.starts_with("2023/12/31/23/s-1-2023-12-31-23-30-00-"), "{key}");
    }

    #[test]
    fn empty_prefixes_are_the_default_and_expressions_are_refused() {
        assert_eq!(PrefixTemplate::parse(None).unwrap(), PrefixTemplate::Default);
        assert_eq!(PrefixTemplate::parse(Some("")).unwrap(), PrefixTemplate::Default);
        assert!(PrefixTemplate::parse(Some("x/!{timestamp:yyyy}/")).is_err());
    }

    #[test]
    fn the_shape_check_rejects_near_misses() {
        let id = Uuid::new_v4();
        assert!(!matches_default_shape(&format!("2024/03/05/orders-1-2024-03-05-07-08-09-{id}"), "orders"));
        assert!(!matches_default_shape(
            &format!("2024/03/05/07/orders-2-2024-03-05-07-08-09-{id}"),
            "orders"
        ));
        assert!(!matches_default_shape("2024/03/05/07/orders-1-2024-03-05-07-08-09-nope", "orders"));
    }
}
