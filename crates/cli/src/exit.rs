//! Exit codes: what the process tells CI, and how a failure reaches the user.

/// Every assertion passed.
pub const PASS: u8 = 0;
/// The run completed and at least one assertion failed.
pub const ASSERTION_FAILED: u8 = 1;
/// The scenario or the command line is invalid.
pub const BAD_INPUT: u8 = 2;
/// The environment (backend, provisioning, S3 reads) failed; nothing can be said about the pipeline.
pub const ENVIRONMENT_FAILED: u8 = 3;
/// The run was interrupted (SIGINT or SIGTERM) and stopped early; a partial report marked
/// incomplete was written when there was anything to report.
pub const INTERRUPTED: u8 = 130;

/// Prints the error with its whole cause chain, as the one line a user reads, and returns `code`.
pub fn fail(code: u8, error: &anyhow::Error) -> std::process::ExitCode {
    eprintln!("error: {error:#}");
    std::process::ExitCode::from(code)
}
