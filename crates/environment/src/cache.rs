//! Where streamproof keeps installs and state between processes.

/// `$XDG_CACHE_HOME/streamproof` or `~/.cache/streamproof`: where streamproof keeps installs and state.
pub(crate) fn cache_dir() -> Option<std::path::PathBuf> {
    let cache = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
    };
    Some(cache.join("streamproof"))
}
