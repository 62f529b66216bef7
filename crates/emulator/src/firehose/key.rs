//! S3 object keys Firehose writes: `<evaluated prefix><name>-<version>-<YYYY-MM-DD-HH-MM-SS>-<uuid><ext>`.
//!
//! The rules follow AWS's "Custom Prefixes for Amazon S3 Objects":
//! - no prefix: `YYYY/MM/dd/HH/`, the UTC hour of the oldest record in the object;
//! - a prefix without a `!{timestamp:..}` expression (plain text, or only `!{firehose:random-string}`)
//!   gets `!{timestamp:yyyy/MM/dd/HH/}` appended, so the configured text is a parent of hourly folders;
//! - a prefix with a `!{timestamp:..}` expression replaces the time hierarchy entirely;
//! - the error output goes under `ErrorOutputPrefix`, which must then contain
//!   `!{firehose:error-output-type}` if it uses expressions; without one (allowed only when `Prefix`
//!   has no expressions) it is `<Prefix><error-output-type>/YYYY/MM/dd/HH/`.

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
    /// A prefix with `!{timestamp:..}` or `!{firehose:..}` expressions. It replaces the time
    /// hierarchy only if one of them is a `!{timestamp:..}`; otherwise `YYYY/MM/dd/HH/` is appended
    /// after it, as for a plain prefix.
    Expressions(Vec<Segment>),
}

/// A piece of a prefix with expressions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(String),
    /// `!{timestamp:<pattern>}`: the arrival time of the oldest record in the object, in UTC.
    Timestamp(Vec<TimeItem>),
    /// `!{firehose:random-string}`: 11 random alphanumeric characters, new for every object.
    RandomString,
    /// `!{firehose:error-output-type}`: why records were written to the error output.
    ErrorOutputType,
}

/// A piece of a `!{timestamp:..}` pattern, in the pattern letters of Java's `DateTimeFormatter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimeItem {
    Literal(String),
    /// `yyyy`
    Year,
    /// `yy`
    YearOfCentury,
    /// `MM`
    Month,
    /// `dd`
    Day,
    /// `HH`
    Hour,
    /// `mm`
    Minute,
    /// `ss`
    Second,
}

/// Why a prefix cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PrefixError {
    #[error("the expression in prefix '{0}' is not terminated by '}}'")]
    Unterminated(String),
    #[error("'!{{{0}}}' is not a valid prefix expression")]
    UnknownExpression(String),
    #[error(
        "the timestamp pattern '{0}' is not supported; use the letters yyyy, yy, MM, dd, HH, mm and ss, \
         other punctuation, and quoted literals"
    )]
    TimestampPattern(String),
    #[error("the expression !{{firehose:error-output-type}} may only be used in ErrorOutputPrefix")]
    ErrorOutputTypeInPrefix,
    #[error("ErrorOutputPrefix uses expressions, so it must contain !{{firehose:error-output-type}}")]
    ErrorOutputTypeMissing,
}

/// The `!{firehose:error-output-type}` values Firehose writes error output under, for an S3 destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorOutputType {
    /// The data transformation failed for the records (`processing-failed`).
    ProcessingFailed,
}

impl ErrorOutputType {
    /// The text the expression evaluates to.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorOutputType::ProcessingFailed => "processing-failed",
        }
    }
}

impl PrefixTemplate {
    /// Reads the configured `Prefix`, where `!{firehose:error-output-type}` is not allowed.
    pub(crate) fn parse(prefix: Option<&str>) -> Result<PrefixTemplate, PrefixError> {
        let template = PrefixTemplate::parse_any(prefix)?;
        if template.has(&Segment::ErrorOutputType) {
            return Err(PrefixError::ErrorOutputTypeInPrefix);
        }
        Ok(template)
    }

