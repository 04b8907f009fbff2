//! DataFusion filters → OData `$filter` text, with a verdict.
//!
//! One function decides and renders, so the verdict given to DataFusion and the request the
//! scan sends cannot drift apart. `Exact` only where Acumatica's semantics equal DataFusion's:
//! numbers, booleans and date-times on correctly typed columns. String comparisons are
//! `Inexact`: the server compares case-insensitively and ignores trailing spaces, so it returns
//! a superset that DataFusion filters again; only equality-like string predicates (`eq`, `IN`,
//! `LIKE` prefix/suffix/infix) are supersets, so `<>` and ordering on strings stay local.
//! `NOT` is never pushed (the negation of a superset
//! is not a superset). On detail tables only the parent's columns can be filtered on the server.

use acumatica_client::metadata::WrapperType;
use acumatica_client::odata;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Like, Operator};

use crate::table::{ColumnSource, TableDef};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Exact,
    Inexact,
}

fn both(a: Verdict, b: Verdict) -> Verdict {
    if a == Verdict::Exact && b == Verdict::Exact {
        Verdict::Exact
    } else {
        Verdict::Inexact
    }
}

/// The server-side field a column maps to, with its type.
fn field(e: &Expr, def: &TableDef) -> Option<(String, WrapperType)> {
    let Expr::Column(c) = e else { return None };
    let col = def.column(&c.name)?;
    let name = match (&col.source, &def.detail) {
        (ColumnSource::Field(f) | ColumnSource::Plain(f), None) => f.clone(),
        (ColumnSource::ParentField(f), Some(_)) => f.clone(),
        (ColumnSource::Linked(l, f), None) => format!("{l}/{f}"),
        (ColumnSource::Custom(v, f), None) => {
            format!("cf.{}(f='{v}.{f}')", custom_type(col.wrapper?))
        }
        _ => return None,
    };
    Some((name, col.wrapper?))
}

/// The type word of `cf.<Type>(f='View.Field')`.
fn custom_type(t: WrapperType) -> &'static str {
    match t {
        WrapperType::String => "String",
        WrapperType::Decimal => "Decimal",
        WrapperType::Int => "Int",
        WrapperType::Short => "Short",
        WrapperType::Long => "Long",
        WrapperType::Double => "Double",
        WrapperType::Boolean => "Boolean",
        WrapperType::DateTime => "DateTime",
        WrapperType::Guid => "Guid",
        WrapperType::Byte => "Byte",
    }
}

fn decimal_text(v: i128, scale: i8) -> String {
    let neg = v < 0;
    let a = v.unsigned_abs();
    let s = if scale <= 0 {
        (a * 10_u128.pow(u32::from(scale.unsigned_abs()))).to_string()
    } else {
        let p = 10_u128.pow(scale as u32);
        format!("{}.{:0w$}", a / p, a % p, w = scale as usize)
    };
    if neg { format!("-{s}") } else { s }
}

