//! Result output: aligned tables for people, CSV / JSON / NDJSON for pipes.

use std::io::Write;

use anyhow::Result;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::json::writer::{JsonArray, LineDelimited};
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

/// Whether a table is printed one column per line (psql's `\x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expanded {
    Off,
    On,
    /// Expanded when the aligned table would be wider than the terminal.
    Auto,
}

impl Expanded {
    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::On => "on",
            Self::Auto => "auto",
        }
    }
}

/// How a table is laid out: expanded or not, for a terminal of `width` columns (`None`: not a
/// terminal, or one whose size is unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub expanded: Expanded,
    pub width: Option<usize>,
}

impl Layout {
    /// The layout for standard output as it is now.
    pub fn for_stdout(expanded: Expanded) -> Self {
        Self {
            expanded,
            width: console::Term::stdout()
                .size_checked()
                .map(|(_, cols)| usize::from(cols)),
        }
    }
}

/// Where the rows go, per format.
enum Sink<W: Write> {
    /// Table mode keeps rows until the end to align columns (bounded by `max_rows`).
    Table {
        out: W,
        rows: Vec<Vec<String>>,
    },
    // Boxed: the CSV writer is large beside the others.
    Csv(Box<arrow::csv::Writer<W>>),
    Json(arrow::json::Writer<W, JsonArray>),
    Ndjson(arrow::json::Writer<W, LineDelimited>),
}

/// Writes batches as they arrive, in one format, to one sink.
pub struct Printer<W: Write> {
    sink: Sink<W>,
    schema: SchemaRef,
    layout: Layout,
    max_rows: usize,
    rows: usize,
    csv_started: bool,
}

impl<W: Write> Printer<W> {
    pub fn new(format: Format, out: W, schema: SchemaRef, max_rows: usize) -> Self {
        // JSON consumers expect every key, `null` included.
        let json = arrow::json::WriterBuilder::new().with_explicit_nulls(true);
        let sink = match format {
            Format::Table => Sink::Table {
                out,
                rows: Vec::new(),
            },
            Format::Csv => Sink::Csv(Box::new(arrow::csv::WriterBuilder::new().build(out))),
            Format::Json => Sink::Json(json.build(out)),
            Format::Ndjson => Sink::Ndjson(json.build(out)),
        };
        Self {
            sink,
            schema,
            layout: Layout {
                expanded: Expanded::Off,
                width: None,
            },
            max_rows,
            rows: 0,
            csv_started: false,
        }
    }

    /// Lays tables out this way (the default: aligned, no terminal).
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows();
        match &mut self.sink {
            Sink::Table { rows, .. } => {
                let room = self.max_rows.saturating_sub(rows.len());
                if room > 0 {
                    let take = room.min(batch.num_rows());
                    rows.extend(format_rows(&batch.slice(0, take))?);
                }
            }
            Sink::Csv(w) => {
                w.write(batch)?;
                self.csv_started = true;
            }
            Sink::Json(w) => w.write(batch)?,
            Sink::Ndjson(w) => w.write(batch)?,
        }
        Ok(())
    }

    /// Ends the output: prints the table, closes the JSON array, writes a CSV header for an
    /// empty result. Returns the number of rows.
    pub fn finish(self) -> Result<usize> {
        match self.sink {
            Sink::Table { mut out, rows } => {
                let names: Vec<&str> = self
                    .schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect();
                let expanded = match self.layout.expanded {
                    Expanded::On => true,
                    Expanded::Off => false,
                    Expanded::Auto => self
                        .layout
                        .width
                        .is_some_and(|w| natural_width(&names, &rows) > w),
                };
                if expanded {
                    write_expanded(&mut out, &names, &rows, self.layout.width)?;
                } else {
                    let numeric: Vec<bool> = self
                        .schema
                        .fields()
                        .iter()
                        .map(|f| f.data_type().is_numeric())
                        .collect();
                    write_table(&mut out, &names, &numeric, rows)?;
                }
                if self.rows > self.max_rows {
                    writeln!(
                        out,
                        "(showing the first {} of {} rows; use LIMIT or \\format csv to see all)",
                        self.max_rows, self.rows
                    )?;
                }
                out.flush()?;
            }
            Sink::Csv(mut w) => {
                if !self.csv_started {
                    // An empty result still has its header line.
                    w.write(&RecordBatch::new_empty(self.schema.clone()))?;
                }
                w.into_inner().flush()?;
            }
            Sink::Json(mut w) => {
                w.finish()?;
                let mut out = w.into_inner();
                out.write_all(b"\n")?;
                out.flush()?;
            }
            Sink::Ndjson(mut w) => {
                w.finish()?;
                w.into_inner().flush()?;
            }
        }
        Ok(self.rows)
    }
}

