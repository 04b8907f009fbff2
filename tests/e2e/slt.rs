//! sqllogictest files (`tests/slt/*.slt`) run against the simulator: SQL in, rows out.
//!
//! The subset of the format we use: `statement ok`, `statement error <text>` (the error message
//! must contain the text), and `query <types> [rowsort]` followed by the SQL, `----` and the
//! expected rows, values separated by single spaces, `NULL` for null, `(empty)` for an empty
//! string; a multi-line cell (an `EXPLAIN` plan) gives one line per line of it. Set `ACUSQL_SLT_COMPLETE=1` to rewrite the files with the actual results (review
//! the diff before committing).

use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use acumatica_datafusion::AcumaticaOptions;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::support::env;

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

#[derive(Debug)]
enum Record {
    Statement {
        sql: String,
        error: Option<String>,
    },
    Query {
        sql: String,
        types: String,
        rowsort: bool,
        expected: Vec<String>,
    },
}

struct Entry {
    line: usize,
    record: Record,
}

fn parse(text: &str) -> Vec<Entry> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let head = lines[i].trim();
        if head.is_empty() || head.starts_with('#') {
            i += 1;
            continue;
        }
        let line = i + 1;
        i += 1;
        let mut sql = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() && lines[i].trim() != "----" {
            sql.push(lines[i]);
            i += 1;
        }
        let sql = sql.join("\n");
        let mut words = head.split_whitespace();
        match words.next() {
            Some("statement") => {
                let error = match words.next() {
                    Some("error") => Some(words.collect::<Vec<_>>().join(" ")),
                    _ => None,
                };
                out.push(Entry {
                    line,
                    record: Record::Statement { sql, error },
                });
            }
            Some("query") => {
                let types = words.next().unwrap_or_default().to_string();
                let rowsort = words.next() == Some("rowsort");
                let mut expected = Vec::new();
                if i < lines.len() && lines[i].trim() == "----" {
                    i += 1;
                    while i < lines.len() && !lines[i].trim().is_empty() {
                        expected.push(lines[i].trim_end().to_string());
                        i += 1;
                    }
                }
                out.push(Entry {
                    line,
                    record: Record::Query {
                        sql,
                        types,
                        rowsort,
                        expected,
                    },
                });
            }
            other => panic!("line {line}: unknown record {other:?}"),
        }
    }
    out
}

fn render(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for b in batches {
        let formatters: Vec<ArrayFormatter<'_>> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formattable"))
            .collect();
        for r in 0..b.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| {
                    let v = f.value(r).to_string();
                    if v.is_empty() {
                        "(empty)".to_string()
                    } else {
                        v
                    }
                })
                .collect();
            // A cell of several lines (an EXPLAIN plan) reads as one expected line each.
            rows.extend(cells.join(" ").lines().map(|l| l.trim_end().to_string()));
        }
    }
    rows
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
    let mut failures = Vec::new();
    let files = files();
    assert!(!files.is_empty(), "no .slt files");
    for file in files {
        let e = env().await;
        let ctx = context(&e.conn).await;
        let text = std::fs::read_to_string(&file).expect("readable");
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let mut rewritten = String::new();
        for entry in parse(&text) {
            let at = format!("{name}:{}", entry.line);
            match entry.record {
                Record::Statement { sql, error } => {
                    let result = match ctx.sql(&sql).await {
                        Ok(df) => df.collect().await.map(|_| ()),
                        Err(err) => Err(err),
                    };
                    match (&error, result) {
                        (None, Err(err)) => {
                            failures.push(format!("{at}: {sql}\n  unexpected error: {err}"))
                        }
                        (Some(want), Ok(())) => failures.push(format!(
                            "{at}: {sql}\n  expected an error containing {want:?}"
                        )),
                        (Some(want), Err(err)) if !err.to_string().contains(want.as_str()) => {
                            failures.push(format!(
                                "{at}: {sql}\n  error {err}\n  does not contain {want:?}"
                            ))
                        }
                        _ => {}
                    }
                    rewritten.push_str(&match &error {
                        None => format!("statement ok\n{sql}\n\n"),
                        Some(w) => format!("statement error {w}\n{sql}\n\n"),
                    });
                }
                Record::Query {
                    sql,
                    types,
                    rowsort,
                    expected,
                } => {
                    let result = match ctx.sql(&sql).await {
                        Ok(df) => df.collect().await,
                        Err(err) => Err(err),
                    };
                    let mut actual = match result {
                        Ok(batches) => render(&batches),
                        Err(err) => {
                            failures.push(format!("{at}: {sql}\n  error: {err}"));
                            expected.clone()
                        }
                    };
                    if rowsort {
                        actual.sort();
                    }
                    let mut want = expected.clone();
                    if rowsort {
                        want.sort();
                    }
                    if actual != want && !complete {
                        failures.push(format!(
                            "{at}: {sql}\n  expected:\n    {}\n  actual:\n    {}",
                            want.join("\n    "),
                            actual.join("\n    ")
                        ));
                    }
                    let sort = if rowsort { " rowsort" } else { "" };
                    rewritten.push_str(&format!(
                        "query {types}{sort}\n{sql}\n----\n{}\n\n",
                        actual.join("\n")
                    ));
                }
            }
        }
        if complete {
            // Comments are kept by writing them back in front of the records they preceded.
            let header: String = text
                .lines()
                .take_while(|l| l.starts_with('#') || l.trim().is_empty())
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(&file, format!("{header}{}", rewritten.trim_end()) + "\n")
                .expect("writable");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
