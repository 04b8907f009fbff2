//! OData feeds (generic inquiries, DACs): `{"value": [rows…], "@odata.nextLink": …}`, rows
//! flat (one member per column), read into a member map per row.

use std::collections::HashMap;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use rustc_hash::FxBuildHasher;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::builder::Builder;
use super::{DecodeError, finish_batch, html_hint, shown};
use crate::table::{ColumnSource, TableDef};

/// A record's members by name. Member names are short ASCII keys from the server: a simple
/// multiplicative hash (FxHash's) is several times cheaper than the default SipHash, which
/// dominated the decoder's profile.
type Obj<'a> = HashMap<&'a str, &'a RawValue, FxBuildHasher>;

#[derive(Deserialize)]
struct Wrapper<'a> {
    #[serde(borrow)]
    value: Option<&'a RawValue>,
}

/// The value of a column's member in an OData row (contract pages go through the streaming
/// decoder in `rest`).
fn field_value<'a>(obj: &Obj<'a>, source: &ColumnSource) -> Result<Option<&'a RawValue>, String> {
    match source {
        ColumnSource::Id | ColumnSource::ParentId => member(obj, "id", false),
        ColumnSource::Field(f) | ColumnSource::ParentField(f) => member(obj, f, true),
        ColumnSource::Plain(f) => member(obj, f, false),
        ColumnSource::Linked(..) | ColumnSource::Custom(..) => {
            Err("linked and custom columns are not part of an OData row".into())
        }
    }
}

/// A member's value: a wrapper's `value` (`{}` and `null` are NULL), or the plain value.
fn member<'a>(obj: &Obj<'a>, name: &str, wrapped: bool) -> Result<Option<&'a RawValue>, String> {
    let Some(raw) = obj.get(name) else {
        return Ok(None);
    };
    if raw.get() == "null" {
        return Ok(None);
    }
    if !wrapped {
        return Ok(Some(raw));
    }
    let w: Wrapper<'a> = serde_json::from_str(raw.get()).map_err(|_| {
        format!(
            "expected a {{\"value\": …}} wrapper, found {}",
            shown(raw.get(), 80)
        )
    })?;
    Ok(w.value.filter(|v| v.get() != "null"))
}

/// An OData v4 (or v3) response: `{"value": [rows…], "@odata.nextLink": …}`.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    value: Vec<Obj<'a>>,
    #[serde(rename = "@odata.nextLink", alias = "odata.nextLink")]
    next_link: Option<String>,
}

/// Decodes one OData page; also returns the server's `nextLink` when it cut the page short.
pub fn decode_odata_page(
    def: &TableDef,
    projection: &[usize],
    schema: &SchemaRef,
    body: &[u8],
    row_offset: usize,
) -> Result<(RecordBatch, usize, Option<String>), DecodeError> {
    let page: Envelope<'_> = serde_json::from_slice(body).map_err(|e| {
        DecodeError::new(
            def,
            row_offset,
            "(page)",
            format!(
                "the response is not an OData feed ({{\"value\": [...]}}){}: {e}",
                html_hint(body)
            ),
        )
    })?;
    let (batch, n) = decode_records(def, projection, schema, &page.value, row_offset)?;
    Ok((batch, n, page.next_link))
}

/// OData rows (flat: one member per column) into a batch.
fn decode_records(
    def: &TableDef,
    projection: &[usize],
    schema: &SchemaRef,
    records: &[Obj<'_>],
    row_offset: usize,
) -> Result<(RecordBatch, usize), DecodeError> {
    let err = |row: usize, field: &str, problem: String| DecodeError::new(def, row, field, problem);
    let columns: Vec<_> = projection.iter().map(|i| &def.columns[*i]).collect();
    let mut builders: Vec<Builder> = columns.iter().map(|c| Builder::new(c.wrapper)).collect();
    for (i, rec) in records.iter().enumerate() {
        let row = row_offset + i + 1;
        for (b, c) in builders.iter_mut().zip(&columns) {
            match field_value(rec, &c.source).map_err(|p| err(row, &c.name, p))? {
                None => b.null(),
                Some(v) => b.append(v).map_err(|p| err(row, &c.name, p))?,
            }
        }
    }
    let batch = finish_batch(def, schema, builders, records.len(), row_offset)?;
    Ok((batch, records.len()))
}
