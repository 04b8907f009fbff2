//! The OData feeds' HTTP side: sign-in (cookie, bearer token or HTTP Basic), the tenant in
//! the URL, admission, then `crate::odata` answers.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::admission::{Fault, admit, dropped};
use super::sign_in::{login_limit, not_logged_in};
use super::{State, http_error, json_response, params, percent_decode};
use crate::odata;
use crate::sessions::Denied;

/// OData: `/t/<tenant>/api/odata/{gi|dac}/…` and `/odata/<tenant>/…`. Accepts the API session
/// cookie, a bearer token, or HTTP Basic credentials (which open no API session).
pub(super) async fn odata_request(
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
