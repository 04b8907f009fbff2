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
#[error("cannot read {entity}{}: {problem}", place(*.row, .field))]
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
            // serde's messages quote the offending value whole (a 50 MB string included).
            problem: shown(&problem, 300).into_owned(),
        }
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

/// Whether `text` is a JSON number (or a number in a string, as some endpoints send
/// decimals): tells "not a number" apart from "a number that does not fit".
fn number_like(text: &str) -> bool {
    let t = text.trim_matches('"');
    let t = t.strip_prefix('-').unwrap_or(t);
    t.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
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

    /// `n` NULLs at once.
    fn nulls(&mut self, n: usize) {
        match self {
            Self::Str(b) => b.append_nulls(n),
            Self::I16(b) => b.append_nulls(n),
            Self::I32(b) => b.append_nulls(n),
            Self::I64(b) => b.append_nulls(n),
            Self::U8(b) => b.append_nulls(n),
            Self::F64(b) => b.append_nulls(n),
            Self::Dec(b) => b.append_nulls(n),
            Self::Bool(b) => b.append_nulls(n),
            Self::Ts(b) => b.append_nulls(n),
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
            serde_json::from_str(text)
                .map_err(|_| format!("expected {what}, found {}", shown(text, 80)))
        }
        // Fast paths for the common spellings (the page is valid JSON already): a string
        // without escapes is its text between the quotes; numbers parse from their text.
        fn number<'a, T: std::str::FromStr + Deserialize<'a>>(
            text: &'a str,
            what: &str,
        ) -> Result<T, String> {
            text.parse().or_else(|_| parse(text, what))
        }
        fn string<'a>(text: &'a str, what: &str) -> Result<std::borrow::Cow<'a, str>, String> {
            match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                Some(inner) if !inner.contains('\\') => Ok(std::borrow::Cow::Borrowed(inner)),
                _ => parse(text, what),
            }
        }
        match self {
            Self::Str(b) => {
                let s: std::borrow::Cow<'_, str> = if text.starts_with('"') {
                    string(text, "a string")?
                } else if text.starts_with(['{', '[']) {
                    return Err(format!("expected a string, found {}", shown(text, 80)));
                } else {
                    // Numbers or booleans in a string field: keep their text.
                    std::borrow::Cow::Borrowed(text)
                };
                b.append_value(s);
            }
            Self::I16(b) => b.append_value(number(text, "a 16-bit integer")?),
            Self::I32(b) => b.append_value(number(text, "a 32-bit integer")?),
            Self::I64(b) => b.append_value(number(text, "a 64-bit integer")?),
            Self::U8(b) => b.append_value(number(text, "a byte")?),
            Self::F64(b) => {
                let v: f64 = number(text, "a number")?;
                // Rust reads `1e400` as infinity; the value is not the server's.
                if !v.is_finite() {
                    return Err(format!("{} is out of range for a double", shown(text, 80)));
                }
                b.append_value(v)
            }
            Self::Dec(b) => b.append_value(parse_decimal(text).ok_or_else(|| {
                if number_like(text) {
                    format!(
                        "{} does not fit DECIMAL({DECIMAL_PRECISION}, {DECIMAL_SCALE}) without rounding",
                        shown(text, 80)
                    )
                } else {
                    format!("expected a decimal number, found {}", shown(text, 80))
                }
            })?),
            Self::Bool(b) => b.append_value(match text {
                "true" => true,
                "false" => false,
                _ => parse(text, "true or false")?,
            }),
            Self::Ts(b) => {
                let s = string(text, "a date-time string")?;
                let t = chrono::DateTime::parse_from_rfc3339(&s)
                    .map(|t| t.timestamp_micros())
                    .or_else(|_| {
                        chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
                            .map(|t| t.and_utc().timestamp_micros())
                    })
                    .map_err(|_| format!("{:?} is not an ISO 8601 date-time", shown(&s, 80)))?;
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

/// Says so when a body that should be JSON is an HTML (or XML) page: a sign-in or proxy page
/// answering in the API's place.
fn html_hint(body: &[u8]) -> &'static str {
    if body.trim_ascii_start().starts_with(b"<") {
        " (it is an HTML page: a sign-in or proxy page answering instead of the API?)"
    } else {
        ""
    }
}

