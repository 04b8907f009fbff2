//! Who is calling: the API session cookie or a bearer token; `/entity/auth/login` and
//! `logout` open and close cookie sessions within the licence's login limit.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{State, http_error, json_response};
use crate::sessions::Denied;

/// How a request is signed in.
pub(super) enum Caller {
    Cookie(String),
    Bearer(String),
}

impl State {
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

    /// The branch a request works in: its `PX-CbApiBranch` header (Branch ID or name), else the
    /// one chosen at sign-in. `Err` carries an unknown header value.
    pub(super) fn branch_of(&self, headers: &HeaderMap) -> Result<usize, String> {
        if let Some(h) = headers.get("PX-CbApiBranch") {
            let text = h.to_str().unwrap_or_default();
            return crate::data::branch(text).ok_or_else(|| text.to_string());
        }
        let session = match Self::bearer_token(headers) {
            Some(t) => self.sessions().session_of_token(&t),
            None => Self::cookie_session(headers),
        };
        Ok(session
            .and_then(|s| self.sessions().branch(&s))
            .unwrap_or(0))
    }

    /// Who is calling: a bearer token wins over a cookie, as on the real server.
    pub(super) fn caller(&self, headers: &HeaderMap) -> Result<Caller, Denied> {
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
}

pub(super) fn not_logged_in() -> Response {
    http_error(StatusCode::UNAUTHORIZED, "You are not logged in.", None)
}

/// A branch that does not exist, at sign-in or in `PX-CbApiBranch`.
pub(super) fn unknown_branch(branch: &str) -> Response {
    http_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "An error has occurred.",
        Some((
            &format!("Error: The branch '{branch}' cannot be found in the system."),
            "PX.Data.PXException",
        )),
    )
}

pub(super) fn login_limit() -> Response {
    http_error(
        StatusCode::TOO_MANY_REQUESTS,
        "An error has occurred.",
        Some(("API Login Limit", "PX.Data.PXException")),
    )
}

pub(super) fn logout(state: &State, headers: &HeaderMap) -> Response {
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

pub(super) fn login(state: &State, _headers: &HeaderMap, body: &Bytes) -> Response {
    #[derive(Deserialize)]
    struct Credentials {
        name: Option<String>,
        password: Option<String>,
        tenant: Option<String>,
        company: Option<String>,
        branch: Option<String>,
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
    // An unknown branch is refused like other bad credentials (the exception text is ours:
    // the documents do not record the real one).
    let branch = match c.branch.as_deref().filter(|b| !b.trim().is_empty()) {
        None => 0,
        Some(b) => match crate::data::branch(b) {
            Some(i) => i,
            None => return unknown_branch(b),
        },
    };
    let Some(id) = state.sessions().open(state.config.max_sessions) else {
        return login_limit();
    };
    state.sessions().set_branch(&id, branch);
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
        format!("UserBranch={}; path=/", crate::data::BRANCHES[branch].2),
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
