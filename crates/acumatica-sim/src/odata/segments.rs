//! Reading a request's URL: the last path segment (a set, a key lookup or a function call with
//! its arguments), literals, `$expand` with nested options, parameter aliases, and `$filter`
//! checked against a set's columns.

use std::collections::HashMap;

use super::catalog::{DT, Feed, Set};
use super::response::{ODataError, err, unknown_property};
use crate::data::{FieldValue, Stamp};
use crate::filter::{self, Dialect, Expr, Lit, Op};

pub(super) use crate::percent::decode as percent_decode;

/// Splits `text` on `sep` where it is neither inside a quoted literal nor inside parentheses:
/// `A($select=B,C),D` → `A($select=B,C)`, `D`.
pub(super) fn split_top(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0);
    for (i, ch) in text.char_indices() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            c if c == sep && !quoted && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A value in a key predicate or a function call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Value(FieldValue),
    /// A parameter alias (`@1`, lower-cased), given its value in the query string.
    Alias(String),
}

/// The last path segment: a set (or function) name and, in parentheses, key values or
/// function arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub name: String,
    /// `(Name=value,…)` or `(value)`; `None` without parentheses.
    pub args: Option<Vec<(Option<String>, Arg)>>,
}

/// Reads a raw (percent-encoded) last path segment: `Customer%20Contacts`,
/// `SOOrder(OrderType='SO',OrderNbr='SO000058')`, `InventoryItem(41)`,
/// `ItemAvailabilityData_WithParameters(InventoryID=@1)`.
pub fn parse_segment(raw: &str) -> Result<Segment, String> {
    let text = percent_decode(raw);
    let Some(open) = text.find('(') else {
        return Ok(Segment {
            name: text,
            args: None,
        });
    };
    let syntax = || format!("Bad Request - Error in query syntax: '{text}'.");
    let inner = text[open + 1..].strip_suffix(')').ok_or_else(syntax)?;
    let mut args = Vec::new();
    if !inner.trim().is_empty() {
        for part in split_top(inner, ',') {
            let part = part.trim();
            let named = split_top(part, '=');
            let arg = match named.as_slice() {
                [value] => (None, parse_literal(value.trim())?),
                [name, value] if !name.trim().is_empty() => {
                    (Some(name.trim().to_string()), parse_literal(value.trim())?)
                }
                _ => return Err(syntax()),
            };
            args.push(arg);
        }
    }
    Ok(Segment {
        name: text[..open].trim().to_string(),
        args: Some(args),
    })
}

/// A literal of a key predicate, function argument or parameter alias value: `'text'` (with
/// `''` for a quote), a number, `true`/`false`, `null`, or an alias `@name`.
pub fn parse_literal(text: &str) -> Result<Arg, String> {
    if let Some(s) = text
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .filter(|_| text.len() >= 2)
    {
        return Ok(Arg::Value(FieldValue::Str(s.replace("''", "'"))));
    }
    if text.starts_with('@') && text.len() > 1 {
        return Ok(Arg::Alias(text.to_ascii_lowercase()));
    }
    match text.to_ascii_lowercase().as_str() {
        "null" => return Ok(Arg::Value(FieldValue::Null)),
        "true" => return Ok(Arg::Value(FieldValue::Bool(true))),
        "false" => return Ok(Arg::Value(FieldValue::Bool(false))),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Arg::Value(FieldValue::Int(i)));
    }
    let number = text.trim_end_matches(['m', 'M']);
    if let Some((int, frac)) = number.split_once('.')
        && !frac.is_empty()
        && frac.len() <= 18
        && frac.bytes().all(|b| b.is_ascii_digit())
        && let Ok(units) = format!("{int}{frac}").parse::<i128>()
    {
        return Ok(Arg::Value(FieldValue::Dec(units, frac.len() as u8)));
    }
    Err(format!(
        "Bad Request - Error in query syntax: '{text}' is not a valid literal."
    ))
}

/// One item of `$expand`: a navigation property and its nested options
/// (`Nav($select=A,B;$expand=Other($select=C))`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expand {
    pub nav: String,
    pub select: Option<Vec<String>>,
    pub filter: Option<String>,
    pub top: Option<usize>,
    pub skip: Option<usize>,
    pub expand: Vec<Expand>,
}

