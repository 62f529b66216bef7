//! The producer: deterministic synthetic events, partition keys, rate control, ordering-safe batching
//! and retries, the envelope, and the expectation.
//!
//! It sends through the AWS SDK clients it is given and never knows which backend stands behind them.

pub mod capacity;
mod counters;
pub mod envelope;
pub mod expectation;
pub mod generate;
pub mod hot_keys;
mod keys;
mod progress;
mod rate;
mod retry;
pub mod schema;
pub mod send;
mod target;

pub use envelope::Envelope;
pub use expectation::{Expectation, ExpectationFileError, PartSeqs};
pub use generate::Records;
pub use hot_keys::ThrottledKey;
pub use keys::{Part, PartParseError};
pub use progress::ProgressMode;
pub use retry::RetryPolicy;
pub use schema::Generator;
pub use send::{
    Metrics, ProduceControl, ProduceError, ProduceOptions, ProduceProbe, Produced, STOPPED_BEFORE_ACK,
    ShardLoad, produce, produce_until, produce_with,
};
pub use target::Target;
