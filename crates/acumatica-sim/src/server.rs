//! HTTP routes: sign-in, entity lists, counters.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use tokio::sync::Semaphore;

use crate::SimConfig;
use crate::custom;
use crate::data::{Data, Entity};
use crate::filter;
use crate::json::{self, Shape};
use crate::oauth;
use crate::odata;
use crate::ops::{self, FileError, Operations, Poll};
use crate::schema::{Endpoint, EntityDef};
use crate::sessions::{Denied, Sessions};
use crate::store::{Store, WriteError};

const VERSIONS: &[&str] = &["23.200.001", "24.200.001"];

/// Detail collections a list request cannot expand (entity, detail).
const UNOPTIMIZABLE: &[(&str, &str)] = &[("Payment", "ApplicationHistory")];

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
    pub requests: u64,
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
    endpoints: Vec<Endpoint>,
    store: Store,
    ops: Operations,
    sessions: Mutex<Sessions>,
    log: Mutex<Vec<RequestRecord>>,
    requests: AtomicU64,
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

/// How a request is signed in.
enum Caller {
    Cookie(String),
    Bearer(String),
}

impl State {
    pub fn new(config: SimConfig, addr: SocketAddr) -> Self {
        Self {
            data: Data {
                seed: config.seed,
                scale: config.scale,
            },
            ops: Operations::new(config.seed),
            cores: (config.max_concurrent_requests > 0)
                .then(|| Semaphore::new(config.max_concurrent_requests)),
            config,
            endpoints: Endpoint::all(),
            store: Store::default(),
            sessions: Mutex::default(),
            log: Mutex::default(),
            requests: AtomicU64::new(0),
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

    pub fn log(&self) -> Vec<RequestRecord> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn clear_log(&self) {
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }

    fn cookie_session(headers: &HeaderMap) -> Option<String> {
        for c in headers.get_all(header::COOKIE) {
            for part in c.to_str().unwrap_or_default().split(';') {
                if let Some(v) = part.trim().strip_prefix("ASP.NET_SessionId=")
                    && !v.is_empty()
                {
                    return Some(v.to_string());
                }
            }
        }
        None
    }

    fn bearer_token(headers: &HeaderMap) -> Option<String> {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string())
    }

    /// Who is calling: a bearer token wins over a cookie, as on the real server.
    fn caller(&self, headers: &HeaderMap) -> Result<Caller, Denied> {
        let mut sessions = self.sessions();
        if let Some(t) = Self::bearer_token(headers) {
            sessions.bearer(&t, self.config.max_sessions)?;
            return Ok(Caller::Bearer(t));
        }
        match Self::cookie_session(headers) {
            Some(id) if sessions.touch(&id) => Ok(Caller::Cookie(id)),
            _ => Err(Denied::NotSignedIn),
        }
    }

    /// Draws the fault (if any) for the next data request.
    fn draw_fault(&self) -> Option<Fault> {
        let f = &self.config.faults;
        if !f.any() {
            return None;
        }
        let n = self.faults_drawn.fetch_add(1, Ordering::Relaxed);
        let x = (crate::data::mix(
            self.config.seed ^ 0xFA17_FA17 ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D),
        ) >> 11) as f64
            / (1u64 << 53) as f64;
        let mut edge = 0.0;
        for (rate, fault) in [
            (f.rate_429, Fault::TooMany),
            (f.rate_5xx, Fault::Unavailable),
            (f.rate_drop, Fault::Drop),
            (f.rate_expire, Fault::Expire),
        ] {
            edge += rate;
            if x < edge {
                self.faults_injected.fetch_add(1, Ordering::Relaxed);
                return Some(fault);
            }
        }
        None
    }

    /// The documented requests-per-minute delay: once the past minute holds half of the limit,
    /// each request waits (time left in that minute) / (limit − requests in it).
    fn rpm_delay(&self) -> Duration {
        let limit = self.config.requests_per_minute as usize;
        if limit == 0 {
            return Duration::ZERO;
        }
        let now = Instant::now();
        let Ok(mut recent) = self.recent.lock() else {
            return Duration::ZERO;
        };
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            recent.pop_front();
        }
        let n = recent.len();
        let delay = if n * 2 >= limit {
            let first = *recent.front().unwrap_or(&now);
            let left = (first + Duration::from_secs(60)).saturating_duration_since(now);
            left / (limit.saturating_sub(n).max(1) as u32)
        } else {
            Duration::ZERO
        };
        recent.push_back(now + delay);
        delay
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    TooMany,
    Unavailable,
    Drop,
    Expire,
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
    let response = route(
        &state,
        &method,
        &path,
        &query,
        &decoded_query,
        &headers,
        &body,
    )
    .await;
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

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn params(query: &str) -> HashMap<String, String> {
    // `query` is already decoded; split on '&' that start a `$name=` or plain `name=` pair.
    let mut out = HashMap::new();
    let mut current: Option<(String, String)> = None;
    for part in query.split('&') {
        match part.split_once('=') {
            // `$option`, a plain name, or an OData parameter alias (`@1`).
            Some((k, v))
                if k.starts_with('$')
                    || k.starts_with('@')
                    || k.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                if let Some((k0, v0)) = current.take() {
                    out.insert(k0, v0);
                }
                current = Some((k.to_ascii_lowercase(), v.to_string()));
            }
            _ => {
                if let Some((_, v)) = current.as_mut() {
                    v.push('&');
                    v.push_str(part);
                }
            }
        }
    }
    if let Some((k, v)) = current {
        out.insert(k, v);
    }
    out
}

