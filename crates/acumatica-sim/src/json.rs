//! Writes records exactly as Acumatica does: `id`, `rowNumber`, `note`, wrapped fields in
//! schema order, `custom`, `_links`; `{}` for NULL; decimals with their DB scale.

use std::fmt::Write as _;

use crate::custom;
use crate::data::{FieldValue, Record};
use crate::schema::Endpoint;

pub fn escape_into(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            b if b < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn decimal(out: &mut String, units: i128, scale: u8) {
    let neg = units < 0;
    let a = units.unsigned_abs();
    let p = 10_u128.pow(u32::from(scale));
    if neg {
        out.push('-');
    }
    let _ = write!(out, "{}", a / p);
    if scale > 0 {
        let _ = write!(out, ".{:0width$}", a % p, width = scale as usize);
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time in UTC (days to civil date: Howard Hinnant's
/// algorithm), without a formatter in the loop.
fn date_time(out: &mut String, t: i64) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let two = |out: &mut String, v: i64| {
        out.push(char::from(b'0' + (v / 10) as u8));
        out.push(char::from(b'0' + (v % 10) as u8));
    };
    let _ = write!(out, "{y:04}-");
    two(out, m);
    out.push('-');
    two(out, d);
    out.push('T');
    two(out, secs / 3600);
    out.push(':');
    two(out, secs / 60 % 60);
    out.push(':');
    two(out, secs % 60);
}

fn value(out: &mut String, v: &FieldValue) {
    match v {
        FieldValue::Null => out.push_str("{}"),
        FieldValue::Str(s) => {
            out.push_str("{\"value\":");
            escape_into(out, s);
            out.push('}');
        }
        FieldValue::Int(i) => {
            let _ = write!(out, "{{\"value\":{i}}}");
        }
        FieldValue::Dec(u, s) => {
            out.push_str("{\"value\":");
            decimal(out, *u, *s);
            out.push('}');
        }
        FieldValue::Bool(b) => out.push_str(if *b {
            "{\"value\":true}"
        } else {
            "{\"value\":false}"
        }),
        FieldValue::Time(t) => {
            out.push_str("{\"value\":\"");
            date_time(out, t.secs());
            t.write_fraction(out);
            out.push_str("+00:00\"}");
        }
    }
}

/// What to write of a record.
pub struct Shape<'a> {
    /// `None` = every field.
    pub select: Option<&'a [String]>,
    /// Detail collections to expand, with their own field selection.
    pub expand: &'a [String],
    pub links: Option<(&'a str, &'a str)>,
    /// `$custom` paths: `<View>.<Field>` for the top level, `<Member>/<View>.<Field>` below.
    pub custom: &'a [String],
    /// The `files` array of a record (by id), written when `files` is expanded.
    pub files: Option<&'a dyn Fn(&str) -> String>,
}

#[cfg(test)]
impl Shape<'_> {
    /// Every field, nothing expanded, no links.
    pub fn plain() -> Shape<'static> {
        Shape {
            select: None,
            expand: &[],
            links: None,
            custom: &[],
            files: None,
        }
    }
}

/// Writes a custom value as Acumatica does: `{"type":"Custom…Field","value":…}`.
pub fn custom_value(out: &mut String, kind: custom::Kind, v: &FieldValue) {
    out.push_str("{\"type\":\"");
    out.push_str(kind.type_name());
    out.push_str("\",\"value\":");
    match v {
        FieldValue::Null => out.push_str("null"),
        v => {
            let mut w = String::new();
            value(&mut w, v);
            // `{"value":X}` → X
            out.push_str(&w[9..w.len() - 1]);
        }
    }
    out.push('}');
}

/// The `custom` block: the requested custom fields of this level, grouped by view.
fn custom_block(out: &mut String, r: &Record, shape: &Shape<'_>, prefix: &str, entity: &str) {
    out.push_str(",\"custom\":{");
    let mut views: Vec<(&'static str, Vec<custom::Field>)> = Vec::new();
    for c in shape.custom {
        let own = match c.rsplit_once('/') {
            Some((p, f)) if p.eq_ignore_ascii_case(prefix) => f,
            None if prefix.is_empty() => c.as_str(),
            _ => continue,
        };
        let Some(f) = custom::find(entity, own) else {
            continue;
        };
        match views.iter_mut().find(|(v, _)| *v == f.view) {
            Some((_, fs)) => {
                if !fs.iter().any(|x| x.name == f.name) {
                    fs.push(f);
                }
            }
            None => views.push((f.view, vec![f])),
        }
    }
    for (i, (view, fs)) in views.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        escape_into(out, view);
        out.push_str(":{");
        for (j, f) in fs.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            escape_into(out, f.name);
            out.push(':');
            custom_value(out, f.kind, &custom::value(f, entity, r));
        }
        out.push('}');
    }
    out.push('}');
}

