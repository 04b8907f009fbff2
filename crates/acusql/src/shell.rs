//! Runs statements and backslash commands against one session, printing results.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use acumatica_client::Connection;
use acumatica_datafusion::{AcumaticaOptions, AcumaticaTable, SchemaSource};
use anyhow::{Result, anyhow};
use arrow::array::{RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, SessionContext};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::meta::{self, Meta};
use crate::pager::{self, Paged, PagerMode};
use crate::print::{Expanded, Format, Layout, Printer};
use crate::{catalog, copy, describe, split};

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
    /// How the catalog was registered (`\refresh` registers it again the same way).
    pub options: AcumaticaOptions,
    pub format: Format,
    pub timing: bool,
    /// No status lines (row counts, timings, what COPY wrote).
    pub quiet: bool,
    /// Rows kept for an aligned table; the rest are counted, not shown.
    pub max_rows: usize,
    /// Show a live progress line on stderr (only when it is a terminal).
    pub progress: bool,
    /// Tables one column per line (`\x`).
    pub expanded: Expanded,
    /// Long results through `$PAGER` (only when standard output is a terminal).
    pub pager: PagerMode,
    /// `COPY … TO` may replace an existing file (`\overwrite`).
    pub overwrite: bool,
    /// Standard output is a terminal: tables are fitted to it and long ones paged.
    stdout_is_terminal: bool,
    /// How many times the catalog was rebuilt (`\refresh`, or after a schema error): the
    /// REPL reads the names it completes again when this changes.
    refreshes: u64,
}

impl Shell {
    pub fn new(
        ctx: SessionContext,
        conn: Connection,
        catalog: acumatica_datafusion::Registration,
        options: AcumaticaOptions,
        format: Format,
    ) -> Self {
        Self {
            ctx,
            conn,
            catalog,
            options,
            format,
            timing: format == Format::Table,
            quiet: false,
            max_rows: 1000,
            progress: std::io::stderr().is_terminal(),
            expanded: Expanded::Auto,
            pager: PagerMode::On,
            overwrite: false,
            stdout_is_terminal: std::io::stdout().is_terminal(),
            refreshes: 0,
        }
    }

    /// How many times the catalog was rebuilt since the shell started.
    pub fn refreshes(&self) -> u64 {
        self.refreshes
    }

    /// Runs every statement of `text` (a script or one line); stops at the first error.
    pub async fn run_script(&mut self, text: &str, out: &mut impl Write) -> Result<Flow> {
        let (statements, rest) = split::split(text);
        let mut all = statements;
        if !split::is_blank(&rest) {
            let line = text[..text.len() - rest.len()].matches('\n').count() + 1;
            let leading = rest.len() - rest.trim_start().len();
            all.push(split::Statement {
                text: rest.trim().to_string(),
                line: line + rest[..leading].matches('\n').count(),
            });
        }
        for st in all {
            let at_line = |e: anyhow::Error| {
                if st.line > 1 {
                    e.context(format!("line {}", st.line))
                } else {
                    e
                }
            };
            let command = if st.text.starts_with('\\') {
                Some(meta::parse(&st.text).map_err(|e| at_line(anyhow!(e)))?)
            } else {
                meta::word_command(&st.text)
            };
            if let Some(command) = command {
                if self.meta(command, out).await.map_err(at_line)? == Flow::Quit {
                    return Ok(Flow::Quit);
                }
                continue;
            }
            self.execute(&st.text, out).await.map_err(at_line)?;
        }
        Ok(Flow::Continue)
    }