    /// Reads the configured `ErrorOutputPrefix`, given the configured `Prefix`.
    ///
    /// With expressions it must contain `!{firehose:error-output-type}`. Empty, it stands for
    /// `<Prefix>!{firehose:error-output-type}/` (and so, without a timestamp expression, gets the
    /// hourly folders appended); the caller refuses an empty one when `Prefix` has expressions.
    pub(crate) fn parse_error_output(
        prefix: Option<&str>,
        error_output_prefix: Option<&str>,
    ) -> Result<PrefixTemplate, PrefixError> {
        match error_output_prefix {
            None | Some("") => {
                let default = format!("{}!{{firehose:error-output-type}}/", prefix.unwrap_or_default());
                PrefixTemplate::parse_any(Some(&default))
            }
            Some(text) => {
                let template = PrefixTemplate::parse_any(Some(text))?;
                if template.has_expressions() && !template.has(&Segment::ErrorOutputType) {
                    return Err(PrefixError::ErrorOutputTypeMissing);
                }
                Ok(template)
            }
        }
    }

    fn parse_any(prefix: Option<&str>) -> Result<PrefixTemplate, PrefixError> {
        let text = match prefix {
            None | Some("") => return Ok(PrefixTemplate::Default),
            Some(text) if !text.contains("!{") => return Ok(PrefixTemplate::Plain(text.to_owned())),
            Some(text) => text,
        };
        let mut segments = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("!{") {
            if at > 0 {
                segments.push(Segment::Literal(rest[..at].to_owned()));
            }
            let after = &rest[at + 2..];
            let end = after.find('}').ok_or_else(|| PrefixError::Unterminated(text.to_owned()))?;
            let expression = &after[..end];
            segments.push(match expression.split_once(':') {
                Some(("timestamp", pattern)) => Segment::Timestamp(parse_time_pattern(pattern)?),
                Some(("firehose", "random-string")) => Segment::RandomString,
                Some(("firehose", "error-output-type")) => Segment::ErrorOutputType,
                _ => return Err(PrefixError::UnknownExpression(expression.to_owned())),
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Literal(rest.to_owned()));
        }
        Ok(PrefixTemplate::Expressions(segments))
    }

    /// Whether the template uses `!{...}` expressions.
    pub(crate) fn has_expressions(&self) -> bool {
        matches!(self, PrefixTemplate::Expressions(_))
    }

    fn has(&self, wanted: &Segment) -> bool {
        match self {
            PrefixTemplate::Expressions(segments) => segments.contains(wanted),
            _ => false,
        }
    }

    /// The evaluated prefix for an object whose oldest record arrived at `oldest` (UTC); for the
    /// error output, `error_output_type` names the failure (such as `processing-failed`).
    pub(crate) fn evaluate(&self, oldest: OffsetDateTime, error_output_type: Option<&str>) -> String {
        let hour = oldest.format(TIME_PREFIX).unwrap_or_default();
        match self {
            PrefixTemplate::Default => hour,
            PrefixTemplate::Plain(prefix) => format!("{prefix}{hour}"),
            PrefixTemplate::Expressions(segments) => {
                let mut out = String::new();
                let mut timed = false;
                for segment in segments {
                    match segment {
                        Segment::Literal(text) => out.push_str(text),
                        Segment::Timestamp(items) => {
                            timed = true;
                            format_time(&mut out, items, oldest);
                        }
                        Segment::RandomString => out.push_str(&random_string()),
                        Segment::ErrorOutputType => out.push_str(error_output_type.unwrap_or_default()),
                    }
                }
                if !timed {
                    out.push_str(&hour);
                }
                out
            }
        }
    }
}

/// Reads a `DateTimeFormatter`-style pattern: runs of pattern letters, quoted literals, punctuation.
fn parse_time_pattern(pattern: &str) -> Result<Vec<TimeItem>, PrefixError> {
    let unsupported = || PrefixError::TimestampPattern(pattern.to_owned());
    let chars: Vec<char> = pattern.chars().collect();
    let mut items = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let close = chars[i + 1..].iter().position(|&q| q == '\'').ok_or_else(unsupported)?;
            let literal: String = chars[i + 1..i + 1 + close].iter().collect();
            // Two quotes in a row stand for one quote character.
            items.push(TimeItem::Literal(if literal.is_empty() { "'".to_owned() } else { literal }));
            i += close + 2;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            items.push(TimeItem::Literal(c.to_string()));
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&other| other == c).count();
        items.push(match (c, run) {
            ('y', 4) => TimeItem::Year,
            ('y', 2) => TimeItem::YearOfCentury,
            ('M', 2) => TimeItem::Month,
            ('d', 2) => TimeItem::Day,
            ('H', 2) => TimeItem::Hour,
            ('m', 2) => TimeItem::Minute,
            ('s', 2) => TimeItem::Second,
            _ => return Err(unsupported()),
        });
        i += run;
    }
    if items.is_empty() {
        return Err(unsupported());
    }
    Ok(items)
}

