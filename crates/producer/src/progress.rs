//! Live progress: an indicatif bar when stderr is a terminal, periodic log lines otherwise.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::counters::Counters;

/// How a production run shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Nothing.
    Off,
    /// A tracing line every few seconds.
    Log,
    /// A progress bar if stderr is a terminal, else log lines.
    Auto,
}

/// Seconds between log lines.
const LOG_EVERY: Duration = Duration::from_secs(5);
/// Bar refreshes.
const DRAW_EVERY: Duration = Duration::from_millis(200);

/// A running progress reporter.
pub(crate) struct Progress {
    stop: Arc<Notify>,
    task: Option<JoinHandle<()>>,
}

impl Progress {
    pub(crate) fn start(mode: ProgressMode, total: u64, counters: Arc<Counters>) -> Progress {
        let stop = Arc::new(Notify::new());
        let bar = mode == ProgressMode::Auto && std::io::stderr().is_terminal();
        let task = match mode {
            ProgressMode::Off => None,
            _ => Some(tokio::spawn(report(bar, total, counters, Arc::clone(&stop)))),
        };
        Progress { stop, task }
    }

    /// Stops reporting and waits until the bar is cleared, so later output is not overdrawn.
    pub(crate) async fn finish(self) {
        self.stop.notify_one();
        if let Some(task) = self.task {
            // A reporter that panicked only loses progress output; the run's result stands.
            let _ = task.await;
        }
    }
}

async fn report(bar: bool, total: u64, counters: Arc<Counters>, stop: Arc<Notify>) {
    let progress = bar.then(|| {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} acknowledged {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar
    });
    let mut interval = tokio::time::interval(if bar { DRAW_EVERY } else { LOG_EVERY });
    interval.tick().await;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            () = stop.notified() => break,
        }
        let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let acknowledged = load(&counters.acknowledged);
        let secs = counters.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { acknowledged as f64 / secs } else { 0.0 };
        match &progress {
            Some(bar) => {
                bar.set_position(acknowledged);
                bar.set_message(format!(
                    "{rate:.0}/s, {} throttled, {} retried, {} failed",
                    load(&counters.throttled),
                    load(&counters.retried),
                    load(&counters.failed)
                ));
            }
            None => tracing::info!(
                sent = load(&counters.sent),
                acknowledged,
                total,
                throttled = load(&counters.throttled),
                retried = load(&counters.retried),
                failed = load(&counters.failed),
                rate = format_args!("{rate:.0}/s"),
                "producing"
            ),
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
}
