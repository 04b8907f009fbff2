//! The interactive shell: line editing, history, completion, multi-line statements.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{
    Cmd, CompletionType, ConditionalEventHandler, Config, Context, Editor, Event, EventContext,
    EventHandler, Helper, KeyEvent, RepeatCount,
};

use crate::meta::META_COMMANDS;
use crate::split;

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "FULL",
    "ON",
    "USING",
    "AS",
    "DISTINCT",
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "EXPLAIN",
    "ANALYZE",
    "DESCRIBE",
    "SHOW",
    "TABLES",
    "COLUMNS",
    "COPY",
    "TO",
    "WITH",
    "UNION",
    "ALL",
    "ASC",
    "DESC",
    "TRUE",
    "FALSE",
    "SET",
    "TIMESTAMP",
    "DATE",
    "INTERVAL",
    "EXISTS",
    "CREATE",
    "VIEW",
    "TABLE",
    "VALUES",
    "INSERT",
    "INTO",
    "STORED",
    "PARQUET",
    "CSV",
    "JSON",
    "NOW",
    "CURRENT_DATE",
    "COALESCE",
    "LOWER",
    "UPPER",
    "TRIM",
    "ROUND",
    "EXTRACT",
    "DATE_TRUNC",
];

/// Completion, validation (statements end with `;`) and nothing else.
#[derive(Clone)]
pub struct ShellHelper {
    /// Table and column names, as Acumatica spells them.
    names: BTreeSet<String>,
    /// Set by Ctrl-C: whether the interrupted line was empty.
    empty_interrupt: Arc<AtomicBool>,
}

impl ShellHelper {
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        Self {
            names: names.into_iter().collect(),
            empty_interrupt: Arc::default(),
        }
    }

    fn candidates(&self, word: &str) -> Vec<Pair> {
        let lower = word.to_ascii_lowercase();
        let mut out: Vec<Pair> = Vec::new();
        if word.starts_with('\\') {
            for (cmd, _) in META_COMMANDS {
                let name = cmd.split_whitespace().next().unwrap_or(cmd);
                if name.starts_with(word) {
                    out.push(pair(name));
                }
            }
            return out;
        }
        for name in &self.names {
            if name.to_ascii_lowercase().starts_with(&lower) {
                out.push(pair(name));
            }
        }
        for kw in KEYWORDS {
            if kw.to_ascii_lowercase().starts_with(&lower) {
                // Keep the user's case style for keywords.
                let typed = if word.chars().any(|c| c.is_ascii_lowercase()) {
                    kw.to_ascii_lowercase()
                } else {
                    kw.to_string()
                };
                out.push(pair(&typed));
            }
        }
        out
    }
}

fn pair(s: &str) -> Pair {
    Pair {
        display: s.to_string(),
        replacement: s.to_string(),
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\\'))
            .map(|i| i + before[i..].chars().next().map_or(1, char::len_utf8))
            .unwrap_or(0);
        let word = &before[start..];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        Ok((start, self.candidates(word)))
    }
}

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        let trimmed = input.trim_start();
        if trimmed.starts_with('\\') || split::is_blank(input) {
            return Ok(ValidationResult::Valid(None));
        }
        let (_, rest) = split::split(input);
        Ok(if split::is_blank(&rest) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Helper for ShellHelper {}

/// Where the history file lives: the user's data dir, e.g. `~/.local/share/acusql/history`.
pub fn history_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("acusql").join("history"))
}

/// Ctrl-C at the prompt: interrupts the line, noting whether it was empty (an empty line's
/// second Ctrl-C in a row quits, a non-empty line is only discarded).
struct CtrlC(Arc<AtomicBool>);

impl ConditionalEventHandler for CtrlC {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        self.0.store(ctx.line().trim().is_empty(), Ordering::SeqCst);
        Some(Cmd::Interrupt)
    }
}

/// A line editor with our helper and the persisted history loaded.
pub fn editor(helper: ShellHelper) -> rustyline::Result<Editor<ShellHelper, DefaultHistory>> {
    let mut rl = editor_with_history(helper, DefaultHistory::new())?;
    if let Some(path) = history_path() {
        // A missing history file is normal on first start.
        let _ = rl.load_history(&path);
    }
    Ok(rl)
}

/// A line editor over an existing history. The shell makes one per prompt and drops it while
/// a statement runs: a living editor owns the process's SIGINT handler (rustyline installs its
/// own), and Ctrl-C must reach the statement instead.
pub fn editor_with_history(
    helper: ShellHelper,
    history: DefaultHistory,
) -> rustyline::Result<Editor<ShellHelper, DefaultHistory>> {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .max_history_size(10_000)?
        .build();
    let mut rl = Editor::with_history(config, history)?;
    rl.bind_sequence(
        KeyEvent::ctrl('C'),
        EventHandler::Conditional(Box::new(CtrlC(helper.empty_interrupt.clone()))),
    );
    rl.set_helper(Some(helper));
    Ok(rl)
}

/// Appends one entry and saves the history (a failure to save is not worth stopping for).
pub fn remember(rl: &mut Editor<ShellHelper, DefaultHistory>, entry: &str) {
    let _ = rl.add_history_entry(entry);
    if let Some(path) = history_path() {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = rl.save_history(&path);
    }
}

/// What one call to the prompt produced.
pub enum Input {
    Line(String),
    /// Ctrl-C at the prompt: discard the line (`empty`: there was nothing on it).
    Interrupted {
        empty: bool,
    },
    /// Ctrl-D or end of input.
    Eof,
}

pub fn read(
    rl: &mut Editor<ShellHelper, DefaultHistory>,
    prompt: &str,
) -> rustyline::Result<Input> {
    match rl.readline(prompt) {
        Ok(line) => Ok(Input::Line(line)),
        Err(ReadlineError::Interrupted) => Ok(Input::Interrupted {
            empty: rl
                .helper()
                .is_none_or(|h| h.empty_interrupt.swap(false, Ordering::SeqCst)),
        }),
        Err(ReadlineError::Eof) => Ok(Input::Eof),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_names_keywords_and_meta_commands() {
        let h = ShellHelper::new(["SalesOrder".to_string(), "SalesOrder_Details".to_string()]);
        let names: Vec<String> = h
            .candidates("salesor")
            .into_iter()
            .map(|p| p.replacement)
            .collect();
        assert_eq!(names, ["SalesOrder", "SalesOrder_Details"]);
        let kw: Vec<String> = h
            .candidates("sel")
            .into_iter()
            .map(|p| p.replacement)
            .collect();
        assert_eq!(kw, ["select"]);
        let kw: Vec<String> = h
            .candidates("SEL")
            .into_iter()
            .map(|p| p.replacement)
            .collect();
        assert_eq!(kw, ["SELECT"]);
        let meta: Vec<String> = h
            .candidates("\\ti")
            .into_iter()
            .map(|p| p.replacement)
            .collect();
        assert_eq!(meta, ["\\timing"]);
    }
}