/// The value of a column's member in an OData row (contract pages go through the streaming
/// decoder, [`decode_rest_page`]).
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

/// Decodes one page of a list response into a batch with `schema` (the projected columns),
/// in one pass over the bytes: each member is looked up in the plan of the projected columns
/// and either read straight into its cell (a wrapper's `value` borrowed from the page) or
/// skipped, so no per-record member map is built. Returns the batch and the number of records
/// (a detail table's batch has one row per line).
pub fn decode_page(
    def: &TableDef,
    projection: &[usize],
    schema: &SchemaRef,
    body: &[u8],
    row_offset: usize,
) -> Result<(RecordBatch, usize), DecodeError> {
    decode_rest_page(def, projection, schema, body, row_offset)
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

// ---------------------------------------------------------------------------------------
// Streaming decoder of contract REST pages: one pass over the page, no member map per record.

/// What to do with a member of an object.
#[derive(Debug)]
enum Action {
    /// The value goes to these cells (projected columns); `true` = wrapped (`{"value": …}`).
    Cells(Vec<(usize, bool)>),
    /// A nested object (a linked entity, the `custom` block, a custom view).
    Object(Level),
    /// The detail collection of a detail table: each element is a line.
    Lines(Level),
}

/// A member name met at a position, and the member it matched.
type SeenKey = (Box<[u8]>, Option<usize>);

/// The members of one object that matter, by name. Records of a page list their members in
/// the same order, so a cursor over the previous record's order turns most lookups into one
/// comparison of bytes; the hash map answers the rest.
#[derive(Debug, Default)]
struct Level {
    members: Vec<(Box<[u8]>, Action)>,
    /// Name (bytes: serde_json hands keys over raw, without a UTF-8 check) → `members` index.
    index: HashMap<Box<[u8]>, usize, std::hash::BuildHasherDefault<KeyHasher>>,
    /// The member names of the last object read at this level, with what they matched.
    seen: std::cell::RefCell<Vec<SeenKey>>,
    pos: std::cell::Cell<usize>,
}

impl Level {
    fn slot(&mut self, name: &str, make: impl FnOnce() -> Action) -> &mut Action {
        let i = match self.index.get(name.as_bytes()) {
            Some(i) => *i,
            None => {
                self.members.push((name.as_bytes().into(), make()));
                self.index
                    .insert(name.as_bytes().into(), self.members.len() - 1);
                self.members.len() - 1
            }
        };
        &mut self.members[i].1
    }

    fn cell(&mut self, name: &str, slot: usize, wrapped: bool) {
        // A member cannot be both a value and an object; the first meaning wins.
        if let Action::Cells(c) = self.slot(name, || Action::Cells(Vec::new())) {
            c.push((slot, wrapped));
        }
    }

    fn object(&mut self, name: &str) -> &mut Level {
        let a = self.slot(name, || Action::Object(Level::default()));
        if matches!(a, Action::Cells(_)) {
            *a = Action::Object(Level::default());
        }
        match a {
            Action::Object(l) | Action::Lines(l) => l,
            Action::Cells(_) => unreachable!("replaced above"),
        }
    }

    fn lines(&mut self, name: &str, line: Level) {
        *self.slot(name, || Action::Lines(Level::default())) = Action::Lines(line);
    }

    /// A new object of this level begins.
    fn start(&self) {
        self.pos.set(0);
    }

    /// The member a key names, if any matters.
    fn find(&self, key: &[u8]) -> Option<(&[u8], &Action)> {
        let p = self.pos.get();
        self.pos.set(p + 1);
        let mut seen = self.seen.borrow_mut();
        let hit = match seen.get(p) {
            Some((k, hit)) if **k == *key => *hit,
            _ => {
                let hit = self.index.get(key).copied();
                match p.cmp(&seen.len()) {
                    std::cmp::Ordering::Less => seen[p] = (key.into(), hit),
                    std::cmp::Ordering::Equal => seen.push((key.into(), hit)),
                    std::cmp::Ordering::Greater => {}
                }
                hit
            }
        };
        hit.map(|i| (&*self.members[i].0, &self.members[i].1))
    }
}

/// The plan of a REST table's page: record-level members and, on detail tables, the line's.
#[derive(Debug)]
struct Plan {
    record: Level,
    /// Slots filled per line (detail tables); the others are filled per record.
    line_slots: Vec<bool>,
    slots: usize,
}

impl Plan {
    fn new(def: &TableDef, projection: &[usize]) -> Self {
        let mut record = Level::default();
        let mut line = Level::default();
        let mut line_slots = vec![false; projection.len()];
        for (slot, i) in projection.iter().enumerate() {
            let source = &def.columns[*i].source;
            let on_line = def.detail.is_some() && !source.is_parent();
            line_slots[slot] = on_line;
            let level = if on_line { &mut line } else { &mut record };
            match source {
                ColumnSource::Id | ColumnSource::ParentId => level.cell("id", slot, false),
                ColumnSource::Field(f) | ColumnSource::ParentField(f) => level.cell(f, slot, true),
                ColumnSource::Plain(f) => level.cell(f, slot, false),
                ColumnSource::Linked(l, f) => level.object(l).cell(f, slot, true),
                ColumnSource::Custom(v, f) => level.object("custom").object(v).cell(f, slot, true),
            }
        }
        if let Some(d) = &def.detail {
            record.lines(d, line);
        }
        Self {
            record,
            line_slots,
            slots: projection.len(),
        }
    }
}

/// Where a page's cells go while it is read.
struct Sink<'de> {
    /// The current record's cells (all slots; line slots unused on detail tables).
    record: Vec<Option<&'de RawValue>>,
    /// The current record's lines (detail tables), one after another, `record.len()` cells
    /// each (one buffer reused for every record: no allocation per line).
    lines: Vec<Option<&'de RawValue>>,
    /// How many lines `lines` holds (it is empty when no line column is projected).
    line_count: usize,
    /// Records read, and the member being read when the page turned out malformed.
    records: usize,
    failed_at: Option<String>,
    /// Finished rows, appended to the builders record by record.
    builders: Vec<Builder>,
    /// NULLs owed to each builder, appended in one run before its next value (wide tables
    /// are mostly NULL: linked entities not returned, `{}` fields).
    pending: Vec<usize>,
    rows: usize,
    /// A value a builder refused: (row, slot, problem).
    refused: Option<(usize, usize, String)>,
}

