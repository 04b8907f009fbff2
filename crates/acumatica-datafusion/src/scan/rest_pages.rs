//! Contract REST pages: `$skip`/`$top` paging of a list request, the next page read ahead,
//! and the one-by-one fallback for entities that refuse to expand a detail in a list.

use acumatica_client::RestQuery;

use super::ScanError;
use super::one_by_one::{cannot_optimize, records_one_by_one};
use super::read_ahead::ReadAhead;
use super::stream::{Page, PageAt, Partition, page_digest};
use crate::decode::decode_page;

/// The pages of a contract REST list request.
pub(super) struct RestPages {
    /// The request every page repeats (without `$skip`/`$top`).
    request: RestQuery,
    /// The server refused to expand the detail in a list: keys, then records.
    one_by_one: bool,
    /// The partition's next page, already requested (scans without a limit, once a full
    /// page has been seen).
    ahead: Option<ReadAhead>,
}

impl RestPages {
    pub fn new(request: RestQuery) -> Self {
        Self {
            request,
            one_by_one: false,
            ahead: None,
        }
    }

    pub async fn fetch(&mut self, part: &Partition, at: &PageAt) -> Result<Page, ScanError> {
        let mut q = self.request.clone();
        if at.skip > 0 {
            q.skip = Some(at.skip as u64);
        }
        q.top = Some(at.top as u64);
        let body = self
            .body(part, at, &q)
            .await
            .map_err(|e| part.request_failed(e))?;
        // REST records carry their `id`: equal pages are a server ignoring `$skip`.
        let digest = Some(page_digest(&body));
        self.read_ahead(part, at, &q);
        let skip = at.skip;
        let (batch, records) = part
            .decode(move |def, projection, schema| {
                decode_page(def, projection, schema, &body, skip)
            })
            .await?;
        Ok(Page {
            batch,
            records,
            next_link: None,
            digest,
        })
    }

    /// The page's body: read ahead, requested now, or gathered record by record.
    async fn body(
        &mut self,
        part: &Partition,
        at: &PageAt,
        q: &RestQuery,
    ) -> Result<bytes::Bytes, acumatica_client::Error> {
        let (conn, def) = (&part.conn, &part.def);
        if self.one_by_one {
            return records_one_by_one(conn, def, q).await;
        }
        let fetched = match self.ahead.take() {
            Some(a) if a.skip() == at.skip => a.join().await,
            _ => conn.list(q).await,
        };
        match fetched {
            Err(e) if cannot_optimize(&e) && def.detail.is_some() => {
                tracing::debug!(
                    "{}: the server cannot expand {} in a list; reading keys, then records one by one",
                    def.resource,
                    def.detail.as_deref().unwrap_or_default()
                );
                self.one_by_one = true;
                records_one_by_one(conn, def, q).await
            }
            other => other,
        }
    }

    /// Once this partition has seen a full page, its next page is requested before this one
    /// is decoded, so the server's work and the network overlap our decoding. Not with a
    /// limit (a satisfied LIMIT must send nothing more); at the end of the table it costs one
    /// empty page per partition.
    fn read_ahead(&mut self, part: &Partition, at: &PageAt, q: &RestQuery) {
        if part.limit.is_some() || self.one_by_one || at.page < part.step {
            return;
        }
        let skip = (at.page + part.step) * part.page_size;
        let mut next = q.clone();
        next.skip = Some(skip as u64);
        next.top = Some(part.page_size as u64);
        self.ahead = Some(ReadAhead::start(part.conn.clone(), next, skip));
    }
}
