//! Files attached to records: `PUT …/files/<name>` stores one, `GET <base>/files/<id>` reads
//! it back.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::entity::no_entity;
use super::{State, http_error, with_location};
use crate::data::Entity;
use crate::ops::{self, FileError};
use crate::schema::{Endpoint, EntityDef};

/// Stores a file on a record: 204 and the file's URL.
pub(super) fn attach(
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
        screen_title(&def.name),
        db_keys(r, def)
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

/// The title of the form an entity is edited on, which Acumatica writes in the name of a file
/// attached there: `Stock Items (JUICER20C   )\\commercial_citrus_juicer.jpg`
/// (ACUMATICA-API.md §2, DOC `Get_Attachment`). Entities without a known form keep their name.
fn screen_title(entity: &str) -> &str {
    match Entity::parse(entity) {
        Some(Entity::Customer) => "Customers",
        Some(Entity::StockItem) => "Stock Items",
        Some(Entity::SalesOrder) => "Sales Orders",
        Some(Entity::Vendor) => "Vendors",
        Some(Entity::Contact) => "Contacts",
        Some(Entity::NonStockItem) => "Non-Stock Items",
        Some(Entity::SalesInvoice) => "Invoices",
        Some(Entity::Bill) => "Bills and Adjustments",
        Some(Entity::Payment) => "Payments and Applications",
        Some(Entity::JournalTransaction) => "Journal Transactions",
        Some(Entity::Account) => "Chart of Accounts",
        None => entity,
    }
}

/// The record's keys as the database holds them, comma-separated: segmented IDs keep the
/// blanks that fill them to the segment length (`JUICER20C   `, 12 wide, in the DOC example;
/// customer and vendor IDs 10 wide, as the DAC feed's `AcctCD`).
fn db_keys(r: &crate::data::Record, def: &EntityDef) -> String {
    def.keys
        .iter()
        .map(|k| {
            let v = crate::store::key_of(r, std::slice::from_ref(k));
            match crate::data::key_width(k) {
                Some(w) => format!("{v:<w$}"),
                None => v,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET <base>/files/<id>` and `PUT <base>/files/<Graph>/<View>/<record id>/<name>`.
pub(super) fn files_request(
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
