//! Reading a JSON entity body (`PUT`) into a record: each value checked against its wrapper
//! type, decimals kept digit for digit, custom fields kept apart.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::data::{FieldValue, Record, Stamp};
use crate::schema::{Endpoint, EntityDef};

use super::WriteError;

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

pub(super) fn read_record(
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
