//! Backslash commands of the shell (`\dt`, `\d`, `\timing`, `\format`, `\q`, `\?`).

use crate::print::Format;

/// `(usage, what it does)`, shown by `\?` and used for completion.
pub const META_COMMANDS: &[(&str, &str)] = &[
    (
        "\\dt [PATTERN]",
        "list tables (all schemas), optionally those whose name contains PATTERN",
    ),
    ("\\d TABLE", "describe a table's columns and types"),
    (
        "\\timing [on|off]",
        "show the elapsed time after each statement",
    ),
    (
        "\\format table|csv|json|ndjson",
        "choose how results are printed",
    ),
    (
        "\\pushdown [on|off]",
        "push filters, columns and limits to Acumatica (on by default)",
    ),
    ("\\q", "quit (also Ctrl-D)"),
    ("\\?", "this help"),
];

/// A parsed backslash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meta {
    ListTables(Option<String>),
    Describe(String),
    Timing(Option<bool>),
    Format(Format),
    Pushdown(Option<bool>),
    Quit,
    Help,
}

/// Parses one backslash command line; the error is a message for the user.
pub fn parse(line: &str) -> Result<Meta, String> {
    let line = line.trim().trim_end_matches(';').trim();
    let mut parts = line.split_whitespace();
    let cmd = parts.next().unwrap_or_default();
    let arg = parts.next();
    if parts.next().is_some() {
        return Err(format!("{cmd}: too many arguments (see \\?)"));
    }
    let on_off = |arg: Option<&str>| -> Result<Option<bool>, String> {
        match arg.map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("on") => Ok(Some(true)),
            Some("off") => Ok(Some(false)),
            Some(other) => Err(format!("{cmd}: expected on or off, got {other:?}")),
        }
    };
    Ok(match cmd {
        "\\dt" => Meta::ListTables(arg.map(str::to_string)),
        "\\d" => match arg {
            Some(t) => Meta::Describe(t.to_string()),
            None => Meta::ListTables(None),
        },
        "\\timing" => Meta::Timing(on_off(arg)?),
        "\\pushdown" => Meta::Pushdown(on_off(arg)?),
        "\\format" => match arg.and_then(Format::parse) {
            Some(f) => Meta::Format(f),
            None => return Err("\\format: expected one of table, csv, json, ndjson".into()),
        },
        "\\q" | "\\quit" => Meta::Quit,
        "\\?" | "\\h" | "\\help" => Meta::Help,
        other => return Err(format!("unknown command {other}; \\? lists the commands")),
    })
}

/// The text printed by `\?`.
pub fn help() -> String {
    let width = META_COMMANDS
        .iter()
        .map(|(u, _)| u.len())
        .max()
        .unwrap_or(0);
    let mut s = String::from(
        "Statements end with ';' and may span lines. Ctrl-C cancels a running query.\n",
    );
    for (usage, what) in META_COMMANDS {
        s.push_str(&format!("  {usage:width$}  {what}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_and_rejects_bad_arguments() {
        assert_eq!(parse("\\dt"), Ok(Meta::ListTables(None)));
        assert_eq!(
            parse("\\dt sales"),
            Ok(Meta::ListTables(Some("sales".into())))
        );
        assert_eq!(
            parse("\\d SalesOrder;"),
            Ok(Meta::Describe("SalesOrder".into()))
        );
        assert_eq!(parse("\\timing on"), Ok(Meta::Timing(Some(true))));
        assert_eq!(parse("\\format CSV"), Ok(Meta::Format(Format::Csv)));
        assert!(parse("\\format xml").is_err());
        assert!(parse("\\timing maybe").is_err());
        assert!(parse("\\nope").unwrap_err().contains("\\?"));
        assert_eq!(parse("\\q"), Ok(Meta::Quit));
    }
}
