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
///
/// The exponent is bounded before any arithmetic: a server can send `1e2147483647` or
/// `0e2000000000`, which must be refused at once, not overflow or be multiplied out.
pub fn parse_decimal(text: &str) -> Option<i128> {
    let t = text.trim().trim_matches('"');
    let (neg, t) = t.strip_prefix('-').map_or((false, t), |r| (true, r));
    let (mantissa, exp) = match t.find(['e', 'E']) {
        // Beyond i64 the exponent is absurd anyway: `parse` refuses it.
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // value = digits * 10^(exp - frac.len()); we want units = value * 10^8. In i128: no
    // overflow whatever the exponent.
    let digit_count = (int.len() + frac.len()) as i128;
    let shift = i128::from(exp) - frac.len() as i128 + i128::from(DECIMAL_SCALE);
    // A nonzero value multiplied by more than 10^38 cannot fit 38 digits, and one divided by
    // more than 10^(digits) cannot stay whole; zero gets the same bounds (give or take the
    // precision) so that `0e2000000000` is refused like any other absurd exponent.
    let max_shift = i128::from(DECIMAL_PRECISION);
    if shift > max_shift || shift < -(digit_count + max_shift) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let mut v: i128 = if digits.is_empty() {
        0
    } else {
        // More than 38 significant digits overflow here (`None`), never wrap.
        digits.parse().ok()?
    };
    let p = 10_i128.checked_pow(u32::try_from(shift.unsigned_abs()).ok()?);
    if shift >= 0 {
        if v != 0 {
            v = v.checked_mul(p?)?;
        }
    } else {
        match p {
            Some(p) if v % p == 0 => v /= p,
            // 10^|shift| beyond i128 divides nothing but zero.
            None if v == 0 => {}
            _ => return None,
        }
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
        assert_eq!(parse_decimal("0.00000000e-10"), Some(0));
        assert_eq!(parse_decimal("12345000000e-10"), Some(123_450_000));
        assert_eq!(parse_decimal("1e29"), Some(10_i128.pow(37)));
        assert_eq!(parse_decimal("1e30"), None, "31 integer digits");
    }

    /// A hostile server's exponents: refused at once, without a loop over the exponent or
    /// an overflow.
    #[test]
    fn absurd_exponents_are_refused_quickly() {
        let started = std::time::Instant::now();
        for text in [
            "0e2000000000",
            "1e2147483647",
            "1e-2147483648",
            "-1e-2147483649",
            "-0E+99999999999999999999",
            "0e9223372036854775807",
            "1.5e-9223372036854775808",
            "9e39",
            "1e",
            "1e+",
            "--1",
            "1.2.3",
        ] {
            assert_eq!(parse_decimal(text), None, "{text}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn forty_digits_are_refused_not_wrapped() {
        let forty = "1234567890123456789012345678901234567890";
        assert_eq!(parse_decimal(forty), None);
        assert_eq!(parse_decimal(&format!("-{forty}")), None);
        assert_eq!(parse_decimal(&format!("0.{forty}")), None);
        // Leading zeros are not significant digits.
        assert_eq!(
            parse_decimal(&format!("{}1", "0".repeat(60))),
            Some(100_000_000)
        );
        let max = "9".repeat(30);
        assert_eq!(
            parse_decimal(&max),
            Some(10_i128.pow(38) - 10_i128.pow(8)),
            "30 integer digits fit"
        );
    }
}
