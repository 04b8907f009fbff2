//! Results as Postgres rows, streamed batch by batch: a batch is encoded only when the client
//! has taken the previous one (the socket's write buffer applies back-pressure), so a client
//! reading a million rows keeps the server's memory bounded.

use std::sync::Arc;

use arrow_pg::datatypes::arrow_schema_to_pg_fields;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::prelude::DataFrame;
use futures::{StreamExt, stream};
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldInfo, QueryResponse};
use pgwire::error::PgWireResult;
use pgwire::messages::data::DataRow;
use pgwire::types::format::FormatOptions;
use tokio_util::sync::CancellationToken;

use crate::datarow::RowEncoder;
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
        .map(|(info, field)| match numeric_typmod(field.data_type()) {
            Some(typmod) => info.with_type_modifier(typmod),
            None => info,
        })
        .collect())
}

/// The Postgres type modifier of `numeric(p, s)` for a decimal type.
pub(crate) fn numeric_typmod(data_type: &DataType) -> Option<i32> {
    match data_type {
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) if *s >= 0 => {
            Some(((i32::from(*p) << 16) | i32::from(*s)) + 4)
        }
        _ => None,
    }
}

/// Starts `df` and returns its rows as a lazily-encoded stream: a batch is encoded when the
/// sender asks for its first row (see `results`, which also watches for a cancel).
pub(crate) async fn query_response(
    df: DataFrame,
    format: &Format,
    options: Arc<FormatOptions>,
    cancel: CancellationToken,
    shutting_down: bool,
) -> PgWireResult<QueryResponse> {
    let schema = df.schema().as_arrow().clone();
    let fields = Arc::new(fields(&schema, format, options)?);
    let batches = tokio::select! {
        s = df.execute_stream() => s.map_err(error::from_datafusion)?,
        () = cancel.cancelled() => return Err(error::cancelled(shutting_down)),
    };
    let encoder = RowEncoder::new(&schema, fields.clone());
    let rows = batches
        .map(move |batch| -> Vec<PgWireResult<DataRow>> {
            match batch {
                Ok(b) => encoder.encode(&b),
                Err(e) => vec![Err(error::from_datafusion(e))],
            }
        })
        .flat_map(stream::iter);
    Ok(QueryResponse::new(fields, rows))
}
