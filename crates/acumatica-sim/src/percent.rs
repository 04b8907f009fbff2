//! `%XX` escapes in URLs, decoded as ASP.NET decodes them (invalid escapes stay as written,
//! invalid UTF-8 becomes U+FFFD).

/// Decodes the `%XX` escapes of a path segment or of an already-split query value (`+` is left
/// alone: only the query string's form encoding makes it a space).
pub(crate) fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_are_decoded_and_broken_ones_kept() {
        assert_eq!(super::decode("a%27b%20c"), "a'b c");
        assert_eq!(super::decode("100%"), "100%");
        assert_eq!(super::decode("%zz%4"), "%zz%4");
        assert_eq!(super::decode("a+b"), "a+b");
    }
}