/// The OData literal for `v` compared with a field of type `t`, and whether the comparison
/// means the same thing on the server.
fn literal(v: &ScalarValue, t: WrapperType, v4: bool) -> Option<(String, Verdict)> {
    use ScalarValue as S;
    use WrapperType as W;
    let int = |v: &ScalarValue| -> Option<i128> {
        Some(match v {
            S::Int8(Some(x)) => i128::from(*x),
            S::Int16(Some(x)) => i128::from(*x),
            S::Int32(Some(x)) => i128::from(*x),
            S::Int64(Some(x)) => i128::from(*x),
            S::UInt8(Some(x)) => i128::from(*x),
            S::UInt16(Some(x)) => i128::from(*x),
            S::UInt32(Some(x)) => i128::from(*x),
            S::UInt64(Some(x)) => i128::from(*x),
            _ => return None,
        })
    };
    match t {
        W::String | W::Guid => match v {
            S::Utf8(Some(s)) | S::LargeUtf8(Some(s)) | S::Utf8View(Some(s)) => Some((
                if t == W::Guid && v4 {
                    // OData v4 GUIDs are bare; anything but hex digits and dashes is refused.
                    if !s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                        return None;
                    }
                    s.clone()
                } else if t == W::Guid {
                    odata::guid_literal(&s.replace('\'', ""))
                } else {
                    odata::string_literal(s)
                },
                Verdict::Inexact,
            )),
            _ => None,
        },
        W::Int | W::Short | W::Long | W::Byte => int(v).map(|i| (i.to_string(), Verdict::Exact)),
        W::Decimal => match v {
            S::Decimal128(Some(x), _, s) => Some((
                if v4 {
                    decimal_text(*x, *s)
                } else {
                    odata::decimal_literal(&decimal_text(*x, *s))
                },
                Verdict::Exact,
            )),
            _ => int(v).map(|i| {
                let text = i.to_string();
                (
                    if v4 {
                        text
                    } else {
                        odata::decimal_literal(&text)
                    },
                    Verdict::Exact,
                )
            }),
        },
        W::Double => match v {
            S::Float64(Some(f)) if f.is_finite() => Some((format!("{f:?}"), Verdict::Inexact)),
            _ => int(v).map(|i| (i.to_string(), Verdict::Inexact)),
        },
        W::Boolean => match v {
            S::Boolean(Some(b)) => Some((b.to_string(), Verdict::Exact)),
            _ => None,
        },
        W::DateTime => {
            let micros = match v {
                S::TimestampSecond(Some(x), _) => x.checked_mul(1_000_000)?,
                S::TimestampMillisecond(Some(x), _) => x.checked_mul(1_000)?,
                S::TimestampMicrosecond(Some(x), _) => *x,
                S::TimestampNanosecond(Some(x), _) => x.div_euclid(1_000),
                _ => return None,
            };
            let t = chrono::DateTime::from_timestamp_micros(micros)?;
            Some((
                if v4 {
                    odata::v4_datetime_literal(&t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
                } else {
                    odata::datetimeoffset_literal(
                        &t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
                    )
                },
                Verdict::Exact,
            ))
        }
    }
}

fn op_text(op: Operator) -> Option<&'static str> {
    Some(match op {
        Operator::Eq => "eq",
        Operator::NotEq => "ne",
        Operator::Lt => "lt",
        Operator::LtEq => "le",
        Operator::Gt => "gt",
        Operator::GtEq => "ge",
        _ => return None,
    })
}

fn flip(op: Operator) -> Operator {
    match op {
        Operator::Lt => Operator::Gt,
        Operator::LtEq => Operator::GtEq,
        Operator::Gt => Operator::Lt,
        Operator::GtEq => Operator::LtEq,
        o => o,
    }
}

fn lit_of(e: &Expr) -> Option<&ScalarValue> {
    match e {
        Expr::Literal(v, _) if !v.is_null() => Some(v),
        _ => None,
    }
}

/// `rtrim(col)`, `upper(col)`, `lower(col)` (nested in any order) around a string column:
/// equality on them narrows to the same superset as equality on the column, because the server
/// already ignores trailing spaces and case. So `rtrim(Warehouse) = 'MAIN'`, the way to match
/// the blank-padded keys some inquiries return, is still sent as `Warehouse eq 'MAIN'`.
fn collation_blind(e: &Expr, def: &TableDef) -> Option<(String, WrapperType)> {
    match e {
        Expr::ScalarFunction(f)
            if f.args.len() == 1 && matches!(f.name(), "rtrim" | "upper" | "lower") =>
        {
            collation_blind(&f.args[0], def)
        }
        Expr::Column(_) => field(e, def).filter(|(_, t)| *t == WrapperType::String),
        _ => None,
    }
}

fn comparison(col: &Expr, op: Operator, value: &Expr, def: &TableDef) -> Option<(String, Verdict)> {
    let (name, t) = match col {
        Expr::ScalarFunction(_) if op == Operator::Eq => collation_blind(col, def)?,
        _ => field(col, def)?,
    };
    // Under a case-insensitive collation only equality narrows to a superset: `ne` and
    // ordering can drop rows that a binary comparison keeps ('Active' <> 'active').
    if matches!(t, WrapperType::String | WrapperType::Guid) && op != Operator::Eq {
        return None;
    }
    let v = lit_of(value)?;
    let (lit, verdict) = literal(v, t, def.odata.is_some())?;
    Some((format!("{name} {} {lit}", op_text(op)?), verdict))
}

