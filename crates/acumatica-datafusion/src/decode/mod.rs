//! Acumatica JSON pages → Arrow record batches.
//!
//! A page is parsed once into borrowed views (`&str` keys, raw value slices): no owned value
//! tree, no copy of a cell until it is appended to its typed builder. `{}`, `{"value": null}`,
//! `note: null` and missing fields are NULL; unknown members are ignored; decimals are parsed
//! from their exact text.
//!
//! - `builder`: one typed Arrow builder per column, appending a cell from its JSON text.
//! - `rest`: the streaming decoder of contract REST pages (one pass, no member map).
//! - `odata`: the decoder of OData feeds (`{"value": [...], "@odata.nextLink": ...}`).

mod builder;
mod odata;
mod rest;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;

use crate::table::TableDef;
use builder::Builder;

pub use odata::decode_odata_page;
pub use rest::decode_page;

/// A value that cannot be represented, with where it was found.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {entity}{}: {problem}", place(*.row, .field))]
pub struct DecodeError {
    pub entity: String,
    pub row: usize,
    pub field: String,
    pub problem: String,
}

impl DecodeError {
    fn new(def: &TableDef, row: usize, field: &str, problem: String) -> Self {
        Self {
            entity: def.name.clone(),
            row,
            field: field.to_string(),
            // serde's messages quote the offending value whole (a 50 MB string included).
            problem: shown(&problem, 300).into_owned(),
        }
    }
}

/// Kept whole as `External`, so a caller can `downcast_ref::<DecodeError>()` it.
impl From<DecodeError> for datafusion::error::DataFusionError {
    fn from(e: DecodeError) -> Self {
        Self::External(Box::new(e))
    }
}

/// Where a problem is: a row's field, or (fields in parentheses: the whole page) the page
/// whose first row would be `row + 1`.
fn place(row: usize, field: &str) -> String {
    if field.starts_with('(') {
        format!(", the page from row {}", row + 1)
    } else {
        format!(" row {row}, field {field}")
    }
}

/// `text` cut to `max` characters (with `…`) for an error message: a server's value can be
/// any size.
fn shown(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some((end, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..end])),
    }
}

/// Says so when a body that should be JSON is an HTML (or XML) page: a sign-in or proxy page
/// answering in the API's place.
fn html_hint(body: &[u8]) -> &'static str {
    if body.trim_ascii_start().starts_with(b"<") {
        " (it is an HTML page: a sign-in or proxy page answering instead of the API?)"
    } else {
        ""
    }
}

/// The batch of finished builders (`rows` rows, also when no column is projected).
fn finish_batch(
    def: &TableDef,
    schema: &SchemaRef,
    builders: Vec<Builder>,
    rows: usize,
    row_offset: usize,
) -> Result<RecordBatch, DecodeError> {
    let arrays: Vec<ArrayRef> = builders
        .into_iter()
        .zip(schema.fields())
        .map(|(b, f)| b.finish(f.data_type()))
        .collect();
    if arrays.is_empty() {
        RecordBatch::try_new_with_options(
            schema.clone(),
            arrays,
            &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
        )
    } else {
        RecordBatch::try_new(schema.clone(), arrays)
    }
    .map_err(|e| DecodeError::new(def, row_offset, "(batch)", e.to_string()))
}

#[cfg(test)]
mod tests;
