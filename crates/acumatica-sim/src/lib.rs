//! A simulator of Acumatica ERP's contract-based REST API for demos and tests: cookie sign-in,
//! entity lists with `$filter`, `$select`, `$expand`, `$top` and `$skip`, deterministic data.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = acumatica_sim::start(acumatica_sim::SimConfig::default()).await?;
//! println!("{}/entity/Default/24.200.001/Customer", sim.base_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod data;
mod filter;
mod json;
mod server;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub use server::{RequestRecord, SimStats};

/// How the simulator behaves. `Default` gives the demo company.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Data size: scale 1 ≈ 1,000 sales orders with ≈ 10,000 lines.
    pub scale: u32,
    pub seed: u64,
    pub tenant: String,
    pub user: String,
    pub password: String,
    /// Sign-ins allowed at once ("API Login Limit" beyond).
    pub max_sessions: usize,
    /// Latency added to every data request.
    pub latency: std::time::Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            scale: 1,
            seed: 42,
            tenant: "Company".into(),
            user: "admin".into(),
            password: "demo".into(),
            max_sessions: 8,
            latency: std::time::Duration::ZERO,
        }
    }
}

/// A running simulator; it stops on `shutdown` or when dropped.
pub struct SimHandle {
    addr: SocketAddr,
    state: Arc<server::State>,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

/// Starts a simulator on `config.listen`.
pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(server::State::new(config, addr));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = server::router(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(SimHandle {
        addr,
        state,
        stop: Mutex::new(Some(stop)),
    })
}

impl SimHandle {
    /// The instance URL, e.g. `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Counters: requests, bytes, sessions.
    pub fn stats(&self) -> SimStats {
        self.state.stats()
    }

    /// Every request served so far (method, decoded URL, status, bytes).
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.state.log()
    }

    pub fn clear_request_log(&self) {
        self.state.clear_log();
    }

    pub async fn shutdown(self) {
        self.stop_now();
    }

    fn stop_now(&self) {
        if let Ok(mut s) = self.stop.lock()
            && let Some(tx) = s.take()
        {
            let _ = tx.send(());
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}
