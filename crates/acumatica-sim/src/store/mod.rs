//! Records as the simulator serves them: the generated data, overlaid with what clients wrote
//! (`PUT` upserts, `DELETE`s). Lookups by keys and by id; reading JSON bodies into records.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::Value;

use crate::data::{Data, Entity, FieldValue, Record, Stamp};
use crate::schema::{Endpoint, EntityDef};

mod body;
mod new_record;

pub(crate) use body::intern;
use body::read_record;
use new_record::{auto_number, check_choices, new_guid, new_record_defaults};

/// What clients changed in one entity.
#[derive(Debug, Default)]
struct Overlay {
    /// By key (`k1/k2`): the new version, or `None` when deleted.
    changed: HashMap<String, Option<Record>>,
    /// Keys of created records, in key order (served after the generated ones).
    created: BTreeMap<String, ()>,
    /// Auto-numbering of created records.
    next: usize,
}

#[derive(Debug, Default)]
pub struct Store {
    overlays: Mutex<HashMap<String, Overlay>>,
    /// Record id → index of generated records, built on the first get-by-id of an entity.
    ids: Mutex<HashMap<Entity, HashMap<String, usize>>>,
    /// Inquiry forms answered so far (their session-scoped ids).
    forms: std::sync::atomic::AtomicUsize,
}

