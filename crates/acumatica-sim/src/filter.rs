//! The simulator's own OData v3 `$filter` parser and evaluator (independent of the client's
//! filter writer). Strings compare like SQL Server's default collation: case-insensitively,
//! ignoring trailing spaces.

use std::cmp::Ordering;

use crate::data::{FieldValue, Record, Stamp};

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Str(String),
    /// Fixed point with 8 decimals.
    Num(i128),
    Bool(bool),
    Time(Stamp),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(String, Op, Lit),
    StartsWith(String, String),
    EndsWith(String, String),
    Contains(String, String),
}

/// Which `$filter` grammar a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Contract-based REST: OData v3 syntax, `substringof`, typed literals
    /// (`datetimeoffset'…'`, `guid'…'`); `contains`/`tolower`/`toupper` refused.
    Contract,
    /// Legacy OData v3 feeds (`/odata/<tenant>`): v3 syntax with `datetime'…'`.
    ODataV3,
    /// OData v4 feeds (`/t/<tenant>/api/odata/…`): bare date-time literals, `contains`,
    /// `tolower`/`toupper`; `substringof` and typed literals refused.
    ODataV4,
}

/// A filter the server refuses, with the message Acumatica would give.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Typed(String, String),
    /// A bare OData v4 date or date-time (`2024-01-01T00:00:00Z`).
    Date(String),
    LParen,
    RParen,
    Comma,
    /// `=` inside `cf.<Type>(f='…')`.
    Assign,
}

fn lex(s: &str, dialect: Dialect) -> Result<Vec<Tok>, FilterError> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let quoted = |i: &mut usize| -> Result<String, FilterError> {
        let mut v = String::new();
        *i += 1;
        loop {
            match c.get(*i) {
                None => return Err(FilterError("unterminated string literal".into())),
                Some('\'') if c.get(*i + 1) == Some(&'\'') => {
                    v.push('\'');
                    *i += 2;
                }
                Some('\'') => {
                    *i += 1;
                    return Ok(v);
                }
                Some(ch) => {
                    v.push(*ch);
                    *i += 1;
                }
            }
        }
    };
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if ch == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if ch == ',' {
            out.push(Tok::Comma);
            i += 1;
        } else if ch == '=' {
            out.push(Tok::Assign);
            i += 1;
        } else if ch == '\'' {
            out.push(Tok::Str(quoted(&mut i)?));
        } else if dialect == Dialect::ODataV4
            && c.len() >= i + 10
            && c[i..i + 4].iter().all(char::is_ascii_digit)
            && c[i + 4] == '-'
        {
            let start = i;
            while i < c.len()
                && (c[i].is_ascii_digit() || matches!(c[i], '-' | ':' | '.' | 'T' | 'Z' | '+'))
            {
                i += 1;
            }
            out.push(Tok::Date(c[start..i].iter().collect()));
        } else if ch.is_ascii_digit()
            || (ch == '-' && c.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                i += 1;
            }
            let text: String = c[start..i].iter().collect();
            if i < c.len() && matches!(c[i], 'M' | 'm' | 'L' | 'l' | 'd' | 'D' | 'f' | 'F') {
                i += 1;
            }
            out.push(Tok::Num(text));
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || matches!(c[i], '_' | '/' | '.')) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            if c.get(i) == Some(&'\'') {
                out.push(Tok::Typed(word, quoted(&mut i)?));
            } else {
                out.push(Tok::Ident(word));
            }
        } else {
            return Err(FilterError(format!(
                "unexpected character '{ch}' in $filter"
            )));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    dialect: Dialect,
}