fn not_logged_in() -> Response {
    http_error(StatusCode::UNAUTHORIZED, "You are not logged in.", None)
}

fn login_limit() -> Response {
    http_error(
        StatusCode::TOO_MANY_REQUESTS,
        "An error has occurred.",
        Some(("API Login Limit", "PX.Data.PXException")),
    )
}

/// Holds one of the licence's "API processing cores" while a request runs.
enum Core<'a> {
    Unlimited,
    Held(#[allow(dead_code)] tokio::sync::SemaphorePermit<'a>),
}

/// Queues for an API processing core; more than 20 waiting → declined.
async fn enter_queue(state: &State) -> Result<Core<'_>, Response> {
    let Some(cores) = &state.cores else {
        return Ok(Core::Unlimited);
    };
    if let Ok(p) = cores.try_acquire() {
        return Ok(Core::Held(p));
    }
    if state.queued.fetch_add(1, Ordering::SeqCst) >= 20 {
        state.queued.fetch_sub(1, Ordering::SeqCst);
        state.declined.fetch_add(1, Ordering::Relaxed);
        return Err(iis_429());
    }
    let permit = cores.acquire().await;
    state.queued.fetch_sub(1, Ordering::SeqCst);
    permit
        .map(Core::Held)
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE.into_response())
}

/// The body IIS substitutes for a 429 it does not know.
fn iis_429() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "text/plain")],
        "The custom error module does not recognize this error.",
    )
        .into_response()
}

/// After sign-in: the licence's request queue and per-minute pacing, the latency model and the
/// injected faults. Returns the held core and a fault to apply to the response (a drop).
async fn admit<'a>(
    state: &'a State,
    caller: Option<&Caller>,
) -> Result<(Core<'a>, Option<Fault>), Response> {
    let core = enter_queue(state).await?;
    let wait = state.rpm_delay() + state.config.latency;
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    let fault = state.draw_fault();
    match fault {
        Some(Fault::TooMany) => Err(iis_429()),
        Some(Fault::Unavailable) => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>HTTP Error 503. The service is unavailable.</p></body></html>",
        )
            .into_response()),
        Some(Fault::Expire) => {
            let mut s = state.sessions();
            match caller {
                Some(Caller::Cookie(id)) => {
                    s.close(id);
                }
                Some(Caller::Bearer(t)) => s.expire_token(t),
                None => {}
            }
            Err(not_logged_in())
        }
        Some(Fault::Drop) | None => Ok((core, fault)),
    }
}

/// OData: `/t/<tenant>/api/odata/{gi|dac}/…` and `/odata/<tenant>/…`. Accepts the API session
/// cookie, a bearer token, or HTTP Basic credentials (which open no API session).
async fn odata_request(
    state: &State,
    feed: odata::Feed,
    tenant: &str,
    rest: &[&str],
    query: &str,
    headers: &HeaderMap,
) -> Response {
    let basic_ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .is_some_and(|s| {
            let (user, password) = s.split_once(':').unwrap_or((&s, ""));
            let user = user.split('@').next().unwrap_or_default();
            user == state.config.user && password == state.config.password
        });
    let caller = if basic_ok {
        None
    } else {
        match state.caller(headers) {
            Ok(c) => Some(c),
            Err(Denied::LoginLimit) => return login_limit(),
            Err(Denied::NotSignedIn) => {
                let mut r = not_logged_in();
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"Acumatica\""),
                );
                return r;
            }
        }
    };
    if !percent_decode(tenant).eq_ignore_ascii_case(&state.config.tenant) {
        return http_error(
            StatusCode::NOT_FOUND,
            &format!("The tenant '{tenant}' is not found."),
            None,
        );
    }
    let (_core, fault) = match admit(state, caller.as_ref()).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let context = match feed {
        odata::Feed::GiV3 => format!("{}/odata/{tenant}", state.base_url),
        odata::Feed::GiV4 => format!("{}/t/{tenant}/api/odata/gi", state.base_url),
        odata::Feed::Dac => format!("{}/t/{tenant}/api/odata/dac", state.base_url),
    };
    let r = match rest {
        [] | [""] => json_response(StatusCode::OK, odata::service(feed, &context)),
        ["$metadata"] => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/xml")],
            odata::metadata(feed),
        )
            .into_response(),
        [set] => match odata::query(&state.data, feed, set, &params(query), &context) {
            Ok(body) => {
                let mut r = json_response(StatusCode::OK, body);
                r.headers_mut().insert(
                    "OData-Version",
                    HeaderValue::from_static(if feed == odata::Feed::GiV3 {
                        "3.0"
                    } else {
                        "4.0"
                    }),
                );
                r
            }
            Err(odata::ODataError(status, body)) => json_response(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                body,
            ),
        },
        _ => http_error(StatusCode::NOT_FOUND, "Resource not found.", None),
    };
    if matches!(fault, Some(Fault::Drop)) {
        return dropped(r).await;
    }
    r
}

