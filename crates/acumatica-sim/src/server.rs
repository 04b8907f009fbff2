//! HTTP routes: sign-in, entity lists, counters.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::SimConfig;
use crate::data::{Data, Entity};
use crate::filter;
use crate::json::{self, Shape};

const VERSIONS: &[&str] = &["23.200.001", "24.200.001"];

#[derive(Deserialize)]
struct SchemaFile {
    entities: Vec<SchemaEntity>,
}

#[derive(Deserialize)]
struct SchemaEntity {
    name: String,
    top_level: bool,
}

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
    pub logins: u64,
    pub logouts: u64,
    pub requests_by_path: HashMap<String, u64>,
    pub last_urls: Vec<String>,
}

pub struct State {
    config: SimConfig,
    data: Data,
    top_level: HashSet<String>,
    sessions: Mutex<HashSet<String>>,
    log: Mutex<Vec<RequestRecord>>,
    requests: AtomicU64,
    bytes: AtomicU64,
    logins: AtomicU64,
    logouts: AtomicU64,
    counter: AtomicU64,
    _addr: SocketAddr,
}

impl State {
    pub fn new(config: SimConfig, addr: SocketAddr) -> Self {
        let schema: Option<SchemaFile> =
            serde_json::from_str(include_str!("../../../schemas/Default_24.200.001.json")).ok();
        let top_level = schema
            .map(|s| {
                s.entities
                    .into_iter()
                    .filter(|e| e.top_level)
                    .map(|e| e.name.to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        Self {
            data: Data {
                seed: config.seed,
                scale: config.scale,
            },
            config,
            top_level,
            sessions: Mutex::default(),
            log: Mutex::default(),
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            logins: AtomicU64::new(0),
            logouts: AtomicU64::new(0),
            counter: AtomicU64::new(1),
            _addr: addr,
        }
    }

    pub fn stats(&self) -> SimStats {
        let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let mut by_path = HashMap::new();
        for r in &log {
            let path = r.url.split('?').next().unwrap_or_default().to_string();
            *by_path.entry(path).or_insert(0) += 1;
        }
        SimStats {
            requests: self.requests.load(Ordering::Relaxed),
            bytes_sent: self.bytes.load(Ordering::Relaxed),
            open_sessions: self.sessions.lock().map(|s| s.len()).unwrap_or(0),
            logins: self.logins.load(Ordering::Relaxed),
            logouts: self.logouts.load(Ordering::Relaxed),
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

    fn session_of(&self, headers: &HeaderMap) -> Option<String> {
        let cookies = headers.get_all(header::COOKIE);
        for c in cookies {
            for part in c.to_str().unwrap_or_default().split(';') {
                if let Some(v) = part.trim().strip_prefix("ASP.NET_SessionId=")
                    && self.sessions.lock().map(|s| s.contains(v)).unwrap_or(false)
                {
                    return Some(v.to_string());
                }
            }
        }
        None
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
    let response = route(&state, &method, &path, &decoded_query, &headers, &body).await;
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
            Some((k, v)) if k.starts_with('$') || k.chars().all(|c| c.is_ascii_alphanumeric()) => {
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

async fn route(
    state: &State,
    method: &Method,
    path: &str,
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
        (&Method::POST, ["entity", "auth", "login"]) => login(state, headers, body),
        (&Method::POST, ["entity", "auth", "logout"]) => {
            if let Some(id) = state.session_of(headers)
                && let Ok(mut s) = state.sessions.lock()
            {
                s.remove(&id);
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
        (&Method::GET, ["entity", endpoint, version, entity, ..]) => {
            if !endpoint.eq_ignore_ascii_case("Default") || !VERSIONS.contains(version) {
                return http_error(
                    StatusCode::NOT_FOUND,
                    &format!("The endpoint {endpoint}/{version} is not found."),
                    None,
                );
            }
            if state.session_of(headers).is_none() {
                return http_error(StatusCode::UNAUTHORIZED, "You are not logged in.", None);
            }
            if !state.config.latency.is_zero() {
                tokio::time::sleep(state.config.latency).await;
            }
            if segs.len() > 4 {
                return http_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An error has occurred.",
                    Some((
                        "No entity satisfies the condition.",
                        "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException",
                    )),
                );
            }
            list(state, version, entity, query)
        }
        _ => http_error(
            StatusCode::NOT_FOUND,
            &format!("No HTTP resource was found that matches the request URI '{path}'."),
            None,
        ),
    }
}

fn login(state: &State, _headers: &HeaderMap, body: &Bytes) -> Response {
    #[derive(Deserialize)]
    struct Credentials {
        name: Option<String>,
        password: Option<String>,
        tenant: Option<String>,
        company: Option<String>,
    }
    let Ok(c) = serde_json::from_slice::<Credentials>(body) else {
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
    let mut sessions = match state.sessions.lock() {
        Ok(s) => s,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if sessions.len() >= state.config.max_sessions {
        return http_error(
            StatusCode::TOO_MANY_REQUESTS,
            "An error has occurred.",
            Some(("API Login Limit", "PX.Data.PXException")),
        );
    }
    let n = state.counter.fetch_add(1, Ordering::Relaxed);
    let id: String = format!(
        "{:024x}",
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ state.config.seed
    )
    .chars()
    .take(24)
    .collect();
    sessions.insert(id.clone());
    state.logins.fetch_add(1, Ordering::Relaxed);
    let mut r = StatusCode::NO_CONTENT.into_response();
    for c in [
        format!(".ASPXAUTH={:064X}; path=/; HttpOnly; SameSite=None", n),
        format!("ASP.NET_SessionId={id}; path=/; HttpOnly; SameSite=Lax"),
        format!("CompanyID={}; path=/", state.config.tenant),
        "Locale=Culture=en-US&TimeZone=GMTE0000U; path=/".to_string(),
        "UserBranch=1; path=/".to_string(),
        format!("requestid={:032X}; path=/", n),
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

fn list(state: &State, version: &str, entity_name: &str, query: &str) -> Response {
    let p = params(query);
    if !state.top_level.contains(&entity_name.to_ascii_lowercase()) {
        return http_error(
            StatusCode::NOT_FOUND,
            &format!("The entity {entity_name} is not found."),
            None,
        );
    }
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
    let top = match parse_n("$top") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let skip = match parse_n("$skip") {
        Ok(v) => v.unwrap_or(0),
        Err(r) => return *r,
    };
    let select = split_list(p.get("$select"));
    let expand = split_list(p.get("$expand")).unwrap_or_default();
    let filter = match p.get("$filter").map(|f| filter::parse(f)) {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            return http_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An error has occurred.",
                Some((&e.0, "PX.Api.ContractBased.ODataException")),
            );
        }
    };
    let Some(entity) = Entity::parse(entity_name) else {
        return json_response(StatusCode::OK, "[]".into());
    };
    if let Some(f) = &filter {
        let mut paths = Vec::new();
        filter::paths(f, &mut paths);
        if let Some(p) = paths.iter().find(|p| p.contains('/')) {
            return http_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An error has occurred.",
                Some((
                    &format!(
                        "Optimization cannot be performed.The following fields cause the error:\r\n{p}: filtering on detail entities is not supported"
                    ),
                    "PX.Api.ContractBased.Optimization.CannotOptimizeException",
                )),
            );
        }
    }
    let with_details = !expand.is_empty();
    let base = format!("/entity/Default/{version}/");
    let links = (version == "24.200.001").then_some((base.as_str(), entity.name()));
    let shape = Shape {
        select: select.as_deref(),
        expand: &expand,
        links,
    };
    let mut out = String::from("[");
    let mut matched = 0usize;
    let mut written = 0usize;
    for i in 0..state.data.count(entity) {
        if top.is_some_and(|t| written >= t) {
            break;
        }
        let r = state.data.record(entity, i, with_details);
        if let Some(f) = &filter {
            match filter::eval(f, &r) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    return http_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "An error has occurred.",
                        Some((&e.0, "PX.Api.ContractBased.ODataException")),
                    );
                }
            }
        }
        matched += 1;
        if matched <= skip {
            continue;
        }
        if written > 0 {
            out.push(',');
        }
        written += 1;
        json::record(&mut out, &r, written, true, &shape, "");
    }
    out.push(']');
    json_response(StatusCode::OK, out)
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