struct PageSeed<'p, 'de> {
    plan: &'p Plan,
    sink: &'p mut Sink<'de>,
    detail: bool,
    row_offset: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for PageSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for PageSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of records")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.sink.record.iter_mut().for_each(|c| *c = None);
            self.sink.lines.clear();
            self.sink.line_count = 0;
            let seed = ObjectSeed {
                level: &self.plan.record,
                cells: CellsRef::Record,
                sink: &mut *self.sink,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            self.sink.records += 1;
            let row = self.row_offset + self.sink.records;
            if self.sink.refused.is_some() {
                continue;
            }
            if let Err((slot, p)) = self.sink.flush(self.plan, self.detail) {
                self.sink.refused = Some((row, slot, p));
            }
        }
    }
}

/// Which cell vector an object's members go to.
#[derive(Clone, Copy)]
enum CellsRef {
    Record,
    /// The last line of the current record.
    Line,
}

struct ObjectSeed<'p, 's, 'de> {
    level: &'p Level,
    cells: CellsRef,
    sink: &'s mut Sink<'de>,
}

impl<'de> Sink<'de> {
    fn set(&mut self, cells: CellsRef, slot: usize, v: Option<&'de RawValue>) {
        match cells {
            CellsRef::Record => self.record[slot] = v,
            CellsRef::Line => {
                let start = self.lines.len() - self.record.len();
                self.lines[start + slot] = v;
            }
        }
    }

    /// Appends the current record's row(s) to the builders; on a refused value, the slot and
    /// the problem.
    fn flush(&mut self, plan: &Plan, detail: bool) -> Result<(), (usize, String)> {
        let append = |b: &mut Builder, pending: &mut usize, v: Option<&RawValue>| match v {
            None => {
                *pending += 1;
                Ok(())
            }
            Some(v) => {
                if *pending > 0 {
                    b.nulls(*pending);
                    *pending = 0;
                }
                b.append(v)
            }
        };
        if !detail {
            for (slot, (b, p)) in self.builders.iter_mut().zip(&mut self.pending).enumerate() {
                append(b, p, self.record[slot]).map_err(|e| (slot, e))?;
            }
            self.rows += 1;
            return Ok(());
        }
        let n = self.record.len();
        for i in 0..self.line_count {
            let line = &self.lines[i * n..(i + 1) * n];
            for (slot, (b, p)) in self.builders.iter_mut().zip(&mut self.pending).enumerate() {
                let v = if plan.line_slots[slot] {
                    line[slot]
                } else {
                    self.record[slot]
                };
                append(b, p, v).map_err(|e| (slot, e))?;
            }
            self.rows += 1;
        }
        Ok(())
    }

