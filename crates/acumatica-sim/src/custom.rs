//! Custom fields: the fields of a screen's data views that the contract does not map, reachable
//! through `$custom=<View>.<Field>`, `cf.<Type>(f='<View>.<Field>')` filters and described by
//! `GET <Entity>/$adHocSchema`. Each (sub)entity has a primary view; every view carries the
//! DAC audit fields the contract leaves out, and a few entities carry fields of their own
//! (a user-defined attribute, a customization's `Usr` field, DAC fields such as
//! `Document.CuryBalanceWOTotal`). Values derive from the record, so they are deterministic.

use crate::data::{FieldValue, Record, mix};

/// A custom field's type as `$adHocSchema` and `custom` blocks name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Decimal,
    Int,
    Boolean,
    DateTime,
    Guid,
}

impl Kind {
    /// `CustomStringField`, `CustomDecimalField`, …
    pub fn type_name(self) -> &'static str {
        match self {
            Self::String => "CustomStringField",
            Self::Decimal => "CustomDecimalField",
            Self::Int => "CustomIntField",
            Self::Boolean => "CustomBooleanField",
            Self::DateTime => "CustomDateTimeField",
            Self::Guid => "CustomGuidField",
        }
    }
}

/// One custom field of a view.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub view: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    value: Derive,
}

/// The primary data view of a schema entity (top level or detail), as the screen names it.
pub fn primary_view(entity: &str) -> &str {
    match entity {
        "Customer" | "Vendor" => "BAccount",
        "StockItem" | "NonStockItem" => "Item",
        "SalesOrder" | "SalesInvoice" | "Bill" | "Payment" | "Invoice" => "Document",
        "SalesOrderDetail" | "SalesInvoiceDetail" => "Transactions",
        "JournalTransaction" => "BatchModule",
        "JournalTransactionDetail" => "GLTranModuleBatNbr",
        "Account" => "AccountRecords",
        "Contact" => "Contact",
        "TimeEntry" => "Items",
        other => other,
    }
}

fn hash(r: &Record, salt: u64) -> u64 {
    let mut h = salt;
    for b in r.id.bytes() {
        h = mix(h ^ u64::from(b));
    }
    h
}

const ADMIN: &str = "b5344897-037e-4d58-b5c3-1bdfd0f47bf9";

fn audit_user(_: &Record, _: &str) -> FieldValue {
    FieldValue::Str(ADMIN.into())
}

fn note_id(r: &Record, _: &str) -> FieldValue {
    if r.id.is_empty() {
        FieldValue::Null
    } else {
        FieldValue::Str(r.id.clone())
    }
}

fn screen(_: &Record, entity: &str) -> FieldValue {
    FieldValue::Str(
        match entity {
            "Customer" => "AR303000",
            "Vendor" => "AP303000",
            "StockItem" => "IN202500",
            "NonStockItem" => "IN202000",
            "SalesOrder" | "SalesOrderDetail" => "SO301000",
            "SalesInvoice" | "SalesInvoiceDetail" => "SO303000",
            "Bill" => "AP301000",
            "Payment" => "AR302000",
            "JournalTransaction" | "JournalTransactionDetail" => "GL301000",
            "Account" => "GL202500",
            "Contact" => "CR302000",
            _ => "CS000000",
        }
        .into(),
    )
}

/// A user-defined attribute: mixed case, trailing spaces and NULLs on purpose.
fn attribute_product(r: &Record, _: &str) -> FieldValue {
    const P: &[&str] = &[
        "Apple jam 8 oz.",
        "APPLE JAM 8 OZ.",
        "plum jam 96 oz.  ",
        "Cherry pie",
        "O'Brien's blend",
    ];
    match hash(r, 1) % 7 {
        5 | 6 => FieldValue::Null,
        n => FieldValue::Str(P[n as usize].into()),
    }
}

fn priority(r: &Record, _: &str) -> FieldValue {
    FieldValue::Int((hash(r, 2) % 3) as i64)
}

fn premium_freight(r: &Record, _: &str) -> FieldValue {
    match hash(r, 3) % 4 {
        0 => FieldValue::Dec(0, 4),
        n => FieldValue::Dec(i128::from(n) * 12_5000, 4),
    }
}

fn manual_package(r: &Record, _: &str) -> FieldValue {
    FieldValue::Bool(hash(r, 4).is_multiple_of(5))
}

/// The open balance after write-offs: zero once an invoice is closed.
fn balance_wo(r: &Record, _: &str) -> FieldValue {
    let closed = matches!(r.get("Status"), Some(FieldValue::Str(s)) if s == "Closed");
    match (closed, r.get("Balance")) {
        (true, _) => FieldValue::Dec(0, 4),
        (false, Some(FieldValue::Dec(u, s))) => FieldValue::Dec(*u, *s),
        (false, _) => FieldValue::Dec(0, 4),
    }
}