impl Parser {
    fn peek_word(&self) -> Option<String> {
        match self.toks.get(self.pos) {
            Some(Tok::Ident(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, t: Tok) -> Result<(), FilterError> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            other => Err(FilterError(format!("expected {t:?}, found {other:?}"))),
        }
    }

    /// A comparison operator word, consumed.
    fn comparison(&mut self) -> Option<Op> {
        let op = match self.peek_word().as_deref() {
            Some("eq") => Op::Eq,
            Some("ne") => Op::Ne,
            Some("gt") => Op::Gt,
            Some("ge") => Op::Ge,
            Some("lt") => Op::Lt,
            Some("le") => Op::Le,
            _ => return None,
        };
        self.pos += 1;
        Some(op)
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.and()?;
        while self.peek_word().as_deref() == Some("or") {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.unary()?;
        while self.peek_word().as_deref() == Some("and") {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.peek_word().as_deref() == Some("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn literal(&mut self) -> Result<Lit, FilterError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Num(n)) => parse_num(&n).map(Lit::Num),
            Some(Tok::Ident(w)) => match w.to_ascii_lowercase().as_str() {
                "null" => Ok(Lit::Null),
                "true" => Ok(Lit::Bool(true)),
                "false" => Ok(Lit::Bool(false)),
                _ => Err(FilterError(format!("expected a literal, found {w}"))),
            },
            Some(Tok::Date(v)) => parse_time(&v).map(Lit::Time),
            Some(Tok::Typed(kind, v)) if self.dialect == Dialect::ODataV4 => {
                Err(FilterError(format!(
                    "Unrecognized 'Edm.String' literal '{kind}'{v}'' at position {} in '$filter'.",
                    self.pos
                )))
            }
            Some(Tok::Typed(kind, v)) => match kind.to_ascii_lowercase().as_str() {
                "datetimeoffset" | "datetime" | "date" => parse_time(&v).map(Lit::Time),
                "guid" => Ok(Lit::Str(v)),
                _ => Err(FilterError(format!("unknown literal type {kind}"))),
            },
            other => Err(FilterError(format!("expected a literal, found {other:?}"))),
        }
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        match self.next() {
            Some(Tok::LParen) => {
                let e = self.or()?;
                self.expect(Tok::RParen)?;
                Ok(e)
            }
            Some(Tok::Ident(word)) => {
                if self.toks.get(self.pos) == Some(&Tok::LParen) {
                    return self.function(&word);
                }
                let op = self
                    .comparison()
                    .ok_or_else(|| FilterError(format!("expected a comparison after {word}")))?;
                Ok(Expr::Cmp(word, op, self.literal()?))
            }
            other => Err(FilterError(format!("unexpected {other:?} in $filter"))),
        }
    }

    fn function(&mut self, name: &str) -> Result<Expr, FilterError> {
        self.expect(Tok::LParen)?;
        let lower = name.to_ascii_lowercase();
        let v4 = self.dialect == Dialect::ODataV4;
        if lower.starts_with("cf.") && !v4 {
            // `cf.String(f='View.Field')` (CV4) or `cf.String('View.Field')` (CV5).
            let path = match (self.next(), self.toks.get(self.pos).cloned()) {
                (Some(Tok::Ident(f)), Some(Tok::Assign)) if f.eq_ignore_ascii_case("f") => {
                    self.pos += 1;
                    match self.next() {
                        Some(Tok::Str(p)) => p,
                        other => {
                            return Err(FilterError(format!(
                                "{name}() expects f='<View>.<Field>', found {other:?}"
                            )));
                        }
                    }
                }
                (Some(Tok::Str(p)), _) => p,
                (other, _) => {
                    return Err(FilterError(format!(
                        "{name}() expects f='<View>.<Field>', found {other:?}"
                    )));
                }
            };
            self.expect(Tok::RParen)?;
            if !path.contains('.') {
                return Err(FilterError(format!(
                    "The custom field '{path}' must be written as <View>.<Field>."
                )));
            }
            let field = format!("{CUSTOM_PREFIX}{path}");
            if self.toks.get(self.pos) == Some(&Tok::LParen) {
                return Err(FilterError(format!("unexpected '(' after {name}()")));
            }
            let op = self
                .comparison()
                .ok_or_else(|| FilterError(format!("expected a comparison after {name}()")))?;
            return Ok(Expr::Cmp(field, op, self.literal()?));
        }
        if v4 && matches!(lower.as_str(), "tolower" | "toupper") {
            // Under a case-insensitive collation, changing case changes no comparison.
            let Some(Tok::Ident(field)) = self.next() else {
                return Err(FilterError(format!("{name} takes a property")));
            };
            self.expect(Tok::RParen)?;
            let op = self
                .comparison()
                .ok_or_else(|| FilterError(format!("expected a comparison after {name}()")))?;
            return Ok(Expr::Cmp(field, op, self.literal()?));
        }
        if v4 && lower == "substringof" {
            return Err(FilterError(
                "An unknown function with name 'substringof' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.".into(),
            ));
        }
        let (a, b) = (self.next(), {
            self.expect(Tok::Comma)?;
            self.next()
        });
        self.expect(Tok::RParen)?;
        let e = match (lower.as_str(), a, b) {
            ("substringof", Some(Tok::Str(needle)), Some(Tok::Ident(f))) => {
                Expr::Contains(f, needle)
            }
            ("startswith", Some(Tok::Ident(f)), Some(Tok::Str(p))) => Expr::StartsWith(f, p),
            ("endswith", Some(Tok::Ident(f)), Some(Tok::Str(p))) => Expr::EndsWith(f, p),
            ("contains", Some(Tok::Ident(f)), Some(Tok::Str(p))) if v4 => Expr::Contains(f, p),
            ("contains" | "tolower" | "toupper", _, _) => {
                return Err(FilterError(format!(
                    "The function '{name}' is not supported by the contract-based REST API."
                )));
            }
            _ => {
                return Err(FilterError(format!(
                    "unknown function {name} or bad arguments"
                )));
            }
        };
        // `substringof(...) eq false` is Acumatica's own "does not contain".
        if self.peek_word().as_deref() == Some("eq") {
            self.pos += 1;
            return match self.literal()? {
                Lit::Bool(true) => Ok(e),
                Lit::Bool(false) => Ok(Expr::Not(Box::new(e))),
                _ => Err(FilterError(
                    "a string function compares only to true or false".into(),
                )),
            };
        }
        Ok(e)
    }
}

fn parse_num(n: &str) -> Result<i128, FilterError> {
    let bad = || FilterError(format!("bad number {n}"));
    let (neg, n2) = n.strip_prefix('-').map_or((false, n), |r| (true, r));
    let (int, frac) = n2.split_once('.').unwrap_or((n2, ""));
    if frac.len() > 8 {
        return Err(bad());
    }
    let mut v: i128 = int.parse::<i128>().map_err(|_| bad())? * 100_000_000;
    if !frac.is_empty() {
        v += frac.parse::<i128>().map_err(|_| bad())? * 10_i128.pow(8 - frac.len() as u32);
    }
    Ok(if neg { -v } else { v })
}

/// A literal keeps every digit it has (to the microsecond): SQL Server compares a `datetime`
/// column with a finer parameter exactly.
fn parse_time(s: &str) -> Result<Stamp, FilterError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(Stamp::from_micros(t.timestamp_micros()));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(Stamp::from_micros(t.and_utc().timestamp_micros()));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .map(|t| Stamp::from_micros(t.and_utc().timestamp_micros()))
            .unwrap_or(Stamp::from_secs(0)));
    }
    Err(FilterError(format!("bad date-time literal '{s}'")))
}