/// A contract API request's caller (401 or the login limit otherwise), then its turn in the
/// licence's queue: the held core and a fault to apply to the response.
async fn signed_in_and_admitted<'a>(
    state: &'a State,
    headers: &HeaderMap,
) -> Result<(Core<'a>, Option<Fault>), Response> {
    let caller = match state.caller(headers) {
        Ok(c) => c,
        Err(Denied::NotSignedIn) => return Err(not_logged_in()),
        Err(Denied::LoginLimit) => return Err(login_limit()),
    };
    admit(state, Some(&caller)).await
}

/// The response as sent: cut short when the drawn fault is a dropped connection.
async fn with_fault(r: Response, fault: Option<Fault>) -> Response {
    if matches!(fault, Some(Fault::Drop)) {
        dropped(r).await
    } else {
        r
    }
}

/// A response whose connection drops halfway through the body.
async fn dropped(r: Response) -> Response {
    let (parts, body) = r.into_parts();
    let full = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    let half = full.slice(..full.len() / 2);
    let stream = futures::stream::iter(vec![
        Ok::<Bytes, std::io::Error>(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated dropped connection",
        )),
    ]);
    let mut parts = parts;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from_stream(stream))
}

#[allow(clippy::too_many_arguments)]
async fn route(
    state: &State,
    method: &Method,
    path: &str,
    raw_query: &str,
    query: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
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
        (&Method::GET, ["entity"]) => {
            let endpoints: Vec<String> = VERSIONS
                .iter()
                .map(|v| format!("{{\"name\":\"Default\",\"version\":\"{v}\",\"href\":\"/entity/Default/{v}/\"}}"))
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
            odata_request(state, feed, tenant, rest, query, headers).await
        }
        (&Method::GET, [odata_seg, tenant, rest @ ..])
            if odata_seg.eq_ignore_ascii_case("odata") =>
        {
            odata_request(state, odata::Feed::GiV3, tenant, rest, query, headers).await
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
            let Some(ep) = state
                .endpoints
                .iter()
                .find(|e| e.endpoint.eq_ignore_ascii_case(endpoint) && e.version == *version)
            else {
                return http_error(
                    StatusCode::NOT_FOUND,
                    &format!("The endpoint {endpoint}/{version} is not found."),
                    None,
                );
            };
            let (_core, fault) = match signed_in_and_admitted(state, headers).await {
                Ok(x) => x,
                Err(r) => return r,
            };
            with_fault(
                entity_request(state, ep, method, rest, query, headers, body).await,
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

fn no_entity() -> Response {
    http_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "An error has occurred.",
        Some((
            "No entity satisfies the condition.",
            "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException",
        )),
    )
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Everything under `/entity/<Endpoint>/<Version>/`, once signed in and admitted.
async fn entity_request(
    state: &State,
    ep: &Endpoint,
    method: &Method,
    rest: &[&str],
    query: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let decoded: Vec<String> = rest.iter().map(|s| percent_decode(s)).collect();
    let rest: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let rest = rest.as_slice();
    let name = rest[0];
    if name == "swagger.json" && rest.len() == 1 && method == Method::GET {
        let base = format!("/entity/{}/{}", ep.endpoint, ep.version);
        return json_response(StatusCode::OK, ep.swagger(&base));
    }
    if name == "files" {
        return files_request(state, ep, method, rest, headers, body);
    }
    let Some(def) = ep.top_level(name) else {
        return http_error(
            StatusCode::NOT_FOUND,
            &format!(
                "No HTTP resource was found that matches the request URI '/entity/{}/{}/{name}'.",
                ep.endpoint, ep.version
            ),
            None,
        );
    };
    if let Some(r) = operation(state, ep, def, method, rest, headers, body) {
        return r;
    }
    let p = params(query);
    let shape_parts = (
        split_list(p.get("$select")),
        split_list(p.get("$expand")).unwrap_or_default(),
        split_list(p.get("$custom")).unwrap_or_default(),
    );
    if let Err(r) = check_custom(ep, def, &shape_parts.2) {
        return *r;
    }
    let links_base = format!("/entity/{}/{}/", ep.endpoint, ep.version);
    let files = |id: &str| state.ops.files_json(id, &links_base);
    let write_one = |r: &crate::data::Record| -> Response {
        let shape = Shape {
            select: shape_parts.0.as_deref(),
            expand: &shape_parts.1,
            links: (ep.version == "24.200.001").then_some((links_base.as_str(), def.name.as_str())),
            custom: &shape_parts.2,
            files: Some(&files),
        };
        let mut out = String::new();
        json::record(&mut out, r, 1, true, &shape, "", Some(ep), &def.name);
        json_response(StatusCode::OK, out)
    };
    let data = &state.data;
    match (method, rest.len()) {
        (&Method::GET, 1) => {
            let (r, rows) = list(state, ep, def, query);
            let per_row = state.config.latency_per_row * rows as u32;
            if !per_row.is_zero() {
                tokio::time::sleep(per_row).await;
            }
            r
        }
        (&Method::GET, _) => {
            let keys: Vec<&str> = if rest.len() == 2 {
                rest[1].split('|').collect()
            } else {
                rest[1..].to_vec()
            };
            let found = if keys.len() == 1 && is_guid(keys[0]) {
                state.store.by_id(data, def, keys[0])
            } else {
                state.store.by_keys(data, def, &keys)
            };
            match found {
                Some(r) => write_one(&r),
                None => no_entity(),
            }
        }
        (&Method::PUT | &Method::PATCH, 1) if body.iter().all(u8::is_ascii_whitespace) => json_response(
            StatusCode::BAD_REQUEST,
            "{\"message\":\"The request is invalid.\",\"modelState\":{\"\":[\"The request body should not be empty.\"]}}".into(),
        ),
        (&Method::PUT | &Method::PATCH, 1) => {
            // PATCH updates an existing record only (404 when there is none).
            let patch = method == Method::PATCH;
            let mut value: serde_json::Value = match crate::lenient::parse(body) {
                Ok(v) => v,
                Err(e) => {
                    return json_response(
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({"message": "The request is invalid.", "modelState": {"entity": [format!("The request body is not valid JSON: {e}")]}}).to_string(),
                    );
                }
            };
            let star = |h: header::HeaderName| {
                headers
                    .get(h)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim() == "*")
            };
            if is_inquiry(def) {
                // An inquiry or processing form: the body holds its parameters; nothing is stored.
                return match state.store.parameters(ep, def, &value) {
                    Ok(r) => write_one(&r),
                    Err(WriteError::Invalid(echo)) => {
                        json_response(StatusCode::UNPROCESSABLE_ENTITY, echo.to_string())
                    }
                    Err(_) => json_response(
                        StatusCode::BAD_REQUEST,
                        "{\"message\":\"The request is invalid.\",\"modelState\":{\"entity\":[\"The request body must be an entity (a JSON object).\"]}}".into(),
                    ),
                };
            }
            // `PUT ?$filter=…` updates the first record the filter selects.
            if let Some(f) = p.get("$filter") {
                match find_by_filter(state, ep, def, f) {
                    Ok(Some(id)) => {
                        if let Some(o) = value.as_object_mut() {
                            o.insert("id".into(), serde_json::Value::String(id));
                        }
                    }
                    Ok(None) => {}
                    Err(r) => return *r,
                }
            }
            let now = chrono::Utc::now().timestamp();
            let if_none_match = star(header::IF_NONE_MATCH);
            match state.store.upsert(data, ep, def, &value, star(header::IF_MATCH) || (patch && !if_none_match), if_none_match, now) {
                Ok(r) => write_one(&r),
                Err(WriteError::Precondition) if patch && !if_none_match => http_error(
                    StatusCode::NOT_FOUND,
                    "The record to update is not found.",
                    None,
                ),
                Err(WriteError::BadRequest(m)) => json_response(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"message": "The request is invalid.", "modelState": {"entity": [m]}}).to_string(),
                ),
                Err(WriteError::Precondition) => http_error(StatusCode::PRECONDITION_FAILED, "The precondition given in If-Match or If-None-Match is not satisfied.", None),
                Err(WriteError::Invalid(echo)) => json_response(StatusCode::UNPROCESSABLE_ENTITY, echo.to_string()),
                Err(WriteError::NotFound) => no_entity(),
            }
        }
        (&Method::DELETE, n) if n > 1 => {
            let keys: Vec<&str> = if n == 2 {
                rest[1].split('|').collect()
            } else {
                rest[1..].to_vec()
            };
            match state.store.delete(data, def, &keys) {
                Ok(()) => StatusCode::NO_CONTENT.into_response(),
                Err(_) => no_entity(),
            }
        }
        _ => http_error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("The requested resource does not support http method '{method}'."),
            None,
        ),
    }
}