fn format_time(out: &mut String, items: &[TimeItem], t: OffsetDateTime) {
    use std::fmt::Write as _;
    for item in items {
        let _ = match item {
            TimeItem::Literal(text) => write!(out, "{text}"),
            TimeItem::Year => write!(out, "{:04}", t.year()),
            TimeItem::YearOfCentury => write!(out, "{:02}", t.year().rem_euclid(100)),
            TimeItem::Month => write!(out, "{:02}", u8::from(t.month())),
            TimeItem::Day => write!(out, "{:02}", t.day()),
            TimeItem::Hour => write!(out, "{:02}", t.hour()),
            TimeItem::Minute => write!(out, "{:02}", t.minute()),
            TimeItem::Second => write!(out, "{:02}", t.second()),
        };
    }
}

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

/// The full object key of delivered data.
pub(crate) fn object_key(
    prefix: &PrefixTemplate,
    stream_name: &str,
    oldest: OffsetDateTime,
    id: Uuid,
    extension: &str,
) -> String {
    key(prefix, stream_name, oldest, id, extension, None)
}

/// The full object key of error output of type `error_output_type`, under the template made by
/// [`PrefixTemplate::parse_error_output`]. Data transformation failures (`processing-failed`) and
/// any other error output use this one naming.
pub(crate) fn error_output_key(
    error_prefix: &PrefixTemplate,
    error_output_type: ErrorOutputType,
    stream_name: &str,
    oldest: OffsetDateTime,
    id: Uuid,
    extension: &str,
) -> String {
    key(error_prefix, stream_name, oldest, id, extension, Some(error_output_type.as_str()))
}

