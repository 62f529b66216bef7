//! Integration tests: the official AWS SDK clients against a running emulator.

mod common;
mod faults;
mod firehose;
mod kinesis;
mod s3;
mod server;