fn logout(state: &State, headers: &HeaderMap) -> Response {
    let id = match State::bearer_token(headers) {
        Some(t) => state.sessions().session_of_token(&t),
        None => State::cookie_session(headers),
    };
    if let Some(id) = id
        && state.sessions().close(&id)
    {
        state.logouts.fetch_add(1, Ordering::Relaxed);
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    for c in [
        ".ASPXAUTH=; expires=Tue, 12-Oct-1999 00:00:00 GMT; path=/; HttpOnly",
        "ASP.NET_SessionId=; expires=Tue, 12-Oct-1999 00:00:00 GMT; path=/",
    ] {
        r.headers_mut()
            .append(header::SET_COOKIE, HeaderValue::from_static(c));
    }
    r
}

fn login(state: &State, _headers: &HeaderMap, body: &Bytes) -> Response {
    #[derive(Deserialize)]
    struct Credentials {
        name: Option<String>,
        password: Option<String>,
        tenant: Option<String>,
        company: Option<String>,
    }
    let Ok(c) = crate::lenient::parse(body).and_then(serde_json::from_value::<Credentials>) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            "{\"message\":\"The request is invalid.\",\"modelState\":{\"credentials\":[\"The request body is not valid JSON.\"]}}".into(),
        );
    };
    let tenant_ok = c
        .tenant
        .or(c.company)
        .is_none_or(|t| t.is_empty() || t.eq_ignore_ascii_case(&state.config.tenant));
    if c.name.as_deref() != Some(state.config.user.as_str())
        || c.password.as_deref() != Some(state.config.password.as_str())
        || !tenant_ok
    {
        return http_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An error has occurred.",
            Some((
                "Error: Invalid credentials. Please try again.",
                "PX.Data.PXException",
            )),
        );
    }
    let Some(id) = state.sessions().open(state.config.max_sessions) else {
        return login_limit();
    };
    let n = state.logins.fetch_add(1, Ordering::Relaxed) + 1;
    let mut r = StatusCode::NO_CONTENT.into_response();
    for c in [
        format!(
            ".ASPXAUTH={:064X}; path=/; HttpOnly; SameSite=None",
            crate::data::mix(n ^ state.config.seed)
        ),
        format!("ASP.NET_SessionId={id}; path=/; HttpOnly; SameSite=Lax"),
        format!("CompanyID={}; path=/", state.config.tenant),
        "Locale=Culture=en-US&TimeZone=GMTE0000U; path=/".to_string(),
        "UserBranch=1; path=/".to_string(),
        format!("requestid={:032X}; path=/", n),
        format!(
            "requeststat=+st:{}+sc:~/entity/auth/login+tg:; path=/",
            100 + n % 50
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

fn split_list(v: Option<&String>) -> Option<Vec<String>> {
    v.map(|s| {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
}

/// Serves a list request; also returns the number of records written.
fn list(state: &State, ep: &Endpoint, def: &EntityDef, query: &str) -> (Response, usize) {
    match list_inner(state, ep, def, query) {
        Ok(r) => r,
        Err(r) => (*r, 0),
    }
}

fn list_inner(
    state: &State,
    ep: &Endpoint,
    def: &EntityDef,
    query: &str,
) -> Result<(Response, usize), Box<Response>> {
    let p = params(query);
    let version = ep.version.as_str();
    let parse_n = |k: &str| -> Result<Option<usize>, Box<Response>> {
        match p.get(k) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                Box::new(http_error(
                    StatusCode::BAD_REQUEST,
                    &format!("The value '{v}' of {k} is not a valid number."),
                    None,
                ))
            }),
        }
    };
    let top = parse_n("$top")?;
    let skip = parse_n("$skip")?.unwrap_or(0);
    let select = split_list(p.get("$select"));
    let expand = split_list(p.get("$expand")).unwrap_or_default();
    let custom_paths = split_list(p.get("$custom")).unwrap_or_default();
    check_custom(ep, def, &custom_paths)?;
    let filter = match p.get("$filter").map(|f| filter::parse(f)) {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            return Err(Box::new(http_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An error has occurred.",
                Some((&e.0, "PX.Api.ContractBased.ODataException")),
            )));
        }
    };
    if let Some(f) = &filter {
        let mut paths = Vec::new();
        filter::paths(f, &mut paths);
        for path in &paths {
            check_filter_path(ep, def, path)?;
        }
    }
    // Some detail views have BQL delegates: an optimized list cannot expand them (the
    // documented failure of `Payment?$expand=ApplicationHistory`); get-by-keys can.
    if let Some(d) = expand.iter().find(|x| {
        UNOPTIMIZABLE.iter().any(|(e, f)| {
            def.name == *e
                && x.split('/')
                    .next()
                    .is_some_and(|h| h.eq_ignore_ascii_case(f))
        })
    }) {
        return Err(Box::new(http_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An error has occurred.",
            Some((
                &format!(
                    "Optimization cannot be performed.The following fields cause the error:\r\n{d}: View {d} has BQL delegate"
                ),
                "PX.Api.ContractBased.Optimization.CannotOptimizeException",
            )),
        )));
    }
    let with_details = !expand.is_empty();
    let base = format!("/entity/{}/{version}/", ep.endpoint);
    let links = (version == "24.200.001").then_some((base.as_str(), def.name.as_str()));
    let files = |id: &str| state.ops.files_json(id, &base);
    let shape = Shape {
        select: select.as_deref(),
        expand: &expand,
        links,
        custom: &custom_paths,
        files: Some(&files),
    };
    let cf = |path: &str, r: &crate::data::Record| custom::value_at(&def.name, path, r);
    let mut out = String::with_capacity(256 * 1024);
    out.push('[');
    let pristine = state.store.pristine(&def.name);
    // Without a filter or writes, `$skip` jumps straight to its record.
    let start = if filter.is_none() && pristine {
        skip
    } else {
        0
    };
    let written = std::cell::Cell::new(0usize);
    let matched = std::cell::Cell::new(start);
    let fail = |e: filter::FilterError| {
        Box::new(http_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An error has occurred.",
            Some((&e.0, "PX.Api.ContractBased.ODataException")),
        ))
    };
    // One record through filter, skip and top; false once `$top` is reached.
    let offer = |r: &crate::data::Record, out: &mut String| -> Result<bool, Box<Response>> {
        if top.is_some_and(|t| written.get() >= t) {
            return Ok(false);
        }
        if let Some(f) = &filter
            && !filter::eval_with(f, r, &cf).map_err(fail)?
        {
            return Ok(true);
        }
        matched.set(matched.get() + 1);
        if matched.get() <= skip {
            return Ok(true);
        }
        if written.get() > 0 {
            out.push(',');
        }
        written.set(written.get() + 1);
        json::record(out, r, written.get(), true, &shape, "", Some(ep), &def.name);
        Ok(true)
    };
    if let Some(entity) = Entity::parse(&def.name) {
        for i in start..state.data.count(entity) {
            if top.is_some_and(|t| written.get() >= t) {
                break;
            }
            // Filters never reach into details (refused above): test the bare record first.
            if let Some(f) = &filter
                && pristine
                && !filter::eval_with(f, &state.data.record(entity, i, false), &cf).map_err(fail)?
            {
                continue;
            }
            // Untouched data needs no overlay lookup (a lock) per record.
            let r = if pristine {
                state.data.record(entity, i, with_details)
            } else {
                match state
                    .store
                    .generated(&state.data, entity, i, with_details, &def.keys)
                {
                    Some(r) => r,
                    None => continue,
                }
            };
            if !offer(&r, &mut out)? {
                break;
            }
        }
    }
    for r in state.store.created(&def.name) {
        if !offer(&r, &mut out)? {
            break;
        }
    }
    out.push(']');
    Ok((json_response(StatusCode::OK, out), written.get()))
}