/// The aligned table fitted to the terminal.
fn write_table(
    out: &mut impl Write,
    names: &[&str],
    numeric: &[bool],
    rows: Vec<Vec<String>>,
) -> Result<()> {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    // Fit a real terminal; an unknown or tiny width (pipes, bare ptys) must not squeeze every
    // column to one character.
    let arrangement = if table.width().is_some_and(|w| w >= 40) {
        ContentArrangement::Dynamic
    } else {
        ContentArrangement::Disabled
    };
    table.set_content_arrangement(arrangement);
    table.set_header(names.iter().map(Cell::new));
    for (i, numeric) in numeric.iter().enumerate() {
        if *numeric && let Some(col) = table.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    for row in rows {
        table.add_row(row);
    }
    writeln!(out, "{table}")?;
    Ok(())
}

/// The width of the aligned table with no column squeezed: each column as wide as its widest
/// cell, plus borders and padding.
fn natural_width(names: &[&str], rows: &[Vec<String>]) -> usize {
    let widths = names.iter().enumerate().map(|(i, name)| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .flat_map(|v| v.lines())
            .map(console::measure_text_width)
            .chain([console::measure_text_width(name)])
            .max()
            .unwrap_or(0)
    });
    widths.map(|w| w + 3).sum::<usize>() + 1
}

/// One column per line, as psql's expanded display:
///
/// ```text
/// -[ RECORD 1 ]+-----------
/// CustomerID   | ABARTENDE
/// ```
fn write_expanded(
    out: &mut impl Write,
    names: &[&str],
    rows: &[Vec<String>],
    width: Option<usize>,
) -> Result<()> {
    if rows.is_empty() {
        writeln!(out, "(no rows)")?;
        return Ok(());
    }
    let name_width = names
        .iter()
        .map(|n| console::measure_text_width(n))
        .max()
        .unwrap_or(0);
    let widest = rows
        .iter()
        .flatten()
        .flat_map(|v| v.lines())
        .map(console::measure_text_width)
        .max()
        .unwrap_or(0);
    // The rule under the record header spans the values, but not past the terminal's edge.
    let value_width = match width {
        Some(w) => widest.min(w.saturating_sub(name_width + 3)).max(1),
        None => widest.max(1),
    };
    for (n, row) in rows.iter().enumerate() {
        // As psql: the `+` sits above the `|` when the record title fits the names' column.
        let title = format!("-[ RECORD {} ]", n + 1);
        let total = name_width + 3 + value_width;
        if title.len() <= name_width {
            let left = "-".repeat(name_width + 1 - title.len());
            writeln!(out, "{title}{left}+{}", "-".repeat(value_width + 1))?;
        } else {
            let fill = "-".repeat(total.saturating_sub(title.len()));
            writeln!(out, "{title}{fill}")?;
        }
        for (name, value) in names.iter().zip(row) {
            let pad = name_width - console::measure_text_width(name);
            let mut lines = value.lines();
            let first = lines.next().unwrap_or("");
            writeln!(out, "{name}{} | {first}", " ".repeat(pad))?;
            for more in lines {
                writeln!(out, "{} | {more}", " ".repeat(name_width))?;
            }
        }
    }
    Ok(())
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
    fn json_and_ndjson_keep_null_keys() {
        let nd = render(Format::Ndjson, &[batch()]);
        assert_eq!(nd.lines().nth(1), Some("{\"id\":null,\"name\":null}"));
        let v: serde_json::Value = serde_json::from_str(&render(Format::Json, &[batch()])).unwrap();
        assert_eq!(v[1], serde_json::json!({"id": null, "name": null}));
    }

    fn table(layout: Layout) -> String {
        let mut out = Vec::new();
        let mut p =
            Printer::new(Format::Table, &mut out, batch().schema(), 100).with_layout(layout);
        p.write(&batch()).unwrap();
        p.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn expanded_display_prints_one_column_per_line() {
        let s = table(Layout {
            expanded: Expanded::On,
            width: None,
        });
        assert_eq!(
            s,
            "-[ RECORD 1 ]------\n\
             id   | 1\n\
             name | O'Brien, Ltd\n\
             -[ RECORD 2 ]------\n\
             id   | NULL\n\
             name | NULL\n"
        );
    }

    #[test]
    fn expanded_rule_marks_the_column_when_the_names_are_long() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "a_rather_long_name",
            DataType::Int32,
            true,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int32Array::from(vec![7]))])
            .unwrap();
        let mut out = Vec::new();
        let mut p = Printer::new(Format::Table, &mut out, schema, 10).with_layout(Layout {
            expanded: Expanded::On,
            width: Some(80),
        });
        p.write(&batch).unwrap();
        p.finish().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "-[ RECORD 1 ]------+--\na_rather_long_name | 7\n"
        );
    }

    #[test]
    fn auto_expands_only_what_does_not_fit() {
        let auto = |width| {
            table(Layout {
                expanded: Expanded::Auto,
                width,
            })
        };
        // The aligned table is 23 columns wide.
        assert!(
            auto(Some(80)).contains("┆ O'Brien, Ltd"),
            "{}",
            auto(Some(80))
        );
        assert!(
            auto(Some(20)).starts_with("-[ RECORD 1 ]"),
            "{}",
            auto(Some(20))
        );
        // Not a terminal: never expanded automatically.
        assert!(!auto(None).contains("RECORD"));
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
