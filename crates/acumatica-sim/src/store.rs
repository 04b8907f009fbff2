//! Records as the simulator serves them: the generated data, overlaid with what clients wrote
//! (`PUT` upserts, `DELETE`s). Lookups by keys and by id; reading JSON bodies into records.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::Value;

use crate::data::{Data, Entity, FieldValue, Record, Stamp};
use crate::schema::{Endpoint, EntityDef};

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

/// What a new record of `entity` holds when the request does not say (the entry screen's
/// defaults; a customer takes the `DEFAULT` class's).
fn new_record_defaults(entity: &str, now: Stamp, branch: &str) -> Vec<(&'static str, FieldValue)> {
    let s = |v: &str| FieldValue::Str(v.to_string());
    let zero = || FieldValue::Dec(0, 4);
    let mut defaults = vec![("Branch", s(branch))];
    defaults.extend(match entity {
        // As the JB capture of a new customer shows them (`PUT Customer`, Dec 2023).
        "Customer" => vec![
            ("Status", s("Active")),
            ("CustomerClass", s("DEFAULT")),
            ("CurrencyID", s("USD")),
            ("CreditLimit", zero()),
            ("WriteOffLimit", zero()),
            ("ApplyOverdueCharges", FieldValue::Bool(false)),
            ("AutoApplyPayments", FieldValue::Bool(false)),
            ("EnableWriteOffs", FieldValue::Bool(true)),
            ("LocationName", s("Primary Location")),
            ("OrderPriority", FieldValue::Int(0)),
            ("PrintInvoices", FieldValue::Bool(false)),
            ("SendInvoicesbyEmail", FieldValue::Bool(false)),
            ("StatementCycleID", s("DEFAULT")),
            ("Terms", s("NET30")),
        ],
        "Vendor" => vec![("Status", s("Active")), ("CurrencyID", s("USD"))],
        "StockItem" => vec![
            ("ItemStatus", s("Active")),
            ("ItemClass", s("FOOD")),
            ("BaseUOM", s("EA")),
            ("DefaultPrice", FieldValue::Dec(0, 6)),
        ],
        "NonStockItem" => vec![
            ("ItemStatus", s("Active")),
            ("DefaultPrice", FieldValue::Dec(0, 6)),
        ],
        "SalesOrder" => vec![
            ("Status", s("Open")),
            ("Hold", FieldValue::Bool(false)),
            ("Date", FieldValue::Time(now.day())),
            ("CurrencyID", s("USD")),
            ("CurrencyRate", FieldValue::Dec(100_000_000, 8)),
            ("TaxTotal", zero()),
        ],
        _ => Vec::new(),
    });
    defaults
}

/// Drop-down fields whose values are checked on writes: entity, field, the allowed values.
const CHOICES: &[(&str, &str, &[&str])] = &[(
    "Customer",
    "Status",
    &["Active", "On Hold", "Credit Hold", "Inactive", "One-Time"],
)];

/// A drop-down set to a value not in its list is refused (422) with the field's error, as
/// Acumatica does: the entity echoed with `error` on the field and on the entity.
fn check_choices(
    def: &EntityDef,
    obj: &serde_json::Map<String, Value>,
    incoming: &Record,
) -> Result<(), WriteError> {
    for (entity, field, allowed) in CHOICES {
        if def.name != *entity {
            continue;
        }
        let Some(FieldValue::Str(v)) = incoming.get(field) else {
            continue;
        };
        if allowed.iter().any(|a| a.eq_ignore_ascii_case(v.trim())) {
            continue;
        }
        let mut echo = obj.clone();
        let action = if echo.contains_key("id") {
            "Updating"
        } else {
            "Inserting"
        };
        echo.insert(
            "error".into(),
            Value::String(format!(
                "{action}  '{}' record raised at least one error. Please review the errors.",
                def.name
            )),
        );
        if let Some((_, Value::Object(w))) =
            echo.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(field))
        {
            w.insert(
                "error".into(),
                Value::String(format!(
                    "The value '{v}' is not in the list: {}.",
                    allowed.join(", ")
                )),
            );
        }
        return Err(WriteError::Invalid(Value::Object(echo)));
    }
    Ok(())
}

