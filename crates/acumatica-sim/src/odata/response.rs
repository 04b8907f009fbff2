//! What a feed answers: the OData error envelope (v4 or v3) and entities written as JSON, with
//! their expanded navigation properties.

use super::catalog::{Column, Feed, Set};
use super::navigation::{related_many, related_one};
use super::query::Expansion;
use crate::data::{Data, FieldValue, Record};
use crate::filter;

/// An OData error: status and the standard v4 (or v3) error envelope.
pub struct ODataError(pub u16, pub String);

pub(super) fn err(feed: Feed, status: u16, code: &str, message: &str) -> ODataError {
    let m = serde_json::to_string(message).unwrap_or_default();
    ODataError(
        status,
        match feed {
            Feed::GiV3 => format!(
                "{{\"odata.error\":{{\"code\":\"{code}\",\"message\":{{\"lang\":\"en-US\",\"value\":{m}}}}}}}"
            ),
            _ => format!("{{\"error\":{{\"code\":\"{code}\",\"message\":{m}}}}}"),
        },
    )
}

fn write_value(out: &mut String, v: &FieldValue, feed: Feed) {
    match v {
        FieldValue::Null => out.push_str("null"),
        FieldValue::Str(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        FieldValue::Int(i) => out.push_str(&i.to_string()),
        FieldValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        FieldValue::Dec(u, s) => {
            let p = 10_i128.pow(u32::from(*s));
            if *u < 0 {
                out.push('-');
            }
            let a = u.unsigned_abs();
            out.push_str(&format!(
                "{}.{:0w$}",
                a / p as u128,
                a % p as u128,
                w = *s as usize
            ));
        }
        FieldValue::Time(t) => {
            // OData writes the fraction trimmed, like the contract API (v4 in UTC with `Z`).
            let d = chrono::DateTime::from_timestamp(t.secs(), 0).unwrap_or_default();
            out.push('"');
            out.push_str(&d.format("%Y-%m-%dT%H:%M:%S").to_string());
            t.write_fraction(out);
            if feed != Feed::GiV3 {
                out.push('Z');
            }
            out.push('"');
        }
    }
}

/// The type name in "Could not find a property named … on type …".
fn type_label(feed: Feed, set: &Set) -> String {
    match feed {
        Feed::Dac => format!("PX.Api.{}", set.type_name()),
        _ => "GI.Row".to_string(),
    }
}

pub(super) fn unknown_property(feed: Feed, set: &Set, name: &str) -> ODataError {
    err(
        feed,
        400,
        "BadRequest",
        &format!(
            "Could not find a property named '{name}' on type '{}'.",
            type_label(feed, set)
        ),
    )
}

/// Writes one entity: its selected columns, then its expanded navigation properties (a
/// nested object or `null` for `…By…`, an array for `…Collection`).
pub(super) fn write_entity(
    out: &mut String,
    data: &Data,
    feed: Feed,
    r: &Record,
    cols: &[&Column],
    expand: &[Expansion],
) {
    out.push('{');
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(c.name);
        out.push_str("\":");
        write_value(out, r.get(c.name).unwrap_or(&FieldValue::Null), feed);
    }
    for (i, x) in expand.iter().enumerate() {
        if i > 0 || !cols.is_empty() {
            out.push(',');
        }
        out.push('"');
        out.push_str(x.nav.name);
        out.push_str("\":");
        let keep = |e: &Record| {
            x.filter
                .as_ref()
                .is_none_or(|f| filter::eval(f, e).unwrap_or(false))
        };
        if x.nav.many {
            out.push('[');
            let items = related_many(data, x.nav, r);
            let picked = items
                .iter()
                .filter(|e| keep(e))
                .skip(x.skip)
                .take(x.top.unwrap_or(usize::MAX));
            for (j, e) in picked.enumerate() {
                if j > 0 {
                    out.push(',');
                }
                write_entity(out, data, feed, e, &x.columns, &x.expand);
            }
            out.push(']');
        } else {
            match related_one(data, x.nav, r).filter(|e| keep(e)) {
                Some(e) => write_entity(out, data, feed, &e, &x.columns, &x.expand),
                None => out.push_str("null"),
            }
        }
    }
    out.push('}');
}
