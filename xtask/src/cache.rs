//! Where the project's own setup caches what it installs.

use std::path::PathBuf;

use anyhow::{Context, Result};

/// An install directory: `$variable` when set, else `folder` under `~/.cache/streamproof/` (or
/// `$XDG_CACHE_HOME/streamproof/`), where every install of the project's own setup is cached.
pub(crate) fn cache_home(variable: &str, folder: &str) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(variable) {
        return Ok(PathBuf::from(dir));
    }
    let cache = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".cache"),
    };
    Ok(cache.join("streamproof").join(folder))
}
