//! From Arrow rows to request bodies, and from Acumatica's field errors back to column names.

use acumatica_client::write::{CustomValue, FieldError, WireValue, WriteRecord};
use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};

use crate::table::{ColumnDef, ColumnSource, TableDef};

/// The value of `array[row]` as the API writes it: strings quoted, numbers exact (decimals
/// keep every digit), date-times in ISO 8601 with offset, NULL as `null`.
pub fn wire_value(array: &ArrayRef, row: usize) -> Result<WireValue> {
    if array.is_null(row) {
        return Ok(WireValue::Null);
    }
    let v = ScalarValue::try_from_array(array, row)?;
    let micros_to_text = |us: i64| {
        chrono::DateTime::from_timestamp_micros(us)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
            .ok_or_else(|| DataFusionError::Execution(format!("date-time {us} µs is out of range")))
    };
    Ok(match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => WireValue::Str(s),
        ScalarValue::Boolean(Some(b)) => WireValue::Bool(b),
        ScalarValue::Int8(Some(i)) => WireValue::Int(i.into()),
        ScalarValue::Int16(Some(i)) => WireValue::Int(i.into()),
        ScalarValue::Int32(Some(i)) => WireValue::Int(i.into()),
        ScalarValue::Int64(Some(i)) => WireValue::Int(i),
        ScalarValue::UInt8(Some(i)) => WireValue::Int(i.into()),
        ScalarValue::UInt16(Some(i)) => WireValue::Int(i.into()),
        ScalarValue::UInt32(Some(i)) => WireValue::Int(i.into()),
        ScalarValue::UInt64(Some(i)) => WireValue::Number(i.to_string()),
        ScalarValue::Float32(Some(f)) if f.is_finite() => WireValue::Number(f.to_string()),
        ScalarValue::Float64(Some(f)) if f.is_finite() => WireValue::Number(f.to_string()),
        ScalarValue::Decimal128(Some(units), _, scale) => {
            WireValue::Number(decimal_text(units, scale))
        }
        ScalarValue::TimestampSecond(Some(s), _) => WireValue::Str(micros_to_text(
            s.checked_mul(1_000_000).unwrap_or(i64::MAX),
        )?),
        ScalarValue::TimestampMillisecond(Some(ms), _) => {
            WireValue::Str(micros_to_text(ms.checked_mul(1000).unwrap_or(i64::MAX))?)
        }
        ScalarValue::TimestampMicrosecond(Some(us), _) => WireValue::Str(micros_to_text(us)?),
        ScalarValue::TimestampNanosecond(Some(ns), _) => {
            WireValue::Str(micros_to_text(ns.div_euclid(1000))?)
        }
        ScalarValue::Date32(Some(d)) => {
            let day = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|e| e.checked_add_signed(chrono::Duration::days(d.into())))
                .ok_or_else(|| DataFusionError::Execution(format!("date {d} is out of range")))?;
            WireValue::Str(day.format("%Y-%m-%d").to_string())
        }
        other => {
            return Err(DataFusionError::Plan(format!(
                "a value of type {} cannot be written to Acumatica",
                other.data_type()
            )));
        }
    })
}

/// `12340, 3` → `12.340` (exact; never through a float).
fn decimal_text(units: i128, scale: i8) -> String {
    if scale <= 0 {
        let zeros = "0".repeat(scale.unsigned_abs() as usize);
        return if units == 0 {
            "0".into()
        } else {
            format!("{units}{zeros}")
        };
    }
    let scale = scale as usize;
    let digits = units.unsigned_abs().to_string();
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    let sign = if units < 0 { "-" } else { "" };
    format!("{sign}{int}.{frac}")
}

/// Puts a column's value where it belongs in a record: a field, a linked entity's field or a
/// custom field. Returns false for columns the server computes (`id`, parent columns).
pub fn place(record: &mut WriteRecord, column: &ColumnDef, value: WireValue) -> bool {
    match &column.source {
        ColumnSource::Field(f) | ColumnSource::Plain(f) => record.field(f, value),
        ColumnSource::Linked(l, f) => record.linked_mut(l).field(f, value),
        ColumnSource::Custom(view, field) => record.custom.push(CustomValue {
            view: view.clone(),
            field: field.clone(),
            kind: format!(
                "Custom{}Field",
                column
                    .wrapper
                    .map_or("String", |w| w.custom_filter_function())
            ),
            value,
        }),
        ColumnSource::Id | ColumnSource::ParentId | ColumnSource::ParentField(_) => return false,
    }
    true
}

/// The column a field error is about, as the user named it (`CustomerID`,
/// `ShipToContact_Email`, `cf_Document_UsrX`), else the path as Acumatica gave it.
pub fn column_of(def: &TableDef, error: &FieldError) -> String {
    let path: Vec<&str> = error.path.iter().map(String::as_str).collect();
    // On a detail table the lines sit under `<Detail>/<n>/`.
    let within: &[&str] = match (&def.detail, path.as_slice()) {
        (Some(d), [first, _, rest @ ..]) if first == d => rest,
        _ => &path,
    };
    let found = def.columns.iter().find(|c| match (&c.source, within) {
        (ColumnSource::Field(f), [name]) => f == name,
        (ColumnSource::Linked(l, f), [link, name]) => l == link && f == name,
        (ColumnSource::Custom(v, f), ["custom", view, name]) => v == view && f == name,
        _ => false,
    });
    let found = found.or_else(|| {
        def.columns
            .iter()
            .find(|c| match (&c.source, path.as_slice()) {
                (ColumnSource::ParentField(f), [name]) => f == name,
                _ => false,
            })
    });
    match found {
        Some(c) => c.name.clone(),
        None => error.path.join("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Decimal128Array, TimestampMicrosecondArray};
    use std::sync::Arc;

    #[test]
    fn decimals_and_times_are_written_exactly() {
        assert_eq!(decimal_text(12340, 3), "12.340");
        assert_eq!(decimal_text(-5, 2), "-0.05");
        assert_eq!(decimal_text(7, 0), "7");
        assert_eq!(decimal_text(7, -2), "700");
        let a: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(123_456_789_012_345_678_i128), None])
                .with_precision_and_scale(38, 8)
                .unwrap(),
        );
        assert_eq!(
            wire_value(&a, 0).unwrap(),
            WireValue::Number("1234567890.12345678".into())
        );
        assert_eq!(wire_value(&a, 1).unwrap(), WireValue::Null);
        let t: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![1_700_000_000_250_000]).with_timezone("UTC"),
        );
        assert_eq!(
            wire_value(&t, 0).unwrap(),
            WireValue::Str("2023-11-14T22:13:20.250+00:00".into())
        );
    }
}
