//! Integration tests of the verifier's public API: data-driven decoding cases and whole delivery histories.

mod decode_cases;
mod decode_robustness;
mod histories;
mod matcher;
mod s3;
mod search;
