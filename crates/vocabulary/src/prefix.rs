//! Firehose's S3 prefixes, parsed once into a template every crate reads: the scenario checks it,
//! the emulator evaluates it into object keys, the verifier lists under its known start.
//!
//! The rules follow AWS's "Custom Prefixes for Amazon S3 Objects"
//! (<https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html>):
//! - no prefix: `YYYY/MM/dd/HH/`, the UTC hour of the oldest record in the object;
//! - a prefix without a `!{timestamp:..}` expression (plain text, or only `!{firehose:random-string}`)
//!   gets `!{timestamp:yyyy/MM/dd/HH/}` appended, so the configured text is a parent of hourly folders;
//! - a prefix with a `!{timestamp:..}` expression replaces the time hierarchy entirely;
//! - the error output goes under `ErrorOutputPrefix`, which must then contain
//!   `!{firehose:error-output-type}` if it uses expressions; without one (allowed only when `Prefix`
//!   has no expressions) it is `<Prefix><error-output-type>/YYYY/MM/dd/HH/`.

use std::fmt::Write as _;

use time::OffsetDateTime;

/// The longest `Prefix` or `ErrorOutputPrefix` AWS accepts, in bytes.
pub const MAX_PREFIX_LEN: usize = 1024;

/// A parsed `Prefix` or `ErrorOutputPrefix`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrefixTemplate {
    /// The text as configured; `None` when the configuration gave none (or an empty one).
    configured: Option<String>,
    /// What the template evaluates, in order; empty for Firehose's default (the hourly folders only).
    segments: Vec<Segment>,
}

/// A piece of a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
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
enum TimeItem {
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
pub enum PrefixError {
    #[error("the prefix is longer than {MAX_PREFIX_LEN} bytes")]
    TooLong,
    #[error("the expression in prefix '{0}' is not terminated by '}}'")]
    Unterminated(String),
    #[error(
        "'!{{{0}}}' is not a valid prefix expression; use !{{timestamp:<pattern>}}, \
         !{{firehose:random-string}} or !{{firehose:error-output-type}}"
    )]
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
    /// AWS's own words for it (`InvalidArgumentException` of CreateDeliveryStream).
    #[error("ErrorOutputPrefix cannot be null or empty when Prefix contains expressions.")]
    ErrorOutputPrefixRequired,
}

/// The `!{firehose:error-output-type}` values Firehose writes error output under, for an S3 destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorOutputType {
    /// The data transformation failed for the records (`processing-failed`).
    ProcessingFailed,
}

impl ErrorOutputType {
    /// The text the expression evaluates to.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorOutputType::ProcessingFailed => "processing-failed",
        }
    }
}

impl PrefixTemplate {
    /// Reads a configured `Prefix`, where `!{firehose:error-output-type}` is not allowed.
    pub fn parse(prefix: Option<&str>) -> Result<PrefixTemplate, PrefixError> {
        let template = PrefixTemplate::parse_any(prefix)?;
        if template.has(&Segment::ErrorOutputType) {
            return Err(PrefixError::ErrorOutputTypeInPrefix);
        }
        Ok(template)
    }

