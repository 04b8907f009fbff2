//! The streaming decoder of contract REST pages: one pass over the page, no member map per
//! record. A [`Plan`] of the projected columns says, per member name, which cells a value
//! fills; serde seeds walk the page and fill a [`Sink`], which appends finished rows to the
//! builders.

use std::collections::HashMap;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use rustc_hash::FxBuildHasher;
use serde_json::value::RawValue;

use super::builder::Builder;
use super::{DecodeError, finish_batch, html_hint};
use crate::table::{ColumnSource, TableDef};

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
    index: HashMap<Box<[u8]>, usize, FxBuildHasher>,
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
