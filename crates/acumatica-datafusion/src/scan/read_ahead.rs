//! A page requested ahead of need, as a task that is cancelled when dropped (the stream ended
//! or was dropped), so no request outlives its scan.

use acumatica_client::{Connection, RestQuery};
use bytes::Bytes;
use datafusion::common::runtime::SpawnedTask;

/// The next page of a partition, on its way.
pub(super) struct ReadAhead {
    skip: usize,
    task: SpawnedTask<Result<Bytes, acumatica_client::Error>>,
}

impl ReadAhead {
    /// Requests `query` (the page at `skip`) now.
    pub fn start(conn: Connection, query: RestQuery, skip: usize) -> Self {
        Self {
            skip,
            task: SpawnedTask::spawn(async move { conn.list(&query).await }),
        }
    }

    /// The `$skip` of the page.
    pub fn skip(&self) -> usize {
        self.skip
    }

    /// The page's body (a panic in the task goes on in the caller).
    pub async fn join(self) -> Result<Bytes, acumatica_client::Error> {
        match self.task.join_unwind().await {
            Ok(r) => r,
            Err(e) => Err(acumatica_client::Error::ReadAhead(e.to_string())),
        }
    }
}
