//! Writing a report's renderings: `report.json`, `junit.xml` and `report.html`, each atomically
//! (a temporary file renamed over the target), so a reader never sees half a file.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::report::Report;

impl Report {
    /// Writes `report.json` (pretty-printed) into `dir` atomically and returns its path.
    ///
    /// The report is written to a temporary file in `dir` first and then renamed over
    /// `report.json`, so a reader never sees a half-written report.
    pub fn write_json(&self, dir: &Path) -> Result<PathBuf, WriteReportError> {
        let mut json = serde_json::to_vec_pretty(self).map_err(WriteReportError::Serialize)?;
        json.push(b'\n');
        write_atomically(dir, "report.json", &json)
    }

    /// Writes `report.html` (see [`Report::html`]) into `dir` atomically and returns its path.
    pub fn write_html(&self, dir: &Path) -> Result<PathBuf, WriteReportError> {
        write_atomically(dir, "report.html", self.html().as_bytes())
    }

    /// Writes every rendering into `dir`: `report.json`, `junit.xml` and `report.html`.
    pub fn write_all(&self, dir: &Path) -> Result<ReportPaths, WriteReportError> {
        Ok(ReportPaths {
            json: self.write_json(dir)?,
            junit: self.write_junit(dir)?,
            html: self.write_html(dir)?,
        })
    }
}

/// Where [`Report::write_all`] put each rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    pub json: PathBuf,
    pub junit: PathBuf,
    pub html: PathBuf,
}

/// Writing a rendering of the report failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteReportError {
    #[error("cannot serialise the report")]
    Serialize(#[source] serde_json::Error),
    #[error("cannot serialise the report as JUnit XML")]
    Junit(#[source] quick_junit::SerializeError),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes `bytes` to `dir/name` through a temporary file and a rename, so readers never see half a file.
pub(crate) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, WriteReportError> {
    let path = dir.join(name);
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    if let Err(source) = write() {
        let _ = fs::remove_file(&temporary);
        return Err(WriteReportError::Write { path: temporary, source });
    }
    fs::rename(&temporary, &path).map_err(|source| {
        let _ = fs::remove_file(&temporary);
        WriteReportError::Write { path: path.clone(), source }
    })?;
    Ok(path)
}