/// How a filter path names a custom field (`cf.<Type>(f='<View>.<Field>')`): this prefix, then
/// `<View>.<Field>`.
pub const CUSTOM_PREFIX: &str = "cf:";

/// Parses a contract-API `$filter`.
pub fn parse(text: &str) -> Result<Expr, FilterError> {
    parse_in(text, Dialect::Contract)
}

/// Parses a `$filter` of the given dialect.
pub fn parse_in(text: &str, dialect: Dialect) -> Result<Expr, FilterError> {
    let mut p = Parser {
        toks: lex(text, dialect)?,
        dialect,
        pos: 0,
    };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(FilterError(format!(
            "unexpected text after position {} in $filter",
            p.pos
        )));
    }
    Ok(e)
}

/// Every field path the filter reads.
pub fn paths(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            paths(a, out);
            paths(b, out);
        }
        Expr::Not(a) => paths(a, out),
        Expr::Cmp(f, ..) | Expr::StartsWith(f, _) | Expr::EndsWith(f, _) | Expr::Contains(f, _) => {
            out.push(f.clone())
        }
    }
}

fn fold(s: &str) -> String {
    s.trim_end_matches(' ').to_lowercase()
}

fn value_num(v: &FieldValue) -> Option<i128> {
    match v {
        FieldValue::Int(i) => Some(*i as i128 * 100_000_000),
        FieldValue::Dec(u, s) => Some(u * 10_i128.pow(8 - u32::from(*s))),
        _ => None,
    }
}

