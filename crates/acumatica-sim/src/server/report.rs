//! The `Report` endpoint: reports started with `POST`, polled, then served as PDF or HTML.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{State, bad_body, http_error, percent_decode, with_location};
use crate::ops::{self, Poll};

/// The `Report` endpoint (`/entity/Report/0001/<Report>`): `POST` starts a report (202 +
/// `Location: …/<Report>/report/<FORMAT>/<id>`), `GET` of that URL answers 202 until it is
/// ready, then the file.
pub(super) fn report_request(
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
