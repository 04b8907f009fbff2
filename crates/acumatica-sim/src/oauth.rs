//! The OAuth 2.0 identity server at `/identity`: discovery, an HTML sign-in and consent page at
//! `/identity/connect/authorize` (authorization code with PKCE S256 and `state`, implicit), the
//! token endpoint (authorization_code, password, refresh_token with rotation; client_credentials
//! refused) and revocation. One connected application is configured (`SimConfig::oauth`).

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::Digest;

use crate::OAuthFlow;
use crate::server::State;
use crate::sessions::Code;

fn form(bytes: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn token_error(status: StatusCode, error: &str, description: Option<&str>) -> Response {
    let mut body = serde_json::json!({ "error": error });
    if let Some(d) = description {
        body["error_description"] = d.into();
    }
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json; charset=UTF-8"),
            (header::CACHE_CONTROL, "no-store, no-cache, max-age=0"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn error_page(message: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        format!(
            "<!DOCTYPE html><html><head><title>Error</title></head><body><h1>Sorry, there was an error</h1><p class=\"error\">{}</p></body></html>",
            html_escape(message)
        ),
    )
}

/// `GET /identity/.well-known/openid-configuration`
pub fn discovery(base: &str) -> Response {
    // Only what this identity server implements: the real one also lists userinfo, JWKS,
    // end-session and ID-token response types (ACUMATICA-API.md §3.2), which the simulator does
    // not serve, and a client that followed them would fail here but not there.
    let body = serde_json::json!({
        "issuer": format!("{base}/identity"),
        "authorization_endpoint": format!("{base}/identity/connect/authorize"),
        "token_endpoint": format!("{base}/identity/connect/token"),
        "revocation_endpoint": format!("{base}/identity/connect/revocation"),
        "scopes_supported": ["api", "api:concurrent_access", "offline_access"],
        "response_types_supported": ["code", "token"],
        "response_modes_supported": ["query", "fragment"],
        "grant_types_supported": ["authorization_code", "implicit", "password", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// Loopback redirect URIs are allowed on any port (RFC 8252 §7.3); others must be registered.
fn redirect_allowed(state: &State, uri: &str) -> bool {
    if state.config.oauth.redirect_uris.iter().any(|r| r == uri) {
        return true;
    }
    match url::Url::parse(uri) {
        Ok(u) => {
            u.scheme() == "http"
                && matches!(
                    u.host_str(),
                    Some("127.0.0.1") | Some("localhost") | Some("[::1]")
                )
                && u.fragment().is_none()
        }
        Err(_) => false,
    }
}

fn client_ok(state: &State, id: &str) -> bool {
    id.eq_ignore_ascii_case(&state.config.oauth.client_id)
}

fn scopes_valid(scope: &str) -> bool {
    const KNOWN: &[&str] = &[
        "api",
        "offline_access",
        "api:concurrent_access",
        "openid",
        "profile",
        "email",
        "phone",
    ];
    !scope.trim().is_empty() && scope.split(' ').all(|s| KNOWN.contains(&s))
}

/// Appends the response to the redirect URI: query for codes, fragment for tokens.
fn redirect(uri: &str, fragment: bool, pairs: &[(&str, &str)]) -> Response {
    let mut enc = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        enc.append_pair(k, v);
    }
    let encoded = enc.finish().replace('+', "%20");
    let sep = if fragment {
        "#"
    } else if uri.contains('?') {
        "&"
    } else {
        "?"
    };
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("{uri}{sep}{encoded}"))],
    )
        .into_response()
}

/// The authorize parameters the sign-in form carries as hidden fields.
pub(crate) const PASSED_ON: &[&str] = &[
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "response_mode",
];

fn sign_in_page(state: &State, p: &HashMap<String, String>, error: Option<&str>) -> Response {
    let mut hidden = String::new();
    for k in PASSED_ON {
        if let Some(v) = p.get(*k) {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">\n",
                html_escape(v)
            ));
        }
    }
    let error = error
        .map(|e| format!("<p class=\"error\">{}</p>\n", html_escape(e)))
        .unwrap_or_default();
    html(
        StatusCode::OK,
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Sign in - Acumatica (simulated)</title></head>\n<body>\n<h1>Sign in to {tenant}</h1>\n<p>An application asks for access to your data ({scope}).</p>\n{error}<form method=\"post\" action=\"/identity/connect/authorize\">\n{hidden}<label>Username <input name=\"username\" autocomplete=\"username\"></label>\n<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\"></label>\n<button type=\"submit\" name=\"consent\" value=\"allow\">Sign in and allow</button>\n<button type=\"submit\" name=\"consent\" value=\"deny\">Deny</button>\n</form>\n</body></html>\n",
            tenant = html_escape(&state.config.tenant),
            scope = html_escape(p.get("scope").map(String::as_str).unwrap_or("")),
        ),
    )
}

