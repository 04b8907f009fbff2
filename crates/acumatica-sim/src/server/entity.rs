//! Everything under `/entity/<Endpoint>/<Version>/<Entity>`: a record by its keys or id,
//! writes (`PUT`, `PATCH`, `PUT ?$filter=`, inquiry forms' parameters) and deletes. Lists,
//! actions and files have their own modules.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::actions::operation;
use super::files::files_request;
use super::list::{check_custom, check_filter_path, custom_error, list, split_list};
use super::{State, http_error, json_response, params, percent_decode};
use crate::custom;
use crate::data::{Entity, is_guid};
use crate::filter;
use crate::json::{self, Shape};
use crate::schema::{Endpoint, EntityDef};
use crate::store::WriteError;

pub(super) fn no_entity() -> Response {
    http_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "An error has occurred.",
        Some((
            "No entity satisfies the condition.",
            "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException",
        )),
    )
}

/// `swagger.json` of an endpoint version, in the format that version serves.
pub(super) fn swagger(state: &State, ep: &Endpoint) -> Response {
    let url = format!("{}/entity/{}/{}", state.base_url, ep.endpoint, ep.version);
    json_response(StatusCode::OK, ep.swagger(&url))
}

/// Everything under `/entity/<Endpoint>/<Version>/`, once signed in and admitted.
pub(super) async fn entity_request(
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
        return swagger(state, ep);
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
            let now = crate::data::Stamp::from_chrono(&chrono::Utc::now());
            let if_none_match = star(header::IF_NONE_MATCH);
            // A new document belongs to the request's branch.
            let branch = match state.branch_of(headers) {
                Ok(b) => crate::data::BRANCHES[b].0,
                Err(unknown) => return super::sign_in::unknown_branch(&unknown),
            };
            match state.store.upsert(data, ep, def, &value, star(header::IF_MATCH) || (patch && !if_none_match), if_none_match, now, branch) {
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
