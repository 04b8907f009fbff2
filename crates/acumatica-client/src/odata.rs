//! OData literal writers for `$filter`: every value is quoted or typed so that no value can
//! change the meaning of the filter.

/// `'O''Brien'`: single quotes doubled.
pub fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `datetimeoffset'2024-01-02T03:04:05.123456+00:00'` from an RFC 3339 text.
pub fn datetimeoffset_literal(rfc3339: &str) -> String {
    format!("datetimeoffset'{rfc3339}'")
}

/// `guid'…'`.
pub fn guid_literal(g: &str) -> String {
    format!("guid'{g}'")
}

/// `12.50M`: a decimal with the `M` suffix.
pub fn decimal_literal(text: &str) -> String {
    format!("{text}M")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_cannot_escape_the_literal() {
        assert_eq!(
            string_literal("O'Brien' or 1 eq 1"),
            "'O''Brien'' or 1 eq 1'"
        );
        assert_eq!(decimal_literal("-0.5"), "-0.5M");
    }
}
