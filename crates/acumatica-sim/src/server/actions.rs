//! Operations on an entity besides reading and writing it: `$adHocSchema`, actions (`POST
//! <Entity>/<Action>`, run in the background) and their status, and files attached by keys.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::entity::no_entity;
use super::files::attach;
use super::{State, bad_body, http_error, json_response, with_location};
use crate::json;
use crate::ops::{self, Poll};
use crate::schema::{Endpoint, EntityDef};

/// An action of the entity: one of its contract actions or a workflow action.
fn action_name<'a>(def: &'a EntityDef, action: &str) -> Option<&'a str> {
    def.actions
        .iter()
        .map(String::as_str)
        .chain(ops::WORKFLOW_ACTIONS.iter().copied())
        .find(|a| a.eq_ignore_ascii_case(action))
}

/// `$adHocSchema`, actions and their status, and files attached by keys.
pub(super) fn operation(
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
        let now = crate::data::Stamp::from_chrono(&chrono::Utc::now());
        let _ = state
            .store
            .upsert(&state.data, ep, def, &patch, true, false, now, "");
    }
    let result = record.map(|r| format!("{base}{}/{}", def.name, r.id));
    let id = state.ops.start(result);
    with_location(
        StatusCode::ACCEPTED.into_response(),
        &format!("{base}{}/{name}/status/{id}", def.name),
    )
}