    /// Runs one backslash command.
    pub async fn meta(&mut self, command: Meta, out: &mut impl Write) -> Result<Flow> {
        let on_off = |v: bool| if v { "on" } else { "off" };
        match command {
            Meta::Quit => return Ok(Flow::Quit),
            Meta::Help => write!(out, "{}", meta::help())?,
            Meta::Timing(v) => {
                self.timing = v.unwrap_or(!self.timing);
                writeln!(out, "Timing is {}.", on_off(self.timing))?;
            }
            Meta::Format(f) => {
                self.format = f;
                writeln!(out, "Output format is {}.", f.name())?;
            }
            Meta::Pushdown(v) => {
                let now = v.unwrap_or(!self.catalog.pushdown());
                self.catalog.set_pushdown(now);
                writeln!(out, "Pushdown is {}.", on_off(now))?;
            }
            Meta::Overwrite(v) => {
                self.overwrite = v.unwrap_or(!self.overwrite);
                writeln!(
                    out,
                    "COPY ... TO {} existing files.",
                    if self.overwrite {
                        "replaces"
                    } else {
                        "refuses to replace"
                    }
                )?;
            }
            Meta::Expanded(v) => {
                // As psql: `\x` alone toggles between on and off.
                self.expanded = v.unwrap_or(match self.expanded {
                    Expanded::On => Expanded::Off,
                    _ => Expanded::On,
                });
                let how = match self.expanded {
                    Expanded::Auto => "used automatically",
                    e => e.name(),
                };
                writeln!(out, "Expanded display is {how}.")?;
            }
            Meta::Pager(v) => {
                self.pager = v.unwrap_or(match self.pager {
                    PagerMode::Off => PagerMode::On,
                    _ => PagerMode::Off,
                });
                let how = match self.pager {
                    PagerMode::On => "used for long output",
                    PagerMode::Always => "always used",
                    PagerMode::Off => "off",
                };
                writeln!(out, "Pager is {how}.")?;
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
            Meta::ListSchemas => {
                let schemas = catalog::schemas(&self.ctx);
                let counts: Vec<u64> = schemas
                    .iter()
                    .map(|s| catalog::tables(&self.ctx, s).len() as u64)
                    .collect();
                let config = self.conn.config();
                let what: Vec<String> = schemas
                    .iter()
                    .map(|s| match s.as_str() {
                        "rest" => format!(
                            "contract-based REST entities and their detail lines (endpoint {}/{})",
                            config.endpoint_name, config.endpoint_version
                        ),
                        "gi" => "generic inquiries (OData)".to_string(),
                        "dac" => "data access classes, DACs (OData)".to_string(),
                        _ => String::new(),
                    })
                    .collect();
                let batch = RecordBatch::try_new(
                    Arc::new(Schema::new(vec![
                        Field::new("Schema", DataType::Utf8, false),
                        Field::new("Tables", DataType::UInt64, false),
                        Field::new("Description", DataType::Utf8, false),
                    ])),
                    vec![
                        Arc::new(StringArray::from(schemas)),
                        Arc::new(UInt64Array::from(counts)),
                        Arc::new(StringArray::from(what)),
                    ],
                )?;
                self.print_batch(batch, &[], out)?;
            }
            Meta::Describe { name, verbose } => self.describe(&name, verbose, out).await?,
            Meta::Refresh => {
                let r = self.refresh().await?;
                writeln!(
                    out,
                    "Catalog rebuilt: {}, {} tables in rest.",
                    self.schema_origin(),
                    r.rest_tables
                )?;
                if r.forgotten > 0 {
                    writeln!(
                        out,
                        "Dropped {} document{} from the metadata cache.",
                        r.forgotten,
                        if r.forgotten == 1 { "" } else { "s" }
                    )?;
                }
                writeln!(
                    out,
                    "The gi and dac feeds read their $metadata again when next used."
                )?;
            }
        }
        Ok(Flow::Continue)
    }

    /// Reads the metadata again and registers the catalog anew, keeping the pushdown switch.
    async fn refresh(&mut self) -> Result<acumatica_datafusion::Refreshed> {
        let mut options = self.options.clone();
        options.enable_pushdown = self.catalog.pushdown();
        let r = acumatica_datafusion::refresh(&self.ctx, &self.conn, options).await?;
        self.catalog = r.registration.clone();
        self.refreshes += 1;
        Ok(r)
    }

    /// Where the `rest` tables came from: "swagger.json from the server", "swagger.json from
    /// the metadata cache (… old)" or "the bundled schema".
    fn schema_origin(&self) -> String {
        let read = self.conn.metadata_read();
        match read.iter().find(|m| m.document.ends_with("/swagger.json")) {
            Some(m) => format!("swagger.json {}", describe_read(m)),
            None => "the bundled schema".to_string(),
        }
    }

    /// After `EXPLAIN`: where the metadata the plan rests on came from.
    fn metadata_status(&self, out: &mut impl Write) -> Result<()> {
        if self.quiet {
            return Ok(());
        }
        let read = self.conn.metadata_read();
        let mut parts: Vec<String> = read
            .iter()
            .map(|m| format!("{} {}", document_name(&m.document), describe_read(m)))
            .collect();
        if !read.iter().any(|m| m.document.ends_with("/swagger.json")) {
            parts.insert(0, "rest tables from the bundled schema".into());
        }
        self.status(&format!("Metadata: {}.", parts.join("; ")), out)
    }

    /// `\d NAME` / `\d+ NAME`.
    async fn describe(&mut self, typed: &str, verbose: bool, out: &mut impl Write) -> Result<()> {
        let parts = catalog::parse_name(typed).map_err(|e| anyhow!("\\d: {e}"))?;
        let Some(found) = catalog::find(&self.ctx, &parts).await? else {
            return Err(catalog::not_found(&self.ctx, typed, &parts));
        };
        let mut others = Vec::new();
        let mut actions = Vec::new();
        if verbose
            && let Some(table) = found.provider.downcast_ref::<AcumaticaTable>()
            && table.def.odata.is_none()
        {
            let def = table.def.clone();
            // The entity's detail tables are named after it.
            let prefix = format!("{}_", def.resource);
            for name in catalog::tables(&self.ctx, &found.schema) {
                if name.starts_with(&prefix)
                    && let Some(t) = catalog::find(&self.ctx, &[found.schema.clone(), name]).await?
                {
                    others.push(t);
                }
            }
            match acumatica_datafusion::endpoint_schema(&self.conn, SchemaSource::Auto).await {
                Ok(schema) => {
                    if let Some(e) = schema.entity(&def.resource) {
                        actions = e.actions.clone();
                    }
                }
                Err(e) => tracing::warn!("the entity's actions are not known: {e}"),
            }
        }
        let d = describe::describe(&found, &others, &actions, verbose);
        self.print_batch(d.columns, &d.footer, out)
    }

    /// Prints a batch the shell made (a description, a list) in the current format; the
    /// footer lines only under an aligned table.
    fn print_batch(
        &self,
        batch: RecordBatch,
        footer: &[String],
        out: &mut impl Write,
    ) -> Result<()> {
        let mut paged = self.output(out);
        // A description stays a table unless expanded display is on (not merely automatic).
        let mut layout = self.layout();
        if layout.expanded == Expanded::Auto {
            layout.expanded = Expanded::Off;
        }
        let mut printer =
            Printer::new(self.format, &mut paged, batch.schema(), usize::MAX).with_layout(layout);
        printer.write(&batch)?;
        printer.finish()?;
        if self.format == Format::Table {
            for line in footer {
                writeln!(paged, "{line}")?;
            }
        }
        paged.finish()?;
        Ok(())
    }

    fn layout(&self) -> Layout {
        if self.stdout_is_terminal {
            Layout::for_stdout(self.expanded)
        } else {
            Layout {
                expanded: self.expanded,
                width: None,
            }
        }
    }

    /// Where a result goes: through the pager when standard output is a terminal and the
    /// pager is on, else straight to `out`.
    fn output<'a, W: Write>(&self, out: &'a mut W) -> Paged<'a, W> {
        let command = pager::command().filter(|_| self.stdout_is_terminal);
        match command {
            Some(command) if self.pager != PagerMode::Off => {
                let height = console::Term::stdout()
                    .size_checked()
                    .map_or(24, |(rows, _)| usize::from(rows));
                Paged::new(out, self.pager, height, command)
            }
            _ => Paged::new(out, PagerMode::Off, 0, String::new()),
        }
    }

    async fn execute_quietly(&mut self, sql: &str, out: &mut impl Write) -> Result<()> {
        let timing = std::mem::replace(&mut self.timing, false);
        let r = self.execute(sql, out).await;
        self.timing = timing;
        r
    }

    /// Plans a statement as `SessionContext::sql` does, with the shell's checks of `COPY`
    /// between parsing and planning; a table that does not exist gets a did-you-mean.
    async fn plan(&self, sql: &str) -> Result<(DataFrame, Option<String>)> {
        let state = self.ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        let mut statement = state.sql_to_statement(sql, &dialect)?;
        let copy_target = copy::prepare(&mut statement, self.overwrite)?;
        let plan = match state.statement_to_plan(statement).await {
            Ok(p) => p,
            Err(e) => {
                return Err(match missing_table(&e) {
                    Some((schema, table)) => catalog::not_found(
                        &self.ctx,
                        &catalog::reference(&schema, &table),
                        &[table],
                    ),
                    None => e.into(),
                });
            }
        };
        Ok((self.ctx.execute_logical_plan(plan).await?, copy_target))
    }

    /// Plans and runs one SQL statement, streaming its rows to `out`.
    ///
    /// When the server no longer knows a field or entity of the metadata the statement was
    /// planned with (a cached schema older than the server's), the metadata is read again
    /// once; a query that has printed nothing yet is then planned and run once more, and a
    /// second failure is reported as it is.
    pub async fn execute(&mut self, sql: &str, out: &mut impl Write) -> Result<()> {
        let mut replayable = true;
        let error = match self.execute_once(sql, out, &mut replayable).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let Some(mismatch) = error
            .chain()
            .find_map(|c| c.downcast_ref::<DataFusionError>())
            .and_then(acumatica_datafusion::schema_mismatch)
            .map(ToString::to_string)
        else {
            return Err(error);
        };
        if let Err(e) = self.refresh().await {
            tracing::warn!("the metadata cannot be read again: {e:#}");
            return Err(error);
        }
        if !replayable {
            return Err(error.context(
                "the server no longer knows part of the metadata the statement was planned with: the metadata was read again, check the statement against it",
            ));
        }
        eprintln!(
            "note: the server no longer knows part of the metadata the statement was planned with ({mismatch}); the metadata was read again, running the statement once more."
        );
        self.execute_once(sql, out, &mut replayable).await
    }

    /// [`Shell::execute`] once. `replayable` is cleared once running it again could repeat
    /// an effect: a write or action, or a first row printed.
    async fn execute_once(
        &mut self,
        sql: &str,
        out: &mut impl Write,
        replayable: &mut bool,
    ) -> Result<()> {
        let started = Instant::now();
        // `CALL <Entity>.<Action>(…)` runs an Acumatica action (the local policy allows it).
        let (df, copy_target) = if acumatica_datafusion::action::parse_call(sql).is_some() {
            *replayable = false;
            let df = acumatica_datafusion::StatementPolicy::local()
                .sql(&self.ctx, sql)
                .await?;
            (df, None)
        } else {
            self.plan(sql).await?
        };
        let explain = match df.logical_plan() {
            LogicalPlan::Dml(_) => {
                *replayable = false;
                false
            }
            LogicalPlan::Explain(_) => true,
            _ => false,
        };
        let mut stream = df.execute_stream().await?;
        let rows = Arc::new(AtomicU64::new(0));
        let mut bar = self
            .progress
            .then(|| self.progress_bar(rows.clone(), started));
        if let Some(target) = copy_target {
            let mut written = 0;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                if let Some(counts) = batch.column(0).as_any().downcast_ref::<UInt64Array>() {
                    written += counts.iter().flatten().sum::<u64>();
                }
            }
            drop(bar);
            if !self.quiet {
                let line = copy::wrote(written, &target);
                let seconds = started.elapsed().as_secs_f64();
                let line = if self.timing {
                    format!("{line} in {seconds:.3}s.")
                } else {
                    format!("{line}.")
                };
                self.status(&line, out)?;
            }
            return Ok(());
        }
        let mut paged = self.output(out);
        let pager = paged.status();
        let mut printer = Printer::new(self.format, &mut paged, stream.schema(), self.max_rows)
            .with_layout(self.layout());
        let result: Result<()> = async {
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                *replayable = false;
                printer.write(&batch)?;
                // The pager owns the screen now: no progress line over it.
                if pager.started() {
                    bar.take();
                }
                // The pager was quit: the rest is not wanted (dropping the stream stops it).
                if pager.closed() {
                    break;
                }
            }
            Ok(())
        }
        .await;
        drop(bar);
        result?;
        let n = printer.finish()?;
        if self.format == Format::Table && self.timing && !self.quiet {
            let noun = if n == 1 { "row" } else { "rows" };
            writeln!(
                paged,
                "{n} {noun} in {:.3}s",
                started.elapsed().as_secs_f64()
            )?;
        }
        if explain {
            self.metadata_status(&mut paged)?;
        }
        paged.finish()?;
        Ok(())
    }

    /// A status line: under the results in table format, on stderr in the others (they are
    /// data for another program).
    fn status(&self, line: &str, out: &mut impl Write) -> Result<()> {
        if self.format == Format::Table {
            writeln!(out, "{line}")?;
        } else {
            eprintln!("{line}");
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

/// "from the metadata cache (12 min old)" or "from the server".
fn describe_read(m: &acumatica_client::MetadataRead) -> String {
    match m.cached_age {
        Some(age) => format!(
            "from the metadata cache ({})",
            match age.as_secs() {
                s if s < 60 => "less than a minute old".to_string(),
                s if s < 7200 => format!("{} min old", s / 60),
                s => format!("{} h old", s / 3600),
            }
        ),
        None => "from the server".to_string(),
    }
}

/// A metadata document by its short name: `swagger.json`, `gi/$metadata`.
fn document_name(url: &str) -> &str {
    let mut cut = url.rsplitn(3, '/');
    let last = cut.next().unwrap_or(url);
    if last == "swagger.json" {
        return last;
    }
    match cut.next() {
        Some(parent) => &url[url.len() - last.len() - parent.len() - 1..],
        None => last,
    }
}

/// The table a planning error says is missing (`table 'acumatica.rest.Custmer' not found`):
/// its schema and name.
fn missing_table(e: &DataFusionError) -> Option<(String, String)> {
    let text = e.to_string();
    let start = text.find("table '")? + "table '".len();
    let rest = &text[start..];
    let name = &rest[..rest.find("' not found")?];
    // catalog.schema.table; the table's own name may hold dots.
    let mut parts = name.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(schema), Some(table)) => Some((schema.to_string(), table.to_string())),
        _ => Some(("rest".to_string(), name.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_documents_read_by_short_name_and_age() {
        assert_eq!(
            document_name("http://h/entity/Default/24.200.001/swagger.json"),
            "swagger.json"
        );
        assert_eq!(
            document_name("http://h/t/Company/api/odata/gi/$metadata"),
            "gi/$metadata"
        );
        let read = |age: Option<u64>| {
            describe_read(&acumatica_client::MetadataRead {
                document: String::new(),
                cached_age: age.map(Duration::from_secs),
            })
        };
        assert_eq!(read(None), "from the server");
        assert_eq!(
            read(Some(5)),
            "from the metadata cache (less than a minute old)"
        );
        assert_eq!(read(Some(720)), "from the metadata cache (12 min old)");
        assert_eq!(read(Some(30 * 3600)), "from the metadata cache (30 h old)");
    }
}
