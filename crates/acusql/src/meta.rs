//! Backslash commands of the shell (`\dt`, `\d`, `\x`, `\pset`, `\timing`, `\format`,
//! `\refresh`, `\q`, `\?`). A backslash command ends at the end of its line.

use crate::pager::PagerMode;
use crate::print::{Expanded, Format};

/// `(usage, what it does)`, shown by `\?` and used for completion.
pub const META_COMMANDS: &[(&str, &str)] = &[
    (
        "\\dt [PATTERN]",
        "list tables (all schemas), optionally those whose name contains PATTERN",
    ),
    (
        "\\d [TABLE]",
        "describe a table's columns and keys (TABLE as in SQL: gi.\"Customer Contacts\")",
    ),
    (
        "\\d+ TABLE",
        "also where each column comes from; for entities their detail tables, linked entities and actions",
    ),
    ("\\dn", "list schemas (rest, gi, dac)"),
    (
        "\\x [on|off|auto]",
        "expanded display: one line per column (auto: when a table is wider than the terminal)",
    ),
    (
        "\\pset pager [on|off|always]",
        "page long results with $PAGER (less -S when unset) when output is a terminal",
    ),
    (
        "\\timing [on|off]",
        "show the row count and elapsed time after each statement",
    ),
    (
        "\\format table|csv|json|ndjson",
        "choose how results are printed",
    ),
    (
        "\\pushdown [on|off]",
        "push filters, columns and limits to Acumatica (on by default)",
    ),
    (
        "\\overwrite [on|off]",
        "let COPY ... TO replace existing files (or OPTIONS (OVERWRITE true) on one COPY)",
    ),
    (
        "\\refresh",
        "read the endpoint's metadata again (swagger.json, OData $metadata) and rebuild the catalog",
    ),
    ("\\q", "quit (also quit, exit or Ctrl-D)"),
    ("\\?", "this help (also help)"),
];

/// A parsed backslash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meta {
    ListTables(Option<String>),
    /// `\d NAME` (`verbose`: `\d+`); the name as typed.
    Describe {
        name: String,
        verbose: bool,
    },
    ListSchemas,
    Expanded(Option<Expanded>),
    Pager(Option<PagerMode>),
    Timing(Option<bool>),
    Format(Format),
    Pushdown(Option<bool>),
    Overwrite(Option<bool>),
    Refresh,
    Quit,
    Help,
}

/// Words that do what a backslash command does when they are a line of their own, as in psql.
pub fn word_command(line: &str) -> Option<Meta> {
    let word = line.trim().trim_end_matches(';').trim();
    match word.to_ascii_lowercase().as_str() {
        "help" => Some(Meta::Help),
        "quit" | "exit" => Some(Meta::Quit),
        _ => None,
    }
}

/// Parses one backslash command line; the error is a message for the user.
pub fn parse(line: &str) -> Result<Meta, String> {
    let line = line.trim().trim_end_matches(';').trim();
    let (cmd, rest) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(c, r)| (c, r.trim()));
    let arg = (!rest.is_empty()).then_some(rest);
    // Every command but `\d` takes at most one word.
    let one = |arg: Option<&str>| -> Result<Option<String>, String> {
        match arg {
            Some(a) if a.split_whitespace().count() > 1 => {
                Err(format!("{cmd}: too many arguments (see \\?)"))
            }
            a => Ok(a.map(str::to_string)),
        }
    };
    let on_off = |arg: Option<&str>| -> Result<Option<bool>, String> {
        match one(arg)?.map(|a| a.to_ascii_lowercase()).as_deref() {
            None => Ok(None),
            Some("on") => Ok(Some(true)),
            Some("off") => Ok(Some(false)),
            Some(other) => Err(format!("{cmd}: expected on or off, got {other:?}")),
        }
    };
    Ok(match cmd {
        "\\dt" | "\\dt+" => Meta::ListTables(one(arg)?),
        "\\d" | "\\d+" => match arg {
            Some(t) => Meta::Describe {
                name: t.to_string(),
                verbose: cmd == "\\d+",
            },
            None => Meta::ListTables(None),
        },
        "\\dn" | "\\dn+" => match arg {
            None => Meta::ListSchemas,
            Some(_) => return Err(format!("{cmd} takes no argument")),
        },
        "\\x" => Meta::Expanded(expanded(cmd, one(arg)?.as_deref())?),
        "\\pset" => pset(rest)?,
        "\\timing" => Meta::Timing(on_off(arg)?),
        "\\pushdown" => Meta::Pushdown(on_off(arg)?),
        "\\overwrite" => Meta::Overwrite(on_off(arg)?),
        "\\format" => match one(arg)?.as_deref().and_then(Format::parse) {
            Some(f) => Meta::Format(f),
            None => return Err("\\format: expected one of table, csv, json, ndjson".into()),
        },
        "\\refresh" => match arg {
            None => Meta::Refresh,
            Some(_) => return Err(format!("{cmd} takes no argument")),
        },
        "\\q" | "\\quit" => Meta::Quit,
        "\\?" | "\\h" | "\\help" => Meta::Help,
        other => return Err(format!("unknown command {other}; \\? lists the commands")),
    })
}

