//! The interactive shell: line editing, history, completion, multi-line statements.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, CompletionType, ConditionalEventHandler, Config, Context, Editor, Event, EventContext,
    EventHandler, Helper, KeyEvent, RepeatCount,
};

use crate::completion::Names;
use crate::split;

/// The prompt of a new statement.
pub const PROMPT: &str = "acusql> ";
/// The prompt of a statement's next line: input continues until `;`.
pub const CONTINUATION: &str = "acusql-> ";

/// The names the editor completes, replaced when the catalog is rebuilt (`\refresh`).
pub type SharedNames = Arc<RwLock<Arc<Names>>>;

/// Completion and nothing else (statements are read line by line, see [`read`]).
#[derive(Clone)]
pub struct ShellHelper {
    names: SharedNames,
    /// The earlier lines of the statement being typed (their aliases count for completion).
    pending: Arc<Mutex<String>>,
    /// Set by Ctrl-C: whether the interrupted line was empty.
    empty_interrupt: Arc<AtomicBool>,
}

impl ShellHelper {
    pub fn new(names: SharedNames) -> Self {
        Self {
            names,
            pending: Arc::default(),
            empty_interrupt: Arc::default(),
        }
    }

    fn set_pending(&self, text: &str) {
        if let Ok(mut p) = self.pending.lock() {
            text.clone_into(&mut p);
        }
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
        let earlier = self.pending.lock().map(|p| p.clone()).unwrap_or_default();
        let statement = format!("{earlier}\n{line}");
        let names = self.names.read().map(|n| n.clone()).unwrap_or_default();
        Ok(names.complete(before, &statement))
    }
}

/// Every line is accepted as typed; [`read`] asks for more while the statement is not ended.
impl Validator for ShellHelper {}

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

/// Reads one statement: lines until it ends with `;` (a backslash command, `help`, `quit` or
/// `exit` ends with its line), the first at [`PROMPT`], the next ones at [`CONTINUATION`].
pub fn read(rl: &mut Editor<ShellHelper, DefaultHistory>) -> rustyline::Result<Input> {
    let mut buffer = String::new();
    let pending = |rl: &Editor<ShellHelper, DefaultHistory>, text: &str| {
        if let Some(h) = rl.helper() {
            h.set_pending(text);
        }
    };
    let input = loop {
        pending(rl, &buffer);
        let prompt = if buffer.is_empty() {
            PROMPT
        } else {
            CONTINUATION
        };
        match rl.readline(prompt) {
            Ok(line) => {
                // An empty line at the first prompt asks again, as psql does.
                if buffer.is_empty() && line.trim().is_empty() {
                    continue;
                }
                if !buffer.is_empty() {
                    buffer.push('\n');
                }
                buffer.push_str(&line);
                let (_, rest) = split::split(&buffer);
                if split::is_blank(&rest) {
                    break Input::Line(buffer);
                }
            }
            // Ctrl-C discards the whole statement.
            Err(ReadlineError::Interrupted) => {
                let line_empty = rl
                    .helper()
                    .is_none_or(|h| h.empty_interrupt.swap(false, Ordering::SeqCst));
                break Input::Interrupted {
                    empty: line_empty && buffer.trim().is_empty(),
                };
            }
            Err(ReadlineError::Eof) => break Input::Eof,
            Err(e) => return Err(e),
        }
    };
    pending(rl, "");
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completions(helper: &ShellHelper, line: &str) -> Vec<String> {
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let (_, found) = helper.complete(line, line.len(), &ctx).expect("complete");
        found.into_iter().map(|p| p.replacement).collect()
    }

    /// After `\refresh` the REPL swaps the names: the editor completes the new catalog.
    #[test]
    fn completion_follows_a_rebuilt_catalog() {
        let names: SharedNames = Arc::new(RwLock::new(Arc::new(Names::from_lists(&[(
            "rest",
            &[("Customer", &["CustomerID"])],
        )]))));
        let helper = ShellHelper::new(names.clone());
        assert_eq!(
            completions(&helper, "SELECT * FROM Vend"),
            Vec::<String>::new()
        );
        *names.write().unwrap() = Arc::new(Names::from_lists(&[(
            "rest",
            &[("Customer", &["CustomerID"]), ("Vendor", &["VendorID"])],
        )]));
        assert_eq!(completions(&helper, "SELECT * FROM Vend"), vec!["Vendor"]);
    }
}