/// Reads an `$expand` value: items separated by commas (not those inside parentheses), each
/// with options separated by `;` in parentheses (OData v4).
pub fn parse_expand(text: &str) -> Result<Vec<Expand>, String> {
    let mut out = Vec::new();
    for item in split_top(text, ',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let syntax = || format!("Bad Request - Error in query syntax: '$expand={item}'.");
        let (nav, options) = match item.find('(') {
            None => (item, ""),
            Some(i) => (
                item[..i].trim(),
                item[i + 1..].strip_suffix(')').ok_or_else(syntax)?,
            ),
        };
        let mut e = Expand {
            nav: nav.to_string(),
            ..Default::default()
        };
        for option in split_top(options, ';') {
            let option = option.trim();
            if option.is_empty() {
                continue;
            }
            let (name, value) = option.split_once('=').ok_or_else(syntax)?;
            let number = || {
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| format!("Invalid value '{value}' for {name}."))
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "$select" => {
                    e.select = Some(
                        split_top(value, ',')
                            .into_iter()
                            .map(str::trim)
                            .filter(|x| !x.is_empty())
                            .map(str::to_string)
                            .collect(),
                    )
                }
                "$expand" => e.expand = parse_expand(value)?,
                "$filter" => e.filter = Some(value.to_string()),
                "$top" => e.top = Some(number()?),
                "$skip" => e.skip = Some(number()?),
                other => {
                    return Err(format!(
                        "The query option '{other}' is not supported inside $expand."
                    ));
                }
            }
        }
        out.push(e);
    }
    Ok(out)
}

/// How deep an `$expand` goes (`A` is 1, `A($expand=B)` is 2).
pub fn expand_depth(e: &[Expand]) -> usize {
    e.iter()
        .map(|x| 1 + expand_depth(&x.expand))
        .max()
        .unwrap_or(0)
}

/// Splits parameter aliases (`@1='x'`) from the query options. An alias can also arrive glued
/// to the option before it (`…&@1='x'`) when the query-string reader does not know `@` names.
pub(super) fn split_aliases(
    params: &HashMap<String, String>,
) -> (HashMap<String, String>, HashMap<String, String>) {
    let mut options = HashMap::new();
    let mut aliases = HashMap::new();
    for (k, v) in params {
        let mut parts = v.split("&@");
        let first = parts.next().unwrap_or_default();
        for p in parts {
            if let Some((a, value)) = p.split_once('=') {
                aliases.insert(format!("@{}", a.to_ascii_lowercase()), value.to_string());
            }
        }
        if k.starts_with('@') {
            aliases.insert(k.to_ascii_lowercase(), first.to_string());
        } else {
            options.insert(k.clone(), first.to_string());
        }
    }
    (options, aliases)
}

/// The midnights (UTC) of the bare dates (`2024-05-01`, no time) in a `$filter`, outside
/// string literals.
fn bare_dates(text: &str) -> Vec<i64> {
    let b = text.as_bytes();
    let is_date = |s: &[u8]| {
        s.len() == 10
            && s.iter().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            })
    };
    let (mut out, mut quoted, mut i) = (Vec::new(), false, 0);
    while i < b.len() {
        if b[i] == b'\'' {
            quoted = !quoted;
        } else if !quoted
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b.get(i..i + 10).is_some_and(is_date)
            && !b
                .get(i + 10)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b':')
        {
            if let Some(t) = chrono::NaiveDate::parse_from_str(&text[i..i + 10], "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
            {
                out.push(t.and_utc().timestamp());
            }
            i += 10;
            continue;
        }
        i += 1;
    }
    out
}

/// A date-time column compared for (in)equality with a bare date matches the whole day, as
/// Acumatica answers `LastModifiedDateTime eq 2024-05-01` (I300 course, activity 2.3.1).
fn widen_days(e: Expr, days: &[i64], is_time: &dyn Fn(&str) -> bool) -> Expr {
    let w = |x: Box<Expr>| Box::new(widen_days(*x, days, is_time));
    let day = |t: &Stamp| t.subsec_micros() == 0 && days.contains(&t.secs());
    match e {
        Expr::And(a, b) => Expr::And(w(a), w(b)),
        Expr::Or(a, b) => Expr::Or(w(a), w(b)),
        Expr::Not(a) => Expr::Not(w(a)),
        Expr::Cmp(f, Op::Eq, Lit::Time(t)) if day(&t) && is_time(&f) => Expr::And(
            Box::new(Expr::Cmp(f.clone(), Op::Ge, Lit::Time(t))),
            Box::new(Expr::Cmp(f, Op::Lt, Lit::Time(t.plus_secs(86_400)))),
        ),
        Expr::Cmp(f, Op::Ne, Lit::Time(t)) if day(&t) && is_time(&f) => Expr::Or(
            Box::new(Expr::Cmp(f.clone(), Op::Lt, Lit::Time(t))),
            Box::new(Expr::Cmp(f, Op::Ge, Lit::Time(t.plus_secs(86_400)))),
        ),
        e => e,
    }
}