/// The cash-discount date: ten days after the document date.
fn disc_date(r: &Record, _: &str) -> FieldValue {
    match r.get("Date") {
        Some(FieldValue::Time(t)) => FieldValue::Time(t.plus_secs(10 * 86_400)),
        _ => FieldValue::Null,
    }
}

fn abc_code(r: &Record, _: &str) -> FieldValue {
    match hash(r, 5) % 4 {
        0 => FieldValue::Null,
        n => FieldValue::Str(["A", "B", "C"][n as usize - 1].into()),
    }
}

fn descr_translations(r: &Record, _: &str) -> FieldValue {
    r.get("Description").cloned().unwrap_or(FieldValue::Null)
}

fn repair_item_type(r: &Record, _: &str) -> FieldValue {
    match hash(r, 6) % 5 {
        0 => FieldValue::Str("Battery".into()),
        1 => FieldValue::Str("battery ".into()),
        2 => FieldValue::Str("Screen".into()),
        _ => FieldValue::Null,
    }
}

fn acct_reference(r: &Record, _: &str) -> FieldValue {
    match hash(r, 7) % 3 {
        0 => FieldValue::Null,
        n => FieldValue::Str(format!("REF-{:04}", hash(r, 8) % 10_000 + n)),
    }
}

fn days_past_due(r: &Record, _: &str) -> FieldValue {
    FieldValue::Int((hash(r, 9) % 90) as i64)
}

fn unit_cost(r: &Record, _: &str) -> FieldValue {
    match r.get("UnitPrice") {
        Some(FieldValue::Dec(u, s)) => FieldValue::Dec(u * 6 / 10, *s),
        _ => FieldValue::Null,
    }
}

fn alternate_id(r: &Record, _: &str) -> FieldValue {
    match hash(r, 10) % 3 {
        0 => FieldValue::Null,
        _ => FieldValue::Str(format!("ALT-{:05}", hash(r, 11) % 100_000)),
    }
}

fn time_entry_date(r: &Record, _: &str) -> FieldValue {
    r.get("Date").cloned().unwrap_or(FieldValue::Null)
}

const fn f(view: &'static str, name: &'static str, kind: Kind, value: Derive) -> Field {
    Field {
        view,
        name,
        kind,
        value,
    }
}

/// Fields of particular (sub)entities, beyond the audit fields every primary view has.
const OWN: &[(&str, Field)] = &[
    (
        "Customer",
        f("BAccount", "AcctReferenceNbr", Kind::String, acct_reference),
    ),
    (
        "Customer",
        f(
            "CurrentCustomer",
            "CreditDaysPastDue",
            Kind::Int,
            days_past_due,
        ),
    ),
    (
        "Vendor",
        f("BAccount", "AcctReferenceNbr", Kind::String, acct_reference),
    ),
    ("StockItem", f("Item", "ABCCodeID", Kind::String, abc_code)),
    (
        "StockItem",
        f(
            "Item",
            "DescrTranslations",
            Kind::String,
            descr_translations,
        ),
    ),
    (
        "StockItem",
        f(
            "ItemSettings",
            "UsrRepairItemType",
            Kind::String,
            repair_item_type,
        ),
    ),
    (
        "NonStockItem",
        f(
            "Item",
            "DescrTranslations",
            Kind::String,
            descr_translations,
        ),
    ),
    (
        "SalesOrder",
        f(
            "Document",
            "AttributePRODUCT",
            Kind::String,
            attribute_product,
        ),
    ),
    ("SalesOrder", f("Document", "Priority", Kind::Int, priority)),
    (
        "SalesOrder",
        f(
            "Document",
            "CuryPremiumFreightAmt",
            Kind::Decimal,
            premium_freight,
        ),
    ),
    (
        "SalesOrder",
        f("Document", "IsManualPackage", Kind::Boolean, manual_package),
    ),
    (
        "SalesOrderDetail",
        f("Transactions", "AlternateID", Kind::String, alternate_id),
    ),
    (
        "SalesOrderDetail",
        f("Transactions", "CuryUnitCost", Kind::Decimal, unit_cost),
    ),
    (
        "SalesOrderDetail",
        f(
            "Transactions",
            "UsrRepairItemType",
            Kind::String,
            repair_item_type,
        ),
    ),
    (
        "SalesInvoice",
        f("Document", "CuryBalanceWOTotal", Kind::Decimal, balance_wo),
    ),
    (
        "SalesInvoice",
        f("Document", "DiscDate", Kind::DateTime, disc_date),
    ),
    (
        "Invoice",
        f("CurrentDocument", "TaxZoneID", Kind::String, |_, _| {
            FieldValue::Null
        }),
    ),
    (
        "Invoice",
        f("CurrentDocument", "DontPrint", Kind::Boolean, |_, _| {
            FieldValue::Bool(true)
        }),
    ),
    (
        "TimeEntry",
        f("Items", "Date", Kind::DateTime, time_entry_date),
    ),
];

