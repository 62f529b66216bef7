//! What several subcommands print for a shell, and the signals they stop on.

/// Prints the `export` lines that point the AWS CLI, boto3 or an SDK at `endpoint`.
pub(crate) fn print_exports(endpoint: &str, region: &str, test_credentials: bool) {
    println!("export AWS_ENDPOINT_URL={endpoint}");
    if test_credentials {
        println!("export AWS_ACCESS_KEY_ID=test");
        println!("export AWS_SECRET_ACCESS_KEY=test");
    }
    println!("export AWS_REGION={region}");
    println!("export AWS_DEFAULT_REGION={region}");
}

/// Waits for Ctrl-C or, on Unix, SIGTERM; returns which one arrived.
pub(crate) async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "interrupted",
                _ = term.recv() => "terminated",
            };
        }
    }
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::warn!(%error, "cannot listen for Ctrl-C; stopping");
    }
    "interrupted"
}
