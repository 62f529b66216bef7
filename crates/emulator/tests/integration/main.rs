//! Integration tests: the official AWS SDK clients against a running emulator.

mod buffering;
mod common;
mod fan_out;
mod faults;
mod firehose;
mod firehose_tags;
mod firehose_update;
mod kinesis;
mod kinesis_settings;
mod logs;
mod quotas;
mod resharding;
mod routing;
mod s3;
mod s3_api;
mod search;
mod server;
mod throttling;
mod transform;