/// Writes one record. `entity` names its schema entity: members are written in schema order
/// (values, linked entities and expanded details interleaved, as Acumatica does).
#[allow(clippy::too_many_arguments)]
pub fn record(
    out: &mut String,
    r: &Record,
    row: usize,
    top_level: bool,
    shape: &Shape<'_>,
    prefix: &str,
    ep: Option<&Endpoint>,
    entity: &str,
) {
    out.push_str("{\"id\":\"");
    out.push_str(&r.id);
    let _ = write!(out, "\",\"rowNumber\":{row},\"note\":");
    match r.get("__note") {
        // A note a client wrote comes back wrapped, on records and lines alike.
        Some(FieldValue::Str(note)) => {
            out.push_str("{\"value\":");
            escape_into(out, note);
            out.push('}');
        }
        _ => out.push_str(if top_level {
            "{\"value\":\"\"}"
        } else {
            "null"
        }),
    }
    let path = |name: &str| -> String {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        }
    };
    let wanted = |name: &str| -> bool {
        match shape.select {
            None => true,
            Some(sel) => {
                let full = path(name);
                sel.iter().any(|s| s.eq_ignore_ascii_case(&full))
            }
        }
    };
    // A nested member selected as a whole (`$select=Details`) brings all its fields.
    let whole = !prefix.is_empty()
        && shape
            .select
            .is_some_and(|s| s.iter().any(|x| x.eq_ignore_ascii_case(prefix)));
    let selects_under = |member: &str| -> bool {
        match shape.select {
            None => true,
            Some(sel) => {
                let full = path(member).to_ascii_lowercase();
                sel.iter().any(|s| {
                    let s = s.to_ascii_lowercase();
                    s == full || s.starts_with(&format!("{full}/"))
                })
            }
        }
    };
    let expanded = |member: &str| -> bool {
        let full = path(member);
        shape.expand.iter().any(|e| {
            e.eq_ignore_ascii_case(&full)
                || e.to_ascii_lowercase()
                    .starts_with(&format!("{}/", full.to_ascii_lowercase()))
        })
    };
    // (rank, kind, index): 0 = value field, 1 = linked, 2 = detail.
    let ranks = ep.map(|e| e.ranks(entity));
    let rank_of = |name: &str, fallback: usize| -> usize {
        match ranks {
            None => fallback,
            Some(None) => usize::MAX,
            Some(Some(m)) => m.get(name).copied().unwrap_or(usize::MAX),
        }
    };
    let mut members: Vec<(usize, u8, usize)> = Vec::with_capacity(r.fields.len() + 4);
    for (i, (name, _)) in r.fields.iter().enumerate() {
        if name.starts_with("__") || name.starts_with("cf:") || (!whole && !wanted(name)) {
            continue;
        }
        let rank = rank_of(name, i);
        // A field this contract version does not define is not written.
        if rank == usize::MAX {
            continue;
        }
        members.push((rank, 0, i));
    }
    // Without `$select`, every value field of the contract is written, `{}` when it has no
    // value (as Acumatica does); generated records only hold the fields with data.
    let def = ep.and_then(|e| e.entity(entity));
    for (i, (name, _)) in r.linked.iter().enumerate() {
        if expanded(name) {
            members.push((rank_of(name, usize::MAX - 1), 1, i));
        }
    }
    for (i, (name, _)) in r.details.iter().enumerate() {
        if expanded(name) {
            members.push((rank_of(name, usize::MAX), 2, i));
        }
    }
    // Members in schema order: placed by rank (no sort), then any the schema does not know.
    let order: Vec<(u8, usize)> = match def {
        Some(def) => {
            const EMPTY: (u8, usize) = (u8::MAX, 0);
            let n = def.fields.len();
            let mut slots = vec![EMPTY; n];
            let mut extra = Vec::new();
            for (rank, kind, i) in members {
                match slots.get_mut(rank) {
                    Some(s) => *s = (kind, i),
                    None => extra.push((rank, kind, i)),
                }
            }
            // Without `$select`, every value field of the contract is written, `{}` when it
            // has no value (as Acumatica does); generated records only hold fields with data.
            if shape.select.is_none() || whole {
                for (i, f) in def.fields.iter().enumerate() {
                    if f.wrapper.is_some() && slots[i] == EMPTY {
                        slots[i] = (3, i);
                    }
                }
            }
            extra.sort_unstable();
            slots
                .into_iter()
                .filter(|s| *s != EMPTY)
                .chain(extra.into_iter().map(|(_, k, i)| (k, i)))
                .collect()
        }
        None => {
            members.sort_unstable();
            members.into_iter().map(|(_, k, i)| (k, i)).collect()
        }
    };
    for (kind, i) in order {
        match kind {
            0 => {
                let (name, v) = &r.fields[i];
                out.push_str(",\"");
                out.push_str(name);
                out.push_str("\":");
                value(out, v);
            }
            3 => {
                if let Some(def) = def {
                    out.push_str(",\"");
                    out.push_str(&def.fields[i].name);
                    out.push_str("\":{}");
                }
            }
            1 => {
                let (name, l) = &r.linked[i];
                out.push_str(",\"");
                out.push_str(name);
                out.push_str("\":");
                let target = ep.and_then(|e| e.target(entity, name)).unwrap_or(name);
                // A linked entity comes with all its fields unless some are selected.
                let sub = Shape {
                    select: if selects_under(name)
                        && shape.select.is_some_and(|s| {
                            s.iter().any(|x| {
                                x.to_ascii_lowercase()
                                    .starts_with(&format!("{}/", path(name).to_ascii_lowercase()))
                            })
                        }) {
                        shape.select
                    } else {
                        None
                    },
                    expand: &[],
                    links: None,
                    custom: &[],
                    files: None,
                };
                let sub_prefix = if sub.select.is_some() {
                    path(name)
                } else {
                    String::new()
                };
                record(out, l, 1, false, &sub, &sub_prefix, ep, target);
            }
            _ => {
                let (name, rows) = &r.details[i];
                out.push_str(",\"");
                out.push_str(name);
                out.push_str("\":[");
                let target = ep.and_then(|e| e.target(entity, name)).unwrap_or(name);
                // A list request returns an expanded collection empty unless it is also selected.
                if selects_under(name) {
                    for (j, d) in rows.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        record(out, d, j + 1, false, shape, &path(name), ep, target);
                    }
                }
                out.push(']');
            }
        }
    }
    custom_block(out, r, shape, prefix, entity);
    if let Some((base, entity)) = shape.links {
        if top_level {
            out.push_str(&format!(
                ",\"_links\":{{\"self\":\"{base}{entity}/{id}\",\"files:put\":\"{base}files/PX.Objects/{entity}/{id}/{{filename}}\"}}",
                id = r.id
            ));
        } else {
            out.push_str(&format!(
                ",\"_links\":{{\"files:put\":\"{base}files/PX.Objects/{entity}/{id}/{{filename}}\"}}",
                id = r.id
            ));
        }
    }
    if let Some(files) = shape.files
        && expanded("files")
    {
        out.push_str(",\"files\":");
        out.push_str(&files(&r.id));
    }
    out.push('}');
}

