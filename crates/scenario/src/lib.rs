//! The scenario file: a TOML description of a pipeline, a workload and the expectations a run must meet.
//!
//! Parsing happens in two passes, as in `raw` → [`model`]: serde reads the file into raw structs that keep
//! the source span of every value, then validation turns them into the typed [`Scenario`] and reports the
//! first problem as a [`ScenarioError`] naming the file, the line and the field.

mod error;
mod model;
mod pipeline;
mod raw;
mod validate;
mod values;
mod workload;

pub use error::{Invalid, ScenarioError};
pub use model::{
    BUILT_IN_SCHEMAS, BufferingHints, CustomField, DEFAULT_ENVELOPE_FIELD, Delivery, Expect, FieldKind,
    MAX_FIREHOSE_RECORD_BYTES, MAX_KINESIS_RECORD_BYTES, Ordering, PAD_FIELD, PartitionKey, Payload,
    Pipeline, PutApi, Rate, RateStep, ReshardAction, ReshardStep, Scenario, Schema, Source, Workload,
};
pub use model::{Compression, Delimiter, EmulatorSettings, MAX_EVENTS, MAX_TIME_SCALE, ObjectFormat};
pub use model::{DEFAULT_SEARCH_DOMAIN, MAX_INDEX_NAME_LEN, RUN_INDEX_SUFFIX_LEN, SearchDestination};
pub use model::{Transform, TransformRuntime};
/// The shared words a scenario is written in.
pub use vocabulary::{
    FaultPlan, FaultRate, IndexRotation, PrefixTemplate, SearchBackupMode, SearchService, ShardStall,
};

use std::path::Path;

/// Reads and validates the scenario at `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ScenarioError::Read { path: path.to_path_buf(), source })?;
    parse(path, &text)
}

/// Validates scenario `text`; `path` is used for error messages and the default scenario name.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let raw = raw::parse(path, text)?;
    validate::validate(path, text, raw)
}