/// A `$filter` may name the entity's value fields and fields of its linked entities; a detail
/// field fails with the documented "optimization" error; anything else does not exist.
fn check_filter_path(ep: &Endpoint, def: &EntityDef, path: &str) -> Result<(), Box<Response>> {
    let refuse = |text: String, kind: &str| {
        Box::new(http_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An error has occurred.",
            Some((&text, kind)),
        ))
    };
    let missing = || {
        refuse(
            format!(
                "The field '{path}' is not found in the entity '{}'.",
                def.name
            ),
            "PX.Api.ContractBased.ODataException",
        )
    };
    if let Some(cf) = path.strip_prefix(filter::CUSTOM_PREFIX) {
        return match custom::find(&def.name, cf) {
            Some(_) => Ok(()),
            None if !modeled(&def.name) => Ok(()),
            None => Err(refuse(
                format!(
                    "The custom field '{cf}' is not found in the entity '{}'.",
                    def.name
                ),
                "PX.Api.ContractBased.ODataException",
            )),
        };
    }
    match path.split_once('/') {
        None => match ep.member(&def.name, path) {
            Some(f) if f.wrapper.is_some() => Ok(()),
            _ => Err(missing()),
        },
        Some((head, tail)) => {
            let f = ep.member(&def.name, head).ok_or_else(missing)?;
            if f.detail.is_some() {
                return Err(refuse(
                    format!(
                        "Optimization cannot be performed.The following fields cause the error:\r\n{path}: filtering on detail entities is not supported"
                    ),
                    "PX.Api.ContractBased.Optimization.CannotOptimizeException",
                ));
            }
            match f.linked.as_deref().and_then(|l| ep.member(l, tail)) {
                Some(x) if x.wrapper.is_some() => Ok(()),
                _ => Err(missing()),
            }
        }
    }
}

