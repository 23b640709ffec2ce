//! A service running in-process: its task, the signal that shuts it down (sent when dropped)
//! and the database pool it closes when stopped. Each service's handle embeds one.

use std::future::Future;

use rendezvous_common::db::Db;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A service's task over `db`, shut down gracefully by [`Running::stop`] or signalled when
/// dropped.
pub(crate) struct Running {
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    db: Db,
}

impl Running {
    /// Spawns `run` with the token that shuts it down; `db` is the service's pool.
    pub(crate) fn spawn<F>(db: &Db, run: impl FnOnce(CancellationToken) -> F) -> Self
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(shutdown.clone()));
        Self {
            shutdown,
            task: Some(task),
            db: db.clone(),
        }
    }

    /// Signals the shutdown without waiting for it.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Ends the service at once, as a crash would: its task is aborted wherever it is, and the
    /// tasks it owns with it. A later [`Running::stop`] only closes the pool.
    #[cfg(feature = "notifications")]
    pub(crate) async fn kill(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Signals the shutdown, waits for the service to end and closes its pool; the service's
    /// error if it failed.
    pub(crate) async fn stop(&mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await??;
        }
        self.db.close().await;
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
