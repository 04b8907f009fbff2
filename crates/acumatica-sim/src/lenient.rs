//! Request bodies read the way Acumatica's JSON reader (Json.NET) reads them: besides strict
//! JSON it accepts comments, trailing commas, single-quoted strings and any Unicode white space
//! (the official Postman collections rely on the last two).
//!
//! Json.NET reads a number written into a `decimal` field with every digit; serde_json would read
//! it through `f64` and keep about 15. Numbers with more significant digits than an `f64` holds
//! exactly are therefore turned into strings before parsing: every wrapper that takes a number
//! also takes its text, so `123456789012345.6789` is stored as written.

use serde_json::Value;

/// Digits an `f64` always holds exactly.
const F64_DIGITS: usize = 15;

/// Parses a body: strict JSON first, then the lenient forms.
pub fn parse(body: &[u8]) -> Result<Value, serde_json::Error> {
    let strict = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(&quote_long_numbers(text)),
        Err(_) => serde_json::from_slice(body),
    };
    match strict {
        Ok(v) => Ok(v),
        Err(strict) => {
            let Ok(text) = std::str::from_utf8(body) else {
                return Err(strict);
            };
            serde_json::from_str(&quote_long_numbers(&normalize(text))).map_err(|_| strict)
        }
    }
}

/// Quotes every number (outside strings) with more than [`F64_DIGITS`] digits in its mantissa.
/// The input is strict JSON as far as strings go (double quotes, backslash escapes).
fn quote_long_numbers(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let token = &text[start..i];
                let mantissa = token.split(['e', 'E']).next().unwrap_or(token);
                let digits = mantissa
                    .trim_start_matches('-')
                    .trim_start_matches(['0', '.'])
                    .bytes()
                    .filter(u8::is_ascii_digit)
                    .count();
                if digits > F64_DIGITS {
                    let o = out.get_or_insert_with(|| String::with_capacity(text.len() + 8));
                    o.push_str(&text[copied..start]);
                    o.push('"');
                    o.push_str(token);
                    o.push('"');
                    copied = i;
                }
            }
            _ => i += 1,
        }
    }
    match out {
        None => std::borrow::Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            std::borrow::Cow::Owned(o)
        }
    }
}

/// Rewrites the lenient forms into strict JSON (string contents are left alone).
fn normalize(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '"' | '\'' => {
                let quote = c[i];
                out.push('"');
                i += 1;
                while i < c.len() && c[i] != quote {
                    if c[i] == '\\' && i + 1 < c.len() {
                        if c[i + 1] == '\'' {
                            out.push('\'');
                        } else {
                            out.push('\\');
                            out.push(c[i + 1]);
                        }
                        i += 2;
                        continue;
                    }
                    if c[i] == '"' {
                        out.push_str("\\\"");
                    } else {
                        out.push(c[i]);
                    }
                    i += 1;
                }
                out.push('"');
                i += 1;
            }
            '/' if c.get(i + 1) == Some(&'/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if c.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < c.len() && !(c[i] == '*' && c[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            ',' => {
                // A comma followed only by white space/comments and a closing bracket is dropped.
                let mut j = i + 1;
                loop {
                    while j < c.len() && c[j].is_whitespace() {
                        j += 1;
                    }
                    match (c.get(j), c.get(j + 1)) {
                        (Some('/'), Some('/')) => {
                            while j < c.len() && c[j] != '\n' {
                                j += 1;
                            }
                        }
                        (Some('/'), Some('*')) => {
                            j += 2;
                            while j + 1 < c.len() && !(c[j] == '*' && c[j + 1] == '/') {
                                j += 1;
                            }
                            j += 2;
                        }
                        _ => break,
                    }
                }
                if !matches!(c.get(j), Some('}' | ']')) {
                    out.push(',');
                }
                i += 1;
            }
            ch if ch.is_whitespace() => {
                out.push(' ');
                i += 1;
            }
            ch => {
                out.push(ch);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_json_net_accepts() {
        let v = parse(
            "{\n 'a': {\"value\":\u{a0}'it''s'}, // note\n \"b\": [1, 2,],\n /* c */ \"c\": \"x, }\",\n}"
                .as_bytes(),
        );
        // `'it''s'` is not a Json.NET string either: refused.
        assert!(v.is_err());
        let v = parse("{\n 'a': {\"value\":\u{a0}'it\\'s \"q\"'}, // note\n \"b\": [1, 2,],\n /* c */ \"c\": \"x, }\",\n}".as_bytes()).unwrap();
        assert_eq!(v["a"]["value"], "it's \"q\"");
        assert_eq!(v["b"], serde_json::json!([1, 2]));
        assert_eq!(v["c"], "x, }");
        assert!(parse(b"{\"a\": }").is_err());
    }

    #[test]
    fn a_comma_before_a_comment_and_a_closing_bracket_is_dropped() {
        let v = parse(b"{\"b\": [1, 2, // two\n /* end */ ], }").unwrap();
        assert_eq!(v["b"], serde_json::json!([1, 2]));
    }

    #[test]
    fn numbers_longer_than_an_f64_keep_every_digit() {
        let v = parse(br#"{"a":{"value":123456789012345.6789},"b":[-0.000012345678901234567,1.5e3,12],"c":"9999999999999999.5"}"#).unwrap();
        assert_eq!(v["a"]["value"], "123456789012345.6789");
        assert_eq!(v["b"][0], "-0.000012345678901234567");
        assert_eq!(v["b"][1], serde_json::json!(1500.0));
        assert_eq!(v["b"][2], serde_json::json!(12));
        assert_eq!(v["c"], "9999999999999999.5");
        // Lenient bodies too.
        let v = parse(b"{'a': 1234567890123456.78, }").unwrap();
        assert_eq!(v["a"], "1234567890123456.78");
    }
}
