//! The HTTP side: the router, the shared state (data, store, sessions, counters) and the
//! request log.
//!
//! `route` sends each request on: `sign_in` (who is calling, `/entity/auth/login`),
//! `admission` (the licence's request queue, pacing, latency and injected faults), then
//! `entity` (records by key, writes) with `list` (list requests), `actions`, `files` and
//! `report` for the contract API, or `feeds` for OData. OAuth lives in `crate::oauth`.

mod actions;
mod admission;
mod entity;
mod feeds;
mod files;
mod list;
mod report;
mod sign_in;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use tokio::sync::Semaphore;

use crate::SimConfig;
use crate::clock::Clock;
use crate::data::Data;
use crate::json;
use crate::oauth;
use crate::odata;
use crate::ops::Operations;
use crate::percent::decode as percent_decode;
use crate::schema::Endpoint;
use crate::sessions::Sessions;
use crate::store::Store;

use admission::{enter_queue, signed_in_and_admitted, with_fault};
use entity::entity_request;
use feeds::odata_request;
use report::report_request;
use sign_in::{login, logout};

/// One served request.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    /// Path and query, percent-decoded.
    pub url: String,
    pub status: u16,
    pub bytes: usize,
}

/// Counters a test can read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SimStats {
    /// Requests answered.
    pub requests: u64,
    /// Requests that have arrived, answered or not.
    pub received: u64,
    /// Requests arrived and not yet answered nor abandoned by their client: what a test waits
    /// on (instead of sleeping) to know that work in flight has ended.
    pub in_flight: u64,
    pub bytes_sent: u64,
    pub open_sessions: usize,
    /// Most sessions open at once so far.
    pub peak_sessions: usize,
    pub logins: u64,
    pub logouts: u64,
    /// OAuth access tokens issued (sign-ins and refreshes).
    pub tokens_issued: u64,
    pub refreshes: u64,
    /// Faults injected so far.
    pub faults_injected: u64,
    /// Requests declined because the request queue was full (429).
    pub declined: u64,
    pub requests_by_path: HashMap<String, u64>,
    pub last_urls: Vec<String>,
}

pub struct State {
    pub(crate) config: SimConfig,
    data: Data,
    /// The served endpoint versions; a test may take a member out (`remove_member`).
    endpoints: std::sync::RwLock<Vec<Arc<Endpoint>>>,
    store: Store,
    ops: Operations,
    sessions: Mutex<Sessions>,
    /// What expiries are measured on (shared with `sessions`).
    clock: Clock,
    log: Mutex<Vec<RequestRecord>>,
    requests: AtomicU64,
    received: AtomicU64,
    in_flight: Arc<AtomicU64>,
    bytes: AtomicU64,
    logins: AtomicU64,
    logouts: AtomicU64,
    faults_drawn: AtomicU64,
    faults_injected: AtomicU64,
    declined: AtomicU64,
    /// The licence's "API processing cores".
    cores: Option<Semaphore>,
    queued: AtomicUsize,
    /// Start times of the requests of the past minute (requests-per-minute limit).
    recent: Mutex<VecDeque<Instant>>,
    base_url: String,
}

impl State {
    pub fn new(config: SimConfig, addr: SocketAddr) -> Self {
        let clock = Clock::default();
        Self {
            data: Data {
                seed: config.seed,
                scale: config.scale,
            },
            ops: Operations::new(config.seed),
            cores: (config.max_concurrent_requests > 0)
                .then(|| Semaphore::new(config.max_concurrent_requests)),
            config,
            endpoints: std::sync::RwLock::new(Endpoint::all().into_iter().map(Arc::new).collect()),
            store: Store::default(),
            sessions: Mutex::new(Sessions::with_clock(clock.clone())),
            clock,
            log: Mutex::default(),
            requests: AtomicU64::new(0),
            received: AtomicU64::new(0),
            in_flight: Arc::default(),
            bytes: AtomicU64::new(0),
            logins: AtomicU64::new(0),
            logouts: AtomicU64::new(0),
            faults_drawn: AtomicU64::new(0),
            faults_injected: AtomicU64::new(0),
            declined: AtomicU64::new(0),
            queued: AtomicUsize::new(0),
            recent: Mutex::default(),
            base_url: format!("http://{addr}"),
        }
    }

