//! SQL cursors: `DECLARE name [BINARY] CURSOR [WITH HOLD] FOR query`, `FETCH [FORWARD] n |
//! NEXT | ALL FROM name`, `CLOSE name | ALL`. psycopg's named cursors, SQLAlchemy's
//! `stream_results` and psqlODBC's `UseDeclareFetch` read large results with them, a piece at
//! a time.
//!
//! The query starts at DECLARE. Each FETCH sends the next rows as the scan produces them, in
//! the FETCH's own result format, and the scan waits between fetches (its stream is not read).
//! Cursors move forward only: `SCROLL`, `BACKWARD`, `PRIOR`, `ABSOLUTE` and `MOVE` are
//! refused. As in Postgres, a cursor without `WITH HOLD` closes at COMMIT or ROLLBACK. Unlike
//! Postgres, a DECLARE outside a transaction block is accepted; the cursor then lives until
//! CLOSE or the end of the connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::DataFrame;
use futures::{StreamExt, stream};
use pgwire::api::portal::Format;
use pgwire::api::results::QueryResponse;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::types::format::FormatOptions;
use tokio_util::sync::CancellationToken;

use crate::datarow::RowEncoder;
use crate::{encode, error};

/// One declared cursor.
pub(crate) struct Cursor {
    pub(crate) schema: SchemaRef,
    /// Declared `BINARY`: its rows are binary in the simple query protocol.
    pub(crate) binary: bool,
    /// Declared `WITH HOLD`: it outlives the transaction.
    hold: bool,
    rows: tokio::sync::Mutex<Rows>,
}

/// Where the cursor stands: the query's stream, and rows taken from it but not yet sent.
struct Rows {
    batches: SendableRecordBatchStream,
    pending: Option<RecordBatch>,
}

impl Cursor {
    /// Starts `df`: its rows wait for FETCH.
    pub(crate) async fn start(
        df: DataFrame,
        binary: bool,
        hold: bool,
        cancel: &CancellationToken,
        shutting_down: bool,
    ) -> PgWireResult<Self> {
        let batches = tokio::select! {
            s = df.execute_stream() => s.map_err(error::from_datafusion)?,
            () = cancel.cancelled() => return Err(error::cancelled(shutting_down)),
        };
        Ok(Self {
            schema: batches.schema(),
            binary,
            hold,
            rows: tokio::sync::Mutex::new(Rows {
                batches,
                pending: None,
            }),
        })
    }
}

impl Rows {
    /// The next at most `at_most` rows (a batch, or the start of one), or `None` at the end.
    async fn next(&mut self, at_most: usize) -> Option<PgWireResult<RecordBatch>> {
        loop {
            let batch = match self.pending.take() {
                Some(b) => b,
                None => match self.batches.next().await? {
                    Ok(b) => b,
                    Err(e) => return Some(Err(error::from_datafusion(e))),
                },
            };
            if batch.num_rows() == 0 {
                continue;
            }
            if batch.num_rows() > at_most {
                self.pending = Some(batch.slice(at_most, batch.num_rows() - at_most));
                return Some(Ok(batch.slice(0, at_most)));
            }
            return Some(Ok(batch));
        }
    }
}

/// The cursors of one connection, by name.
#[derive(Default)]
pub(crate) struct Cursors(Mutex<HashMap<String, Arc<Cursor>>>);

fn not_found(name: &str) -> PgWireError {
    error::user_error("34000", format!("cursor \"{name}\" does not exist"))
}

impl Cursors {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Cursor>>> {
        // A panic while the lock was held left the map itself intact.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn declare(&self, name: &str, cursor: Cursor) -> PgWireResult<()> {
        let mut map = self.map();
        if map.contains_key(name) {
            return Err(error::user_error(
                "42P03",
                format!("cursor \"{name}\" already exists"),
            ));
        }
        map.insert(name.to_owned(), Arc::new(cursor));
        Ok(())
    }

    pub(crate) fn get(&self, name: &str) -> PgWireResult<Arc<Cursor>> {
        self.find(name).ok_or_else(|| not_found(name))
    }

    pub(crate) fn find(&self, name: &str) -> Option<Arc<Cursor>> {
        self.map().get(name).cloned()
    }

    /// `CLOSE name`, or `CLOSE ALL` with `None`. Closing stops the cursor's scan.
    pub(crate) fn close(&self, name: Option<&str>) -> PgWireResult<()> {
        let mut map = self.map();
        match name {
            None => map.clear(),
            Some(name) => {
                map.remove(name).ok_or_else(|| not_found(name))?;
            }
        }
        Ok(())
    }

    /// COMMIT or ROLLBACK: the cursors without `WITH HOLD` close.
    pub(crate) fn end_transaction(&self) {
        self.map().retain(|_, c| c.hold);
    }
}

/// `FETCH`: the next `count` rows of `cursor` (all with `None`), encoded as they come in
/// `format`. A BINARY cursor sends binary rows to the simple protocol (whose format is text);
/// in the extended protocol the FETCH's own formats decide.
pub(crate) fn fetch(
    cursor: Arc<Cursor>,
    count: Option<u64>,
    format: &Format,
    options: Arc<FormatOptions>,
) -> PgWireResult<QueryResponse> {
    let format = match format {
        Format::UnifiedText if cursor.binary => &Format::UnifiedBinary,
        other => other,
    };
    let fields = Arc::new(encode::fields(&cursor.schema, format, options)?);
    let encoder = RowEncoder::new(&cursor.schema, fields.clone());
    let remaining = count.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let rows = stream::unfold(
        (cursor, remaining, encoder),
        |(cursor, remaining, encoder)| async move {
            if remaining == 0 {
                return None;
            }
            let next = cursor.rows.lock().await.next(remaining).await?;
            let (rows, remaining) = match next {
                Ok(batch) => (encoder.encode(&batch), remaining - batch.num_rows()),
                // An error ends this fetch (the cursor stays, at its end).
                Err(e) => (vec![Err(e)], 0),
            };
            Some((stream::iter(rows), (cursor, remaining, encoder)))
        },
    )
    .flatten();
    let mut response = QueryResponse::new(fields, rows);
    response.set_command_tag("FETCH");
    Ok(response)
}
