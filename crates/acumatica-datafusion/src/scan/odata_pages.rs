//! OData pages (generic inquiries, DACs): `$skip`/`$top` paging in key order, the server's
//! next links when it cuts a page short, and the requests of a server-sorted scan one after
//! the other.

use acumatica_client::odata::{ODataKind, ODataQuery};

use super::ScanError;
use super::stream::{After, Page, PageAt, Partition, page_digest};
use crate::decode::decode_odata_page;

/// The pages of an OData feed.
pub(super) struct ODataPages {
    kind: ODataKind,
    /// The request every page repeats (without `$skip`/`$top`).
    query: ODataQuery,
    /// Server-sorted scans (`ORDER BY … LIMIT`): the requests that run one after the other
    /// (NULLs and non-NULLs apart, in the order DataFusion wants them), else empty.
    phases: Vec<ODataQuery>,
    /// Which request of `phases` runs.
    phase: usize,
    /// The server cut the current page short and sent this link.
    next: Option<String>,
    /// Rows cannot repeat (the key is projected): equal pages are a server ignoring `$skip`.
    distinct_rows: bool,
}

impl ODataPages {
    pub fn new(
        kind: ODataKind,
        query: ODataQuery,
        phases: Vec<ODataQuery>,
        distinct_rows: bool,
    ) -> Self {
        Self {
            kind,
            query,
            phases,
            phase: 0,
            next: None,
            distinct_rows,
        }
    }

    pub async fn fetch(&mut self, part: &Partition, at: &PageAt) -> Result<Page, ScanError> {
        let body = match self.next.take() {
            Some(link) => part.conn.odata_next(&link).await,
            None => {
                let mut q = self.phases.get(self.phase).unwrap_or(&self.query).clone();
                if at.skip > 0 {
                    q.skip = Some(at.skip as u64);
                }
                q.top = Some(at.top as u64);
                part.conn.odata_get(self.kind, &q).await
            }
        }
        .map_err(|e| part.request_failed(e))?;
        let digest = self.distinct_rows.then(|| page_digest(&body));
        let offset = at.row_offset;
        let (batch, records, next_link) = part
            .decode(move |def, projection, schema| {
                decode_odata_page(def, projection, schema, &body, offset)
            })
            .await?;
        Ok(Page {
            batch,
            records,
            next_link,
            digest,
        })
    }

    /// A short page with a next link goes on at the link; a full page, at the next page; a
    /// short one ends the request, and the next request of a sorted scan begins.
    pub fn after(&mut self, next_link: Option<String>, short: bool) -> After {
        if next_link.is_some() && short {
            self.next = next_link;
            After::SamePage
        } else if !short {
            After::NextPage
        } else if self.phase + 1 < self.phases.len() {
            self.phase += 1;
            After::NextPhase
        } else {
            After::End
        }
    }
}
