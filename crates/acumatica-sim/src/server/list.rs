//! List requests (`GET <Entity>?$filter=…&$select=…&$expand=…&$custom=…&$top=…&$skip=…`):
//! the options checked against the entity, then the generated and written records streamed
//! through the filter into one JSON array.

use axum::http::StatusCode;
use axum::response::Response;

use super::{State, http_error, json_response, params};
use crate::custom;
use crate::data::Entity;
use crate::filter;
use crate::json::{self, Shape};
use crate::schema::{Endpoint, EntityDef};

/// Detail collections a list request cannot expand (entity, detail).
const UNOPTIMIZABLE: &[(&str, &str)] = &[("Payment", "ApplicationHistory")];

pub(super) fn split_list(v: Option<&String>) -> Option<Vec<String>> {
    v.map(|s| {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
}

/// Serves a list request; also returns the number of records written.
pub(super) fn list(
    state: &State,
    ep: &Endpoint,
    def: &EntityDef,
    query: &str,
) -> (Response, usize) {
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
pub(super) fn check_filter_path(
    ep: &Endpoint,
    def: &EntityDef,
    path: &str,
) -> Result<(), Box<Response>> {
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

pub(super) fn custom_error(text: String) -> Box<Response> {
    Box::new(http_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "An error has occurred.",
        Some((&text, "PX.Api.ContractBased.ODataException")),
    ))
}

/// `$custom` paths: `<View>.<Field>` or `<Member>/…/<View>.<Field>`.
pub(super) fn check_custom(
    ep: &Endpoint,
    def: &EntityDef,
    paths: &[String],
) -> Result<(), Box<Response>> {
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
