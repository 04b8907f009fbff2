//! `COPY (SELECT …) TO STDOUT` and `COPY table TO STDOUT`: a result sent to the client as
//! Postgres' text or CSV format, what psql's `\copy … TO 'file.csv' CSV HEADER` and psycopg's
//! `cursor.copy()` read. The client writes the file, so this is no file access on the server;
//! `COPY` to or from a server file or program stays refused (42501), and `COPY … FROM STDIN`
//! is not supported (writes go through `INSERT`).
//!
//! The formats follow PostgreSQL's `COPY TO`: one CopyData message per row, values in their
//! text form (the same as in DataRows), NULL as `\N` (text) or nothing (CSV), text escapes
//! with backslashes, CSV quotes a value that holds the delimiter, the quote, a line break, or
//! equals the NULL string.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use datafusion::prelude::DataFrame;
use datafusion::sql::sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, Ident, Query,
};
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use pgwire::api::portal::Format;
use pgwire::error::PgWireResult;
use pgwire::messages::data::DataRow;
use pgwire::types::format::FormatOptions;
use tokio_util::sync::CancellationToken;

use crate::datarow::RowEncoder;
use crate::{encode, error};

/// How rows are written: PostgreSQL's `COPY` options that apply to `COPY TO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopyOptions {
    csv: bool,
    delimiter: u8,
    null: Vec<u8>,
    header: bool,
    quote: u8,
    escape: u8,
    force_quote: Vec<String>,
}

impl CopyOptions {
    fn new(csv: bool) -> Self {
        Self {
            csv,
            delimiter: if csv { b',' } else { b'\t' },
            null: if csv { Vec::new() } else { b"\\N".to_vec() },
            header: false,
            quote: b'"',
            escape: b'"',
            force_quote: Vec::new(),
        }
    }
}

/// What a `COPY` statement copies out.
#[derive(Debug)]
pub(crate) enum CopyQuery {
    /// `COPY (SELECT …) TO STDOUT`.
    Query(Box<Query>),
    /// `COPY table [(columns)] TO STDOUT`: the SQL of the equivalent `SELECT`.
    Table(String),
}