/// Parses a `$filter` for `set`: every path a column, bare dates widened to their day.
pub(super) fn parse_filter(feed: Feed, set: &Set, text: &str) -> Result<Expr, ODataError> {
    let dialect = if feed == Feed::GiV3 {
        Dialect::ODataV3
    } else {
        Dialect::ODataV4
    };
    let e = filter::parse_in(text, dialect).map_err(|e| err(feed, 400, "BadRequest", &e.0))?;
    let mut paths = Vec::new();
    filter::paths(&e, &mut paths);
    if let Some(p) = paths.iter().find(|p| set.column(p).is_none()) {
        return Err(unknown_property(feed, set, p));
    }
    let days = bare_dates(text);
    if days.is_empty() {
        return Ok(e);
    }
    Ok(widen_days(e, &days, &|f| {
        set.column(f).is_some_and(|c| c.edm == DT)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn str_arg(s: &str) -> Arg {
        Arg::Value(FieldValue::Str(s.into()))
    }

    #[test]
    fn segments_decode_and_read_keys_parameters_and_aliases() {
        let s = parse_segment("Customer%20Contacts").unwrap();
        assert_eq!((s.name.as_str(), s.args), ("Customer Contacts", None));
        let s = parse_segment("SOOrder(OrderType='SO',OrderNbr='000058')").unwrap();
        assert_eq!(s.name, "SOOrder");
        assert_eq!(
            s.args.unwrap(),
            vec![
                (Some("OrderType".into()), str_arg("SO")),
                (Some("OrderNbr".into()), str_arg("000058")),
            ]
        );
        let s = parse_segment("InventoryItem(41)").unwrap();
        assert_eq!(
            s.args.unwrap(),
            vec![(None, Arg::Value(FieldValue::Int(41)))]
        );
        let s = parse_segment("ItemAvailabilityData_WithParameters(InventoryID=%40P1)").unwrap();
        assert_eq!(
            s.args.unwrap(),
            vec![(Some("InventoryID".into()), Arg::Alias("@p1".into()))]
        );
        // Quotes double inside literals; commas and '=' inside them do not split.
        let s = parse_segment("X_WithParameters(Name='O''Brien, a=b',Amount=1.50)").unwrap();
        assert_eq!(
            s.args.unwrap(),
            vec![
                (Some("Name".into()), str_arg("O'Brien, a=b")),
                (Some("Amount".into()), Arg::Value(FieldValue::Dec(150, 2))),
            ]
        );
        assert!(parse_segment("SOOrder(OrderType='SO'").is_err());
        assert!(parse_segment("SOOrder(OrderType=SO)").is_err());
    }

    #[test]
    fn expand_lists_split_only_at_the_top_level_and_nest_with_semicolons() {
        let e = parse_expand(
            "ContactByDefBillContactID($select=Email,Phone1),AddressByDefAddressID($select=AddressLine1,City)",
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].nav, "ContactByDefBillContactID");
        assert_eq!(e[0].select.as_deref().unwrap(), ["Email", "Phone1"]);
        assert_eq!(e[1].select.as_deref().unwrap(), ["AddressLine1", "City"]);
        let e = parse_expand(
            "INSiteStatusCollection($select=QtyOnHand;$filter=QtyOnHand gt 1;$top=1;$expand=INSiteBySiteID($select=SiteCD)),INItemClassByItemClassID",
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].filter.as_deref(), Some("QtyOnHand gt 1"));
        assert_eq!(e[0].top, Some(1));
        assert_eq!(e[0].expand[0].nav, "INSiteBySiteID");
        assert_eq!(e[0].expand[0].select.as_deref().unwrap(), ["SiteCD"]);
        assert_eq!(expand_depth(&e), 2);
        assert_eq!(
            expand_depth(&parse_expand("A($expand=B($expand=C($expand=D)))").unwrap()),
            4
        );
        assert!(
            parse_expand("A($levels=2)")
                .unwrap_err()
                .contains("$levels")
        );
        assert!(parse_expand("A($select=B").is_err());
    }

    #[test]
    fn aliases_are_found_alone_or_glued_to_the_option_before() {
        let params: HashMap<String, String> = [
            ("$top".to_string(), "5&@P2='b'".to_string()),
            ("@1".to_string(), "'a'".to_string()),
        ]
        .into();
        let (options, aliases) = split_aliases(&params);
        assert_eq!(options.get("$top").map(String::as_str), Some("5"));
        assert_eq!(aliases.get("@1").map(String::as_str), Some("'a'"));
        assert_eq!(aliases.get("@p2").map(String::as_str), Some("'b'"));
    }

    #[test]
    fn bare_dates_outside_literals_only() {
        let may1 = 1_714_521_600;
        assert_eq!(bare_dates("LastModifiedOn gt 2024-05-01"), [may1]);
        assert_eq!(
            bare_dates("A eq 2024-05-01 and B eq 2024-05-01T10:00:00Z"),
            [may1]
        );
        assert!(bare_dates("Descr eq '2024-05-01'").is_empty());
    }
}
