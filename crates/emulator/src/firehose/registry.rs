//! Every delivery stream of the emulator, and the task that delivers each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

use crate::error::ApiError;
use crate::firehose::delivery::{self, DeliveryStream};
use crate::firehose::output::TaskContext;
use crate::sync::lock;

/// All delivery streams and their tasks.
#[derive(Debug, Default)]
pub(crate) struct FirehoseRegistry {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    streams: HashMap<String, Arc<DeliveryStream>>,
    tasks: Vec<JoinHandle<()>>,
    closed: bool,
}

impl FirehoseRegistry {
    /// The stream called `name`, or AWS's `ResourceNotFoundException`.
    pub(crate) fn get(&self, name: &str, account_id: &str) -> Result<Arc<DeliveryStream>, ApiError> {
        lock(&self.inner).streams.get(name).cloned().ok_or_else(|| {
            ApiError::not_found(format!("Firehose {name} under account {account_id} not found."))
        })
    }

    /// Every stream, in no particular order.
    pub(crate) fn streams(&self) -> Vec<Arc<DeliveryStream>> {
        lock(&self.inner).streams.values().cloned().collect()
    }

    /// Registers a new stream and spawns its delivery task; refused when the name is taken or the
    /// emulator is shutting down.
    pub(crate) fn start(
        &self,
        stream: Arc<DeliveryStream>,
        context: TaskContext,
        account_id: &str,
    ) -> Result<(), ApiError> {
        let mut registry = lock(&self.inner);
        if registry.closed {
            return Err(ApiError {
                status: http::StatusCode::SERVICE_UNAVAILABLE,
                code: "ServiceUnavailableException",
                message: "The emulator is shutting down.".to_owned(),
            });
        }
        if registry.streams.contains_key(&stream.name) {
            return Err(ApiError::in_use(format!(
                "Firehose {} under accountId {account_id} already exists",
                stream.name
            )));
        }
        registry.streams.insert(stream.name.clone(), Arc::clone(&stream));
        registry.tasks.retain(|task| !task.is_finished());
        registry.tasks.push(tokio::spawn(delivery::run(stream, context)));
        Ok(())
    }

    /// Takes the stream called `name` out of the registry; its task keeps running until stopped.
    pub(crate) fn remove(&self, name: &str) -> Option<Arc<DeliveryStream>> {
        lock(&self.inner).streams.remove(name)
    }

    /// Signals every delivery task to stop and returns their handles; no stream can be created
    /// afterwards.
    pub(crate) fn close(&self) -> Vec<JoinHandle<()>> {
        let mut registry = lock(&self.inner);
        registry.closed = true;
        for stream in registry.streams.values() {
            stream.stop();
        }
        registry.streams.clear();
        std::mem::take(&mut registry.tasks)
    }

    /// Stops every delivery task and waits for them.
    pub(crate) async fn shutdown(&self) {
        for task in self.close() {
            if let Err(err) = task.await {
                tracing::error!(%err, "a Firehose delivery task failed");
            }
        }
    }
}