/// Translates one filter; `None` means it is evaluated locally only.
pub fn translate(e: &Expr, def: &TableDef) -> Option<(String, Verdict)> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And | Operator::Or => {
                let (a, va) = translate(left, def)?;
                let (b, vb) = translate(right, def)?;
                let word = if *op == Operator::And { "and" } else { "or" };
                Some((format!("({a}) {word} ({b})"), both(va, vb)))
            }
            _ => comparison(left, *op, right, def)
                .or_else(|| comparison(right, flip(*op), left, def)),
        },
        // DataFusion simplifies `b = true` to `b` and `b = false` to `NOT b`.
        Expr::Column(_) => match field(e, def)? {
            (name, WrapperType::Boolean) => Some((format!("{name} eq true"), Verdict::Exact)),
            _ => None,
        },
        Expr::Not(inner) if matches!(**inner, Expr::Column(_)) => match field(inner, def)? {
            (name, WrapperType::Boolean) => Some((format!("{name} eq false"), Verdict::Exact)),
            _ => None,
        },
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
            let (name, t) = field(inner, def)?;
            let word = if matches!(e, Expr::IsNull(_)) {
                "eq"
            } else {
                "ne"
            };
            // An empty string and NULL may not be told apart on every build: strings re-check.
            let v = if matches!(t, WrapperType::String | WrapperType::Guid) {
                Verdict::Inexact
            } else {
                Verdict::Exact
            };
            Some((format!("{name} {word} null"), v))
        }
        Expr::InList(list) if !list.negated && !list.list.is_empty() && list.list.len() <= 50 => {
            let mut parts = Vec::new();
            let mut verdict = Verdict::Exact;
            for item in &list.list {
                let (p, v) = comparison(&list.expr, Operator::Eq, item, def)?;
                verdict = both(verdict, v);
                parts.push(p);
            }
            Some((parts.join(" or "), verdict))
        }
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) => {
            let (a, va) = comparison(expr, Operator::GtEq, low, def)?;
            let (b, vb) = comparison(expr, Operator::LtEq, high, def)?;
            Some((format!("{a} and {b}"), both(va, vb)))
        }
        Expr::Like(Like {
            negated: false,
            expr,
            pattern,
            escape_char: None,
            ..
        }) => {
            let (name, t) = field(expr, def)?;
            // String functions take a field name, not a `cf.` custom-field reference.
            if t != WrapperType::String || name.starts_with("cf.") {
                return None;
            }
            let (ScalarValue::Utf8(Some(p))
            | ScalarValue::LargeUtf8(Some(p))
            | ScalarValue::Utf8View(Some(p))) = lit_of(pattern)?
            else {
                return None;
            };
            let inner = p.trim_start_matches('%').trim_end_matches('%');
            if inner.is_empty() || inner.contains(['%', '_', '\\']) {
                return None;
            }
            let starts = p.starts_with('%');
            let ends = p.ends_with('%');
            let lit = odata::string_literal(inner);
            let text = match (starts, ends) {
                (false, true) => format!("startswith({name},{lit})"),
                (true, false) => format!("endswith({name},{lit})"),
                (true, true) if def.odata.is_some() => format!("contains({name},{lit})"),
                (true, true) => format!("substringof({lit},{name})"),
                (false, false) => format!("{name} eq {lit}"),
            };
            Some((text, Verdict::Inexact))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use acumatica_client::metadata::EndpointSchema;
    use datafusion::prelude::{ident as col, lit};

    use super::*;

    fn customer() -> TableDef {
        let s = EndpointSchema::bundled("Default", "24.200.001").unwrap();
        TableDef::entity(s.entity("Customer").unwrap())
    }

    fn t(e: Expr) -> Option<(String, Verdict)> {
        translate(&e, &customer())
    }

    #[test]
    fn equality_under_rtrim_upper_lower_is_sent_on_the_column() {
        use datafusion::functions::string::expr_fn::{lower, rtrim, upper};
        let sent = |e: Expr| t(e).map(|(text, v)| (text, v == Verdict::Exact));
        assert_eq!(
            sent(rtrim(vec![col("CustomerID")]).eq(lit("C1"))),
            Some(("CustomerID eq 'C1'".into(), false))
        );
        assert_eq!(
            sent(upper(lower(rtrim(vec![col("CustomerID")]))).eq(lit("C1"))),
            Some(("CustomerID eq 'C1'".into(), false))
        );
        // Only equality: ordering and `<>` on strings stay local, as on the bare column.
        assert_eq!(sent(upper(col("CustomerID")).gt(lit("C1"))), None);
        // Not a string column, or a function the collation does not ignore: local.
        assert_eq!(sent(upper(col("BAccountID")).eq(lit("5"))), None);
        assert_eq!(
            sent(
                datafusion::functions::string::expr_fn::ltrim(vec![col("CustomerID")])
                    .eq(lit("C1"))
            ),
            None
        );
    }

    #[test]
    fn verdicts_follow_server_semantics() {
        assert_eq!(
            t(col("CustomerID").eq(lit("O'Brien' or 1 eq 1"))),
            Some((
                "CustomerID eq 'O''Brien'' or 1 eq 1'".into(),
                Verdict::Inexact
            ))
        );
        assert_eq!(
            t(col("BAccountID").gt(lit(5_i32))),
            Some(("BAccountID gt 5".into(), Verdict::Exact))
        );
        assert_eq!(
            t(lit(5_i32).lt(col("BAccountID"))),
            Some(("BAccountID gt 5".into(), Verdict::Exact))
        );
        assert_eq!(
            t(col("ApplyOverdueCharges").eq(lit(true))),
            Some(("ApplyOverdueCharges eq true".into(), Verdict::Exact))
        );
        assert_eq!(
            t(col("CreditLimit").is_null()),
            Some(("CreditLimit eq null".into(), Verdict::Exact))
        );
        assert_eq!(
            t(col("CustomerID").like(lit("C0%"))),
            Some(("startswith(CustomerID,'C0')".into(), Verdict::Inexact))
        );
        assert_eq!(t(col("CustomerID").like(lit("C_0%"))), None);
        assert_eq!(
            t(Expr::Not(Box::new(col("BAccountID").gt(lit(5_i32))))),
            None
        );
        assert_eq!(
            t(col("BAccountID").in_list(vec![lit(1_i32), lit(2_i32)], false)),
            Some(("BAccountID eq 1 or BAccountID eq 2".into(), Verdict::Exact))
        );
        assert_eq!(t(col("NoSuchColumn").eq(lit(1))), None);
        assert_eq!(
            t(col("Status").not_eq(lit("active"))),
            None,
            "ne is not a superset under a CI collation"
        );
        assert_eq!(t(col("CustomerID").gt(lit("C1"))), None);
        assert_eq!(t(col("id").eq(lit("x"))), None);
    }

    #[test]
    fn detail_fields_stay_local() {
        let s = EndpointSchema::bundled("Default", "24.200.001").unwrap();
        let so = s.entity("SalesOrder").unwrap();
        let d = TableDef::detail(so, "Details", s.entity("SalesOrderDetail").unwrap());
        assert!(translate(&col("OrderNbr").eq(lit("SO1")), &d).is_some());
        assert!(translate(&col("InventoryID").eq(lit("X")), &d).is_none());
    }

    #[test]
    fn custom_fields_use_cf_references() {
        use acumatica_client::metadata::CustomField;
        let s = EndpointSchema::bundled("Default", "24.200.001").unwrap();
        let f = |view: &str, field: &str, kind| CustomField {
            path: vec![],
            view: view.into(),
            field: field.into(),
            kind,
        };
        let def = TableDef::entity(s.entity("SalesOrder").unwrap()).with_custom(&[
            f("Document", "Priority", WrapperType::Short),
            f("Document", "AttributePRODUCT", WrapperType::String),
        ]);
        assert_eq!(
            translate(&col("cf_Document_Priority").gt_eq(lit(2_i32)), &def),
            Some((
                "cf.Short(f='Document.Priority') ge 2".into(),
                Verdict::Exact
            ))
        );
        assert_eq!(
            translate(&col("cf_Document_AttributePRODUCT").eq(lit("x")), &def),
            Some((
                "cf.String(f='Document.AttributePRODUCT') eq 'x'".into(),
                Verdict::Inexact
            ))
        );
        assert_eq!(
            translate(&col("cf_Document_AttributePRODUCT").like(lit("x%")), &def),
            None
        );
    }
}