    /// Reads a configured `ErrorOutputPrefix`, given the configured `Prefix`.
    ///
    /// With expressions it must contain `!{firehose:error-output-type}`. Empty, it stands for
    /// `<Prefix>!{firehose:error-output-type}/` (and so, without a timestamp expression, gets the
    /// hourly folders appended); Firehose refuses an empty one when `Prefix` has expressions
    /// ([`PrefixError::ErrorOutputPrefixRequired`]).
    pub fn parse_error_output(
        prefix: Option<&str>,
        error_output_prefix: Option<&str>,
    ) -> Result<PrefixTemplate, PrefixError> {
        match error_output_prefix {
            None | Some("") => {
                if PrefixTemplate::parse_any(prefix)?.has_expressions() {
                    return Err(PrefixError::ErrorOutputPrefixRequired);
                }
                let default = format!("{}!{{firehose:error-output-type}}/", prefix.unwrap_or_default());
                let segments = PrefixTemplate::parse_any(Some(&default))?.segments;
                Ok(PrefixTemplate { configured: None, segments })
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

    /// A prefix taken as plain text, whatever it holds (a folder Firehose derives, never configured).
    pub fn literal(text: String) -> PrefixTemplate {
        let segments = if text.is_empty() { Vec::new() } else { vec![Segment::Literal(text.clone())] };
        PrefixTemplate { configured: Some(text).filter(|text| !text.is_empty()), segments }
    }

    fn parse_any(prefix: Option<&str>) -> Result<PrefixTemplate, PrefixError> {
        let text = match prefix {
            None | Some("") => return Ok(PrefixTemplate::default()),
            Some(text) if text.len() > MAX_PREFIX_LEN => return Err(PrefixError::TooLong),
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
        Ok(PrefixTemplate { configured: Some(text.to_owned()), segments })
    }

    /// The text as configured, to pass on to AWS; `None` for the default.
    pub fn configured(&self) -> Option<&str> {
        self.configured.as_deref()
    }

    /// Whether the template uses `!{...}` expressions.
    pub fn has_expressions(&self) -> bool {
        self.segments.iter().any(|segment| !matches!(segment, Segment::Literal(_)))
    }

    fn has(&self, wanted: &Segment) -> bool {
        self.segments.contains(wanted)
    }

    /// The start every evaluated key shares, known before evaluation: the text up to the first
    /// expression, with `!{firehose:error-output-type}` read as `error_output_type` when given
    /// (and as the end of what is known when not). Empty for the default prefix.
    pub fn known_start(&self, error_output_type: Option<ErrorOutputType>) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match (segment, error_output_type) {
                (Segment::Literal(text), _) => out.push_str(text),
                (Segment::ErrorOutputType, Some(kind)) => out.push_str(kind.as_str()),
                _ => break,
            }
        }
        out
    }

    /// The evaluated prefix for an object whose oldest record arrived at `oldest` (UTC); for the
    /// error output, `error_output_type` names the failure; `random_string` draws the 11
    /// alphanumeric characters of each `!{firehose:random-string}`.
    pub fn evaluate(
        &self,
        oldest: OffsetDateTime,
        error_output_type: Option<ErrorOutputType>,
        mut random_string: impl FnMut() -> String,
    ) -> String {
        let oldest = oldest.to_offset(time::UtcOffset::UTC);
        let mut out = String::new();
        let mut timed = false;
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Timestamp(items) => {
                    timed = true;
                    format_time(&mut out, items, oldest);
                }
                Segment::RandomString => out.push_str(&random_string()),
                Segment::ErrorOutputType => {
                    out.push_str(error_output_type.map_or("", ErrorOutputType::as_str))
                }
            }
        }
        if !timed {
            let _ = write!(
                out,
                "{:04}/{:02}/{:02}/{:02}/",
                oldest.year(),
                u8::from(oldest.month()),
                oldest.day(),
                oldest.hour()
            );
        }
        out
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn evaluate(template: &PrefixTemplate, oldest: OffsetDateTime) -> String {
        let mut draws = 0;
        template.evaluate(oldest, Some(ErrorOutputType::ProcessingFailed), || {
            draws += 1;
            format!("random{draws:05}")
        })
    }

    #[test]
    fn empty_prefixes_are_the_default_and_get_the_hourly_folders() {
        for text in [None, Some("")] {
            let template = PrefixTemplate::parse(text).unwrap();
            assert_eq!(template, PrefixTemplate::default());
            assert_eq!(template.configured(), None);
            assert_eq!(evaluate(&template, datetime!(2024-01-01 01:30:00 +02:00)), "2023/12/31/23/");
        }
        let plain = PrefixTemplate::parse(Some("logs/app/")).unwrap();
        assert!(!plain.has_expressions());
        assert_eq!(plain.configured(), Some("logs/app/"));
        assert_eq!(evaluate(&plain, datetime!(2024-12-31 23:59:59 UTC)), "logs/app/2024/12/31/23/");
    }

    #[test]
    fn timestamp_expressions_replace_the_hour_folders_and_other_expressions_do_not() {
        let oldest = datetime!(2024-03-05 07:08:09 UTC);
        let timed = PrefixTemplate::parse(Some(
            "logs/year=!{timestamp:yyyy}/month=!{timestamp:MM}/!{timestamp:dd'T'HH-mm-ss yy}/",
        ))
        .unwrap();
        assert_eq!(evaluate(&timed, oldest), "logs/year=2024/month=03/05T07-08-09 24/");
        let untimed = PrefixTemplate::parse(Some("r/!{firehose:random-string}/")).unwrap();
        assert_eq!(evaluate(&untimed, oldest), "r/random00001/2024/03/05/07/");
        assert_eq!(untimed.known_start(None), "r/");
    }

    #[test]
    fn expressions_are_checked() {
        let parse = |text: &str| PrefixTemplate::parse(Some(text)).unwrap_err();
        assert_eq!(parse("a/!{timestamp:yyyy"), PrefixError::Unterminated("a/!{timestamp:yyyy".into()));
        assert_eq!(parse("!{partition:x}"), PrefixError::UnknownExpression("partition:x".into()));
        assert_eq!(parse("!{timestamp:EEE}"), PrefixError::TimestampPattern("EEE".into()));
        assert_eq!(parse("!{timestamp:}"), PrefixError::TimestampPattern(String::new()));
        assert_eq!(parse("x/!{firehose:error-output-type}/"), PrefixError::ErrorOutputTypeInPrefix);
        assert_eq!(parse(&"p".repeat(MAX_PREFIX_LEN + 1)), PrefixError::TooLong);
        assert!(PrefixTemplate::parse(Some(&"p".repeat(MAX_PREFIX_LEN))).is_ok());
    }

    #[test]
    fn error_output_prefixes_name_the_error_output_type_or_default_under_the_prefix() {
        let oldest = datetime!(2024-03-05 07:08:09 UTC);
        let typed = PrefixTemplate::parse_error_output(
            Some("logs/!{timestamp:yyyy}/"),
            Some("errors/!{firehose:error-output-type}/!{timestamp:yyyy}/"),
        )
        .unwrap();
        assert_eq!(evaluate(&typed, oldest), "errors/processing-failed/2024/");
        assert_eq!(typed.known_start(Some(ErrorOutputType::ProcessingFailed)), "errors/processing-failed/");
        assert_eq!(
            PrefixTemplate::parse_error_output(None, Some("errors/!{timestamp:yyyy}/")).unwrap_err(),
            PrefixError::ErrorOutputTypeMissing
        );
        for empty in [None, Some("")] {
            assert_eq!(
                PrefixTemplate::parse_error_output(Some("logs/!{timestamp:yyyy}/"), empty).unwrap_err(),
                PrefixError::ErrorOutputPrefixRequired
            );
        }
        let plain = PrefixTemplate::parse_error_output(None, Some("errors/")).unwrap();
        assert_eq!(evaluate(&plain, oldest), "errors/2024/03/05/07/");
        let under_plain = PrefixTemplate::parse_error_output(Some("logs/"), Some("")).unwrap();
        assert_eq!(under_plain.configured(), None);
        assert_eq!(evaluate(&under_plain, oldest), "logs/processing-failed/2024/03/05/07/");
        assert_eq!(
            under_plain.known_start(Some(ErrorOutputType::ProcessingFailed)),
            "logs/processing-failed/"
        );
        assert_eq!(under_plain.known_start(None), "logs/");
    }

    #[test]
    fn a_literal_prefix_takes_expressions_as_text() {
        let literal = PrefixTemplate::literal("b/!{x}/".to_owned());
        assert!(!literal.has_expressions());
        assert_eq!(literal.known_start(None), "b/!{x}/");
        assert_eq!(PrefixTemplate::literal(String::new()), PrefixTemplate::default());
    }
}