/// Whether the simulator models this (sub)entity's screen: custom fields outside the known
/// ones are refused there, and accepted (and written as nothing) elsewhere.
fn modeled(entity: &str) -> bool {
    Entity::parse(entity).is_some() || custom::declares(entity)
}

fn custom_error(text: String) -> Box<Response> {
    Box::new(http_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "An error has occurred.",
        Some((&text, "PX.Api.ContractBased.ODataException")),
    ))
}

/// `$custom` paths: `<View>.<Field>` or `<Member>/…/<View>.<Field>`.
fn check_custom(ep: &Endpoint, def: &EntityDef, paths: &[String]) -> Result<(), Box<Response>> {
    for p in paths {
        let (members, field) = match p.rsplit_once('/') {
            Some((m, f)) => (Some(m), f),
            None => (None, p.as_str()),
        };
        let mut entity = def.name.clone();
        for seg in members.into_iter().flat_map(|m| m.split('/')) {
            match ep.target(&entity, seg) {
                Some(t) => entity = t.to_string(),
                None => {
                    return Err(custom_error(format!(
                        "The entity '{entity}' has no member '{seg}' ($custom={p})."
                    )));
                }
            }
        }
        if !field.contains('.') {
            return Err(custom_error(format!(
                "The custom field '{field}' must be written as <View>.<Field>."
            )));
        }
        if custom::find(&entity, field).is_none() && modeled(&entity) {
            return Err(custom_error(format!(
                "The custom field '{field}' is not found in the entity '{entity}'."
            )));
        }
    }
    Ok(())
}

/// Inquiry and processing forms: no keys, a `Results` (or `Result`) collection.
fn is_inquiry(def: &EntityDef) -> bool {
    def.keys.is_empty()
        && def
            .fields
            .iter()
            .any(|f| f.detail.is_some() && matches!(f.name.as_str(), "Results" | "Result"))
}

/// The id of the first record a `$filter` selects (for `PUT ?$filter=`).
fn find_by_filter(
    state: &State,
    ep: &Endpoint,
    def: &EntityDef,
    text: &str,
) -> Result<Option<String>, Box<Response>> {
    let f = filter::parse(text).map_err(|e| custom_error(e.0))?;
    let mut paths = Vec::new();
    filter::paths(&f, &mut paths);
    for path in &paths {
        check_filter_path(ep, def, path)?;
    }
    let cf = |path: &str, r: &crate::data::Record| custom::value_at(&def.name, path, r);
    let hit =
        |r: &crate::data::Record| filter::eval_with(&f, r, &cf).map_err(|e| custom_error(e.0));
    if let Some(e) = Entity::parse(&def.name) {
        for i in 0..state.data.count(e) {
            if let Some(r) = state.store.generated(&state.data, e, i, false, &def.keys)
                && hit(&r)?
            {
                return Ok(Some(r.id));
            }
        }
    }
    for r in state.store.created(&def.name) {
        if hit(&r)? {
            return Ok(Some(r.id));
        }
    }
    Ok(None)
}