fn expanded(cmd: &str, arg: Option<&str>) -> Result<Option<Expanded>, String> {
    Ok(match arg.map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("on") => Some(Expanded::On),
        Some("off") => Some(Expanded::Off),
        Some("auto") => Some(Expanded::Auto),
        Some(other) => return Err(format!("{cmd}: expected on, off or auto, got {other:?}")),
    })
}

/// `\pset pager [on|off|always]`, `\pset expanded [on|off|auto]`.
fn pset(rest: &str) -> Result<Meta, String> {
    let mut words = rest.split_whitespace();
    let option = words.next();
    let value = words.next();
    if words.next().is_some() {
        return Err("\\pset: too many arguments (see \\?)".into());
    }
    match option {
        Some("pager") => Ok(Meta::Pager(
            match value.map(str::to_ascii_lowercase).as_deref() {
                None => None,
                Some("on") => Some(PagerMode::On),
                Some("off") => Some(PagerMode::Off),
                Some("always") => Some(PagerMode::Always),
                Some(other) => {
                    return Err(format!(
                        "\\pset pager: expected on, off or always, got {other:?}"
                    ));
                }
            },
        )),
        Some("expanded") | Some("x") => Ok(Meta::Expanded(expanded("\\pset expanded", value)?)),
        Some("format") => match value.and_then(Format::parse) {
            Some(f) => Ok(Meta::Format(f)),
            None => Err("\\pset format: expected one of table, csv, json, ndjson".into()),
        },
        Some(other) => Err(format!(
            "\\pset: unknown option {other:?} (pager, expanded and format are known)"
        )),
        None => Err("\\pset: which option? pager, expanded or format".into()),
    }
}

/// The text printed by `\?` (and `help`).
pub fn help() -> String {
    let width = META_COMMANDS
        .iter()
        .map(|(u, _)| u.chars().count())
        .max()
        .unwrap_or(0);
    let mut s = String::from(
        "Statements end with ';' and may span lines. Ctrl-C cancels a running query.\n\
         Backslash commands end at the end of their line.\n",
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
            Ok(Meta::Describe {
                name: "SalesOrder".into(),
                verbose: false
            })
        );
        assert_eq!(
            parse("\\d+  gi.\"Customer Contacts\" "),
            Ok(Meta::Describe {
                name: "gi.\"Customer Contacts\"".into(),
                verbose: true
            })
        );
        assert_eq!(parse("\\dn"), Ok(Meta::ListSchemas));
        assert_eq!(parse("\\x"), Ok(Meta::Expanded(None)));
        assert_eq!(parse("\\x auto"), Ok(Meta::Expanded(Some(Expanded::Auto))));
        assert_eq!(
            parse("\\pset pager off"),
            Ok(Meta::Pager(Some(PagerMode::Off)))
        );
        assert_eq!(
            parse("\\pset expanded on"),
            Ok(Meta::Expanded(Some(Expanded::On)))
        );
        assert!(parse("\\pset colour red").is_err());
        assert!(parse("\\x maybe").is_err());
        assert_eq!(parse("\\timing on"), Ok(Meta::Timing(Some(true))));
        assert_eq!(parse("\\overwrite off"), Ok(Meta::Overwrite(Some(false))));
        assert_eq!(parse("\\format CSV"), Ok(Meta::Format(Format::Csv)));
        assert!(parse("\\format xml").is_err());
        assert!(parse("\\timing maybe").is_err());
        assert!(parse("\\timing on off").is_err());
        assert!(parse("\\nope").unwrap_err().contains("\\?"));
        assert_eq!(parse("\\q"), Ok(Meta::Quit));
        assert_eq!(parse("\\refresh;"), Ok(Meta::Refresh));
        assert!(parse("\\refresh Customer").is_err());
    }

    #[test]
    fn help_quit_and_exit_are_words_too() {
        assert_eq!(word_command(" help; "), Some(Meta::Help));
        assert_eq!(word_command("EXIT"), Some(Meta::Quit));
        assert_eq!(word_command("quit;"), Some(Meta::Quit));
        assert_eq!(word_command("help me"), None);
    }
}