    /// The session table, swept of idle sessions and expired tokens.
    pub(crate) fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        let mut s = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.sweep(self.config.idle_timeout);
        s
    }

    pub fn stats(&self) -> SimStats {
        let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let mut by_path = HashMap::new();
        for r in &log {
            let path = r.url.split('?').next().unwrap_or_default().to_string();
            *by_path.entry(path).or_insert(0) += 1;
        }
        let (open_sessions, peak_sessions, tokens_issued, refreshes) = {
            let s = self.sessions();
            (s.open_count(), s.peak, s.tokens_issued, s.refreshes)
        };
        SimStats {
            requests: self.requests.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            bytes_sent: self.bytes.load(Ordering::Relaxed),
            open_sessions,
            peak_sessions,
            logins: self.logins.load(Ordering::Relaxed),
            logouts: self.logouts.load(Ordering::Relaxed),
            tokens_issued,
            refreshes,
            faults_injected: self.faults_injected.load(Ordering::Relaxed),
            declined: self.declined.load(Ordering::Relaxed),
            requests_by_path: by_path,
            last_urls: log.iter().rev().take(20).map(|r| r.url.clone()).collect(),
        }
    }

    /// Moves the clock of expiries forward (sessions idle, tokens and codes expire as if `by`
    /// had passed).
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.clock.advance(by);
    }

    fn endpoints(&self) -> Vec<Arc<Endpoint>> {
        self.endpoints
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Takes a member (a field, linked entity or detail) out of an entity of one endpoint
    /// version, as a customisation published on a live site would: requests planned with an
    /// older schema then name something the server no longer knows. False when there is no
    /// such endpoint, entity or member.
    pub fn remove_member(&self, endpoint: &str, version: &str, entity: &str, member: &str) -> bool {
        let mut endpoints = self
            .endpoints
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed = endpoints
            .iter_mut()
            .find(|e| e.endpoint.eq_ignore_ascii_case(endpoint) && e.version == version);
        match changed.and_then(|e| Some((e.without_member(entity, member)?, e))) {
            Some((without, e)) => {
                *e = Arc::new(without);
                true
            }
            None => false,
        }
    }

    pub fn log(&self) -> Vec<RequestRecord> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn clear_log(&self) {
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }
}

