//! One typed Arrow builder per column: a cell's JSON text in, the column's array out.

use std::sync::Arc;

use acumatica_client::metadata::WrapperType;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Decimal128Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt8Builder,
};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::shown;
use crate::types::{DECIMAL_PRECISION, DECIMAL_SCALE, parse_decimal};

/// decimals): tells "not a number" apart from "a number that does not fit".
fn number_like(text: &str) -> bool {
    let t = text.trim_matches('"');
    let t = t.strip_prefix('-').unwrap_or(t);
    t.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
}

pub(super) enum Builder {
    Str(StringBuilder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    U8(UInt8Builder),
    F64(Float64Builder),
    Dec(Decimal128Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMicrosecondBuilder),
}

impl Builder {
    pub(super) fn new(t: Option<WrapperType>) -> Self {
        match t {
            None | Some(WrapperType::String | WrapperType::Guid) => Self::Str(StringBuilder::new()),
            Some(WrapperType::Short) => Self::I16(Int16Builder::new()),
            Some(WrapperType::Int) => Self::I32(Int32Builder::new()),
            Some(WrapperType::Long) => Self::I64(Int64Builder::new()),
            Some(WrapperType::Byte) => Self::U8(UInt8Builder::new()),
            Some(WrapperType::Double) => Self::F64(Float64Builder::new()),
            Some(WrapperType::Decimal) => Self::Dec(Decimal128Builder::new()),
            Some(WrapperType::Boolean) => Self::Bool(BooleanBuilder::new()),
            Some(WrapperType::DateTime) => Self::Ts(TimestampMicrosecondBuilder::new()),
        }
    }

    /// `n` NULLs at once.
    pub(super) fn nulls(&mut self, n: usize) {
        match self {
            Self::Str(b) => b.append_nulls(n),
            Self::I16(b) => b.append_nulls(n),
            Self::I32(b) => b.append_nulls(n),
            Self::I64(b) => b.append_nulls(n),
            Self::U8(b) => b.append_nulls(n),
            Self::F64(b) => b.append_nulls(n),
            Self::Dec(b) => b.append_nulls(n),
            Self::Bool(b) => b.append_nulls(n),
            Self::Ts(b) => b.append_nulls(n),
        }
    }

    pub(super) fn null(&mut self) {
        match self {
            Self::Str(b) => b.append_null(),
            Self::I16(b) => b.append_null(),
            Self::I32(b) => b.append_null(),
            Self::I64(b) => b.append_null(),
            Self::U8(b) => b.append_null(),
            Self::F64(b) => b.append_null(),
            Self::Dec(b) => b.append_null(),
            Self::Bool(b) => b.append_null(),
            Self::Ts(b) => b.append_null(),
        }
    }

    /// Appends a raw JSON value (not `null`); the error is a problem description.
    pub(super) fn append(&mut self, raw: &RawValue) -> Result<(), String> {
        let text = raw.get();
        fn parse<'a, T: Deserialize<'a>>(text: &'a str, what: &str) -> Result<T, String> {
            serde_json::from_str(text)
                .map_err(|_| format!("expected {what}, found {}", shown(text, 80)))
        }
        // Fast paths for the common spellings (the page is valid JSON already): a string
        // without escapes is its text between the quotes; numbers parse from their text.
        fn number<'a, T: std::str::FromStr + Deserialize<'a>>(
            text: &'a str,
            what: &str,
        ) -> Result<T, String> {
            text.parse().or_else(|_| parse(text, what))
        }
        fn string<'a>(text: &'a str, what: &str) -> Result<std::borrow::Cow<'a, str>, String> {
            match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                Some(inner) if !inner.contains('\\') => Ok(std::borrow::Cow::Borrowed(inner)),
                _ => parse(text, what),
            }
        }
        match self {
            Self::Str(b) => {
                let s: std::borrow::Cow<'_, str> = if text.starts_with('"') {
                    string(text, "a string")?
                } else if text.starts_with(['{', '[']) {
                    return Err(format!("expected a string, found {}", shown(text, 80)));
                } else {
                    // Numbers or booleans in a string field: keep their text.
                    std::borrow::Cow::Borrowed(text)
                };
                b.append_value(s);
            }
            Self::I16(b) => b.append_value(number(text, "a 16-bit integer")?),
            Self::I32(b) => b.append_value(number(text, "a 32-bit integer")?),
            Self::I64(b) => b.append_value(number(text, "a 64-bit integer")?),
            Self::U8(b) => b.append_value(number(text, "a byte")?),
            Self::F64(b) => {
                let v: f64 = number(text, "a number")?;
                // Rust reads `1e400` as infinity; the value is not the server's.
                if !v.is_finite() {
                    return Err(format!("{} is out of range for a double", shown(text, 80)));
                }
                b.append_value(v)
            }
            Self::Dec(b) => b.append_value(parse_decimal(text).ok_or_else(|| {
                if number_like(text) {
                    format!(
                        "{} does not fit DECIMAL({DECIMAL_PRECISION}, {DECIMAL_SCALE}) without rounding",
                        shown(text, 80)
                    )
                } else {
                    format!("expected a decimal number, found {}", shown(text, 80))
                }
            })?),
            Self::Bool(b) => b.append_value(match text {
                "true" => true,
                "false" => false,
                _ => parse(text, "true or false")?,
            }),
            Self::Ts(b) => {
                let s = string(text, "a date-time string")?;
                let t = chrono::DateTime::parse_from_rfc3339(&s)
                    .map(|t| t.timestamp_micros())
                    .or_else(|_| {
                        chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
                            .map(|t| t.and_utc().timestamp_micros())
                    })
                    .map_err(|_| format!("{:?} is not an ISO 8601 date-time", shown(&s, 80)))?;
                b.append_value(t);
            }
        }
        Ok(())
    }

    pub(super) fn finish(self, def_type: &datafusion::arrow::datatypes::DataType) -> ArrayRef {
        match self {
            Self::Str(mut b) => Arc::new(b.finish()),
            Self::I16(mut b) => Arc::new(b.finish()),
            Self::I32(mut b) => Arc::new(b.finish()),
            Self::I64(mut b) => Arc::new(b.finish()),
            Self::U8(mut b) => Arc::new(b.finish()),
            Self::F64(mut b) => Arc::new(b.finish()),
            Self::Dec(mut b) => Arc::new(
                b.finish()
                    .with_precision_and_scale(DECIMAL_PRECISION, DECIMAL_SCALE)
                    .expect("valid decimal type"),
            ),
            Self::Bool(mut b) => Arc::new(b.finish()),
            Self::Ts(mut b) => {
                let tz = match def_type {
                    datafusion::arrow::datatypes::DataType::Timestamp(_, tz) => tz.clone(),
                    _ => None,
                };
                Arc::new(b.finish().with_timezone_opt(tz))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_out_of_range_are_refused() {
        // Customer has no double column: the builder directly.
        let mut b = Builder::new(Some(WrapperType::Double));
        let raw = RawValue::from_string("1e400".into()).unwrap();
        assert!(b.append(&raw).unwrap_err().contains("out of range"));
        let raw = RawValue::from_string("1.5".into()).unwrap();
        assert!(b.append(&raw).is_ok());
    }
}
