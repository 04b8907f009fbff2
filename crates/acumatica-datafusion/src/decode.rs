//! Acumatica JSON pages → Arrow record batches.
//!
//! A page is parsed once into borrowed views (`&str` keys, raw value slices): no owned value
//! tree, no copy of a cell until it is appended to its typed builder. `{}`, `{"value": null}`,
//! `note: null` and missing fields are NULL; unknown members are ignored; decimals are parsed
//! from their exact text.

use std::collections::HashMap;
use std::sync::Arc;

use acumatica_client::metadata::WrapperType;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Decimal128Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder, UInt8Builder,
};
use datafusion::arrow::datatypes::SchemaRef;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::table::{ColumnSource, TableDef};
use crate::types::{DECIMAL_PRECISION, DECIMAL_SCALE, parse_decimal};

/// A value that cannot be represented, with where it was found.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {entity} row {row}, field {field}: {problem}")]
pub struct DecodeError {
    pub entity: String,
    pub row: usize,
    pub field: String,
    pub problem: String,
}

/// A record's members by name. Member names are short ASCII keys from the server: a simple
/// multiplicative hash (FxHash's) is several times cheaper than the default SipHash, which
/// dominated the decoder's profile.
type Obj<'a> = HashMap<&'a str, &'a RawValue, std::hash::BuildHasherDefault<KeyHasher>>;

#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl DecodeError {
    fn new(def: &TableDef, row: usize, field: &str, problem: String) -> Self {
        Self {
            entity: def.name.clone(),
            row,
            field: field.to_string(),
            problem,
        }
    }
}

#[derive(Deserialize)]
struct Wrapper<'a> {
    #[serde(borrow)]
    value: Option<&'a RawValue>,
}