/// Derives a custom value from the record (and the entity's name).
type Derive = fn(&Record, &str) -> FieldValue;

const AUDIT: &[(&str, Kind, Derive)] = &[
    ("CreatedByID", Kind::Guid, audit_user),
    ("CreatedByScreenID", Kind::String, screen),
    ("LastModifiedByID", Kind::Guid, audit_user),
    ("LastModifiedByScreenID", Kind::String, screen),
    ("NoteID", Kind::Guid, note_id),
];

/// Whether fields of this (sub)entity are declared beyond the audit fields.
pub fn declares(entity: &str) -> bool {
    OWN.iter().any(|(e, _)| *e == entity)
}

/// Every custom field of a schema entity, primary view first.
pub fn fields(entity: &str) -> Vec<Field> {
    let view = leak_view(primary_view(entity));
    let mut out: Vec<Field> = AUDIT
        .iter()
        .map(|&(name, kind, value)| Field {
            view,
            name,
            kind,
            value,
        })
        .collect();
    out.extend(OWN.iter().filter(|(e, _)| *e == entity).map(|(_, f)| *f));
    // Views in first-seen order, fields in declaration order within each.
    let mut views: Vec<&str> = Vec::new();
    for f in &out {
        if !views.contains(&f.view) {
            views.push(f.view);
        }
    }
    let mut sorted = Vec::with_capacity(out.len());
    for v in views {
        sorted.extend(out.iter().filter(|f| f.view == v).copied());
    }
    sorted
}

fn leak_view(v: &str) -> &'static str {
    // Primary views of entities outside the table above are the entity's own name: intern.
    static KNOWN: &[&str] = &[
        "BAccount",
        "Item",
        "Document",
        "Transactions",
        "BatchModule",
        "GLTranModuleBatNbr",
        "AccountRecords",
        "Contact",
        "Items",
    ];
    KNOWN
        .iter()
        .find(|k| **k == v)
        .copied()
        .unwrap_or_else(|| crate::store::intern(v))
}

/// Looks up `<View>.<Field>` (case-insensitive) among an entity's custom fields, without
/// building the list (it runs per record when a filter or `$custom` names one).
pub fn find(entity: &str, path: &str) -> Option<Field> {
    let (view, name) = path.split_once('.')?;
    let primary = primary_view(entity);
    if view.eq_ignore_ascii_case(primary)
        && let Some(&(name, kind, value)) = AUDIT.iter().find(|a| a.0.eq_ignore_ascii_case(name))
    {
        return Some(Field {
            view: leak_view(primary),
            name,
            kind,
            value,
        });
    }
    OWN.iter()
        .find(|(e, f)| {
            *e == entity && f.view.eq_ignore_ascii_case(view) && f.name.eq_ignore_ascii_case(name)
        })
        .map(|(_, f)| *f)
}

/// The value of the custom field `<View>.<Field>` of a record (NULL when there is none).
pub fn value_at(entity: &str, path: &str, r: &Record) -> FieldValue {
    find(entity, path).map_or(FieldValue::Null, |f| value(&f, entity, r))
}

/// The name under which a record stores a custom value written by a client.
pub fn stored_name(f: &Field) -> String {
    format!("cf:{}.{}", f.view, f.name)
}

/// A custom field's value for a record: what a client wrote, else the derived value.
pub fn value(f: &Field, entity: &str, r: &Record) -> FieldValue {
    let written = r.fields.iter().find(|(n, _)| {
        n.strip_prefix("cf:")
            .and_then(|p| p.split_once('.'))
            .is_some_and(|(v, x)| v == f.view && x == f.name)
    });
    match written {
        Some((_, v)) => v.clone(),
        None => (f.value)(r, entity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_group_fields_and_lookups_ignore_case() {
        let fs = fields("SalesOrder");
        assert_eq!(fs[0].view, "Document");
        assert!(fs.iter().any(|f| f.name == "AttributePRODUCT"));
        assert!(find("SalesOrder", "document.attributeproduct").is_some());
        assert!(find("SalesOrder", "Document.Nope").is_none());
        assert_eq!(fields("Shipment")[0].view, "Shipment");
        let r = Record {
            id: "abc".into(),
            fields: vec![("Status", FieldValue::Str("Closed".into()))],
            ..Default::default()
        };
        let f = find("SalesInvoice", "Document.CuryBalanceWOTotal").unwrap();
        assert_eq!(value(&f, "SalesInvoice", &r), FieldValue::Dec(0, 4));
    }
}