    /// The builders, with the NULLs still owed appended.
    fn into_builders(mut self) -> Vec<Builder> {
        for (b, p) in self.builders.iter_mut().zip(&self.pending) {
            if *p > 0 {
                b.nulls(*p);
            }
        }
        self.builders
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for ObjectSeed<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ObjectSeed<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a record (a JSON object)")
    }

    /// `null` where an object was expected (a linked entity not returned): all NULL.
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.level.start();
        while let Some(action) = map.next_key_seed(KeySeed(self.level))? {
            match action {
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                Some((name, Action::Cells(cells))) => {
                    let wrapped = cells.first().is_some_and(|c| c.1);
                    let v = if wrapped {
                        map.next_value_seed(WrapperSeed).inspect_err(|_| {
                            self.sink.failed_at = Some(String::from_utf8_lossy(name).into_owned());
                        })?
                    } else {
                        let raw: &'de RawValue = map.next_value()?;
                        (raw.get() != "null").then_some(raw)
                    };
                    for (slot, _) in cells {
                        self.sink.set(self.cells, *slot, v);
                    }
                }
                Some((_, Action::Object(level))) => map.next_value_seed(ObjectSeed {
                    level,
                    cells: self.cells,
                    sink: &mut *self.sink,
                })?,
                Some((name, Action::Lines(level))) => map
                    .next_value_seed(LinesSeed {
                        level,
                        sink: &mut *self.sink,
                    })
                    .inspect_err(|_| {
                        if self.sink.failed_at.is_none() {
                            self.sink.failed_at = Some(String::from_utf8_lossy(name).into_owned());
                        }
                    })?,
            }
        }
        Ok(())
    }
}

/// Reads a member name and finds what to do with it (`None`: skip the value).
struct KeySeed<'p>(&'p Level);

impl<'de, 'p> serde::de::DeserializeSeed<'de> for KeySeed<'p> {
    type Value = Option<(&'p [u8], &'p Action)>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_bytes(self)
    }
}

impl<'de, 'p> serde::de::Visitor<'de> for KeySeed<'p> {
    type Value = Option<(&'p [u8], &'p Action)>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(self.0.find(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.visit_bytes(v.as_bytes())
    }
}

/// Whether a member name is `value` (as raw bytes: no UTF-8 check, no allocation).
struct IsValue;

impl<'de> serde::de::DeserializeSeed<'de> for IsValue {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_bytes(self)
    }
}

impl<'de> serde::de::Visitor<'de> for IsValue {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<bool, E> {
        Ok(v == b"value")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == "value")
    }
}

/// `{"value": X}` → X (`{}`, `null` and `{"value": null}` → NULL); other members ignored.
struct WrapperSeed;

impl<'de> serde::de::DeserializeSeed<'de> for WrapperSeed {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for WrapperSeed {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a {\"value\": …} wrapper")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = None;
        while let Some(is_value) = map.next_key_seed(IsValue)? {
            if is_value {
                let raw: &'de RawValue = map.next_value()?;
                out = (raw.get() != "null").then_some(raw);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// A detail collection: each element is a line, read into a fresh line of cells.
struct LinesSeed<'p, 's, 'de> {
    level: &'p Level,
    sink: &'s mut Sink<'de>,
}

impl<'de> serde::de::DeserializeSeed<'de> for LinesSeed<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for LinesSeed<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of detail rows")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let n = self.sink.record.len();
            self.sink.lines.resize(self.sink.lines.len() + n, None);
            self.sink.line_count += 1;
            let seed = ObjectSeed {
                level: self.level,
                cells: CellsRef::Line,
                sink: &mut *self.sink,
            };
            if seq.next_element_seed(seed)?.is_none() {
                self.sink.lines.truncate(self.sink.lines.len() - n);
                self.sink.line_count -= 1;
                return Ok(());
            }
        }
    }
}

