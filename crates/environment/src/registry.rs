//! Environments held up between commands (`streamproof env up/down/status`): one state file per
//! named environment, written by the process that holds it.
//!
//! The holder writes `<dir>/<name>.json` once its backend is up (and the scenario's resources are
//! provisioned), and removes it after it has torn everything down. A state file whose process is
//! gone is stale: the holder was killed without a chance to clean up.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::error::EnvError;

/// What a held environment is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldEnvironment {
    pub name: String,
    /// The process that holds the environment; signalling it tears the environment down.
    pub pid: u32,
    /// The backend's name (`embedded`, `localstack`, `localstack-host`, `endpoint`).
    pub backend: String,
    pub endpoint: String,
    pub region: String,
    /// Whether clients use the test keys (`test` / `test`) rather than the default credential chain.
    pub test_credentials: bool,
    /// Seconds since the Unix epoch at which the environment became ready.
    pub ready_at_unix: u64,
    /// The holder's log file.
    pub log: PathBuf,
    /// The scenario's resources, when the environment was brought up for a scenario.
    pub resources: Option<HeldResources>,
}

/// The resources provisioned for a held environment's scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldResources {
    pub scenario: String,
    pub stream: Option<String>,
    pub delivery_stream: String,
    pub bucket: String,
    pub prefix: String,
    /// A search destination's cluster URL and the index its documents go to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<HeldSearch>,
}

/// Where a held environment's search destination indexes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldSearch {
    /// The cluster's REST base URL.
    pub endpoint: String,
    /// The index (or, with rotation, the pattern of the rotated indexes).
    pub index: String,
}

/// The directory of held environments' state files.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
}

impl Registry {
    /// `$STREAMPROOF_ENV_DIR`, else `$XDG_CACHE_HOME/streamproof/env` or `~/.cache/streamproof/env`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("STREAMPROOF_ENV_DIR") {
            return Some(PathBuf::from(dir));
        }
        Some(crate::cache::cache_dir()?.join("env"))
    }

    pub fn new(dir: impl Into<PathBuf>) -> Registry {
        Registry { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The holder's log file for `name`.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    fn state_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Creates the directory if needed.
    pub fn ensure_dir(&self) -> Result<(), EnvError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| io(&self.dir, source))
    }

    /// Writes `held`'s state file atomically: readers see the old file, no file, or the whole new one.
    pub fn write(&self, held: &HeldEnvironment) -> Result<(), EnvError> {
        self.ensure_dir()?;
        let path = self.state_path(&held.name);
        let partial = self.dir.join(format!(".{}.json.partial", held.name));
        let json = serde_json::to_vec_pretty(held).expect("a held environment serialises");
        std::fs::write(&partial, json).map_err(|source| io(&partial, source))?;
        std::fs::rename(&partial, &path).map_err(|source| io(&path, source))
    }

    /// The state of `name`, if it is held (or was, and its file is stale).
    pub fn read(&self, name: &str) -> Result<Option<HeldEnvironment>, EnvError> {
        let path = self.state_path(name);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(io(&path, source)),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|error| EnvError::Io {
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, error),
        })
    }

    /// Every environment with a state file, by name.
    pub fn list(&self) -> Result<Vec<HeldEnvironment>, EnvError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(io(&self.dir, source)),
        };
        let mut held = Vec::new();
        for entry in entries {
            let path = entry.map_err(|source| io(&self.dir, source))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".json"));
            if let Some(name) = name.filter(|name| !name.starts_with('.')) {
                held.extend(self.read(name)?);
            }
        }
        held.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(held)
    }

    /// Removes `name`'s state file; a missing file is fine.
    pub fn remove(&self, name: &str) -> Result<(), EnvError> {
        let path = self.state_path(name);
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(io(&path, error)),
            _ => Ok(()),
        }
    }
}

/// Whether `name` can name an environment: 1 to 64 of `a-z`, `0-9`, `-`, `_`.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Whether a process with this id exists.
pub fn process_alive(pid: u32) -> bool {
    i32::try_from(pid).is_ok_and(|pid| kill(Pid::from_raw(pid), None).is_ok())
}

/// Asks the holder `pid` to tear its environment down (SIGTERM) and waits until it has exited.
/// Returns false if it was still running at the deadline.
#[expect(
    clippy::disallowed_methods,
    reason = "another process's exit cannot be waited on: poll its liveness until the deadline"
)]
pub fn stop_holder(pid: u32, deadline: Duration) -> bool {
    let Ok(raw) = i32::try_from(pid) else { return true };
    if kill(Pid::from_raw(raw), Signal::SIGTERM).is_err() {
        return !process_alive(pid);
    }
    let started = Instant::now();
    while process_alive(pid) {
        if started.elapsed() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

fn io(path: &Path, source: std::io::Error) -> EnvError {
    EnvError::Io { path: path.to_path_buf(), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(name: &str) -> HeldEnvironment {
        HeldEnvironment {
            name: name.to_owned(),
            pid: std::process::id(),
            backend: "embedded".to_owned(),
            endpoint: "http://127.0.0.1:4566".to_owned(),
            region: "us-east-1".to_owned(),
            test_credentials: true,
            ready_at_unix: 1_790_000_000,
            log: PathBuf::from("default.log"),
            resources: Some(HeldResources {
                scenario: "small".to_owned(),
                stream: Some("sp-small-x".to_owned()),
                delivery_stream: "sp-small-x".to_owned(),
                bucket: "bucket".to_owned(),
                prefix: String::new(),
                search: (name == "alpha").then(|| HeldSearch {
                    endpoint: "http://127.0.0.1:4566/_opensearch/streamproof".to_owned(),
                    index: "clicks-env-alpha".to_owned(),
                }),
            }),
        }
    }

    #[test]
    fn state_files_round_trip_list_by_name_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::new(dir.path().join("env"));
        assert_eq!(registry.list().unwrap(), []);
        registry.write(&held("zeta")).unwrap();
        registry.write(&held("alpha")).unwrap();
        assert_eq!(registry.read("alpha").unwrap(), Some(held("alpha")));
        assert_eq!(registry.read("zeta").unwrap(), Some(held("zeta")));
        let names: Vec<String> = registry.list().unwrap().into_iter().map(|h| h.name).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        registry.remove("alpha").unwrap();
        registry.remove("alpha").unwrap();
        assert_eq!(registry.read("alpha").unwrap(), None);
    }

    #[test]
    fn a_damaged_state_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::new(dir.path());
        std::fs::write(dir.path().join("broken.json"), "{\"name\": ").unwrap();
        let error = registry.read("broken").unwrap_err().to_string();
        assert!(error.contains("broken.json"), "{error}");
    }

    #[test]
    fn names_are_short_lowercase_words() {
        assert!(valid_name("default") && valid_name("localstack-host") && valid_name("ci_2"));
        assert!(!valid_name("") && !valid_name("../x") && !valid_name("Up") && !valid_name(&"a".repeat(65)));
    }

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(process_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_alive(pid));
    }
}
