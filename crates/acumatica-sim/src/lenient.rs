//! Request bodies read the way Acumatica's JSON reader (Json.NET) reads them: besides strict
//! JSON it accepts comments, trailing commas, single-quoted strings and any Unicode white space
//! (the official Postman collections rely on the last two).

use serde_json::Value;

/// Parses a body: strict JSON first, then the lenient forms.
pub fn parse(body: &[u8]) -> Result<Value, serde_json::Error> {
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(strict) => {
            let Ok(text) = std::str::from_utf8(body) else {
                return Err(strict);
            };
            serde_json::from_str(&normalize(text)).map_err(|_| strict)
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
                while j < c.len() && c[j].is_whitespace() {
                    j += 1;
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
}
