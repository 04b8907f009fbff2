//! A simulator of Acumatica ERP's contract-based REST API for demos and tests: cookie sign-in,
//! an OAuth 2.0 identity server, entity lists with `$filter`, `$select`, `$expand`, `$top` and
//! `$skip`, deterministic data, licence limits and injectable faults.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = acumatica_sim::start(acumatica_sim::SimConfig::default()).await?;
//! println!("{}/entity/Default/24.200.001/Customer", sim.base_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod browser;
mod clock;
mod custom;
mod data;
mod filter;
mod json;
mod lenient;
mod oauth;
mod odata;
mod ops;
mod percent;
mod schema;
mod server;
mod sessions;
mod store;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    pub latency: Duration,
    /// Latency added per record written (a server that is slower on bigger pages).
    pub latency_per_row: Duration,
    /// Sessions unused for this long are closed (Acumatica: 10 minutes).
    pub idle_timeout: Duration,
    /// "Maximum Number of Concurrent Web Services API Requests": requests beyond it queue; more
    /// than 20 queued are declined with 429. 0 = no limit.
    pub max_concurrent_requests: usize,
    /// "Maximum Number of Web Services API Requests per Minute": past half of it, requests are
    /// delayed as documented. 0 = no limit.
    pub requests_per_minute: u32,
    /// Injected faults on data requests.
    pub faults: Faults,
    /// The connected application of the OAuth identity server.
    pub oauth: OAuthApp,
}

/// Probabilities (0.0–1.0) of faults injected into data requests, drawn from a generator
/// seeded with `SimConfig::seed` (reproducible for a given sequence of requests).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// 429 as IIS sends it for a declined request (`text/plain` body).
    pub rate_429: f64,
    /// 503 Service Unavailable (an HTML page).
    pub rate_5xx: f64,
    /// The connection drops halfway through the response body.
    pub rate_drop: f64,
    /// The session (or bearer token) expires just before the request: 401.
    pub rate_expire: f64,
}

impl Faults {
    pub fn any(&self) -> bool {
        self.rate_429 + self.rate_5xx + self.rate_drop + self.rate_expire > 0.0
    }
}

/// One connected application (Connected Applications, SM303010) allowing every flow.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    /// `GUID@Tenant`.
    pub client_id: String,
    pub client_secret: String,
    /// Registered redirect URIs; loopback `http://127.0.0.1:*`/`localhost` URIs are always allowed.
    pub redirect_uris: Vec<String>,
    /// Access-token lifetime (Acumatica: 3600 s).
    pub token_lifetime: Duration,
    /// The OAuth 2.0 flows the application may use (a real connected application has one;
    /// the demo application allows all). Others are refused with `unauthorized_client`.
    pub flows: Vec<OAuthFlow>,
}

/// An OAuth 2.0 flow of a connected application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthFlow {
    /// Authorization code (with PKCE when the client sends a challenge); refresh tokens.
    AuthorizationCode,
    /// Implicit: the token in the redirect's fragment.
    Implicit,
    /// Resource owner password credentials.
    Password,
}

impl OAuthFlow {
    pub const ALL: [OAuthFlow; 3] = [Self::AuthorizationCode, Self::Implicit, Self::Password];
}

impl Default for OAuthApp {
    fn default() -> Self {
        Self {
            client_id: "B7E4C1D2-9A3F-4E5B-8C6D-0F1A2B3C4D5E@Company".into(),
            client_secret: "demo-secret-Kx9mQ2".into(),
            redirect_uris: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
            flows: OAuthFlow::ALL.to_vec(),
        }
    }
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
            latency: Duration::ZERO,
            latency_per_row: Duration::ZERO,
            idle_timeout: Duration::from_secs(600),
            max_concurrent_requests: 0,
            requests_per_minute: 0,
            faults: Faults::default(),
            oauth: OAuthApp::default(),
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
    /// The configuration it runs with (sign-in details, connected application, limits).
    pub fn config(&self) -> &SimConfig {
        &self.state.config
    }

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

    /// The request log as `METHOD /path` lines, queries left out (what a test compares).
    pub fn request_lines(&self) -> Vec<String> {
        self.state
            .log()
            .iter()
            .map(|r| {
                let path = r.url.split('?').next().unwrap_or_default();
                format!("{} {path}", r.method)
            })
            .collect()
    }

    pub fn clear_request_log(&self) {
        self.state.clear_log();
    }

    /// Moves the simulator's clock forward by `by`, for expiries only: sessions idle longer
    /// than `idle_timeout` close, access tokens and authorization codes expire, as if that much
    /// time had passed. Tests use it instead of sleeping.
    pub fn advance_clock(&self, by: Duration) {
        self.state.advance_clock(by);
    }

    /// Takes a member out of an entity of one endpoint version (also `DELETE
    /// /_sim/schema/<Endpoint>/<Version>/<Entity>/<Member>`), as a customisation published on
    /// a live site would: `swagger.json` no longer lists it, records no longer carry it and a
    /// `$filter` naming it fails as Acumatica's does. False when there is no such member.
    pub fn remove_member(&self, endpoint: &str, version: &str, entity: &str, member: &str) -> bool {
        self.state.remove_member(endpoint, version, entity, member)
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
