//! S3 object keys Firehose writes: `<evaluated prefix><name>-<version>-<YYYY-MM-DD-HH-MM-SS>-<uuid><ext>`.
//!
//! The prefix is a [`PrefixTemplate`] (AWS's "Custom Prefixes for Amazon S3 Objects"); this adds
//! what follows it, and draws the random strings its `!{firehose:random-string}` expressions take.

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use uuid::Uuid;
use vocabulary::{ErrorOutputType, PrefixTemplate};

/// The timestamp inside the key's suffix.
const SUFFIX_TIME: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]-[hour]-[minute]-[second]");

/// Eleven random characters from `[0-9a-zA-Z]`, drawn from a fresh UUID's random bits.
fn random_string() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut bits = Uuid::new_v4().as_u128();
    (0..11)
        .map(|_| {
            let c = ALPHABET[(bits % ALPHABET.len() as u128) as usize];
            bits /= ALPHABET.len() as u128;
            char::from(c)
        })
        .collect()
}

/// The full object key of delivered data of version `version` of delivery stream `stream_name`.
pub(crate) fn object_key(
    prefix: &PrefixTemplate,
    (stream_name, version): (&str, u32),
    oldest: OffsetDateTime,
    id: Uuid,
    extension: &str,
) -> String {
    key(prefix, (stream_name, version), oldest, id, extension, None)
}

/// The full object key of error output of type `error_output_type`, under the template made by
/// [`PrefixTemplate::parse_error_output`]. Data transformation failures (`processing-failed`) and
/// any other error output use this one naming.
pub(crate) fn error_output_key(
    error_prefix: &PrefixTemplate,
    error_output_type: ErrorOutputType,
    (stream_name, version): (&str, u32),
    oldest: OffsetDateTime,
    id: Uuid,
    extension: &str,
) -> String {
    key(error_prefix, (stream_name, version), oldest, id, extension, Some(error_output_type))
}

fn key(
    prefix: &PrefixTemplate,
    (stream_name, version): (&str, u32),
    oldest: OffsetDateTime,
    id: Uuid,
    extension: &str,
    error_output_type: Option<ErrorOutputType>,
) -> String {
    let oldest = oldest.to_offset(time::UtcOffset::UTC);
    let stamp = oldest.format(SUFFIX_TIME).unwrap_or_default();
    format!(
        "{}{stream_name}-{version}-{stamp}-{}{extension}",
        prefix.evaluate(oldest, error_output_type, random_string),
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
        let key = object_key(&PrefixTemplate::default(), ("orders", 1), oldest, id, "");
        assert_eq!(key, format!("2024/03/05/07/orders-1-2024-03-05-07-08-09-{id}"));
        assert!(matches_default_shape(&key, "orders"));
    }

    #[test]
    fn plain_prefixes_keep_the_hourly_folders() {
        let template = PrefixTemplate::parse(Some("logs/app/")).unwrap();
        let oldest = datetime!(2024-12-31 23:59:59 UTC);
        let id = Uuid::new_v4();
        let key = object_key(&template, ("s", 1), oldest, id, ".gz");
        assert_eq!(key, format!("logs/app/2024/12/31/23/s-1-2024-12-31-23-59-59-{id}.gz"));
    }

    #[test]
    fn times_in_other_offsets_are_written_in_utc() {
        let oldest = datetime!(2024-01-01 01:30:00 +02:00);
        let key = object_key(&PrefixTemplate::default(), ("s", 1), oldest, Uuid::nil(), "");
        assert!(key.starts_with("2023/12/31/23/s-1-2023-12-31-23-30-00-"), "{key}");
    }

    #[test]
    fn random_strings_are_eleven_alphanumerics_and_differ_per_object() {
        let template = PrefixTemplate::parse(Some("r/!{firehose:random-string}/")).unwrap();
        let oldest = datetime!(2024-03-05 07:08:09 UTC);
        let a = template.evaluate(oldest, None, random_string);
        let b = template.evaluate(oldest, None, random_string);
        // Without a timestamp expression the hourly folders are appended.
        let random = a.strip_prefix("r/").and_then(|r| r.strip_suffix("/2024/03/05/07/")).unwrap();
        assert_eq!(random.len(), 11);
        assert!(random.bytes().all(|c| c.is_ascii_alphanumeric()), "{random}");
        assert_ne!(a, b);
    }

    #[test]
    fn the_default_error_output_goes_under_the_prefix_and_the_error_output_type() {
        let oldest = datetime!(2024-03-05 07:08:09 UTC);
        let id = Uuid::new_v4();
        let under_default = PrefixTemplate::parse_error_output(None, None).unwrap();
        assert_eq!(
            error_output_key(&under_default, ErrorOutputType::ProcessingFailed, ("s", 1), oldest, id, ""),
            format!("processing-failed/2024/03/05/07/s-1-2024-03-05-07-08-09-{id}")
        );
        let under_plain = PrefixTemplate::parse_error_output(Some("logs/"), Some("")).unwrap();
        assert_eq!(
            error_output_key(&under_plain, ErrorOutputType::ProcessingFailed, ("s", 1), oldest, id, ""),
            format!("logs/processing-failed/2024/03/05/07/s-1-2024-03-05-07-08-09-{id}")
        );
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
