//! Sign-outs that must finish before the process exits.
//!
//! An API session is a licence seat for ten minutes after its last request, so a sign-out may
//! not be lost when a connection is dropped on an error path, by a cancelled future (Ctrl-C,
//! SIGTERM) or by a panic unwinding. Such sign-outs (and sign-ins whose caller went away) run as
//! tasks registered here; a program calls [`settle`] before its runtime shuts down, because a
//! runtime drops unfinished tasks at shutdown.

use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;

use tokio_util::task::TaskTracker;

static PENDING: LazyLock<TaskTracker> = LazyLock::new(TaskTracker::new);

/// Runs `work` on the current runtime as a task [`settle`] waits for.
pub(crate) fn spawn<F>(work: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    PENDING.spawn(work)
}

/// Waits (at most `limit`) until every pending sign-out has finished. Call it after the last
/// connection is dropped or closed, on the runtime that ran them, before the runtime stops.
pub async fn settle(limit: Duration) {
    let _ = tokio::time::timeout(limit, async {
        // Tasks registered while waiting (a sign-in that completes and signs out) count too.
        while !PENDING.is_empty() {
            PENDING.close();
            PENDING.wait().await;
            PENDING.reopen();
        }
    })
    .await;
}

/// Number of sign-outs not yet finished (for tests).
pub fn pending() -> usize {
    PENDING.len()
}
