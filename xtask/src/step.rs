//! Named steps: each prints its name, then its outcome and duration.

use std::time::Instant;

use anyhow::Result;

/// Runs one named step, printing its duration, and stops at the first failure.
pub(crate) fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    eprintln!("==> {name}");
    let started = Instant::now();
    let result = f();
    let secs = started.elapsed().as_secs_f64();
    match &result {
        Ok(()) => eprintln!("<== {name}: ok ({secs:.0} s)"),
        Err(_) => eprintln!("<== {name}: FAILED ({secs:.0} s)"),
    }
    result
}
