//! sqllogictest files (`tests/slt/*.slt`) run by the `sqllogictest` crate against the
//! simulator: SQL in, rows out.
//!
//! Values are printed as Arrow displays them, `NULL` for null, `(empty)` for an empty string;
//! a multi-line cell (an `EXPLAIN` plan) gives one line per line of it. `statement error <re>`
//! matches the error message against a regular expression. Set `ACUSQL_SLT_COMPLETE=1` to
//! rewrite the files with the actual results (review the diff before committing).

use std::path::{Path, PathBuf};

use acumatica_datafusion::AcumaticaOptions;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};

use crate::support::env;

/// The catalog of a simulator as a database the runner talks to.
struct Acumatica {
    ctx: SessionContext,
}

#[async_trait::async_trait]
impl AsyncDB for Acumatica {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DataFusionError> {
        let df = self.ctx.sql(sql).await?;
        let types: Vec<DefaultColumnType> = df
            .schema()
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let batches = df.collect().await?;
        if types.is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        Ok(DBOutput::Rows {
            types,
            rows: render(&batches)?,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "acumatica"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => DefaultColumnType::Integer,
        DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
            DefaultColumnType::FloatingPoint
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DefaultColumnType::Text,
        _ => DefaultColumnType::Any,
    }
}

/// Rows of cells; a cell of several lines becomes several rows of one cell each.
fn render(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>, DataFusionError> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for b in batches {
        let formatters = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for r in 0..b.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| {
                    let v = f.value(r).to_string();
                    if v.is_empty() { "(empty)".into() } else { v }
                })
                .collect();
            let line = cells.join(" ");
            if line.contains('\n') {
                rows.extend(line.lines().map(|l| vec![l.trim_end().to_string()]));
            } else {
                rows.push(cells);
            }
        }
    }
    Ok(rows)
}

/// The context a file runs in: the simulator's catalog with custom-field columns, and a fixed
/// number of target partitions so that pinned plans do not depend on the machine's cores.
async fn context(conn: &acumatica_client::Connection) -> SessionContext {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_target_partitions(2);
    let ctx = SessionContext::new_with_config(config);
    let options = AcumaticaOptions {
        custom_fields: true,
        ..AcumaticaOptions::default()
    };
    acumatica_datafusion::register(&ctx, conn.clone(), options)
        .await
        .expect("catalog");
    ctx
}

fn files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files() {
    let complete = std::env::var_os("ACUSQL_SLT_COMPLETE").is_some();
    let files = files();
    assert!(!files.is_empty(), "no .slt files");
    let mut failures = Vec::new();
    for file in files {
        // A simulator per file: files never depend on each other.
        let e = env().await;
        let ctx = context(&e.conn).await;
        let mut runner = sqllogictest::Runner::new(move || {
            let ctx = ctx.clone();
            async move { Ok(Acumatica { ctx }) }
        });
        if complete {
            runner
                .update_test_file(
                    &file,
                    " ",
                    sqllogictest::default_validator,
                    sqllogictest::default_normalizer,
                    sqllogictest::default_column_validator,
                )
                .await
                .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        } else if let Err(err) = runner.run_file_async(&file).await {
            failures.push(err.display(false).to_string());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
