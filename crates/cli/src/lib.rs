//! The `streamproof` command's library half: a run from scenario to report, and the exit-code contract.
//!
//! The binary (`main.rs`) only parses arguments and prints; everything a test needs to drive a run
//! end to end lives here, composed from the library crates.

pub mod capacity;
pub mod exit;
pub mod reshard;
pub mod run;