pub fn router(state: Arc<State>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

fn http_error(status: StatusCode, message: &str, exception: Option<(&str, &str)>) -> Response {
    let mut body = format!("{{\"message\":{}", quote(message));
    if let Some((text, kind)) = exception {
        body.push_str(&format!(
            ",\"exceptionMessage\":{},\"exceptionType\":{},\"stackTrace\":\"   at PX.Api.ContractBased.Simulator\"",
            quote(text),
            quote(kind)
        ));
    }
    body.push('}');
    json_response(status, body)
}

fn quote(s: &str) -> String {
    let mut out = String::new();
    json::escape_into(&mut out, s);
    out
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn handle(
    AxState(state): AxState<Arc<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let decoded_query = percent_decode(&query.replace('+', " "));
    state.received.fetch_add(1, Ordering::Relaxed);
    // Counted down when the request is answered, or when its client hangs up and the handler
    // is dropped unanswered.
    let _in_flight = InFlight::enter(&state.in_flight);
    let response = route(&state, &method, &path, &query, &headers, &body).await;
    let bytes = response_len(&response);
    state.requests.fetch_add(1, Ordering::Relaxed);
    state.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    if !path.starts_with("/_sim")
        && let Ok(mut log) = state.log.lock()
    {
        log.push(RequestRecord {
            method: method.to_string(),
            url: if query.is_empty() {
                path
            } else {
                format!("{path}?{decoded_query}")
            },
            status: response.status().as_u16(),
            bytes,
        });
    }
    response
}

fn response_len(r: &Response) -> usize {
    use axum::body::HttpBody;
    r.body().size_hint().exact().unwrap_or(0) as usize
}

/// One request being handled.
struct InFlight(Arc<AtomicU64>);

impl InFlight {
    fn enter(count: &Arc<AtomicU64>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The query string's parameters the way ASP.NET reads them: split on `&` first, then each name
/// and value percent-decoded (`+` is a space), so `%26` and `%3D` inside a literal stay in it.
/// Names are case-insensitive; the first occurrence of a name wins.
fn params(raw_query: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        out.entry(k.to_ascii_lowercase())
            .or_insert_with(|| v.into_owned());
    }
    out
}

async fn route(
    state: &State,
    method: &Method,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    // An empty segment (`…/24.200.001//StockItem`, from an endpoint URL ending in `/`) is one slash.
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segs.as_slice()) {
        (&Method::GET, ["_sim", "stats"]) => json_response(
            StatusCode::OK,
            serde_json::to_string(&state.stats()).unwrap_or_default(),
        ),
        (&Method::GET, ["identity", ".well-known", "openid-configuration"]) => {
            oauth::discovery(&state.base_url)
        }
        (&Method::GET, ["identity", "connect", "authorize"]) => {
            oauth::authorize_page(state, raw_query)
        }
        (&Method::POST, ["identity", "connect", "authorize"]) => {
            oauth::authorize_submit(state, body)
        }
        (&Method::POST, ["identity", "connect", "token"]) => {
            let r = oauth::token(state, headers, body);
            if r.status().is_success() {
                state.logins.fetch_add(1, Ordering::Relaxed);
            }
            r
        }
        (&Method::POST, ["identity", "connect", "revocation"]) => {
            oauth::revocation(state, headers, body)
        }
        (&Method::DELETE, ["_sim", "schema", endpoint, version, entity, member]) => {
            if state.remove_member(endpoint, version, entity, member) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                http_error(
                    StatusCode::NOT_FOUND,
                    &format!("{endpoint}/{version} has no member {entity}.{member}."),
                    None,
                )
            }
        }
        (&Method::GET, ["entity"]) => {
            let endpoints: Vec<String> = state
                .endpoints()
                .iter()
                .map(|e| {
                    let (n, v) = (&e.endpoint, &e.version);
                    format!(
                        "{{\"name\":\"{n}\",\"version\":\"{v}\",\"href\":\"/entity/{n}/{v}/\"}}"
                    )
                })
                .collect();
            json_response(
                StatusCode::OK,
                format!(
                    "{{\"version\":{{\"acumaticaBuildVersion\":\"24.210.0012\",\"databaseVersion\":\"24.210.0012\"}},\"endpoints\":[{}]}}",
                    endpoints.join(",")
                ),
            )
        }
        (&Method::POST, ["entity", "auth", "login"]) => {
            let _core = match enter_queue(state).await {
                Ok(c) => c,
                Err(r) => return r,
            };
            login(state, headers, body)
        }
        (&Method::POST, ["entity", "auth", "logout"]) => logout(state, headers),
        (&Method::GET, ["t", tenant, "api", odata_seg, kind, rest @ ..])
            if odata_seg.eq_ignore_ascii_case("odata") =>
        {
            let feed = match kind.to_ascii_lowercase().as_str() {
                "gi" => odata::Feed::GiV4,
                "dac" => odata::Feed::Dac,
                _ => return http_error(StatusCode::NOT_FOUND, "Resource not found.", None),
            };
            odata_request(state, feed, tenant, rest, raw_query, headers).await
        }
        (&Method::GET, [odata_seg, tenant, rest @ ..])
            if odata_seg.eq_ignore_ascii_case("odata") =>
        {
            odata_request(state, odata::Feed::GiV3, tenant, rest, raw_query, headers).await
        }
        (method, ["entity", endpoint, version, rest @ ..])
            if !rest.is_empty()
                && endpoint.eq_ignore_ascii_case("Report")
                && *version == "0001" =>
        {
            let (_core, fault) = match signed_in_and_admitted(state, headers).await {
                Ok(x) => x,
                Err(r) => return r,
            };
            with_fault(report_request(state, method, rest, headers, body), fault).await
        }
        (method, ["entity", endpoint, version, rest @ ..]) if !rest.is_empty() => {
            let endpoints = state.endpoints();
            let Some(ep) = endpoints
                .iter()
                .find(|e| e.endpoint.eq_ignore_ascii_case(endpoint) && e.version == *version)
            else {
                return http_error(
                    StatusCode::NOT_FOUND,
                    &format!("The endpoint {endpoint}/{version} is not found."),
                    None,
                );
            };
            // `swagger.json?company=<tenant>` needs no sign-in (§1.3).
            if method == Method::GET
                && rest == ["swagger.json"]
                && params(raw_query)
                    .get("company")
                    .is_some_and(|c| c.eq_ignore_ascii_case(&state.config.tenant))
            {
                return entity::swagger(state, ep);
            }
            let (_core, fault) = match signed_in_and_admitted(state, headers).await {
                Ok(x) => x,
                Err(r) => return r,
            };
            with_fault(
                entity_request(state, ep, method, rest, raw_query, headers, body).await,
                fault,
            )
            .await
        }
        _ => http_error(
            StatusCode::NOT_FOUND,
            &format!("No HTTP resource was found that matches the request URI '{path}'."),
            None,
        ),
    }
}

fn with_location(mut r: Response, location: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn bad_body(text: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        serde_json::json!({"message": "The request is invalid.", "modelState": {"entity": [text]}})
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_split_on_ampersands_before_decoding_as_asp_net_does() {
        let p = params("$filter=CustomerName%20eq%20'R%26D%3D1'+and+X gt 1&$TOP=5");
        assert_eq!(
            p.get("$filter").unwrap(),
            "CustomerName eq 'R&D=1' and X gt 1"
        );
        assert_eq!(p.get("$top").unwrap(), "5");
        // A bare `&` ends the value, as on the real server.
        let p = params("$filter=Name eq 'A&B'&$top=5");
        assert_eq!(p.get("$filter").unwrap(), "Name eq 'A");
    }
}