/// Checks what must be right before anything is redirected back; errors here are shown on a
/// page, never sent to an unverified redirect URI.
fn check_client_and_redirect(
    state: &State,
    p: &HashMap<String, String>,
) -> Result<(), &'static str> {
    let client = p.get("client_id").map(String::as_str).unwrap_or("");
    if !client_ok(state, client) {
        return Err("invalid_client: unknown client_id");
    }
    let uri = p.get("redirect_uri").map(String::as_str).unwrap_or("");
    if !redirect_allowed(state, uri) {
        return Err(
            "invalid_request: redirect_uri does not match a redirect URI of the connected application",
        );
    }
    Ok(())
}

/// Whether the application may use the flow `response_type` asks for.
fn check_flow(
    state: &State,
    p: &HashMap<String, String>,
) -> Result<(), (&'static str, &'static str)> {
    let flow = match p.get("response_type").map(String::as_str) {
        Some("token") => OAuthFlow::Implicit,
        _ => OAuthFlow::AuthorizationCode,
    };
    if state.config.oauth.flows.contains(&flow) {
        Ok(())
    } else {
        Err((
            "unauthorized_client",
            "the application is not allowed to use this flow",
        ))
    }
}

/// The remaining checks, whose failures are reported to the client through the redirect.
fn check_request(p: &HashMap<String, String>) -> Result<(), (&'static str, &'static str)> {
    let rt = p.get("response_type").map(String::as_str).unwrap_or("");
    if rt != "code" && rt != "token" {
        return Err((
            "unsupported_response_type",
            "response_type must be code or token",
        ));
    }
    let scope = p.get("scope").map(String::as_str).unwrap_or("");
    if !scopes_valid(scope) {
        return Err(("invalid_scope", "unknown or missing scope"));
    }
    if rt == "token" && scope.split(' ').any(|s| s == "offline_access") {
        return Err((
            "invalid_scope",
            "offline_access is not allowed for the implicit flow",
        ));
    }
    match (
        p.get("code_challenge"),
        p.get("code_challenge_method").map(String::as_str),
    ) {
        (Some(_), Some("S256")) | (None, None) => Ok(()),
        (Some(_), None) | (Some(_), Some(_)) | (None, Some(_)) => Err((
            "invalid_request",
            "code_challenge_method must be S256 with a code_challenge",
        )),
    }
}

fn redirect_error(p: &HashMap<String, String>, error: &str, description: &str) -> Response {
    let uri = p.get("redirect_uri").map(String::as_str).unwrap_or("");
    let fragment = p.get("response_type").map(String::as_str) == Some("token");
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(s) = p.get("state") {
        pairs.push(("state", s));
    }
    redirect(uri, fragment, &pairs)
}

