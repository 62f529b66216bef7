//! The producer: deterministic synthetic events, the envelope, batching and retries, and the expectation.
//!
//! It sends through the AWS SDK clients it is given and never knows which backend stands behind them.

pub mod envelope;
pub mod expectation;
pub mod schema;
pub mod send;

pub use envelope::Envelope;
pub use expectation::Expectation;
pub use schema::Generator;
pub use send::{Metrics, ProduceError, ProduceOptions, Produced, RetryPolicy, Target, produce};
