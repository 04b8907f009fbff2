//! Result output: aligned tables for people, CSV / JSON / NDJSON for pipes.

use std::io::Write;

use anyhow::Result;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use clap::ValueEnum;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns fitted to the terminal, with a row count.
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        <Self as ValueEnum>::from_str(s, true).ok()
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Ndjson => "ndjson",
        }
    }
}

/// Writes batches as they arrive, in one format, to one sink.
pub struct Printer<W: Write> {
    format: Format,
    out: W,
    schema: SchemaRef,
    /// Table mode keeps rows until the end to align columns (bounded by `max_rows`).
    table_rows: Vec<Vec<String>>,
    max_rows: usize,
    rows: usize,
    csv_started: bool,
    json_started: bool,
}

impl<W: Write> Printer<W> {
    pub fn new(format: Format, out: W, schema: SchemaRef, max_rows: usize) -> Self {
        Self {
            format,
            out,
            schema,
            table_rows: Vec::new(),
            max_rows,
            rows: 0,
            csv_started: false,
            json_started: false,
        }
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows();
        match self.format {
            Format::Table => {
                let room = self.max_rows.saturating_sub(self.table_rows.len());
                if room > 0 {
                    let take = room.min(batch.num_rows());
                    self.table_rows.extend(format_rows(&batch.slice(0, take))?);
                }
            }
            Format::Csv => {
                // One writer per batch; only the first writes the header.
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(!self.csv_started)
                    .build(&mut self.out);
                w.write(batch)?;
                self.csv_started = true;
            }
            Format::Ndjson => {
                let mut w = arrow::json::LineDelimitedWriter::new(&mut self.out);
                w.write(batch)?;
                w.finish()?;
            }
            Format::Json => {
                let mut buf = Vec::new();
                {
                    let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
                    w.write(batch)?;
                    w.finish()?;
                }
                for line in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    self.out
                        .write_all(if self.json_started { b",\n" } else { b"[\n" })?;
                    self.json_started = true;
                    self.out.write_all(line)?;
                }
            }
        }
        Ok(())
    }

    /// Ends the output: prints the table, closes the JSON array, writes a CSV header for an
    /// empty result.
    pub fn finish(mut self) -> Result<usize> {
        match self.format {
            Format::Table => {
                let mut table = Table::new();
                table.load_preset(presets::UTF8_FULL_CONDENSED);
                // Fit a real terminal; an unknown or tiny width (pipes, bare ptys) must not
                // squeeze every column to one character.
                let arrangement = if table.width().is_some_and(|w| w >= 40) {
                    ContentArrangement::Dynamic
                } else {
                    ContentArrangement::Disabled
                };
                table.set_content_arrangement(arrangement);
                table.set_header(self.schema.fields().iter().map(|f| Cell::new(f.name())));
                for (i, f) in self.schema.fields().iter().enumerate() {
                    if f.data_type().is_numeric()
                        && let Some(col) = table.column_mut(i)
                    {
                        col.set_cell_alignment(CellAlignment::Right);
                    }
                }
                for row in std::mem::take(&mut self.table_rows) {
                    table.add_row(row);
                }
                writeln!(self.out, "{table}")?;
                if self.rows > self.max_rows {
                    writeln!(
                        self.out,
                        "(showing the first {} of {} rows; use LIMIT or \\format csv to see all)",
                        self.max_rows, self.rows
                    )?;
                }
            }
            Format::Csv => {
                if !self.csv_started {
                    let names: Vec<&str> = self
                        .schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect();
                    writeln!(self.out, "{}", names.join(","))?;
                }
            }
            Format::Json => {
                self.out
                    .write_all(if self.json_started { b"\n]\n" } else { b"[]\n" })?;
            }
            Format::Ndjson => {}
        }
        self.out.flush()?;
        Ok(self.rows)
    }
}

fn format_rows(batch: &RecordBatch) -> Result<Vec<Vec<String>>> {
    let options = FormatOptions::default().with_null("NULL");
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..batch.num_rows())
        .map(|row| {
            formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, true),
            Field::new("name", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(vec![Some(1), None])),
                Arc::new(StringArray::from(vec![Some("O'Brien, Ltd"), None])),
            ],
        )
        .unwrap()
    }

    fn render(format: Format, batches: &[RecordBatch]) -> String {
        let mut out = Vec::new();
        let mut p = Printer::new(format, &mut out, batch().schema(), 100);
        for b in batches {
            p.write(b).unwrap();
        }
        p.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_quotes_and_empty_results_keep_the_header() {
        assert_eq!(
            render(Format::Csv, &[batch()]),
            "id,name\n1,\"O'Brien, Ltd\"\n,\n"
        );
        assert_eq!(render(Format::Csv, &[]), "id,name\n");
    }

    #[test]
    fn json_is_one_array_and_ndjson_one_object_per_line() {
        let json = render(Format::Json, &[batch(), batch()]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 4);
        assert_eq!(render(Format::Json, &[]), "[]\n");
        let nd = render(Format::Ndjson, &[batch()]);
        assert_eq!(nd.lines().count(), 2);
        assert!(nd.starts_with("{\"id\":1,\"name\":\"O'Brien, Ltd\"}"));
    }

    #[test]
    fn table_shows_nulls_and_truncation_note() {
        let mut out = Vec::new();
        let mut p = Printer::new(Format::Table, &mut out, batch().schema(), 1);
        p.write(&batch()).unwrap();
        assert_eq!(p.finish().unwrap(), 2);
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("O'Brien, Ltd"), "{s}");
        assert!(s.contains("showing the first 1 of 2 rows"), "{s}");
    }
}