/// `GET /identity/connect/authorize?...`: the sign-in and consent page.
pub fn authorize_page(state: &State, raw_query: &str) -> Response {
    let p = form(raw_query.as_bytes());
    if let Err(e) = check_client_and_redirect(state, &p) {
        return error_page(e);
    }
    if let Err((e, d)) = check_request(&p).and_then(|()| check_flow(state, &p)) {
        return redirect_error(&p, e, d);
    }
    sign_in_page(state, &p, None)
}

/// `POST /identity/connect/authorize`: the submitted sign-in form.
pub fn authorize_submit(state: &State, body: &[u8]) -> Response {
    let p = form(body);
    if let Err(e) = check_client_and_redirect(state, &p) {
        return error_page(e);
    }
    if let Err((e, d)) = check_request(&p).and_then(|()| check_flow(state, &p)) {
        return redirect_error(&p, e, d);
    }
    if p.get("consent").map(String::as_str) == Some("deny") {
        return redirect_error(&p, "access_denied", "the user denied access");
    }
    let user = p.get("username").map(String::as_str).unwrap_or("");
    let password = p.get("password").map(String::as_str).unwrap_or("");
    if user != state.config.user || password != state.config.password {
        return sign_in_page(state, &p, Some("Invalid credentials. Please try again."));
    }
    let client_id = p.get("client_id").cloned().unwrap_or_default();
    let redirect_uri = p.get("redirect_uri").cloned().unwrap_or_default();
    let scope = p.get("scope").cloned().unwrap_or_default();
    let state_param = p.get("state").cloned();
    let mut sessions = state.sessions();
    if p.get("response_type").map(String::as_str) == Some("token") {
        let lifetime = state.config.oauth.token_lifetime;
        let (access, _) = sessions.issue(&client_id, &scope, lifetime);
        let expires = lifetime.as_secs().to_string();
        let mut pairs = vec![
            ("access_token", access.as_str()),
            ("token_type", "Bearer"),
            ("expires_in", expires.as_str()),
            ("scope", scope.as_str()),
        ];
        if let Some(s) = &state_param {
            pairs.push(("state", s));
        }
        return redirect(&redirect_uri, true, &pairs);
    }
    let expires = sessions.now() + Duration::from_secs(300);
    let code = sessions.store_code(Code {
        client_id,
        redirect_uri: redirect_uri.clone(),
        scope: scope.clone(),
        challenge: p.get("code_challenge").cloned(),
        expires,
    });
    let mut pairs = vec![("code", code.as_str()), ("scope", scope.as_str())];
    if let Some(s) = &state_param {
        pairs.push(("state", s));
    }
    redirect(&redirect_uri, false, &pairs)
}

