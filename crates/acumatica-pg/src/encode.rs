//! Results as Postgres rows, streamed batch by batch: a batch is encoded only when the client
//! has taken the previous one (the socket's write buffer applies back-pressure), so a client
//! reading a million rows keeps the server's memory bounded; a cancelled statement stops at
//! the next batch and drops its scan.

use std::sync::Arc;

use arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::prelude::DataFrame;
use futures::{Stream, StreamExt, stream};
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldInfo, QueryResponse};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use pgwire::types::format::FormatOptions;
use tokio_util::sync::CancellationToken;

use crate::cancel::Cancels;
use crate::error;

/// The row description of a result: Postgres types, and for decimals the `numeric(p, s)`
/// modifier, so clients know the scale (ODBC's `SQL_DECIMAL` with its digits, JDBC's
/// `getScale`).
pub(crate) fn fields(
    schema: &Schema,
    format: &Format,
    options: Arc<FormatOptions>,
) -> PgWireResult<Vec<FieldInfo>> {
    let fields = arrow_schema_to_pg_fields(schema, format, Some(options))?;
    Ok(fields
        .into_iter()
        .zip(schema.fields())
        .map(|(info, field)| match field.data_type() {
            DataType::Decimal128(p, s) if *s >= 0 => {
                info.with_type_modifier(((i32::from(*p) << 16) | i32::from(*s)) + 4)
            }
            _ => info,
        })
        .collect())
}

/// Starts `df` and returns its rows as a lazily-encoded stream that ends with an error when
/// `cancel` fires.
pub(crate) async fn query_response(
    df: DataFrame,
    format: &Format,
    options: Arc<FormatOptions>,
    cancel: CancellationToken,
    cancels: Arc<Cancels>,
) -> PgWireResult<QueryResponse> {
    let schema = df.schema().as_arrow().clone();
    let fields = Arc::new(fields(&schema, format, options)?);
    let batches = tokio::select! {
        s = df.execute_stream() => s.map_err(error::from_datafusion)?,
        () = cancel.cancelled() => return Err(error::cancelled(cancels.is_shutting_down())),
    };
    let batches = until_cancelled(batches, cancel, cancels);
    let encoded = fields.clone();
    let rows = batches
        .map(
            move |batch| -> Box<dyn Iterator<Item = PgWireResult<DataRow>> + Send + Sync> {
                match batch {
                    Ok(b) => encode_recordbatch(encoded.clone(), b),
                    Err(e) => Box::new(std::iter::once(Err(e))),
                }
            },
        )
        .flat_map(stream::iter);
    Ok(QueryResponse::new(fields, rows))
}

/// The batches of `batches` until `cancel` fires; then one error, and the scan is dropped.
fn until_cancelled<S>(
    batches: S,
    cancel: CancellationToken,
    cancels: Arc<Cancels>,
) -> impl Stream<Item = PgWireResult<RecordBatch>> + Send
where
    S: Stream<Item = datafusion::error::Result<RecordBatch>> + Send + Unpin + 'static,
{
    stream::unfold(Some((batches, cancel, cancels)), |state| async move {
        let (mut batches, cancel, cancels) = state?;
        tokio::select! {
            biased;
            () = cancel.cancelled() => {
                let e = error::cancelled(cancels.is_shutting_down());
                Some((Err::<RecordBatch, PgWireError>(e), None))
            }
            next = batches.next() => match next {
                Some(Ok(b)) => Some((Ok(b), Some((batches, cancel, cancels)))),
                Some(Err(e)) => Some((Err(error::from_datafusion(e)), None)),
                None => None,
            },
        }
    })
}