/// Decodes one page of a contract REST list response in a single pass.
fn decode_rest_page(
    def: &TableDef,
    projection: &[usize],
    schema: &SchemaRef,
    body: &[u8],
    row_offset: usize,
) -> Result<(RecordBatch, usize), DecodeError> {
    let plan = Plan::new(def, projection);
    let columns: Vec<_> = projection.iter().map(|i| &def.columns[*i]).collect();
    let mut sink = Sink {
        record: vec![None; plan.slots],
        lines: Vec::new(),
        line_count: 0,
        records: 0,
        failed_at: None,
        builders: columns.iter().map(|c| Builder::new(c.wrapper)).collect(),
        pending: vec![0; columns.len()],
        rows: 0,
        refused: None,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = serde::de::DeserializeSeed::deserialize(
        PageSeed {
            plan: &plan,
            sink: &mut sink,
            detail: def.detail.is_some(),
            row_offset,
        },
        &mut de,
    )
    .and_then(|()| de.end());
    if let Err(e) = parsed {
        let row = row_offset + sink.records + 1;
        return Err(match sink.failed_at {
            Some(field) => DecodeError::new(def, row, &field, e.to_string()),
            None => DecodeError::new(
                def,
                row_offset,
                "(page)",
                format!(
                    "the response is not a JSON array of records{}: {e}",
                    html_hint(body)
                ),
            ),
        });
    }
    if let Some((row, slot, problem)) = sink.refused {
        return Err(DecodeError::new(def, row, &columns[slot].name, problem));
    }
    let (rows, records) = (sink.rows, sink.records);
    finish_batch(def, schema, sink.into_builders(), rows, row_offset).map(|b| (b, records))
}

#[cfg(test)]
mod tests {
    use acumatica_client::metadata::{CustomField, EndpointSchema, WrapperType};
    use datafusion::arrow::util::pretty::pretty_format_batches;

    use super::*;

    fn table(entity: &str, detail: Option<&str>) -> TableDef {
        let s = EndpointSchema::bundled("Default", "24.200.001").unwrap();
        let e = s.entity(entity).unwrap();
        match detail {
            None => TableDef::entity_with_links(e, &s),
            Some(d) => {
                let target = match &e.fields.iter().find(|f| f.name == d).unwrap().kind {
                    acumatica_client::metadata::FieldKind::Detail(t) => t.clone(),
                    _ => unreachable!(),
                };
                TableDef::detail(e, d, s.entity(&target).unwrap())
            }
        }
    }

    fn decode(def: &TableDef, cols: &[&str], body: &str) -> Result<String, DecodeError> {
        let projection: Vec<usize> = cols
            .iter()
            .map(|c| def.columns.iter().position(|x| x.name == *c).unwrap())
            .collect();
        let schema = Arc::new(def.schema.project(&projection).unwrap());
        let (batch, _) = decode_page(def, &projection, &schema, body.as_bytes(), 0)?;
        Ok(pretty_format_batches(&[batch]).unwrap().to_string())
    }

    #[test]
    fn tolerant_of_the_real_shapes() {
        let def = table("SalesOrder", None).with_custom(&[CustomField {
            path: vec![],
            view: "Document".into(),
            field: "AttributePRODUCT".into(),
            kind: WrapperType::String,
        }]);
        let body = r#"[
          {"id":"a","rowNumber":1,"note":null,"OrderNbr":{"value":"SO1"},"OrderTotal":{"value":30.0000},
           "Date":{"value":"2024-01-31T23:30:00+02:00"},"Hold":{},"Unknown":{"value":[1,{"x":2}]},
           "ShipToContact":{"id":"c","Email":{"value":"a\"b@x"}},
           "custom":{"Document":{"AttributePRODUCT":{"type":"CustomStringField","value":"Jam"}}},"_links":{}},
          {"id":"b","OrderNbr":{"value":"SO2"},"OrderTotal":{"value":-0.5},"Date":{"value":null},
           "ShipToContact":null,"custom":{}},
          {"id":"c","Ord\u0065rNbr":{"value":"SO3"}}
        ]"#;
        let out = decode(
            &def,
            &[
                "id",
                "OrderNbr",
                "OrderTotal",
                "Date",
                "Hold",
                "ShipToContact_Email",
                "cf_Document_AttributePRODUCT",
            ],
            body,
        )
        .unwrap();
        assert!(
            out.contains("| a  | SO1      | 30.00000000 | 2024-01-31T21:30:00Z |      | a\"b@x"),
            "{out}"
        );
        assert!(out.contains("| Jam"), "{out}");
        assert!(out.contains("| b  | SO2      | -0.50000000 |"), "{out}");
        assert!(
            out.contains("| c  | SO3      |"),
            "escaped member names: {out}"
        );
    }

    #[test]
    fn detail_lines_carry_their_parents_cells() {
        let def = table("SalesOrder", Some("Details"));
        let body = r#"[
          {"id":"p1","OrderType":{"value":"SO"},"Details":[
              {"id":"l1","InventoryID":{"value":"A"},"OrderQty":{"value":1.5}},
              {"id":"l2","InventoryID":{}}],"OrderNbr":{"value":"SO1"}},
          {"id":"p2","OrderType":{"value":"SO"},"OrderNbr":{"value":"SO2"},"Details":[]},
          {"id":"p3","OrderType":{"value":"SO"},"OrderNbr":{"value":"SO3"}}
        ]"#;
        let projection: Vec<usize> = ["OrderType", "OrderNbr", "InventoryID", "OrderQty"]
            .iter()
            .map(|c| def.columns.iter().position(|x| x.name == *c).unwrap())
            .collect();
        let schema = Arc::new(def.schema.project(&projection).unwrap());
        let (batch, records) = decode_page(&def, &projection, &schema, body.as_bytes(), 0).unwrap();
        assert_eq!((batch.num_rows(), records), (2, 3));
        let out = pretty_format_batches(&[batch]).unwrap().to_string();
        assert!(
            out.contains("| SO        | SO1      | A           | 1.50000000 |"),
            "{out}"
        );
        assert!(
            out.contains("| SO        | SO1      |             |            |"),
            "{out}"
        );
    }

    #[test]
    fn errors_name_the_row_and_field() {
        let def = table("Customer", None);
        let e = decode(
            &def,
            &["CustomerID", "CreditLimit"],
            r#"[{"CustomerID":{"value":"C1"}},{"CustomerID":{"value":"C2"},"CreditLimit":{"value":"lots"}}]"#,
        )
        .unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (2, "CreditLimit"), "{e}");
        let e = decode(&def, &["CustomerID"], r#"[{"CustomerID":"C1"}]"#).unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (1, "CustomerID"), "{e}");
        let e = decode(
            &def,
            &["CustomerID"],
            r#"{"message":"An error has occurred."}"#,
        )
        .unwrap_err();
        assert_eq!(e.field, "(page)");
        assert!(
            decode(
                &def,
                &["CustomerID"],
                "[{\"CustomerID\":{\"value\":\"C1\"}}] trailing"
            )
            .is_err()
        );
        let schema = Arc::new(def.schema.project(&[]).unwrap());
        let (batch, n) = decode_page(&def, &[], &schema, b"[{},{}]", 0).unwrap();
        assert_eq!(
            (batch.num_rows(), n),
            (2, 2),
            "COUNT(*) needs rows without columns"
        );
        let lines = table("SalesOrder", Some("Details"));
        let schema = Arc::new(lines.schema.project(&[]).unwrap());
        let body = br#"[{"Details":[{},{}]},{"Details":[{}]}]"#;
        let (batch, n) = decode_page(&lines, &[], &schema, body, 0).unwrap();
        assert_eq!(
            (batch.num_rows(), n),
            (3, 2),
            "one row per line without columns"
        );
    }

    /// A hostile or broken server's values: each a clear error naming row and field, never a
    /// panic, a wrapped number or a message as long as the value.
    #[test]
    fn hostile_values_are_clear_errors() {
        let def = table("Customer", None);
        let cols = ["CustomerID", "CustomerName", "CreditLimit", "BAccountID"];
        let forty = "1234567890123456789012345678901234567890";
        let cases: Vec<(String, &str, &str)> = vec![
            (
                r#"{"CreditLimit":{"value":"abc"}}"#.into(),
                "CreditLimit",
                "expected a decimal number, found \"abc\"",
            ),
            (
                r#"{"CreditLimit":{"value":true}}"#.into(),
                "CreditLimit",
                "expected a decimal number, found true",
            ),
            (
                r#"{"CreditLimit":{"value":{"a":1}}}"#.into(),
                "CreditLimit",
                "expected a decimal number",
            ),
            (
                format!(r#"{{"CreditLimit":{{"value":{forty}}}}}"#),
                "CreditLimit",
                "does not fit DECIMAL(38, 8)",
            ),
            (
                r#"{"CreditLimit":{"value":0e2000000000}}"#.into(),
                "CreditLimit",
                "does not fit",
            ),
            (
                r#"{"CreditLimit":{"value":1e2147483647}}"#.into(),
                "CreditLimit",
                "does not fit",
            ),
            (
                r#"{"CreditLimit":{"value":-0E+99999999999999999999}}"#.into(),
                "CreditLimit",
                "does not fit",
            ),
            (
                format!(r#"{{"BAccountID":{{"value":{forty}}}}}"#),
                "BAccountID",
                "expected a 32-bit integer",
            ),
            (
                r#"{"BAccountID":{"value":1e2147483647}}"#.into(),
                "BAccountID",
                "expected a 32-bit integer",
            ),
            (
                r#"{"BAccountID":{"value":"x"}}"#.into(),
                "BAccountID",
                "expected a 32-bit integer",
            ),
            (
                r#"{"CustomerName":{"value":{"a":1}}}"#.into(),
                "CustomerName",
                "expected a string, found {\"a\":1}",
            ),
            (
                r#"{"CustomerName":{"value":[1]}}"#.into(),
                "CustomerName",
                "expected a string",
            ),
            (
                r#"{"CustomerName":"plain"}"#.into(),
                "CustomerName",
                "wrapper",
            ),
            (r#"{"CustomerName":7}"#.into(), "CustomerName", "wrapper"),
        ];
        for (record, field, problem) in cases {
            let body = format!(r#"[{{"CustomerID":{{"value":"C1"}}}},{record}]"#);
            let e = decode(&def, &cols, &body).unwrap_err();
            assert_eq!((e.row, e.field.as_str()), (2, field), "{record}: {e}");
            assert!(e.problem.contains(problem), "{record}: {e}");
        }
        // Numbers the JSON reader itself refuses or the page around them is broken.
        for body in [
            "[1e2147483647]",
            "[0e2000000000]",
            &format!("[{forty}]"),
            r#"[{"CustomerID":{"value":"C1"}"#,
            "<html><head><title>Sign in</title></head></html>",
        ] {
            let e = decode(&def, &cols, body).unwrap_err();
            assert!(e.to_string().starts_with("cannot read Customer"), "{e}");
        }
        let e = decode(&def, &cols, "<!DOCTYPE html><html></html>").unwrap_err();
        assert!(e.problem.contains("HTML page"), "{e}");
    }

    #[test]
    fn errors_quote_at_most_a_little_of_a_huge_value() {
        let def = table("Customer", None);
        let huge = "x".repeat(1_000_000);
        for record in [
            format!(r#"{{"CreditLimit":{{"value":"{huge}"}}}}"#),
            format!(r#"{{"CustomerName":"{huge}"}}"#),
            format!(r#"{{"CreatedDateTime":{{"value":"{huge}"}}}}"#),
        ] {
            let e = decode(
                &def,
                &["CustomerName", "CreditLimit", "CreatedDateTime"],
                &format!("[{record}]"),
            )
            .unwrap_err();
            assert!(e.to_string().len() < 500, "{} bytes", e.to_string().len());
        }
        // A huge string where a string belongs is a value like any other.
        let out = decode(
            &def,
            &["CustomerName"],
            &format!(r#"[{{"CustomerName":{{"value":"{huge}"}}}}]"#),
        )
        .unwrap();
        assert!(out.len() > huge.len());
    }

    #[test]
    fn doubles_out_of_range_are_refused() {
        // Customer has no double column: the builder directly.
        let mut b = Builder::new(Some(WrapperType::Double));
        let raw = RawValue::from_string("1e400".into()).unwrap();
        assert!(b.append(&raw).unwrap_err().contains("out of range"));
        let raw = RawValue::from_string("1.5".into()).unwrap();
        assert!(b.append(&raw).is_ok());
    }
}