/// An action of the entity: one of its contract actions or a workflow action.
fn action_name<'a>(def: &'a EntityDef, action: &str) -> Option<&'a str> {
    def.actions
        .iter()
        .map(String::as_str)
        .chain(ops::WORKFLOW_ACTIONS.iter().copied())
        .find(|a| a.eq_ignore_ascii_case(action))
}

fn with_location(mut r: Response, location: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// `$adHocSchema`, actions and their status, and files attached by keys.
fn operation(
    state: &State,
    ep: &Endpoint,
    def: &EntityDef,
    method: &Method,
    rest: &[&str],
    headers: &HeaderMap,
    body: &Bytes,
) -> Option<Response> {
    let base = format!("/entity/{}/{}/", ep.endpoint, ep.version);
    match (method, rest) {
        (&Method::GET, [_, "$adHocSchema"]) => Some(json_response(
            StatusCode::OK,
            json::adhoc_schema(ep, &def.name),
        )),
        (&Method::POST, [_, action]) => Some(invoke(state, ep, def, action, body, &base)),
        (&Method::GET, [_, action, status, id])
            if status.eq_ignore_ascii_case("status") && action_name(def, action).is_some() =>
        {
            Some(match state.ops.poll(id) {
                Poll::Running => with_location(
                    StatusCode::ACCEPTED.into_response(),
                    &format!("{base}{}/{action}/status/{id}", def.name),
                ),
                Poll::Done(Some(entity)) => {
                    with_location(StatusCode::NO_CONTENT.into_response(), &entity)
                }
                Poll::Done(None) => StatusCode::NO_CONTENT.into_response(),
                Poll::Unknown => http_error(
                    StatusCode::NOT_FOUND,
                    &format!("The operation '{id}' is not found."),
                    None,
                ),
            })
        }
        (&Method::PUT, [_, keys @ .., files, filename])
            if !keys.is_empty() && files.eq_ignore_ascii_case("files") =>
        {
            Some(match state.store.by_keys(&state.data, def, keys) {
                Some(r) => attach(state, def, &r, filename, headers, body, &base),
                None => no_entity(),
            })
        }
        _ => None,
    }
}

fn bad_body(text: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        serde_json::json!({"message": "The request is invalid.", "modelState": {"entity": [text]}})
            .to_string(),
    )
}

/// `POST <Entity>/<Action>` with `{"entity": {…}, "parameters": {…}}`: 202 and the status URL.
fn invoke(
    state: &State,
    ep: &Endpoint,
    def: &EntityDef,
    action: &str,
    body: &Bytes,
    base: &str,
) -> Response {
    let Some(name) = action_name(def, action) else {
        return http_error(
            StatusCode::NOT_FOUND,
            &format!(
                "The action '{action}' is not found in the entity '{}'.",
                def.name
            ),
            None,
        );
    };
    let value: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::json!({})
    } else {
        match crate::lenient::parse(body) {
            Ok(v) => v,
            Err(e) => return bad_body(&format!("The request body is not valid JSON: {e}")),
        }
    };
    let Some(obj) = value.as_object() else {
        return bad_body("The request body must be an object with 'entity' and 'parameters'.");
    };
    let entity = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("entity"))
        .map(|(_, v)| v);
    // Which record: by id, else by its keys when all are given.
    let mut record = None;
    if let Some(e) = entity.and_then(serde_json::Value::as_object) {
        let value_of = |k: &str| {
            e.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .and_then(|(_, v)| v.get("value"))
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
        };
        if let Some(id) = e.get("id").and_then(serde_json::Value::as_str) {
            // A form without keys (an inquiry, a processing filter) has session-scoped ids.
            match state.store.by_id(&state.data, def, id) {
                Some(r) => record = Some(r),
                None if def.keys.is_empty() => {}
                None => return no_entity(),
            }
        } else if !def.keys.is_empty() {
            let keys: Option<Vec<String>> = def.keys.iter().map(|k| value_of(k)).collect();
            if let Some(keys) = keys {
                let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                match state.store.by_keys(&state.data, def, &refs) {
                    Some(r) => record = Some(r),
                    None => return no_entity(),
                }
            }
        }
    }
    if let (Some(r), Some(status)) = (&record, ops::status_after(name))
        && def.fields.iter().any(|f| f.name == "Status")
    {
        let patch = serde_json::json!({"id": r.id, "Status": {"value": status}});
        let now = chrono::Utc::now().timestamp();
        let _ = state
            .store
            .upsert(&state.data, ep, def, &patch, true, false, now);
    }
    let result = record.map(|r| format!("{base}{}/{}", def.name, r.id));
    let id = state.ops.start(result);
    with_location(
        StatusCode::ACCEPTED.into_response(),
        &format!("{base}{}/{name}/status/{id}", def.name),
    )
}

/// Stores a file on a record: 204 and the file's URL.
fn attach(
    state: &State,
    def: &EntityDef,
    r: &crate::data::Record,
    filename: &str,
    headers: &HeaderMap,
    body: &Bytes,
    base: &str,
) -> Response {
    let comment = headers
        .get("PX-CbFileComment")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let shown = format!(
        "{} ({})\\{filename}",
        def.name,
        crate::store::key_of(r, &def.keys)
    );
    match state.ops.attach(&r.id, shown, comment, body.to_vec()) {
        Ok(id) => with_location(
            StatusCode::NO_CONTENT.into_response(),
            &format!("{base}files/{id}"),
        ),
        Err(FileError::TooLarge) => http_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "The file is too large: files up to {} MB are accepted.",
                ops::MAX_FILE >> 20
            ),
            None,
        ),
    }
}

