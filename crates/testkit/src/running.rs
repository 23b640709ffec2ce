//! A service running in-process: its task and the signal that shuts it down, sent when dropped.

use std::future::Future;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A service's task, shut down gracefully by [`Running::stop`] or signalled when dropped.
pub(crate) struct Running {
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Spawns `run` with the token that shuts it down.
    pub(crate) fn spawn<F>(run: impl FnOnce(CancellationToken) -> F) -> Self
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(shutdown.clone()));
        Self {
            shutdown,
            task: Some(task),
        }
    }

    /// Signals the shutdown without waiting for it.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Signals the shutdown and waits for the service to end; its error if it failed.
    pub(crate) async fn stop(&mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
