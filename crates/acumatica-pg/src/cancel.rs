//! Cancel requests: a client sends its connection's key (process id and secret) on a new
//! connection, and the statement running on the first one stops — its result stream is
//! dropped, and with it the scan and its HTTP requests. Shutdown cancels every statement.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use pgwire::api::cancel::CancelHandler;
use pgwire::messages::cancel::CancelRequest;
use tokio_util::sync::CancellationToken;

/// The running statements of every connection, by connection key.
#[derive(Debug, Default)]
pub(crate) struct Cancels {
    /// Parent of every statement's token: cancelled at shutdown.
    root: CancellationToken,
    shutting_down: AtomicBool,
    connections: Mutex<HashMap<(i32, Bytes), Arc<Slot>>>,
}

/// The current statement of one connection.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    current: Mutex<Option<CancellationToken>>,
}

/// Unregisters a connection when it ends.
#[derive(Debug)]
pub(crate) struct Registration {
    cancels: Arc<Cancels>,
    key: (i32, Bytes),
    pub(crate) slot: Arc<Slot>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut c) = self.cancels.connections.lock() {
            c.remove(&self.key);
        }
    }
}

impl Cancels {
    pub(crate) fn register(self: &Arc<Self>, pid: i32, secret: Bytes) -> Registration {
        let key = (pid, secret);
        let slot = Arc::new(Slot::default());
        if let Ok(mut c) = self.connections.lock() {
            c.insert(key.clone(), slot.clone());
        }
        Registration {
            cancels: self.clone(),
            key,
            slot,
        }
    }

    /// A token for a new statement (already cancelled once shutdown has begun).
    pub(crate) fn start(&self, slot: &Slot) -> CancellationToken {
        let token = self.root.child_token();
        if let Ok(mut current) = slot.current.lock() {
            *current = Some(token.clone());
        }
        token
    }

    /// Cancels every running statement; later ones are cancelled as they start.
    pub(crate) fn shut_down(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.root.cancel();
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    fn cancel(&self, pid: i32, secret: &Bytes) -> bool {
        let slot = self
            .connections
            .lock()
            .ok()
            .and_then(|c| c.get(&(pid, secret.clone())).cloned());
        let Some(slot) = slot else {
            return false;
        };
        if let Some(token) = slot.current.lock().ok().and_then(|c| c.clone()) {
            token.cancel();
        }
        true
    }
}

/// Answers cancel requests (each arrives on a connection of its own).
#[derive(Debug)]
pub(crate) struct CancelByKey(pub(crate) Arc<Cancels>);

#[async_trait]
impl CancelHandler for CancelByKey {
    async fn on_cancel_request(&self, request: CancelRequest) {
        // Like PostgreSQL, nothing is answered: an unknown key is simply ignored.
        if !self.0.cancel(request.pid, &request.secret_key.to_bytes()) {
            tracing::debug!("cancel request for an unknown connection");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_reaches_only_the_current_statement_of_its_connection() {
        let cancels = Arc::new(Cancels::default());
        let a = cancels.register(1, Bytes::from_static(b"aaaa"));
        let b = cancels.register(2, Bytes::from_static(b"bbbb"));
        let first = cancels.start(&a.slot);
        let second = cancels.start(&a.slot);
        let other = cancels.start(&b.slot);
        assert!(!cancels.cancel(1, &Bytes::from_static(b"wrong")));
        assert!(cancels.cancel(1, &Bytes::from_static(b"aaaa")));
        assert!(second.is_cancelled() && !first.is_cancelled() && !other.is_cancelled());
        drop(a);
        assert!(
            !cancels.cancel(1, &Bytes::from_static(b"aaaa")),
            "unregistered"
        );
        cancels.shut_down();
        assert!(other.is_cancelled() && cancels.start(&b.slot).is_cancelled());
    }
}
