//! A partition's stream of batches. Pages are requested only when the consumer asks for the
//! next batch, so a satisfied `LIMIT` or a dropped stream sends no further requests.
//!
//! Each step reads top to bottom: where the next page starts, the page from its source
//! ([`Pages`]: contract REST or OData), the check for a server repeating itself, the limit,
//! and what comes after the page.

use std::sync::Arc;

use acumatica_client::Connection;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::runtime::SpawnedTask;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

use super::ScanError;
use super::odata_pages::ODataPages;
use super::rest_pages::RestPages;
use crate::decode::DecodeError;
use crate::table::TableDef;

/// What every page of a partition needs, fixed when the scan was planned.
pub(super) struct Partition {
    pub conn: Connection,
    pub def: Arc<TableDef>,
    pub projection: Arc<[usize]>,
    pub schema: SchemaRef,
    pub page_size: usize,
    /// Partitions of the scan: partition `p` reads pages `p, p + step, p + 2·step, …`.
    pub step: usize,
    pub limit: Option<usize>,
    /// How far the table reaches, as the partitions of this execution have found it.
    pub extent: Arc<super::extent::Extent>,
}

impl Partition {
    /// A page request that failed, naming the table.
    pub fn request_failed(&self, source: acumatica_client::Error) -> ScanError {
        ScanError::Request {
            table: self.def.name.clone(),
            source,
        }
    }

    /// Decodes a page on the blocking pool. A page is megabytes of JSON: decoded on a runtime
    /// worker it would stall that worker's I/O, timers and signal handling (Ctrl-C in the
    /// shell) for as long, and a 2-core machine has only two workers.
    pub async fn decode<T: Send + 'static>(
        &self,
        work: impl FnOnce(&TableDef, &[usize], &SchemaRef) -> Result<T, DecodeError> + Send + 'static,
    ) -> Result<T, ScanError> {
        let (def, projection, schema) = (
            self.def.clone(),
            self.projection.clone(),
            self.schema.clone(),
        );
        let task = SpawnedTask::spawn_blocking(move || work(&def, &projection, &schema));
        match task.join_unwind().await {
            Ok(decoded) => Ok(decoded?),
            Err(source) => Err(ScanError::Task {
                table: self.def.name.clone(),
                source,
            }),
        }
    }
}

/// Where a page is: its number, `$skip`, `$top`, and the row number of its first record.
pub(super) struct PageAt {
    pub page: usize,
    pub skip: usize,
    pub top: usize,
    pub row_offset: usize,
}

/// A page answered and decoded.
pub(super) struct Page {
    pub batch: RecordBatch,
    /// Records of the page (a detail table's batch has a row per line instead).
    pub records: usize,
    /// OData: the server cut the page short and sent the link to the rest.
    pub next_link: Option<String>,
    /// A digest of the body, where equal pages mean a server ignoring `$skip`.
    pub digest: Option<u64>,
}

/// What comes after a page.
pub(super) enum After {
    /// The rest of the same page (OData next link).
    SamePage,
    /// The partition's next page.
    NextPage,
    /// The first page of the next request of a server-sorted scan.
    NextPhase,
    /// Nothing: the table (or the last request) is read.
    End,
}

/// Where a partition's pages come from.
pub(super) enum Pages {
    Rest(RestPages),
    OData(ODataPages),
}

impl Pages {
    async fn fetch(&mut self, part: &Partition, at: &PageAt) -> Result<Page, ScanError> {
        match self {
            Self::Rest(p) => p.fetch(part, at).await,
            Self::OData(p) => p.fetch(part, at).await,
        }
    }

    /// What comes after a page whose records, with the earlier parts of the same page,
    /// came short of `$top` (`short`) or not.
    fn after(&mut self, next_link: Option<String>, short: bool) -> After {
        match self {
            Self::Rest(_) if short => After::End,
            Self::Rest(_) => After::NextPage,
            Self::OData(p) => p.after(next_link, short),
        }
    }
}

/// Where a partition is in its table.
#[derive(Default)]
struct Cursor {
    page: usize,
    /// Rows handed out.
    rows: usize,
    /// Records of the current page so far (across OData next links).
    page_records: usize,
    /// The previous page's digest.
    last_page: Option<u64>,
    done: bool,
}

/// The batches of one partition.
pub(super) struct PageStream {
    part: Partition,
    pages: Pages,
    cur: Cursor,
}

impl PageStream {
    pub fn new(part: Partition, pages: Pages, first_page: usize) -> Self {
        Self {
            part,
            pages,
            cur: Cursor {
                page: first_page,
                ..Cursor::default()
            },
        }
    }

    pub fn into_stream(self) -> SendableRecordBatchStream {
        let schema = self.part.schema.clone();
        let batches = futures::stream::unfold(self, |mut s| async move {
            let batch = s.next_batch().await?;
            Some((batch, s))
        });
        Box::pin(RecordBatchStreamAdapter::new(schema, batches))
    }

    async fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        let (part, cur) = (&self.part, &mut self.cur);
        if cur.done || part.limit.is_some_and(|l| cur.rows >= l) {
            return None;
        }
        // With several partitions, a page is asked for only when the table may reach it.
        if part.step > 1 && !part.extent.reaches(cur.page).await {
            cur.done = true;
            return None;
        }
        let skip = cur.page * part.page_size;
        let top = match (part.limit, part.def.detail.is_none()) {
            (Some(l), true) => part.page_size.min(l - cur.rows),
            _ => part.page_size,
        };
        let at = PageAt {
            page: cur.page,
            skip,
            top,
            row_offset: skip + cur.page_records,
        };
        let page = match self.pages.fetch(part, &at).await {
            Ok(p) => p,
            Err(e) => {
                // The others stop here too; this partition reports the error.
                part.extent.page_back(at.page, false);
                return Some(Err(self.fail(e)));
            }
        };
        if page.records > 0 && page.digest.is_some() && page.digest == cur.last_page {
            let table = part.def.name.clone();
            return Some(Err(self.fail(ScanError::RepeatedPage { table, skip })));
        }
        cur.last_page = page.digest;
        // The limit is exact: a page of detail lines can overshoot it.
        let batch = match part.limit {
            Some(l) if cur.rows + page.batch.num_rows() > l => page.batch.slice(0, l - cur.rows),
            _ => page.batch,
        };
        cur.rows += batch.num_rows();
        cur.page_records += page.records;
        match self.pages.after(page.next_link, cur.page_records < top) {
            After::SamePage => {}
            After::NextPage => {
                part.extent.page_back(cur.page, true);
                cur.page += part.step;
                cur.page_records = 0;
            }
            After::NextPhase => {
                cur.page = 0;
                cur.page_records = 0;
            }
            After::End => {
                part.extent.page_back(cur.page, false);
                cur.done = true;
            }
        }
        Some(Ok(batch))
    }

    /// Ends the partition with `e`.
    fn fail(&mut self, e: ScanError) -> DataFusionError {
        self.cur.done = true;
        e.into()
    }
}

/// A digest of a page's bytes (two equal digests: the same page, but for a 2^-64 chance).
pub(super) fn page_digest(body: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = std::hash::DefaultHasher::new();
    h.write(body);
    h.finish()
}