fn key(
    prefix: &PrefixTemplate,
    stream_name: &str,
    oldest: OffsetDateTime,
    id: Uuid,
    extension: &str,
    error_output_type: Option<&str>,
) -> String {
    let oldest = oldest.to_offset(time::UtcOffset::UTC);
    let stamp = oldest.format(SUFFIX_TIME).unwrap_or_default();
    format!(
        "{}{stream_name}-{STREAM_VERSION}-{stamp}-{}{extension}",
        prefix.evaluate(oldest, error_output_type),
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
    fn empty_prefixes_are_the_default() {
        assert_eq!(PrefixTemplate::parse(None).unwrap(), PrefixTemplate::Default);
        assert_eq!(PrefixTemplate::parse(Some("")).unwrap(), PrefixTemplate::Default);
        assert!(!PrefixTemplate::parse(Some("logs/")).unwrap().has_expressions());
    }

    #[test]
    fn timestamp_expressions_use_the_oldest_record_and_replace_the_hour_folders() {
        let template = PrefixTemplate::parse(Some(
            "logs/year=!{timestamp:yyyy}/month=!{timestamp:MM}/!{timestamp:dd'T'HH-mm-ss yy}/",
        ))
        .unwrap();
        assert!(template.has_expressions());
        let oldest = datetime!(2024-03-05 07:08:09 UTC);
        let key = object_key(&template, "s", oldest, Uuid::nil(), "");
        assert_eq!(
            key,
            format!("logs/year=2024/month=03/05T07-08-09 24/s-1-2024-03-05-07-08-09-{}", Uuid::nil())
        );
    }

    #[test]
    fn random_strings_are_eleven_alphanumerics_and_differ_per_object() {
        let template = PrefixTemplate::parse(Some("r/!{firehose:random-string}/")).unwrap();
        let oldest = datetime!(2024-03-05 07:08:09 UTC);
        let a = template.evaluate(oldest, None);
        let b = template.evaluate(oldest, None);
        // Without a timestamp expression the hourly folders are appended.
        let random = a.strip_prefix("r/").and_then(|r| r.strip_suffix("/2024/03/05/07/")).unwrap();
        assert_eq!(random.len(), 11);
        assert!(random.bytes().all(|c| c.is_ascii_alphanumeric()), "{random}");
        assert_ne!(a, b);
    }

    #[test]
    fn error_output_type_is_only_for_the_error_prefix() {
        assert_eq!(
            PrefixTemplate::parse(Some("x/!{firehose:error-output-type}/")).unwrap_err(),
            PrefixError::ErrorOutputTypeInPrefix
        );
        let template = PrefixTemplate::parse_error_output(
            Some("logs/!{timestamp:yyyy}/"),
            Some("errors/!{firehose:error-output-type}/!{timestamp:yyyy}/"),
        )
        .unwrap();
        let oldest = datetime!(2024-03-05 07:08:09 UTC);
        assert_eq!(template.evaluate(oldest, Some("processing-failed")), "errors/processing-failed/2024/");
    }

    #[test]
    fn error_output_prefixes_with_expressions_must_name_the_error_output_type() {
        assert_eq!(
            PrefixTemplate::parse_error_output(None, Some("errors/!{timestamp:yyyy}/")).unwrap_err(),
            PrefixError::ErrorOutputTypeMissing
        );
        // A plain error output prefix needs no expression at all.
        let plain = PrefixTemplate::parse_error_output(None, Some("errors/")).unwrap();
        assert_eq!(plain.evaluate(datetime!(2024-03-05 07:08:09 UTC), None), "errors/2024/03/05/07/");
    }

    #[test]
    fn the_default_error_output_goes_under_the_prefix_and_the_error_output_type() {
        let oldest = datetime!(2024-03-05 07:08:09 UTC);
        let id = Uuid::new_v4();
        let under_default = PrefixTemplate::parse_error_output(None, None).unwrap();
        assert_eq!(
            error_output_key(&under_default, ErrorOutputType::ProcessingFailed, "s", oldest, id, ""),
            format!("processing-failed/2024/03/05/07/s-1-2024-03-05-07-08-09-{id}")
        );
        let under_plain = PrefixTemplate::parse_error_output(Some("logs/"), Some("")).unwrap();
        assert_eq!(
            error_output_key(&under_plain, ErrorOutputType::ProcessingFailed, "s", oldest, id, ""),
            format!("logs/processing-failed/2024/03/05/07/s-1-2024-03-05-07-08-09-{id}")
        );
    }

    #[test]
    fn only_timestamp_expressions_replace_the_hour_folders() {
        let oldest = datetime!(2024-03-05 07:08:09 UTC);
        let timed = PrefixTemplate::parse(Some("logs/dt=!{timestamp:yyyy-MM-dd}/")).unwrap();
        assert_eq!(timed.evaluate(oldest, None), "logs/dt=2024-03-05/");
        let untimed = PrefixTemplate::parse(Some("logs/!{firehose:random-string}-")).unwrap();
        let evaluated = untimed.evaluate(oldest, None);
        assert!(evaluated.starts_with("logs/") && evaluated.ends_with("-2024/03/05/07/"), "{evaluated}");
        assert_eq!(evaluated.len(), "logs/".len() + 11 + "-2024/03/05/07/".len());
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
