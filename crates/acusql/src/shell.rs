//! Runs statements and backslash commands against one session, printing results.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use acumatica_client::Connection;
use anyhow::{Result, anyhow};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::meta::{self, Meta};
use crate::print::{Format, Printer};
use crate::split;

/// What the caller should do after a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

pub struct Shell {
    pub ctx: SessionContext,
    pub conn: Connection,
    pub catalog: acumatica_datafusion::Registration,
    pub format: Format,
    pub timing: bool,
    /// Rows kept for an aligned table; the rest are counted, not shown.
    pub max_rows: usize,
    /// Show a live progress line on stderr (only when it is a terminal).
    pub progress: bool,
}

impl Shell {
    pub fn new(
        ctx: SessionContext,
        conn: Connection,
        catalog: acumatica_datafusion::Registration,
        format: Format,
    ) -> Self {
        Self {
            ctx,
            conn,
            catalog,
            format,
            timing: format == Format::Table,
            max_rows: 1000,
            progress: std::io::stderr().is_terminal(),
        }
    }

    /// Runs every statement of `text` (a script or one line); stops at the first error.
    pub async fn run_script(&mut self, text: &str, out: &mut impl Write) -> Result<Flow> {
        let (statements, rest) = split::split(text);
        let mut all = statements;
        if !split::is_blank(&rest) {
            let line = text[..text.len() - rest.len()].matches('\n').count() + 1;
            all.push(split::Statement {
                text: rest.trim().to_string(),
                line,
            });
        }
        for st in all {
            if st.text.starts_with('\\') {
                if self.meta(&st.text, out).await? == Flow::Quit {
                    return Ok(Flow::Quit);
                }
                continue;
            }
            self.execute(&st.text, out).await.map_err(|e| {
                if st.line > 1 {
                    e.context(format!("statement at line {}", st.line))
                } else {
                    e
                }
            })?;
        }
        Ok(Flow::Continue)
    }

    /// Runs one backslash command.
    pub async fn meta(&mut self, line: &str, out: &mut impl Write) -> Result<Flow> {
        match meta::parse(line).map_err(|e| anyhow!(e))? {
            Meta::Quit => return Ok(Flow::Quit),
            Meta::Help => write!(out, "{}", meta::help())?,
            Meta::Timing(v) => {
                self.timing = v.unwrap_or(!self.timing);
                writeln!(out, "Timing is {}.", if self.timing { "on" } else { "off" })?;
            }
            Meta::Format(f) => {
                self.format = f;
                writeln!(out, "Output format is {}.", f.name())?;
            }
            Meta::Pushdown(v) => {
                let now = v.unwrap_or(!self.catalog.pushdown());
                self.catalog.set_pushdown(now);
                writeln!(out, "Pushdown is {}.", if now { "on" } else { "off" })?;
            }
            Meta::ListTables(pattern) => {
                let filter = pattern
                    .map(|p| format!(" AND table_name ILIKE '%{}%'", p.replace('\'', "''")))
                    .unwrap_or_default();
                let sql = format!(
                    "SELECT table_schema, table_name FROM information_schema.tables \
                     WHERE table_schema <> 'information_schema'{filter} ORDER BY table_schema, table_name"
                );
                self.execute_quietly(&sql, out).await?;
            }
            Meta::Describe(table) => {
                self.execute_quietly(&format!("DESCRIBE {table}"), out)
                    .await?;
            }
        }
        Ok(Flow::Continue)
    }

    async fn execute_quietly(&mut self, sql: &str, out: &mut impl Write) -> Result<()> {
        let timing = std::mem::replace(&mut self.timing, false);
        let r = self.execute(sql, out).await;
        self.timing = timing;
        r
    }

    /// Plans and runs one SQL statement, streaming its rows to `out`.
    pub async fn execute(&mut self, sql: &str, out: &mut impl Write) -> Result<()> {
        let started = Instant::now();
        // The local policy allows everything; it also runs `CALL <Entity>.<Action>(…)`.
        let df = acumatica_datafusion::StatementPolicy::local()
            .sql(&self.ctx, sql)
            .await?;
        let mut stream = df.execute_stream().await?;
        let rows = Arc::new(AtomicU64::new(0));
        let bar = self
            .progress
            .then(|| self.progress_bar(rows.clone(), started));
        let mut printer = Printer::new(self.format, &mut *out, stream.schema(), self.max_rows);
        let result: Result<()> = async {
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                printer.write(&batch)?;
            }
            Ok(())
        }
        .await;
        drop(bar);
        result?;
        let n = printer.finish()?;
        if self.format == Format::Table && self.timing {
            let noun = if n == 1 { "row" } else { "rows" };
            writeln!(out, "{n} {noun} in {:.3}s", started.elapsed().as_secs_f64())?;
        }
        Ok(())
    }

    fn progress_bar(&self, rows: Arc<AtomicU64>, started: Instant) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let conn = self.conn.clone();
        let b = bar.clone();
        let before = conn.stats();
        // The ticker only reads counters; it is aborted when the statement ends.
        let ticker = tokio::task::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(120)).await;
                let s = conn.stats();
                b.set_message(format!(
                    "{} rows · {} requests ({} in flight) · {:.1} MB · {:.1}s",
                    rows.load(Ordering::Relaxed),
                    s.requests.saturating_sub(before.requests),
                    s.in_flight,
                    s.bytes_received.saturating_sub(before.bytes_received) as f64 / 1e6,
                    started.elapsed().as_secs_f64()
                ));
                b.tick();
            }
        });
        Progress { bar, ticker }
    }
}

/// The live progress line of a statement. Dropping it (the statement ended, failed or was
/// cancelled with Ctrl-C) stops the ticker and clears the line, so nothing is drawn over the
/// next prompt.
struct Progress {
    bar: ProgressBar,
    ticker: tokio::task::JoinHandle<()>,
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}
