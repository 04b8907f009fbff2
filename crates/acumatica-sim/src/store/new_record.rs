//! What the entry screens give a new record: defaults, auto-numbered keys, GUIDs, and the
//! checks of fields with a fixed list of values.

use serde_json::Value;

use crate::data::{Data, FieldValue, Record, Stamp};
use crate::schema::EntityDef;

use super::WriteError;

/// What a new record of `entity` holds when the request does not say (the entry screen's
/// defaults; a customer takes the `DEFAULT` class's).
pub(super) fn new_record_defaults(
    entity: &str,
    now: Stamp,
    branch: &str,
) -> Vec<(&'static str, FieldValue)> {
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
pub(super) fn check_choices(
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

pub(super) fn new_guid(seed: u64, entity: &str, n: usize) -> String {
    let mut h = seed ^ 0x005E_ED0F_C0DE;
    for b in entity.bytes() {
        h = crate::data::mix(h ^ u64::from(b));
    }
    let a = crate::data::mix(h ^ n as u64);
    crate::data::guid_from(a, crate::data::mix(a))
}

pub(super) fn auto_number(entity: &str, key: &str, n: usize) -> FieldValue {
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