/// The query and options of a `COPY … TO STDOUT`; a refusal for any other `COPY`.
pub(crate) fn copy_out(
    source: CopySource,
    to: bool,
    target: &CopyTarget,
    options: &[CopyOption],
    legacy: &[CopyLegacyOption],
) -> PgWireResult<(CopyQuery, CopyOptions)> {
    match (to, target) {
        (true, CopyTarget::Stdout) => {}
        (false, CopyTarget::Stdin) => {
            return Err(error::user_error(
                "0A000",
                "COPY FROM STDIN is not supported: write rows with INSERT (on a server started with --allow-writes)",
            ));
        }
        _ => {
            return Err(error::user_error(
                "42501",
                "not allowed on this server: COPY to or from a server file or program (clients cannot read or write files on the server); use COPY … TO STDOUT, or psql's \\copy",
            ));
        }
    }
    let query = match source {
        CopySource::Query(q) => CopyQuery::Query(q),
        CopySource::Table {
            table_name,
            columns,
        } => {
            let columns = if columns.is_empty() {
                "*".to_string()
            } else {
                columns
                    .iter()
                    .map(Ident::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            CopyQuery::Table(format!("SELECT {columns} FROM {table_name}"))
        }
    };
    Ok((query, parse_options(options, legacy)?))
}

fn unsupported(what: impl std::fmt::Display) -> pgwire::error::PgWireError {
    error::user_error(
        "0A000",
        format!("COPY {what} is not supported here (COPY … TO STDOUT writes text or CSV)"),
    )
}

fn one_byte(c: char, what: &str) -> PgWireResult<u8> {
    u8::try_from(c)
        .ok()
        .filter(|b| b.is_ascii() && !matches!(b, b'\r' | b'\n'))
        .ok_or_else(|| {
            error::user_error(
                "22023",
                format!("COPY {what} must be a single one-byte character"),
            )
        })
}

fn parse_options(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> PgWireResult<CopyOptions> {
    // The format first: it decides the defaults of the others.
    let mut csv = false;
    for o in options {
        if let CopyOption::Format(f) = o {
            match f.value.to_ascii_lowercase().as_str() {
                "text" => csv = false,
                "csv" => csv = true,
                "binary" => return Err(unsupported("(FORMAT binary)")),
                other => {
                    return Err(error::user_error(
                        "22023",
                        format!("COPY format \"{other}\" not recognized"),
                    ));
                }
            }
        }
    }
    if legacy.iter().any(|o| matches!(o, CopyLegacyOption::Csv(_))) {
        csv = true;
    }
    let mut out = CopyOptions::new(csv);
    let mut escape = None;
    for o in options {
        match o {
            CopyOption::Format(_) => {}
            CopyOption::Delimiter(c) => out.delimiter = one_byte(*c, "delimiter")?,
            CopyOption::Null(s) => out.null = s.as_bytes().to_vec(),
            CopyOption::Header(h) => out.header = *h,
            CopyOption::Quote(c) => out.quote = one_byte(*c, "quote")?,
            CopyOption::Escape(c) => escape = Some(one_byte(*c, "escape")?),
            CopyOption::ForceQuote(cols) => {
                out.force_quote.extend(cols.iter().map(|c| c.value.clone()));
            }
            CopyOption::Encoding(e) => {
                if !matches!(
                    e.to_ascii_uppercase().as_str(),
                    "UTF8" | "UTF-8" | "UNICODE"
                ) {
                    return Err(unsupported(format_args!("ENCODING '{e}' (only UTF8)")));
                }
            }
            other => return Err(unsupported(format_args!("option {other} with TO"))),
        }
    }
    for o in legacy {
        match o {
            CopyLegacyOption::Binary => return Err(unsupported("BINARY")),
            CopyLegacyOption::Delimiter(c) => out.delimiter = one_byte(*c, "delimiter")?,
            CopyLegacyOption::Null(s) => out.null = s.as_bytes().to_vec(),
            CopyLegacyOption::Header => out.header = true,
            CopyLegacyOption::Csv(csv_options) => {
                for c in csv_options {
                    match c {
                        CopyLegacyCsvOption::Header => out.header = true,
                        CopyLegacyCsvOption::Quote(q) => out.quote = one_byte(*q, "quote")?,
                        CopyLegacyCsvOption::Escape(e) => escape = Some(one_byte(*e, "escape")?),
                        CopyLegacyCsvOption::ForceQuote(cols) => {
                            out.force_quote.extend(cols.iter().map(|c| c.value.clone()));
                        }
                        other => return Err(unsupported(format_args!("option {other} with TO"))),
                    }
                }
            }
            other => return Err(unsupported(format_args!("option {other}"))),
        }
    }
    out.escape = escape.unwrap_or(out.quote);
    if !csv && (out.quote != b'"' || escape.is_some() || !out.force_quote.is_empty()) {
        return Err(error::user_error(
            "0A000",
            "COPY QUOTE, ESCAPE and FORCE_QUOTE apply only to CSV",
        ));
    }
    if csv && out.delimiter == out.quote {
        return Err(error::user_error(
            "22023",
            "COPY delimiter and quote must be different",
        ));
    }
    if out.null.contains(&out.delimiter) {
        return Err(error::user_error(
            "22023",
            "COPY delimiter must not appear in the NULL specification",
        ));
    }
    Ok(out)
}

/// A result as `COPY` lines: the header (if asked for), then one line per row.
pub(crate) struct CopyOut {
    pub(crate) columns: usize,
    pub(crate) header: Option<Bytes>,
    pub(crate) lines: BoxStream<'static, PgWireResult<Bytes>>,
}

/// Starts `df` and returns its rows as `COPY` lines, encoded a batch at a time as they are
/// sent.
pub(crate) async fn copy_out_response(
    df: DataFrame,
    options: Arc<CopyOptions>,
    format_options: Arc<FormatOptions>,
    cancel: CancellationToken,
    shutting_down: bool,
) -> PgWireResult<CopyOut> {
    let schema = df.schema().as_arrow().clone();
    let fields = Arc::new(encode::fields(
        &schema,
        &Format::UnifiedText,
        format_options,
    )?);
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    for column in &options.force_quote {
        if !names.contains(&column.as_str()) {
            return Err(error::user_error(
                "42703",
                format!("FORCE_QUOTE column \"{column}\" is not in the result"),
            ));
        }
    }
    let forced: Arc<[bool]> = names
        .iter()
        .map(|n| options.force_quote.iter().any(|c| c == n))
        .collect();
    let header = options.header.then(|| {
        let mut line = BytesMut::new();
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                line.put_u8(options.delimiter);
            }
            options.value(&mut line, name.as_bytes(), false, names.len() == 1);
        }
        line.put_u8(b'\n');
        line.freeze()
    });
    let batches = tokio::select! {
        s = df.execute_stream() => s.map_err(error::from_datafusion)?,
        () = cancel.cancelled() => return Err(error::cancelled(shutting_down)),
    };
    let encoder = RowEncoder::new(&schema, fields);
    let lines = batches
        .map_err(error::from_datafusion)
        .map_ok(move |batch| {
            let rows = encoder.encode(&batch);
            let options = options.clone();
            let forced = forced.clone();
            stream::iter(
                rows.into_iter()
                    .map(move |row| Ok(options.line(&row?, &forced).freeze())),
            )
        })
        .try_flatten()
        .boxed();
    Ok(CopyOut {
        columns: schema.fields().len(),
        header,
        lines,
    })
}

impl CopyOptions {
    /// One row of text values (as in a DataRow of text format) as a `COPY` line.
    fn line(&self, row: &DataRow, forced: &[bool]) -> BytesMut {
        let mut line = BytesMut::with_capacity(row.data.len() + 16);
        let mut data = &row.data[..];
        let single = forced.len() == 1;
        for (i, &force) in forced.iter().enumerate() {
            if i > 0 {
                line.put_u8(self.delimiter);
            }
            let len = i32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            data = &data[4..];
            match usize::try_from(len) {
                Err(_) => line.put_slice(&self.null),
                Ok(len) => {
                    self.value(&mut line, &data[..len], force, single);
                    data = &data[len..];
                }
            }
        }
        line.put_u8(b'\n');
        line
    }

    fn value(&self, out: &mut BytesMut, v: &[u8], force: bool, single: bool) {
        if self.csv {
            self.csv_value(out, v, force, single);
        } else {
            self.text_value(out, v);
        }
    }

    /// Text format: backslash escapes for the backslash, the delimiter and control
    /// characters, so that every row is one line. Runs without them are copied whole.
    fn text_value(&self, out: &mut BytesMut, v: &[u8]) {
        let special = |b: &u8| *b < 0x20 || *b == b'\\' || *b == self.delimiter;
        let mut rest = v;
        while let Some(at) = rest.iter().position(special) {
            out.put_slice(&rest[..at]);
            let b = rest[at];
            let escaped = match b {
                b'\n' => Some(b'n'),
                b'\r' => Some(b'r'),
                b'\t' => Some(b't'),
                0x08 => Some(b'b'),
                0x0c => Some(b'f'),
                0x0b => Some(b'v'),
                b'\\' => Some(b'\\'),
                d if d == self.delimiter => Some(d),
                // Other control characters are written as they are, as Postgres does.
                _ => None,
            };
            if let Some(letter) = escaped {
                out.put_u8(b'\\');
                out.put_u8(letter);
            } else {
                out.put_u8(b);
            }
            rest = &rest[at + 1..];
        }
        out.put_slice(rest);
    }

    /// CSV: quoted when forced, when equal to the NULL string (so `""` is an empty string and
    /// nothing is NULL), when it holds the delimiter, the quote or a line break, or when it is
    /// `\.` alone on a line; inside quotes the quote and escape characters are escaped.
    fn csv_value(&self, out: &mut BytesMut, v: &[u8], force: bool, single: bool) {
        let quote = force
            || v == self.null.as_slice()
            || (single && v == b"\\.")
            || v.iter()
                .any(|&b| b == self.delimiter || b == self.quote || b == b'\n' || b == b'\r');
        if !quote {
            out.put_slice(v);
            return;
        }
        out.put_u8(self.quote);
        for &b in v {
            if b == self.quote || b == self.escape {
                out.put_u8(self.escape);
            }
            out.put_u8(b);
        }
        out.put_u8(self.quote);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[Option<&str>]) -> DataRow {
        let mut data = BytesMut::new();
        for v in values {
            match v {
                None => data.put_i32(-1),
                Some(v) => {
                    data.put_i32(v.len() as i32);
                    data.put_slice(v.as_bytes());
                }
            }
        }
        DataRow::new(data, values.len() as i16)
    }

    fn line(options: &CopyOptions, values: &[Option<&str>]) -> String {
        let forced = vec![false; values.len()];
        String::from_utf8(options.line(&row(values), &forced).to_vec()).unwrap()
    }

    #[test]
    fn text_format_escapes_as_postgres() {
        let text = CopyOptions::new(false);
        assert_eq!(
            line(
                &text,
                &[Some("a\tb"), None, Some("back\\slash\nnew\rline"), Some("")]
            ),
            "a\\tb\t\\N\tback\\\\slash\\nnew\\rline\t\n"
        );
        let pipes = CopyOptions {
            delimiter: b'|',
            ..CopyOptions::new(false)
        };
        assert_eq!(line(&pipes, &[Some("a|b"), Some("c\td")]), "a\\|b|c\\td\n");
        // Control characters without a letter are written as they are.
        assert_eq!(line(&text, &[Some("bell\x07\x0b")]), "bell\x07\\v\n");
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_keeps_empty_apart_from_null() {
        let csv = CopyOptions::new(true);
        assert_eq!(
            line(
                &csv,
                &[
                    Some("plain"),
                    Some(""),
                    None,
                    Some("O'Brien, \"Bob\""),
                    Some("two\nlines")
                ]
            ),
            "plain,\"\",,\"O'Brien, \"\"Bob\"\"\",\"two\nlines\"\n"
        );
        assert_eq!(line(&csv, &[Some("\\.")]), "\"\\.\"\n");
        assert_eq!(line(&csv, &[Some("\\."), Some("x")]), "\\.,x\n");
    }
}
