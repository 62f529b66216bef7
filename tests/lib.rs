//! End-to-end tests of streamproof live in `e2e/`; this crate has no library code of its own.
