//! Splits SQL text into statements at `;`, ignoring semicolons inside quotes and comments.

/// One statement of a script, with its 1-based starting line (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub text: String,
    pub line: usize,
}

/// Scanner state carried across lines, so the REPL can tell whether input is complete.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Code,
    Single,
    Double,
    LineComment,
    BlockComment,
}

/// Splits `text` into complete statements plus the unterminated rest (which may be blank).
///
/// A backslash command (`\dt`), or `help`, `quit` or `exit` alone on its line, where a
/// statement could start (comments before it are fine) is a statement of its own that ends at
/// the end of its line, as in psql.
pub fn split(text: &str) -> (Vec<Statement>, String) {
    let mut out = Vec::new();
    let mut state = State::Code;
    let mut start = 0;
    let mut line = 1;
    let mut start_line = 1;
    // Nothing but whitespace and comments since `start`.
    let mut fresh = true;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        if c == b'\n' {
            line += 1;
        }
        match state {
            State::Code if fresh && (c == b'\\' || c.is_ascii_alphabetic()) => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                let command = &text[i..end];
                if c == b'\\' || crate::meta::word_command(command).is_some() {
                    out.push(Statement {
                        text: command.trim().to_string(),
                        line,
                    });
                    // The newline is read next, as any other.
                    start = end;
                    start_line = line;
                    i = end;
                    continue;
                }
                fresh = false;
            }
            State::Code => match c {
                b'\'' => {
                    state = State::Single;
                    fresh = false;
                }
                b'"' => {
                    state = State::Double;
                    fresh = false;
                }
                b'-' if next == Some(b'-') => state = State::LineComment,
                b'/' if next == Some(b'*') => {
                    state = State::BlockComment;
                    i += 1;
                }
                b';' => {
                    push(&mut out, &text[start..i], start_line);
                    start = i + 1;
                    start_line = line;
                    fresh = true;
                }
                c if c.is_ascii_whitespace() => {}
                _ => fresh = false,
            },
            State::Single if c == b'\'' => state = State::Code,
            State::Double if c == b'"' => state = State::Code,
            State::LineComment if c == b'\n' => state = State::Code,
            State::BlockComment if c == b'*' && next == Some(b'/') => {
                state = State::Code;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    (out, text[start..].to_string())
}

fn push(out: &mut Vec<Statement>, text: &str, line: usize) {
    if !is_blank(text) {
        // Report the line of the first non-blank character.
        let leading = text.len() - text.trim_start().len();
        let line = line + text[..leading].matches('\n').count();
        out.push(Statement {
            text: text.trim().to_string(),
            line,
        });
    }
}

/// True when `text` holds only whitespace and comments.
pub fn is_blank(text: &str) -> bool {
    let mut rest = text.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r
                .split_once('\n')
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r
                .split_once("*/")
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else {
            return rest.is_empty();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> (Vec<String>, String) {
        let (v, rest) = split(s);
        (v.into_iter().map(|s| s.text).collect(), rest)
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let (v, rest) = texts("select 'a;b'; select \"x;\" -- c;\n from t; /* ; */ select 1");
        assert_eq!(v, ["select 'a;b'", "select \"x;\" -- c;\n from t"]);
        assert_eq!(rest.trim(), "/* ; */ select 1");
    }

    #[test]
    fn escaped_quotes_and_blank_statements() {
        let (v, rest) = texts("select 'O''Brien;';;  ; -- only a comment\n");
        assert_eq!(v, ["select 'O''Brien;'"]);
        assert!(is_blank(&rest));
    }

    #[test]
    fn reports_the_starting_line() {
        let (v, _) = split("select 1;\n\n  select\n 2;");
        assert_eq!(v[0].line, 1);
        assert_eq!(v[1].line, 3);
    }

    #[test]
    fn backslash_commands_end_at_the_end_of_their_line() {
        let script = "-- tables first\n\\dt Sales\nSELECT 1 AS a;\n  \\x on\n/* c */ \\d gi.\"A B\"\nSELECT\n 2;\n\\q";
        let (v, rest) = split(script);
        let got: Vec<&str> = v.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            got,
            [
                "\\dt Sales",
                "SELECT 1 AS a",
                "\\x on",
                "\\d gi.\"A B\"",
                "SELECT\n 2",
                "\\q"
            ]
        );
        assert_eq!(
            v.iter().map(|s| s.line).collect::<Vec<_>>(),
            [2, 3, 4, 5, 6, 8]
        );
        assert!(is_blank(&rest));
        // Inside a statement a backslash is just a character.
        let (v, rest) = texts("SELECT '\\x' AS a,\n\\x");
        assert!(v.is_empty());
        assert_eq!(rest, "SELECT '\\x' AS a,\n\\x");
    }

    #[test]
    fn help_quit_and_exit_alone_on_a_line() {
        let (v, rest) = texts("help\nSELECT 1;\nexit\n");
        assert_eq!(v, ["help", "SELECT 1", "exit"]);
        assert!(is_blank(&rest));
        let (v, rest) = texts("SELECT help\nFROM t;\nhelpful");
        assert_eq!(v, ["SELECT help\nFROM t"]);
        assert_eq!(rest, "\nhelpful");
    }

    #[test]
    fn unterminated_quote_is_incomplete() {
        let (v, rest) = texts("select 'abc; ");
        assert!(v.is_empty());
        assert_eq!(rest, "select 'abc; ");
    }
}