fn compare(v: &FieldValue, lit: &Lit) -> Option<Ordering> {
    match (v, lit) {
        (FieldValue::Str(a), Lit::Str(b)) => Some(fold(a).cmp(&fold(b))),
        (FieldValue::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
        (FieldValue::Time(a), Lit::Time(b)) => Some(a.cmp(b)),
        (v, Lit::Num(b)) => value_num(v).map(|a| a.cmp(b)),
        _ => None,
    }
}

/// SQL Server semantics: a comparison involving NULL is not true.
pub fn eval(e: &Expr, r: &Record) -> Result<bool, FilterError> {
    eval_with(e, r, &|_: &str, _: &Record| FieldValue::Null)
}

/// [`eval`], with the values of custom fields (`cf:<View>.<Field>` paths) from `custom`.
pub fn eval_with(
    e: &Expr,
    r: &Record,
    custom: &dyn Fn(&str, &Record) -> FieldValue,
) -> Result<bool, FilterError> {
    // Paths are checked against the schema first; a schema field without data is NULL.
    let owned;
    let get =
        |f: &str| -> Result<&FieldValue, FilterError> { Ok(r.get(f).unwrap_or(&FieldValue::Null)) };
    Ok(match e {
        Expr::And(a, b) => eval_with(a, r, custom)? && eval_with(b, r, custom)?,
        Expr::Or(a, b) => eval_with(a, r, custom)? || eval_with(b, r, custom)?,
        Expr::Not(a) => !eval_with(a, r, custom)?,
        Expr::Cmp(f, op, lit) => {
            let v = match f.strip_prefix(CUSTOM_PREFIX) {
                Some(path) => {
                    owned = custom(path, r);
                    &owned
                }
                None => get(f)?,
            };
            match (v, lit) {
                (FieldValue::Null, Lit::Null) => *op == Op::Eq,
                (_, Lit::Null) => *op == Op::Ne,
                (FieldValue::Null, _) => false,
                _ => match compare(v, lit) {
                    None => {
                        return Err(FilterError(format!(
                            "A binary operator with incompatible types was detected for field '{f}'."
                        )));
                    }
                    Some(o) => match op {
                        Op::Eq => o == Ordering::Equal,
                        Op::Ne => o != Ordering::Equal,
                        Op::Gt => o == Ordering::Greater,
                        Op::Ge => o != Ordering::Less,
                        Op::Lt => o == Ordering::Less,
                        Op::Le => o != Ordering::Greater,
                    },
                },
            }
        }
        Expr::StartsWith(f, p) | Expr::EndsWith(f, p) | Expr::Contains(f, p) => match get(f)? {
            FieldValue::Str(s) => {
                let (s, p) = (s.to_lowercase(), p.to_lowercase());
                match e {
                    Expr::StartsWith(..) => s.starts_with(&p),
                    Expr::EndsWith(..) => {
                        s.trim_end_matches(' ').ends_with(p.trim_end_matches(' '))
                    }
                    _ => s.contains(&p),
                }
            }
            _ => false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> Record {
        Record {
            id: String::new(),
            fields: vec![
                ("Name", FieldValue::Str("O'Brien  ".into())),
                ("Total", FieldValue::Dec(1_234_500, 4)),
                ("Email", FieldValue::Null),
                ("Hold", FieldValue::Bool(false)),
                ("Date", FieldValue::Time(Stamp::from_secs(1_700_000_000))),
            ],
            ..Default::default()
        }
    }

    fn t(f: &str) -> bool {
        eval(&parse(f).unwrap(), &rec()).unwrap()
    }

    #[test]
    fn collation_nulls_numbers_dates() {
        assert!(t("Name eq 'o''brien'"));
        assert!(t("startswith(Name,'o''b') and Total gt 123.44M"));
        assert!(!t("Total gt 123.45"));
        assert!(t("Email eq null and not (Email ne null)"));
        assert!(!t("Email eq 'x' or Email ne 'x'"));
        assert!(t(
            "Date gt datetimeoffset'2023-11-14T00:00:00+00:00' and Hold eq false"
        ));
        assert!(t("substringof('BRI',Name)"));
        assert!(t("substringof('zzz',Name) eq false"));
    }

    #[test]
    fn refuses_what_acumatica_refuses() {
        assert!(parse("contains(Name,'a')").is_err());
        assert!(parse("Name eq 'unterminated").is_err());
        assert!(parse("Name eq").is_err());
    }

    #[test]
    fn custom_field_filters_read_the_custom_hook() {
        let e = parse(
            "cf.Decimal(f='Document.CuryBalanceWOTotal') eq 0M and cf.DateTime(f='Document.DiscDate') gt datetimeoffset'2024-02-01'",
        )
        .unwrap();
        let mut paths_seen = Vec::new();
        paths(&e, &mut paths_seen);
        assert_eq!(
            paths_seen,
            ["cf:Document.CuryBalanceWOTotal", "cf:Document.DiscDate"]
        );
        let hook = |p: &str, _: &Record| match p {
            "Document.CuryBalanceWOTotal" => FieldValue::Dec(0, 4),
            _ => FieldValue::Time(Stamp::from_secs(1_800_000_000)),
        };
        assert!(eval_with(&e, &rec(), &hook).unwrap());
        assert!(!eval(&e, &rec()).unwrap());
        assert!(parse("cf.String('ItemSettings.UsrRepairItemType') eq 'Battery'").is_ok());
        assert!(parse("cf.String(f=Item) eq 'x'").is_err());
    }
}