/// `GET <Entity>/$adHocSchema`: a template of the entity — value fields empty, linked entities
/// and one template row per detail collection — with each level's custom fields
/// (`{"type": "Custom…Field", "value": null}`), grouped by view.
pub fn adhoc_schema(ep: &Endpoint, entity: &str) -> String {
    let mut out = String::new();
    template(&mut out, ep, entity, 0);
    out
}

fn template(out: &mut String, ep: &Endpoint, entity: &str, depth: usize) {
    out.push_str("{\"id\":\"00000000-0000-0000-0000-000000000000\",\"rowNumber\":1,\"note\":");
    out.push_str(if depth == 0 {
        "{\"value\":null}"
    } else {
        "null"
    });
    if let Some(def) = ep.entity(entity) {
        for f in &def.fields {
            if f.wrapper.is_some() {
                out.push_str(",\"");
                out.push_str(&f.name);
                out.push_str("\":{}");
            } else if depth < 2 {
                if let Some(t) = &f.linked {
                    out.push_str(",\"");
                    out.push_str(&f.name);
                    out.push_str("\":");
                    template(out, ep, t, depth + 1);
                } else if let Some(t) = &f.detail {
                    out.push_str(",\"");
                    out.push_str(&f.name);
                    out.push_str("\":[");
                    template(out, ep, t, depth + 1);
                    out.push(']');
                }
            }
        }
    }
    out.push_str(",\"custom\":{");
    let fields = custom::fields(entity);
    let mut view = "";
    for (i, f) in fields.iter().enumerate() {
        if f.view != view {
            if i > 0 {
                out.push_str("},");
            }
            escape_into(out, f.view);
            out.push_str(":{");
            view = f.view;
        } else {
            out.push(',');
        }
        escape_into(out, f.name);
        out.push(':');
        custom_value(out, f.kind, &FieldValue::Null);
    }
    if !fields.is_empty() {
        out.push('}');
    }
    out.push_str("}}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_wrappers_nulls_and_db_scale() {
        let r = Record {
            id: "g".into(),
            fields: vec![
                ("A", FieldValue::Dec(300_000, 4)),
                ("B", FieldValue::Null),
                ("C", FieldValue::Str("x\"y".into())),
                ("D", FieldValue::Dec(-5, 2)),
            ],
            ..Default::default()
        };
        let mut s = String::new();
        record(&mut s, &r, 1, true, &Shape::plain(), "", None, "X");
        assert_eq!(
            s,
            r#"{"id":"g","rowNumber":1,"note":{"value":""},"A":{"value":30.0000},"B":{},"C":{"value":"x\"y"},"D":{"value":-0.05},"custom":{}}"#
        );
    }

    #[test]
    fn escapes_quotes_controls_and_keeps_unicode() {
        let mut s = String::new();
        escape_into(&mut s, "a\"b\\c\nd\u{1}é€");
        assert_eq!(s, r#""a\"b\\c\nd\u0001é€""#);
    }

    #[test]
    fn date_times_match_chrono() {
        for t in [
            0_i64,
            951_782_400,
            1_672_531_200,
            1_709_164_799,
            4_102_444_800,
            -86_401,
        ] {
            let mut s = String::new();
            date_time(&mut s, t);
            let expected = chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string();
            assert_eq!(s, expected, "{t}");
        }
    }
}
