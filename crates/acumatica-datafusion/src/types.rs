//! Acumatica wrapper types → Arrow types.
//!
//! Decimals are `Decimal128(38, 8)`: exact (never `f64`: these are money and quantities), with
//! 8 fractional digits — the largest scale Acumatica stores (currency rates) — and 30 integer
//! digits. A value with more fractional digits or too many integer digits is a decode error,
//! never a rounding. Date-times are `Timestamp(µs, "UTC")`: the wire carries an offset, which is
//! normalised to UTC. GUIDs are `Utf8` in canonical form.

use std::sync::Arc;

use acumatica_client::metadata::WrapperType;
use datafusion::arrow::datatypes::{DataType, TimeUnit};

pub const DECIMAL_PRECISION: u8 = 38;
pub const DECIMAL_SCALE: i8 = 8;

pub fn arrow_type(t: WrapperType) -> DataType {
    match t {
        WrapperType::String | WrapperType::Guid => DataType::Utf8,
        WrapperType::Int => DataType::Int32,
        WrapperType::Short => DataType::Int16,
        WrapperType::Long => DataType::Int64,
        WrapperType::Byte => DataType::UInt8,
        WrapperType::Double => DataType::Float64,
        WrapperType::Decimal => DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
        WrapperType::Boolean => DataType::Boolean,
        WrapperType::DateTime => DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
    }
}

/// Parses a JSON number's text exactly into units of 10^-8; `None` when it does not fit.
pub fn parse_decimal(text: &str) -> Option<i128> {
    let t = text.trim().trim_matches('"');
    let (neg, t) = t.strip_prefix('-').map_or((false, t), |r| (true, r));
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let digits: String = format!("{int}{frac}");
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // value = digits * 10^(exp - frac.len()); we want units = value * 10^8.
    let shift = exp - frac.len() as i32 + i32::from(DECIMAL_SCALE);
    let digits = digits.trim_start_matches('0');
    let mut v: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    if shift >= 0 {
        for _ in 0..shift {
            v = v.checked_mul(10)?;
        }
    } else {
        let p = 10_i128.checked_pow(u32::try_from(-shift).ok()?)?;
        if v % p != 0 {
            return None;
        }
        v /= p;
    }
    if v.unsigned_abs() >= 10_u128.pow(u32::from(DECIMAL_PRECISION)) {
        return None;
    }
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_or_refused() {
        assert_eq!(parse_decimal("30.0000"), Some(3_000_000_000));
        assert_eq!(parse_decimal("-0.5"), Some(-50_000_000));
        assert_eq!(parse_decimal("1.23456789"), Some(123_456_789));
        assert_eq!(parse_decimal("1e2"), Some(10_000_000_000));
        assert_eq!(parse_decimal("\"12.5\""), Some(1_250_000_000));
        assert_eq!(
            parse_decimal("1.234567891"),
            None,
            "a ninth decimal would be rounded"
        );
        assert_eq!(parse_decimal("1.2345678900"), Some(123_456_789));
        assert_eq!(parse_decimal("abc"), None);
    }
}