/// Client credentials from the form or an HTTP Basic header.
fn client_credentials(
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> (Option<String>, Option<String>) {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        && let Ok(d) = base64::engine::general_purpose::STANDARD.decode(v.trim())
        && let Ok(s) = String::from_utf8(d)
        && let Some((id, secret)) = s.split_once(':')
    {
        let dec = |x: &str| {
            url::form_urlencoded::parse(format!("x={x}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        return (Some(dec(id)), Some(dec(secret)));
    }
    (p.get("client_id").cloned(), p.get("client_secret").cloned())
}

fn token_response(
    access: &str,
    refresh: Option<&str>,
    lifetime: Duration,
    scope: &str,
) -> Response {
    let mut body = serde_json::json!({
        "access_token": access,
        "expires_in": lifetime.as_secs(),
        "token_type": "Bearer",
    });
    if let Some(r) = refresh {
        body["refresh_token"] = r.into();
    }
    body["scope"] = scope.into();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json; charset=UTF-8"),
            (header::CACHE_CONTROL, "no-store, no-cache, max-age=0"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `POST /identity/connect/token`
pub fn token(state: &State, headers: &HeaderMap, body: &[u8]) -> Response {
    let p = form(body);
    let (id, secret) = client_credentials(headers, &p);
    let id = id.unwrap_or_default();
    if !client_ok(state, &id)
        || secret.as_deref() != Some(state.config.oauth.client_secret.as_str())
    {
        return token_error(StatusCode::BAD_REQUEST, "invalid_client", None);
    }
    let lifetime = state.config.oauth.token_lifetime;
    let max = state.config.max_sessions;
    let mut sessions = state.sessions();
    let login_limit = |sessions: &crate::sessions::Sessions| sessions.open_count() >= max;
    let flow = match p.get("grant_type").map(String::as_str) {
        Some("password") => Some(OAuthFlow::Password),
        Some("authorization_code" | "refresh_token") => Some(OAuthFlow::AuthorizationCode),
        _ => None,
    };
    // Refresh tokens come from the code flow (or a password grant with offline_access).
    let allowed = |f: OAuthFlow| {
        state.config.oauth.flows.contains(&f)
            || (p.get("grant_type").map(String::as_str) == Some("refresh_token")
                && state.config.oauth.flows.contains(&OAuthFlow::Password))
    };
    if let Some(f) = flow
        && !allowed(f)
    {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            Some("the application is not allowed to use this grant"),
        );
    }
    match p.get("grant_type").map(String::as_str) {
        Some("password") => {
            let scope = p.get("scope").cloned().unwrap_or_else(|| "api".into());
            if !scopes_valid(&scope) {
                return token_error(StatusCode::BAD_REQUEST, "invalid_scope", None);
            }
            if p.get("username").map(String::as_str) != Some(state.config.user.as_str())
                || p.get("password").map(String::as_str) != Some(state.config.password.as_str())
            {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    Some("invalid_username_or_password"),
                );
            }
            if login_limit(&sessions) {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    Some("API Login Limit"),
                );
            }
            let (a, r) = sessions.issue(&id, &scope, lifetime);
            token_response(&a, r.as_deref(), lifetime, &scope)
        }
        Some("authorization_code") => {
            let Some(code) = p.get("code").and_then(|c| sessions.take_code(c)) else {
                return token_error(StatusCode::BAD_REQUEST, "invalid_grant", None);
            };
            if !code.client_id.eq_ignore_ascii_case(&id)
                || p.get("redirect_uri") != Some(&code.redirect_uri)
            {
                return token_error(StatusCode::BAD_REQUEST, "invalid_grant", None);
            }
            if let Some(challenge) = &code.challenge {
                let Some(verifier) = p.get("code_verifier") else {
                    return token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        Some("code_verifier is required"),
                    );
                };
                let digest = sha2::Sha256::digest(verifier.as_bytes());
                let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
                if &expected != challenge {
                    return token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        Some("transformed code_verifier does not match code challenge"),
                    );
                }
            }
            if login_limit(&sessions) {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    Some("API Login Limit"),
                );
            }
            let (a, r) = sessions.issue(&id, &code.scope, lifetime);
            token_response(&a, r.as_deref(), lifetime, &code.scope)
        }
        Some("refresh_token") => {
            let Some((a, r, scope)) = p
                .get("refresh_token")
                .and_then(|t| sessions.refresh(t, &id, lifetime))
            else {
                return token_error(StatusCode::BAD_REQUEST, "invalid_grant", None);
            };
            token_response(&a, r.as_deref(), lifetime, &scope)
        }
        Some(_) => token_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", None),
        None => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("grant_type is missing"),
        ),
    }
}

/// `POST /identity/connect/revocation` (does not free the session seat, as documented).
pub fn revocation(state: &State, headers: &HeaderMap, body: &[u8]) -> Response {
    let p = form(body);
    let (id, secret) = client_credentials(headers, &p);
    if !client_ok(state, id.as_deref().unwrap_or(""))
        || secret.as_deref() != Some(state.config.oauth.client_secret.as_str())
    {
        return token_error(StatusCode::BAD_REQUEST, "invalid_client", None);
    }
    if let Some(t) = p.get("token") {
        state.sessions().revoke(t);
    }
    StatusCode::OK.into_response()
}
