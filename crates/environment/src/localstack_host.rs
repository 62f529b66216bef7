//! LocalStack as a process of this machine (host mode): started from the install that
//! `cargo xtask localstack setup` made, in its own process group, and stopped with everything it started.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::EnvError;

/// How long LocalStack may take to print `Ready.`.
const START_DEADLINE: Duration = Duration::from_secs(120);
/// How long a graceful stop may take before the process group is killed.
const STOP_DEADLINE: Duration = Duration::from_secs(20);

/// Where `cargo xtask localstack setup` installs LocalStack: `$STREAMPROOF_LOCALSTACK_HOME`, else
/// `$XDG_CACHE_HOME/streamproof/localstack-host`, else `~/.cache/streamproof/localstack-host`.
/// (xtask computes the same default.)
pub fn default_home() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("STREAMPROOF_LOCALSTACK_HOME") {
        return Some(PathBuf::from(dir));
    }
    Some(crate::cache::cache_dir()?.join("localstack-host"))
}

/// A running LocalStack process group and the per-run directory it writes to.
#[derive(Debug)]
pub(crate) struct LocalStackHost {
    child: Child,
    port: u16,
    run_dir: PathBuf,
    stopped: bool,
}

impl LocalStackHost {
    /// Starts LocalStack on a free loopback port and returns once it is ready.
    pub(crate) async fn start(home: &Path) -> Result<LocalStackHost, EnvError> {
        let python = home.join("venv/bin/python");
        if !home.join("installed").is_file() || !python.is_file() {
            return Err(EnvError::LocalStackNotInstalled { home: home.to_path_buf() });
        }
        let port = free_port()?;
        let run_dir = home.join("runs").join(format!("{}-{port}", std::process::id()));
        let fs_root = run_dir.join("fs");
        let tmp = run_dir.join("tmp");
        let var_lib = fs_root.join("var/lib/localstack");
        for dir in [&tmp, &var_lib] {
            std::fs::create_dir_all(dir).map_err(|source| EnvError::Io { path: dir.clone(), source })?;
        }
        // The packages seeded at setup are shared by every run; only state is per run.
        let lib = var_lib.join("lib");
        std::os::unix::fs::symlink(home.join("lib"), &lib)
            .map_err(|source| EnvError::Io { path: lib, source })?;
        let log_path = run_dir.join("localstack.log");
        let log = std::fs::File::create(&log_path)
            .map_err(|source| EnvError::Io { path: log_path.clone(), source })?;
        let log_err = log.try_clone().map_err(|source| EnvError::Io { path: log_path.clone(), source })?;

        let venv_bin = home.join("venv/bin");
        let path = format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap_or_default());
        let mut command = Command::new(&python);
        command
            .args(["-m", "localstack.runtime.main"])
            .current_dir(&run_dir)
            .env("PATH", path)
            .env("VIRTUAL_ENV", home.join("venv"))
            .env("TMPDIR", &tmp)
            .env("JAVA_TOOL_OPTIONS", format!("-Djava.io.tmpdir={}", tmp.display()))
            // Host layout even where /.dockerenv exists, so every directory moves under FILESYSTEM_ROOT.
            .env("OVERRIDE_IN_DOCKER", "0")
            .env("FILESYSTEM_ROOT", &fs_root)
            // DynamoDB holds the KCL's leases; Firehose assumes its role through STS before every write.
            .env("SERVICES", "kinesis,firehose,s3,dynamodb,sts")
            .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("DNS_ADDRESS", "0")
            .env("SKIP_SSL_CERT_DOWNLOAD", "1")
            .env("DISABLE_EVENTS", "1")
            .env("LOCALSTACK_TELEMETRY", "0")
            .env("DYNAMODB_IN_MEMORY", "1")
            .env("KINESIS_PERSISTENCE", "0")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        // Its own process group, so stopping it also stops the JVMs and node processes it starts.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().map_err(|source| EnvError::Io { path: python.clone(), source })?;
        let mut host = LocalStackHost { child, port, run_dir, stopped: false };
        tracing::info!(port, pid = host.child.id(), "LocalStack host process started");
        host.wait_ready(&log_path).await?;
        Ok(host)
    }

    pub(crate) fn process_id(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&mut self, log_path: &Path) -> Result<(), EnvError> {
        let started = Instant::now();
        loop {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            if log.lines().any(|line| line.starts_with("Ready.")) {
                tracing::info!(elapsed = ?started.elapsed(), "LocalStack ready");
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(EnvError::LocalStackExited { status: status.to_string(), log: tail(&log) });
            }
            if started.elapsed() > START_DEADLINE {
                self.stop();
                return Err(EnvError::NotReady {
                    what: "LocalStack".into(),
                    wanted: "ready",
                    deadline: START_DEADLINE,
                    last: tail(&log),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Stops the process group (TERM, then KILL after a deadline) and removes the run directory.
    #[expect(
        clippy::disallowed_methods,
        reason = "a child's exit has no wait with a deadline in std: poll try_wait until STOP_DEADLINE"
    )]
    pub(crate) fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).stderr(Stdio::null()).status();
        let started = Instant::now();
        while started.elapsed() < STOP_DEADLINE {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Whatever is left of the group (the JVMs and node processes included) goes now.
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.wait();
        if let Err(error) = std::fs::remove_dir_all(&self.run_dir) {
            tracing::warn!(%error, dir = %self.run_dir.display(), "cannot remove LocalStack's run directory");
        }
        tracing::info!(port = self.port, "LocalStack stopped");
    }
}

impl Drop for LocalStackHost {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> Result<u16, EnvError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|source| EnvError::Io { path: PathBuf::from("127.0.0.1:0"), source })?;
    let port = listener
        .local_addr()
        .map_err(|source| EnvError::Io { path: PathBuf::from("127.0.0.1:0"), source })?
        .port();
    Ok(port)
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