enum Builder {
    Str(StringBuilder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    U8(UInt8Builder),
    F64(Float64Builder),
    Dec(Decimal128Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(t: Option<WrapperType>) -> Self {
        match t {
            None | Some(WrapperType::String | WrapperType::Guid) => Self::Str(StringBuilder::new()),
            Some(WrapperType::Short) => Self::I16(Int16Builder::new()),
            Some(WrapperType::Int) => Self::I32(Int32Builder::new()),
            Some(WrapperType::Long) => Self::I64(Int64Builder::new()),
            Some(WrapperType::Byte) => Self::U8(UInt8Builder::new()),
            Some(WrapperType::Double) => Self::F64(Float64Builder::new()),
            Some(WrapperType::Decimal) => Self::Dec(Decimal128Builder::new()),
            Some(WrapperType::Boolean) => Self::Bool(BooleanBuilder::new()),
            Some(WrapperType::DateTime) => Self::Ts(TimestampMicrosecondBuilder::new()),
        }
    }

    fn null(&mut self) {
        match self {
            Self::Str(b) => b.append_null(),
            Self::I16(b) => b.append_null(),
            Self::I32(b) => b.append_null(),
            Self::I64(b) => b.append_null(),
            Self::U8(b) => b.append_null(),
            Self::F64(b) => b.append_null(),
            Self::Dec(b) => b.append_null(),
            Self::Bool(b) => b.append_null(),
            Self::Ts(b) => b.append_null(),
        }
    }

    /// Appends a raw JSON value (not `null`); the error is a problem description.
    fn append(&mut self, raw: &RawValue) -> Result<(), String> {
        let text = raw.get();
        fn parse<'a, T: Deserialize<'a>>(text: &'a str, what: &str) -> Result<T, String> {
            serde_json::from_str(text).map_err(|_| format!("expected {what}, found {text}"))
        }
        match self {
            Self::Str(b) => {
                let s: std::borrow::Cow<'_, str> = if text.starts_with('"') {
                    parse(text, "a string")?
                } else {
                    // Numbers or booleans in a string field: keep their text.
                    std::borrow::Cow::Borrowed(text)
                };
                b.append_value(s);
            }
            Self::I16(b) => b.append_value(parse(text, "a 16-bit integer")?),
            Self::I32(b) => b.append_value(parse(text, "a 32-bit integer")?),
            Self::I64(b) => b.append_value(parse(text, "a 64-bit integer")?),
            Self::U8(b) => b.append_value(parse(text, "a byte")?),
            Self::F64(b) => b.append_value(parse(text, "a number")?),
            Self::Dec(b) => b.append_value(parse_decimal(text).ok_or_else(|| {
                format!("{text} does not fit DECIMAL({DECIMAL_PRECISION}, {DECIMAL_SCALE}) without rounding")
            })?),
            Self::Bool(b) => b.append_value(parse(text, "true or false")?),
            Self::Ts(b) => {
                let s: std::borrow::Cow<'_, str> = parse(text, "a date-time string")?;
                let t = chrono::DateTime::parse_from_rfc3339(&s)
                    .map(|t| t.timestamp_micros())
                    .or_else(|_| {
                        chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
                            .map(|t| t.and_utc().timestamp_micros())
                    })
                    .map_err(|_| format!("{s:?} is not an ISO 8601 date-time"))?;
                b.append_value(t);
            }
        }
        Ok(())
    }

    fn finish(self, def_type: &datafusion::arrow::datatypes::DataType) -> ArrayRef {
        match self {
            Self::Str(mut b) => Arc::new(b.finish()),
            Self::I16(mut b) => Arc::new(b.finish()),
            Self::I32(mut b) => Arc::new(b.finish()),
            Self::I64(mut b) => Arc::new(b.finish()),
            Self::U8(mut b) => Arc::new(b.finish()),
            Self::F64(mut b) => Arc::new(b.finish()),
            Self::Dec(mut b) => Arc::new(
                b.finish()
                    .with_precision_and_scale(DECIMAL_PRECISION, DECIMAL_SCALE)
                    .expect("valid decimal type"),
            ),
            Self::Bool(mut b) => Arc::new(b.finish()),
            Self::Ts(mut b) => {
                let tz = match def_type {
                    datafusion::arrow::datatypes::DataType::Timestamp(_, tz) => tz.clone(),
                    _ => None,
                };
                Arc::new(b.finish().with_timezone_opt(tz))
            }
        }
    }
}

/// The value of a column in a record; a linked entity's object is parsed once per record and
/// kept in `links`.
fn cell<'a>(
    obj: &Obj<'a>,
    source: &ColumnSource,
    links: &mut Vec<(&'a str, Obj<'a>)>,
) -> Result<Option<&'a RawValue>, String> {
    if let ColumnSource::Custom(view, field) = source {
        // `custom` → view → `{"type": …, "value": …}`; the block and each view are parsed once
        // per record (kept with the linked entities: no member is named `custom`).
        let Some(block) = nested(obj, "custom", links)? else {
            return Ok(None);
        };
        let block = links[block].1.clone();
        let Some(v) = nested(&block, view, links)? else {
            return Ok(None);
        };
        return member(&links[v].1, field, true);
    }
    let ColumnSource::Linked(link, field) = source else {
        return field_value(obj, source);
    };
    let Some((key, raw)) = obj.get_key_value(link.as_str()) else {
        return Ok(None);
    };
    if raw.get() == "null" {
        return Ok(None);
    }
    let index = match links.iter().position(|(k, _)| std::ptr::eq(*k, *key)) {
        Some(i) => i,
        None => {
            let inner: Obj<'a> = serde_json::from_str(raw.get())
                .map_err(|_| format!("expected the linked entity {link} as an object"))?;
            links.push((key, inner));
            links.len() - 1
        }
    };
    member(&links[index].1, field, true)
}

/// An object member of `obj`, parsed once per record and kept in `cache`; returns its index
/// there. Entries are matched by the key's address in the page, so a custom view and a linked
/// entity of the same name never meet.
fn nested<'a>(
    obj: &Obj<'a>,
    name: &str,
    cache: &mut Vec<(&'a str, Obj<'a>)>,
) -> Result<Option<usize>, String> {
    let Some((key, raw)) = obj.get_key_value(name) else {
        return Ok(None);
    };
    if raw.get() == "null" {
        return Ok(None);
    }
    if let Some(i) = cache.iter().position(|(k, _)| std::ptr::eq(*k, *key)) {
        return Ok(Some(i));
    }
    let inner: Obj<'a> =
        serde_json::from_str(raw.get()).map_err(|_| format!("expected {name} as an object"))?;
    cache.push((key, inner));
    Ok(Some(cache.len() - 1))
}

