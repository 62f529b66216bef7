//! The words every crate of streamproof shares: the fault plan and the names of its faults, Kinesis's
//! hash-key routing, the search destinations' service and index rotation, and Firehose's S3 prefix
//! templates.
//!
//! Each is defined here once, with no dependency on the harness, so the scenario parser, the
//! emulator, the producer, the verifier and the command line speak of the same thing in the same
//! terms; a new word (a fault, a prefix expression) is added here and every user sees it.

mod faults;
mod hash;
mod prefix;
mod search;

pub use faults::{FaultFlag, FaultName, FaultPlan, FaultRate, ObjectFaults, ShardStall};
pub use hash::{
    HashKeyRange, parse_explicit_hash_key, partition_key_hash, shard_for_hash, split_hash_key_space,
};
pub use prefix::{ErrorOutputType, MAX_PREFIX_LEN, PrefixError, PrefixTemplate};
pub use search::{IndexRotation, SearchBackupMode, SearchService};
