//! What a verification is asked: where the run's records are, what kind of destination delivered
//! them, the expectations, and how to wait. Read by every reader (`s3.rs`, `local.rs`, `search.rs`)
//! and by the one entry point (`entry.rs`).

use std::sync::Arc;
use std::time::Duration;

use scenario::{SearchBackupMode, SearchService};

use crate::buffering::BufferingCheck;
use crate::matcher::TimeScale;
use crate::transform::TransformCheck;

/// Where to look for a run's records, what delivered them, and how long to wait for them.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The bucket the destination writes to (a search destination's S3 backup); unused for local files.
    pub bucket: String,
    /// Key prefix to list; empty for the whole bucket.
    pub prefix: String,
    /// What kind of destination delivered the records.
    pub destination: Destination,
    /// The expectations the run is held to; `timeout` bounds the wait from the call of [`crate::verify`].
    pub expect: scenario::Expect,
    /// Time between two listings while records are missing.
    pub poll_interval: Duration,
    /// The buffering analysis to run, if any: the scenario's hints and whether the backend models them.
    pub buffering: Option<BufferingCheck>,
    /// The backend's clock, when it runs faster than the wall clock; latencies are then in its time.
    pub time_scale: Option<TimeScale>,
    /// The run's resharding transitions: the report counts the records of each phase apart.
    pub transitions: Vec<crate::Transition>,
}

/// The records a backend's data transformation dropped so far, as they reached the handler.
pub type DroppedLog = Arc<dyn Fn() -> Vec<Vec<u8>> + Send + Sync>;

/// What kind of destination delivered the run's records, and what reading it needs.
#[derive(Clone, Default)]
pub enum Destination {
    /// An S3 destination: every record is in an object under the prefix.
    #[default]
    S3,
    /// An S3 destination behind a data transformation: objects under `check.error_prefix` are
    /// error output (listed too when outside the prefix), and records the transform dropped are
    /// not lost. `dropped` is the backend's log of them, read before every pass, when there is one
    /// (a run on the embedded emulator); without one, dropped records cannot be told from lost ones.
    Transformed { check: TransformCheck, dropped: Option<DroppedLog> },
    /// An OpenSearch or Elasticsearch destination: the index, its failed-documents backup and,
    /// with `AllDocuments`, its S3 backup.
    Search(SearchCheck),
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::S3 => f.write_str("S3"),
            Destination::Transformed { check, dropped } => f
                .debug_struct("Transformed")
                .field("check", check)
                .field("dropped", &dropped.as_ref().map(|_| "a log"))
                .finish(),
            Destination::Search(check) => f.debug_tuple("Search").field(check).finish(),
        }
    }
}

/// Where the verifier finds a search destination's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCheck {
    pub service: SearchService,
    /// The cluster's REST base URL (`http://host:port[/path]`): the embedded emulator's in-process
    /// domain or a real cluster.
    pub endpoint: String,
    /// The index name the delivery stream was given (unique to the run).
    pub index: String,
    /// With index rotation the stream writes `<index>-<period>`: read `<index>-*` instead of `<index>`.
    pub rotation: bool,
    pub backup_mode: SearchBackupMode,
    /// The S3 key prefix of failed documents: `<prefix>AmazonOpenSearchService-failed/` or
    /// `<prefix>elasticsearch-failed/`.
    pub failed_prefix: String,
    /// The S3 key prefix of the `AllDocuments` backup objects (the failed-documents prefix under it is
    /// left out).
    pub backup_prefix: String,
}

impl SearchCheck {
    /// The index expression read: the index, or every rotated index of it.
    pub fn index_pattern(&self) -> String {
        if self.rotation { format!("{}-*", self.index) } else { self.index.clone() }
    }
}