/// `GET <base>/files/<id>` and `PUT <base>/files/<Graph>/<View>/<record id>/<name>`.
fn files_request(
    state: &State,
    ep: &Endpoint,
    method: &Method,
    rest: &[&str],
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let base = format!("/entity/{}/{}/", ep.endpoint, ep.version);
    match (method, rest) {
        (&Method::GET, [_, id]) => match state.ops.file(id) {
            Some(f) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, ops::content_type(&f.filename))],
                f.bytes,
            )
                .into_response(),
            None => http_error(
                StatusCode::NOT_FOUND,
                &format!("The file '{id}' is not found."),
                None,
            ),
        },
        (&Method::PUT, [_, graph @ .., id, filename]) if !graph.is_empty() => {
            // Our own links name the entity; the real ones name the graph and view.
            let named = graph.iter().filter_map(|g| ep.top_level(g));
            let modeled = Entity::ALL.iter().filter_map(|e| ep.top_level(e.name()));
            for def in named.chain(modeled) {
                if let Some(r) = state.store.by_id(&state.data, def, id) {
                    return attach(state, def, &r, filename, headers, body, &base);
                }
            }
            no_entity()
        }
        _ => http_error(
            StatusCode::NOT_FOUND,
            &format!(
                "No HTTP resource was found that matches the request URI '{base}{}'.",
                rest.join("/")
            ),
            None,
        ),
    }
}

/// The `Report` endpoint (`/entity/Report/0001/<Report>`): `POST` starts a report (202 +
/// `Location: …/<Report>/report/<FORMAT>/<id>`), `GET` of that URL answers 202 until it is
/// ready, then the file.
fn report_request(
    state: &State,
    method: &Method,
    rest: &[&str],
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let find = |name: &str| {
        ops::REPORTS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&percent_decode(name)))
    };
    let missing = |name: &str| {
        http_error(
            StatusCode::NOT_FOUND,
            &format!("The report '{name}' is not found in the endpoint Report/0001."),
            None,
        )
    };
    match (method, rest) {
        (&Method::POST, [name]) => {
            let Some((report, _)) = find(name) else {
                return missing(name);
            };
            let params: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
                serde_json::json!({})
            } else {
                match crate::lenient::parse(body) {
                    Ok(v @ serde_json::Value::Object(_)) => v,
                    Ok(_) => return bad_body("The report parameters must be a JSON object."),
                    Err(e) => {
                        return bad_body(&format!("The request body is not valid JSON: {e}"));
                    }
                }
            };
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            let format = if accept.contains("text/html") {
                "HTML"
            } else if accept.contains("spreadsheetml") {
                return http_error(
                    StatusCode::BAD_REQUEST,
                    "The simulator renders reports as PDF or HTML only.",
                    None,
                );
            } else {
                "PDF"
            };
            let id = state.ops.start(Some(params.to_string()));
            with_location(
                StatusCode::ACCEPTED.into_response(),
                &format!("/entity/Report/0001/{report}/report/{format}/{id}"),
            )
        }
        (&Method::GET, [name, report_seg, format, id])
            if report_seg.eq_ignore_ascii_case("report") =>
        {
            let Some((report, title)) = find(name) else {
                return missing(name);
            };
            match state.ops.poll(id) {
                Poll::Running => StatusCode::ACCEPTED.into_response(),
                Poll::Unknown => http_error(
                    StatusCode::NOT_FOUND,
                    &format!("The report '{id}' is not found or has expired."),
                    None,
                ),
                Poll::Done(params) => {
                    let params = params.unwrap_or_default();
                    let lines = vec![
                        title.to_string(),
                        format!("Report {report}, tenant {}", state.config.tenant),
                        format!("Parameters: {params}"),
                    ];
                    if format.eq_ignore_ascii_case("HTML") {
                        let mut html = String::from("<html><body>");
                        for l in &lines {
                            html.push_str("<p>");
                            html.push_str(
                                &l.replace('&', "&amp;")
                                    .replace('<', "&lt;")
                                    .replace('>', "&gt;"),
                            );
                            html.push_str("</p>");
                        }
                        html.push_str("</body></html>");
                        (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], html)
                            .into_response()
                    } else {
                        (
                            StatusCode::OK,
                            [(header::CONTENT_TYPE, "application/pdf")],
                            ops::pdf(&lines),
                        )
                            .into_response()
                    }
                }
            }
        }
        _ => http_error(
            StatusCode::NOT_FOUND,
            &format!(
                "No HTTP resource was found that matches the request URI '/entity/Report/0001/{}'.",
                rest.join("/")
            ),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_keep_ampersands_inside_values() {
        let p = params("$filter=Name eq 'A&B' and X gt 1&$top=5");
        assert_eq!(p.get("$filter").unwrap(), "Name eq 'A&B' and X gt 1");
        assert_eq!(p.get("$top").unwrap(), "5");
        assert_eq!(percent_decode("a%27b%20c"), "a'b c");
    }
}
