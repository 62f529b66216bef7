//! Scenario errors: every problem names the file, the line and column, and the field.

use std::fmt;
use std::path::PathBuf;

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid scenario.
    #[error("{0}")]
    Invalid(Box<Invalid>),
}

/// A located problem in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub path: PathBuf,
    /// 1-based line of the offending value (or of the table that lacks a field).
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Dotted field path, e.g. `pipeline.buffering.size_mb`; empty for a syntax error outside any field.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.path.display(), self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "field `{}`: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl ScenarioError {
    /// The located problem, if the file was readable.
    pub fn invalid(&self) -> Option<&Invalid> {
        match self {
            ScenarioError::Invalid(invalid) => Some(invalid),
            ScenarioError::Read { .. } => None,
        }
    }
}

/// Builds located errors for one file.
pub(crate) struct Locator<'a> {
    pub(crate) path: &'a std::path::Path,
    pub(crate) text: &'a str,
}

impl Locator<'_> {
    /// An error at byte `offset` of the file.
    pub(crate) fn at(&self, offset: usize, field: &str, message: impl Into<String>) -> ScenarioError {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        ScenarioError::Invalid(Box::new(Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            field: field.to_owned(),
            message: message.into(),
        }))
    }

    /// Byte offset of the header line `[table]`, or 0 when the table is absent.
    pub(crate) fn table_offset(&self, table: &str) -> usize {
        let header = format!("[{table}]");
        let mut offset = 0;
        for line in self.text.split_inclusive('\n') {
            if line.trim() == header {
                return offset;
            }
            offset += line.len();
        }
        0
    }

    /// The dotted path of the key assigned on the line holding `offset`, from the nearest table header above.
    pub(crate) fn field_at(&self, offset: usize) -> String {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[offset..].find('\n').map_or(self.text.len(), |i| offset + i);
        let line = self.text[line_start..line_end].trim();
        let table = self.text[..line_start]
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('[') && l.ends_with(']'))
            .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
        if line.starts_with('[') {
            return line.trim_matches(|c| c == '[' || c == ']').trim().to_owned();
        }
        let key = line.split('=').next().unwrap_or("").trim().trim_matches('"');
        match (table, key.is_empty() || line.starts_with('#')) {
            (Some(table), false) => format!("{table}.{key}"),
            (None, false) => key.to_owned(),
            (Some(table), true) => table,
            (None, true) => String::new(),
        }
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