/// The value of a column's member in `obj` (linked columns go through [`cell`]).
fn field_value<'a>(obj: &Obj<'a>, source: &ColumnSource) -> Result<Option<&'a RawValue>, String> {
    match source {
        ColumnSource::Id | ColumnSource::ParentId => member(obj, "id", false),
        ColumnSource::Field(f) | ColumnSource::ParentField(f) => member(obj, f, true),
        ColumnSource::Plain(f) => member(obj, f, false),
        ColumnSource::Linked(..) | ColumnSource::Custom(..) => {
            Err("a linked or custom column needs its record".into())
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
    let w: Wrapper<'a> = serde_json::from_str(raw.get())
        .map_err(|_| format!("expected a {{\"value\": …}} wrapper, found {}", raw.get()))?;
    Ok(w.value.filter(|v| v.get() != "null"))
}

/// Decodes one page of a list response into a batch with `schema` (the projected columns).
pub fn decode_page(
    def: &TableDef,
    projection: &[usize],
    schema: &SchemaRef,
    body: &[u8],
    row_offset: usize,
) -> Result<(RecordBatch, usize), DecodeError> {
    let records: Vec<Obj<'_>> = serde_json::from_slice(body).map_err(|e| {
        DecodeError::new(
            def,
            row_offset,
            "(page)",
            format!("the response is not a JSON array of records: {e}"),
        )
    })?;
    decode_records(def, projection, schema, &records, row_offset)
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
            format!("the response is not an OData feed ({{\"value\": [...]}}): {e}"),
        )
    })?;
    let (batch, n) = decode_records(def, projection, schema, &page.value, row_offset)?;
    Ok((batch, n, page.next_link))
}

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
    let mut rows = 0;
    // Per record: each linked entity is parsed once, however many of its columns are wanted;
    // on detail tables the parent's cells are read once for all its lines.
    let mut links: Vec<(&str, Obj<'_>)> = Vec::new();
    let mut parent: Vec<Option<&RawValue>> = Vec::new();
    let mut line_cache: Vec<(&str, Obj<'_>)> = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        let row = row_offset + i + 1;
        links.clear();
        match &def.detail {
            None => {
                for (b, c) in builders.iter_mut().zip(&columns) {
                    match cell(rec, &c.source, &mut links).map_err(|p| err(row, &c.name, p))? {
                        None => b.null(),
                        Some(v) => b.append(v).map_err(|p| err(row, &c.name, p))?,
                    }
                }
                rows += 1;
            }
            Some(detail) => {
                let Some(lines) = rec.get(detail.as_str()) else {
                    continue;
                };
                let lines: Vec<Obj<'_>> = serde_json::from_str(lines.get()).map_err(|e| {
                    err(
                        row,
                        detail,
                        format!("expected an array of detail rows: {e}"),
                    )
                })?;
                parent.clear();
                for c in &columns {
                    parent.push(if c.source.is_parent() {
                        field_value(rec, &c.source).map_err(|p| err(row, &c.name, p))?
                    } else {
                        None
                    });
                }
                for line in &lines {
                    line_cache.clear();
                    for ((b, c), p) in builders.iter_mut().zip(&columns).zip(&parent) {
                        let v = if c.source.is_parent() {
                            *p
                        } else {
                            cell(line, &c.source, &mut line_cache)
                                .map_err(|p| err(row, &c.name, p))?
                        };
                        match v {
                            None => b.null(),
                            Some(v) => b.append(v).map_err(|p| err(row, &c.name, p))?,
                        }
                    }
                    rows += 1;
                }
            }
        }
    }
    let arrays: Vec<ArrayRef> = builders
        .into_iter()
        .zip(schema.fields())
        .map(|(b, f)| b.finish(f.data_type()))
        .collect();
    let batch = if arrays.is_empty() {
        RecordBatch::try_new_with_options(
            schema.clone(),
            arrays,
            &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
        )
    } else {
        RecordBatch::try_new(schema.clone(), arrays)
    }
    .map_err(|e| err(row_offset, "(batch)", e.to_string()))?;
    Ok((batch, records.len()))
}