/// The key of a record: its key fields' values joined by `/` (the URL form).
pub fn key_of(r: &Record, keys: &[String]) -> String {
    if keys.is_empty() {
        return r.id.clone();
    }
    keys.iter()
        .map(|k| match r.get(k) {
            Some(FieldValue::Str(s)) => s.trim_end().to_ascii_uppercase(),
            Some(FieldValue::Int(i)) => i.to_string(),
            _ => String::new(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A write the server refuses.
pub enum WriteError {
    /// 400: the body is not an entity.
    BadRequest(String),
    /// 412: `If-Match`/`If-None-Match` not satisfied.
    Precondition,
    /// 422: field errors, echoed on the entity.
    Invalid(Value),
    /// 500: no such record (GET/DELETE by keys).
    NotFound,
}

impl Store {
    fn overlay_empty(&self, entity: &str) -> bool {
        self.overlays
            .lock()
            .map(|o| o.get(entity).is_none_or(|x| x.changed.is_empty()))
            .unwrap_or(true)
    }

    /// True when the generated records are served as they are (fast paths allowed).
    pub fn pristine(&self, entity: &str) -> bool {
        self.overlay_empty(&entity.to_ascii_lowercase())
    }

    /// The `i`-th generated record as currently served (`None` when deleted).
    pub fn generated(
        &self,
        data: &Data,
        e: Entity,
        i: usize,
        details: bool,
        keys: &[String],
    ) -> Option<Record> {
        let r = data.record(e, i, details);
        let name = e.name().to_ascii_lowercase();
        if self.overlay_empty(&name) {
            return Some(r);
        }
        let key = key_of(&r, keys);
        let o = self.overlays.lock().ok()?;
        match o.get(&name).and_then(|x| x.changed.get(&key)) {
            Some(v) => v.clone(),
            None => Some(r),
        }
    }

    /// Records created by clients, in key order.
    pub fn created(&self, entity: &str) -> Vec<Record> {
        let Ok(o) = self.overlays.lock() else {
            return Vec::new();
        };
        let Some(x) = o.get(&entity.to_ascii_lowercase()) else {
            return Vec::new();
        };
        x.created
            .keys()
            .filter_map(|k| x.changed.get(k).cloned().flatten())
            .collect()
    }

    /// Finds a record by its key values (URL segments, `|` also accepted as separator).
    pub fn by_keys(&self, data: &Data, def: &EntityDef, segs: &[&str]) -> Option<Record> {
        let wanted = segs
            .iter()
            .map(|s| s.trim_end().to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join("/");
        let name = def.name.to_ascii_lowercase();
        if let Ok(o) = self.overlays.lock()
            && let Some(v) = o.get(&name).and_then(|x| x.changed.get(&wanted))
        {
            return v.clone();
        }
        let e = Entity::parse(&def.name)?;
        let i = index_of(data, e, segs)?;
        let r = data.record(e, i, true);
        (key_of(&r, &def.keys) == wanted).then_some(r)
    }

    /// Finds a record by its `id`.
    pub fn by_id(&self, data: &Data, def: &EntityDef, id: &str) -> Option<Record> {
        let name = def.name.to_ascii_lowercase();
        if let Ok(o) = self.overlays.lock()
            && let Some(x) = o.get(&name)
        {
            for r in x.changed.values() {
                match r {
                    Some(r) if r.id.eq_ignore_ascii_case(id) => return Some(r.clone()),
                    _ => {}
                }
            }
        }
        let e = Entity::parse(&def.name)?;
        let mut ids = self.ids.lock().ok()?;
        let index = ids.entry(e).or_insert_with(|| {
            (0..data.count(e))
                .map(|i| (data.record(e, i, false).id, i))
                .collect()
        });
        let i = *index.get(&id.to_ascii_lowercase())?;
        drop(ids);
        self.generated(data, e, i, true, &def.keys)
    }

    /// `DELETE <Entity>/<keys>` or, with one GUID segment, `DELETE <Entity>/<id>`.
    pub fn delete(&self, data: &Data, def: &EntityDef, segs: &[&str]) -> Result<(), WriteError> {
        let found = match segs {
            [id] if crate::data::is_guid(id) => self.by_id(data, def, id),
            _ => self.by_keys(data, def, segs),
        };
        let r = found.ok_or(WriteError::NotFound)?;
        let key = key_of(&r, &def.keys);
        let mut o = self.overlays.lock().map_err(|_| WriteError::NotFound)?;
        let x = o.entry(def.name.to_ascii_lowercase()).or_default();
        x.changed.insert(key.clone(), None);
        x.created.remove(&key);
        Ok(())
    }

    /// `PUT` on an inquiry or processing form: reads the parameters (422 on bad values) and
    /// returns them with the form's result collections empty; nothing is stored.
    pub fn parameters(
        &self,
        ep: &Endpoint,
        def: &EntityDef,
        body: &Value,
    ) -> Result<Record, WriteError> {
        let obj = body.as_object().ok_or_else(|| {
            WriteError::BadRequest("The request body must be an entity (a JSON object).".into())
        })?;
        let mut r = read_record(ep, def, obj)?;
        r.details.clear();
        for f in &def.fields {
            if f.detail.is_some() {
                r.details.push((intern(&f.name), Vec::new()));
            }
        }
        // Session-scoped id: a form without a NoteID.
        r.id = new_guid(
            crate::data::mix(
                self.forms
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed) as u64,
            ),
            &def.name,
            0,
        );
        Ok(r)
    }

    /// `PUT`: creates or updates the record the body identifies; returns the stored record.
    #[allow(clippy::too_many_arguments)]
    pub fn upsert(
        &self,
        data: &Data,
        ep: &Endpoint,
        def: &EntityDef,
        body: &Value,
        if_match: bool,
        if_none_match: bool,
        now: Stamp,
        branch: &str,
    ) -> Result<Record, WriteError> {
        let obj = body.as_object().ok_or_else(|| {
            WriteError::BadRequest("The request body must be an entity (a JSON object).".into())
        })?;
        let incoming = read_record(ep, def, obj)?;
        check_choices(def, obj, &incoming)?;
        // Which record: by id, else by keys.
        let existing = match obj.get("id").and_then(Value::as_str) {
            Some(id) => self.by_id(data, def, id),
            None => {
                let segs: Vec<String> = def
                    .keys
                    .iter()
                    .map(|k| match incoming.get(k) {
                        Some(FieldValue::Str(s)) => s.clone(),
                        Some(FieldValue::Int(i)) => i.to_string(),
                        _ => String::new(),
                    })
                    .collect();
                if !def.keys.is_empty() && segs.iter().all(|s| !s.is_empty()) {
                    let refs: Vec<&str> = segs.iter().map(String::as_str).collect();
                    self.by_keys(data, def, &refs)
                } else {
                    None
                }
            }
        };
        if (if_match && existing.is_none()) || (if_none_match && existing.is_some()) {
            return Err(WriteError::Precondition);
        }
        let name = def.name.to_ascii_lowercase();
        let mut o = self
            .overlays
            .lock()
            .map_err(|_| WriteError::BadRequest("busy".into()))?;
        let overlay = o.entry(name).or_default();
        let is_new = existing.is_none();
        let mut record = match existing {
            Some(r) => r,
            None => {
                overlay.next += 1;
                Record {
                    id: new_guid(data.seed, &def.name, overlay.next),
                    ..Default::default()
                }
            }
        };
        let old_key = (!is_new).then(|| key_of(&record, &def.keys));
        merge(&mut record, incoming);
        if is_new {
            // Key fields have an upper-case input mask (`>CCCCCCCCCC`): `Cust01` is `CUST01`.
            for k in &def.keys {
                if let Some(FieldValue::Str(v)) = record.get(k)
                    && v.chars().any(char::is_lowercase)
                {
                    let upper = v.to_uppercase();
                    set(&mut record, intern(k), FieldValue::Str(upper));
                }
            }
            // The defaults the entry screen gives a new record, so that it matches later
            // filters as the official collections expect (a new stock item is active, …).
            for (field, value) in new_record_defaults(&def.name, now, branch) {
                if def.fields.iter().any(|f| f.name == field)
                    && matches!(record.get(field), None | Some(FieldValue::Null))
                {
                    set(&mut record, field, value);
                }
            }
            // Auto-number missing keys (e.g. OrderNbr), as Acumatica's numbering sequences do.
            for k in &def.keys {
                if matches!(record.get(k), None | Some(FieldValue::Null))
                    || matches!(record.get(k), Some(FieldValue::Str(s)) if s.is_empty() || s == "<NEW>")
                {
                    let e = Entity::parse(&def.name);
                    let n = e.map_or(0, |e| data.count(e)) + overlay.next;
                    let v = auto_number(&def.name, k, n);
                    set(&mut record, intern(k), v);
                }
            }
            if def.fields.iter().any(|f| f.name == "CreatedDateTime") {
                set(&mut record, "CreatedDateTime", FieldValue::Time(now));
            }
        }
        for stamp in ["LastModifiedDateTime", "LastModified"] {
            if def.fields.iter().any(|f| f.name == stamp) {
                set(&mut record, stamp, FieldValue::Time(now));
            }
        }
        let key = key_of(&record, &def.keys);
        if let Some(old) = old_key
            && old != key
        {
            overlay.changed.insert(old, None);
        }
        if is_new {
            overlay.created.insert(key.clone(), ());
        }
        overlay.changed.insert(key, Some(record.clone()));
        Ok(record)
    }
}

fn set(r: &mut Record, name: &'static str, v: FieldValue) {
    match r
        .fields
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some(f) => f.1 = v,
        None => r.fields.push((name, v)),
    }
}

/// Applies an incoming record to a stored one: fields replaced, linked entities merged, detail
/// lines updated by id, deleted with `"delete": true`, or appended.
fn merge(r: &mut Record, incoming: Record) {
    for (n, v) in incoming.fields {
        set(r, n, v);
    }
    for (n, l) in incoming.linked {
        match r.linked.iter_mut().find(|(x, _)| *x == n) {
            Some((_, existing)) => merge(existing, l),
            None => r.linked.push((n, l)),
        }
    }
    for (n, rows) in incoming.details {
        let idx = match r.details.iter().position(|(x, _)| *x == n) {
            Some(i) => i,
            None => {
                r.details.push((n, Vec::new()));
                r.details.len() - 1
            }
        };
        let lines = &mut r.details[idx].1;
        for row in rows {
            let delete = row.get("__delete") == Some(&FieldValue::Bool(true));
            match lines
                .iter()
                .position(|l| !row.id.is_empty() && l.id.eq_ignore_ascii_case(&row.id))
            {
                Some(i) if delete => {
                    lines.remove(i);
                }
                Some(i) => merge(&mut lines[i], row),
                None if delete => {}
                None => {
                    let mut row = row;
                    if row.id.is_empty() {
                        row.id = new_guid(lines.len() as u64, n, lines.len() + 1);
                    }
                    lines.push(row);
                }
            }
        }
    }
}

/// The index of a generated record from its key values (the generators number records).
fn index_of(data: &Data, e: Entity, segs: &[&str]) -> Option<usize> {
    let last = segs.last()?.trim().to_ascii_uppercase();
    let num = |prefix: &str| -> Option<usize> {
        last.strip_prefix(prefix)?
            .parse::<usize>()
            .ok()?
            .checked_sub(1)
    };
    let i = match e {
        Entity::Customer => num("C")?,
        Entity::StockItem => data.item_index(&last)?,
        Entity::SalesOrder => num("SO")?,
        Entity::Vendor => num("V")?,
        Entity::Contact => last.parse::<usize>().ok()?.checked_sub(100)?,
        Entity::NonStockItem => num("SVC")?,
        Entity::SalesInvoice => num("INV")?,
        Entity::Bill => num("BILL")?,
        Entity::Payment => num("PMT")?,
        Entity::JournalTransaction => num("GL")?,
        Entity::Account => crate::data::ACCOUNTS.iter().position(|a| a.0 == last)?,
    };
    (i < data.count(e)).then_some(i)
}