fn new_guid(seed: u64, entity: &str, n: usize) -> String {
    let mut h = seed ^ 0x005E_ED0F_C0DE;
    for b in entity.bytes() {
        h = crate::data::mix(h ^ u64::from(b));
    }
    let a = crate::data::mix(h ^ n as u64);
    crate::data::guid_from(a, crate::data::mix(a))
}

fn auto_number(entity: &str, key: &str, n: usize) -> FieldValue {
    match (entity, key) {
        ("SalesOrder", "OrderType") => FieldValue::Str("SO".into()),
        ("SalesOrder", "OrderNbr") => FieldValue::Str(Data::order_nbr(n - 1)),
        ("SalesInvoice", "Type") => FieldValue::Str("Invoice".into()),
        ("SalesInvoice", "ReferenceNbr") => FieldValue::Str(format!("INV{n:06}")),
        ("Bill", "Type") => FieldValue::Str("Bill".into()),
        ("Bill", "ReferenceNbr") => FieldValue::Str(format!("BILL{n:05}")),
        ("Payment", "Type") => FieldValue::Str("Payment".into()),
        ("Payment", "ReferenceNbr") => FieldValue::Str(format!("PMT{n:06}")),
        ("JournalTransaction", "Module") => FieldValue::Str("GL".into()),
        ("JournalTransaction", "BatchNbr") => FieldValue::Str(format!("GL{n:06}")),
        ("Contact", "ContactID") => FieldValue::Int(100 + n as i64),
        _ => FieldValue::Str(format!("{n:06}")),
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

/// Interns a field name of the schema (records hold `&'static str` names).
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Option<HashMap<String, &'static str>>> = Mutex::new(None);
    let mut g = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = g.get_or_insert_with(HashMap::new);
    if let Some(s) = map.get(name) {
        return s;
    }
    let s: &'static str = Box::leak(name.to_string().into_boxed_str());
    map.insert(name.to_string(), s);
    s
}

/// Reads a JSON entity body into a record, checking each value against its wrapper type.
/// Custom values a client writes: `"custom": {"<View>": {"<Field>": {"type": …, "value": …}}}`.
/// Kept on the record as `cf:<View>.<Field>` fields (never written as contract fields).
fn read_custom(def: &EntityDef, v: &Value, r: &mut Record) {
    let Some(views) = v.as_object() else {
        return;
    };
    for (view, fields) in views {
        let Some(fields) = fields.as_object() else {
            continue;
        };
        for (field, w) in fields {
            let Some(inner) = w.as_object().and_then(|o| o.get("value")) else {
                continue;
            };
            let path = format!("{view}.{field}");
            let name = match crate::custom::find(&def.name, &path) {
                Some(f) => crate::custom::stored_name(&f),
                None => format!("cf:{path}"),
            };
            let value = match inner {
                Value::Null => FieldValue::Null,
                Value::Bool(b) => FieldValue::Bool(*b),
                Value::String(s) => FieldValue::Str(s.clone()),
                Value::Number(n) => match n.as_i64() {
                    Some(i) if !n.to_string().contains('.') => FieldValue::Int(i),
                    _ => value_of("DecimalValue", inner).unwrap_or(FieldValue::Null),
                },
                other => FieldValue::Str(other.to_string()),
            };
            r.fields.push((intern(&name), value));
        }
    }
}

fn read_record(
    ep: &Endpoint,
    def: &EntityDef,
    obj: &serde_json::Map<String, Value>,
) -> Result<Record, WriteError> {
    let mut r = Record {
        id: obj
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        ..Default::default()
    };
    let mut errors: Vec<(String, String)> = Vec::new();
    for (k, v) in obj {
        if k == "custom" {
            read_custom(def, v, &mut r);
            continue;
        }
        if k == "note" {
            // `"note": {"value": "…"}` (a plain string is accepted too).
            let text = match v {
                Value::Object(o) => o.get("value").and_then(Value::as_str),
                other => other.as_str(),
            };
            if let Some(t) = text {
                r.fields.push(("__note", FieldValue::Str(t.to_string())));
            }
            continue;
        }
        if matches!(
            k.as_str(),
            "id" | "rowNumber" | "_links" | "files" | "error"
        ) {
            continue;
        }
        if k == "delete" {
            r.fields
                .push(("__delete", FieldValue::Bool(v.as_bool().unwrap_or(false))));
            continue;
        }
        // Members the contract does not know are ignored, as the real deserializer does.
        let Some(f) = def.fields.iter().find(|f| f.name.eq_ignore_ascii_case(k)) else {
            continue;
        };
        let name = intern(&f.name);
        if let Some(w) = &f.wrapper {
            let inner = match v {
                Value::Object(o) => o.get("value").cloned().unwrap_or(Value::Null),
                _ => {
                    errors.push((
                        f.name.clone(),
                        format!("'{}' must be an object like {{\"value\": …}}.", f.name),
                    ));
                    continue;
                }
            };
            match value_of(w, &inner) {
                Ok(v) => r.fields.push((name, v)),
                Err(e) => errors.push((f.name.clone(), e)),
            }
        } else if let Some(target) = &f.linked {
            if let (Value::Object(o), Some(ldef)) = (v, ep.entity(target)) {
                r.linked.push((name, read_record(ep, ldef, o)?));
            }
        } else if let Some(target) = &f.detail {
            let (Value::Array(rows), Some(ddef)) = (v, ep.entity(target)) else {
                errors.push((
                    f.name.clone(),
                    format!("'{}' must be an array of records.", f.name),
                ));
                continue;
            };
            let mut lines = Vec::new();
            for row in rows {
                match row {
                    Value::Object(o) => lines.push(read_record(ep, ddef, o)?),
                    _ => errors.push((f.name.clone(), "A detail line must be an object.".into())),
                }
            }
            r.details.push((name, lines));
        }
    }
    if errors.is_empty() {
        return Ok(r);
    }
    let mut echo = Value::Object(obj.clone());
    for (field, message) in errors {
        if let Some(Value::Object(o)) = echo.get_mut(&field) {
            o.insert("error".into(), Value::String(message));
        } else if let Some(slot) = echo.get_mut(&field) {
            *slot = serde_json::json!({ "error": message });
        }
    }
    Err(WriteError::Invalid(echo))
}

fn value_of(wrapper: &str, v: &Value) -> Result<FieldValue, String> {
    if v.is_null() {
        return Ok(FieldValue::Null);
    }
    let bad = || format!("The value '{v}' cannot be converted to {wrapper}.");
    Ok(match wrapper {
        "StringValue" | "GuidValue" => FieldValue::Str(match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        "BooleanValue" => FieldValue::Bool(match v {
            Value::Bool(b) => *b,
            Value::String(s) if s.eq_ignore_ascii_case("true") => true,
            Value::String(s) if s.eq_ignore_ascii_case("false") => false,
            _ => return Err(bad()),
        }),
        "IntValue" | "ShortValue" | "LongValue" | "ByteValue" => FieldValue::Int(match v {
            Value::Number(n) => n.as_i64().ok_or_else(bad)?,
            Value::String(s) => s.trim().parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        }),
        "DecimalValue" | "DoubleValue" => {
            let text = match v {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.trim().to_string(),
                _ => return Err(bad()),
            };
            let (units, scale) = parse_decimal(&text).ok_or_else(bad)?;
            FieldValue::Dec(units, scale)
        }
        "DateTimeValue" => {
            let Value::String(s) = v else {
                return Err(bad());
            };
            let t = chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| Stamp::from_chrono(&d))
                .or_else(|_| {
                    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                        .map(|d| Stamp::from_chrono(&d.and_utc()))
                })
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| {
                        Stamp::from_chrono(&d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
                    })
                })
                .map_err(|_| bad())?;
            FieldValue::Time(t)
        }
        _ => return Err(bad()),
    })
}

/// `123.45` → (12345, 2); at most 6 decimals kept as given (the DB scale of most amounts).
fn parse_decimal(s: &str) -> Option<(i128, u8)> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 12
    {
        return None;
    }
    let scale = frac.len().max(2) as u8;
    let digits = format!("{int}{frac:0<width$}", width = scale as usize);
    let units: i128 = digits.parse().ok()?;
    Some((if neg { -units } else { units }, scale))
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
