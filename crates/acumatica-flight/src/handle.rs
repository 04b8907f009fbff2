//! Opaque handles: the SQL text of a prepared statement plus its bound parameters (one row,
//! as Arrow IPC), so the server keeps no per-client state.

use std::io::Cursor;

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::common::ScalarValue;
use tonic::Status;

const MAGIC: &[u8; 4] = b"AQS1";

/// A prepared statement: SQL and, once bound, one row of parameter values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PreparedHandle {
    pub sql: String,
    pub params: Option<RecordBatch>,
}

impl PreparedHandle {
    pub fn encode(&self) -> Result<Bytes, Status> {
        let mut out = Vec::with_capacity(self.sql.len() + 16);
        out.extend_from_slice(MAGIC);
        let len = u32::try_from(self.sql.len())
            .map_err(|_| Status::invalid_argument("statement is too long"))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(self.sql.as_bytes());
        if let Some(batch) = &self.params {
            let mut w = StreamWriter::try_new(&mut out, &batch.schema())
                .map_err(|e| Status::internal(format!("cannot encode parameters: {e}")))?;
            w.write(batch)
                .and_then(|_| w.finish())
                .map_err(|e| Status::internal(format!("cannot encode parameters: {e}")))?;
        }
        Ok(out.into())
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, Status> {
        let bad = || Status::invalid_argument("unknown prepared statement handle");
        let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(bad)?;
        let len_bytes: [u8; 4] = rest
            .get(..4)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?;
        let len = u32::from_le_bytes(len_bytes) as usize;
        let sql = rest.get(4..4 + len).ok_or_else(bad)?;
        let sql = std::str::from_utf8(sql).map_err(|_| bad())?.to_string();
        let tail = &rest[4 + len..];
        let params = if tail.is_empty() {
            None
        } else {
            let reader = StreamReader::try_new(Cursor::new(tail), None).map_err(|_| bad())?;
            let mut batches = reader.collect::<Result<Vec<_>, _>>().map_err(|_| bad())?;
            batches.pop()
        };
        Ok(Self { sql, params })
    }

    /// The bound values of the first row, in parameter order (`$1`, `$2`, …).
    pub fn values(&self) -> Result<Vec<ScalarValue>, Status> {
        let Some(batch) = &self.params else {
            return Ok(Vec::new());
        };
        if batch.num_rows() != 1 {
            return Err(Status::invalid_argument(format!(
                "bind exactly one row of parameters (got {})",
                batch.num_rows()
            )));
        }
        batch
            .columns()
            .iter()
            .map(|c| {
                ScalarValue::try_from_array(c, 0)
                    .map_err(|e| Status::invalid_argument(format!("bad parameter value: {e}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn round_trips_sql_and_parameters() {
        let plain = PreparedHandle {
            sql: "SELECT 1 WHERE 'a;b' = $1".into(),
            params: None,
        };
        assert_eq!(
            PreparedHandle::decode(&plain.encode().unwrap()).unwrap(),
            plain
        );
        let schema = Arc::new(Schema::new(vec![
            Field::new("$1", DataType::Int64, true),
            Field::new("$2", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![7])),
                Arc::new(StringArray::from(vec!["O'Brien"])),
            ],
        )
        .unwrap();
        let bound = PreparedHandle {
            sql: plain.sql.clone(),
            params: Some(batch),
        };
        let again = PreparedHandle::decode(&bound.encode().unwrap()).unwrap();
        assert_eq!(again, bound);
        assert_eq!(
            again.values().unwrap(),
            vec![
                ScalarValue::Int64(Some(7)),
                ScalarValue::Utf8(Some("O'Brien".into()))
            ]
        );
        assert!(PreparedHandle::decode(b"garbage").is_err());
    }
}
